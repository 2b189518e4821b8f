//! Traffic-signal control records: the live status of each controlled intersection and the
//! plan changes controllers made. The mobility crate never talks to the store; the binary
//! that drives a simulation writes here, and the API reads.

use sqlx::Row;

use crate::{Store, StoreError};

/// One intersection's status.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SignalStatus {
    pub intersection: String,
    pub controller: String,
    pub phase: i64,
    pub phases: i64,
    pub state: String,
    pub yellow: bool,
    pub queue: f64,
    pub sim_time: f64,
    pub updated_at: String,
}

/// A plan change: an intersection switched green phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanChange {
    pub intersection: String,
    pub controller: String,
    pub sim_time: f64,
    pub from_phase: i64,
    pub to_phase: i64,
    pub state: String,
    pub reason: String,
}

impl Store {
    /// Stores plan changes and the new status of intersections, in one transaction.
    pub async fn record_signals(
        &self,
        changes: &[PlanChange],
        status: &[SignalStatus],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let now = crate::timestamp::now();
        for change in changes {
            sqlx::query(
                "INSERT INTO signal_plan_changes (intersection, controller, sim_time, from_phase, \
                 to_phase, state, reason, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&change.intersection)
            .bind(&change.controller)
            .bind(change.sim_time)
            .bind(change.from_phase)
            .bind(change.to_phase)
            .bind(&change.state)
            .bind(&change.reason)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        for s in status {
            sqlx::query(
                "INSERT INTO signal_status (intersection, controller, phase, phases, state, yellow, \
                 queue, sim_time, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (intersection) DO UPDATE SET controller = excluded.controller, \
                 phase = excluded.phase, phases = excluded.phases, state = excluded.state, \
                 yellow = excluded.yellow, queue = excluded.queue, sim_time = excluded.sim_time, \
                 updated_at = excluded.updated_at",
            )
            .bind(&s.intersection)
            .bind(&s.controller)
            .bind(s.phase)
            .bind(s.phases)
            .bind(&s.state)
            .bind(s.yellow)
            .bind(s.queue)
            .bind(s.sim_time)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every intersection's latest status, by id.
    pub async fn signal_status(&self) -> Result<Vec<SignalStatus>, StoreError> {
        let rows = sqlx::query(
            // Booleans read as integers: the Any driver cannot decode SQLite's.
            "SELECT intersection, controller, phase, phases, state, CAST(yellow AS INTEGER), \
             queue, sim_time, updated_at FROM signal_status ORDER BY intersection",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SignalStatus {
                    intersection: row.try_get(0)?,
                    controller: row.try_get(1)?,
                    phase: row.try_get(2)?,
                    phases: row.try_get(3)?,
                    state: row.try_get(4)?,
                    yellow: row.try_get::<i64, _>(5)? != 0,
                    queue: row.try_get(6)?,
                    sim_time: row.try_get(7)?,
                    updated_at: row.try_get(8)?,
                })
            })
            .collect()
    }

    /// The number of plan changes recorded.
    pub async fn plan_change_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM signal_plan_changes")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get(0)?)
    }
}
