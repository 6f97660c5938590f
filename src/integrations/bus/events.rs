//! The events of the product pages, with exactly their payload fields.

use serde::Serialize;
use uuid::Uuid;

/// An event the gateway publishes. `TYPE` is the Bus event name; events of one aggregate are
/// delivered in the order they were written.
pub trait BusEvent: Serialize {
    const TYPE: &'static str;
    const AGGREGATE: &'static str;
    fn aggregate_id(&self) -> Uuid;
}

macro_rules! event {
    ($name:ident, $type:literal, $aggregate:literal, $key:ident, { $($field:ident: $ty:ty),* $(,)? }) => {
        #[doc = concat!("`", $type, "`")]
        #[derive(Serialize, Debug, Clone)]
        pub struct $name {
            $(pub $field: $ty),*
        }

        impl BusEvent for $name {
            const TYPE: &'static str = $type;
            const AGGREGATE: &'static str = $aggregate;
            fn aggregate_id(&self) -> Uuid {
                self.$key
            }
        }
    };
}

// The One Code (seed 000, "The One Bus (Events)").
event!(OrgConnected, "code.org.connected", "organization", org_id, {
    org_id: Uuid, provider: String, org_login: String, repo_count: i64,
});
event!(OrgDisconnected, "code.org.disconnected", "organization", org_id, {
    org_id: Uuid, provider: String, org_login: String,
});
event!(RepoDiscovered, "code.repo.discovered", "organization", org_id, {
    repo_id: Uuid, org_id: Uuid, provider: String, repo_name: String,
});
event!(BackupRequested, "code.backup.requested", "repository", repo_id, {
    job_id: Uuid, repo_id: Uuid, org_id: Uuid,
});
event!(DocumentationGenerated, "code.documentation.generated", "repository", repo_id, {
    doc_count: i64, repo_id: Uuid,
});
event!(DocumentationRefreshed, "code.documentation.refreshed", "repository", repo_id, {
    doc_type: String, repo_id: Uuid,
});
event!(NewSecretDetected, "code.security.new_secret_detected", "repository", repo_id, {
    repo_id: Uuid, org_id: Uuid, secret_type: String, severity: String,
});

// The One Migrate (seed 004, "The One Bus (Event Mesh)").
event!(AgentRegistered, "agent.registered", "agent", agent_id, {
    agent_id: Uuid, name: String, hostname: Option<String>, version: Option<String>,
});
event!(AgentCommandPause, "agent.command.pause", "agent", agent_id, {
    agent_id: Uuid, job_id: Uuid, command_id: Uuid,
});
event!(AgentCommandResume, "agent.command.resume", "agent", agent_id, {
    agent_id: Uuid, job_id: Uuid, command_id: Uuid,
});
event!(AgentCommandCancel, "agent.command.cancel", "agent", agent_id, {
    agent_id: Uuid, job_id: Uuid, command_id: Uuid,
});
event!(JobCreated, "job.created", "job", job_id, {
    job_id: Uuid, project_id: Uuid, kind: String, name: String,
    psa_ticket_id: Option<String>, psa_project_id: Option<String>,
});
event!(JobCompleted, "job.completed", "job", job_id, {
    job_id: Uuid, project_id: Uuid, gb_transferred: f64, mailbox_count: i64,
    psa_ticket_id: Option<String>, psa_project_id: Option<String>,
});
event!(JobFailed, "job.failed", "job", job_id, {
    job_id: Uuid, project_id: Uuid, error: String,
    psa_ticket_id: Option<String>, psa_project_id: Option<String>,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_exactly_the_seed_fields() {
        let id = Uuid::nil();
        let fields = |v: serde_json::Value| -> Vec<String> {
            let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let connected = OrgConnected {
            org_id: id,
            provider: "github".into(),
            org_login: "acme".into(),
            repo_count: 3,
        };
        assert_eq!(
            fields(serde_json::to_value(connected).unwrap()),
            ["org_id", "org_login", "provider", "repo_count"]
        );
        let secret = NewSecretDetected {
            repo_id: id,
            org_id: id,
            secret_type: "aws".into(),
            severity: "high".into(),
        };
        assert_eq!(
            fields(serde_json::to_value(secret).unwrap()),
            ["org_id", "repo_id", "secret_type", "severity"]
        );
        let backup = BackupRequested {
            job_id: id,
            repo_id: id,
            org_id: id,
        };
        assert_eq!(
            fields(serde_json::to_value(backup).unwrap()),
            ["job_id", "org_id", "repo_id"]
        );
        assert_eq!(DocumentationRefreshed::TYPE, "code.documentation.refreshed");
    }

    #[test]
    fn migrate_payloads_carry_exactly_their_fields() {
        let id = Uuid::nil();
        let fields = |v: serde_json::Value| -> Vec<String> {
            let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let registered = AgentRegistered {
            agent_id: id,
            name: "a".into(),
            hostname: None,
            version: None,
        };
        assert_eq!(
            fields(serde_json::to_value(registered).unwrap()),
            ["agent_id", "hostname", "name", "version"]
        );
        let pause = AgentCommandPause {
            agent_id: id,
            job_id: id,
            command_id: id,
        };
        assert_eq!(
            fields(serde_json::to_value(pause).unwrap()),
            ["agent_id", "command_id", "job_id"]
        );
        let completed = JobCompleted {
            job_id: id,
            project_id: id,
            gb_transferred: 1.5,
            mailbox_count: 2,
            psa_ticket_id: None,
            psa_project_id: None,
        };
        assert_eq!(
            fields(serde_json::to_value(completed).unwrap()),
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
            (AgentCommandCancel::AGGREGATE, JobFailed::AGGREGATE),
            ("agent", "job")
        );
    }
}
