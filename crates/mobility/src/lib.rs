//! Mobility: adaptive traffic-signal control over SUMO's TraCI protocol, and the benchmark
//! that proves it on the RESCO city networks.
//!
//! - [`traci`]: the protocol client (stepping, traffic lights, lanes, detectors, vehicles).
//! - [`signal`]: intersections as controllers see them (green phases, movements, yellows).
//! - [`control`]: the controllers and the safe driving loop (yellow, minimum green, maximum red).
//! - [`bench`]: scenarios, SUMO runs, trip statistics, RESCO's published results.

pub mod bench;
pub mod control;
pub mod signal;
pub mod traci;
