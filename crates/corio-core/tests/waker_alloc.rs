//! Cloning and waking a task's waker never allocates: the waker is the task.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use corio_core::{spawn, Runnable, TaskMeta};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialized thread-local that never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded with the caller's arguments.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn cloning_waking_and_rescheduling_do_not_allocate() {
    let queue: Arc<Mutex<VecDeque<Runnable>>> = Arc::new(Mutex::new(VecDeque::with_capacity(16)));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let schedule = {
        let queue = queue.clone();
        move |runnable| queue.lock().unwrap().push_back(runnable)
    };
    let future = {
        let slot = slot.clone();
        poll_fn(move |cx| {
            let mut slot = slot.lock().unwrap();
            match &*slot {
                Some(stored) if stored.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
            Poll::<()>::Pending
        })
    };
    let (runnable, task) = spawn(
        future,
        schedule,
        TaskMeta::new(std::panic::Location::caller()),
    );
    assert!(!runnable.run());
    let waker = slot.lock().unwrap().clone().unwrap();

    let allocations = allocations_during(|| {
        for _ in 0..10 {
            let clone = waker.clone();
            clone.wake_by_ref();
            clone.wake();
            waker.wake_by_ref();
        }
        let rescheduled = queue.lock().unwrap().pop_front().unwrap();
        assert!(!rescheduled.run());
        let again = waker.clone();
        again.wake();
        let rescheduled = queue.lock().unwrap().pop_front().unwrap();
        assert!(!rescheduled.run());
    });
    assert_eq!(allocations, 0);
    // The future keeps its own waker in `slot`; break that cycle so the
    // task is freed (Miri checks for leaks).
    drop(task);
    drop(waker);
    drop(slot.lock().unwrap().take());
}
