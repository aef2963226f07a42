//! The driver's state: one slot per socket with its operations in flight,
//! the bytes received and not yet read, the bytes written and not yet sent,
//! and the waiters; and what each completion does to it.
//!
//! # Protocol
//!
//! * A completion's `user_data` names its slot (index and generation) and
//!   the kind of operation ([`Op`]). A slot is freed only when its socket
//!   was dropped *and* its last operation completed, so a completion always
//!   finds its slot; the generation is checked anyway.
//! * Reads: the first read that finds nothing queued arms a multishot
//!   receive. Each completion with data queues a [`Chunk`] (a provided buffer
//!   the socket holds until it is read, or a copy of it once three quarters
//!   of the pool are lent, so that sockets that do not read never starve the
//!   others); end-of-file and errors queue after
//!   the data. A receive that ends (`ENOBUFS`, cancelled, or without
//!   `F_MORE`) is re-armed by the next read that finds nothing queued; a
//!   socket starved of buffers is re-armed when a buffer comes back. A
//!   socket holding more than [`MAX_HELD`] unread buffers cancels its
//!   receive, so one slow reader cannot take the whole pool.
//! * Writes are copied into the slot: `queued` collects them while one send
//!   (`sending`) is in flight, then becomes the next send; short sends
//!   resubmit the rest. One send at a time keeps the byte order. Over
//!   [`MAX_IN_FLIGHT`] bytes in the slot, writes wait.
//! * Dropping a socket cancels its receive, accept and polls; its sends run
//!   to their end (like `close(2)`, which sends what was written); the
//!   descriptor is closed when the last completion arrives.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::task::Waker;

use io_uring::squeue;

use crate::sys::{self, BufRing, Completion};

/// The bytes a socket may have written and not yet sent before `poll_write`
/// waits.
pub(crate) const MAX_IN_FLIGHT: usize = 256 * 1024;

/// The received buffers one socket may hold unread before its receive is
/// paused.
pub(crate) const MAX_HELD: usize = 8;

/// `user_data` of the eventfd read.
pub(crate) const EVENTFD: u64 = u64::MAX;
/// `user_data` of operations whose completion means nothing (cancels).
pub(crate) const IGNORE: u64 = u64::MAX - 1;

/// The kinds of operation a slot has in flight, in `user_data`'s low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Recv = 1,
    Send = 2,
    Accept = 3,
    PollIn = 4,
    PollOut = 5,
}

/// The direction of a readiness wait (datagram sockets and connects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// A slot's index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    pub(crate) fn user_data(self, op: Op) -> u64 {
        (u64::from(self.generation) << 35) | (u64::from(self.index) << 3) | op as u64
    }

    fn decode(user_data: u64) -> Option<(Key, Op)> {
        let op = match user_data & 7 {
            1 => Op::Recv,
            2 => Op::Send,
            3 => Op::Accept,
            4 => Op::PollIn,
            5 => Op::PollOut,
            _ => return None,
        };
        let key = Key {
            index: ((user_data >> 3) & u64::from(u32::MAX)) as u32,
            generation: (user_data >> 35) as u32,
        };
        Some((key, op))
    }
}

/// Received bytes: `start..end` of their storage.
#[derive(Debug)]
struct Chunk {
    data: ChunkData,
    start: usize,
    end: usize,
}

/// Where a chunk's bytes are.
#[derive(Debug)]
enum ChunkData {
    /// Still in provided buffer `id`, lent to the socket until read.
    Buffer(u16),
    /// Copied out, because the pool ran low: a socket that does not read
    /// never keeps the others from receiving.
    Owned(Vec<u8>),
}

/// What a read finds after the data.
#[derive(Debug, Clone, Copy)]
enum ReadEnd {
    Eof,
    Error(i32),
}

/// A multishot or one-shot operation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Armed {
    No,
    Yes,
}

