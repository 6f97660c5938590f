//! Migrate projects and jobs end to end: creation, the agent's reports, commands through
//! heartbeats, the status machine, Bus events with exactly their payload fields, tenancy and
//! ownership, and bad inputs that write nothing.

use entities::{agent_commands, job_events, jobs, outbox_events, projects};
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::agents::{TECH_A, agent_call, bus_events, heartbeat, keys, register_agent, uuid_of};
use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app};

const MISSION_403: &str = "The One Mission answered 403 Forbidden: the integration key was rotated or revoked. Regenerate the key in Mission → Settings → Integrations and update the job configuration.";

const JOB_FIELDS: &str = "id status kind name itemsDone itemsTotal bytesDone bytesTotal gbTransferred mailboxCount error config missionKeySet startedAt finishedAt psaTicketId agent { name }";

/// Creates a project; returns its global ID.
async fn create_project(app: &TestApp, token: &str, input: Value) -> Value {
    let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
    let (_, body) = app.gql(token, m, json!({ "i": input })).await;
    let id = body["data"]["createProject"]["project"]["id"].clone();
    assert!(id.is_string(), "{body}");
    id
}

/// Runs `createJob`; returns the whole body.
async fn try_create_job(app: &TestApp, token: &str, input: Value) -> Value {
    let m = format!(
        "mutation($i: CreateJobInput!) {{ createJob(input: $i) {{ job {{ {JOB_FIELDS} }} }} }}"
    );
    app.gql(token, &m, json!({ "i": input })).await.1
}

/// Creates a job; returns its global ID.
async fn create_job(app: &TestApp, token: &str, input: Value) -> Value {
    let body = try_create_job(app, token, input).await;
    let id = body["data"]["createJob"]["job"]["id"].clone();
    assert!(id.is_string(), "{body}");
    id
}

async fn job(app: &TestApp, token: &str, id: &Value) -> Value {
    let q = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on Job {{ {JOB_FIELDS} events(first: 50) {{ edges {{ node {{ kind message data }} }} }} }} }} }}"
    );
    let (_, body) = app.gql(token, &q, json!({ "id": id })).await;
    body["data"]["node"].clone()
}

/// Calls `/api/agent/jobs/{id}/{action}`.
pub async fn report(
    app: &TestApp,
    key: &str,
    job: &Value,
    action: &str,
    body: Value,
) -> (u16, Value) {
    let path = format!("/api/agent/jobs/{}/{action}", uuid_of(job));
    agent_call(app, key, Method::POST, &path, Some(body)).await
}

/// Runs `pauseJob` / `resumeJob` / `cancelJob`.
async fn command(app: &TestApp, token: &str, mutation: &str, job: &Value) -> Value {
    let m = format!(
        "mutation($j: ID!) {{ {mutation}(input: {{ jobId: $j }}) {{ job {{ status }} command {{ id command status }} }} }}"
    );
    app.gql(token, &m, json!({ "j": job })).await.1
}

/// How many rows every written table holds: nothing-written checks compare two of these.
async fn written(app: &TestApp) -> [u64; 5] {
    let db = &app.services.db;
    [
        projects::Entity::find().count(db).await.unwrap(),
        jobs::Entity::find().count(db).await.unwrap(),
        job_events::Entity::find().count(db).await.unwrap(),
        agent_commands::Entity::find().count(db).await.unwrap(),
        outbox_events::Entity::find().count(db).await.unwrap(),
    ]
}

/// A project, an agent that has called in, and a job assigned to it.
pub async fn setup(app: &TestApp, token: &str) -> (Value, Value, String, Value) {
    let project = create_project(app, token, json!({ "name": "Contoso mail", "psaTicketId": "T-100", "storageAccount": "contosomig", "storageContainer": "contoso-mail" })).await;
    let (agent, key) = register_agent(app, token, "mig-01").await;
    assert_eq!(heartbeat(app, &key).await.0, 200);
    let job = create_job(app, token, json!({ "projectId": project, "kind": "MAILBOX", "name": "Wave 1", "agentId": agent, "psaTicketId": "T-101", "config": { "mailboxes": ["a@contoso.com"] } })).await;
    (project, agent, key, job)
}

