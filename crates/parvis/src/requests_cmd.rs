//! `parvis requests …`: the report classifier (classify, train and evaluate), routing and
//! duplicate evaluations on the city's history, and the service report.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use requests::classify::{self, Classifier, TrainOptions};
use requests::{Catalogue, Routing, eval, history, routing};

use crate::bench::markdown_table;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Classify descriptions: reads JSON lines {"id","description"}, writes one JSON line per
    /// input {"id","type","soustype","service_code","probability"} (type null = cannot decide).
    Classify(ClassifyArgs),
    /// Train the classifier (built-in examples plus --examples) and evaluate it on --eval sets
    /// it was not trained on. `serve` trains the same way at start-up, with the files listed in
    /// `requests.examples`.
    Train(TrainArgs),
    /// Learn the routing table from the DansMaRue history, evaluate it on the latest fifth of
    /// the history against the majority-service-per-category baseline, and optionally write it.
    Routing(RoutingArgs),
    /// Evaluate duplicate detection on the DansMaRue history (labelled pairs: same sub-type,
    /// same address, within 7 days) at several radii and windows.
    Duplicates(DuplicatesArgs),
    /// Time to close per category and arrondissement, and the slowest/fastest ratio.
    Report(ReportArgs),
    /// POST and GET requests/s over HTTP and duplicate-lookup latency, on SQLite and PostgreSQL.
    Bench(crate::bench::requests::RequestsBenchArgs),
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// JSON lines {"id","description"}; `-` for standard input.
    #[arg(long)]
    pub input: PathBuf,
    /// JSON lines out (the default prints a table).
    #[arg(long)]
    pub json: bool,
    /// Decision threshold on the type probability instead of the built-in one.
    #[arg(long)]
    pub threshold: Option<f32>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// More labelled examples (JSON lines {"id","description","type","soustype"}).
    #[arg(long)]
    pub examples: Vec<PathBuf>,
    /// Labelled sets to evaluate on (never trained on).
    #[arg(long = "eval")]
    pub eval_sets: Vec<PathBuf>,
    /// Also print the figures at each decision threshold.
    #[arg(long)]
    pub sweep: bool,
    /// Print the misclassified rows of the first --eval set.
    #[arg(long)]
    pub failures: bool,
    /// Print one JSON object per set instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Do not record the figures in the store (they feed the algorithm register).
    #[arg(long)]
    pub no_record: bool,
    /// Training knobs, for experiments.
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub noisy_copies: Option<usize>,
    #[arg(long)]
    pub learning_rate: Option<f32>,
    #[arg(long)]
    pub smoothing: Option<f32>,
    #[arg(long)]
    pub threshold: Option<f32>,
}

#[derive(Debug, Args)]
pub struct RoutingArgs {
    /// The DansMaRue export (raw_data.csv).
    #[arg(long)]
    pub history: PathBuf,
    /// Fewest reports of a category in an arrondissement for a local rule.
    #[arg(long, default_value_t = 3)]
    pub min_support: u32,
    /// Write the table learned on the whole history here (e.g. crates/requests/catalogue/routing.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Debug, Args)]
pub struct DuplicatesArgs {
    /// The DansMaRue export (raw_data.csv).
    #[arg(long)]
    pub history: PathBuf,
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long)]
    pub json: bool,
    /// Fewest closed requests for an arrondissement to count in the ratio.
    #[arg(long, default_value_t = 5)]
    pub min_group: usize,
}

pub async fn run(config: &Config, command: RequestsCommand) -> anyhow::Result<()> {
    let catalogue = Catalogue::built_in();
    match command {
        RequestsCommand::Classify(args) => classify_file(&catalogue, &args),
        RequestsCommand::Train(args) => train(config, &catalogue, &args).await,
        RequestsCommand::Routing(args) => routing_eval(config, &catalogue, &args).await,
        RequestsCommand::Duplicates(args) => duplicates_eval(config, &catalogue, &args).await,
        RequestsCommand::Report(args) => report(config, &args).await,
        RequestsCommand::Bench(args) => crate::bench::requests::run(config, args).await,
    }
}

