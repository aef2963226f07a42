//! The one module of the crate with `unsafe` code: the ring, the provided
//! buffer ring, and the submission of operations that carry pointers.
//!
//! # Why the pointers stay valid
//!
//! Every pointer that goes into a submission entry points into memory the
//! driver owns, never into a future or a user buffer:
//!
//! * receive buffers live in [`BufRing`], one allocation made when the driver
//!   starts and freed when the last reference to the driver's shared state
//!   goes, which happens only after the ring is closed and every operation
//!   has completed (the driver drains its operations when dropped and leaks
//!   the shared state if the kernel does not finish them in time);
//! * send buffers are `Vec<u8>`s stored in the socket's slot in the driver's
//!   state: [`send`] takes a pointer into one, and the slot keeps the vector,
//!   unmodified, until the completion of that send arrives (a socket dropped
//!   with sends in flight leaves its slot behind until then);
//! * the eventfd's counter is a boxed `u64` in the shared state, under the
//!   same rule as the receive buffers;
//! * the timeout of a wait is on the stack of [`Ring::submit_and_wait`]
//!   and is read by the kernel during that call only.
//!
//! Descriptors given to the kernel are closed only after the last completion
//! of an operation on them (the driver keeps the `OwnedFd` in the slot).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use io_uring::types::{BufRingEntry, Fd, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, IoUring};

/// The buffer group id of the driver's one provided-buffer ring.
pub(crate) const BUF_GROUP: u16 = 0;

/// An io_uring instance.
pub(crate) struct Ring {
    ring: IoUring,
    /// Created disabled, to be enabled (and bound to its thread) by the
    /// first `park`.
    disabled: bool,
}

/// One completion, copied out of the completion queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    pub(crate) user_data: u64,
    pub(crate) result: i32,
    pub(crate) flags: u32,
}

impl Completion {
    /// The provided buffer this completion filled, if any.
    pub(crate) fn buffer(&self) -> Option<u16> {
        cqueue::buffer_select(self.flags)
    }

    /// Whether the multishot operation that posted this goes on.
    pub(crate) fn more(&self) -> bool {
        cqueue::more(self.flags)
    }
}

impl Ring {
    /// Creates a ring with `entries` submission slots.
    ///
    /// Best first: one issuer whose completions run only when it enters the
    /// kernel (`SINGLE_ISSUER | DEFER_TASKRUN`, Linux 6.1), created disabled
    /// so that the thread of the first `park` becomes the issuer; then
    /// completions that wait for the next enter instead of interrupting
    /// the loop (`COOP_TASKRUN`, 5.19); then a plain ring. The kernel flags
    /// pending work (`TASKRUN_FLAG`), which `submit_and_wait` checks.
    pub(crate) fn new(entries: u32) -> io::Result<Ring> {
        let cq = entries * 8;
        if let Ok(ring) = IoUring::builder()
            .setup_cqsize(cq)
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_taskrun_flag()
            .setup_r_disabled()
            .build(entries)
        {
            return Ok(Ring {
                ring,
                disabled: true,
            });
        }
        let ring = IoUring::builder()
            .setup_cqsize(cq)
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .build(entries)
            .or_else(|_| IoUring::builder().setup_cqsize(cq).build(entries))?;
        Ok(Ring {
            ring,
            disabled: false,
        })
    }

    /// Whether the kernel may have received submissions.
    pub(crate) fn was_enabled(&self) -> bool {
        !self.disabled
    }

    /// Enables a ring created disabled: the calling thread becomes the only
    /// one that may submit to it.
    pub(crate) fn enable(&mut self) -> io::Result<()> {
        if self.disabled {
            self.ring.submitter().register_enable_rings()?;
            self.disabled = false;
        }
        Ok(())
    }

    /// Queues `entries` for submission, submitting early when the queue is
    /// full.
    pub(crate) fn push_all(&mut self, entries: &mut Vec<squeue::Entry>) -> io::Result<()> {
        for entry in entries.drain(..) {
            loop {
                // SAFETY: every entry was built by a function of this module,
                // whose pointers stay valid until the entry's completion (see
                // the module docs).
                let pushed = unsafe { self.ring.submission().push(&entry) };
                if pushed.is_ok() {
                    break;
                }
                self.submit_retrying(0)?;
            }
        }
        Ok(())
    }

