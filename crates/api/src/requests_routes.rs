//! Service-request routes outside Open311: operators' life-cycle operations (role `operator`),
//! the live event stream, the service report, classification suggestions, and the reporter's
//! personal data (role `admin`). Errors use the API's catalogue.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Auth, role};
use crate::error::{ApiError, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::open311::open311_date;

impl From<requests::RequestError> for ApiError {
    fn from(error: requests::RequestError) -> Self {
        match error {
            requests::RequestError::Invalid { field, message } => {
                ApiError::invalid(format!("{field}: {message}"))
            }
            requests::RequestError::CannotClassify(message) => ApiError::invalid(message),
            requests::RequestError::NotFound(what) => {
                ApiError::new(Code::NotFound, format!("{what} not found"))
            }
            requests::RequestError::Conflict(message) => ApiError::new(Code::Conflict, message),
            requests::RequestError::Store(e) => ApiError::from(e),
        }
    }
}

fn service(state: &AppState) -> Result<&Arc<requests::Requests>, ApiError> {
    state.requests().ok_or_else(|| {
        ApiError::new(
            Code::Unavailable,
            "service requests are not running on this node",
        )
    })
}

/// A request as operators see it (no personal data: that is behind the privacy routes).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDto {
    pub id: i64,
    pub service_code: String,
    pub service_name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// Open311 status: `open` or `closed`.
    pub status: String,
    /// `received`, `acknowledged`, `in_progress`, `closed` or `merged`.
    pub stage: String,
    pub status_notes: Option<String>,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub arrondissement: Option<u8>,
    pub agency_responsible: String,
    pub merged_into: Option<i64>,
    /// How the classifier filed it, when it did.
    pub classified_type: Option<String>,
    pub classification_probability: Option<f32>,
    pub reclassified_from: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: String,
    pub expected_datetime: String,
    pub closed_datetime: Option<String>,
}

fn request_dto(request: &requests::ServiceRequest, catalogue: &requests::Catalogue) -> RequestDto {
    let service = catalogue.get(&request.service_code);
    RequestDto {
        id: request.id,
        service_code: request.service_code.clone(),
        service_name: service.map(|s| s.name.clone()).unwrap_or_default(),
        type_name: service.map(|s| s.type_name.clone()).unwrap_or_default(),
        status: request.status.as_str().to_owned(),
        stage: request.stage.as_str().to_owned(),
        status_notes: request.status_notes.clone(),
        description: request.description.clone(),
        lat: request.lat,
        long: request.lon,
        address: request.address.clone(),
        arrondissement: request.arrondissement,
        agency_responsible: request.agency_responsible.clone(),
        merged_into: request.merged_into,
        classified_type: request.classification.as_ref().map(|c| c.type_name.clone()),
        classification_probability: request.classification.as_ref().map(|c| c.probability),
        reclassified_from: request
            .classification
            .as_ref()
            .and_then(|c| c.reclassified_from.clone()),
        requested_datetime: open311_date(request.requested_at),
        updated_datetime: open311_date(request.updated_at),
        expected_datetime: open311_date(request.expected_at),
        closed_datetime: request.closed_at.map(open311_date),
    }
}

/// One change in a request's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateDto {
    pub id: i64,
    pub status: String,
    pub stage: String,
    pub note: Option<String>,
    /// `intake`, `key:<id>` of the operator's key.
    pub actor: String,
    pub at: String,
}

/// A request proposed as a duplicate.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateDto {
    pub request_id: i64,
    pub distance_m: f64,
}

/// A request with its history and its duplicate candidates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    pub request: RequestDto,
    pub history: Vec<UpdateDto>,
    pub duplicates: Vec<DuplicateDto>,
}

/// Filters of `GET /api/requests`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `open` or `closed`.
    pub status: Option<String>,
    pub service_code: Option<String>,
    /// 1 to 20.
    pub arrondissement: Option<u8>,
    /// At most 1,000 (default 200).
    pub limit: Option<usize>,
}

/// Lists requests of the last 90 days, newest first.
#[utoipa::path(get, path = "/api/requests", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "Requests, newest first", body = [RequestDto]),
        (status = 400, description = "Invalid filter", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
    ))]
