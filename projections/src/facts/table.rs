//! A hash table of `u32` ids whose keys live elsewhere (the facts' ids, the interned
//! strings): four bytes a slot, where a `HashMap<Uuid, usize>` takes twenty-four.
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

/// An empty slot.
const EMPTY: u32 = u32::MAX;

/// Open addressing with linear probing, at most half full. The caller says how to get
/// the key of an id already in the table. Keys are hashed with a secret random key
/// ([`Keyed`]): ids and texts come from users, and a hash they could predict would let
/// them make a fold quadratic.
#[derive(Clone, Default)]
pub(crate) struct IdTable {
    slots: Vec<u32>,
    len: usize,
    state: Keyed,
}

/// A hash keyed by two random words drawn once per table: a folded multiply of each
/// eight bytes (as foldhash and wyhash do), several times faster than std's SipHash,
/// which was a tenth of reading a snapshot, and as unpredictable without the key.
#[derive(Clone)]
pub(crate) struct Keyed([u64; 2]);

impl Default for Keyed {
    fn default() -> Self {
        // std's randomly seeded state is the one source of randomness at hand.
        let seed = RandomState::new();
        Keyed([seed.hash_one(1u8), seed.hash_one(2u8) | 1])
    }
}

impl BuildHasher for Keyed {
    type Hasher = Folded;

    fn build_hasher(&self) -> Folded {
        Folded {
            acc: self.0[0],
            key: self.0[1],
        }
    }
}

/// The hasher of [`Keyed`].
pub(crate) struct Folded {
    acc: u64,
    key: u64,
}

/// The high and low halves of a 128-bit product, folded together.
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

impl Hasher for Folded {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(w);
            self.acc = fold(self.acc ^ u64::from_le_bytes(raw), self.key);
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        // The length too, so texts that differ only by trailing zero bytes differ.
        self.acc = fold(
            self.acc ^ u64::from_le_bytes(tail),
            self.key ^ bytes.len() as u64,
        );
    }

    fn finish(&self) -> u64 {
        fold(self.acc, self.key.rotate_left(29) | 1)
    }
}

