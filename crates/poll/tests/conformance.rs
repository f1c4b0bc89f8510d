//! The whole multipoll conformance suite, on the poll backend.
multipoll_conformance::conformance_tests!(multipoll_poll::Poll);
