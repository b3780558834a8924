//! A YAML tree that remembers where every node came from, so every config error can name a line
//! and column. Built from yaml-rust2's event parser; plain scalars resolve per the YAML 1.2 core
//! schema. Duplicate keys are errors; aliases and tags are rejected (a config is data written out
//! in full, and alias expansion is an easy way to blow up memory); anchors alone are ignored.

use std::collections::HashMap;

use hdh_engine::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::{Location, Problem};

/// Deeper nesting than this is refused (it keeps every tree walk's recursion bounded).
pub const MAX_DEPTH: usize = 64;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `null`, `Null`, `NULL`, `~` or nothing.
    Null,
    /// Any other scalar, as written (quotes and escapes removed); see [`Node::value`] for its
    /// typed value.
    Scalar(String, ScalarStyle),
    Seq(Vec<Node>),
    /// Entries in file order; keys are unique (a repeated key is reported and dropped).
    Map(Vec<(KeyNode, Node)>),
}

/// A mapping key: always a scalar, kept as written.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyNode {
    pub text: String,
    pub mark: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// Where the node starts.
    pub mark: Location,
    /// Column of the scalar's first character when the scalar's text appears verbatim on one
    /// line of the source, so offsets inside it map to columns.
    text_column: Option<usize>,
}

/// What a plain scalar means under the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
enum Plain {
    Null,
    Bool(bool),
    Int(Result<serde_json::Number, ()>),
    Float(f64),
    Str,
}

fn resolve_plain(s: &str) -> Plain {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        _ => {}
    }
    let digits = |t: &str, ok: fn(char) -> bool| !t.is_empty() && t.chars().all(ok);
    if let Some(h) = s.strip_prefix("0x") {
        if digits(h, |c| c.is_ascii_hexdigit()) {
            return Plain::Int(i64::from_str_radix(h, 16).map(Into::into).map_err(|_| ()));
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if digits(o, |c| ('0'..='7').contains(&c)) {
            return Plain::Int(i64::from_str_radix(o, 8).map(Into::into).map_err(|_| ()));
        }
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, |c| c.is_ascii_digit()) {
        let n = s
            .parse::<i64>()
            .map(serde_json::Number::from)
            .or_else(|_| {
                s.strip_prefix('+')
                    .unwrap_or(s)
                    .parse::<u64>()
                    .map(Into::into)
            })
            .map_err(|_| ());
        return Plain::Int(n);
    }
    if is_core_float(unsigned) {
        if let Ok(f) = unsigned.parse::<f64>() {
            return Plain::Float(if s.starts_with('-') { -f } else { f });
        }
    }
    Plain::Str
}

/// What a plain (unquoted) scalar with this text is: "an integer", "a string", ….
pub fn describe_plain(text: &str) -> &'static str {
    match resolve_plain(text) {
        Plain::Null => "null",
        Plain::Bool(_) => "a boolean",
        Plain::Int(_) => "an integer",
        Plain::Float(_) => "a number",
        Plain::Str => "a string",
    }
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && all_digits(e)
        }
    };
    mantissa_ok && exponent_ok
}

impl Node {
    fn new(kind: NodeKind, mark: Location) -> Self {
        Node {
            kind,
            mark,
            text_column: None,
        }
    }

    /// A null node at `mark` (handy for callers that need a placeholder).
    pub fn null(mark: Location) -> Self {
        Node::new(NodeKind::Null, mark)
    }

