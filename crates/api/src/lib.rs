//! The HTTP API of Parvis: the only crate that knows HTTP and JSON.
//!
//! Design decisions:
//!
//! - **axum + tower-http.** Routing, extractors and the usual layers (request ids, compression,
//!   timeouts, body limits, panic guard) come from these crates; only the error catalogue, the
//!   access-control extractor and the observation middleware are ours.
//! - **Wire types are separate from domain types** ([`dto`]): handlers convert by hand, so a
//!   renamed domain field cannot silently change the public API.
//! - **One error catalogue** ([`error`]) for every route; a last layer rewrites any error a layer
//!   or the router produced in another shape (see [`middleware`]).
//! - **The OpenAPI description is generated from the same declarations as the router**
//!   (utoipa-axum), so a route cannot exist without being described; a test compares the
//!   description with the committed `openapi.json` and calls every path it lists.
//! - Capabilities add their routes to [`router`] as they arrive; domain logic stays in their crates.

pub mod assistant_routes;
pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod fairness_routes;
pub mod middleware;
pub mod mobility_routes;
pub mod ngsi;
pub mod open311;
pub mod openai;
pub mod register_routes;
pub mod requests_routes;
mod routes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use access::Keys;
use axum::Router;
use store::Store;
use telemetry::metrics::Metrics;
use tokio::sync::Mutex;

pub use error::{ApiError, Code};

/// Limits and behaviours of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Longest time a request may take before it is answered `503 timeout`.
    pub request_timeout: Duration,
    /// How long a successful or failed store check answers `/readyz` before the store is asked
    /// again; zero asks on every call.
    pub readiness_cache: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            readiness_cache: Duration::from_millis(250),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keys: Keys,
    metrics: Metrics,
    config: ApiConfig,
    readiness: Mutex<Option<(Instant, bool)>>,
    openapi_json: String,
    assistant: Option<Arc<assistant::Assistant>>,
    requests: Option<Arc<requests::Requests>>,
    sensors: Option<Arc<sensors::platform::Sensors>>,
    not_found_page: Option<NotFoundPage>,
}

/// Renders the HTML page a browser gets for an unknown path (from the request's headers, for
/// its language).
pub type NotFoundPage = Arc<dyn Fn(&axum::http::HeaderMap) -> String + Send + Sync>;

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.inner.store)
            .finish()
    }
}

impl AppState {
    /// The state with no capability wired in; add them with `with_*`.
    pub fn new(store: Store, config: ApiConfig) -> AppState {
        let openapi_json = routes::openapi()
            .to_pretty_json()
            .expect("the OpenAPI description serialises");
        AppState {
            inner: Arc::new(Inner {
                keys: Keys::new(store.clone()),
                store,
                metrics: Metrics::new(),
                config,
                readiness: Mutex::new(None),
                openapi_json,
                assistant: None,
                requests: None,
                sensors: None,
                not_found_page: None,
            }),
        }
    }

    fn edit(self, change: impl FnOnce(&mut Inner)) -> AppState {
        let mut inner = Arc::try_unwrap(self.inner)
            .unwrap_or_else(|_| panic!("capabilities are wired before the state is shared"));
        change(&mut inner);
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// Wires the assistant in (before the state is shared).
    pub fn with_assistant(self, assistant: Arc<assistant::Assistant>) -> AppState {
        self.edit(|inner| inner.assistant = Some(assistant))
    }

    /// The page browsers get for unknown paths outside the APIs (before the state is shared).
    pub fn with_not_found_page(self, page: NotFoundPage) -> AppState {
        self.edit(|inner| inner.not_found_page = Some(page))
    }

    pub fn not_found_page(&self) -> Option<&NotFoundPage> {
        self.inner.not_found_page.as_ref()
    }

    /// Wires the service requests in (before the state is shared).
    pub fn with_requests(self, requests: Arc<requests::Requests>) -> AppState {
        self.edit(|inner| inner.requests = Some(requests))
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// The assistant, or `503 unavailable` when this node runs without it.
    pub fn assistant(&self) -> Result<&Arc<assistant::Assistant>, ApiError> {
        self.inner.assistant.as_ref().ok_or_else(|| {
            ApiError::new(
                Code::Unavailable,
                "the assistant is not running on this node",
            )
        })
    }

    /// Wires the sensor platform in (before the state is shared).
    pub fn with_sensors(self, sensors: Arc<sensors::platform::Sensors>) -> AppState {
        self.edit(|inner| inner.sensors = Some(sensors))
    }

    /// The sensor platform, or `None` when this node runs without it.
    pub fn sensors(&self) -> Option<&Arc<sensors::platform::Sensors>> {
        self.inner.sensors.as_ref()
    }

    /// The service requests, or `None` when this node runs without them.
    pub fn requests(&self) -> Option<&Arc<requests::Requests>> {
        self.inner.requests.as_ref()
    }

    /// Whether the store answers, asking it at most once per `readiness_cache` period;
    /// concurrent callers share one check.
    pub async fn store_ready(&self) -> bool {
        let ttl = self.inner.config.readiness_cache;
        let mut last = self.inner.readiness.lock().await;
        if let Some((at, ready)) = *last
            && at.elapsed() < ttl
        {
            return ready;
        }
        let ready = matches!(
            tokio::time::timeout(Duration::from_secs(2), self.inner.store.ping()).await,
            Ok(Ok(()))
        );
        *last = Some((Instant::now(), ready));
        ready
    }
}

/// The whole application: every route, wrapped in every layer.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The application with more routes (the web pages) merged in before the 404 fallback and
/// wrapped in the same layers.
pub fn router_with(state: AppState, pages: Router<AppState>) -> Router {
    let routes = routes::routes().merge(pages).with_state(state.clone());
    middleware::wrap(routes, state)
}

/// The OpenAPI description of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::openapi()
}
