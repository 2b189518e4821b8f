//! The platform routes in-process (`Router::oneshot`): health, readiness, metrics, errors from the
//! catalogue for every kind of bad input, access control, request ids, compression, OpenAPI.

use std::time::Duration;

use access::{Keys, Role};
use api::{ApiConfig, AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::testing::{self, TestStore};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a catalogue error: the status, the code, a JSON body of exactly two fields.
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.headers[header::CONTENT_TYPE], "application/json");
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn with_key(method: Method, path: &str, key: &str, body: Option<&str>) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

struct TestApp {
    app: Router,
    admin: String,
    agent: String,
    store: TestStore,
}

async fn app_on(store: TestStore, config: ApiConfig) -> TestApp {
    let keys = Keys::new(store::Store::clone(&store));
    let admin = keys.create("admin", Role::Admin).await.unwrap().secret;
    let agent = keys.create("agent", Role::Agent).await.unwrap().secret;
    let app = api::router(AppState::new(store::Store::clone(&store), config));
    TestApp {
        app,
        admin,
        agent,
        store,
    }
}

async fn app() -> TestApp {
    app_on(testing::sqlite().await, ApiConfig::default()).await
}

async fn count_keys(store: &store::Store) -> usize {
    Keys::new(store.clone()).list().await.unwrap().len()
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let t = app().await;
    let reply = send(&t.app, get("/healthz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
    let reply = send(&t.app, get("/readyz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ready", "store": "sqlite"}));
}

#[tokio::test]
async fn readiness_fails_when_the_store_is_gone() {
    let config = ApiConfig {
        readiness_cache: Duration::ZERO,
        ..ApiConfig::default()
    };
    let t = app_on(testing::sqlite().await, config).await;
    t.store.close().await;
    send(&t.app, get("/readyz"))
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
    // Alive all the same.
    assert_eq!(send(&t.app, get("/healthz")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let t = app().await;
    send(&t.app, get("/healthz")).await;
    send(
        &t.app,
        with_key(Method::DELETE, "/api/v1/keys/nope", &t.admin, None),
    )
    .await;
    send(&t.app, get("/no/such/route")).await;
    let reply = send(&t.app, get("/metrics")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = String::from_utf8(reply.body).unwrap();
    assert!(
        text.contains(
            r#"parvis_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"parvis_http_requests_total{method="DELETE",route="/api/v1/keys/{id}",status="404"} 1"#), "{text}");
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        text.contains("parvis_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_get_catalogue_errors() {
    let t = app().await;
    send(&t.app, get("/nowhere"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "route_not_found");
    let reply = send(
        &t.app,
        Request::post("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(reply.headers.contains_key(header::ALLOW));
}

#[tokio::test]
async fn keys_are_required_checked_and_roles_enforced() {
    let t = app().await;
    let reply = send(&t.app, get("/api/v1/keys")).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "missing_api_key");
    assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
    let wrong = format!("{}x", &t.admin[..t.admin.len() - 1]);
    send(&t.app, with_key(Method::GET, "/api/v1/keys", &wrong, None))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    let basic = Request::get("/api/v1/keys")
        .header(header::AUTHORIZATION, "Basic YTpi")
        .body(Body::empty())
        .unwrap();
    send(&t.app, basic)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    send(
        &t.app,
        with_key(Method::GET, "/api/v1/keys", &t.agent, None),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_role");

    let reply = send(
        &t.app,
        with_key(Method::GET, "/api/v1/keys", &t.admin, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json().as_array().unwrap().len(), 2);
    // X-API-Key works as well as Authorization.
    let reply = send(
        &t.app,
        Request::get("/api/v1/me")
            .header("x-api-key", &t.agent)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.json()["role"], "agent");
}

#[tokio::test]
async fn bad_bodies_get_catalogue_errors_and_write_nothing() {
    let config = ApiConfig {
        body_limit: 1024,
        ..ApiConfig::default()
    };
    let t = app_on(testing::sqlite().await, config).await;
    let post = |body: &str| with_key(Method::POST, "/api/v1/keys", &t.admin, Some(body));

    send(&t.app, post("{\"name\": "))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "malformed_json");
    send(&t.app, post("{\"name\": 3, \"role\": \"agent\"}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_parameter");
    send(
        &t.app,
        post("{\"name\": \"a\", \"role\": \"agent\", \"extra\": 1}"),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_parameter");
    send(&t.app, post("{\"name\": \"a\", \"role\": \"root\"}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_parameter");
    send(&t.app, post("{\"name\": \"  \", \"role\": \"agent\"}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_parameter");
    let big = format!(
        "{{\"name\": \"{}\", \"role\": \"agent\"}}",
        "x".repeat(4096)
    );
    send(&t.app, post(&big))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let form = Request::post("/api/v1/keys")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=a&role=agent"))
        .unwrap();
    send(&t.app, form)
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

    assert_eq!(
        count_keys(&t.store).await,
        2,
        "nothing written by rejected requests"
    );
}

#[tokio::test]
async fn an_accepted_write_is_committed_before_the_answer_on_every_backend() {
    for store in testing::backends().await {
        let name = store.name;
        let t = app_on(store, ApiConfig::default()).await;
        let reply = send(
            &t.app,
            with_key(
                Method::POST,
                "/api/v1/keys",
                &t.admin,
                Some(r#"{"name": "borne 12", "role": "resident-app"}"#),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}");
        let created = reply.json();
        assert_eq!(created["role"], "resident-app");
        let secret = created["secret"].as_str().unwrap();

        // A fresh handle on the same database sees the key, and the key works.
        assert_eq!(count_keys(&t.store).await, 3, "{name}");
        let reply = send(&t.app, with_key(Method::GET, "/api/v1/me", secret, None)).await;
        assert_eq!(reply.json()["name"], "borne 12", "{name}");

        let id = created["id"].as_str().unwrap();
        let reply = send(
            &t.app,
            with_key(
                Method::DELETE,
                &format!("/api/v1/keys/{id}"),
                &t.admin,
                None,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        send(&t.app, with_key(Method::GET, "/api/v1/me", secret, None))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
        send(
            &t.app,
            with_key(Method::DELETE, "/api/v1/keys/nope", &t.admin, None),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn request_ids_are_set_or_echoed() {
    let t = app().await;
    let reply = send(&t.app, get("/healthz")).await;
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let reply = send(
        &t.app,
        Request::get("/healthz")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn large_answers_are_gzipped_when_asked() {
    let t = app().await;
    let reply = send(
        &t.app,
        Request::get("/openapi.json")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.headers[header::CONTENT_ENCODING], "gzip");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&reply.body[..]),
        &mut text,
    )
    .unwrap();
    assert!(text.contains("\"openapi\""));
}

#[tokio::test]
async fn panics_and_timeouts_become_catalogue_errors() {
    let t = app().await;
    let state = AppState::new(
        store::Store::clone(&t.store),
        ApiConfig {
            request_timeout: Duration::from_millis(50),
            ..ApiConfig::default()
        },
    );
    let routes = Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                if std::hint::black_box(true) {
                    panic!("deliberate");
                }
                "unreachable"
            }),
        )
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let app = api::middleware::wrap(routes, state);
    send(&app, get("/boom"))
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    send(&app, get("/slow"))
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
}

/// The committed `openapi.json` is the description the code generates. To update it after a
/// deliberate change: `PARVIS_UPDATE_OPENAPI=1 cargo test -p api --test http`.
#[test]
fn openapi_json_is_up_to_date() {
    let generated = api::openapi().to_pretty_json().unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("PARVIS_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is stale: rerun with PARVIS_UPDATE_OPENAPI=1"
    );
}

#[tokio::test]
async fn every_described_operation_is_routed_and_every_secured_one_needs_a_key() {
    let t = app().await;
    let spec = serde_json::to_value(api::openapi()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 6);
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let concrete = path.replace("{id}", "nope");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let request = Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let reply = send(&t.app, request).await;
            let code = if reply.status.is_success() {
                Value::Null
            } else {
                reply.json()["code"].clone()
            };
            assert_ne!(
                code, "route_not_found",
                "{method} {path} is described but not routed"
            );
            assert_ne!(
                code, "method_not_allowed",
                "{method} {path} is described but not routed"
            );
            if operation.get("security").is_some() {
                assert_eq!(
                    reply.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is secured"
                );
            }
        }
    }
}

#[tokio::test]
async fn mobility_status_shows_what_the_controller_recorded() {
    let t = app().await;
    let reply = send(&t.app, get("/api/mobility/status")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"intersections": [], "plan_changes": 0})
    );
    t.store
        .record_signals(
            &[store::signals::PlanChange {
                intersection: "B1".into(),
                controller: "wave".into(),
                sim_time: 40.0,
                from_phase: 0,
                to_phase: 1,
                state: "rrGG".into(),
                reason: "controller".into(),
            }],
            &[store::signals::SignalStatus {
                intersection: "B1".into(),
                controller: "wave".into(),
                phase: 1,
                phases: 2,
                state: "rrGG".into(),
                yellow: true,
                queue: 4.0,
                sim_time: 40.0,
                updated_at: String::new(),
            }],
        )
        .await
        .unwrap();
    let body = send(&t.app, get("/api/mobility/status")).await.json();
    assert_eq!(body["plan_changes"], 1);
    assert_eq!(body["intersections"][0]["id"], "B1");
    assert_eq!(body["intersections"][0]["yellow"], true);
    assert_eq!(body["intersections"][0]["phase"], 1);
}

#[tokio::test]
async fn the_register_shows_performance_from_recorded_runs_only() {
    let t = app().await;
    let body = send(&t.app, get("/api/register")).await.json();
    let algorithms = body["algorithms"].as_array().unwrap();
    assert!(algorithms.len() >= 9);
    let redaction = algorithms.iter().find(|a| a["id"] == "redaction").unwrap();
    assert!(redaction["performance"][0]["value"].is_null());
    t.store
        .record_run(&store::runs::BenchmarkRun {
            suite: "redaction-eval:heldout4.jsonl".into(),
            command: "parvis redact --eval eval/redaction/heldout4.jsonl".into(),
            machine: "test".into(),
            started_at: "2026-11-26T07:52:00.000000Z".into(),
            finished_at: "2026-11-26T07:52:55.000000Z".into(),
            results: r#"{"nir": {"precision": 1.0, "recall": 1.0}}"#.into(),
        })
        .await
        .unwrap();
    let body = send(&t.app, get("/api/register")).await.json();
    let redaction = body["algorithms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "redaction")
        .unwrap()
        .clone();
    assert_eq!(redaction["performance"][0]["value"]["nir"], 1.0);
    assert_eq!(
        redaction["performance"][0]["measured_by"]["date"],
        "2026-11-26T07:52:55.000000Z"
    );

    let one = send(&t.app, get("/api/register/redaction")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["performance"][0]["value"]["nir"], 1.0);
    let unknown = send(&t.app, get("/api/register/face-recognition")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let message = unknown.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("no algorithm \"face-recognition\"")
            && message.contains("request-routing"),
        "{message}"
    );
}
