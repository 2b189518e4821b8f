//! Metric names, in one place, and the registry rendered at `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Every metric name Parvis exports (the `_total` suffix of counters is added on export).
pub mod names {
    /// HTTP requests answered, by method, route template and status.
    pub const HTTP_REQUESTS: &str = "parvis_http_requests";
    /// Time from request received to response head sent, by method, route template and status.
    pub const HTTP_REQUEST_DURATION_SECONDS: &str = "parvis_http_request_duration_seconds";
}

/// Latency buckets, in seconds: fine below 10 ms where a healthy API lives, coarse above.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of the HTTP metrics. `route` is the matched route template (`/api/v1/keys/{id}`),
/// never the raw path, so that the number of series stays bounded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration =
            Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            names::HTTP_REQUESTS,
            "HTTP requests answered",
            http_requests.clone(),
        );
        registry.register(
            names::HTTP_REQUEST_DURATION_SECONDS,
            "HTTP request latency in seconds",
            http_duration.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_duration,
        }
    }

    /// Counts one answered request and its latency.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = HttpLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    /// The Prometheus text exposition (OpenMetrics-compatible) of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_requests_appear_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.observe_http("GET", "/readyz", 200, 0.0004);
        metrics.observe_http("GET", "/readyz", 200, 0.003);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"parvis_http_requests_total{method="GET",route="/readyz",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"parvis_http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/readyz",status="200"} 1"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
