//! The storage suite, run against every backend: SQLite always, PostgreSQL when
//! `PARVIS_TEST_DATABASE_URL` is set (CI sets it, and then an unreachable server fails the test).

use std::sync::Arc;

use store::runs::BenchmarkRun;
use store::testing;
use store::{Row, Store, StoreConfig};

fn run(suite: &str, finished_at: &str) -> BenchmarkRun {
    BenchmarkRun {
        suite: suite.into(),
        command: "parvis bench http".into(),
        machine: "test".into(),
        started_at: "2026-11-26T00:00:00.000000Z".into(),
        finished_at: finished_at.into(),
        results: r#"{"rps": 1}"#.into(),
    }
}

async fn count_runs(store: &Store) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM benchmark_runs")
        .fetch_one(store.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_once_and_match_the_binary() {
    for store in testing::backends().await {
        let applied: Vec<i64> = store
            .applied_migrations()
            .await
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        let known: Vec<i64> = store.known_migrations().iter().map(|m| m.0).collect();
        assert_eq!(applied, known, "{}", store.name);
        assert!(
            store.migrate().await.unwrap().is_empty(),
            "{}: second migrate is a no-op",
            store.name
        );
    }
}

#[tokio::test]
async fn committed_writes_are_visible_and_rolled_back_ones_are_not() {
    for store in testing::backends().await {
        store
            .record_run(&run("a", "2026-11-26T00:00:01.000000Z"))
            .await
            .unwrap();
        assert_eq!(count_runs(&store).await, 1, "{}", store.name);

        // An explicit rollback and a transaction dropped without commit both leave nothing.
        let mut tx = store.begin().await.unwrap();
        sqlx::query("INSERT INTO benchmark_runs (suite, command, machine, started_at, finished_at, results) VALUES ('b','c','m','s','f','{}')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        {
            let mut tx = store.begin().await.unwrap();
            sqlx::query("INSERT INTO benchmark_runs (suite, command, machine, started_at, finished_at, results) VALUES ('b','c','m','s','f','{}')")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        assert_eq!(count_runs(&store).await, 1, "{}", store.name);
    }
}

#[tokio::test]
async fn a_failing_statement_aborts_the_whole_transaction() {
    for store in testing::backends().await {
        let mut tx = store.begin().await.unwrap();
        sqlx::query("INSERT INTO benchmark_runs (suite, command, machine, started_at, finished_at, results) VALUES ('x','c','m','s','f','{}')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let err =
            sqlx::query("INSERT INTO benchmark_runs (suite) VALUES ('missing not-null columns')")
                .execute(&mut *tx)
                .await;
        assert!(err.is_err(), "{}", store.name);
        drop(tx);
        assert_eq!(
            count_runs(&store).await,
            0,
            "{}: nothing half-written",
            store.name
        );
    }
}

#[tokio::test]
async fn concurrent_writers_all_commit() {
    for store in testing::backends().await {
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .record_run(&run(
                        &format!("s{}", i % 4),
                        &format!("2026-11-26T00:00:{:02}.000000Z", i % 60),
                    ))
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(count_runs(&store).await, 40, "{}", store.name);
    }
}

#[tokio::test]
async fn latest_run_is_the_most_recent_of_its_suite() {
    for store in testing::backends().await {
        assert!(store.latest_run("http").await.unwrap().is_none());
        store
            .record_run(&run("http", "2026-11-26T00:00:01.000000Z"))
            .await
            .unwrap();
        store
            .record_run(&run("http", "2026-11-26T00:00:03.000000Z"))
            .await
            .unwrap();
        store
            .record_run(&run("other", "2026-11-26T00:00:09.000000Z"))
            .await
            .unwrap();
        let latest = store.latest_run("http").await.unwrap().unwrap();
        assert_eq!(
            latest.finished_at, "2026-11-26T00:00:03.000000Z",
            "{}",
            store.name
        );
        assert_eq!(latest, run("http", "2026-11-26T00:00:03.000000Z"));
    }
}

#[tokio::test]
async fn ping_answers_on_every_backend() {
    for store in testing::backends().await {
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::sqlite_in(dir.path());
    {
        let store = Store::open(&config).await.unwrap();
        store.migrate().await.unwrap();
        store
            .record_run(&run("http", "2026-11-26T00:00:01.000000Z"))
            .await
            .unwrap();
        store.close().await;
    }
    let store = Store::open(&config).await.unwrap();
    assert!(store.migrate().await.unwrap().is_empty());
    assert_eq!(count_runs(&store).await, 1);
}

#[tokio::test]
async fn unreachable_postgres_is_reported_as_unavailable() {
    // Port 9 (discard) on loopback: nothing listens there on these machines.
    let config =
        StoreConfig::from_url("postgres://parvis@127.0.0.1:9/none?connect_timeout=2", 2).unwrap();
    let err = Store::open(&config).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

#[test]
fn database_urls_are_checked_and_passwords_never_shown() {
    assert!(StoreConfig::from_url("mysql://x", 4).is_err());
    assert!(StoreConfig::from_url("sqlite://", 4).is_err());
    let config = StoreConfig::from_url("postgres://u:secret@db:5432/parvis", 4).unwrap();
    assert_eq!(config.describe(), "postgres://u:***@db:5432/parvis");
    assert!(matches!(
        StoreConfig::from_url("sqlite:///tmp/p.sqlite", 4).unwrap(),
        StoreConfig::Sqlite { .. }
    ));
}

#[tokio::test]
async fn a_bad_schema_name_is_refused_before_connecting() {
    let config = StoreConfig::Postgres {
        url: "postgres://127.0.0.1:9/x".into(),
        schema: Some("bad; DROP".into()),
        max_connections: 1,
    };
    let err = Store::open(&config).await.unwrap_err();
    assert!(err.to_string().contains("schema name"), "{err}");
}

#[tokio::test]
async fn signal_status_is_replaced_and_plan_changes_accumulate() {
    use store::signals::{PlanChange, SignalStatus};
    let status = |phase: i64, yellow: bool| SignalStatus {
        intersection: "B1".into(),
        controller: "wave".into(),
        phase,
        phases: 4,
        state: "GGrr".into(),
        yellow,
        queue: 3.5,
        sim_time: 120.0,
        updated_at: String::new(),
    };
    let change = PlanChange {
        intersection: "B1".into(),
        controller: "wave".into(),
        sim_time: 118.0,
        from_phase: 0,
        to_phase: 1,
        state: "rrGG".into(),
        reason: "controller".into(),
    };
    for store in testing::backends().await {
        store
            .record_signals(std::slice::from_ref(&change), &[status(0, false)])
            .await
            .unwrap();
        store
            .record_signals(std::slice::from_ref(&change), &[status(1, true)])
            .await
            .unwrap();
        let found = store.signal_status().await.unwrap();
        assert_eq!(found.len(), 1, "{}", store.name);
        assert_eq!(found[0].phase, 1);
        assert!(found[0].yellow);
        assert_eq!(found[0].queue, 3.5);
        assert!(!found[0].updated_at.is_empty());
        assert_eq!(store.plan_change_count().await.unwrap(), 2);
    }
}

#[tokio::test]
async fn audit_records_chain_after_the_last_one_even_when_writers_race() {
    use governance::audit::{Entry, verify};
    let entry = |i: usize| Entry {
        actor: "test".into(),
        algorithm: "a".into(),
        version: "1".into(),
        kind: "k".into(),
        inputs: serde_json::json!({"n": i, "note": "rappeler le 06 12 34 56 78"}),
        output: serde_json::json!({}),
    };
    for store in testing::backends().await {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let store = store::Store::clone(&store);
                tokio::spawn(async move {
                    for i in 0..5 {
                        let batch = [entry(w * 10 + i), entry(w * 10 + i + 100)];
                        store.append_audit(&batch).await.unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let all = store.audit_records(None, None).await.unwrap();
        assert_eq!(all.len(), 40, "{}", store.name);
        assert_eq!(verify(&all, None), Ok(40), "{}", store.name);
        assert!(all.iter().all(|r| r.inputs.contains("[phone]")));
        let first = &all[0].recorded_at;
        let some = store.audit_records(Some(first), Some(first)).await.unwrap();
        assert!(!some.is_empty() && some.iter().all(|r| &r.recorded_at == first));
    }
}
