//! `parvis bench http`: the HTTP server under load over loopback, on SQLite and PostgreSQL in
//! one run. Rows: `GET /readyz` (as configured, then asking the store on every call), an
//! authenticated read (`GET /api/v1/me`, one key lookup) and an authenticated write
//! (`POST /api/v1/keys`, one committed INSERT). After the write row it counts the rows in the
//! store: every request answered 201 must be there.
//!
//! The server runs in this process on a runtime of its own (as many worker threads as cores);
//! the load generator runs on another. Both share the machine, as they would with wrk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use access::{Keys, Role};
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use store::{Store, StoreConfig};

use crate::bench::load::{self, LoadReport, MakeRequest};
use crate::bench::server::{BenchServer, Wiring};
use crate::bench::{machine, markdown_table};
use crate::config::Config;

/// Target of the platform issue for `GET /readyz` at 64 connections on a 2-core machine.
const TARGET_READYZ_RPS: f64 = 20_000.0;
const TARGET_READYZ_P99_MS: f64 = 5.0;

#[derive(Debug, clap::Args)]
pub struct HttpBenchArgs {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Measured seconds per row.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured warm-up seconds before each row.
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// PostgreSQL server for the PostgreSQL rows (a scratch schema is created and dropped);
    /// default: the configured database_url when it is PostgreSQL.
    #[arg(long, env = "PARVIS_BENCH_POSTGRES_URL", value_name = "URL")]
    pub postgres: Option<String>,
    /// Do not record the results in the store.
    #[arg(long)]
    pub no_record: bool,
}

/// One row of the table.
#[derive(Debug)]
struct Row {
    backend: &'static str,
    scenario: &'static str,
    report: LoadReport,
    target: Option<bool>,
}

pub async fn run(config: &Config, args: &HttpBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.connections > 0 && args.duration_secs > 0,
        "connections and duration must be positive"
    );
    let started_at = store::timestamp::now();
    let machine = machine();
    let postgres_url = args.postgres.clone().or_else(|| {
        config
            .database_url
            .clone()
            .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    });
    eprintln!(
        "Parvis HTTP benchmark on {machine}: {} connections, {} s per row after {} s warm-up",
        args.connections, args.duration_secs, args.warmup_secs
    );

    let mut rows = Vec::new();
    let scratch = tempfile::tempdir()?;
    bench_backend(
        &StoreConfig::sqlite_in(scratch.path()),
        config,
        args,
        &mut rows,
    )
    .await?;

    let mut notes = Vec::new();
    match &postgres_url {
        Some(url) => {
            let schema = format!("parvis_bench_{}", uuid::Uuid::new_v4().simple());
            let postgres = StoreConfig::Postgres {
                url: url.clone(),
                schema: Some(schema.clone()),
                max_connections: config.database.max_connections,
            };
            let outcome = bench_backend(&postgres, config, args, &mut rows)
                .await
                .context("PostgreSQL rows");
            drop_schema(url, &schema).await?;
            outcome?;
        }
        None => notes.push(
            "PostgreSQL rows skipped: pass --postgres URL (or PARVIS_BENCH_POSTGRES_URL)"
                .to_owned(),
        ),
    }

    let table = markdown_table(
        &[
            "backend", "scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "target",
        ],
        &rows
            .iter()
            .map(|row| {
                vec![
                    row.backend.to_owned(),
                    row.scenario.to_owned(),
                    (row.report.ok + row.report.errors).to_string(),
                    row.report.errors.to_string(),
                    format!("{:.0}", row.report.requests_per_second()),
                    format!("{:.2}", row.report.percentile_ms(50.0)),
                    format!("{:.2}", row.report.percentile_ms(99.0)),
                    match row.target {
                        Some(true) => "met (≥ 20000 req/s, p99 ≤ 5 ms)".into(),
                        Some(false) => "MISSED (≥ 20000 req/s, p99 ≤ 5 ms)".into(),
                        None => "-".into(),
                    },
                ]
            })
            .collect::<Vec<_>>(),
    );
    println!("\nParvis HTTP benchmark, {started_at}");
    println!("machine: {machine}");
    println!(
        "load: {} keep-alive connections over loopback, closed loop, {} s measured per row after {} s warm-up; access log off\n",
        args.connections, args.duration_secs, args.warmup_secs
    );
    print!("{table}");
    for note in &notes {
        println!("\nnote: {note}");
    }

    if !args.no_record {
        let results = json!({
            "connections": args.connections,
            "duration_secs": args.duration_secs,
            "warmup_secs": args.warmup_secs,
            "rows": rows.iter().map(|row| json!({
                "backend": row.backend,
                "scenario": row.scenario,
                "requests": row.report.ok + row.report.errors,
                "errors": row.report.errors,
                "requests_per_second": row.report.requests_per_second(),
                "p50_ms": row.report.percentile_ms(50.0),
                "p99_ms": row.report.percentile_ms(99.0),
                "target_met": row.target,
            })).collect::<Vec<_>>(),
        });
        let id = crate::bench::record(
            config,
            "http".into(),
            machine,
            started_at,
            results.to_string(),
        )
        .await?;
        println!(
            "\nrecorded as benchmark run {id} in {}",
            config.store()?.describe()
        );
    }
    Ok(())
}

