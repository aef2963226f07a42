//! Reading caught panics.

use std::any::Any;

/// The message of a caught panic: the payload of a `panic!` with a literal or
/// a format string, or the empty string for any other payload.
///
/// # Examples
///
/// ```
/// use corio_test_support::panic_message;
///
/// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// assert_eq!(panic_message(payload), "boom");
/// let payload = std::panic::catch_unwind(|| panic!("bad {}", 7)).unwrap_err();
/// assert_eq!(panic_message(payload), "bad 7");
/// let payload = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
/// assert_eq!(panic_message(payload), "");
/// ```
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}
