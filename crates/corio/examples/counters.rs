//! The seed article's closing program: four counters that interleave because
//! each yields with `sleep(0)` after every line.
//!
//! ```text
//! task0: 0
//! task1: 0
//! task2: 0
//! task3: 0
//! task0: 1
//! ...
//! ```

use std::time::Duration;

async fn counter(name: String) {
    for i in 0..100 {
        println!("{name}: {i}");
        corio::sleep(Duration::ZERO).await;
    }
}

async fn main_task() {
    let mut tasks: Vec<corio::Task<()>> = (0..4)
        .map(|n| corio::spawn(counter(format!("task{n}"))))
        .collect();
    loop {
        tasks.retain(|task| !task.is_done());
        let Some(first) = tasks.first_mut() else {
            return;
        };
        first.await.expect("a counter never fails");
    }
}

fn main() {
    corio::run(main_task());
}
