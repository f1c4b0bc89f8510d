//! docs/backends.md's "Where each claim is tested" table names every behaviour of the
//! conformance suite, so that a behaviour added without its claim fails here rather than
//! leave the table silently behind.

use multipoll::Poll;

#[test]
fn every_behaviour_is_in_the_claims_table() {
    let doc = include_str!("../docs/backends.md");
    let table = doc
        .split("## Where each claim is tested")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/backends.md has a \"Where each claim is tested\" section");
    let missing: Vec<&str> = multipoll_conformance::behaviours::<Poll>()
        .iter()
        .map(|b| b.name)
        .filter(|name| !table.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "behaviours missing from the claims table: {missing:?}");
}
