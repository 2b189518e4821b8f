//! A subset of NGSI-LD (ETSI GS CIM 009) for the city's sensors, under `/ngsi-ld/v1/`:
//! create an entity, upsert a batch (`entityOperations/upsert`, all stored or none), read one,
//! query by type and `q`, and the temporal representation of an entity's numeric attributes.
//! Errors are ProblemDetails (`application/problem+json`) with NGSI-LD's error types. Alerts
//! the detectors raise are at `/api/alerts` (and live at `/api/alerts/events`).
//!
//! Documented behaviours: `@context` is accepted and ignored (the core context is assumed);
//! Property values may be numbers, strings, booleans or JSON structures, and only numbers make
//! time series; for the Smart Data Models types Parvis knows (TrafficFlowObserved,
//! ItemFlowObserved, BikeHireDockingStation, SmartMeteringObservation, EnergyMeter, Device),
//! their numeric attributes must be non-negative numbers; `observedAt` must carry a time zone; a repeated observation (same entity,
//! attribute and `observedAt`) is ignored; an observation older than the series' latest is
//! stored but not scored.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use sensors::ngsi::{entity_from_json, entity_to_json, instant, parse_instant, valid_name};
use sensors::platform::{Entity, SensorError, Sensors, TimeRel, Value};
use serde::Deserialize;
use serde_json::{Map, Value as JsonValue};
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::auth::{Auth, role};
use crate::error::{ApiError, Code, ErrorBody};
use crate::extract::ApiQuery;

/// Most entities in one batch.
pub const MAX_BATCH: usize = 1000;

/// An NGSI-LD error, rendered as ProblemDetails.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
}

impl Problem {
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            kind: "BadRequestData",
            detail: detail.into(),
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            kind: "InvalidRequest",
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::NOT_FOUND,
            kind: "ResourceNotFound",
            detail: detail.into(),
        }
    }

    /// The NGSI-LD error type of an HTTP status, for errors raised outside the handlers.
    pub fn for_status(status: StatusCode, detail: impl Into<String>) -> Problem {
        let kind = match status {
            StatusCode::NOT_FOUND => "ResourceNotFound",
            StatusCode::CONFLICT => "AlreadyExists",
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::METHOD_NOT_ALLOWED => {
                "OperationNotSupported"
            }
            s if s.is_client_error() => "BadRequestData",
            _ => "InternalError",
        };
        Problem {
            status,
            kind,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": format!("https://uri.etsi.org/ngsi-ld/errors/{}", self.kind),
            "title": self.kind,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<SensorError> for Problem {
    fn from(error: SensorError) -> Self {
        match error {
            SensorError::AlreadyExists(id) => Problem {
                status: StatusCode::CONFLICT,
                kind: "AlreadyExists",
                detail: format!("entity {id} already exists"),
            },
            SensorError::NotFound(what) => Problem::not_found(format!("{what} not found")),
            SensorError::Invalid(message) => Problem::bad_request(message),
            SensorError::Store(e) if e.is_unavailable() => Problem {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind: "InternalError",
                detail: "the data store cannot be reached; retry later".into(),
            },
            SensorError::Store(e) => {
                tracing::error!(error = %e, "internal error");
                Problem::for_status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; it has been logged",
                )
            }
        }
    }
}

/// The platform's errors on the `/api` routes, in the catalogue.
impl From<SensorError> for ApiError {
    fn from(error: SensorError) -> Self {
        match error {
            SensorError::NotFound(what) => {
                ApiError::new(Code::NotFound, format!("{what} not found"))
            }
            SensorError::AlreadyExists(id) => {
                ApiError::new(Code::Conflict, format!("entity {id} already exists"))
            }
            SensorError::Invalid(message) => ApiError::invalid(message),
            SensorError::Store(e) => ApiError::from(e),
        }
    }
}

fn platform(state: &AppState) -> Result<&Arc<Sensors>, Problem> {
    state.sensors().ok_or_else(|| Problem {
        status: StatusCode::SERVICE_UNAVAILABLE,
        kind: "InternalError",
        detail: "the sensor platform is not running on this node".into(),
    })
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<JsonValue, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(content_type.starts_with("application/json")
        || content_type.starts_with("application/ld+json"))
    {
        return Err(Problem {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            kind: "InvalidRequest",
            detail: "send application/json or application/ld+json".into(),
        });
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::invalid(format!("the body is not valid JSON: {e}")))
}

fn ld_json(status: StatusCode, body: JsonValue) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `POST /ngsi-ld/v1/entities`: creates an entity (409 AlreadyExists if it exists).
#[utoipa::path(post, path = "/ngsi-ld/v1/entities", tag = "sensors",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content_type = "application/ld+json", description = "An NGSI-LD entity, normalized form"),
    responses(
        (status = 201, description = "Created; Location names the entity"),
        (status = 400, description = "ProblemDetails BadRequestData or InvalidRequest"),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 409, description = "ProblemDetails AlreadyExists"),
    ))]
