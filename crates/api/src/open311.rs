//! Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) under `/open311/v2/`, every resource in
//! `.json` and `.xml`, with the specification's error format: the HTTP status and an array of
//! `{code, description}` (XML: `<errors><error>…</error></errors>`). Also mySociety's
//! `servicerequestupdates` extension.
//!
//! axum cannot route a parameter followed by a suffix in one segment (`{id}.json`), so two
//! routes take the resource with its format and dispatch here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;
use requests::{NewRequest, Query, RequestError, ServiceRequest, Stage, Status};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::auth::key_in_headers;

/// Response format, from the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// An Open311 error: the HTTP status and its description.
#[derive(Debug, Clone)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>) -> Open311Error {
        Open311Error {
            status,
            description: description.into(),
        }
    }

    fn bad_request(description: impl Into<String>) -> Open311Error {
        Open311Error::new(StatusCode::BAD_REQUEST, description)
    }

    fn not_found(description: impl Into<String>) -> Open311Error {
        Open311Error::new(StatusCode::NOT_FOUND, description)
    }

    /// The error in a format.
    pub fn render(&self, format: Format) -> Response {
        let code = self.status.as_u16();
        match format {
            Format::Json => reply(
                self.status,
                Format::Json,
                json!([{"code": code, "description": self.description}]).to_string(),
            ),
            Format::Xml => reply(
                self.status,
                Format::Xml,
                format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>{code}</code><description>{}</description></error></errors>",
                    escape(self.description.as_str())
                ),
            ),
        }
    }
}

impl From<RequestError> for Open311Error {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::Invalid { field, message } => {
                Open311Error::bad_request(format!("{field}: {message}"))
            }
            RequestError::CannotClassify(message) => {
                Open311Error::bad_request(format!("service_code: {message}"))
            }
            RequestError::NotFound(what) => Open311Error::not_found(format!("{what} not found")),
            RequestError::Conflict(message) => Open311Error::new(StatusCode::CONFLICT, message),
            RequestError::Store(e) if e.is_unavailable() => Open311Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the data store cannot be reached; retry later",
            ),
            RequestError::Store(e) => {
                tracing::error!(error = %e, "internal error");
                Open311Error::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; it has been logged",
                )
            }
        }
    }
}

fn reply(status: StatusCode, format: Format, body: String) -> Response {
    let content_type = match format {
        Format::Json => "application/json; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Splits `requests.json` into (`requests`, format).
fn split_format(resource: &str) -> Result<(&str, Format), Open311Error> {
    let (name, extension) = resource
        .rsplit_once('.')
        .ok_or_else(|| Open311Error::not_found(format!("{resource}: add .json or .xml")))?;
    match extension {
        "json" => Ok((name, Format::Json)),
        "xml" => Ok((name, Format::Xml)),
        other => Err(Open311Error::not_found(format!(
            "format {other:?} is not served; use .json or .xml"
        ))),
    }
}

/// The format of a resource path, for errors raised before dispatch (JSON when unknown).
pub fn format_of_path(path: &str) -> Format {
    if path.ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    }
}

fn requests_of(state: &AppState) -> Result<&std::sync::Arc<requests::Requests>, Open311Error> {
    state.requests().ok_or_else(|| {
        Open311Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service requests are not running on this node",
        )
    })
}

/// `GET|POST /open311/v2/{resource}`: discovery, services, requests, servicerequestupdates.
#[utoipa::path(
    get,
    path = "/open311/v2/{resource}",
    tag = "open311",
    params(("resource" = String, Path, description = "`discovery`, `services`, `requests` or `servicerequestupdates`, with `.json` or `.xml`")),
    responses(
        (status = 200, description = "The resource, in the requested format (see the GeoReport v2 specification)"),
        (status = 400, description = "Open311 error array"),
        (status = 404, description = "Open311 error array"),
    )
)]
pub async fn get_collection(
    State(state): State<AppState>,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let format = format_of_path(&resource);
    match get_collection_inner(&state, &resource, query.as_deref().unwrap_or("")).await {
        Ok(response) => response,
        Err(error) => error.render(format),
    }
}

