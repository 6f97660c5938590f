//! `orderBy` on top-level lists: keyset pages on (sort value, id) forwards and backwards, unknown
//! scores last in either direction, ties broken by id, cursors of another order refused, and still
//! 1 + depth statements.

use entities::repositories;
use sea_orm::{ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with, timers_off};

/// Every `name` of `repositories(orderBy: …)`, read `size` at a time forwards (or backwards).
async fn walk(app: &TestApp, token: &str, order: &str, size: i32, backward: bool) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let (page_args, info) = if backward {
            ("last: $n, before: $c", "hasPreviousPage startCursor")
        } else {
            ("first: $n, after: $c", "hasNextPage endCursor")
        };
        let q = format!(
            "query($n: Int, $c: String) {{ repositories({page_args}, orderBy: {order}) {{ nodes {{ name healthScore }} pageInfo {{ {info} }} }} }}"
        );
        let (status, body) = app.gql(token, &q, json!({ "n": size, "c": cursor })).await;
        assert!(names.len() < 50, "{order}: no end in sight: {names:?}");
        assert_eq!(status, 200, "{body}");
        let list = &body["data"]["repositories"];
        let mut page: Vec<String> = list["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        let info = &list["pageInfo"];
        if backward {
            page.extend(names);
            names = page;
            if info["hasPreviousPage"] != true {
                return names;
            }
            cursor = info["startCursor"].clone();
        } else {
            names.extend(page);
            if info["hasNextPage"] != true {
                return names;
            }
            cursor = info["endCursor"].clone();
        }
    }
}

both!(lists_page_in_the_order_asked, |backend| async move {
    let app = spawn_app(backend).await;
    let tenant = app.tenant("tenant-a").await;
    app.seed_code(tenant, "a", 1, 7, 8).await;
    let token = app.token(&Who::ADMIN_A);
    // Health scores with a tie and two unknowns.
    let scores = [Some(50), None, Some(90), Some(50), Some(10), None, Some(70)];
    let mut rows = repositories::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    rows.sort_by_key(|r| r.id);
    for (row, score) in rows.iter().zip(scores) {
        let mut active = row.clone().into_active_model();
        active.health_score = Set(score);
        repositories::Entity::update(active)
            .exec(&app.services.db)
            .await
            .unwrap();
    }
    let name = |i: usize| format!("a-repo-0-{i}");

    // Names, Z→A, in pages of 3, forwards and backwards.
    let expected: Vec<String> = (0..7).rev().map(name).collect();
    assert_eq!(
        walk(&app, &token, "{ field: NAME, direction: DESC }", 3, false).await,
        expected
    );
    assert_eq!(
        walk(&app, &token, "{ field: NAME, direction: DESC }", 3, true).await,
        expected
    );
    // Health ascending: ties by id, unknown last; descending: unknown last too.
    let asc: Vec<String> = [4, 0, 3, 6, 2, 1, 5].into_iter().map(name).collect();
    // Ties follow the direction (id descending here); unknown scores stay last.
    let desc: Vec<String> = [2, 6, 3, 0, 4, 5, 1].into_iter().map(name).collect();
    for size in [1, 2, 7] {
        assert_eq!(
            walk(&app, &token, "{ field: HEALTH_SCORE }", size, false).await,
            asc
        );
        assert_eq!(
            walk(&app, &token, "{ field: HEALTH_SCORE }", size, true).await,
            asc
        );
        assert_eq!(
            walk(
                &app,
                &token,
                "{ field: HEALTH_SCORE, direction: DESC }",
                size,
                false
            )
            .await,
            desc
        );
    }

    // A cursor fits only the order it came from.
    let q = "query($o: RepositoryOrder) { repositories(first: 2, orderBy: $o) { pageInfo { endCursor } } }";
    let (_, body) = app
        .gql(&token, q, json!({ "o": { "field": "NAME" } }))
        .await;
    let by_name = body["data"]["repositories"]["pageInfo"]["endCursor"].clone();
    let (_, body) = app
        .gql(
            &token,
            "{ repositories(first: 2) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let by_id = body["data"]["repositories"]["pageInfo"]["endCursor"].clone();
    let after = "query($o: RepositoryOrder, $c: String) { repositories(first: 2, after: $c, orderBy: $o) { nodes { name } } }";
    for (order, cursor) in [
        (json!({ "field": "HEALTH_SCORE" }), by_name.clone()),
        (
            json!({ "field": "NAME", "direction": "DESC" }),
            by_name.clone(),
        ),
        (Value::Null, by_name.clone()),
        (json!({ "field": "NAME" }), by_id),
    ] {
        let (status, body) = app
            .gql(&token, after, json!({ "o": order, "c": cursor }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{order}: {body}");
        assert!(body["data"].is_null(), "{body}");
    }
    // The cursor's own order takes it.
    let (_, body) = app
        .gql(
            &token,
            after,
            json!({ "o": { "field": "NAME" }, "c": by_name }),
        )
        .await;
    assert_eq!(body["data"]["repositories"]["nodes"][0]["name"], name(2));
});

both!(
    findings_sort_by_severity_and_stay_one_statement_per_level,
    |backend| async move {
        let app = spawn_app_with(backend, timers_off).await;
        let tenant = app.tenant("tenant-a").await;
        app.seed_code(tenant, "a", 1, 3, 8).await;
        let token = app.token(&Who::ADMIN_A);
        let rank = |s: &str| {
            ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
                .iter()
                .position(|x| *x == s)
                .unwrap()
        };
        let q = "query($c: String) { findings(first: 5, after: $c, orderBy: { field: SEVERITY, direction: DESC }) { nodes { severity repository { name } } pageInfo { hasNextPage endCursor } } }";
        let mut seen = Vec::new();
        let mut cursor = Value::Null;
        app.settle().await;
        let before = app.statements();
        let mut pages = 0;
        loop {
            let (status, body) = app.gql(&token, q, json!({ "c": cursor })).await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            let list = &body["data"]["findings"];
            for node in list["nodes"].as_array().unwrap() {
                seen.push(rank(node["severity"].as_str().unwrap()));
            }
            if list["pageInfo"]["hasNextPage"] != true {
                break;
            }
            cursor = list["pageInfo"]["endCursor"].clone();
        }
        // Statements beyond authentication: one for the page and one for the repositories, per page.
        let per_page = (app.statements() - before) / pages;
        assert!(per_page <= 3, "{per_page} statements per page");
        assert_eq!(seen.len(), 24);
        assert!(seen.windows(2).all(|w| w[0] >= w[1]), "{seen:?}");
        assert_eq!(seen[0], 3);
    }
);

both!(jobs_sort_by_name, |backend| async move {
    let app = spawn_app(backend).await;
    let tenant = app.tenant("tenant-a").await;
    app.seed_migrate(tenant, "a", 2, 4, 0).await;
    let token = app.token(&Who::ADMIN_A);
    let q = "{ jobs(first: 100, orderBy: { field: NAME, direction: DESC }) { nodes { name } } }";
    let (status, body) = app.gql(&token, q, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["data"]["jobs"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 8);
    let mut sorted = names.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
});
