//! Text folding, from the shared `text` crate (the request classifier folds the same way).

pub use text::{comparable, fold, words};
