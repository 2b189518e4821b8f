//! The domain types of a service request: what a resident submits, what is stored, what changes.

use std::collections::BTreeMap;

use time::OffsetDateTime;

/// Open311 status: a request is open until its problem is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "open" => Some(Status::Open),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }
}

/// Where a request is in its life cycle, finer than the Open311 status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Filed, not yet looked at.
    Received,
    /// Seen by the handling service.
    Acknowledged,
    /// Work under way.
    InProgress,
    /// Handled.
    Closed,
    /// The same problem as another request, which carries the work.
    Merged,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Received,
        Stage::Acknowledged,
        Stage::InProgress,
        Stage::Closed,
        Stage::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "received",
            Stage::Acknowledged => "acknowledged",
            Stage::InProgress => "in_progress",
            Stage::Closed => "closed",
            Stage::Merged => "merged",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The Open311 status of a request at this stage (a merged request follows the one it was
    /// merged into; this is its status until then).
    pub fn status(self) -> Status {
        match self {
            Stage::Closed => Status::Closed,
            _ => Status::Open,
        }
    }
}

/// The reporter's personal data, stored apart from the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl Contact {
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.phone.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
    }
}

/// What a resident (or an app) submits.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub service_code: Option<String>,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub media_url: Option<String>,
    pub contact: Contact,
    pub jurisdiction_id: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
}

/// How the classifier filed a request, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationRecord {
    pub type_name: String,
    pub service_code: String,
    pub probability: f32,
    pub not_a_report: f32,
    /// The code the resident chose, when the text clearly said otherwise and the request was
    /// filed under the classifier's category.
    pub reclassified_from: Option<String>,
}

/// A stored request (never with personal data).
#[derive(Debug, Clone)]
pub struct ServiceRequest {
    pub id: i64,
    pub token: String,
    pub service_code: String,
    pub status: Status,
    pub stage: Stage,
    pub status_notes: Option<String>,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub arrondissement: Option<u8>,
    pub media_url: Option<String>,
    pub agency_responsible: String,
    pub service_notice: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub classification: Option<ClassificationRecord>,
    pub merged_into: Option<i64>,
    pub requested_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub expected_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
}

/// One change in a request's history.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    pub id: i64,
    pub request_id: i64,
    pub status: Status,
    pub stage: Stage,
    pub note: Option<String>,
    pub actor: String,
    pub at: OffsetDateTime,
}

/// Something that happened to a request, for live views.
#[derive(Debug, Clone)]
pub struct RequestEvent {
    /// `created`, `updated`, `assigned`, `merged`.
    pub kind: &'static str,
    pub request_id: i64,
    pub service_code: String,
    pub status: Status,
    pub stage: Stage,
    pub arrondissement: Option<u8>,
    pub at: OffsetDateTime,
}
