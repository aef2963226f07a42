//! The private seam between the reactor and the OS, for the few raw calls
//! that mio and std do not cover.
//!
//! Required surface of every backend:
//!
//! * `install_sigint_handler(write_fd: i32) -> io::Result<()>`:
//!   installs a `SIGINT` handler that increments [`SIGINT_COUNT`] and then
//!   writes one byte to `write_fd` (ignoring a full
//!   pipe), preserving `errno`.
//!
//! * `set_listen_backlog(fd: i32, backlog: i32) -> io::Result<()>`: calls
//!   `listen` again on a listening socket to change its backlog.
//!
//! Every raw call goes through [`syscall!`], which turns the C convention (-1
//! and `errno`) into an `io::Result`.

use std::sync::atomic::AtomicU64;

/// Calls a libc function and turns a `-1` result into the `errno` error.
#[cfg(unix)]
macro_rules! syscall {
    ($function:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: each call site argues that its arguments are valid for
        // this function; the macro adds only the error conversion.
        let result = unsafe { libc::$function($($arg),*) };
        if result == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(result)
        }
    }};
}

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::{install_sigint_handler, set_listen_backlog};

/// How many `SIGINT`s the handler has seen; it increments this before it
/// writes to the pipe, so a reader that found a byte sees the new count.
pub(crate) static SIGINT_COUNT: AtomicU64 = AtomicU64::new(0);
