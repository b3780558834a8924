//! The state file format: round trips keep everything (sensitive marks included), output is
//! stable, and every way a file can be unusable is reported clearly.

use hdh_engine::state::{Intent, IntentAction, Retained};
use hdh_engine::{Lifecycle, ResourceState, State, StoreError, Value, ValueMap};
use hdh_state::{decode, encode, FORMAT_VERSION};

fn sample_state() -> State {
    let mut state = State::new();
    state.serial = 7;

    let mut secret = ValueMap::new();
    secret.insert("bytes".into(), Value::int(32));
    secret.insert("encoding".into(), Value::str("hex"));
    secret.insert("value".into(), Value::str("deadbeef").sensitive());
    state.resources.insert(
        "api_token".into(),
        ResourceState {
            type_name: "random_secret".into(),
            id: "0011223344556677".into(),
            attributes: secret,
            dependencies: vec![],
            lifecycle: Lifecycle::default(),
        },
    );

    let mut file = ValueMap::new();
    file.insert("path".into(), Value::str("out/config.txt"));
    let nested = Value::Map(
        [
            ("plain".to_string(), Value::str("x")),
            (
                "hidden".to_string(),
                Value::List(vec![Value::int(1), Value::str("pw").sensitive()]),
            ),
        ]
        .into_iter()
        .collect(),
    );
    file.insert("nested".into(), nested);
    file.insert("unknown_becomes_null".into(), Value::Null);
    state.resources.insert(
        "config".into(),
        ResourceState {
            type_name: "local_file".into(),
            id: "/tmp/out/config.txt".into(),
            attributes: file.clone(),
            dependencies: vec!["api_token".into()],
            lifecycle: Lifecycle {
                create_before_destroy: true,
                ignore_changes: vec!["mode".into()],
                ..Lifecycle::default()
            },
        },
    );

    let mut props = ValueMap::new();
    props.insert("content".into(), Value::str("token=deadbeef").sensitive());
    state.intents.push(Intent {
        address: "other".into(),
        type_name: "local_file".into(),
        action: IntentAction::Create,
        token: "tok-1".into(),
        properties: props,
        dependencies: vec!["api_token".into()],
        lifecycle: Lifecycle::default(),
        started_at: "2026-01-02T03:04:05Z".into(),
    });

    let mut efs = ValueMap::new();
    efs.insert("kms_key".into(), Value::str("k").sensitive());
    state.retained.insert(
        "efs".into(),
        Retained {
            resource: ResourceState {
                type_name: "aws_efs_file_system".into(),
                id: "fs-123".into(),
                attributes: efs,
                dependencies: vec![],
                lifecycle: Lifecycle {
                    retain: true,
                    ..Lifecycle::default()
                },
            },
            retained_at: "2026-01-02T03:04:06Z".into(),
        },
    );

    let mut old = state.resources["config"].clone();
    old.id = "/tmp/out/old-config.txt".into();
    state.deposed.insert("config".into(), old);

    state
        .outputs
        .insert("url".into(), Value::str("https://hub"));
    state
        .outputs
        .insert("admin_password".into(), Value::str("hunter2").sensitive());
    state
}

