//! `parvis redact`: the personal-data redaction function on standard input, and its
//! evaluation on a labelled corpus.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use clap::Args;
use governance::redact::{self, Kind};

use crate::bench::markdown_table;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Read JSON lines `{"id", "text"}` and write `{"id", "redacted", "spans": [{"kind",
    /// "value"}]}` per line (with --eval: print the scores as one JSON object).
    #[arg(long)]
    pub json: bool,
    /// Score the function on a labelled corpus (JSON lines `{"id", "text", "spans"}`):
    /// precision and recall per kind.
    #[arg(long, value_name = "FILE")]
    pub eval: Option<PathBuf>,
    /// With --eval, list the missed and the wrong spans.
    #[arg(long)]
    pub failures: bool,
    /// With --eval, do not record the run in the store.
    #[arg(long)]
    pub no_record: bool,
}

#[derive(serde::Deserialize)]
struct Input {
    id: serde_json::Value,
    text: String,
}

#[derive(serde::Deserialize)]
struct Labelled {
    id: String,
    text: String,
    spans: Vec<LabelledSpan>,
}

#[derive(serde::Deserialize)]
struct LabelledSpan {
    kind: String,
    value: String,
}

fn spans_json(text: &str) -> Vec<serde_json::Value> {
    redact::find(text)
        .into_iter()
        .map(|s| serde_json::json!({"kind": s.kind.as_str(), "value": &text[s.start..s.end]}))
        .collect()
}

pub async fn run(config: &Config, args: RedactArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.eval {
        return evaluate(config, path, &args).await;
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    if args.json {
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let input: Input =
                serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("line {}: {e}", n + 1))?;
            let value = serde_json::json!({
                "id": input.id,
                "redacted": redact::redact(&input.text),
                "spans": spans_json(&input.text),
            });
            writeln!(out, "{value}")?;
        }
    } else {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text)?;
        write!(out, "{}", redact::redact(&text))?;
    }
    Ok(())
}

fn normalise(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(|c: char| c.is_ascii_punctuation() && c != '+')
        .to_owned()
}

async fn evaluate(config: &Config, path: &PathBuf, args: &RedactArgs) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let text = std::fs::read_to_string(path)?;
    // Per kind: true positives, false positives, false negatives.
    let mut counts: BTreeMap<Kind, (usize, usize, usize)> =
        Kind::ALL.iter().map(|k| (*k, (0, 0, 0))).collect();
    let mut failures = Vec::new();
    let mut lines = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Labelled =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("line {}: {e}", n + 1))?;
        lines += 1;
        let mut gold: Vec<(Kind, String)> = row
            .spans
            .iter()
            .map(|s| {
                Kind::parse(&s.kind)
                    .map(|k| (k, normalise(&s.value)))
                    .ok_or_else(|| anyhow::anyhow!("line {}: unknown kind {}", n + 1, s.kind))
            })
            .collect::<anyhow::Result<_>>()?;
        for span in redact::find(&row.text) {
            let found = (span.kind, normalise(&row.text[span.start..span.end]));
            let entry = counts.entry(span.kind).or_default();
            if let Some(i) = gold.iter().position(|g| *g == found) {
                gold.swap_remove(i);
                entry.0 += 1;
            } else {
                entry.1 += 1;
                failures.push(format!(
                    "{} wrong {}: {:?}",
                    row.id,
                    found.0.as_str(),
                    found.1
                ));
            }
        }
        for (kind, value) in gold {
            counts.entry(kind).or_default().2 += 1;
            failures.push(format!("{} missed {}: {value:?}", row.id, kind.as_str()));
        }
    }
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    let mut results = serde_json::Map::new();
    let mut rows = Vec::new();
    for (kind, (tp, fp, fn_)) in &counts {
        let precision = ratio(*tp, tp + fp);
        let recall = ratio(*tp, tp + fn_);
        results.insert(
            kind.as_str().into(),
            serde_json::json!({"gold": tp + fn_, "found": tp + fp, "true_positives": tp,
                "precision": if precision.is_nan() { None } else { Some(precision) },
                "recall": if recall.is_nan() { None } else { Some(recall) }}),
        );
        let target = match kind {
            Kind::Address | Kind::Name => "R ≥ 0.90",
            _ => "P ≥ 0.95, R ≥ 0.99",
        };
        rows.push(vec![
            kind.as_str().to_owned(),
            (tp + fn_).to_string(),
            (tp + fp).to_string(),
            format!("{precision:.3}"),
            format!("{recall:.3}"),
            target.to_owned(),
        ]);
    }
    if args.json {
        println!("{}", serde_json::Value::Object(results.clone()));
    } else {
        println!("redaction: {} ({lines} lines)", path.display());
        println!("machine: {}\n", crate::bench::machine());
        print!(
            "{}",
            markdown_table(
                &["kind", "gold", "found", "precision", "recall", "target"],
                &rows
            )
        );
        if args.failures {
            println!("\nfailures:");
            for failure in &failures {
                println!("{failure}");
            }
        }
    }
    if !args.no_record {
        results.insert("file".into(), serde_json::json!(path.display().to_string()));
        results.insert("lines".into(), serde_json::json!(lines));
        crate::bench::record(
            config,
            format!(
                "redaction-eval:{}",
                path.file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
            ),
            crate::bench::machine(),
            started_at,
            serde_json::Value::Object(results).to_string(),
        )
        .await?;
    }
    Ok(())
}