pub(crate) async fn create_entity(
    _auth: Auth<role::Agent>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let sensors = platform(&state)?;
    let entity = entity_from_json(&parse_body(&headers, &body)?).map_err(Problem::bad_request)?;
    let id = entity.id.clone();
    sensors.create(entity).await?;
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/ngsi-ld/v1/entities/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Options of `entityOperations/upsert`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UpsertParams {
    /// `replace` (default: an entity's attributes are replaced) or `update` (merged).
    pub options: Option<String>,
}

/// `POST /ngsi-ld/v1/entityOperations/upsert`: creates or updates up to 1,000 entities in one
/// transaction (all or none); 201 with the created ids, or 204 when all existed.
#[utoipa::path(post, path = "/ngsi-ld/v1/entityOperations/upsert", tag = "sensors",
    security(("bearer" = []), ("api_key" = [])),
    params(UpsertParams),
    request_body(content_type = "application/ld+json", description = "A JSON array of NGSI-LD entities"),
    responses(
        (status = 201, description = "Stored; the ids created"),
        (status = 204, description = "Stored; every entity existed"),
        (status = 400, description = "ProblemDetails; nothing stored"),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
    ))]
pub(crate) async fn upsert(
    _auth: Auth<role::Agent>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let sensors = platform(&state)?;
    let merge = match query.as_deref().unwrap_or("") {
        "" | "options=replace" => false,
        "options=update" => true,
        other => {
            return Err(Problem::bad_request(format!(
                "unsupported query {other:?}: options=replace or options=update"
            )));
        }
    };
    let body = parse_body(&headers, &body)?;
    let items = body
        .as_array()
        .ok_or_else(|| Problem::bad_request("the body must be a JSON array of entities"))?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(Problem::bad_request(format!(
            "a batch holds 1 to {MAX_BATCH} entities, not {}",
            items.len()
        )));
    }
    let entities = items
        .iter()
        .map(entity_from_json)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Problem::bad_request)?;
    let outcome = sensors.upsert(entities, merge).await?;
    if outcome.created.is_empty() {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok(ld_json(
            StatusCode::CREATED,
            serde_json::json!(outcome.created),
        ))
    }
}

/// `GET /ngsi-ld/v1/entities/{id}`.
#[utoipa::path(get, path = "/ngsi-ld/v1/entities/{id}", tag = "sensors",
    params(("id" = String, Path, description = "Entity id (URI)")),
    responses(
        (status = 200, description = "The entity, normalized form"),
        (status = 404, description = "ProblemDetails ResourceNotFound"),
    ))]
pub(crate) async fn get_entity(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let entity = platform(&state)?
        .get(&id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("entity {id} not found")))?;
    Ok(ld_json(StatusCode::OK, entity_to_json(&entity)))
}

