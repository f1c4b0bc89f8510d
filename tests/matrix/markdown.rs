//! The matrix as markdown, for `docs/backends.md`: one row per behaviour, one column per
//! poller, a numbered note for every reason a cell cites.

use std::fmt::Write;

use multipoll_conformance::Behaviour;

use super::expected::Expected;

/// One cell of the matrix.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    /// An outcome (`pass`, `fail`, `n/a`) and the names of the reasons it cites.
    Outcome(&'a str, &'a [String]),
    /// The poller cannot run on this machine (kqueue, in Linux's matrix).
    #[cfg(target_os = "linux")]
    NotRun,
}

/// One poller's column.
#[derive(Debug)]
pub struct Column<'a> {
    /// The header.
    pub name: &'a str,
    /// One cell per behaviour, in the behaviours' order.
    pub cells: Vec<Cell<'a>>,
}

/// The table, a summary per column that has outcomes, the behaviours no peer passes, and
/// the numbered reasons (in order of first citation). `peers` names the columns that are
/// not ours.
pub fn render(
    behaviours: &[Behaviour],
    columns: &[Column<'_>],
    peers: &[&str],
    expected: &Expected,
) -> String {
    let mut notes: Vec<&str> = Vec::new();
    let mut out = String::new();
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let _ = writeln!(out, "| theme | behaviour | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|---|{}", "---|".repeat(columns.len()));
    let mut theme = "";
    for (b, behaviour) in behaviours.iter().enumerate() {
        let shown = if behaviour.module == theme { "" } else { behaviour.module };
        theme = behaviour.module;
        let cells: Vec<String> =
            columns.iter().map(|c| cell_text(c.cells[b], &mut notes)).collect();
        let _ = writeln!(out, "| {shown} | `{}` | {} |", behaviour.name, cells.join(" | "));
    }
    out.push('\n');
    for column in columns {
        let count = |word: &str| {
            column.cells.iter().filter(|c| matches!(c, Cell::Outcome(w, _) if *w == word)).count()
        };
        if count("pass") + count("fail") + count("n/a") > 0 {
            let _ = writeln!(
                out,
                "- **{}**: {} pass, {} fail, {} n/a.",
                column.name,
                count("pass"),
                count("fail"),
                count("n/a")
            );
        }
    }
    let unpassed: Vec<String> = behaviours
        .iter()
        .enumerate()
        .filter(|(b, _)| {
            let passes = |c: &Column<'_>| matches!(c.cells[*b], Cell::Outcome("pass", _));
            !columns.iter().filter(|c| peers.contains(&c.name)).any(passes)
        })
        .map(|(_, behaviour)| format!("`{}`", behaviour.name))
        .collect();
    if !unpassed.is_empty() {
        let _ = writeln!(out, "- Passed by no peer: {}.", unpassed.join(", "));
    }
    out.push('\n');
    for (n, name) in notes.iter().enumerate() {
        match expected.reason(name) {
            Some(reason) => {
                let _ = writeln!(out, "{}. *{}*: {}", n + 1, reason.class.label(), reason.text);
            }
            None => {
                let _ = writeln!(out, "{}. (reason `{name}` is missing)", n + 1);
            }
        }
    }
    out
}

fn cell_text<'a>(cell: Cell<'a>, notes: &mut Vec<&'a str>) -> String {
    let (word, reasons) = match cell {
        #[cfg(target_os = "linux")]
        Cell::NotRun => return "not run here".to_owned(),
        Cell::Outcome(word, []) => return word.to_owned(),
        Cell::Outcome(word, reasons) => (word, reasons),
    };
    let numbers: Vec<String> = reasons
        .iter()
        .map(|reason| match notes.iter().position(|r| r == reason) {
            Some(i) => i + 1,
            None => {
                notes.push(reason);
                notes.len()
            }
        })
        .map(|n| n.to_string())
        .collect();
    let word = if word == "fail" { "**fail**" } else { word };
    format!("{word} ({})", numbers.join(", "))
}
