//! The checked-in SDL matches the running schema, and every type and field is described.

use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app};

#[test]
fn checked_in_schema_matches_the_running_schema() {
    let running = stack_gateway::graphql::sdl();
    let checked_in = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/schema.graphql"
    ))
    .unwrap();
    assert!(
        running == checked_in,
        "schema/schema.graphql is stale: run `cargo run -- schema > schema/schema.graphql`"
    );
}

#[tokio::test]
async fn every_type_and_field_has_a_description() {
    let app = spawn_app(Backend::Sqlite).await;
    let query = "{ __schema { types { name kind description fields { name description }
                 inputFields { name description } enumValues { name description } } } }";
    let body: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut missing = Vec::new();
    for t in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if t["description"].as_str().unwrap_or("").is_empty() {
            missing.push(name.to_string());
        }
        for list in ["fields", "inputFields", "enumValues"] {
            for f in t[list].as_array().into_iter().flatten() {
                if f["description"].as_str().unwrap_or("").is_empty() {
                    missing.push(format!("{name}.{}", f["name"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}
