//! The hierarchical hashed timing wheel: a pure data structure over integer
//! ticks.
//!
//! The wheel knows nothing of clocks, wakers or locks. It stores values of
//! any type `T` keyed by an expiry tick and hands them back, in an output
//! vector, when [`Wheel::advance_to`] moves its notion of "now" past them.
//!
//! # Layout
//!
//! * [`LEVELS`] levels of [`SLOTS`] slots. A slot of level `L` spans
//!   `64^L` ticks, so level `L` spans `64^(L + 1)` ticks. With 11 levels the
//!   top level spans `2^66` ticks: every `u64` tick lies inside the wheel and
//!   no overflow list or clamping is needed.
//! * One `u64` occupancy bitmap per level: bit `s` is set exactly when slot
//!   `s` of that level holds at least one entry. Finding the next occupied
//!   slot is a `trailing_zeros`.
//! * Entries live in a slab (`Vec<Entry<T>>`) with a free list threaded
//!   through the freed entries. A slot is an intrusive doubly linked list of
//!   `u32` slab indices, so insert and remove are O(1) and the slab only grows
//!   to the high-water mark of live timers.
//! * A [`Key`] is the slab index plus the entry's sequence number, which is
//!   unique for the life of the wheel (a `u64` counter), so a stale key (its
//!   entry fired or was cancelled, and the index reused) is detected and
//!   never touches the new occupant.
//! * Entries whose tick is not after `elapsed` when inserted go to the `due`
//!   list and fire at the next advance.
//!
//! # Invariants (checked by `debug_assert!`)
//!
//! An entry in level `L`, slot `s`, has `when > elapsed`, agrees with
//! `elapsed` on every bit above level `L`, and has `s` strictly greater than
//! `elapsed`'s digit at level `L`. Hence the lowest occupied level holds the
//! earliest entries, and the first occupied slot of a level is in the future.

/// Bits of the tick consumed per level.
const LEVEL_BITS: u32 = 6;
/// Slots per level: one `u64` occupancy word.
pub(crate) const SLOTS: usize = 1 << LEVEL_BITS;
/// Levels: enough to cover every `u64` tick (`6 * 11 >= 64`).
pub(crate) const LEVELS: usize = 11;
/// Index of the list holding entries that are already due.
const DUE: u16 = (LEVELS * SLOTS) as u16;
/// Number of lists: every slot plus the due list.
const LISTS: usize = LEVELS * SLOTS + 1;
/// Marker for an entry that is on the free list.
const FREE: u16 = u16::MAX;
/// The null index of the intrusive lists.
const NIL: u32 = u32::MAX;

/// Returns the level at which an entry expiring at `when` is stored while
/// the wheel's current tick is `elapsed`.
///
/// It is the level of the highest bit in which the two differ (bits 0-5 are
/// level 0, 6-11 level 1, ...). Only meaningful for `when > elapsed`.
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / LEVEL_BITS) as usize
}

/// Returns the slot of `when` at `level`.
fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level as u32 * LEVEL_BITS)) & (SLOTS as u64 - 1)) as usize
}

/// Returns the first tick of the current rotation of `level`, that is
/// `elapsed` with every bit at or below `level` cleared.
fn level_start(elapsed: u64, level: usize) -> u64 {
    let shift = (level as u32 + 1) * LEVEL_BITS;
    if shift >= 64 {
        0
    } else {
        elapsed & !((1u64 << shift) - 1)
    }
}

/// Identifies one inserted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    seq: u64,
}

impl Key {
    /// The entry's insertion sequence number, unique per wheel.
    #[cfg(test)]
    pub(crate) fn seq(self) -> u64 {
        self.seq
    }
}

/// An entry handed back by [`Wheel::advance_to`].
#[derive(Debug)]
pub(crate) struct Fired<T> {
    /// The tick the entry was inserted for.
    pub(crate) when: u64,
    /// Its insertion sequence number (see [`Key::seq`]).
    pub(crate) seq: u64,
    /// The stored value.
    pub(crate) value: T,
}

