//! The assistant over HTTP: `POST /api/assistant/ask` and the OpenAI-compatible chat API,
//! including streaming, errors in each protocol's format, and access control.

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

struct TestApp {
    app: Router,
    resident: String,
    agent: String,
    _store: TestStore,
    _dir: tempfile::TempDir,
}

async fn app() -> TestApp {
    let store = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new(store::Store::clone(&store));
    let resident = keys
        .create("borne", Role::ResidentApp)
        .await
        .unwrap()
        .secret;
    let agent = keys.create("guichet", Role::Agent).await.unwrap().secret;
    let assistant = Arc::new(
        assistant::Assistant::open(store::Store::clone(&store), dir.path())
            .await
            .unwrap(),
    );
    let app = api::router(
        AppState::new(store::Store::clone(&store), ApiConfig::default()).with_assistant(assistant),
    );
    TestApp {
        app,
        resident,
        agent,
        _store: store,
        _dir: dir,
    }
}

async fn post(
    app: &Router,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (StatusCode, String, String) {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    (status, content_type, body)
}

#[tokio::test]
async fn ask_answers_with_citations_and_a_conversation() {
    let t = app().await;
    let (status, _, body) = post(
        &t.app,
        "/api/assistant/ask",
        Some(&t.resident),
        r#"{"question": "comment faire enlever un vieux canapé ?"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["abstained"], false, "{body}");
    assert_eq!(answer["citations"][0]["id"], "paris-encombrants");
    assert!(
        answer["citations"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(answer["answer"].as_str().unwrap().contains("[1]"));
    assert_eq!(answer["lang"], "fr");

    let follow_up =
        json!({"question": "et par téléphone ?", "conversation_id": answer["conversation_id"]})
            .to_string();
    let (status, _, body) = post(&t.app, "/api/assistant/ask", Some(&t.resident), &follow_up).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(second["conversation_id"], answer["conversation_id"]);

    // Each answer is an automated decision in the audit log, chained and with its sources.
    let records = t._store.audit_records(None, None).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(governance::audit::verify(&records, None), Ok(2));
    assert_eq!(records[0].algorithm, "assistant-answering");
    assert!(records[0].output.contains("paris-encombrants"));
    assert!(records[1].inputs.contains("et par téléphone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_answers_are_all_stored_with_one_audit_record_each() {
    let t = app().await;
    let asks: Vec<_> = (0..40)
        .map(|i| {
            let app = t.app.clone();
            let key = t.resident.clone();
            tokio::spawn(async move {
                let body =
                    json!({"question": format!("horaires de la piscine n°{i} ?")}).to_string();
                post(&app, "/api/assistant/ask", Some(&key), &body).await
            })
        })
        .collect();
    for ask in asks {
        let (status, _, body) = ask.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Turns are committed in groups; each answer was acknowledged only once stored.
    let turns: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assistant_turns")
        .fetch_one(t._store.reader())
        .await
        .unwrap();
    assert_eq!(turns, 40);
    let records = t._store.audit_records(None, None).await.unwrap();
    assert_eq!(governance::audit::verify(&records, None), Ok(40));
}

#[tokio::test]
async fn ask_rejects_bad_input_with_catalogue_errors() {
    let t = app().await;
    let cases = [
        (
            r#"{"question": ""}"#,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            &*format!(r#"{{"question": "{}"}}"#, "a".repeat(10_000)),
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            r#"{"question": "x", "lang": "de"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            r#"{"question": "x", "mode": "god"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            r#"{"question": "x", "mode": "agent"}"#,
            StatusCode::FORBIDDEN,
            "insufficient_role",
        ),
        (
            r#"{"question": "bonjour", "conversation_id": "nope"}"#,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            r#"{"question": 3}"#,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            r#"{"question": "#,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
    ];
    for (body, status, code) in cases {
        let (got, _, text) = post(&t.app, "/api/assistant/ask", Some(&t.resident), body).await;
        assert_eq!(got, status, "{body}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["code"], code, "{body}: {text}");
    }
    let (status, _, _) = post(&t.app, "/api/assistant/ask", None, r#"{"question": "x"}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Invalid UTF-8 is not JSON.
    let request = Request::post("/api/assistant/ask")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.resident))
        .body(Body::from(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']))
        .unwrap();
    let response = t.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn agent_mode_lists_sheet_ids_for_agents() {
    let t = app().await;
    let (status, _, body) = post(
        &t.app,
        "/api/assistant/ask",
        Some(&t.agent),
        r#"{"question": "inscription sur les listes électorales", "mode": "agent"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(
        answer["answer"]
            .as_str()
            .unwrap()
            .contains("paris-listes-electorales"),
        "{body}"
    );
}

#[tokio::test]
async fn chat_completions_answer_like_openai() {
    let t = app().await;
    let request = json!({
        "model": "parvis-assistant",
        "messages": [
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "comment faire enlever un vieux canapé ?"}
        ]
    });
    let (status, _, body) = post(
        &t.app,
        "/v1/chat/completions",
        Some(&t.resident),
        &request.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let completion: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["choices"][0]["message"]["role"], "assistant");
    assert!(
        completion["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("encombrants")
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert!(completion["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn chat_completions_stream_as_server_sent_events() {
    let t = app().await;
    let request = json!({
        "model": "parvis-assistant",
        "stream": true,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "comment faire enlever un vieux canapé ?"}]}]
    });
    let (status, content_type, body) = post(
        &t.app,
        "/v1/chat/completions",
        Some(&t.resident),
        &request.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(*events.last().unwrap(), "[DONE]");
    let mut text = String::new();
    for event in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(event).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        text.push_str(
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or(""),
        );
    }
    assert!(text.contains("encombrants"), "{text}");
}

#[tokio::test]
async fn chat_errors_use_the_openai_shape() {
    let t = app().await;
    let cases = [
        (json!({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}).to_string(), StatusCode::BAD_REQUEST),
        (json!({"model": "parvis-assistant", "messages": []}).to_string(), StatusCode::BAD_REQUEST),
        (json!({"model": "parvis-assistant", "messages": [{"role": "user", "content": 5}]}).to_string(), StatusCode::BAD_REQUEST),
        (json!({"model": "parvis-assistant-agent", "messages": [{"role": "user", "content": "x"}]}).to_string(), StatusCode::FORBIDDEN),
        ("{not json".to_owned(), StatusCode::BAD_REQUEST),
    ];
    for (body, status) in cases {
        let (got, _, text) = post(&t.app, "/v1/chat/completions", Some(&t.resident), &body).await;
        assert_eq!(got, status, "{body}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{text}"
        );
        assert!(error["error"]["type"].is_string(), "{text}");
    }
    let (status, _, text) = post(&t.app, "/v1/chat/completions", None, "{}").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn models_are_listed() {
    let t = app().await;
    let request = Request::get("/v1/models")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.resident))
        .body(Body::empty())
        .unwrap();
    let response = t.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["parvis-assistant", "parvis-assistant-agent"]);
}