async fn get_collection_inner(
    state: &AppState,
    resource: &str,
    query: &str,
) -> Result<Response, Open311Error> {
    let (name, format) = split_format(resource)?;
    let params = parse_pairs(query.as_bytes())?;
    match name {
        "discovery" => Ok(discovery(format)),
        "services" => {
            let requests = requests_of(state)?;
            Ok(services(requests.catalogue(), format))
        }
        "requests" => {
            let requests = requests_of(state)?;
            let query = request_query(&params)?;
            let found = requests.list(&query).await?;
            Ok(render_requests(&found, requests.catalogue(), format))
        }
        "servicerequestupdates" => {
            let requests = requests_of(state)?;
            let start = optional_date(&params, "start_date")?;
            let end = optional_date(&params, "end_date")?;
            let end = end.unwrap_or_else(|| OffsetDateTime::now_utc() + time::Duration::minutes(1));
            let start = start.unwrap_or(end - requests::service::MAX_QUERY_SPAN);
            if end < start || end - start > requests::service::MAX_QUERY_SPAN {
                return Err(Open311Error::bad_request(
                    "end_date: must follow start_date by at most 90 days",
                ));
            }
            let updates = requests.updates_between(start, end, 1000).await?;
            Ok(render_updates(&updates, format))
        }
        other => Err(Open311Error::not_found(format!("no resource {other:?}"))),
    }
}

/// `GET /open311/v2/{collection}/{item}`: a service definition, a request, a token.
#[utoipa::path(
    get,
    path = "/open311/v2/{collection}/{item}",
    tag = "open311",
    params(
        ("collection" = String, Path, description = "`services`, `requests` or `tokens`"),
        ("item" = String, Path, description = "service code, request id or token, with `.json` or `.xml`"),
    ),
    responses(
        (status = 200, description = "A service definition, a request (as a one-element list) or a token's request id"),
        (status = 404, description = "Open311 error array"),
    )
)]
pub async fn get_item(
    State(state): State<AppState>,
    Path((collection, item)): Path<(String, String)>,
) -> Response {
    let format = format_of_path(&item);
    match get_item_inner(&state, &collection, &item).await {
        Ok(response) => response,
        Err(error) => error.render(format),
    }
}

async fn get_item_inner(
    state: &AppState,
    collection: &str,
    item: &str,
) -> Result<Response, Open311Error> {
    let (key, format) = split_format(item)?;
    let requests = requests_of(state)?;
    match collection {
        "services" => {
            let service = requests
                .catalogue()
                .get(key)
                .filter(|s| !s.agent_only)
                .ok_or_else(|| Open311Error::not_found(format!("service_code {key} not found")))?;
            Ok(service_definition(requests.catalogue(), service, format))
        }
        "requests" => {
            let id: i64 = key.parse().map_err(|_| {
                Open311Error::not_found(format!("service_request_id {key} not found"))
            })?;
            let request = requests.get(id).await?.ok_or_else(|| {
                Open311Error::not_found(format!("service_request_id {key} not found"))
            })?;
            Ok(render_requests(&[request], requests.catalogue(), format))
        }
        "tokens" => {
            let request = requests
                .by_token(key)
                .await?
                .ok_or_else(|| Open311Error::not_found(format!("token {key} not found")))?;
            let body = match format {
                Format::Json => {
                    json!([{"service_request_id": request.id.to_string(), "token": request.token}])
                        .to_string()
                }
                Format::Xml => format!(
                    "{XML_HEAD}<service_requests><request><service_request_id>{}</service_request_id><token>{}</token></request></service_requests>",
                    request.id,
                    escape(request.token.as_str())
                ),
            };
            Ok(reply(StatusCode::OK, format, body))
        }
        other => Err(Open311Error::not_found(format!("no resource {other:?}"))),
    }
}

/// `POST /open311/v2/requests.{json|xml}` (a new request, `api_key` required) and
/// `POST /open311/v2/servicerequestupdates.{json|xml}` (a status update, operator key).
#[utoipa::path(
    post,
    path = "/open311/v2/{resource}",
    tag = "open311",
    params(("resource" = String, Path, description = "`requests` or `servicerequestupdates`, with `.json` or `.xml`")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "GeoReport v2 parameters (JSON object accepted too): api_key, service_code, lat, long, address_string, address_id, attribute[code], description, media_url, email, phone, first_name, last_name, jurisdiction_id, device_id, account_id"),
    responses(
        (status = 201, description = "`[{service_request_id, token, service_notice, account_id}]`; the request is stored"),
        (status = 400, description = "Open311 error array; nothing stored"),
        (status = 403, description = "Missing or invalid api_key; nothing stored"),
    )
)]
pub async fn post_collection(
    State(state): State<AppState>,
    Path(resource): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let format = format_of_path(&resource);
    match post_inner(&state, &resource, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.render(format),
    }
}

