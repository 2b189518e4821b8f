//! `POST /api/assistant/ask`: a question in, a cited answer (or an abstention with its
//! hand-off) out, within a conversation.

use access::Role;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Auth, role};
use crate::error::{ApiError, Code, ErrorBody};
use crate::extract::ApiJson;

/// Body of `POST /api/assistant/ask`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question, 1 to 2,000 characters.
    #[schema(example = "comment faire enlever un vieux canapé ?")]
    pub question: String,
    /// `fr` or `en`; detected from the question when absent.
    pub lang: Option<String>,
    /// Continue a conversation (follow-up questions are understood in its context).
    pub conversation_id: Option<String>,
    /// `resident` (default) or `agent` (denser, every matching sheet with its id; agent role).
    pub mode: Option<String>,
}

/// A source an answer cites.
#[derive(Debug, Serialize, ToSchema)]
pub struct CitationDto {
    /// The number used in the answer's `[n]` marks.
    pub n: usize,
    /// The sheet's id (`F1234`, `paris-encombrants`).
    pub id: String,
    pub title: String,
    pub url: String,
    /// The heading path and text of the cited passage.
    pub passage: String,
}

/// Answer of `POST /api/assistant/ask`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AskAnswer {
    /// The answer, every line ending with its `[n]` citation, then the sources.
    pub answer: String,
    pub citations: Vec<CitationDto>,
    /// Calibrated confidence in [0, 1] that the cited sheet answers the question.
    pub confidence: f32,
    /// True when the assistant did not answer and handed off to a person instead.
    pub abstained: bool,
    /// Why it abstained: `low_confidence`, `out_of_scope`, `manipulation`, `personal_advice`, `off_limits`.
    pub abstention_reason: Option<String>,
    /// `fr` or `en`.
    pub lang: String,
    pub conversation_id: String,
}

pub(crate) fn parse_lang(lang: Option<&str>) -> Result<Option<assistant::Lang>, ApiError> {
    match lang {
        None => Ok(None),
        Some("fr") => Ok(Some(assistant::Lang::Fr)),
        Some("en") => Ok(Some(assistant::Lang::En)),
        Some(other) => Err(ApiError::invalid(format!(
            "lang must be fr or en, not {other:?}"
        ))),
    }
}

pub(crate) fn parse_mode(mode: Option<&str>, role: Role) -> Result<assistant::Mode, ApiError> {
    match mode {
        None | Some("resident") => Ok(assistant::Mode::Resident),
        Some("agent") if role.satisfies(Role::Agent) => Ok(assistant::Mode::Agent),
        Some("agent") => Err(ApiError::new(
            Code::InsufficientRole,
            "agent mode needs the agent role",
        )),
        Some(other) => Err(ApiError::invalid(format!(
            "mode must be resident or agent, not {other:?}"
        ))),
    }
}

pub(crate) fn citation_dto(citation: &assistant::Citation) -> CitationDto {
    let mut passage = citation.headings.join(" › ");
    if !passage.is_empty() {
        passage.push('\n');
    }
    passage.push_str(&citation.passage);
    CitationDto {
        n: citation.n,
        id: citation.sheet_id.clone(),
        title: citation.title.clone(),
        url: citation.url.clone(),
        passage,
    }
}

/// Asks the assistant. Every answer cites its sources; when unsure, it abstains and says whom
/// to contact. The first answer of a conversation says that an automated assistant answers.
#[utoipa::path(post, path = "/api/assistant/ask", tag = "assistant",
    security(("bearer" = []), ("api_key" = [])),
    request_body = AskBody,
    responses(
        (status = 200, description = "An answer or an abstention with its hand-off", body = AskAnswer),
        (status = 400, description = "Empty or too long question, invalid field, malformed JSON", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Agent mode without the agent role", body = ErrorBody),
        (status = 404, description = "Unknown conversation", body = ErrorBody),
    ))]
pub(crate) async fn ask(
    auth: Auth<role::ResidentApp>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Json<AskAnswer>, ApiError> {
    let assistant = state.assistant()?;
    let lang = parse_lang(body.lang.as_deref())?;
    let mode = parse_mode(body.mode.as_deref(), auth.principal.role)?;
    let response = assistant
        .ask(assistant::AskRequest {
            question: body.question,
            lang,
            mode,
            conversation_id: body.conversation_id,
        })
        .await?;
    let answer = response.answer;
    Ok(Json(AskAnswer {
        citations: answer.citations.iter().map(citation_dto).collect(),
        confidence: answer.confidence,
        abstained: answer.abstained.is_some(),
        abstention_reason: answer.abstained.map(|a| a.as_str().to_owned()),
        lang: answer.lang.as_str().to_owned(),
        answer: answer.text,
        conversation_id: response.conversation_id,
    }))
}
