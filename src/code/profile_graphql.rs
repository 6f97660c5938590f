//! `updateRepositoryProfile` and `setRepositoryLifecycle`: thin resolvers over
//! `CodeService` (src/code/profile.rs).

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use entities::enums::Product;

use super::CodeService;
use super::profile::ProfileEdit;
use super::types::{Finding, Lifecycle, Repository};
use crate::graphql::{principal, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::expect_id;

/// A profile field a technician or admin can set by hand.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ProfileField {
    /// `appType`.
    AppType,
    /// `hostingPlatform`.
    HostingPlatform,
    /// `dataClassification`.
    DataClassification,
}

/// Input of `updateRepositoryProfile`: a field left out stays as it is; a value is kept as an
/// edit that inference does not change; `null` clears the value and the edit (inference fills
/// it again at the next discovery).
#[derive(InputObject)]
pub struct UpdateRepositoryProfileInput {
    /// The repository.
    pub repository_id: ID,
    /// Kind of application, 1–100 characters (e.g. `web front-end`, `API service`).
    pub app_type: MaybeUndefined<String>,
    /// Where the application runs, 1–100 characters (e.g. `Azure App Service`).
    pub hosting_platform: MaybeUndefined<String>,
    /// `public`, `internal`, `confidential` or `regulated`.
    pub data_classification: MaybeUndefined<String>,
}

/// Input of `setRepositoryLifecycle`.
#[derive(InputObject)]
pub struct SetRepositoryLifecycleInput {
    /// The repository.
    pub repository_id: ID,
    /// The new lifecycle.
    pub lifecycle: Lifecycle,
    /// Why, 1–2000 characters (it becomes the sunset decision's description).
    pub reason: String,
}

/// A repository after its profile changed.
#[derive(SimpleObject)]
pub struct UpdateRepositoryProfilePayload {
    /// The repository.
    pub repository: Repository,
}

/// A repository after its lifecycle changed.
#[derive(SimpleObject)]
pub struct SetRepositoryLifecyclePayload {
    /// The repository.
    pub repository: Repository,
    /// The sunset decision recorded when the lifecycle is `SUNSET` (it can become a PSA
    /// ticket with `createTicketFromFinding`); null otherwise.
    pub sunset_decision: Option<Finding>,
}

fn edit(value: MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

fn repository(row: entities::repositories::Model) -> Repository {
    Repository {
        siblings: Siblings::single(row.id),
        row,
    }
}

#[derive(Default)]
pub struct ProfileMutation;

/// Technicians and admins of The One Code.
#[Object]
impl ProfileMutation {
    /// Sets or clears a repository's app type, hosting platform or data classification by hand.
    async fn update_repository_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateRepositoryProfileInput,
    ) -> Result<UpdateRepositoryProfilePayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let id = expect_id(&input.repository_id, "Repository")?;
        let changes = ProfileEdit {
            app_type: edit(input.app_type),
            hosting_platform: edit(input.hosting_platform),
            data_classification: edit(input.data_classification),
        };
        let row = service::<CodeService>(ctx)
            .update_profile(user, id, changes)
            .await?;
        Ok(UpdateRepositoryProfilePayload {
            repository: repository(row),
        })
    }

    /// Sets a repository's lifecycle with a reason; `SUNSET` records a sunset decision.
    async fn set_repository_lifecycle(
        &self,
        ctx: &Context<'_>,
        input: SetRepositoryLifecycleInput,
    ) -> Result<SetRepositoryLifecyclePayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let id = expect_id(&input.repository_id, "Repository")?;
        let (row, finding) = service::<CodeService>(ctx)
            .set_lifecycle(user, id, input.lifecycle.into(), input.reason)
            .await?;
        Ok(SetRepositoryLifecyclePayload {
            repository: repository(row),
            sunset_decision: finding.map(|row| Finding {
                siblings: Siblings::single(row.id),
                row,
            }),
        })
    }
}