both!(
    a_job_runs_from_creation_to_completion,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&TECH_A);
        let admin = app.token(&Who::ADMIN_A);
        let (project, agent, key, job_id) = setup(&app, &admin).await;
        let current = job(&app, &token, &job_id).await;
        assert_eq!(current["status"], "QUEUED");
        assert_eq!(current["config"], json!({ "mailboxes": ["a@contoso.com"] }));
        assert_eq!(current["agent"]["name"], "mig-01");

        let created = bus_events(&app, &token, "job.created").await;
        assert_eq!(created.len(), 1);
        assert_eq!(
            keys(&created[0]),
            [
                "job_id",
                "kind",
                "name",
                "project_id",
                "psa_project_id",
                "psa_ticket_id"
            ]
        );
        assert_eq!(created[0]["job_id"], uuid_of(&job_id).to_string());
        assert_eq!(created[0]["project_id"], uuid_of(&project).to_string());
        assert_eq!(
            (
                created[0]["kind"].as_str(),
                created[0]["psa_ticket_id"].as_str()
            ),
            (Some("mailbox"), Some("T-101"))
        );
        assert!(created[0]["psa_project_id"].is_null());

        // The agent sees its work with where to put it.
        let (status, body) = agent_call(&app, &key, Method::GET, "/api/agent/jobs", None).await;
        assert_eq!(status, 200, "{body}");
        let listed = &body["jobs"][0];
        assert_eq!(listed["id"], uuid_of(&job_id).to_string());
        assert_eq!(listed["status"], "queued");
        assert_eq!(listed["project"]["storageContainer"], "contoso-mail");
        assert_eq!(listed["missionKeySet"], false);

        let (status, body) = report(&app, &key, &job_id, "start", json!({})).await;
        assert_eq!(
            (status, body["job"]["status"].as_str()),
            (200, Some("running")),
            "{body}"
        );
        let progress = json!({ "itemsDone": 5, "itemsTotal": 10, "bytesDone": 2_000_000_000i64, "bytesTotal": 4_000_000_000i64 });
        let (status, body) = report(&app, &key, &job_id, "progress", progress).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["job"]["gbTransferred"], 2.0);
        let (status, _) = report(
            &app,
            &key,
            &job_id,
            "progress",
            json!({ "itemsDone": 10, "bytesDone": 4_000_000_000i64 }),
        )
        .await;
        assert_eq!(status, 200, "totals are remembered");
        let (status, body) = report(
            &app,
            &key,
            &job_id,
            "complete",
            json!({ "mailboxCount": 10 }),
        )
        .await;
        assert_eq!(
            (status, body["job"]["status"].as_str()),
            (200, Some("completed")),
            "{body}"
        );

        let done = job(&app, &token, &job_id).await;
        assert_eq!(done["status"], "COMPLETED");
        assert_eq!(
            (done["itemsDone"].clone(), done["itemsTotal"].clone()),
            (json!(10), json!(10))
        );
        assert_eq!(done["bytesTotal"], json!(4_000_000_000i64));
        assert_eq!(
            (done["gbTransferred"].clone(), done["mailboxCount"].clone()),
            (json!(4.0), json!(10))
        );
        assert!(done["startedAt"].is_string() && done["finishedAt"].is_string());
        let history: Vec<(String, String)> = done["events"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["node"]["kind"].as_str().unwrap().into(),
                    e["node"]["message"].as_str().unwrap().into(),
                )
            })
            .collect();
        let kinds: Vec<&str> = history.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["status", "status", "progress", "progress", "status"],
            "{history:?}"
        );
        assert_eq!(history[3].1, "10 of 10 items");

        let completed = bus_events(&app, &token, "job.completed").await;
        assert_eq!(completed.len(), 1);
        assert_eq!(
            keys(&completed[0]),
            [
                "gb_transferred",
                "job_id",
                "mailbox_count",
                "project_id",
                "psa_project_id",
                "psa_ticket_id"
            ]
        );
        assert_eq!(
            (
                completed[0]["gb_transferred"].clone(),
                completed[0]["mailbox_count"].clone()
            ),
            (json!(4.0), json!(10))
        );
        assert_eq!(completed[0]["psa_ticket_id"], "T-101");
        let outbox = outbox_events::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap();
        let done_event = outbox
            .iter()
            .find(|e| e.event_type == "job.completed")
            .unwrap();
        assert_eq!(
            (done_event.aggregate_type.as_str(), done_event.aggregate_id),
            ("job", uuid_of(&job_id))
        );

        // Finished jobs leave the agent's list.
        let (_, body) = agent_call(&app, &key, Method::GET, "/api/agent/jobs", None).await;
        assert_eq!(body["jobs"], json!([]));
        let _ = agent;
    }
);

