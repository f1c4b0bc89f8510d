//! The whole multipoll conformance suite, on the poll backend: on Unix, and on Windows
//! (under Wine in CI) the behaviours Windows has.
multipoll_conformance::conformance_tests!(multipoll_poll::Poll);
