//! Public pages: the resident assistant's chat, and the operator sign-in.

use std::sync::Arc;

use access::Role;
use api::AppState;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{Ctx, SESSION_COOKIE, Sessions, cookie, layout};

/// Longest question the form accepts, in characters (the API's limit is larger; a chat line
/// from a resident is shorter).
const MAX_QUESTION: usize = 2000;

#[derive(Debug, Deserialize)]
pub struct AskForm {
    question: String,
    #[serde(default)]
    conversation_id: String,
}

fn chat(ctx: &Ctx, conversation: &str, error: Option<&str>, value: &str, turn: Markup) -> Markup {
    layout(
        ctx,
        ctx.t("assistant"),
        html! {
            p class="disclosure" role="note" { (ctx.t("disclosure")) }
            (turn)
            form method="post" action="/assistant" class="ask" {
                input type="hidden" name="conversation_id" value=(conversation);
                label for="question" { (ctx.t("ask_label")) }
                textarea id="question" name="question" rows="3" maxlength=(MAX_QUESTION) required
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "question-error")] { (value) }
                @if let Some(error) = error {
                    p id="question-error" class="field-error" role="alert" { (error) }
                }
                button type="submit" { (ctx.t("ask_button")) }
            }
        },
    )
}

pub async fn assistant(ctx: Ctx) -> Markup {
    chat(&ctx, "", None, "", html! {})
}

pub async fn ask(ctx: Ctx, State(state): State<AppState>, Form(form): Form<AskForm>) -> Response {
    let question = form.question.trim();
    let error = if question.is_empty() {
        Some(ctx.t("question_empty"))
    } else if question.chars().count() > MAX_QUESTION {
        Some(ctx.t("question_long"))
    } else {
        None
    };
    if let Some(error) = error {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            chat(&ctx, &form.conversation_id, Some(error), question, html! {}),
        )
            .into_response();
    }
    let Ok(service) = state.assistant() else {
        return crate::error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
    };
    let conversation = Some(form.conversation_id.trim())
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let reply = service
        .ask(assistant::AskRequest {
            question: question.to_owned(),
            lang: None,
            mode: assistant::Mode::Resident,
            conversation_id: conversation.clone(),
        })
        .await;
    // An unknown or expired conversation starts a new one.
    let reply = match reply {
        Err(assistant::AssistantError::UnknownConversation(_)) => {
            service
                .ask(assistant::AskRequest {
                    question: question.to_owned(),
                    lang: None,
                    mode: assistant::Mode::Resident,
                    conversation_id: None,
                })
                .await
        }
        other => other,
    };
    let reply = match reply {
        Ok(reply) => reply,
        Err(assistant::AssistantError::InvalidQuestion(message)) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                chat(&ctx, "", Some(&message), question, html! {}),
            )
                .into_response();
        }
        Err(_) => {
            return crate::error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
        }
    };
    let answer = &reply.answer;
    // The conversation so far (questions as stored: redacted), the new exchange last.
    let mut earlier = service
        .transcript(&reply.conversation_id)
        .await
        .unwrap_or_default();
    earlier.pop();
    let turn = html! {
        @for (q, a) in &earlier {
            section class="turn earlier" {
                p class="question" { strong { (ctx.t("you")) " : " } (q) }
                div class="answer" { (paragraphs(a)) }
            }
        }
        section class="turn" aria-live="polite" {
            p class="question" { strong { (ctx.t("you")) " : " } (question) }
            div class="answer" {
                (paragraphs(&answer.text))
                @if answer.abstained.is_some() {
                    p class="handoff" { (ctx.t("handoff")) }
                }
            }
            @if !answer.citations.is_empty() {
                h2 { (ctx.t("sources")) }
                ol class="sources" {
                    @for c in &answer.citations {
                        li value=(c.n) { a href=(c.url) rel="noopener" { (c.title) } }
                    }
                }
            }
            p class="meta" { (ctx.t("confidence")) " : " (format!("{:.2}", answer.confidence)) }
        }
    };
    chat(&ctx, &reply.conversation_id, None, "", turn).into_response()
}

