//! Integration tests and benchmarks for multipoll live in tests/ and benches/.
