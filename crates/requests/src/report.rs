//! The service report: how long requests take to close, per category and per arrondissement,
//! and how unequal the arrondissements are.

use std::collections::BTreeMap;

use serde::Serialize;

/// Time-to-close figures of one group of requests, in hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloseTimes {
    pub n: usize,
    pub median_h: f64,
    pub p90_h: f64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceReport {
    pub closed: usize,
    pub by_category: BTreeMap<String, CloseTimes>,
    pub by_arrondissement: BTreeMap<u8, CloseTimes>,
    /// Median of the slowest arrondissement over that of the fastest, among arrondissements with
    /// at least `min_group` closed requests; `None` when fewer than two qualify.
    pub slowest_to_fastest: Option<f64>,
    pub min_group: usize,
}

/// Builds the report from (service code, arrondissement, hours to close).
pub fn build(times: &[(String, Option<u8>, f64)], min_group: usize) -> ServiceReport {
    let mut by_category: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut by_arrondissement: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
    for (code, arrondissement, hours) in times {
        by_category.entry(code.clone()).or_default().push(*hours);
        if let Some(a) = arrondissement {
            by_arrondissement.entry(*a).or_default().push(*hours);
        }
    }
    let by_category: BTreeMap<String, CloseTimes> = by_category
        .into_iter()
        .map(|(k, v)| (k, summarise(v)))
        .collect();
    let by_arrondissement: BTreeMap<u8, CloseTimes> = by_arrondissement
        .into_iter()
        .map(|(k, v)| (k, summarise(v)))
        .collect();
    let medians: Vec<f64> = by_arrondissement
        .values()
        .filter(|t| t.n >= min_group)
        .map(|t| t.median_h)
        .collect();
    let slowest_to_fastest = (medians.len() >= 2).then(|| {
        let slowest = medians.iter().copied().fold(f64::MIN, f64::max);
        let fastest = medians.iter().copied().fold(f64::MAX, f64::min);
        slowest / fastest.max(1.0 / 60.0)
    });
    ServiceReport {
        closed: times.len(),
        by_category,
        by_arrondissement,
        slowest_to_fastest,
        min_group,
    }
}

fn summarise(mut hours: Vec<f64>) -> CloseTimes {
    hours.sort_by(f64::total_cmp);
    CloseTimes {
        n: hours.len(),
        median_h: quantile(&hours, 0.5),
        p90_h: quantile(&hours, 0.9),
    }
}

/// Linear-interpolated quantile of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_p90_and_ratio() {
        let mut times = Vec::new();
        for h in 1..=10 {
            times.push(("A".to_string(), Some(1), h as f64));
            times.push(("B".to_string(), Some(2), 4.0 * h as f64));
        }
        times.push(("B".to_string(), Some(3), 100.0)); // too few to count in the ratio
        let report = build(&times, 5);
        assert_eq!(report.closed, 21);
        assert_eq!(report.by_category["A"].median_h, 5.5);
        assert!((report.by_category["A"].p90_h - 9.1).abs() < 1e-9);
        assert_eq!(report.by_arrondissement[&2].median_h, 22.0);
        assert_eq!(report.slowest_to_fastest, Some(4.0));
        assert_eq!(build(&times[..1], 5).slowest_to_fastest, None);
    }
}
