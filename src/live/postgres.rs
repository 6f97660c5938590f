//! Cross-replica fan-out on PostgreSQL: `pg_notify` after a commit, one LISTEN connection per
//! replica that reloads the announced row and hands it to the local hub.

use std::time::Duration;

use entities::{agents, jobs};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Statement};

use super::{Announcement, LiveHub};

/// The NOTIFY channel the replicas share.
const CHANNEL: &str = "gateway_live";

pub(super) async fn notify(
    db: &DatabaseConnection,
    announcement: &Announcement,
) -> Result<(), DbErr> {
    let payload = serde_json::to_string(announcement).expect("announcement serializes");
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

/// Runs for the life of the process; reconnects after a lost connection.
pub(super) async fn listen(hub: LiveHub) {
    loop {
        if let Err(error) = listen_once(&hub).await {
            tracing::warn!(%error, "live updates listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(hub: &LiveHub) -> anyhow::Result<()> {
    let pool = hub.db.get_postgres_connection_pool();
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        let announcement = match serde_json::from_str(notification.payload()) {
            Ok(a) => a,
            Err(error) => {
                tracing::warn!(%error, "unreadable live announcement ignored");
                continue;
            }
        };
        if let Err(error) = reload_and_deliver(hub, announcement).await {
            tracing::warn!(%error, ?announcement, "live update not delivered");
        }
    }
}

/// Reloads the row (tenant-checked) unless nobody here listens for it.
async fn reload_and_deliver(hub: &LiveHub, announcement: Announcement) -> Result<(), DbErr> {
    match announcement {
        Announcement::Job {
            tenant,
            id,
            project,
        } => {
            if hub.subscribers(&super::job_topic(id)) == 0
                && hub.subscribers(&super::project_topic(project)) == 0
            {
                return Ok(());
            }
            if let Some(job) = jobs::Entity::find_by_id(id).one(&hub.db).await?
                && job.tenant_id == tenant
            {
                hub.deliver_job(job);
            }
        }
        Announcement::Agent { tenant, id } => {
            if hub.subscribers(&super::agents_topic(tenant)) == 0 {
                return Ok(());
            }
            if let Some(agent) = agents::Entity::find_by_id(id).one(&hub.db).await?
                && agent.tenant_id == tenant
            {
                hub.deliver_agent(agent);
            }
        }
        // Nothing to reload: the sockets of that session just close.
        Announcement::Session { id } => hub.deliver_session_end(id),
    }
    Ok(())
}
