//! The corio event loop and runtimes, generic over the `Driver` trait.
