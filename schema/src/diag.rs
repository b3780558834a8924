//! Errors about a config file as the user sees them: each names the file, line and column, says
//! what was expected and, where it helps, how to fix it.

use std::fmt;

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

/// `file:line:col: error: message`, then `  hint: …` on its own line when there is a hint.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file, self.line, self.column, self.message
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every error found in a config file, sorted by location. Never empty when returned as an
/// error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

fn render(list: &[Diagnostic]) -> String {
    list.iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Diagnostics {
    pub fn len(&self) -> usize {
        self.0.len()
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

/// Collects problems while a config is read; nothing stops at the first one.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub fn error(&mut self, at: Location, message: impl Into<String>) {
        self.0.push(Problem {
            at,
            message: message.into(),
            hint: None,
        });
    }

    pub fn error_hint(&mut self, at: Location, message: impl Into<String>, hint: Option<String>) {
        self.0.push(Problem {
            at,
            message: message.into(),
            hint,
        });
    }

    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }

    pub fn extend(&mut self, ps: impl IntoIterator<Item = Problem>) {
        self.0.extend(ps);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Sorted by location (stable, so problems at one place keep the order they were found),
    /// exact repeats dropped, attached to `file`.
    pub fn into_diagnostics(self, file: &str) -> Diagnostics {
        let mut list = self.0;
        list.sort_by_key(|p| p.at);
        list.dedup();
        Diagnostics(
            list.into_iter()
                .map(|p| Diagnostic {
                    file: file.to_string(),
                    line: p.at.line,
                    column: p.at.column,
                    message: p.message,
                    hint: p.hint,
                })
                .collect(),
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
    fn repeats_are_dropped() {
        let mut p = Problems::default();
        p.error(Location::new(2, 1), "x");
        p.error(Location::new(2, 1), "x");
        assert_eq!(p.into_diagnostics("f").len(), 1);
    }
}
