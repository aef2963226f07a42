//! Channels and mutexes as the ping-pong and `mutex` workloads see them,
//! and which of them are each runtime's own.
//!
//! Where a channel is not what is measured (`ping_pong`), every runtime uses
//! the same runtime-agnostic async-channel. Where the primitive itself is
//! measured (`ping_pong_own`, `mutex`), each runtime uses its own, named by
//! [`OwnChannel`] and [`OwnMutex`]: corio's `corio::sync::Queue` and
//! `corio::sync::Mutex`, tokio's `tokio::sync::mpsc` and `tokio::sync::Mutex`,
//! and for smol the crates it re-exports: async-channel (`smol::channel`) and
//! async-lock's `Mutex` (`smol::lock::Mutex`, the same type).

use std::future::Future;
use std::ops::DerefMut;
use std::sync::Arc;

use futures_util::FutureExt;

use crate::corio_rt::Corio;
use crate::runtime::{Runtime, Smol, Tokio};

/// The receiving side of a channel has gone: the message was not sent.
#[derive(Debug)]
pub struct Closed;

/// A bounded channel of `u64`, split into a sending and a receiving half;
/// dropping the sender closes the channel, so that the receiver sees `None`
/// once it has taken what is left.
pub trait Channel {
    /// The sending half.
    type Sender: Send + 'static;
    /// The receiving half.
    type Receiver: Send + 'static;

    /// A channel that holds at most `capacity` messages.
    fn channel(capacity: usize) -> (Self::Sender, Self::Receiver);

    /// Sends `value`, waiting while the channel is full.
    fn send(
        sender: &Self::Sender,
        value: u64,
    ) -> impl Future<Output = Result<(), Closed>> + Send + '_;

    /// Receives the next value, or `None` once the channel is closed and
    /// empty.
    fn recv(receiver: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send + '_;
}

/// A runtime with a channel of its own.
pub trait OwnChannel: Runtime {
    /// The runtime's own channel.
    type Channel: Channel;
}

/// A runtime's own async mutex around a `u64`.
pub trait OwnMutex: Runtime {
    /// The mutex.
    type Mutex: Send + Sync + 'static;
    /// What `lock` gives: access to the value until it is dropped.
    type Guard<'a>: DerefMut<Target = u64> + Send;

    /// An unlocked mutex holding `value`.
    fn mutex(value: u64) -> Self::Mutex;

    /// Waits for the lock.
    fn lock(mutex: &Self::Mutex) -> impl Future<Output = Self::Guard<'_>> + Send;
}

/// `corio::sync::Queue`, corio's own channel.
pub struct CorioQueue;

/// The sending side of a corio queue. A corio `Queue` is one shared object
/// with no halves (asyncio's shape), so both sides hold it in an `Arc`; the
/// sender shuts the queue down when dropped, which is how a corio program
/// says that no more items will come (`get` then drains what is left and
/// errors), and what dropping the sender does to the other channels.
pub struct QueueSender(Arc<corio::sync::Queue<u64>>);

impl Drop for QueueSender {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl Channel for CorioQueue {
    type Sender = QueueSender;
    type Receiver = Arc<corio::sync::Queue<u64>>;

    fn channel(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let queue = Arc::new(corio::sync::Queue::bounded(capacity));
        (QueueSender(queue.clone()), queue)
    }

    async fn send(sender: &Self::Sender, value: u64) -> Result<(), Closed> {
        sender.0.put(value).await.map_err(|_| Closed)
    }

    async fn recv(receiver: &mut Self::Receiver) -> Option<u64> {
        receiver.get().await.ok()
    }
}

impl OwnChannel for Corio {
    type Channel = CorioQueue;
}

impl OwnMutex for Corio {
    type Mutex = corio::sync::Mutex<u64>;
    type Guard<'a> = corio::sync::MutexGuard<'a, u64>;

    fn mutex(value: u64) -> Self::Mutex {
        corio::sync::Mutex::new(value)
    }

    fn lock(mutex: &Self::Mutex) -> impl Future<Output = Self::Guard<'_>> + Send {
        mutex.lock()
    }
}

/// `tokio::sync::mpsc`, tokio's own channel.
pub struct TokioMpsc;

impl Channel for TokioMpsc {
    type Sender = tokio::sync::mpsc::Sender<u64>;
    type Receiver = tokio::sync::mpsc::Receiver<u64>;

    fn channel(capacity: usize) -> (Self::Sender, Self::Receiver) {
        tokio::sync::mpsc::channel(capacity)
    }

    async fn send(sender: &Self::Sender, value: u64) -> Result<(), Closed> {
        sender.send(value).await.map_err(|_| Closed)
    }

    fn recv(receiver: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send + '_ {
        receiver.recv()
    }
}

impl OwnChannel for Tokio {
    type Channel = TokioMpsc;
}

impl OwnMutex for Tokio {
    type Mutex = tokio::sync::Mutex<u64>;
    type Guard<'a> = tokio::sync::MutexGuard<'a, u64>;

    fn mutex(value: u64) -> Self::Mutex {
        tokio::sync::Mutex::new(value)
    }

    fn lock(mutex: &Self::Mutex) -> impl Future<Output = Self::Guard<'_>> + Send {
        mutex.lock()
    }
}

/// async-channel (`smol::channel`): smol's own channel, and the one every
/// runtime uses where the channel is not what is measured.
pub struct AsyncChannel;

impl Channel for AsyncChannel {
    type Sender = async_channel::Sender<u64>;
    type Receiver = async_channel::Receiver<u64>;

    fn channel(capacity: usize) -> (Self::Sender, Self::Receiver) {
        async_channel::bounded(capacity)
    }

    // Mapped, not wrapped in an `async fn`: the `ping_pong` row runs
    // async-channel's own futures with no extra state machine around them,
    // as it did before it shared its body with `ping_pong_own`.
    fn send(
        sender: &Self::Sender,
        value: u64,
    ) -> impl Future<Output = Result<(), Closed>> + Send + '_ {
        sender.send(value).map(|sent| sent.map_err(|_| Closed))
    }

    fn recv(receiver: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send + '_ {
        receiver.recv().map(Result::ok)
    }
}

impl OwnChannel for Smol {
    type Channel = AsyncChannel;
}

impl OwnMutex for Smol {
    type Mutex = async_lock::Mutex<u64>;
    type Guard<'a> = async_lock::MutexGuard<'a, u64>;

    fn mutex(value: u64) -> Self::Mutex {
        async_lock::Mutex::new(value)
    }

    fn lock(mutex: &Self::Mutex) -> impl Future<Output = Self::Guard<'_>> + Send {
        mutex.lock()
    }
}
