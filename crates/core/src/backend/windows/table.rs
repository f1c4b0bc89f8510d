//! The registration table on Windows, keyed by `SOCKET` handle value.

use std::collections::BTreeMap;

use crate::RawSource;

/// Records by socket, in ascending order. Not a vector indexed by number as on Unix:
/// a `SOCKET` is a handle value, small and a multiple of 4 in practice but documented as
/// neither, and one large value would make a dense vector as large. An ordered map keeps
/// the ascending [`iter`](FdTable::iter) that the emulated backends' sets rely on, at
/// O(log n) per lookup.
#[derive(Clone, Debug)]
pub struct FdTable<T> {
    records: BTreeMap<RawSource, T>,
}

impl<T> Default for FdTable<T> {
    fn default() -> FdTable<T> {
        FdTable { records: BTreeMap::new() }
    }
}

impl<T> FdTable<T> {
    /// The record of `s`, if any.
    #[inline]
    pub fn get(&self, s: RawSource) -> Option<&T> {
        self.records.get(&s)
    }

    /// The record of `s`, if any, to change in place.
    #[inline]
    pub fn get_mut(&mut self, s: RawSource) -> Option<&mut T> {
        self.records.get_mut(&s)
    }

    /// Sets the record of `s`; returns the old.
    pub fn insert(&mut self, s: RawSource, record: T) -> Option<T> {
        self.records.insert(s, record)
    }

    /// Removes the record of `s`, if any.
    pub fn remove(&mut self, s: RawSource) -> Option<T> {
        self.records.remove(&s)
    }

    /// Every record with its socket, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (RawSource, &T)> {
        self.records.iter().map(|(&s, r)| (s, r))
    }
}