    /// A short description of what the node holds, for "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
            NodeKind::Scalar(s, ScalarStyle::Plain) => describe_plain(s),
            NodeKind::Scalar(..) => "a string",
        }
    }

    /// The text of a scalar that is a string (quoted, block, or plain text that is not a
    /// number, boolean or null).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s, ScalarStyle::Plain) => {
                matches!(resolve_plain(s), Plain::Str).then_some(s.as_str())
            }
            NodeKind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(KeyNode, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The value of `key` in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    /// Where byte `offset` of a scalar's text is in the file: exact for scalars written on one
    /// line without escapes, the scalar's start otherwise.
    pub fn location_at(&self, offset: usize) -> Location {
        match (&self.kind, self.text_column) {
            (NodeKind::Scalar(s, _), Some(col)) if s.is_char_boundary(offset.min(s.len())) => {
                Location::new(
                    self.mark.line,
                    col + s[..offset.min(s.len())].chars().count(),
                )
            }
            _ => self.mark,
        }
    }

    /// The typed value of the node (scalars per the YAML 1.2 core schema). Fails on numbers
    /// that JSON cannot hold (`.inf`, `.nan`, integers beyond 64 bits).
    pub fn value(&self) -> Result<Value, Problem> {
        let unsupported = |what: &str| Problem {
            at: self.mark,
            message: format!("{what} is not a supported number"),
            hint: Some(
                "numbers must be finite and fit in 64 bits; quote it to make it a string".into(),
            ),
        };
        Ok(match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Scalar(s, ScalarStyle::Plain) => match resolve_plain(s) {
                Plain::Null => Value::Null,
                Plain::Bool(b) => Value::Bool(b),
                Plain::Int(Ok(n)) => Value::Number(n),
                Plain::Int(Err(())) => return Err(unsupported(&format!("`{s}`"))),
                Plain::Float(f) => match serde_json::Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None => return Err(unsupported(&format!("`{s}`"))),
                },
                Plain::Str => Value::String(s.clone()),
            },
            NodeKind::Scalar(s, _) => Value::String(s.clone()),
            NodeKind::Seq(items) => {
                Value::List(items.iter().map(Node::value).collect::<Result<_, _>>()?)
            }
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.text.clone(), v.value()?)))
                    .collect::<Result<_, Problem>>()?,
            ),
        })
    }
}

