//! `parvis fairness report`: the fairness report of `/api/fairness`, as tables or JSON.

use clap::Subcommand;

use crate::bench::markdown_table;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum FairnessCommand {
    /// Time to close requests by arrondissement, assistant quality by language, alert rates
    /// by district: each with 95% intervals, its threshold, and the flags raised.
    Report {
        /// Prints the report as one JSON object (the body of `GET /api/fairness`).
        #[arg(long)]
        json: bool,
    },
}

fn number(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

pub async fn run(config: &Config, command: FairnessCommand) -> anyhow::Result<()> {
    let FairnessCommand::Report { json } = command;
    let store = crate::commands::open_migrated_store(config).await?;
    let requests = crate::commands::requests_over(config, store.clone()).await?;
    let sensors =
        sensors::platform::Sensors::open(store.clone(), config.sensors.platform()).await?;
    let report =
        api::fairness_routes::fairness_report(&store, Some(&requests), Some(&sensors)).await;
    store.close().await;
    let report = report.map_err(|e| anyhow::anyhow!("fairness report: {}", e.message))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("fairness report, {}\n", report.generated_at);
    for metric in &report.metrics {
        println!("## {} ({})", metric.title, metric.id);
        if !metric.source.is_empty() {
            println!("source: {}", metric.source);
        }
        println!("rule: {}", metric.rule);
        if !metric.groups.is_empty() {
            let rows: Vec<Vec<String>> = metric
                .groups
                .iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        g.n.to_string(),
                        number(g.value),
                        format!("{} – {}", number(g.interval.low), number(g.interval.high)),
                        if !g.compared {
                            "too few".into()
                        } else if g.flagged {
                            "FLAG".into()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect();
            print!(
                "{}",
                markdown_table(&["group", "n", &metric.unit, "95% interval", "note"], &rows)
            );
        }
        println!(
            "{}: {}\n",
            if metric.flagged { "FLAG" } else { "finding" },
            metric.finding
        );
    }
    if report.flags.is_empty() {
        println!("no flag raised");
    } else {
        println!("{} flag(s) raised:", report.flags.len());
        for flag in &report.flags {
            println!("- {flag}");
        }
    }
    Ok(())
}
