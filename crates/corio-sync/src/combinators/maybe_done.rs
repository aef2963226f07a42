//! A future, then its output, then nothing: the slot of one child of
//! `gather` and of each side of the macros' pairwise joins.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub(crate) enum MaybeDone<F: Future> {
        Pending { #[pin] future: F },
        Done { output: F::Output },
        Taken,
    }
}

impl<F: Future> MaybeDone<F> {
    pub(crate) fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Pending { future }
    }

    /// Returns `true` while the future has not completed.
    pub(crate) fn is_pending(&self) -> bool {
        matches!(self, MaybeDone::Pending { .. })
    }

    /// Polls the future if it is still pending; `Ready` once it is done.
    ///
    /// # Panics
    ///
    /// Panics when the output was taken already.
    pub(crate) fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Pending { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            },
            MaybeDoneProj::Done { .. } => return Poll::Ready(()),
            MaybeDoneProj::Taken => panic!("a joined future was polled after completion"),
        };
        self.set(MaybeDone::Done { output });
        Poll::Ready(())
    }

    /// The output, once the future is done and until it is taken.
    pub(crate) fn output(self: Pin<&mut Self>) -> Option<&mut F::Output> {
        match self.project() {
            MaybeDoneProj::Done { output } => Some(output),
            MaybeDoneProj::Pending { .. } | MaybeDoneProj::Taken => None,
        }
    }

    /// Takes the output.
    ///
    /// # Panics
    ///
    /// Panics when the future is not done or its output was taken already.
    pub(crate) fn take(self: Pin<&mut Self>) -> F::Output {
        match self.project_replace(MaybeDone::Taken) {
            MaybeDoneReplace::Done { output } => output,
            MaybeDoneReplace::Pending { .. } | MaybeDoneReplace::Taken => {
                panic!("a joined future's output was taken before it was done")
            }
        }
    }
}
