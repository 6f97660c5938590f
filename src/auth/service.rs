//! Sign-in rules: the SSO exchange (single-use tokens), cookie sessions, Bearer tokens, logout
//! and the clean-up of what has expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entities::enums::{Product, Role};
use entities::{sessions, tenants, used_tokens, users};
use rand::RngCore;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, SqlErr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::claims::{VerifiedClaims, verify};
use super::principal::User;
use crate::config::SsoConfig;
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// The longest a cookie session may live, whatever Hub says.
const MAX_SESSION_DAYS: i64 = 30;

/// SHA-256 of a bearer secret (session token, agent key), as stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A session created by the SSO exchange; `token` goes into the cookie, only its hash is kept.
pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// (Hub tenant, Hub user) → (our tenant id, our user id).
type KnownUsers = HashMap<(String, String), (Uuid, Uuid)>;

/// Bearer tokens that verified, kept until their `exp` so a back-end sending the same token on
/// every request is not verified again each time (signature and claims were ≈ 6 % of the
/// server's CPU per request in the read-graph benchmark).
const VERIFIED_TOKENS: usize = 1_024;

#[derive(Clone)]
pub struct AuthService {
    db: DatabaseConnection,
    sso: SsoConfig,
    /// (Hub tenant, Hub user) → our ids, so Bearer requests skip the upsert after the first.
    known_users: Arc<Mutex<KnownUsers>>,
    /// Bearer token → its verified claims (only tokens that passed every check).
    verified: Arc<Mutex<lru::LruCache<String, VerifiedClaims>>>,
}

