//! Application profiles through the public API: technicians and admins set the app type,
//! hosting platform and data classification by hand (kept as edits until cleared with null) and
//! the lifecycle with a reason; marking an app for sunset records a `sunset_decision` finding
//! that becomes a PSA ticket. Viewers are refused, another tenant's repository is not found, and
//! bad input writes nothing.

use serde_json::{Value, json};

use crate::both;
use crate::code_seed::gid;
use crate::helpers::{Who, code};
use crate::psa::{TICKET, mount_tickets, setup};

const PROFILE: &str = "mutation($i: UpdateRepositoryProfileInput!) {
  updateRepositoryProfile(input: $i) { repository { id appType hostingPlatform
  dataClassification overriddenFields } } }";
const LIFECYCLE: &str = "mutation($i: SetRepositoryLifecycleInput!) {
  setRepositoryLifecycle(input: $i) { repository { id lifecycle lifecycleReason
  lifecycleChangedAt } sunsetDecision { id kind status severity title description } } }";
const READ: &str = "query($id: ID!) { node(id: $id) { ... on Repository { appType
  hostingPlatform dataClassification overriddenFields lifecycle lifecycleReason } } }";
const SUNSETS: &str = "query($r: ID!) { findings(first: 10, filter: { repositoryId: $r,
  kind: SUNSET_DECISION }) { nodes { id status description } } }";

const TECH_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tess",
    roles: &["technician"],
    products: &["code"],
};
const VIEWER_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "vic",
    roles: &["viewer"],
    products: &["code"],
};

both!(profile_edits_win_until_cleared, |backend| async move {
    let s = setup(backend, |_| {}).await;
    let app = &s.app;
    let tech = app.token(&TECH_A);
    let repo = gid("Repository", s.repo.id);
    let before = app.gql(&s.admin, READ, json!({ "id": repo })).await.1;
    let before = before["data"]["node"].clone();

    let (_, body) = app
        .gql(
            &tech,
            PROFILE,
            json!({ "i": { "repositoryId": repo, "hostingPlatform": " Azure App Service ",
                "dataClassification": "Confidential", "appType": "API service" } }),
        )
        .await;
    let r = &body["data"]["updateRepositoryProfile"]["repository"];
    assert_eq!(r["hostingPlatform"], "Azure App Service", "{body}");
    assert_eq!(r["dataClassification"], "confidential");
    assert_eq!(r["appType"], "API service");
    assert_eq!(
        r["overriddenFields"],
        json!(["APP_TYPE", "HOSTING_PLATFORM", "DATA_CLASSIFICATION"])
    );

    // null clears the value and the edit; a field left out stays.
    let (_, body) = app
        .gql(
            &s.admin,
            PROFILE,
            json!({ "i": { "repositoryId": repo, "hostingPlatform": null } }),
        )
        .await;
    let r = &body["data"]["updateRepositoryProfile"]["repository"];
    assert!(r["hostingPlatform"].is_null(), "{body}");
    assert_eq!(r["appType"], "API service");
    assert_eq!(
        r["overriddenFields"],
        json!(["APP_TYPE", "DATA_CLASSIFICATION"])
    );

    // Bad input, viewers, another tenant: refused, nothing written.
    let other = app.token(&Who::ADMIN_B);
    let viewer = app.token(&VIEWER_A);
    for (token, input, expected) in [
        (&tech, json!({ "hostingPlatform": "   " }), "BAD_USER_INPUT"),
        (
            &tech,
            json!({ "appType": "x".repeat(101) }),
            "BAD_USER_INPUT",
        ),
        (
            &tech,
            json!({ "dataClassification": "secret" }),
            "BAD_USER_INPUT",
        ),
        (&tech, json!({}), "BAD_USER_INPUT"),
        (
            &tech,
            json!({ "appType": "ok", "dataClassification": "nope" }),
            "BAD_USER_INPUT",
        ),
        (&viewer, json!({ "appType": "viewer's" }), "FORBIDDEN"),
        (&other, json!({ "appType": "theirs" }), "NOT_FOUND"),
    ] {
        let mut input = input;
        input["repositoryId"] = json!(repo);
        let (_, body) = app.gql(token, PROFILE, json!({ "i": input })).await;
        assert_eq!(code(&body), expected, "{input} {body}");
        assert!(body["data"].is_null() || body["data"]["updateRepositoryProfile"].is_null());
    }
    let after = app.gql(&s.admin, READ, json!({ "id": repo })).await.1;
    let after = &after["data"]["node"];
    assert_eq!(after["appType"], "API service", "{after}");
    assert_eq!(after["dataClassification"], "confidential");
    assert!(after["hostingPlatform"].is_null());
    assert_ne!(before["appType"], json!("ok"));
});

