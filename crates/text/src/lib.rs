//! Text tools shared by the assistant and the service-request classifier: French-aware folding
//! ([`fold`]) and small linear text classifiers on sparse features ([`linear`]).

mod fold;
pub mod linear;

pub use fold::{comparable, fold, words};
