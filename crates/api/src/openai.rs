//! The OpenAI-compatible chat API (`POST /v1/chat/completions`, with `stream: true` as
//! server-sent events, and `GET /v1/models`), so existing chat clients and front-ends talk to
//! the assistant unchanged. The conversation is the request's `messages`: the last user message
//! is the question, the one before it gives the context of a follow-up.
//!
//! Errors use OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the
//! catalogue's status and code.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::assistant_routes::{citation_dto, parse_mode};
use crate::auth::{Auth, role};
use crate::error::{ApiError, Code};
use crate::extract::ApiJson;

/// The model for residents.
pub const RESIDENT_MODEL: &str = "parvis-assistant";
/// The model for counter agents (agent role): denser answers, every matching sheet.
pub const AGENT_MODEL: &str = "parvis-assistant-agent";

/// An error in OpenAI's shape.
#[derive(Debug)]
pub struct OpenAiError(pub ApiError);

impl From<ApiError> for OpenAiError {
    fn from(error: ApiError) -> Self {
        OpenAiError(error)
    }
}

#[derive(Serialize, ToSchema)]
pub struct OpenAiErrorBody {
    error: OpenAiErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct OpenAiErrorDetail {
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<String>,
    code: String,
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let kind = match self.0.code {
            Code::MissingApiKey | Code::InvalidApiKey => "authentication_error",
            Code::InsufficientRole => "permission_error",
            Code::NotFound | Code::RouteNotFound => "not_found_error",
            Code::Internal | Code::StoreUnavailable | Code::Timeout | Code::Unavailable => {
                "server_error"
            }
            _ => "invalid_request_error",
        };
        let body = OpenAiErrorBody {
            error: OpenAiErrorDetail {
                message: self.0.message.clone(),
                kind,
                param: None,
                code: self.0.code.as_str().to_owned(),
            },
        };
        (self.0.status(), Json(body)).into_response()
    }
}

/// One message of a chat.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (or `developer`, `tool`: ignored).
    pub role: String,
    /// The text (a string, or an array of `{type: "text", text}` parts).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// Body of `POST /v1/chat/completions` (the fields Parvis uses; others are accepted and ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatRequest {
    #[schema(example = "parvis-assistant")]
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub stream: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponse {
    id: String,
    object: &'static str,
    created: u64,
    model: String,
    choices: Vec<ChatChoice>,
    usage: Usage,
    /// Parvis extension: the sources the answer cites.
    citations: Vec<crate::assistant_routes::CitationDto>,
    /// Parvis extension: whether the assistant abstained and handed off.
    abstained: bool,
    /// Parvis extension: calibrated confidence.
    confidence: f32,
}

#[derive(Debug, Serialize, ToSchema)]
struct ChatChoice {
    index: u32,
    message: AssistantMessage,
    finish_reason: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
struct AssistantMessage {
    role: &'static str,
    content: String,
}

/// Token counts, approximated by words (Parvis runs no tokenizer).
#[derive(Debug, Serialize, ToSchema)]
struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    object: &'static str,
    data: Vec<Model>,
}

#[derive(Debug, Serialize, ToSchema)]
struct Model {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn text_of(content: &serde_json::Value) -> Result<String, ApiError> {
    match content {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Array(parts) => Ok(parts
            .iter()
            .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join("\n")),
        serde_json::Value::Null => Ok(String::new()),
        _ => Err(ApiError::invalid(
            "message content must be a string or an array of text parts",
        )),
    }
}

/// The models the assistant answers as.
#[utoipa::path(get, path = "/v1/models", tag = "assistant",
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The models", body = ModelList)))]
pub(crate) async fn models(
    auth: Result<Auth<role::ResidentApp>, ApiError>,
) -> Result<Json<ModelList>, OpenAiError> {
    auth?;
    let data = [RESIDENT_MODEL, AGENT_MODEL]
        .into_iter()
        .map(|id| Model {
            id,
            object: "model",
            created: 0,
            owned_by: "parvis",
        })
        .collect();
    Ok(Json(ModelList {
        object: "list",
        data,
    }))
}

/// OpenAI-compatible chat completion over the assistant (`stream: true` answers as
/// server-sent events ending with `data: [DONE]`).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "assistant",
    security(("bearer" = []), ("api_key" = [])),
    request_body = ChatRequest,
    responses(
        (status = 200, description = "A chat completion (or an event stream when stream is true)", body = ChatResponse),
        (status = 400, description = "Malformed body, no user message, unknown model", body = OpenAiErrorBody),
        (status = 401, description = "No key or an invalid key", body = OpenAiErrorBody),
    ))]
