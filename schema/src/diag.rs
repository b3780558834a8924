//! Errors about a config file as the user sees them: each names the file, line and column, says
//! what was expected and, where it helps, how to fix it.
//!
//! Invariants: a rendered diagnostic never carries a control character from the file (they are
//! shown escaped, so a config cannot drive the user's terminal), and collecting problems is
//! bounded: at most [`KEPT`] are kept (the first by location), the rest only counted.

use std::borrow::Cow;
use std::fmt;

/// How many problems are kept; past that only their number is (a file with a million unknown
/// keys must not cost a million messages).
pub const KEPT: usize = 1000;

/// A 1-based position in the config file. Line 0 means "the file as a whole" (e.g. it could
/// not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub const WHOLE_FILE: Location = Location { line: 0, column: 0 };

    pub fn new(line: usize, column: usize) -> Self {
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// `s` with control characters and bidirectional-text controls escaped (`\n`, `\t`,
/// `\u{1b}`), so text from a config file cannot move the cursor, recolour or reorder the
/// user's terminal.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// How many characters of a message or hint are shown; a value quoted from a huge file must not
/// make one line megabytes long.
const SHOWN_CHARS: usize = 400;

/// `s` escaped (see [`escape_controls`]) and cut to [`SHOWN_CHARS`] characters.
fn shown(s: &str) -> Cow<'_, str> {
    let s = escape_controls(s);
    match s.char_indices().nth(SHOWN_CHARS) {
        None => s,
        Some((cut, _)) => {
            let more = s[cut..].chars().count();
            Cow::Owned(format!("{}… ({more} more characters)", &s[..cut]))
        }
    }
}

/// One error in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based; 0 when the error concerns the whole file.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// `file:line:col: error: message`, then `  hint: …` on its own line when there is a hint;
/// control characters escaped, overlong texts cut.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, message) = (shown(&self.file), shown(&self.message));
        if self.line == 0 {
            write!(f, "{file}: error: {message}")?;
        } else {
            write!(f, "{file}:{}:{}: error: {message}", self.line, self.column)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", shown(hint))?;
        }
        Ok(())
    }
}

/// The errors found in a config file, sorted by location: the first [`KEPT`] of them, and how
/// many more there were. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>, usize);

fn render(list: &[Diagnostic]) -> String {
    list.iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Diagnostics {
    /// How many are kept (see [`Diagnostics::total`]).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// How many errors were found, kept or not.
    pub fn total(&self) -> usize {
        self.0.len() + self.1
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// An error before it is attached to a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: Location,
    pub message: String,
    pub hint: Option<String>,
}

/// Collects problems while a config is read; nothing stops at the first one. Memory is
/// bounded: past `2 × KEPT` the list is sorted and cut back to the first [`KEPT`] by location
/// (amortised O(n log KEPT) for n problems), the rest counted.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
    /// Problems cut off (they come after the kept ones in the file).
    dropped: usize,
}

impl Problems {
    pub fn error(&mut self, at: Location, message: impl Into<String>) {
        self.push(Problem {
            at,
            message: message.into(),
            hint: None,
        });
    }

    pub fn error_hint(&mut self, at: Location, message: impl Into<String>, hint: Option<String>) {
        self.push(Problem {
            at,
            message: message.into(),
            hint,
        });
    }

    pub fn push(&mut self, p: Problem) {
        self.list.push(p);
        if self.list.len() >= 2 * KEPT {
            self.compact();
        }
    }

    pub fn extend(&mut self, ps: impl IntoIterator<Item = Problem>) {
        for p in ps {
            self.push(p);
        }
    }

    /// Sorted by location (stable, so problems at one place keep the order they were found),
    /// exact repeats dropped, cut to [`KEPT`].
    fn compact(&mut self) {
        self.list.sort_by_key(|p| p.at);
        self.list.dedup();
        if self.list.len() > KEPT {
            self.dropped += self.list.len() - KEPT;
            self.list.truncate(KEPT);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped == 0
    }

    /// How many problems were reported so far (never goes down, so `len() > before` tells
    /// whether a step found any).
    pub fn len(&self) -> usize {
        self.list.len() + self.dropped
    }

    /// Sorted by location, exact repeats dropped, attached to `file`.
    pub fn into_diagnostics(mut self, file: &str) -> Diagnostics {
        self.compact();
        Diagnostics(
            self.list
                .into_iter()
                .map(|p| Diagnostic {
                    file: file.to_string(),
                    line: p.at.line,
                    column: p.at.column,
                    message: p.message,
                    hint: p.hint,
                })
                .collect(),
            self.dropped,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_message_and_hint() {
        let mut p = Problems::default();
        p.error_hint(
            Location::new(3, 5),
            "unknown key `nmae`",
            Some("did you mean `name`?".into()),
        );
        p.error(Location::new(1, 1), "missing required key `version`");
        p.error(Location::WHOLE_FILE, "cannot read it");
        let d = p.into_diagnostics("hdh.yaml");
        assert_eq!(
            d.to_string(),
            "hdh.yaml: error: cannot read it\n\
             hdh.yaml:1:1: error: missing required key `version`\n\
             hdh.yaml:3:5: error: unknown key `nmae`\n  hint: did you mean `name`?"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut p = Problems::default();
        p.error_hint(
            Location::new(1, 1),
            "invalid `a\u{1b}[31mred\n`",
            Some("tab\there \u{202e}".into()),
        );
        let d = p.into_diagnostics("f\u{7}.yaml");
        assert_eq!(
            d.to_string(),
            "f\\u{7}.yaml:1:1: error: invalid `a\\u{1b}[31mred\\n`\n  hint: tab\\there \\u{202e}"
        );
        assert!(matches!(escape_controls("plain é"), Cow::Borrowed(_)));
    }

    #[test]
    fn overlong_messages_are_cut() {
        let mut p = Problems::default();
        p.error(Location::new(1, 1), "x".repeat(1000));
        let text = p.into_diagnostics("f").to_string();
        assert!(text.ends_with("… (600 more characters)"), "{text}");
        assert!(text.len() < 500);
    }

    #[test]
    fn collection_is_bounded_and_keeps_the_first_by_location() {
        let mut p = Problems::default();
        for i in (1..=10 * KEPT).rev() {
            p.error(Location::new(i, 1), format!("problem {i}"));
        }
        assert_eq!(p.len(), 10 * KEPT);
        let d = p.into_diagnostics("f");
        assert_eq!(d.len(), KEPT);
        assert_eq!(d.total(), 10 * KEPT);
        assert_eq!(d.0[0].message, "problem 1");
        assert_eq!(d.0[KEPT - 1].line, KEPT);
    }

    #[test]
    fn repeats_are_dropped() {
        let mut p = Problems::default();
        p.error(Location::new(2, 1), "x");
        p.error(Location::new(2, 1), "x");
        assert_eq!(p.into_diagnostics("f").len(), 1);
    }
}
