//! Governance: the public algorithm register, the audit log and personal-data redaction.
