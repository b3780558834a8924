//! `random_secret`: generated once from the OS CSPRNG, kept as state holds it, never updated.

use base64::Engine as _;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, OpContext, Presence, Provider, ProviderError, Value, ValueMap, ValueType,
};
use hdh_providers::RandomSecretProvider;

fn ctx() -> OpContext {
    OpContext::new("test", "local")
}

fn create_req(props: &[(&str, Value)]) -> CreateRequest {
    CreateRequest {
        address: "token".into(),
        type_name: "random_secret".into(),
        properties: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        token: "tok".into(),
    }
}

#[test]
fn declares_its_attributes() {
    let t = RandomSecretProvider::resource_type();
    assert_eq!(t.name, "random_secret");
    let spec = |n: &str| -> &AttributeSpec { t.attribute(n).unwrap() };
    assert_eq!(spec("bytes").ty, ValueType::Integer);
    assert_eq!(
        spec("bytes").presence,
        Presence::Optional {
            default: Some(Value::int(32))
        }
    );
    assert!(spec("bytes").force_new && !spec("bytes").sensitive);
    assert_eq!(spec("encoding").ty, ValueType::String);
    assert_eq!(
        spec("encoding").presence,
        Presence::Optional {
            default: Some(Value::str("hex"))
        }
    );
    assert!(spec("encoding").force_new);
    assert_eq!(spec("value").ty, ValueType::String);
    assert_eq!(spec("value").presence, Presence::Computed);
    assert!(spec("value").sensitive && !spec("value").force_new);
    assert_eq!(t.attributes.len(), 3);
    assert!(t.attributes.iter().all(|a| !a.description.is_empty()));
}

#[tokio::test]
async fn creates_hex_by_default_with_an_unrelated_id() {
    let p = RandomSecretProvider::new();
    let a = p.create(&ctx(), &create_req(&[])).await.unwrap();
    let value = a.attributes["value"].as_str().unwrap().to_string();
    assert_eq!(value.len(), 64);
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a.attributes["bytes"], Value::int(32));
    assert_eq!(a.attributes["encoding"], Value::str("hex"));
    // Providers return unmarked values; the engine marks `value` from the declaration.
    assert!(!a.attributes["value"].is_sensitive());
    assert_eq!(a.id.len(), 16);
    assert!(!value.contains(&a.id));

    let b = p.create(&ctx(), &create_req(&[])).await.unwrap();
    assert_ne!(a.attributes["value"], b.attributes["value"]);
    assert_ne!(a.id, b.id);
}

#[tokio::test]
async fn creates_base64_of_the_requested_length() {
    let p = RandomSecretProvider::new();
    let o = p
        .create(
            &ctx(),
            &create_req(&[
                ("bytes", Value::int(48)),
                ("encoding", Value::str("base64")),
            ]),
        )
        .await
        .unwrap();
    let text = o.attributes["value"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    assert_eq!(raw.len(), 48);
    assert_eq!(o.attributes["encoding"], Value::str("base64"));

    for n in [8, 1024] {
        let o = p
            .create(&ctx(), &create_req(&[("bytes", Value::int(n))]))
            .await
            .unwrap();
        assert_eq!(o.attributes["value"].as_str().unwrap().len() as i64, 2 * n);
    }
}

#[tokio::test]
async fn refuses_invalid_input() {
    let p = RandomSecretProvider::new();
    let cases = [
        (
            vec![("bytes", Value::int(7))],
            "`bytes` must be between 8 and 1024, found 7",
        ),
        (
            vec![("bytes", Value::int(1025))],
            "`bytes` must be between 8 and 1024, found 1025",
        ),
        (
            vec![("bytes", Value::str("32"))],
            "`bytes` must be an integer, found a string",
        ),
        (
            vec![(
                "bytes",
                Value::Number(serde_json::Number::from_f64(8.5).unwrap()),
            )],
            "`bytes` must be an integer, found a number",
        ),
        (
            vec![("encoding", Value::str("rot13"))],
            "`encoding` must be `hex` or `base64`, found \"rot13\"",
        ),
        (
            vec![("encoding", Value::Bool(true))],
            "`encoding` must be a string, found a boolean",
        ),
    ];
    for (props, message) in cases {
        let err = p.create(&ctx(), &create_req(&props)).await.unwrap_err();
        assert!(matches!(err, ProviderError::InvalidInput { .. }), "{err:?}");
        assert_eq!(err.to_string(), message);
    }
}

#[tokio::test]
async fn read_returns_what_state_holds_in_request_order() {
    let p = RandomSecretProvider::new();
    let mut prior = ValueMap::new();
    prior.insert("bytes".into(), Value::int(32));
    prior.insert("encoding".into(), Value::str("hex"));
    prior.insert("value".into(), Value::str("abcd").sensitive());
    let requests: Vec<ReadRequest> = ["a", "b"]
        .iter()
        .map(|id| ReadRequest {
            address: format!("r_{id}"),
            id: id.to_string(),
            prior: prior.clone(),
        })
        .collect();
    let got = p.read(&ctx(), "random_secret", &requests).await;
    assert_eq!(got.len(), 2);
    for (r, id) in got.into_iter().zip(["a", "b"]) {
        let o = r.unwrap().unwrap();
        assert_eq!(o.id, id);
        assert_eq!(o.attributes["value"], Value::str("abcd"));
        assert_eq!(o.attributes["bytes"], Value::int(32));
    }
    let wrong = p.read(&ctx(), "local_file", &requests).await;
    assert!(wrong
        .iter()
        .all(|r| matches!(r, Err(ProviderError::Unsupported { .. }))));
}

#[tokio::test]
async fn never_updates_and_deletes_or_recovers_trivially() {
    let p = RandomSecretProvider::new();
    let update = UpdateRequest {
        address: "t".into(),
        type_name: "random_secret".into(),
        id: "x".into(),
        prior: ValueMap::new(),
        properties: ValueMap::new(),
        changed: vec!["bytes".into()],
    };
    assert!(matches!(
        p.update(&ctx(), &update).await,
        Err(ProviderError::Unsupported { .. })
    ));
    let delete = DeleteRequest {
        address: "t".into(),
        type_name: "random_secret".into(),
        id: "x".into(),
        prior: ValueMap::new(),
        purge: false,
    };
    p.delete(&ctx(), &delete).await.unwrap();
    assert!(p
        .find_created(&ctx(), &create_req(&[]))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn preflight_reports_bad_known_inputs_only() {
    let p = RandomSecretProvider::new();
    let props = |pairs: &[(&str, Value)]| -> ValueMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let resources = vec![
        (
            "ok".to_string(),
            "random_secret".to_string(),
            props(&[("bytes", Value::int(16))]),
        ),
        (
            "small".to_string(),
            "random_secret".to_string(),
            props(&[("bytes", Value::int(4))]),
        ),
        (
            "later".to_string(),
            "random_secret".to_string(),
            props(&[("bytes", Value::Unknown)]),
        ),
        (
            "enc".to_string(),
            "random_secret".to_string(),
            props(&[("encoding", Value::str("base32"))]),
        ),
        (
            "other".to_string(),
            "local_file".to_string(),
            props(&[("bytes", Value::int(1))]),
        ),
    ];
    let findings = p.preflight(&ctx(), &resources).await;
    let got: Vec<(&str, Option<&str>)> = findings
        .iter()
        .map(|f| (f.address.as_str(), f.attribute.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![("small", Some("bytes")), ("enc", Some("encoding"))]
    );
}
