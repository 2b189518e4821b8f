//! Evaluation of the assistant on a question file (JSON lines
//! `{"id", "question", "lang", "in_scope", "gold_ids", "answers"}`): retrieval recall@1/@5 and
//! MRR on the gold sheets, gold fact contained in answers, abstention on in-scope and
//! out-of-scope questions, unsupported claims, latency per answer.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Mode, Question};
use crate::text::comparable;

/// One evaluation question.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalQuestion {
    pub id: String,
    pub question: String,
    pub lang: String,
    pub in_scope: bool,
    #[serde(default)]
    pub gold_ids: Vec<String>,
    #[serde(default)]
    pub answers: Vec<String>,
}

/// Reads a question file; a bad line is an error naming its line.
pub fn read_questions(text: &str) -> Result<Vec<EvalQuestion>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// The figures, with exactly the keys the evaluation format names. `answer_contains` is `NaN`
/// (JSON `null`) when no answered question names a gold fact.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EvalReport {
    pub n: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub mrr: f64,
    pub answer_contains: f64,
    pub abstain_in_scope: f64,
    pub abstain_out_of_scope: f64,
    pub unsupported_claims: usize,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
}

/// What happened to one question.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionOutcome {
    pub id: String,
    pub lang: String,
    pub in_scope: bool,
    /// Rank (from 1) of the first gold sheet among retrieved sheets.
    pub gold_rank: Option<usize>,
    pub abstained: bool,
    pub contains_gold_fact: bool,
    pub has_gold_fact: bool,
    pub confidence: f32,
    pub signals: crate::engine::Signals,
    /// Whether the assistant refused on a rule (manipulation, personal advice), not on its
    /// confidence or its scope model (both of which the signals hold, for calibration).
    pub refused_by_rule: bool,
    pub unsupported: usize,
    pub top_ids: Vec<String>,
    pub latency_ms: f64,
}

/// Runs every question through retrieval and answering.
pub fn evaluate(
    engine: &Engine,
    questions: &[EvalQuestion],
    vectors: Option<&[Vec<f32>]>,
) -> (EvalReport, Vec<QuestionOutcome>) {
    let mut outcomes = Vec::with_capacity(questions.len());
    for (idx, question) in questions.iter().enumerate() {
        let vector = vectors.and_then(|v| v.get(idx)).map(Vec::as_slice);
        let started = Instant::now();
        let answer = engine.ask(&Question {
            text: &question.question,
            mode: Mode::Resident,
            previous: None,
            first_turn: false,
            lang: None,
            vector,
        });
        let latency_ms = started.elapsed().as_secs_f64() * 1e3;
        let hits = engine.retrieve(&question.question, None, vector);
        let top_ids: Vec<String> = hits
            .iter()
            .take(10)
            .map(|h| engine.sheet_id(h.sheet).to_owned())
            .collect();
        let gold_rank = hits
            .iter()
            .position(|h| {
                question
                    .gold_ids
                    .iter()
                    .any(|g| g == engine.sheet_id(h.sheet))
            })
            .map(|p| p + 1);
        let answer_text = comparable(&answer.text);
        let contains_gold_fact = question
            .answers
            .iter()
            .any(|gold| !comparable(gold).is_empty() && answer_text.contains(&comparable(gold)));
        outcomes.push(QuestionOutcome {
            id: question.id.clone(),
            lang: question.lang.clone(),
            in_scope: question.in_scope,
            gold_rank,
            abstained: answer.abstained.is_some(),
            contains_gold_fact,
            has_gold_fact: !question.answers.is_empty(),
            confidence: answer.confidence,
            signals: answer.signals,
            refused_by_rule: answer.abstained.is_some_and(|a| {
                !matches!(
                    a,
                    crate::engine::Abstention::LowConfidence
                        | crate::engine::Abstention::OutOfScope
                )
            }),
            unsupported: answer.unsupported.len(),
            top_ids,
            latency_ms,
        });
    }
    (summarise(&outcomes), outcomes)
}