fn read_examples(path: &Path) -> anyhow::Result<Vec<classify::Example>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    classify::parse_examples(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn classify_file(catalogue: &Catalogue, args: &ClassifyArgs) -> anyhow::Result<()> {
    let text = if args.input.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&args.input)
            .with_context(|| format!("reading {}", args.input.display()))?
    };
    let mut classifier = Classifier::built_in(catalogue);
    if let Some(t) = args.threshold {
        classifier = classifier.with_threshold(t);
    }
    #[derive(serde::Deserialize)]
    struct Input {
        id: serde_json::Value,
        description: String,
    }
    let mut rows = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let input: Input = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", args.input.display(), i + 1))?;
        let result = classifier.classify(&input.description);
        let out = match &result.decided {
            Some(best) => serde_json::json!({
                "id": input.id,
                "type": best.type_name,
                "soustype": best.soustype,
                "service_code": best.service_code,
                "probability": round(best.probability),
            }),
            None => serde_json::json!({
                "id": input.id,
                "type": null,
                "soustype": null,
                "service_code": null,
                "probability": round(result.candidates[0].probability),
            }),
        };
        if args.json {
            println!("{out}");
        } else {
            rows.push(vec![
                out["id"].to_string().trim_matches('"').to_owned(),
                out["type"].as_str().unwrap_or("(cannot decide)").to_owned(),
                out["service_code"].as_str().unwrap_or("-").to_owned(),
                format!("{:.2}", out["probability"].as_f64().unwrap_or(0.0)),
            ]);
        }
    }
    if !args.json {
        print!(
            "{}",
            markdown_table(&["id", "type", "service_code", "probability"], &rows)
        );
    }
    Ok(())
}

fn round(p: f32) -> f64 {
    (f64::from(p) * 1000.0).round() / 1000.0
}

async fn train(config: &Config, catalogue: &Catalogue, args: &TrainArgs) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let mut examples = classify::parse_examples(classify::BUILT_IN_EXAMPLES)
        .map_err(|e| anyhow::anyhow!("built-in examples: {e}"))?;
    for path in &args.examples {
        examples.extend(read_examples(path)?);
    }
    let defaults = TrainOptions::default();
    let options = TrainOptions {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        noisy_copies: args.noisy_copies.unwrap_or(defaults.noisy_copies),
        learning_rate: args.learning_rate.unwrap_or(defaults.learning_rate),
        smoothing: args.smoothing.unwrap_or(defaults.smoothing),
        ..defaults
    };
    let clock = std::time::Instant::now();
    let mut classifier = Classifier::train(catalogue, &examples, &options)
        .map_err(|e| anyhow::anyhow!("training: {e}"))?;
    let seconds = clock.elapsed().as_secs_f64();
    if let Some(t) = args.threshold {
        classifier = classifier.with_threshold(t);
    }
    eprintln!(
        "trained on {} examples (+ {} catalogue names) in {seconds:.2} s",
        examples.len(),
        2 * catalogue.public().count()
    );
    let mut results = Vec::new();
    let mut rows = Vec::new();
    for path in &args.eval_sets {
        let set = read_examples(path)?;
        let figures = eval::classification(&classifier, &set);
        rows.push(classification_row(
            &path.display().to_string(),
            classifier.threshold(),
            &figures,
        ));
        if args.sweep {
            for t in [0.3f32, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7] {
                let swept = classifier.clone().with_threshold(t);
                let figures = eval::classification(&swept, &set);
                rows.push(classification_row("  sweep", t, &figures));
            }
        }
        results.push(serde_json::json!({"set": path.display().to_string(), "figures": figures}));
    }
    if args.json {
        for r in &results {
            println!("{r}");
        }
    } else {
        print!(
            "{}",
            markdown_table(
                &[
                    "set",
                    "threshold",
                    "reports",
                    "type top-1",
                    "type top-3",
                    "sub-type top-1",
                    "undecided reports",
                    "non-reports",
                    "non-reports → null",
                ],
                &rows
            )
        );
        if let Some(first) = results.first() {
            println!("\nType recall on {}:", first["set"].as_str().unwrap_or(""));
            let per_type: Vec<Vec<String>> = first["figures"]["per_type"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    vec![
                        t[0].as_str().unwrap_or("").to_owned(),
                        t[1].to_string(),
                        format!("{:.3}", t[2].as_f64().unwrap_or(f64::NAN)),
                    ]
                })
                .collect();
            print!(
                "{}",
                markdown_table(&["type", "reports", "recall"], &per_type)
            );
        }
    }
    if args.failures
        && let Some(path) = args.eval_sets.first()
    {
        for example in read_examples(path)? {
            let result = classifier.classify(&example.description);
            let got = result.decided.as_ref().map(|b| b.type_name.as_str());
            if got != example.type_name.as_deref() {
                println!(
                    "{}\t{:?} → {:?} ({:.2})\t{}",
                    example.id,
                    example.type_name,
                    got,
                    result.candidates[0].probability,
                    example.description
                );
            }
        }
    }
    if !args.no_record && !results.is_empty() {
        let id = crate::bench::record(
            config,
            "requests-classification".into(),
            crate::bench::machine(),
            started_at,
            serde_json::json!({"threshold": classifier.threshold(), "sets": results}).to_string(),
        )
        .await?;
        eprintln!("recorded as benchmark run {id}");
    }
    Ok(())
}

