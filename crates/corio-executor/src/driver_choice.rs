//! `CORIO_DRIVER`: which IO driver a current-thread loop built without an
//! explicit driver runs on.
//!
//! `uring` asks for corio-uring's io_uring driver; anything else (or
//! nothing) keeps the mio reactor. Where the kernel refuses io_uring
//! (`ENOSYS` on old kernels, `EPERM` under Docker's default seccomp
//! profile) the loop falls back to mio, and debug mode (`CORIO_DEBUG=1`)
//! says so once per process on stderr. The multi-thread runtime always runs
//! on mio.

use std::io;
use std::sync::Once;

use corio_core::Driver;

/// The io_uring driver when `CORIO_DRIVER=uring` asks for it and the
/// kernel grants it; `None` means "use mio".
pub(crate) fn uring_from_env() -> Option<Box<dyn Driver>> {
    match std::env::var("CORIO_DRIVER").as_deref() {
        Ok("uring") => match corio_uring::UringDriver::new() {
            Ok(driver) => Some(Box::new(driver)),
            Err(error) => {
                say_once(&format!(
                    "CORIO_DRIVER=uring: io_uring is not available ({}); using the mio driver",
                    describe(&error)
                ));
                None
            }
        },
        Ok("mio") | Ok("") | Err(std::env::VarError::NotPresent) => None,
        Ok(other) => {
            say_once(&format!(
                "CORIO_DRIVER={other:?} is not a driver (`uring` or `mio`); using the mio driver"
            ));
            None
        }
        Err(std::env::VarError::NotUnicode(_)) => None,
    }
}

fn describe(error: &io::Error) -> String {
    // ENOSYS and EPERM (the values are the same on every Linux target).
    const ENOSYS: i32 = 38;
    const EPERM: i32 = 1;
    match error.raw_os_error() {
        Some(ENOSYS) => format!("{error}: the kernel has no io_uring"),
        Some(EPERM) => format!("{error}: io_uring is forbidden here (a seccomp profile?)"),
        _ => error.to_string(),
    }
}

fn say_once(message: &str) {
    static SAID: Once = Once::new();
    let debug =
        matches!(std::env::var_os("CORIO_DEBUG"), Some(value) if !value.is_empty() && value != "0");
    if debug {
        SAID.call_once(|| eprintln!("corio: {message}"));
    }
}
