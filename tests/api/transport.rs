//! GraphQL over HTTP: media types, status codes, GET rules, batching, bodies, masking.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};

async fn raw_post(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let mut request = app.client.post(app.url("/graphql")).body(body.to_string());
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    if let Some(a) = accept {
        request = request.header("accept", a);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, response.text().await.unwrap())
}

both!(media_types_follow_the_spec, |backend| async move {
    let app = spawn_app(backend).await;
    let query = r#"{"query":"{ __typename }"}"#;
    let (status, ct, body) = raw_post(
        &app,
        Some("application/json"),
        Some("application/graphql-response+json"),
        query,
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (200, "application/graphql-response+json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]["__typename"],
        "Query"
    );
    let (_, ct, _) = raw_post(
        &app,
        Some("application/json; charset=utf-8"),
        Some("application/json"),
        query,
    )
    .await;
    assert_eq!(ct, "application/json");
    // The spec's watershed: a wildcard or no Accept at all is a legacy client, answered with
    // application/json; naming the new type anywhere in the list picks it.
    for accept in [Some("*/*"), None, Some("application/*")] {
        let (status, ct, _) = raw_post(&app, Some("application/json"), accept, query).await;
        assert_eq!(
            (status, ct.as_str()),
            (200, "application/json"),
            "{accept:?}"
        );
    }
    let (_, ct, _) = raw_post(
        &app,
        Some("application/json"),
        Some("application/json, application/graphql-response+json;q=0.9, */*"),
        query,
    )
    .await;
    assert_eq!(ct, "application/graphql-response+json");
    let (status, _, _) = raw_post(&app, Some("application/json"), Some("text/html"), query).await;
    assert_eq!(status, 406);
    // text/plain and form bodies are refused (a cross-site form cannot post GraphQL with cookies).
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, _, body) = raw_post(&app, Some(ct), None, query).await;
        assert_eq!(status, 415, "{ct}");
        assert_eq!(
            code(&serde_json::from_str(&body).unwrap()),
            "BAD_USER_INPUT"
        );
    }
    let (status, _, _) = raw_post(&app, None, None, query).await;
    assert_eq!(status, 415);
});

both!(
    malformed_requests_get_400_without_data,
    |backend| async move {
        let app = spawn_app(backend).await;
        for body in [
            "{not json",
            r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#,
            r#"{"query": 42}"#,
            r#"{}"#,
            r#"{"query":"{ __typename }","variables":"x"}"#,
            r#"{"query":"{ __typename }","extensions":[1]}"#,
            r#"{"query":"{ __typename }","unknown":1}"#,
        ] {
            let (status, _, text) = raw_post(&app, Some("application/json"), None, body).await;
            assert_eq!(status, 400, "{body}");
            let json: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(code(&json), "BAD_USER_INPUT", "{body}");
            assert!(json.get("data").is_none(), "{body}");
        }
        // Parse and validation failures: 400 with graphql-response+json, 200 with legacy JSON;
        // either way no `data` entry (the error came before execution).
        const NEW: Option<&str> = Some("application/graphql-response+json");
        let (status, _, text) = raw_post(
            &app,
            Some("application/json"),
            NEW,
            r#"{"query":"{ viewer { "}"#,
        )
        .await;
        assert_eq!(status, 400);
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(code(&json), "GRAPHQL_PARSE_FAILED");
        assert!(json.get("data").is_none(), "{json}");
        let (status, _, text) = raw_post(
            &app,
            Some("application/json"),
            NEW,
            r#"{"query":"{ noSuchField }"}"#,
        )
        .await;
        assert_eq!(status, 400);
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(code(&json), "GRAPHQL_VALIDATION_FAILED");
        assert!(json.get("data").is_none(), "{json}");
        for accept in [Some("application/json"), None] {
            let (status, _, text) = raw_post(
                &app,
                Some("application/json"),
                accept,
                r#"{"query":"{ noSuchField }"}"#,
            )
            .await;
            assert_eq!(status, 200, "{accept:?}");
            assert!(
                serde_json::from_str::<Value>(&text)
                    .unwrap()
                    .get("data")
                    .is_none()
            );
        }
    }
);

