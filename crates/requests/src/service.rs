//! The request service: intake (validation, classification, routing, duplicate lookup, one
//! durable write), queries with the Open311 filters, and the life cycle (status updates,
//! assignment, merges), with events for live views.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use governance::audit::Entry;
use serde_json::json;
use store::{Row, Store, StoreError};
use time::{Duration, OffsetDateTime};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::area::{Arrondissements, arrondissement_of_postcode};
use crate::catalogue::{Catalogue, Service};
use crate::classify::Classifier;
use crate::duplicates::{DuplicateCandidate, DuplicateIndex};
use crate::model::{
    ClassificationRecord, Contact, NewRequest, RequestEvent, ServiceRequest, Stage, Status,
    StatusUpdate,
};
use crate::routing::Routing;

/// Longest description accepted, in characters (the Open311 specification's limit).
pub const MAX_DESCRIPTION: usize = 4000;
/// Longest period a `GET requests` may span.
pub const MAX_QUERY_SPAN: Duration = Duration::days(90);
/// Most requests one `GET requests` returns.
pub const MAX_QUERY_RESULTS: usize = 1000;

/// Behaviour of the service.
#[derive(Debug, Clone)]
pub struct RequestsConfig {
    /// Radius within which open requests of the same category are proposed as duplicates,
    /// unless the category sets its own.
    pub duplicate_radius_m: f64,
    /// How far back a duplicate may have been reported.
    pub duplicate_window: Duration,
    /// Type probability above which the classifier overrides a chosen category of another type.
    pub reclassify_threshold: f32,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        RequestsConfig {
            duplicate_radius_m: 250.0,
            duplicate_window: Duration::days(7),
            reclassify_threshold: 0.9,
        }
    }
}

/// Why a request or an operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A field is missing or invalid; `field` is the Open311 parameter name.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The text does not say which category it is, and none was chosen.
    #[error("{0}")]
    CannotClassify(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RequestError {
    fn invalid(field: &str, message: impl Into<String>) -> RequestError {
        RequestError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for RequestError {
    fn from(e: sqlx::Error) -> Self {
        RequestError::Store(StoreError::Database(e))
    }
}

/// The outcome of a successful intake.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub request: ServiceRequest,
    /// Open requests of the same category nearby, nearest first.
    pub duplicates: Vec<DuplicateCandidate>,
}

/// The filters of `GET requests`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub ids: Vec<i64>,
    pub service_codes: Vec<String>,
    pub statuses: Vec<Status>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub arrondissement: Option<u8>,
    pub limit: Option<usize>,
}

/// Service requests over a store.
pub struct Requests {
    store: Store,
    catalogue: Arc<Catalogue>,
    classifier: Arc<Classifier>,
    routing: Routing,
    areas: Arrondissements,
    duplicates: RwLock<DuplicateIndex>,
    events: broadcast::Sender<RequestEvent>,
    config: RequestsConfig,
    writer: mpsc::Sender<(
        PendingInsert,
        oneshot::Sender<Result<ServiceRequest, RequestError>>,
    )>,
}

/// A new request ready to be written (validated, classified, routed; id not yet known).
struct PendingInsert {
    request: ServiceRequest,
    contact: Contact,
    note: Option<String>,
    jurisdiction_id: Option<String>,
    device_id: Option<String>,
    account_id: Option<String>,
    /// Intake decisions (classification, routing, duplicate suggestions) go to the audit log
    /// with the request; imported history has none.
    decisions: Option<Decisions>,
}

/// What intake decided automatically about a new request, for the audit log.
struct Decisions {
    /// The service code the resident chose, if any.
    chosen: Option<String>,
    duplicates: Vec<DuplicateCandidate>,
}

/// Most new requests committed in one transaction.
const MAX_GROUP: usize = 64;

/// The intake writer: takes new requests as they come and commits those waiting together, one
/// transaction (one fsync) for the group, then answers each caller with its stored request.
/// Group commit keeps every acknowledged request durable while SQLite's single writer stops
/// being the limit. A group that fails is retried one request per transaction, so that one bad
/// request cannot fail the others.
async fn write_intake(
    store: Store,
    mut queue: mpsc::Receiver<(
        PendingInsert,
        oneshot::Sender<Result<ServiceRequest, RequestError>>,
    )>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let pending: Vec<&PendingInsert> = group.iter().map(|(p, _)| p).collect();
        match insert_group(&store, &pending, "intake").await {
            Ok(ids) => {
                for ((mut pending, reply), id) in group.drain(..).zip(ids) {
                    pending.request.id = id;
                    let _ = reply.send(Ok(pending.request));
                }
            }
            Err(_) => {
                for (mut pending, reply) in group.drain(..) {
                    let outcome = insert_group(&store, &[&pending], "intake")
                        .await
                        .map(|ids| {
                            pending.request.id = ids[0];
                            pending.request
                        });
                    let _ = reply.send(outcome);
                }
            }
        }
    }
}

