//! Lists read only the text columns the query shows (look-ahead), and the answer is the same
//! whichever fields are asked for: a field the look-ahead does not know reads every column.

use serde_json::json;

use crate::both;
use crate::helpers::{Who, spawn_app_with, timers_off};

both!(
    lists_read_only_the_columns_the_query_shows,
    |backend| async move {
        let app = spawn_app_with(backend, timers_off).await;
        let a = app.tenant("tenant-a").await;
        app.seed_code(a, "alpha", 1, 2, 2).await;
        let token = app.token(&Who::ADMIN_A);
        app.gql(&token, "{ viewer { id } }", json!({})).await;

        let run = |query: &'static str| {
            let (app, token) = (&app, &token);
            async move {
                app.services.statements.record();
                let (_, body) = app.gql(token, query, json!({})).await;
                let sql: Vec<String> = app
                    .services
                    .statements
                    .take_recorded()
                    .into_iter()
                    .map(|s| s.sql)
                    .collect();
                assert!(body.get("errors").is_none(), "{query}: {body}");
                (body, sql.join("\n"))
            }
        };

        // Only ids and titles: the descriptions stay in the table, at both levels.
        let (body, sql) = run(
            "{ repositories(first: 2) { nodes { id findings(first: 2) { nodes { id title } } } } }",
        )
        .await;
        assert!(
            !sql.contains("\"description\" FROM") && sql.contains("AS \"description\""),
            "{sql}"
        );
        assert!(sql.contains("AS \"url\""), "{sql}");
        let repos = body["data"]["repositories"]["nodes"].as_array().unwrap();
        assert_eq!(repos.len(), 2);
        for repo in repos {
            for finding in repo["findings"]["nodes"].as_array().unwrap() {
                assert!(finding["title"].as_str().unwrap().contains("finding"));
            }
        }

        // Asked for, the text is read and shown.
        let (body, sql) =
            run("{ findings(first: 1) { edges { node { description remediation filePath } } } }")
                .await;
        assert!(!sql.contains("AS \"description\""), "{sql}");
        let node = &body["data"]["findings"]["edges"][0]["node"];
        assert_eq!(node["description"], "details");
        assert_eq!(node["remediation"], "rotate it");
        assert_eq!(node["filePath"], "src/main.rs");

        // A field outside the look-ahead's table (`documents`) reads every column.
        let (body, sql) =
            run("{ repositories(first: 1) { nodes { url documents { id } } } }").await;
        assert!(!sql.contains("AS \"url\""), "{sql}");
        assert!(
            body["data"]["repositories"]["nodes"][0]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://git.example/")
        );
    }
);
