//! The scope model: from the question alone, the probability that it asks about a public
//! procedure, a right or a city service, rather than anything else (weather, recipes, code,
//! opinions, jailbreaks, personal strategy).
//!
//! Retrieval signals say how well the best sheet matches a question; they cannot tell a
//! question no sheet answers from one that is not about procedures at all, and an out-of-scope
//! question that shares words with sheets ("écris un poème sur les impôts") can match well. This
//! model reads the question's wording instead: a softmax regression on character n-grams and
//! words (`text::linear`), trained from `data/scope-train.jsonl` (written for Parvis, never an
//! evaluation set) when it is first needed. Deterministic.

use std::sync::LazyLock;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;
use text::linear::{self, SgdOptions, Softmax, SparseVector, Vectorizer};

/// The training questions shipped with Parvis.
const TRAINING: &str = include_str!("../data/scope-train.jsonl");

/// Below this probability of being in scope, the assistant declines (calibrated on the
/// development sets, see `eval/assistant/README.md`).
pub const DEFAULT_SCOPE_THRESHOLD: f32 = 0.15;

#[derive(Deserialize)]
struct Row {
    question: String,
    in_scope: bool,
}

/// The trained scope model.
#[derive(Debug)]
pub struct ScopeModel {
    vectorizer: Vectorizer,
    model: Softmax,
}

static BUILT_IN: LazyLock<ScopeModel> = LazyLock::new(|| {
    let rows: Vec<Row> = TRAINING
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("the shipped scope examples parse (tested)"))
        .collect();
    ScopeModel::train(
        &rows
            .iter()
            .map(|r| (r.question.as_str(), r.in_scope))
            .collect::<Vec<_>>(),
    )
});

impl ScopeModel {
    /// The model trained on the shipped questions (trained once, on first use).
    pub fn built_in() -> &'static ScopeModel {
        &BUILT_IN
    }

    /// Trains on (question, in scope) pairs, with one noisy copy of each.
    pub fn train(examples: &[(&str, bool)]) -> ScopeModel {
        let mut rng = StdRng::seed_from_u64(20261126);
        let mut documents: Vec<(String, usize)> = examples
            .iter()
            .map(|(q, in_scope)| ((*q).to_owned(), usize::from(*in_scope)))
            .collect();
        for i in 0..documents.len() {
            let (text, class) = documents[i].clone();
            documents.push((linear::noisy(&text, &mut rng), class));
        }
        let hashed: Vec<Vec<u64>> = documents.iter().map(|(t, _)| linear::features(t)).collect();
        let vectorizer = Vectorizer::fit(&hashed);
        let vectors: Vec<SparseVector> = hashed.iter().map(|h| vectorizer.transform(h)).collect();
        let classes: Vec<usize> = documents.iter().map(|(_, c)| *c).collect();
        let model = Softmax::train(
            &vectors,
            &classes,
            vectorizer.len(),
            2,
            &SgdOptions {
                epochs: 15,
                learning_rate: 2.0,
                l2: 1e-6,
            },
            &mut rng,
        );
        ScopeModel { vectorizer, model }
    }

    /// Probability that the question is about a public procedure or service.
    pub fn in_scope(&self, question: &str) -> f32 {
        let vector = self.vectorizer.transform(&linear::features(question));
        self.model.probabilities(&vector)[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedures_are_in_scope_and_the_rest_is_not() {
        let model = ScopeModel::built_in();
        for question in [
            "comment refaire ma carte d'identité ?",
            "how do I register my child at school in Paris?",
            "jai perdu mon taf, je touche le chomage ?",
        ] {
            assert!(model.in_scope(question) > 0.5, "{question}");
        }
        for question in [
            "quel temps fera-t-il demain ?",
            "write me a python script to sort a list",
            "qui va gagner le match ce soir ?",
        ] {
            assert!(model.in_scope(question) < 0.2, "{question}");
        }
    }
}
