//! The task core of corio: raw tasks, [`Task`], [`Promise`], and the
//! [`Driver`] seam where executors and reactors meet.
//!
//! Most users want the [`corio`](https://docs.rs/corio) facade instead; this
//! crate is for executor and reactor authors, and for libraries that want only
//! the task and promise types.
//!
//! # Example
//!
//! ```
//! use corio_core::{Driver, ParkDriver};
//! use std::time::Duration;
//!
//! let mut driver = ParkDriver::new();
//! driver.park(Some(Duration::ZERO)).unwrap();
//! ```
//!
//! # Implementation
//!
//! See the module documentation of each part: the task cell's state machine,
//! the promise's state, and the driver contract.

pub mod coop;
mod driver;

pub use driver::{enter_io_context, io_context, Driver, IoContextGuard, ParkDriver, Unpark};