/// Parameters of `GET /ngsi-ld/v1/entities`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// Entity type (required: this subset does not list every entity at once).
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    /// Conditions on attribute values joined by `;` (and): `intensity>100;laneId=="1"`, with
    /// `==`, `!=`, `>`, `>=`, `<`, `<=`.
    pub q: Option<String>,
    /// 1 to 1,000 (default 100).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// `GET /ngsi-ld/v1/entities?type=…&q=…`.
#[utoipa::path(get, path = "/ngsi-ld/v1/entities", tag = "sensors",
    params(QueryParams),
    responses(
        (status = 200, description = "Matching entities, by id"),
        (status = 400, description = "ProblemDetails BadRequestData"),
    ))]
pub(crate) async fn query_entities(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let params: QueryParams = serde_urlencoded_from(raw.as_deref().unwrap_or(""))?;
    let entity_type = params
        .entity_type
        .ok_or_else(|| Problem::bad_request("type is required"))?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request("limit must be 1 to 1000"));
    }
    let conditions = match &params.q {
        Some(q) => parse_q(q)?,
        None => Vec::new(),
    };
    let sensors = platform(&state)?;
    let mut found = Vec::new();
    let mut offset = params.offset.unwrap_or(0);
    let page = 1000;
    let mut scan = 0;
    // Conditions are evaluated here; pages of the type are read until the limit is reached.
    loop {
        let batch = sensors.list(Some(&entity_type), page, scan).await?;
        scan += batch.len();
        for entity in &batch {
            if conditions.iter().all(|c| c.holds(entity)) {
                if offset > 0 {
                    offset -= 1;
                } else if found.len() < limit {
                    found.push(entity_to_json(entity));
                }
            }
        }
        if batch.len() < page || found.len() >= limit {
            break;
        }
    }
    Ok(ld_json(StatusCode::OK, JsonValue::Array(found)))
}

fn serde_urlencoded_from<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, Problem> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let object: Map<String, JsonValue> = pairs
        .into_iter()
        .map(|(k, v)| {
            let value = v
                .parse::<u64>()
                .map(JsonValue::from)
                .unwrap_or(JsonValue::String(v));
            (k, value)
        })
        .collect();
    serde_json::from_value(JsonValue::Object(object))
        .map_err(|e| Problem::bad_request(format!("invalid query: {e}")))
}

#[derive(Debug)]
struct Condition {
    attribute: String,
    op: &'static str,
    number: Option<f64>,
    text: String,
}

impl Condition {
    fn holds(&self, entity: &Entity) -> bool {
        let Some(attribute) = entity.attributes.get(&self.attribute) else {
            return false;
        };
        match (&attribute.value, self.number) {
            (Value::Number(v), Some(n)) => match self.op {
                "==" => *v == n,
                "!=" => *v != n,
                ">" => *v > n,
                ">=" => *v >= n,
                "<" => *v < n,
                _ => *v <= n,
            },
            (Value::Text(t), _) => match self.op {
                "==" => *t == self.text,
                "!=" => *t != self.text,
                _ => false,
            },
            (Value::Bool(b), _) => match self.op {
                "==" => b.to_string() == self.text,
                "!=" => b.to_string() != self.text,
                _ => false,
            },
            _ => false,
        }
    }
}

fn parse_q(q: &str) -> Result<Vec<Condition>, Problem> {
    q.split(';')
        .map(|part| {
            let op = ["==", "!=", ">=", "<=", ">", "<"]
                .into_iter()
                .find(|op| part.contains(op))
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "q: {part:?} has no operator (==, !=, >, >=, <, <=)"
                    ))
                })?;
            let (attribute, literal) = part.split_once(op).expect("found above");
            if !valid_name(attribute) {
                return Err(Problem::bad_request(format!(
                    "q: {attribute:?} is not an attribute name"
                )));
            }
            let text = literal.trim_matches('"').to_owned();
            let number = if literal.starts_with('"') {
                None
            } else {
                literal.parse::<f64>().ok()
            };
            if number.is_none() && !literal.starts_with('"') && !matches!(literal, "true" | "false")
            {
                return Err(Problem::bad_request(format!(
                    "q: {literal:?} is neither a number nor a \"string\""
                )));
            }
            Ok(Condition {
                attribute: attribute.to_owned(),
                op,
                number,
                text,
            })
        })
        .collect()
}

