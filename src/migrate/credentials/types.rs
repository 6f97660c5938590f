//! GraphQL inputs and payloads of the storage connection and credential vending.

use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use super::Vended;
use crate::migrate::types::Project;

/// Input of `connectProjectStorage`.
#[derive(InputObject)]
pub struct ConnectProjectStorageInput {
    /// The project whose agents will upload to the account.
    pub project_id: ID,
    /// Azure Storage account (3–24 lowercase letters and digits).
    pub storage_account: String,
    /// Blob container in the account (3–63 lowercase letters, digits and hyphens).
    pub container: String,
    /// Entra tenant ID or domain of the account's directory; any work or school account when
    /// left out.
    pub azure_tenant: Option<String>,
}

/// Result of `connectProjectStorage`: where to send the user to sign in to Azure.
#[derive(SimpleObject)]
pub struct ConnectProjectStoragePayload {
    /// The Microsoft sign-in URL; after consent Azure returns to `/auth/azure/callback`, which
    /// stores the connection and redirects to the gateway.
    pub authorization_url: String,
    /// When the sign-in link stops working.
    pub expires_at: DateTime<Utc>,
    /// The project as it is now (unchanged until the sign-in completes).
    pub project: Project,
}

/// Input of `disconnectProjectStorage`.
#[derive(InputObject)]
pub struct DisconnectProjectStorageInput {
    /// The project to disconnect.
    pub project_id: ID,
}

/// Result of `disconnectProjectStorage`.
#[derive(SimpleObject)]
pub struct DisconnectProjectStoragePayload {
    /// The project, with no stored Azure authorization.
    pub project: Project,
}

/// A short-lived upload credential for a job: a user delegation SAS on the project's container.
#[derive(SimpleObject)]
pub struct JobCredentials {
    /// The SAS query string (without `?`): append it to `containerUrl` or to a blob URL in it.
    pub sas_token: String,
    /// The project's blob container.
    pub container_url: String,
    /// When the SAS stops working (about an hour after it was issued).
    pub expires_at: DateTime<Utc>,
    /// The SAS permissions: `cw` (create and write blobs; no read, list or delete).
    pub permissions: String,
}

impl From<Vended> for JobCredentials {
    fn from(v: Vended) -> Self {
        JobCredentials {
            sas_token: v.sas_token,
            container_url: v.container_url,
            expires_at: v.expires_at,
            permissions: v.permissions.into(),
        }
    }
}
