//! A hash table of `u32` ids whose keys live elsewhere (the facts' ids, the interned
//! strings): a `hashbrown::HashTable` of the ids alone, about five bytes a slot where a
//! `HashMap<Uuid, usize>` takes twenty-four.
use std::hash::{BuildHasher, Hash};

use foldhash::fast::RandomState;
use hashbrown::{hash_table::Entry, HashTable};

/// The caller says how to get the key of an id already in the table. Keys are hashed
/// with foldhash, the project's one hasher, randomly seeded: ids and texts come from
/// users, and a hash they could predict would let them make a fold quadratic.
#[derive(Clone, Default)]
pub(crate) struct IdTable {
    ids: HashTable<u32>,
    state: RandomState,
}

impl IdTable {
    /// A table that holds `n` ids without growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        IdTable {
            ids: HashTable::with_capacity(n),
            state: RandomState::default(),
        }
    }

    /// A table of `ids`, whose keys `key_of` gives; of ids with equal keys, the last
    /// (as [`IdTable::insert`] would keep).
    pub(crate) fn build<'k, K: Hash + Eq + ?Sized + 'k>(
        ids: impl ExactSizeIterator<Item = u32>,
        key_of: impl Fn(u32) -> &'k K,
    ) -> Self {
        let mut t = IdTable::with_capacity(ids.len());
        ids.for_each(|id| t.insert(id, &key_of));
        t
    }

    /// How many ids it holds.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The id whose key (as `key_of` gives it) is `key`.
    pub(crate) fn find<'k, K: Hash + Eq + ?Sized + 'k>(
        &self,
        key: &K,
        key_of: impl Fn(u32) -> &'k K,
    ) -> Option<u32> {
        self.ids
            .find(self.state.hash_one(key), |&id| key_of(id) == key)
            .copied()
    }

    /// Adds `id`, whose key `key_of` must already give, in the place of any id with the
    /// same key (the later one wins, as a map's insert).
    pub(crate) fn insert<'k, K: Hash + Eq + ?Sized + 'k>(
        &mut self,
        id: u32,
        key_of: impl Fn(u32) -> &'k K,
    ) {
        let key = key_of(id);
        let state = &self.state;
        match self.ids.entry(
            state.hash_one(key),
            |&other| key_of(other) == key,
            |&other| state.hash_one(key_of(other)),
        ) {
            Entry::Occupied(mut same) => *same.get_mut() = id,
            Entry::Vacant(free) => {
                free.insert(id);
            }
        }
    }

    /// Gives back spare room.
    pub(crate) fn shrink_to_fit<'k, K: Hash + Eq + ?Sized + 'k>(
        &mut self,
        key_of: impl Fn(u32) -> &'k K,
    ) {
        let state = &self.state;
        self.ids.shrink_to_fit(|&id| state.hash_one(key_of(id)));
    }
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
            assert_eq!(built.len(), inserted.len());
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
