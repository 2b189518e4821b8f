//! The layers every request goes through, outermost first:
//!
//! 1. request id: an incoming `x-request-id` is kept, else a UUID is set; it is echoed back;
//! 2. observation: a span with the request id, the access log line, the metrics;
//! 3. error normalisation: any error response not already in a structured format (axum's 404
//!    and 405, a layer's 413 or timeout) is rewritten to the catalogue's JSON body (under
//!    `/open311/`, to the Open311 error array; under `/ngsi-ld/`, to ProblemDetails);
//! 4. compression (gzip, when the client accepts it and the body is worth it);
//! 5. timeout for the whole handling of a request;
//! 6. body-size limit;
//! 7. panic guard: a panicking handler answers `500 internal`, the process goes on.
//!
//! The access log names the route template, method, status and latency, never the raw path or
//! query string, which may carry personal data.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::AppState;
use crate::error::{ApiError, Code, code_for_status};

/// The request-id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `router` in every layer, in the order the module documentation gives.
pub fn wrap(router: Router, state: AppState) -> Router {
    let config = state.config();
    // `Router::layer` wraps what is already there, so the innermost layer comes first here.
    router
        .layer(CatchPanicLayer::custom(panic_response))
        // One limit, enforced by the layer below; axum's own default (2 MiB) would cap a larger one.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(CompressionLayer::new().gzip(true))
        .layer(middleware::from_fn(normalise_errors))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The span, access log and metrics of one request.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("")
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        key_id = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    state.metrics().observe_http(
        method.as_str(),
        &route,
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    span.in_scope(|| {
        tracing::info!(
            target: "parvis::access",
            status = status.as_u16(),
            latency_ms = duration_ms(elapsed),
            "answered"
        );
    });
    response
}

fn duration_ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}

/// Rewrites an error response in no structured format into the catalogue's body.
async fn normalise_errors(request: Request, next: Next) -> Response {
    let open311 = request
        .uri()
        .path()
        .strip_prefix("/open311/")
        .map(crate::open311::format_of_path);
    let ngsi = request.uri().path().starts_with("/ngsi-ld/");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let structured = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // An HTML page (the web pages' errors, the 404 page) is a deliberate body too.
        .is_some_and(|ct| ct.contains("json") || ct.contains("xml") || ct.contains("text/html"));
    if structured {
        return response;
    }
    if ngsi {
        // NGSI-LD clients expect ProblemDetails, whatever failed.
        let mut rewritten =
            crate::ngsi::Problem::for_status(status, code_for_status(status).description())
                .into_response();
        if let Some(allow) = response.headers().get(header::ALLOW) {
            rewritten.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return rewritten;
    }
    if let Some(format) = open311 {
        // Open311 clients expect the specification's error array, whatever failed.
        let description = code_for_status(status).description();
        let mut rewritten = crate::open311::Open311Error {
            status,
            description: description.to_owned(),
        }
        .render(format);
        if let Some(allow) = response.headers().get(header::ALLOW) {
            rewritten.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return rewritten;
    }
    let code = code_for_status(status);
    let (mut parts, _body) = response.into_parts();
    let body = serde_json::to_vec(&ApiError::bare(code).body()).expect("an error body serialises");
    // Keep the status the layer chose (a 405 keeps its Allow header too), unless it was not an
    // error status the catalogue knows.
    if code == Code::Internal {
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::bare(Code::Internal).into_response()
}
