//! The seed article's atomicity example: synchronous code between two awaits
//! runs without interruption, so the monitor only ever sees a multiple of ten.
//!
//! Bounded so that it ends: the fetcher stops after 20 batches, the monitor
//! when the fetcher is done.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// Stands in for IO: waits a little, then returns ten values.
async fn get_some_values_from_io(round: u32) -> Vec<u32> {
    corio::sleep(Duration::from_millis(3)).await;
    (0..10).map(|i| round * 10 + i).collect()
}

async fn fetcher(vals: Rc<RefCell<Vec<u32>>>, done: Rc<Cell<bool>>) {
    for round in 0..20 {
        let io_vals = get_some_values_from_io(round).await;
        for val in io_vals {
            vals.borrow_mut().push(val);
        }
    }
    done.set(true);
}

async fn monitor(vals: Rc<RefCell<Vec<u32>>>, done: Rc<Cell<bool>>) -> usize {
    let mut looks = 0;
    while !done.get() {
        let len = vals.borrow().len();
        println!("{len}");
        assert_eq!(len % 10, 0, "the monitor saw a half-finished batch");
        looks += 1;
        corio::sleep(Duration::from_millis(1)).await;
    }
    looks
}

fn main() {
    let vals = Rc::new(RefCell::new(Vec::new()));
    let done = Rc::new(Cell::new(false));
    let ((), looks) = corio::run(corio::gather!(
        fetcher(vals.clone(), done.clone()),
        monitor(vals.clone(), done.clone()),
    ));
    assert_eq!(vals.borrow().len(), 200);
    assert!(looks > 0);
    println!(
        "fetched {} values; the monitor looked {looks} times and always saw a multiple of ten",
        vals.borrow().len()
    );
}
