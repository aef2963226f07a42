//! Shutdown: what dropping an [`EventLoop`] does.
//!
//! Every task still alive is cancelled and its cancellation run on the loop's
//! thread, so that every future (`Send` or not) is dropped there; then the
//! loop is marked closed, so that later hand-offs from other threads drop
//! their work instead of queueing it (see the `closed` flag in the hand-off
//! protocol).

use super::{EnterMode, EventLoop, Local, Ready};
use crate::loom::Ordering;

/// How many rounds of cancellation shutdown runs before it gives up on
/// destructors that keep spawning tasks.
const SHUTDOWN_ROUNDS: usize = 64;

impl Drop for EventLoop {
    fn drop(&mut self) {
        self.local.shutdown();
    }
}

impl Local {
    /// Cancels every task still alive and runs the cancellations, so that
    /// every future is dropped on this thread; then closes the loop.
    fn shutdown(self: &std::rc::Rc<Self>) {
        let _entered = self.enter(EnterMode::Cleanup);
        // Dropping a future may spawn or wake other tasks; repeat until
        // nothing is left, with a bound so that a pathological destructor
        // cannot keep the loop alive forever.
        for _ in 0..SHUTDOWN_ROUNDS {
            self.drain_remote_now();
            let tasks = self.tasks.borrow().all_refs();
            if tasks.is_empty() && self.ready.borrow().is_empty() {
                break;
            }
            for task in &tasks {
                task.cancel();
            }
            drop(tasks);
            loop {
                let entry = self.ready.borrow_mut().pop_front();
                match entry {
                    Some(Ready::Task(runnable)) => self.run_task(runnable),
                    Some(Ready::Callback(_)) | Some(Ready::Main(_)) => {}
                    None => break,
                }
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        // Work handed over before `closed` was set: drop it here, on the
        // loop's thread (a spawn resolves as cancelled).
        self.shared.handoff.drain_all(drop);
        self.ready.borrow_mut().clear();
        let mut tasks = self.tasks.borrow_mut();
        if tasks.len() > 0 {
            // Destructors kept spawning tasks. Dropping the last reference of
            // a still-live `!Send` future elsewhere would be unsound, so what
            // is left is leaked, and said so.
            eprintln!(
                "corio: {} tasks were still being spawned by destructors when the loop shut down; \
                 they are leaked",
                tasks.len()
            );
            tasks.all_refs().into_iter().for_each(std::mem::forget);
        }
        tasks.clear();
    }
}
