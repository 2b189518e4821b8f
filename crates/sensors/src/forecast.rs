//! Short-term forecasts of a regularly sampled series (hourly road counts, daily bicycle
//! counts), with the seasonal-naive baseline computed beside them.
//!
//! [`SeasonalProfile`] keeps, for each position in the season (hour of the week, day of the
//! week), an exponentially weighted average of the values seen there (weight `alpha` per
//! season), and a level ratio: how the last `level_window` observations compare with what the
//! profile expected for them (damped towards 1). A forecast is the profile times the ratio.
//! Compared with the seasonal-naive forecast (the same position one season ago), it averages
//! out one-off noise and missing values while following a change of level. Memory: one float
//! per position of the season, plus the last `level_window` observations.

use std::collections::VecDeque;

/// The seasonal-naive forecast: the value one season before each future step (`None` where
/// that value is missing).
pub fn seasonal_naive(history: &[Option<f64>], season: usize, horizon: usize) -> Vec<Option<f64>> {
    (0..horizon)
        .map(|h| {
            let back = season * (h / season + 1);
            history
                .len()
                .checked_sub(back - h)
                .and_then(|i| history.get(i).copied().flatten())
        })
        .collect()
}

/// Parvis's seasonal forecaster (see the module documentation).
#[derive(Debug, Clone)]
pub struct SeasonalProfile {
    season: usize,
    alpha: f64,
    profile: Vec<Option<f64>>,
    /// Position in the season of the next observation.
    position: usize,
    /// (observed, expected) for the last observations.
    recent: VecDeque<(f64, f64)>,
    level_window: usize,
    damping: f64,
}

impl SeasonalProfile {
    pub fn new(season: usize, alpha: f64, level_window: usize, damping: f64) -> SeasonalProfile {
        SeasonalProfile {
            season,
            alpha,
            profile: vec![None; season],
            position: 0,
            recent: VecDeque::with_capacity(level_window),
            level_window,
            damping,
        }
    }

    /// Hourly data with a weekly season.
    pub fn hourly() -> SeasonalProfile {
        SeasonalProfile::new(168, 0.3, 24, 0.5)
    }

    /// Daily data with a weekly season.
    pub fn daily() -> SeasonalProfile {
        SeasonalProfile::new(7, 0.3, 7, 0.5)
    }

    /// Learns the next observation (`None`: missing).
    pub fn learn(&mut self, value: Option<f64>) {
        let slot = &mut self.profile[self.position];
        if let Some(v) = value.filter(|v| v.is_finite()) {
            if let Some(expected) = *slot {
                self.recent.push_back((v, expected));
                if self.recent.len() > self.level_window {
                    self.recent.pop_front();
                }
            }
            *slot = Some(match *slot {
                Some(p) => p + self.alpha * (v - p),
                None => v,
            });
        }
        self.position = (self.position + 1) % self.season;
    }

    /// The next `horizon` values (`None` where the season position was never observed).
    pub fn forecast(&self, horizon: usize) -> Vec<Option<f64>> {
        let (observed, expected) = self
            .recent
            .iter()
            .fold((0.0, 0.0), |(o, e), (v, p)| (o + v, e + p));
        let ratio = if expected > 0.0 && observed > 0.0 {
            1.0 + self.damping * (observed / expected - 1.0)
        } else {
            1.0
        };
        (0..horizon)
            .map(|h| self.profile[(self.position + h) % self.season].map(|p| p * ratio))
            .collect()
    }
}

/// Mean absolute percentage error over pairs whose actual value is positive.
pub fn mape(pairs: &[(f64, f64)]) -> f64 {
    let kept: Vec<f64> = pairs
        .iter()
        .filter(|(actual, _)| *actual > 0.0)
        .map(|(actual, forecast)| (actual - forecast).abs() / actual)
        .collect();
    100.0 * kept.iter().sum::<f64>() / kept.len().max(1) as f64
}

/// Weighted absolute percentage error: total absolute error over total actual value (robust
/// to the near-zero night counts that make MAPE explode).
pub fn wape(pairs: &[(f64, f64)]) -> f64 {
    let error: f64 = pairs.iter().map(|(a, f)| (a - f).abs()).sum();
    let total: f64 = pairs.iter().map(|(a, _)| a.abs()).sum();
    100.0 * error / total.max(f64::MIN_POSITIVE)
}

/// Errors of the two methods over the same forecasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastErrors {
    pub compared: usize,
    pub mape_profile: f64,
    pub mape_naive: f64,
    pub wape_profile: f64,
    pub wape_naive: f64,
}

/// Rolling-origin evaluation: from `start`, every `every` steps, forecast `horizon` steps with
/// both methods (each having learned everything before the origin) and compare with what came.
pub fn evaluate(
    series: &[Option<f64>],
    mut model: SeasonalProfile,
    start: usize,
    every: usize,
    horizon: usize,
) -> ForecastErrors {
    let season = model.season;
    let (mut ours, mut naive) = (Vec::new(), Vec::new());
    for (t, value) in series.iter().enumerate() {
        if t >= start && (t - start).is_multiple_of(every) && t + horizon <= series.len() {
            let profile = model.forecast(horizon);
            let baseline = seasonal_naive(&series[..t], season, horizon);
            for h in 0..horizon {
                // Compared only where both methods forecast and the actual value exists.
                if let (Some(actual), Some(p), Some(b)) = (series[t + h], profile[h], baseline[h]) {
                    ours.push((actual, p));
                    naive.push((actual, b));
                }
            }
        }
        model.learn(*value);
    }
    ForecastErrors {
        compared: ours.len(),
        mape_profile: mape(&ours),
        mape_naive: mape(&naive),
        wape_profile: wape(&ours),
        wape_naive: wape(&naive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noisy_weekly_pattern_is_forecast_better_than_last_week() {
        // A daily series with a weekly shape, noise, and a level that rises by 10 % mid-way.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut uniform = move || {
            // xorshift64*: noise independent from day to day.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        };
        let series: Vec<Option<f64>> = (0..400)
            .map(|d| {
                let shape = [100.0, 110.0, 120.0, 115.0, 105.0, 60.0, 50.0][d % 7];
                let noise = (uniform() - 0.5) * 20.0;
                let level = if d > 200 { 1.1 } else { 1.0 };
                (d != 150).then_some(shape * level + noise)
            })
            .collect();
        let e = evaluate(&series, SeasonalProfile::daily(), 280, 1, 7);
        assert!(e.compared > 500);
        assert!(e.mape_profile < e.mape_naive, "{e:?}");
        assert!(e.wape_profile < e.wape_naive, "{e:?}");
        assert_eq!(
            seasonal_naive(&[Some(1.0), Some(2.0), Some(3.0)], 2, 3),
            vec![Some(2.0), Some(3.0), Some(2.0)]
        );
    }
}
