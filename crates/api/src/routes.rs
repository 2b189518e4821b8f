//! The platform routes: health, readiness, metrics, the OpenAPI description, API keys.
//!
//! Each handler carries its OpenAPI annotation; [`api_router`] registers handler and description
//! together, so the router and `openapi.json` cannot disagree.

use access::Role;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{
    ApiKey as ApiKeyScheme, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, role};
use crate::dto;
use crate::error::{ApiError, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parvis API",
        description = "The HTTP API of Parvis, the open AI platform for city services. \
                       Errors answer `{\"code\", \"message\"}` with a code from the catalogue \
                       (see the ErrorBody schema); protocols with their own error format \
                       (Open311, NGSI-LD) are documented with their routes.",
        license(name = "EUPL-1.2")
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "platform", description = "Health, readiness, metrics, description of the API."),
        (name = "access", description = "API keys and roles (resident-app < agent < operator < admin)."),
        (name = "open311", description = "Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2): services, requests, tokens and mySociety's servicerequestupdates, each in .json and .xml; errors are Open311 arrays of {code, description}."),
        (name = "requests", description = "Service requests beyond Open311: operators' life cycle (status, assignment, merges), live events, the service report, category suggestions, personal data (admin)."),
        (name = "sensors", description = "City sensors: a subset of NGSI-LD (errors as ProblemDetails) and the alerts anomaly detectors raise."),
        (name = "assistant", description = "The citizen and agent assistant: cited answers from official procedure sheets; an OpenAI-compatible chat API."),
        (name = "governance", description = "The public algorithm register (JSON and a page), with performance from recorded evaluation runs; the fairness report."),
        (name = "mobility", description = "Traffic-signal control: the intersections a controller drives and their phases."),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKeyScheme::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(me))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(crate::assistant_routes::ask))
        .routes(routes!(crate::openai::chat_completions))
        .routes(routes!(crate::openai::models))
        .routes(routes!(
            crate::open311::get_collection,
            crate::open311::post_collection
        ))
        .routes(routes!(crate::open311::get_item))
        .routes(routes!(crate::requests_routes::list_requests))
        .routes(routes!(crate::requests_routes::get_request))
        .routes(routes!(crate::requests_routes::update_status))
        .routes(routes!(crate::requests_routes::assign))
        .routes(routes!(crate::requests_routes::merge))
        .routes(routes!(crate::requests_routes::events))
        .routes(routes!(crate::requests_routes::report))
        .routes(routes!(crate::requests_routes::classify))
        .routes(routes!(
            crate::requests_routes::personal_data,
            crate::requests_routes::erase_personal_data
        ))
        .routes(routes!(
            crate::ngsi::create_entity,
            crate::ngsi::query_entities
        ))
        .routes(routes!(crate::ngsi::upsert))
        .routes(routes!(crate::ngsi::get_entity))
        .routes(routes!(crate::ngsi::temporal))
        .routes(routes!(crate::ngsi::alerts))
        .routes(routes!(crate::ngsi::alert_events))
        .routes(routes!(crate::ngsi::forecast))
        .routes(routes!(crate::mobility_routes::status))
        .routes(routes!(crate::register_routes::register))
        .routes(routes!(crate::register_routes::register_entry))
        .routes(routes!(crate::fairness_routes::fairness))
}

/// Every route, with the 404 fallback.
pub(crate) fn routes() -> axum::Router<AppState> {
    let (router, _) = api_router().split_for_parts();
    router.fallback(route_not_found)
}

/// The OpenAPI description of [`routes`].
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

/// No route: the catalogue's error, or the protocol's own shape under `/open311/` and
/// `/ngsi-ld/`.
async fn route_not_found(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let path = uri.path();
    let message = format!("no route for {method} {path}");
    // A browser asking for a page gets a page.
    let api = ["/api/", "/open311/", "/ngsi-ld/", "/v1/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !api
        && wants_html
        && let Some(page) = state.not_found_page()
    {
        return (StatusCode::NOT_FOUND, axum::response::Html(page(&headers))).into_response();
    }
    if let Some(rest) = path.strip_prefix("/open311/") {
        return crate::open311::Open311Error {
            status: StatusCode::NOT_FOUND,
            description: message,
        }
        .render(crate::open311::format_of_path(rest));
    }
    if path.starts_with("/ngsi-ld/") {
        return crate::ngsi::Problem::not_found(message).into_response();
    }
    ApiError::new(Code::RouteNotFound, message).into_response()
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "platform",
    responses((status = 200, description = "Alive", body = dto::Health)))]
async fn healthz() -> Json<dto::Health> {
    Json(dto::Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The process can serve: its store answers.
#[utoipa::path(get, path = "/readyz", tag = "platform",
    responses(
        (status = 200, description = "Ready", body = dto::Ready),
        (status = 503, description = "The store does not answer", body = ErrorBody),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<Json<dto::Ready>, ApiError> {
    if state.store_ready().await {
        Ok(Json(dto::Ready {
            status: "ready",
            store: state.store().backend().as_str(),
        }))
    } else {
        Err(ApiError::bare(Code::StoreUnavailable))
    }
}

/// Request counts and latency histograms by route and status, in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "platform",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String)))]
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics().render(),
    )
        .into_response()
}

/// This description.
#[utoipa::path(get, path = "/openapi.json", tag = "platform",
    responses((status = 200, description = "OpenAPI 3.1 description", content_type = "application/json", body = Object)))]
async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.inner.openapi_json.clone(),
    )
        .into_response()
}

/// Who the presented key belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "access",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller", body = dto::Caller),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
    ))]
async fn me(auth: Auth<role::ResidentApp>) -> Json<dto::Caller> {
    Json(auth.principal.into())
}

/// Every API key, revoked ones included (admin).
#[utoipa::path(get, path = "/api/v1/keys", tag = "access",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The keys", body = Vec<dto::ApiKey>),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "The key is not an admin key", body = ErrorBody),
    ))]
async fn list_keys(
    _auth: Auth<role::Admin>,
    State(state): State<AppState>,
) -> Result<Json<Vec<dto::ApiKey>>, ApiError> {
    let keys = state.keys().list().await?;
    Ok(Json(keys.into_iter().map(dto::ApiKey::from).collect()))
}

/// Creates an API key (admin); the answer is the only time its secret is shown.
#[utoipa::path(post, path = "/api/v1/keys", tag = "access",
    security(("bearer" = []), ("api_key" = [])),
    request_body = dto::CreateKey,
    responses(
        (status = 201, description = "Created and committed", body = dto::CreatedKey),
        (status = 400, description = "Malformed JSON or invalid field", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "The key is not an admin key", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
    ))]
async fn create_key(
    _auth: Auth<role::Admin>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<dto::CreateKey>,
) -> Result<(StatusCode, Json<dto::CreatedKey>), ApiError> {
    let role: Role = body.role.parse()?;
    let created = state.keys().create(&body.name, role).await?;
    tracing::info!(key_id = %created.key.id, role = %role, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(dto::CreatedKey {
            key: created.key.into(),
            secret: created.secret,
        }),
    ))
}

/// Revokes an API key (admin); it stops working on the next request.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "access",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Revoked", body = dto::ApiKey),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "The key is not an admin key", body = ErrorBody),
        (status = 404, description = "No key with this id", body = ErrorBody),
    ))]
async fn revoke_key(
    _auth: Auth<role::Admin>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<dto::ApiKey>, ApiError> {
    let key = state.keys().revoke(&id).await?;
    tracing::info!(key_id = %key.id, "API key revoked");
    Ok(Json(key.into()))
}
