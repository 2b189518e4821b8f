//! Telemetry for every Parvis process: structured logs that never carry personal data, and
//! metrics in the Prometheus text format.
//!
//! - [`redact`] is the one function that removes personal data from text bound for logs: the
//!   governance crate's (e-mail, phone, NIR, IBAN, card, address, name).
//! - [`logging::init`] installs the process-wide `tracing` subscriber; every line it writes,
//!   human or JSON, goes through [`redact`] on its way out, whatever field or message carried it.
//! - [`metrics`] holds the metric names in one place and the registry behind `GET /metrics`.

pub mod logging;
pub mod metrics;
pub mod redact;

pub use redact::redact;
