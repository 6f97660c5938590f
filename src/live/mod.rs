//! Live updates for subscriptions: a topic hub in each process, fed after each commit that
//! changes a job or an agent. On PostgreSQL the change is announced with NOTIFY and every
//! replica (this one included) reloads the row once and fans it out to its own subscribers, so a
//! progress report received by one replica reaches subscribers on all of them. On SQLite there is
//! one process: the row goes straight to the local hub.

mod postgres;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use entities::{agents, jobs};
use sea_orm::{DatabaseBackend, DatabaseConnection};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// Events kept per topic for a slow subscriber; past that it skips to the newest (progress is
/// state, not a log: the latest snapshot is what matters).
const TOPIC_BUFFER: usize = 16;

/// What changed, as the subscribers receive it.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    Job(Arc<jobs::Model>),
    Agent(Arc<agents::Model>),
    /// A cookie session was signed out: its sockets close.
    SessionEnded,
}

/// What a NOTIFY carries between replicas: which row to reload (rows can be larger than a
/// NOTIFY payload may be, and must not travel with their sealed secrets).
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Announcement {
    Job {
        tenant: Uuid,
        id: Uuid,
        project: Uuid,
    },
    Agent {
        tenant: Uuid,
        id: Uuid,
    },
    Session {
        id: Uuid,
    },
}

/// The topics a subscription listens to.
pub fn job_topic(job: Uuid) -> String {
    format!("job:{job}")
}
pub fn project_topic(project: Uuid) -> String {
    format!("project:{project}")
}
pub fn agents_topic(tenant: Uuid) -> String {
    format!("agents:{tenant}")
}
pub fn session_topic(session: Uuid) -> String {
    format!("session:{session}")
}

/// Process-wide topic hub; cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    topics: Arc<Mutex<HashMap<String, broadcast::Sender<LiveEvent>>>>,
    db: DatabaseConnection,
}

impl LiveHub {
    pub fn new(db: DatabaseConnection) -> Self {
        LiveHub {
            topics: Arc::default(),
            db,
        }
    }

    /// Starts the cross-replica listener on PostgreSQL (nothing to do on SQLite).
    pub fn start(&self) -> Option<tokio::task::JoinHandle<()>> {
        (self.db.get_database_backend() == DatabaseBackend::Postgres)
            .then(|| tokio::spawn(postgres::listen(self.clone())))
    }

    /// Receives what is published to `topic` from now on.
    pub fn subscribe(&self, topic: String) -> broadcast::Receiver<LiveEvent> {
        let mut topics = self.topics.lock().expect("live topics");
        topics
            .entry(topic)
            .or_insert_with(|| broadcast::channel(TOPIC_BUFFER).0)
            .subscribe()
    }

    /// Drops `topic` if nobody listens to it any more (topics are otherwise dropped at their
    /// next event, and a session topic has at most one).
    pub fn release(&self, topic: &str) {
        let mut topics = self.topics.lock().expect("live topics");
        if topics.get(topic).is_some_and(|t| t.receiver_count() == 0) {
            topics.remove(topic);
        }
    }

    /// Subscribers currently listening to `topic` in this process.
    pub fn subscribers(&self, topic: &str) -> usize {
        let topics = self.topics.lock().expect("live topics");
        topics.get(topic).map_or(0, |t| t.receiver_count())
    }

    /// Listeners on every topic in this process (for metrics).
    pub fn listeners(&self) -> usize {
        let topics = self.topics.lock().expect("live topics");
        topics.values().map(|t| t.receiver_count()).sum()
    }

    /// A job changed (call after the commit).
    pub async fn job_changed(&self, job: &jobs::Model) {
        if self.is_postgres() {
            self.announce(Announcement::Job {
                tenant: job.tenant_id,
                id: job.id,
                project: job.project_id,
            })
            .await;
        } else {
            self.deliver_job(job.clone());
        }
    }

    /// An agent changed (call after the commit).
    pub async fn agent_changed(&self, agent: &agents::Model) {
        if self.is_postgres() {
            self.announce(Announcement::Agent {
                tenant: agent.tenant_id,
                id: agent.id,
            })
            .await;
        } else {
            self.deliver_agent(agent.clone());
        }
    }

    /// A cookie session was signed out (call after the commit): every replica closes the
    /// sockets it opened.
    pub async fn session_ended(&self, session: Uuid) {
        if self.is_postgres() {
            self.announce(Announcement::Session { id: session }).await;
        } else {
            self.deliver_session_end(session);
        }
    }

    fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DatabaseBackend::Postgres
    }

    async fn announce(&self, announcement: Announcement) {
        // The change is committed whatever happens here: a lost announcement costs subscribers
        // one update, never the request.
        if let Err(error) = postgres::notify(&self.db, &announcement).await {
            tracing::warn!(%error, ?announcement, "live update not announced");
        }
    }

    fn deliver_job(&self, job: jobs::Model) {
        let topics = [job_topic(job.id), project_topic(job.project_id)];
        self.send(&topics, LiveEvent::Job(Arc::new(job)));
    }

    fn deliver_agent(&self, agent: agents::Model) {
        let topics = [agents_topic(agent.tenant_id)];
        self.send(&topics, LiveEvent::Agent(Arc::new(agent)));
    }

    fn deliver_session_end(&self, session: Uuid) {
        self.send(&[session_topic(session)], LiveEvent::SessionEnded);
    }

    fn send(&self, names: &[String], event: LiveEvent) {
        let mut topics = self.topics.lock().expect("live topics");
        for name in names {
            if let Some(topic) = topics.get(name) {
                if topic.receiver_count() == 0 {
                    topics.remove(name);
                } else {
                    let _ = topic.send(event.clone());
                }
            }
        }
    }
}
