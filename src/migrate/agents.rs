//! Desktop agents: registration (the API key is shown once, only its hash kept), rotation,
//! revocation, authentication by key, re-registration and heartbeats (which hand over pending
//! commands), and the offline sweep.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entities::enums::{AgentStatus, CommandStatus};
use entities::{agent_commands, agents};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde::Deserialize;
use tokio::sync::Notify;
use uuid::Uuid;

use super::payloads::RegisterAgentInput;
use super::rules::{optional, required};
use crate::auth::service::{hash_secret, random_secret};
use crate::auth::{Agent, User};
use crate::integrations::bus::{self, events::AgentRegistered};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::live::LiveHub;

/// Every agent key starts with this, so a Bearer token is told apart from a Hub JWT.
pub const KEY_PREFIX: &str = "sgak_";
/// How many characters of a key are kept in the clear to tell keys apart.
const SHOWN_PREFIX: usize = 12;
/// An online agent silent this long is marked offline.
pub const OFFLINE_AFTER: Duration = Duration::minutes(2);

/// A newly issued key: shown to the caller once, never stored.
pub struct IssuedKey {
    pub agent: agents::Model,
    pub api_key: String,
}

/// What an agent says about itself when it (re-)registers.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AgentHello {
    pub hostname: Option<String>,
    pub version: Option<String>,
}

#[derive(Clone)]
pub struct AgentService {
    db: DatabaseConnection,
    bus_wake: Arc<Notify>,
    /// Subscribers of agent status hear of each committed change.
    live: LiveHub,
}

fn new_key() -> String {
    format!("{KEY_PREFIX}{}", random_secret())
}