both!(
    impossible_transitions_are_conflicts_and_write_nothing,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (project, agent, key, queued) = setup(&app, &token).await;
        let running = create_job(&app, &token, json!({ "projectId": project, "kind": "FILE_SHARE", "name": "Share", "agentId": agent, "config": {} })).await;
        assert_eq!(
            report(&app, &key, &running, "start", json!({})).await.0,
            200
        );

        let before = written(&app).await;
        // Complete a queued job; progress on a queued job; resume a running job; start twice.
        let (status, body) = report(&app, &key, &queued, "complete", json!({})).await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("a queued job cannot become completed")
        );
        let (status, body) = report(
            &app,
            &key,
            &queued,
            "progress",
            json!({ "itemsDone": 1, "bytesDone": 1 }),
        )
        .await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"));
        let body = command(&app, &token, "resumeJob", &running).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        let body = command(&app, &token, "pauseJob", &queued).await;
        assert_eq!(code(&body), "CONFLICT", "a queued job cannot be paused");
        let (status, body) = report(&app, &key, &running, "start", json!({})).await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"));
        assert_eq!(written(&app).await, before, "nothing written");

        // A finished job accepts nothing more.
        assert_eq!(
            report(&app, &key, &running, "complete", json!({})).await.0,
            200
        );
        let before = written(&app).await;
        let (status, body) = report(
            &app,
            &key,
            &running,
            "progress",
            json!({ "itemsDone": 1, "bytesDone": 1 }),
        )
        .await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"));
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("completed"),
            "{body}"
        );
        for action in ["start", "complete"] {
            assert_eq!(report(&app, &key, &running, action, json!({})).await.0, 409);
        }
        assert_eq!(
            report(&app, &key, &running, "fail", json!({ "error": "x" }))
                .await
                .0,
            409
        );
        for mutation in ["pauseJob", "resumeJob", "cancelJob"] {
            assert_eq!(
                code(&command(&app, &token, mutation, &running).await),
                "CONFLICT"
            );
        }
        let (_, body) = app.gql(&token, "mutation($j: ID!, $a: ID!) { assignJob(input: { jobId: $j, agentId: $a }) { job { id } } }", json!({ "j": running, "a": agent })).await;
        assert_eq!(code(&body), "CONFLICT");
        assert_eq!(written(&app).await, before, "nothing written");
    }
);

