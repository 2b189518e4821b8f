//! City sensors: streaming anomaly detection, and the Numenta Anomaly Benchmark (NAB) scorer
//! that measures it.
//!
//! Design decisions:
//!
//! - **A detector sees one observation at a time** ([`detect::Detector`]), per series, in
//!   bounded memory, with no look-ahead, and answers a score in [0, 1]. The benchmark streams
//!   NAB's files through exactly the code the live system runs.
//! - **The NAB scorer is re-implemented** ([`nab`]) from the benchmark's published rules (label
//!   windows, probation, scaled sigmoid, profiles, normalisation) and checked against NAB's own
//!   per-file scores of the Numenta detector.

pub mod detect;
pub mod forecast;
pub mod mqtt;
pub mod nab;
pub mod ngsi;
pub mod platform;