impl AuthService {
    pub fn new(db: DatabaseConnection, sso: SsoConfig) -> Self {
        AuthService {
            db,
            sso,
            known_users: Default::default(),
            verified: Arc::new(Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(VERIFIED_TOKENS).expect("non-zero"),
            ))),
        }
    }

    /// Exchanges a Hub SSO token for a cookie session. Each token is accepted once.
    pub async fn sign_in(&self, token: &str) -> ApiResult<NewSession> {
        let verified = verify(&self.sso, token)?;
        let claims = &verified.claims;
        let expires = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
        let used = used_tokens::ActiveModel {
            jti: Set(claims.jti.clone()),
            expires_at: Set(expires),
            created_at: Set(Utc::now()),
        };
        if let Err(error) = used_tokens::Entity::insert(used).exec(&self.db).await {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ApiError::new(Code::Unauthenticated, "this sign-in token was already used")
                }
                _ => error.into(),
            });
        }
        let (tenant_id, user_id) = self.upsert_user(&verified).await?;
        let now = Utc::now();
        let hub_end = DateTime::from_timestamp(claims.session_exp, 0).unwrap_or(now);
        let expires_at = hub_end.min(now + Duration::days(MAX_SESSION_DAYS));
        let token = random_secret();
        let session = sessions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            user_id: Set(user_id),
            token_hash: Set(hash_secret(&token)),
            roles: Set(serde_json::to_value(&verified.roles).map_err(anyhow::Error::from)?),
            products: Set(serde_json::to_value(&verified.products).map_err(anyhow::Error::from)?),
            expires_at: Set(expires_at),
            last_seen_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        sessions::Entity::insert(session).exec(&self.db).await?;
        Ok(NewSession { token, expires_at })
    }

    /// The user behind a `code_session` cookie, if it is live.
    pub async fn session_user(&self, token: &str) -> ApiResult<Option<User>> {
        let found = sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(hash_secret(token)))
            .filter(sessions::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await?;
        Ok(found.map(|s| User {
            tenant_id: s.tenant_id,
            user_id: s.user_id,
            roles: serde_json::from_value::<Vec<Role>>(s.roles).unwrap_or_default(),
            products: serde_json::from_value::<Vec<Product>>(s.products).unwrap_or_default(),
            session_id: Some(s.id),
            expires_at: s.expires_at,
        }))
    }

    /// The user behind a Hub token sent as `Authorization: Bearer` (checked on every request;
    /// single use applies only to the SSO exchange).
    pub async fn bearer_user(&self, token: &str) -> ApiResult<User> {
        let verified = self.verify_bearer(token)?;
        let key = (
            verified.claims.tenant_id.clone(),
            verified.claims.sub.clone(),
        );
        let cached = self
            .known_users
            .lock()
            .expect("poisoned")
            .get(&key)
            .copied();
        let (tenant_id, user_id) = match cached {
            Some(ids) => ids,
            None => self.upsert_user(&verified).await?,
        };
        Ok(User {
            tenant_id,
            user_id,
            roles: verified.roles,
            products: verified.products,
            session_id: None,
            expires_at: DateTime::from_timestamp(
                verified.claims.exp.min(verified.claims.session_exp),
                0,
            )
            .unwrap_or_else(Utc::now),
        })
    }

    /// The claims of a Bearer token: from the cache while every time-bound claim still holds
    /// without leeway, else verified in full (which also gives the precise error).
    fn verify_bearer(&self, token: &str) -> ApiResult<VerifiedClaims> {
        let now = Utc::now().timestamp();
        let still_valid = |v: &VerifiedClaims| {
            let c = &v.claims;
            c.exp > now && c.session_exp > now && c.nbf.is_none_or(|nbf| nbf <= now)
        };
        let mut cache = self.verified.lock().expect("poisoned");
        if let Some(hit) = cache.get(token) {
            if still_valid(hit) {
                return Ok(hit.clone());
            }
            cache.pop(token);
        }
        drop(cache);
        let verified = verify(&self.sso, token)?;
        if still_valid(&verified) {
            self.verified
                .lock()
                .expect("poisoned")
                .put(token.to_string(), verified.clone());
        }
        Ok(verified)
    }

    /// Ends a cookie session; the ids of what was ended (none for an unknown cookie), for the
    /// sockets it opened to close.
    pub async fn sign_out(&self, token: &str) -> ApiResult<Vec<Uuid>> {
        let ended = sessions::Entity::delete_many()
            .filter(sessions::Column::TokenHash.eq(hash_secret(token)))
            .exec_with_returning(&self.db)
            .await?;
        Ok(ended.into_iter().map(|s| s.id).collect())
    }

    /// Whether the cookie session `id` still exists and has not expired.
    pub async fn session_active(&self, id: Uuid) -> ApiResult<bool> {
        let found = sessions::Entity::find_by_id(id).one(&self.db).await?;
        Ok(found.is_some_and(|s| s.expires_at > Utc::now()))
    }

    /// Deletes expired sessions and used-token records (the `session-cleanup` timer).
    pub async fn clean_up(&self) -> ApiResult<(u64, u64)> {
        let now = Utc::now();
        // One transaction: a reader sees the clean-up done or not begun, never half of it.
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let sessions = sessions::Entity::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(now))
            .exec(&txn)
            .await?
            .rows_affected;
        // Keep a used token a day past its expiry: it cannot verify after that anyway.
        let tokens = used_tokens::Entity::delete_many()
            .filter(used_tokens::Column::ExpiresAt.lte(now - Duration::days(1)))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok((sessions, tokens))
    }

    /// Creates or updates the tenant and the user named by the token.
    async fn upsert_user(&self, verified: &VerifiedClaims) -> ApiResult<(Uuid, Uuid)> {
        let c = &verified.claims;
        let now = Utc::now();
        let tenant = tenants::ActiveModel {
            id: Set(Uuid::now_v7()),
            hub_tenant_id: Set(c.tenant_id.clone()),
            name: Set(c.tenant_name.clone()),
            crm_hourly_rate_cents: Set(None),
            notification_email: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tenants::Entity::insert(tenant)
            .on_conflict(
                OnConflict::column(tenants::Column::HubTenantId)
                    .update_columns([tenants::Column::Name, tenants::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let tenant_id = tenants::Entity::find()
            .filter(tenants::Column::HubTenantId.eq(&c.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("tenant vanished after upsert"))?
            .id;
        let user = users::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            hub_user_id: Set(c.sub.clone()),
            email: Set(c.email.clone()),
            name: Set(c.name.clone()),
            roles: Set(serde_json::to_value(&verified.roles).map_err(anyhow::Error::from)?),
            products: Set(serde_json::to_value(&verified.products).map_err(anyhow::Error::from)?),
            last_login_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        };
        users::Entity::insert(user)
            .on_conflict(
                OnConflict::columns([users::Column::TenantId, users::Column::HubUserId])
                    .update_columns([
                        users::Column::Email,
                        users::Column::Name,
                        users::Column::Roles,
                        users::Column::Products,
                        users::Column::LastLoginAt,
                        users::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let user_id = users::Entity::find()
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::HubUserId.eq(&c.sub))
            .one(&self.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user vanished after upsert"))?
            .id;
        self.known_users
            .lock()
            .expect("poisoned")
            .insert((c.tenant_id.clone(), c.sub.clone()), (tenant_id, user_id));
        Ok((tenant_id, user_id))
    }
}
