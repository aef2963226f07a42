//! `ctrl_c` in a binary of its own: it changes the process's SIGINT action.

mod util;

use std::future::poll_fn;
use std::task::Poll;

#[test]
fn ctrl_c_completes_when_sigint_is_raised() {
    util::run(async {
        let waiting = util::spawn(corio_reactor::signal::ctrl_c());
        let also_waiting = util::spawn(corio_reactor::signal::ctrl_c());
        // Let both futures install the handler and register before raising.
        let mut polled = false;
        poll_fn(|cx| {
            if polled {
                return Poll::Ready(());
            }
            polled = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
        // SAFETY: raising a signal has no memory-safety preconditions; the
        // handler installed by ctrl_c catches it instead of the default action.
        let raised = unsafe { libc::raise(libc::SIGINT) };
        assert_eq!(raised, 0);
        waiting.await.unwrap();
        also_waiting.await.unwrap();
        // A later ctrl_c waits for the next signal, not the one already seen.
        let next = util::spawn(corio_reactor::signal::ctrl_c());
        util::sleep(std::time::Duration::from_millis(5)).await;
        // SAFETY: as above.
        assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
        next.await.unwrap();
    });
}