both!(sunset_decision_becomes_a_ticket, |backend| async move {
    let s = setup(backend, |_| {}).await;
    mount_tickets(&s.psa).await;
    let app = &s.app;
    let tech = app.token(&TECH_A);
    let repo = gid("Repository", s.repo.id);
    let set = |lifecycle: &'static str, reason: Value| json!({ "i": { "repositoryId": repo, "lifecycle": lifecycle, "reason": reason } });

    // Refusals first: nothing is written.
    let viewer = app.token(&VIEWER_A);
    let other = app.token(&Who::ADMIN_B);
    for (token, vars, expected) in [
        (&tech, set("SUNSET", json!("  ")), "BAD_USER_INPUT"),
        (
            &tech,
            set("SUNSET", json!("r".repeat(2001))),
            "BAD_USER_INPUT",
        ),
        (&viewer, set("SUNSET", json!("viewer")), "FORBIDDEN"),
        (&other, set("SUNSET", json!("theirs")), "NOT_FOUND"),
    ] {
        let (_, body) = app.gql(token, LIFECYCLE, vars).await;
        assert_eq!(code(&body), expected, "{body}");
    }
    let (_, body) = app.gql(&s.admin, SUNSETS, json!({ "r": repo })).await;
    assert_eq!(body["data"]["findings"]["nodes"], json!([]), "{body}");
    let (_, body) = app.gql(&s.admin, READ, json!({ "id": repo })).await;
    assert_eq!(body["data"]["node"]["lifecycle"], "ACTIVE", "{body}");

    // Sunset: the lifecycle, its reason and a sunset decision.
    let (_, body) = app
        .gql(
            &tech,
            LIFECYCLE,
            set(
                "SUNSET",
                json!("Replaced by the new billing platform in Q2"),
            ),
        )
        .await;
    let out = &body["data"]["setRepositoryLifecycle"];
    assert_eq!(out["repository"]["lifecycle"], "SUNSET", "{body}");
    assert_eq!(
        out["repository"]["lifecycleReason"],
        "Replaced by the new billing platform in Q2"
    );
    assert!(out["repository"]["lifecycleChangedAt"].is_string());
    let finding = &out["sunsetDecision"];
    assert_eq!(finding["kind"], "SUNSET_DECISION");
    assert_eq!(finding["status"], "OPEN");
    assert_eq!(finding["title"], "Retire billing-api");
    assert_eq!(
        finding["description"],
        "Replaced by the new billing platform in Q2"
    );
    let finding_id = finding["id"].as_str().unwrap().to_string();

    // The decision becomes a PSA ticket through createTicketFromFinding.
    let (_, body) = app.gql(&tech, TICKET, json!({ "id": finding_id })).await;
    let link = &body["data"]["createTicketFromFinding"]["psaLink"];
    assert_eq!(link["kind"], "TICKET", "{body}");
    let sent = s.psa.received_requests().await.unwrap();
    let ticket: Value = serde_json::from_slice(&sent.last().unwrap().body).unwrap();
    let text = ticket.to_string();
    assert!(
        text.contains("Sunset decision: Retire billing-api"),
        "{text}"
    );

    // Active again resolves it; sunset again reopens the same finding with the new reason.
    let (_, body) = app
        .gql(
            &s.admin,
            LIFECYCLE,
            set("ACTIVE", json!("Contract extended")),
        )
        .await;
    assert!(body["data"]["setRepositoryLifecycle"]["sunsetDecision"].is_null());
    let (_, body) = app.gql(&s.admin, SUNSETS, json!({ "r": repo })).await;
    assert_eq!(
        body["data"]["findings"]["nodes"][0]["status"], "RESOLVED",
        "{body}"
    );
    let (_, body) = app
        .gql(&s.admin, LIFECYCLE, set("SUNSET", json!("Contract ends")))
        .await;
    let again = &body["data"]["setRepositoryLifecycle"]["sunsetDecision"];
    assert_eq!(again["id"], json!(finding_id), "{body}");
    assert_eq!(again["status"], "OPEN");
    assert_eq!(again["description"], "Contract ends");
    // Dead keeps the decision.
    let (_, body) = app
        .gql(&tech, LIFECYCLE, set("DEAD", json!("Switched off")))
        .await;
    assert_eq!(
        body["data"]["setRepositoryLifecycle"]["repository"]["lifecycle"], "DEAD",
        "{body}"
    );
    let (_, body) = app.gql(&s.admin, SUNSETS, json!({ "r": repo })).await;
    let nodes = body["data"]["findings"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{body}");
    assert_eq!(nodes[0]["status"], "OPEN");
});

const PROFILES: &str = "{ repositories(first: 10, orderBy: { field: NAME }) { nodes { name
  appType hostingPlatform lastCommitAt commitFrequency overriddenFields } } }";
