//! Operator pages: overview, service requests (map, filters, detail, merge, stage), sensors
//! (series chart, live alerts), mobility (benchmark, live intersections).

use std::collections::BTreeMap;
use std::convert::Infallible;

use api::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::charts::{self, Dot, PALETTE};
use crate::{Ctx, error_page, layout};

fn date(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn ms_date(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms / 1000).map_or_else(|_| ms.to_string(), date)
}

fn stage_label(ctx: &Ctx, stage: requests::Stage) -> &'static str {
    match (ctx.lang, stage) {
        (crate::Lang::Fr, requests::Stage::Received) => "reçu",
        (crate::Lang::Fr, requests::Stage::Acknowledged) => "pris en compte",
        (crate::Lang::Fr, requests::Stage::InProgress) => "en cours",
        (crate::Lang::Fr, requests::Stage::Closed) => "clos",
        (crate::Lang::Fr, requests::Stage::Merged) => "fusionné",
        (crate::Lang::En, requests::Stage::Received) => "received",
        (crate::Lang::En, requests::Stage::Acknowledged) => "acknowledged",
        (crate::Lang::En, requests::Stage::InProgress) => "in progress",
        (crate::Lang::En, requests::Stage::Closed) => "closed",
        (crate::Lang::En, requests::Stage::Merged) => "merged",
    }
}

/// A count from the store since an instant (0 when it cannot be read: the overview shows what
/// it can).
async fn scalar(store: &store::Store, sql: &str, since: &str) -> i64 {
    use store::Row;
    match store::query(sql)
        .bind(since)
        .fetch_one(store.reader())
        .await
    {
        Ok(row) => row.try_get::<Option<i64>, _>(0).ok().flatten().unwrap_or(0),
        Err(_) => 0,
    }
}

