//! Login and token checks: every way a token can be wrong is UNAUTHENTICATED.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use tests::{
    assert_error, on_every_backend, Backend, TestApp, LOGIN, PASSWORD, TEST_AUDIENCE, TEST_ISSUER,
    TEST_JWT_SECRET,
};

use api::domain::Role;

const ME: &str = "{ me { id email roles active } }";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn forged(claims: Value, secret: &str) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims(sub: &str, ver: i32) -> Value {
    json!({
        "sub": sub, "roles": ["ADMIN"], "ver": ver,
        "iat": now(), "nbf": now(), "exp": now() + 600,
        "iss": TEST_ISSUER, "aud": TEST_AUDIENCE,
    })
}

#[tokio::test]
async fn login_returns_a_token_that_identifies_the_staff_member() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin, Role::Finance]).await;
        let body = app.graphql(ME, json!({}), Some(&admin.token)).await;
        assert_eq!(body["data"]["me"]["email"], admin.email.as_str(), "{:?}", app.backend);
        assert_eq!(body["data"]["me"]["roles"], json!(["ADMIN", "FINANCE"]));
        let login = app
            .graphql(
                "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ token expiresAt staff { email } } }",
                json!({ "e": admin.email.to_uppercase(), "p": PASSWORD }),
                None,
            )
            .await;
        assert_eq!(login["data"]["login"]["staff"]["email"], admin.email.as_str());
        let expires = login["data"]["login"]["expiresAt"].as_str().unwrap();
        assert!(expires.ends_with('Z'), "{expires}");
    })
    .await;
}

