//! Turns `resources:` and `outputs:` into the engine's resource specs and output expressions,
//! checking them against the resource types the providers declare: unknown types and
//! properties, wrong value types, computed attributes set by hand, missing required properties,
//! references and `depends_on` to things that do not exist, and dependency cycles. Optional
//! properties left out get their declared default as a literal, so the planner sees it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use hdh_engine::{
    AttributeSpec, Cycle, Desired, Expr, GraphError, Lifecycle, Presence, Providers, Reference,
    ResourceSpec, ResourceType, ValueType,
};

use crate::diag::{Location, Problems};
use crate::interp::{self, Piece};
use crate::shape::{self, check_keys, get, get_entry, mismatch};
use crate::suggest;
use crate::yaml::{KeyNode, Node, NodeKind};

// The allowed keys are declared in `keys.rs`, which `hdh schema` is generated from too.
use crate::keys::{names, LIFECYCLE, RESOURCE};

pub(crate) struct Context<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub types: &'a Providers,
    /// The `daskhub:` blueprint's resources (address, type), referable from `resources:` and
    /// `outputs:`.
    pub blueprint: &'a [(String, String)],
}

pub(crate) struct Compiled {
    pub resources: Vec<ResourceSpec>,
    pub outputs: BTreeMap<String, Expr>,
    /// Where each resource is declared (its name), for errors found later (cycles).
    pub locations: HashMap<String, Location>,
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
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_name(p: &mut Problems, k: &KeyNode, kind: &str) {
    if valid_resource_name(&k.text) {
        return;
    }
    let fixed: String = k
        .text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '-' || c == '.' || c == ' ' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let hint = valid_resource_name(&fixed).then(|| format!("did you mean `{fixed}`?"));
    let why = if k.text.contains('.') {
        "names cannot contain dots".to_string()
    } else {
        "expected a lowercase letter followed by lowercase letters, digits or `_`".to_string()
    };
    p.error_hint(
        k.mark,
        format!("invalid {kind} name `{}`: {why}", k.text),
        hint,
    );
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
    for (address, ty) in cx.blueprint {
        let at = Location::new(1, 1);
        declared.insert(
            address,
            Declared {
                at,
                ty: cx.types.resource_type(ty),
            },
        );
    }
    for (k, v) in entries {
        let ty = v
            .get("type")
            .and_then(Node::as_str)
            .and_then(|t| cx.types.resource_type(t));
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
            let r = Refs {
                declared: &declared,
                this: None,
                cx,
            };
            if let Some(e) = value(p, v, &ValueType::Any, &format!("outputs.{}", k.text), &r) {
                outs.insert(k.text.clone(), e);
            }
        }
    }