both!(
    commands_reach_the_agent_on_heartbeat_and_the_ack_changes_the_status,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (project, agent, key, job_id) = setup(&app, &token).await;
        assert_eq!(report(&app, &key, &job_id, "start", json!({})).await.0, 200);

        let body = command(&app, &token, "pauseJob", &job_id).await;
        let payload = &body["data"]["pauseJob"];
        assert_eq!(
            payload["job"]["status"], "RUNNING",
            "the status waits for the agent: {body}"
        );
        assert_eq!(
            (
                payload["command"]["command"].as_str(),
                payload["command"]["status"].as_str()
            ),
            (Some("PAUSE"), Some("PENDING"))
        );
        let command_id = uuid_of(&payload["command"]["id"]);
        let paused = bus_events(&app, &token, "agent.command.pause").await;
        assert_eq!(paused.len(), 1);
        assert_eq!(keys(&paused[0]), ["agent_id", "command_id", "job_id"]);
        assert_eq!(paused[0]["agent_id"], uuid_of(&agent).to_string());
        assert_eq!(paused[0]["job_id"], uuid_of(&job_id).to_string());
        assert_eq!(paused[0]["command_id"], command_id.to_string());
        assert_eq!(
            code(&command(&app, &token, "pauseJob", &job_id).await),
            "CONFLICT",
            "one pause at a time"
        );

        // Delivered on the heartbeat, and again until acknowledged.
        let (_, body) = heartbeat(&app, &key).await;
        let commands = body["commands"].as_array().unwrap().clone();
        assert_eq!(commands.len(), 1, "{body}");
        assert_eq!(
            (
                commands[0]["command"].as_str(),
                commands[0]["status"].as_str()
            ),
            (Some("pause"), Some("delivered"))
        );
        assert_eq!(commands[0]["jobId"], uuid_of(&job_id).to_string());
        assert_eq!(
            heartbeat(&app, &key).await.1["commands"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        // Another agent cannot acknowledge it.
        let (_, other_key) = register_agent(&app, &token, "mig-02").await;
        let ack = format!("/api/agent/commands/{command_id}/ack");
        let (status, body) = agent_call(&app, &other_key, Method::POST, &ack, None).await;
        assert_eq!((status, code(&body)), (404, "NOT_FOUND"));

        let (status, body) = agent_call(&app, &key, Method::POST, &ack, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (
                body["command"]["status"].as_str(),
                body["job"]["status"].as_str()
            ),
            (Some("acknowledged"), Some("paused"))
        );
        assert_eq!(heartbeat(&app, &key).await.1["commands"], json!([]));
        assert_eq!(job(&app, &token, &job_id).await["status"], "PAUSED");
        let (status, body) = agent_call(&app, &key, Method::POST, &ack, None).await;
        assert_eq!(
            (status, body["job"]["status"].as_str()),
            (200, Some("paused")),
            "a second ack changes nothing"
        );

        // Resume, then cancel, the same way.
        for (mutation, event, after) in [
            ("resumeJob", "agent.command.resume", "RUNNING"),
            ("cancelJob", "agent.command.cancel", "CANCELLED"),
        ] {
            let body = command(&app, &token, mutation, &job_id).await;
            let id = uuid_of(&body["data"][mutation]["command"]["id"]);
            assert_eq!(bus_events(&app, &token, event).await.len(), 1);
            let (_, beat) = heartbeat(&app, &key).await;
            assert_eq!(beat["commands"][0]["id"], id.to_string());
            let (status, _) = agent_call(
                &app,
                &key,
                Method::POST,
                &format!("/api/agent/commands/{id}/ack"),
                None,
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(job(&app, &token, &job_id).await["status"], after);
        }
        assert!(job(&app, &token, &job_id).await["finishedAt"].is_string());

        // A queued job without an agent is cancelled at once, with no command.
        let waiting = create_job(
            &app,
            &token,
            json!({ "projectId": project, "kind": "ONEDRIVE", "name": "Later", "config": {} }),
        )
        .await;
        let body = command(&app, &token, "cancelJob", &waiting).await;
        assert_eq!(
            body["data"]["cancelJob"]["job"]["status"], "CANCELLED",
            "{body}"
        );
        assert!(body["data"]["cancelJob"]["command"].is_null());
        assert_eq!(
            bus_events(&app, &token, "agent.command.cancel").await.len(),
            1
        );
    }
);

both!(
    other_tenants_and_other_agents_get_not_found,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token_a = app.token(&Who::ADMIN_A);
        let token_b = app.token(&Who::ADMIN_B);
        let (_, _, key_a, job_a) = setup(&app, &token_a).await;
        let (_, other_key_a) = register_agent(&app, &token_a, "mig-02").await;
        let (_, agent_b, key_b, job_b) = setup(&app, &token_b).await;

        let before = written(&app).await;
        for key in [&other_key_a, &key_b] {
            for (action, body) in [
                ("start", json!({})),
                ("progress", json!({ "itemsDone": 1, "bytesDone": 1 })),
                ("complete", json!({})),
                ("fail", json!({ "error": "x" })),
            ] {
                let (status, body) = report(&app, key, &job_a, action, body).await;
                assert_eq!(
                    (status, code(&body)),
                    (404, "NOT_FOUND"),
                    "{action}: {body}"
                );
            }
        }
        let (_, listed) = agent_call(&app, &key_b, Method::GET, "/api/agent/jobs", None).await;
        assert_eq!(listed["jobs"].as_array().unwrap().len(), 1);
        assert_eq!(listed["jobs"][0]["id"], uuid_of(&job_b).to_string());

        // Through GraphQL: B's admin cannot command, assign or read A's job; nor use B's agent on it.
        for mutation in ["pauseJob", "resumeJob", "cancelJob"] {
            assert_eq!(
                code(&command(&app, &token_b, mutation, &job_a).await),
                "NOT_FOUND"
            );
        }
        let assign = "mutation($j: ID!, $a: ID!) { assignJob(input: { jobId: $j, agentId: $a }) { job { id } } }";
        assert_eq!(
            code(
                &app.gql(&token_b, assign, json!({ "j": job_a, "a": agent_b }))
                    .await
                    .1
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                &app.gql(&token_a, assign, json!({ "j": job_a, "a": agent_b }))
                    .await
                    .1
            ),
            "NOT_FOUND"
        );
        let key_m = "mutation($j: ID!) { updateJobMissionKey(input: { jobId: $j, missionIntegrationKey: \"k\" }) { job { id } } }";
        assert_eq!(
            code(&app.gql(&token_b, key_m, json!({ "j": job_a })).await.1),
            "NOT_FOUND"
        );
        let (_, body) = app
            .gql(
                &token_b,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": job_a }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND");
        assert_eq!(written(&app).await, before, "nothing written");
        assert_eq!(
            report(&app, &key_a, &job_a, "start", json!({})).await.0,
            200
        );
    }
);

both!(
    a_rockrms_import_refused_by_mission_says_why,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (project, agent, key, mailbox_job) = setup(&app, &token).await;
        let secret = "mission-key-0123456789";
        let input = json!({ "projectId": project, "kind": "ROCKRMS_IMPORT", "name": "Church import", "agentId": agent, "psaProjectId": "P-7", "config": { "missionUrl": "https://mission.example" }, "missionIntegrationKey": secret });
        let body = try_create_job(&app, &token, input).await;
        assert_eq!(
            body["data"]["createJob"]["job"]["missionKeySet"], true,
            "{body}"
        );
        assert!(!body.to_string().contains(secret));
        let job_id = body["data"]["createJob"]["job"]["id"].clone();
        let row = jobs::Entity::find_by_id(uuid_of(&job_id))
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let sealed = row.secret_encrypted.unwrap();
        assert!(!sealed.contains(secret), "stored encrypted");
        assert_eq!(app.services.secrets.open(&sealed).unwrap(), secret);
        let (_, listed) = agent_call(&app, &key, Method::GET, "/api/agent/jobs", None).await;
        assert!(!listed.to_string().contains(secret));

        // A new key may be stored while the job has not finished.
        let key_m = "mutation($j: ID!, $k: String!) { updateJobMissionKey(input: { jobId: $j, missionIntegrationKey: $k }) { job { missionKeySet } } }";
        let (_, body) = app
            .gql(&token, key_m, json!({ "j": job_id, "k": "rotated-key-1" }))
            .await;
        assert_eq!(
            body["data"]["updateJobMissionKey"]["job"]["missionKeySet"], true,
            "{body}"
        );
        let (_, body) = app
            .gql(&token, key_m, json!({ "j": mailbox_job, "k": "k" }))
            .await;
        assert_eq!(
            code(&body),
            "BAD_USER_INPUT",
            "only RockRMS imports take a Mission key"
        );

        assert_eq!(report(&app, &key, &job_id, "start", json!({})).await.0, 200);
        let (status, body) = report(
            &app,
            &key,
            &mailbox_job,
            "fail",
            json!({ "error": "x", "missionStatus": 403 }),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (400, "BAD_USER_INPUT"),
            "missionStatus is for RockRMS imports"
        );
        let failure =
            json!({ "error": "POST /api/import/people answered 403", "missionStatus": 403 });
        let (status, body) = report(&app, &key, &job_id, "fail", failure).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["job"]["status"], "failed");
        assert_eq!(body["job"]["error"], MISSION_403);
        assert_eq!(job(&app, &token, &job_id).await["error"], MISSION_403);

        let failed = bus_events(&app, &token, "job.failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(
            keys(&failed[0]),
            [
                "error",
                "job_id",
                "project_id",
                "psa_project_id",
                "psa_ticket_id"
            ]
        );
        assert_eq!(
            (
                failed[0]["error"].as_str(),
                failed[0]["psa_project_id"].as_str()
            ),
            (Some(MISSION_403), Some("P-7"))
        );
        let (_, body) = app
            .gql(&token, key_m, json!({ "j": job_id, "k": "too-late" }))
            .await;
        assert_eq!(code(&body), "CONFLICT", "a failed job will not run again");
        let body = try_create_job(&app, &token, json!({ "projectId": project, "kind": "MAILBOX", "name": "M", "config": {}, "missionIntegrationKey": "k" })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
);

both!(
    bad_inputs_are_refused_and_write_nothing,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (project, _, key, job_id) = setup(&app, &token).await;
        assert_eq!(report(&app, &key, &job_id, "start", json!({})).await.0, 200);
        let ok = json!({ "itemsDone": 5, "itemsTotal": 10, "bytesDone": 500, "bytesTotal": 1000 });
        assert_eq!(report(&app, &key, &job_id, "progress", ok).await.0, 200);

        let before = written(&app).await;
        for bad in [
            json!({ "itemsDone": -1, "bytesDone": 600 }),
            json!({ "itemsDone": 6, "bytesDone": -5 }),
            json!({ "itemsDone": 11, "bytesDone": 600 }),
            json!({ "itemsDone": 6, "bytesDone": 1001 }),
            json!({ "itemsDone": 6, "itemsTotal": 4, "bytesDone": 600 }),
            json!({ "itemsDone": 4, "bytesDone": 600 }),
            json!({ "itemsDone": 6, "bytesDone": 400 }),
            json!({ "itemsDone": "six", "bytesDone": 600 }),
            json!({ "bytesDone": 600 }),
        ] {
            let (status, body) = report(&app, &key, &job_id, "progress", bad.clone()).await;
            assert_eq!(
                (status, code(&body)),
                (400, "BAD_USER_INPUT"),
                "{bad}: {body}"
            );
        }
        for bad in [
            json!({ "error": "" }),
            json!({ "error": "x", "missionStatus": 99 }),
        ] {
            assert_eq!(report(&app, &key, &job_id, "fail", bad).await.0, 400);
        }
        assert_eq!(
            report(
                &app,
                &key,
                &job_id,
                "complete",
                json!({ "mailboxCount": -1 })
            )
            .await
            .0,
            400
        );
        let (status, body) = agent_call(
            &app,
            &key,
            Method::POST,
            "/api/agent/jobs/not-an-id/start",
            None,
        )
        .await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"));

        let project_m =
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
        for bad in [
            json!({ "name": "" }),
            json!({ "name": "   " }),
            json!({ "name": "x".repeat(201) }),
            json!({ "name": "Ok", "storageContainer": "Bad_Name" }),
            json!({ "name": "Ok", "storageContainer": "ab" }),
            json!({ "name": "Ok", "storageContainer": "double--hyphen" }),
            json!({ "name": "Ok", "storageAccount": "has-hyphen" }),
            json!({ "name": "Ok", "description": "d".repeat(2001) }),
        ] {
            let (_, body) = app.gql(&token, project_m, json!({ "i": bad })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        }
        let (_, body) = app
            .gql(
                &token,
                project_m,
                json!({ "i": { "name": "Contoso mail" } }),
            )
            .await;
        assert_eq!(code(&body), "CONFLICT", "names are unique in the tenant");
        for (config, name) in [
            (json!([1, 2]), "Job"),
            (json!("text"), "Job"),
            (json!(null), "Job"),
            (json!({ "password": "p" }), "Job"),
            (json!({}), ""),
        ] {
            let body = try_create_job(
                &app,
                &token,
                json!({ "projectId": project, "kind": "MAILBOX", "name": name, "config": config }),
            )
            .await;
            let expected = if config.is_null() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "BAD_USER_INPUT"
            };
            assert_eq!(code(&body), expected, "{config} {name:?}: {body}");
        }
        let viewer = app.token(&Who {
            tenant: "tenant-a",
            sub: "vic",
            roles: &["viewer"],
            products: &["migrate"],
        });
        let (_, body) = app
            .gql(&viewer, project_m, json!({ "i": { "name": "Mine" } }))
            .await;
        assert_eq!(code(&body), "FORBIDDEN");
        assert_eq!(written(&app).await, before, "nothing written");

        // The same name in another tenant is fine.
        create_project(
            &app,
            &app.token(&Who::ADMIN_B),
            json!({ "name": "Contoso mail" }),
        )
        .await;
    }
);

