//! The error a task's join handle reports.

use std::any::Any;

/// Why a task produced no output: it was cancelled, or it panicked.
///
/// # Examples
///
/// ```
/// use corio_core::TaskError;
///
/// let error = TaskError::Panicked(Box::new("boom"));
/// assert!(error.is_panic());
/// assert_eq!(error.to_string(), "task panicked: boom");
/// assert_eq!(TaskError::Cancelled.to_string(), "task was cancelled");
/// ```
#[derive(thiserror::Error)]
pub enum TaskError {
    /// The task was cancelled before it produced its output.
    #[error("task was cancelled")]
    Cancelled,
    /// The task panicked; this is the panic's payload.
    #[error("task panicked{}", panic_suffix(&**.0))]
    Panicked(Box<dyn Any + Send>),
}

impl std::fmt::Debug for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::Panicked(payload) => match payload_message(&**payload) {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f
                    .debug_tuple("Panicked")
                    .field(&format_args!(".."))
                    .finish(),
            },
        }
    }
}

impl TaskError {
    /// Returns `true` if the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corio_core::TaskError::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// Returns `true` if the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = corio_core::TaskError::Panicked(Box::new("boom"));
    /// assert!(error.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// Returns the panic's message, when the task panicked with one: a
    /// `panic!` with a literal or a format string (the payload is a `&str` or
    /// a `String`). Returns `None` for a cancellation and for any other
    /// payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::TaskError;
    ///
    /// let error = TaskError::Panicked(Box::new(format!("bad input: {}", 7)));
    /// assert_eq!(error.panic_message(), Some("bad input: 7"));
    /// assert_eq!(TaskError::Panicked(Box::new(7_u32)).panic_message(), None);
    /// assert_eq!(TaskError::Cancelled.panic_message(), None);
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => payload_message(&**payload),
            TaskError::Cancelled => None,
        }
    }

    /// Returns the panic payload, so that the caller can resume the panic
    /// with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; use
    /// [`TaskError::try_into_panic`] when that is possible.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = corio_core::TaskError::Panicked(Box::new("boom"));
    /// assert_eq!(*error.into_panic().downcast::<&str>().unwrap(), "boom");
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(_) => panic!("`TaskError::into_panic` called on an error that is not a panic: the task was cancelled"),
        }
    }

    /// Returns the panic payload, or the error itself if the task was
    /// cancelled.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` when the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corio_core::TaskError::Cancelled.try_into_panic().is_err());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, TaskError> {
        match self {
            TaskError::Panicked(payload) => Ok(payload),
            TaskError::Cancelled => Err(TaskError::Cancelled),
        }
    }
}

/// `": message"` for a payload with a message, or nothing.
fn panic_suffix(payload: &(dyn Any + Send)) -> String {
    payload_message(payload)
        .map(|message| format!(": {message}"))
        .unwrap_or_default()
}

/// The message of a panic payload made by `panic!` with a literal or with a
/// format string.
fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_cause_and_the_payload() {
        assert_eq!(TaskError::Cancelled.to_string(), "task was cancelled");
        let literal = TaskError::Panicked(Box::new("boom"));
        assert_eq!(literal.to_string(), "task panicked: boom");
        let formatted = TaskError::Panicked(Box::new(format!("bad {}", 7)));
        assert_eq!(formatted.to_string(), "task panicked: bad 7");
        assert_eq!(format!("{formatted:?}"), "Panicked(\"bad 7\")");
        let opaque = TaskError::Panicked(Box::new(7u32));
        assert_eq!(opaque.to_string(), "task panicked");
        assert_eq!(literal.panic_message(), Some("boom"));
        assert_eq!(formatted.panic_message(), Some("bad 7"));
        assert_eq!(opaque.panic_message(), None);
        assert_eq!(TaskError::Cancelled.panic_message(), None);
    }

    #[test]
    #[should_panic(expected = "the task was cancelled")]
    fn into_panic_on_a_cancellation_panics_clearly() {
        let _ = TaskError::Cancelled.into_panic();
    }
}
