//! The Numenta Anomaly Benchmark: its corpus (58 labelled series), and its scoring method,
//! re-implemented from the published rules.
//!
//! For one file and one threshold: rows in the probation period (the first 15 % of the file,
//! at most 750 rows) are ignored; a detection is a row whose score reaches the threshold; in
//! each label window only the earliest detection counts, rewarded `A_TP · σ(y) / σ(−1)` with
//! `y = −(R − i + 1) / w` (R the window's last row, w its width); a window without detection
//! costs `−A_FN`; a detection outside windows costs `A_FP · σ(y)` with
//! `y = |i − R_prev| / (w_prev − 1)` after a window, `−A_FP` before any; `σ(y) = 2 / (1 +
//! e^{5y}) − 1`, and −1 beyond y = 3. A profile's raw score is the sum over files; it is
//! normalised as `100 · (S − S_null) / (S_perfect − S_null)`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The three application profiles: weights (A_TP, A_FP, A_FN).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Profile {
    pub name: &'static str,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

pub const PROFILES: [Profile; 3] = [
    Profile {
        name: "standard",
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FP_rate",
        tp: 1.0,
        fp: 0.22,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FN_rate",
        tp: 1.0,
        fp: 0.11,
        fn_: 2.0,
    },
];

/// One labelled series of the corpus.
#[derive(Debug, Clone)]
pub struct Series {
    /// `category/file.csv`.
    pub name: String,
    pub timestamps: Vec<String>,
    /// Unix seconds (the files' times, read as UTC).
    pub times: Vec<i64>,
    pub values: Vec<f64>,
    /// Label windows as inclusive row ranges.
    pub windows: Vec<(usize, usize)>,
}

impl Series {
    pub fn category(&self) -> &str {
        self.name.split('/').next().unwrap_or("")
    }

    /// Rows of the probation period.
    pub fn probation(&self) -> usize {
        probation_length(self.values.len())
    }

    /// Whether each row lies in a label window (the results files' `label` column).
    pub fn labels(&self) -> Vec<u8> {
        let mut labels = vec![0u8; self.values.len()];
        for &(start, end) in &self.windows {
            labels[start..=end].iter_mut().for_each(|l| *l = 1);
        }
        labels
    }
}

/// `min(floor(0.15 · rows), 750)`.
pub fn probation_length(rows: usize) -> usize {
    ((0.15 * rows as f64).floor() as usize).min(750)
}

/// Errors reading the corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("the NAB corpus at {0} is incomplete: {1}")]
    Incomplete(String, String),
}

fn file_error(path: &Path, message: impl Into<String>) -> CorpusError {
    CorpusError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads the corpus: every file that `labels/combined_windows.json` lists must be present
/// under `data/` (58 files), else nothing is scored.
pub fn read_corpus(root: &Path) -> Result<Vec<Series>, CorpusError> {
    let windows_path = root.join("labels/combined_windows.json");
    let text = std::fs::read_to_string(&windows_path)
        .map_err(|e| file_error(&windows_path, e.to_string()))?;
    let windows: BTreeMap<String, Vec<(String, String)>> =
        serde_json::from_str(&text).map_err(|e| file_error(&windows_path, e.to_string()))?;
    if windows.len() != 58 {
        return Err(CorpusError::Incomplete(
            root.display().to_string(),
            format!("{} files labelled, NAB has 58", windows.len()),
        ));
    }
    let mut corpus = Vec::with_capacity(windows.len());
    for (name, file_windows) in windows {
        let path: PathBuf = root.join("data").join(&name);
        if !path.exists() {
            return Err(CorpusError::Incomplete(
                root.display().to_string(),
                format!("data/{name} is missing"),
            ));
        }
        let mut reader =
            csv::Reader::from_path(&path).map_err(|e| file_error(&path, e.to_string()))?;
        let (mut timestamps, mut times, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| file_error(&path, e.to_string()))?;
            let (Some(stamp), Some(value)) = (record.get(0), record.get(1)) else {
                return Err(file_error(
                    &path,
                    format!("row {}: two columns expected", i + 2),
                ));
            };
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| file_error(&path, format!("row {}: value {value:?}", i + 2)))?;
            times.push(
                parse_time(stamp)
                    .ok_or_else(|| file_error(&path, format!("row {}: time {stamp:?}", i + 2)))?,
            );
            timestamps.push(stamp.to_owned());
            values.push(value);
        }
        let mut rows = Vec::new();
        for (start, end) in file_windows {
            let start = start.split('.').next().unwrap_or(&start).to_owned();
            let end = end.split('.').next().unwrap_or(&end).to_owned();
            let first = timestamps.partition_point(|t| *t < start);
            let last = timestamps.partition_point(|t| *t <= end);
            if first >= last {
                return Err(file_error(
                    &path,
                    format!("window {start}–{end} holds no row"),
                ));
            }
            rows.push((first, last - 1));
        }
        corpus.push(Series {
            name,
            timestamps,
            times,
            values,
            windows: rows,
        });
    }
    Ok(corpus)
}

/// `YYYY-MM-DD HH:MM:SS` → Unix seconds.
fn parse_time(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text.trim(), format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

fn sigma(y: f64) -> f64 {
    if y > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
    }
}

/// The raw NAB score of one file's detector output at one threshold, with row counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FileScore {
    pub score: f64,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