#[derive(Debug)]
struct Entry<T> {
    when: u64,
    seq: u64,
    prev: u32,
    next: u32,
    /// Which list holds the entry: `level * SLOTS + slot`, [`DUE`] or
    /// [`FREE`].
    list: u16,
    value: Option<T>,
}

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
};

/// A hierarchical hashed timing wheel over `u64` ticks.
#[derive(Debug)]
pub(crate) struct Wheel<T> {
    entries: Vec<Entry<T>>,
    free_head: u32,
    lists: Box<[List; LISTS]>,
    occupied: [u64; LEVELS],
    elapsed: u64,
    len: usize,
    next_seq: u64,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// Creates an empty wheel whose current tick is 0.
    pub(crate) fn new() -> Self {
        Wheel {
            entries: Vec::new(),
            free_head: NIL,
            lists: Box::new([EMPTY_LIST; LISTS]),
            occupied: [0; LEVELS],
            elapsed: 0,
            len: 0,
            next_seq: 0,
        }
    }

    /// The tick up to which the wheel has advanced.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// The number of live entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Inserts `value` to expire at tick `when`. O(1).
    ///
    /// An entry whose tick is not after [`Wheel::elapsed`] fires at the next
    /// advance.
    ///
    /// # Panics
    ///
    /// Panics when more than `u32::MAX - 1` entries are live at once.
    pub(crate) fn insert(&mut self, when: u64, value: T) -> Key {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = self.allocate(Entry {
            when,
            seq,
            prev: NIL,
            next: NIL,
            list: FREE,
            value: Some(value),
        });
        self.place(index);
        self.len += 1;
        Key { index, seq }
    }

