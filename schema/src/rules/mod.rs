//! Offline rules for the values a config sets: what AWS and Kubernetes would refuse, checked
//! before any state or network access so `hdh validate` (and so `hdh plan`) stops there.
//!
//! Each rule is a small pure function over one value that returns what is wrong with it as a
//! [`Violation`] (the reason, what a valid value looks like, and a hint). Callers attach the
//! location: the blueprint's settings (`blueprint/settings.rs`) and the generic resources'
//! properties (`props.rs`, keyed by resource type and attribute) use the same rules.
//!
//! One file per family: `network` (CIDR blocks, containment, overlap, availability zones),
//! `names` (AWS and Kubernetes names), `versions` (Kubernetes and chart versions), `values`
//! (email addresses, instance types, numeric ranges).

pub mod names;
pub mod network;
pub(crate) mod props;
pub mod values;
pub mod versions;

use std::fmt;

use crate::diag::{Location, Problems};

/// Why a value breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong with this value, e.g. "the prefix length /33 is above 32".
    pub reason: String,
    /// What a valid value looks like, e.g. "an IPv4 CIDR block such as 10.0.0.0/16".
    pub expected: String,
    /// How to fix it, when there is more to say than `expected`.
    pub hint: Option<String>,
}

impl Violation {
    pub fn new(reason: impl Into<String>, expected: impl Into<String>) -> Self {
        Violation {
            reason: reason.into(),
            expected: expected.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// `reason; expected …`.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; expected {}", self.reason, self.expected)
    }
}

/// What a rule returns.
pub type Rule<T = ()> = Result<T, Violation>;

/// Reports `v` for the value `value` of the setting `what` at `at`:
/// "invalid `what` `value`: reason; expected …" with the rule's hint.
pub(crate) fn report(p: &mut Problems, at: Location, what: &str, value: &str, v: Violation) {
    p.error_hint(
        at,
        format!("invalid `{what}` `{}`: {v}", shorten(value)),
        v.hint,
    );
}

/// A value as quoted in a message: at most 80 characters, so a huge value stays readable.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let head: String = s.chars().take(MAX).collect();
    format!("{head}…")
}

/// `s` is 1..=`max` characters of `allowed`, starting and ending with one of `edge`.
pub(crate) fn charset(
    s: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    edge: impl Fn(char) -> bool,
) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let n = s.chars().count();
    if n > max {
        return Err(format!("it is {n} characters long (at most {max})"));
    }
    if let Some(c) = s.chars().find(|c| !allowed(*c)) {
        return Err(format!("it contains {}", describe_char(c)));
    }
    let first = s.chars().next().unwrap_or_default();
    if !edge(first) {
        return Err(format!("it starts with {}", describe_char(first)));
    }
    let last = s.chars().last().unwrap_or_default();
    if !edge(last) {
        return Err(format!("it ends with {}", describe_char(last)));
    }
    Ok(())
}

/// "`a`", "a space", "the control character U+0007".
pub(crate) fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_says_what_is_wrong() {
        let alnum = |c: char| c.is_ascii_alphanumeric();
        let ok = |c: char| alnum(c) || c == '-';
        assert_eq!(charset("ng-1", 10, ok, alnum), Ok(()));
        assert_eq!(charset("", 10, ok, alnum).unwrap_err(), "it is empty");
        assert_eq!(
            charset("ng a", 10, ok, alnum).unwrap_err(),
            "it contains a space"
        );
        assert_eq!(
            charset("-ng", 10, ok, alnum).unwrap_err(),
            "it starts with `-`"
        );
        assert_eq!(
            charset("ng-", 10, ok, alnum).unwrap_err(),
            "it ends with `-`"
        );
        assert_eq!(
            charset("abcdefghijk", 10, ok, alnum).unwrap_err(),
            "it is 11 characters long (at most 10)"
        );
        assert_eq!(
            charset("a\u{7}", 10, ok, alnum).unwrap_err(),
            "it contains the control character U+0007"
        );
    }

    #[test]
    fn long_values_are_shortened() {
        assert_eq!(shorten("abc"), "abc");
        let long = "x".repeat(200);
        assert_eq!(shorten(&long).chars().count(), 81);
    }

    #[test]
    fn violations_render_reason_then_expected() {
        let v = Violation::new("it is empty", "a name").hint("e.g. `a`");
        assert_eq!(v.to_string(), "it is empty; expected a name");
        assert_eq!(v.hint.as_deref(), Some("e.g. `a`"));
    }
}
