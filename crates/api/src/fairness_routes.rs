//! The fairness report at `/api/fairness` (public: aggregates only), also printed by
//! `parvis fairness report`: time to close service requests by arrondissement (as reported and
//! adjusted for the mix of categories), assistant quality by language from the stored held-out
//! evaluation, and anomaly alert rates by district. Each metric states its threshold and rule;
//! the statistics are in `governance::fairness`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use governance::fairness::{self, Metric, MinGroup};
use serde::Serialize;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct FairnessReport {
    pub generated_at: String,
    pub metrics: Vec<Metric>,
    /// The findings of the flagged metrics.
    pub flags: Vec<String>,
}

/// Closed requests an arrondissement needs to be compared.
const MIN_CLOSED: u64 = 10;
/// Slowest/fastest ratio of median times to close that raises a flag.
const CLOSE_RATIO: f64 = 1.5;
/// Questions a language needs to be compared.
const MIN_QUESTIONS: u64 = 20;
/// Gap between the languages' rates that raises a flag.
const LANGUAGE_GAP: f64 = 0.10;
/// Readings a district needs to be compared.
const MIN_READINGS: u64 = 500;
/// Alert rate, as a multiple of the city's, that flags a district.
const ALERT_RATIO: f64 = 2.0;

fn arrondissement(a: u8) -> String {
    if a == 1 {
        "1er".into()
    } else {
        format!("{a}e")
    }
}

/// A metric that could not be computed: its rule as it would apply, and why not.
fn unavailable(mut metric: Metric, why: &str) -> Metric {
    metric.finding = why.into();
    metric.groups.clear();
    metric
}

fn closure_metric(id: &str, title: &str, unit: &str, groups: &[(String, Vec<f64>)]) -> Metric {
    fairness::compare_medians(id, title, unit, groups, MinGroup(MIN_CLOSED), CLOSE_RATIO)
}

fn language_metric(id: &str, title: &str, fr: (u64, u64), en: (u64, u64)) -> Metric {
    fairness::compare_two_rates(
        id,
        title,
        ("fr", fr.0, fr.1),
        ("en", en.0, en.1),
        MinGroup(MIN_QUESTIONS),
        LANGUAGE_GAP,
    )
}

fn alert_metric(id: &str, title: &str, groups: &[(String, u64, u64)]) -> Metric {
    fairness::compare_rates_with_whole(
        id,
        title,
        "alerts per reading",
        groups,
        MinGroup(MIN_READINGS),
        ALERT_RATIO,
    )
}

