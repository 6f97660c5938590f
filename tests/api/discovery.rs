//! Discovery runs on the queue: connecting and `rediscoverOrganization` answer at once, and the
//! organization shows the run (`discovering`, then `status`, `statusErrorCode`,
//! `lastDiscovery`). These helpers wait for a run's end and read what the organization shows.

use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const ORG_FIELDS: &str = "id login name provider status statusError statusErrorCode
    repoCount basePermission nextRetryAt lastDiscoveredAt discovering
    lastDiscovery { finishedAt repositories newRepositories missingRepositories
        openAccessFindings resolvedAccessFindings }";

/// The organization once no run is queued or running (at most 20 s).
pub async fn settled(app: &TestApp, token: &str, org_id: &str) -> Value {
    let query =
        format!("query($o: ID!) {{ node(id: $o) {{ ... on Organization {{ {ORG_FIELDS} }} }} }}");
    for _ in 0..400 {
        let (_, body) = app.gql(token, &query, json!({ "o": org_id })).await;
        let org = &body["data"]["node"];
        assert!(org.is_object(), "{body}");
        if org["discovering"] == false {
            return org.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the discovery of {org_id} did not end within 20 s");
}

/// What a finished run left, in the shape the mutation had when it ran discovery in the
/// request: `data.rediscoverOrganization { organization, discovery }`, or, when the run failed,
/// an error with the organization's `statusErrorCode` and `statusError`.
pub fn outcome(org: Value) -> Value {
    if org["status"] == "ERROR" {
        return json!({
            "data": null,
            "errors": [{ "message": org["statusError"],
                "extensions": { "code": org["statusErrorCode"] } }],
        });
    }
    json!({ "data": { "rediscoverOrganization": {
        "discovery": org["lastDiscovery"], "organization": org } } })
}

/// `rediscoverOrganization`, then the run's end (`outcome`). A refused request is returned as
/// it came.
pub async fn rediscover(app: &TestApp, token: &str, org_id: &str) -> Value {
    let mutation = "mutation($o: ID!) { rediscoverOrganization(input: { organizationId: $o }) {
        organization { id discovering } } }";
    let (_, body) = app.gql(token, mutation, json!({ "o": org_id })).await;
    if body.get("errors").is_some() {
        return body;
    }
    assert_eq!(
        body["data"]["rediscoverOrganization"]["organization"]["discovering"], true,
        "{body}"
    );
    outcome(settled(app, token, org_id).await)
}
