//! [`CorioExecutor`]: hyper's `rt::Executor` over corio's `spawn`.

use std::future::Future;

/// Runs the background futures hyper hands over (an HTTP/2 stream, a pooled
/// client connection) as corio tasks: implements [`hyper::rt::Executor`].
///
/// [`CorioExecutor::new`] spawns on the runtime that is current when hyper
/// calls `execute` (a task of a corio loop or worker); [`CorioExecutor::on`]
/// spawns on a given runtime from any thread. The spawned tasks are detached:
/// they run until their future ends or the runtime shuts down.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
///
/// let (sender, receiver) = std::sync::mpsc::channel();
/// corio::run(async move {
///     corio_hyper::CorioExecutor::new().execute(async move { sender.send("ran").unwrap() });
///     corio::sleep(std::time::Duration::ZERO).await; // let the task run
/// });
/// assert_eq!(receiver.recv().unwrap(), "ran");
/// ```
#[derive(Debug, Clone, Default)]
pub struct CorioExecutor {
    runtime: Option<corio::runtime::Handle>,
}

impl CorioExecutor {
    /// An executor that spawns on the current corio runtime.
    ///
    /// # Examples
    ///
    /// See [`CorioExecutor`].
    pub fn new() -> CorioExecutor {
        CorioExecutor { runtime: None }
    }

    /// An executor that spawns on `runtime`, from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyper::rt::Executor;
    ///
    /// let runtime = corio::Runtime::builder().multi_thread().worker_threads(2).build()?;
    /// let executor = corio_hyper::CorioExecutor::on(runtime.handle());
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// executor.execute(async move { sender.send(7).unwrap() });
    /// assert_eq!(receiver.recv().unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on(runtime: corio::runtime::Handle) -> CorioExecutor {
        CorioExecutor {
            runtime: Some(runtime),
        }
    }
}

impl<F> hyper::rt::Executor<F> for CorioExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Spawns `future` as a detached task.
    ///
    /// # Panics
    ///
    /// For an executor made by [`CorioExecutor::new`], panics when called
    /// outside a corio runtime (like [`corio::spawn`]).
    fn execute(&self, future: F) {
        match &self.runtime {
            Some(runtime) => runtime.spawn(future).detach(),
            None => corio::spawn(future).detach(),
        }
    }
}
