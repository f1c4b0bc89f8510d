//! The per-fd registration record that every backend keeps in user space (the emulated
//! backends' whole interest set; epoll's and kqueue's key and interest per fd), and the
//! lock it lives behind.

use std::sync::{Mutex, MutexGuard};

#[cfg(unix)]
use crate::RawSource;

#[cfg(windows)]
#[path = "windows/table.rs"]
mod by_handle;
#[cfg(windows)]
pub use by_handle::FdTable;

/// Records indexed by fd: fds are small, dense integers, so a vector beats a hash map on
/// the per-event lookup. It grows only on [`FdTable::insert`].
#[cfg(unix)]
#[derive(Clone, Debug)]
pub struct FdTable<T> {
    slots: Vec<Option<T>>,
}

#[cfg(unix)]
impl<T> Default for FdTable<T> {
    fn default() -> FdTable<T> {
        FdTable { slots: Vec::new() }
    }
}

#[cfg(unix)]
impl<T> FdTable<T> {
    /// The record of `fd`, if any.
    #[inline]
    pub fn get(&self, fd: RawSource) -> Option<&T> {
        self.slots.get(usize::try_from(fd).ok()?)?.as_ref()
    }

    /// The record of `fd`, if any, to change in place.
    #[inline]
    pub fn get_mut(&mut self, fd: RawSource) -> Option<&mut T> {
        self.slots.get_mut(usize::try_from(fd).ok()?)?.as_mut()
    }

    /// Sets the record of `fd` (a [`Source`](crate::Source)'s number, never negative); returns
    /// the old.
    pub fn insert(&mut self, fd: RawSource, record: T) -> Option<T> {
        let i = usize::try_from(fd).expect("an open fd or socket is never negative");
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(record)
    }

    /// Removes the record of `fd`, if any.
    pub fn remove(&mut self, fd: RawSource) -> Option<T> {
        self.slots.get_mut(usize::try_from(fd).ok()?)?.take()
    }

    /// Every record with its fd, in fd order.
    pub fn iter(&self) -> impl Iterator<Item = (RawSource, &T)> {
        self.slots.iter().enumerate().filter_map(|(fd, r)| Some((fd as RawSource, r.as_ref()?)))
    }
}

/// Locks `m`, ignoring poisoning: backends update their tables with single assignments,
/// so a panic elsewhere cannot leave one half-changed.
#[inline]
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut t = FdTable::default();
        assert_eq!(t.get(5), None);
        assert_eq!(t.remove(5), None, "removing an unknown fd does not grow the table");
        #[cfg(unix)]
        assert_eq!(t.slots.len(), 0);
        assert_eq!(t.insert(5, 'a'), None);
        assert_eq!(t.insert(5, 'b'), Some('a'));
        *t.get_mut(5).unwrap() = 'c';
        t.insert(2, 'x');
        assert_eq!(t.iter().collect::<Vec<_>>(), [(2, &'x'), (5, &'c')]);
        assert_eq!(t.remove(5), Some('c'));
        assert_eq!(t.get(5), None);
        #[cfg(unix)]
        assert_eq!(t.get(-1), None);
    }
}
