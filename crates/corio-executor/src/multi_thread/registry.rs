//! The registry of live tasks of a multi-thread runtime, sharded: one slab
//! behind its own mutex per worker, plus one for tasks spawned from outside.
//!
//! A task is registered in the shard of the thread that spawned it and
//! stays there; its tag ([`Runnable::set_tag`](corio_core::Runnable::set_tag))
//! encodes the shard, its slot and whether it is pinned to its worker
//! (`spawn_local`), so that the worker that finishes it removes it with one
//! uncontended lock in the common case (a task that finishes where it was
//! spawned) and no search. Workers remove finished tasks in batches
//! ([`Registry::remove_batch`]), one lock per shard per batch, so tasks
//! spawned from outside (all in one shard) do not have every worker contend
//! for that shard's lock once per task; a task stays listed, finished, until
//! its batch goes, and the listings skip finished tasks. `all_tasks` reads
//! every shard; shutdown cancels what is left.

use std::sync::{Mutex, MutexGuard};

use corio_core::{Runnable, TaskRef};

/// Whether a task may run on any worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pinning {
    /// A `Send` task: any worker runs it, any thread may drop it.
    Free,
    /// A `spawn_local` task: only its worker may run or drop it.
    Pinned,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Option<TaskRef>>,
    free: Vec<usize>,
}

pub(crate) struct Registry {
    shards: Box<[Mutex<Slab>]>,
}

/// A task's tag: `((slot * shards + shard) << 1) | pinned`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) shard: usize,
    slot: usize,
    pub(crate) pinning: Pinning,
}

impl Registry {
    pub(crate) fn new(shards: usize) -> Registry {
        Registry {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Slab> {
        corio_core::lock(&self.shards[index])
    }

    pub(crate) fn decode(&self, tag: usize) -> Tag {
        let pinning = if tag & 1 == 1 {
            Pinning::Pinned
        } else {
            Pinning::Free
        };
        let rest = tag >> 1;
        Tag {
            shard: rest % self.shards.len(),
            slot: rest / self.shards.len(),
            pinning,
        }
    }

    fn encode(&self, shard: usize, slot: usize, pinning: Pinning) -> usize {
        ((slot * self.shards.len() + shard) << 1) | usize::from(pinning == Pinning::Pinned)
    }

    /// Registers the task of `runnable` in `shard` and tags it.
    pub(crate) fn insert(&self, shard: usize, runnable: &Runnable, pinning: Pinning) {
        let mut slab = self.shard(shard);
        let slot = slab.free.pop().unwrap_or(slab.slots.len());
        runnable.set_tag(self.encode(shard, slot, pinning));
        let task = Some(runnable.task_ref());
        if slot == slab.slots.len() {
            slab.slots.push(task);
        } else {
            slab.slots[slot] = task;
        }
    }

    /// Forgets the task with `tag` (it has finished).
    pub(crate) fn remove(&self, tag: usize) {
        let tag = self.decode(tag);
        let mut slab = self.shard(tag.shard);
        if let Some(task) = slab.slots.get_mut(tag.slot).and_then(Option::take) {
            slab.free.push(tag.slot);
            drop(slab);
            drop(task);
        }
    }

    /// Forgets the tasks of `tags` (decoded tags of tasks that finished),
    /// taking each shard's lock once, and empties `tags`. The references go
    /// through `released`, a buffer the caller keeps, and are dropped after
    /// each lock is released.
    pub(crate) fn remove_batch(&self, tags: &mut Vec<Tag>, released: &mut Vec<TaskRef>) {
        tags.sort_unstable_by_key(|tag| tag.shard);
        for run in tags.chunk_by(|a, b| a.shard == b.shard) {
            let mut slab = self.shard(run[0].shard);
            for tag in run {
                if let Some(task) = slab.slots.get_mut(tag.slot).and_then(Option::take) {
                    slab.free.push(tag.slot);
                    released.push(task);
                }
            }
            drop(slab);
            released.clear();
        }
        tags.clear();
    }

    /// The task with `tag`, if it is still registered.
    pub(crate) fn get(&self, tag: usize) -> Option<TaskRef> {
        let tag = self.decode(tag);
        self.shard(tag.shard).slots.get(tag.slot)?.clone()
    }

    /// Every live task of `shard` (not the finished ones a worker has yet
    /// to remove).
    pub(crate) fn shard_tasks(&self, shard: usize) -> Vec<TaskRef> {
        self.shard(shard)
            .slots
            .iter()
            .flatten()
            .filter(|task| !task.is_done())
            .cloned()
            .collect()
    }

    /// Every live task.
    pub(crate) fn all(&self) -> Vec<TaskRef> {
        (0..self.shards.len())
            .flat_map(|shard| self.shard_tasks(shard))
            .collect()
    }

    /// Takes every reference out of every shard (at the end of shutdown).
    pub(crate) fn take_all(&self) -> Vec<TaskRef> {
        (0..self.shards.len())
            .flat_map(|shard| {
                let mut slab = self.shard(shard);
                slab.free.clear();
                std::mem::take(&mut slab.slots).into_iter().flatten()
            })
            .collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn runnable() -> (Runnable, corio_core::Task<()>) {
        corio_core::spawn(
            async {},
            drop,
            corio_core::TaskMeta::new(std::panic::Location::caller()),
        )
    }

    #[test]
    fn tags_name_the_shard_and_the_pinning() {
        let registry = Registry::new(3);
        let (free, _a) = runnable();
        let (pinned, _b) = runnable();
        registry.insert(2, &free, Pinning::Free);
        registry.insert(2, &pinned, Pinning::Pinned);
        assert_eq!(registry.decode(free.tag()).shard, 2);
        assert_eq!(registry.decode(pinned.tag()).pinning, Pinning::Pinned);
        assert_eq!(registry.all().len(), 2);
        registry.remove(free.tag());
        assert_eq!(registry.shard_tasks(2).len(), 1);
        assert!(registry.get(pinned.tag()).is_some());
        assert_eq!(registry.take_all().len(), 1);
    }

    #[test]
    fn a_batch_removes_its_tasks_from_every_shard_and_lists_skip_finished_ones() {
        let registry = Registry::new(2);
        let tasks: Vec<_> = (0..5).map(|_| runnable()).collect();
        for (n, (runnable, _)) in tasks.iter().enumerate() {
            registry.insert(n % 2, runnable, Pinning::Free);
        }
        let (done, _task) = runnable();
        registry.insert(1, &done, Pinning::Free);
        let done_tag = done.tag();
        assert!(done.run(), "an empty future finishes at once");
        assert_eq!(registry.all().len(), 5, "the finished task is not listed");
        let mut batch: Vec<Tag> = tasks[..3]
            .iter()
            .map(|(r, _)| registry.decode(r.tag()))
            .collect();
        batch.push(registry.decode(done_tag));
        let mut released = Vec::new();
        registry.remove_batch(&mut batch, &mut released);
        assert!(batch.is_empty());
        assert_eq!(registry.all().len(), 2);
        assert!(registry.get(tasks[0].0.tag()).is_none());
        assert!(registry.get(tasks[4].0.tag()).is_some());
        assert_eq!(registry.take_all().len(), 2, "the finished task went too");
    }
}
