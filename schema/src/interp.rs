//! The `${…}` language inside config strings: `${name}` and `${region}` (the stack's own
//! settings), `${<resource>.<attribute>}` references, and `$${` for a literal `${`.
//! This module only parses; the compiler checks that references point at something real.

use hdh_engine::{Expr, Part, Reference, Value};

use crate::suggest;

/// One piece of a parsed string. Offsets are byte offsets into the string.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// `${name}`: the stack name.
    Name,
    /// `${region}`: the stack's region.
    Region,
    /// `${<resource>.<attribute>}`, starting at `offset` (the `$`).
    Ref {
        reference: Reference,
        offset: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterpError {
    /// Byte offset of the mistake in the string.
    pub offset: usize,
    pub message: String,
    pub hint: Option<String>,
}

const EXPECTED: &str = "expected `${name}`, `${region}` or `${<resource>.<attribute>}`";

fn err(offset: usize, message: impl Into<String>, hint: Option<String>) -> InterpError {
    InterpError {
        offset,
        message: message.into(),
        hint,
    }
}

/// Splits a string into text and `${…}` pieces. Adjacent text is merged.
pub fn parse(s: &str) -> Result<Vec<Piece>, InterpError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("$${") {
            text.push_str("${");
            i += 3;
        } else if rest.starts_with("${") {
            let Some(close) = rest.find('}') else {
                return Err(err(
                    i,
                    "unterminated `${`: expected `}` to close it",
                    Some("write `$${` for a literal `${`".into()),
                ));
            };
            let piece = parse_inside(&rest[2..close], i, i + 2)?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            i += close + 1;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            text.push(c);
            i += c.len_utf8().max(1);
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The text between `${` and `}`; `start` is the offset of `$`, `inner` of the text.
fn parse_inside(body: &str, start: usize, inner: usize) -> Result<Piece, InterpError> {
    let lead = body.len() - body.trim_start().len();
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Err(err(start, format!("empty `${{}}`: {EXPECTED}"), None));
    }
    for (j, c) in trimmed.char_indices() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']' | '"')) {
            let shown = if c == '$' || c == '{' {
                "nested `${`".to_string()
            } else {
                format!("`{c}`")
            };
            return Err(err(
                inner + lead + j,
                format!("invalid character {shown} in `${{{trimmed}}}`: {EXPECTED}"),
                None,
            ));
        }
    }
    let Some((address, attribute)) = trimmed.rsplit_once('.') else {
        return match trimmed {
            "name" => Ok(Piece::Name),
            "region" => Ok(Piece::Region),
            other => Err(err(
                start,
                format!("unknown variable `${{{other}}}`: {EXPECTED}"),
                suggest::closest(other, ["name", "region"])
                    .map(|g| format!("did you mean `${{{g}}}`?")),
            )),
        };
    };
    // A segment is a name, optionally keyed like the blueprint's `subnet.private["us-east-1a"]`.
    let well_formed = |seg: &str| {
        let (name, key) = match seg.split_once('[') {
            Some((n, rest)) => (n, Some(rest)),
            None => (seg, None),
        };
        let name_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && !name.contains(['"', ']']);
        let key_ok = key.is_none_or(|k| {
            k.strip_prefix('"')
                .and_then(|k| k.strip_suffix("\"]"))
                .is_some_and(|k| {
                    !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                })
        });
        name_ok && key_ok
    };
    if !address.split('.').all(well_formed) || !well_formed(attribute) {
        return Err(err(
            start,
            format!("malformed reference `${{{trimmed}}}`: expected `${{<resource>.<attribute>}}`"),
            Some("names start with a letter and contain letters, digits and `_`".into()),
        ));
    }
    Ok(Piece::Ref {
        reference: Reference {
            address: address.into(),
            attribute: attribute.into(),
        },
        offset: start,
    })
}

