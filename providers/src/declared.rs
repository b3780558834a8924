//! The resource types' declarations are data, not code: each provider's types (attributes, their
//! presence, defaults, what forces a replacement, typical durations) are written in
//! `providers/types/<provider>.yaml`, as Pulumi keeps a provider's schema in one document, and
//! read here into the engine's [`ResourceType`]s. What a declaration cannot say as data (a
//! version stepped one minor at a time, the part of a node group's scaling that stays the
//! user's) is code, attached by name from the [`Hook`]s the provider passes.
//!
//! Invariants:
//! - A document that names an unknown field, type or hook, declares an attribute twice, or
//!   names a `changes_with` input the type does not have, is refused whole: nothing
//!   half-declared reaches the engine.
//! - Every hook a provider passes is used by its document (a renamed attribute cannot leave
//!   one silently detached).

use std::collections::BTreeSet;
use std::time::Duration;

use hdh_engine::resource_type::{AfterCreate, StepToward};
use hdh_engine::{AttributeSpec, ResourceType, Value, ValueType};
use serde::Deserialize;
use yaml_rust2::{Yaml, YamlLoader};

use crate::yaml_json::json_of;

/// Code a declaration names: `step: NAME` or `after_create: NAME` on an attribute.
#[derive(Clone, Copy)]
pub(crate) enum Hook {
    Step(StepToward),
    AfterCreate(AfterCreate),
}

/// Why a document was refused. It is part of the build, so this is a bug in the document,
/// caught by the tests that construct each provider.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeclarationError {
    #[error("{document}: not YAML: {message}")]
    Syntax { document: String, message: String },
    #[error("{document}: expected a mapping of type names to declarations")]
    NotAMapping { document: String },
    #[error("{document}: {type_name}: {message}")]
    Invalid {
        document: String,
        type_name: String,
        message: String,
    },
    #[error("{document}: hook `{hook}` is passed but no attribute names it")]
    UnusedHook { document: String, hook: String },
}

/// One type as the document writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeDoc {
    description: String,
    #[serde(default)]
    typically: TypicalDoc,
    attributes: Vec<AttributeDoc>,
}

/// Typical durations, in seconds.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TypicalDoc {
    create: Option<u64>,
    update: Option<u64>,
    delete: Option<u64>,
}

/// One attribute as the document writes it: an input unless `computed`; optional unless
/// `required`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeDoc {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    computed: bool,
    default: Option<serde_json::Value>,
    #[serde(default)]
    force_new: bool,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    changes_with: Vec<String>,
    step: Option<String>,
    after_create: Option<String>,
    #[serde(default)]
    description: String,
}

/// [`read`] for a document built into hdh: a mistake there is a bug, found by every test that
/// makes the provider.
///
/// # Panics
/// When [`read`] refuses the document.
pub(crate) fn built_in(document: &str, text: &str, hooks: &[(&str, Hook)]) -> Vec<ResourceType> {
    read(document, text, hooks).unwrap_or_else(|e| panic!("{e}"))
}

/// Every type `text` (the document named `document`) declares, by name.
pub(crate) fn read(
    document: &str,
    text: &str,
    hooks: &[(&str, Hook)],
) -> Result<Vec<ResourceType>, DeclarationError> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| DeclarationError::Syntax {
        document: document.into(),
        message: e.to_string(),
    })?;
    let Some(Yaml::Hash(types)) = docs.into_iter().next() else {
        return Err(DeclarationError::NotAMapping {
            document: document.into(),
        });
    };
    let mut used = BTreeSet::new();
    let mut declared = Vec::with_capacity(types.len());
    for (name, body) in types {
        let Yaml::String(type_name) = name else {
            return Err(DeclarationError::NotAMapping {
                document: document.into(),
            });
        };
        let invalid = |message: String| DeclarationError::Invalid {
            document: document.into(),
            type_name: type_name.clone(),
            message,
        };
        let doc: TypeDoc =
            serde_json::from_value(json_of(&body)).map_err(|e| invalid(e.to_string()))?;
        declared.push(resource_type(&type_name, doc, hooks, &mut used).map_err(invalid)?);
    }
    if let Some((hook, _)) = hooks.iter().find(|(name, _)| !used.contains(*name)) {
        return Err(DeclarationError::UnusedHook {
            document: document.into(),
            hook: (*hook).into(),
        });
    }
    Ok(declared)
}

