//! The audit log's storage: rows appended in one transaction after the last one, which the
//! caller seals (the hash chain is the governance crate's). Appends are serialised (SQLite has
//! one writer; PostgreSQL takes a transaction-level advisory lock), so two writers never chain
//! onto the same record.

use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub recorded_at: String,
    pub actor: String,
    pub algorithm: String,
    pub version: String,
    pub kind: String,
    pub inputs: String,
    pub output: String,
    pub prev_hash: String,
    pub hash: String,
}

const COLUMNS: &str =
    "seq, recorded_at, actor, algorithm, version, kind, inputs, output, prev_hash, hash";

impl Store {
    /// Appends the rows `build` makes from the last record (`(seq, hash)`, `None` when the log
    /// is empty), in one transaction; returns how many were stored.
    pub async fn append_audit(
        &self,
        build: impl FnOnce(Option<(i64, String)>) -> Vec<AuditRow>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7307)")
                .execute(&mut *tx)
                .await?;
        }
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| -> Result<(i64, String), StoreError> {
                Ok((row.try_get(0)?, row.try_get(1)?))
            })
            .transpose()?;
        let rows = build(last);
        for row in &rows {
            sqlx::query(&format!(
                "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(row.seq)
            .bind(&row.recorded_at)
            .bind(&row.actor)
            .bind(&row.algorithm)
            .bind(&row.version)
            .bind(&row.kind)
            .bind(&row.inputs)
            .bind(&row.output)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Records in `seq` order, optionally between two `recorded_at` bounds (inclusive).
    pub async fn audit_rows(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE ($1 = '' OR recorded_at >= $1) \
             AND ($2 = '' OR recorded_at <= $2) ORDER BY seq"
        ))
        .bind(from.unwrap_or(""))
        .bind(to.unwrap_or(""))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    seq: row.try_get(0)?,
                    recorded_at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    algorithm: row.try_get(3)?,
                    version: row.try_get(4)?,
                    kind: row.try_get(5)?,
                    inputs: row.try_get(6)?,
                    output: row.try_get(7)?,
                    prev_hash: row.try_get(8)?,
                    hash: row.try_get(9)?,
                })
            })
            .collect()
    }
}
