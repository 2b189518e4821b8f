//! Governance: what lets residents and auditors check what Parvis does.
//!
//! - [`redact`]: finds and masks personal data (e-mail, phone, NIR, IBAN, card numbers,
//!   addresses, names) in logs, audit records and stored transcripts.
//!
//! The public algorithm register's static fields are in `register/algorithms.toml`; the
//! register's code and the audit log come next.

pub mod redact;
