//! The record of benchmark and evaluation runs that Parvis made itself.
//!
//! Every benchmark and evaluation command stores its results here, with the command line, the
//! machine and the dates, so that published performance figures (the algorithm register) come
//! from measurements, never from hand-typed numbers.

use sqlx::Row;

use crate::{Store, StoreError};

/// One finished run of a benchmark or evaluation suite.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkRun {
    /// The suite, e.g. `http`, `assistant-eval`, `nab`.
    pub suite: String,
    /// The command line that produced the results.
    pub command: String,
    /// The machine it ran on (host, CPU, cores).
    pub machine: String,
    pub started_at: String,
    pub finished_at: String,
    /// The results as a JSON document, in the suite's own shape.
    pub results: String,
}

impl Store {
    /// Stores a finished run; returns its id once committed.
    pub async fn record_run(&self, run: &BenchmarkRun) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO benchmark_runs (suite, command, machine, started_at, finished_at, results) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&run.suite)
        .bind(&run.command)
        .bind(&run.machine)
        .bind(&run.started_at)
        .bind(&run.finished_at)
        .bind(&run.results)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        Ok(id)
    }

    /// The most recent run of a suite, if any.
    pub async fn latest_run(&self, suite: &str) -> Result<Option<BenchmarkRun>, StoreError> {
        let row = sqlx::query(
            "SELECT suite, command, machine, started_at, finished_at, results FROM benchmark_runs \
             WHERE suite = $1 ORDER BY finished_at DESC, id DESC LIMIT 1",
        )
        .bind(suite)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(BenchmarkRun {
                suite: row.try_get(0)?,
                command: row.try_get(1)?,
                machine: row.try_get(2)?,
                started_at: row.try_get(3)?,
                finished_at: row.try_get(4)?,
                results: row.try_get(5)?,
            })
        })
        .transpose()
    }
}