/// Parameters of the temporal query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemporalParams {
    /// `before`, `after` or `between`.
    pub timerel: Option<String>,
    #[serde(rename = "timeAt")]
    pub time_at: Option<String>,
    #[serde(rename = "endTimeAt")]
    pub end_time_at: Option<String>,
    /// The last N instances of each attribute.
    #[serde(rename = "lastN")]
    pub last_n: Option<usize>,
    /// Attributes to return, comma-separated (default all numeric ones).
    pub attrs: Option<String>,
}

/// `GET /ngsi-ld/v1/temporal/entities/{id}`: the observations of an entity's numeric
/// attributes (temporal representation).
#[utoipa::path(get, path = "/ngsi-ld/v1/temporal/entities/{id}", tag = "sensors",
    params(("id" = String, Path, description = "Entity id (URI)"), TemporalParams),
    responses(
        (status = 200, description = "Temporal representation"),
        (status = 400, description = "ProblemDetails BadRequestData"),
        (status = 404, description = "ProblemDetails ResourceNotFound"),
    ))]
pub(crate) async fn temporal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let params: TemporalParams = serde_urlencoded_from(raw.as_deref().unwrap_or(""))?;
    let time = |v: &Option<String>, name: &str| -> Result<Option<i64>, Problem> {
        v.as_deref()
            .map(|t| {
                parse_instant(t).ok_or_else(|| {
                    Problem::bad_request(format!(
                        "{name} must be an ISO 8601 date and time with a time zone"
                    ))
                })
            })
            .transpose()
    };
    let at = time(&params.time_at, "timeAt")?;
    let end = time(&params.end_time_at, "endTimeAt")?;
    let rel = match (params.timerel.as_deref(), at, end) {
        (None, None, None) => None,
        (Some("before"), Some(t), _) => Some(TimeRel::Before(t)),
        (Some("after"), Some(t), _) => Some(TimeRel::After(t)),
        (Some("between"), Some(a), Some(b)) if a < b => Some(TimeRel::Between(a, b)),
        (Some("between"), Some(_), Some(_)) => {
            return Err(Problem::bad_request("endTimeAt must follow timeAt"));
        }
        _ => {
            return Err(Problem::bad_request(
                "timerel is before, after (with timeAt) or between (with timeAt and endTimeAt)",
            ));
        }
    };
    if params.last_n == Some(0) {
        return Err(Problem::bad_request("lastN must be at least 1"));
    }
    let attrs: Vec<String> = params
        .attrs
        .as_deref()
        .map(|a| a.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let sensors = platform(&state)?;
    let entity = sensors
        .get(&id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("entity {id} not found")))?;
    let series = sensors.temporal(&id, &attrs, rel, params.last_n).await?;
    let mut object = Map::new();
    object.insert("id".into(), entity.id.into());
    object.insert("type".into(), entity.entity_type.into());
    for (attribute, points) in series {
        let instances: Vec<JsonValue> = points
            .iter()
            .map(|(ms, v)| serde_json::json!({"type": "Property", "value": v, "observedAt": instant(*ms)}))
            .collect();
        object.insert(attribute, JsonValue::Array(instances));
    }
    Ok(ld_json(StatusCode::OK, JsonValue::Object(object)))
}

/// Parameters of `GET /api/alerts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    /// At most 1,000 (default 100).
    pub limit: Option<usize>,
}

/// An alert raised by a detector.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AlertDto {
    pub id: i64,
    pub entity_id: String,
    pub entity_type: String,
    pub attribute: String,
    pub observed_at: String,
    pub value: f64,
    /// The detector's score in [0, 1].
    pub score: f64,
    pub detector: String,
    pub created_at: String,
}

