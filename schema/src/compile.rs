//! Turns `resources:` and `outputs:` into the engine's resource specs and output expressions,
//! checking them against the resource types the providers declare: unknown types and
//! properties, wrong value types, computed attributes set by hand, missing required properties,
//! references and `depends_on` to things that do not exist, and dependency cycles. Optional
//! properties left out get their declared default as a literal, so the planner sees it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use hdh_engine::{
    AttributeSpec, Desired, Expr, GraphError, Lifecycle, Presence, Providers, Reference,
    ResourceSpec, ResourceType, ValueType,
};

use crate::diag::{Location, Problems};
use crate::interp::{self, Piece};
use crate::shape::{self, check_keys, get, get_entry, mismatch};
use crate::suggest;
use crate::yaml::{KeyNode, Node, NodeKind};

const RESOURCE_KEYS: &[&str] = &["type", "properties", "depends_on", "lifecycle"];
const LIFECYCLE_KEYS: &[&str] = &["retain", "protect", "create_before_destroy", "ignore_changes"];

pub(crate) struct Context<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub types: &'a Providers,
}

pub(crate) struct Compiled {
    pub resources: Vec<ResourceSpec>,
    pub outputs: BTreeMap<String, Expr>,
}

/// A declared resource as references see it.
struct Declared<'a> {
    at: Location,
    /// None when the type is missing or unknown (its attributes are then not checked).
    ty: Option<&'a ResourceType>,
}

/// `[a-z][a-z0-9_]*`.
pub fn valid_resource_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_name(p: &mut Problems, k: &KeyNode, kind: &str) {
    if valid_resource_name(&k.text) {
        return;
    }
    let fixed: String = k
        .text
        .to_lowercase()
        .chars()
        .map(|c| if c == '-' || c == '.' || c == ' ' { '_' } else { c })
        .collect();
    let hint = valid_resource_name(&fixed).then(|| format!("did you mean `{fixed}`?"));
    let why = if k.text.contains('.') {
        "names cannot contain dots".to_string()
    } else {
        "expected a lowercase letter followed by lowercase letters, digits or `_`".to_string()
    };
    p.error_hint(k.mark, format!("invalid {kind} name `{}`: {why}", k.text), hint);
}

pub(crate) fn compile(
    p: &mut Problems,
    resources: Option<(&KeyNode, &Node)>,
    outputs: Option<&Node>,
    cx: &Context<'_>,
) -> Compiled {
    let entries = match resources {
        Some((_, node)) => shape::map_or_null(p, node, "resources").unwrap_or(&[]),
        None => &[],
    };

    // First pass: what is declared, so references can be checked in any order.
    let mut declared: HashMap<&str, Declared<'_>> = HashMap::new();
    for (k, v) in entries {
        let ty = v.get("type").and_then(Node::as_str).and_then(|t| cx.types.resource_type(t));
        declared.insert(&k.text, Declared { at: k.mark, ty });
    }

    let mut specs = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        check_name(p, k, "resource");
        if let Some(spec) = resource(p, k, v, &declared, cx) {
            specs.push(spec);
        }
    }

    let mut outs = BTreeMap::new();
    if let Some(node) = outputs {
        for (k, v) in shape::map_or_null(p, node, "outputs").unwrap_or(&[]) {
            check_name(p, k, "output");
            let r = Refs { declared: &declared, this: None, cx };
            if let Some(e) = value(p, v, &ValueType::Any, &format!("outputs.{}", k.text), &r) {
                outs.insert(k.text.clone(), e);
            }
        }
    }

    check_cycles(p, &specs, &declared);
    Compiled { resources: specs, outputs: outs }
}

