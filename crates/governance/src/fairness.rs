//! The fairness report's statistics: groups compared on one metric, each figure with a 95%
//! interval, and the rule that raises a flag stated with the figures it was applied to.
//!
//! Three kinds of comparison, each with its own rule:
//! - **medians** (time to close a request, per arrondissement): the slowest group's median over
//!   the fastest's, among groups with enough data; flagged when the ratio reaches the threshold
//!   *and* its bootstrap interval lies above 1 (the gap is not sampling noise);
//! - **proportions between two groups** (assistant quality, French vs English): the
//!   difference of rates, flagged when it reaches the threshold and its interval (Newcombe's
//!   hybrid score method) excludes 0;
//! - **rates against the whole** (anomaly alerts per district): each group's rate over the
//!   rate of all groups together, flagged when it reaches the threshold and the group's own
//!   interval (Wilson) lies above the overall rate.
//!
//! Bootstraps use a fixed seed: the same data give the same report.

use serde::Serialize;

/// A 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// One group's figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    /// How many observations the figure rests on (requests, questions, sensor readings).
    pub n: u64,
    pub value: f64,
    pub interval: Interval,
    /// Large enough to be compared.
    pub compared: bool,
    /// Raised a flag on its own (rates against the whole).
    pub flagged: bool,
}

/// One metric of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub id: String,
    pub title: String,
    /// Unit of the groups' values.
    pub unit: String,
    pub groups: Vec<Group>,
    /// The compared figure: a ratio or a difference, `None` when too few groups qualify.
    pub disparity: Option<f64>,
    pub disparity_interval: Option<Interval>,
    /// How the disparity is defined.
    pub disparity_definition: String,
    pub threshold: f64,
    /// The rule in words.
    pub rule: String,
    pub flagged: bool,
    /// What the flag says, or why nothing could be compared.
    pub finding: String,
    /// The data it was computed from (filled in by the caller).
    pub source: String,
}

/// Sample size below which a group is shown but not compared.
#[derive(Debug, Clone, Copy)]
pub struct MinGroup(pub u64);

const Z: f64 = 1.959_963_984_540_054;
const RESAMPLES: usize = 2000;

/// Wilson score interval of `successes` out of `trials`.
pub fn wilson(successes: u64, trials: u64) -> Interval {
    if trials == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// Median of unsorted values (`NaN` when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// SplitMix64: a small, well-mixed generator, enough for resampling indices.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn resampled_median(values: &[f64], rng: &mut SplitMix, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..values.len()).map(|_| values[rng.below(values.len())]));
    median(scratch)
}