/// An answer's text as paragraphs (blank lines) and lines (list items, sources).
fn paragraphs(text: &str) -> Markup {
    html! {
        @for paragraph in text.split("\n\n") {
            p {
                @for (i, line) in paragraph.lines().enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    key: String,
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: a local path only.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

fn signin_page(ctx: &Ctx, next: &str, error: Option<&str>) -> Markup {
    layout(
        ctx,
        ctx.t("signin"),
        html! {
            form method="post" action="/signin" class="signin" {
                input type="hidden" name="next" value=(next);
                label for="key" { (ctx.t("api_key")) }
                input id="key" name="key" type="password" autocomplete="current-password" required
                    aria-invalid=[error.map(|_| "true")] aria-describedby="key-help";
                p id="key-help" class="help" { (ctx.t("api_key_help")) }
                @if let Some(error) = error {
                    p class="field-error" role="alert" { (error) }
                }
                button type="submit" { (ctx.t("signin_button")) }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

pub async fn signin_form(
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Markup {
    signin_page(&ctx, safe_next(&q.next), None)
}

pub async fn signin(
    ctx: Ctx,
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(&form.next).to_owned();
    let principal = state.keys().authenticate(form.key.trim()).await;
    let principal = match principal {
        Ok(Some(p)) if p.role.satisfies(Role::Operator) => p,
        Ok(Some(_)) => {
            return (
                StatusCode::FORBIDDEN,
                signin_page(&ctx, &next, Some(ctx.t("low_role"))),
            )
                .into_response();
        }
        Ok(None) => {
            return (
                StatusCode::UNAUTHORIZED,
                signin_page(&ctx, &next, Some(ctx.t("bad_key"))),
            )
                .into_response();
        }
        Err(_) => {
            return crate::error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
        }
    };
    let token = sessions.create(principal.name, principal.role);
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        crate::SESSION_TTL.as_secs()
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub async fn signout(
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        sessions.remove(token);
    }
    let mut response = Redirect::to("/assistant").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("parvis_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

/// The public algorithm register: every algorithm Parvis runs, with its measured performance
/// and the run that measured it (JSON at `/api/register`).
pub async fn register(ctx: Ctx, State(state): State<AppState>) -> Response {
    let Ok(register) = api::register_routes::measured_register(state.store()).await else {
        return crate::error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
    };
    let en = ctx.lang == crate::Lang::En;
    let text = |a: &serde_json::Map<String, serde_json::Value>, key: &str| -> String {
        let translated = if en {
            a.get(&format!("{key}_en"))
        } else {
            None
        };
        match translated.or_else(|| a.get(key)) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    };
    let body = html! {
        p { (ctx.t("register_intro")) }
        p class="help" { a href="/api/register" { "JSON" } " — " (ctx.t("register_lang_note")) }
        nav aria-label=(ctx.t("register")) {
            ul { @for a in &register.algorithms { li { a href={ "#" (text(a, "id")) } { (text(a, "name")) } } } }
        }
        @for a in &register.algorithms {
            section id=(text(a, "id")) {
                h2 { (text(a, "name")) }
                p { (text(a, "description_short")) }
                dl class="facts" {
                    dt { (ctx.t("goal")) } dd { (text(a, "goal")) }
                    dt { (ctx.t("status")) } dd { (text(a, "status")) }
                    dt { (ctx.t("human")) } dd { (text(a, "human_intervention")) }
                    dt { (ctx.t("objection")) } dd { (text(a, "objection_procedure")) }
                    dt { (ctx.t("contact")) } dd { (text(a, "contact_email")) }
                }
                table {
                    caption { (ctx.t("perf_caption")) }
                    thead { tr { th scope="col" { (ctx.t("metric")) } th scope="col" { (ctx.t("value")) } th scope="col" { (ctx.t("measured_on")) } th scope="col" { (ctx.t("command")) } } }
                    tbody {
                        @for p in a.get("performance").and_then(|p| p.as_array()).into_iter().flatten() {
                            tr {
                                td { (p["metric"].as_str().unwrap_or_default()) }
                                td { @if p["value"].is_null() { (ctx.t("not_measured")) } @else { (p["value"].to_string()) } }
                                td { (p["measured_by"]["date"].as_str().unwrap_or("—")) }
                                td { code { (p["measured_by"]["command"].as_str().unwrap_or("—")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&ctx, ctx.t("register"), body).into_response()
}