    fn submit_retrying(&mut self, want: usize) -> io::Result<usize> {
        loop {
            match self.ring.submit_and_wait(want) {
                Err(error) if error.raw_os_error() == Some(libc::EINTR) => {}
                Err(error) if error.raw_os_error() == Some(libc::EBUSY) => return Ok(0),
                result => return result,
            }
        }
    }

    /// Submits what is queued and waits for a completion, at most `timeout`;
    /// never waits with a zero timeout. One `io_uring_enter`, or none when
    /// nothing is queued and nothing is to be waited for.
    pub(crate) fn submit_and_wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let queued = !self.ring.submission().is_empty();
        let result = match timeout {
            Some(timeout) if timeout.is_zero() => {
                if !queued && !self.ring.submission().taskrun() {
                    return Ok(());
                }
                self.ring.submit().map(drop)
            }
            None => self.ring.submit_and_wait(1).map(drop),
            Some(timeout) => {
                if !self.ring.completion().is_empty() {
                    return self.ring.submit().map(drop);
                }
                let timespec = Timespec::from(timeout.min(Duration::from_secs(1 << 30)));
                let args = SubmitArgs::new().timespec(&timespec);
                self.ring.submitter().submit_with_args(1, &args).map(drop)
            }
        };
        match result {
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            result => result,
        }
    }

    /// Moves every completion into `out`.
    pub(crate) fn drain(&mut self, out: &mut Vec<Completion>) {
        for cqe in self.ring.completion() {
            out.push(Completion {
                user_data: cqe.user_data(),
                result: cqe.result(),
                flags: cqe.flags(),
            });
        }
    }

    /// Registers `buffers` as the provided-buffer ring of group
    /// [`BUF_GROUP`].
    pub(crate) fn register(&self, buffers: &BufRing) -> io::Result<()> {
        // SAFETY: the ring memory of `buffers` stays allocated until the
        // shared state is dropped, after this ring is closed (module docs).
        unsafe {
            self.ring.submitter().register_buf_ring_with_flags(
                buffers.ring as u64,
                buffers.entries,
                BUF_GROUP,
                0,
            )
        }
    }
}

/// The ring of provided buffers the kernel receives into, and the buffers.
pub(crate) struct BufRing {
    ring: *mut BufRingEntry,
    ring_layout: Layout,
    data: *mut u8,
    data_layout: Layout,
    entries: u16,
    size: u32,
    tail: u16,
}

// SAFETY: the raw pointers are owned allocations, used only under the
// mutex of the driver's state.
unsafe impl Send for BufRing {}

impl BufRing {
    /// Allocates `entries` (a power of two) buffers of `size` bytes, all
    /// handed to the kernel once registered.
    pub(crate) fn new(entries: u16, size: u32) -> io::Result<BufRing> {
        assert!(entries.is_power_of_two() && size > 0);
        let ring_layout =
            Layout::from_size_align(entries as usize * std::mem::size_of::<BufRingEntry>(), 4096)
                .map_err(io::Error::other)?;
        let data_layout = Layout::from_size_align(entries as usize * size as usize, 4096)
            .map_err(io::Error::other)?;
        // SAFETY: both layouts have a non-zero size.
        let (ring, data) = unsafe { (alloc_zeroed(ring_layout), alloc_zeroed(data_layout)) };
        if ring.is_null() || data.is_null() {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        }
        let mut buffers = BufRing {
            ring: ring.cast(),
            ring_layout,
            data,
            data_layout,
            entries,
            size,
            tail: 0,
        };
        for id in 0..entries {
            buffers.push(id);
        }
        buffers.publish();
        Ok(buffers)
    }

    /// The bytes of buffer `id` at `start..end`.
    pub(crate) fn bytes(&self, id: u16, start: usize, end: usize) -> &[u8] {
        assert!(id < self.entries && start <= end && end <= self.size as usize);
        // SAFETY: the range is inside buffer `id` of the data allocation, and
        // the kernel does not write a buffer between the completion that
        // filled it and its return by `recycle`.
        unsafe {
            std::slice::from_raw_parts(
                self.data.add(id as usize * self.size as usize + start),
                end - start,
            )
        }
    }

