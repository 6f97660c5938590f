//! Two tenants with look-alike data: nothing of one is ever visible to the other.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, code, spawn_app};

both!(
    no_query_node_or_filter_crosses_tenants,
    |backend| async move {
        let app = spawn_app(backend).await;
        let a = app.tenant("tenant-a").await;
        let b = app.tenant("tenant-b").await;
        app.seed_code(a, "alpha", 2, 3, 2).await;
        app.seed_code(b, "alpha", 2, 3, 2).await; // same names on purpose
        let ta = app.token(&Who::ADMIN_A);
        let tb = app.token(&Who::ADMIN_B);

        let everything = "{ organizations(first: 10) { totalCount edges { node { id repositories(first: 10) { totalCount edges { node { id findings(first: 10) { totalCount edges { node { id } } } } } } } } }
                        repositories(first: 100) { totalCount edges { node { id } } }
                        findings(first: 100) { totalCount edges { node { id repository { id } } } } }";
        let (_, body_a) = app.gql(&ta, everything, json!({})).await;
        let (_, body_b) = app.gql(&tb, everything, json!({})).await;
        assert!(body_a.get("errors").is_none(), "{body_a}");
        assert_eq!(body_a["data"]["organizations"]["totalCount"], 2);
        assert_eq!(body_a["data"]["repositories"]["totalCount"], 6);
        assert_eq!(body_a["data"]["findings"]["totalCount"], 12);
        assert_eq!(
            body_a["data"]["organizations"]["edges"][0]["node"]["repositories"]["totalCount"],
            3
        );

        let ids = |body: &Value| -> Vec<String> {
            let mut out = Vec::new();
            collect_ids(body, &mut out);
            out
        };
        let ids_a = ids(&body_a);
        let ids_b = ids(&body_b);
        assert!(ids_a.len() >= 20);
        for id in &ids_a {
            assert!(!ids_b.contains(id), "tenant B saw {id}");
        }

        // node / nodes of another tenant's ids are NOT_FOUND, exactly like a missing id.
        for id in ids_a.iter().take(8) {
            let (_, body) = app
                .gql(
                    &tb,
                    "query($id: ID!) { node(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(code(&body), "NOT_FOUND", "{id}");
            assert_eq!(body["data"], Value::Null);
            let (_, own) = app
                .gql(
                    &ta,
                    "query($id: ID!) { node(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(own["data"]["node"]["id"], *id);
        }
        let missing =
            stack_gateway::graphql::relay::global_id("Repository", uuid::Uuid::now_v7()).0;
        let (_, body) = app
            .gql(
                &tb,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": missing }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND");
        let (_, body) = app
            .gql(
                &tb,
                "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                json!({ "ids": &ids_a[..3] }),
            )
            .await;
        assert_eq!(body["data"]["nodes"], json!([null, null, null]));

        // Filters naming another tenant's objects find nothing.
        let repo_a = body_a["data"]["repositories"]["edges"][0]["node"]["id"].clone();
        let org_a = body_a["data"]["organizations"]["edges"][0]["node"]["id"].clone();
        let (_, body) = app.gql(&tb, "query($r: ID!) { findings(first: 10, filter: { repositoryId: $r }) { totalCount } }", json!({ "r": repo_a })).await;
        assert_eq!(body["data"]["findings"]["totalCount"], 0);
        let (_, body) = app.gql(&tb, "query($o: ID!) { repositories(first: 10, filter: { organizationId: $o }) { totalCount } }", json!({ "o": org_a })).await;
        assert_eq!(body["data"]["repositories"]["totalCount"], 0);

        // Malformed ids are bad input, not a crash.
        let (_, body) = app
            .gql(&tb, r#"{ node(id: "bm90LWFuLWlk") { id } }"#, json!({}))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
);

both!(anonymous_requests_see_nothing, |backend| async move {
    let app = spawn_app(backend).await;
    let a = app.tenant("tenant-a").await;
    app.seed_code(a, "alpha", 1, 2, 1).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ repositories(first: 10) { totalCount } viewer { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(code(&body), "UNAUTHENTICATED");
});

fn collect_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "id" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    collect_ids(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}
