//! The optional generative mode: a draft from an OpenAI-compatible chat endpoint is served
//! only when it passes the grounding checks; otherwise (or when the model is down) the
//! extractive answer is. The endpoint is an in-process stand-in speaking the protocol.

use std::sync::{Arc, Mutex};

use assistant::generate::{Generator, LlmConfig};
use assistant::{AskRequest, Assistant, Mode};
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use store::testing;

type Reply = Arc<Mutex<String>>;

async fn completions(State(reply): State<Reply>, Json(body): Json<Value>) -> Json<Value> {
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("[1]"),
        "excerpts are numbered"
    );
    let content = reply.lock().unwrap().clone();
    Json(
        json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}),
    )
}

async fn serve_llm(reply: Reply) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(reply);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/v1")
}

fn generator(url: String) -> Generator {
    Generator::new(LlmConfig {
        url,
        model: "stand-in".into(),
        api_key: None,
    })
    .unwrap()
}

fn ask(question: &str) -> AskRequest {
    AskRequest {
        question: question.into(),
        lang: None,
        mode: Mode::Resident,
        conversation_id: None,
    }
}

#[tokio::test]
async fn grounded_drafts_are_served_and_others_fall_back_to_the_extractive_answer() {
    let store = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let reply: Reply = Arc::new(Mutex::new(String::new()));
    let url = serve_llm(reply.clone()).await;
    let assistant = Assistant::open(store.clone(), dir.path())
        .await
        .unwrap()
        .with_generator(Some(generator(url)));
    let question = "comment faire enlever un vieux canapé ?";

    *reply.lock().unwrap() = "La Ville enlève vos encombrants sur rendez-vous [1].".into();
    let answer = assistant.ask(ask(question)).await.unwrap().answer;
    assert!(answer.generated, "{}", answer.text);
    assert!(
        answer
            .text
            .contains("La Ville enlève vos encombrants sur rendez-vous [1].")
    );
    assert!(answer.text.contains("Sources"), "sources follow the draft");
    assert!(answer.unsupported.is_empty());

    for bad in [
        "Appelez le 01 23 45 67 89 pour un rendez-vous [1].",
        "Voir https://example.org/encombrants [1].",
        "La Ville enlève vos encombrants.",
        "La Ville enlève vos encombrants [9].",
    ] {
        *reply.lock().unwrap() = bad.into();
        let answer = assistant.ask(ask(question)).await.unwrap().answer;
        assert!(!answer.generated, "{bad}");
        assert!(!answer.text.contains(bad), "{bad}");
        assert_eq!(answer.citations[0].sheet_id, "paris-encombrants");
    }
}

#[tokio::test]
async fn a_model_that_is_down_changes_nothing() {
    let store = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let assistant = Assistant::open(store.clone(), dir.path())
        .await
        .unwrap()
        .with_generator(Some(generator("http://127.0.0.1:9/v1".into())));
    let answer = assistant
        .ask(ask("comment faire enlever un vieux canapé ?"))
        .await
        .unwrap()
        .answer;
    assert!(!answer.generated);
    assert_eq!(answer.citations[0].sheet_id, "paris-encombrants");
}