/// A login attempt is recorded under the TCP peer's address (the key the
/// per-address throttle counts), which reaches the resolver with the
/// request; a forwarded-for header is the client's own claim and is not
/// taken.
#[tokio::test]
async fn a_login_attempt_is_recorded_under_the_peers_address_not_a_header() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    on_every_backend(|app| async move {
        let staff = app.staff(&[Role::Analyst]).await;
        let request = app
            .client
            .post(app.url("/graphql"))
            .header("x-forwarded-for", "203.0.113.9")
            .header("forwarded", "for=203.0.113.9");
        let body = send_login(request, &staff.email, "not the password").await;
        assert_error(&body, "UNAUTHENTICATED");
        let attempts = entity::login_attempt::Entity::find()
            .filter(entity::login_attempt::Column::Email.eq(staff.email.as_str()))
            .filter(entity::login_attempt::Column::Succeeded.eq(false))
            .all(&app.db)
            .await
            .unwrap();
        let addresses: Vec<&str> = attempts.iter().map(|a| a.client_addr.as_str()).collect();
        assert_eq!(addresses, ["127.0.0.1"], "{:?}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_fail_the_same_way() {
    on_every_backend(|app| async move {
        let staff = app.staff(&[Role::Analyst]).await;
        let q = LOGIN;
        let wrong = app
            .graphql(
                q,
                json!({ "e": staff.email, "p": "not the password" }),
                None,
            )
            .await;
        let unknown = app
            .graphql(q, json!({ "e": "nobody@staff.test", "p": PASSWORD }), None)
            .await;
        let malformed = app
            .graphql(q, json!({ "e": "not an email", "p": PASSWORD }), None)
            .await;
        for body in [&wrong, &unknown, &malformed] {
            assert_error(body, "UNAUTHENTICATED");
            assert!(body["data"].is_null(), "{body}");
        }
        assert_eq!(
            wrong["errors"][0]["message"],
            unknown["errors"][0]["message"]
        );
    })
    .await;
}

#[tokio::test]
async fn requests_without_or_with_bad_tokens_are_unauthenticated() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let staff = app.staff(&[Role::Admin]).await;
    let sub = staff.id.as_str();
    let mut expired = claims(sub, 1);
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 720);
    expired["nbf"] = json!(now() - 720);
    let mut wrong_iss = claims(sub, 1);
    wrong_iss["iss"] = json!("someone-else");
    let mut wrong_aud = claims(sub, 1);
    wrong_aud["aud"] = json!("another-api");
    let mut no_exp = claims(sub, 1);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut future_nbf = claims(sub, 1);
    future_nbf["nbf"] = json!(now() + 600);
    let mut string_exp = claims(sub, 1);
    string_exp["exp"] = json!((now() + 600).to_string());
    let mut no_sub = claims(sub, 1);
    no_sub.as_object_mut().unwrap().remove("sub");
    let unknown_sub = claims(&uuid::Uuid::now_v7().to_string(), 1);
    // `alg: none`: header and claims, empty signature.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims(sub, 1).to_string())
    );
    // A valid token with its roles claim edited: the signature no longer matches.
    let parts: Vec<&str> = staff.token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    payload["roles"] = json!(["ADMIN", "FINANCE"]);
    let edited = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(payload.to_string()),
        parts[2]
    );

    let cases: Vec<(&str, String)> = vec![
        ("garbage", "not-a-jwt".into()),
        (
            "wrong signature",
            forged(
                claims(sub, 1),
                "another-secret-another-secret-another-secret",
            ),
        ),
        ("expired", forged(expired, TEST_JWT_SECRET)),
        ("wrong issuer", forged(wrong_iss, TEST_JWT_SECRET)),
        ("wrong audience", forged(wrong_aud, TEST_JWT_SECRET)),
        ("missing exp", forged(no_exp, TEST_JWT_SECRET)),
        ("not yet valid", forged(future_nbf, TEST_JWT_SECRET)),
        ("exp as string", forged(string_exp, TEST_JWT_SECRET)),
        ("missing sub", forged(no_sub, TEST_JWT_SECRET)),
        ("unknown sub", forged(unknown_sub, TEST_JWT_SECRET)),
        (
            "stale token version",
            forged(claims(sub, 0), TEST_JWT_SECRET),
        ),
        ("alg none", alg_none),
        ("edited roles", edited),
    ];
    for (name, token) in cases {
        let body = app.graphql(ME, json!({}), Some(&token)).await;
        assert_eq!(
            tests::error_code(&body),
            Some("UNAUTHENTICATED"),
            "{name}: {body}"
        );
    }
    // The control: a correctly forged token is accepted, so the cases above
    // fail for their own reason.
    let ok = app
        .graphql(
            ME,
            json!({}),
            Some(&forged(claims(sub, 1), TEST_JWT_SECRET)),
        )
        .await;
    assert_eq!(ok["data"]["me"]["id"], sub);
    let none = app.graphql(ME, json!({}), None).await;
    assert_error(&none, "UNAUTHENTICATED");
}

