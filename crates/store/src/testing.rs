//! Test support: the stores a test suite runs against.
//!
//! [`backends`] gives a fresh SQLite store in a temporary directory and, when the environment
//! variable `PARVIS_TEST_DATABASE_URL` is set (`.ci/run` sets it), a PostgreSQL store in a fresh
//! schema on that server. When the variable is set and the server cannot be reached, the test
//! fails: CI never silently skips PostgreSQL.

use std::str::FromStr;

use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::{Store, StoreConfig};

/// The environment variable that names the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "PARVIS_TEST_DATABASE_URL";

/// A migrated store for one test; removes its files or schema when dropped.
pub struct TestStore {
    store: Option<Store>,
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store.as_ref().expect("present until dropped")
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // Close the pool's connections first: a connection left idle in a transaction (a
        // transaction dropped without commit) would otherwise hold locks that DROP SCHEMA awaits.
        drop(self.store.take());
        let Some((url, schema)) = self.postgres.take() else {
            return;
        };
        // Drop the schema from a thread of its own: Drop cannot await and may run inside a runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime builds");
            runtime.block_on(async move {
                if let Ok(mut conn) = connect(&url).await {
                    let _ = conn
                        .execute(
                            format!(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                                 WHERE application_name = 'parvis-test-{schema}'; \
                                 SET lock_timeout = '5s'; \
                                 DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                            )
                            .as_str(),
                        )
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

async fn connect(url: &str) -> Result<sqlx::AnyConnection, sqlx::Error> {
    sqlx::any::install_default_drivers();
    AnyConnectOptions::from_str(url)?.connect().await
}

/// A fresh, migrated SQLite store in a temporary directory.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&StoreConfig::sqlite_in(dir.path()))
        .await
        .expect("SQLite store opens");
    store.migrate().await.expect("SQLite migrations apply");
    TestStore {
        store: Some(store),
        name: "sqlite",
        _dir: Some(dir),
        postgres: None,
    }
}

/// A fresh, migrated PostgreSQL store in a new schema, or `None` when `PARVIS_TEST_DATABASE_URL`
/// is unset. Panics when it is set but the server cannot be used.
pub async fn postgres() -> Option<TestStore> {
    let url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let store = Store::open(&StoreConfig::Postgres {
        url: format!("{url}{separator}application_name=parvis-test-{schema}"),
        schema: Some(schema.clone()),
        max_connections: 8,
    })
    .await
    .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL is unusable: {e}"));
    store.migrate().await.expect("PostgreSQL migrations apply");
    Some(TestStore {
        store: Some(store),
        name: "postgres",
        _dir: None,
        postgres: Some((url, schema)),
    })
}

/// Every backend available to this test run: SQLite always, PostgreSQL when configured.
pub async fn backends() -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    match postgres().await {
        Some(store) => stores.push(store),
        None => eprintln!("{POSTGRES_ENV} unset: PostgreSQL half of this test skipped"),
    }
    stores
}
