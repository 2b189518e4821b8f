//! The web pages Parvis serves on the API's port: the operations dashboard (`/`,
//! `/requests`, `/sensors`, `/mobility`, behind an operator sign-in) and the public pages
//! (`/assistant`, `/register`). Server-rendered HTML (maud), a stylesheet and
//! a small script embedded in the binary, charts and the map as inline SVG, live alerts over
//! server-sent events. French by default, English with `?lang=en` (remembered in a cookie).
//!
//! Sign-in takes an operator API key once and keeps a random session token in an HttpOnly,
//! SameSite=Strict cookie; sessions live in memory for 12 hours (a restart signs everyone out).
//! Forms that change data are POSTs from the same origin (the cookie is SameSite=Strict and the
//! `Origin` header, when present, must be this host).

mod charts;
mod i18n;
mod ops;
mod public;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use access::Role;
use api::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

pub use i18n::{Lang, t};

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// How long a sign-in lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const SESSION_COOKIE: &str = "parvis_session";

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub role: Role,
    expires: Instant,
}

/// The sessions of this process.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn create(&self, name: String, role: Role) -> String {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let mut sessions = self.by_token.lock().unwrap();
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            token.clone(),
            Session {
                name,
                role,
                expires: now + SESSION_TTL,
            },
        );
        token
    }

    fn get(&self, token: &str) -> Option<Session> {
        let sessions = self.by_token.lock().unwrap();
        sessions
            .get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    fn remove(&self, token: &str) {
        self.by_token.lock().unwrap().remove(token);
    }
}

/// What every page needs: its language, who is signed in, its path (for the navigation).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<Session>,
    pub path: String,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language a query string asks for (`?lang=fr|en`).
fn lang_asked(query: Option<&str>) -> Option<Lang> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// The page's language: `?lang=` first, then the cookie, then `Accept-Language`, else French.
fn lang_of(headers: &HeaderMap, query: Option<&str>) -> Lang {
    lang_asked(query)
        .or_else(|| cookie(headers, "lang").and_then(Lang::parse))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split([',', ';', '-']).next())
                .and_then(|code| Lang::parse(code.trim()))
        })
        .unwrap_or(Lang::Fr)
}

impl Ctx {
    fn from_parts(headers: &HeaderMap, uri: &axum::http::Uri, sessions: &Sessions) -> Ctx {
        Ctx {
            lang: lang_of(headers, uri.query()),
            user: cookie(headers, SESSION_COOKIE).and_then(|token| sessions.get(token)),
            path: uri.path().to_owned(),
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        t(self.lang, key)
    }

    /// The signed-in operator, or a redirect to the sign-in page that comes back here.
    fn operator(&self) -> Result<&Session, Redirect> {
        match &self.user {
            Some(session) if session.role.satisfies(Role::Operator) => Ok(session),
            _ => Err(Redirect::to(&format!(
                "/signin?next={}",
                form_urlencoded::byte_serialize(self.path.as_bytes()).collect::<String>()
            ))),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Ctx, Self::Rejection> {
        let sessions = parts
            .extensions
            .get::<Arc<Sessions>>()
            .cloned()
            .unwrap_or_default();
        Ok(Ctx::from_parts(&parts.headers, &parts.uri, &sessions))
    }
}

/// The page around `body`.
pub fn layout(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    let nav: [(&str, &str, bool); 6] = [
        ("/", "overview", true),
        ("/requests", "requests", true),
        ("/sensors", "sensors", true),
        ("/mobility", "mobility", true),
        ("/register", "register", false),
        ("/assistant", "assistant", false),
    ];
    let switch = format!("{}?lang={}", ctx.path, ctx.lang.other().code());
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Parvis" }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a class="skip" href="#main" { (ctx.t("skip")) }
                header {
                    a class="brand" href="/" { "Parvis" } span class="tagline" { (ctx.t("tagline")) }
                    nav aria-label=(ctx.t("nav")) {
                        ul {
                            @for (href, key, operator) in nav {
                                @if !operator || ctx.user.is_some() {
                                    li {
                                        a href=(href) aria-current=[(ctx.path == href).then_some("page")] { (ctx.t(key)) }
                                    }
                                }
                            }
                        }
                    }
                    div class="account" {
                        a href=(switch) lang=(ctx.lang.other().code()) { (ctx.t("switch")) }
                        @if let Some(user) = &ctx.user {
                            span { " " (ctx.t("signed_in_as")) " " (user.name) " " }
                            form method="post" action="/signout" class="inline" {
                                button type="submit" { (ctx.t("signout")) }
                            }
                        } @else {
                            " " a href="/signin" { (ctx.t("signin")) }
                        }
                    }
                }
                main id="main" { h1 { (title) } (body) }
                footer { p { (ctx.t("demo_note")) } }
            }
        }
    }
}

/// The 404 page for browsers, in their language.
pub fn not_found_page() -> api::NotFoundPage {
    Arc::new(|headers: &HeaderMap| {
        let ctx = Ctx {
            lang: lang_of(headers, None),
            user: None,
            path: String::new(),
        };
        layout(
            &ctx,
            ctx.t("not_found"),
            html! { p { (ctx.t("not_found_text")) } p { a href="/" { (ctx.t("home")) } } },
        )
        .into_string()
    })
}

/// An error page with a status.
pub(crate) fn error_page(ctx: &Ctx, status: StatusCode, message: &str) -> Response {
    (
        status,
        layout(ctx, ctx.t("error"), html! { p role="alert" { (message) } }),
    )
        .into_response()
}

async fn asset(path: axum::extract::Path<String>) -> Response {
    let (body, kind) = match path.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Remembers `?lang=` in a cookie, and refuses cross-site form posts.
async fn guard(request: Request, next: Next) -> Response {
    let lang = lang_asked(request.uri().query());
    if request.method() == axum::http::Method::POST
        && let Some(origin) = request.headers().get(header::ORIGIN)
    {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, rest)| rest == host);
        if !same {
            return (StatusCode::FORBIDDEN, "cross-site form posts are refused").into_response();
        }
    }
    let mut response = next.run(request).await;
    if let Some(lang) = lang {
        let value = format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The pages, to merge into the API's router (`api::router_with`).
pub fn routes() -> Router<AppState> {
    let sessions = Arc::new(Sessions::default());
    Router::new()
        .route("/", get(ops::overview))
        .route("/requests", get(ops::requests))
        .route("/requests/{id}", get(ops::request))
        .route("/requests/{id}/merge", post(ops::merge))
        .route("/requests/{id}/stage", post(ops::stage))
        .route("/sensors", get(ops::sensors))
        .route("/live/alerts", get(ops::live_alerts))
        .route("/mobility", get(ops::mobility))
        .route("/assistant", get(public::assistant).post(public::ask))
        .route("/register", get(public::register))
        .route("/signin", get(public::signin_form).post(public::signin))
        .route("/signout", post(public::signout))
        .route("/assets/{file}", get(asset))
        .layer(axum::middleware::from_fn(guard))
        .layer(axum::Extension(sessions))
}
