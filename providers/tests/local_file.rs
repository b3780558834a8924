//! `local_file`: atomic writes with the requested mode, drift on disk seen by read, deletion,
//! adoption after an interrupted create, and clear refusals of bad input.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    Observed, OpContext, Presence, Provider, ProviderError, Value, ValueMap, ValueType,
};
use hdh_providers::{local_providers, LocalFileProvider};
use sha2::{Digest, Sha256};

fn ctx() -> OpContext {
    OpContext::new("test", "local")
}

fn props(pairs: &[(&str, Value)]) -> ValueMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn create_req(pairs: &[(&str, Value)]) -> CreateRequest {
    CreateRequest {
        address: "config".into(),
        type_name: "local_file".into(),
        properties: props(pairs),
        token: "tok".into(),
    }
}

fn read_req(o: &Observed) -> ReadRequest {
    ReadRequest {
        address: "config".into(),
        id: o.id.clone(),
        prior: o.attributes.clone(),
    }
}

async fn read_one(p: &LocalFileProvider, o: &Observed) -> Option<Observed> {
    let mut got = p.read(&ctx(), "local_file", &[read_req(o)]).await;
    assert_eq!(got.len(), 1);
    got.remove(0).unwrap()
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[test]
fn declares_its_attributes() {
    let t = LocalFileProvider::resource_type();
    assert_eq!(t.name, "local_file");
    let path = t.attribute("path").unwrap();
    assert_eq!(
        (path.ty.clone(), path.presence.clone()),
        (ValueType::String, Presence::Required)
    );
    assert!(path.force_new);
    let content = t.attribute("content").unwrap();
    assert_eq!(content.presence, Presence::Required);
    assert!(!content.force_new && !content.sensitive);
    let mode = t.attribute("mode").unwrap();
    assert_eq!(
        mode.presence,
        Presence::Optional {
            default: Some(Value::str("0644"))
        }
    );
    assert!(!mode.force_new);
    let digest = t.attribute("sha256").unwrap();
    assert_eq!(
        (digest.ty.clone(), digest.presence.clone()),
        (ValueType::String, Presence::Computed)
    );
    assert_eq!(digest.changes_with, vec!["content".to_string()]);
    assert_eq!(t.attributes.len(), 4);
    assert!(t.attributes.iter().all(|a| !a.description.is_empty()));

    let names: Vec<String> = local_providers("/".into())
        .iter()
        .flat_map(|p| p.resource_types())
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["random_secret", "given_secret", "local_file"]);
}

#[tokio::test]
async fn create_read_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let file = dir.path().join("out/nested/app.conf");

    // Relative path: resolved against the base directory, parents created.
    let created = p
        .create(
            &ctx(),
            &create_req(&[
                ("path", Value::str("out/nested/app.conf")),
                ("content", Value::str("token=abc\n")),
                ("mode", Value::str("0600")),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(created.id, file.display().to_string());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "token=abc\n");
    assert_eq!(mode_of(&file), 0o600);
    assert_eq!(
        created.attributes["path"],
        Value::str("out/nested/app.conf")
    );
    assert_eq!(created.attributes["mode"], Value::str("0600"));
    assert_eq!(
        created.attributes["sha256"],
        Value::String(sha("token=abc\n"))
    );

    // Read of an untouched file reports exactly what create did.
    assert_eq!(read_one(&p, &created).await.unwrap(), created);

    let update = UpdateRequest {
        address: "config".into(),
        type_name: "local_file".into(),
        id: created.id.clone(),
        prior: created.attributes.clone(),
        properties: props(&[
            ("path", Value::str("out/nested/app.conf")),
            ("content", Value::str("token=xyz\n")),
            ("mode", Value::str("0640")),
        ]),
        changed: vec!["content".into(), "mode".into()],
    };
    let updated = p.update(&ctx(), &update).await.unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "token=xyz\n");
    assert_eq!(mode_of(&file), 0o640);
    assert_eq!(
        updated.attributes["sha256"],
        Value::String(sha("token=xyz\n"))
    );
    assert_eq!(read_one(&p, &updated).await.unwrap(), updated);

    let delete = DeleteRequest {
        address: "config".into(),
        type_name: "local_file".into(),
        id: updated.id.clone(),
        prior: updated.attributes.clone(),
        purge: false,
    };
    p.delete(&ctx(), &delete).await.unwrap();
    assert!(!file.exists());
    assert!(read_one(&p, &updated).await.is_none());
    // Already gone: still success.
    p.delete(&ctx(), &delete).await.unwrap();
}