async fn bench_backend(
    store_config: &StoreConfig,
    config: &Config,
    args: &HttpBenchArgs,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    // This handle prepares and checks; each server opens its own on its own runtime, as a
    // separate process would (a pool's connections belong to the runtime that opened them).
    let store = Store::open(store_config).await?;
    store.migrate().await?;
    let backend = store.backend().as_str();
    let keys = Keys::new(store.clone());
    let admin = Arc::new(keys.create("bench admin", Role::Admin).await?.secret);

    let configured = config.api();
    let uncached = api::ApiConfig {
        readiness_cache: Duration::ZERO,
        ..configured.clone()
    };
    let readyz_label = if configured.readiness_cache.is_zero() {
        "GET /readyz (store asked every call)"
    } else {
        "GET /readyz (configured store-check cache)"
    };
    let get = |path: &'static str, key: Option<Arc<String>>| -> MakeRequest {
        Arc::new(move |_, _| {
            let mut builder = Request::get(path).header("host", "bench");
            if let Some(key) = &key {
                builder = builder.header("authorization", format!("Bearer {key}"));
            }
            builder
                .body(Full::new(Bytes::new()))
                .expect("a valid request")
        })
    };

    let server = BenchServer::start(store_config.clone(), configured, Wiring::Platform)?;
    let report = measure(
        server.address,
        args,
        &format!("{backend}: {readyz_label}"),
        get("/readyz", None),
    )
    .await?;
    let target = report.requests_per_second() >= TARGET_READYZ_RPS
        && report.percentile_ms(99.0) <= TARGET_READYZ_P99_MS;
    rows.push(Row {
        backend,
        scenario: readyz_label,
        report,
        target: Some(target),
    });

    let report = measure(
        server.address,
        args,
        &format!("{backend}: GET /api/v1/me"),
        get("/api/v1/me", Some(admin.clone())),
    )
    .await?;
    rows.push(Row {
        backend,
        scenario: "GET /api/v1/me (key looked up in the store)",
        report,
        target: None,
    });

    let key = admin.clone();
    let write: MakeRequest = Arc::new(move |connection_idx, sequence| {
        let body =
            format!(r#"{{"name": "bench {connection_idx}-{sequence}", "role": "resident-app"}}"#);
        Request::post("/api/v1/keys")
            .header("host", "bench")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request")
    });
    let before = keys.list().await?.len();
    let counter = server.created_counter();
    let report = measure(
        server.address,
        args,
        &format!("{backend}: POST /api/v1/keys"),
        write,
    )
    .await?;
    server.stop();
    let stored = keys.list().await?.len() - before;
    let acknowledged = counter.load(std::sync::atomic::Ordering::SeqCst);
    anyhow::ensure!(
        stored as u64 == acknowledged,
        "{backend}: {acknowledged} writes answered 201 but {stored} found in the store"
    );
    eprintln!(
        "{backend}: {acknowledged} writes answered 201, {stored} found in the store: none lost"
    );
    rows.push(Row {
        backend,
        scenario: "POST /api/v1/keys (1 committed INSERT)",
        report,
        target: None,
    });

    let server = BenchServer::start(store_config.clone(), uncached, Wiring::Platform)?;
    let report = measure(
        server.address,
        args,
        &format!("{backend}: GET /readyz uncached"),
        get("/readyz", None),
    )
    .await?;
    server.stop();
    rows.push(Row {
        backend,
        scenario: "GET /readyz, readiness_cache_ms = 0 (reference)",
        report,
        target: None,
    });
    store.close().await;
    Ok(())
}

pub(crate) async fn measure(
    address: SocketAddr,
    args: &HttpBenchArgs,
    label: &str,
    make_request: MakeRequest,
) -> anyhow::Result<LoadReport> {
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
    );
    progress.set_message(label.to_owned());
    progress.enable_steady_tick(Duration::from_millis(200));
    let report = load::run(
        address,
        args.connections,
        Duration::from_secs(args.warmup_secs),
        Duration::from_secs(args.duration_secs),
        make_request,
    )
    .await;
    progress.finish_and_clear();
    report
}

pub(crate) async fn drop_schema(url: &str, schema: &str) -> anyhow::Result<()> {
    use sqlx::{ConnectOptions, Connection, Executor};
    use std::str::FromStr;
    let mut conn = sqlx::any::AnyConnectOptions::from_str(url)?
        .connect()
        .await?;
    conn.execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
        .await?;
    conn.close().await?;
    Ok(())
}
