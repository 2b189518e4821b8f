//! Governance: what lets residents and auditors check what Parvis does.
//!
//! - [`redact`]: finds and masks personal data (e-mail, phone, NIR, IBAN, card numbers,
//!   addresses, names) in logs, audit records and stored transcripts.
//!
//! - [`register`]: the public algorithm register — static fields from
//!   `register/algorithms.toml`, performance from the runs Parvis recorded itself.
//! - [`audit`]: the hash-chained log of automated decisions and its verification.
//! - [`fairness`]: the fairness report's comparisons, with intervals and the rules that flag.

pub mod audit;
pub mod fairness;
pub mod redact;
pub mod register;
