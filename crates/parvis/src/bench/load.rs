//! A closed-loop HTTP/1.1 load generator over loopback: N keep-alive connections, each sending
//! its next request as soon as the previous answer is read, for a fixed duration after a
//! warm-up. Latencies go to an HDR histogram (microseconds, 3 significant digits).
//!
//! Hand-written because it is a few dozen lines on hyper's client connection, and it lets the
//! benchmark run in one process with no external tool (wrk is not on a fresh machine).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What one run of a scenario measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests answered with 2xx during the measured window.
    pub ok: u64,
    /// Requests answered otherwise, or failed, during the measured window.
    pub errors: u64,
    pub measured: Duration,
    pub latency_us: Histogram<u64>,
}

impl LoadReport {
    pub fn requests_per_second(&self) -> f64 {
        (self.ok + self.errors) as f64 / self.measured.as_secs_f64()
    }

    pub fn percentile_ms(&self, percentile: f64) -> f64 {
        self.latency_us.value_at_quantile(percentile / 100.0) as f64 / 1000.0
    }
}

/// Builds the request a connection sends next (its index and a sequence number are given, for
/// unique bodies).
pub type MakeRequest = Arc<dyn Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync>;

/// Runs `connections` connections against `address` for `warmup + duration`.
pub async fn run(
    address: SocketAddr,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    make_request: MakeRequest,
) -> anyhow::Result<LoadReport> {
    let start = Instant::now();
    let measure_from = start + warmup;
    let stop_at = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for connection_idx in 0..connections {
        let make_request = make_request.clone();
        tasks.push(tokio::spawn(async move {
            one_connection(address, connection_idx, measure_from, stop_at, make_request).await
        }));
    }
    let mut report = LoadReport {
        ok: 0,
        errors: 0,
        measured: duration,
        latency_us: new_histogram(),
    };
    for task in tasks {
        let (ok, errors, histogram) = task.await??;
        report.ok += ok;
        report.errors += errors;
        report.latency_us.add(histogram)?;
    }
    Ok(report)
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

async fn one_connection(
    address: SocketAddr,
    connection_idx: usize,
    measure_from: Instant,
    stop_at: Instant,
    make_request: MakeRequest,
) -> anyhow::Result<(u64, u64, Histogram<u64>)> {
    let mut histogram = new_histogram();
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut sequence = 0u64;
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    loop {
        let sent_at = Instant::now();
        if sent_at >= stop_at {
            break;
        }
        sequence += 1;
        let request = make_request(connection_idx, sequence);
        let outcome = match sender.send_request(request).await {
            Ok(response) => {
                let success = response.status().is_success();
                // Read the whole body, as a client would, before the next request.
                response.into_body().collect().await.is_ok() && success
            }
            Err(_) => false,
        };
        let answered_at = Instant::now();
        if sent_at >= measure_from {
            let micros = answered_at.duration_since(sent_at).as_micros().max(1) as u64;
            histogram.saturating_record(micros);
            if outcome {
                ok += 1;
            } else {
                errors += 1;
            }
        }
        if sender.ready().await.is_err() {
            // The server closed the connection: count it and stop this connection.
            errors += 1;
            break;
        }
    }
    Ok((ok, errors, histogram))
}
