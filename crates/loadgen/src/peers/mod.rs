//! Reference peers.
