//! PSA failure modes, end to end: not configured, 5xx, timeouts, rejected keys, rate limits and
//! malformed answers. Each stores nothing and answers with its code.

use std::time::{Duration, Instant};

use entities::enums::{FindingKind, Severity};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::both;
use crate::code_seed::{self, gid};
use crate::helpers::{Who, code, spawn_app_with};
use crate::psa::{PROJECT, STATUS, TICKET, header_of, links, mount_tickets, setup, status_of};

both!(an_unconfigured_psa_is_named, |backend| async move {
    let s = setup(backend, |c| c.integrations.psa_service_key = None).await;
    let finding = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::Vulnerability,
        Severity::Low,
        "Old jQuery",
        |_| {},
    )
    .await;
    let rec = code_seed::recommendation(&s.app, &s.repo, "Upgrade", &["Do it"], 4.0).await;
    let (_, body) = s
        .app
        .gql(
            &s.admin,
            TICKET,
            json!({ "id": gid("Finding", finding.id) }),
        )
        .await;
    assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("PSA_SERVICE_KEY") && !message.contains("PSA_API_URL"),
        "{message}"
    );
    let (_, body) = s
        .app
        .gql(
            &s.admin,
            PROJECT,
            json!({ "id": gid("Recommendation", rec.id) }),
        )
        .await;
    assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED");
    assert_eq!(s.psa.received_requests().await.unwrap().len(), 0);
    assert_eq!(links(&s.app).await, 0);

    let bare = spawn_app_with(backend, |_| {}).await;
    let tenant = bare.tenant("tenant-a").await;
    let org = code_seed::organization(&bare, tenant, "acme", None).await;
    let repo = code_seed::repository(&bare, &org, "site", |_| {}).await;
    let finding = code_seed::finding(
        &bare,
        &repo,
        FindingKind::SecretDetected,
        Severity::High,
        "Key",
        |_| {},
    )
    .await;
    let admin = bare.token(&Who::ADMIN_A);
    let (_, body) = bare
        .gql(&admin, TICKET, json!({ "id": gid("Finding", finding.id) }))
        .await;
    assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("PSA_API_URL, PSA_SERVICE_KEY"),
        "{body}"
    );
});

both!(psa_failures_store_nothing, |backend| async move {
    let s = setup(backend, |_| {}).await;
    let finding = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::Vulnerability,
        Severity::High,
        "Vulnerable log4j",
        |_| {},
    )
    .await;
    let vars = json!({ "id": gid("Finding", finding.id) });
    // 5xx: retried (the create carries an Idempotency-Key), then UPSTREAM_UNAVAILABLE.
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("upstream stack trace: secret-detail"),
        )
        .expect(3)
        .mount(&s.psa)
        .await;
    let (_, body) = s.app.gql(&s.admin, TICKET, vars.clone()).await;
    assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
    assert!(
        !body.to_string().contains("secret-detail"),
        "no upstream body in a response"
    );
    assert_eq!(links(&s.app).await, 0);
    s.psa.verify().await;

    // Answers that are not the agreed JSON: nothing half-used, nothing stored.
    for answer in [
        ResponseTemplate::new(201).set_body_string("<html>maintenance</html>"),
        ResponseTemplate::new(201).set_body_json(json!({ "id": "" })),
        ResponseTemplate::new(201).set_body_json(json!({ "status": "New" })),
        ResponseTemplate::new(201).set_body_json(json!({ "id": 17, "status": "New" })),
    ] {
        s.psa.reset().await;
        Mock::given(method("POST"))
            .and(path("/tickets"))
            .respond_with(answer)
            .expect(1)
            .mount(&s.psa)
            .await;
        let (_, body) = s.app.gql(&s.admin, TICKET, vars.clone()).await;
        assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
        assert_eq!(links(&s.app).await, 0);
        s.psa.verify().await;
    }

    // A 4xx other than auth or rate limiting: rejected, not retried.
    s.psa.reset().await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(ResponseTemplate::new(422))
        .expect(1)
        .mount(&s.psa)
        .await;
    let (_, body) = s.app.gql(&s.admin, TICKET, vars.clone()).await;
    assert_eq!(code(&body), "UPSTREAM_REJECTED", "{body}");
    assert_eq!(links(&s.app).await, 0);
});