    /// Removes the entry of `key` and returns its value, or `None` when it
    /// already fired or was removed. O(1).
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        if !self.is_live(key) {
            return None;
        }
        self.unlink(key.index);
        self.len -= 1;
        Some(self.release(key.index))
    }

    /// Returns the value of a live entry.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        if !self.is_live(key) {
            return None;
        }
        self.entries[key.index as usize].value.as_mut()
    }

    /// The next tick at which [`Wheel::advance_to`] has work to do, or `None`
    /// when the wheel is empty. O(levels).
    ///
    /// It is the earliest expiry when that lies in the current rotation of
    /// level 0 (or is already due); otherwise it may be an earlier tick at
    /// which a higher-level slot is cascaded. It is never later than the
    /// earliest expiry.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.lists[DUE as usize].head != NIL {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, tick)| tick)
    }

    /// Moves the wheel to tick `now` and appends every entry expiring at or
    /// before it to `fired`: first the due list, then slot by slot in tick
    /// order. Work is proportional to the entries that fire or cascade plus
    /// the occupied slots visited; empty slots cost nothing.
    ///
    /// Advancing to a tick before [`Wheel::elapsed`] fires only the due list.
    pub(crate) fn advance_to(&mut self, now: u64, fired: &mut Vec<Fired<T>>) {
        self.drain_list(DUE, fired);
        while let Some((level, slot, tick)) = self.next_slot() {
            if tick > now {
                break;
            }
            debug_assert!(tick > self.elapsed, "slots are visited in tick order");
            self.elapsed = tick;
            self.process_slot(level, slot, fired);
        }
        self.elapsed = self.elapsed.max(now);
        self.debug_check_invariants();
    }

    fn is_live(&self, key: Key) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|entry| entry.seq == key.seq && entry.list != FREE)
    }

    /// Returns `(level, slot, first tick of the slot)` of the earliest
    /// occupied slot.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let slot = self.occupied[level].trailing_zeros() as usize;
        debug_assert!(
            slot > slot_for(self.elapsed, level),
            "occupied slots lie ahead of the current position"
        );
        let tick =
            level_start(self.elapsed, level) + ((slot as u64) << (level as u32 * LEVEL_BITS));
        Some((level, slot, tick))
    }

    /// Fires or cascades every entry of one slot; `elapsed` is the slot's
    /// first tick.
    fn process_slot(&mut self, level: usize, slot: usize, fired: &mut Vec<Fired<T>>) {
        let list = (level * SLOTS + slot) as u16;
        let mut index = self.take_list(list);
        while index != NIL {
            let next = self.entries[index as usize].next;
            let when = self.entries[index as usize].when;
            if when <= self.elapsed {
                self.fire(index, fired);
            } else {
                debug_assert!(
                    level_for(self.elapsed, when) < level,
                    "cascading moves entries down"
                );
                self.place(index);
            }
            index = next;
        }
    }

    fn drain_list(&mut self, list: u16, fired: &mut Vec<Fired<T>>) {
        let mut index = self.take_list(list);
        while index != NIL {
            let next = self.entries[index as usize].next;
            self.fire(index, fired);
            index = next;
        }
    }

    fn fire(&mut self, index: u32, fired: &mut Vec<Fired<T>>) {
        let Entry { when, seq, .. } = self.entries[index as usize];
        let value = self.release(index);
        self.len -= 1;
        fired.push(Fired { when, seq, value });
    }

    /// Detaches a whole list and returns its head; the entries keep their
    /// `next` links.
    fn take_list(&mut self, list: u16) -> u32 {
        let head = self.lists[list as usize].head;
        self.lists[list as usize] = EMPTY_LIST;
        if list != DUE {
            let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
            self.occupied[level] &= !(1u64 << slot);
        }
        head
    }

    /// Links an allocated, unlinked entry into the list its tick belongs to.
    fn place(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        let list = if when <= self.elapsed {
            DUE
        } else {
            let level = level_for(self.elapsed, when);
            let slot = slot_for(when, level);
            self.occupied[level] |= 1u64 << slot;
            (level * SLOTS + slot) as u16
        };
        let tail = self.lists[list as usize].tail;
        let entry = &mut self.entries[index as usize];
        entry.list = list;
        entry.prev = tail;
        entry.next = NIL;
        if tail == NIL {
            self.lists[list as usize].head = index;
        } else {
            self.entries[tail as usize].next = index;
        }
        self.lists[list as usize].tail = index;
    }

    fn unlink(&mut self, index: u32) {
        let Entry {
            prev, next, list, ..
        } = self.entries[index as usize];
        debug_assert_ne!(list, FREE);
        if prev == NIL {
            self.lists[list as usize].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[list as usize].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if list != DUE && self.lists[list as usize].head == NIL {
            let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
            self.occupied[level] &= !(1u64 << slot);
        }
    }

    fn allocate(&mut self, entry: Entry<T>) -> u32 {
        if self.free_head != NIL {
            let index = self.free_head;
            self.free_head = self.entries[index as usize].next;
            self.entries[index as usize] = entry;
            return index;
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&index| index != NIL)
            .expect("a timer wheel holds at most u32::MAX - 1 entries");
        self.entries.push(entry);
        index
    }

    /// Puts an entry on the free list and returns its value.
    fn release(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        entry.list = FREE;
        entry.prev = NIL;
        entry.next = self.free_head;
        self.free_head = index;
        entry.value.take().expect("a linked entry holds a value")
    }

    #[cfg(debug_assertions)]
    fn debug_check_invariants(&self) {
        // Checking every entry is O(n); only do it for small wheels so that
        // debug builds of large workloads stay usable.
        if self.entries.len() > 4096 {
            return;
        }
        let mut live = 0;
        for entry in &self.entries {
            if entry.list == FREE || entry.list == DUE {
                live += usize::from(entry.list == DUE);
                continue;
            }
            live += 1;
            let (level, slot) = (entry.list as usize / SLOTS, entry.list as usize % SLOTS);
            assert!(
                entry.when > self.elapsed,
                "a slotted entry is in the future"
            );
            assert_eq!(
                level_for(self.elapsed, entry.when),
                level,
                "entry at its level"
            );
            assert_eq!(slot_for(entry.when, level), slot, "entry at its slot");
            assert!(self.occupied[level] & (1 << slot) != 0, "occupancy bit set");
        }
        assert_eq!(live, self.len, "len counts the live entries");
    }

    #[cfg(not(debug_assertions))]
    fn debug_check_invariants(&self) {}
}

#[cfg(test)]
mod tests;
