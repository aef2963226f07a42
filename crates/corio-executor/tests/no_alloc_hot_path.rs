//! The hot path of the current-thread loop makes no allocation per poll.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use corio_executor::{yield_now, EventLoop};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Only allocations made by the thread under test count: the test
    // harness's own threads may allocate at any time.
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count_one() {
    if COUNTING.with(std::cell::Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a side effect that does not touch the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn polling_yielding_tasks_allocates_nothing_in_the_steady_state() {
    let mut event_loop = EventLoop::with_driver(corio_core::ParkDriver::new());
    const TASKS: usize = 100;
    const YIELDS: usize = 1_000;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            event_loop.spawn_local(async {
                for _ in 0..YIELDS {
                    yield_now().await;
                }
            })
        })
        .collect();
    // Warm up: the ready queue reaches its working size.
    event_loop.run_until_complete(async {
        for _ in 0..10 {
            yield_now().await;
        }
    });
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    event_loop.run_until_complete(async {
        for _ in 0..500 {
            yield_now().await;
        }
    });
    COUNTING.with(|counting| counting.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // 500 iterations x 100 tasks = 50,000 polls; the one allowance is the
    // main future's waker of the second `run_until_complete`.
    assert!(
        allocations <= 1,
        "{allocations} allocations for 50,000 polls"
    );
    for task in tasks {
        event_loop.run_until_complete(task).unwrap();
    }
}