async fn post_inner(
    state: &AppState,
    resource: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Open311Error> {
    let (name, format) = split_format(resource)?;
    if name != "requests" && name != "servicerequestupdates" {
        return Err(Open311Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{name} cannot be posted to"),
        ));
    }
    let params = parse_body(headers, body)?;
    let key = params
        .get("api_key")
        .map(String::as_str)
        .or_else(|| header_key(headers))
        .ok_or_else(|| Open311Error::new(StatusCode::FORBIDDEN, "api_key was not provided"))?;
    let principal = state
        .keys()
        .authenticate(key)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "key lookup failed");
            Open311Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the key store cannot be reached; retry later",
            )
        })?
        .ok_or_else(|| Open311Error::new(StatusCode::FORBIDDEN, "api_key is invalid or revoked"))?;
    let requests = requests_of(state)?;
    if name == "servicerequestupdates" {
        if !principal.role.satisfies(access::Role::Operator) {
            return Err(Open311Error::new(
                StatusCode::FORBIDDEN,
                "status updates need an operator key",
            ));
        }
        let id: i64 = params
            .get("service_request_id")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                Open311Error::bad_request("service_request_id: required, a request id")
            })?;
        let stage = params
            .get("status")
            .and_then(|s| stage_of_update(s))
            .ok_or_else(|| Open311Error::bad_request("status: one of open, acknowledged, in_progress, closed (or FIXED, CLOSED, OPEN, IN_PROGRESS, INVESTIGATING)"))?;
        let actor = format!("key:{}", principal.key_id);
        let updated = requests
            .update_stage(
                id,
                stage,
                params.get("description").map(String::as_str),
                &actor,
            )
            .await?;
        let update = requests
            .history(id)
            .await?
            .pop()
            .expect("an update was just written");
        let body = match format {
            Format::Json => json!([{"update_id": update.id.to_string(), "service_request_id": updated.id.to_string(), "status": updated.status.as_str()}]).to_string(),
            Format::Xml => format!(
                "{XML_HEAD}<service_request_updates><request_update><update_id>{}</update_id><service_request_id>{}</service_request_id><status>{}</status></request_update></service_request_updates>",
                update.id, updated.id, updated.status.as_str()
            ),
        };
        return Ok(reply(StatusCode::OK, format, body));
    }

    let new = new_request(&params)?;
    let agent = principal.role.satisfies(access::Role::Agent);
    let receipt = requests.submit(new, agent).await?;
    let request = &receipt.request;
    let mut notice = request.service_notice.clone().unwrap_or_default();
    if !receipt.duplicates.is_empty() {
        let ids: Vec<String> = receipt
            .duplicates
            .iter()
            .map(|d| d.request_id.to_string())
            .collect();
        let _ = write!(
            notice,
            " Signalements proches du même type déjà ouverts : {}.",
            ids.join(", ")
        );
    }
    let account = params.get("account_id").cloned().unwrap_or_default();
    let body = match format {
        Format::Json => json!([{
            "service_request_id": request.id.to_string(),
            "token": request.token,
            "service_notice": notice,
            "account_id": if account.is_empty() { Value::Null } else { Value::String(account) },
        }])
        .to_string(),
        Format::Xml => format!(
            "{XML_HEAD}<service_requests><request><service_request_id>{}</service_request_id><token>{}</token><service_notice>{}</service_notice><account_id>{}</account_id></request></service_requests>",
            request.id,
            escape(request.token.as_str()),
            escape(notice.as_str()),
            escape(account.as_str())
        ),
    };
    Ok(reply(StatusCode::CREATED, format, body))
}

fn header_key(headers: &HeaderMap) -> Option<&str> {
    key_in_headers(headers).filter(|k| !k.is_empty())
}