impl IdTable {
    /// A table that holds `n` ids without growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        IdTable {
            slots: vec![EMPTY; slots_for(n)],
            ..IdTable::default()
        }
    }

    /// A table of `ids`, whose keys `key_of` gives; of ids with equal keys, the last
    /// (as [`IdTable::insert`] would keep). Built from the ids sorted by hash, slot by
    /// slot in order, rather than inserted one by one: insertions would jump about
    /// memory, a cache miss or two each, which for a million ids is most of reading a
    /// snapshot.
    pub(crate) fn build<'k, K: Hash + Eq + ?Sized + 'k>(
        ids: impl ExactSizeIterator<Item = u32>,
        key_of: impl Fn(u32) -> &'k K,
    ) -> Self {
        let mut t = IdTable::with_capacity(ids.len());
        let bits = t.slots.len().trailing_zeros();
        if bits > 32 {
            // Past two billion ids the packing below does not fit: insert them.
            ids.for_each(|id| t.insert(id, &key_of));
            return t;
        }
        // Each id with the top half of its key's hash above it: sorted, these are in
        // order of home slot, and two with equal keys have equal top halves.
        let packed: Vec<u64> = ids
            .map(|id| t.state.hash_one(key_of(id)) >> 32 << 32 | u64::from(id))
            .collect();
        let packed = sort_by_top_bits(packed, bits);
        let n = t.slots.len();
        // Past the end, linear probing wraps around to the first free slots.
        let mut wrapped = Vec::new();
        let mut next = 0;
        for (j, &p) in packed.iter().enumerate() {
            let (top, id) = (p >> 32, p as u32);
            let home = ((top << 32) >> (64 - bits)) as usize;
            // Equal keys have equal top halves, so equal homes: look among the ids of
            // this home for a higher one with the same key, to keep the last (as
            // inserting would). Different keys rarely share a top half.
            let same_home = |q: &&u64| ((*q >> 32 << 32) >> (64 - bits)) as usize == home;
            let alone = |k: Option<&u64>| k.is_none_or(|q| !same_home(&q));
            let replaced = !(alone(j.checked_sub(1).map(|k| &packed[k]))
                && alone(packed.get(j + 1)))
                && packed[..j]
                    .iter()
                    .rev()
                    .take_while(same_home)
                    .chain(packed[j + 1..].iter().take_while(same_home))
                    .any(|&q| q >> 32 == top && q as u32 > id && key_of(q as u32) == key_of(id));
            if replaced {
                continue;
            }
            t.len += 1;
            let at = home.max(next);
            if at < n {
                t.slots[at] = id;
                next = at + 1;
            } else {
                wrapped.push(id);
            }
        }
        let mut at = 0;
        for id in wrapped {
            while t.slots[at] != EMPTY {
                at += 1;
            }
            t.slots[at] = id;
        }
        t
    }

    /// How many ids it holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot a hash starts looking from: its top bits, so that ids sorted by hash
    /// are sorted by slot too.
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.slots.len().trailing_zeros())) as usize
    }

    /// The id whose key (as `key_of` gives it) is `key`.
    pub(crate) fn find<'k, K: Hash + Eq + ?Sized + 'k>(
        &self,
        key: &K,
        key_of: impl Fn(u32) -> &'k K,
    ) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(self.state.hash_one(key));
        loop {
            match self.slots[i] {
                EMPTY => return None,
                id if key_of(id) == key => return Some(id),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds `id`, whose key `key_of` must already give, in the place of any id with the
    /// same key (the later one wins, as a map's insert).
    pub(crate) fn insert<'k, K: Hash + Eq + ?Sized + 'k>(
        &mut self,
        id: u32,
        key_of: impl Fn(u32) -> &'k K,
    ) {
        if (self.len + 1) * 2 > self.slots.len() {
            let old = std::mem::replace(&mut self.slots, vec![EMPTY; slots_for(self.len + 1)]);
            let mask = self.slots.len() - 1;
            for old_id in old.into_iter().filter(|&i| i != EMPTY) {
                let mut i = self.home(self.state.hash_one(key_of(old_id)));
                while self.slots[i] != EMPTY {
                    i = (i + 1) & mask;
                }
                self.slots[i] = old_id;
            }
        }
        let key = key_of(id);
        let mask = self.slots.len() - 1;
        let mut i = self.home(self.state.hash_one(key));
        loop {
            match self.slots[i] {
                EMPTY => {
                    self.slots[i] = id;
                    self.len += 1;
                    return;
                }
                same if key_of(same) == key => {
                    self.slots[i] = id;
                    return;
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Gives back spare room: at most half full still, but no more than that needs.
    pub(crate) fn shrink_to_fit<'k, K: Hash + Eq + ?Sized + 'k>(
        &mut self,
        key_of: impl Fn(u32) -> &'k K,
    ) {
        if slots_for(self.len) < self.slots.len() {
            let ids: Vec<u32> = self.slots.iter().copied().filter(|&i| i != EMPTY).collect();
            *self = IdTable::build(ids.into_iter(), key_of);
        }
    }
}

/// Sorts by the top `bits` bits, in passes of eleven bits (least significant first,
/// each stable): a few sequential passes where a comparison sort of a million numbers
/// takes several times longer.
fn sort_by_top_bits(mut v: Vec<u64>, bits: u32) -> Vec<u64> {
    let mut out = vec![0; v.len()];
    let mut done = 0;
    while done < bits {
        let width = (bits - done).min(11);
        let shift = 64 - bits + done;
        let digit = |x: u64| ((x >> shift) & ((1 << width) - 1)) as usize;
        let mut starts = vec![0usize; 1 << width];
        for &x in &v {
            starts[digit(x)] += 1;
        }
        let mut sum = 0;
        for s in starts.iter_mut() {
            (*s, sum) = (sum, sum + *s);
        }
        for &x in &v {
            let d = digit(x);
            out[starts[d]] = x;
            starts[d] += 1;
        }
        std::mem::swap(&mut v, &mut out);
        done += width;
    }
    v
}

/// Slots for `n` ids: a power of two, at least twice `n`.
fn slots_for(n: usize) -> usize {
    (n.max(8) * 2).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_by_their_keys_across_growth_and_replacement() {
        let keys: Vec<u64> = (0..1000).map(|i| i * 7919).collect();
        let mut t = IdTable::default();
        for id in 0..keys.len() as u32 {
            t.insert(id, |i| &keys[i as usize]);
        }
        for (id, k) in keys.iter().enumerate() {
            assert_eq!(t.find(k, |i| &keys[i as usize]), Some(id as u32));
        }
        assert_eq!(t.find(&1, |i| &keys[i as usize]), None);
        // The same key again: the later id takes its place.
        let mut again = keys.clone();
        again.push(keys[3]);
        t.insert(1000, |i| &again[i as usize]);
        assert_eq!(t.find(&keys[3], |i| &again[i as usize]), Some(1000));
        t.shrink_to_fit(|i| &again[i as usize]);
        assert_eq!(t.find(&keys[999], |i| &again[i as usize]), Some(999));
    }

    #[test]
    fn a_table_built_at_once_finds_what_one_built_by_inserts_finds() {
        // Few distinct keys among many ids, so runs of equal hashes and wrapping occur.
        for n in [0u32, 1, 7, 100, 5000] {
            let keys: Vec<u32> = (0..n)
                .map(|i| i.wrapping_mul(2_654_435_761) % (n / 3 + 1))
                .collect();
            let built = IdTable::build(0..n, |i| &keys[i as usize]);
            let mut inserted = IdTable::default();
            for id in 0..n {
                inserted.insert(id, |i| &keys[i as usize]);
            }
            assert_eq!(built.len, inserted.len);
            for k in 0..=n / 3 + 1 {
                assert_eq!(
                    built.find(&k, |i| &keys[i as usize]),
                    inserted.find(&k, |i| &keys[i as usize]),
                    "n {n}, key {k}"
                );
            }
        }
    }
}
