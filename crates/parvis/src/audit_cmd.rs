//! `parvis audit …`: verify the hash chain of the audit log, export it for an auditor; and the
//! helper every capability uses to append its automated decisions.

use clap::Subcommand;
use governance::audit::{self, Entry, Record};
use store::audit::AuditRow;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Checks the chain; names the first record altered, removed or reordered (exit 1).
    Verify {
        /// Check an exported file (JSON lines) instead of the store.
        #[arg(long, value_name = "FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// Writes records as JSON lines (by `recorded_at`, ISO 8601 bounds, inclusive).
    Export {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
}

fn record(row: AuditRow) -> Record {
    Record {
        seq: row.seq,
        recorded_at: row.recorded_at,
        actor: row.actor,
        algorithm: row.algorithm,
        version: row.version,
        kind: row.kind,
        inputs: row.inputs,
        output: row.output,
        prev_hash: row.prev_hash,
        hash: row.hash,
    }
}

/// Appends automated decisions to the store's audit log, sealed after its last record.
pub async fn append(store: &store::Store, entries: &[Entry]) -> anyhow::Result<usize> {
    if entries.is_empty() {
        return Ok(0);
    }
    let now = store::timestamp::now();
    Ok(store
        .append_audit(|last| {
            audit::seal(last, entries, &now)
                .into_iter()
                .map(|r| AuditRow {
                    seq: r.seq,
                    recorded_at: r.recorded_at,
                    actor: r.actor,
                    algorithm: r.algorithm,
                    version: r.version,
                    kind: r.kind,
                    inputs: r.inputs,
                    output: r.output,
                    prev_hash: r.prev_hash,
                    hash: r.hash,
                })
                .collect()
        })
        .await?)
}

pub async fn run(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { file } => {
            let records: Vec<Record> = match file {
                Some(path) => std::fs::read_to_string(&path)?
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .enumerate()
                    .map(|(n, line)| {
                        serde_json::from_str(line).map_err(|e| {
                            anyhow::anyhow!(
                                "{}: line {} is not a whole record ({e})",
                                path.display(),
                                n + 1
                            )
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                None => {
                    let store = crate::commands::open_migrated_store(config).await?;
                    let rows = store.audit_rows(None, None).await?;
                    store.close().await;
                    rows.into_iter().map(record).collect()
                }
            };
            match audit::verify(&records, None) {
                Ok(n) => {
                    let last = records.last().map_or(0, |r| r.seq);
                    println!("audit log intact: {n} records, last seq {last}");
                    Ok(())
                }
                Err(finding) => anyhow::bail!("audit log broken: {finding}"),
            }
        }
        AuditCommand::Export { from, to } => {
            let store = crate::commands::open_migrated_store(config).await?;
            let rows = store.audit_rows(from.as_deref(), to.as_deref()).await?;
            store.close().await;
            let mut out = std::io::stdout().lock();
            for row in rows {
                use std::io::Write;
                writeln!(out, "{}", serde_json::to_string(&record(row))?)?;
            }
            Ok(())
        }
    }
}
