//! The Unix backend: `sigaction` and an async-signal-safe self-pipe write.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

use super::SIGINT_COUNT;

/// The write end of the self-pipe, or -1; read by the signal handler.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// Installs the `SIGINT` handler, which counts the signal and writes a byte
/// to `write_fd` (the nonblocking write end of the self-pipe, which must stay
/// open for the rest of the process).
pub(crate) fn install_sigint_handler(write_fd: i32) -> io::Result<()> {
    WRITE_FD.store(write_fd, Ordering::Release);
    // SAFETY: an all-zero `sigaction` is a valid value of this plain C
    // struct (no handler, empty mask, no flags); every field is set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    syscall!(sigemptyset(&mut action.sa_mask))?;
    syscall!(sigaction(libc::SIGINT, &action, std::ptr::null_mut()))?;
    Ok(())
}

/// Sets the listen backlog of an already listening socket (`listen(2)` may
/// be called again to change it). mio and std both listen with 128, which a
/// burst of a few hundred connects overflows; the kernel caps the value at
/// `net.core.somaxconn`.
pub(crate) fn set_listen_backlog(fd: i32, backlog: i32) -> io::Result<()> {
    // SAFETY: `listen` takes a descriptor and an integer and touches no
    // memory of ours; a bad descriptor is reported as an error.
    syscall!(listen(fd, backlog))?;
    Ok(())
}

/// The signal handler: only async-signal-safe operations (atomics, `write`).
extern "C" fn on_sigint(_: libc::c_int) {
    let saved_errno = io::Error::last_os_error().raw_os_error();
    SIGINT_COUNT.fetch_add(1, Ordering::AcqRel);
    let fd = WRITE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        let byte = 1u8;
        // A full pipe already wakes the readers; nothing to do on failure.
        let _ = syscall!(write(fd, (&byte as *const u8).cast(), 1));
    }
    if let Some(errno) = saved_errno {
        set_errno(errno);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_errno(errno: i32) {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for writes for the thread's lifetime.
    unsafe { *libc::__errno_location() = errno };
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
fn set_errno(errno: i32) {
    // SAFETY: `__error` returns the calling thread's errno slot, valid for
    // writes for the thread's lifetime.
    unsafe { *libc::__error() = errno };
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly"
)))]
fn set_errno(_: i32) {}