#[tokio::test]
async fn drift_on_disk_shows_in_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let created = p
        .create(
            &ctx(),
            &create_req(&[
                ("path", Value::str("a.txt")),
                ("content", Value::str("one\n")),
            ]),
        )
        .await
        .unwrap();
    let file = dir.path().join("a.txt");
    assert_eq!(created.attributes["mode"], Value::str("0644"));
    assert_eq!(mode_of(&file), 0o644);

    std::fs::write(&file, "edited by hand\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let seen = read_one(&p, &created).await.unwrap();
    assert_eq!(seen.attributes["content"], Value::str("edited by hand\n"));
    assert_eq!(
        seen.attributes["sha256"],
        Value::String(sha("edited by hand\n"))
    );
    assert_eq!(seen.attributes["mode"], Value::str("0755"));
    assert_eq!(seen.attributes["path"], Value::str("a.txt"));

    // Bytes that are not UTF-8 still read, as content that differs from any desired text.
    std::fs::write(&file, [0xff, 0xfe, b'x']).unwrap();
    let seen = read_one(&p, &created).await.unwrap();
    assert_eq!(seen.attributes["content"], Value::str("\u{fffd}\u{fffd}x"));
}

#[tokio::test]
async fn mode_keeps_the_users_spelling_and_ignores_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let created = p
        .create(
            &ctx(),
            &create_req(&[
                ("path", Value::str("w.txt")),
                ("content", Value::str("x")),
                ("mode", Value::str("666")),
            ]),
        )
        .await
        .unwrap();
    // 0666 despite a typical umask of 022: the mode is set explicitly.
    assert_eq!(mode_of(&dir.path().join("w.txt")), 0o666);
    assert_eq!(
        read_one(&p, &created).await.unwrap().attributes["mode"],
        Value::str("666")
    );
}

#[tokio::test]
async fn writes_replace_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "old").unwrap();
    let before = std::fs::metadata(&file).unwrap().ino();
    let reader = std::fs::File::open(&file).unwrap();

    p.create(
        &ctx(),
        &create_req(&[
            ("path", Value::str("f.txt")),
            ("content", Value::str("new")),
        ]),
    )
    .await
    .unwrap();
    // A new inode renamed into place: an open reader keeps the complete old content.
    assert_ne!(std::fs::metadata(&file).unwrap().ino(), before);
    assert_eq!(std::io::read_to_string(reader).unwrap(), "old");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["f.txt".to_string()]);
}

