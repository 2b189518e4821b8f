//! The NGSI-LD subset in-process: entities, batches, queries, temporal representation,
//! ProblemDetails for every kind of bad input (nothing stored), alerts.

use std::sync::Arc;

use access::{Keys, Role};
use api::{ApiConfig, AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::testing::{self, TestStore};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn assert_problem(&self, status: StatusCode, kind: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        let body = self.json();
        assert_eq!(
            body["type"],
            format!("https://uri.etsi.org/ngsi-ld/errors/{kind}"),
            "{body}"
        );
        assert_eq!(body["status"], status.as_u16());
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn post(path: &str, key: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/ld+json");
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

struct TestApp {
    app: Router,
    gateway: String,
    operator: String,
    store: TestStore,
}

async fn app() -> TestApp {
    let store = testing::sqlite().await;
    let keys = Keys::new(store::Store::clone(&store));
    let gateway = keys.create("gateway", Role::Agent).await.unwrap().secret;
    let operator = keys
        .create("operator", Role::Operator)
        .await
        .unwrap()
        .secret;
    let sensors = Arc::new(
        sensors::platform::Sensors::open(store::Store::clone(&store), Default::default())
            .await
            .unwrap(),
    );
    let app = api::router(
        AppState::new(store::Store::clone(&store), ApiConfig::default()).with_sensors(sensors),
    );
    TestApp {
        app,
        gateway,
        operator,
        store,
    }
}

fn counter(name: &str, hour: u32, intensity: f64) -> Value {
    json!({
        "id": format!("urn:ngsi-ld:TrafficFlowObserved:{name}"),
        "type": "TrafficFlowObserved",
        "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "intensity": {"type": "Property", "value": intensity, "observedAt": format!("2026-11-{:02}T{:02}:00:00Z", 1 + hour / 24, hour % 24), "unitCode": "E50"},
        "laneId": {"type": "Property", "value": "1"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.38, 48.85]}},
    })
}

async fn count(store: &store::Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn entities_are_created_upserted_queried_and_read_over_time() {
    let t = app().await;
    let created = send(
        &t.app,
        post(
            "/ngsi-ld/v1/entities",
            Some(&t.gateway),
            &counter("voltaire", 0, 120.0).to_string(),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    send(
        &t.app,
        post(
            "/ngsi-ld/v1/entities",
            Some(&t.gateway),
            &counter("voltaire", 0, 120.0).to_string(),
        ),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "AlreadyExists");

    let batch: Vec<Value> = (1..48)
        .map(|h| counter("voltaire", h, 100.0 + h as f64))
        .chain([counter("bastille", 5, 80.0)])
        .collect();
    let upserted = send(
        &t.app,
        post(
            "/ngsi-ld/v1/entityOperations/upsert",
            Some(&t.gateway),
            &Value::Array(batch.clone()).to_string(),
        ),
    )
    .await;
    assert_eq!(upserted.status, StatusCode::CREATED, "{}", upserted.body);
    assert_eq!(
        upserted.json(),
        json!(["urn:ngsi-ld:TrafficFlowObserved:bastille"])
    );
    let again = send(
        &t.app,
        post(
            "/ngsi-ld/v1/entityOperations/upsert",
            Some(&t.gateway),
            &Value::Array(batch).to_string(),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "every entity existed");
    assert_eq!(
        count(&t.store, "sensor_points").await,
        49,
        "repeats stored once"
    );

    let entity = send(
        &t.app,
        get("/ngsi-ld/v1/entities/urn:ngsi-ld:TrafficFlowObserved:voltaire"),
    )
    .await
    .json();
    assert_eq!(entity["intensity"]["value"], 147.0);
    assert_eq!(entity["intensity"]["observedAt"], "2026-11-02T23:00:00Z");
    assert_eq!(
        entity["location"]["value"]["coordinates"],
        json!([2.38, 48.85])
    );

    let found = send(
        &t.app,
        get("/ngsi-ld/v1/entities?type=TrafficFlowObserved&q=intensity%3E100"),
    )
    .await
    .json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    let found = send(
        &t.app,
        get("/ngsi-ld/v1/entities?type=TrafficFlowObserved&q=laneId==%221%22;intensity%3C=100"),
    )
    .await
    .json();
    assert_eq!(found[0]["id"], "urn:ngsi-ld:TrafficFlowObserved:bastille");

    let last = send(
        &t.app,
        get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:TrafficFlowObserved:voltaire?lastN=3"),
    )
    .await
    .json();
    let instances = last["intensity"].as_array().unwrap();
    assert_eq!(instances.len(), 3);
    assert_eq!(instances[2]["value"], 147.0);
    let between = send(&t.app, get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:TrafficFlowObserved:voltaire?timerel=between&timeAt=2026-11-01T00:00:00Z&endTimeAt=2026-11-01T06:00:00Z")).await.json();
    assert_eq!(between["intensity"].as_array().unwrap().len(), 6);
    let before = send(&t.app, get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:TrafficFlowObserved:voltaire?timerel=before&timeAt=2026-11-01T02:00:00Z")).await.json();
    assert_eq!(before["intensity"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_input_gets_problem_details_and_stores_nothing() {
    let t = app().await;
    let key = Some(t.gateway.as_str());
    let no_zone = json!({"id": "urn:x:a", "type": "T", "v": {"type": "Property", "value": 1, "observedAt": "2026-11-01T00:00:00"}});
    let unknown_member = json!({"id": "urn:x:a", "type": "T", "v": {"type": "Property", "value": 1, "colour": "red"}});
    let wrong_type = json!({"id": "urn:x:a", "type": "T", "v": {"type": "Thing", "value": 1}});
    let no_id = json!({"type": "T"});
    let null_value =
        json!({"id": "urn:x:a", "type": "T", "v": {"type": "Property", "value": null}});
    for body in [no_zone, unknown_member, wrong_type, no_id, null_value] {
        send(&t.app, post("/ngsi-ld/v1/entities", key, &body.to_string()))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    }
    for body in [
        "{\"id\": \"urn:x:a\", \"type\": \"T\", \"v\": {\"type\": \"Property\", \"value\": NaN}}",
        "{nope",
        "[1, 2",
    ] {
        send(&t.app, post("/ngsi-ld/v1/entities", key, body))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "InvalidRequest");
    }
    // A batch with one bad entity stores none of it.
    let batch =
        json!([counter("a", 1, 1.0), {"id": "urn:x:b", "type": "T", "v": {"type": "Property"}}]);
    send(
        &t.app,
        post(
            "/ngsi-ld/v1/entityOperations/upsert",
            key,
            &batch.to_string(),
        ),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    let oversize: Vec<Value> = (0..1001)
        .map(|i| counter(&format!("c{i}"), 1, 1.0))
        .collect();
    send(
        &t.app,
        post(
            "/ngsi-ld/v1/entityOperations/upsert",
            key,
            &Value::Array(oversize).to_string(),
        ),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    send(
        &t.app,
        post("/ngsi-ld/v1/entityOperations/upsert", key, "{}"),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    assert_eq!(count(&t.store, "sensor_entities").await, 0);
    assert_eq!(count(&t.store, "sensor_points").await, 0);

    // Writes need a key; reads of unknown things are ResourceNotFound; bad queries BadRequestData.
    let reply = send(
        &t.app,
        post(
            "/ngsi-ld/v1/entities",
            None,
            &counter("a", 1, 1.0).to_string(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    send(&t.app, get("/ngsi-ld/v1/entities/urn:x:none"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "ResourceNotFound");
    send(&t.app, get("/ngsi-ld/v1/temporal/entities/urn:x:none"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "ResourceNotFound");
    send(&t.app, get("/ngsi-ld/v1/entities?q=v%3E1"))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    send(&t.app, get("/ngsi-ld/v1/entities?type=T&q=v~1"))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    send(
        &t.app,
        get("/ngsi-ld/v1/temporal/entities/urn:x:none?timerel=between&timeAt=2026-11-01T00:00:00Z"),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "BadRequestData");
    send(&t.app, get("/ngsi-ld/v1/nowhere"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "ResourceNotFound");
}

#[tokio::test]
async fn a_spike_raises_an_alert_listed_for_operators() {
    let t = app().await;
    let key = Some(t.gateway.as_str());
    let steady: Vec<Value> = (0..300)
        .map(|h| counter("nation", h, 100.0 + (h % 5) as f64))
        .collect();
    for chunk in steady.chunks(100) {
        let reply = send(
            &t.app,
            post(
                "/ngsi-ld/v1/entityOperations/upsert?options=update",
                key,
                &Value::Array(chunk.to_vec()).to_string(),
            ),
        )
        .await;
        assert!(reply.status.is_success(), "{}", reply.body);
    }
    let reply = send(
        &t.app,
        post(
            "/ngsi-ld/v1/entityOperations/upsert?options=update",
            key,
            &json!([counter("nation", 300, 2000.0)]).to_string(),
        ),
    )
    .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    let alerts = send(
        &t.app,
        Request::get("/api/alerts")
            .header(header::AUTHORIZATION, format!("Bearer {}", t.operator))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(alerts.status, StatusCode::OK, "{}", alerts.body);
    let alerts = alerts.json();
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts[0]["attribute"], "intensity");
    assert_eq!(alerts[0]["value"], 2000.0);
    // The alert is an automated decision in the audit log.
    let records = t.store.audit_records(None, None).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].kind, "alert");
    assert_eq!(records[0].algorithm, "anomaly-detection");
    assert!(records[0].inputs.contains("intensity"));
    let refused = send(
        &t.app,
        Request::get("/api/alerts")
            .header(header::AUTHORIZATION, format!("Bearer {}", t.gateway))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_series_is_forecast_beside_the_seasonal_naive_baseline() {
    let t = app().await;
    // Three weeks of hourly counts with a daily shape (busy 8:00–20:00).
    let hours: Vec<Value> = (0..21 * 24)
        .map(|h| {
            let busy = (8..20).contains(&(h % 24));
            counter("rivoli", h, if busy { 500.0 } else { 100.0 })
        })
        .collect();
    for chunk in hours.chunks(500) {
        let reply = send(
            &t.app,
            post(
                "/ngsi-ld/v1/entityOperations/upsert?options=update",
                Some(&t.gateway),
                &Value::Array(chunk.to_vec()).to_string(),
            ),
        )
        .await;
        assert!(reply.status.is_success(), "{}", reply.body);
    }
    let reply = send(&t.app, get("/api/sensors/forecast?entity=urn:ngsi-ld:TrafficFlowObserved:rivoli&attribute=intensity&horizon=24")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let points = reply.json();
    let points = points.as_array().unwrap();
    assert_eq!(points.len(), 24);
    // The data ends at 23:00 on day 21: the next step is midnight (quiet), 10:00 is busy.
    assert_eq!(points[0]["at"], "2026-11-22T00:00:00Z");
    assert!(
        (points[0]["forecast"].as_f64().unwrap() - 100.0).abs() < 5.0,
        "{}",
        points[0]
    );
    assert!(
        (points[10]["forecast"].as_f64().unwrap() - 500.0).abs() < 25.0,
        "{}",
        points[10]
    );
    assert_eq!(points[10]["seasonal_naive"], 500.0);
    let reply = send(
        &t.app,
        get("/api/sensors/forecast?entity=urn:x:none&attribute=intensity"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = send(
        &t.app,
        get("/api/sensors/forecast?entity=urn:x:none&attribute=intensity&step=minute"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
