//! Hub SSO, cookie sessions, Bearer tokens, logout, and every way a token can be wrong.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{SECRET, TestApp, Who, code, spawn_app};

fn claims(app: &TestApp, overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "sub": "alice", "email": "alice@example.com", "name": "Alice", "tenant_id": "tenant-a",
        "tenant_name": "Tenant A", "roles": ["technician"], "products": ["code"],
        "exp": now + 300, "iat": now, "jti": uuid::Uuid::new_v4().to_string(),
        "iss": app.sso.issuer, "aud": app.sso.audience, "session_exp": now + 3600,
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

pub async fn sso(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/auth/sso"))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap()
}

pub fn session_cookie(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get("set-cookie")
        .expect("a cookie is set")
        .to_str()
        .unwrap()
        .to_string();
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    header.split(';').next().unwrap().to_string()
}

async fn viewer_with_cookie(app: &TestApp, cookie: &str) -> Value {
    app.client
        .post(app.url("/graphql"))
        .header("cookie", cookie)
        .json(&json!({ "query": "{ viewer { name email roles products tenant { name } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

both!(
    sso_sets_a_session_cookie_that_signs_the_user_in,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = sign(&claims(&app, json!({})), SECRET);
        let response = sso(&app, &token).await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], "/");
        let cookie = session_cookie(&response);
        assert!(cookie.starts_with("code_session="));
        let body = viewer_with_cookie(&app, &cookie).await;
        assert_eq!(body["data"]["viewer"]["email"], "alice@example.com");
        assert_eq!(body["data"]["viewer"]["roles"], json!(["TECHNICIAN"]));
        assert_eq!(body["data"]["viewer"]["products"], json!(["CODE"]));
        assert_eq!(body["data"]["viewer"]["tenant"]["name"], "Tenant A");

        // The session is stored hashed: the cookie value appears nowhere in the database.
        let value = cookie.split_once('=').unwrap().1;
        let rows = entities::sessions::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_ne!(rows[0].token_hash, value);

        // Logout ends the session.
        let out = app
            .client
            .post(app.url("/auth/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        assert!(
            out.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let after = viewer_with_cookie(&app, &cookie).await;
        assert_eq!(code(&after), "UNAUTHENTICATED");
        assert_eq!(after["data"], Value::Null);
    }
);

both!(a_sign_in_token_is_accepted_once, |backend| async move {
    let app = spawn_app(backend).await;
    let token = sign(&claims(&app, json!({})), SECRET);
    assert_eq!(sso(&app, &token).await.status(), 303);
    let replay = sso(&app, &token).await;
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
});

both!(bad_tokens_are_refused_with_a_reason, |backend| async move {
    let app = spawn_app(backend).await;
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "forged",
            sign(
                &claims(&app, json!({})),
                "another-secret-that-is-also-32-bytes-long!",
            ),
            401,
            "signature",
        ),
        (
            "expired",
            sign(
                &claims(&app, json!({ "exp": now - 120, "iat": now - 600 })),
                SECRET,
            ),
            401,
            "expired",
        ),
        (
            "not yet valid",
            sign(&claims(&app, json!({ "nbf": now + 600 })), SECRET),
            401,
            "not valid yet",
        ),
        (
            "wrong audience",
            sign(&claims(&app, json!({ "aud": "someone-else" })), SECRET),
            401,
            "audience",
        ),
        (
            "wrong issuer",
            sign(&claims(&app, json!({ "iss": "evil" })), SECRET),
            401,
            "issued",
        ),
        (
            "missing tenant",
            sign(&claims(&app, json!({ "tenant_id": null })), SECRET),
            401,
            "claim",
        ),
        (
            "missing jti",
            sign(&claims(&app, json!({ "jti": null })), SECRET),
            401,
            "claim",
        ),
        (
            "hub session over",
            sign(&claims(&app, json!({ "session_exp": now - 1 })), SECRET),
            401,
            "session",
        ),
        (
            "no product",
            sign(&claims(&app, json!({ "products": ["psa"] })), SECRET),
            403,
            "neither",
        ),
        (
            "no role",
            sign(&claims(&app, json!({ "roles": ["owner"] })), SECRET),
            403,
            "role",
        ),
        ("garbage", "not.a.jwt".to_string(), 401, "malformed"),
    ];
    for (name, token, status, why) in cases {
        let response = sso(&app, &token).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(
            ["UNAUTHENTICATED", "FORBIDDEN"].contains(&code(&body)),
            "{name}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{name}: {message}");
        // The same token as Bearer is refused too.
        let (status, body) = app.gql(&token, "{ viewer { id } }", json!({})).await;
        assert!(status == 401 || status == 403, "{name}: {status}");
        assert!(body["data"].is_null(), "{name}");
    }
    // No session was created by any of them.
    assert_eq!(
        entities::sessions::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap()
            .len(),
        0
    );
});

both!(an_alg_none_token_is_refused, |backend| async move {
    let app = spawn_app(backend).await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&app, json!({ "roles": ["admin"] })).to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        let response = sso(&app, &token).await;
        assert_eq!(response.status(), 401);
        let (status, _) = app.gql(&token, "{ viewer { id } }", json!({})).await;
        assert_eq!(status, 401);
    }
});

both!(
    bearer_tokens_work_on_every_request_and_products_are_enforced,
    |backend| async move {
        let app = spawn_app(backend).await;
        let migrate_only = app.token(&Who {
            tenant: "t",
            sub: "m",
            roles: &["viewer"],
            products: &["migrate"],
        });
        let (status, body) = app
            .gql(
                &migrate_only,
                "{ viewer { products } repositories(first: 1) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["viewer"]["products"], json!(["MIGRATE"]));
        assert_eq!(code(&body), "FORBIDDEN");
        assert_eq!(body["errors"][0]["path"], json!(["repositories"]));
        // The same Bearer token is accepted again (single use is for the SSO exchange only).
        let (status, _) = app.gql(&migrate_only, "{ viewer { id } }", json!({})).await;
        assert_eq!(status, 200);
    }
);

// Verified Bearer tokens are kept by the server; a kept one must still stop working the moment
// its Hub session ends, and a tampered copy of a kept one must not ride on it.
both!(
    a_kept_bearer_token_stops_when_its_hub_session_ends,
    |backend| async move {
        let app = spawn_app(backend).await;
        let now = chrono::Utc::now().timestamp();
        let token = sign(&claims(&app, json!({ "session_exp": now + 2 })), SECRET);
        let query = "{ viewer { email } }";
        for _ in 0..2 {
            let (status, body) = app.gql(&token, query, json!({})).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["viewer"]["email"], "alice@example.com");
        }
        let (head, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{head}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
        let (_, body) = app.gql(&forged, query, json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

        tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
        let (_, body) = app.gql(&token, query, json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Hub session has ended"),
            "{body}"
        );
    }
);

#[test]
fn jwt_signing_works_with_the_configured_crypto_backend() {
    // jsonwebtoken ≥ 10 panics at the first sign/verify without exactly one backend.
    let token = sign(&json!({ "sub": "x" }), SECRET);
    assert_eq!(token.split('.').count(), 3);
}

use sea_orm::EntityTrait;
