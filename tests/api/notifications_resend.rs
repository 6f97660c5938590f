//! Re-sending e-mails that failed because of SES's configuration: an admin sends one again, or
//! all that failed since a time, each exactly once however the calls race; the Integrations
//! page's SES error clears once SES accepts again; a 403 tells a missing `ses:SendEmail`
//! permission apart from wrong keys.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use entities::enums::DeliveryStatus;
use serde_json::{Value, json};
use stack_gateway::graphql::relay::global_id;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app_with};
use crate::notifications::{
    SEND, accepted, configure, report, rows, running_job, sends, ses_server, ses_status, wait_rows,
};

const RESEND: &str = "mutation($id: ID!) { resendNotification(input: { id: $id }) {
    resent notification { id status attempts lastError sentAt } } }";
const RESEND_SINCE: &str =
    "mutation($s: DateTime!) { resendFailedNotifications(input: { since: $s }) { queued } }";

fn unverified() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("x-amzn-ErrorType", "MessageRejected")
        .set_body_json(json!({ "message": "Email address is not verified. The following identities failed the check in region EU-WEST-1: migrate@example.test" }))
}

/// Two failed e-mails (a completed job and a failed one), SES rejecting the sender.
async fn two_rejected(app: &TestApp) -> Vec<entities::notifications::Model> {
    let (project, job, key) = running_job(app).await;
    assert_eq!(report(app, &key, &job, "complete", json!({})).await.0, 200);
    let m = "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }";
    let (_, agents) = app
        .gql(
            &app.token(&Who::ADMIN_A),
            "{ agents(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    let agent = agents["data"]["agents"]["nodes"][0]["id"].clone();
    let input = json!({ "projectId": project, "kind": "MAILBOX", "name": "Wave 2", "agentId": agent, "config": {} });
    let (_, body) = app
        .gql(&app.token(&Who::ADMIN_A), m, json!({ "i": input }))
        .await;
    let second = body["data"]["createJob"]["job"]["id"].clone();
    assert_eq!(report(app, &key, &second, "start", json!({})).await.0, 200);
    let failure = json!({ "error": "the mailbox quota is exceeded" });
    assert_eq!(report(app, &key, &second, "fail", failure).await.0, 200);
    wait_rows(app, 2, |r| r.status == DeliveryStatus::Failed).await
}

fn gid(row: &entities::notifications::Model) -> String {
    global_id("Notification", row.id).0
}

async fn accept_from_now_on(ses: &MockServer) {
    ses.reset().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(accepted())
        .mount(ses)
        .await;
}

both!(
    a_failed_notice_is_sent_again_once_when_ses_works,
    |backend| async move {
        let ses = ses_server(unverified()).await;
        let uri = ses.uri();
        let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
        let failed = two_rejected(&app).await;
        let error = failed[0].last_error.as_deref().unwrap();
        assert!(error.contains("unverified in SES"), "{error}");
        assert!(
            !error.contains("migrate@example.test"),
            "SES's text is not quoted"
        );
        let status = ses_status(&app).await;
        assert_eq!(status["status"], "ERROR");
        assert!(
            status["lastError"]
                .as_str()
                .unwrap()
                .contains("MessageRejected")
        );
        accept_from_now_on(&ses).await;

        // Who may not: technicians, viewers, Code-only admins, another tenant (as missing).
        let admin = app.token(&Who::ADMIN_A);
        let (first, second) = (gid(&failed[0]), gid(&failed[1]));
        for who in [
            Who {
                tenant: "tenant-a",
                sub: "tess",
                roles: &["technician"],
                products: &["migrate"],
            },
            Who {
                tenant: "tenant-a",
                sub: "vic",
                roles: &["viewer"],
                products: &["migrate"],
            },
            Who {
                tenant: "tenant-a",
                sub: "cody",
                roles: &["admin"],
                products: &["code"],
            },
        ] {
            let (_, body) = app
                .gql(&app.token(&who), RESEND, json!({ "id": first }))
                .await;
            assert_eq!(code(&body), "FORBIDDEN", "{}: {body}", who.sub);
            let (_, body) = app
                .gql(
                    &app.token(&who),
                    RESEND_SINCE,
                    json!({ "s": "2020-01-01T00:00:00Z" }),
                )
                .await;
            assert_eq!(code(&body), "FORBIDDEN", "{}: {body}", who.sub);
        }
        let (_, body) = app
            .gql(&app.token(&Who::ADMIN_B), RESEND, json!({ "id": first }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = app
            .gql(
                &admin,
                RESEND,
                json!({ "id": global_id("Job", failed[0].id).0 }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let future = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
        let (_, body) = app.gql(&admin, RESEND_SINCE, json!({ "s": future })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let (_, body) = app
            .gql(&admin, RESEND_SINCE, json!({ "s": "yesterday" }))
            .await;
        assert!(!body["errors"].is_null(), "{body}");
        assert_eq!(rows(&app).await, failed, "nothing changed");
        assert!(sends(&ses).await.is_empty());

        // One notice, two admins at once: one re-send, one send.
        let (a, b) = tokio::join!(
            app.gql(&admin, RESEND, json!({ "id": first })),
            app.gql(&admin, RESEND, json!({ "id": first }))
        );
        let resent: Vec<bool> = [&a.1, &b.1]
            .iter()
            .map(|b| {
                b["data"]["resendNotification"]["resent"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("{b}"))
            })
            .collect();
        assert_eq!(resent.iter().filter(|r| **r).count(), 1, "{resent:?}");
        let winner = if resent[0] { &a.1 } else { &b.1 };
        let notice = &winner["data"]["resendNotification"]["notification"];
        assert_eq!(notice["status"], "SENT", "{winner}");
        assert!(notice["lastError"].is_null() && notice["sentAt"].is_string());
        // Again: already sent, nothing more.
        let (_, body) = app.gql(&admin, RESEND, json!({ "id": first })).await;
        assert_eq!(body["data"]["resendNotification"]["resent"], false);
        assert_eq!(
            body["data"]["resendNotification"]["notification"]["status"],
            "SENT"
        );
        assert_eq!(sends(&ses).await.len(), 1);
        // SES works again: the page's error is gone.
        let status = ses_status(&app).await;
        assert_eq!(status["status"], "CONNECTED");
        assert!(status["lastError"].is_null(), "{status}");

        // All failed since a time: not those before it; racing calls queue each once.
        let after = (Utc::now() + TimeDelta::milliseconds(1)).to_rfc3339();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, body) = app.gql(&admin, RESEND_SINCE, json!({ "s": after })).await;
        assert_eq!(
            body["data"]["resendFailedNotifications"]["queued"], 0,
            "{body}"
        );
        let since = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
        let (a, b) = tokio::join!(
            app.gql(&admin, RESEND_SINCE, json!({ "s": since })),
            app.gql(&admin, RESEND_SINCE, json!({ "s": since }))
        );
        let queued: Vec<i64> = [&a.1, &b.1]
            .iter()
            .map(|b| {
                b["data"]["resendFailedNotifications"]["queued"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{b}"))
            })
            .collect();
        assert_eq!(queued.iter().sum::<i64>(), 1, "{queued:?}");
        let done = wait_rows(&app, 2, |r| r.status == DeliveryStatus::Sent).await;
        assert!(done.iter().all(|r| r.attempts == 1));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sent = sends(&ses).await;
        assert_eq!(sent.len(), 2, "each notice once");
        let subjects: Vec<String> = sent
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["Content"]["Simple"]["Subject"]["Data"].as_str().unwrap().to_string())
            .collect();
        assert!(
            subjects
                .iter()
                .any(|s| s.contains("Wave 2") && s.contains("failed")),
            "{subjects:?}"
        );
        let _ = second;
    }
);

both!(
    a_missing_permission_is_told_apart_from_wrong_keys,
    |backend| async move {
        let denied = ResponseTemplate::new(403)
            .insert_header("x-amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/coral/")
            .set_body_json(json!({ "message": "User: arn:aws:iam::123456789012:user/migrate is not authorized to perform: ses:SendEmail" }));
        let ses = ses_server(denied).await;
        let uri = ses.uri();
        let app = spawn_app_with(backend, |c| {
            configure(c, Some(&uri));
            c.integrations.ses_max_attempts = 1;
        })
        .await;
        let (_, job, key) = running_job(&app).await;
        assert_eq!(report(&app, &key, &job, "complete", json!({})).await.0, 200);
        let failed = wait_rows(&app, 1, |r| r.status == DeliveryStatus::Failed).await;
        let error = failed[0].last_error.as_deref().unwrap();
        assert!(
            error.contains("lacks the ses:SendEmail permission"),
            "{error}"
        );
        assert!(!error.contains("arn:aws"), "{error}");
        let status = ses_status(&app).await;
        assert!(
            status["lastError"]
                .as_str()
                .unwrap()
                .contains("ses:SendEmail"),
            "{status}"
        );

        // Wrong keys now: the re-send fails saying so.
        ses.reset().await;
        Mock::given(method("POST"))
            .and(path(SEND))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("x-amzn-ErrorType", "UnrecognizedClientException")
                    .set_body_json(json!({ "message": "The security token included in the request is invalid." })),
            )
            .mount(&ses)
            .await;
        let admin = app.token(&Who::ADMIN_A);
        let (_, body) = app
            .gql(&admin, RESEND, json!({ "id": gid(&failed[0]) }))
            .await;
        let notice = &body["data"]["resendNotification"]["notification"];
        assert_eq!(body["data"]["resendNotification"]["resent"], true, "{body}");
        assert_eq!(notice["status"], "FAILED");
        let error = notice["lastError"].as_str().unwrap();
        assert!(
            error.contains("check SES_ACCESS_KEY and SES_SECRET_KEY"),
            "{error}"
        );
        assert!(!error.contains("ses:SendEmail"), "{error}");
        let status = ses_status(&app).await;
        assert!(
            status["lastError"]
                .as_str()
                .unwrap()
                .contains("SES_SECRET_KEY"),
            "{status}"
        );

        // Fixed: sent, once, and the page is clear.
        accept_from_now_on(&ses).await;
        let (_, body) = app
            .gql(&admin, RESEND, json!({ "id": gid(&failed[0]) }))
            .await;
        assert_eq!(
            body["data"]["resendNotification"]["notification"]["status"], "SENT",
            "{body}"
        );
        assert_eq!(sends(&ses).await.len(), 1);
        let status = ses_status(&app).await;
        assert_eq!(status["status"], "CONNECTED");
        assert!(status["lastError"].is_null());
    }
);
