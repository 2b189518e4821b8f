//! Evaluations: classification on labelled descriptions, duplicate detection on the city's
//! history. Routing's evaluation is in [`crate::routing::evaluate`].

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::classify::{Classifier, Example};
use crate::duplicates::DuplicateIndex;
use crate::history::PastReport;

/// Classification figures over a labelled set.
#[derive(Debug, Clone, Serialize)]
pub struct ClassificationEval {
    pub n_reports: usize,
    pub n_non_reports: usize,
    /// Share of reports whose best type is right (an undecided answer counts as wrong).
    pub type_top1: f64,
    /// Share of reports whose right type is among the three most likely.
    pub type_top3: f64,
    /// Share of reports whose decided sub-type is right.
    pub soustype_top1: f64,
    /// Share of reports the classifier could not decide.
    pub undecided_reports: f64,
    /// Share of non-reports answered "cannot decide" (`type: null`).
    pub null_on_non_reports: f64,
    /// Type recall per type.
    pub per_type: Vec<(String, usize, f64)>,
}

/// Runs the classifier over labelled examples.
pub fn classification(classifier: &Classifier, examples: &[Example]) -> ClassificationEval {
    let (mut reports, mut non_reports) = (0usize, 0usize);
    let (mut top1, mut top3, mut sub, mut undecided, mut nulls) = (0usize, 0, 0, 0, 0);
    let mut per_type: HashMap<String, (usize, usize)> = HashMap::new();
    for example in examples {
        let result = classifier.classify(&example.description);
        match &example.type_name {
            None => {
                non_reports += 1;
                nulls += usize::from(result.decided.is_none());
            }
            Some(expected) => {
                reports += 1;
                let entry = per_type.entry(expected.clone()).or_default();
                entry.0 += 1;
                match &result.decided {
                    None => undecided += 1,
                    Some(best) if best.type_name == *expected => {
                        top1 += 1;
                        entry.1 += 1;
                        sub += usize::from(Some(&best.soustype) == example.soustype.as_ref());
                    }
                    Some(_) => {}
                }
                top3 += usize::from(
                    result
                        .candidates
                        .iter()
                        .take(3)
                        .any(|c| c.type_name == *expected),
                );
            }
        }
    }
    let share = |k: usize, n: usize| {
        if n == 0 {
            f64::NAN
        } else {
            k as f64 / n as f64
        }
    };
    let mut per_type: Vec<(String, usize, f64)> = per_type
        .into_iter()
        .map(|(t, (n, hits))| (t, n, share(hits, n)))
        .collect();
    per_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ClassificationEval {
        n_reports: reports,
        n_non_reports: non_reports,
        type_top1: share(top1, reports),
        type_top3: share(top3, reports),
        soustype_top1: share(sub, reports),
        undecided_reports: share(undecided, reports),
        null_on_non_reports: share(nulls, non_reports),
        per_type,
    }
}

/// Duplicate-detection figures at one setting.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateEval {
    pub radius_m: f64,
    pub window_days: i64,
    pub labelled_pairs: usize,
    pub proposed_pairs: usize,
    pub true_positives: usize,
    pub precision: f64,
    pub recall: f64,
}

/// The labelled duplicate pairs of the history: two reports of the same sub-type at the same
/// street address (as the city geocoded it), the later one at most `label_days` after the
/// earlier. Pairs are (earlier index, later index) into `history`.
pub fn labelled_duplicates(history: &[PastReport], label_days: i64) -> HashSet<(usize, usize)> {
    let mut by_key: HashMap<(&str, String), Vec<usize>> = HashMap::new();
    for (i, report) in history.iter().enumerate() {
        let address = text::comparable(&report.address);
        if address.is_empty() {
            continue;
        }
        by_key
            .entry((report.soustype.as_str(), address))
            .or_default()
            .push(i);
    }
    let mut pairs = HashSet::new();
    for group in by_key.values() {
        for &a in group {
            for &b in group {
                let days = (history[b].date - history[a].date).whole_days();
                let later = days > 0 || (days == 0 && a < b);
                if later && days <= label_days {
                    pairs.insert((a, b));
                }
            }
        }
    }
    pairs
}

/// Replays the history in date order through the duplicate index (every earlier report counted
/// open) and compares the proposed pairs with the labelled ones.
pub fn duplicates(
    catalogue: &Catalogue,
    history: &[PastReport],
    labels: &HashSet<(usize, usize)>,
    radius_m: f64,
    window_days: i64,
) -> DuplicateEval {
    let mut order: Vec<usize> = (0..history.len()).collect();
    order.sort_by_key(|&i| (history[i].date, i));
    let mut index = DuplicateIndex::new();
    let mut proposed: HashSet<(usize, usize)> = HashSet::new();
    let day = 86_400;
    for &b in &order {
        let report = &history[b];
        let Some(service) = catalogue.find(&report.type_name, &report.soustype) else {
            continue;
        };
        let at = report.date.midnight().assume_utc().unix_timestamp();
        for candidate in index.candidates(
            &service.code,
            report.lat,
            report.lon,
            at,
            radius_m,
            window_days * day,
            usize::MAX,
        ) {
            proposed.insert((candidate.request_id as usize, b));
        }
        index.insert(&service.code, b as i64, report.lat, report.lon, at);
    }
    let true_positives = proposed.intersection(labels).count();
    DuplicateEval {
        radius_m,
        window_days,
        labelled_pairs: labels.len(),
        proposed_pairs: proposed.len(),
        true_positives,
        precision: true_positives as f64 / proposed.len().max(1) as f64,
        recall: true_positives as f64 / labels.len().max(1) as f64,
    }
}