fn alert_dto(a: &sensors::platform::Alert) -> AlertDto {
    AlertDto {
        id: a.id,
        entity_id: a.entity_id.clone(),
        entity_type: a.entity_type.clone(),
        attribute: a.attribute.clone(),
        observed_at: instant(a.observed_ms),
        value: a.value,
        score: a.score,
        detector: a.detector.clone(),
        created_at: a.created_at.clone(),
    }
}

/// The latest alerts, newest first.
#[utoipa::path(get, path = "/api/alerts", tag = "sensors",
    security(("bearer" = []), ("api_key" = [])),
    params(AlertParams),
    responses(
        (status = 200, description = "Alerts", body = [AlertDto]),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
    ))]
pub(crate) async fn alerts(
    _auth: Auth<role::Operator>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AlertParams>,
) -> Result<Json<Vec<AlertDto>>, ApiError> {
    let sensors = state.sensors().ok_or_else(|| {
        ApiError::new(
            Code::Unavailable,
            "the sensor platform is not running on this node",
        )
    })?;
    let found = sensors.alerts(params.limit.unwrap_or(100)).await?;
    Ok(Json(found.iter().map(alert_dto).collect()))
}

/// Alerts as they are raised (server-sent events, `event: alert`, one JSON object each).
#[utoipa::path(get, path = "/api/alerts/events", tag = "sensors",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "text/event-stream of alerts"),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
    ))]
pub(crate) async fn alert_events(
    _auth: Auth<role::Operator>,
    State(state): State<AppState>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let receiver = state
        .sensors()
        .ok_or_else(|| {
            ApiError::new(
                Code::Unavailable,
                "the sensor platform is not running on this node",
            )
        })?
        .subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(alert) => Event::default()
                .event("alert")
                .data(serde_json::to_string(&alert_dto(&alert)).expect("an alert serialises")),
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(serde_json::json!({ "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Parameters of `GET /api/sensors/forecast`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// Entity id (URI).
    pub entity: String,
    /// A numeric attribute, e.g. `intensity`.
    pub attribute: String,
    /// `hour` (default; weekly season, 168 steps) or `day` (weekly season, 7 steps).
    pub step: Option<String>,
    /// Steps ahead, 1 to 336 (default 24).
    pub horizon: Option<usize>,
}

/// One forecast step.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ForecastPoint {
    pub at: String,
    /// Parvis's seasonal profile.
    pub forecast: Option<f64>,
    /// The seasonal-naive baseline (same time last week).
    pub seasonal_naive: Option<f64>,
}

/// Short-term forecast of a series, with the seasonal-naive baseline beside it.
#[utoipa::path(get, path = "/api/sensors/forecast", tag = "sensors",
    params(ForecastParams),
    responses(
        (status = 200, description = "Forecast steps", body = [ForecastPoint]),
        (status = 400, description = "Invalid parameter", body = ErrorBody),
        (status = 404, description = "No such series", body = ErrorBody),
    ))]
pub(crate) async fn forecast(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ForecastParams>,
) -> Result<Json<Vec<ForecastPoint>>, ApiError> {
    let sensors = state.sensors().ok_or_else(|| {
        ApiError::new(
            Code::Unavailable,
            "the sensor platform is not running on this node",
        )
    })?;
    let (step_ms, season) = match params.step.as_deref() {
        None | Some("hour") => (3_600_000, 168),
        Some("day") => (86_400_000, 7),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "step must be hour or day, not {other:?}"
            )));
        }
    };
    let horizon = params.horizon.unwrap_or(24);
    if !(1..=336).contains(&horizon) {
        return Err(ApiError::invalid("horizon must be 1 to 336"));
    }
    let points = sensors
        .forecast(&params.entity, &params.attribute, step_ms, season, horizon)
        .await?;
    Ok(Json(
        points
            .into_iter()
            .map(|(at, forecast, naive)| ForecastPoint {
                at: instant(at),
                forecast,
                seasonal_naive: naive,
            })
            .collect(),
    ))
}
