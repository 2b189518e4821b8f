//! Alerts posted to a webhook: every alert the sensor platform raises is sent as one JSON
//! object (`POST`, 5 s timeout, three attempts with a growing pause). A webhook that stays down
//! loses nothing: alerts are stored and listed at `/api/alerts` whatever happens here.

use std::time::Duration;

use tokio::sync::broadcast;

/// Forwards alerts until the platform stops.
pub async fn forward_alerts(
    mut alerts: broadcast::Receiver<sensors::platform::Alert>,
    url: String,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client builds");
    loop {
        let alert = match alerts.recv().await {
            Ok(alert) => alert,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "alert webhook lagging; alerts remain at /api/alerts"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for attempt in 1..=3u32 {
            match client.post(&url).json(&alert).send().await {
                Ok(reply) if reply.status().is_success() => break,
                Ok(reply) => {
                    tracing::warn!(status = %reply.status(), attempt, alert = alert.id, "alert webhook refused")
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, alert = alert.id, "alert webhook unreachable")
                }
            }
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_alert_is_posted_as_json() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (sender, receiver) = broadcast::channel(4);
        tokio::spawn(forward_alerts(receiver, url));
        sender
            .send(sensors::platform::Alert {
                id: 7,
                entity_id: "urn:ngsi-ld:TrafficFlowObserved:rivoli".into(),
                entity_type: "TrafficFlowObserved".into(),
                attribute: "intensity".into(),
                observed_ms: 0,
                value: 900.0,
                score: 0.8,
                detector: "surprise".into(),
                created_at: "2026-11-26T00:00:00Z".into(),
            })
            .unwrap();
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&request).contains("\"detector\"") {
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed early");
            request.extend_from_slice(&buffer[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&request);
        assert!(text.starts_with("POST /hook HTTP/1.1"), "{text}");
        assert!(
            text.contains("\"entity_id\":\"urn:ngsi-ld:TrafficFlowObserved:rivoli\""),
            "{text}"
        );
    }
}
