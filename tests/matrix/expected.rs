//! The expected table (`tests/matrix/expected.txt`): what each behaviour does on each
//! peer, and why, for every outcome but a pass.
//!
//! ```text
//! # a comment
//! why NAME CLASS one sentence, which may go on
//!     on indented lines
//! PEER BEHAVIOUR pass
//! PEER BEHAVIOUR fail NAME
//! PEER BEHAVIOUR n/a NAME,OTHER_NAME
//! ```
//!
//! A reason is written once (before it is cited) and cited by name, so one cause shared by
//! many behaviours reads as one footnote; a behaviour that trips over two causes cites
//! both. `CLASS` says whose the difference is ([`Class`]).

use std::collections::{HashMap, HashSet};

/// Whose a difference between a peer and our contract is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `choice`: the peer does what its documentation says it does.
    Choice,
    /// `bug`: the peer does not do what its own documentation says.
    Bug,
    /// `strict`: our behaviour asks more than a user of the peer needs; the reason says
    /// why we ask it anyway.
    Strict,
}

impl Class {
    fn parse(word: &str) -> Option<Class> {
        match word {
            "choice" => Some(Class::Choice),
            "bug" => Some(Class::Bug),
            "strict" => Some(Class::Strict),
            _ => None,
        }
    }

    /// How the matrix's footnotes name it.
    pub fn label(self) -> &'static str {
        match self {
            Class::Choice => "the peer's documented choice",
            Class::Bug => "a peer bug",
            Class::Strict => "our test is stricter than a user needs",
        }
    }
}

/// One `why` line.
#[derive(Clone, Debug)]
pub struct Reason {
    /// The name rows cite.
    pub name: String,
    /// Whose the difference is.
    pub class: Class,
    /// The sentence, continuation lines joined.
    pub text: String,
}

/// One expectation.
#[derive(Clone, Debug)]
pub struct Row {
    /// `pass`, `fail` or `n/a`.
    pub outcome: String,
    /// The names of the reasons it cites: none exactly for a pass.
    pub reasons: Vec<String>,
}

/// The whole table.
#[derive(Debug, Default)]
pub struct Expected {
    reasons: Vec<Reason>,
    rows: HashMap<(String, String), Row>,
    /// `(peer, behaviour)` in file order, for the stale-row check.
    order: Vec<(String, String)>,
}

impl Expected {
    /// Reads the table; every problem in it is reported, with its line number.
    pub fn parse(text: &str) -> Result<Expected, Vec<String>> {
        let mut table = Expected::default();
        let mut problems = Vec::new();
        let mut cited = HashSet::new();
        // Whether an indented line continues a `why` (the last line that was not blank or
        // a comment was part of one).
        let mut in_why = false;
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
            let content = line.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut problem = |what: String| problems.push(format!("line {number}: {what}"));
            if line.starts_with(char::is_whitespace) {
                match table.reasons.last_mut().filter(|_| in_why) {
                    Some(reason) => {
                        reason.text.push(' ');
                        reason.text.push_str(content);
                    }
                    None => problem("an indented line continues no `why`".to_owned()),
                }
                continue;
            }
            in_why = content.starts_with("why ");
            if let Some(why) = content.strip_prefix("why ") {
                let (name, rest) = first_word(why);
                let (class, text) = first_word(rest);
                if name.is_empty() || class.is_empty() || text.is_empty() {
                    problem("expected `why NAME CLASS sentence`".to_owned());
                    continue;
                }
                let Some(class) = Class::parse(class) else {
                    problem(format!("class `{class}` is not choice, bug or strict"));
                    continue;
                };
                if table.reason(name).is_some() {
                    problem(format!("reason `{name}` is defined twice"));
                }
                let (name, text) = (name.to_owned(), text.to_owned());
                table.reasons.push(Reason { name, class, text });
                continue;
            }
            let fields: Vec<&str> = content.split_whitespace().collect();
            let [peer, behaviour, outcome, rest @ ..] = fields.as_slice() else {
                problem("expected `PEER BEHAVIOUR OUTCOME [REASON,...]`".to_owned());
                continue;
            };
            let reasons: Vec<String> = match rest {
                [] => Vec::new(),
                [list] => list.split(',').map(str::to_owned).collect(),
                _ => {
                    problem("reasons are one comma-separated list, without spaces".to_owned());
                    continue;
                }
            };
            match (*outcome, reasons.is_empty()) {
                ("pass", true) | ("fail" | "n/a", false) => {}
                ("pass", false) => problem("a pass takes no reason".to_owned()),
                ("fail" | "n/a", true) => problem(format!("`{outcome}` needs a reason")),
                _ => problem(format!("outcome `{outcome}` is not pass, fail or n/a")),
            }
            for name in &reasons {
                if table.reason(name).is_none() {
                    problem(format!("reason `{name}` is not defined (above this line)"));
                }
                cited.insert(name.clone());
            }
            let key = (peer.to_string(), behaviour.to_string());
            let row = Row { outcome: outcome.to_string(), reasons };
            if table.rows.insert(key.clone(), row).is_some() {
                problem(format!("`{peer} {behaviour}` has two rows"));
            }
            table.order.push(key);
        }
        for reason in &table.reasons {
            if !cited.contains(&reason.name) {
                problems.push(format!("reason `{}` is cited by no row", reason.name));
            }
        }
        if problems.is_empty() { Ok(table) } else { Err(problems) }
    }

    /// The row for `behaviour` on `peer`.
    pub fn row(&self, peer: &str, behaviour: &str) -> Option<&Row> {
        self.rows.get(&(peer.to_owned(), behaviour.to_owned()))
    }

    /// The reason called `name`.
    pub fn reason(&self, name: &str) -> Option<&Reason> {
        self.reasons.iter().find(|r| r.name == name)
    }

    /// Every `(peer, behaviour)` with a row, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &(String, String)> {
        self.order.iter()
    }
}

/// The first whitespace-separated word of `text`, and the rest, trimmed.
fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], text[end..].trim())
}
