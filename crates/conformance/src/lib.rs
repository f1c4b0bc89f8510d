//! Conformance suite (being written).
#[macro_export]
/// Instantiates the suite.
macro_rules! conformance_tests {
    ($p:ty) => {};
}