    let locations = declared
        .iter()
        .map(|(k, d)| (k.to_string(), d.at))
        .collect();
    Compiled {
        resources: specs,
        outputs: outs,
        locations,
    }
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
    check_keys(
        p,
        entries,
        &names(RESOURCE),
        &format!("in resource `{name}`"),
    );

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
                p.error_hint(
                    t.mark,
                    format!("unknown resource type `{s}`"),
                    Some(known_types_hint(cx.types, Some(s))),
                );
            }
            found
        }),
    };

    let refs = Refs {
        declared,
        this: Some(name),
        cx,
    };
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
        let stack = crate::rules::props::Stack {
            name: cx.name,
            region: cx.region,
        };
        crate::rules::props::check_properties(p, name, &t.name, prop_entries, &stack);
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
        format!(
            "{} types are known; `hdh` lists them in its documentation",
            names.len()
        )
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
        let written_non_null = written
            .iter()
            .any(|(wk, wv)| wk.text == a.name && !wv.is_null());
        if properties.contains_key(&a.name) || written_non_null {
            continue;
        }
        match &a.presence {
            Presence::Optional { default: Some(v) } => {
                properties.insert(a.name.clone(), Expr::Literal(v.clone()));
            }
            Presence::Required => {
                let null = written
                    .iter()
                    .find(|(wk, wv)| wk.text == a.name && wv.is_null());
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

fn depends_on(
    p: &mut Problems,
    node: &Node,
    name: &str,
    declared: &HashMap<&str, Declared<'_>>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in shape::seq(p, node, "depends_on")
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let Some(dep) = shape::string(p, item, &format!("depends_on[{i}]")) else {
            continue;
        };
        if dep == name {
            p.error(
                item.mark,
                format!("resource `{name}` cannot depend on itself"),
            );
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
    check_keys(
        p,
        entries,
        &names(LIFECYCLE),
        &format!("in `lifecycle` of `{name}`"),
    );
    let flag = |p: &mut Problems, key: &str| {
        get(entries, key)
            .and_then(|n| shape::boolean(p, n, &format!("lifecycle.{key}")))
            .unwrap_or(false)
    };
    l.retain = flag(p, "retain");
    l.protect = flag(p, "protect");
    l.create_before_destroy = flag(p, "create_before_destroy");
    if let Some(n) = get(entries, "ignore_changes") {
        for (i, item) in shape::seq(p, n, "lifecycle.ignore_changes")
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(attr) = shape::string(p, item, &format!("lifecycle.ignore_changes[{i}]"))
            else {
                continue;
            };
            if let Some(t) = ty {
                if !t.attribute(attr).is_some_and(AttributeSpec::is_input) {
                    let inputs: Vec<&str> = t.inputs().map(|a| a.name.as_str()).collect();
                    let what = if t.attribute(attr).is_some() {
                        "a computed attribute"
                    } else {
                        "not an attribute"
                    };
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
    fn check(
        &self,
        p: &mut Problems,
        r: &Reference,
        at: Location,
    ) -> Result<Option<ValueType>, ()> {
        if Some(r.address.as_str()) == self.this {
            p.error(
                at,
                format!("resource `{}` cannot reference itself (`{r}`)", r.address),
            );
            return Err(());
        }
        let Some(d) = self.declared.get(r.address.as_str()) else {
            p.error_hint(
                at,
                format!(
                    "`{r}` refers to `{}`, which is not a declared resource",
                    r.address
                ),
                undeclared_hint(&r.address, self.declared),
            );
            return Err(());
        };
        let Some(t) = d.ty else {
            return Ok(None);
        };
        if t.readable(&r.attribute) {
            // `id` is readable on every type and is a string.
            return Ok(Some(
                t.attribute(&r.attribute)
                    .map_or(ValueType::String, |a| a.ty.clone()),
            ));
        }
        let mut names: Vec<&str> = vec!["id"];
        names.extend(t.attributes.iter().map(|a| a.name.as_str()));
        p.error_hint(
            at,
            format!(
                "`{r}`: {} (resource `{}`) has no attribute `{}`",
                t.name, r.address, r.attribute
            ),
            suggest::hint(&r.attribute, &names, &format!("attributes of {}", t.name)),
        );
        Err(())
    }
}

/// Whether a value of type `actual` may be used where `expected` is wanted.
fn compatible(expected: &ValueType, actual: &ValueType) -> bool {
    match (expected, actual) {
        (ValueType::Any, _) | (_, ValueType::Any) => true,
        (ValueType::Number, ValueType::Integer) => true,
        (ValueType::List(e), ValueType::List(a)) | (ValueType::Map(e), ValueType::Map(a)) => {
            compatible(e, a)
        }
        (e, a) => e == a,
    }
}

/// Compiles one value against the type it must have; reports mismatches and bad references.
fn value(
    p: &mut Problems,
    node: &Node,
    ty: &ValueType,
    what: &str,
    refs: &Refs<'_, '_>,
) -> Option<Expr> {
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

fn string(
    p: &mut Problems,
    node: &Node,
    s: &str,
    ty: &ValueType,
    what: &str,
    refs: &Refs<'_, '_>,
) -> Option<Expr> {
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
                        format!(
                            "`{what}`: expected {}, but `{r}` is {}",
                            ty.describe(),
                            actual.describe()
                        ),
                        (*ty == ValueType::String).then(|| {
                            "put it inside a longer string to convert it to text".to_string()
                        }),
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

/// The checks `resource` makes on a user-written resource, applied to specs built by code (the
/// `daskhub:` blueprint): only its type's input properties, every required one present,
/// literals of the declared type, references to declared resources' readable attributes of a
/// compatible type. A failure is a bug in hdh, reported at `at` (where the section starts) so
/// that a misspelt blueprint property can never silently take its default.
pub(crate) fn check_built(
    p: &mut Problems,
    at: Location,
    specs: &[ResourceSpec],
    cx: &Context<'_>,
) {
    let declared: HashMap<&str, Declared<'_>> = specs
        .iter()
        .map(|s| {
            let ty = cx.types.resource_type(&s.type_name);
            (s.address.as_str(), Declared { at, ty })
        })
        .collect();
    let bug = |p: &mut Problems, address: &str, what: String| {
        p.error_hint(
            at,
            format!("hdh bug: the blueprint resource `{address}` {what}"),
            Some("please report it; nothing was changed".into()),
        );
    };
    for spec in specs {
        // A type no provider registers is refused by the planner; providers/tests/blueprint.rs
        // checks that every type the blueprint uses is registered.
        let Some(t) = cx.types.resource_type(&spec.type_name) else {
            continue;
        };
        let refs = Refs {
            declared: &declared,
            this: Some(&spec.address),
            cx,
        };
        for (name, e) in &spec.properties {
            match t.attribute(name) {
                None => bug(
                    p,
                    &spec.address,
                    format!("sets unknown property `{name}` of {}", t.name),
                ),
                Some(a) if !a.is_input() => bug(
                    p,
                    &spec.address,
                    format!("sets `{name}`, which {} computes", t.name),
                ),
                Some(a) => {
                    if let Err(why) = built_value(p, at, e, &a.ty, &refs) {
                        bug(p, &spec.address, format!("`{name}`: {why}"));
                    }
                }
            }
        }
        for a in &t.attributes {
            if matches!(a.presence, Presence::Required) && !spec.properties.contains_key(&a.name) {
                bug(
                    p,
                    &spec.address,
                    format!("lacks required property `{}` of {}", a.name, t.name),
                );
            }
        }
        for d in &spec.depends_on {
            if !declared.contains_key(d.as_str()) {
                bug(
                    p,
                    &spec.address,
                    format!("depends on `{d}`, which it does not build"),
                );
            }
        }
    }
}

/// One built value against its declared type (see `check_built`).
fn built_value(
    p: &mut Problems,
    at: Location,
    e: &Expr,
    ty: &ValueType,
    refs: &Refs<'_, '_>,
) -> Result<(), String> {
    let refs_ok = |p: &mut Problems, r: &Reference| {
        refs.check(p, r, at)
            .map_err(|()| format!("refers to `{r}`, which is not readable"))
    };
    match e {
        Expr::Literal(v) => ty.check(v).map_err(|(path, m)| {
            if path.is_empty() {
                m
            } else {
                format!("at `{}`: {m}", path.join("."))
            }
        }),
        Expr::Ref(r) => match refs_ok(p, r)? {
            Some(actual) if !compatible(ty, &actual) => Err(format!(
                "expected {}, but `{r}` is {}",
                ty.describe(),
                actual.describe()
            )),
            _ => Ok(()),
        },
        Expr::Interpolate(parts) => {
            for part in parts {
                if let hdh_engine::Part::Ref(r) = part {
                    refs_ok(p, r)?;
                }
            }
            if compatible(ty, &ValueType::String) {
                Ok(())
            } else {
                Err(format!("expected {}, found a string", ty.describe()))
            }
        }
        Expr::List(items) => {
            let item = match ty {
                ValueType::List(t) => t.as_ref(),
                ValueType::Any => &ValueType::Any,
                _ => return Err(format!("expected {}, found a list", ty.describe())),
            };
            items
                .iter()
                .try_for_each(|i| built_value(p, at, i, item, refs))
        }
        Expr::Map(entries) => {
            let item = match ty {
                ValueType::Map(t) => t.as_ref(),
                ValueType::Any => &ValueType::Any,
                _ => return Err(format!("expected {}, found a map", ty.describe())),
            };
            entries
                .values()
                .try_for_each(|v| built_value(p, at, v, item, refs))
        }
    }
}

/// The error for a dependency cycle, located at the first resource in it.
pub(crate) fn report_cycles(
    p: &mut Problems,
    cycles: &[Cycle],
    locations: &HashMap<String, Location>,
) {
    for c in cycles {
        report_cycle(p, c, locations);
    }
}

fn report_cycle(p: &mut Problems, cycle: &Cycle, locations: &HashMap<String, Location>) {
    let at = cycle
        .path
        .first()
        .and_then(|a| locations.get(a))
        .copied()
        .unwrap_or(Location::new(1, 1));
    p.error_hint(
        at,
        format!("dependency cycle: {}", cycle.describe()),
        Some(
            "a resource cannot depend on itself through references or `depends_on`; remove one \
             of these links"
                .into(),
        ),
    );
}

/// Looks for a dependency cycle when other errors keep the real graph from being built: runs on
/// a copy of the graph with only the edges that point at compiled resources.
pub(crate) fn check_cycles(p: &mut Problems, compiled: &Compiled) {
    let specs = &compiled.resources;
    let mut seen = BTreeSet::new();
    let present: HashSet<&str> = specs.iter().map(|s| s.address.as_str()).collect();
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
                .filter(|d| present.contains(d.as_str()))
                .collect(),
            lifecycle: Lifecycle::default(),
        })
        .collect();
    if let Err(GraphError::Cycle { cycles }) =
        Desired::new("", "", BTreeMap::new(), skeleton, BTreeMap::new())
    {
        report_cycles(p, &cycles, &compiled.locations);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hdh_engine::Value;

    use super::*;
    use crate::test_types::providers;

    const HEAD: &str = "version: 1\nname: demo\nregion: us-east-1\n";

    #[test]
    fn built_specs_get_the_checks_of_written_ones() {
        let types = providers();
        let cx = Context {
            name: "demo",
            region: "us-east-1",
            types: &types,
            blueprint: &[],
        };
        let spec = |address: &str, ty: &str, props: Vec<(&str, Expr)>| ResourceSpec {
            address: address.into(),
            type_name: ty.into(),
            properties: props.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            depends_on: vec![],
            lifecycle: Lifecycle::default(),
        };
        let reference = |a: &str, at: &str| {
            Expr::Ref(Reference {
                address: a.into(),
                attribute: at.into(),
            })
        };
        let specs = vec![
            spec(
                "t.token",
                "random_secret",
                vec![("bytes", Expr::Literal(Value::int(32)))],
            ),
            spec(
                "t.file",
                "local_file",
                vec![
                    ("path", Expr::Literal(Value::str("x"))),
                    ("content", reference("t.token", "value")),
                ],
            ),
        ];
        let mut p = Problems::default();
        check_built(&mut p, Location::new(4, 1), &specs, &cx);
        assert!(p.is_empty(), "{p:?}");

        // A misspelt property, a computed one, a wrong literal, a missing required one and a
        // reference to an attribute that does not exist: each is a located error, not a default.
        let bad = vec![
            spec(
                "t.token",
                "random_secret",
                vec![("byte", Expr::Literal(Value::int(32)))],
            ),
            spec(
                "t.file",
                "local_file",
                vec![
                    ("sha256", Expr::Literal(Value::str("x"))),
                    ("mode", Expr::Literal(Value::int(644))),
                    ("content", reference("t.token", "valu")),
                ],
            ),
        ];
        let mut p = Problems::default();
        check_built(&mut p, Location::new(4, 1), &bad, &cx);
        let d = p.into_diagnostics("hdh.yaml");
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        let all = text.join("\n");
        for want in [
            "`t.token` sets unknown property `byte` of random_secret",
            "`t.file` sets `sha256`, which local_file computes",
            "`t.file` `mode`: expected a string, found",
            "`t.file` lacks required property `path` of local_file",
            "has no attribute `valu`",
        ] {
            assert!(all.contains(want), "{want} not in:\n{all}");
        }
        assert!(text.iter().all(|t| t.starts_with("hdh.yaml:4:1:")), "{all}");
    }

    fn errors(body: &str) -> Vec<String> {
        match crate::parse_str(
            &format!("{HEAD}{body}"),
            "t.yaml",
            Path::new("."),
            &providers(),
        ) {
            Ok(_) => vec![],
            Err(d) => d
                .iter()
                .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
                .collect(),
        }
    }

    fn compiled(body: &str) -> crate::Config {
        crate::parse_str(
            &format!("{HEAD}{body}"),
            "t.yaml",
            Path::new("."),
            &providers(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_are_filled_in_as_literals() {
        let c = compiled(
            "resources:\n  t:\n    type: random_secret\n    properties:\n      encoding: base64\n",
        );
        let t = c.desired.get("t").unwrap();
        assert_eq!(t.properties["bytes"], Expr::Literal(Value::int(32)));
        assert_eq!(
            t.properties["encoding"],
            Expr::Literal(Value::str("base64"))
        );
        assert!(!t.properties.contains_key("value"));
    }

    #[test]
    fn null_means_unset() {
        let c =
            compiled("resources:\n  t:\n    type: random_secret\n    properties: { bytes: ~ }\n");
        assert_eq!(
            c.desired.get("t").unwrap().properties["bytes"],
            Expr::Literal(Value::int(32))
        );
        let e = errors(
            "resources:\n  f:\n    type: local_file\n    properties: { path: a, content: null }\n",
        );
        assert_eq!(e, ["7:37 `content`: expected a string, found null"]);
    }

    #[test]
    fn every_error_is_reported_sorted_by_location() {
        let e = errors(
            "resources:\n  b:\n    type: local_file\n    properties: { path: 1, content: \"${a.nope}\" }\n  \
             a:\n    type: random_secret\n    lifecycle: { protect: 1 }\n    depends_on: [zz]\n",
        );
        assert_eq!(
            e,
            [
                "7:25 `path`: expected a string, found an integer",
                "7:38 `${a.nope}`: random_secret (resource `a`) has no attribute `nope`",
                "10:27 `lifecycle.protect`: expected a boolean (`true` or `false`), found an integer",
                "11:18 `depends_on` names `zz`, which is not a declared resource",
            ]
        );
    }

    #[test]
    fn a_cycle_is_found_beside_other_errors() {
        let e = errors(
            "resources:\n  a:\n    type: random_secret\n    depends_on: [c]\n  b:\n    type: random_secret\n    \
             depends_on: [a]\n    properties: { bytes: x }\n  c:\n    type: local_file\n    \
             properties: { path: p, content: \"${b.value}\" }\n",
        );
        assert_eq!(
            e,
            [
                "5:3 dependency cycle: a → c → b → a",
                "11:26 `bytes`: expected an integer, found a string"
            ]
        );
    }

    #[test]
    fn self_references_and_self_dependencies_are_errors() {
        let e = errors(
            "resources:\n  f:\n    type: local_file\n    depends_on: [f]\n    properties: { path: p, content: \"${f.sha256}\" }\n",
        );
        assert_eq!(
            e,
            [
                "7:18 resource `f` cannot depend on itself",
                "8:38 resource `f` cannot reference itself (`${f.sha256}`)",
            ]
        );
    }

    #[test]
    fn references_to_a_resource_of_unknown_type_do_not_cascade() {
        let e = errors(
            "resources:\n  x:\n    type: nope\n  f:\n    type: local_file\n    properties: { path: p, content: \"${x.whatever}\" }\n",
        );
        assert_eq!(e, ["6:11 unknown resource type `nope`"]);
    }

    #[test]
    fn whole_references_keep_types_and_are_type_checked() {
        let c = compiled(
            "resources:\n  a:\n    type: random_secret\n  b:\n    type: random_secret\n    properties: { bytes: \"${a.bytes}\" }\n",
        );
        let b = c.desired.get("b").unwrap();
        assert_eq!(
            b.properties["bytes"],
            Expr::Ref(Reference {
                address: "a".into(),
                attribute: "bytes".into()
            })
        );
        // An integer into a string property must be written inside a string.
        let e = errors(
            "resources:\n  a:\n    type: random_secret\n  f:\n    type: local_file\n    properties: { path: p, content: \"${a.bytes}\" }\n",
        );
        assert_eq!(
            e,
            ["9:38 `content`: expected a string, but `${a.bytes}` is an integer"]
        );
        // Interpolated text is a string.
        let e = errors(
            "resources:\n  a:\n    type: random_secret\n  b:\n    type: random_secret\n    properties: { bytes: \"${a.bytes}0\" }\n",
        );
        assert_eq!(e, ["9:26 `bytes`: expected an integer, found a string"]);
    }

    #[test]
    fn id_is_readable_on_every_type() {
        let c = compiled(
            "resources:\n  a:\n    type: random_secret\n  f:\n    type: local_file\n    properties: { path: \"${a.id}.txt\", content: x }\n",
        );
        assert_eq!(c.desired.get("f").unwrap().dependencies().len(), 1);
    }

    #[test]
    fn ignore_changes_must_name_inputs() {
        let e = errors(
            "resources:\n  f:\n    type: local_file\n    properties: { path: p, content: c }\n    lifecycle: { ignore_changes: [contnet] }\n",
        );
        assert_eq!(
            e,
            ["8:35 `ignore_changes` names `contnet`, which is not an attribute of local_file: expected one of its inputs"]
        );
    }

    #[test]
    fn resource_and_output_names_are_checked() {
        let e = errors("resources:\n  my.file:\n    type: random_secret\noutputs:\n  Out: x\n");
        assert_eq!(
            e,
            [
                "5:3 invalid resource name `my.file`: names cannot contain dots",
                "8:3 invalid output name `Out`: expected a lowercase letter followed by lowercase letters, digits or `_`",
            ]
        );
    }

    #[test]
    fn nested_values_compile_to_lists_and_maps() {
        let c = compiled(
            "resources:\n  a:\n    type: random_secret\noutputs:\n  o: { l: [1, \"${a.value}\"], m: { k: \"${region}\" } }\n",
        );
        let Expr::Map(m) = &c.desired.outputs["o"] else {
            panic!()
        };
        assert!(matches!(&m["l"], Expr::List(l) if l.len() == 2 && matches!(l[1], Expr::Ref(_))));
        assert!(
            matches!(&m["m"], Expr::Map(mm) if mm["k"] == Expr::Literal(Value::str("us-east-1")))
        );
    }

    #[test]
    fn wrong_shapes_are_reported() {
        assert_eq!(
            errors("resources: [a]\n"),
            ["4:12 `resources`: expected a map, found a list"]
        );
        assert_eq!(
            errors("resources:\n  a: random_secret\n"),
            ["5:6 `resources.a`: expected a map, found a string"]
        );
        assert_eq!(
            errors("resources:\n  a:\n    type: random_secret\n    properties: [1]\n"),
            ["7:17 `properties`: expected a map, found a list"]
        );
        assert_eq!(
            errors("resources:\n  a:\n    type: random_secret\n    depends_on: b\n"),
            ["7:17 `depends_on`: expected a list, found a string"]
        );
        assert_eq!(
            errors("resources:\n  a:\n    type: random_secret\n    tpye: x\n"),
            ["7:5 unknown key `tpye` in resource `a`"]
        );
    }

    #[test]
    fn an_empty_resources_map_is_fine() {
        assert_eq!(compiled("resources:\n").desired.resources().len(), 0);
        assert_eq!(compiled("").desired.resources().len(), 0);
    }
}
