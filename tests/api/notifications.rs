//! E-mail notifications through AWS SES (faked by wiremock): who gets which e-mail when a job
//! completes or fails and when Azure credentials near expiry, the SigV4-signed SES v2 request,
//! one e-mail per dedupe key however often things run (and however many workers race), retries,
//! rejections and no configuration.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use entities::enums::{DeliveryStatus, NotificationKind};
use entities::{notifications, projects};
use reqwest::Method;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use stack_gateway::config::Config;
use stack_gateway::migrate::notifications::{CredentialsExpiringCheck, NotificationDelivery};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::agents::{TECH_A, agent_call, heartbeat, register_agent, uuid_of};
use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app_with};

pub(crate) const SEND: &str = "/v2/email/outbound-emails";
const ACCESS_KEY: &str = "AKIDSESTEST";

/// Wires `c` to the fake SES with quick retries (`uri` `None`: SES not configured).
pub(crate) fn configure(c: &mut Config, uri: Option<&str>) {
    if let Some(uri) = uri {
        c.integrations.ses_access_key = Some(ACCESS_KEY.into());
        c.integrations.ses_secret_key = Some("ses-secret".into());
        c.integrations.ses_region = Some("eu-west-1".into());
        c.integrations.ses_endpoint = Some(uri.to_string());
    }
    c.integrations.ses_from_address = "migrate@example.test".into();
    c.integrations.ses_retry_base_ms = 500;
    c.integrations.timeout_ms = 2_000;
    c.schedules
        .insert("notification-retry".into(), "*/1 * * * * *".into());
    c.schedules
        .insert("credentials-expiring-check".into(), "off".into());
    c.schedules
        .insert("integration-probes".into(), "off".into());
}

pub(crate) fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "MessageId": "msg-1" }))
}

pub(crate) async fn ses_server(response: ResponseTemplate) -> MockServer {
    let ses = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(response)
        .mount(&ses)
        .await;
    ses
}

const VIEWER_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "vic",
    roles: &["viewer"],
    products: &["migrate"],
};
const CODE_ADMIN_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "cody",
    roles: &["admin"],
    products: &["code"],
};

