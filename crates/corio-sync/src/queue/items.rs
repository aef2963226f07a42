//! The items of a queue in one of three orders: first in first out, last in
//! first out, or lowest first.

use std::collections::VecDeque;

/// A queue's items, kept in the order its kind gives them out.
#[derive(Debug)]
pub(crate) enum Items<T> {
    /// Oldest at the front; `Queue`.
    Fifo(VecDeque<T>),
    /// Newest at the back; `LifoQueue`.
    Lifo(VecDeque<T>),
    /// A binary min-heap; `PriorityQueue`.
    Priority(Heap<T>),
}

impl<T> Items<T> {
    pub(crate) fn fifo() -> Items<T> {
        Items::Fifo(VecDeque::new())
    }

    pub(crate) fn lifo() -> Items<T> {
        Items::Lifo(VecDeque::new())
    }

    pub(crate) fn priority() -> Items<T>
    where
        T: Ord,
    {
        Items::Priority(Heap {
            items: Vec::new(),
            less: |a, b| a < b,
        })
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Fifo(items) | Items::Lifo(items) => items.len(),
            Items::Priority(heap) => heap.items.len(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, item: T) {
        match self {
            Items::Fifo(items) | Items::Lifo(items) => items.push_back(item),
            Items::Priority(heap) => heap.push(item),
        }
    }

    /// Puts back an item that was given out but never taken, where the
    /// oldest item goes: it was given out before any item now in the queue
    /// was put.
    pub(crate) fn push_oldest(&mut self, item: T) {
        match self {
            Items::Fifo(items) | Items::Lifo(items) => items.push_front(item),
            Items::Priority(heap) => heap.push(item),
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            Items::Fifo(items) => items.pop_front(),
            Items::Lifo(items) => items.pop_back(),
            Items::Priority(heap) => heap.pop(),
        }
    }
}

/// A binary min-heap ordered by a comparison captured where `T: Ord` was
/// known, so that the queue types need the bound on their constructors only.
pub(crate) struct Heap<T> {
    items: Vec<T>,
    less: fn(&T, &T) -> bool,
}

impl<T> std::fmt::Debug for Heap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap")
            .field("len", &self.items.len())
            .finish()
    }
}

impl<T> Heap<T> {
    fn push(&mut self, item: T) {
        self.items.push(item);
        let mut child = self.items.len() - 1;
        while child > 0 {
            let parent = (child - 1) / 2;
            if !(self.less)(&self.items[child], &self.items[parent]) {
                break;
            }
            self.items.swap(child, parent);
            child = parent;
        }
    }

    fn pop(&mut self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let top = self.items.swap_remove(0);
        let len = self.items.len();
        let mut parent = 0;
        loop {
            let left = 2 * parent + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let smaller = if right < len && (self.less)(&self.items[right], &self.items[left]) {
                right
            } else {
                left
            };
            if !(self.less)(&self.items[smaller], &self.items[parent]) {
                break;
            }
            self.items.swap(parent, smaller);
            parent = smaller;
        }
        Some(top)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain<T>(items: &mut Items<T>) -> Vec<T> {
        std::iter::from_fn(|| items.pop()).collect()
    }

    #[test]
    fn each_kind_gives_items_out_in_its_order() {
        let mut kinds = [Items::fifo(), Items::lifo(), Items::priority()];
        for items in &mut kinds {
            for item in [3, 1, 2] {
                items.push(item);
            }
        }
        let [fifo, lifo, priority] = &mut kinds;
        assert_eq!(drain(fifo), [3, 1, 2]);
        assert_eq!(drain(lifo), [2, 1, 3]);
        assert_eq!(drain(priority), [1, 2, 3]);
    }

    #[test]
    fn an_item_put_back_comes_out_before_the_newer_ones_in_fifo_and_after_them_in_lifo() {
        let mut fifo = Items::fifo();
        let mut lifo = Items::lifo();
        for items in [&mut fifo, &mut lifo] {
            items.push(2);
            items.push(3);
            items.push_oldest(1);
        }
        assert_eq!(drain(&mut fifo), [1, 2, 3]);
        assert_eq!(drain(&mut lifo), [3, 2, 1]);
    }

    proptest! {
        #![proptest_config(corio_test_support::proptest_config())]

        #[test]
        fn prop_heap_pops_in_sorted_order(
            values in proptest::collection::vec(any::<i16>(), 0..64),
            pops in proptest::collection::vec(any::<bool>(), 0..64),
        ) {
            let mut items = Items::priority();
            let mut model = Vec::new();
            for (index, value) in values.iter().enumerate() {
                items.push(*value);
                model.push(*value);
                if pops.get(index).copied().unwrap_or(false) {
                    model.sort_unstable_by(|a, b| b.cmp(a));
                    prop_assert_eq!(items.pop(), model.pop());
                }
            }
            model.sort_unstable();
            prop_assert_eq!(drain(&mut items), model);
        }
    }
}
