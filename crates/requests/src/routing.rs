//! Routing: which service handles a request, learned from the `intervenant` column of the city's
//! history.
//!
//! The model backs off from the most specific evidence to the least: the service that handled
//! most past reports of the same sub-type in the same arrondissement (when at least
//! `min_support` reports exist), then of the same sub-type anywhere, then the catalogue's
//! default. The learned table is written to `catalogue/routing.json` and shipped with the binary.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::history::PastReport;

/// The routing table shipped with Parvis, learned from the DansMaRue history.
pub const BUILT_IN: &str = include_str!("../catalogue/routing.json");

/// Per service code: the service for each arrondissement where it differs from the default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Routing {
    /// Where the table was learned from, for the register.
    pub learned_from: String,
    pub min_support: u32,
    /// service code → arrondissement → handling service.
    pub by_arrondissement: BTreeMap<String, BTreeMap<u8, String>>,
    /// service code → handling service (majority over the city).
    pub by_category: BTreeMap<String, String>,
}

impl Routing {
    pub fn built_in() -> Routing {
        serde_json::from_str(BUILT_IN).expect("the shipped routing table is valid (tested)")
    }

    /// Learns the table from past reports; reports of categories missing from the catalogue
    /// are ignored.
    pub fn learn(catalogue: &Catalogue, history: &[PastReport], min_support: u32) -> Routing {
        let mut by_category: HashMap<&str, HashMap<&str, u32>> = HashMap::new();
        let mut by_area: HashMap<(&str, u8), HashMap<&str, u32>> = HashMap::new();
        for report in history {
            let Some(service) = catalogue.find(&report.type_name, &report.soustype) else {
                continue;
            };
            *by_category
                .entry(&service.code)
                .or_default()
                .entry(&report.service)
                .or_default() += 1;
            *by_area
                .entry((&service.code, report.arrondissement))
                .or_default()
                .entry(&report.service)
                .or_default() += 1;
        }
        let majority = |counts: &HashMap<&str, u32>| -> (String, u32) {
            let (service, n) = counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .expect("non-empty");
            (service.to_string(), counts.values().sum::<u32>().max(*n))
        };
        let by_category: BTreeMap<String, String> = by_category
            .iter()
            .map(|(code, counts)| (code.to_string(), majority(counts).0))
            .collect();
        let mut by_arrondissement: BTreeMap<String, BTreeMap<u8, String>> = BTreeMap::new();
        for ((code, arrondissement), counts) in &by_area {
            let (service, support) = majority(counts);
            if support >= min_support && by_category.get(*code) != Some(&service) {
                by_arrondissement
                    .entry(code.to_string())
                    .or_default()
                    .insert(*arrondissement, service);
            }
        }
        Routing {
            learned_from: format!("{} past reports", history.len()),
            min_support,
            by_arrondissement,
            by_category,
        }
    }

    /// The handling service of a request of `code` in `arrondissement`.
    pub fn route(&self, catalogue: &Catalogue, code: &str, arrondissement: Option<u8>) -> String {
        if let Some(service) =
            arrondissement.and_then(|a| self.by_arrondissement.get(code)?.get(&a))
        {
            return service.clone();
        }
        if let Some(service) = self.by_category.get(code) {
            return service.clone();
        }
        catalogue
            .get(code)
            .map(|s| s.default_service.clone())
            .unwrap_or_default()
    }
}

/// Accuracy of routing on `test` after learning on `train`, for the model and for the baseline
/// (the majority service of the category).
#[derive(Debug, Clone, Serialize)]
pub struct RoutingEvaluation {
    pub n_train: usize,
    pub n_test: usize,
    pub model_accuracy: f64,
    pub baseline_accuracy: f64,
}

pub fn evaluate(
    catalogue: &Catalogue,
    train: &[PastReport],
    test: &[PastReport],
    min_support: u32,
) -> RoutingEvaluation {
    let model = Routing::learn(catalogue, train, min_support);
    let baseline = Routing {
        by_arrondissement: BTreeMap::new(),
        ..model.clone()
    };
    let mut n = 0usize;
    let (mut model_hits, mut baseline_hits) = (0usize, 0usize);
    for report in test {
        let Some(service) = catalogue.find(&report.type_name, &report.soustype) else {
            continue;
        };
        n += 1;
        let area = Some(report.arrondissement);
        model_hits += usize::from(model.route(catalogue, &service.code, area) == report.service);
        baseline_hits +=
            usize::from(baseline.route(catalogue, &service.code, area) == report.service);
    }
    RoutingEvaluation {
        n_train: train.len(),
        n_test: n,
        model_accuracy: model_hits as f64 / n.max(1) as f64,
        baseline_accuracy: baseline_hits as f64 / n.max(1) as f64,
    }
}