/// One socket's state.
#[derive(Debug)]
struct Sock {
    raw: RawFd,
    /// The descriptor, handed over when the socket is dropped.
    closing: Option<OwnedFd>,
    ops: u32,
    recv: Armed,
    /// A cancel of the receive is on its way (too much unread).
    pausing: bool,
    starved: bool,
    chunks: VecDeque<Chunk>,
    end: Option<ReadEnd>,
    readers: Vec<Waker>,
    sending: Option<(Vec<u8>, usize)>,
    queued: Vec<u8>,
    spare: Vec<u8>,
    write_error: Option<i32>,
    shutdown_write: ShutdownWrite,
    writers: Vec<Waker>,
    accept: Armed,
    accepted: VecDeque<io::Result<OwnedFd>>,
    poll_in: Armed,
    poll_out: Armed,
    ready_in: bool,
    ready_out: bool,
}

/// Whether the write side was shut down, or will be once sends drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShutdownWrite {
    No,
    AfterSends,
    Done,
}

impl Sock {
    fn new(raw: RawFd) -> Sock {
        Sock {
            raw,
            closing: None,
            ops: 0,
            recv: Armed::No,
            pausing: false,
            starved: false,
            chunks: VecDeque::new(),
            end: None,
            readers: Vec::new(),
            sending: None,
            queued: Vec::new(),
            spare: Vec::new(),
            write_error: None,
            shutdown_write: ShutdownWrite::No,
            writers: Vec::new(),
            accept: Armed::No,
            accepted: VecDeque::new(),
            poll_in: Armed::No,
            poll_out: Armed::No,
            ready_in: false,
            ready_out: false,
        }
    }

    fn unsent(&self) -> usize {
        self.sending
            .as_ref()
            .map_or(0, |(buf, offset)| buf.len() - offset)
            + self.queued.len()
    }
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    sock: Option<Sock>,
}

/// The state behind the driver's mutex.
pub(crate) struct State {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Entries waiting for the next `park`, which submits them all at once.
    pub(crate) pending: Vec<squeue::Entry>,
    buffers: BufRing,
    buffer_size: usize,
    /// Provided buffers lent to sockets (received, not yet read).
    lent: usize,
    /// Past this many lent buffers, received bytes are copied out.
    lend_limit: usize,
    starved: Vec<Key>,
    pub(crate) counter: Box<u64>,
    pub(crate) counter_armed: bool,
    pub(crate) shutdown: bool,
}

/// Adds `waker` to `list` unless an equivalent one is there.
fn add_waker(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|known| known.will_wake(waker)) {
        list.push(waker.clone());
    }
}

pub(crate) fn gone() -> io::Error {
    io::Error::other(crate::Error::DriverGone)
}

impl State {
    pub(crate) fn new(buffers: BufRing, buffer_size: usize, count: usize) -> State {
        State {
            slots: Vec::new(),
            free: Vec::new(),
            pending: Vec::new(),
            buffers,
            buffer_size,
            lent: 0,
            lend_limit: count * 3 / 4,
            starved: Vec::new(),
            counter: Box::new(0),
            counter_armed: false,
            shutdown: false,
        }
    }