fn stage_of_update(status: &str) -> Option<Stage> {
    match status.to_ascii_lowercase().as_str() {
        "open" | "received" => Some(Stage::Received),
        "acknowledged" | "investigating" | "action_scheduled" => Some(Stage::Acknowledged),
        "in_progress" => Some(Stage::InProgress),
        "closed" | "fixed" => Some(Stage::Closed),
        _ => None,
    }
}

fn parse_pairs(bytes: &[u8]) -> Result<BTreeMap<String, String>, Open311Error> {
    let mut map = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        // An empty parameter means the same as an absent one.
        if value.trim().is_empty() {
            continue;
        }
        if map.insert(key.to_string(), value.to_string()).is_some() {
            return Err(Open311Error::bad_request(format!("{key}: given twice")));
        }
    }
    Ok(map)
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, Open311Error> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Open311Error::bad_request(format!("the body is not valid JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| Open311Error::bad_request("the JSON body must be an object"))?;
        let mut map = BTreeMap::new();
        for (key, value) in object {
            let text = match value {
                Value::Null => continue,
                Value::String(s) if s.trim().is_empty() => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Object(attributes) if key == "attribute" => {
                    for (code, v) in attributes {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        map.insert(format!("attribute[{code}]"), v);
                    }
                    continue;
                }
                _ => {
                    return Err(Open311Error::bad_request(format!(
                        "{key}: must be a string or a number"
                    )));
                }
            };
            map.insert(key.clone(), text);
        }
        Ok(map)
    } else if content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.is_empty()
    {
        if std::str::from_utf8(body).is_err() {
            return Err(Open311Error::bad_request("the body is not valid UTF-8"));
        }
        parse_pairs(body)
    } else {
        Err(Open311Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-www-form-urlencoded (or application/json)",
        ))
    }
}

const KNOWN_POST_FIELDS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

fn new_request(params: &BTreeMap<String, String>) -> Result<NewRequest, Open311Error> {
    let mut new = NewRequest::default();
    for (key, value) in params {
        if let Some(code) = key
            .strip_prefix("attribute[")
            .and_then(|k| k.strip_suffix(']'))
        {
            new.attributes.insert(code.to_owned(), value.clone());
        } else if !KNOWN_POST_FIELDS.contains(&key.as_str()) {
            return Err(Open311Error::bad_request(format!(
                "{key}: unknown parameter"
            )));
        }
    }
    let text = |k: &str| params.get(k).map(|v| v.trim().to_owned());
    let number = |k: &str| -> Result<Option<f64>, Open311Error> {
        params
            .get(k)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| {
                        Open311Error::bad_request(format!("{k}: must be a decimal number"))
                    })
            })
            .transpose()
    };
    new.service_code = text("service_code");
    new.description = params.get("description").cloned();
    new.lat = number("lat")?;
    new.lon = number("long")?;
    new.address = text("address_string");
    new.address_id = text("address_id");
    new.media_url = text("media_url");
    new.contact.email = text("email");
    new.contact.phone = text("phone");
    new.contact.first_name = text("first_name");
    new.contact.last_name = text("last_name");
    new.jurisdiction_id = text("jurisdiction_id");
    new.device_id = text("device_id");
    new.account_id = text("account_id");
    Ok(new)
}

