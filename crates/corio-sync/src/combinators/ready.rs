//! One waker per child future and a shared list of the children woken since
//! the last poll: the bookkeeping that lets `gather`, `as_completed` and
//! `wait` poll only the children that were woken.
//!
//! # Protocol
//!
//! - Each child `i` gets its own waker, a [`ChildWake`] with a `queued` flag.
//!   Waking it sets `queued` and, if it was clear, pushes `i` onto the shared
//!   `ready` list: a child is on the list at most once. The combinator clears
//!   `queued` just before it polls the child, so that a wake during or after
//!   that poll queues the child again and no wake-up is lost.
//! - The first child wake after a poll of the combinator wakes the
//!   combinator's own task (the *parent*) and sets `parent_woken`; later
//!   wakes only queue their index, so a burst of wake-ups costs one parent
//!   wake-up. Each poll of the combinator clears `parent_woken` after it
//!   stored the parent's waker and before it reads the ready list, so a wake
//!   that lands after the read wakes the parent again.
//! - At the start every child counts as woken (the list holds `0..len`), and
//!   every `queued` flag is set. The wakers are made on the first poll.
//! - The ready list is taken at most once per poll, so a child that wakes
//!   itself while polled (a yield) is polled at most once per poll of the
//!   combinator. When the task runs out of its cooperative budget, the rest of
//!   the taken batch waits for the next poll (and the parent is woken for
//!   it): polling more children would only make each return `Pending` and
//!   queue itself again.

use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

use corio_core::{coop, lock};

/// The woken children of one combinator and their wakers.
pub(crate) struct ReadyList {
    shared: Arc<Shared>,
    /// One waker per child, made on the first poll.
    children: Vec<(Arc<ChildWake>, Waker)>,
    /// The indices taken from the ready list, handed out from `cursor` on.
    batch: Vec<usize>,
    cursor: usize,
    /// Whether this poll of the combinator already took the ready list.
    took_ready_list: bool,
    len: usize,
}

struct Shared {
    /// Indices of the children woken since the list was last taken.
    ready: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
    /// Set by the first child wake after a poll of the combinator.
    parent_woken: AtomicBool,
}

struct ChildWake {
    index: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for ChildWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        lock(&self.shared.ready).push(self.index);
        if self.shared.parent_woken.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = lock(&self.shared.parent).clone();
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl ReadyList {
    /// A list for `len` children, all of them woken.
    pub(crate) fn new(len: usize) -> ReadyList {
        ReadyList {
            shared: Arc::new(Shared {
                ready: Mutex::new((0..len).collect()),
                parent: Mutex::new(None),
                parent_woken: AtomicBool::new(false),
            }),
            children: Vec::new(),
            batch: Vec::new(),
            cursor: 0,
            took_ready_list: false,
            len,
        }
    }

    /// Starts a poll of the combinator: `cx`'s waker becomes the parent that
    /// child wakes wake, and the ready list may be taken once more.
    pub(crate) fn start_poll(&mut self, cx: &Context<'_>) {
        {
            let mut parent = lock(&self.shared.parent);
            if !parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
        }
        // This poll consumes any pending wake-up: a child wake that lands
        // from here on queues its index and wakes the task again.
        self.shared.parent_woken.store(false, Ordering::Release);
        self.took_ready_list = false;
    }

    /// Returns the next woken child to poll in this poll of the combinator
    /// and the waker to poll it with, or `None` when there is none left for
    /// this poll (the parent is woken again if some wait for budget).
    pub(crate) fn next_woken(&mut self, cx: &Context<'_>) -> Option<(usize, &Waker)> {
        if self.cursor == self.batch.len() {
            if self.took_ready_list {
                return None;
            }
            self.took_ready_list = true;
            self.batch.clear();
            self.cursor = 0;
            mem::swap(&mut self.batch, &mut *lock(&self.shared.ready));
            if self.batch.is_empty() {
                return None;
            }
            if self.children.is_empty() {
                self.children = (0..self.len)
                    .map(|index| {
                        let child = Arc::new(ChildWake {
                            index,
                            queued: AtomicBool::new(true),
                            shared: self.shared.clone(),
                        });
                        (child.clone(), Waker::from(child))
                    })
                    .collect();
            }
        }
        if !coop::has_budget_remaining() {
            // Keep the rest of the batch for the next poll (see the module
            // docs).
            cx.waker().wake_by_ref();
            return None;
        }
        let index = self.batch[self.cursor];
        self.cursor += 1;
        let (child, waker) = &self.children[index];
        // Cleared before the poll, so that a wake during the poll queues the
        // child again.
        child.queued.store(false, Ordering::Release);
        Some((index, waker))
    }

    /// Forgets the parent: the combinator finished, and late child wakes
    /// must not wake the task that ran it.
    pub(crate) fn finish(&mut self) {
        lock(&self.shared.parent).take();
        self.shared.parent_woken.store(true, Ordering::Release);
    }
}
