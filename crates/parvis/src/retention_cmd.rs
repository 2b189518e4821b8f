//! `parvis retention enforce`: one pass of the retention job, now or as of a given instant
//! (what `serve` runs every `retention.interval_secs`).

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Deletes or redacts what the `[retention]` policy no longer allows to keep.
    Enforce {
        /// The instant to enforce as of (RFC 3339); default: now. Later than now shows what
        /// will go by then (and removes it).
        #[arg(long, value_name = "INSTANT")]
        as_of: Option<String>,
        /// Prints the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Config, command: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Enforce { as_of, json } = command;
    let now = match as_of {
        Some(text) => store::timestamp::parse(&text)
            .map_err(|e| anyhow::anyhow!("--as-of {text:?} is not an RFC 3339 instant ({e})"))?,
        None => time::OffsetDateTime::now_utc(),
    };
    let policy = config.retention.policy();
    let store = crate::commands::open_migrated_store(config).await?;
    let report = store.enforce_retention(&policy, now).await;
    store.close().await;
    let report = report?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("retention as of {}", store::timestamp::format(now));
    println!("| class | kept (days) | removed |");
    println!("| --- | ---: | --- |");
    println!(
        "| assistant transcripts | {} | {} conversations, {} turns |",
        policy.assistant_transcripts_days, report.conversations_deleted, report.turns_deleted
    );
    println!(
        "| personal data of service requests | {} after closure | {} contacts erased, {} descriptions redacted |",
        policy.request_personal_data_days, report.contacts_erased, report.descriptions_redacted
    );
    println!(
        "| raw sensor data | per series (sensors.retention_days) | {} observations |",
        report.observations_deleted
    );
    println!(
        "| audit log | {} | {} records (chain anchored on the last one removed) |",
        policy.audit_log_days, report.audit_records_removed
    );
    Ok(())
}
