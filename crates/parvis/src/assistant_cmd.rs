//! `parvis assistant …` and `parvis ask`: ingestion, evaluation and questions from the terminal.

use std::path::PathBuf;

use anyhow::Context;
use assistant::eval::{self, QuestionOutcome};
use assistant::{AskRequest, Assistant, Lang, Mode};
use clap::{Args, Subcommand};

use crate::bench::markdown_table;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AssistantCommand {
    /// Ingest procedure sheets: files or folders of service-public.fr XML, Markdown sheets with
    /// a front matter, or JSON lines `{"id","title","url","text"}`. Idempotent: changed sheets
    /// are replaced, sheets gone from the given folders are deleted.
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Evaluate on a question file (JSON lines) against what is ingested.
    Eval(EvalArgs),
    /// Embed every passage that has no vector yet (needs assistant.embeddings_url).
    Embed,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// JSON lines: {"id","question","lang","in_scope","gold_ids","answers"}.
    #[arg(long)]
    pub questions: PathBuf,
    /// Print one JSON object with the figures instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Abstention threshold to evaluate instead of the built-in one.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Scope-model threshold to evaluate instead of the built-in one (0 disables the model).
    #[arg(long)]
    pub scope_threshold: Option<f32>,
    /// Also print, for each threshold, the abstention rates it would give (calibration).
    #[arg(long)]
    pub sweep: bool,
    /// Print the questions whose gold sheet is not in the top 5, or whose answer misses it.
    #[arg(long)]
    pub failures: bool,
    /// Write every question's outcome (signals included) as JSON lines to this file.
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,
    /// Write each in-scope question's first-stage candidates with their reranker features as
    /// JSON lines to this file (to fit the reranker on development sets).
    #[arg(long, value_name = "FILE")]
    pub rank_features: Option<PathBuf>,
    /// Do not record the figures in the store (they feed the algorithm register).
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question.
    #[arg(required = true)]
    pub question: Vec<String>,
    /// Agent mode: denser answers with every matching sheet and its id.
    #[arg(long)]
    pub agent: bool,
    /// Continue a conversation.
    #[arg(long)]
    pub conversation: Option<String>,
}

async fn open(config: &Config) -> anyhow::Result<(store::Store, Assistant)> {
    let store = crate::commands::open_migrated_store(config).await?;
    let assistant =
        Assistant::open_with(store.clone(), &config.data_dir, config.embedder()?).await?;
    Ok((store, assistant))
}

pub async fn run(config: &Config, command: AssistantCommand) -> anyhow::Result<()> {
    let (store, assistant) = open(config).await?;
    match command {
        AssistantCommand::Ingest { paths } => {
            let report = assistant.ingest(&paths).await?;
            for rejected in &report.rejected {
                eprintln!("skipped {rejected}");
            }
            println!(
                "{} file(s) read: {} sheet(s) added, {} updated, {} unchanged, {} removed, {} rejected",
                report.files,
                report.added,
                report.updated,
                report.unchanged,
                report.removed,
                report.rejected.len()
            );
            let engine = assistant.engine();
            println!(
                "knowledge base: {} sheets, {} passages",
                engine.sheet_count(),
                engine.passage_count()
            );
        }
        AssistantCommand::Embed => {
            let engine = assistant.engine();
            anyhow::ensure!(
                config.embedder()?.is_some(),
                "no dense retriever: set assistant.embeddings_url and assistant.embeddings_model"
            );
            let missing = engine.passage_count() - engine.embedded_passages();
            let progress = indicatif::ProgressBar::new(missing as u64);
            progress.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} passages embedded, {eta} left",
                )
                .expect("a valid template"),
            );
            loop {
                let done = assistant.embed_missing(64).await?;
                if done == 0 {
                    break;
                }
                progress.inc(done as u64);
            }
            progress.finish();
            assistant.refresh().await?;
            println!(
                "{} of {} passages embedded",
                assistant.engine().embedded_passages(),
                assistant.engine().passage_count()
            );
        }
        AssistantCommand::Eval(args) => {
            let started_at = store::timestamp::now();
            let (report, outcomes) = evaluate(&assistant, &args).await?;
            if !args.no_record {
                let file = args
                    .questions
                    .file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
                crate::bench::record(
                    config,
                    format!("assistant-eval:{file}"),
                    crate::bench::machine(),
                    started_at,
                    recorded_results(&report, &outcomes)?,
                )
                .await?;
            }
        }
    }
    store.close().await;
    Ok(())
}

/// What a run records: the figures, and the counts per language behind them.
fn recorded_results(
    report: &eval::EvalReport,
    outcomes: &[QuestionOutcome],
) -> anyhow::Result<String> {
    let mut results = serde_json::to_value(report)?;
    results["by_lang"] = serde_json::to_value(eval::language_counts(outcomes))?;
    Ok(results.to_string())
}