/// `sgak_` and 43 URL-safe base64 characters (256 bits).
fn well_formed(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn registered_event(agent: &agents::Model) -> AgentRegistered {
    AgentRegistered {
        agent_id: agent.id,
        name: agent.name.clone(),
        hostname: agent.hostname.clone(),
        version: agent.version.clone(),
    }
}

fn hostname(value: Option<&str>) -> ApiResult<Option<String>> {
    optional("hostname", value, 255)
}

fn version(value: Option<&str>) -> ApiResult<Option<String>> {
    optional("version", value, 50)
}

impl AgentService {
    /// The status of each of the tenant's agents (or of `only`, if it is the tenant's).
    pub async fn statuses(
        &self,
        tenant: Uuid,
        only: Option<Uuid>,
    ) -> ApiResult<std::collections::HashMap<Uuid, AgentStatus>> {
        Ok(agents::Entity::find()
            .select_only()
            .columns([agents::Column::Id, agents::Column::Status])
            .filter(agents::Column::TenantId.eq(tenant))
            .apply_if(only, |q, id| q.filter(agents::Column::Id.eq(id)))
            .into_tuple::<(Uuid, AgentStatus)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect())
    }

    pub fn new(db: DatabaseConnection, bus_wake: Arc<Notify>, live: LiveHub) -> Self {
        AgentService { db, bus_wake, live }
    }

    /// Registers an agent (admins): returns its key once and emits `agent.registered`.
    pub async fn register(&self, user: &User, input: RegisterAgentInput) -> ApiResult<IssuedKey> {
        let name = required("name", &input.name, 100)?;
        let (hostname, version) = (
            hostname(input.hostname.as_deref())?,
            version(input.version.as_deref())?,
        );
        let api_key = new_key();
        let now = Utc::now();
        let row = agents::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            name: Set(name),
            hostname: Set(hostname),
            version: Set(version),
            // Offline until it first calls in.
            status: Set(AgentStatus::Offline),
            api_key_hash: Set(hash_secret(&api_key)),
            api_key_prefix: Set(api_key[..SHOWN_PREFIX].to_string()),
            last_heartbeat_at: Set(None),
            registered_at: Set(now),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let agent = agents::Entity::insert(row)
            .exec_with_returning(&txn)
            .await?;
        bus::enqueue(&txn, user.tenant_id, &registered_event(&agent)).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        self.live.agent_changed(&agent).await;
        Ok(IssuedKey { agent, api_key })
    }

    /// Replaces an agent's key (admins); the old key stops working at once.
    pub async fn rotate_key(&self, user: &User, id: Uuid) -> ApiResult<IssuedKey> {
        let found = self.find(user.tenant_id, id).await?;
        if found.status == AgentStatus::Revoked {
            return Err(ApiError::new(
                Code::Conflict,
                "the agent is revoked; register a new agent instead",
            ));
        }
        let api_key = new_key();
        let mut row = found.into_active_model();
        row.api_key_hash = Set(hash_secret(&api_key));
        row.api_key_prefix = Set(api_key[..SHOWN_PREFIX].to_string());
        row.updated_at = Set(Utc::now());
        let agent = save_unless_revoked(&self.db, user.tenant_id, id, row)
            .await?
            .ok_or_else(|| ApiError::new(Code::Conflict, "the agent was revoked meanwhile"))?;
        Ok(IssuedKey { agent, api_key })
    }

    /// Revokes an agent (admins): its key is refused from now on. Revoking twice is a no-op.
    pub async fn revoke(&self, user: &User, id: Uuid) -> ApiResult<agents::Model> {
        let found = self.find(user.tenant_id, id).await?;
        if found.status == AgentStatus::Revoked {
            return Ok(found);
        }
        let now = Utc::now();
        let mut row = found.into_active_model();
        row.status = Set(AgentStatus::Revoked);
        row.revoked_at = Set(Some(now));
        row.updated_at = Set(now);
        let revoked = agents::Entity::update(row).exec(&self.db).await?;
        self.live.agent_changed(&revoked).await;
        Ok(revoked)
    }

    /// The agent a Bearer key belongs to; unknown, rotated, revoked or malformed keys are
    /// `UNAUTHENTICATED`.
    pub async fn authenticate(&self, key: &str) -> ApiResult<Agent> {
        let refused = || {
            ApiError::new(
                Code::Unauthenticated,
                "the agent key is not valid (unknown, rotated or revoked)",
            )
        };
        if !well_formed(key) {
            return Err(refused());
        }
        let agent = agents::Entity::find()
            .filter(agents::Column::ApiKeyHash.eq(hash_secret(key)))
            .filter(agents::Column::Status.ne(AgentStatus::Revoked))
            .one(&self.db)
            .await?
            .ok_or_else(refused)?;
        Ok(Agent {
            tenant_id: agent.tenant_id,
            agent_id: agent.id,
        })
    }

    /// The agent registers again with its key: new hostname and version, online, and
    /// `agent.registered` once more.
    pub async fn reregister(&self, agent: &Agent, hello: AgentHello) -> ApiResult<agents::Model> {
        let (hostname, version) = (
            hostname(hello.hostname.as_deref())?,
            version(hello.version.as_deref())?,
        );
        let now = Utc::now();
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let row = agents::ActiveModel {
            hostname: Set(hostname),
            version: Set(version),
            registered_at: Set(now),
            status: Set(AgentStatus::Online),
            last_heartbeat_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        };
        let updated = save_unless_revoked(&txn, agent.tenant_id, agent.agent_id, row)
            .await?
            .ok_or_else(revoked_meanwhile)?;
        bus::enqueue(&txn, agent.tenant_id, &registered_event(&updated)).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        self.live.agent_changed(&updated).await;
        Ok(updated)
    }

    /// A heartbeat: the agent is online; its unacknowledged commands are handed over (pending
    /// ones become delivered). Delivered ones are sent again until acknowledged.
    pub async fn heartbeat(
        &self,
        agent: &Agent,
    ) -> ApiResult<(agents::Model, Vec<agent_commands::Model>)> {
        let now = Utc::now();
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let row = agents::ActiveModel {
            status: Set(AgentStatus::Online),
            last_heartbeat_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        };
        let updated = save_unless_revoked(&txn, agent.tenant_id, agent.agent_id, row)
            .await?
            .ok_or_else(revoked_meanwhile)?;
        let mine = Condition::all()
            .add(agent_commands::Column::TenantId.eq(agent.tenant_id))
            .add(agent_commands::Column::AgentId.eq(agent.agent_id));
        agent_commands::Entity::update_many()
            .col_expr(
                agent_commands::Column::Status,
                Expr::value(CommandStatus::Delivered),
            )
            .col_expr(agent_commands::Column::UpdatedAt, Expr::value(now))
            .filter(mine.clone())
            .filter(agent_commands::Column::Status.eq(CommandStatus::Pending))
            .exec(&txn)
            .await?;
        let commands = agent_commands::Entity::find()
            .filter(mine)
            .filter(agent_commands::Column::Status.eq(CommandStatus::Delivered))
            .order_by_asc(agent_commands::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        self.live.agent_changed(&updated).await;
        Ok((updated, commands))
    }

    /// Marks online agents without a heartbeat since `now - OFFLINE_AFTER` offline, in every
    /// tenant (timer `agent-offline-detection`; idempotent). Returns how many changed.
    pub async fn detect_offline(&self, now: DateTime<Utc>) -> ApiResult<u64> {
        let cutoff = now - OFFLINE_AFTER;
        let silent = Condition::any()
            .add(agents::Column::LastHeartbeatAt.is_null())
            .add(agents::Column::LastHeartbeatAt.lt(cutoff));
        let result = agents::Entity::update_many()
            .col_expr(agents::Column::Status, Expr::value(AgentStatus::Offline))
            .col_expr(agents::Column::UpdatedAt, Expr::value(now))
            .filter(agents::Column::Status.eq(AgentStatus::Online))
            .filter(silent)
            .exec_with_returning(&self.db)
            .await?;
        for agent in &result {
            self.live.agent_changed(agent).await;
        }
        Ok(result.len() as u64)
    }

    async fn find(&self, tenant: Uuid, id: Uuid) -> ApiResult<agents::Model> {
        agents::Entity::find_by_id(id)
            .filter(agents::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("agent"))
    }
}

/// Writes `row`'s set columns to the agent unless it is (by now) revoked.
async fn save_unless_revoked(
    conn: &impl ConnectionTrait,
    tenant: Uuid,
    id: Uuid,
    row: agents::ActiveModel,
) -> ApiResult<Option<agents::Model>> {
    Ok(agents::Entity::update_many()
        .set(row)
        .filter(agents::Column::Id.eq(id))
        .filter(agents::Column::TenantId.eq(tenant))
        .filter(agents::Column::Status.ne(AgentStatus::Revoked))
        .exec_with_returning(conn)
        .await?
        .pop())
}

fn revoked_meanwhile() -> ApiError {
    ApiError::new(
        Code::Unauthenticated,
        "the agent key is not valid (unknown, rotated or revoked)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_256_bit_secrets() {
        let key = new_key();
        assert!(key.starts_with("sgak_"));
        assert_eq!(key.len(), 5 + 43);
        assert!(well_formed(&key));
        assert!(!well_formed("sgak_short"));
        assert!(!well_formed(&key.replace("sgak_", "sgax_")));
        assert!(!well_formed(&format!("{}!", &key[..key.len() - 1])));
    }
}
