//! The audit log of automated decisions: each record carries the actor, the algorithm and its
//! version, the inputs (redacted), the output, and the hash of the record before it; its own
//! hash seals all of that. [`verify`] walks the chain and names the first record that was
//! altered, removed or reordered.
//!
//! The hash is SHA-256 over a canonical JSON array of the record's fields, so any change of any
//! field, or of the order, breaks the chain at that record. Sequence numbers are gapless from 1:
//! a removed record shows as a gap even if someone re-sealed what follows it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A decision to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Who or what acted: a service (`assistant`, `mobility-control`), never a person's name.
    pub actor: String,
    pub algorithm: String,
    pub version: String,
    /// What was decided: `answer`, `classification`, `routing`, `duplicate-suggestion`,
    /// `alert`, `signal-plan-change`…
    pub kind: String,
    /// The inputs; string values are redacted before they are stored.
    pub inputs: Value,
    pub output: Value,
}

/// A sealed record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub seq: i64,
    pub recorded_at: String,
    pub actor: String,
    pub algorithm: String,
    pub version: String,
    pub kind: String,
    /// JSON text.
    pub inputs: String,
    /// JSON text.
    pub output: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Record {
    /// The hash this record's fields call for.
    pub fn expected_hash(&self) -> String {
        let canonical = json!([
            self.seq,
            self.recorded_at,
            self.actor,
            self.algorithm,
            self.version,
            self.kind,
            self.inputs,
            self.output,
            self.prev_hash
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Redacts every string inside a JSON value.
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(crate::redact::redact(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Seals `entries` after the record `last` (`(seq, hash)`; `None` for an empty log).
pub fn seal(last: Option<(i64, String)>, entries: &[Entry], recorded_at: &str) -> Vec<Record> {
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_owned()));
    entries
        .iter()
        .map(|entry| {
            seq += 1;
            let mut record = Record {
                seq,
                recorded_at: recorded_at.to_owned(),
                actor: entry.actor.clone(),
                algorithm: entry.algorithm.clone(),
                version: entry.version.clone(),
                kind: entry.kind.clone(),
                inputs: redact_value(&entry.inputs).to_string(),
                output: entry.output.to_string(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            record.hash = record.expected_hash();
            prev = record.hash.clone();
            record
        })
        .collect()
}

/// What [`verify`] found wrong, at the first record concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The record's fields no longer match its hash.
    Altered { seq: i64 },
    /// Records are missing before this one (a gap in the sequence, or a first record that is not
    /// the first ever written).
    Removed { before_seq: i64 },
    /// The record is out of its place in the chain.
    Reordered { seq: i64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Altered { seq } => write!(f, "record {seq} was altered"),
            Finding::Removed { before_seq } => {
                write!(f, "records were removed before record {before_seq}")
            }
            Finding::Reordered { seq } => write!(f, "record {seq} is out of order"),
        }
    }
}

/// Checks a chain given in stored order. `anchor` is the `(seq, hash)` the first record
/// follows (`None`: the log's beginning, seq 1 after [`GENESIS`]). Returns the number of
/// records checked.
pub fn verify(records: &[Record], anchor: Option<(i64, &str)>) -> Result<usize, Finding> {
    let (mut seq, mut hash) = anchor.unwrap_or((0, GENESIS));
    for (i, record) in records.iter().enumerate() {
        if record.seq <= seq {
            return Err(Finding::Reordered { seq: record.seq });
        }
        if record.seq > seq + 1 {
            // The missing ones come later: this record is early, not the others gone.
            if records[i + 1..]
                .iter()
                .any(|r| r.seq > seq && r.seq < record.seq)
            {
                return Err(Finding::Reordered { seq: record.seq });
            }
            return Err(Finding::Removed {
                before_seq: record.seq,
            });
        }
        if record.hash != record.expected_hash() {
            return Err(Finding::Altered { seq: record.seq });
        }
        if record.prev_hash != hash {
            // Sealed after another record than the one before it.
            return Err(Finding::Reordered { seq: record.seq });
        }
        seq = record.seq;
        hash = &record.hash;
    }
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: usize) -> Vec<Record> {
        let entries: Vec<Entry> = (0..n)
            .map(|i| Entry {
                actor: "assistant".into(),
                algorithm: "assistant-answering".into(),
                version: "0.1.0".into(),
                kind: "answer".into(),
                inputs: json!({"question": format!("question {i}, écrire à jean.dupont@example.org")}),
                output: json!({"abstained": false, "sources": ["F1234"]}),
            })
            .collect();
        let first = seal(None, &entries[..n / 2], "2026-11-26T08:00:00Z");
        let last = first.last().map(|r| (r.seq, r.hash.clone()));
        let mut all = first;
        all.extend(seal(last, &entries[n / 2..], "2026-11-26T08:00:01Z"));
        all
    }

    #[test]
    fn a_sealed_log_verifies_and_its_inputs_are_redacted() {
        let records = log(6);
        assert_eq!(verify(&records, None), Ok(6));
        assert_eq!(records[0].prev_hash, GENESIS);
        assert!(records[3].inputs.contains("[email]"));
        assert!(!records.iter().any(|r| r.inputs.contains("dupont")));
    }

    #[test]
    fn an_altered_record_is_named() {
        let mut records = log(6);
        records[3].output = json!({"abstained": true}).to_string();
        assert_eq!(verify(&records, None), Err(Finding::Altered { seq: 4 }));
        // Re-sealing the altered record does not help: the next one no longer follows it.
        records[3].hash = records[3].expected_hash();
        assert_eq!(verify(&records, None), Err(Finding::Reordered { seq: 5 }));
    }

    #[test]
    fn a_removed_record_is_named() {
        let mut records = log(6);
        records.remove(2);
        assert_eq!(
            verify(&records, None),
            Err(Finding::Removed { before_seq: 4 })
        );
        let mut records = log(6);
        records.remove(0);
        assert_eq!(
            verify(&records, None),
            Err(Finding::Removed { before_seq: 2 })
        );
        // Removing the last record cannot be seen from the chain alone: the caller compares
        // with the count it expects (`parvis audit verify` prints both).
    }

    #[test]
    fn reordered_records_are_named() {
        let mut records = log(6);
        records.swap(1, 2);
        assert_eq!(verify(&records, None), Err(Finding::Reordered { seq: 3 }));
        // Swapping the payloads but keeping the sequence numbers: the hashes give it away.
        let mut records = log(6);
        let (a, b) = (records[1].clone(), records[2].clone());
        records[1] = Record {
            seq: a.seq,
            ..b.clone()
        };
        records[2] = Record { seq: b.seq, ..a };
        assert_eq!(verify(&records, None), Err(Finding::Altered { seq: 2 }));
    }

    #[test]
    fn a_retained_suffix_verifies_from_its_anchor() {
        let records = log(6);
        let anchor = (records[1].seq, records[1].hash.as_str());
        assert_eq!(verify(&records[2..], Some(anchor)), Ok(4));
    }
}
