//! MQTT ingestion against a real broker (Mosquitto in CI): messages stored once, repeats
//! ignored, unreadable payloads refused without stopping the loop. Runs when
//! PARVIS_TEST_MQTT_URL is set (`.ci/run` sets it to mqtt://127.0.0.1:1883); fails if set and
//! unreachable.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};
use sensors::mqtt::{self, MqttConfig, MqttStats};
use sensors::platform::Sensors;
use store::testing;

#[tokio::test]
async fn messages_from_the_broker_are_stored_once() {
    let Ok(url) = std::env::var("PARVIS_TEST_MQTT_URL") else {
        eprintln!("PARVIS_TEST_MQTT_URL unset: MQTT test skipped");
        return;
    };
    let store = testing::sqlite().await;
    let sensors = Arc::new(
        Sensors::open(store::Store::clone(&store), Default::default())
            .await
            .unwrap(),
    );
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let topic = format!("parvis-test/{run_id}");
    let stats = Arc::new(MqttStats::default());
    let ingest = tokio::spawn(mqtt::run(
        sensors.clone(),
        MqttConfig {
            url: url.clone(),
            topics: vec![format!("{topic}/#")],
            client_id: format!("parvis-ingest-{run_id}"),
        },
        stats.clone(),
    ));
    // Wait for the subscription before publishing.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (host, port) = mqtt::parse_url(&url).unwrap();
    let (client, mut events) = AsyncClient::new(
        MqttOptions::new(format!("parvis-pub-{run_id}"), host, port),
        16,
    );
    let publisher = tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let entity = r#"{"id": "urn:ngsi-ld:BikeHireDockingStation:bastille", "type": "BikeHireDockingStation",
        "availableBikeNumber": {"type": "Property", "value": 12, "observedAt": "2026-11-26T08:00:00Z"}}"#;
    let compact = r#"{"id": "urn:ngsi-ld:BikeHireDockingStation:bastille", "type": "BikeHireDockingStation",
        "attribute": "availableBikeNumber", "value": 9, "observedAt": "2026-11-26T08:05:00Z"}"#;
    for payload in [entity, entity, "{not json", compact] {
        client
            .publish(format!("{topic}/velib"), QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while stats.messages.load(Ordering::Relaxed) < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker did not deliver 4 messages: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stats.observations.load(Ordering::Relaxed), 2, "{stats:?}");
    assert_eq!(stats.rejected.load(Ordering::Relaxed), 1, "{stats:?}");
    let series = sensors
        .temporal(
            "urn:ngsi-ld:BikeHireDockingStation:bastille",
            &[],
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        series["availableBikeNumber"]
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![12.0, 9.0]
    );
    ingest.abort();
    publisher.abort();
}
