//! Service requests: residents' reports of problems in the street ("DansMaRue"), taken over the
//! Open311 GeoReport v2 standard, filed under the right category, routed to the service that
//! handles it, checked for duplicates and followed to closure.
//!
//! Design decisions:
//!
//! - **The catalogue is data** (`catalogue/catalogue.toml`, embedded): the city's 10 types and
//!   237 sub-types with stable codes, deadlines and default services; attributes per type.
//! - **Classification is ours** ([`classify`]): a small linear model on character n-grams and
//!   words, trained from written examples shipped with the binary, deterministic, and able to
//!   say "not a report / cannot decide".
//! - **Routing is learned** ([`routing`]) from the city's history and shipped as a table.
//! - **Duplicates come from a spatial index** ([`duplicates`], rstar R-trees per category) kept
//!   in memory beside the store and rebuilt from it at start-up; the store is the truth.
//! - **Personal data lives apart** (`service_request_contacts`): never in a [`ServiceRequest`],
//!   never logged, exported or erased on its own.
//! - Nothing here knows HTTP: the Open311 wire formats live in the `api` crate.

pub mod area;
pub mod catalogue;
pub mod classify;
pub mod demo;
pub mod duplicates;
pub mod eval;
pub mod history;
pub mod model;
pub mod report;
pub mod routing;
pub mod service;

pub use catalogue::{Catalogue, Service};
pub use classify::{Classification, Classifier};
pub use model::{Contact, NewRequest, RequestEvent, ServiceRequest, Stage, Status, StatusUpdate};
pub use routing::Routing;
pub use service::{Query, Receipt, RequestError, Requests, RequestsConfig};
