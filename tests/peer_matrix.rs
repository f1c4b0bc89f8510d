//! The conformance suite, run against the peers: the `polling` crate and mio, behind our
//! `Poller` trait (`tests/peers/`), every behaviour, each outcome compared with the
//! expected table `tests/matrix/expected.txt` (pass / fail / n/a per peer, and a reason
//! for each non-pass). The test fails when any outcome differs from the table, when a
//! behaviour has no row (add one: the message says which), when a row names nothing
//! the suite has, and when `docs/backends.md`'s matrix is not what the table says.
//!
//! `MATRIX_MD=PATH` also runs the suite on our select, poll and epoll, and writes the
//! markdown matrix of that run to PATH instead of checking the doc;
//! `scripts/peer-matrix.sh` does that and puts it into `docs/backends.md`.
//!
//! Linux, where the table records the peers on epoll, their backend there; and Windows
//! (`x86_64-pc-windows-gnu`, run under Wine), where polling runs on IOCP and AFD polls:
//! there the suite is Windows' list (no Unix-only behaviour), the table is
//! `tests/matrix/expected-wine.txt`, the doc's section is the Wine one, mio is not run
//! (its adapter is Unix-only) and none of ours is (no Windows backend yet);
//! `scripts/peer-matrix.sh wine` regenerates that section.
#![cfg(any(target_os = "linux", windows))]

mod matrix;
mod peers;

use std::io;
use std::time::{Duration, Instant};

use matrix::expected::Expected;
use matrix::run::{self, Subject};
#[cfg(target_os = "linux")]
use peers::MioPeer;
use peers::PollingPeer;

/// Behaviours run at once. They mostly sleep in bounded waits, so this many in parallel
/// keeps the two cores far from busy, while the slowest failures (about ten seconds each)
/// overlap instead of adding up.
const THREADS: usize = 8;

#[cfg(target_os = "linux")]
const OURS: &[&str] = &["select", "poll", "epoll", "uring"];
#[cfg(target_os = "linux")]
const PEERS: &[&str] = &["polling", "mio"];
#[cfg(target_os = "linux")]
const TABLE: &str = include_str!("matrix/expected.txt");

#[cfg(target_os = "linux")]
const REGENERATE: &str = "scripts/peer-matrix.sh";

/// The peers, and with `generate` ours too (for the doc's matrix).
#[cfg(target_os = "linux")]
fn subjects(generate: bool) -> Vec<Subject> {
    let mut subjects = vec![Subject::of::<PollingPeer>("polling"), Subject::of::<MioPeer>("mio")];
    if generate {
        subjects.push(Subject::of::<multipoll::Select>("select"));
        subjects.push(Subject::of::<multipoll::Poll>("poll"));
        subjects.push(Subject::of::<multipoll::Epoll>("epoll"));
        subjects.push(Subject::of::<multipoll::Uring>("uring"));
    }
    subjects
}

#[cfg(windows)]
const OURS: &[&str] = &[];
#[cfg(windows)]
const PEERS: &[&str] = &["polling"];
#[cfg(windows)]
const TABLE: &str = include_str!("matrix/expected-wine.txt");
#[cfg(windows)]
const REGENERATE: &str = "scripts/peer-matrix.sh wine";

/// polling alone: mio's adapter is Unix-only, and no backend of ours runs on Windows yet.
#[cfg(windows)]
fn subjects(_generate: bool) -> Vec<Subject> {
    vec![Subject::of::<PollingPeer>("polling")]
}

#[test]
fn peer_matrix() -> io::Result<()> {
    let expected = Expected::parse(TABLE).map_err(|problems| {
        io::Error::other(format!("{}:\n{}", matrix::EXPECTED_PATH, problems.join("\n")))
    })?;
    let generate = std::env::var_os("MATRIX_MD");
    let subjects = subjects(generate.is_some());

    let start = Instant::now();
    let results = run::run(&subjects, THREADS);
    report_times(&subjects, &results, start.elapsed());

    let mut problems = matrix::compare(&expected, &subjects, &results, OURS);
    let columns = matrix::columns(&expected, &subjects, &results, OURS, PEERS);
    let markdown = matrix::markdown::render(&subjects[0].behaviours, &columns, PEERS, &expected);
    match generate {
        Some(path) => std::fs::write(&path, &markdown)?,
        None => {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/backends.md");
            let doc = std::fs::read_to_string(path)?;
            if matrix::doc_section(&doc) != Some(markdown.trim_matches('\n')) {
                problems.push(format!(
                    "docs/backends.md's peer matrix is not the one {} gives: run {REGENERATE}",
                    matrix::EXPECTED_PATH
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} difference(s) from the expected matrix:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

/// The table's own checks: each kind of mistake is reported with its line.
#[test]
fn expected_table_checks_itself() {
    let problems = |text: &str| Expected::parse(text).err().unwrap_or_default().join("\n");
    assert_eq!(problems("why a choice text\n    more\np b fail a\np c pass\n"), "");
    for (text, problem) in [
        ("p b fail\n", "line 1: `fail` needs a reason"),
        ("why a choice t\np b pass a\n", "line 2: a pass takes no reason"),
        ("p b fail a\n", "line 1: reason `a` is not defined (above this line)"),
        ("why a maybe t\n", "line 1: class `maybe` is not choice, bug or strict"),
        ("why a bug t\n", "reason `a` is cited by no row"),
        ("p b pass\np b pass\n", "line 2: `p b` has two rows"),
        ("p b passed\n", "line 1: outcome `passed` is not pass, fail or n/a"),
        ("p b pass\n    stray\n", "line 2: an indented line continues no `why`"),
    ] {
        assert!(problems(text).contains(problem), "{text:?}: {:?}", problems(text));
    }
}

/// How long the run took, and its slowest behaviours (seen with `--nocapture`).
fn report_times(subjects: &[Subject], results: &run::Results, total: Duration) {
    let mut times: Vec<(Duration, &str, &str)> = subjects
        .iter()
        .zip(results)
        .flat_map(|(s, r)| s.behaviours.iter().zip(r).map(|(b, (_, t))| (*t, s.name, b.name)))
        .collect();
    times.sort_unstable_by(|a, b| b.cmp(a));
    println!("peer matrix: {} behaviour runs in {total:.1?}; slowest:", times.len());
    for (time, subject, behaviour) in times.iter().take(8) {
        println!("  {time:>8.1?}  {subject} {behaviour}");
    }
}
