//! The public algorithm register: JSON at `/api/register`, a page at `/register`. Static
//! fields from the governance crate's file, performance from the runs stored in
//! `benchmark_runs`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Html;
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn field(algorithm: &serde_json::Map<String, Value>, key: &str) -> String {
    match algorithm.get(key) {
        Some(Value::String(s)) => escape(s),
        Some(Value::Null) | None => String::new(),
        Some(other) => escape(&other.to_string()),
    }
}

/// The register as a public page (French).
#[utoipa::path(get, path = "/register", tag = "governance",
    responses(
        (status = 200, description = "text/html page of the register"),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ))]
pub(crate) async fn register_page(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let register = measured(&state).await?;
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Registre des algorithmes — Parvis</title>\
         <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}h2{border-top:1px solid #ccc;padding-top:1rem}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}dt{font-weight:600}</style></head><body>\n\
         <h1>Registre public des algorithmes</h1>\n<p>Les algorithmes que Parvis utilise, ce qu'ils font, comment ils sont contrôlés et comment contester une décision. Les performances viennent des dernières évaluations enregistrées par Parvis (date et commande indiquées), jamais d'une saisie manuelle.</p>\n",
    );
    for algorithm in &register.algorithms {
        page.push_str(&format!(
            "<section id=\"{id}\"><h2>{name}</h2>\n<p>{short}</p>\n<dl>\n<dt>Objectif</dt><dd>{goal}</dd>\n<dt>Statut</dt><dd>{status}</dd>\n<dt>Intervention humaine</dt><dd>{human}</dd>\n<dt>Contester ou demander une explication</dt><dd>{objection}</dd>\n<dt>Contact</dt><dd>{contact}</dd>\n</dl>\n<table><caption>Performance mesurée</caption><tr><th scope=\"col\">Mesure</th><th scope=\"col\">Valeur</th><th scope=\"col\">Mesurée le</th><th scope=\"col\">Commande</th></tr>\n",
            id = field(algorithm, "id"),
            name = field(algorithm, "name"),
            short = field(algorithm, "description_short"),
            goal = field(algorithm, "goal"),
            status = field(algorithm, "status"),
            human = field(algorithm, "human_intervention"),
            objection = field(algorithm, "objection_procedure"),
            contact = field(algorithm, "contact_email"),
        ));
        for p in algorithm
            .get("performance")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let value = if p["value"].is_null() {
                "pas encore mesurée".to_owned()
            } else {
                escape(&p["value"].to_string())
            };
            page.push_str(&format!(
                "<tr><td>{}</td><td>{value}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                escape(p["metric"].as_str().unwrap_or("")),
                escape(p["measured_by"]["date"].as_str().unwrap_or("—")),
                escape(p["measured_by"]["command"].as_str().unwrap_or("—")),
            ));
        }
        page.push_str("</table></section>\n");
    }
    page.push_str("</body></html>\n");
    Ok(Html(page))
}