/// The figures over a set of outcomes (all of them, or one language's).
/// Counts behind the figures of one language, stored with each evaluation run so that the
/// fairness report can put intervals on the comparison between languages.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LanguageCounts {
    pub questions: usize,
    pub in_scope: usize,
    /// In-scope questions whose gold sheet is among the first five retrieved.
    pub gold_in_top5: usize,
    /// In-scope questions that name a gold fact…
    pub with_gold_fact: usize,
    /// …and were answered with it (abstentions count as not answered).
    pub answered_with_gold_fact: usize,
    pub out_of_scope: usize,
    pub out_of_scope_abstained: usize,
}

/// [`LanguageCounts`] per language code.
pub fn language_counts(
    outcomes: &[QuestionOutcome],
) -> std::collections::BTreeMap<String, LanguageCounts> {
    let mut by_lang: std::collections::BTreeMap<String, LanguageCounts> = Default::default();
    for o in outcomes {
        let c = by_lang.entry(o.lang.clone()).or_default();
        c.questions += 1;
        if o.in_scope {
            c.in_scope += 1;
            c.gold_in_top5 += usize::from(o.gold_rank.is_some_and(|r| r <= 5));
            if o.has_gold_fact {
                c.with_gold_fact += 1;
                c.answered_with_gold_fact += usize::from(!o.abstained && o.contains_gold_fact);
            }
        } else {
            c.out_of_scope += 1;
            c.out_of_scope_abstained += usize::from(o.abstained);
        }
    }
    by_lang
}

pub fn summarise(outcomes: &[QuestionOutcome]) -> EvalReport {
    let in_scope: Vec<&QuestionOutcome> = outcomes.iter().filter(|o| o.in_scope).collect();
    let out_of_scope: Vec<&QuestionOutcome> = outcomes.iter().filter(|o| !o.in_scope).collect();
    let share = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    // Only questions that name a gold fact can be judged on it.
    let answered: Vec<&&QuestionOutcome> = in_scope
        .iter()
        .filter(|o| !o.abstained && o.has_gold_fact)
        .collect();
    let mut latencies: Vec<f64> = outcomes.iter().map(|o| o.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * p).round() as usize]
        }
    };
    EvalReport {
        n: outcomes.len(),
        recall_at_1: share(
            in_scope.iter().filter(|o| o.gold_rank == Some(1)).count(),
            in_scope.len(),
        ),
        recall_at_5: share(
            in_scope
                .iter()
                .filter(|o| o.gold_rank.is_some_and(|r| r <= 5))
                .count(),
            in_scope.len(),
        ),
        mrr: if in_scope.is_empty() {
            0.0
        } else {
            in_scope
                .iter()
                .map(|o| o.gold_rank.map_or(0.0, |r| 1.0 / r as f64))
                .sum::<f64>()
                / in_scope.len() as f64
        },
        answer_contains: if answered.is_empty() {
            f64::NAN
        } else {
            share(
                answered.iter().filter(|o| o.contains_gold_fact).count(),
                answered.len(),
            )
        },
        abstain_in_scope: share(
            in_scope.iter().filter(|o| o.abstained).count(),
            in_scope.len(),
        ),
        abstain_out_of_scope: share(
            out_of_scope.iter().filter(|o| o.abstained).count(),
            out_of_scope.len(),
        ),
        unsupported_claims: outcomes.iter().map(|o| o.unsupported).sum(),
        latency_p50_ms: percentile(0.5),
        latency_p99_ms: percentile(0.99),
    }
}

/// For each threshold, the abstention rates it would give (calibration table).
pub fn threshold_sweep(outcomes: &[QuestionOutcome]) -> Vec<(f32, f64, f64)> {
    let in_scope: Vec<&QuestionOutcome> = outcomes.iter().filter(|o| o.in_scope).collect();
    let out_of_scope: Vec<&QuestionOutcome> = outcomes.iter().filter(|o| !o.in_scope).collect();
    (0..=20)
        .map(|step| {
            let threshold = step as f32 * 0.05;
            let rate = |set: &[&QuestionOutcome]| {
                if set.is_empty() {
                    0.0
                } else {
                    set.iter()
                        .filter(|o| {
                            o.confidence < threshold || (o.abstained && o.confidence == 0.0)
                        })
                        .count() as f64
                        / set.len() as f64
                }
            };
            (threshold, rate(&in_scope), rate(&out_of_scope))
        })
        .collect()
}