both!(a_slow_psa_times_out, |backend| async move {
    let s = setup(backend, |c| c.integrations.timeout_ms = 300).await;
    let finding = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::SecretDetected,
        Severity::High,
        "Token committed",
        |_| {},
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "id": "T-9", "status": "New" }))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&s.psa)
        .await;
    let started = Instant::now();
    let (_, body) = s
        .app
        .gql(
            &s.admin,
            TICKET,
            json!({ "id": gid("Finding", finding.id) }),
        )
        .await;
    assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        s.psa.received_requests().await.unwrap().len(),
        3,
        "timeouts are retried"
    );
    assert_eq!(links(&s.app).await, 0);
});

both!(
    rejected_keys_show_on_the_status_page,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        let before = code_seed::finding(
            &s.app,
            &s.repo,
            FindingKind::Vulnerability,
            Severity::Low,
            "Before the rotation",
            |_| {},
        )
        .await;
        let after = code_seed::finding(
            &s.app,
            &s.repo,
            FindingKind::Vulnerability,
            Severity::Low,
            "After the rotation",
            |_| {},
        )
        .await;
        Mock::given(method("POST"))
            .and(path("/tickets"))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({ "id": "T-1", "status": "New" })),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&s.psa)
            .await;
        let (_, body) = s
            .app
            .gql(&s.admin, TICKET, json!({ "id": gid("Finding", before.id) }))
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        let (_, page) = s.app.gql(&s.admin, STATUS, json!({})).await;
        assert_eq!(status_of(&page, "PSA")["status"], "CONNECTED");

        // PSA rotated its key: ours is refused. Not retried, nothing stored, visible on the page.
        Mock::given(method("POST"))
            .and(path("/tickets"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&s.psa)
            .await;
        let (_, body) = s
            .app
            .gql(&s.admin, TICKET, json!({ "id": gid("Finding", after.id) }))
            .await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        assert_eq!(s.psa.received_requests().await.unwrap().len(), 2);
        assert_eq!(links(&s.app).await, 1);
        let (_, page) = s.app.gql(&s.admin, STATUS, json!({})).await;
        let psa = status_of(&page, "PSA");
        assert_eq!(psa["status"], "ERROR");
        assert_eq!(
            psa["lastError"],
            "PSA refused our credentials (401): check the service key"
        );

        let rec = code_seed::recommendation(&s.app, &s.repo, "Re-platform", &["Plan"], 10.0).await;
        Mock::given(method("POST"))
            .and(path("/projects"))
            .respond_with(ResponseTemplate::new(403))
            .mount(&s.psa)
            .await;
        let (_, body) = s
            .app
            .gql(
                &s.admin,
                PROJECT,
                json!({ "id": gid("Recommendation", rec.id) }),
            )
            .await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        let (_, page) = s.app.gql(&s.admin, STATUS, json!({})).await;
        assert_eq!(
            status_of(&page, "PSA")["lastError"],
            "PSA refused our credentials (403): check the service key"
        );
    }
);

both!(rate_limits_are_waited_out, |backend| async move {
    let s = setup(backend, |_| {}).await;
    let finding = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::AccessIssue,
        Severity::Medium,
        "Busy PSA",
        |_| {},
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.psa)
        .await;
    mount_tickets(&s.psa).await;
    let started = Instant::now();
    let (_, body) = s
        .app
        .gql(
            &s.admin,
            TICKET,
            json!({ "id": gid("Finding", finding.id) }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    let requests = s.psa.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        header_of(&requests[0], "idempotency-key"),
        header_of(&requests[1], "idempotency-key")
    );
    assert_eq!(links(&s.app).await, 1);

    // A wait longer than we hold a request for: RATE_LIMITED at once, nothing stored.
    let other = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::AccessIssue,
        Severity::Medium,
        "Very busy PSA",
        |_| {},
    )
    .await;
    s.psa.reset().await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
        .expect(1)
        .mount(&s.psa)
        .await;
    let (_, body) = s
        .app
        .gql(&s.admin, TICKET, json!({ "id": gid("Finding", other.id) }))
        .await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    assert_eq!(links(&s.app).await, 1);
});
