//! The token slab: one slot per registered source, addressed by a
//! generation-tagged [`mio::Token`].
//!
//! # Protocol
//!
//! A token holds the slot's index in its low [`INDEX_BITS`] bits and the
//! slot's generation above them. Removing an entry bumps its slot's
//! generation and puts the slot on the free list, so that an event mio still
//! reports for the old token (its source was dropped, and the slot may
//! already hold a new source) no longer matches and is ignored: [`Slab::get`]
//! and [`Slab::remove`] answer only to the current generation.
//!
//! The all-ones index is never handed out, so that no token equals
//! [`WAKER_TOKEN`], the token of the reactor's own wake-up handle.

use std::io;

use mio::Token;

use crate::error::ReactorError;

/// The token of the reactor's own wake-up handle; never given to a source.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// The number of low token bits that hold the slot index.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// The largest slot index plus one; the all-ones index is never used, so that
/// no token equals [`WAKER_TOKEN`].
pub(crate) const MAX_SLOTS: usize = INDEX_MASK;

fn token_for(index: usize, generation: usize) -> Token {
    Token(index | (generation << INDEX_BITS))
}

fn index_of(token: Token) -> usize {
    token.0 & INDEX_MASK
}

fn generation_of(token: Token) -> usize {
    token.0 >> INDEX_BITS
}

/// The generation that follows `generation`, wrapping within the bits above
/// the index.
fn next_generation(generation: usize) -> usize {
    generation.wrapping_add(1) & (usize::MAX >> INDEX_BITS)
}

/// Entries addressed by generation-tagged tokens, with slots reused through
/// a free list.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<usize>,
}

struct Slot<T> {
    generation: usize,
    entry: Option<T>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `entry` and returns its token.
    pub(crate) fn insert(&mut self, entry: T) -> io::Result<Token> {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index];
            slot.entry = Some(entry);
            return Ok(token_for(index, slot.generation));
        }
        let index = self.slots.len();
        if index >= MAX_SLOTS {
            return Err(io::Error::other(ReactorError::TooManySources));
        }
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
        });
        Ok(token_for(index, 0))
    }

    /// Returns the entry of `token`, or `None` when the token is stale.
    pub(crate) fn get(&self, token: Token) -> Option<&T> {
        let slot = self.slots.get(index_of(token))?;
        if slot.generation != generation_of(token) {
            return None;
        }
        slot.entry.as_ref()
    }

    /// Takes the entry of `token` out and retires the token; a stale token
    /// removes nothing.
    pub(crate) fn remove(&mut self, token: Token) -> Option<T> {
        let index = index_of(token);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation_of(token) || slot.entry.is_none() {
            return None;
        }
        slot.generation = next_generation(slot.generation);
        self.free.push(index);
        slot.entry.take()
    }

    /// Returns whether no entry is stored.
    pub(crate) fn is_empty(&self) -> bool {
        self.free.len() == self.slots.len()
    }

    /// Returns every stored entry.
    pub(crate) fn live(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().filter_map(|slot| slot.entry.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_index_and_generation() {
        let token = token_for(5, 9);
        assert_eq!(index_of(token), 5);
        assert_eq!(generation_of(token), 9);
        assert_ne!(
            token_for(MAX_SLOTS - 1, usize::MAX >> INDEX_BITS),
            WAKER_TOKEN
        );
        assert_eq!(next_generation(usize::MAX >> INDEX_BITS), 0);
    }

    #[test]
    fn a_reused_slot_ignores_the_old_token() {
        let mut slab = Slab::default();
        let first = slab.insert(1).unwrap();
        assert_eq!(slab.remove(first), Some(1));
        let second = slab.insert(2).unwrap();
        assert_eq!(index_of(first), index_of(second));
        assert_ne!(first, second);
        assert!(slab.get(first).is_none());
        assert_eq!(slab.get(second), Some(&2));
        assert!(slab.remove(first).is_none(), "a stale token frees nothing");
        assert_eq!(slab.get(second), Some(&2));
    }

    #[test]
    fn emptiness_and_live_entries_follow_inserts_and_removes() {
        let mut slab = Slab::default();
        assert!(slab.is_empty());
        let first = slab.insert('a').unwrap();
        let second = slab.insert('b').unwrap();
        assert!(!slab.is_empty());
        slab.remove(first);
        assert_eq!(slab.live().collect::<Vec<_>>(), [&'b']);
        slab.remove(second);
        assert!(slab.is_empty());
        assert_eq!(slab.live().count(), 0);
    }
}
