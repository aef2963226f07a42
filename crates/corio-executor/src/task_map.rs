//! The registry of the tasks alive on one loop.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use corio_core::{TaskId, TaskRef};

/// Live tasks by id. The loop keeps a reference to each task until it has
/// finished, so that `all_tasks` can list them and shutdown can cancel them.
#[derive(Default)]
pub(crate) struct TaskMap {
    tasks: HashMap<TaskId, Entry, BuildHasherDefault<IdHasher>>,
}

struct Entry {
    task: TaskRef,
    /// Tasks the loop made for itself (`call_later` callbacks) are not
    /// listed by `all_tasks`.
    internal: bool,
}

impl TaskMap {
    pub(crate) fn insert(&mut self, task: TaskRef, internal: bool) {
        self.tasks.insert(task.id(), Entry { task, internal });
    }

    pub(crate) fn remove(&mut self, id: TaskId) {
        self.tasks.remove(&id);
    }

    pub(crate) fn get(&self, id: TaskId) -> Option<&TaskRef> {
        self.tasks.get(&id).map(|entry| &entry.task)
    }

    pub(crate) fn visible(&self) -> impl Iterator<Item = &TaskRef> {
        self.tasks
            .values()
            .filter(|entry| !entry.internal)
            .map(|entry| &entry.task)
    }

    pub(crate) fn all_refs(&self) -> Vec<TaskRef> {
        self.tasks
            .values()
            .map(|entry| entry.task.clone())
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    pub(crate) fn clear(&mut self) {
        self.tasks.clear();
    }
}

/// Task ids are unique integers handed out in sequence: a multiplicative
/// hash spreads them over the table at the cost of one multiplication,
/// where SipHash would cost tens of nanoseconds per spawn.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