pub(crate) async fn list_requests(
    _auth: Auth<role::Operator>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Vec<RequestDto>>, ApiError> {
    let requests = service(&state)?;
    let statuses = match params.status.as_deref() {
        None => Vec::new(),
        Some(s) => vec![
            requests::Status::parse(s)
                .ok_or_else(|| ApiError::invalid("status must be open or closed"))?,
        ],
    };
    if params
        .arrondissement
        .is_some_and(|a| !(1..=20).contains(&a))
    {
        return Err(ApiError::invalid("arrondissement must be 1 to 20"));
    }
    let found = requests
        .list(&requests::Query {
            service_codes: params.service_code.into_iter().collect(),
            statuses,
            arrondissement: params.arrondissement,
            limit: Some(params.limit.unwrap_or(200).min(1000)),
            ..requests::Query::default()
        })
        .await?;
    Ok(Json(
        found
            .iter()
            .map(|r| request_dto(r, requests.catalogue()))
            .collect(),
    ))
}

/// One request with its history and duplicate candidates.
#[utoipa::path(get, path = "/api/requests/{id}", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 400, description = "Not a request id", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    ))]
pub(crate) async fn get_request(
    _auth: Auth<role::Operator>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RequestDetail>, ApiError> {
    let requests = service(&state)?;
    let request = requests
        .get(id)
        .await?
        .ok_or_else(|| ApiError::new(Code::NotFound, format!("request {id} not found")))?;
    detail(requests, request).await.map(Json)
}

async fn detail(
    requests: &requests::Requests,
    request: requests::ServiceRequest,
) -> Result<RequestDetail, ApiError> {
    let history = requests.history(request.id).await?;
    let duplicates = if request.status == requests::Status::Open && request.merged_into.is_none() {
        requests.duplicates_of(request.id).await?
    } else {
        Vec::new()
    };
    Ok(RequestDetail {
        request: request_dto(&request, requests.catalogue()),
        history: history
            .iter()
            .map(|u| UpdateDto {
                id: u.id,
                status: u.status.as_str().to_owned(),
                stage: u.stage.as_str().to_owned(),
                note: u.note.clone(),
                actor: u.actor.clone(),
                at: open311_date(u.at),
            })
            .collect(),
        duplicates: duplicates
            .iter()
            .map(|d| DuplicateDto {
                request_id: d.request_id,
                distance_m: (d.distance_m * 10.0).round() / 10.0,
            })
            .collect(),
    })
}

/// Body of `POST /api/requests/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// `received`, `acknowledged`, `in_progress` or `closed`.
    pub stage: String,
    /// A note shown to the resident (Open311 `status_notes`), up to 2,000 characters.
    pub note: Option<String>,
}

/// Moves a request to another stage; requests merged into it follow.
#[utoipa::path(post, path = "/api/requests/{id}/status", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The updated request", body = RequestDetail),
        (status = 400, description = "Invalid stage or note", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "The request is merged into another", body = ErrorBody),
    ))]
pub(crate) async fn update_status(
    auth: Auth<role::Operator>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<RequestDetail>, ApiError> {
    let requests = service(&state)?;
    let stage = requests::Stage::parse(&body.stage)
        .filter(|s| *s != requests::Stage::Merged)
        .ok_or_else(|| {
            ApiError::invalid("stage must be received, acknowledged, in_progress or closed")
        })?;
    let actor = format!("key:{}", auth.principal.key_id);
    let updated = requests
        .update_stage(id, stage, body.note.as_deref(), &actor)
        .await?;
    detail(requests, updated).await.map(Json)
}

/// Body of `POST /api/requests/{id}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The handling service, e.g. `DPE-STPP-DT`.
    pub service: String,
}

/// Hands a request to another service.
#[utoipa::path(post, path = "/api/requests/{id}/assign", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body = AssignBody,
    responses(
        (status = 200, description = "The updated request", body = RequestDetail),
        (status = 400, description = "Invalid service", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    ))]
pub(crate) async fn assign(
    auth: Auth<role::Operator>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<RequestDetail>, ApiError> {
    let requests = service(&state)?;
    let actor = format!("key:{}", auth.principal.key_id);
    let updated = requests.assign(id, &body.service, &actor).await?;
    detail(requests, updated).await.map(Json)
}

/// Body of `POST /api/requests/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The request that carries the work from now on.
    pub into: i64,
}

/// Merges a duplicate into another request; it then shares that request's status updates.
#[utoipa::path(post, path = "/api/requests/{id}/merge", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "The duplicate")),
    request_body = MergeBody,
    responses(
        (status = 200, description = "The merged request", body = RequestDetail),
        (status = 400, description = "Merging into itself", body = ErrorBody),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Already merged, or the target is merged", body = ErrorBody),
    ))]
pub(crate) async fn merge(
    auth: Auth<role::Operator>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MergeBody>,
) -> Result<Json<RequestDetail>, ApiError> {
    let requests = service(&state)?;
    let actor = format!("key:{}", auth.principal.key_id);
    let merged = requests.merge(id, body.into, &actor).await?;
    detail(requests, merged).await.map(Json)
}

/// Live request events (server-sent events, one JSON object per event: kind, request_id,
/// service_code, status, stage, arrondissement, at).
#[utoipa::path(get, path = "/api/requests/events", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "text/event-stream of request events"),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the operator role", body = ErrorBody),
    ))]