    /// Hands buffer `id` back to the kernel.
    pub(crate) fn recycle(&mut self, id: u16) {
        self.push(id);
        self.publish();
    }

    fn push(&mut self, id: u16) {
        let mask = self.entries - 1;
        // SAFETY: the slot index is masked into the ring; the kernel reads
        // entries only up to the published tail, which does not cover this
        // slot yet.
        let entry = unsafe { &mut *self.ring.add((self.tail & mask) as usize) };
        // SAFETY: `id < entries`, so the address is inside the allocation.
        entry.set_addr(unsafe { self.data.add(id as usize * self.size as usize) } as u64);
        entry.set_len(self.size);
        entry.set_bid(id);
        self.tail = self.tail.wrapping_add(1);
    }

    fn publish(&self) {
        // SAFETY: the tail field lives in the first entry of the ring, which
        // is allocated and aligned for a u16; the kernel reads it atomically.
        let tail = unsafe { &*(BufRingEntry::tail(self.ring).cast::<AtomicU16>()) };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; no operation that
        // could use them is in flight (module docs).
        unsafe {
            dealloc(self.ring.cast(), self.ring_layout);
            dealloc(self.data, self.data_layout);
        }
    }
}

/// A multishot receive on `fd` into the provided buffers.
pub(crate) fn recv_multi(fd: RawFd, user_data: u64) -> squeue::Entry {
    opcode::RecvMulti::new(Fd(fd), BUF_GROUP)
        .build()
        .user_data(user_data)
}

/// A multishot accept on `fd`.
pub(crate) fn accept_multi(fd: RawFd, user_data: u64) -> squeue::Entry {
    opcode::AcceptMulti::new(Fd(fd))
        .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
        .build()
        .user_data(user_data)
}

/// A one-shot poll of `fd` for `events` (`libc::POLLIN`, `POLLOUT`).
pub(crate) fn poll_add(fd: RawFd, events: i16, user_data: u64) -> squeue::Entry {
    opcode::PollAdd::new(Fd(fd), events as u16 as u32)
        .build()
        .user_data(user_data)
}

/// Cancels the operation submitted with `target`.
pub(crate) fn cancel(target: u64, user_data: u64) -> squeue::Entry {
    opcode::AsyncCancel::new(target)
        .build()
        .user_data(user_data)
}

/// A send of `buf` on `fd`.
///
/// The caller keeps `buf` alive and unmodified until the completion of
/// `user_data` arrives (the slot of the socket holds it).
pub(crate) fn send(fd: RawFd, buf: &[u8], user_data: u64) -> squeue::Entry {
    let len = buf.len().min(u32::MAX as usize) as u32;
    opcode::Send::new(Fd(fd), buf.as_ptr(), len)
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(user_data)
}

/// A read of the eventfd's 8-byte counter into `counter`, which the shared
/// state owns (module docs).
pub(crate) fn read_counter(fd: RawFd, counter: &mut u64, user_data: u64) -> squeue::Entry {
    opcode::Read::new(Fd(fd), (counter as *mut u64).cast(), 8)
        .build()
        .user_data(user_data)
}

/// Creates a nonblocking eventfd.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain system call with valid flags.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to the eventfd's counter; a full counter (never in practice)
/// already makes the pending read complete.
pub(crate) fn signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to a descriptor we own.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

/// Sets the listen backlog of a listening socket (std uses 128).
pub(crate) fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: plain system call on a descriptor the caller owns.
    if unsafe { libc::listen(fd, backlog) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Shuts down the write side of the socket `fd`.
pub(crate) fn shutdown_write(fd: RawFd) -> io::Result<()> {
    shutdown(fd, libc::SHUT_WR)
}

/// Stops a listening socket at once: connects are refused from now on, and
/// the pending accept completes, although the descriptor closes only after
/// that completion.
pub(crate) fn stop_listening(fd: RawFd) {
    let _ = shutdown(fd, libc::SHUT_RD);
}

fn shutdown(fd: RawFd, how: i32) -> io::Result<()> {
    // SAFETY: plain system call on a descriptor the caller owns.
    if unsafe { libc::shutdown(fd, how) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
