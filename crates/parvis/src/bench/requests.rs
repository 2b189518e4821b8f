//! `parvis requests bench`: Open311 `POST requests` and `GET requests/{id}` per second over
//! HTTP with 100,000 requests already stored, and the duplicate-lookup latency at that many
//! open requests, on SQLite and PostgreSQL in one run, against the targets
//! (≥ 2,000 POST/s and ≥ 10,000 GET by id/s on SQLite; lookup p99 ≤ 2 ms).

use std::sync::Arc;
use std::time::Instant;

use access::{Keys, Role};
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use rand::{Rng, SeedableRng};
use serde_json::json;
use store::{Store, StoreConfig};

use crate::bench::load::{LoadReport, MakeRequest};
use crate::bench::server::{BenchServer, Wiring};
use crate::bench::{machine, markdown_table};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct RequestsBenchArgs {
    /// Requests stored before measuring.
    #[arg(long, default_value_t = 100_000)]
    pub stored: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per row.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured warm-up seconds before each row.
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// PostgreSQL server for the PostgreSQL rows (also PARVIS_BENCH_POSTGRES_URL).
    #[arg(long, env = "PARVIS_BENCH_POSTGRES_URL")]
    pub postgres: Option<String>,
    #[arg(long)]
    pub no_record: bool,
}

struct Row {
    backend: &'static str,
    scenario: String,
    report: Option<LoadReport>,
    /// (p50, p99) in ms for in-process measurements.
    latency: Option<(f64, f64, usize)>,
    target: Option<String>,
}

