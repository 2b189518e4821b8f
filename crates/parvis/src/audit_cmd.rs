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
                    let records = store.audit_records(None, None).await?;
                    store.close().await;
                    records
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