pub(crate) async fn events(
    _auth: Auth<role::Operator>,
    State(state): State<AppState>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let receiver = service(&state)?.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => {
                let data = serde_json::json!({
                    "kind": event.kind,
                    "request_id": event.request_id,
                    "service_code": event.service_code,
                    "status": event.status.as_str(),
                    "stage": event.stage.as_str(),
                    "arrondissement": event.arrondissement,
                    "at": open311_date(event.at),
                });
                Event::default().event("request").data(data.to_string())
            }
            // A slow client is told how many events it missed, and goes on.
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(serde_json::json!({ "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Time to close of one group, in hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct CloseTimesDto {
    pub n: usize,
    pub median_hours: f64,
    pub p90_hours: f64,
}

/// The service report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceReportDto {
    pub closed: usize,
    pub by_category: std::collections::BTreeMap<String, CloseTimesDto>,
    pub by_arrondissement: std::collections::BTreeMap<String, CloseTimesDto>,
    /// Median time to close of the slowest arrondissement over the fastest's (arrondissements
    /// with at least 5 closed requests); null when fewer than two qualify.
    pub slowest_to_fastest_arrondissement: Option<f64>,
}

/// Median and 90th-percentile time to close per category and per arrondissement (public: no
/// personal data).
#[utoipa::path(get, path = "/api/requests/report", tag = "requests",
    responses((status = 200, description = "The report", body = ServiceReportDto)))]
pub(crate) async fn report(
    State(state): State<AppState>,
) -> Result<Json<ServiceReportDto>, ApiError> {
    let requests = service(&state)?;
    let report = requests::report::build(&requests.closure_times().await?, 5);
    let dto = |t: &requests::report::CloseTimes| CloseTimesDto {
        n: t.n,
        median_hours: t.median_h,
        p90_hours: t.p90_h,
    };
    Ok(Json(ServiceReportDto {
        closed: report.closed,
        by_category: report
            .by_category
            .iter()
            .map(|(k, v)| (k.clone(), dto(v)))
            .collect(),
        by_arrondissement: report
            .by_arrondissement
            .iter()
            .map(|(k, v)| (k.to_string(), dto(v)))
            .collect(),
        slowest_to_fastest_arrondissement: report.slowest_to_fastest,
    }))
}

/// Body of `POST /api/requests/classify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    /// A resident's description, 1 to 4,000 characters.
    #[schema(example = "un vieux matelas abandonné devant le 12 rue de la Roquette")]
    pub description: String,
}

/// A suggested category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    #[serde(rename = "type")]
    pub type_name: String,
    pub soustype: String,
    pub service_code: String,
    pub probability: f32,
}

/// What the classifier makes of a description.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifyAnswer {
    /// The category intake would file it under; null: it would ask the resident.
    pub decided: Option<CategoryDto>,
    /// The three most likely types with their best sub-type.
    pub candidates: Vec<CategoryDto>,
    pub not_a_report: f32,
}

/// Suggests categories for a description (nothing is stored).
#[utoipa::path(post, path = "/api/requests/classify", tag = "requests",
    request_body = ClassifyBody,
    responses(
        (status = 200, description = "Suggestions", body = ClassifyAnswer),
        (status = 400, description = "Empty or too long description", body = ErrorBody),
    ))]
pub(crate) async fn classify(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ClassifyBody>,
) -> Result<Json<ClassifyAnswer>, ApiError> {
    let requests = service(&state)?;
    let n = body.description.trim().chars().count();
    if n == 0 || n > requests::service::MAX_DESCRIPTION {
        return Err(ApiError::invalid(
            "description must be 1 to 4,000 characters",
        ));
    }
    let result = requests.classifier().classify(&body.description);
    let dto = |c: &requests::classify::Candidate| CategoryDto {
        type_name: c.type_name.clone(),
        soustype: c.soustype.clone(),
        service_code: c.service_code.clone(),
        probability: c.probability,
    };
    Ok(Json(ClassifyAnswer {
        decided: result.decided.as_ref().map(dto),
        candidates: result.candidates.iter().take(3).map(dto).collect(),
        not_a_report: result.not_a_report,
    }))
}

/// The reporter's personal data, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalDataDto {
    pub request_id: i64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Exports the personal data given with a request (GDPR access).
#[utoipa::path(get, path = "/api/privacy/requests/{id}/personal-data", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses(
        (status = 200, description = "The personal data", body = PersonalDataDto),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the admin role", body = ErrorBody),
        (status = 404, description = "No such request, or no personal data held", body = ErrorBody),
    ))]
pub(crate) async fn personal_data(
    _auth: Auth<role::Admin>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PersonalDataDto>, ApiError> {
    let contact = service(&state)?.contact(id).await?.ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            format!("no personal data held for request {id}"),
        )
    })?;
    Ok(Json(PersonalDataDto {
        request_id: id,
        email: contact.email,
        phone: contact.phone,
        first_name: contact.first_name,
        last_name: contact.last_name,
    }))
}

/// Erases the personal data given with a request; the request itself stays (GDPR erasure).
#[utoipa::path(delete, path = "/api/privacy/requests/{id}/personal-data", tag = "requests",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses(
        (status = 204, description = "Erased (or there was none)"),
        (status = 401, description = "No key or an invalid key", body = ErrorBody),
        (status = 403, description = "Below the admin role", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    ))]
pub(crate) async fn erase_personal_data(
    auth: Auth<role::Admin>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    let actor = format!("key:{}", auth.principal.key_id);
    service(&state)?.erase_contact(id, &actor).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
