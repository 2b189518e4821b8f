//! Every log line passes through the redaction function, whatever carries the personal data.

use std::io::Write;
use std::sync::{Arc, Mutex};

use telemetry::logging::{self, LogFormat};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn logged(format: LogFormat) -> String {
    let captured = Captured::default();
    let subscriber = logging::subscriber(format, captured.clone());
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", caller = "marie@example.fr");
        let _entered = span.enter();
        tracing::info!(
            reporter_phone = "06 12 34 56 78",
            "report from jean.martin@exemple.fr"
        );
        tracing::warn!(error = %"could not reach +33 1 42 76 40 40", "delivery failed");
    });
    String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn human_lines_are_redacted() {
    let text = logged(LogFormat::Human);
    assert_eq!(text.lines().count(), 2, "{text}");
    for needle in ["marie@", "jean.martin", "06 12 34", "42 76 40 40"] {
        assert!(!text.contains(needle), "{needle} leaked: {text}");
    }
    assert!(text.contains("report from [email]"), "{text}");
    assert!(text.contains("[phone]"), "{text}");
}

#[test]
fn json_lines_are_redacted_and_stay_json() {
    let text = logged(LogFormat::Json);
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(value.get("level").is_some());
    }
    for needle in ["marie@", "jean.martin", "06 12 34", "42 76 40 40"] {
        assert!(!text.contains(needle), "{needle} leaked: {text}");
    }
    assert!(text.contains(r#""reporter_phone":"[phone]""#), "{text}");
}
