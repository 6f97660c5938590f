//! Every root list answers a page from an index in its order: the plan of the statement the
//! server really runs (`EXPLAIN` on PostgreSQL with sequential scans priced out, `EXPLAIN QUERY
//! PLAN` on SQLite) neither scans the table nor sorts it, and seeks by the tenant. Without such an
//! index a page of one tenant's findings walked the primary key past every other tenant's rows.

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, spawn_app_with, timers_off};

/// Root lists with their default order (id).
const LISTS: &[&str] = &[
    "organizations",
    "repositories",
    "findings",
    "recommendations",
    "backups",
    "projects",
    "agents",
    "jobs",
    "psaLinks",
    "crmOpportunities",
    "cmdbSyncRuns",
    "billingReports",
    "events",
    "notifications",
    "clients",
    "backupRunners",
];

/// Lists with `orderBy`, and their sort fields.
const SORTED: &[(&str, &[&str])] = &[
    (
        "repositories",
        &["NAME", "HEALTH_SCORE", "DEBT_SCORE", "CREATED_AT"],
    ),
    ("findings", &["SEVERITY", "FIRST_SEEN_AT", "LAST_SEEN_AT"]),
    ("jobs", &["NAME", "CREATED_AT", "UPDATED_AT"]),
];

both!(every_root_list_pages_from_an_index, |backend| async move {
    let app = spawn_app_with(backend, timers_off).await;
    let a = app.tenant("tenant-a").await;
    app.seed_code(a, "alpha", 1, 3, 2).await;
    let token = app.token(&Who::ADMIN_A);
    // Warm the Bearer cache: authentication then runs no statement.
    app.gql(&token, "{ viewer { id } }", json!({})).await;

    for list in LISTS {
        for window in ["first: 2", "last: 2"] {
            let query = format!("{{ {list}({window}) {{ pageInfo {{ endCursor }} }} }}");
            check(&app, backend, &token, &query, json!({})).await;
        }
    }
    for (list, fields) in SORTED {
        for field in *fields {
            for direction in ["ASC", "DESC"] {
                let query = format!(
                    "query($after: String) {{ {list}(first: 2, after: $after, orderBy: \
                     {{ field: {field}, direction: {direction} }}) {{ pageInfo {{ endCursor }} }} }}"
                );
                // The first page, then the next one (a keyset seek past the cursor).
                let body = check(&app, backend, &token, &query, json!({})).await;
                let after = body["data"][list]["pageInfo"]["endCursor"].clone();
                check(&app, backend, &token, &query, json!({ "after": after })).await;
            }
        }
    }
});

/// Runs `query`, then checks the plan of each statement it ran; returns the answer.
async fn check(app: &TestApp, backend: Backend, token: &str, query: &str, vars: Value) -> Value {
    app.services.statements.record();
    let (status, body) = app.gql(token, query, vars).await;
    let statements = app.services.statements.take_recorded();
    assert_eq!(status, 200, "{query}: {body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    assert!(!statements.is_empty(), "{query} ran no statement");
    for statement in statements {
        let plan = plan(app, backend, &statement).await;
        let refused = match backend {
            Backend::Postgres => {
                plan.contains("Seq Scan")
                    || plan.contains("Sort")
                    || !plan
                        .lines()
                        .any(|l| l.contains("Index Cond:") && l.contains("tenant_id"))
            }
            Backend::Sqlite => {
                plan.lines().any(|l| l.starts_with("SCAN "))
                    || plan.contains("TEMP B-TREE")
                    || !plan.contains("tenant_id=?")
            }
        };
        assert!(
            !refused,
            "{query}: the plan of\n{}\nscans or sorts the table:\n{plan}",
            statement.sql
        );
    }
    body
}

async fn plan(app: &TestApp, backend: Backend, statement: &Statement) -> String {
    let db = &app.services.db;
    let (explain, db_backend) = match backend {
        Backend::Postgres => ("EXPLAIN", DbBackend::Postgres),
        Backend::Sqlite => ("EXPLAIN QUERY PLAN", DbBackend::Sqlite),
    };
    let sql = format!("{explain} {}", statement.sql);
    let explained = match &statement.values {
        Some(values) => Statement::from_sql_and_values(db_backend, sql, values.clone()),
        None => Statement::from_string(db_backend, sql),
    };
    let txn = db.begin().await.unwrap();
    if backend == Backend::Postgres {
        // The test tables are tiny, where reading all and sorting is cheapest: price sequential
        // and bitmap scans out, so the plan shows what would serve a large table (an index in
        // the list's order, or else a sort or a walk of the primary key, which fail).
        txn.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
            .await
            .unwrap();
    }
    let rows = txn.query_all_raw(explained).await.unwrap();
    txn.commit().await.unwrap();
    let column = match backend {
        Backend::Postgres => "QUERY PLAN",
        Backend::Sqlite => "detail",
    };
    rows.iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}
