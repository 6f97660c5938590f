//! Hostile documents (issue #15): operation selection, directive validation, an all-skipped
//! selection, and response keys in selection order.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, body: Value) -> (u16, String) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(app.token(&Who::ADMIN_A))
        .header("accept", GRAPHQL_RESPONSE)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(app: &TestApp, params: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(app.token(&Who::ADMIN_A))
        .header("accept", GRAPHQL_RESPONSE)
        .query(params)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

both!(
    an_operation_that_cannot_be_chosen_is_a_client_error,
    |backend| async move {
        let app = spawn_app(backend).await;
        let two = "query A { __typename } query B { __typename }";
        for body in [
            json!({ "query": two }),
            json!({ "query": two, "operationName": "C" }),
            json!({ "query": "query A { __typename }", "operationName": "B" }),
            json!({ "query": "{ __typename }", "operationName": "A" }),
        ] {
            let (status, text) = post(&app, body.clone()).await;
            let answer = json_of(&text);
            assert_eq!(
                (status, code(&answer)),
                (400, "BAD_USER_INPUT"),
                "{body}: {text}"
            );
            assert!(answer.get("data").is_none(), "{text}");
        }
        let (status, text) = post(&app, json!({ "query": two, "operationName": "B" })).await;
        assert_eq!(
            (status, json_of(&text)["data"]["__typename"].clone()),
            (200, json!("Query"))
        );
    }
);

both!(
    a_get_of_a_query_and_a_mutation_answers_the_same_every_time,
    |backend| async move {
        let app = spawn_app(backend).await;
        let both_kinds = "query Q { __typename } mutation M { __typename }";
        for _ in 0..12 {
            let (status, text) = get(&app, &[("query", both_kinds)]).await;
            assert_eq!(
                (status, code(&json_of(&text))),
                (400, "BAD_USER_INPUT"),
                "{text}"
            );
        }
        let (status, _) = get(&app, &[("query", both_kinds), ("operationName", "Q")]).await;
        assert_eq!(status, 200);
        let (status, _) = get(&app, &[("query", both_kinds), ("operationName", "M")]).await;
        assert_eq!(status, 405);
    }
);

both!(directives_are_validated_everywhere, |backend| async move {
    let app = spawn_app(backend).await;
    let thousand = " @include(if: true)".repeat(1000);
    let refused = [
        "{ __typename @include(if: true) @include(if: true) }".to_string(),
        format!("{{ __typename{thousand} }}"),
        format!("{{ viewer{thousand} {{ id }} }}"),
        "{ __typename @unknown }".into(),
        "{ viewer @unknown { id } }".into(),
        "{ __typename @skip(if: false, bogus: 1) }".into(),
        "{ __typename @skip(if: false, if: true) }".into(),
        "{ __typename @skip }".into(),
        "{ __typename @skip(if: \"yes\") }".into(),
        "{ __typename @deprecated }".into(),
        "{ __typename @oneOf }".into(),
        "query @include(if: true) { __typename }".into(),
        "{ ... @unknown { __typename } }".into(),
    ];
    for query in refused {
        let (status, text) = post(&app, json!({ "query": query })).await;
        let answer = json_of(&text);
        let shown = &query[..query.len().min(60)];
        assert_eq!(
            (status, code(&answer)),
            (400, "GRAPHQL_VALIDATION_FAILED"),
            "{shown}: {text}"
        );
    }
});

both!(directives_count_towards_a_limit, |backend| async move {
    let app = spawn_app(backend).await;
    let at = |n: usize| format!("{{ viewer {{ {} }} }}", "id @include(if: true) ".repeat(n));
    let (status, text) = post(&app, json!({ "query": at(50) })).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = post(&app, json!({ "query": at(51) })).await;
    assert_eq!(
        (status, code(&json_of(&text))),
        (400, "QUERY_TOO_COMPLEX"),
        "{text}"
    );
});

both!(
    a_selection_with_every_field_skipped_answers_an_empty_object,
    |backend| async move {
        let app = spawn_app(backend).await;
        let (status, text) = post(&app, json!({ "query": "{ __typename @skip(if: true) }" })).await;
        assert_eq!((status, text.as_str()), (200, r#"{"data":{}}"#));
        let query = "query($s: Boolean!) { viewer @skip(if: $s) { id } }";
        let (_, text) = post(&app, json!({ "query": query, "variables": { "s": true } })).await;
        assert_eq!(text, r#"{"data":{}}"#);
    }
);

/// The keys of `text`'s JSON at `data`, in the order the text has them.
fn keys_in_text_order(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| {
            text.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} in {text}"))
        })
        .collect()
}

both!(
    response_keys_follow_the_selection_order,
    |backend| async move {
        let app = spawn_app(backend).await;
        let tenant = app.tenant("tenant-a").await;
        app.seed_code(tenant, "a", 2, 2, 1).await;
        for _ in 0..5 {
            let query = "{ organizations(first: 5) { totalCount zNodes: nodes { name id } } \
                         viewer { role: __typename email } __typename \
                         integrations { name } aRepos: repositories(first: 1) { totalCount } }";
            let (status, text) = post(&app, json!({ "query": query })).await;
            assert_eq!(status, 200, "{text}");
            let order = keys_in_text_order(
                &text,
                &[
                    "organizations",
                    "viewer",
                    "__typename",
                    "integrations",
                    "aRepos",
                ],
            );
            assert!(order.is_sorted(), "root keys out of order: {text}");
            let nested = keys_in_text_order(&text, &["totalCount", "zNodes", "name", "id"]);
            assert!(nested.is_sorted(), "nested keys out of order: {text}");
            let viewer = keys_in_text_order(&text, &["role", "email"]);
            assert!(viewer.is_sorted(), "{text}");
        }
    }
);
