//! The sensor platform on SQLite and PostgreSQL: batched idempotent writes, temporal queries,
//! downsampling, alerts raised as observations arrive.

use std::collections::BTreeMap;

use sensors::platform::{Attribute, Entity, SensorError, Sensors, SensorsConfig, TimeRel, Value};
use store::testing;

fn flow(id: &str, at_ms: i64, intensity: f64) -> Entity {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "intensity".to_owned(),
        Attribute {
            value: Value::Number(intensity),
            observed_ms: Some(at_ms),
            unit_code: None,
        },
    );
    attributes.insert(
        "laneId".to_owned(),
        Attribute {
            value: Value::Text("1".into()),
            observed_ms: None,
            unit_code: None,
        },
    );
    Entity {
        id: id.to_owned(),
        entity_type: "TrafficFlowObserved".into(),
        attributes,
    }
}

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn observations_are_stored_once_queried_and_scored_on_every_backend() {
    // Without a compaction (everything stays in the recent table), and with one after the first
    // batch (repeats must then be found in the archive, reads must join both tables).
    for compact_after_rows in [SensorsConfig::default().compact_after_rows, 250] {
        for store in testing::backends().await {
            check_backend(store, compact_after_rows).await;
        }
    }
}

async fn check_backend(store: testing::TestStore, compact_after_rows: usize) {
    {
        let config = SensorsConfig {
            compact_after_rows,
            ..SensorsConfig::default()
        };
        let sensors = Sensors::open(store::Store::clone(&store), config)
            .await
            .unwrap();
        let mut alerts = sensors.subscribe();
        let id = "urn:ngsi-ld:TrafficFlowObserved:boulevard-voltaire";
        // 300 hours of a steady count with small noise, then a spike.
        let batch: Vec<Entity> = (0..300)
            .map(|h| flow(id, h * HOUR, 100.0 + ((h * 37) % 7) as f64))
            .collect();
        let outcome = sensors.upsert(batch.clone(), true).await.unwrap();
        assert_eq!(outcome.created, vec![id.to_owned()]);
        assert_eq!(outcome.observations, 300);
        if compact_after_rows <= 300 {
            assert_eq!(sensors.compact().await.unwrap(), 0, "compacted already");
        }
        assert!(outcome.alerts.is_empty(), "{:?}", outcome.alerts);

        // The same batch again (at-least-once delivery): nothing new, no alert.
        let again = sensors.upsert(batch, true).await.unwrap();
        assert_eq!(again.observations, 0);

        let spike = sensors
            .upsert(vec![flow(id, 300 * HOUR, 900.0)], true)
            .await
            .unwrap();
        assert_eq!(spike.alerts.len(), 1, "{spike:?}");
        assert_eq!(spike.alerts[0].attribute, "intensity");
        assert_eq!(alerts.recv().await.unwrap().observed_ms, 300 * HOUR);
        assert_eq!(sensors.alerts(10).await.unwrap().len(), 1);

        // An older observation arriving late is stored, not scored.
        let late = sensors
            .upsert(vec![flow(id, 10 * HOUR + 1, 5000.0)], true)
            .await
            .unwrap();
        assert_eq!(late.observations, 1);
        assert!(late.alerts.is_empty());

        let latest = sensors.get(id).await.unwrap().unwrap();
        assert_eq!(
            latest.attributes["intensity"].value,
            Value::Number(5000.0),
            "latest written"
        );
        assert_eq!(latest.attributes["laneId"].value, Value::Text("1".into()));

        let last = sensors.temporal(id, &[], None, Some(2)).await.unwrap();
        assert_eq!(
            last["intensity"],
            vec![
                (299 * HOUR, 100.0 + ((299 * 37) % 7) as f64),
                (300 * HOUR, 900.0)
            ]
        );
        let between = sensors
            .temporal(
                id,
                &["intensity".into()],
                Some(TimeRel::Between(0, 3 * HOUR)),
                None,
            )
            .await
            .unwrap();
        assert_eq!(between["intensity"].len(), 3);

        let days = sensors
            .downsample(id, "intensity", 0, 24 * HOUR, 12 * HOUR)
            .await
            .unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].count, 13, "12 hourly values and the late one");
        assert_eq!(days[0].max, 5000.0);
        assert_eq!(days[1].count, 12);
        assert!(days[1].min >= 100.0 && days[1].max <= 106.0);

        // Type changes are refused and write nothing.
        let mut other = flow(id, 400 * HOUR, 1.0);
        other.entity_type = "ItemFlowObserved".into();
        let error = sensors
            .upsert(vec![flow("urn:x:new", 0, 1.0), other], true)
            .await
            .unwrap_err();
        assert!(matches!(error, SensorError::Invalid(_)), "{error}");
        assert!(
            sensors.get("urn:x:new").await.unwrap().is_none(),
            "the batch is all or nothing"
        );

        assert!(matches!(
            sensors.create(flow(id, 0, 1.0)).await.unwrap_err(),
            SensorError::AlreadyExists(_)
        ));
        assert_eq!(
            sensors
                .list(Some("TrafficFlowObserved"), 10, 0)
                .await
                .unwrap()
                .len(),
            1
        );

        // Retention: observations older than the series' retention (400 days) are deleted;
        // everything above dates from 1970, the recent one stays.
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        sensors
            .upsert(vec![flow(id, now_ms, 100.0)], true)
            .await
            .unwrap();
        let report = store
            .enforce_retention(
                &store::retention::Policy::default(),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        assert_eq!(
            report.observations_deleted, 302,
            "300 hourly values, the spike and the late one"
        );
        let left = sensors.temporal(id, &[], None, None).await.unwrap();
        assert_eq!(left["intensity"], vec![(now_ms, 100.0)]);
    }
}