/// Inserts requests in one transaction with their history (received, and closed when they
/// are); returns their ids in order. Intake and the bulk import share it.
async fn insert_group(
    store: &Store,
    group: &[&PendingInsert],
    actor: &str,
) -> Result<Vec<i64>, RequestError> {
    let mut tx = store.begin().await?;
    let mut ids = Vec::with_capacity(group.len());
    for pending in group {
        let r = &pending.request;
        let stamp = store::timestamp::format(r.requested_at);
        let row = sqlx::query(
            "INSERT INTO service_requests (token, service_code, status, stage, description, lat, lon, \
             address, address_id, arrondissement, media_url, agency_responsible, service_notice, \
             attributes, classification, jurisdiction_id, device_id, account_id, requested_at, \
             updated_at, expected_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22) RETURNING id",
        )
        .bind(&r.token)
        .bind(&r.service_code)
        .bind(r.status.as_str())
        .bind(r.stage.as_str())
        .bind(r.description.as_deref())
        .bind(r.lat)
        .bind(r.lon)
        .bind(r.address.as_deref())
        .bind(r.address_id.as_deref())
        .bind(r.arrondissement.map(i64::from))
        .bind(r.media_url.as_deref())
        .bind(&r.agency_responsible)
        .bind(r.service_notice.as_deref())
        .bind(serde_json::to_string(&r.attributes).expect("a map serialises"))
        .bind(r.classification.as_ref().map(classification_to_json))
        .bind(pending.jurisdiction_id.as_deref())
        .bind(pending.device_id.as_deref())
        .bind(pending.account_id.as_deref())
        .bind(&stamp)
        .bind(store::timestamp::format(r.updated_at))
        .bind(store::timestamp::format(r.expected_at))
        .bind(r.closed_at.map(store::timestamp::format))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        let contact = &pending.contact;
        if !contact.is_empty() {
            sqlx::query(
                "INSERT INTO service_request_contacts (request_id, email, phone, first_name, last_name) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(contact.email.as_deref())
            .bind(contact.phone.as_deref())
            .bind(contact.first_name.as_deref())
            .bind(contact.last_name.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        insert_update(
            &mut tx,
            id,
            Stage::Received,
            pending.note.as_deref(),
            actor,
            &stamp,
        )
        .await?;
        if let Some(closed) = r.closed_at {
            let closed = store::timestamp::format(closed);
            insert_update(&mut tx, id, Stage::Closed, None, actor, &closed).await?;
        }
        if let Some(decisions) = &pending.decisions {
            let entries = audit_entries(id, r, decisions);
            store.append_audit_in(&mut tx, &entries).await?;
        }
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// The audit records of a request's intake: its classification (when its text was read), its
/// routing, and the duplicates suggested to agents. No contact data: only the description,
/// which the audit log redacts.
fn audit_entries(id: i64, r: &ServiceRequest, decisions: &Decisions) -> Vec<Entry> {
    let version = env!("CARGO_PKG_VERSION");
    let entry = |algorithm: &str, kind: &str, inputs, output| Entry {
        actor: "requests".into(),
        algorithm: algorithm.into(),
        version: version.into(),
        kind: kind.into(),
        inputs,
        output,
    };
    let mut entries = Vec::with_capacity(3);
    if let Some(c) = &r.classification {
        entries.push(entry(
            "request-classification",
            "classification",
            json!({"request_id": id, "description": r.description, "chosen": decisions.chosen}),
            json!({"service_code": r.service_code, "type": c.type_name,
                "probability": c.probability, "not_a_report": c.not_a_report,
                "reclassified_from": c.reclassified_from}),
        ));
    }
    entries.push(entry(
        "request-routing",
        "routing",
        json!({"request_id": id, "service_code": r.service_code,
            "arrondissement": r.arrondissement}),
        json!({"agency": r.agency_responsible, "expected_at":
            store::timestamp::format(r.expected_at)}),
    ));
    if !decisions.duplicates.is_empty() {
        let candidates: Vec<_> = decisions
            .duplicates
            .iter()
            .map(|d| json!({"request_id": d.request_id, "distance_m": d.distance_m.round()}))
            .collect();
        entries.push(entry(
            "duplicate-detection",
            "duplicate-suggestion",
            json!({"request_id": id, "service_code": r.service_code,
                "lat": r.lat, "lon": r.lon}),
            json!({"candidates": candidates}),
        ));
    }
    entries
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests")
            .field("store", &self.store)
            .finish()
    }
}

const COLUMNS: &str = "id, token, service_code, status, stage, status_notes, description, lat, lon, \
     address, address_id, arrondissement, media_url, agency_responsible, service_notice, \
     attributes, classification, merged_into, requested_at, updated_at, expected_at, closed_at";

impl Requests {
    /// Opens the service: loads the open requests into the duplicate index.
    pub async fn open(
        store: Store,
        catalogue: Arc<Catalogue>,
        classifier: Arc<Classifier>,
        routing: Routing,
        config: RequestsConfig,
    ) -> Result<Requests, StoreError> {
        let rows = sqlx::query(
            "SELECT service_code, id, lat, lon, requested_at FROM service_requests \
             WHERE status = 'open' AND merged_into IS NULL AND lat IS NOT NULL",
        )
        .fetch_all(store.reader())
        .await?;
        let mut open = Vec::with_capacity(rows.len());
        for row in &rows {
            let at: String = row.try_get(4)?;
            open.push((
                row.try_get::<String, _>(0)?,
                row.try_get::<i64, _>(1)?,
                row.try_get::<f64, _>(2)?,
                row.try_get::<f64, _>(3)?,
                parse_time(&at).unix_timestamp(),
            ));
        }
        let (events, _) = broadcast::channel(1024);
        let (writer, queue) = mpsc::channel(1024);
        tokio::spawn(write_intake(store.clone(), queue));
        Ok(Requests {
            writer,
            store,
            catalogue,
            classifier,
            routing,
            areas: Arrondissements::paris(),
            duplicates: RwLock::new(DuplicateIndex::bulk(open)),
            events,
            config,
        })
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    pub fn areas(&self) -> &Arrondissements {
        &self.areas
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Live events; a slow subscriber misses events (it is told how many), never blocks intake.
    pub fn subscribe(&self) -> broadcast::Receiver<RequestEvent> {
        self.events.subscribe()
    }

    /// Validates, classifies, routes and stores a new request; returns once it is committed.
    pub async fn submit(&self, new: NewRequest, agent: bool) -> Result<Receipt, RequestError> {
        let description = new
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if let Some(d) = description
            && d.chars().count() > MAX_DESCRIPTION
        {
            return Err(RequestError::invalid(
                "description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            ));
        }
        let (service, classification) = self.choose_service(&new, description, agent)?;
        let arrondissement = self.locate(&new)?;
        self.check_attributes(service, &new.attributes)?;
        check_contact(&new.contact)?;
        if let Some(url) = &new.media_url
            && (url.len() > 2048 || !(url.starts_with("https://") || url.starts_with("http://")))
        {
            return Err(RequestError::invalid(
                "media_url",
                "must be an http(s) URL of at most 2,048 characters",
            ));
        }
        for (field, value) in [
            ("jurisdiction_id", &new.jurisdiction_id),
            ("device_id", &new.device_id),
            ("account_id", &new.account_id),
            ("address_id", &new.address_id),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 255) {
                return Err(RequestError::invalid(
                    field,
                    "must be at most 255 characters",
                ));
            }
        }

        let now = OffsetDateTime::now_utc();
        let expected = now + Duration::days(i64::from(service.deadline_days));
        let agency = self
            .routing
            .route(&self.catalogue, &service.code, arrondissement);
        let token = uuid::Uuid::new_v4().to_string();
        let duplicates = match (new.lat, new.lon) {
            (Some(lat), Some(lon)) => self.nearby(&service.code, lat, lon, now, Duration::ZERO, 10),
            _ => Vec::new(),
        };
        // Residents are told the category, service and date were decided by an algorithm, and
        // how to reach a person or object (CRPA L311-3-1; the register gives the procedure).
        let notice = format!(
            "Votre signalement a été transmis au service {agency}; traitement prévu avant le {}. \
             Catégorie, service et délai sont proposés automatiquement (registre des algorithmes : \
             /register); pour les contester ou parler à un agent, appelez le 3975 ou adressez-vous \
             à votre mairie d'arrondissement.",
            expected.date()
        );
        let note = classification
            .as_ref()
            .and_then(|c| c.reclassified_from.as_ref())
            .map(|from| {
                format!(
                    "classé automatiquement sous {} (choisi : {from})",
                    service.code
                )
            });
        let request = ServiceRequest {
            id: 0,
            token,
            service_code: service.code.clone(),
            status: Status::Open,
            stage: Stage::Received,
            status_notes: None,
            description: description.map(str::to_owned),
            lat: new.lat,
            lon: new.lon,
            address: new.address.as_deref().map(str::trim).map(str::to_owned),
            address_id: new.address_id.clone(),
            arrondissement,
            media_url: new.media_url.clone(),
            agency_responsible: agency,
            service_notice: Some(notice),
            attributes: new.attributes.clone(),
            classification,
            merged_into: None,
            requested_at: now,
            updated_at: now,
            expected_at: expected,
            closed_at: None,
        };
        let pending = PendingInsert {
            request,
            contact: new.contact.clone(),
            note,
            jurisdiction_id: new.jurisdiction_id.clone(),
            device_id: new.device_id.clone(),
            account_id: new.account_id.clone(),
            decisions: Some(Decisions {
                chosen: new.service_code.clone(),
                duplicates: duplicates.clone(),
            }),
        };
        // Committed by the writer, possibly with other requests in the same transaction.
        let (reply, written) = oneshot::channel();
        self.writer.send((pending, reply)).await.map_err(|_| {
            RequestError::Store(StoreError::Config("the request writer stopped".into()))
        })?;
        let request = written.await.map_err(|_| {
            RequestError::Store(StoreError::Config("the request writer stopped".into()))
        })??;
        self.index(&request, true);
        self.publish("created", &request);
        Ok(Receipt {
            request,
            duplicates,
        })
    }

    fn choose_service(
        &self,
        new: &NewRequest,
        description: Option<&str>,
        agent: bool,
    ) -> Result<(&Service, Option<ClassificationRecord>), RequestError> {
        let chosen = match new.service_code.as_deref().map(str::trim) {
            Some(code) if !code.is_empty() => {
                let service = self
                    .catalogue
                    .get(code)
                    .filter(|s| agent || !s.agent_only)
                    .ok_or_else(|| {
                        RequestError::invalid("service_code", format!("unknown service {code:?}"))
                    })?;
                Some(service)
            }
            _ => None,
        };
        let Some(text) = description else {
            return match chosen {
                Some(service) => Ok((service, None)),
                None => Err(RequestError::invalid(
                    "service_code",
                    "service_code is required when there is no description to classify",
                )),
            };
        };
        let classification = self.classifier.classify(text);
        let record =
            |best: &crate::classify::Candidate, from: Option<String>| ClassificationRecord {
                type_name: best.type_name.clone(),
                service_code: best.service_code.clone(),
                probability: best.probability,
                not_a_report: classification.not_a_report,
                reclassified_from: from,
            };
        match (chosen, &classification.decided) {
            (Some(service), Some(best))
                if best.type_name != service.type_name
                    && best.probability >= self.config.reclassify_threshold =>
            {
                let filed = self
                    .catalogue
                    .get(&best.service_code)
                    .expect("the classifier only proposes catalogue services");
                Ok((filed, Some(record(best, Some(service.code.clone())))))
            }
            (Some(service), decided) => Ok((service, decided.as_ref().map(|b| record(b, None)))),
            (None, Some(best)) => Ok((
                self.catalogue
                    .get(&best.service_code)
                    .expect("the classifier only proposes catalogue services"),
                Some(record(best, None)),
            )),
            (None, None) => {
                let suggestions: Vec<String> = classification
                    .candidates
                    .iter()
                    .take(3)
                    .map(|c| format!("{} ({})", c.service_code, c.soustype))
                    .collect();
                Err(RequestError::CannotClassify(format!(
                    "the description does not say clearly which problem this is; choose a \
                     service_code, for example {}",
                    suggestions.join(", ")
                )))
            }
        }
    }

    fn locate(&self, new: &NewRequest) -> Result<Option<u8>, RequestError> {
        match (new.lat, new.lon) {
            (Some(lat), Some(lon)) => {
                if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || lon.abs() > 180.0 {
                    return Err(RequestError::invalid(
                        "lat",
                        "lat and long must be WGS84 degrees",
                    ));
                }
                self.areas
                    .locate(lat, lon)
                    .map(Some)
                    .ok_or_else(|| RequestError::invalid("lat", "the location is outside Paris"))
            }
            (Some(_), None) => Err(RequestError::invalid("long", "long is required with lat")),
            (None, Some(_)) => Err(RequestError::invalid("lat", "lat is required with long")),
            (None, None) => {
                let address = new
                    .address
                    .as_deref()
                    .map(str::trim)
                    .filter(|a| !a.is_empty());
                let address_id = new
                    .address_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|a| !a.is_empty());
                if let Some(address) = address {
                    if address.chars().count() > 500 {
                        return Err(RequestError::invalid(
                            "address_string",
                            "must be at most 500 characters",
                        ));
                    }
                    Ok(arrondissement_of_postcode(address))
                } else if address_id.is_some() {
                    Ok(None)
                } else {
                    Err(RequestError::invalid(
                        "lat",
                        "a location is required: lat and long, address_string or address_id",
                    ))
                }
            }
        }
    }

    fn check_attributes(
        &self,
        service: &Service,
        submitted: &BTreeMap<String, String>,
    ) -> Result<(), RequestError> {
        let known = self.catalogue.attributes(service);
        for (code, value) in submitted {
            let attribute = known.iter().find(|a| a.code == *code).ok_or_else(|| {
                RequestError::invalid(
                    &format!("attribute[{code}]"),
                    format!("service {} has no attribute {code:?}", service.code),
                )
            })?;
            attribute
                .check(value)
                .map_err(|message| RequestError::invalid(&format!("attribute[{code}]"), message))?;
        }
        if let Some(missing) = known
            .iter()
            .find(|a| a.required && !submitted.contains_key(&a.code))
        {
            return Err(RequestError::invalid(
                &format!("attribute[{}]", missing.code),
                "is required",
            ));
        }
        Ok(())
    }

    /// One request, without personal data.
    pub async fn get(&self, id: i64) -> Result<Option<ServiceRequest>, RequestError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM service_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.store.reader())
        .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    /// One request that must exist (`NotFound` otherwise).
    async fn existing(&self, id: i64) -> Result<ServiceRequest, RequestError> {
        self.get(id)
            .await?
            .ok_or_else(|| RequestError::NotFound(format!("request {id}")))
    }

    /// The request a token was given for.
    pub async fn by_token(&self, token: &str) -> Result<Option<ServiceRequest>, RequestError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM service_requests WHERE token = $1"
        ))
        .bind(token)
        .fetch_optional(self.store.reader())
        .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    /// Requests matching the Open311 filters, newest first. Without ids and dates: the last 90
    /// days; at most 1,000 (or `limit`).
    pub async fn list(&self, query: &Query) -> Result<Vec<ServiceRequest>, RequestError> {
        if let (Some(start), Some(end)) = (query.start, query.end) {
            if end < start {
                return Err(RequestError::invalid("end_date", "is before start_date"));
            }
            if end - start > MAX_QUERY_SPAN {
                return Err(RequestError::invalid(
                    "end_date",
                    "start_date and end_date may be at most 90 days apart",
                ));
            }
        }
        let limit = query
            .limit
            .unwrap_or(MAX_QUERY_RESULTS)
            .min(MAX_QUERY_RESULTS);
        let mut sql = format!("SELECT {COLUMNS} FROM service_requests WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        let mut param = |sql: &mut String, clause: &str, value: String| {
            texts.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", texts.len())));
        };
        if !query.ids.is_empty() {
            let list = query
                .ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" AND id IN ({list})"));
        } else {
            let (start, end) = match (query.start, query.end) {
                (Some(s), Some(e)) => (s, e),
                (Some(s), None) => (s, s + MAX_QUERY_SPAN),
                (None, Some(e)) => (e - MAX_QUERY_SPAN, e),
                (None, None) => {
                    let now = OffsetDateTime::now_utc();
                    (now - MAX_QUERY_SPAN, now + Duration::minutes(1))
                }
            };
            param(
                &mut sql,
                " AND requested_at >= ?",
                store::timestamp::format(start),
            );
            param(
                &mut sql,
                " AND requested_at <= ?",
                store::timestamp::format(end),
            );
        }
        if !query.service_codes.is_empty() {
            let mut parts = Vec::new();
            for code in &query.service_codes {
                let mut clause = String::new();
                param(&mut clause, "?", code.clone());
                parts.push(clause);
            }
            sql.push_str(&format!(" AND service_code IN ({})", parts.join(", ")));
        }
        if !query.statuses.is_empty() {
            let list = query
                .statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" AND status IN ({list})"));
        }
        if let Some(a) = query.arrondissement {
            sql.push_str(&format!(" AND arrondissement = {a}"));
        }
        sql.push_str(&format!(
            " ORDER BY requested_at DESC, id DESC LIMIT {limit}"
        ));
        let mut q = sqlx::query(&sql);
        for text in &texts {
            q = q.bind(text);
        }
        let rows = q.fetch_all(self.store.reader()).await?;
        rows.iter().map(request_from_row).collect()
    }

    /// The history of one request, oldest first.
    pub async fn history(&self, id: i64) -> Result<Vec<StatusUpdate>, RequestError> {
        let rows = sqlx::query(
            "SELECT id, request_id, status, stage, note, actor, at FROM service_request_updates \
             WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(update_from_row).collect()
    }

    /// Status updates of every request made in a period (mySociety's `servicerequestupdates`).
    pub async fn updates_between(
        &self,
        start: OffsetDateTime,
        end: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<StatusUpdate>, RequestError> {
        let rows = sqlx::query(&format!(
            "SELECT id, request_id, status, stage, note, actor, at FROM service_request_updates \
             WHERE at >= $1 AND at <= $2 ORDER BY at, id LIMIT {}",
            limit.min(MAX_QUERY_RESULTS)
        ))
        .bind(store::timestamp::format(start))
        .bind(store::timestamp::format(end))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(update_from_row).collect()
    }

    /// Moves a request to another stage with a note; requests merged into it follow.
    pub async fn update_stage(
        &self,
        id: i64,
        stage: Stage,
        note: Option<&str>,
        actor: &str,
    ) -> Result<ServiceRequest, RequestError> {
        if stage == Stage::Merged {
            return Err(RequestError::invalid(
                "stage",
                "use the merge operation to merge",
            ));
        }
        let note = check_note(note)?;
        let current = self.existing(id).await?;
        if current.stage == Stage::Merged {
            return Err(RequestError::Conflict(format!(
                "request {id} is merged into {}; update that one",
                current.merged_into.unwrap_or_default()
            )));
        }
        let now = store::timestamp::now();
        let status = stage.status();
        let closed_at = (status == Status::Closed).then(|| now.clone());
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE service_requests SET stage = $1, status = $2, status_notes = $3, \
             updated_at = $4, closed_at = $5 WHERE id = $6",
        )
        .bind(stage.as_str())
        .bind(status.as_str())
        .bind(note)
        .bind(&now)
        .bind(closed_at.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_update(&mut tx, id, stage, note, actor, &now).await?;
        let followers: Vec<i64> =
            sqlx::query("SELECT id FROM service_requests WHERE merged_into = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
        for follower in &followers {
            sqlx::query(
                "UPDATE service_requests SET status = $1, status_notes = $2, updated_at = $3, \
                 closed_at = $4 WHERE id = $5",
            )
            .bind(status.as_str())
            .bind(note)
            .bind(&now)
            .bind(closed_at.as_deref())
            .bind(follower)
            .execute(&mut *tx)
            .await?;
            insert_update_with_status(&mut tx, *follower, status, Stage::Merged, note, actor, &now)
                .await?;
        }
        tx.commit().await?;
        if status == Status::Closed {
            self.index(&current, false);
        } else if current.status == Status::Closed {
            self.index(&current, true);
        }
        let updated = self.existing(id).await?;
        self.publish("updated", &updated);
        for follower in followers {
            if let Some(request) = self.get(follower).await? {
                self.publish("updated", &request);
            }
        }
        Ok(updated)
    }

    /// Hands a request to another service.
    pub async fn assign(
        &self,
        id: i64,
        service: &str,
        actor: &str,
    ) -> Result<ServiceRequest, RequestError> {
        let service = service.trim();
        if service.is_empty() || service.chars().count() > 100 {
            return Err(RequestError::invalid(
                "service",
                "must be 1 to 100 characters",
            ));
        }
        let current = self.existing(id).await?;
        let now = store::timestamp::now();
        let note = format!("assigned to {service}");
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE service_requests SET agency_responsible = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(service)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_update_with_status(
            &mut tx,
            id,
            current.status,
            current.stage,
            Some(&note),
            actor,
            &now,
        )
        .await?;
        tx.commit().await?;
        let updated = self.existing(id).await?;
        self.publish("assigned", &updated);
        Ok(updated)
    }

    /// Merges `id` into `into`: `id` stops being worked on and follows `into`'s status.
    pub async fn merge(
        &self,
        id: i64,
        into: i64,
        actor: &str,
    ) -> Result<ServiceRequest, RequestError> {
        if id == into {
            return Err(RequestError::invalid(
                "into",
                "a request cannot be merged into itself",
            ));
        }
        let current = self.existing(id).await?;
        let target = self.existing(into).await?;
        if current.stage == Stage::Merged {
            return Err(RequestError::Conflict(format!(
                "request {id} is already merged"
            )));
        }
        if target.stage == Stage::Merged {
            return Err(RequestError::Conflict(format!(
                "request {into} is itself merged into {}; merge into that one",
                target.merged_into.unwrap_or_default()
            )));
        }
        let now = store::timestamp::now();
        let note = format!("même problème que le signalement {into}");
        let closed_at = (target.status == Status::Closed).then(|| now.clone());
        let mut tx = self.store.begin().await?;
        // Requests already merged into `id` now follow `into`.
        sqlx::query("UPDATE service_requests SET merged_into = $1 WHERE merged_into = $2")
            .bind(into)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE service_requests SET stage = 'merged', merged_into = $1, status = $2, \
             status_notes = $3, updated_at = $4, closed_at = $5 WHERE id = $6",
        )
        .bind(into)
        .bind(target.status.as_str())
        .bind(&note)
        .bind(&now)
        .bind(closed_at.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_update_with_status(
            &mut tx,
            id,
            target.status,
            Stage::Merged,
            Some(&note),
            actor,
            &now,
        )
        .await?;
        tx.commit().await?;
        self.index(&current, false);
        let merged = self.existing(id).await?;
        self.publish("merged", &merged);
        Ok(merged)
    }

    /// Open requests of the same category near a request (for operators).
    pub async fn duplicates_of(&self, id: i64) -> Result<Vec<DuplicateCandidate>, RequestError> {
        let request = self.existing(id).await?;
        let (Some(lat), Some(lon)) = (request.lat, request.lon) else {
            return Ok(Vec::new());
        };
        // Operators look further back than intake: a year beyond the window.
        let mut found = self.nearby(
            &request.service_code,
            lat,
            lon,
            OffsetDateTime::now_utc(),
            Duration::days(365),
            11,
        );
        found.retain(|c| c.request_id != id);
        found.truncate(10);
        Ok(found)
    }

    /// The reporter's personal data of a request (`None` when none was given or it was erased).
    pub async fn contact(&self, id: i64) -> Result<Option<Contact>, RequestError> {
        self.existing(id).await?;
        let row = sqlx::query(
            "SELECT email, phone, first_name, last_name FROM service_request_contacts \
             WHERE request_id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.reader())
        .await?;
        row.map(|row| {
            Ok(Contact {
                email: row.try_get(0)?,
                phone: row.try_get(1)?,
                first_name: row.try_get(2)?,
                last_name: row.try_get(3)?,
            })
        })
        .transpose()
    }

    /// Erases the reporter's personal data; the request stays. Returns whether there was any.
    pub async fn erase_contact(&self, id: i64, actor: &str) -> Result<bool, RequestError> {
        let request = self.existing(id).await?;
        let now = store::timestamp::now();
        let mut tx = self.store.begin().await?;
        let erased = sqlx::query("DELETE FROM service_request_contacts WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if erased {
            insert_update_with_status(
                &mut tx,
                id,
                request.status,
                request.stage,
                Some("données personnelles effacées"),
                actor,
                &now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(erased)
    }

    /// Closed requests' (service code, arrondissement, hours from report to closure).
    pub async fn closure_times(&self) -> Result<Vec<(String, Option<u8>, f64)>, RequestError> {
        let rows = sqlx::query(
            "SELECT service_code, arrondissement, requested_at, closed_at FROM service_requests \
             WHERE closed_at IS NOT NULL AND stage = 'closed'",
        )
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let requested: String = row.try_get(2)?;
                let closed: String = row.try_get(3)?;
                let arrondissement: Option<i64> = row.try_get(1)?;
                Ok((
                    row.try_get(0)?,
                    arrondissement.and_then(|a| u8::try_from(a).ok()),
                    (parse_time(&closed) - parse_time(&requested)).as_seconds_f64() / 3600.0,
                ))
            })
            .collect()
    }

    /// Counts of requests by status and of those made since `since`.
    pub async fn counts(&self, since: OffsetDateTime) -> Result<(i64, i64), RequestError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM service_requests WHERE status = 'open'), \
             (SELECT COUNT(*) FROM service_requests WHERE requested_at >= $1)",
        )
        .bind(store::timestamp::format(since))
        .fetch_one(self.store.reader())
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Adds a request to the duplicate index (`present`) or removes it.
    fn index(&self, request: &ServiceRequest, present: bool) {
        let (Some(lat), Some(lon)) = (request.lat, request.lon) else {
            return;
        };
        let mut index = self.duplicates.write().unwrap();
        let at = request.requested_at.unix_timestamp();
        if present {
            index.insert(&request.service_code, request.id, lat, lon, at);
        } else {
            index.remove(&request.service_code, request.id, lat, lon, at);
        }
    }

    fn publish(&self, kind: &'static str, request: &ServiceRequest) {
        // No subscriber is not an error.
        let _ = self.events.send(RequestEvent {
            kind,
            request_id: request.id,
            service_code: request.service_code.clone(),
            status: request.status,
            stage: request.stage,
            arrondissement: request.arrondissement,
            at: request.updated_at,
        });
    }

    /// Stores requests as they are (no intake: no classification, no contact), in transactions
    /// of 500, routed by the routing table; open ones join the duplicate index. For benchmarks
    /// and demonstration data.
    pub async fn import(
        &self,
        items: &[crate::demo::ImportedRequest],
    ) -> Result<usize, RequestError> {
        for chunk in items.chunks(500) {
            let mut pending = Vec::with_capacity(chunk.len());
            for item in chunk {
                let service = self.catalogue.get(&item.service_code).ok_or_else(|| {
                    RequestError::invalid(
                        "service_code",
                        format!("unknown service {:?}", item.service_code),
                    )
                })?;
                pending.push(PendingInsert {
                    request: ServiceRequest {
                        id: 0,
                        token: uuid::Uuid::new_v4().to_string(),
                        service_code: service.code.clone(),
                        status: item.stage.status(),
                        stage: item.stage,
                        status_notes: None,
                        description: Some(item.description.clone()),
                        lat: Some(item.lat),
                        lon: Some(item.lon),
                        address: None,
                        address_id: None,
                        arrondissement: Some(item.arrondissement),
                        media_url: None,
                        agency_responsible: self.routing.route(
                            &self.catalogue,
                            &service.code,
                            Some(item.arrondissement),
                        ),
                        service_notice: None,
                        attributes: BTreeMap::new(),
                        classification: None,
                        merged_into: None,
                        requested_at: item.requested_at,
                        updated_at: item.closed_at.unwrap_or(item.requested_at),
                        expected_at: item.requested_at
                            + Duration::days(i64::from(service.deadline_days)),
                        closed_at: item.closed_at,
                    },
                    contact: Contact::default(),
                    note: None,
                    jurisdiction_id: None,
                    device_id: None,
                    account_id: None,
                    decisions: None,
                });
            }
            let refs: Vec<&PendingInsert> = pending.iter().collect();
            let ids = insert_group(&self.store, &refs, "import").await?;
            for (mut p, id) in pending.into_iter().zip(ids) {
                p.request.id = id;
                if p.request.status == Status::Open {
                    self.index(&p.request, true);
                }
            }
        }
        Ok(items.len())
    }

    /// Size of the duplicate index (open requests with a location).
    pub fn indexed_open_requests(&self) -> usize {
        self.duplicates.read().unwrap().len()
    }

    /// Duplicate lookup at a point, as intake does it (for benchmarks and operators' maps).
    pub fn duplicate_candidates(&self, code: &str, lat: f64, lon: f64) -> Vec<DuplicateCandidate> {
        self.nearby(
            code,
            lat,
            lon,
            OffsetDateTime::now_utc(),
            Duration::ZERO,
            10,
        )
    }

    /// Open requests of `code` near a point: the category's radius (or the default), made
    /// within the configured window (plus `extra_window`) before `at`, nearest first.
    fn nearby(
        &self,
        code: &str,
        lat: f64,
        lon: f64,
        at: OffsetDateTime,
        extra_window: Duration,
        limit: usize,
    ) -> Vec<DuplicateCandidate> {
        let radius = self
            .catalogue
            .get(code)
            .and_then(|s| s.duplicate_radius_m)
            .unwrap_or(self.config.duplicate_radius_m);
        self.duplicates.read().unwrap().candidates(
            code,
            lat,
            lon,
            at.unix_timestamp(),
            radius,
            (self.config.duplicate_window + extra_window).whole_seconds(),
            limit,
        )
    }
}

async fn insert_update(
    tx: &mut store::Transaction<'static, store::Any>,
    id: i64,
    stage: Stage,
    note: Option<&str>,
    actor: &str,
    at: &str,
) -> Result<(), RequestError> {
    insert_update_with_status(tx, id, stage.status(), stage, note, actor, at).await
}

async fn insert_update_with_status(
    tx: &mut store::Transaction<'static, store::Any>,
    id: i64,
    status: Status,
    stage: Stage,
    note: Option<&str>,
    actor: &str,
    at: &str,
) -> Result<(), RequestError> {
    sqlx::query(
        "INSERT INTO service_request_updates (request_id, status, stage, note, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(stage.as_str())
    .bind(note)
    .bind(actor)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn check_note(note: Option<&str>) -> Result<Option<&str>, RequestError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return Err(RequestError::invalid(
            "note",
            "must be at most 2,000 characters",
        ));
    }
    Ok(note)
}

fn check_contact(contact: &Contact) -> Result<(), RequestError> {
    if let Some(email) = &contact.email {
        let valid = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
            && !email.contains(char::is_whitespace);
        if !valid {
            return Err(RequestError::invalid("email", "is not an e-mail address"));
        }
    }
    if let Some(phone) = &contact.phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c));
        if !allowed || !(6..=15).contains(&digits) {
            return Err(RequestError::invalid("phone", "is not a phone number"));
        }
    }
    for (field, value) in [
        ("first_name", &contact.first_name),
        ("last_name", &contact.last_name),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 100) {
            return Err(RequestError::invalid(
                field,
                "must be at most 100 characters",
            ));
        }
    }
    Ok(())
}

