//! The read graph: keyset pagination, filters, nested lists, and the SQL statement count.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, code, spawn_app, spawn_app_with, timers_off};

both!(
    keyset_pagination_walks_forward_and_backward,
    |backend| async move {
        let app = spawn_app(backend).await;
        let a = app.tenant("tenant-a").await;
        app.seed_code(a, "alpha", 1, 7, 0).await;
        let token = app.token(&Who::ADMIN_A);
        let page = "query($first: Int, $after: String, $last: Int, $before: String) {
        repositories(first: $first, after: $after, last: $last, before: $before) {
          totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
        let names = |body: &Value| -> Vec<String> {
            body["data"]["repositories"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let (_, body) = app
                .gql(&token, page, json!({ "first": 3, "after": after }))
                .await;
            assert_eq!(body["data"]["repositories"]["totalCount"], 7);
            seen.extend(names(&body));
            let info = &body["data"]["repositories"]["pageInfo"];
            if !info["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = info["endCursor"].clone();
        }
        let expected: Vec<String> = (0..7).map(|r| format!("alpha-repo-0-{r}")).collect();
        assert_eq!(seen, expected);

        let (_, last) = app.gql(&token, page, json!({ "last": 2 })).await;
        assert_eq!(names(&last), ["alpha-repo-0-5", "alpha-repo-0-6"]);
        assert_eq!(
            last["data"]["repositories"]["pageInfo"]["hasPreviousPage"],
            true
        );
        let before = last["data"]["repositories"]["pageInfo"]["startCursor"].clone();
        let (_, prev) = app
            .gql(&token, page, json!({ "last": 2, "before": before }))
            .await;
        assert_eq!(names(&prev), ["alpha-repo-0-3", "alpha-repo-0-4"]);

        let (_, both) = app
            .gql(&token, page, json!({ "first": 2, "last": 2 }))
            .await;
        assert_eq!(code(&both), "BAD_USER_INPUT");
    }
);

both!(filters_narrow_the_lists, |backend| async move {
    let app = spawn_app(backend).await;
    let a = app.tenant("tenant-a").await;
    app.seed_code(a, "alpha", 2, 5, 4).await;
    let token = app.token(&Who::ADMIN_A);
    let (_, body) = app.gql(&token, "{ findings(first: 100, filter: { severity: [CRITICAL, HIGH] }) { totalCount edges { node { severity } } } }", json!({})).await;
    assert_eq!(body["data"]["findings"]["totalCount"], 20);
    assert!(
        body["data"]["findings"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| ["CRITICAL", "HIGH"].contains(&e["node"]["severity"].as_str().unwrap()))
    );
    let (_, body) = app.gql(&token, "{ findings(first: 1, filter: { kind: SECRET_DETECTED, status: OPEN }) { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["findings"]["totalCount"], 20);
    let (_, body) = app
        .gql(
            &token,
            "{ repositories(first: 10, filter: { lifecycle: SUNSET }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["repositories"]["totalCount"], 2);
    let (_, body) = app
        .gql(
            &token,
            r#"{ repositories(first: 10, filter: { nameContains: "REPO-1-" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["repositories"]["totalCount"], 5);
    let (_, body) = app
        .gql(
            &token,
            r#"{ repositories(first: 10, filter: { nameContains: "%" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["repositories"]["totalCount"], 0,
        "LIKE wildcards are literal"
    );
    let (_, body) = app.gql(&token, "{ organizations(first: 10, filter: { provider: GITLAB }) { totalCount edges { node { provider } } } }", json!({})).await;
    assert_eq!(body["data"]["organizations"]["totalCount"], 1);
    let (_, body) = app.gql(&token, r#"{ findings(first: 1, filter: { repositoryId: "T3JnYW5pemF0aW9uOjAxOWE" }) { totalCount } }"#, json!({})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
});

const NESTED: &str = "{ organizations(first: 3) { edges { node { login
    repositories(first: 10) { totalCount edges { node { name
      findings(first: 5, filter: { status: OPEN }) { edges { node { title repository { name } } } } } } } } } } }";

/// organizations, repositories, their totalCount, findings, finding → repository (DataLoader).
const NESTED_STATEMENTS: u64 = 5;

both!(
    nested_lists_cost_one_statement_per_level_at_any_concurrency,
    |backend| async move {
        let app = spawn_app_with(backend, timers_off).await;
        let a = app.tenant("tenant-a").await;
        app.seed_code(a, "alpha", 3, 10, 8).await;
        let token = app.token(&Who::ADMIN_A);
        // Warm the Bearer cache so authentication costs no statement.
        let (_, body) = app.gql(&token, NESTED, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let orgs = body["data"]["organizations"]["edges"].as_array().unwrap();
        assert_eq!(orgs.len(), 3);
        for org in orgs {
            let repos = &org["node"]["repositories"];
            assert_eq!(repos["totalCount"], 10);
            assert_eq!(repos["edges"].as_array().unwrap().len(), 10);
            for repo in repos["edges"].as_array().unwrap() {
                let findings = repo["node"]["findings"]["edges"].as_array().unwrap();
                assert_eq!(findings.len(), 5);
                for f in findings {
                    assert_eq!(f["node"]["repository"]["name"], repo["node"]["name"]);
                }
            }
        }
        app.settle().await;
        for concurrency in [1u64, 4, 32] {
            let before = app.statements();
            let results =
                join_all((0..concurrency).map(|_| app.gql(&token, NESTED, json!({})))).await;
            for (status, body) in &results {
                assert_eq!(*status, 200);
                assert!(body.get("errors").is_none());
            }
            let per_request = (app.statements() - before) as f64 / concurrency as f64;
            assert_eq!(
                per_request, NESTED_STATEMENTS as f64,
                "at {concurrency} concurrent requests"
            );
        }
        // Page size does not change the count.
        let small = NESTED
            .replace("first: 10", "first: 2")
            .replace("first: 5", "first: 1");
        let before = app.statements();
        app.gql(&token, &small, json!({})).await;
        assert_eq!(app.statements() - before, NESTED_STATEMENTS);
    }
);

// Each parent's child rows are moved out of the level's shared load, so two aliases of one field
// with the same arguments must each get their own load, and both answers must be whole.
both!(
    two_aliases_of_one_nested_list_both_get_their_rows,
    |backend| async move {
        let app = spawn_app_with(backend, timers_off).await;
        let a = app.tenant("tenant-a").await;
        app.seed_code(a, "alpha", 1, 4, 3).await;
        let token = app.token(&Who::ADMIN_A);
        let query = "{ repositories(first: 4) { nodes { name
            open: findings(first: 2) { nodes { id } }
            again: findings(first: 2) { nodes { id } }
            findings(first: 2) { nodes { id } } } } }";
        let (_, body) = app.gql(&token, query, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let repos = body["data"]["repositories"]["nodes"].as_array().unwrap();
        assert_eq!(repos.len(), 4);
        for repo in repos {
            let ids = |key: &str| repo[key]["nodes"].clone();
            assert_eq!(ids("open").as_array().unwrap().len(), 2, "{repo}");
            assert_eq!(ids("open"), ids("again"), "{repo}");
            assert_eq!(ids("open"), ids("findings"), "{repo}");
        }
        // One statement for the repositories and one per alias of the nested list.
        app.settle().await;
        let before = app.statements();
        app.gql(&token, query, json!({})).await;
        assert_eq!(app.statements() - before, 4);
    }
);
