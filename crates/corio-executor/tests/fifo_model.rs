//! The loop's order against a model of asyncio's: random programs of tasks
//! that log, yield, spawn and schedule callbacks must log in exactly the
//! order asyncio's `_run_once` would produce.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use corio_executor::{spawn_local, yield_now, EventLoop};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Log,
    Yield,
    Spawn(Vec<Step>),
    CallSoon,
}

fn step() -> impl Strategy<Value = Step> {
    let leaf = prop_oneof![Just(Step::Log), Just(Step::Yield), Just(Step::CallSoon)];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            3 => Just(Step::Log),
            3 => Just(Step::Yield),
            1 => Just(Step::CallSoon),
            1 => prop::collection::vec(inner, 0..6).prop_map(Step::Spawn),
        ]
    })
}

type Log = Rc<RefCell<Vec<String>>>;

/// Runs `steps` as task `name` on the real loop.
fn task(
    name: String,
    steps: Vec<Step>,
    log: Log,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(async move {
        let mut children = 0;
        let mut callbacks = 0;
        for (index, step) in steps.into_iter().enumerate() {
            match step {
                Step::Log => log.borrow_mut().push(format!("{name}:{index}")),
                Step::Yield => yield_now().await,
                Step::Spawn(child_steps) => {
                    let child = format!("{name}.{children}");
                    children += 1;
                    spawn_local(task(child, child_steps, log.clone())).detach();
                }
                Step::CallSoon => {
                    let entry = format!("{name}!cb{callbacks}");
                    callbacks += 1;
                    let log = log.clone();
                    corio_executor::call_soon(move || log.borrow_mut().push(entry));
                }
            }
        }
    })
}

/// asyncio's order, simulated: each entry that is ready runs once; spawned
/// tasks and callbacks, and yielding tasks, go to the back of the queue.
fn model(root: Vec<Step>) -> Vec<String> {
    enum Entry {
        Task {
            name: String,
            steps: Vec<Step>,
            next: usize,
            children: usize,
            callbacks: usize,
        },
        Callback(String),
    }
    let mut log = Vec::new();
    let mut ready = VecDeque::from([Entry::Task {
        name: "root".into(),
        steps: root,
        next: 0,
        children: 0,
        callbacks: 0,
    }]);
    while let Some(entry) = ready.pop_front() {
        match entry {
            Entry::Callback(text) => log.push(text),
            Entry::Task {
                name,
                steps,
                mut next,
                mut children,
                mut callbacks,
            } => {
                let mut yielded = false;
                while next < steps.len() {
                    let index = next;
                    next += 1;
                    match &steps[index] {
                        Step::Log => log.push(format!("{name}:{index}")),
                        Step::Yield => {
                            yielded = true;
                            break;
                        }
                        Step::Spawn(child_steps) => {
                            ready.push_back(Entry::Task {
                                name: format!("{name}.{children}"),
                                steps: child_steps.clone(),
                                next: 0,
                                children: 0,
                                callbacks: 0,
                            });
                            children += 1;
                        }
                        Step::CallSoon => {
                            ready.push_back(Entry::Callback(format!("{name}!cb{callbacks}")));
                            callbacks += 1;
                        }
                    }
                }
                if yielded {
                    ready.push_back(Entry::Task {
                        name,
                        steps,
                        next,
                        children,
                        callbacks,
                    });
                }
            }
        }
    }
    log
}

proptest! {
    #[test]
    fn prop_loop_order_matches_asyncio(root in prop::collection::vec(step(), 0..12)) {
        let expected = model(root.clone());
        let log: Log = Rc::default();
        let mut event_loop = EventLoop::with_driver(corio_core::ParkDriver::new());
        event_loop.spawn_local(task("root".into(), root, log.clone())).detach();
        // The main future is one more entry of the queue that logs nothing:
        // it yields until everything has logged (or clearly never will).
        let watched = log.clone();
        let wanted = expected.len();
        event_loop.run_until_complete(async move {
            for _ in 0..10_000 {
                // The main future itself is listed: wait until it is alone.
                if watched.borrow().len() >= wanted && corio_executor::all_tasks().len() == 1 {
                    break;
                }
                yield_now().await;
            }
        });
        prop_assert_eq!(&*log.borrow(), &expected);
    }
}