both!(
    wrong_variable_types_are_validation_errors,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let query = "query($n: Int!) { repositories(first: $n) { totalCount } }";
        for bad in [
            json!({ "n": "ten" }),
            json!({ "n": 1.5 }),
            json!({}),
            json!({ "n": null }),
        ] {
            let (status, body) = app.gql(&token, query, json!(bad)).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{bad}: {body}");
        }
        let (status, body) = app.gql(&token, query, json!({ "n": 0 })).await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), "BAD_USER_INPUT");
        let (status, body) = app.gql(&token, query, json!({ "n": 101 })).await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), "BAD_USER_INPUT");
        let (_, body) = app
            .gql(&token, "{ repositories { totalCount } }", json!({}))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        let (_, body) = app
            .gql(
                &token,
                r#"{ repositories(first: 1, after: "!!") { totalCount } }"#,
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
);

both!(get_runs_queries_but_never_mutations, |backend| async move {
    let app = spawn_app(backend).await;
    let token = app.token(&Who::ADMIN_A);
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ viewer { name } }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["name"], "ALICE");

    let mutation =
        "mutation { setCrmHourlyRate(input: { hourlyRate: 150 }) { tenant { crmHourlyRate } } }";
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", mutation)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    // Nothing changed.
    let (_, body) = app
        .gql(&token, "{ viewer { tenant { crmHourlyRate } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["viewer"]["tenant"]["crmHourlyRate"],
        Value::Null
    );
    // The same mutation over POST works.
    let (_, body) = app.gql(&token, mutation, json!({})).await;
    assert_eq!(
        body["data"]["setCrmHourlyRate"]["tenant"]["crmHourlyRate"],
        150.0
    );

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }"), ("variables", "[1]")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
});

both!(mutation_inputs_are_checked, |backend| async move {
    let app = spawn_app(backend).await;
    let admin = app.token(&Who::ADMIN_A);
    let viewer = app.token(&Who {
        tenant: "tenant-a",
        sub: "vic",
        roles: &["viewer"],
        products: &["code"],
    });
    let m = "mutation($r: Float!) { setCrmHourlyRate(input: { hourlyRate: $r }) { tenant { crmHourlyRate } } }";
    for bad in [0.0, -5.0, 1e9] {
        let (_, body) = app.gql(&admin, m, json!({ "r": bad })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}");
    }
    let (_, body) = app.gql(&viewer, m, json!({ "r": 100.0 })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql(&admin, "{ viewer { tenant { crmHourlyRate } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["viewer"]["tenant"]["crmHourlyRate"],
        Value::Null,
        "nothing half written"
    );
});

both!(bodies_over_the_limit_are_refused, |backend| async move {
    let app = spawn_app_with(backend, |c| c.graphql.max_body_bytes = 4096).await;
    let padding = " ".repeat(4096);
    let (status, _, text) = raw_post(
        &app,
        Some("application/json"),
        None,
        &format!(r#"{{"query":"{{ __typename }}"}}{padding}"#),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(
        code(&serde_json::from_str(&text).unwrap()),
        "PAYLOAD_TOO_LARGE"
    );
    let fits = format!(r#"{{"query":"{{ __typename }}"}}{}"#, " ".repeat(4096 - 26));
    assert_eq!(fits.len(), 4096);
    let (status, _, _) = raw_post(&app, Some("application/json"), None, &fits).await;
    assert_eq!(status, 200);
});

both!(health_and_readiness_answer, |backend| async move {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "database": true, "queue": true, "failed": [] })
    );
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page loads a script");
    assert!(script.starts_with("/playground/assets/"), "{script}");
    // Served by the binary itself: no CDN.
    let asset = app.client.get(app.url(script)).send().await.unwrap();
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
});
