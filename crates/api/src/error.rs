//! The catalogue of API error codes: each code has one HTTP status and every error body has one
//! shape, `{"code": "…", "message": "…"}`.
//!
//! The catalogue is declared once by [`error_codes!`]; matches on [`Code`] are exhaustive, so a new
//! code cannot be added without its status. User errors (4xx) are not logged as errors; internal
//! ones (5xx) are logged once, where they are turned into a response, and answered with a generic
//! message. Protocols with their own error format (Open311, NGSI-LD) map onto this catalogue.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:ident, $doc:literal)),* $(,)?) => {
        /// Every error code the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $(#[doc = $doc] $variant),*
        }

        impl Code {
            /// The whole catalogue, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable machine-readable code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code),*
                }
            }

            /// The HTTP status this code is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status),*
                }
            }

            /// What the code means, for documentation.
            pub fn description(self) -> &'static str {
                match self {
                    $(Code::$variant => $doc),*
                }
            }
        }
    };
}

error_codes! {
    MalformedJson => ("malformed_json", BAD_REQUEST, "The body is not valid JSON."),
    InvalidParameter => ("invalid_parameter", BAD_REQUEST, "A parameter or body field is missing, of the wrong type or out of range."),
    MissingApiKey => ("missing_api_key", UNAUTHORIZED, "The route needs an API key (Authorization: Bearer … or X-API-Key) and none was sent."),
    InvalidApiKey => ("invalid_api_key", UNAUTHORIZED, "The API key is unknown, malformed or revoked."),
    InsufficientRole => ("insufficient_role", FORBIDDEN, "The API key is valid but its role does not allow this route."),
    NotFound => ("not_found", NOT_FOUND, "The resource does not exist."),
    RouteNotFound => ("route_not_found", NOT_FOUND, "No route has this path."),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "The route exists but not with this method; see the Allow header."),
    Conflict => ("conflict", CONFLICT, "The request conflicts with the current state of the resource."),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "The body is larger than the server accepts."),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The body's Content-Type is not one this route accepts."),
    Timeout => ("timeout", SERVICE_UNAVAILABLE, "The server could not answer within its time limit; retry later."),
    StoreUnavailable => ("store_unavailable", SERVICE_UNAVAILABLE, "The data store cannot be reached; retry later."),
    Unavailable => ("unavailable", SERVICE_UNAVAILABLE, "The capability is not running on this node."),
    Internal => ("internal", INTERNAL_SERVER_ERROR, "An unexpected error on the server; it has been logged."),
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code from the catalogue, e.g. `invalid_api_key`.
    #[schema(example = "invalid_api_key")]
    pub code: String,
    /// A human-readable explanation.
    #[schema(example = "The API key is unknown, malformed or revoked.")]
    pub message: String,
}

/// An error an API handler answers with.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The code with its catalogue description as message.
    pub fn bare(code: Code) -> ApiError {
        ApiError::new(code, code.description())
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::InvalidParameter, message)
    }

    /// An internal error: logged here, once, and answered with a generic message.
    pub fn internal(error: &dyn std::error::Error) -> ApiError {
        tracing::error!(error = %error, "internal error");
        ApiError::bare(Code::Internal)
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self.code, Code::MissingApiKey | Code::InvalidApiKey) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> ApiError {
        if error.is_unavailable() {
            tracing::warn!(error = %error, "store unavailable");
            ApiError::bare(Code::StoreUnavailable)
        } else {
            ApiError::internal(&error)
        }
    }
}

impl From<assistant::AssistantError> for ApiError {
    fn from(error: assistant::AssistantError) -> ApiError {
        use assistant::AssistantError;
        match error {
            AssistantError::InvalidQuestion(_) => ApiError::invalid(error.to_string()),
            AssistantError::UnknownConversation(_) => {
                ApiError::new(Code::NotFound, error.to_string())
            }
            AssistantError::Store(error) => error.into(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<access::AccessError> for ApiError {
    fn from(error: access::AccessError) -> ApiError {
        use access::AccessError;
        match error {
            AccessError::UnknownRole(_) | AccessError::InvalidName(_) => {
                ApiError::invalid(error.to_string())
            }
            AccessError::NoSuchKey(_) => ApiError::new(Code::NotFound, error.to_string()),
            AccessError::Store(error) => error.into(),
        }
    }
}

/// The catalogue code for a bare status produced outside a handler (a layer, the router).
pub fn code_for_status(status: StatusCode) -> Code {
    match status {
        StatusCode::NOT_FOUND => Code::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => Code::Timeout,
        StatusCode::UNAUTHORIZED => Code::MissingApiKey,
        StatusCode::FORBIDDEN => Code::InsufficientRole,
        StatusCode::CONFLICT => Code::Conflict,
        status if status.is_client_error() => Code::InvalidParameter,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_map_to_error_statuses() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn the_catalogue_is_stable() {
        let table: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("{} {}", c.status().as_u16(), c.as_str()))
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }
}