pub(crate) async fn chat_completions(
    auth: Result<Auth<role::ResidentApp>, ApiError>,
    State(state): State<AppState>,
    body: Result<ApiJson<ChatRequest>, ApiError>,
) -> Result<Response, OpenAiError> {
    let auth = auth?;
    let ApiJson(request) = body?;
    let mode = match request.model.as_str() {
        RESIDENT_MODEL => parse_mode(Some("resident"), auth.principal.role)?,
        AGENT_MODEL => parse_mode(Some("agent"), auth.principal.role)?,
        other => {
            return Err(ApiError::invalid(format!(
                "unknown model {other:?}: use {RESIDENT_MODEL} or {AGENT_MODEL}"
            ))
            .into());
        }
    };
    let mut user_messages = Vec::new();
    for message in &request.messages {
        if message.role == "user" {
            user_messages.push(text_of(&message.content)?);
        }
    }
    let Some(question) = user_messages.last().cloned() else {
        return Err(ApiError::invalid("messages must contain at least one user message").into());
    };
    let question = question.trim().to_owned();
    if question.is_empty() || question.chars().count() > assistant::service::MAX_QUESTION_CHARS {
        return Err(ApiError::invalid(format!(
            "the question must have 1 to {} characters",
            assistant::service::MAX_QUESTION_CHARS
        ))
        .into());
    }
    let previous = user_messages
        .len()
        .checked_sub(2)
        .map(|i| user_messages[i].clone());
    let first_turn = user_messages.len() == 1;
    let answer = state
        .assistant()?
        .respond(&question, mode, previous.as_deref(), first_turn, None)
        .await
        .map_err(ApiError::from)?;

    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = now_secs();
    let prompt_tokens: usize = user_messages
        .iter()
        .map(|m| m.split_whitespace().count())
        .sum();
    if request.stream {
        let mut events: Vec<Result<Event, Infallible>> = Vec::new();
        let chunk = |delta: serde_json::Value, finish: Option<&str>| {
            serde_json::json!({
                "id": id, "object": "chat.completion.chunk", "created": created, "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            })
        };
        events.push(Ok(Event::default().data(
            chunk(
                serde_json::json!({"role": "assistant", "content": ""}),
                None,
            )
            .to_string(),
        )));
        for piece in answer.text.split_inclusive('\n') {
            events.push(Ok(Event::default().data(
                chunk(serde_json::json!({"content": piece}), None).to_string(),
            )));
        }
        events.push(Ok(
            Event::default().data(chunk(serde_json::json!({}), Some("stop")).to_string())
        ));
        events.push(Ok(Event::default().data("[DONE]")));
        return Ok(Sse::new(futures_util::stream::iter(events)).into_response());
    }
    let completion_tokens = answer.text.split_whitespace().count();
    Ok(Json(ChatResponse {
        id,
        object: "chat.completion",
        created,
        model: request.model,
        choices: vec![ChatChoice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: answer.text.clone(),
            },
            finish_reason: "stop",
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
        citations: answer.citations.iter().map(citation_dto).collect(),
        abstained: answer.abstained.is_some(),
        confidence: answer.confidence,
    })
    .into_response())
}