fn classification_to_json(c: &ClassificationRecord) -> String {
    serde_json::json!({
        "type": c.type_name,
        "service_code": c.service_code,
        "probability": c.probability,
        "not_a_report": c.not_a_report,
        "reclassified_from": c.reclassified_from,
    })
    .to_string()
}

fn classification_from_json(text: &str) -> Option<ClassificationRecord> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(ClassificationRecord {
        type_name: v["type"].as_str()?.to_owned(),
        service_code: v["service_code"].as_str()?.to_owned(),
        probability: v["probability"].as_f64()? as f32,
        not_a_report: v["not_a_report"].as_f64().unwrap_or(0.0) as f32,
        reclassified_from: v["reclassified_from"].as_str().map(str::to_owned),
    })
}

fn parse_time(text: &str) -> OffsetDateTime {
    store::timestamp::parse(text).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn request_from_row(row: &store::AnyRow) -> Result<ServiceRequest, RequestError> {
    let status: String = row.try_get(3)?;
    let stage: String = row.try_get(4)?;
    let attributes: String = row.try_get(15)?;
    let classification: Option<String> = row.try_get(16)?;
    let arrondissement: Option<i64> = row.try_get(11)?;
    let closed_at: Option<String> = row.try_get(21)?;
    Ok(ServiceRequest {
        id: row.try_get(0)?,
        token: row.try_get(1)?,
        service_code: row.try_get(2)?,
        status: Status::parse(&status).unwrap_or(Status::Open),
        stage: Stage::parse(&stage).unwrap_or(Stage::Received),
        status_notes: row.try_get(5)?,
        description: row.try_get(6)?,
        lat: row.try_get(7)?,
        lon: row.try_get(8)?,
        address: row.try_get(9)?,
        address_id: row.try_get(10)?,
        arrondissement: arrondissement.and_then(|a| u8::try_from(a).ok()),
        media_url: row.try_get(12)?,
        agency_responsible: row.try_get(13)?,
        service_notice: row.try_get(14)?,
        attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        classification: classification.as_deref().and_then(classification_from_json),
        merged_into: row.try_get(17)?,
        requested_at: parse_time(&row.try_get::<String, _>(18)?),
        updated_at: parse_time(&row.try_get::<String, _>(19)?),
        expected_at: parse_time(&row.try_get::<String, _>(20)?),
        closed_at: closed_at.as_deref().map(parse_time),
    })
}

fn update_from_row(row: &store::AnyRow) -> Result<StatusUpdate, RequestError> {
    let status: String = row.try_get(2)?;
    let stage: String = row.try_get(3)?;
    Ok(StatusUpdate {
        id: row.try_get(0)?,
        request_id: row.try_get(1)?,
        status: Status::parse(&status).unwrap_or(Status::Open),
        stage: Stage::parse(&stage).unwrap_or(Stage::Received),
        note: row.try_get(4)?,
        actor: row.try_get(5)?,
        at: parse_time(&row.try_get::<String, _>(6)?),
    })
}