fn resource(
    p: &mut Problems,
    k: &KeyNode,
    node: &Node,
    declared: &HashMap<&str, Declared<'_>>,
    cx: &Context<'_>,
) -> Option<ResourceSpec> {
    let name = k.text.as_str();
    let entries = shape::map(p, node, &format!("resources.{name}"))?;
    check_keys(p, entries, RESOURCE_KEYS, &format!("in resource `{name}`"));

    let ty = match get(entries, "type") {
        None => {
            p.error_hint(
                k.mark,
                format!("resource `{name}` is missing required key `type`"),
                Some(known_types_hint(cx.types, None)),
            );
            None
        }
        Some(t) => shape::string(p, t, "type").and_then(|s| {
            let found = cx.types.resource_type(s);
            if found.is_none() {
                p.error_hint(t.mark, format!("unknown resource type `{s}`"), Some(known_types_hint(cx.types, Some(s))));
            }
            found
        }),
    };

    let refs = Refs { declared, this: Some(name), cx };
    let mut properties = BTreeMap::new();
    let props = get_entry(entries, "properties");
    let prop_entries = match props {
        Some((_, n)) => shape::map_or_null(p, n, "properties").unwrap_or(&[]),
        None => &[],
    };
    for (pk, pv) in prop_entries {
        let attr = match ty {
            None => None,
            Some(t) => match t.attribute(&pk.text) {
                None => {
                    let inputs: Vec<&str> = t.inputs().map(|a| a.name.as_str()).collect();
                    p.error_hint(
                        pk.mark,
                        format!("unknown property `{}` for {}", pk.text, t.name),
                        suggest::hint(&pk.text, &inputs, &format!("{} accepts", t.name)),
                    );
                    continue;
                }
                Some(a) if !a.is_input() => {
                    p.error_hint(
                        pk.mark,
                        format!("`{}` is computed by {} and cannot be set", pk.text, t.name),
                        Some(format!(
                            "remove it; other resources can read it as `${{{name}.{}}}`",
                            pk.text
                        )),
                    );
                    continue;
                }
                Some(a) => Some(a),
            },
        };
        if pv.is_null() {
            // Null means "not set": required ones are reported below, optional get defaults.
            continue;
        }
        let vt = attr.map(|a| &a.ty).unwrap_or(&ValueType::Any);
        if let Some(e) = value(p, pv, vt, &pk.text, &refs) {
            properties.insert(pk.text.clone(), e);
        }
    }
    if let Some(t) = ty {
        let at = props.map(|(pk, _)| pk.mark).unwrap_or(k.mark);
        fill_defaults_and_check_required(p, t, &mut properties, prop_entries, k, at);
    }

    let depends_on = match get(entries, "depends_on") {
        None => Vec::new(),
        Some(n) => depends_on(p, n, name, declared),
    };
    let lifecycle = match get(entries, "lifecycle") {
        None => Lifecycle::default(),
        Some(n) => lifecycle(p, n, name, ty),
    };
    Some(ResourceSpec {
        address: name.to_string(),
        type_name: ty.map(|t| t.name.clone()).unwrap_or_default(),
        properties,
        depends_on,
        lifecycle,
    })
}

fn known_types_hint(types: &Providers, typo: Option<&str>) -> String {
    let names: Vec<&str> = types.type_names().collect();
    if names.is_empty() {
        return "no resource types are available".into();
    }
    let guess = typo.and_then(|t| suggest::closest(t, names.iter().copied()));
    let listed = if names.len() <= 12 {
        format!("known types: {}", suggest::list(&names))
    } else {
        format!("{} types are known; `hdh` lists them in its documentation", names.len())
    };
    match guess {
        Some(g) => format!("did you mean `{g}`? {listed}"),
        None => listed,
    }
}

fn fill_defaults_and_check_required(
    p: &mut Problems,
    t: &ResourceType,
    properties: &mut BTreeMap<String, Expr>,
    written: &[(KeyNode, Node)],
    k: &KeyNode,
    // Where a missing property is reported: `properties:`, or the resource's name.
    at: Location,
) {
    for a in &t.attributes {
        // Written but wrong (already reported) counts as present.
        let written_non_null = written.iter().any(|(wk, wv)| wk.text == a.name && !wv.is_null());
        if properties.contains_key(&a.name) || written_non_null {
            continue;
        }
        match &a.presence {
            Presence::Optional { default: Some(v) } => {
                properties.insert(a.name.clone(), Expr::Literal(v.clone()));
            }
            Presence::Required => {
                let null = written.iter().find(|(wk, wv)| wk.text == a.name && wv.is_null());
                match null {
                    Some((_, wv)) => p.error_hint(
                        wv.mark,
                        format!("`{}`: expected {}, found null", a.name, a.ty.describe()),
                        Some(format!("{} requires `{}`", t.name, a.name)),
                    ),
                    None => p.error_hint(
                        at,
                        format!(
                            "resource `{}` ({}) is missing required property `{}` ({})",
                            k.text,
                            t.name,
                            a.name,
                            a.ty.describe()
                        ),
                        describe_hint(a),
                    ),
                }
            }
            Presence::Optional { default: None } | Presence::Computed => {}
        }
    }
}

fn describe_hint(a: &AttributeSpec) -> Option<String> {
    (!a.description.is_empty()).then(|| format!("`{}`: {}", a.name, a.description))
}

fn depends_on(p: &mut Problems, node: &Node, name: &str, declared: &HashMap<&str, Declared<'_>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in shape::seq(p, node, "depends_on").unwrap_or(&[]).iter().enumerate() {
        let Some(dep) = shape::string(p, item, &format!("depends_on[{i}]")) else {
            continue;
        };
        if dep == name {
            p.error(item.mark, format!("resource `{name}` cannot depend on itself"));
        } else if !declared.contains_key(dep) {
            p.error_hint(
                item.mark,
                format!("`depends_on` names `{dep}`, which is not a declared resource"),
                undeclared_hint(dep, declared),
            );
        } else if !out.iter().any(|d| d == dep) {
            out.push(dep.to_string());
        }
    }
    out
}

