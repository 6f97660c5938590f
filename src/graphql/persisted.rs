//! Persisted operations: clients may send the SHA-256 of a document instead of the document
//! (`extensions.persistedQuery.sha256Hash`, the automatic-persisted-queries protocol Apollo and
//! urql clients speak). `PERSISTED_OPERATIONS` picks the mode:
//!
//! * `automatic` (default): a hash the server knows runs its document; an unknown hash is
//!   `PERSISTED_QUERY_NOT_FOUND`, and the client's retry with the document registers it.
//! * `allowlist` (production): only registered operations run (by hash, or by a document whose
//!   hash is registered); nothing registers itself. `stack-gateway operations register` fills
//!   the list from the front-ends' `.graphql` files or persisted-query manifests.
//! * `off`: a hash is refused with `PERSISTED_QUERY_NOT_SUPPORTED`; documents run as sent.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use entities::persisted_operations;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use sha2::{Digest, Sha256};

use crate::kernel::errors::{ApiError, Code};

/// Documents kept in memory after their first lookup (beyond it, lookups go to the database).
const CACHE_MAX: usize = 4_096;

/// How the server treats hashes and documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off,
    Automatic,
    AllowList,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Mode::Off),
            "automatic" | "apq" => Ok(Mode::Automatic),
            "allowlist" | "allow-list" => Ok(Mode::AllowList),
            other => Err(format!(
                "PERSISTED_OPERATIONS must be automatic, allowlist or off (it is {other:?})"
            )),
        }
    }
}

/// Why a request cannot run, before execution.
#[derive(Debug)]
pub enum Refusal {
    /// The protocol's own codes, which clients act on (retry with the document).
    Protocol(&'static str, &'static str),
    /// An error from the usual vocabulary.
    Api(ApiError),
}

