//! The mio-based IO driver of corio and its sockets.
