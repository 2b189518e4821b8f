//! `parvis bench assistant`: answers per second over HTTP, and latency, for
//! `POST /api/assistant/ask` (each answer stored as a conversation turn) and the stateless
//! `POST /v1/chat/completions`, against the targets of the assistant issue (≥ 500 answers/s,
//! p50 ≤ 10 ms on 2 cores, without an LLM).

use std::path::PathBuf;
use std::sync::Arc;

use access::{Keys, Role};
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use serde_json::json;
use store::{Store, StoreConfig};

use crate::bench::load::MakeRequest;
use crate::bench::server::BenchServer;
use crate::bench::{machine, markdown_table};
use crate::config::Config;

const TARGET_ANSWERS_PER_SECOND: f64 = 500.0;
const TARGET_P50_MS: f64 = 10.0;

/// Questions used when no file is given: Paris procedures, some informal, one in English, one
/// out of scope.
const DEFAULT_QUESTIONS: &[&str] = &[
    "comment faire enlever un vieux canapé ?",
    "je veux inscrire mon fils à la cantine",
    "how do I get a library card in Paris?",
    "ma voiture a été emmenée à la fourrière, je fais comment ?",
    "on veut se pacser, ça se passe à la mairie ?",
    "quel temps fera-t-il demain ?",
];

#[derive(Debug, clap::Args)]
pub struct AssistantBenchArgs {
    /// Concurrent keep-alive connections (closed loop: beyond what the cores serve, more
    /// connections add queueing to each answer's latency, not throughput).
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Measured seconds per row.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured warm-up seconds before each row.
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// Question file (JSON lines with a "question" field); default: a built-in set.
    #[arg(long)]
    pub questions: Option<PathBuf>,
    /// Sheets to ingest besides the built-in Paris knowledge base (files or folders).
    #[arg(long)]
    pub corpus: Vec<PathBuf>,
    /// Do not record the results in the store.
    #[arg(long)]
    pub no_record: bool,
}

pub async fn run(config: &Config, args: &AssistantBenchArgs) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let machine = machine();
    let questions: Vec<String> = match &args.questions {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["question"].as_str().map(str::to_owned))
            .collect(),
        None => DEFAULT_QUESTIONS.iter().map(|q| (*q).to_owned()).collect(),
    };
    anyhow::ensure!(!questions.is_empty(), "no questions to ask");
    let questions = Arc::new(questions);

    let scratch = tempfile::tempdir()?;
    let store_config = StoreConfig::sqlite_in(scratch.path());
    let store = Store::open(&store_config).await?;
    store.migrate().await?;
    let assistant = assistant::Assistant::open(store.clone(), scratch.path()).await?;
    if !args.corpus.is_empty() {
        let report = assistant.ingest(&args.corpus).await?;
        eprintln!(
            "ingested {} sheets ({} rejected)",
            report.added + report.updated + report.unchanged,
            report.rejected.len()
        );
    }
    let (sheets, passages) = (
        assistant.engine().sheet_count(),
        assistant.engine().passage_count(),
    );
    drop(assistant);
    let key = Arc::new(
        Keys::new(store.clone())
            .create("bench", Role::ResidentApp)
            .await?
            .secret,
    );
    store.close().await;

    let server = BenchServer::start(
        store_config,
        config.api(),
        crate::bench::server::Wiring::Assistant(scratch.path().to_owned()),
    )?;
    let http = crate::bench::http::HttpBenchArgs {
        connections: args.connections,
        duration_secs: args.duration_secs,
        warmup_secs: args.warmup_secs,
        postgres: None,
        no_record: true,
    };
    let request = |path: &'static str, chat: bool| -> MakeRequest {
        let questions = questions.clone();
        let key = key.clone();
        Arc::new(move |connection_idx, sequence| {
            let question = &questions[(connection_idx + sequence as usize) % questions.len()];
            let body = if chat {
                json!({"model": "parvis-assistant", "messages": [{"role": "user", "content": question}]})
            } else {
                json!({"question": question})
            };
            Request::post(path)
                .header("host", "bench")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .expect("a valid request")
        })
    };
    let mut rows = Vec::new();
    for (label, path, chat) in [
        (
            "POST /api/assistant/ask (turn stored)",
            "/api/assistant/ask",
            false,
        ),
        (
            "POST /v1/chat/completions (stateless)",
            "/v1/chat/completions",
            true,
        ),
    ] {
        let report =
            crate::bench::http::measure(server.address, &http, label, request(path, chat)).await?;
        let met = report.requests_per_second() >= TARGET_ANSWERS_PER_SECOND
            && report.percentile_ms(50.0) <= TARGET_P50_MS;
        rows.push((label, report, met));
    }
    server.stop();

    println!("\nParvis assistant benchmark, {started_at}");
    println!("machine: {machine}");
    println!(
        "knowledge base: {sheets} sheets, {passages} passages; {} questions cycled; {} connections, {} s per row after {} s warm-up; SQLite; no LLM\n",
        questions.len(),
        args.connections,
        args.duration_secs,
        args.warmup_secs
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(label, report, met)| {
            vec![
                (*label).to_owned(),
                (report.ok + report.errors).to_string(),
                report.errors.to_string(),
                format!("{:.0}", report.requests_per_second()),
                format!("{:.2}", report.percentile_ms(50.0)),
                format!("{:.2}", report.percentile_ms(99.0)),
                if *met {
                    "met (≥ 500/s, p50 ≤ 10 ms)".into()
                } else {
                    "MISSED (≥ 500/s, p50 ≤ 10 ms)".into()
                },
            ]
        })
        .collect();
    print!(
        "{}",
        markdown_table(
            &[
                "route",
                "answers",
                "errors",
                "answers/s",
                "p50 ms",
                "p99 ms",
                "target"
            ],
            &table
        )
    );

    if !args.no_record {
        let results = json!({
            "connections": args.connections, "duration_secs": args.duration_secs,
            "sheets": sheets, "passages": passages, "questions": questions.len(),
            "rows": rows.iter().map(|(label, report, met)| json!({
                "route": label, "answers": report.ok + report.errors, "errors": report.errors,
                "answers_per_second": report.requests_per_second(),
                "p50_ms": report.percentile_ms(50.0), "p99_ms": report.percentile_ms(99.0), "target_met": met,
            })).collect::<Vec<_>>(),
        });
        let id = crate::bench::record(
            config,
            "assistant-throughput".into(),
            machine,
            started_at,
            results.to_string(),
        )
        .await?;
        println!("\nrecorded as benchmark run {id}");
    }
    Ok(())
}