fn resource_type<'h>(
    type_name: &str,
    doc: TypeDoc,
    hooks: &[(&'h str, Hook)],
    used: &mut BTreeSet<&'h str>,
) -> Result<ResourceType, String> {
    let mut names = BTreeSet::new();
    if let Some(twice) = doc
        .attributes
        .iter()
        .find(|a| !names.insert(a.name.as_str()))
    {
        return Err(format!("attribute `{}` is declared twice", twice.name));
    }
    let mut attributes = Vec::with_capacity(doc.attributes.len());
    for a in &doc.attributes {
        let spec = attribute(a, hooks, used).map_err(|m| format!("attribute `{}`: {m}", a.name))?;
        if let Some(unknown) = a.changes_with.iter().find(|n| !names.contains(n.as_str())) {
            return Err(format!(
                "attribute `{}`: changes_with names `{unknown}`, which the type does not have",
                a.name
            ));
        }
        attributes.push(spec);
    }
    let secs = |s: Option<u64>| s.map(Duration::from_secs);
    let t = &doc.typically;
    Ok(
        ResourceType::new(type_name, &doc.description, attributes).typically(
            secs(t.create),
            secs(t.update),
            secs(t.delete),
        ),
    )
}

fn attribute<'h>(
    a: &AttributeDoc,
    hooks: &[(&'h str, Hook)],
    used: &mut BTreeSet<&'h str>,
) -> Result<AttributeSpec, String> {
    let ty = value_type(&a.ty).ok_or_else(|| format!("unknown type `{}`", a.ty))?;
    let mut spec = match (a.required, a.computed, &a.default) {
        (true, true, _) => return Err("both required and computed".into()),
        (true, false, Some(_)) | (false, true, Some(_)) => {
            return Err("a default on an attribute that is not optional".into())
        }
        (true, false, None) => AttributeSpec::required(&a.name, ty),
        (false, true, None) => AttributeSpec::computed(&a.name, ty),
        (false, false, default) => {
            AttributeSpec::optional(&a.name, ty, default.as_ref().map(Value::from))
        }
    };
    if a.force_new {
        spec = spec.force_new();
    }
    if a.sensitive {
        spec = spec.sensitive();
    }
    if !a.changes_with.is_empty() {
        let inputs: Vec<&str> = a.changes_with.iter().map(String::as_str).collect();
        spec = spec.changes_with(&inputs);
    }
    for (field, named) in [("step", &a.step), ("after_create", &a.after_create)] {
        let Some(named) = named else { continue };
        let Some((name, hook)) = hooks.iter().find(|(n, _)| n == named) else {
            return Err(format!("no hook `{named}`"));
        };
        spec = match (field, hook) {
            ("step", Hook::Step(f)) => spec.stepped(f.0),
            ("after_create", Hook::AfterCreate(f)) => spec.after_create(f.0),
            _ => return Err(format!("hook `{named}` cannot serve as `{field}`")),
        };
        used.insert(name);
    }
    if !a.description.is_empty() {
        spec = spec.describe(&a.description);
    }
    Ok(spec)
}

/// `string`, `integer`, `number`, `bool`, `any`, `list(T)`, `map(T)`.
fn value_type(text: &str) -> Option<ValueType> {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(value_type)
            .map(Box::new)
    };
    Some(match text {
        "string" => ValueType::String,
        "integer" => ValueType::Integer,
        "number" => ValueType::Number,
        "bool" => ValueType::Bool,
        "any" => ValueType::Any,
        _ => {
            if let Some(t) = inner("list(") {
                ValueType::List(t)
            } else {
                ValueType::Map(inner("map(")?)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, hooks: &[(&str, Hook)]) -> String {
        read("test.yaml", text, hooks)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    }

    fn step(_: &Value, _: &Value) -> Option<Value> {
        None
    }

    #[test]
    fn a_declaration_reads_into_the_engines_resource_type() {
        let text = "
t_thing:
  description: A thing.
  typically: {delete: 60}
  attributes:
    - {name: size, type: integer, default: 3, force_new: true}
    - {name: tags, type: map(list(string))}
    - name: version
      type: string
      required: true
      step: next
      description: The version.
    - {name: arn, type: string, computed: true, sensitive: true, changes_with: [version]}
";
        let hooks = [("next", Hook::Step(StepToward(step)))];
        let read = read("test.yaml", text, &hooks).unwrap();
        let want = ResourceType::new(
            "t_thing",
            "A thing.",
            vec![
                AttributeSpec::optional(
                    "size",
                    ValueType::Integer,
                    Some(Value::from(&serde_json::json!(3))),
                )
                .force_new(),
                AttributeSpec::optional(
                    "tags",
                    ValueType::Map(Box::new(ValueType::List(Box::new(ValueType::String)))),
                    None,
                ),
                AttributeSpec::required("version", ValueType::String)
                    .stepped(step)
                    .describe("The version."),
                AttributeSpec::computed("arn", ValueType::String)
                    .sensitive()
                    .changes_with(&["version"]),
            ],
        )
        .typically(None, None, Some(Duration::from_secs(60)));
        assert_eq!(read, vec![want]);
    }

    #[test]
    fn a_mistaken_declaration_is_refused_naming_the_type_and_attribute() {
        let attr = |a: &str| format!("t_thing:\n  description: d\n  attributes:\n    - {a}\n");
        for (text, says) in [
            (
                attr("{name: a, type: strin}"),
                "t_thing: attribute `a`: unknown type `strin`",
            ),
            (
                attr("{name: a, type: string, requird: true}"),
                "unknown field `requird`",
            ),
            (
                attr("{name: a, type: string, required: true, computed: true}"),
                "both required and computed",
            ),
            (
                attr("{name: a, type: string, required: true, default: x}"),
                "not optional",
            ),
            (
                attr("{name: a, type: string, changes_with: [b]}"),
                "changes_with names `b`",
            ),
            (
                attr("{name: a, type: string, step: nope}"),
                "no hook `nope`",
            ),
            (
                attr("{name: a, type: string}\n    - {name: a, type: bool}"),
                "attribute `a` is declared twice",
            ),
            ("- a list".to_string(), "expected a mapping"),
            ("t: [".to_string(), "not YAML"),
        ] {
            let message = refused(&text, &[]);
            assert!(message.contains(says), "{message:?} should say {says:?}");
        }
    }

    #[test]
    fn the_built_in_documents_declare_every_kind_and_attach_both_hooks() {
        use hdh_engine::Provider;
        // Making each provider pairs every declared type with its kind, or panics.
        let aws = crate::AwsProvider::new().resource_types();
        let k8s = crate::K8sProvider::new(crate::K8sSettings::default()).resource_types();
        let local: Vec<ResourceType> = crate::local_providers(".".into())
            .iter()
            .flat_map(|p| p.resource_types())
            .collect();
        assert_eq!((aws.len(), k8s.len(), local.len()), (29, 2, 3));
        let attribute = |ty: &str, name: &str| {
            let ty = aws.iter().find(|t| t.name == ty).unwrap();
            ty.attribute(name).unwrap().clone()
        };
        assert!(attribute("aws_eks_cluster", "version").step.is_some());
        assert!(attribute("aws_eks_node_group", "scaling_config")
            .after_create
            .is_some());
    }

    #[test]
    fn a_hook_no_attribute_names_is_refused() {
        let text = "t_thing:\n  description: d\n  attributes: []\n";
        let message = refused(text, &[("next", Hook::Step(StepToward(step)))]);
        assert!(
            message.contains("hook `next` is passed but no attribute names it"),
            "{message}"
        );
    }
}
