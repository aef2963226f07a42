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

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Executor;

    #[test]
    fn new_spawns_on_the_current_loop() {
        corio::run(async {
            let (sender, receiver) = std::sync::mpsc::channel();
            CorioExecutor::new().execute(async move {
                sender.send(std::thread::current().id()).unwrap();
            });
            corio::sleep(std::time::Duration::ZERO).await;
            assert_eq!(receiver.try_recv(), Ok(std::thread::current().id()));
        });
    }

    #[test]
    fn on_spawns_onto_its_runtime_from_another_thread() {
        let runtime = corio::Runtime::builder().current_thread().build().unwrap();
        let executor = CorioExecutor::on(runtime.handle());
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            executor.execute(async move {
                sender.send(std::thread::current().id()).unwrap();
            })
        })
        .join()
        .unwrap();
        // The task runs when the runtime's thread drives the loop.
        let runtime_thread = runtime.block_on(async {
            corio::sleep(std::time::Duration::from_millis(1)).await;
            std::thread::current().id()
        });
        assert_eq!(receiver.try_recv(), Ok(runtime_thread));
    }

    #[test]
    #[should_panic(expected = "must be called from inside a corio runtime")]
    fn new_outside_a_runtime_panics_like_spawn() {
        CorioExecutor::new().execute(async {});
    }
}