/// Lower-case hex SHA-256 of a document, as clients compute it.
pub fn hash_of(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

#[derive(Clone)]
pub struct PersistedOperations {
    db: DatabaseConnection,
    mode: Mode,
    cache: Arc<Mutex<HashMap<String, Arc<str>>>>,
}

impl PersistedOperations {
    pub fn new(db: DatabaseConnection, mode: Mode) -> Self {
        PersistedOperations {
            db,
            mode,
            cache: Arc::default(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The document to run for a request's `query` and `extensions`.
    pub async fn resolve(
        &self,
        query: Option<String>,
        extensions: Option<&serde_json::Value>,
    ) -> Result<String, Refusal> {
        let hash = requested_hash(extensions)?;
        match (self.mode, query, hash) {
            (_, None, None) => Err(Refusal::Api(ApiError::bad_input(
                "`query` must be a string (or send extensions.persistedQuery.sha256Hash)",
            ))),
            (Mode::Off, _, Some(_)) => Err(Refusal::Protocol(
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "PersistedQueryNotSupported",
            )),
            (Mode::Off, Some(query), None) => Ok(query),
            (_, None, Some(hash)) => match self.lookup(&hash).await? {
                Some(document) => Ok(document.to_string()),
                None if self.mode == Mode::AllowList => Err(not_allowed()),
                None => Err(Refusal::Protocol(
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                )),
            },
            (mode, Some(query), hash) => {
                let actual = hash_of(&query);
                if hash.as_ref().is_some_and(|h| *h != actual) {
                    return Err(Refusal::Api(ApiError::bad_input(
                        "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
                    )));
                }
                match mode {
                    Mode::AllowList => match self.lookup(&actual).await? {
                        Some(_) => Ok(query),
                        None => Err(not_allowed()),
                    },
                    // A document with its hash is an APQ registration; a bare one just runs.
                    _ if hash.is_some() => {
                        self.store(&actual, &query, "automatic", None)
                            .await
                            .map_err(Refusal::Api)?;
                        Ok(query)
                    }
                    _ => Ok(query),
                }
            }
        }
    }

    /// Registers `document` for the allow-list (idempotent); returns its hash.
    pub async fn register(&self, document: &str, name: Option<&str>) -> Result<String, ApiError> {
        let hash = hash_of(document);
        self.store(&hash, document, "registered", name).await?;
        Ok(hash)
    }

    async fn store(
        &self,
        hash: &str,
        document: &str,
        source: &str,
        name: Option<&str>,
    ) -> Result<(), ApiError> {
        // PostgreSQL cannot store a NUL in text (see `hygiene`); a GraphQL document has none
        // outside a string, and there the parser would see it anyway.
        if document.contains('\0') {
            return Err(ApiError::bad_input(
                "the document contains a NUL character, which is not accepted",
            ));
        }
        let row = persisted_operations::ActiveModel {
            hash: Set(hash.to_string()),
            document: Set(document.to_string()),
            source: Set(source.to_string()),
            name: Set(name.map(str::to_string)),
            created_at: Set(Utc::now()),
        };
        // A registration upgrades an automatic entry; an automatic one never downgrades it.
        let mut conflict = OnConflict::column(persisted_operations::Column::Hash);
        if source == "registered" {
            conflict.update_columns([
                persisted_operations::Column::Source,
                persisted_operations::Column::Name,
            ]);
        } else {
            conflict.do_nothing();
        }
        persisted_operations::Entity::insert(row)
            .on_conflict(conflict)
            .try_insert()
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// The document of `hash` (in allow-list mode only registered ones count).
    async fn lookup(&self, hash: &str) -> Result<Option<Arc<str>>, Refusal> {
        if let Some(found) = self.cache.lock().expect("persisted cache").get(hash) {
            return Ok(Some(found.clone()));
        }
        let row = persisted_operations::Entity::find_by_id(hash.to_string())
            .one(&self.db)
            .await
            .map_err(|e| Refusal::Api(e.into()))?;
        let Some(row) = row else { return Ok(None) };
        if self.mode == Mode::AllowList && row.source != "registered" {
            return Ok(None);
        }
        let document: Arc<str> = row.document.into();
        let mut cache = self.cache.lock().expect("persisted cache");
        if cache.len() < CACHE_MAX {
            cache.insert(hash.to_string(), document.clone());
        }
        Ok(Some(document))
    }
}

fn not_allowed() -> Refusal {
    Refusal::Api(ApiError::new(
        Code::Forbidden,
        "this operation is not in the allow-list of persisted operations",
    ))
}

/// `extensions.persistedQuery.sha256Hash`, checked for shape.
fn requested_hash(extensions: Option<&serde_json::Value>) -> Result<Option<String>, Refusal> {
    let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    let bad = |message: &str| Refusal::Api(ApiError::bad_input(message));
    if persisted.get("version").and_then(|v| v.as_i64()) != Some(1) {
        return Err(bad("extensions.persistedQuery.version must be 1"));
    }
    let hash = persisted
        .get("sha256Hash")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("extensions.persistedQuery.sha256Hash must be a string"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits",
        ));
    }
    Ok(Some(hash.to_ascii_lowercase()))
}

/// The operations a path holds, as (name, document): a `.graphql` / `.gql` file is one document;
/// a `.json` file is a persisted-query manifest (`{"operations":[{"name","body"}]}`, the format
/// `@apollo/generate-persisted-query-manifest` writes); a directory is walked for both.
pub fn documents_at(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    use anyhow::Context;
    let mut found = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let inner = entry.path();
            let wanted = inner.is_dir()
                || matches!(
                    inner.extension().and_then(|e| e.to_str()),
                    Some("graphql" | "gql" | "json")
                );
            if wanted {
                found.extend(documents_at(&inner)?);
            }
        }
        return Ok(found);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let operations = manifest["operations"]
            .as_array()
            .with_context(|| format!("{} is not a persisted-query manifest", path.display()))?;
        for op in operations {
            let body = op["body"]
                .as_str()
                .with_context(|| format!("an operation in {} has no body", path.display()))?;
            let name = op["name"].as_str().unwrap_or("").to_string();
            found.push((name, body.to_string()));
        }
    } else {
        async_graphql::parser::parse_query(&text)
            .with_context(|| format!("{} is not a GraphQL document", path.display()))?;
        found.push((path.display().to_string(), text));
    }
    Ok(found)
}
