//! Money inputs (docs/decisions.md, "Input hygiene"): whole cents, greater than 0; an amount
//! finer than a cent is refused, not rounded (0.001 had been stored as 0).

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, code, spawn_app};

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("")
}

both!(money_finer_than_a_cent_is_refused, |backend| async move {
    let app = spawn_app(backend).await;
    let admin = app.token(&Who::ADMIN_A);
    let set = "mutation($r: Float!) { setCrmHourlyRate(input: { hourlyRate: $r }) { tenant { crmHourlyRate } } }";
    for bad in [0.001, 0.004, 12.345, 0.0] {
        let (_, body) = app.gql(&admin, set, json!({ "r": bad })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        assert!(message(&body).contains("`input.hourlyRate`"), "{body}");
    }
    let read = "{ viewer { tenant { crmHourlyRate } } }";
    let (_, body) = app.gql(&admin, read, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["tenant"]["crmHourlyRate"],
        Value::Null,
        "{body}"
    );

    let (_, body) = app.gql(&admin, set, json!({ "r": 19.99 })).await;
    assert_eq!(
        body["data"]["setCrmHourlyRate"]["tenant"]["crmHourlyRate"], 19.99,
        "{body}"
    );
    let (_, body) = app.gql(&admin, read, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["tenant"]["crmHourlyRate"], 19.99,
        "{body}"
    );
});
