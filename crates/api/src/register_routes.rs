//! The public algorithm register: JSON at `/api/register` (the page at `/register` is the web
//! crate's). Static
//! fields from the governance crate's file, performance from the runs stored in
//! `benchmark_runs`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use governance::register::{Register, Run};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, Code, ErrorBody};
use crate::extract::ApiPath;

/// The shipped register with each algorithm's performance from the latest runs in `store`.
pub async fn measured_register(store: &store::Store) -> Result<Register, store::StoreError> {
    let register = Register::shipped();
    let mut runs: HashMap<&str, Run> = HashMap::new();
    for suite in register.suites() {
        if let Some(run) = store.latest_run(suite).await? {
            runs.insert(
                suite,
                Run {
                    suite: run.suite,
                    command: run.command,
                    machine: run.machine,
                    finished_at: run.finished_at,
                    results: run.results,
                },
            );
        }
    }
    Ok(register.with_performance(|suite| runs.get(suite).cloned()))
}

async fn measured(state: &AppState) -> Result<Register, ApiError> {
    Ok(measured_register(state.store()).await?)
}

/// The algorithm register (Algorithmic Transparency Standard 0.3.1 fields, CRPA items, and
/// performance from the latest recorded evaluation runs, with their date and command).
#[utoipa::path(get, path = "/api/register", tag = "governance",
    responses(
        (status = 200, description = "`{register, algorithms: [...]}`"),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ))]
pub(crate) async fn register(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(measured(&state).await?.to_json()))
}

/// One algorithm of the register, by id.
#[utoipa::path(get, path = "/api/register/{id}", tag = "governance",
    params(("id" = String, Path, description = "Algorithm id, e.g. `request-routing`")),
    responses(
        (status = 200, description = "The entry, with its measured performance"),
        (status = 404, description = "No algorithm has this id (the message lists the ids)", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ))]
pub(crate) async fn register_entry(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let register = measured(&state).await?;
    match register.algorithms.iter().find(|a| a["id"] == id.as_str()) {
        Some(entry) => Ok(Json(Value::Object(entry.clone()))),
        None => {
            let ids: Vec<&str> = register
                .algorithms
                .iter()
                .filter_map(|a| a["id"].as_str())
                .collect();
            Err(ApiError::new(
                Code::NotFound,
                format!(
                    "no algorithm {id:?} in the register; known: {}",
                    ids.join(", ")
                ),
            ))
        }
    }
}