    pub(crate) fn insert(&mut self, raw: RawFd) -> io::Result<Key> {
        if self.shutdown {
            return Err(gone());
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    sock: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.sock = Some(Sock::new(raw));
        Ok(Key {
            index,
            generation: slot.generation,
        })
    }

    fn sock(&mut self, key: Key) -> Option<&mut Sock> {
        sock_in(&mut self.slots, key)
    }

    fn live(&mut self, key: Key) -> io::Result<&mut Sock> {
        if self.shutdown {
            return Err(gone());
        }
        self.sock(key).ok_or_else(gone)
    }
}

fn sock_in(slots: &mut [Slot], key: Key) -> Option<&mut Sock> {
    {
        let slot = slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.sock.as_mut()
    }
}

impl State {
    /// Copies queued bytes into `buf`, or queues the caller to be woken.
    pub(crate) fn read(
        &mut self,
        key: Key,
        waker: &Waker,
        buf: &mut [u8],
    ) -> Option<io::Result<usize>> {
        if self.shutdown {
            return Some(Err(gone()));
        }
        let Some(sock) = sock_in(&mut self.slots, key) else {
            return Some(Err(gone()));
        };
        if sock.chunks.is_empty() {
            match sock.end {
                Some(ReadEnd::Eof) => return Some(Ok(0)),
                Some(ReadEnd::Error(code)) => {
                    sock.end = Some(ReadEnd::Eof);
                    return Some(Err(io::Error::from_raw_os_error(code)));
                }
                None => {}
            }
            if buf.is_empty() {
                return Some(Ok(0));
            }
            add_waker(&mut sock.readers, waker);
            if sock.recv == Armed::No && !sock.starved {
                sock.recv = Armed::Yes;
                sock.ops += 1;
                let entry = sys::recv_multi(sock.raw, key.user_data(Op::Recv));
                self.pending.push(entry);
            }
            return None;
        }
        let mut copied = 0;
        while copied < buf.len() {
            let Some(chunk) = sock.chunks.front_mut() else {
                break;
            };
            let take = (chunk.end - chunk.start).min(buf.len() - copied);
            let bytes = match &chunk.data {
                ChunkData::Buffer(id) => self.buffers.bytes(*id, chunk.start, chunk.start + take),
                ChunkData::Owned(bytes) => &bytes[chunk.start..chunk.start + take],
            };
            buf[copied..copied + take].copy_from_slice(bytes);
            copied += take;
            chunk.start += take;
            if chunk.start == chunk.end {
                if let ChunkData::Buffer(id) = chunk.data {
                    // (`buffers` and `slots` are disjoint fields.)
                    self.buffers.recycle(id);
                    self.lent -= 1;
                }
                sock.chunks.pop_front();
            }
        }
        if !self.starved.is_empty() {
            self.rearm_starved();
        }
        Some(Ok(copied))
    }

    /// Hands a buffer back to the kernel and re-arms a starved socket.
    fn recycle(&mut self, id: u16) {
        self.buffers.recycle(id);
        self.rearm_starved();
    }

    /// Re-arms the receive of one socket that ran out of buffers.
    fn rearm_starved(&mut self) {
        while let Some(key) = self.starved.pop() {
            if let Some(sock) = self.sock(key) {
                if sock.starved && sock.closing.is_none() {
                    sock.starved = false;
                    if sock.recv == Armed::No && !sock.readers.is_empty() {
                        sock.recv = Armed::Yes;
                        sock.ops += 1;
                        let entry = sys::recv_multi(sock.raw, key.user_data(Op::Recv));
                        self.pending.push(entry);
                    }
                    break;
                }
            }
        }
    }