#[tokio::test]
async fn deactivation_and_role_changes_revoke_tokens_at_once() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let analyst = app.staff(&[Role::Analyst]).await;
        assert!(app.graphql(ME, json!({}), Some(&agent.token)).await["data"]["me"].is_object());

        let body = app
            .graphql(
                "mutation($id: ID!){ setStaffRoles(staffId: $id, roles: [REFUND_MANAGER]) { roles } }",
                json!({ "id": agent.id }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(body["data"]["setStaffRoles"]["roles"], json!(["REFUND_MANAGER"]), "{body}");
        assert_error(&app.graphql(ME, json!({}), Some(&agent.token)).await, "UNAUTHENTICATED");
        let fresh = app.login(&agent.email, PASSWORD).await;
        let me = app.graphql(ME, json!({}), Some(&fresh)).await;
        assert_eq!(me["data"]["me"]["roles"], json!(["REFUND_MANAGER"]));

        let body = app
            .graphql(
                "mutation($id: ID!){ deactivateStaff(staffId: $id) { active } }",
                json!({ "id": analyst.id }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(body["data"]["deactivateStaff"]["active"], false, "{body}");
        assert_error(&app.graphql(ME, json!({}), Some(&analyst.token)).await, "UNAUTHENTICATED");
        let relogin = app
            .graphql(
                LOGIN,
                json!({ "e": analyst.email, "p": PASSWORD }),
                None,
            )
            .await;
        assert_error(&relogin, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_per_email_across_servers() {
    on_every_backend(|app| async move {
        let sibling = app.sibling().await;
        let victim = app.staff(&[Role::Admin]).await;
        let other = app.staff(&[Role::Finance]).await;
        let q = LOGIN;
        // Failures spread over two servers count together (the counter is in the database).
        for i in 0..5 {
            let server = if i % 2 == 0 { &app } else { &sibling };
            assert_error(
                &server
                    .graphql(q, json!({ "e": victim.email, "p": "wrong password" }), None)
                    .await,
                "UNAUTHENTICATED",
            );
        }
        // Now even the right password is refused for the rest of the window.
        let limited = app
            .graphql(
                q,
                json!({ "e": victim.email.to_uppercase(), "p": PASSWORD }),
                None,
            )
            .await;
        assert_error(&limited, "RATE_LIMITED");
        assert!(limited["data"].is_null());
        // Other accounts are unaffected.
        let ok = sibling
            .graphql(q, json!({ "e": other.email, "p": PASSWORD }), None)
            .await;
        assert!(ok["data"]["login"]["token"].is_string(), "{ok}");
        // A success resets the count: four failures, a success, four more are fine.
        for _ in 0..4 {
            app.graphql(q, json!({ "e": other.email, "p": "nope" }), None)
                .await;
        }
        app.login(&other.email, PASSWORD).await;
        for _ in 0..4 {
            assert_error(
                &app.graphql(q, json!({ "e": other.email, "p": "nope" }), None)
                    .await,
                "UNAUTHENTICATED",
            );
        }
        app.login(&other.email, PASSWORD).await;
    })
    .await;
}

async fn stored_hash(db: &api::service::db::Db, email: &str) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::staff::Entity::find()
        .filter(entity::staff::Column::Email.eq(email))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

#[tokio::test]
async fn a_login_upgrades_a_hash_made_with_older_parameters() {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
    on_every_backend(|app| async move {
        let staff = app.staff(&[Role::Analyst]).await;
        // What the crate default (19 MiB, 2 passes) stored before.
        let old = argon2::Argon2::default()
            .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(old.contains("m=19456,t=2"), "{old}");
        entity::staff::Entity::update_many()
            .set(entity::staff::ActiveModel {
                password_hash: Set(old.clone()),
                ..Default::default()
            })
            .filter(entity::staff::Column::Email.eq(staff.email.as_str()))
            .exec(&app.db)
            .await
            .unwrap();
        let q = LOGIN;
        let wrong = app
            .graphql(
                q,
                json!({ "e": staff.email, "p": "not the password" }),
                None,
            )
            .await;
        assert_error(&wrong, "UNAUTHENTICATED");
        assert_eq!(stored_hash(&app.db, &staff.email).await, old);

        app.login(&staff.email, PASSWORD).await;
        let upgraded = stored_hash(&app.db, &staff.email).await;
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{upgraded}"
        );
        app.login(&staff.email, PASSWORD).await;
        assert_eq!(stored_hash(&app.db, &staff.email).await, upgraded);
    })
    .await;
}

/// Sends `login` with `request` (a POST to `/graphql`, with whatever
/// headers the test adds) and reads the JSON answer.
async fn send_login(request: reqwest::RequestBuilder, email: &str, password: &str) -> Value {
    request
        .json(&json!({ "query": LOGIN, "variables": { "e": email, "p": password } }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

/// Fires `n` logins at once, alternating between two servers; returns the
/// error codes (None for a success).
async fn burst(
    servers: [&TestApp; 2],
    n: usize,
    login: impl Fn(usize) -> (String, String),
) -> Vec<Option<String>> {
    let mut calls = Vec::new();
    for i in 0..n {
        let server = servers[i % 2];
        let (client, url) = (server.client.clone(), server.url("/graphql"));
        let (email, password) = login(i);
        calls.push(tokio::spawn(async move {
            let body = send_login(client.post(url), &email, &password).await;
            tests::error_code(&body).map(str::to_string)
        }));
    }
    let mut out = Vec::new();
    for call in calls {
        out.push(call.await.unwrap());
    }
    out
}

/// Wrong passwords checked (for `email`): every checked attempt is
/// recorded; a throttled one never reaches the hash.
async fn checks(app: &TestApp, email: Option<&str>) -> i64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let mut q = entity::login_attempt::Entity::find()
        .filter(entity::login_attempt::Column::Succeeded.eq(false));
    if let Some(e) = email {
        q = q.filter(entity::login_attempt::Column::Email.eq(e));
    }
    q.count(&app.db).await.unwrap() as i64
}

#[tokio::test]
async fn a_parallel_burst_gets_no_more_password_checks_than_the_limit() {
    on_every_backend(|app| async move {
        let sibling = app.sibling().await;
        let victim = app.staff(&[Role::Admin]).await;
        let checked_before = checks(&app, None).await;
        // 100 wrong passwords at once over two servers, then the right one.
        let codes = burst([&app, &sibling], 100, |_| {
            (victim.email.clone(), "wrong password".into())
        })
        .await;
        let checked = checks(&app, Some(&victim.email)).await;
        assert!(
            checked <= 5,
            "{:?}: {checked} passwords checked for one email",
            app.backend
        );
        let limited = codes
            .iter()
            .filter(|c| c.as_deref() == Some("RATE_LIMITED"))
            .count();
        assert_eq!(
            limited as i64,
            100 - checked,
            "{:?}: {codes:?}",
            app.backend
        );
        assert!(
            codes.iter().all(|c| c.is_some()),
            "{:?}: a wrong password got in",
            app.backend
        );
        let right = app
            .graphql(LOGIN, json!({ "e": victim.email, "p": PASSWORD }), None)
            .await;
        assert_error(&right, "RATE_LIMITED");

        // Spraying: 100 different emails at once from one address.
        let before = checks(&app, None).await;
        burst([&app, &sibling], 100, |i| {
            (format!("nobody{i}@spray.test"), "guess".into())
        })
        .await;
        let sprayed = checks(&app, None).await - before;
        assert!(
            sprayed <= 30,
            "{:?}: {sprayed} passwords checked from one address",
            app.backend
        );
        assert!(before > checked_before, "the first burst was recorded");
    })
    .await;
}

#[tokio::test]
async fn logout_revokes_the_callers_tokens_on_every_server() {
    on_every_backend(|app| async move {
        let sibling = app.sibling().await;
        let staff = app.staff(&[Role::Finance]).await;
        let second = app.login(&staff.email, PASSWORD).await;
        let other = app.staff(&[Role::Finance]).await;
        let body = app.graphql("mutation { logout }", json!({}), Some(&staff.token)).await;
        assert_eq!(body["data"]["logout"], true, "{body}");
        for token in [&staff.token, &second] {
            for server in [&app, &sibling] {
                assert_error(&server.graphql(ME, json!({}), Some(token)).await, "UNAUTHENTICATED");
            }
        }
        // Only the caller's own tokens.
        let me = sibling.graphql(ME, json!({}), Some(&other.token)).await;
        assert_eq!(me["data"]["me"]["email"], other.email.as_str(), "{me}");
        assert_error(&app.graphql("mutation { logout }", json!({}), None).await, "UNAUTHENTICATED");
        // A fresh login works, and the logout is in the audit log.
        let fresh = app.login(&staff.email, PASSWORD).await;
        let admin = app.staff(&[Role::Admin]).await;
        let audit = app
            .graphql(
                "query($id: ID!){ auditLog(filter: { entityId: $id, action: \"staff.logout\" }) { totalCount } }",
                json!({ "id": staff.id }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(audit["data"]["auditLog"]["totalCount"], 1, "{audit}");
        assert!(app.graphql(ME, json!({}), Some(&fresh)).await["errors"].is_null());
    })
    .await;
}