fn undeclared_hint(word: &str, declared: &HashMap<&str, Declared<'_>>) -> Option<String> {
    let mut names: Vec<&str> = declared.keys().copied().collect();
    names.sort_unstable();
    match suggest::closest(word, names.iter().copied()) {
        Some(g) => Some(format!("did you mean `{g}`?")),
        None if names.is_empty() => Some("no resources are declared".into()),
        None if names.len() <= 12 => Some(format!("declared resources: {}", suggest::list(&names))),
        None => None,
    }
}

fn lifecycle(p: &mut Problems, node: &Node, name: &str, ty: Option<&ResourceType>) -> Lifecycle {
    let mut l = Lifecycle::default();
    let Some(entries) = shape::map_or_null(p, node, "lifecycle") else {
        return l;
    };
    check_keys(p, entries, LIFECYCLE_KEYS, &format!("in `lifecycle` of `{name}`"));
    let flag = |p: &mut Problems, key: &str| {
        get(entries, key).and_then(|n| shape::boolean(p, n, &format!("lifecycle.{key}"))).unwrap_or(false)
    };
    l.retain = flag(p, "retain");
    l.protect = flag(p, "protect");
    l.create_before_destroy = flag(p, "create_before_destroy");
    if let Some(n) = get(entries, "ignore_changes") {
        for (i, item) in shape::seq(p, n, "lifecycle.ignore_changes").unwrap_or(&[]).iter().enumerate() {
            let Some(attr) = shape::string(p, item, &format!("lifecycle.ignore_changes[{i}]")) else {
                continue;
            };
            if let Some(t) = ty {
                if !t.attribute(attr).is_some_and(AttributeSpec::is_input) {
                    let inputs: Vec<&str> = t.inputs().map(|a| a.name.as_str()).collect();
                    let what = if t.attribute(attr).is_some() { "a computed attribute" } else { "not an attribute" };
                    p.error_hint(
                        item.mark,
                        format!("`ignore_changes` names `{attr}`, which is {what} of {}: expected one of its inputs", t.name),
                        suggest::hint(attr, &inputs, &format!("inputs of {}", t.name)),
                    );
                    continue;
                }
            }
            l.ignore_changes.push(attr.to_string());
        }
    }
    l
}

/// What references inside a value are checked against.
struct Refs<'a, 'b> {
    declared: &'a HashMap<&'a str, Declared<'b>>,
    /// The resource being compiled (None for outputs).
    this: Option<&'a str>,
    cx: &'a Context<'a>,
}

impl Refs<'_, '_> {
    /// Checks one reference (`Err` when it is reported as wrong); returns the referenced
    /// attribute's declared type when the referenced resource's type is known.
    fn check(&self, p: &mut Problems, r: &Reference, at: Location) -> Result<Option<ValueType>, ()> {
        if Some(r.address.as_str()) == self.this {
            p.error(at, format!("resource `{}` cannot reference itself (`{r}`)", r.address));
            return Err(());
        }
        let Some(d) = self.declared.get(r.address.as_str()) else {
            p.error_hint(
                at,
                format!("`{r}` refers to `{}`, which is not a declared resource", r.address),
                undeclared_hint(&r.address, self.declared),
            );
            return Err(());
        };
        let Some(t) = d.ty else {
            return Ok(None);
        };
        if r.attribute == "id" {
            return Ok(Some(ValueType::String));
        }
        match t.attribute(&r.attribute) {
            Some(a) => Ok(Some(a.ty.clone())),
            None => {
                let mut names: Vec<&str> = vec!["id"];
                names.extend(t.attributes.iter().map(|a| a.name.as_str()));
                p.error_hint(
                    at,
                    format!("`{r}`: {} (resource `{}`) has no attribute `{}`", t.name, r.address, r.attribute),
                    suggest::hint(&r.attribute, &names, &format!("attributes of {}", t.name)),
                );
                Err(())
            }
        }
    }
}

/// Whether a value of type `actual` may be used where `expected` is wanted.
fn compatible(expected: &ValueType, actual: &ValueType) -> bool {
    match (expected, actual) {
        (ValueType::Any, _) | (_, ValueType::Any) => true,
        (ValueType::Number, ValueType::Integer) => true,
        (ValueType::List(e), ValueType::List(a)) | (ValueType::Map(e), ValueType::Map(a)) => compatible(e, a),
        (e, a) => e == a,
    }
}

