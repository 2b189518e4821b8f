//! Access control: the roles of Parvis and the API keys that carry them.
//!
//! Design decisions:
//!
//! - **Keys are random, long and stored hashed.** A key is `pvs_` + a 10-character public id +
//!   `_` + 32 random base62 characters (190 bits). Only the SHA-256 digest of the whole key is
//!   stored; the key itself is shown once, at creation. A slow password hash (argon2) buys
//!   nothing for secrets of this entropy and would cost milliseconds on every request.
//! - **Roles are ordered.** `resident-app` < `agent` < `operator` < `admin`: a route that needs
//!   a role accepts every role above it.
//! - **Revocation takes effect on the next request**: every authentication reads the store, no cache.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use store::{Row, Store, StoreError};

/// What a key allows, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A resident-facing application: submits reports, asks the assistant.
    ResidentApp,
    /// A counter or phone agent.
    Agent,
    /// City operations: dashboards, alerts, status changes.
    Operator,
    /// Administration: keys, configuration.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::ResidentApp, Role::Agent, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ResidentApp => "resident-app",
            Role::Agent => "agent",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// True when a key with this role may use a route that requires `required`.
    pub fn satisfies(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AccessError;
    fn from_str(s: &str) -> Result<Role, AccessError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| AccessError::UnknownRole(s.to_owned()))
    }
}

/// An API key as listed: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A key just created: the only moment the secret exists outside its holder.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Who is calling, once a key was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    pub name: String,
    pub role: Role,
}

/// Errors of access control.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("unknown role {0:?}: expected one of resident-app, agent, operator, admin")]
    UnknownRole(String),
    #[error("invalid key name: {0}")]
    InvalidName(&'static str),
    #[error("no API key with id {0:?}")]
    NoSuchKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const KEY_PREFIX: &str = "pvs_";
const ID_LEN: usize = 10;
const SECRET_LEN: usize = 32;
const MAX_NAME_CHARS: usize = 100;

/// The API keys of a store.
#[derive(Debug, Clone)]
pub struct Keys {
    store: Store,
}

impl Keys {
    pub fn new(store: Store) -> Keys {
        Keys { store }
    }

    /// Creates a key and returns it with its secret, once committed.
    pub async fn create(&self, name: &str, role: Role) -> Result<CreatedKey, AccessError> {
        let name = validate_name(name)?;
        let id = random_chars(ID_LEN).to_ascii_lowercase();
        let secret = format!("{KEY_PREFIX}{id}_{}", random_chars(SECRET_LEN));
        let created_at = store::timestamp::now();
        let mut tx = self.store.begin().await?;
        sqlx_insert(&mut tx, &id, name, role, &digest(&secret), &created_at).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(CreatedKey {
            key: ApiKey {
                id,
                name: name.to_owned(),
                role,
                created_at,
                revoked_at: None,
            },
            secret,
        })
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list(&self) -> Result<Vec<ApiKey>, AccessError> {
        let rows = store::query(
            "SELECT id, name, role, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(self.store.reader())
        .await
        .map_err(StoreError::from)?;
        rows.iter().map(key_from_row).collect()
    }

    /// Revokes a key by id; revoking a revoked key keeps its first revocation date.
    pub async fn revoke(&self, id: &str) -> Result<ApiKey, AccessError> {
        let mut tx = self.store.begin().await?;
        let row = store::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 \
             RETURNING id, name, role, created_at, revoked_at",
        )
        .bind(store::timestamp::now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Err(AccessError::NoSuchKey(id.to_owned()));
        };
        tx.commit().await.map_err(StoreError::from)?;
        key_from_row(&row)
    }

    /// Checks a presented key. `Ok(None)` when it is unknown, malformed or revoked.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Principal>, AccessError> {
        if !looks_like_a_key(presented) {
            return Ok(None);
        }
        let row = store::query(
            "SELECT id, name, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(digest(presented))
        .fetch_optional(self.store.reader())
        .await
        .map_err(StoreError::from)?;
        row.map(|row| {
            let role: String = row.try_get(2).map_err(StoreError::from)?;
            Ok(Principal {
                key_id: row.try_get(0).map_err(StoreError::from)?,
                name: row.try_get(1).map_err(StoreError::from)?,
                role: role.parse()?,
            })
        })
        .transpose()
    }
}

async fn sqlx_insert(
    tx: &mut store::Transaction<'static, store::Any>,
    id: &str,
    name: &str,
    role: Role,
    key_hash: &str,
    created_at: &str,
) -> Result<(), StoreError> {
    store::query(
        "INSERT INTO api_keys (id, name, role, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(role.as_str())
    .bind(key_hash)
    .bind(created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn key_from_row(row: &store::AnyRow) -> Result<ApiKey, AccessError> {
    let role: String = row.try_get(2).map_err(StoreError::from)?;
    Ok(ApiKey {
        id: row.try_get(0).map_err(StoreError::from)?,
        name: row.try_get(1).map_err(StoreError::from)?,
        role: role.parse()?,
        created_at: row.try_get(3).map_err(StoreError::from)?,
        revoked_at: row.try_get(4).map_err(StoreError::from)?,
    })
}

fn validate_name(name: &str) -> Result<&str, AccessError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AccessError::InvalidName("it is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AccessError::InvalidName("it is longer than 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(AccessError::InvalidName("it contains control characters"));
    }
    Ok(name)
}

fn looks_like_a_key(presented: &str) -> bool {
    presented.len() == KEY_PREFIX.len() + ID_LEN + 1 + SECRET_LEN
        && presented.starts_with(KEY_PREFIX)
        && presented.is_ascii()
}

fn random_chars(n: usize) -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Admin.satisfies(Role::Operator));
        assert!(Role::Operator.satisfies(Role::Operator));
        assert!(!Role::Agent.satisfies(Role::Operator));
        assert!(!Role::ResidentApp.satisfies(Role::Agent));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(validate_name("  guichet 4 ").unwrap(), "guichet 4");
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(101)).is_err());
        assert!(validate_name("a\nb").is_err());
    }
}