fn classification_row(set: &str, threshold: f32, f: &eval::ClassificationEval) -> Vec<String> {
    vec![
        set.to_owned(),
        format!("{threshold:.2}"),
        f.n_reports.to_string(),
        format!("{:.3}", f.type_top1),
        format!("{:.3}", f.type_top3),
        format!("{:.3}", f.soustype_top1),
        format!("{:.3}", f.undecided_reports),
        f.n_non_reports.to_string(),
        format!("{:.3}", f.null_on_non_reports),
    ]
}

async fn routing_eval(
    config: &Config,
    catalogue: &Catalogue,
    args: &RoutingArgs,
) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let mut past = history::read(&args.history).map_err(|e| anyhow::anyhow!(e))?;
    past.sort_by_key(|r| r.date);
    let cut = past.len() * 4 / 5;
    let (train, test) = past.split_at(cut);
    let figures = routing::evaluate(catalogue, train, test, args.min_support);
    print!(
        "{}",
        markdown_table(
            &[
                "split",
                "train",
                "test",
                "model accuracy",
                "baseline (majority per category)",
                "ratio"
            ],
            &[vec![
                format!(
                    "by date: train until {}, test after",
                    train.last().map(|r| r.date.to_string()).unwrap_or_default()
                ),
                figures.n_train.to_string(),
                figures.n_test.to_string(),
                format!("{:.4}", figures.model_accuracy),
                format!("{:.4}", figures.baseline_accuracy),
                format!(
                    "{:.4}",
                    figures.model_accuracy / figures.baseline_accuracy.max(1e-9)
                ),
            ]]
        )
    );
    if let Some(out) = &args.out {
        let learned = Routing::learn(catalogue, &past, args.min_support);
        let json = serde_json::to_string_pretty(&learned)?;
        std::fs::write(out, json + "\n").with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "wrote {} ({} categories, {} local rules)",
            out.display(),
            learned.by_category.len(),
            learned
                .by_arrondissement
                .values()
                .map(|m| m.len())
                .sum::<usize>()
        );
    }
    if !args.no_record {
        crate::bench::record(
            config,
            "requests-routing".into(),
            crate::bench::machine(),
            started_at,
            serde_json::to_string(&figures)?,
        )
        .await?;
    }
    Ok(())
}

async fn duplicates_eval(
    config: &Config,
    catalogue: &Catalogue,
    args: &DuplicatesArgs,
) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let past = history::read(&args.history).map_err(|e| anyhow::anyhow!(e))?;
    let labels = eval::labelled_duplicates(&past, 7);
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (radius, window) in [
        (25.0, 7),
        (50.0, 7),
        (100.0, 7),
        (250.0, 7),
        (50.0, 30),
        (250.0, 30),
    ] {
        let f = eval::duplicates(catalogue, &past, &labels, radius, window);
        rows.push(vec![
            format!("{radius:.0}"),
            window.to_string(),
            f.labelled_pairs.to_string(),
            f.proposed_pairs.to_string(),
            f.true_positives.to_string(),
            format!("{:.3}", f.precision),
            format!("{:.3}", f.recall),
        ]);
        results.push(f);
    }
    println!(
        "{} past reports; labelled duplicate pairs: same sub-type, same address, at most 7 days apart",
        past.len()
    );
    print!(
        "{}",
        markdown_table(
            &[
                "radius m",
                "window days",
                "labelled",
                "proposed",
                "true pos.",
                "precision",
                "recall"
            ],
            &rows
        )
    );
    if !args.no_record {
        crate::bench::record(
            config,
            "requests-duplicates".into(),
            crate::bench::machine(),
            started_at,
            serde_json::to_string(&results)?,
        )
        .await?;
    }
    Ok(())
}

async fn report(config: &Config, args: &ReportArgs) -> anyhow::Result<()> {
    let requests = crate::commands::open_requests(config).await?;
    let times = requests.closure_times().await?;
    let report = requests::report::build(&times, args.min_group);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("{} closed requests", report.closed);
    let rows: Vec<Vec<String>> = report
        .by_arrondissement
        .iter()
        .map(|(a, t)| {
            vec![
                a.to_string(),
                t.n.to_string(),
                format!("{:.1}", t.median_h),
                format!("{:.1}", t.p90_h),
            ]
        })
        .collect();
    print!(
        "{}",
        markdown_table(&["arrondissement", "closed", "median h", "p90 h"], &rows)
    );
    let rows: Vec<Vec<String>> = report
        .by_category
        .iter()
        .map(|(c, t)| {
            vec![
                c.clone(),
                t.n.to_string(),
                format!("{:.1}", t.median_h),
                format!("{:.1}", t.p90_h),
            ]
        })
        .collect();
    print!(
        "\n{}",
        markdown_table(&["category", "closed", "median h", "p90 h"], &rows)
    );
    match report.slowest_to_fastest {
        Some(r) => println!("\nslowest / fastest arrondissement (median): {r:.2}"),
        None => println!("\nslowest / fastest arrondissement: not enough closed requests"),
    }
    Ok(())
}