fn request_query(params: &BTreeMap<String, String>) -> Result<Query, Open311Error> {
    for key in params.keys() {
        if ![
            "service_request_id",
            "service_code",
            "start_date",
            "end_date",
            "status",
            "jurisdiction_id",
            "api_key",
        ]
        .contains(&key.as_str())
        {
            return Err(Open311Error::bad_request(format!(
                "{key}: unknown parameter"
            )));
        }
    }
    let list = |k: &str| -> Vec<String> {
        params
            .get(k)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = list("service_request_id")
        .iter()
        .map(|id| {
            id.parse::<i64>().map_err(|_| {
                Open311Error::bad_request(format!("service_request_id: {id:?} is not a request id"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > 1000 {
        return Err(Open311Error::bad_request(
            "service_request_id: at most 1,000 ids",
        ));
    }
    let statuses = list("status")
        .iter()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                Open311Error::bad_request(format!("status: {s:?} is not open or closed"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Query {
        ids,
        service_codes: list("service_code"),
        statuses,
        start: optional_date(params, "start_date")?,
        end: optional_date(params, "end_date")?,
        arrondissement: None,
        limit: None,
    })
}

fn optional_date(
    params: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<OffsetDateTime>, Open311Error> {
    params
        .get(key)
        .map(|v| {
            OffsetDateTime::parse(v.trim(), &Rfc3339).map_err(|_| {
                Open311Error::bad_request(format!(
                    "{key}: {v:?} is not a W3C date and time with a time zone (2026-11-26T00:00:00Z)"
                ))
            })
        })
        .transpose()
}

/// A date as Open311 writes it: ISO 8601 with the time zone.
pub fn open311_date(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .expect("dates within years 0-9999 format")
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

fn discovery(format: Format) -> Response {
    let changeset = "2026-11-26T00:00:00Z";
    match format {
        Format::Json => reply(
            StatusCode::OK,
            format,
            json!({
                "changeset": changeset,
                "contact": "Ville de Paris — signalements (DansMaRue) via Parvis",
                "key_service": "Keys are issued by the city's Parvis administrators (parvis keys create --role resident-app).",
                "endpoints": [{
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": "/open311/v2",
                    "changeset": changeset,
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }],
            })
            .to_string(),
        ),
        Format::Xml => reply(
            StatusCode::OK,
            format,
            format!(
                "{XML_HEAD}<discovery><changeset>{changeset}</changeset><contact>Ville de Paris — signalements (DansMaRue) via Parvis</contact><key_service>Keys are issued by the city's Parvis administrators.</key_service><endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification><url>/open311/v2</url><changeset>{changeset}</changeset><type>production</type><formats><format>application/json</format><format>text/xml</format></formats></endpoint></endpoints></discovery>"
            ),
        ),
    }
}

fn services(catalogue: &requests::Catalogue, format: Format) -> Response {
    let public: Vec<&requests::Service> = catalogue.public().collect();
    match format {
        Format::Json => {
            let list: Vec<Value> = public
                .iter()
                .map(|s| {
                    json!({
                        "service_code": s.code,
                        "service_name": s.name,
                        "description": format!("{} — {}", s.type_name, s.name),
                        "metadata": !catalogue.attributes(s).is_empty(),
                        "type": "realtime",
                        "keywords": s.type_name,
                        "group": s.type_name,
                    })
                })
                .collect();
            reply(StatusCode::OK, format, Value::Array(list).to_string())
        }
        Format::Xml => {
            let mut xml = format!("{XML_HEAD}<services>");
            for s in public {
                let _ = write!(
                    xml,
                    "<service><service_code>{}</service_code><service_name>{}</service_name><description>{} — {}</description><metadata>{}</metadata><type>realtime</type><keywords>{}</keywords><group>{}</group></service>",
                    escape(s.code.as_str()),
                    escape(s.name.as_str()),
                    escape(s.type_name.as_str()),
                    escape(s.name.as_str()),
                    !catalogue.attributes(s).is_empty(),
                    escape(s.type_name.as_str()),
                    escape(s.type_name.as_str()),
                );
            }
            xml.push_str("</services>");
            reply(StatusCode::OK, format, xml)
        }
    }
}

fn service_definition(
    catalogue: &requests::Catalogue,
    service: &requests::Service,
    format: Format,
) -> Response {
    let attributes = catalogue.attributes(service);
    match format {
        Format::Json => {
            let list: Vec<Value> = attributes
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    json!({
                        "variable": true,
                        "code": a.code,
                        "datatype": a.datatype.as_str(),
                        "required": a.required,
                        "datatype_description": Value::Null,
                        "order": i + 1,
                        "description": a.description,
                        "values": a.values.iter().map(|v| json!({"key": v.key, "name": v.name})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            reply(
                StatusCode::OK,
                format,
                json!({"service_code": service.code, "attributes": list}).to_string(),
            )
        }
        Format::Xml => {
            let mut xml = format!(
                "{XML_HEAD}<service_definition><service_code>{}</service_code><attributes>",
                escape(service.code.as_str())
            );
            for (i, a) in attributes.iter().enumerate() {
                let _ = write!(
                    xml,
                    "<attribute><variable>true</variable><code>{}</code><datatype>{}</datatype><required>{}</required><datatype_description></datatype_description><order>{}</order><description>{}</description><values>",
                    escape(a.code.as_str()),
                    a.datatype.as_str(),
                    a.required,
                    i + 1,
                    escape(a.description.as_str())
                );
                for v in &a.values {
                    let _ = write!(
                        xml,
                        "<value><key>{}</key><name>{}</name></value>",
                        escape(v.key.as_str()),
                        escape(v.name.as_str())
                    );
                }
                xml.push_str("</values></attribute>");
            }
            xml.push_str("</attributes></service_definition>");
            reply(StatusCode::OK, format, xml)
        }
    }
}

/// The public fields of a request, in the specification's order (never personal data).
fn request_fields(
    request: &ServiceRequest,
    catalogue: &requests::Catalogue,
) -> Vec<(&'static str, Option<String>)> {
    let service = catalogue.get(&request.service_code);
    vec![
        ("service_request_id", Some(request.id.to_string())),
        ("status", Some(request.status.as_str().to_owned())),
        ("status_notes", request.status_notes.clone()),
        ("service_name", service.map(|s| s.name.clone())),
        ("service_code", Some(request.service_code.clone())),
        ("description", request.description.clone()),
        (
            "agency_responsible",
            Some(request.agency_responsible.clone()),
        ),
        ("service_notice", request.service_notice.clone()),
        (
            "requested_datetime",
            Some(open311_date(request.requested_at)),
        ),
        ("updated_datetime", Some(open311_date(request.updated_at))),
        ("expected_datetime", Some(open311_date(request.expected_at))),
        ("address", request.address.clone()),
        ("address_id", request.address_id.clone()),
        (
            "zipcode",
            request.arrondissement.map(|a| {
                if a == 16 {
                    "75016".into()
                } else {
                    format!("750{a:02}")
                }
            }),
        ),
        ("lat", request.lat.map(|v| v.to_string())),
        ("long", request.lon.map(|v| v.to_string())),
        ("media_url", request.media_url.clone()),
    ]
}

fn render_requests(
    found: &[ServiceRequest],
    catalogue: &requests::Catalogue,
    format: Format,
) -> Response {
    match format {
        Format::Json => {
            let list: Vec<Value> = found
                .iter()
                .map(|r| {
                    let mut object = serde_json::Map::new();
                    for (key, value) in request_fields(r, catalogue) {
                        let value = match (key, value) {
                            ("lat" | "long", Some(v)) => {
                                v.parse::<f64>().map(Value::from).unwrap_or(Value::Null)
                            }
                            (_, Some(v)) => Value::String(v),
                            (_, None) => Value::Null,
                        };
                        object.insert(key.to_owned(), value);
                    }
                    Value::Object(object)
                })
                .collect();
            reply(StatusCode::OK, format, Value::Array(list).to_string())
        }
        Format::Xml => {
            let mut xml = format!("{XML_HEAD}<service_requests>");
            for r in found {
                xml.push_str("<request>");
                for (key, value) in request_fields(r, catalogue) {
                    let _ = write!(
                        xml,
                        "<{key}>{}</{key}>",
                        escape(value.as_deref().unwrap_or(""))
                    );
                }
                xml.push_str("</request>");
            }
            xml.push_str("</service_requests>");
            reply(StatusCode::OK, format, xml)
        }
    }
}

fn render_updates(updates: &[requests::StatusUpdate], format: Format) -> Response {
    let fields = |u: &requests::StatusUpdate| {
        vec![
            ("update_id", u.id.to_string()),
            ("service_request_id", u.request_id.to_string()),
            ("status", u.status.as_str().to_owned()),
            ("updated_datetime", open311_date(u.at)),
            ("description", u.note.clone().unwrap_or_default()),
            ("media_url", String::new()),
        ]
    };
    match format {
        Format::Json => {
            let list: Vec<Value> = updates
                .iter()
                .map(|u| {
                    Value::Object(
                        fields(u)
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), Value::String(v)))
                            .collect(),
                    )
                })
                .collect();
            reply(StatusCode::OK, format, Value::Array(list).to_string())
        }
        Format::Xml => {
            let mut xml = format!("{XML_HEAD}<service_request_updates>");
            for u in updates {
                xml.push_str("<request_update>");
                for (key, value) in fields(u) {
                    let _ = write!(xml, "<{key}>{}</{key}>", escape(value.as_str()));
                }
                xml.push_str("</request_update>");
            }
            xml.push_str("</service_request_updates>");
            reply(StatusCode::OK, format, xml)
        }
    }
}
