//! Wire types of the platform routes, converted by hand from and to domain types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Answer of `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The version of Parvis.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// Answer of `GET /readyz` when the store is reachable.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    pub store: &'static str,
}

/// An API key as listed (never with its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(example = "k3x9q2m1ab")]
    pub id: String,
    #[schema(example = "guichet Hôtel de Ville")]
    pub name: String,
    /// `resident-app`, `agent`, `operator` or `admin`.
    #[schema(example = "agent")]
    pub role: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; absent while the key is valid.
    pub revoked_at: Option<String>,
}

impl From<access::ApiKey> for ApiKey {
    fn from(key: access::ApiKey) -> ApiKey {
        ApiKey {
            id: key.id,
            name: key.name,
            role: key.role.as_str().to_owned(),
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// Body of `POST /api/v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// Who or what holds the key (1–100 characters).
    #[schema(example = "guichet Hôtel de Ville")]
    pub name: String,
    /// `resident-app`, `agent`, `operator` or `admin`.
    #[schema(example = "agent")]
    pub role: String,
}

/// Answer of `POST /api/v1/keys`: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The key to send as `Authorization: Bearer …`; it cannot be shown again.
    #[schema(example = "pvs_k3x9q2m1ab_9Xc1…")]
    pub secret: String,
}

/// Answer of `GET /api/v1/me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Caller {
    pub key_id: String,
    pub name: String,
    pub role: String,
}

impl From<access::Principal> for Caller {
    fn from(principal: access::Principal) -> Caller {
        Caller {
            key_id: principal.key_id,
            name: principal.name,
            role: principal.role.as_str().to_owned(),
        }
    }
}
