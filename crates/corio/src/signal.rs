//! Waiting for OS signals.
//!
//! # Examples
//!
//! A server that runs until Ctrl-C:
//!
//! ```no_run
//! corio::run(async {
//!     let server = corio::start_server("127.0.0.1:8888", |_reader, _writer| async { Ok(()) }).await?;
//!     corio::signal::ctrl_c().await?;
//!     server.close();
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub use corio_reactor::signal::ctrl_c;