const REDISCOVER: &str =
    "mutation($o: ID!) { rediscoverOrganization(input: { organizationId: $o }) {
  organization { id } } }";

async fn profiles(app: &crate::helpers::TestApp, token: &str) -> Vec<Value> {
    let (_, body) = app.gql(token, PROFILES, json!({})).await;
    body["data"]["repositories"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

both!(
    discovery_reads_activity_and_infers_until_edited,
    |backend| async move {
        use chrono::{TimeDelta, Utc};
        let (app, _server, fake) = crate::providers::app_with_github(backend).await;
        let now = Utc::now();
        let newest = now - TimeDelta::hours(2);
        {
            let mut s = fake.lock().unwrap();
            // 24 commits in the last 12 weeks (one every 3 days) and one long before: 2.0 a week.
            let mut dates: Vec<_> = (0..24).map(|i| newest - TimeDelta::days(i * 3)).collect();
            dates.push(now - TimeDelta::days(300));
            s.history.insert("api".into(), dates);
            // The web repository's commits cannot be read: discovery goes on without them.
            s.history_fail.push("web".into());
            // Root files: a service deployed on Fly.io.
            s.root.insert(
                "api".into(),
                vec!["Cargo.toml".into(), "Dockerfile".into(), "fly.toml".into()],
            );
        }
        let token = app.token(&Who::ADMIN_A);
        let done = crate::providers::connect(&app, &token).await;
        assert_eq!(done["organization"]["status"], "CONNECTED", "{done}");
        let org = done["organization"]["id"].as_str().unwrap().to_string();

        let list = profiles(&app, &token).await;
        let by = |name: &str| list.iter().find(|r| r["name"] == name).unwrap().clone();
        let api = by("api");
        assert_eq!(api["commitFrequency"], 2.0, "{api}");
        let at: chrono::DateTime<Utc> = api["lastCommitAt"].as_str().unwrap().parse().unwrap();
        assert!((at - newest).num_seconds().abs() <= 1, "{api}");
        // Rust with a Dockerfile and fly.toml at the root: an API service on Fly.io.
        assert_eq!(api["appType"], "API service", "{api}");
        assert_eq!(api["hostingPlatform"], "Fly.io", "{api}");
        let web = by("web");
        assert!(web["commitFrequency"].is_null(), "{web}");
        assert_eq!(
            web["lastCommitAt"], "2026-11-20T08:30:00+00:00",
            "the last push: {web}"
        );
        assert_eq!(web["appType"], "web front-end");
        assert!(web["hostingPlatform"].is_null());

        // An edit wins over inference at the next discovery, until it is cleared.
        let web_id = {
            let (_, body) = app
            .gql(
                &token,
                "{ repositories(first: 10, filter: { nameContains: \"web\" }) { nodes { id } } }",
                json!({}),
            )
            .await;
            body["data"]["repositories"]["nodes"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (_, body) = app
            .gql(
                &token,
                PROFILE,
                json!({ "i": { "repositoryId": web_id, "appType": "marketing site",
                "hostingPlatform": "Azure Static Web Apps" } }),
            )
            .await;
        assert_eq!(
            body["data"]["updateRepositoryProfile"]["repository"]["appType"], "marketing site",
            "{body}"
        );
        rediscover(&app, &token, &org).await;
        let web = profile_of(&app, &token, "web").await;
        assert_eq!(web["appType"], "marketing site", "{web}");
        assert_eq!(web["hostingPlatform"], "Azure Static Web Apps");
        assert_eq!(
            web["overriddenFields"],
            json!(["APP_TYPE", "HOSTING_PLATFORM"])
        );

        // Cleared: inference fills the app type again.
        let (_, body) = app
            .gql(
                &token,
                PROFILE,
                json!({ "i": { "repositoryId": web_id, "appType": null } }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        rediscover(&app, &token, &org).await;
        let web = profile_of(&app, &token, "web").await;
        assert_eq!(web["appType"], "web front-end", "{web}");
        assert_eq!(web["hostingPlatform"], "Azure Static Web Apps");
        drop(fake);
    }
);

async fn profile_of(app: &crate::helpers::TestApp, token: &str, name: &str) -> Value {
    profiles(app, token)
        .await
        .into_iter()
        .find(|r| r["name"] == name)
        .unwrap()
}

async fn rediscover(app: &crate::helpers::TestApp, token: &str, org: &str) {
    let (_, body) = app.gql(token, REDISCOVER, json!({ "o": org })).await;
    assert!(body["errors"].is_null(), "{body}");
    crate::discovery::settled(app, token, org).await;
}

both!(gitlab_commits_give_activity, |backend| async move {
    use chrono::{TimeDelta, Utc};
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let (app, server) = crate::providers_gitlab::app_with_gitlab(backend).await;
    let newest = Utc::now() - TimeDelta::days(1);
    // Six commits in the last 12 weeks: 0.5 a week. Project 2's commits are not served (404):
    // unknown, and discovery goes on.
    let commits: Vec<Value> = (0..6)
        .map(|i| {
            let at = (newest - TimeDelta::days(i * 10)).to_rfc3339();
            json!({ "id": format!("c{i}"), "committed_date": at, "authored_date": at })
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/1/repository/commits"))
        .and(query_param("per_page", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(commits))
        .mount(&server)
        .await;
    let token = app.token(&Who::ADMIN_A);
    let projects = vec![
        crate::providers_gitlab::project(1, "api", "acme/api", "private", false),
        crate::providers_gitlab::project(2, "web", "acme/web", "internal", false),
    ];
    let (org, _) = crate::providers_gitlab::connect_with(&app, &server, &token, projects).await;
    let settled = crate::discovery::settled(&app, &token, &org).await;
    assert_eq!(settled["status"], "CONNECTED", "{settled}");
    let api = profile_of(&app, &token, "api").await;
    let seen: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.to_string())
        .collect();
    assert_eq!(api["commitFrequency"], 0.5, "{api} {seen:?}");
    let at: chrono::DateTime<Utc> = api["lastCommitAt"].as_str().unwrap().parse().unwrap();
    assert!((at - newest).num_seconds().abs() <= 1, "{api}");
    let web = profile_of(&app, &token, "web").await;
    assert!(web["commitFrequency"].is_null(), "{web}");
    assert!(
        web["hostingPlatform"].is_null(),
        "never the provider: {web}"
    );
});
