//! The registry of the tasks alive on one loop.
//!
//! A slab: each task's slot index travels with the task as its
//! [`TaskMeta`](corio_core::TaskMeta) tag, so that registering and removing a
//! task costs a vector write and no hashing, and freed slots are reused last
//! in, first out, which keeps the slab as small and warm as the number of
//! live tasks allows.

use corio_core::TaskRef;

#[derive(Default)]
pub(crate) struct TaskMap {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    len: usize,
}

struct Entry {
    task: TaskRef,
    /// Tasks the loop made for itself (`call_at` callbacks) are not listed
    /// by `all_tasks`.
    internal: bool,
}

impl TaskMap {
    /// The slot the next inserted task will occupy: give it to the task as
    /// its tag before spawning it.
    pub(crate) fn next_key(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    /// Registers `task`, whose tag must be [`TaskMap::next_key`].
    pub(crate) fn insert(&mut self, task: TaskRef, internal: bool) {
        let key = task.tag();
        debug_assert_eq!(key, self.next_key(), "a task must be tagged with next_key");
        let entry = Some(Entry { task, internal });
        if key == self.slots.len() {
            self.slots.push(entry);
        } else {
            self.free.pop();
            self.slots[key] = entry;
        }
        self.len += 1;
    }

    /// Forgets the task in slot `key`.
    pub(crate) fn remove(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            if slot.take().is_some() {
                self.free.push(key);
                self.len -= 1;
            }
        }
    }

    pub(crate) fn get(&self, key: usize) -> Option<&TaskRef> {
        self.slots.get(key)?.as_ref().map(|entry| &entry.task)
    }

    pub(crate) fn visible(&self) -> impl Iterator<Item = &TaskRef> {
        self.slots
            .iter()
            .flatten()
            .filter(|entry| !entry.internal)
            .map(|entry| &entry.task)
    }

    pub(crate) fn all_refs(&self) -> Vec<TaskRef> {
        self.slots
            .iter()
            .flatten()
            .map(|entry| entry.task.clone())
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.len = 0;
    }
}
