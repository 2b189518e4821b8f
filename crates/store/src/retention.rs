//! Retention: how long each class of data is kept, enforced by one pass that a scheduled job
//! runs (hourly in `parvis serve`) with the current time, and tests with a clock they choose.
//!
//! | class | what goes | when |
//! | --- | --- | --- |
//! | assistant transcripts | conversations and their turns | `assistant_transcripts_days` after the last turn |
//! | personal data of service requests | the reporter's contact; the description is redacted | `request_personal_data_days` after the request was closed |
//! | raw sensor data | observations | each series' own `retention_days` (set from the sensors configuration) |
//! | audit log | the oldest records | `audit_log_days` after they were recorded, never under six months |
//!
//! Removing the head of the audit log keeps the chain checkable: the `(seq, hash)` of the last
//! record removed becomes the anchor the remaining records verify from, and the pass itself is
//! recorded in the log (what it removed, under which policy) before anything is removed.

use governance::audit::Entry;
use serde::Serialize;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use crate::{Store, StoreError};

/// The shortest audit-log retention accepted: six months (EU AI Act, art. 19 and 26(6)).
pub const MIN_AUDIT_LOG_DAYS: u32 = 183;

/// Retention periods, in days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub assistant_transcripts_days: u32,
    pub request_personal_data_days: u32,
    pub audit_log_days: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            assistant_transcripts_days: 90,
            request_personal_data_days: 365,
            audit_log_days: 365,
        }
    }
}

impl Policy {
    /// The problems with this policy, for the configuration's check at start-up.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, days) in [
            (
                "assistant_transcripts_days",
                self.assistant_transcripts_days,
            ),
            (
                "request_personal_data_days",
                self.request_personal_data_days,
            ),
            ("audit_log_days", self.audit_log_days),
        ] {
            if !(1..=36_500).contains(&days) {
                problems.push(format!("retention.{name} must be 1 to 36500 days"));
            }
        }
        if self.audit_log_days < MIN_AUDIT_LOG_DAYS {
            problems.push(format!(
                "retention.audit_log_days must be at least {MIN_AUDIT_LOG_DAYS} (six months)"
            ));
        }
        problems
    }
}

/// What one pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub conversations_deleted: u64,
    pub turns_deleted: u64,
    pub contacts_erased: u64,
    pub descriptions_redacted: u64,
    pub observations_deleted: u64,
    pub audit_records_removed: u64,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        *self == Report::default()
    }
}

impl Store {
    /// Enforces `policy` as of `now`, in one transaction.
    pub async fn enforce_retention(
        &self,
        policy: &Policy,
        now: OffsetDateTime,
    ) -> Result<Report, StoreError> {
        let cutoff = |days: u32| crate::timestamp::format(now - Duration::days(i64::from(days)));
        let mut report = Report::default();
        let mut tx = self.begin().await?;

        let transcripts = cutoff(policy.assistant_transcripts_days);
        report.turns_deleted = sqlx::query(
            "DELETE FROM assistant_turns WHERE conversation_id IN \
             (SELECT id FROM assistant_conversations WHERE updated_at < $1)",
        )
        .bind(&transcripts)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.conversations_deleted =
            sqlx::query("DELETE FROM assistant_conversations WHERE updated_at < $1")
                .bind(&transcripts)
                .execute(&mut *tx)
                .await?
                .rows_affected();

        // Requests closed long enough ago whose personal data is still there, each once.
        let closed = cutoff(policy.request_personal_data_days);
        let due = sqlx::query(
            "SELECT id, description FROM service_requests WHERE closed_at IS NOT NULL \
             AND closed_at < $1 AND personal_data_erased_at IS NULL",
        )
        .bind(&closed)
        .fetch_all(&mut *tx)
        .await?;
        let erased_at = crate::timestamp::format(now);
        for row in due {
            let id: i64 = row.try_get(0)?;
            let description: Option<String> = row.try_get(1)?;
            report.contacts_erased +=
                sqlx::query("DELETE FROM service_request_contacts WHERE request_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            let redacted = description
                .as_deref()
                .map(governance::redact::redact)
                .filter(|r| Some(r.as_ref()) != description.as_deref())
                .map(|r| r.into_owned());
            if redacted.is_some() {
                report.descriptions_redacted += 1;
            }
            sqlx::query(
                "UPDATE service_requests SET description = COALESCE($1, description), \
                 personal_data_erased_at = $2 WHERE id = $3",
            )
            .bind(redacted)
            .bind(&erased_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }

        let now_ms = now.unix_timestamp() * 1000;
        for table in ["sensor_observations", "sensor_recent"] {
            report.observations_deleted += sqlx::query(&format!(
                "DELETE FROM {table} WHERE observed_ms < $1 - (SELECT retention_days \
                 FROM sensor_series s WHERE s.id = {table}.series_id) * 86400000"
            ))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }

        let audit_cutoff = cutoff(policy.audit_log_days.max(MIN_AUDIT_LOG_DAYS));
        let last_old = sqlx::query(
            "SELECT seq, hash FROM audit_log WHERE recorded_at < $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(&audit_cutoff)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| -> Result<(i64, String), StoreError> { Ok((row.try_get(0)?, row.try_get(1)?)) })
        .transpose()?;
        if let Some((seq, _)) = &last_old {
            report.audit_records_removed =
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE seq <= $1")
                    .bind(seq)
                    .fetch_one(&mut *tx)
                    .await? as u64;
        }

        if !report.is_empty() {
            // The pass is itself recorded, chained after the newest record, before the oldest
            // go: the log never empties and says what was removed and why.
            self.append_audit_in(
                &mut tx,
                &[Entry {
                    actor: "retention".into(),
                    algorithm: "retention-policy".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    kind: "retention".into(),
                    inputs: serde_json::json!({"policy": policy,
                        "now": crate::timestamp::format(now)}),
                    output: serde_json::to_value(&report).expect("a report serialises"),
                }],
            )
            .await?;
        }
        if let Some((seq, hash)) = last_old {
            sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM audit_anchor")
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO audit_anchor (id, seq, hash, pruned_at) VALUES (1, $1, $2, $3)",
            )
            .bind(seq)
            .bind(&hash)
            .bind(crate::timestamp::format(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}