/// Compiles one value against the type it must have; reports mismatches and bad references.
fn value(p: &mut Problems, node: &Node, ty: &ValueType, what: &str, refs: &Refs<'_, '_>) -> Option<Expr> {
    match &node.kind {
        NodeKind::Seq(items) => {
            let item_ty = match ty {
                ValueType::List(t) => t.as_ref(),
                ValueType::Any => &ValueType::Any,
                _ => {
                    mismatch(p, node, what, &ty.describe());
                    return None;
                }
            };
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match value(p, item, item_ty, &format!("{what}[{i}]"), refs) {
                    Some(e) => out.push(e),
                    None => ok = false,
                }
            }
            ok.then_some(Expr::List(out))
        }
        NodeKind::Map(entries) => {
            let item_ty = match ty {
                ValueType::Map(t) => t.as_ref(),
                ValueType::Any => &ValueType::Any,
                _ => {
                    mismatch(p, node, what, &ty.describe());
                    return None;
                }
            };
            let mut out = BTreeMap::new();
            let mut ok = true;
            for (k, v) in entries {
                match value(p, v, item_ty, &format!("{what}.{}", k.text), refs) {
                    Some(e) => {
                        out.insert(k.text.clone(), e);
                    }
                    None => ok = false,
                }
            }
            ok.then_some(Expr::Map(out))
        }
        NodeKind::Null | NodeKind::Scalar(..) => {
            let Some(s) = node.as_str() else {
                // Null, number or boolean.
                let v = match node.value() {
                    Ok(v) => v,
                    Err(e) => {
                        p.push(e);
                        return None;
                    }
                };
                if ty.check(&v).is_err() {
                    mismatch(p, node, what, &ty.describe());
                    return None;
                }
                return Some(Expr::Literal(v));
            };
            string(p, node, s, ty, what, refs)
        }
    }
}

fn string(p: &mut Problems, node: &Node, s: &str, ty: &ValueType, what: &str, refs: &Refs<'_, '_>) -> Option<Expr> {
    let pieces = match interp::parse(s) {
        Ok(pieces) => pieces,
        Err(e) => {
            p.error_hint(node.location_at(e.offset), e.message, e.hint);
            return None;
        }
    };
    let mut ok = true;
    let mut whole_ref_type = None;
    for piece in &pieces {
        if let Piece::Ref { reference, offset } = piece {
            match refs.check(p, reference, node.location_at(*offset)) {
                Ok(Some(t)) => whole_ref_type = Some((t, *offset)),
                Ok(None) => {}
                Err(()) => ok = false,
            }
        }
    }
    if !ok {
        return None;
    }
    let expr = interp::to_expr(&pieces, refs.cx.name, refs.cx.region);
    match &expr {
        Expr::Ref(r) => {
            if let Some((actual, offset)) = whole_ref_type {
                if !compatible(ty, &actual) {
                    p.error_hint(
                        node.location_at(offset),
                        format!("`{what}`: expected {}, but `{r}` is {}", ty.describe(), actual.describe()),
                        (*ty == ValueType::String)
                            .then(|| "put it inside a longer string to convert it to text".to_string()),
                    );
                    return None;
                }
            }
        }
        Expr::Literal(_) | Expr::Interpolate(_) => {
            if !matches!(ty, ValueType::String | ValueType::Any) {
                mismatch(p, node, what, &ty.describe());
                return None;
            }
        }
        Expr::List(_) | Expr::Map(_) => {}
    }
    Some(expr)
}

/// Reports a dependency cycle at the first resource in it. Runs on a copy of the graph with
/// only the edges that point at declared resources, so cycles are found beside other errors.
fn check_cycles(p: &mut Problems, specs: &[ResourceSpec], declared: &HashMap<&str, Declared<'_>>) {
    let mut seen = BTreeSet::new();
    let compiled: HashSet<&str> = specs.iter().map(|s| s.address.as_str()).collect();
    let skeleton: Vec<ResourceSpec> = specs
        .iter()
        .filter(|s| seen.insert(s.address.clone()))
        .map(|s| ResourceSpec {
            address: s.address.clone(),
            type_name: String::new(),
            properties: BTreeMap::new(),
            depends_on: s
                .dependencies()
                .into_iter()
                .filter(|d| compiled.contains(d.as_str()))
                .collect(),
            lifecycle: Lifecycle::default(),
        })
        .collect();
    if let Err(GraphError::Cycle { path }) = Desired::new("", "", BTreeMap::new(), skeleton, BTreeMap::new()) {
        let at = path.first().and_then(|a| declared.get(a.as_str())).map(|d| d.at).unwrap_or(Location::new(1, 1));
        p.error_hint(
            at,
            format!("dependency cycle: {}", path.join(" → ")),
            Some("a resource cannot depend on itself through references or `depends_on`; remove one of these links".into()),
        );
    }
}
