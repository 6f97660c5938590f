//! The Migrate read graph: projects → jobs → agent / events, filters, tenancy, statement count.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, code, spawn_app, spawn_app_with, timers_off};

const NESTED: &str = "{ projects(first: 5) { totalCount edges { node { name storageConnected
    jobs(first: 6) { edges { node { name status bytesTotal agent { name status } project { name }
      events(first: 2) { edges { node { kind message data } } } } } } } } } }";

/// projects, their totalCount, jobs, job → agent, job → project (DataLoader), events.
const NESTED_STATEMENTS: u64 = 6;

both!(
    projects_jobs_agents_and_events_read_in_one_statement_per_level,
    |backend| async move {
        let app = spawn_app_with(backend, timers_off).await;
        let a = app.tenant("tenant-a").await;
        app.seed_migrate(a, "alpha", 3, 6, 3).await;
        let token = app.token(&Who::ADMIN_A);
        let (_, body) = app.gql(&token, NESTED, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let projects = body["data"]["projects"]["edges"].as_array().unwrap();
        assert_eq!(body["data"]["projects"]["totalCount"], 3);
        let jobs = projects[0]["node"]["jobs"]["edges"].as_array().unwrap();
        assert_eq!(jobs.len(), 6);
        assert_eq!(
            jobs[0]["node"]["bytesTotal"],
            json!(5_000_000_000i64),
            "64-bit counts survive"
        );
        assert_eq!(jobs[0]["node"]["agent"]["name"], "alpha-agent-0");
        assert_eq!(jobs[2]["node"]["agent"], Value::Null);
        assert_eq!(
            jobs[0]["node"]["project"]["name"],
            projects[0]["node"]["name"]
        );
        assert_eq!(
            jobs[0]["node"]["events"]["edges"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            jobs[0]["node"]["events"]["edges"][1]["node"]["data"],
            json!({ "step": 1 })
        );

        app.settle().await;
        for concurrency in [1u64, 4, 32] {
            let before = app.statements();
            join_all((0..concurrency).map(|_| app.gql(&token, NESTED, json!({})))).await;
            let per_request = (app.statements() - before) as f64 / concurrency as f64;
            assert_eq!(
                per_request, NESTED_STATEMENTS as f64,
                "at {concurrency} concurrent requests"
            );
        }
    }
);

both!(job_filters_and_tenancy, |backend| async move {
    let app = spawn_app(backend).await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let jobs_a = app.seed_migrate(a, "alpha", 2, 6, 0).await;
    app.seed_migrate(b, "alpha", 2, 6, 0).await;
    let ta = app.token(&Who::ADMIN_A);
    let tb = app.token(&Who::ADMIN_B);
    let (_, body) = app.gql(&ta, "{ jobs(first: 50, filter: { status: [COMPLETED, FAILED] }) { totalCount edges { node { status } } } }", json!({})).await;
    assert_eq!(body["data"]["jobs"]["totalCount"], 4);
    let (_, body) = app.gql(&ta, "{ agents(first: 10, filter: { status: ONLINE }) { totalCount edges { node { id name } } } }", json!({})).await;
    assert_eq!(body["data"]["agents"]["totalCount"], 1);
    let agent = body["data"]["agents"]["edges"][0]["node"]["id"].clone();
    let (_, body) = app
        .gql(
            &ta,
            "query($a: ID!) { jobs(first: 50, filter: { agentId: $a }) { totalCount } }",
            json!({ "a": agent }),
        )
        .await;
    assert_eq!(body["data"]["jobs"]["totalCount"], 4);
    // Tenant B sees none of A's jobs, by list, by filter or by node.
    let (_, body) = app
        .gql(
            &tb,
            "query($a: ID!) { jobs(first: 50, filter: { agentId: $a }) { totalCount } }",
            json!({ "a": agent }),
        )
        .await;
    assert_eq!(body["data"]["jobs"]["totalCount"], 0);
    let job_id = stack_gateway::graphql::relay::global_id("Job", jobs_a[0]).0;
    let (_, body) = app
        .gql(
            &tb,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": job_id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app
        .gql(
            &ta,
            "query($id: ID!) { node(id: $id) { ... on Job { name } } }",
            json!({ "id": job_id }),
        )
        .await;
    assert_eq!(body["data"]["node"]["name"], "alpha job 0-0");
    // A Code-only user cannot read Migrate data.
    let code_only = app.token(&Who {
        tenant: "tenant-a",
        sub: "c",
        roles: &["admin"],
        products: &["code"],
    });
    let (_, body) = app
        .gql(&code_only, "{ jobs(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql(
            &code_only,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": job_id }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
});
