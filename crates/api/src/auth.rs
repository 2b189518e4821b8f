//! The `Auth<R>` extractor: the role a route needs is written in its handler's signature.
//!
//! ```text
//! async fn create_key(auth: Auth<role::Admin>, …) -> …
//! ```
//!
//! A key is read from `Authorization: Bearer <key>` or `X-API-Key: <key>`. No key: 401
//! `missing_api_key`; an unknown, malformed or revoked key: 401 `invalid_api_key`; a valid key
//! whose role is below the route's: 403 `insufficient_role`.

use std::marker::PhantomData;

use access::{Principal, Role};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{ApiError, Code};

/// A role, as a type, so that a handler's signature names the role it requires.
pub trait RequiredRole: Send + Sync + 'static {
    const ROLE: Role;
}

/// The role markers for [`Auth`].
pub mod role {
    use super::{RequiredRole, Role};

    macro_rules! markers {
        ($($name:ident => $role:expr),* $(,)?) => {$(
            #[doc = concat!("Requires at least the `", stringify!($name), "` role.")]
            #[derive(Debug)]
            pub struct $name;
            impl RequiredRole for $name {
                const ROLE: Role = $role;
            }
        )*};
    }

    markers! {
        ResidentApp => Role::ResidentApp,
        Agent => Role::Agent,
        Operator => Role::Operator,
        Admin => Role::Admin,
    }
}

/// The caller, authenticated with a key of role `R` or above.
#[derive(Debug)]
pub struct Auth<R: RequiredRole> {
    pub principal: Principal,
    _role: PhantomData<R>,
}

/// The header that carries a key when `Authorization` is not used.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The key presented in a request, if any.
pub fn presented_key(parts: &Parts) -> Option<&str> {
    key_in_headers(&parts.headers)
}

/// The key in `Authorization: Bearer …` or `X-API-Key`, if any.
pub fn key_in_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, key) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| key.trim());
    }
    headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Authenticates a presented key against the store and checks it allows `required`.
pub async fn authorize(
    state: &AppState,
    presented: Option<&str>,
    required: Role,
) -> Result<Principal, ApiError> {
    let presented = presented
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bare(Code::MissingApiKey))?;
    let principal = state
        .keys()
        .authenticate(presented)
        .await?
        .ok_or_else(|| ApiError::bare(Code::InvalidApiKey))?;
    if !principal.role.satisfies(required) {
        return Err(ApiError::new(
            Code::InsufficientRole,
            format!(
                "this route needs the {required} role; the key has the {} role",
                principal.role
            ),
        ));
    }
    tracing::Span::current().record("key_id", principal.key_id.as_str());
    Ok(principal)
}

impl<R: RequiredRole, S: Send + Sync> FromRequestParts<S> for Auth<R>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if parts.headers.contains_key(AUTHORIZATION) && presented_key(parts).is_none() {
            return Err(ApiError::new(
                Code::InvalidApiKey,
                "the Authorization header must be `Bearer <key>`",
            ));
        }
        let principal = authorize(&state, presented_key(parts), R::ROLE).await?;
        Ok(Auth {
            principal,
            _role: PhantomData,
        })
    }
}
