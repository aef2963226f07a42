//! The errors the reactor itself raises, as opposed to the OS errors that
//! reach socket callers unchanged.

use std::io;

use crate::slab::MAX_SLOTS;

/// The reasons the reactor itself refuses an operation.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReactorError {
    #[error(
        "no corio IO reactor is running on this thread: create and use sockets inside a task \
         of a corio event loop whose driver is a corio_reactor::Reactor"
    )]
    NoReactor,
    #[error("the corio IO reactor this socket was registered with has shut down")]
    Shutdown,
    #[error("the corio IO reactor cannot register more than {MAX_SLOTS} sources at once")]
    TooManySources,
}

/// The error of a socket created where no reactor runs.
pub(crate) fn no_reactor() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, ReactorError::NoReactor)
}

/// The error of an operation on a source whose reactor has shut down.
pub(crate) fn reactor_gone() -> io::Error {
    io::Error::other(ReactorError::Shutdown)
}