fn percentile_interval(mut draws: Vec<f64>) -> Interval {
    draws.retain(|d| d.is_finite());
    draws.sort_by(f64::total_cmp);
    if draws.is_empty() {
        return Interval {
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let at = |q: f64| draws[((draws.len() - 1) as f64 * q).round() as usize];
    Interval {
        low: at(0.025),
        high: at(0.975),
    }
}

/// Bootstrap percentile interval of a median.
pub fn median_interval(values: &[f64], seed: u64) -> Interval {
    if values.is_empty() {
        return Interval {
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let mut rng = SplitMix(seed);
    let mut scratch = Vec::with_capacity(values.len());
    percentile_interval(
        (0..RESAMPLES)
            .map(|_| resampled_median(values, &mut rng, &mut scratch))
            .collect(),
    )
}

/// Compares the medians of groups (`(name, values)`): slowest over fastest.
pub fn compare_medians(
    id: &str,
    title: &str,
    unit: &str,
    groups: &[(String, Vec<f64>)],
    min_group: MinGroup,
    threshold: f64,
) -> Metric {
    let out: Vec<Group> = groups
        .iter()
        .enumerate()
        .map(|(i, (name, values))| Group {
            name: name.clone(),
            n: values.len() as u64,
            value: median(values),
            interval: median_interval(values, 7 + i as u64),
            compared: values.len() as u64 >= min_group.0,
            flagged: false,
        })
        .collect();
    let compared: Vec<usize> = (0..out.len()).filter(|&i| out[i].compared).collect();
    let rule = format!(
        "flag when the slowest median is at least {threshold} times the fastest and the 95% \
         bootstrap interval of that ratio lies above 1; groups with fewer than {} values are \
         shown, not compared",
        min_group.0
    );
    let definition = "median of the slowest group / median of the fastest group".to_owned();
    let mut metric = Metric {
        id: id.into(),
        title: title.into(),
        unit: unit.into(),
        groups: out,
        disparity: None,
        disparity_interval: None,
        disparity_definition: definition,
        threshold,
        rule,
        flagged: false,
        finding: format!(
            "fewer than two groups with at least {} values: nothing compared",
            min_group.0
        ),
        source: String::new(),
    };
    if compared.len() < 2 {
        return metric;
    }
    let by_value = |a: &&usize, b: &&usize| {
        metric.groups[**a]
            .value
            .total_cmp(&metric.groups[**b].value)
    };
    let slowest = *compared.iter().max_by(by_value).expect("two groups");
    let fastest = *compared.iter().min_by(by_value).expect("two groups");
    // A floor keeps a near-zero median from making the ratio meaningless.
    let floor = |m: f64| m.max(1e-9);
    let ratio = metric.groups[slowest].value / floor(metric.groups[fastest].value);
    let mut rng = SplitMix(0xFA1E);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let draws: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            resampled_median(&groups[slowest].1, &mut rng, &mut a)
                / floor(resampled_median(&groups[fastest].1, &mut rng, &mut b))
        })
        .collect();
    let interval = percentile_interval(draws);
    metric.flagged = ratio >= threshold && interval.low > 1.0;
    metric.finding = format!(
        "{} is {ratio:.2} times as slow as {} (95% interval {:.2} to {:.2}): {}",
        metric.groups[slowest].name,
        metric.groups[fastest].name,
        interval.low,
        interval.high,
        if metric.flagged {
            "flagged"
        } else if ratio >= threshold {
            "above the threshold, but within sampling noise: not flagged"
        } else {
            "below the threshold"
        }
    );
    metric.disparity = Some(ratio);
    metric.disparity_interval = Some(interval);
    metric
}

/// Compares a rate between two groups (`(name, successes, trials)`): first minus second.
pub fn compare_two_rates(
    id: &str,
    title: &str,
    first: (&str, u64, u64),
    second: (&str, u64, u64),
    min_group: MinGroup,
    threshold: f64,
) -> Metric {
    let group = |(name, k, n): (&str, u64, u64)| Group {
        name: name.into(),
        n,
        value: if n == 0 {
            f64::NAN
        } else {
            k as f64 / n as f64
        },
        interval: wilson(k, n),
        compared: n >= min_group.0,
        flagged: false,
    };
    let (g1, g2) = (group(first), group(second));
    let rule = format!(
        "flag when the rates differ by at least {threshold} and the 95% interval of the \
         difference (Newcombe) excludes 0; groups with fewer than {} questions are not compared",
        min_group.0
    );
    let mut metric = Metric {
        id: id.into(),
        title: title.into(),
        unit: "share".into(),
        groups: vec![g1.clone(), g2.clone()],
        disparity: None,
        disparity_interval: None,
        disparity_definition: format!("rate of {} − rate of {}", g1.name, g2.name),
        threshold,
        rule,
        flagged: false,
        finding: format!(
            "a group has fewer than {} questions: nothing compared",
            min_group.0
        ),
        source: String::new(),
    };
    if !(g1.compared && g2.compared) {
        return metric;
    }
    let d = g1.value - g2.value;
    let (l1, u1, l2, u2) = (
        g1.interval.low,
        g1.interval.high,
        g2.interval.low,
        g2.interval.high,
    );
    let interval = Interval {
        low: d - ((g1.value - l1).powi(2) + (u2 - g2.value).powi(2)).sqrt(),
        high: d + ((u1 - g1.value).powi(2) + (g2.value - l2).powi(2)).sqrt(),
    };
    metric.flagged = d.abs() >= threshold && (interval.low > 0.0 || interval.high < 0.0);
    metric.finding = format!(
        "{} {:.3} vs {} {:.3}: difference {d:+.3} (95% interval {:+.3} to {:+.3}): {}",
        g1.name,
        g1.value,
        g2.name,
        g2.value,
        interval.low,
        interval.high,
        if metric.flagged {
            "flagged"
        } else if d.abs() >= threshold {
            "above the threshold, but within sampling noise: not flagged"
        } else {
            "below the threshold"
        }
    );
    metric.disparity = Some(d);
    metric.disparity_interval = Some(interval);
    metric
}

/// Compares each group's rate (`(name, events, exposures)`) with the rate of all of them.
pub fn compare_rates_with_whole(
    id: &str,
    title: &str,
    unit: &str,
    groups: &[(String, u64, u64)],
    min_group: MinGroup,
    threshold: f64,
) -> Metric {
    let (events, exposures) = groups
        .iter()
        .filter(|g| g.2 >= min_group.0)
        .fold((0, 0), |(e, x), g| (e + g.1, x + g.2));
    let overall = if exposures == 0 {
        f64::NAN
    } else {
        events as f64 / exposures as f64
    };
    let out: Vec<Group> = groups
        .iter()
        .map(|(name, k, n)| {
            let value = if *n == 0 {
                f64::NAN
            } else {
                *k as f64 / *n as f64
            };
            let interval = wilson(*k, *n);
            let compared = *n >= min_group.0;
            Group {
                name: name.clone(),
                n: *n,
                value,
                interval,
                compared,
                flagged: compared
                    && overall > 0.0
                    && value >= threshold * overall
                    && interval.low > overall,
            }
        })
        .collect();
    let compared: Vec<&Group> = out.iter().filter(|g| g.compared).collect();
    let highest = compared
        .iter()
        .max_by(|a, b| a.value.total_cmp(&b.value))
        .copied();
    let flagged: Vec<&str> = out
        .iter()
        .filter(|g| g.flagged)
        .map(|g| g.name.as_str())
        .collect();
    let finding = match highest {
        _ if compared.len() < 2 => format!(
            "fewer than two groups with at least {} readings: nothing compared",
            min_group.0
        ),
        _ if events == 0 => "no event in any compared group".to_owned(),
        Some(h) => format!(
            "overall rate {:.5}; highest {} at {:.2} times it (95% interval {:.5} to {:.5}){}",
            overall,
            h.name,
            h.value / overall,
            h.interval.low,
            h.interval.high,
            if flagged.is_empty() {
                ": no group flagged".to_owned()
            } else {
                format!(": flagged {}", flagged.join(", "))
            }
        ),
        None => unreachable!("two compared groups have a highest"),
    };
    Metric {
        id: id.into(),
        title: title.into(),
        unit: unit.into(),
        disparity: highest
            .filter(|_| compared.len() >= 2 && overall > 0.0)
            .map(|h| h.value / overall),
        disparity_interval: None,
        disparity_definition: "highest group rate / overall rate".into(),
        threshold,
        rule: format!(
            "flag a group whose rate is at least {threshold} times the overall rate and whose \
             95% Wilson interval lies above it; groups with fewer than {} readings are shown, \
             not compared",
            min_group.0
        ),
        flagged: !flagged.is_empty(),
        finding,
        groups: out,
        source: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 8 of 10: 0.490 to 0.943 (Wilson 1927, as tabulated by Newcombe 1998).
        let i = wilson(8, 10);
        assert!(
            (i.low - 0.490).abs() < 1e-3 && (i.high - 0.943).abs() < 1e-3,
            "{i:?}"
        );
        assert_eq!(wilson(0, 0).high, 1.0);
    }

    #[test]
    fn a_real_gap_in_medians_is_flagged_and_noise_is_not() {
        let slow: Vec<f64> = (0..60).map(|i| 40.0 + f64::from(i % 20)).collect();
        let fast: Vec<f64> = (0..60).map(|i| 10.0 + f64::from(i % 20)).collect();
        let tiny = vec![500.0; 3];
        let m = compare_medians(
            "t",
            "t",
            "hours",
            &[
                ("slow".into(), slow.clone()),
                ("fast".into(), fast),
                ("tiny".into(), tiny),
            ],
            MinGroup(10),
            1.5,
        );
        assert!(m.flagged, "{m:?}");
        assert!(
            m.finding.starts_with("slow is 2.54 times as slow as fast"),
            "{}",
            m.finding
        );
        assert!(!m.groups[2].compared);

        // Two samples of the same spread: a ratio near 1, not flagged.
        let other: Vec<f64> = (0..60).map(|i| 41.0 + f64::from((i * 7) % 20)).collect();
        let m = compare_medians(
            "t",
            "t",
            "hours",
            &[("a".into(), slow), ("b".into(), other)],
            MinGroup(10),
            1.5,
        );
        assert!(!m.flagged && m.disparity.unwrap() < 1.1, "{m:?}");
    }

    #[test]
    fn rate_differences_need_size_and_certainty() {
        let big_gap = compare_two_rates(
            "q",
            "q",
            ("fr", 180, 200),
            ("en", 60, 100),
            MinGroup(20),
            0.1,
        );
        assert!(big_gap.flagged, "{big_gap:?}");
        let noisy = compare_two_rates("q", "q", ("fr", 9, 10), ("en", 6, 10), MinGroup(5), 0.1);
        assert!(
            !noisy.flagged && noisy.finding.contains("noise"),
            "{noisy:?}"
        );
        let small = compare_two_rates("q", "q", ("fr", 9, 10), ("en", 6, 10), MinGroup(20), 0.1);
        assert_eq!(small.disparity, None);
    }

    #[test]
    fn a_district_far_above_the_city_rate_is_flagged() {
        let groups = vec![
            ("1".to_owned(), 10, 10_000),
            ("2".to_owned(), 12, 10_000),
            ("3".to_owned(), 90, 10_000),
            ("4".to_owned(), 5, 100),
        ];
        let m =
            compare_rates_with_whole("a", "a", "alerts per reading", &groups, MinGroup(1000), 2.0);
        let flagged: Vec<&str> = m
            .groups
            .iter()
            .filter(|g| g.flagged)
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(flagged, ["3"]);
        assert!(m.flagged && !m.groups[3].compared);
    }
}
