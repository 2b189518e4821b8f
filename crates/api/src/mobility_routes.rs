//! Traffic-signal control status for the dashboard: what `parvis mobility control` last
//! recorded of each intersection it drives.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// One controlled intersection.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntersectionDto {
    pub id: String,
    /// The controller driving it (`max-pressure`, `greedy`, `wave`…).
    pub controller: String,
    /// The green phase showing, or coming after the yellow (0-based), and how many there are.
    pub phase: i64,
    pub phases: i64,
    /// SUMO's signal state string (`G`/`g` green, `y` yellow, `r` red per link).
    pub state: String,
    pub yellow: bool,
    /// Vehicles queued on its approaches at the last decision.
    pub queue: f64,
    /// Simulated time of the last decision, seconds.
    pub sim_time: f64,
    pub updated_at: String,
}

/// The status of live signal control.
#[derive(Debug, Serialize, ToSchema)]
pub struct MobilityStatusDto {
    pub intersections: Vec<IntersectionDto>,
    /// Plan changes recorded since the store was created (each is an automated decision).
    pub plan_changes: i64,
}

/// Intersections under live control and their phases (public: no personal data).
#[utoipa::path(get, path = "/api/mobility/status", tag = "mobility",
    responses(
        (status = 200, description = "Intersections and their phases", body = MobilityStatusDto),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ))]
pub(crate) async fn status(
    State(state): State<AppState>,
) -> Result<Json<MobilityStatusDto>, ApiError> {
    let store = state.store();
    let intersections = store
        .signal_status()
        .await?
        .into_iter()
        .map(|s| IntersectionDto {
            id: s.intersection,
            controller: s.controller,
            phase: s.phase,
            phases: s.phases,
            state: s.state,
            yellow: s.yellow,
            queue: s.queue,
            sim_time: s.sim_time,
            updated_at: s.updated_at,
        })
        .collect();
    Ok(Json(MobilityStatusDto {
        intersections,
        plan_changes: store.plan_change_count().await?,
    }))
}