/// Scores one file's anomaly scores.
pub fn score_file(series: &Series, scores: &[f64], threshold: f64, profile: &Profile) -> FileScore {
    let probation = series.probation();
    let max_tp = sigma(-1.0);
    let mut window_best: Vec<Option<f64>> = vec![None; series.windows.len()];
    let mut result = FileScore::default();
    let mut fp_total = 0.0;
    let mut window_idx = 0usize;
    // The last window ending before the current row: (right index, width).
    let mut previous: Option<(usize, usize)> = None;
    for (i, &score) in scores.iter().enumerate() {
        while window_idx < series.windows.len() && series.windows[window_idx].1 < i {
            let (start, end) = series.windows[window_idx];
            previous = Some((end, end - start + 1));
            window_idx += 1;
        }
        let in_window = series
            .windows
            .get(window_idx)
            .is_some_and(|&(start, end)| start <= i && i <= end);
        let detected = score >= threshold;
        if i < probation {
            continue;
        }
        match (in_window, detected) {
            (true, true) => {
                result.tp += 1;
                let (start, end) = series.windows[window_idx];
                let width = (end - start + 1) as f64;
                let y = -((end - i + 1) as f64) / width;
                let value = profile.tp * sigma(y) / max_tp;
                let best = &mut window_best[window_idx];
                *best = Some(best.map_or(value, |b: f64| b.max(value)));
            }
            (true, false) => result.fn_ += 1,
            (false, true) => {
                result.fp += 1;
                fp_total += match previous {
                    Some((end, width)) => {
                        let y = (i as f64 - end as f64).abs() / (width as f64 - 1.0);
                        profile.fp * sigma(y)
                    }
                    None => -profile.fp,
                };
            }
            (false, false) => result.tn += 1,
        }
    }
    let windows: f64 = window_best
        .iter()
        .map(|best| best.unwrap_or(-profile.fn_))
        .sum();
    result.score = windows + fp_total;
    result
}

/// A profile's normalised score over the corpus: `100 · (S − S_null) / (S_perfect − S_null)`.
pub fn normalise(raw: f64, n_windows: usize, profile: &Profile) -> f64 {
    let null = -(n_windows as f64) * profile.fn_;
    let perfect = n_windows as f64 * profile.tp;
    100.0 * (raw - null) / (perfect - null)
}

/// The threshold in [0, 1] that maximises the summed raw score of a profile (NAB's optimiser
/// does the same, per profile, over the whole corpus): candidate thresholds are the distinct
/// scores, searched exhaustively.
pub fn best_threshold(corpus: &[Series], scores: &[Vec<f64>], profile: &Profile) -> (f64, f64) {
    let mut candidates: Vec<f64> = scores
        .iter()
        .flatten()
        .copied()
        .filter(|s| *s > 0.0)
        .collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    // Coarse-to-fine: every score would be exact but slow; 400 quantiles, then the
    // neighbourhood of the best.
    let pick = |from: &[f64], n: usize| -> Vec<f64> {
        if from.len() <= n {
            return from.to_vec();
        }
        (0..n)
            .map(|k| from[k * (from.len() - 1) / (n - 1)])
            .collect()
    };
    let total = |t: f64| -> f64 {
        corpus
            .iter()
            .zip(scores)
            .map(|(s, sc)| score_file(s, sc, t, profile).score)
            .sum()
    };
    let mut best = (1.1, total(1.1));
    for t in pick(&candidates, 400) {
        let s = total(t);
        if s > best.1 {
            best = (t, s);
        }
    }
    let at = candidates.partition_point(|c| *c < best.0);
    let lo = at.saturating_sub(candidates.len() / 400 + 2);
    let hi = (at + candidates.len() / 400 + 2).min(candidates.len());
    for &t in &candidates[lo..hi] {
        let s = total(t);
        if s > best.1 {
            best = (t, s);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rows: usize, windows: Vec<(usize, usize)>) -> Series {
        Series {
            name: "test/file.csv".into(),
            timestamps: (0..rows).map(|i| format!("{i:06}")).collect(),
            times: (0..rows as i64).collect(),
            values: vec![0.0; rows],
            windows,
        }
    }

    #[test]
    fn an_incomplete_corpus_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("labels")).unwrap();
        std::fs::write(
            dir.path().join("labels/combined_windows.json"),
            r#"{"a/b.csv": [["2015-01-01 00:00:00.000000", "2015-01-01 01:00:00.000000"]]}"#,
        )
        .unwrap();
        let error = read_corpus(dir.path()).unwrap_err().to_string();
        assert!(error.contains("incomplete"), "{error}");
        assert!(read_corpus(&dir.path().join("nope")).is_err());
    }

    #[test]
    fn earliest_detection_earns_a_tp_and_misses_cost_a_fn() {
        let s = series(1000, vec![(500, 599), (800, 899)]);
        assert_eq!(s.probation(), 150);
        let standard = &PROFILES[0];
        let mut scores = vec![0.0; 1000];
        scores[500] = 1.0;
        let r = score_file(&s, &scores, 0.5, standard);
        assert!((r.score - (1.0 - 1.0)).abs() < 1e-12, "{r:?}");
        // A late detection earns less; a detection in probation counts for nothing.
        let mut late = vec![0.0; 1000];
        late[590] = 1.0;
        late[10] = 1.0;
        let r = score_file(&s, &late, 0.5, standard);
        assert!(r.score < 0.0 && r.score > -1.0, "{r:?}");
        assert_eq!(r.fp, 0);
        // A detection long after a window costs A_FP; just after it, almost nothing.
        let mut fp = vec![0.0; 1000];
        fp[999] = 1.0;
        fp[600] = 1.0;
        let r = score_file(&s, &fp, 0.5, standard);
        let expected = -2.0 + 0.11 * sigma(1.0 / 99.0) + 0.11 * sigma(100.0 / 99.0);
        assert!((r.score - expected).abs() < 1e-12, "{r:?} vs {expected}");
        // Normalisation: the null detector scores 0, the perfect one 100.
        assert_eq!(normalise(-2.0, 2, standard), 0.0);
        assert_eq!(normalise(2.0, 2, standard), 100.0);
    }
}
