//! Front-ends on their own origin: CORS for the configured origins only (credentials allowed,
//! preflight cached), nothing for any other origin, and nothing at all when none is configured.
//! (Links and redirects to `FRONTEND_URL`: tests/api/psa.rs, crm.rs, credentials.rs.)

use reqwest::header::HeaderMap;
use serde_json::json;
use stack_gateway::config::Frontend;

use crate::both;
use crate::helpers::{Backend, TestApp, Who, spawn_app, spawn_app_with};

const APP: &str = "https://app.example.com";
const DEV: &str = "http://localhost:5173";
const EVIL: &str = "https://evil.example.com";

async fn with_frontend(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.frontend = Frontend::from_vars("http://gateway.test", Some(APP), Some(DEV)).unwrap();
    })
    .await
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> (u16, HeaderMap) {
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

async fn post_from(app: &TestApp, origin: &str) -> (u16, HeaderMap, serde_json::Value) {
    let token = app.token(&Who::ADMIN_A);
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("origin", origin)
        .bearer_auth(token)
        .json(&json!({ "query": "{ viewer { tenant { name } } }" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

both!(cors_answers_configured_origins_only, |backend| async move {
    let app = with_frontend(backend).await;
    for origin in [APP, DEV] {
        let (status, headers) = preflight(&app, "/graphql", origin).await;
        assert_eq!(status, 200, "{origin}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(origin)
        );
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(header(&headers, "access-control-max-age"), Some("3600"));
        let methods = header(&headers, "access-control-allow-methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let allowed = header(&headers, "access-control-allow-headers")
            .unwrap()
            .to_ascii_lowercase();
        assert!(allowed.contains("content-type") && allowed.contains("authorization"));
        assert!(
            header(&headers, "vary")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .contains("origin")
        );

        let (status, headers, body) = post_from(&app, origin).await;
        assert_eq!(status, 200);
        assert!(
            body["data"]["viewer"]["tenant"]["name"].is_string(),
            "{body}"
        );
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(origin)
        );
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            Some("true")
        );
        let exposed = header(&headers, "access-control-expose-headers").unwrap();
        assert!(exposed.contains("x-request-id"), "{exposed}");
    }
    // Logging out from the front-end is a browser call too.
    let (status, headers) = preflight(&app, "/auth/logout", APP).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));

    // Another origin: no CORS header, so the browser keeps the answer from the page.
    let (_, headers) = preflight(&app, "/graphql", EVIL).await;
    assert!(header(&headers, "access-control-allow-origin").is_none());
    assert!(header(&headers, "access-control-allow-credentials").is_none());
    let (_, headers, _) = post_from(&app, EVIL).await;
    assert!(header(&headers, "access-control-allow-origin").is_none());
    // A look-alike of an allowed origin is another origin.
    for near in ["https://app.example.com.evil.com", "http://app.example.com"] {
        let (_, headers) = preflight(&app, "/graphql", near).await;
        assert!(
            header(&headers, "access-control-allow-origin").is_none(),
            "{near}"
        );
    }
    // Paths no browser front-end calls get no CORS either (the agent API, the SSO entry).
    let (_, headers) = preflight(&app, "/api/agent/register", APP).await;
    assert!(header(&headers, "access-control-allow-origin").is_none());
});

both!(
    without_configuration_no_origin_gets_cors,
    |backend| async move {
        let app = spawn_app(backend).await;
        for origin in [APP, EVIL] {
            let (_, headers) = preflight(&app, "/graphql", origin).await;
            assert!(header(&headers, "access-control-allow-origin").is_none());
            let (status, headers, _) = post_from(&app, origin).await;
            assert_eq!(status, 200);
            assert!(header(&headers, "access-control-allow-origin").is_none());
        }
    }
);
