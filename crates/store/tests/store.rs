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

#[tokio::test]
async fn retention_removes_each_class_on_time_and_the_audit_chain_still_verifies() {
    use governance::audit::{Entry, verify};
    use store::retention::Policy;
    use time::{Duration, OffsetDateTime};

    let now = OffsetDateTime::now_utc();
    let ago = |days: i64| store::timestamp::format(now - Duration::days(days));
    for store in testing::backends().await {
        let mut tx = store.begin().await.unwrap();
        for (id, updated, turns) in [("old", ago(100), 2), ("recent", ago(0), 1)] {
            sqlx::query(
                "INSERT INTO assistant_conversations (id, mode, lang, created_at, updated_at) \
                 VALUES ($1, 'resident', 'fr', $2, $2)",
            )
            .bind(id)
            .bind(&updated)
            .execute(&mut *tx)
            .await
            .unwrap();
            for seq in 0..turns {
                sqlx::query(
                    "INSERT INTO assistant_turns (conversation_id, seq, question, answer, \
                     sheet_ids, abstained, created_at) VALUES ($1, $2, 'q', 'a', '[]', FALSE, $3)",
                )
                .bind(id)
                .bind(seq)
                .bind(&updated)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
        let mut requests = Vec::new();
        for (token, closed) in [
            ("closed-long-ago", Some(ago(400))),
            ("closed-lately", Some(ago(10))),
            ("open", None),
        ] {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO service_requests (token, service_code, status, stage, description, \
                 agency_responsible, attributes, requested_at, updated_at, expected_at, closed_at) \
                 VALUES ($1, 'OBJ-01', 'open', 'received', 'encombrant, rappelez le 06 12 34 56 78', \
                 'DPE', '{}', $2, $2, $2, $3) RETURNING id",
            )
            .bind(token)
            .bind(ago(500))
            .bind(closed)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO service_request_contacts (request_id, email) VALUES ($1, 'a@b.fr')",
            )
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
            requests.push(id);
        }
        tx.commit().await.unwrap();
        let entry = |n: i64| Entry {
            actor: "test".into(),
            algorithm: "a".into(),
            version: "1".into(),
            kind: "k".into(),
            inputs: serde_json::json!({"n": n}),
            output: serde_json::json!({}),
        };
        store
            .append_audit(&[entry(1), entry(2), entry(3)])
            .await
            .unwrap();

        // Today: the conversation idle for 100 days and the contact of the request closed
        // 400 days ago go; the pass is recorded; audit records are young.
        let policy = Policy::default();
        let report = store.enforce_retention(&policy, now).await.unwrap();
        assert_eq!(
            (
                report.conversations_deleted,
                report.turns_deleted,
                report.contacts_erased,
                report.descriptions_redacted,
                report.audit_records_removed
            ),
            (1, 2, 1, 1, 0),
            "{}",
            store.name
        );
        let description: String =
            sqlx::query_scalar("SELECT description FROM service_requests WHERE id = $1")
                .bind(requests[0])
                .fetch_one(store.reader())
                .await
                .unwrap();
        assert_eq!(description, "encombrant, rappelez le [phone]");
        // Each request is handled once: it is marked, and later passes skip it.
        let marked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_requests WHERE personal_data_erased_at IS NOT NULL",
        )
        .fetch_one(store.reader())
        .await
        .unwrap();
        assert_eq!(marked, 1);
        let records = store.audit_records(None, None).await.unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[3].kind, "retention");
        assert_eq!(store.audit_anchor().await.unwrap(), None);

        // Nothing left to do: a second pass removes nothing and records nothing.
        assert!(
            store
                .enforce_retention(&policy, now)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.audit_records(None, None).await.unwrap().len(), 4);

        // 400 days on: every record older than a year goes, the last one removed becomes the
        // anchor, and what is left (this pass's record) verifies from it.
        let later = now + Duration::days(400);
        let report = store.enforce_retention(&policy, later).await.unwrap();
        assert_eq!(
            (
                report.conversations_deleted,
                report.contacts_erased,
                report.audit_records_removed
            ),
            (1, 1, 4),
            "{}",
            store.name
        );
        let anchor = store.audit_anchor().await.unwrap().unwrap();
        assert_eq!(anchor.0, 4);
        let left = store.audit_records(None, None).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].seq, 5);
        assert_eq!(verify(&left, Some((anchor.0, &anchor.1))), Ok(1));
        assert!(
            verify(&left, None).is_err(),
            "without the anchor it is a gap"
        );
        store.append_audit(&[entry(4)]).await.unwrap();
        let left = store.audit_records(None, None).await.unwrap();
        assert_eq!(verify(&left, Some((anchor.0, &anchor.1))), Ok(2));

        // The open request keeps its contact however old it is.
        let contacts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM service_request_contacts")
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(contacts, 1);
    }
}

#[test]
fn a_retention_policy_under_six_months_of_audit_log_is_refused() {
    let policy = store::retention::Policy {
        audit_log_days: 90,
        ..Default::default()
    };
    assert!(policy.problems()[0].contains("at least 183"));
    assert!(store::retention::Policy::default().problems().is_empty());
}
