//! The learned reranker: a linear model over what the first stage (BM25 over passages,
//! grouped by sheet, coverage-reranked) knows of its best candidate sheets.
//!
//! The weights are fitted offline (`eval/assistant/fit_reranker.py`) on the candidates
//! `parvis assistant eval --rank-features FILE` exports for the development sets only, with a
//! softmax over each question's candidates (the gold sheet is the target); the held-out set is
//! never used. Features are chosen to hold for any knowledge base: relative scores, shares of
//! the question's idf mass, title matches, sizes.

use serde::Serialize;

/// The first stage's best sheet keeps its place unless another scores this much more (chosen
/// among 0, 0.5, 1 and 2 with `fit_reranker.py --keep`: at 1 no development file loses
/// recall@1 when it is left out of the fit).
pub const KEEP_FIRST: f32 = 1.0;

/// How many first-stage sheets the reranker reorders.
pub const CANDIDATES: usize = 20;

/// Number of features.
pub const N: usize = 16;

/// Names of the features, in order (exports and documentation).
pub const NAMES: [&str; N] = [
    "score_ratio",
    "log_rank",
    "best_passage_score",
    "sheet_coverage",
    "own_word_coverage",
    "title_coverage",
    "title_precision",
    "best_passage_coverage",
    "log_passages_hit",
    "log_sheet_passages",
    "title_phrases",
    "second_passage_score",
    "introduction_coverage",
    "title_trigram_dice",
    "rarest_word_in_title",
    "rarest_word_in_sheet",
];

/// The features of one candidate sheet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Features(pub [f32; N]);

/// Weights of the linear model (see the module documentation for how they were fitted).
const WEIGHTS: [f32; N] = [
    2.868, -0.3889, 0.6879, 4.683, 1.152, -0.3548, -1.1, 2.229, -0.06376, -0.128, 0.7055, -0.29,
    2.592, 1.689, -0.4082, 0.7009,
];

/// The reranker's score of a candidate (higher is better; only the order matters).
pub fn score(features: &Features) -> f32 {
    features.0.iter().zip(WEIGHTS).map(|(f, w)| f * w).sum()
}
