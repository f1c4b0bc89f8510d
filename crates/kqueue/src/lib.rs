//! A multipoll backend over `kqueue(2)`/`kevent(2)` (being written): so far its
//! platform-neutral half, `flags.rs`, unit-tested on every host.
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

#[cfg(test)]
mod flags;