    /// Copies `bufs`, in order, into the socket's send queue (as much as
    /// the back-pressure limit lets in), or queues the caller. One send
    /// carries all of them.
    pub(crate) fn write(
        &mut self,
        key: Key,
        waker: &Waker,
        bufs: &[io::IoSlice<'_>],
    ) -> Option<io::Result<usize>> {
        let sock = match self.live(key) {
            Ok(sock) => sock,
            Err(error) => return Some(Err(error)),
        };
        if let Some(code) = sock.write_error {
            return Some(Err(io::Error::from_raw_os_error(code)));
        }
        if sock.shutdown_write != ShutdownWrite::No {
            return Some(Err(io::Error::from_raw_os_error(libc::EPIPE)));
        }
        if bufs.iter().all(|buf| buf.is_empty()) {
            return Some(Ok(0));
        }
        let unsent = sock.unsent();
        if unsent >= MAX_IN_FLIGHT {
            add_waker(&mut sock.writers, waker);
            return None;
        }
        let mut room = MAX_IN_FLIGHT - unsent;
        let mut take = 0;
        for buf in bufs {
            let part = buf.len().min(room);
            sock.queued.extend_from_slice(&buf[..part]);
            take += part;
            room -= part;
            if room == 0 {
                break;
            }
        }
        if sock.sending.is_none() {
            let entry = start_send(sock, key);
            self.pending.push(entry);
        }
        Some(Ok(take))
    }

    /// `Ok` once everything written was sent, or queues the caller.
    pub(crate) fn flush(&mut self, key: Key, waker: &Waker) -> Option<io::Result<()>> {
        let sock = match self.live(key) {
            Ok(sock) => sock,
            Err(error) => return Some(Err(error)),
        };
        if let Some(code) = sock.write_error {
            return Some(Err(io::Error::from_raw_os_error(code)));
        }
        if sock.unsent() == 0 {
            return Some(Ok(()));
        }
        add_waker(&mut sock.writers, waker);
        None
    }

    /// Shuts down the write side now, or once the queued sends are done.
    pub(crate) fn shutdown_write(&mut self, key: Key) -> io::Result<()> {
        let sock = self.live(key)?;
        match sock.shutdown_write {
            ShutdownWrite::No if sock.unsent() > 0 => {
                sock.shutdown_write = ShutdownWrite::AfterSends;
                Ok(())
            }
            ShutdownWrite::No => {
                sock.shutdown_write = ShutdownWrite::Done;
                sys::shutdown_write(sock.raw)
            }
            ShutdownWrite::AfterSends | ShutdownWrite::Done => Ok(()),
        }
    }

    /// Takes an accepted connection, or arms the multishot accept and
    /// queues the caller.
    pub(crate) fn accept(&mut self, key: Key, waker: &Waker) -> Option<io::Result<OwnedFd>> {
        let sock = match self.live(key) {
            Ok(sock) => sock,
            Err(error) => return Some(Err(error)),
        };
        if let Some(accepted) = sock.accepted.pop_front() {
            return Some(accepted);
        }
        add_waker(&mut sock.readers, waker);
        if sock.accept == Armed::No {
            sock.accept = Armed::Yes;
            sock.ops += 1;
            let entry = sys::accept_multi(sock.raw, key.user_data(Op::Accept));
            self.pending.push(entry);
        }
        None
    }

    /// `Ok` once the socket was seen ready for `direction` (a one-shot poll),
    /// or arms the poll and queues the caller.
    pub(crate) fn ready(
        &mut self,
        key: Key,
        waker: &Waker,
        direction: Direction,
    ) -> Option<io::Result<()>> {
        let sock = match self.live(key) {
            Ok(sock) => sock,
            Err(error) => return Some(Err(error)),
        };
        let (ready, armed, events, op, waiters) = match direction {
            Direction::Read => (
                sock.ready_in,
                &mut sock.poll_in,
                libc::POLLIN,
                Op::PollIn,
                &mut sock.readers,
            ),
            Direction::Write => (
                sock.ready_out,
                &mut sock.poll_out,
                libc::POLLOUT,
                Op::PollOut,
                &mut sock.writers,
            ),
        };
        if ready {
            return Some(Ok(()));
        }
        add_waker(waiters, waker);
        if *armed == Armed::No {
            *armed = Armed::Yes;
            sock.ops += 1;
            let entry = sys::poll_add(sock.raw, events, key.user_data(op));
            self.pending.push(entry);
        }
        None
    }

    /// Forgets the readiness seen for `direction` (the system call said
    /// `WouldBlock`).
    pub(crate) fn clear_ready(&mut self, key: Key, direction: Direction) {
        if let Some(sock) = self.sock(key) {
            match direction {
                Direction::Read => sock.ready_in = false,
                Direction::Write => sock.ready_out = false,
            }
        }
    }

    /// The socket was dropped: cancels what reads on it and closes `fd`
    /// once nothing is in flight.
    pub(crate) fn release(&mut self, key: Key, fd: OwnedFd) {
        let shutdown = self.shutdown;
        let Some(sock) = sock_in(&mut self.slots, key) else {
            return;
        };
        sock.closing = Some(fd);
        sock.readers.clear();
        sock.writers.clear();
        let mut cancels = Vec::new();
        for (armed, op) in [
            (sock.recv, Op::Recv),
            (sock.accept, Op::Accept),
            (sock.poll_in, Op::PollIn),
            (sock.poll_out, Op::PollOut),
        ] {
            if armed == Armed::Yes {
                cancels.push(sys::cancel(key.user_data(op), IGNORE));
            }
        }
        if shutdown {
            if let Some((_, _)) = &sock.sending {
                cancels.push(sys::cancel(key.user_data(Op::Send), IGNORE));
            }
        }
        self.pending.extend(cancels);
        self.free_if_done(key);
    }

    /// Cancels every operation in flight (the driver is being dropped) and
    /// returns how many there are.
    pub(crate) fn cancel_all(&mut self) -> u32 {
        self.shutdown = true;
        let mut in_flight = 0;
        let mut cancels = Vec::new();
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            let key = Key {
                index: index as u32,
                generation: slot.generation,
            };
            let Some(sock) = slot.sock.as_mut() else {
                continue;
            };
            in_flight += sock.ops;
            for (armed, op) in [
                (sock.recv, Op::Recv),
                (sock.accept, Op::Accept),
                (sock.poll_in, Op::PollIn),
                (sock.poll_out, Op::PollOut),
                (
                    if sock.sending.is_some() {
                        Armed::Yes
                    } else {
                        Armed::No
                    },
                    Op::Send,
                ),
            ] {
                if armed == Armed::Yes {
                    cancels.push(sys::cancel(key.user_data(op), IGNORE));
                }
            }
        }
        if self.counter_armed {
            in_flight += 1;
            cancels.push(sys::cancel(EVENTFD, IGNORE));
        }
        self.pending.extend(cancels);
        in_flight
    }

