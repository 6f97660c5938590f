//! Authorization, in one place: who may act on a product, as which role.
//!
//! Every role check is `User::may` (or `Principal::may`, which first requires a signed-in user):
//! a product (or the tenant as a whole), an access level, and the action named in the refusal.
//! Reading needs only the product (`Principal::product_user`); changing needs the technician or
//! admin role; administering needs admin.

use entities::enums::{Product, Role};

use super::{Principal, User};
use crate::kernel::errors::{ApiError, ApiResult};

/// What an action needs of the user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Any role (viewers included).
    Read,
    /// Technicians and admins: change projects, jobs, findings' work items, scans.
    Operate,
    /// Admins: connections, agents, keys, tenant settings.
    Administer,
}

/// The product's name as users know it.
pub fn product_name(product: Product) -> &'static str {
    match product {
        Product::Code => "The One Code",
        Product::Migrate => "The One Migrate",
    }
}

/// Whether `roles` and `products` allow `access` to `product` (`None`: the tenant as a whole).
pub fn allows(
    roles: &[Role],
    products: &[Product],
    product: impl Into<Option<Product>>,
    access: Access,
) -> bool {
    product.into().is_none_or(|p| products.contains(&p))
        && match access {
            Access::Read => true,
            Access::Operate => roles
                .iter()
                .any(|r| matches!(r, Role::Admin | Role::Technician)),
            Access::Administer => roles.contains(&Role::Admin),
        }
}

impl User {
    /// The user, if they may do `action` in `product` (`None`: the tenant as a whole) with
    /// `access`; `FORBIDDEN` naming what is missing otherwise.
    pub fn may(
        &self,
        product: impl Into<Option<Product>>,
        access: Access,
        action: &str,
    ) -> ApiResult<&User> {
        if let Some(product) = product.into()
            && !self.products.contains(&product)
        {
            return Err(ApiError::forbidden(format!(
                "your Hub user has no access to {}",
                product_name(product)
            )));
        }
        match (allows(&self.roles, &self.products, None, access), access) {
            (true, _) => Ok(self),
            (false, Access::Administer) => Err(ApiError::forbidden(format!(
                "only a tenant admin may {action}"
            ))),
            (false, _) => Err(ApiError::forbidden(format!(
                "only technicians and admins may {action}"
            ))),
        }
    }
}

impl Principal {
    /// The signed-in user, if they may do `action` (see `User::may`).
    pub fn may(
        &self,
        product: impl Into<Option<Product>>,
        access: Access,
        action: &str,
    ) -> ApiResult<&User> {
        self.user()?.may(product, access, action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::errors::Code;

    fn user(roles: &[Role], products: &[Product]) -> User {
        User {
            tenant_id: uuid::Uuid::nil(),
            user_id: uuid::Uuid::nil(),
            roles: roles.to_vec(),
            products: products.to_vec(),
            session_id: None,
            expires_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn each_role_may_what_its_level_allows() {
        let code = [Product::Code];
        for (role, read, operate, administer) in [
            (Role::Viewer, true, false, false),
            (Role::Technician, true, true, false),
            (Role::Admin, true, true, true),
        ] {
            let u = user(&[role], &code);
            assert_eq!(u.may(Product::Code, Access::Read, "x").is_ok(), read);
            assert_eq!(u.may(Product::Code, Access::Operate, "x").is_ok(), operate);
            assert_eq!(
                u.may(Product::Code, Access::Administer, "x").is_ok(),
                administer
            );
        }
        assert!(user(&[], &code).may(None, Access::Operate, "x").is_err());
    }

    #[test]
    fn a_refusal_names_the_missing_product_or_role() {
        let admin_of_code = user(&[Role::Admin], &[Product::Code]);
        let refused = admin_of_code
            .may(Product::Migrate, Access::Read, "read")
            .unwrap_err();
        assert_eq!(refused.code(), Code::Forbidden);
        assert_eq!(
            refused.message(),
            "your Hub user has no access to The One Migrate"
        );
        let viewer = user(&[Role::Viewer], &[Product::Code]);
        let refused = viewer
            .may(Product::Code, Access::Operate, "upload scan results")
            .unwrap_err();
        assert_eq!(
            refused.message(),
            "only technicians and admins may upload scan results"
        );
        let refused = viewer
            .may(None, Access::Administer, "set the hourly rate")
            .unwrap_err();
        assert_eq!(
            refused.message(),
            "only a tenant admin may set the hourly rate"
        );
    }
}
