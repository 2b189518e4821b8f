//! The one data-access layer of Parvis, on SQLite (the embedded default) or PostgreSQL.
//!
//! Design decisions:
//!
//! - **One code path for both backends.** Capabilities write their SQL once, with `$1, $2…`
//!   placeholders and portable types (`BIGINT`, `TEXT`, `DOUBLE PRECISION`), and run it through
//!   sqlx's `Any` driver. Both SQLite and PostgreSQL accept `$N` placeholders and
//!   `INSERT … ON CONFLICT`. Timestamps are stored as fixed-width RFC 3339 UTC text
//!   ([`timestamp`]), which sorts and compares correctly as text on both backends.
//! - **Versioned migrations per backend** live in `migrations/sqlite` and `migrations/postgres`,
//!   one shared numbering, embedded in the binary and applied at start-up and by `parvis migrate`.
//!   Where the two dialects differ (auto-increment keys, for instance) the files differ; their
//!   tables and columns do not.
//! - **Nothing is acknowledged before it is committed.** Writes go through [`Store::begin`] and
//!   are committed before a caller answers. SQLite runs in WAL mode with `synchronous=FULL`, so a
//!   commit survives a power cut, not only a crash of the process.
//! - **One writer on SQLite.** SQLite allows one writer at a time; rather than let concurrent
//!   transactions fail with `SQLITE_BUSY`, the SQLite store has a write pool of exactly one
//!   connection (writers queue fairly on it) and a separate pool of read connections, which WAL
//!   lets run beside the writer. On PostgreSQL both are the same pool.
//! - PostgreSQL tables can live in a dedicated schema (`search_path`), which also gives tests and
//!   benchmarks an isolated namespace on a shared server.

pub mod audit;
pub mod retention;
pub mod runs;
pub mod signals;
pub mod timestamp;

#[cfg(feature = "test-support")]
pub mod testing;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use sqlx::{Any, AnyConnection, Row, Transaction, any::AnyRow, query};

/// Migrations for SQLite, embedded at compile time.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// Migrations for PostgreSQL, embedded at compile time.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the store lives and how many connections it may hold.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// An SQLite file, created if absent.
    Sqlite {
        path: PathBuf,
        read_connections: u32,
    },
    /// A PostgreSQL server.
    Postgres {
        url: String,
        /// Schema for Parvis's tables; `None` keeps the server's default `search_path`.
        schema: Option<String>,
        max_connections: u32,
    },
}

impl StoreConfig {
    /// The SQLite file `parvis.sqlite` inside `data_dir`.
    pub fn sqlite_in(data_dir: &Path) -> StoreConfig {
        StoreConfig::Sqlite {
            path: data_dir.join("parvis.sqlite"),
            read_connections: 4,
        }
    }

    /// Reads a `postgres://…`, `postgresql://…` or `sqlite://PATH` URL.
    pub fn from_url(url: &str, max_connections: u32) -> Result<StoreConfig, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(StoreConfig::Postgres {
                url: url.to_owned(),
                schema: None,
                max_connections,
            })
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Config(
                    "sqlite:// URL without a file path".into(),
                ));
            }
            Ok(StoreConfig::Sqlite {
                path: PathBuf::from(path),
                read_connections: max_connections.clamp(1, 16),
            })
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in {:?}: expected postgres:// or sqlite://",
                redact_url(url)
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            StoreConfig::Sqlite { .. } => Backend::Sqlite,
            StoreConfig::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A description fit for logs: no password.
    pub fn describe(&self) -> String {
        match self {
            StoreConfig::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
            StoreConfig::Postgres { url, schema, .. } => match schema {
                Some(schema) => format!("{} (schema {schema})", redact_url(url)),
                None => redact_url(url),
            },
        }
    }
}

/// Replaces the password of a URL, if any, with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Errors of the data-access layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store configuration: {0}")]
    Config(String),
    #[error("cannot open the store at {target}: {source}")]
    Open {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// True when the error means the database could not be reached (as opposed to a query
    /// that the database refused).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Open { .. } => true,
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }

    /// True when the database refused a write because a unique constraint already holds the value.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }
}

/// A migration as recorded in the store.
#[derive(Debug, Clone)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
}

/// A handle on the store; cheap to clone, shared by every capability.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    description: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("at", &self.description)
            .finish()
    }
}

/// How long a caller waits for a connection before the store counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens (and for SQLite, creates) the store. Does not migrate: call [`Store::migrate`].
    pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let description = config.describe();
        match config {
            StoreConfig::Sqlite {
                path,
                read_connections,
            } => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                        path: parent.to_owned(),
                        source,
                    })?;
                }
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let write = sqlite_pool(&url, 1, &description).await?;
                let read = sqlite_pool(&url, (*read_connections).max(1), &description).await?;
                Ok(Store {
                    backend: Backend::Sqlite,
                    read,
                    write,
                    description,
                })
            }
            StoreConfig::Postgres {
                url,
                schema,
                max_connections,
            } => {
                let options =
                    AnyConnectOptions::from_str(url).map_err(|source| StoreError::Open {
                        target: description.clone(),
                        source,
                    })?;
                if let Some(schema) = schema {
                    validate_identifier(schema)?;
                }
                let schema = schema.clone();
                let pool = AnyPoolOptions::new()
                    .max_connections((*max_connections).max(1))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .after_connect(move |conn, _meta| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            if let Some(schema) = schema {
                                conn.execute(
                                    format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\"")
                                        .as_str(),
                                )
                                .await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(|source| StoreError::Open {
                        target: description.clone(),
                        source,
                    })?;
                Ok(Store {
                    backend: Backend::Postgres,
                    read: pool.clone(),
                    write: pool,
                    description,
                })
            }
        }
    }

    /// Applies every migration not yet applied; returns the versions it applied.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let before = self.applied_migrations().await.unwrap_or_default();
        let migrator = self.migrator();
        let mut conn = self.write.acquire().await?;
        migrator.run(&mut *conn).await?;
        drop(conn);
        let after = self.applied_migrations().await?;
        Ok(after
            .into_iter()
            .filter(|m| !before.iter().any(|b| b.version == m.version))
            .collect())
    }

    /// The migrations this binary knows, as (version, description).
    pub fn known_migrations(&self) -> Vec<(i64, String)> {
        self.migrator()
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The migrations recorded as applied, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, description FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AppliedMigration {
                    version: row.try_get(0)?,
                    description: row.try_get(1)?,
                })
            })
            .collect()
    }

    /// Checks that the store answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Starts a write transaction. Nothing written through it is visible or durable until
    /// [`Transaction::commit`] returns.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(self.write.begin().await?)
    }

    /// The pool for reads. On SQLite, reads through it never wait for the writer.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the store is, for logs (never with a password).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

async fn sqlite_pool(url: &str, max: u32, description: &str) -> Result<AnyPool, StoreError> {
    let options = AnyConnectOptions::from_str(url).map_err(|source| StoreError::Open {
        target: description.to_owned(),
        source,
    })?;
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the one writer; FULL makes every commit durable.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open {
            target: description.to_owned(),
            source,
        })
}

fn validate_identifier(name: &str) -> Result<(), StoreError> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "schema name {name:?} must be 1-63 characters of a-z, 0-9 and _, not starting with a digit"
        )))
    }
}
