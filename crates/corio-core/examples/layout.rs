//! Prints the size of a task's header and of the whole allocation for a
//! trivial future: `cargo run -p corio-core --example layout`.

use corio_core::{task_allocation_size, task_header_size, Runnable};

fn main() {
    let future = async {};
    let schedule = |runnable: Runnable| drop(runnable);
    println!("task header: {} bytes", task_header_size());
    println!(
        "task allocation for `async {{}}` with a closure scheduler: {} bytes",
        task_allocation_size(&future, &schedule)
    );
}