both!(projects_are_created_and_updated, |backend| async move {
    let app = spawn_app(backend).await;
    let token = app.token(&TECH_A);
    let input = json!({ "name": " Fabrikam files ", "description": "Shares", "psaTicketId": "T-9", "psaProjectId": "P-9", "storageAccount": "fabrikam01", "storageContainer": "files-2026" });
    let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id name description psaTicketId psaProjectId storageAccount storageContainer storageConnected } } }";
    let (_, body) = app.gql(&token, m, json!({ "i": input })).await;
    let created = &body["data"]["createProject"]["project"];
    assert_eq!(created["name"], "Fabrikam files", "{body}");
    assert_eq!(
        (
            created["psaTicketId"].as_str(),
            created["storageContainer"].as_str()
        ),
        (Some("T-9"), Some("files-2026"))
    );
    assert_eq!(created["storageConnected"], false);
    let id = created["id"].clone();
    create_project(&app, &token, json!({ "name": "Other" })).await;

    let u = "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { project { name description psaTicketId storageContainer } } }";
    let (_, body) = app.gql(&token, u, json!({ "i": { "projectId": id, "name": "Fabrikam", "description": null, "storageContainer": "files-2027" } })).await;
    let updated = &body["data"]["updateProject"]["project"];
    assert_eq!(updated["name"], "Fabrikam", "{body}");
    assert!(updated["description"].is_null(), "null clears");
    assert_eq!(updated["psaTicketId"], "T-9", "left out keeps");
    assert_eq!(updated["storageContainer"], "files-2027");
    let (_, body) = app
        .gql(
            &token,
            u,
            json!({ "i": { "projectId": id, "name": "Other" } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    let (_, body) = app
        .gql(
            &token,
            u,
            json!({ "i": { "projectId": id, "storageContainer": "NO" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql(
            &app.token(&Who::ADMIN_B),
            u,
            json!({ "i": { "projectId": id, "name": "Mine" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app.gql(&token, u, json!({ "i": { "projectId": id, "clientId": stack_gateway::graphql::relay::global_id("Client", uuid::Uuid::now_v7()).0 } })).await;
    assert_eq!(code(&body), "NOT_FOUND", "an unknown client");
});
