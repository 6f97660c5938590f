//! Who is asking: a Hub user (cookie session or Bearer token), an agent, or nobody.

use chrono::{DateTime, Utc};
use entities::enums::{Product, Role};
use uuid::Uuid;

use super::Access;
use crate::kernel::errors::{ApiError, ApiResult};

/// A signed-in Hub user, scoped to one tenant.
#[derive(Clone, Debug)]
pub struct User {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub roles: Vec<Role>,
    pub products: Vec<Product>,
    /// Set when the user came through the `code_session` cookie.
    pub session_id: Option<Uuid>,
    /// When the credential stops working: the cookie session's end, or the Bearer token's
    /// `exp` or Hub session end, whichever is first. Open WebSocket connections close then.
    pub expires_at: DateTime<Utc>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }
}

/// A desktop agent authenticated by its API key.
#[derive(Clone, Debug)]
pub struct Agent {
    pub tenant_id: Uuid,
    pub agent_id: Uuid,
}

#[derive(Clone, Debug, Default)]
pub enum Principal {
    #[default]
    Anonymous,
    User(User),
    Agent(Agent),
}

impl Principal {
    /// The cookie session the principal signed in with, if any.
    pub fn session_id(&self) -> Option<Uuid> {
        match self {
            Principal::User(user) => user.session_id,
            Principal::Agent(_) | Principal::Anonymous => None,
        }
    }

    /// When the principal's credential stops working (`None`: it does not lapse by itself, e.g.
    /// an agent key until revoked).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Principal::User(user) => Some(user.expires_at),
            Principal::Agent(_) | Principal::Anonymous => None,
        }
    }

    /// The signed-in user, or `UNAUTHENTICATED` (`FORBIDDEN` for an agent: agents may use only
    /// the agent operations).
    pub fn user(&self) -> ApiResult<&User> {
        match self {
            Principal::User(user) => Ok(user),
            Principal::Agent(_) => Err(ApiError::forbidden(
                "agents may use only the agent operations",
            )),
            Principal::Anonymous => Err(ApiError::unauthenticated()),
        }
    }

    /// The user, if they have access to `product` (any role); `FORBIDDEN` otherwise.
    pub fn product_user(&self, product: Product) -> ApiResult<&User> {
        self.may(product, Access::Read, "read")
    }

    /// The user, if an admin of their tenant.
    pub fn admin(&self) -> ApiResult<&User> {
        self.may(None, Access::Administer, "do this")
    }
}
