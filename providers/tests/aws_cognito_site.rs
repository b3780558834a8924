//! Cognito as sites run it, through the `Provider` trait against a private emulator: an
//! existing user pool read as data, with hdh's domain, app client and users made in it, and
//! still there (users and all) after hdh deletes everything it made; token lifetimes set,
//! read back and changed on the app client; lifetimes outside Cognito's bounds refused.

mod aws_common;

use aws_common::*;
use hdh_engine::{Provider, Value};
use hdh_testcloud::Profile;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_pool_is_read_used_and_survives_the_destroy_of_what_hdh_made() {
    let emu = emulator(Profile::Instant, 1.0, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&emu.aws_config(REGION).await);
    // The site's auth stack made this pool, with a user of its own.
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

    let existing = t
        .create(
            "daskhub.auth.user_pool",
            "aws_cognito_existing_user_pool",
            json!({"user_pool_id": pool_id}),
        )
        .await;
    assert_eq!(existing.id, pool_id);
    assert_eq!(s(&existing, "name"), "helio-auth");
    assert!(t
        .read("aws_cognito_existing_user_pool", &existing)
        .await
        .is_some());

    let domain = t
        .create(
            "daskhub.auth.domain",
            "aws_cognito_user_pool_domain",
            json!({"domain": "helio-site", "user_pool_id": pool_id}),
        )
        .await;
    let client = t
        .create(
            "daskhub.auth.client",
            "aws_cognito_user_pool_client",
            json!({"user_pool_id": pool_id, "name": "helio-daskhub",
                   "callback_urls": ["https://daskhub.example.org/hub/oauth_callback"],
                   "access_token_validity_minutes": 30, "id_token_validity_minutes": 30,
                   "refresh_token_validity_minutes": 7 * 24 * 60}),
        )
        .await;
    let described = idp
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client.id)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert_eq!(described.access_token_validity(), Some(30));
    assert_eq!(described.refresh_token_validity(), 7 * 24 * 60);
    let read = t
        .read("aws_cognito_user_pool_client", &client)
        .await
        .unwrap();
    assert_eq!(
        read.attributes["refresh_token_validity_minutes"],
        Value::int(7 * 24 * 60)
    );
    assert_eq!(
        read.attributes["access_token_validity_minutes"],
        Value::int(30)
    );
    // In place: the same client, a new lifetime.
    let longer = t
        .update(
            "daskhub.auth.client",
            "aws_cognito_user_pool_client",
            &client,
            json!({"access_token_validity_minutes": 120}),
        )
        .await;
    assert_eq!(longer.id, client.id);
    assert_eq!(
        longer.attributes["access_token_validity_minutes"],
        Value::int(120)
    );

    let mut users = Vec::new();
    for (name, email) in [
        ("admintest", "admin@example.org"),
        ("alice", "alice@example.org"),
    ] {
        users.push(
            t.create(
                &format!("daskhub.auth.user[\"{name}\"]"),
                "aws_cognito_user",
                json!({"user_pool_id": pool_id, "username": name, "email": email}),
            )
            .await,
        );
    }

    // Destroy, in reverse order: what hdh made goes, the pool and its own user stay.
    for u in &users {
        t.delete("aws_cognito_user", u).await;
    }
    t.delete("aws_cognito_user_pool_client", &longer).await;
    t.delete("aws_cognito_user_pool_domain", &domain).await;
    aws.delete(
        &ctx,
        &hdh_engine::provider::DeleteRequest {
            address: "daskhub.auth.user_pool".into(),
            type_name: "aws_cognito_existing_user_pool".into(),
            id: existing.id.clone(),
            prior: existing.attributes.clone(),
            purge: true,
        },
    )
    .await
    .unwrap();
    let still = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("the site's pool survives");
    assert_eq!(still.user_pool().unwrap().name(), Some("helio-auth"));
    idp.admin_get_user()
        .user_pool_id(&pool_id)
        .username("site-user")
        .send()
        .await
        .expect("with the site's own user");

    // A pool that does not exist is refused at create, naming it.
    let err = aws
        .create(
            &ctx,
            &hdh_engine::provider::CreateRequest {
                address: "p".into(),
                type_name: "aws_cognito_existing_user_pool".into(),
                properties: map(json!({"user_pool_id": "us-east-1_Nope12345"})),
                token: "t".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("us-east-1_Nope12345 does not exist"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_lifetimes_outside_cognitos_bounds_are_refused() {
    let emu = emulator(Profile::Instant, 1.0, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&emu.aws_config(REGION).await);
    let pool = idp
        .create_user_pool()
        .pool_name("p")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let pool_id = pool.id().unwrap();
    // The emulator refuses as Cognito does (moto keeps any lifetime).
    for (access, refresh, unit) in [
        (4, 30, "minutes"),
        (25, 30, "hours"),
        (1, 3651, "days"),
        (1, 59, "minutes"),
    ] {
        let units = aws_sdk_cognitoidentityprovider::types::TokenValidityUnitsType::builder()
            .access_token(unit.into())
            .refresh_token(unit.into())
            .build();
        let err = idp
            .create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name("c")
            .access_token_validity(access)
            .refresh_token_validity(refresh)
            .token_validity_units(units)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata::code(&err),
            Some("InvalidParameterException"),
            "{access}/{refresh} {unit}"
        );
    }
    // hdh refuses before any call.
    let before = emu.request_log().unwrap().len();
    let err = aws
        .create(
            &ctx,
            &hdh_engine::provider::CreateRequest {
                address: "c".into(),
                type_name: "aws_cognito_user_pool_client".into(),
                properties: map(json!({"user_pool_id": pool_id, "name": "c",
                    "callback_urls": ["https://x.example.org/hub/oauth_callback"],
                    "id_token_validity_minutes": 2000})),
                token: "t".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("outside Cognito's bounds"),
        "{err}"
    );
    assert_eq!(emu.request_log().unwrap().len(), before, "no call made");
}
