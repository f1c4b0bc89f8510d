//! The whole multipoll conformance suite, on the select backend.
multipoll_conformance::conformance_tests!(multipoll_select::Select);
