//! The process-wide `tracing` subscriber: human or JSON lines on standard error, every line
//! passed through [`crate::redact`] before it is written.
//!
//! Redaction happens on the formatted line, not on chosen fields, so nothing slips through a
//! field nobody thought of: a message, a span field, an error's text.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One readable line per event (the default on a terminal).
    #[default]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?}: expected human or json"
            )),
        }
    }
}

/// Errors while installing the subscriber.
#[derive(Debug)]
pub struct LogInitError(String);

impl std::fmt::Display for LogInitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot set up logging: {}", self.0)
    }
}

impl std::error::Error for LogInitError {}

/// Installs the global subscriber writing to standard error. `filter` uses the `RUST_LOG`
/// syntax (`info`, `parvis=debug,sqlx=warn`…).
pub fn init(format: LogFormat, filter: &str) -> Result<(), LogInitError> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| LogInitError(format!("log filter {filter:?}: {e}")))?;
    let writer = Redacting(io::stderr);
    let result = match format {
        LogFormat::Human => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(false)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(writer)
            .try_init(),
    };
    result.map_err(|e| LogInitError(e.to_string()))
}

/// Builds (without installing) a subscriber writing to `make_writer`, for tests and embedding.
pub fn subscriber<W>(
    format: LogFormat,
    make_writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let writer = Redacting(make_writer);
    match format {
        LogFormat::Human => Box::new(
            tracing_subscriber::fmt()
                .with_writer(writer)
                .with_ansi(false)
                .with_max_level(tracing::Level::TRACE)
                .finish(),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_writer(writer)
                .with_max_level(tracing::Level::TRACE)
                .finish(),
        ),
    }
}

/// A `MakeWriter` whose writers redact what they are given before passing it on.
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            pending: Vec::with_capacity(256),
        }
    }
}

/// Collects one event's bytes and writes them, redacted, when flushed or dropped.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn emit(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.pending);
        let redacted = crate::redact(&text);
        self.inner.write_all(redacted.as_bytes())?;
        self.pending.clear();
        self.inner.flush()
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.emit();
    }
}