    /// Every waker of every socket, for the driver's drop.
    pub(crate) fn all_waiters(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for sock in self.slots.iter_mut().filter_map(|slot| slot.sock.as_mut()) {
            wakers.append(&mut sock.readers);
            wakers.append(&mut sock.writers);
        }
        wakers
    }

    fn free_if_done(&mut self, key: Key) {
        let Some(slot) = self.slots.get_mut(key.index as usize) else {
            return;
        };
        let done = slot
            .sock
            .as_ref()
            .is_some_and(|sock| sock.closing.is_some() && sock.ops == 0);
        if !done {
            return;
        }
        let sock = slot.sock.take().expect("checked above");
        slot.generation = slot.generation.wrapping_add(1) & ((1 << 29) - 1);
        self.free.push(key.index);
        // The descriptor and any accepted ones close here.
        drop(sock.closing);
        drop(sock.accepted);
        for chunk in sock.chunks {
            if let ChunkData::Buffer(id) = chunk.data {
                self.lent -= 1;
                self.recycle(id);
            }
        }
    }

    /// Applies one completion, collecting the wakers to wake.
    pub(crate) fn complete(&mut self, completion: Completion, wake: &mut Vec<Waker>) {
        let Some((key, op)) = Key::decode(completion.user_data) else {
            return;
        };
        let buffer_size = self.buffer_size;
        let shutdown = self.shutdown;
        let lend = self.lent < self.lend_limit;
        let Some(sock) = sock_in(&mut self.slots, key) else {
            if let Some(id) = completion.buffer() {
                self.recycle(id);
            }
            return;
        };
        let result = completion.result;
        let mut entries = Vec::new();
        let mut recycle = None;
        match op {
            Op::Recv => {
                if let Some(id) = completion.buffer() {
                    let end = (result.max(0) as usize).min(buffer_size);
                    if result > 0 && sock.closing.is_none() && lend {
                        sock.chunks.push_back(Chunk {
                            data: ChunkData::Buffer(id),
                            start: 0,
                            end,
                        });
                        self.lent += 1;
                    } else {
                        if result > 0 && sock.closing.is_none() {
                            let bytes = self.buffers.bytes(id, 0, end).to_vec();
                            sock.chunks.push_back(Chunk {
                                data: ChunkData::Owned(bytes),
                                start: 0,
                                end,
                            });
                        }
                        recycle = Some(id);
                    }
                }
                if !completion.more() {
                    sock.recv = Armed::No;
                    sock.pausing = false;
                    sock.ops -= 1;
                }
                match result {
                    0 => sock.end = Some(ReadEnd::Eof),
                    result if result < 0 => match -result {
                        libc::ENOBUFS => {
                            sock.starved = true;
                            self.starved.push(key);
                            // (Borrow of `starved` and `slots` are disjoint.)
                        }
                        libc::ECANCELED => {}
                        code => sock.end = Some(ReadEnd::Error(code)),
                    },
                    _ => {}
                }
                // A slow reader gives buffers back before taking more.
                if sock.recv == Armed::Yes && !sock.pausing && sock.chunks.len() > MAX_HELD {
                    sock.pausing = true;
                    entries.push(sys::cancel(key.user_data(Op::Recv), IGNORE));
                }
                wake.append(&mut sock.readers);
            }
            Op::Send => {
                let (buf, offset) = sock.sending.as_mut().expect("a send completed");
                if result > 0 && !shutdown {
                    *offset += result as usize;
                    if *offset < buf.len() {
                        entries.push(sys::send(
                            sock.raw,
                            &buf[*offset..],
                            key.user_data(Op::Send),
                        ));
                    }
                } else if result < 0 && -result != libc::ECANCELED {
                    sock.write_error = Some(-result);
                } else {
                    sock.write_error = Some(libc::EPIPE);
                }
                if entries.is_empty() {
                    sock.ops -= 1;
                    let (mut buf, _) = sock.sending.take().expect("a send completed");
                    buf.clear();
                    sock.spare = buf;
                    if sock.write_error.is_some() {
                        sock.queued.clear();
                    } else if !sock.queued.is_empty() {
                        entries.push(start_send(sock, key));
                    } else if sock.shutdown_write == ShutdownWrite::AfterSends {
                        sock.shutdown_write = ShutdownWrite::Done;
                        let _ = sys::shutdown_write(sock.raw);
                    }
                    wake.append(&mut sock.writers);
                }
            }
            Op::Accept => {
                if result >= 0 {
                    // SAFETY: a successful accept returns a new descriptor
                    // that nothing else owns.
                    let fd = unsafe { OwnedFd::from_raw_fd(result) };
                    sock.accepted.push_back(Ok(fd));
                } else if -result != libc::ECANCELED {
                    sock.accepted
                        .push_back(Err(io::Error::from_raw_os_error(-result)));
                }
                if !completion.more() {
                    sock.accept = Armed::No;
                    sock.ops -= 1;
                }
                wake.append(&mut sock.readers);
            }
            Op::PollIn => {
                sock.poll_in = Armed::No;
                sock.ops -= 1;
                sock.ready_in = true;
                wake.append(&mut sock.readers);
            }
            Op::PollOut => {
                sock.poll_out = Armed::No;
                sock.ops -= 1;
                sock.ready_out = true;
                wake.append(&mut sock.writers);
            }
        }
        self.pending.append(&mut entries);
        if let Some(id) = recycle {
            self.recycle(id);
        }
        self.free_if_done(key);
    }
}

/// Moves the queued bytes into a new send.
fn start_send(sock: &mut Sock, key: Key) -> squeue::Entry {
    let spare = std::mem::take(&mut sock.spare);
    let buf = std::mem::replace(&mut sock.queued, spare);
    sock.ops += 1;
    let entry = sys::send(sock.raw, &buf, key.user_data(Op::Send));
    // Moving the vector into the slot moves its header, not its bytes: the
    // pointer in `entry` stays valid.
    sock.sending = Some((buf, 0));
    entry
}