fn reason(err: StoreError) -> String {
    match err {
        StoreError::Invalid { location, reason } => {
            assert_eq!(location, "test.json");
            reason
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn round_trip_keeps_sensitive_marks_intents_retained_and_outputs() {
    let state = sample_state();
    let bytes = encode(&state);
    let back = decode(&bytes, "test.json").unwrap();
    assert_eq!(back, state);
    // Stable: the same state encodes to the same bytes, also after a round trip.
    assert_eq!(encode(&back), bytes);
}

#[test]
fn encoding_is_pretty_ordered_and_ends_with_a_newline() {
    let bytes = encode(&sample_state());
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    assert!(text.starts_with("{\n  \"format_version\": 1,\n  \"lineage\": "));
    let keys = [
        "\"format_version\"",
        "\"lineage\"",
        "\"serial\"",
        "\"hdh_version\"",
        "\"resources\"",
        "\"intents\"",
        "\"retained\"",
        "\"deposed\"",
        "\"outputs\"",
        "\"outputs_sensitive_paths\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    // Sorted addresses.
    assert!(text.find("\"api_token\"").unwrap() < text.find("\"config\"").unwrap());
    // Secrets live in state in the clear, with their paths beside them.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["resources"]["api_token"]["attributes"]["value"],
        "deadbeef"
    );
    assert_eq!(
        json["resources"]["api_token"]["sensitive_paths"],
        serde_json::json!([["value"]])
    );
    assert_eq!(
        json["resources"]["config"]["sensitive_paths"],
        serde_json::json!([["nested", "hidden", "1"]])
    );
    assert_eq!(
        json["outputs_sensitive_paths"],
        serde_json::json!([["admin_password"]])
    );
    assert_eq!(json["intents"][0]["action"], "create");
    assert_eq!(
        json["retained"]["efs"]["retained_at"],
        "2026-01-02T03:04:06Z"
    );
    assert_eq!(json["deposed"]["config"]["id"], "/tmp/out/old-config.txt");
    assert_eq!(json["hdh_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn unknown_values_are_stored_as_null() {
    let mut state = State::new();
    state.outputs.insert("later".into(), Value::Unknown);
    let back = decode(&encode(&state), "test.json").unwrap();
    assert_eq!(back.outputs["later"], Value::Null);
}

#[test]
fn not_json_is_reported_with_line_and_column() {
    let r = reason(decode(b"{\n  \"format_version\": 1,\n  oops\n}", "test.json").unwrap_err());
    assert!(r.starts_with("not valid JSON"), "{r}");
    assert!(r.contains("line 3 column 3"), "{r}");
    let r = reason(decode(b"", "test.json").unwrap_err());
    assert!(r.starts_with("not valid JSON"), "{r}");
}

#[test]
fn newer_format_version_is_refused_by_name() {
    let r = reason(decode(br#"{"format_version": 2, "whatever": true}"#, "test.json").unwrap_err());
    assert_eq!(
        r,
        format!("written by a newer hdh: format version 2, this hdh reads {FORMAT_VERSION}")
    );
    let r = reason(decode(br#"{"format_version": "1"}"#, "test.json").unwrap_err());
    assert!(r.contains("unknown format version \"1\""), "{r}");
    let r = reason(decode(br#"{"lineage": "x"}"#, "test.json").unwrap_err());
    assert_eq!(r, "missing field `format_version`");
    let r = reason(decode(b"[1, 2]", "test.json").unwrap_err());
    assert!(r.contains("top level"), "{r}");
}

#[test]
fn missing_and_unknown_fields_are_refused() {
    let mut json: serde_json::Value = serde_json::from_slice(&encode(&sample_state())).unwrap();
    json.as_object_mut().unwrap().remove("lineage");
    let r = reason(decode(json.to_string().as_bytes(), "test.json").unwrap_err());
    assert!(r.contains("missing field `lineage`"), "{r}");

    let mut json: serde_json::Value = serde_json::from_slice(&encode(&sample_state())).unwrap();
    json["resources"]["config"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    let r = reason(decode(json.to_string().as_bytes(), "test.json").unwrap_err());
    assert!(r.contains("missing field `id`"), "{r}");

    let mut json: serde_json::Value = serde_json::from_slice(&encode(&sample_state())).unwrap();
    json["surprise"] = serde_json::json!(1);
    let r = reason(decode(json.to_string().as_bytes(), "test.json").unwrap_err());
    assert!(r.contains("unknown field `surprise`"), "{r}");

    let mut json: serde_json::Value = serde_json::from_slice(&encode(&sample_state())).unwrap();
    json["resources"]["config"]["sensitive_paths"] = serde_json::json!([[]]);
    let r = reason(decode(json.to_string().as_bytes(), "test.json").unwrap_err());
    assert!(
        r.contains("resource config") && r.contains("empty path"),
        "{r}"
    );

    let mut json: serde_json::Value = serde_json::from_slice(&encode(&sample_state())).unwrap();
    json["lineage"] = serde_json::json!("");
    let r = reason(decode(json.to_string().as_bytes(), "test.json").unwrap_err());
    assert!(r.contains("lineage"), "{r}");
}

/// No content makes decoding panic: every truncation, a byte flip at every position, and
/// numbers out of every range where the format has numbers. Each either decodes or is refused.
#[test]
fn no_damage_to_a_state_file_makes_decoding_panic() {
    let good = encode(&sample_state());
    let mut decoded = 0;
    for at in 0..good.len() {
        let _ = decode(&good[..at], "t");
        for flip in [0x01u8, 0x20, 0x80, 0xff] {
            let mut bytes = good.clone();
            bytes[at] ^= flip;
            decoded += usize::from(decode(&bytes, "t").is_ok());
        }
    }
    assert!(decoded > 0, "some flips (inside strings) still decode");
    let text = String::from_utf8(good).unwrap();
    for huge in [
        "18446744073709551615",
        "18446744073709551616",
        "9007199254740992",
        "-1",
        "1e400",
        "1.5",
        "99999999999999999999999999999999999999999",
    ] {
        for field in ["\"serial\": ", "\"format_version\": "] {
            let start = text.find(field).unwrap() + field.len();
            let end = start + text[start..].find(',').unwrap();
            let damaged = format!("{}{huge}{}", &text[..start], &text[end..]);
            assert!(decode(damaged.as_bytes(), "t").is_err(), "{field}{huge}");
        }
    }
    let max = text.replacen(
        &format!("\"serial\": {}", sample_state().serial),
        "\"serial\": 18446744073709551615",
        1,
    );
    let reason = reason(decode(max.as_bytes(), "test.json").unwrap_err());
    assert!(
        reason.contains("serial 18446744073709551615 is out of range"),
        "{reason}"
    );
}

#[test]
fn the_serial_never_wraps() {
    let mut state = State::new();
    state.serial = hdh_engine::state::MAX_SERIAL - 1;
    state.bump_serial("t").unwrap();
    let err = state.bump_serial("t").unwrap_err().to_string();
    assert!(err.contains("cannot go higher"), "{err}");
    assert_eq!(state.serial, hdh_engine::state::MAX_SERIAL);
    state.serial = u64::MAX;
    assert!(state.bump_serial("t").is_err());
}

/// The whole document of format version 1, pinned: the file is written from the format's own
/// structs, so no rename in the engine can change what version 1 means. A deliberate change of
/// the format must change this file and `FORMAT_VERSION` together.
#[test]
fn format_version_1_is_exactly_the_golden_document() {
    let golden = include_str!("golden/state_v1.json");
    let mut state = sample_state();
    state.lineage = "5fca5040-d70f-4744-a97c-80379ea8b497".into();
    let text = String::from_utf8(encode(&state)).unwrap();
    let text = text.replace(
        &format!("\"hdh_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"hdh_version\": \"0.0.0\"",
    );
    if std::env::var_os("HDH_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/state_v1.json");
        std::fs::write(path, &text).unwrap();
    }
    assert_eq!(text, golden, "the state file's shape changed");
    let back = decode(golden.as_bytes(), "golden").unwrap();
    assert_eq!(back, state);
}
