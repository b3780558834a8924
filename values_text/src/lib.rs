//! The YAML text of Helm values, in the one layout hdh writes them: block mappings one key per
//! line (so a plan shows a change as the lines that changed), every string double-quoted, lists
//! of scalars in flow style, lists of maps in block style. The blueprint renders the values in it
//! and the helm provider re-renders drifted live values in it, so both produce the same lines.
//!
//! serde-saphyr emits the text; this module only chooses the layout. Every string is
//! double-quoted, never left plain, because the text is a template: `${…}` references inside
//! strings are filled in after rendering (ids and ARNs known only after apply), so what a string
//! finally holds is unknown here, and a double-quoted scalar is a string to every reader, YAML
//! 1.1 (helm's) and 1.2 alike. Keys are left plain unless a reader could take them for something
//! else (`on`, `yes`, `1e3`, `*x`…), which the library decides with YAML 1.1 in mind.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as J;
use serde_saphyr::{DoubleQuoted, FlowSeq};

/// `values` as YAML text in hdh's layout; `null` is no values (empty text).
pub fn to_text(values: &J) -> String {
    if values.is_null() {
        return String::new();
    }
    let options = serde_saphyr::ser_options! { compact_list_indent: false };
    // The serializer fails only for options it rejects, a tag or a single-quoted scalar that
    // cannot hold a character, or a failing writer: none of them can occur for a JSON value
    // written into a String with these options.
    serde_saphyr::to_string_with_options(&Layout(values), options)
        .expect("every JSON value has a YAML form in this layout")
}

/// A JSON value serialised in hdh's layout.
struct Layout<'a>(&'a J);

/// The items of a list, each in hdh's layout.
struct Items<'a>(&'a [J]);

impl Serialize for Layout<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            J::String(text) => DoubleQuoted(text.as_str()).serialize(s),
            J::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                FlowSeq(Items(items)).serialize(s)
            }
            J::Array(items) => Items(items).serialize(s),
            J::Object(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, &Layout(value))?;
                }
                out.end()
            }
            scalar => scalar.serialize(s),
        }
    }
}

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            out.serialize_element(&Layout(item))?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_are_block_style_strings_double_quoted_and_scalar_lists_flow() {
        let v = json!({"a": {"b": "x", "c": [1, 2], "d": [{"e": 1, "f": ["g"]}], "yes": true}});
        assert_eq!(
            to_text(&v),
            "a:\n  b: \"x\"\n  c: [1, 2]\n  d:\n    - e: 1\n      f: [\"g\"]\n  \"yes\": true\n"
        );
    }

    #[test]
    fn no_values_is_empty_text() {
        assert_eq!(to_text(&J::Null), "");
    }
}
