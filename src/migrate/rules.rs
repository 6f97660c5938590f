//! Input rules shared by the Migrate write side: who may change things, text lengths, Azure names.

use entities::enums::Product;

use crate::auth::{Access, Principal, User};
use crate::kernel::errors::{ApiError, ApiResult};

/// A Migrate user who may change projects and jobs: technicians and admins (viewers read only).
pub fn operator(principal: &Principal) -> ApiResult<&User> {
    principal.may(
        Product::Migrate,
        Access::Operate,
        "change Migrate projects and jobs",
    )
}

/// A Migrate admin (agents and their keys).
pub fn migrate_admin(principal: &Principal) -> ApiResult<&User> {
    principal.may(Product::Migrate, Access::Administer, "manage agents")
}

pub use crate::kernel::text::{optional, required};

/// An Azure Storage account name: 3–24 lowercase letters and digits.
pub fn storage_account(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(name) = optional("storageAccount", value, 24)? else {
        return Ok(None);
    };
    let valid = (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !valid {
        return Err(ApiError::bad_input(
            "storageAccount must be 3 to 24 lowercase letters and digits (Azure's rule)",
        ));
    }
    Ok(Some(name))
}

/// An Azure blob container name: 3–63 lowercase letters, digits and hyphens, starting and ending
/// with a letter or digit, no two hyphens in a row.
pub fn storage_container(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(name) = optional("storageContainer", value, 63)? else {
        return Ok(None);
    };
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    let valid = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|&b| alnum(b) || b == b'-')
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
        && !name.contains("--");
    if !valid {
        return Err(ApiError::bad_input(
            "storageContainer must be 3 to 63 lowercase letters, digits and hyphens, start and \
             end with a letter or digit, with no two hyphens in a row (Azure's rule)",
        ));
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_azure() {
        for good in ["abc", "migration-2026", "a1b", &"a".repeat(63)] {
            assert!(storage_container(Some(good)).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Upper",
            "-start",
            "end-",
            "two--hyphens",
            "under_score",
            &"a".repeat(64),
        ] {
            assert!(storage_container(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(storage_container(Some("  ")).unwrap(), None);
    }

    #[test]
    fn account_names_follow_azure() {
        assert!(storage_account(Some("acct01")).is_ok());
        assert!(storage_account(Some("ac")).is_err());
        assert!(storage_account(Some("with-hyphen")).is_err());
    }

    #[test]
    fn text_lengths() {
        assert_eq!(required("name", "  x ", 5).unwrap(), "x");
        assert!(required("name", "   ", 5).is_err());
        assert!(required("name", "123456", 5).is_err());
        assert_eq!(optional("d", Some(""), 5).unwrap(), None);
    }
}
