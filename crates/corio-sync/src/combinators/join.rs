//! The machinery behind `gather!` and `try_gather!`: pairwise joins nested to
//! the right, `(a, (b, (c, ())))`, flattened to `(a, b, c)` at the end. The
//! macros reach it through the crate's hidden `__private` module.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::maybe_done::MaybeDone;

pin_project_lite::pin_project! {
    /// Runs two futures concurrently; output `(A, B)`.
    #[doc(hidden)]
    pub struct Join<A: Future, B: Future> {
        #[pin] a: MaybeDone<A>,
        #[pin] b: MaybeDone<B>,
    }
}

impl<A: Future, B: Future> Join<A, B> {
    #[doc(hidden)]
    pub fn new(a: A, b: B) -> Join<A, B> {
        Join {
            a: MaybeDone::new(a),
            b: MaybeDone::new(b),
        }
    }
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let a_done = this.a.as_mut().poll_done(cx).is_ready();
        let b_done = this.b.as_mut().poll_done(cx).is_ready();
        if a_done && b_done {
            Poll::Ready((this.a.take(), this.b.take()))
        } else {
            Poll::Pending
        }
    }
}

pin_project_lite::pin_project! {
    /// Runs two fallible futures concurrently; the first `Err` wins.
    #[doc(hidden)]
    pub struct TryJoin<A: Future, B: Future> {
        #[pin] a: MaybeDone<A>,
        #[pin] b: MaybeDone<B>,
    }
}

impl<A: Future, B: Future> TryJoin<A, B> {
    #[doc(hidden)]
    pub fn new(a: A, b: B) -> TryJoin<A, B> {
        TryJoin {
            a: MaybeDone::new(a),
            b: MaybeDone::new(b),
        }
    }
}

impl<A, B, T, U, E> Future for TryJoin<A, B>
where
    A: Future<Output = Result<T, E>>,
    B: Future<Output = Result<U, E>>,
{
    type Output = Result<(T, U), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let a_done = this.a.as_mut().poll_done(cx).is_ready();
        if a_done && this.a.as_mut().output().is_some_and(|r| r.is_err()) {
            return Poll::Ready(Err(this.a.take().err().expect("checked is_err")));
        }
        let b_done = this.b.as_mut().poll_done(cx).is_ready();
        if b_done && this.b.as_mut().output().is_some_and(|r| r.is_err()) {
            return Poll::Ready(Err(this.b.take().err().expect("checked is_err")));
        }
        if a_done && b_done {
            let a = this.a.take().ok().expect("checked is_ok");
            let b = this.b.take().ok().expect("checked is_ok");
            Poll::Ready(Ok((a, b)))
        } else {
            Poll::Pending
        }
    }
}

/// Turns a right-nested tuple `(a, (b, (c, ())))` into `(a, b, c)`.
#[doc(hidden)]
pub trait Flatten {
    /// The flat tuple.
    type Flat;
    /// Flattens.
    fn flatten(self) -> Self::Flat;
}

macro_rules! flatten_impls {
    ($( ($($name:ident)+) )+) => {$(
        impl<$($name),+> Flatten for flatten_impls!(@nest $($name)+) {
            type Flat = ($($name,)+);
            #[allow(non_snake_case)]
            fn flatten(self) -> Self::Flat {
                let flatten_impls!(@nest $($name)+) = self;
                ($($name,)+)
            }
        }
    )+};
    (@nest $first:ident $($rest:ident)*) => { ($first, flatten_impls!(@nest $($rest)*)) };
    (@nest) => { () };
}

flatten_impls! {
    (A)
    (A B)
    (A B C)
    (A B C D)
    (A B C D E)
    (A B C D E F)
    (A B C D E F G)
    (A B C D E F G H)
    (A B C D E F G H I)
    (A B C D E F G H I J)
    (A B C D E F G H I J K)
    (A B C D E F G H I J K L)
}

pin_project_lite::pin_project! {
    /// Maps a joined future's nested output to a flat tuple.
    #[doc(hidden)]
    pub struct Flattened<F> {
        #[pin] inner: F,
    }
}

impl<F> Flattened<F> {
    #[doc(hidden)]
    pub fn new(inner: F) -> Flattened<F> {
        Flattened { inner }
    }
}

impl<F> Future for Flattened<F>
where
    F: Future,
    F::Output: Flatten,
{
    type Output = <F::Output as Flatten>::Flat;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Flatten::flatten)
    }
}

pin_project_lite::pin_project! {
    /// Maps a fallible joined future's nested output to a flat tuple.
    #[doc(hidden)]
    pub struct TryFlattened<F> {
        #[pin] inner: F,
    }
}

impl<F> TryFlattened<F> {
    #[doc(hidden)]
    pub fn new(inner: F) -> TryFlattened<F> {
        TryFlattened { inner }
    }
}

impl<F, T, E> Future for TryFlattened<F>
where
    F: Future<Output = Result<T, E>>,
    T: Flatten,
{
    type Output = Result<T::Flat, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map(|result| result.map(Flatten::flatten))
    }
}

/// Runs the given futures concurrently inside the calling task and returns
/// their outputs as a tuple, in argument order (asyncio's `gather(a, b, c)`).
/// Takes one to twelve futures.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let (a, b) = event_loop.run_until_complete(async {
///     corio_sync::gather!(async { 1 }, async { "two" }).await
/// });
/// assert_eq!((a, b), (1, "two"));
/// ```
#[macro_export]
macro_rules! gather {
    ($($future:expr),+ $(,)?) => {
        $crate::__private::Flattened::new($crate::__gather_nest!(Join $($future),+))
    };
}

/// Runs the given fallible futures concurrently; the first `Err` wins and the
/// other futures are dropped (cancelled). Output: `Result<(A, B, ..), E>`.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let result: Result<(u8, u8), &str> = event_loop.run_until_complete(async {
///     corio_sync::try_gather!(async { Ok(1) }, async { Err("failed") }).await
/// });
/// assert_eq!(result, Err("failed"));
/// ```
#[macro_export]
macro_rules! try_gather {
    ($($future:expr),+ $(,)?) => {
        $crate::__private::TryFlattened::new($crate::__gather_nest!(TryJoin $($future),+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gather_nest {
    (Join $last:expr) => {
        $crate::__private::Join::new(
            ::core::future::IntoFuture::into_future($last),
            ::core::future::ready(()),
        )
    };
    (TryJoin $last:expr) => {
        $crate::__private::TryJoin::new(
            ::core::future::IntoFuture::into_future($last),
            ::core::future::ready(::core::result::Result::Ok(())),
        )
    };
    ($kind:ident $first:expr, $($rest:expr),+) => {
        $crate::__private::$kind::new(
            ::core::future::IntoFuture::into_future($first),
            $crate::__gather_nest!($kind $($rest),+),
        )
    };
}