/// The expression for parsed pieces, with `${name}` and `${region}` substituted: a whole-value
/// reference stays `Expr::Ref` (keeping the referenced type), text without references is a
/// literal string, anything else is `Expr::Interpolate`.
pub fn to_expr(pieces: &[Piece], name: &str, region: &str) -> Expr {
    let mut parts: Vec<Part> = Vec::new();
    for p in pieces {
        let text = match p {
            Piece::Text(t) => t.as_str(),
            Piece::Name => name,
            Piece::Region => region,
            Piece::Ref { reference, .. } => {
                parts.push(Part::Ref(reference.clone()));
                continue;
            }
        };
        match parts.last_mut() {
            Some(Part::Text(t)) => t.push_str(text),
            _ => parts.push(Part::Text(text.to_string())),
        }
    }
    parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
    match parts.as_slice() {
        [] => Expr::Literal(Value::str("")),
        [Part::Text(t)] => Expr::Literal(Value::str(t.clone())),
        [Part::Ref(r)] => Expr::Ref(r.clone()),
        _ => Expr::Interpolate(parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: &str, b: &str) -> Reference {
        Reference {
            address: a.into(),
            attribute: b.into(),
        }
    }

    fn expr(s: &str) -> Expr {
        to_expr(&parse(s).unwrap(), "helio", "us-east-1")
    }

    #[test]
    fn plain_text_is_a_literal() {
        assert_eq!(
            expr("hello $ world }"),
            Expr::Literal(Value::str("hello $ world }"))
        );
        assert_eq!(expr(""), Expr::Literal(Value::str("")));
    }

    #[test]
    fn name_and_region_are_substituted() {
        assert_eq!(
            expr("${name}-scratch"),
            Expr::Literal(Value::str("helio-scratch"))
        );
        assert_eq!(expr("${ region }"), Expr::Literal(Value::str("us-east-1")));
    }

    #[test]
    fn a_whole_value_reference_keeps_its_type() {
        assert_eq!(
            expr("${api_token.value}"),
            Expr::Ref(r("api_token", "value"))
        );
    }

    #[test]
    fn references_inside_strings_interpolate() {
        assert_eq!(
            expr("token=${api_token.value} in ${name}"),
            Expr::Interpolate(vec![
                Part::Text("token=".into()),
                Part::Ref(r("api_token", "value")),
                Part::Text(" in helio".into()),
            ])
        );
    }

    #[test]
    fn double_dollar_escapes() {
        assert_eq!(
            expr("$${HOME} and ${name}"),
            Expr::Literal(Value::str("${HOME} and helio"))
        );
        assert_eq!(expr("$${a.b}"), Expr::Literal(Value::str("${a.b}")));
    }

    #[test]
    fn dotted_addresses_split_at_the_last_dot() {
        assert_eq!(
            expr("${daskhub.network.vpc.id}"),
            Expr::Ref(r("daskhub.network.vpc", "id"))
        );
        assert_eq!(
            expr("${daskhub.network.subnet.private[\"us-east-1a\"].id}"),
            Expr::Ref(r("daskhub.network.subnet.private[\"us-east-1a\"]", "id"))
        );
        assert!(parse("${a.b[us].id}").is_err());
        assert!(parse("${a.b[\"x\"].c[\"y\"\"].id}").is_err());
    }

    #[test]
    fn malformed_interpolations_are_located() {
        let e = parse("abc ${api_token.value").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (4, "unterminated `${`: expected `}` to close it")
        );
        let e = parse("x${}").unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(e.message.starts_with("empty `${}`"));
        let e = parse("${a b}").unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(
            e.message.starts_with("invalid character ` `"),
            "{}",
            e.message
        );
        let e = parse("${a.${b}}").unwrap_err();
        assert!(e.message.contains("nested `${`"), "{}", e.message);
        let e = parse("${regoin}").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `${region}`?"));
        let e = parse("${a.}").unwrap_err();
        assert!(
            e.message.starts_with("malformed reference"),
            "{}",
            e.message
        );
        let e = parse("${.b}").unwrap_err();
        assert!(
            e.message.starts_with("malformed reference"),
            "{}",
            e.message
        );
    }

    #[test]
    fn offsets_are_bytes_across_multibyte_text() {
        let e = parse("é ${").unwrap_err();
        assert_eq!(e.offset, 3);
    }
}