/// Signs in `who` once, so the user (with roles and products) is known.
pub(crate) async fn sign_in(app: &TestApp, who: &Who<'_>) {
    let (status, body) = app
        .gql(&app.token(who), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A project and a job of tenant A, started by its agent; returns (project, job, agent key).
pub(crate) async fn running_job(app: &TestApp) -> (Value, Value, String) {
    let admin = app.token(&Who::ADMIN_A);
    let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
    let (_, body) = app
        .gql(&admin, m, json!({ "i": { "name": "Contoso mail" } }))
        .await;
    let project = body["data"]["createProject"]["project"]["id"].clone();
    assert!(project.is_string(), "{body}");
    let (agent, key) = register_agent(app, &admin, "mig-01").await;
    assert_eq!(heartbeat(app, &key).await.0, 200);
    let m = "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }";
    let input = json!({ "projectId": project, "kind": "MAILBOX", "name": "Wave 1", "agentId": agent, "config": {} });
    let (_, body) = app.gql(&admin, m, json!({ "i": input })).await;
    let job = body["data"]["createJob"]["job"]["id"].clone();
    assert!(job.is_string(), "{body}");
    assert_eq!(report(app, &key, &job, "start", json!({})).await.0, 200);
    (project, job, key)
}

pub(crate) async fn report(
    app: &TestApp,
    key: &str,
    job: &Value,
    action: &str,
    body: Value,
) -> (u16, Value) {
    let path = format!("/api/agent/jobs/{}/{action}", uuid_of(job));
    agent_call(app, key, Method::POST, &path, Some(body)).await
}

pub(crate) async fn rows(app: &TestApp) -> Vec<notifications::Model> {
    let mut rows = notifications::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    rows.sort_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
    rows
}

/// Waits until there are `n` notifications and `done` holds for each.
pub(crate) async fn wait_rows(
    app: &TestApp,
    n: usize,
    done: impl Fn(&notifications::Model) -> bool,
) -> Vec<notifications::Model> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = rows(app).await;
        if rows.len() == n && rows.iter().all(&done) {
            return rows;
        }
        assert!(Instant::now() < deadline, "notifications: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn sends(ses: &MockServer) -> Vec<Request> {
    ses.received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == SEND)
        .collect()
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn to_of(request: &Request) -> String {
    body_of(request)["Destination"]["ToAddresses"][0]
        .as_str()
        .unwrap()
        .to_string()
}

fn sorted_recipients(requests: &[Request]) -> Vec<String> {
    let mut to: Vec<String> = requests.iter().map(to_of).collect();
    to.sort();
    to
}

/// The SigV4 headers SES needs, for the access key, today, the region and the service.
fn assert_signed(request: &Request) {
    let auth = request.headers["authorization"].to_str().unwrap();
    let day = Utc::now().format("%Y%m%d").to_string();
    let prefix =
        format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{day}/eu-west-1/ses/aws4_request");
    assert!(auth.starts_with(&prefix), "{auth}");
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let signed: Vec<&str> = signed.split(';').collect();
    assert!(
        signed.contains(&"host") && signed.contains(&"x-amz-date"),
        "{auth}"
    );
    assert!(auth.contains("Signature="), "{auth}");
    let date = request.headers["x-amz-date"].to_str().unwrap();
    assert!(date.starts_with(&day) && date.ends_with('Z'), "{date}");
}

pub(crate) async fn ses_status(app: &TestApp) -> Value {
    let q = "{ integrations { name status missingVariables lastError } }";
    let (_, body) = app.gql(&app.token(&Who::ADMIN_A), q, json!({})).await;
    body["data"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "SES")
        .unwrap()
        .clone()
}

fn sent(r: &notifications::Model) -> bool {
    r.status == DeliveryStatus::Sent
}

both!(
    a_completed_job_mails_each_migrate_admin_and_technician_once,
    |backend| async move {
        let ses = ses_server(accepted()).await;
        let uri = ses.uri();
        let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
        for who in [
            &Who::ADMIN_A,
            &TECH_A,
            &VIEWER_A,
            &CODE_ADMIN_A,
            &Who::ADMIN_B,
        ] {
            sign_in(&app, who).await;
        }
        let (_, job, key) = running_job(&app).await;
        let (status, body) = report(
            &app,
            &key,
            &job,
            "complete",
            json!({ "gbTransferred": 2.5 }),
        )
        .await;
        assert_eq!(status, 200, "{body}");

        let done = wait_rows(&app, 2, sent).await;
        let job_id = uuid_of(&job);
        assert_eq!(
            done.iter()
                .map(|r| r.dedupe_key.clone())
                .collect::<Vec<_>>(),
            [
                format!("job_completed:{job_id}:alice@example.com"),
                format!("job_completed:{job_id}:tess@example.com"),
            ]
        );
        for row in &done {
            assert_eq!(
                (row.kind, row.subject_id, row.attempts),
                (NotificationKind::JobCompleted, job_id, 1)
            );
            assert!(row.sent_at.is_some() && row.last_error.is_none());
        }
        let requests = sends(&ses).await;
        assert_eq!(
            sorted_recipients(&requests),
            ["alice@example.com", "tess@example.com"]
        );
        for request in &requests {
            assert_eq!(request.method.as_str(), "POST");
            assert_signed(request);
            let body = body_of(request);
            assert_eq!(body["FromEmailAddress"], "migrate@example.test");
            let subject = body["Content"]["Simple"]["Subject"]["Data"]
                .as_str()
                .unwrap();
            assert!(
                subject.contains("Wave 1") && subject.contains("completed"),
                "{subject}"
            );
            let text = body["Content"]["Simple"]["Body"]["Text"]["Data"]
                .as_str()
                .unwrap();
            assert!(
                text.contains("Contoso mail") && text.contains("2.50 GB"),
                "{text}"
            );
        }

        // Completing again is refused; the delivery task running again, or the retry timer,
        // sends nothing more.
        let (status, _) = report(&app, &key, &job, "complete", json!({})).await;
        assert_eq!(status, 409);
        let again = NotificationDelivery {
            kind: NotificationKind::JobCompleted,
            subject_id: job_id,
        };
        app.services.queue.push(again.clone(), None).await.unwrap();
        app.services.notifications.deliver(&again).await.unwrap();
        let retried = app
            .services
            .notifications
            .retry_due(Utc::now() + TimeDelta::days(1))
            .await
            .unwrap();
        assert_eq!(retried, 0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(sends(&ses).await.len(), 2);
        assert_eq!(ses_status(&app).await["status"], "CONNECTED");

        // Admins read their tenant's notifications; other tenants and non-admins do not.
        let q = "{ notifications(first: 10) { totalCount edges { node { kind recipient status attempts sentAt subjectId } } } }";
        let (_, body) = app.gql(&app.token(&Who::ADMIN_A), q, json!({})).await;
        let list = &body["data"]["notifications"];
        assert_eq!(list["totalCount"], 2, "{body}");
        assert_eq!(list["edges"][0]["node"]["kind"], "JOB_COMPLETED");
        assert_eq!(list["edges"][0]["node"]["status"], "SENT");
        assert_eq!(list["edges"][0]["node"]["subjectId"], job);
        let (_, body) = app.gql(&app.token(&Who::ADMIN_B), q, json!({})).await;
        assert_eq!(body["data"]["notifications"]["totalCount"], 0, "{body}");
        let (_, body) = app.gql(&app.token(&TECH_A), q, json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN");
    }
);

both!(a_failed_job_mails_the_reason, |backend| async move {
    let ses = ses_server(accepted()).await;
    let uri = ses.uri();
    let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
    sign_in(&app, &Who::ADMIN_B).await;
    let (_, job, key) = running_job(&app).await;
    let (status, body) = report(
        &app,
        &key,
        &job,
        "fail",
        json!({ "error": "the mailbox quota is exceeded" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let done = wait_rows(&app, 1, sent).await;
    assert_eq!(done[0].kind, NotificationKind::JobFailed);
    assert_eq!(
        done[0].dedupe_key,
        format!("job_failed:{}:alice@example.com", uuid_of(&job))
    );
    let requests = sends(&ses).await;
    assert_eq!(sorted_recipients(&requests), ["alice@example.com"]);
    assert_signed(&requests[0]);
    let body = body_of(&requests[0]);
    let subject = body["Content"]["Simple"]["Subject"]["Data"]
        .as_str()
        .unwrap();
    assert!(
        subject.contains("Wave 1") && subject.contains("failed"),
        "{subject}"
    );
    let text = body["Content"]["Simple"]["Body"]["Text"]["Data"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("Reason: the mailbox quota is exceeded"),
        "{text}"
    );
});

both!(
    ses_down_then_up_sends_once_on_the_second_attempt,
    |backend| async move {
        let ses = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SEND))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&ses)
            .await;
        Mock::given(method("POST"))
            .and(path(SEND))
            .respond_with(accepted())
            .mount(&ses)
            .await;
        let uri = ses.uri();
        let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
        let (_, job, key) = running_job(&app).await;
        assert_eq!(report(&app, &key, &job, "complete", json!({})).await.0, 200);

        let done = wait_rows(&app, 1, sent).await;
        assert_eq!(done[0].attempts, 2);
        assert!(done[0].last_error.is_none());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(sends(&ses).await.len(), 2, "one failed call, one send");
        assert_eq!(rows(&app).await[0].status, DeliveryStatus::Sent);
        assert_eq!(ses_status(&app).await["status"], "CONNECTED");
    }
);

both!(a_rejected_mail_fails_for_good, |backend| async move {
    let rejection = ResponseTemplate::new(400)
        .insert_header("x-amzn-ErrorType", "MessageRejected")
        .set_body_json(json!({ "message": "Email address is not verified." }));
    let ses = ses_server(rejection).await;
    let uri = ses.uri();
    let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
    let (_, job, key) = running_job(&app).await;
    assert_eq!(report(&app, &key, &job, "complete", json!({})).await.0, 200);

    let done = wait_rows(&app, 1, |r| r.status == DeliveryStatus::Failed).await;
    assert_eq!(done[0].attempts, 1);
    let error = done[0].last_error.as_deref().unwrap();
    assert!(error.contains("MessageRejected"), "{error}");
    assert!(!error.contains("not verified"), "no upstream body: {error}");
    // The retry timer (every second here) leaves it alone.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(sends(&ses).await.len(), 1);
    let status = ses_status(&app).await;
    assert_eq!(status["status"], "ERROR");
    assert!(
        status["lastError"]
            .as_str()
            .unwrap()
            .contains("MessageRejected")
    );
});

both!(without_ses_nothing_is_sent, |backend| async move {
    let app = spawn_app_with(backend, |c| configure(c, None)).await;
    let (_, job, key) = running_job(&app).await;
    assert_eq!(report(&app, &key, &job, "complete", json!({})).await.0, 200);

    let waiting = wait_rows(&app, 1, |r| r.last_error.is_some()).await;
    assert_eq!(waiting[0].status, DeliveryStatus::Pending);
    assert_eq!(waiting[0].attempts, 0);
    let error = waiting[0].last_error.as_deref().unwrap();
    assert!(error.contains("SES_ACCESS_KEY"), "{error}");
    let status = ses_status(&app).await;
    assert_eq!(status["status"], "NOT_CONFIGURED");
    assert_eq!(
        status["missingVariables"],
        json!(["SES_ACCESS_KEY", "SES_SECRET_KEY", "SES_REGION"])
    );
});

/// Sets a project's credential expiry (as connecting Azure would).
async fn expires(app: &TestApp, project: Uuid, at: chrono::DateTime<Utc>) {
    projects::Entity::update(projects::ActiveModel {
        id: Set(project),
        credentials_expires_at: Set(Some(at)),
        ..Default::default()
    })
    .exec(&app.services.db)
    .await
    .unwrap();
}

async fn project_of(app: &TestApp, who: &Who<'_>, name: &str) -> Uuid {
    let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
    let (_, body) = app
        .gql(&app.token(who), m, json!({ "i": { "name": name } }))
        .await;
    uuid_of(&body["data"]["createProject"]["project"]["id"])
}

both!(
    expiring_credentials_mail_once_per_project_and_expiry,
    |backend| async move {
        let ses = ses_server(accepted()).await;
        let uri = ses.uri();
        let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
        sign_in(&app, &TECH_A).await;
        let now = Utc::now();
        let soon = project_of(&app, &Who::ADMIN_A, "Soon").await;
        expires(&app, soon, now + TimeDelta::days(3)).await;
        let later = project_of(&app, &Who::ADMIN_A, "Later").await;
        expires(&app, later, now + TimeDelta::days(10)).await;
        let past = project_of(&app, &Who::ADMIN_A, "Past").await;
        expires(&app, past, now - TimeDelta::days(1)).await;
        let other = project_of(&app, &Who::ADMIN_B, "Tenant B's").await;
        expires(&app, other, now + TimeDelta::days(2)).await;

        // The tick twice (two replicas), then the next day's tick, then the check directly.
        let tick = now.date_naive().and_hms_opt(8, 0, 0).unwrap().and_utc();
        let key = jobs::tick_key("credentials-expiring-check", tick);
        for _ in 0..2 {
            app.services
                .queue
                .push(CredentialsExpiringCheck { tick }, Some(&key))
                .await
                .unwrap();
        }
        let done = wait_rows(&app, 3, sent).await;
        let next = tick + TimeDelta::days(1);
        app.services
            .queue
            .push(
                CredentialsExpiringCheck { tick: next },
                Some(&jobs::tick_key("credentials-expiring-check", next)),
            )
            .await
            .unwrap();
        assert_eq!(
            app.services
                .notifications
                .check_expiring(Utc::now())
                .await
                .unwrap(),
            2
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(rows(&app).await.len(), 3);

        let day = (now + TimeDelta::days(3)).format("%Y-%m-%d");
        let keys: Vec<String> = done.iter().map(|r| r.dedupe_key.clone()).collect();
        assert!(
            keys.contains(&format!(
                "credentials_expiring:{soon}:{day}:alice@example.com"
            )),
            "{keys:?}"
        );
        assert!(
            keys.contains(&format!(
                "credentials_expiring:{soon}:{day}:tess@example.com"
            )),
            "{keys:?}"
        );
        let requests = sends(&ses).await;
        assert_eq!(requests.len(), 3);
        for request in &requests {
            assert_signed(request);
            let body = body_of(request);
            let subject = body["Content"]["Simple"]["Subject"]["Data"]
                .as_str()
                .unwrap();
            if to_of(request) == "bob@example.com" {
                assert!(subject.contains("Tenant B's"), "{subject}");
            } else {
                assert!(
                    subject.contains("\"Soon\"") && subject.contains(&day.to_string()),
                    "{subject}"
                );
            }
        }
        assert_eq!(
            sorted_recipients(&requests),
            ["alice@example.com", "bob@example.com", "tess@example.com"]
        );
    }
);

both!(racing_workers_send_each_email_once, |backend| async move {
    let ses = ses_server(accepted().set_delay(Duration::from_millis(300))).await;
    let uri = ses.uri();
    let app = spawn_app_with(backend, |c| configure(c, Some(&uri))).await;
    sign_in(&app, &TECH_A).await;
    let (_, job, key) = running_job(&app).await;
    assert_eq!(report(&app, &key, &job, "complete", json!({})).await.0, 200);
    // The queued delivery, two more deliveries and a retry tick, all at once.
    let task = NotificationDelivery {
        kind: NotificationKind::JobCompleted,
        subject_id: uuid_of(&job),
    };
    let service = &app.services.notifications;
    let (a, b, c) = tokio::join!(
        service.deliver(&task),
        service.deliver(&task),
        service.retry_due(Utc::now())
    );
    let sent_here = a.unwrap() + b.unwrap() + c.unwrap();
    assert!(sent_here <= 2, "{sent_here}");
    let done = wait_rows(&app, 2, sent).await;
    assert!(done.iter().all(|r| r.attempts == 1), "{done:#?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sorted_recipients(&sends(&ses).await),
        ["alice@example.com", "tess@example.com"]
    );
});
