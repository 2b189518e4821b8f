//! `parvis audit …`: verify the hash chain of the audit log, export it for an auditor.

use clap::Subcommand;
use governance::audit::{self, Record};

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

pub async fn run(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { file } => {
            let (records, anchor): (Vec<Record>, Option<(i64, String)>) = match file {
                Some(path) => {
                    let records: Vec<Record> = std::fs::read_to_string(&path)?
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
                        .collect::<anyhow::Result<_>>()?;
                    // An export may start anywhere: it is checked from its first record on.
                    let anchor = records
                        .first()
                        .filter(|r| r.seq > 1)
                        .map(|r| (r.seq - 1, r.prev_hash.clone()));
                    (records, anchor)
                }
                None => {
                    let store = crate::commands::open_migrated_store(config).await?;
                    let records = store.audit_records(None, None).await?;
                    let anchor = store.audit_anchor().await?;
                    store.close().await;
                    (records, anchor)
                }
            };
            let anchored = anchor.as_ref().map(|(seq, hash)| (*seq, hash.as_str()));
            match audit::verify(&records, anchored) {
                Ok(n) => {
                    let last = records.last().map_or(0, |r| r.seq);
                    match anchor {
                        Some((seq, _)) => println!(
                            "audit log intact: {n} records, seq {} to {last} (records up to seq \
                             {seq} removed by retention or not exported)",
                            seq + 1
                        ),
                        None => println!("audit log intact: {n} records, last seq {last}"),
                    }
                    Ok(())
                }
                Err(finding) => anyhow::bail!("audit log broken: {finding}"),
            }
        }
        AuditCommand::Export { from, to } => {
            let store = crate::commands::open_migrated_store(config).await?;
            let records = store.audit_records(from.as_deref(), to.as_deref()).await?;
            store.close().await;
            let mut out = std::io::stdout().lock();
            for record in records {
                use std::io::Write;
                writeln!(out, "{}", serde_json::to_string(&record)?)?;
            }
            Ok(())
        }
    }
}