pub async fn run(
    config: &Config,
    args: crate::bench::requests::RequestsBenchArgs,
) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let machine = machine();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let scratch = tempfile::tempdir()?;
    bench_backend(
        &StoreConfig::sqlite_in(scratch.path()),
        &args,
        &mut rows,
        &mut notes,
    )
    .await?;
    match &args.postgres {
        Some(url) => {
            let schema = format!("parvis_bench_{}", uuid::Uuid::new_v4().simple());
            let postgres = StoreConfig::Postgres {
                url: url.clone(),
                schema: Some(schema.clone()),
                max_connections: config.database.max_connections,
            };
            let outcome = bench_backend(&postgres, &args, &mut rows, &mut notes)
                .await
                .context("PostgreSQL rows");
            crate::bench::http::drop_schema(url, &schema).await?;
            outcome?;
        }
        None => notes.push("PostgreSQL rows skipped: pass --postgres URL".to_owned()),
    }

    println!("\nParvis service-request benchmark, {started_at}");
    println!("machine: {machine}");
    println!(
        "{} requests stored before measuring; {} connections, {} s per row after {} s warm-up\n",
        args.stored, args.connections, args.duration_secs, args.warmup_secs
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let (count, errors, rate, p50, p99) = match (&row.report, row.latency) {
                (Some(r), _) => (
                    (r.ok + r.errors).to_string(),
                    r.errors.to_string(),
                    format!("{:.0}", r.requests_per_second()),
                    r.percentile_ms(50.0),
                    r.percentile_ms(99.0),
                ),
                (None, Some((p50, p99, n))) => (n.to_string(), "0".into(), "-".into(), p50, p99),
                (None, None) => ("-".into(), "-".into(), "-".into(), f64::NAN, f64::NAN),
            };
            vec![
                row.backend.to_owned(),
                row.scenario.clone(),
                count,
                errors,
                rate,
                format!("{p50:.3}"),
                format!("{p99:.3}"),
                row.target.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print!(
        "{}",
        markdown_table(
            &[
                "backend",
                "scenario",
                "operations",
                "errors",
                "per s",
                "p50 ms",
                "p99 ms",
                "target"
            ],
            &table
        )
    );
    for note in &notes {
        println!("\n{note}");
    }
    if !args.no_record {
        let results = json!({
            "stored": args.stored, "connections": args.connections,
            "rows": rows.iter().map(|row| json!({
                "backend": row.backend, "scenario": row.scenario,
                "per_second": row.report.as_ref().map(LoadReport::requests_per_second),
                "errors": row.report.as_ref().map(|r| r.errors),
                "p50_ms": row.report.as_ref().map(|r| r.percentile_ms(50.0)).or(row.latency.map(|l| l.0)),
                "p99_ms": row.report.as_ref().map(|r| r.percentile_ms(99.0)).or(row.latency.map(|l| l.1)),
                "target": row.target,
            })).collect::<Vec<_>>(),
        });
        let id = crate::bench::record(
            config,
            "requests".into(),
            machine,
            started_at,
            results.to_string(),
        )
        .await?;
        println!("\nrecorded as benchmark run {id}");
    }
    Ok(())
}

async fn bench_backend(
    store_config: &StoreConfig,
    args: &RequestsBenchArgs,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let store = Store::open(store_config).await?;
    store.migrate().await?;
    let backend = store.backend().as_str();
    let key = Arc::new(
        Keys::new(store.clone())
            .create("bench", Role::ResidentApp)
            .await?
            .secret,
    );
    let requests = crate::commands::requests_over(&Config::default(), store.clone()).await?;

    // Fill the store.
    let now = time::OffsetDateTime::now_utc();
    let items = requests::demo::synthetic(
        requests.catalogue(),
        requests.areas(),
        args.stored,
        25,
        0.0,
        7,
        now,
    );
    let clock = Instant::now();
    let progress = indicatif::ProgressBar::new(items.len() as u64);
    for chunk in items.chunks(5_000) {
        requests.import(chunk).await?;
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    notes.push(format!(
        "{backend}: stored {} requests in {:.1} s ({:.0}/s, 500 per transaction)",
        items.len(),
        clock.elapsed().as_secs_f64(),
        items.len() as f64 / clock.elapsed().as_secs_f64()
    ));

    // Duplicate lookups, in process, at random points of Paris and categories of the stored mix.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut latencies = Vec::with_capacity(20_000);
    let mut found = 0usize;
    for _ in 0..20_000 {
        let item = &items[rng.gen_range(0..items.len())];
        let (lat, lon) = (
            item.lat + rng.gen_range(-0.002..0.002),
            item.lon + rng.gen_range(-0.002..0.002),
        );
        let clock = Instant::now();
        let candidates = requests.duplicate_candidates(&item.service_code, lat, lon);
        latencies.push(clock.elapsed().as_secs_f64() * 1000.0);
        found += candidates.len();
    }
    latencies.sort_by(f64::total_cmp);
    let p99 = requests::report::quantile(&latencies, 0.99);
    rows.push(Row {
        backend,
        scenario: format!(
            "duplicate lookup, {} open requests indexed ({:.1} candidates on average)",
            requests.indexed_open_requests(),
            found as f64 / latencies.len() as f64
        ),
        report: None,
        latency: Some((
            requests::report::quantile(&latencies, 0.5),
            p99,
            latencies.len(),
        )),
        target: Some(
            if p99 <= 2.0 {
                "met (p99 ≤ 2 ms)"
            } else {
                "MISSED (p99 ≤ 2 ms)"
            }
            .into(),
        ),
    });
    drop(requests);
    store.close().await;

    let server = BenchServer::start(
        store_config.clone(),
        api::ApiConfig::default(),
        Wiring::Requests,
    )?;
    let created = server.created_counter();
    let http = crate::bench::http::HttpBenchArgs {
        connections: args.connections,
        duration_secs: args.duration_secs,
        warmup_secs: args.warmup_secs,
        postgres: None,
        no_record: true,
    };
    let codes: Arc<Vec<String>> = Arc::new(
        items
            .iter()
            .take(1000)
            .map(|i| i.service_code.clone())
            .collect(),
    );
    let points: Arc<Vec<(f64, f64)>> =
        Arc::new(items.iter().take(1000).map(|i| (i.lat, i.lon)).collect());
    let post: MakeRequest = {
        let key = key.clone();
        Arc::new(move |connection_idx, sequence| {
            let i = (connection_idx * 7919 + sequence as usize) % codes.len();
            let (lat, lon) = points[i];
            let body = format!(
                "api_key={key}&service_code={}&lat={lat}&long={lon}&description=bench+report+{sequence}",
                codes[i]
            );
            Request::post("/open311/v2/requests.json")
                .header("host", "bench")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(body)))
                .expect("a valid request")
        })
    };
    let stored = args.stored as u64;
    let get: MakeRequest = Arc::new(move |connection_idx, sequence| {
        let id = 1 + (connection_idx as u64 * 104_729 + sequence * 7_919) % stored;
        Request::get(format!("/open311/v2/requests/{id}.json"))
            .header("host", "bench")
            .body(Full::new(Bytes::new()))
            .expect("a valid request")
    });
    let report = crate::bench::http::measure(
        server.address,
        &http,
        &format!("{backend}: POST requests"),
        post,
    )
    .await?;
    let rate = report.requests_per_second();
    let target = (backend == "sqlite").then(|| {
        if rate >= 2000.0 {
            "met (≥ 2,000/s)"
        } else {
            "MISSED (≥ 2,000/s)"
        }
        .to_owned()
    });
    rows.push(Row {
        backend,
        scenario: "POST /open311/v2/requests.json (form, key, classified, routed, committed)"
            .into(),
        report: Some(report),
        latency: None,
        target,
    });
    let report = crate::bench::http::measure(
        server.address,
        &http,
        &format!("{backend}: GET request by id"),
        get,
    )
    .await?;
    let rate = report.requests_per_second();
    let target = (backend == "sqlite").then(|| {
        if rate >= 10_000.0 {
            "met (≥ 10,000/s)"
        } else {
            "MISSED (≥ 10,000/s)"
        }
        .to_owned()
    });
    rows.push(Row {
        backend,
        scenario: "GET /open311/v2/requests/{id}.json".into(),
        report: Some(report),
        latency: None,
        target,
    });
    server.stop();

    // Every acknowledged POST is in the store.
    let store = Store::open(store_config).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM service_requests")
        .fetch_one(store.reader())
        .await?;
    let acknowledged = created.load(std::sync::atomic::Ordering::SeqCst);
    store.close().await;
    anyhow::ensure!(
        count as u64 == stored + acknowledged,
        "{backend}: {acknowledged} POSTs acknowledged but {} new rows stored",
        count as u64 - stored
    );
    notes.push(format!(
        "{backend}: all {acknowledged} acknowledged POSTs found in the store afterwards"
    ));
    Ok(())
}
