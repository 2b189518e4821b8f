//! MQTT ingestion: subscribes to configured topics on a broker and stores each message's
//! entities, at least once.
//!
//! Payloads are JSON: an NGSI-LD entity, an array of them, or a compact observation
//! `{"id", "type", "attribute", "value", "observedAt"}`. Messages are received with QoS 1 and
//! acknowledged only after their entities are committed, so a crash between the two means the
//! broker delivers again; the store ignores the repeat (same series and instant). A payload
//! that cannot be read is logged (its topic, never its content) and acknowledged, so it does
//! not come back forever. Connection failures are retried with exponential backoff (1 s to
//! 30 s); the session is persistent (fixed client id, clean session off).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value as JsonValue;

use crate::ngsi::entity_from_json;
use crate::platform::{Entity, Sensors};

/// Where and what to subscribe to.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// `mqtt://host:port`.
    pub url: String,
    pub topics: Vec<String>,
    pub client_id: String,
}

/// Counters of the ingestion loop.
#[derive(Debug, Default)]
pub struct MqttStats {
    pub messages: AtomicU64,
    pub observations: AtomicU64,
    pub rejected: AtomicU64,
    pub reconnects: AtomicU64,
}

/// Parses `mqtt://host:port` (port 1883 by default).
pub fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| format!("{url:?}: expected mqtt://host:port"))?;
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => Ok((
            host.to_owned(),
            port.parse().map_err(|_| format!("{url:?}: bad port"))?,
        )),
        None if !rest.is_empty() => Ok((rest.to_owned(), 1883)),
        None => Err(format!("{url:?}: no host")),
    }
}

/// Reads a message's entities.
pub fn entities_of(payload: &[u8]) -> Result<Vec<Entity>, String> {
    let value: JsonValue = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    match &value {
        JsonValue::Array(items) => items.iter().map(entity_from_json).collect(),
        JsonValue::Object(object) if object.contains_key("attribute") => {
            let mut attribute = serde_json::Map::new();
            attribute.insert("type".into(), "Property".into());
            attribute.insert(
                "value".into(),
                object.get("value").cloned().ok_or("value is required")?,
            );
            if let Some(at) = object.get("observedAt") {
                attribute.insert("observedAt".into(), at.clone());
            }
            let name = object
                .get("attribute")
                .and_then(JsonValue::as_str)
                .ok_or("attribute must be a string")?;
            let mut entity = serde_json::Map::new();
            entity.insert("id".into(), object.get("id").cloned().unwrap_or_default());
            entity.insert(
                "type".into(),
                object.get("type").cloned().unwrap_or_default(),
            );
            entity.insert(name.to_owned(), JsonValue::Object(attribute));
            Ok(vec![entity_from_json(&JsonValue::Object(entity))?])
        }
        _ => Ok(vec![entity_from_json(&value)?]),
    }
}

/// Runs until the task is dropped: connects, subscribes, stores what arrives.
pub async fn run(
    sensors: Arc<Sensors>,
    config: MqttConfig,
    stats: Arc<MqttStats>,
) -> Result<(), String> {
    let (host, port) = parse_url(&config.url)?;
    let mut options = MqttOptions::new(config.client_id.clone(), host, port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(false);
    options.set_manual_acks(true);
    let (client, mut events) = AsyncClient::new(options, 256);
    let mut backoff = Duration::from_secs(1);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_secs(1);
                for topic in &config.topics {
                    client
                        .subscribe(topic.clone(), QoS::AtLeastOnce)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                tracing::info!(topics = ?config.topics, "MQTT connected and subscribed");
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                stats.messages.fetch_add(1, Ordering::Relaxed);
                match entities_of(&publish.payload) {
                    Ok(entities) => loop {
                        match sensors.upsert(entities.clone(), true).await {
                            Ok(outcome) => {
                                stats
                                    .observations
                                    .fetch_add(outcome.observations as u64, Ordering::Relaxed);
                                break;
                            }
                            Err(crate::platform::SensorError::Store(e)) if e.is_unavailable() => {
                                // Not acknowledged until stored: wait for the store.
                                tracing::warn!(error = %e, "store unavailable; MQTT message held");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                            Err(error) => {
                                stats.rejected.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(topic = %publish.topic, %error, "MQTT message refused");
                                break;
                            }
                        }
                    },
                    Err(error) => {
                        stats.rejected.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(topic = %publish.topic, %error, "unreadable MQTT message");
                    }
                }
                client.ack(&publish).await.map_err(|e| e.to_string())?;
            }
            Ok(_) => {}
            Err(error) => {
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, retry_in_s = backoff.as_secs(), "MQTT connection lost");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_payloads() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1883").unwrap(),
            ("127.0.0.1".into(), 1883)
        );
        assert_eq!(parse_url("mqtt://broker").unwrap(), ("broker".into(), 1883));
        assert!(parse_url("http://x").is_err());
        let compact = br#"{"id": "urn:x:a", "type": "BikeHireDockingStation", "attribute": "availableBikeNumber", "value": 7, "observedAt": "2026-11-26T08:00:00Z"}"#;
        let entities = entities_of(compact).unwrap();
        assert_eq!(
            entities[0].attributes["availableBikeNumber"].observed_ms,
            Some(1_795_680_000_000)
        );
        assert!(entities_of(b"{nope").is_err());
        assert!(entities_of(br#"{"id": "urn:x:a", "type": "T", "attribute": "v"}"#).is_err());
    }
}
