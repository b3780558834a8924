//! A site's own Cognito user pool through the `hdh` binary against a private emulator: the
//! config reads the pool (`aws_cognito_existing_user_pool`) and makes a domain, an app client
//! with token lifetimes and users in it; apply, an empty second plan, destroy — and the pool,
//! with the user the site made itself, is still there, while everything hdh made is gone.

mod support;

use std::path::Path;

use hdh_testcloud::{Emulator, Profile};
use support::runner::Hdh;

fn hdh(emu: &Emulator, dir: &Path, args: &[&str]) -> (i32, String) {
    let ran = Hdh::plain()
        .dir(dir)
        .envs(emu.env())
        .env("AWS_REGION", "us-east-1")
        .no_color()
        .run(args);
    (ran.code, format!("{}\n{}", ran.stdout, ran.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_leaves_the_sites_own_user_pool() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts");
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&emu.aws_config("us-east-1").await);
    let pool = idp
        .create_user_pool()
        .pool_name("helio-auth")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let pool_id = pool.id().unwrap().to_string();
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("site-user")
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("hdh.yaml"),
        format!(
            r#"version: 1
name: helio-site
region: us-east-1
resources:
  pool: {{ type: aws_cognito_existing_user_pool, properties: {{ user_pool_id: {pool_id} }} }}
  domain: {{ type: aws_cognito_user_pool_domain, properties: {{ domain: helio-site, user_pool_id: "${{pool.id}}" }} }}
  client:
    type: aws_cognito_user_pool_client
    properties:
      user_pool_id: "${{pool.id}}"
      name: helio-daskhub
      callback_urls: ["https://daskhub.example.org/hub/oauth_callback"]
      access_token_validity_minutes: 30
      refresh_token_validity_minutes: 10080
  admin: {{ type: aws_cognito_user, properties: {{ user_pool_id: "${{pool.id}}", username: admintest, email: admin@example.org }} }}
  alice: {{ type: aws_cognito_user, properties: {{ user_pool_id: "${{pool.id}}", username: alice, email: alice@example.org }} }}
"#
        ),
    )
    .unwrap();

    let (code, out) = hdh(&emu, d, &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "second plan must be empty:\n{out}");
    let users = |idp: aws_sdk_cognitoidentityprovider::Client, id: String| async move {
        let mut names: Vec<String> = idp
            .list_users()
            .user_pool_id(id)
            .send()
            .await
            .unwrap()
            .users()
            .iter()
            .filter_map(|u| u.username().map(str::to_string))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        users(idp.clone(), pool_id.clone()).await,
        ["admintest", "alice", "site-user"]
    );

    let (code, out) = hdh(&emu, d, &["destroy", "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    let still = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("the site's pool survives destroy");
    assert_eq!(still.user_pool().unwrap().name(), Some("helio-auth"));
    assert_eq!(
        users(idp.clone(), pool_id.clone()).await,
        ["site-user"],
        "hdh's users are gone, the site's stays"
    );
    let clients = idp
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .send()
        .await
        .unwrap();
    assert!(
        clients.user_pool_clients().is_empty(),
        "hdh's client is gone"
    );
}
