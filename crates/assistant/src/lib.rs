//! The citizen and agent assistant: official procedure sheets in, cited answers out.
//!
//! Design decisions:
//!
//! - **Sheets are split where their authors sectioned them** (situation, chapter, case), each
//!   passage keeping its heading path and source URL, so that a passage retrieved alone makes
//!   sense and can be cited.
//! - **Ingestion never stops on a bad file**: it is reported with its name and position and
//!   skipped ([`ingest`]).
//! - The assistant crate knows nothing of HTTP; the API and the CLI call it.

pub mod claims;
pub mod dense;
pub mod engine;
pub mod eval;
pub mod generate;
pub mod index;
pub mod ingest;
pub mod library;
pub mod query;
pub mod rerank;
pub mod scope;
pub mod service;
pub mod sheet;
pub mod text;

pub use engine::{Abstention, Answer, Citation, Engine, Mode, Question};
pub use query::Lang;
pub use service::{AskRequest, AskResponse, Assistant, AssistantError};
pub use sheet::{Passage, Sheet, SheetFormat};
