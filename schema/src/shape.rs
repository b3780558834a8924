//! Reading typed settings out of located YAML nodes: each accessor reports "expected …, found …"
//! at the node when the shape is wrong, so callers only handle the happy path.

use crate::diag::Problems;
use crate::interp::{self, Piece};
use crate::suggest;
use crate::yaml::{KeyNode, Node, NodeKind, ScalarStyle};

/// Reports that `node` (the value of `what`) is not the `expected` kind, with a hint about
/// quoting when that is the likely fix.
pub fn mismatch(p: &mut Problems, node: &Node, what: &str, expected: &str) {
    let found = node.describe();
    let hint = match &node.kind {
        NodeKind::Scalar(text, ScalarStyle::Plain) if expected.starts_with("a string") => {
            Some(format!("quote it to make it a string: `\"{text}\"`"))
        }
        NodeKind::Scalar(text, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)
            if expected != "a string" && unquoted_is(text, expected) =>
        {
            Some(format!("remove the quotes: `{text}`"))
        }
        _ => None,
    };
    p.error_hint(
        node.mark,
        format!("`{what}`: expected {expected}, found {found}"),
        hint,
    );
}

/// Whether `text`, written without quotes, would be of the `expected` kind.
fn unquoted_is(text: &str, expected: &str) -> bool {
    let found = crate::yaml::describe_plain(text);
    found == expected || (expected.contains("number") && found == "an integer")
}

pub fn map<'a>(p: &mut Problems, node: &'a Node, what: &str) -> Option<&'a [(KeyNode, Node)]> {
    let m = node.as_map();
    if m.is_none() {
        mismatch(p, node, what, "a map");
    }
    m
}

/// A map, or an empty one for null (`properties:` with nothing under it).
pub fn map_or_null<'a>(
    p: &mut Problems,
    node: &'a Node,
    what: &str,
) -> Option<&'a [(KeyNode, Node)]> {
    if node.is_null() {
        return Some(&[]);
    }
    map(p, node, what)
}

pub fn seq<'a>(p: &mut Problems, node: &'a Node, what: &str) -> Option<&'a [Node]> {
    if node.is_null() {
        return Some(&[]);
    }
    let s = node.as_seq();
    if s.is_none() {
        mismatch(p, node, what, "a list");
    }
    s
}

pub fn string<'a>(p: &mut Problems, node: &'a Node, what: &str) -> Option<&'a str> {
    let s = node.as_str();
    if s.is_none() {
        mismatch(p, node, what, "a string");
    }
    s
}

pub fn boolean(p: &mut Problems, node: &Node, what: &str) -> Option<bool> {
    match node.value() {
        Ok(hdh_engine::Value::Bool(b)) => Some(b),
        _ => {
            let yaml11 = match node.as_str().map(str::to_lowercase).as_deref() {
                Some("yes" | "y" | "on") => Some("true"),
                Some("no" | "n" | "off") => Some("false"),
                _ => None,
            };
            match yaml11 {
                Some(b) => p.error_hint(
                    node.mark,
                    format!("`{what}`: expected a boolean (`true` or `false`), found a string"),
                    Some(format!(
                        "YAML 1.2 reads `{}` as text; write `{b}`",
                        node.as_str().unwrap_or_default()
                    )),
                ),
                None => mismatch(p, node, what, "a boolean (`true` or `false`)"),
            }
            None
        }
    }
}

/// A string in which `${name}` and `${region}` are substituted; references to resources are
/// refused (settings are read before any resource exists).
pub fn template(
    p: &mut Problems,
    node: &Node,
    what: &str,
    name: &str,
    region: &str,
) -> Option<String> {
    let s = string(p, node, what)?;
    match interp::parse(s) {
        Err(e) => {
            p.error_hint(node.location_at(e.offset), e.message, e.hint);
            None
        }
        Ok(pieces) => {
            if let Some(offset) = pieces.iter().find_map(|x| match x {
                Piece::Ref { offset, .. } => Some(*offset),
                _ => None,
            }) {
                p.error_hint(
                    node.location_at(offset),
                    format!("`{what}` cannot reference resources"),
                    Some("only `${name}` and `${region}` can be used here".into()),
                );
                return None;
            }
            Some(
                pieces
                    .iter()
                    .map(|x| match x {
                        Piece::Text(t) => t.as_str(),
                        Piece::Name => name,
                        Piece::Region => region,
                        Piece::Ref { .. } => "",
                    })
                    .collect(),
            )
        }
    }
}

/// Reports every key of `entries` not in `allowed`, with a "did you mean" where one is close.
pub fn check_keys(p: &mut Problems, entries: &[(KeyNode, Node)], allowed: &[&str], context: &str) {
    for (k, _) in entries {
        if !allowed.contains(&k.text.as_str()) {
            p.error_hint(
                k.mark,
                format!("unknown key `{}` {context}", k.text),
                suggest::hint(&k.text, allowed, "allowed keys"),
            );
        }
    }
}

pub fn get<'a>(entries: &'a [(KeyNode, Node)], key: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v)
}

pub fn get_entry<'a>(entries: &'a [(KeyNode, Node)], key: &str) -> Option<(&'a KeyNode, &'a Node)> {
    entries
        .iter()
        .find(|(k, _)| k.text == key)
        .map(|(k, v)| (k, v))
}