/// Parses one YAML document. Returns the root (None when there is no usable document: empty
/// input or a syntax error) and every problem found, in the order found.
pub fn parse(text: &str) -> (Option<Node>, Vec<Problem>) {
    if let Some(problem) = too_deep(text) {
        return (None, vec![problem]);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut builder = Builder {
        src: &chars,
        stack: Vec::new(),
        root: None,
        documents: 0,
        skip: 0,
        problems: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let problem = syntax_problem(text, e.marker(), e.info());
        builder.problems.push(problem);
        return (None, builder.problems);
    }
    if builder.documents == 0 || builder.root.is_none() {
        builder.problems.push(Problem {
            at: Location::new(1, 1),
            message: "the config file is empty".into(),
            hint: Some("start with `version: 1`, `name: …` and `region: …`".into()),
        });
    }
    (builder.root, builder.problems)
}

/// The column past which no line's content may start. The YAML parser recurses once per level
/// of block nesting, and every level moves the content at least one column right, so this
/// bounds its recursion (a file of `- ` lines nested 3,000 deep overflowed a 2 MiB stack in a
/// debug build; this allows at most 1,024) far above anything [`MAX_DEPTH`] lets through, which
/// is still reported where it happens.
const MAX_INDENT: usize = 1024;

/// A line whose content (after its indentation and `- `, `? `, `: ` markers) starts past
/// [`MAX_INDENT`], before the parser sees it.
fn too_deep(text: &str) -> Option<Problem> {
    for (i, line) in text.lines().enumerate() {
        let b = line.as_bytes();
        let mut lead = 0;
        while lead < b.len() {
            match b[lead] {
                b' ' | b'\t' => lead += 1,
                b'-' | b'?' | b':' if matches!(b.get(lead + 1), None | Some(b' ' | b'\t')) => {
                    lead += 1
                }
                _ => break,
            }
        }
        if lead > MAX_INDENT {
            return Some(Problem {
                at: Location::new(i + 1, 1),
                message: format!(
                    "this line's content starts at column {}: nesting deeper than {MAX_DEPTH} \
                     levels is not supported",
                    lead + 1
                ),
                hint: Some("check the indentation".into()),
            });
        }
    }
    None
}

fn location(m: &Marker) -> Location {
    Location::new(m.line().max(1), m.col() + 1)
}

/// A yaml-rust2 error as a located problem, with a plainer message for the common tab mistake.
fn syntax_problem(text: &str, mark: &Marker, info: &str) -> Problem {
    let at = location(mark);
    // A tab in the indentation at or before the error line is nearly always the cause.
    let tab_line = text.lines().enumerate().take(at.line).find(|(_, l)| {
        l.chars()
            .take_while(|c| c.is_whitespace())
            .any(|c| c == '\t')
    });
    if info.contains("tab") || tab_line.is_some() {
        if let Some((i, l)) = tab_line {
            let col = l.chars().position(|c| c == '\t').unwrap_or(0) + 1;
            return Problem {
                at: Location::new(i + 1, col),
                message: "a tab character is used for indentation".into(),
                hint: Some("YAML indents with spaces only; replace the tab with spaces".into()),
            };
        }
    }
    let hint = match info
        .contains("flow")
        .then(|| unclosed_bracket(text, mark.index()))
        .flatten()
    {
        Some((c, open)) => format!("the `{c}` at {open} is not closed"),
        None => "check the indentation and the `:`, quotes and brackets near here".into(),
    };
    Problem {
        at,
        message: format!("invalid YAML: {info}"),
        hint: Some(hint),
    }
}

/// The innermost `{` or `[` that starts a flow collection before char index `end` and is not
/// closed by then (a rough scan: quotes and comments are skipped).
fn unclosed_bracket(text: &str, end: usize) -> Option<(char, Location)> {
    let mut stack: Vec<(char, Location)> = Vec::new();
    let (mut line, mut col) = (1, 0);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev_significant = '\n';
    let mut prev = '\n';
    for c in text.chars().take(end) {
        col += 1;
        if c == '\n' {
            (line, col, comment) = (line + 1, 0, false);
            prev = c;
            if quote.is_none() {
                prev_significant = c;
            }
            continue;
        }
        match quote {
            Some(q) => {
                if c == q && !(q == '"' && prev == '\\') {
                    quote = None;
                }
            }
            None if comment => {}
            None => match c {
                '#' if prev.is_whitespace() => comment = true,
                '"' | '\'' => quote = Some(c),
                '{' | '[' if matches!(prev_significant, ':' | '-' | ',' | '[' | '{' | '\n') => {
                    stack.push((c, Location::new(line, col)));
                }
                '}' | ']' => {
                    let opener = if c == '}' { '{' } else { '[' };
                    if stack.last().is_some_and(|(o, _)| *o == opener) {
                        stack.pop();
                    }
                }
                _ => {}
            },
        }
        if quote.is_none() && !comment && !c.is_whitespace() {
            prev_significant = c;
        }
        prev = c;
    }
    stack.pop()
}

enum Frame {
    Seq {
        mark: Location,
        items: Vec<Node>,
    },
    Map {
        mark: Location,
        entries: Vec<(KeyNode, Node)>,
        seen: HashMap<String, Location>,
        /// `Some(None)`: a key that cannot be used was read; its value is dropped.
        key: Option<Option<KeyNode>>,
    },
}

struct Builder<'s> {
    src: &'s [char],
    stack: Vec<Frame>,
    root: Option<Node>,
    documents: usize,
    /// While > 0: inside a collection nested deeper than MAX_DEPTH, whose events are ignored.
    skip: usize,
    problems: Vec<Problem>,
}