/// Builds the report from what the store and the services hold now.
pub async fn fairness_report(
    store: &store::Store,
    requests: Option<&requests::Requests>,
    sensors: Option<&sensors::platform::Sensors>,
) -> Result<FairnessReport, ApiError> {
    let mut metrics = Vec::new();

    let closing = (
        "closure-time-by-arrondissement",
        "Time to close a service request, by arrondissement",
    );
    let adjusted = (
        "closure-time-by-arrondissement-adjusted",
        "Time to close a service request relative to its category, by arrondissement",
    );
    match requests {
        Some(requests) => {
            let times = requests.closure_times().await?;
            let mut raw: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
            let mut by_category: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for (code, a, hours) in &times {
                if let Some(a) = a {
                    raw.entry(*a).or_default().push(*hours);
                }
                by_category.entry(code).or_default().push(*hours);
            }
            // Categories close at different speeds and are not spread evenly across the city:
            // each time over its category's median tells the arrondissements apart at equal mix.
            let category_median: BTreeMap<&str, f64> = by_category
                .iter()
                .filter(|(_, v)| v.len() >= 5)
                .map(|(k, v)| (*k, fairness::median(v)))
                .filter(|(_, m)| *m > 0.0)
                .collect();
            let mut relative: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
            for (code, a, hours) in &times {
                if let (Some(a), Some(m)) = (a, category_median.get(code.as_str())) {
                    relative.entry(*a).or_default().push(hours / m);
                }
            }
            let named = |groups: BTreeMap<u8, Vec<f64>>| -> Vec<(String, Vec<f64>)> {
                groups
                    .into_iter()
                    .map(|(a, v)| (arrondissement(a), v))
                    .collect()
            };
            let source = format!(
                "{} closed service requests in the store ({} with an arrondissement)",
                times.len(),
                raw.values().map(Vec::len).sum::<usize>()
            );
            let mut m = closure_metric(closing.0, closing.1, "hours", &named(raw));
            m.source = source.clone();
            metrics.push(m);
            let mut m = closure_metric(
                adjusted.0,
                adjusted.1,
                "× the category's median",
                &named(relative),
            );
            m.source = format!("{source}; categories with at least 5 closed requests");
            metrics.push(m);
        }
        None => {
            for (id, title) in [closing, adjusted] {
                metrics.push(unavailable(
                    closure_metric(id, title, "hours", &[]),
                    "service requests are not enabled",
                ));
            }
        }
    }

    let suite = governance::register::suite_for("assistant-eval").expect("a known kind");
    let run = store.latest_run(suite).await?;
    let counts = run.as_ref().and_then(|run| {
        let results: serde_json::Value = serde_json::from_str(&run.results).ok()?;
        let count = |lang: &str, key: &str| results["by_lang"][lang][key].as_u64();
        Some([
            (
                count("fr", "answered_with_gold_fact")?,
                count("fr", "with_gold_fact")?,
                count("en", "answered_with_gold_fact")?,
                count("en", "with_gold_fact")?,
            ),
            (
                count("fr", "gold_in_top5")?,
                count("fr", "in_scope")?,
                count("en", "gold_in_top5")?,
                count("en", "in_scope")?,
            ),
        ])
    });
    let quality = [
        (
            "assistant-answers-by-language",
            "Assistant: share of in-scope questions answered with the right fact, by language",
        ),
        (
            "assistant-retrieval-by-language",
            "Assistant: share of in-scope questions whose source sheet is in the first five, by language",
        ),
    ];
    for (i, (id, title)) in quality.into_iter().enumerate() {
        match (&run, &counts) {
            (Some(run), Some(counts)) => {
                let (fk, fnn, ek, en) = counts[i];
                let mut m = language_metric(id, title, (fk, fnn), (ek, en));
                m.source = format!(
                    "run {} of {} on {}: {}",
                    run.suite, run.finished_at, run.machine, run.command
                );
                metrics.push(m);
            }
            (Some(_), None) => metrics.push(unavailable(
                language_metric(id, title, (0, 0), (0, 0)),
                "the latest held-out evaluation has no per-language counts: run \
                 `parvis assistant eval --questions eval/assistant/heldout3-realistic.jsonl`",
            )),
            (None, _) => metrics.push(unavailable(
                language_metric(id, title, (0, 0), (0, 0)),
                "no held-out evaluation recorded yet: run `parvis assistant eval --questions \
                 eval/assistant/heldout3-realistic.jsonl`",
            )),
        }
    }

    let alerts = (
        "alert-rate-by-district",
        "Anomaly alerts per sensor reading, by arrondissement",
    );
    match (sensors, requests) {
        (Some(sensors), Some(requests)) => {
            let exposure = sensors.alert_exposure().await?;
            let mut by_district: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
            let mut unlocated = 0;
            for e in &exposure {
                match e
                    .location
                    .and_then(|(lat, lon)| requests.areas().locate(lat, lon))
                {
                    Some(a) => {
                        let entry = by_district.entry(a).or_default();
                        entry.0 += e.alerts;
                        entry.1 += e.observations;
                    }
                    None => unlocated += 1,
                }
            }
            let groups: Vec<(String, u64, u64)> = by_district
                .into_iter()
                .map(|(a, (k, n))| (arrondissement(a), k, n))
                .collect();
            let mut m = alert_metric(alerts.0, alerts.1, &groups);
            m.source = format!(
                "{} sensor entities in the store, {unlocated} without a location in Paris (left out)",
                exposure.len()
            );
            metrics.push(m);
        }
        _ => metrics.push(unavailable(
            alert_metric(alerts.0, alerts.1, &[]),
            "sensors or service requests (for the arrondissement boundaries) are not enabled",
        )),
    }

    let flags = metrics
        .iter()
        .filter(|m| m.flagged)
        .map(|m| format!("{}: {}", m.title, m.finding))
        .collect();
    Ok(FairnessReport {
        generated_at: store::timestamp::now(),
        metrics,
        flags,
    })
}

/// The fairness report: each metric with its groups, 95% intervals, threshold, rule, finding
/// and source; `flags` lists the findings that crossed a threshold.
#[utoipa::path(get, path = "/api/fairness", tag = "governance",
    responses(
        (status = 200, description = "`{generated_at, metrics: [...], flags: [...]}`"),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ))]
pub(crate) async fn fairness(
    State(state): State<AppState>,
) -> Result<Json<FairnessReport>, ApiError> {
    Ok(Json(
        fairness_report(
            state.store(),
            state.requests().map(|r| r.as_ref()),
            state.sensors().map(|s| s.as_ref()),
        )
        .await?,
    ))
}
