//! The registry of the tasks alive on one loop.
//!
//! A slab of task references, one word per slot. Each task carries its slot
//! in its tag ([`Runnable::set_tag`](corio_core::Runnable::set_tag)), so that
//! registering and removing a task costs a vector write and no hashing; freed
//! slots are reused last in, first out, which keeps the slab as small and
//! warm as the number of live tasks allows. The tag's top bit marks the
//! loop's internal tasks (`call_at` callbacks), which `all_tasks` does not
//! list.

use corio_core::TaskRef;

/// The tag bit of internal tasks.
const INTERNAL: usize = 1 << (usize::BITS - 1);

/// Whether `all_tasks` lists a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// A task the user spawned.
    Listed,
    /// One of the loop's own tasks (a `call_at` callback).
    Internal,
}

#[derive(Default)]
pub(crate) struct TaskMap {
    slots: Vec<Option<TaskRef>>,
    /// The empty slots, every one of them.
    free: Vec<usize>,
}

/// Whether a task with tag `tag` is one of the loop's own.
pub(crate) fn is_internal(tag: usize) -> bool {
    tag & INTERNAL != 0
}

/// The slot of a task with tag `tag`.
pub(crate) fn key_of(tag: usize) -> usize {
    tag & !INTERNAL
}

impl TaskMap {
    /// The tag to give the next task to insert: its slot, and whether it is
    /// internal.
    pub(crate) fn next_tag(&self, visibility: Visibility) -> usize {
        let key = self.free.last().copied().unwrap_or(self.slots.len());
        match visibility {
            Visibility::Listed => key,
            Visibility::Internal => key | INTERNAL,
        }
    }

    /// Registers `task`, whose tag must come from [`TaskMap::next_tag`].
    pub(crate) fn insert(&mut self, task: TaskRef) {
        let key = key_of(task.tag());
        if key == self.slots.len() {
            self.slots.push(Some(task));
        } else {
            debug_assert_eq!(self.free.last(), Some(&key), "tagged with next_tag");
            self.free.pop();
            self.slots[key] = Some(task);
        }
    }

    /// Forgets the task in slot `key`.
    pub(crate) fn remove(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            if slot.take().is_some() {
                self.free.push(key);
            }
        }
    }

    pub(crate) fn get(&self, key: usize) -> Option<&TaskRef> {
        self.slots.get(key)?.as_ref()
    }

    pub(crate) fn visible(&self) -> impl Iterator<Item = &TaskRef> {
        self.slots
            .iter()
            .flatten()
            .filter(|task| task.tag() & INTERNAL == 0)
    }

    pub(crate) fn all_refs(&self) -> Vec<TaskRef> {
        self.slots.iter().flatten().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
    }
}