impl Builder<'_> {
    fn problem(&mut self, at: Location, message: impl Into<String>, hint: Option<&str>) {
        self.problems.push(Problem {
            at,
            message: message.into(),
            hint: hint.map(Into::into),
        });
    }

    /// Anchors alone are harmless labels and are ignored; tags are refused.
    fn check_tag(&mut self, at: Location, tag: &Option<yaml_rust2::parser::Tag>) {
        if let Some(t) = tag {
            self.problem(
                at,
                format!("YAML tags (`{}{}`) are not supported", t.handle, t.suffix),
                Some("remove the tag; quote a value to make it a string"),
            );
        }
    }

    /// The text of the alias at `mark` (`*name`), read back from the source.
    fn alias_text(&self, mark: &Marker) -> String {
        let rest = self.src.get(mark.index()..).unwrap_or_default();
        let name: String = rest
            .iter()
            .skip(usize::from(rest.first() == Some(&'*')))
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
            .collect();
        format!("*{name}")
    }

    fn scalar_node(&self, text: String, style: TScalarStyle, mark: &Marker) -> Node {
        let at = location(mark);
        let style = match style {
            TScalarStyle::Plain => ScalarStyle::Plain,
            TScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            TScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            TScalarStyle::Literal => ScalarStyle::Literal,
            TScalarStyle::Folded => ScalarStyle::Folded,
        };
        if style == ScalarStyle::Plain && matches!(resolve_plain(&text), Plain::Null) {
            return Node::new(NodeKind::Null, at);
        }
        let skip = match style {
            ScalarStyle::Plain => Some(0),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Some(1),
            _ => None,
        };
        let text_column = skip.and_then(|skip| {
            let start = mark.index() + skip;
            let verbatim = !text.contains('\n')
                && self.src.get(start..).is_some_and(|rest| {
                    rest.iter()
                        .copied()
                        .take(text.chars().count())
                        .eq(text.chars())
                });
            verbatim.then_some(at.column + skip)
        });
        Node {
            kind: NodeKind::Scalar(text, style),
            mark: at,
            text_column,
        }
    }

    /// Places a finished node in its parent (or as the root).
    fn add(&mut self, node: Node) {
        let Some(top) = self.stack.last_mut() else {
            if self.documents == 1 {
                self.root = Some(node);
            }
            return;
        };
        match top {
            Frame::Seq { items, .. } => items.push(node),
            Frame::Map {
                mark,
                entries,
                seen,
                key,
            } => match key.take() {
                None => {
                    // A block map's start event points at its first `:`; its first key is
                    // where it really starts.
                    if entries.is_empty() && node.mark < *mark {
                        *mark = node.mark;
                    }
                    let k = match node.kind {
                        NodeKind::Scalar(text, _) => Some(KeyNode {
                            text,
                            mark: node.mark,
                        }),
                        NodeKind::Null => Some(KeyNode {
                            text: String::new(),
                            mark: node.mark,
                        }),
                        _ => None,
                    };
                    let at = node.mark;
                    match k {
                        Some(k) => *key = Some(Some(k)),
                        None => {
                            *key = Some(None);
                            self.problem(
                                at,
                                "a map key must be a plain string, not a list or map",
                                None,
                            );
                        }
                    }
                }
                Some(None) => {}
                Some(Some(k)) => {
                    if let Some(first) = seen.get(&k.text) {
                        let first = *first;
                        self.problem(
                            k.mark,
                            format!("duplicate key `{}`; it is already set at {first}", k.text),
                            Some("each key may appear once in a map; remove or rename one of them"),
                        );
                    } else {
                        seen.insert(k.text.clone(), k.mark);
                        entries.push((k, node));
                    }
                }
            },
        }
    }

    fn open(&mut self, frame: Frame, at: Location) {
        if self.skip > 0 || self.stack.len() >= MAX_DEPTH {
            if self.skip == 0 {
                self.problem(
                    at,
                    format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
                    None,
                );
            }
            self.skip += 1;
        } else {
            self.stack.push(frame);
        }
    }

    fn close(&mut self) {
        if self.skip > 0 {
            self.skip -= 1;
            if self.skip == 0 {
                let at = match self.stack.last() {
                    Some(Frame::Seq { mark, .. } | Frame::Map { mark, .. }) => *mark,
                    None => Location::new(1, 1),
                };
                self.add(Node::null(at));
            }
            return;
        }
        let node = match self.stack.pop() {
            Some(Frame::Seq { mark, items }) => Node::new(NodeKind::Seq(items), mark),
            Some(Frame::Map { mark, entries, .. }) => Node::new(NodeKind::Map(entries), mark),
            None => return,
        };
        self.add(node);
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = location(&mark);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.problem(
                        at,
                        "the config must be a single YAML document",
                        Some("remove the `---` separator and everything after it, or merge the documents"),
                    );
                }
            }
            Event::Alias(_) => {
                if self.skip == 0 {
                    let alias = self.alias_text(&mark);
                    self.problem(
                        at,
                        format!("YAML aliases (`{alias}`) are not supported"),
                        Some("write the value out in full where it is used"),
                    );
                    self.add(Node::null(at));
                }
            }
            Event::Scalar(text, style, _anchor, tag) => {
                if self.skip == 0 {
                    self.check_tag(at, &tag);
                    let node = self.scalar_node(text, style, &mark);
                    self.add(node);
                }
            }
            Event::SequenceStart(_anchor, tag) => {
                if self.skip == 0 {
                    self.check_tag(at, &tag);
                }
                self.open(
                    Frame::Seq {
                        mark: at,
                        items: Vec::new(),
                    },
                    at,
                );
            }
            Event::MappingStart(_anchor, tag) => {
                if self.skip == 0 {
                    self.check_tag(at, &tag);
                }
                let frame = Frame::Map {
                    mark: at,
                    entries: Vec::new(),
                    seen: HashMap::new(),
                    key: None,
                };
                self.open(frame, at);
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let (node, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        node.unwrap()
    }

    fn problems(text: &str) -> Vec<Problem> {
        parse(text).1
    }

    #[test]
    fn maps_start_at_their_first_key() {
        let n = root("a: 1\nprops:\n  path: x\nc: {x: 1}\nd:\n  - 1\n");
        assert_eq!(n.mark, Location::new(1, 1));
        assert_eq!(n.get("props").unwrap().mark, Location::new(3, 3));
        assert_eq!(n.get("c").unwrap().mark, Location::new(4, 4));
        assert_eq!(n.get("d").unwrap().mark, Location::new(6, 3));
    }

    #[test]
    fn nodes_carry_one_based_locations() {
        let n = root("version: 1\nresources:\n  token:\n    type: random_secret\n");
        let token = n.get("resources").unwrap().get("token").unwrap();
        let (key, ty) = &token.as_map().unwrap()[0];
        assert_eq!(key.mark, Location::new(4, 5));
        assert_eq!(ty.mark, Location::new(4, 11));
        assert_eq!(ty.as_str(), Some("random_secret"));
    }

    #[test]
    fn scalars_resolve_per_the_core_schema() {
        let n = root(
            "a: true\nb: 'true'\nc: 42\nd: \"42\"\ne: 1.5\nf: ~\ng:\nh: null\ni: 0x1f\nj: text\n\
             k: -7\nl: 1e3\nm: .inf\nn: 99999999999999999999999\no: 0o17\np: +3\nq: FALSE\n",
        );
        let v = |k: &str| n.get(k).unwrap().value();
        assert_eq!(v("a").unwrap(), Value::Bool(true));
        assert_eq!(v("b").unwrap(), Value::str("true"));
        assert_eq!(v("c").unwrap(), Value::int(42));
        assert_eq!(v("d").unwrap(), Value::str("42"));
        assert_eq!(v("e").unwrap().to_display_json(), serde_json::json!(1.5));
        assert_eq!(v("f").unwrap(), Value::Null);
        assert_eq!(v("g").unwrap(), Value::Null);
        assert_eq!(v("h").unwrap(), Value::Null);
        assert_eq!(v("i").unwrap(), Value::int(31));
        assert_eq!(v("j").unwrap(), Value::str("text"));
        assert_eq!(v("k").unwrap(), Value::int(-7));
        assert_eq!(v("l").unwrap().to_display_json(), serde_json::json!(1000.0));
        assert!(v("m").is_err());
        assert!(v("n").is_err());
        assert_eq!(v("o").unwrap(), Value::int(15));
        assert_eq!(v("p").unwrap(), Value::int(3));
        assert_eq!(v("q").unwrap(), Value::Bool(false));
        assert_eq!(n.get("c").unwrap().describe(), "an integer");
        assert_eq!(n.get("d").unwrap().describe(), "a string");
        assert_eq!(n.get("e").unwrap().describe(), "a number");
        for s in ["1.2.3", "1e", "e3", "0x", "-", ".", "1_000", "yes", "on"] {
            assert_eq!(resolve_plain(s), Plain::Str, "{s}");
        }
    }

    #[test]
    fn duplicate_keys_are_errors_naming_both_places() {
        let p = problems("name: a\nregion: us-east-1\nname: b\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].at, Location::new(3, 1));
        assert_eq!(
            p[0].message,
            "duplicate key `name`; it is already set at line 1, column 1"
        );
    }

    #[test]
    fn duplicates_keep_the_first_value() {
        let (n, _) = parse("a: 1\na: 2\n");
        assert_eq!(n.unwrap().get("a").unwrap().value().unwrap(), Value::int(1));
    }

    #[test]
    fn nesting_past_the_parsers_recursion_is_refused_before_parsing() {
        let deep: String = (0..3000)
            .map(|i| format!("{}- \n", " ".repeat(i * 2)))
            .collect();
        let p = problems(&format!("resources:\n{deep}"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].at, Location::new(514, 1));
        assert!(p[0].message.contains("column 1027"), "{}", p[0].message);
        // long runs of dashes that are content, not nesting, are fine
        assert!(problems(&format!(
            "a: \"{}\"\nb: |\n  {}\n",
            "-".repeat(400),
            "-".repeat(400)
        ))
        .is_empty());
    }

    #[test]
    fn syntax_errors_are_located() {
        let p = problems("name: a\nregion: [us-east-1\n");
        assert_eq!(p.len(), 1);
        assert!(
            p[0].message.starts_with("invalid YAML: "),
            "{}",
            p[0].message
        );
        assert!(p[0].at.line >= 2);
        assert_eq!(
            p[0].hint.as_deref(),
            Some("the `[` at line 2, column 9 is not closed")
        );
    }

    #[test]
    fn the_unclosed_bracket_is_found_past_quotes_and_comments() {
        let text = "a: { b: \"{\", c: [1, 2] # {\nd: x[0]\n";
        assert_eq!(
            unclosed_bracket(text, text.chars().count()),
            Some(('{', Location::new(1, 4)))
        );
    }

    #[test]
    fn tab_indentation_is_named() {
        let p = problems("resources:\n\ttoken:\n\t\ttype: random_secret\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].message, "a tab character is used for indentation");
        assert_eq!(p[0].at, Location::new(2, 1));
    }

    #[test]
    fn aliases_and_tags_are_rejected_anchors_ignored() {
        let p = problems("a: &x 1\nb: *x\nc: !!str 3\nd: [*x, 2]\n");
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert_eq!(msgs[0], "YAML aliases (`*x`) are not supported");
        assert_eq!(p[0].at, Location::new(2, 4));
        assert!(msgs[1].contains("tags"), "{msgs:?}");
        assert_eq!(msgs[2], "YAML aliases (`*x`) are not supported");
    }

    #[test]
    fn empty_input_and_multiple_documents_are_errors() {
        assert_eq!(problems("")[0].message, "the config file is empty");
        assert_eq!(
            problems("# only a comment\n")[0].message,
            "the config file is empty"
        );
        let p = problems("a: 1\n---\nb: 2\n");
        assert_eq!(p[0].message, "the config must be a single YAML document");
    }

    #[test]
    fn offsets_inside_strings_map_to_columns() {
        let n = root("a: x ${b}\nb: \"q ${c}\"\nc: |\n  ${d}\n");
        assert_eq!(n.get("a").unwrap().location_at(2), Location::new(1, 6));
        assert_eq!(n.get("b").unwrap().location_at(2), Location::new(2, 7));
        // Block scalars point at their start.
        let c = n.get("c").unwrap();
        assert_eq!(c.location_at(0), c.mark);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let p = problems(&text);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("nesting"));
    }

    #[test]
    fn non_string_keys_are_errors() {
        let p = problems("? [a, b]\n: 1\n");
        assert_eq!(
            p[0].message,
            "a map key must be a plain string, not a list or map"
        );
    }
}