async fn evaluate(
    assistant: &Assistant,
    args: &EvalArgs,
) -> anyhow::Result<(eval::EvalReport, Vec<QuestionOutcome>)> {
    let text = std::fs::read_to_string(&args.questions)
        .with_context(|| format!("cannot read {}", args.questions.display()))?;
    let questions = eval::read_questions(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.questions.display()))?;
    let engine = assistant.engine();
    let engine = if args.threshold.is_some() || args.scope_threshold.is_some() {
        // The engine is shared; evaluate other thresholds on a rebuilt copy.
        let sheets = assistant.library().load_all().await?;
        let sheets = sheets.into_iter().map(|s| s.sheet).collect();
        let mut rebuilt = assistant::Engine::build(sheets, None)?;
        if let Some(threshold) = args.threshold {
            rebuilt = rebuilt.with_threshold(threshold);
        }
        if let Some(threshold) = args.scope_threshold {
            rebuilt = rebuilt.with_scope_threshold(threshold);
        }
        std::sync::Arc::new(rebuilt)
    } else {
        engine
    };
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message(format!("{} questions", questions.len()));
    progress.enable_steady_tick(std::time::Duration::from_millis(200));
    // With a dense retriever, the questions are embedded first (their latency is not counted).
    let mut vectors = Vec::new();
    if engine.embedded_passages() > 0 {
        for question in &questions {
            match assistant.query_vector(&question.question).await {
                Some(vector) => vectors.push(vector),
                None => anyhow::bail!("the embedding service did not answer"),
            }
        }
    }
    let (report, outcomes) = {
        let engine = engine.clone();
        let questions = questions.clone();
        tokio::task::spawn_blocking(move || {
            let vectors = (!vectors.is_empty()).then_some(vectors.as_slice());
            eval::evaluate(&engine, &questions, vectors)
        })
        .await?
    };
    progress.finish_and_clear();
    if let Some(path) = &args.outcomes {
        let lines: Vec<String> = outcomes
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.rank_features {
        let mut lines = Vec::new();
        for question in questions.iter().filter(|q| q.in_scope) {
            let candidates: Vec<serde_json::Value> = engine
                .rank_candidates(&question.question)
                .into_iter()
                .map(|(id, features)| serde_json::json!({"id": id, "features": features}))
                .collect();
            lines.push(serde_json::to_string(&serde_json::json!({
                "id": question.id,
                "lang": question.lang,
                "gold_ids": question.gold_ids,
                "candidates": candidates,
            }))?);
        }
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok((report, outcomes));
    }
    println!(
        "assistant evaluation: {} ({} questions; {} sheets, {} passages, {} embedded; threshold {:.2})\n",
        args.questions.display(),
        report.n,
        engine.sheet_count(),
        engine.passage_count(),
        engine.embedded_passages(),
        engine.threshold()
    );
    let mut rows = vec![row("all", &report)];
    for lang in ["fr", "en"] {
        let subset: Vec<QuestionOutcome> = outcomes
            .iter()
            .filter(|o| o.lang == lang)
            .cloned()
            .collect();
        if !subset.is_empty() {
            rows.push(row(lang, &eval::summarise(&subset)));
        }
    }
    print!(
        "{}",
        markdown_table(
            &[
                "set",
                "n",
                "recall@1",
                "recall@5",
                "MRR",
                "answer contains",
                "abstain in-scope",
                "abstain out-of-scope",
                "unsupported claims",
                "p50 ms",
                "p99 ms"
            ],
            &rows
        )
    );
    if args.sweep {
        println!("\ncalibration: abstention rates by threshold\n");
        let sweep: Vec<Vec<String>> = eval::threshold_sweep(&outcomes)
            .into_iter()
            .map(|(t, i, o)| vec![format!("{t:.2}"), format!("{i:.3}"), format!("{o:.3}")])
            .collect();
        print!(
            "{}",
            markdown_table(
                &["threshold", "abstain in-scope", "abstain out-of-scope"],
                &sweep
            )
        );
    }
    if args.failures {
        println!("\nfailures:");
        for (outcome, question) in outcomes.iter().zip(&questions) {
            let missed_retrieval = outcome.in_scope && outcome.gold_rank.is_none_or(|r| r > 5);
            let abstained_wrongly = outcome.in_scope && outcome.abstained;
            let answered_oos = !outcome.in_scope && !outcome.abstained;
            let missed_fact = outcome.in_scope
                && !outcome.abstained
                && outcome.has_gold_fact
                && !outcome.contains_gold_fact;
            if missed_retrieval || abstained_wrongly || answered_oos || missed_fact {
                println!(
                    "{} [{}] conf {:.2} rank {:?} gold {:?} top {:?}: {}",
                    outcome.id,
                    if answered_oos {
                        "answered out-of-scope"
                    } else if abstained_wrongly {
                        "abstained"
                    } else if missed_retrieval {
                        "retrieval"
                    } else {
                        "answer"
                    },
                    outcome.confidence,
                    outcome.gold_rank,
                    question.gold_ids,
                    outcome.top_ids.iter().take(3).collect::<Vec<_>>(),
                    question.question
                );
            }
        }
    }
    Ok((report, outcomes))
}

fn row(set: &str, report: &eval::EvalReport) -> Vec<String> {
    vec![
        set.to_owned(),
        report.n.to_string(),
        format!("{:.3}", report.recall_at_1),
        format!("{:.3}", report.recall_at_5),
        format!("{:.3}", report.mrr),
        if report.answer_contains.is_nan() {
            "n/a".into()
        } else {
            format!("{:.3}", report.answer_contains)
        },
        format!("{:.3}", report.abstain_in_scope),
        format!("{:.3}", report.abstain_out_of_scope),
        report.unsupported_claims.to_string(),
        format!("{:.2}", report.latency_p50_ms),
        format!("{:.2}", report.latency_p99_ms),
    ]
}

pub async fn ask(config: &Config, args: AskArgs) -> anyhow::Result<()> {
    let (store, assistant) = open(config).await?;
    let response = assistant
        .ask(AskRequest {
            question: args.question.join(" "),
            lang: None,
            mode: if args.agent {
                Mode::Agent
            } else {
                Mode::Resident
            },
            conversation_id: args.conversation,
        })
        .await?;
    println!("{}", response.answer.text);
    let lang = match response.answer.lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    };
    eprintln!(
        "\nconfidence {:.2}{} · language {lang} · conversation {}",
        response.answer.confidence,
        response
            .answer
            .abstained
            .map(|a| format!(" · abstained ({})", a.as_str()))
            .unwrap_or_default(),
        response.conversation_id
    );
    store.close().await;
    Ok(())
}
