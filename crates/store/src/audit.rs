//! The audit log's storage: decisions sealed (by the governance crate's hash chain) after the
//! last stored record and inserted in the caller's transaction or one of their own. Appends are
//! serialised (SQLite has one writer; PostgreSQL takes a transaction-level advisory lock), so two
//! writers never chain onto the same record; a crash leaves no torn record (a transaction).

use governance::audit::{Entry, Record, seal};
use sqlx::{Any, Row, Transaction};

use crate::{Backend, Store, StoreError};

const COLUMNS: &str =
    "seq, recorded_at, actor, algorithm, version, kind, inputs, output, prev_hash, hash";

impl Store {
    /// Appends `entries` to the audit log in a transaction of their own.
    pub async fn append_audit(&self, entries: &[Entry]) -> Result<Vec<Record>, StoreError> {
        let mut tx = self.begin().await?;
        let records = self.append_audit_in(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(records)
    }

    /// Appends `entries` to the audit log inside `tx`: they are stored if and only if the
    /// caller's own writes are.
    pub async fn append_audit_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        entries: &[Entry],
    ) -> Result<Vec<Record>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7307)")
                .execute(&mut **tx)
                .await?;
        }
        // The last record, or where retention left the chain when it removed every record.
        let last = sqlx::query(
            "SELECT seq, hash FROM audit_log UNION ALL SELECT seq, hash FROM audit_anchor \
             ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| -> Result<(i64, String), StoreError> { Ok((row.try_get(0)?, row.try_get(1)?)) })
        .transpose()?;
        let records = seal(last, entries, &crate::timestamp::now());
        for row in &records {
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
            .execute(&mut **tx)
            .await?;
        }
        Ok(records)
    }

    /// Records in `seq` order, optionally between two `recorded_at` bounds (inclusive).
    pub async fn audit_records(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<Record>, StoreError> {
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
                Ok(Record {
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

    /// Where the stored chain starts: `(seq, hash)` of the last record removed by retention,
    /// `None` while the log is whole from its first record.
    pub async fn audit_anchor(&self) -> Result<Option<(i64, String)>, StoreError> {
        sqlx::query("SELECT seq, hash FROM audit_anchor WHERE id = 1")
            .fetch_optional(self.reader())
            .await?
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
    }
}