#[tokio::test]
async fn absolute_paths_ignore_the_base_directory() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().join("configs"));
    let target = elsewhere.path().join("abs.txt");
    let o = p
        .create(
            &ctx(),
            &create_req(&[
                ("path", Value::String(target.display().to_string())),
                ("content", Value::str("x")),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(o.id, target.display().to_string());
    assert!(target.exists());
    assert!(!dir.path().join("configs").exists());
}

#[tokio::test]
async fn find_created_adopts_only_a_file_with_the_requested_content() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let req = create_req(&[
        ("path", Value::str("made.txt")),
        ("content", Value::str("hello")),
        ("mode", Value::str("0600")),
    ]);
    assert!(p.find_created(&ctx(), &req).await.unwrap().is_none());

    // An interrupted create that wrote the file: adopted, described as it is.
    let file = dir.path().join("made.txt");
    std::fs::write(&file, "hello").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let found = p.find_created(&ctx(), &req).await.unwrap().unwrap();
    assert_eq!(found.id, file.display().to_string());
    assert_eq!(found.attributes["sha256"], Value::String(sha("hello")));
    assert_eq!(found.attributes["mode"], Value::str("0600"));
    assert_eq!(found.attributes["path"], Value::str("made.txt"));

    // Someone else's file with other content: not claimed.
    std::fs::write(&file, "not ours").unwrap();
    assert!(p.find_created(&ctx(), &req).await.unwrap().is_none());
}

#[tokio::test]
async fn batched_read_answers_each_request_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let mut made = Vec::new();
    for name in ["1.txt", "2.txt", "3.txt"] {
        let o = p
            .create(
                &ctx(),
                &create_req(&[("path", Value::str(name)), ("content", Value::str(name))]),
            )
            .await
            .unwrap();
        made.push(o);
    }
    std::fs::remove_file(dir.path().join("2.txt")).unwrap();
    std::fs::create_dir(dir.path().join("3.txt.d")).unwrap();
    let mut dir_entry = made[2].clone();
    dir_entry.id = dir.path().join("3.txt.d").display().to_string();

    let requests = vec![read_req(&made[0]), read_req(&made[1]), read_req(&dir_entry)];
    let got = p.read(&ctx(), "local_file", &requests).await;
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].as_ref().unwrap().as_ref().unwrap().attributes["content"],
        Value::str("1.txt")
    );
    assert!(got[1].as_ref().unwrap().is_none());
    assert!(
        matches!(&got[2], Err(ProviderError::Conflict { .. })),
        "{:?}",
        got[2]
    );
}

#[tokio::test]
async fn refuses_invalid_input_without_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let path = ("path", Value::str("x.txt"));
    let content = ("content", Value::str("secret-content"));
    let cases = vec![
        (vec![content.clone()], "`path` is required"),
        (
            vec![("path", Value::str("")), content.clone()],
            "`path` must not be empty",
        ),
        (
            vec![("path", Value::str("dir/")), content.clone()],
            "`path` must name a file, not a directory: \"dir/\"",
        ),
        (
            vec![("path", Value::int(3)), content.clone()],
            "`path` must be a string, found a number",
        ),
        (vec![path.clone()], "`content` is required"),
        (
            vec![path.clone(), ("content", Value::List(vec![]))],
            "`content` must be a string, found a list",
        ),
        (
            vec![path.clone(), content.clone(), ("mode", Value::str("0o644"))],
            "`mode` must be 3 or 4 octal digits such as \"0644\", found \"0o644\"",
        ),
        (
            vec![path.clone(), content.clone(), ("mode", Value::str("0899"))],
            "`mode` must be 3 or 4 octal digits such as \"0644\", found \"0899\"",
        ),
        (
            vec![path.clone(), content.clone(), ("mode", Value::str("64"))],
            "`mode` must be 3 or 4 octal digits such as \"0644\", found \"64\"",
        ),
        (
            vec![path.clone(), content.clone(), ("mode", Value::int(644))],
            "`mode` must be an octal string such as \"0644\", found a number",
        ),
    ];
    for (pairs, message) in cases {
        let err = p.create(&ctx(), &create_req(&pairs)).await.unwrap_err();
        assert!(matches!(err, ProviderError::InvalidInput { .. }), "{err:?}");
        assert_eq!(err.to_string(), message);
        assert!(!err.to_string().contains("secret-content"));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let findings = p
        .preflight(
            &ctx(),
            &[
                (
                    "bad".into(),
                    "local_file".into(),
                    props(&[("mode", Value::str("9"))]),
                ),
                (
                    "later".into(),
                    "local_file".into(),
                    props(&[("mode", Value::Unknown)]),
                ),
                (
                    "good".into(),
                    "local_file".into(),
                    props(&[path.clone(), content.clone()]),
                ),
            ],
        )
        .await;
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (
            findings[0].address.as_str(),
            findings[0].attribute.as_deref()
        ),
        ("bad", Some("mode"))
    );
}

#[tokio::test]
async fn write_errors_name_the_file_but_never_the_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("blocker"),
        "a file where a directory should be",
    )
    .unwrap();
    let p = LocalFileProvider::new(dir.path().to_path_buf());
    let err = p
        .create(
            &ctx(),
            &create_req(&[
                ("path", Value::str("blocker/x.txt")),
                ("content", Value::str("hunter2")),
            ]),
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("blocker"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