pub async fn overview(ctx: Ctx, State(state): State<AppState>) -> Response {
    if let Err(redirect) = ctx.operator() {
        return redirect.into_response();
    }
    let now = OffsetDateTime::now_utc();
    let day_ago = store::timestamp::format(now - Duration::days(1));
    let store = state.store();
    let (open, recent) = match state.requests() {
        Some(r) => r.counts(now - Duration::days(1)).await.unwrap_or((0, 0)),
        None => (0, 0),
    };
    let mut per_day: Vec<(String, f64)> = Vec::new();
    if let Some(requests) = state.requests() {
        let listed = requests
            .list(&requests::Query {
                start: Some(now - Duration::days(14)),
                limit: Some(20_000),
                ..Default::default()
            })
            .await
            .unwrap_or_default();
        let mut counts: BTreeMap<i64, f64> = BTreeMap::new();
        for d in 0..14 {
            counts.insert(d, 0.0);
        }
        for r in &listed {
            let days = (now - r.requested_at).whole_days();
            if let Some(c) = counts.get_mut(&days) {
                *c += 1.0;
            }
        }
        per_day = counts
            .into_iter()
            .rev()
            .map(|(d, c)| {
                let day = now - Duration::days(d);
                (format!("{:02}/{:02}", day.day(), u8::from(day.month())), c)
            })
            .collect();
    }
    let alerts = match state.sensors() {
        Some(s) => s.alerts(200).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let cutoff_ms = (now - Duration::days(1)).unix_timestamp() * 1000;
    let alerts_24h = alerts
        .iter()
        .filter(|a| a.created_at.as_str() >= day_ago.as_str() || a.observed_ms >= cutoff_ms)
        .count();
    let signals = store.signal_status().await.unwrap_or_default();
    let changes = store.plan_change_count().await.unwrap_or(0);
    let asked = scalar(
        store,
        "SELECT COUNT(*) FROM assistant_turns WHERE created_at >= $1",
        &day_ago,
    )
    .await;
    let abstained = scalar(
        store,
        "SELECT SUM(CASE WHEN abstained THEN 1 ELSE 0 END) FROM assistant_turns WHERE created_at >= $1",
        &day_ago,
    )
    .await;
    let register = api::register_routes::measured_register(store)
        .await
        .ok()
        .map(|r| r.algorithms)
        .unwrap_or_default();
    let body = html! {
        section class="cards" aria-label=(ctx.t("overview")) {
            div class="card" { p class="big" { (open) } p { (ctx.t("requests_open")) } }
            div class="card" { p class="big" { (recent) } p { (ctx.t("requests_today")) } }
            div class="card" { p class="big" { (alerts_24h) } p { (ctx.t("alerts_24h")) } }
            div class="card" { p class="big" { (signals.len()) } p { (ctx.t("intersections")) " — " (changes) " " (ctx.t("plan_changes")) } }
            div class="card" { p class="big" { (asked) } p { (ctx.t("assistant_usage")) " — " (abstained) " " (ctx.t("abstained")) } }
        }
        h2 { (ctx.t("per_day")) }
        (charts::bars(ctx.t("per_day"), &per_day, ""))
        h2 { (ctx.t("latest_alerts")) }
        (alert_table(&ctx, &alerts[..alerts.len().min(5)], false))
        h2 { (ctx.t("latest_eval")) }
        table {
            thead { tr { th scope="col" { (ctx.t("algorithm")) } th scope="col" { (ctx.t("metric")) } th scope="col" { (ctx.t("value")) } th scope="col" { (ctx.t("measured_on")) } } }
            tbody {
                @for algorithm in &register {
                    @let name = algorithm.get(if ctx.lang == crate::Lang::En { "name_en" } else { "name" }).and_then(|v| v.as_str()).unwrap_or_default();
                    @let first = algorithm.get("performance").and_then(|p| p.as_array()).and_then(|p| p.first()).cloned().unwrap_or_default();
                    tr {
                        td { a href={ "/register#" (algorithm.get("id").and_then(|v| v.as_str()).unwrap_or_default()) } { (name) } }
                        td { (first.get("metric").and_then(|v| v.as_str()).unwrap_or_default()) }
                        td { (short_value(first.get("value"), ctx.t("not_measured"))) }
                        td { (first.get("measured_by").and_then(|m| m.get("date")).and_then(|v| v.as_str()).map(|d| d.get(..10).unwrap_or(d)).unwrap_or("–")) }
                    }
                }
            }
        }
    };
    layout(&ctx, ctx.t("overview"), body).into_response()
}

/// A measured value, short: numbers with three decimals, objects as their first few figures.
fn short_value(value: Option<&serde_json::Value>, missing: &str) -> String {
    match value {
        None | Some(serde_json::Value::Null) => missing.to_owned(),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .map_or_else(|| n.to_string(), |x| format!("{x:.3}")),
        Some(other) => {
            let text = other.to_string();
            if text.chars().count() > 80 {
                format!("{}…", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn alert_table(ctx: &Ctx, alerts: &[sensors::platform::Alert], live: bool) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { (ctx.t("sensor")) } th scope="col" { (ctx.t("series")) } th scope="col" { (ctx.t("observed")) } th scope="col" { (ctx.t("value")) } th scope="col" { (ctx.t("score")) } } }
            tbody id=[live.then_some("alerts")] {
                @for a in alerts {
                    tr {
                        td { (a.entity_id.rsplit(':').next().unwrap_or(&a.entity_id)) }
                        td { (a.attribute) }
                        td { (ms_date(a.observed_ms)) }
                        td { (format!("{:.1}", a.value)) }
                        td { (format!("{:.2}", a.score)) }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestFilters {
    #[serde(default)]
    category: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    arrondissement: String,
    #[serde(default)]
    since: String,
}

pub async fn requests(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(filters): Query<RequestFilters>,
) -> Response {
    if let Err(redirect) = ctx.operator() {
        return redirect.into_response();
    }
    let Some(service) = state.requests() else {
        return error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
    };
    let catalogue = service.catalogue();
    let mut types: Vec<&str> = catalogue
        .all()
        .iter()
        .map(|s| s.type_name.as_str())
        .collect();
    types.sort_unstable();
    types.dedup();
    let colour = |type_name: &str| {
        types
            .iter()
            .position(|t| *t == type_name)
            .map_or(PALETTE[7], |i| PALETTE[i % PALETTE.len()])
    };
    let arrondissement = filters.arrondissement.parse::<u8>().ok();
    let since = time::Date::parse(
        &filters.since,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .map(|d| d.midnight().assume_utc());
    let statuses = match filters.status.as_str() {
        "open" => vec![requests::Status::Open],
        "closed" => vec![requests::Status::Closed],
        _ => Vec::new(),
    };
    let codes: Vec<String> = if filters.category.is_empty() {
        Vec::new()
    } else {
        catalogue
            .all()
            .iter()
            .filter(|s| s.type_name == filters.category)
            .map(|s| s.code.clone())
            .collect()
    };
    let listed = service
        .list(&requests::Query {
            service_codes: codes,
            statuses,
            start: since,
            arrondissement,
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let type_of = |code: &str| {
        catalogue
            .get(code)
            .map_or("?", |s| s.type_name.as_str())
            .to_owned()
    };
    let dots: Vec<Dot> = listed
        .iter()
        .filter_map(|r| {
            let (lat, lon) = (r.lat?, r.lon?);
            let type_name = type_of(&r.service_code);
            Some(Dot {
                lat,
                lon,
                colour: colour(&type_name),
                href: format!("/requests/{}", r.id),
                title: format!("#{} {} — {}", r.id, type_name, stage_label(&ctx, r.stage)),
            })
        })
        .collect();
    let outlines = service.areas().outlines();
    let body = html! {
        form method="get" action="/requests" class="filters" aria-label=(ctx.t("filters")) {
            label { (ctx.t("category")) " "
                select name="category" {
                    option value="" { (ctx.t("all")) }
                    @for t in &types { option value=(t) selected[*t == filters.category] { (t) } }
                }
            }
            label { (ctx.t("status")) " "
                select name="status" {
                    option value="" { (ctx.t("all")) }
                    option value="open" selected[filters.status == "open"] { (ctx.t("open")) }
                    option value="closed" selected[filters.status == "closed"] { (ctx.t("closed")) }
                }
            }
            label { (ctx.t("arrondissement")) " "
                select name="arrondissement" {
                    option value="" { (ctx.t("all")) }
                    @for a in 1..=20u8 { option value=(a) selected[arrondissement == Some(a)] { (a) } }
                }
            }
            label { (ctx.t("since")) " " input type="date" name="since" value=(filters.since); }
            button type="submit" { (ctx.t("apply")) }
        }
        h2 { (ctx.t("map")) " — " (listed.len()) " " (ctx.t("shown")) }
        (charts::map(ctx.t("map_label"), &outlines, &dots))
        p class="legend" {
            @for t in &types { span class="key" { span class="swatch" style={ "background:" (colour(t)) } {} (t) } " " }
        }
        p class="source" { (ctx.t("map_source")) }
        table id="request-list" {
            thead { tr { th scope="col" { "#" } th scope="col" { (ctx.t("category")) } th scope="col" { (ctx.t("stage")) } th scope="col" { (ctx.t("arrondissement")) } th scope="col" { (ctx.t("received")) } } }
            tbody {
                @for r in listed.iter().take(200) {
                    tr {
                        td { a href={ "/requests/" (r.id) } { (r.id) } }
                        td { (type_of(&r.service_code)) " — " (catalogue.get(&r.service_code).map_or("", |s| s.name.as_str())) }
                        td { (stage_label(&ctx, r.stage)) }
                        td { (r.arrondissement.map_or_else(|| "–".to_owned(), |a| a.to_string())) }
                        td { (date(r.requested_at)) }
                    }
                }
            }
        }
    };
    layout(&ctx, ctx.t("requests"), body).into_response()
}

async fn request_page(
    ctx: &Ctx,
    state: &AppState,
    id: i64,
    stage_error: Option<(&str, &str)>,
) -> Response {
    let Some(service) = state.requests() else {
        return error_page(ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
    };
    let request = match service.get(id).await {
        Ok(Some(r)) => r,
        _ => {
            return error_page(ctx, StatusCode::NOT_FOUND, ctx.t("not_found_text"));
        }
    };
    let history = service.history(id).await.unwrap_or_default();
    let duplicates = service.duplicates_of(id).await.unwrap_or_default();
    let service_def = service.catalogue().get(&request.service_code);
    let stages = [
        requests::Stage::Received,
        requests::Stage::Acknowledged,
        requests::Stage::InProgress,
        requests::Stage::Closed,
    ];
    let title = format!("{} #{id}", ctx.t("request"));
    let body = html! {
        dl class="facts" {
            dt { (ctx.t("category")) } dd { (service_def.map_or("?", |s| s.type_name.as_str())) " — " (service_def.map_or("", |s| s.name.as_str())) " (" (request.service_code) ")" }
            dt { (ctx.t("stage")) } dd id="stage" { (stage_label(ctx, request.stage)) }
            @if let Some(into) = request.merged_into {
                dt { (ctx.t("merged_into")) } dd { a href={ "/requests/" (into) } { "#" (into) } }
            }
            dt { (ctx.t("service")) } dd { (request.agency_responsible) }
            dt { (ctx.t("received")) } dd { (date(request.requested_at)) }
            dt { (ctx.t("deadline")) } dd { (date(request.expected_at)) }
            dt { (ctx.t("location")) } dd {
                (request.address.clone().unwrap_or_default()) " "
                @if let (Some(lat), Some(lon)) = (request.lat, request.lon) { (format!("{lat:.5}, {lon:.5}")) }
                @if let Some(a) = request.arrondissement { " — " (ctx.t("arrondissement")) " " (a) }
            }
            dt { (ctx.t("description")) } dd { (request.description.clone().unwrap_or_default()) }
            @if let Some(c) = &request.classification {
                dt { (ctx.t("classification")) } dd { (c.type_name) " (" (format!("{:.2}", c.probability)) ")" }
            }
        }
        h2 { (ctx.t("timeline")) }
        ol class="timeline" {
            @for u in &history {
                li { time { (date(u.at)) } " — " (stage_label(ctx, u.stage)) " (" (u.actor) ")" @if let Some(note) = &u.note { " : " (note) } }
            }
        }
        h2 { (ctx.t("duplicates")) }
        @if duplicates.is_empty() || request.merged_into.is_some() {
            p { (ctx.t("no_duplicates")) }
        } @else {
            table id="duplicates" {
                thead { tr { th scope="col" { "#" } th scope="col" { (ctx.t("distance")) } th scope="col" { "" } } }
                tbody {
                    @for d in &duplicates {
                        tr {
                            td { a href={ "/requests/" (d.request_id) } { "#" (d.request_id) } }
                            td { (format!("{:.0} m", d.distance_m)) }
                            td {
                                form method="post" action={ "/requests/" (id) "/merge" } class="inline" {
                                    input type="hidden" name="into" value=(d.request_id);
                                    button type="submit" { (ctx.t("merge")) " #" (d.request_id) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if request.merged_into.is_none() && request.stage != requests::Stage::Closed {
            h2 { (ctx.t("update_status")) }
            form method="post" action={ "/requests/" (id) "/stage" } class="stage" novalidate {
                label for="stage-select" { (ctx.t("stage")) }
                select id="stage-select" name="stage" aria-invalid=[stage_error.filter(|e| e.0 == "stage").map(|_| "true")] {
                    @for s in stages { option value=(s.as_str()) selected[s == request.stage] { (stage_label(ctx, s)) } }
                }
                @if let Some(("stage", message)) = stage_error { p class="field-error" role="alert" id="stage-error" { (message) } }
                label for="note" { (ctx.t("note")) }
                textarea id="note" name="note" rows="2" aria-invalid=[stage_error.filter(|e| e.0 == "note").map(|_| "true")] {}
                @if let Some(("note", message)) = stage_error { p class="field-error" role="alert" id="note-error" { (message) } }
                button type="submit" { (ctx.t("save")) }
            }
        }
    };
    let status = if stage_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, layout(ctx, &title, body)).into_response()
}

pub async fn request(ctx: Ctx, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if let Err(redirect) = ctx.operator() {
        return redirect.into_response();
    }
    match id.parse::<i64>() {
        Ok(id) => request_page(&ctx, &state, id, None).await,
        Err(_) => error_page(&ctx, StatusCode::NOT_FOUND, ctx.t("not_found_text")),
    }
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    into: i64,
}

pub async fn merge(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<MergeForm>,
) -> Response {
    let (actor, service) = match acting_operator(&ctx, &state) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let outcome = service.merge(id, form.into, &actor).await;
    back_to_request(&ctx, id, outcome)
}

/// Who acts (`operator:<name>`) and the request service, or the response to send instead (the
/// sign-in, or an error page).
fn acting_operator<'a>(
    ctx: &Ctx,
    state: &'a AppState,
) -> Result<(String, &'a std::sync::Arc<requests::Requests>), Box<Response>> {
    let user = ctx
        .operator()
        .map_err(|redirect| Box::new(redirect.into_response()))?;
    let service = state.requests().ok_or_else(|| {
        Box::new(error_page(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            ctx.t("unavailable"),
        ))
    })?;
    Ok((format!("operator:{}", user.name), service))
}

/// After a change: back to the request's page, or the error.
fn back_to_request<T>(ctx: &Ctx, id: i64, outcome: Result<T, requests::RequestError>) -> Response {
    match outcome {
        Ok(_) => Redirect::to(&format!("/requests/{id}")).into_response(),
        Err(error) => error_page(ctx, StatusCode::CONFLICT, &error.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct StageForm {
    stage: String,
    #[serde(default)]
    note: String,
}

pub async fn stage(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<StageForm>,
) -> Response {
    let (actor, service) = match acting_operator(&ctx, &state) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let stage = requests::Stage::parse(&form.stage).filter(|s| *s != requests::Stage::Merged);
    let note = form.note.trim();
    let Some(stage) = stage else {
        return request_page(&ctx, &state, id, Some(("stage", ctx.t("bad_stage")))).await;
    };
    if note.chars().count() > 500 {
        return request_page(&ctx, &state, id, Some(("note", ctx.t("note_too_long")))).await;
    }
    let note = (!note.is_empty()).then_some(note);
    let outcome = service.update_stage(id, stage, note, &actor).await;
    back_to_request(&ctx, id, outcome)
}

#[derive(Debug, Default, Deserialize)]
pub struct SeriesQuery {
    #[serde(default)]
    series: String,
}

pub async fn sensors(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(q): Query<SeriesQuery>,
) -> Response {
    if let Err(redirect) = ctx.operator() {
        return redirect.into_response();
    }
    let Some(platform) = state.sensors() else {
        return error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, ctx.t("unavailable"));
    };
    let entities = platform.list(None, 200, 0).await.unwrap_or_default();
    let series: Vec<(String, String)> = entities
        .iter()
        .flat_map(|e| {
            e.attributes
                .iter()
                .filter(|(_, a)| matches!(a.value, sensors::platform::Value::Number(_)))
                .map(|(name, _)| (e.id.clone(), name.clone()))
        })
        .collect();
    let chosen = series
        .iter()
        .find(|(e, a)| format!("{e}|{a}") == q.series)
        .or_else(|| series.first())
        .cloned();
    let alerts = platform.alerts(200).await.unwrap_or_default();
    let chart = match &chosen {
        Some((entity, attribute)) => {
            let now_ms = OffsetDateTime::now_utc().unix_timestamp() * 1000;
            let latest = platform
                .temporal(entity, std::slice::from_ref(attribute), None, Some(1))
                .await
                .ok()
                .and_then(|m| m.get(attribute).and_then(|v| v.last().map(|p| p.0)))
                .unwrap_or(now_ms);
            let from = latest - 7 * 86_400_000;
            let buckets = platform
                .downsample(entity, attribute, from, latest + 1, 3_600_000)
                .await
                .unwrap_or_default();
            let points: Vec<(i64, f64)> = buckets.iter().map(|b| (b.start_ms, b.avg)).collect();
            let marks: Vec<(i64, f64)> = alerts
                .iter()
                .filter(|a| {
                    &a.entity_id == entity && &a.attribute == attribute && a.observed_ms >= from
                })
                .map(|a| (a.observed_ms, a.value))
                .collect();
            let forecast: Vec<(i64, f64, f64, f64)> = platform
                .forecast(entity, attribute, 3_600_000, 24 * 7, 24)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(t, profile, naive)| {
                    let centre = profile.or(naive)?;
                    let other = naive.unwrap_or(centre);
                    Some((t, centre.min(other), centre.max(other), centre))
                })
                .collect();
            html! {
                (charts::series(ctx.t("chart_label"), &points, &marks, &forecast))
                p class="help" { (ctx.t("chart_label")) }
            }
        }
        None => html! { p { (ctx.t("no_series")) } },
    };
    let body = html! {
        form method="get" action="/sensors" class="filters" {
            label { (ctx.t("series")) " "
                select name="series" {
                    @for (e, a) in &series {
                        @let key = format!("{e}|{a}");
                        option value=(key) selected[chosen.as_ref() == Some(&(e.clone(), a.clone()))] { (e.rsplit(':').next().unwrap_or(e)) " — " (a) }
                    }
                }
            }
            button type="submit" { (ctx.t("show")) }
        }
        (chart)
        h2 { (ctx.t("alerts")) " " span class="live" id="live-status" role="status" aria-live="polite" data-on=(ctx.t("live_on")) data-off=(ctx.t("live_off")) { (ctx.t("live")) } }
        (alert_table(&ctx, &alerts[..alerts.len().min(50)], true))
    };
    layout(&ctx, ctx.t("sensors"), body).into_response()
}

/// New alerts as they are raised, for the sensors page (operator session).
pub async fn live_alerts(ctx: Ctx, State(state): State<AppState>) -> Response {
    if ctx.operator().is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(platform) = state.sensors() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let receiver = platform.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(a) => {
                    let data = serde_json::json!({
                        "sensor": a.entity_id.rsplit(':').next().unwrap_or(&a.entity_id),
                        "attribute": a.attribute,
                        "observed": ms_date(a.observed_ms),
                        "value": format!("{:.1}", a.value),
                        "score": format!("{:.2}", a.score),
                    });
                    let event = Event::default().event("alert").data(data.to_string());
                    return Some((Ok::<Event, Infallible>(event), receiver));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

pub async fn mobility(ctx: Ctx, State(state): State<AppState>) -> Response {
    if let Err(redirect) = ctx.operator() {
        return redirect.into_response();
    }
    let run = state
        .store()
        .latest_run("mobility-bench")
        .await
        .ok()
        .flatten();
    let signals = state.store().signal_status().await.unwrap_or_default();
    let bench = match &run {
        Some(run) => {
            let results: serde_json::Value = serde_json::from_str(&run.results).unwrap_or_default();
            let summaries = results["summaries"].as_array().cloned().unwrap_or_default();
            let mut scenarios: Vec<String> = Vec::new();
            let mut controllers: Vec<String> = Vec::new();
            let mut delay: BTreeMap<(String, String), f64> = BTreeMap::new();
            for s in &summaries {
                let scenario = s["scenario"].as_str().unwrap_or_default().to_owned();
                let controller = s["controller"].as_str().unwrap_or_default().to_owned();
                if !scenarios.contains(&scenario) {
                    scenarios.push(scenario.clone());
                }
                if !controllers.contains(&controller) {
                    controllers.push(controller.clone());
                }
                delay.insert(
                    (scenario, controller),
                    s["delay_mean"].as_f64().unwrap_or(f64::NAN),
                );
            }
            let series: Vec<(String, Vec<f64>)> = controllers
                .iter()
                .map(|c| {
                    (
                        c.clone(),
                        scenarios
                            .iter()
                            .map(|s| {
                                // Scenarios differ by orders of magnitude: each controller's
                                // delay is drawn relative to the fixed-time plan's.
                                let fixed = delay
                                    .get(&(s.clone(), "fixed".to_owned()))
                                    .copied()
                                    .unwrap_or(f64::NAN);
                                delay
                                    .get(&(s.clone(), c.clone()))
                                    .map_or(f64::NAN, |d| d / fixed)
                            })
                            .collect(),
                    )
                })
                .collect();
            html! {
                p class="meta" { (run.finished_at.get(..16).unwrap_or(&run.finished_at)) " — " (run.machine) " — " code { (run.command) } }
                (charts::grouped_bars(ctx.t("delay_ratio"), &scenarios, &series))
                p class="help" { (ctx.t("delay_ratio")) }
                table id="bench" {
                    caption { (ctx.t("delay")) }
                    thead { tr { th scope="col" { (ctx.t("scenario")) } @for c in &controllers { th scope="col" { (c) } } } }
                    tbody {
                        @for s in &scenarios {
                            tr { th scope="row" { (s) } @for c in &controllers { td { (delay.get(&(s.clone(), c.clone())).map_or("–".to_owned(), |d| format!("{d:.1}"))) } } }
                        }
                    }
                }
            }
        }
        None => html! { p { (ctx.t("bench_none")) } },
    };
    let body = html! {
        h2 { (ctx.t("bench")) }
        (bench)
        h2 { (ctx.t("live_control")) }
        @if signals.is_empty() {
            p { (ctx.t("no_control")) }
        } @else {
            table id="signals" data-refresh="/api/mobility/status" {
                thead { tr { th scope="col" { (ctx.t("intersection")) } th scope="col" { (ctx.t("controller")) } th scope="col" { (ctx.t("phase")) } } }
                tbody {
                    @for s in &signals {
                        tr { td { (s.intersection) } td { (s.controller) } td { (s.phase) } }
                    }
                }
            }
        }
    };
    layout(&ctx, ctx.t("mobility"), body).into_response()
}
