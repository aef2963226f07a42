//! Runs a test body on a current-thread loop of each IO driver: the mio
//! reactor and the io_uring driver. Where the kernel refuses io_uring the
//! uring run prints `skipped: <reason>` (it never passes silently), and
//! `CORIO_REQUIRE_URING=1` turns that skip into a failure.

#![allow(dead_code)]

use std::future::Future;

/// The drivers a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Mio,
    Uring,
}

/// Runs `body` to completion on a fresh loop of `which` driver.
pub fn run_on<F: Future>(which: Which, body: impl FnOnce() -> F) -> Option<F::Output> {
    let builder = corio::Runtime::builder().current_thread();
    let builder = match which {
        // Explicitly, so that `CORIO_DRIVER=uring` does not change it.
        Which::Mio => {
            builder.driver(corio_reactor::Reactor::new().expect("the mio reactor starts"))
        }
        Which::Uring => match corio::uring::UringDriver::new() {
            Ok(driver) => builder.driver(driver),
            Err(error) => {
                let required = std::env::var_os("CORIO_REQUIRE_URING").is_some_and(|v| v == "1");
                assert!(
                    !required,
                    "CORIO_REQUIRE_URING=1 but io_uring is refused: {error}"
                );
                println!("skipped: io_uring is not available here ({error})");
                return None;
            }
        },
    };
    let runtime = builder.build().expect("the runtime builds");
    Some(runtime.block_on(async move {
        assert_eq!(
            corio::uring::is_current(),
            which == Which::Uring,
            "the loop runs on the driver asked for"
        );
        body().await
    }))
}

/// Declares `mod $name { #[test] fn mio(); #[test] fn uring(); }`, each
/// running the async block `$body` on its driver.
#[macro_export]
macro_rules! on_both_drivers {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn mio() {
                $crate::drivers::run_on($crate::drivers::Which::Mio, || $body);
            }

            #[test]
            fn uring() {
                $crate::drivers::run_on($crate::drivers::Which::Uring, || $body);
            }
        }
    };
}

/// Raises the soft limit on open files to `needed` if the hard limit
/// allows; returns why not otherwise.
pub fn allow_descriptors(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` that outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!(
            "getrlimit failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    let wanted = libc::rlim_t::try_from(needed).unwrap_or(libc::RLIM_INFINITY);
    if limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= wanted {
        return Ok(());
    }
    if limit.rlim_max != libc::RLIM_INFINITY && limit.rlim_max < wanted {
        return Err(format!(
            "the hard limit on open files is {}",
            limit.rlim_max
        ));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid `rlimit`; raising the soft limit up to the
    // hard one needs no privilege and affects only this process.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!(
            "setrlimit failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
