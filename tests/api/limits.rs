//! Each limit at the limit and one past it.

use sea_orm::EntityTrait;
use serde_json::json;

use crate::both;
use crate::helpers::{Who, code, spawn_app, spawn_app_with};

both!(depth_limit, |backend| async move {
    let app = spawn_app_with(backend, |c| c.graphql.max_depth = 6).await;
    let token = app.token(&Who::ADMIN_A);
    let at = "{ findings(first: 1) { edges { node { repository { organization { id } } } } } }"; // depth 6
    let (status, body) = app.gql(&token, at, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let past = "{ findings(first: 1) { edges { node { repository { organization { repoCount connectedAt repositories(first: 1) { totalCount } } } } } } }";
    let (status, body) = app.gql(&token, past, json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "QUERY_TOO_DEEP");
});

both!(complexity_counts_page_sizes, |backend| async move {
    let app = spawn_app_with(backend, |c| c.graphql.max_complexity = 100).await;
    let token = app.token(&Who::ADMIN_A);
    // repositories(first: n) { edges { node { id name } } } costs n × (edges 1 + node 1 + 2) = 4n.
    let query =
        |n: i32| format!("{{ repositories(first: {n}) {{ edges {{ node {{ id name }} }} }} }}");
    let (status, body) = app.gql(&token, &query(25), json!({})).await; // 100
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.gql(&token, &query(26), json!({})).await; // 104
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");
});

both!(alias_limit, |backend| async move {
    let app = spawn_app_with(backend, |c| c.graphql.max_aliases = 5).await;
    let token = app.token(&Who::ADMIN_A);
    let aliases = |n: usize| {
        format!(
            "{{ viewer {{ {} }} }}",
            (0..n)
                .map(|i| format!("a{i}: name"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let (status, _) = app.gql(&token, &aliases(5), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app.gql(&token, &aliases(6), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "TOO_MANY_ALIASES");
});

both!(root_field_limit, |backend| async move {
    let app = spawn_app_with(backend, |c| {
        c.graphql.max_root_fields = 3;
        c.graphql.max_aliases = 100;
    })
    .await;
    let token = app.token(&Who::ADMIN_A);
    let roots = |n: usize| {
        format!(
            "{{ {} }}",
            (0..n)
                .map(|i| format!("v{i}: viewer {{ id }}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let (status, _) = app.gql(&token, &roots(3), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app.gql(&token, &roots(4), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");
});

both!(document_size_limit, |backend| async move {
    let app = spawn_app_with(backend, |c| c.graphql.max_document_bytes = 200).await;
    let token = app.token(&Who::ADMIN_A);
    let base = "{ viewer { id } }";
    let at = format!("{base}{}", " ".repeat(200 - base.len()));
    let (status, _) = app.gql(&token, &at, json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app.gql(&token, &format!("{at} "), json!({})).await;
    assert_eq!(status, 413);
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");
});

both!(introspection_can_be_switched_off, |backend| async move {
    let app = spawn_app_with(backend, |c| c.graphql.introspection = false).await;
    let token = app.token(&Who::ADMIN_A);
    let (_, body) = app
        .gql(&token, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        body["data"].is_null() || body["data"]["__schema"].is_null(),
        "{body}"
    );
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    let (status, body) = app
        .gql(&token, "{ viewer { __typename name } }", json!({}))
        .await;
    assert_eq!(status, 200, "ordinary queries still run: {body}");
});

both!(
    the_standard_introspection_query_passes_the_depth_limit,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        // GraphiQL's introspection nests `ofType` seven times (14 levels with its fields).
        let type_ref = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
        let query = format!(
            "{{ __schema {{ queryType {{ name }} types {{ name fields {{ name type {{ {type_ref} }} }} }} }} }}"
        );
        let (status, body) = app.gql(&token, &query, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 20);
    }
);

both!(execution_timeout, |backend| async move {
    // 100 repositories × 20 findings: well over a millisecond to load and serialize, well under
    // the default 15 s.
    let heavy = "{ repositories(first: 100) { edges { node { name findings(first: 20) { edges { node { title severity } } } } } } }";
    let quick = spawn_app_with(backend, |c| c.graphql.timeout_ms = 1).await;
    let token = quick.token(&Who::ADMIN_A);
    // The sign-in creates the tenant (a GraphQL request would already time out).
    assert_eq!(
        crate::auth::sso(&quick, &token).await.status().as_u16(),
        303
    );
    let tenant = entities::tenants::Entity::find()
        .one(&quick.services.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    quick.seed_code(tenant, "a", 1, 100, 20).await;
    let (status, body) = quick.gql(&token, heavy, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");
    assert_eq!(
        body["errors"][0]["message"],
        "the operation ran longer than 1 ms"
    );
    assert!(body.get("data").is_none(), "{body}");
    let roomy = spawn_app(backend).await;
    let tenant = roomy.tenant("tenant-a").await;
    roomy.seed_code(tenant, "a", 1, 100, 20).await;
    let token = roomy.token(&Who::ADMIN_A);
    let (status, body) = roomy.gql(&token, heavy, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let edges = body["data"]["repositories"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    assert_eq!(
        edges[0]["node"]["findings"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
});

both!(
    queries_wait_for_an_execution_permit_and_mutations_do_not,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            c.graphql.max_concurrent = 2;
            c.graphql.timeout_ms = 500;
        })
        .await;
        let token = app.token(&Who::ADMIN_A);
        let (status, body) = app.gql(&token, "{ viewer { id } }", json!({})).await;
        assert_eq!(status, 200, "{body}");

        // Every permit taken: a query waits, and its wait counts towards the timeout.
        let held = app
            .state
            .executions
            .clone()
            .acquire_many_owned(2)
            .await
            .unwrap();
        let (status, body) = app.gql(&token, "{ viewer { id } }", json!({})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX");
        assert_eq!(
            body["errors"][0]["message"],
            "the operation ran longer than 500 ms"
        );
        // A mutation does not wait for a permit (it may wait on an upstream instead).
        let create = "mutation { createProject(input: { name: \"Permit\" }) { project { name } } }";
        let (status, body) = app.gql(&token, create, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["createProject"]["project"]["name"], "Permit");
        drop(held);

        // Permits free again: six queries at once against two permits all answer, in turn.
        let answers = futures::future::join_all((0..6).map(|_| {
            app.gql(
                &token,
                "{ projects(first: 5) { edges { node { name } } } }",
                json!({}),
            )
        }))
        .await;
        for (status, body) in answers {
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body["data"]["projects"]["edges"][0]["node"]["name"], "Permit",
                "{body}"
            );
        }
    }
);
