//! What each subcommand does, wired from the crates.

use std::time::Duration;

use access::{Keys, Role};
use anyhow::Context;
use store::Store;
use tokio::net::TcpListener;

use crate::cli::{BenchCommand, Command, ConfigCommand, KeysCommand, MigrateArgs};
use crate::config::Config;

/// How long in-flight requests may run after a shutdown signal before the server stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often a running server checks whether the knowledge base changed.
const ASSISTANT_REFRESH: Duration = Duration::from_secs(10);

pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    // The benchmark's in-process servers would otherwise write one access line per request.
    let filter = match command {
        Command::Bench(_)
        | Command::Requests(crate::requests_cmd::RequestsCommand::Bench(_))
        | Command::Sensors(crate::sensors_cmd::SensorsCommand::Bench(_)) => {
            format!("{},parvis::access=off,api=warn", config.log.filter)
        }
        _ => config.log.filter.clone(),
    };
    telemetry::logging::init(config.log_format(), &filter)?;
    match command {
        Command::Serve(args) => {
            let demo = !args.no_demo && (args.demo || config.demo);
            serve(&config, demo).await
        }
        Command::Migrate(args) => migrate(&config, &args).await,
        Command::Keys(command) => keys(&config, command).await,
        Command::Config(ConfigCommand::Show) => {
            print!("{}", config.to_toml()?);
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let store = open_store(&config).await?;
            store.ping().await?;
            println!("configuration valid; store {} reachable", store.describe());
            Ok(())
        }
        Command::Bench(BenchCommand::Http(args)) => crate::bench::http::run(&config, &args).await,
        Command::Bench(BenchCommand::Assistant(args)) => {
            crate::bench::assistant::run(&config, &args).await
        }
        Command::Assistant(command) => crate::assistant_cmd::run(&config, command).await,
        Command::Ask(args) => crate::assistant_cmd::ask(&config, args).await,
        Command::Requests(command) => crate::requests_cmd::run(&config, command).await,
        Command::Sensors(command) => crate::sensors_cmd::run(&config, command).await,
        Command::Mobility(command) => crate::mobility_cmd::run(&config, command).await,
        Command::Redact(args) => crate::redact_cmd::run(&config, args).await,
        Command::Audit(command) => crate::audit_cmd::run(&config, command).await,
        Command::Register(command) => crate::register_cmd::run(&config, command).await,
        Command::Fairness(command) => crate::fairness_cmd::run(&config, command).await,
        Command::Retention(command) => crate::retention_cmd::run(&config, command).await,
    }
}

/// Opens the configured store (creating the data directory) without migrating it.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store_config = config.store()?;
    Ok(Store::open(&store_config).await?)
}

/// The request service over the configured (migrated) store.
pub async fn open_requests(config: &Config) -> anyhow::Result<requests::Requests> {
    let store = open_migrated_store(config).await?;
    requests_over(config, store).await
}

/// The request service over an open store: catalogue, classifier trained from the shipped
/// examples, shipped routing table.
pub async fn requests_over(config: &Config, store: Store) -> anyhow::Result<requests::Requests> {
    let section = &config.requests;
    let catalogue = match &section.catalogue {
        Some(path) => requests::Catalogue::load(path)?,
        None => requests::Catalogue::built_in(),
    };
    let catalogue = std::sync::Arc::new(catalogue);
    let mut examples = requests::classify::parse_examples(requests::classify::BUILT_IN_EXAMPLES)
        .map_err(|e| anyhow::anyhow!("built-in examples: {e}"))?;
    for path in &section.examples {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("requests.examples: cannot read {}", path.display()))?;
        examples.extend(
            requests::classify::parse_examples(&text)
                .map_err(|e| anyhow::anyhow!("requests.examples: {}: {e}", path.display()))?,
        );
    }
    let classifier = {
        let catalogue = catalogue.clone();
        tokio::task::spawn_blocking(move || {
            requests::Classifier::train(&catalogue, &examples, &Default::default())
        })
        .await?
        .map_err(|e| anyhow::anyhow!("training the request classifier: {e}"))?
    }
    .with_threshold(section.classifier_threshold);
    let requests = requests::Requests::open(
        store,
        catalogue,
        std::sync::Arc::new(classifier),
        requests::Routing::built_in(),
        requests::RequestsConfig {
            duplicate_radius_m: section.duplicate_radius_m,
            duplicate_window: time::Duration::days(i64::from(section.duplicate_window_days)),
            reclassify_threshold: section.reclassify_threshold,
        },
    )
    .await?;
    Ok(requests)
}

/// Opens the configured store and applies pending migrations.
pub async fn open_migrated_store(config: &Config) -> anyhow::Result<Store> {
    let store = open_store(config).await?;
    for migration in store.migrate().await? {
        tracing::info!(version = migration.version, description = %migration.description, "migration applied");
    }
    Ok(store)
}

async fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let store = open_migrated_store(config).await?;
    let keys = Keys::new(store.clone());
    let mut demo_key = None;
    if keys.list().await?.iter().all(|k| k.revoked_at.is_some()) {
        if demo {
            // A first look at the dashboard needs an operator: the demonstration creates one
            // and shows its key once, on the terminal (never in the logs).
            demo_key = Some(keys.create("demo-operator", Role::Operator).await?.secret);
        } else {
            tracing::warn!(
                "no API key yet: routes that need one answer 401; create one with \
                 `parvis keys create --role admin --name <who>`"
            );
        }
    }
    let assistant = std::sync::Arc::new(
        assistant::Assistant::open_with(store.clone(), &config.data_dir, config.embedder()?)
            .await
            .context("cannot start the assistant")?
            .with_generator(config.generator()?),
    );
    tracing::info!(
        sheets = assistant.engine().sheet_count(),
        passages = assistant.engine().passage_count(),
        "assistant ready"
    );
    // Sheets ingested by another process (`parvis assistant ingest`) are picked up here.
    let refresher = {
        let assistant = assistant.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(ASSISTANT_REFRESH);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // Passages without a vector are embedded progressively, a batch per tick.
                if let Err(error) = assistant.embed_missing(64).await {
                    tracing::warn!(%error, "embedding passages failed");
                }
                if let Err(error) = assistant.refresh().await {
                    tracing::warn!(%error, "assistant refresh failed");
                }
            }
        })
    };
    let requests = std::sync::Arc::new(requests_over(config, store.clone()).await?);
    tracing::info!(
        services = requests.catalogue().all().len(),
        open_indexed = requests.indexed_open_requests(),
        "service requests ready"
    );
    let sensors = std::sync::Arc::new(
        sensors::platform::Sensors::open(store.clone(), config.sensors.platform()).await?,
    );
    if demo {
        seed_demo(&requests, &sensors).await?;
    }
    // With demonstration data, the three demo counters keep reporting (one reading a minute,
    // an incident every quarter of an hour) so the live views have something to show.
    let demo_feed = demo.then(|| tokio::spawn(replay_demo_feed(sensors.clone())));
    let retention = {
        let store = store.clone();
        let policy = config.retention.policy();
        let every = Duration::from_secs(config.retention.interval_secs);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(every);
            loop {
                every.tick().await;
                match store
                    .enforce_retention(&policy, time::OffsetDateTime::now_utc())
                    .await
                {
                    Ok(report) if report.is_empty() => {}
                    Ok(report) => tracing::info!(?report, "retention enforced"),
                    Err(error) => tracing::warn!(%error, "retention failed"),
                }
            }
        })
    };
    let webhook = config
        .sensors
        .alert_webhook
        .clone()
        .map(|url| tokio::spawn(crate::webhook::forward_alerts(sensors.subscribe(), url)));
    let mqtt = config.mqtt_url.clone().map(|url| {
        let sensors = sensors.clone();
        let mqtt_config = sensors::mqtt::MqttConfig {
            url,
            topics: config.sensors.mqtt_topics.clone(),
            client_id: format!("parvis-{}", std::process::id()),
        };
        tokio::spawn(async move {
            let stats = std::sync::Arc::new(sensors::mqtt::MqttStats::default());
            if let Err(error) = sensors::mqtt::run(sensors, mqtt_config, stats).await {
                tracing::error!(%error, "MQTT ingestion stopped");
            }
        })
    });
    let state = api::AppState::new(store.clone(), config.api())
        .with_assistant(assistant)
        .with_requests(requests)
        .with_sensors(sensors);
    // The web pages share the port, the layers and the state; browsers get a page for 404s.
    let app = api::router_with(
        state.with_not_found_page(web::not_found_page()),
        web::routes(),
    );
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    if let Some(key) = demo_key {
        // Not `println!`: a closed standard output must not stop the server.
        use std::io::Write;
        let _ = writeln!(
            std::io::stdout().lock(),
            "Demonstration operator key (shown once; revoke it with `parvis keys revoke`): {key}\n\
             Sign in at http://{address}/signin — the public pages are http://{address}/assistant \
             and http://{address}/register."
        );
    }
    tracing::info!(%address, store = %store.describe(), data_dir = %config.data_dir.display(), "Parvis serving on http://{address}");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut stop_rx_deadline = stop_rx.clone();
    let deadline = async move {
        let _ = stop_rx_deadline.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result.context("HTTP server")?,
        () = deadline => tracing::warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "requests still running after the grace period; stopping"),
    }
    refresher.abort();
    retention.abort();
    if let Some(feed) = demo_feed {
        feed.abort();
    }
    for task in [mqtt, webhook].into_iter().flatten() {
        task.abort();
    }
    store.close().await;
    tracing::info!("Parvis stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

async fn migrate(config: &Config, args: &MigrateArgs) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    if !args.status {
        let applied = store.migrate().await?;
        println!(
            "{} migration(s) applied to {}",
            applied.len(),
            store.describe()
        );
    }
    let applied = store.applied_migrations().await.unwrap_or_default();
    for (version, description) in store.known_migrations() {
        let state = if applied.iter().any(|m| m.version == version) {
            "applied"
        } else {
            "pending"
        };
        println!("{version:>6}  {state:<8}  {description}");
    }
    store.close().await;
    Ok(())
}

async fn keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = open_migrated_store(config).await?;
    let keys = Keys::new(store.clone());
    match command {
        KeysCommand::Create { role, name } => {
            let role: Role = role.parse()?;
            let created = keys.create(&name, role).await?;
            eprintln!(
                "created key {} ({}, role {}); it is shown once, store it now:",
                created.key.id, created.key.name, created.key.role
            );
            println!("{}", created.secret);
        }
        KeysCommand::List { json } => {
            let listed = keys.list().await?;
            if json {
                for key in listed {
                    let line = serde_json::json!({
                        "id": key.id, "name": key.name, "role": key.role.as_str(),
                        "created_at": key.created_at, "revoked_at": key.revoked_at,
                    });
                    println!("{line}");
                }
            } else {
                println!(
                    "{:<12} {:<13} {:<28} {:<8} name",
                    "id", "role", "created", "status"
                );
                for key in listed {
                    let status = if key.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<12} {:<13} {:<28} {:<8} {}",
                        key.id, key.role, key.created_at, status, key.name
                    );
                }
            }
        }
        KeysCommand::Revoke { id } => {
            let key = keys.revoke(&id).await?;
            println!(
                "revoked key {} ({}) at {}",
                key.id,
                key.name,
                key.revoked_at.unwrap_or_default()
            );
        }
    }
    store.close().await;
    Ok(())
}

/// The demo counters, each with its position on a Paris boulevard (approximate, for the maps
/// and the fairness report's alert rates by arrondissement).
const DEMO_COUNTERS: [(&str, f64, f64); 3] = [
    ("demo-rivoli", 48.8575, 2.3514),
    ("demo-voltaire", 48.8611, 2.3745),
    ("demo-sebastopol", 48.8660, 2.3520),
];

/// A demo counter's usual count: 600 vehicles/h by day, 150 at night, each counter 20% busier
/// than the one before.
fn demo_base(counter: usize, busy: bool) -> f64 {
    let per_hour = if busy { 600.0 } else { 150.0 };
    per_hour * (1.0 + 0.2 * counter as f64)
}

/// A fixed wobble of ±20 around the usual count, varying with `tick`.
fn demo_wobble(counter: usize, tick: i64) -> f64 {
    ((tick * 7919 + counter as i64 * 104_729) % 41) as f64 - 20.0
}

/// One reading of a demo counter, as an NGSI-LD entity update.
fn demo_reading(name: &str, value: f64, observed_ms: i64) -> sensors::platform::Entity {
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert(
        "intensity".to_owned(),
        sensors::platform::Attribute {
            value: sensors::platform::Value::Number(value),
            observed_ms: Some(observed_ms),
            unit_code: None,
        },
    );
    sensors::platform::Entity {
        id: format!("urn:ngsi-ld:TrafficFlowObserved:{name}"),
        entity_type: "TrafficFlowObserved".into(),
        attributes,
    }
}

/// The demo counters' live feed: each minute, a reading per counter on the same daily pattern
/// as the seeded weeks; every fifteenth minute, one counter reads four times its usual count.
async fn replay_demo_feed(sensors: std::sync::Arc<sensors::platform::Sensors>) {
    let period = Duration::from_secs(60);
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut minute: u64 = 0;
    loop {
        every.tick().await;
        minute += 1;
        let now = time::OffsetDateTime::now_utc();
        let busy = (7..21).contains(&now.hour());
        let batch = DEMO_COUNTERS
            .iter()
            .enumerate()
            .map(|(k, (name, _, _))| {
                let base = demo_base(k, busy);
                let incident = minute.is_multiple_of(15) && (minute / 15) % 3 == k as u64;
                let value = if incident {
                    base * 4.0
                } else {
                    base + demo_wobble(k, minute as i64)
                };
                demo_reading(name, value, now.unix_timestamp() * 1000)
            })
            .collect();
        if let Err(error) = sensors.upsert(batch, true).await {
            tracing::warn!(%error, "demonstration feed: reading not stored");
        }
    }
}

/// A real signal-control benchmark run, shipped as demonstration data.
const DEMO_MOBILITY_BENCH: &str = include_str!("../demo/mobility-bench.json");

/// Demonstration data for an empty store: 600 synthetic requests over the last 30 days (about
/// half closed) and four weeks of hourly counts from three synthetic sensors, one of which
/// shows an incident in its last hours (an alert). Descriptions and ids say "démo".
async fn seed_demo(
    requests: &requests::Requests,
    sensors: &sensors::platform::Sensors,
) -> anyhow::Result<()> {
    let (open, recent) = requests
        .counts(time::OffsetDateTime::now_utc() - time::Duration::days(3650))
        .await?;
    if open > 0 || recent > 0 {
        tracing::info!("store not empty: no demonstration data added");
        return Ok(());
    }
    let now = time::OffsetDateTime::now_utc();
    let mut items = requests::demo::synthetic(
        requests.catalogue(),
        requests.areas(),
        600,
        30,
        0.5,
        2026,
        now,
    );
    for item in &mut items {
        item.description = format!("[démo] {}", item.description);
    }
    requests.import(&items).await?;
    let start_hour = now.unix_timestamp() / 3600 - 28 * 24;
    for (k, (name, lat, lon)) in DEMO_COUNTERS.into_iter().enumerate() {
        let mut batch = Vec::new();
        for h in 0..28 * 24 {
            let busy = (7..21).contains(&((start_hour + h) % 24));
            // The first counter reads 3,000 vehicles/h in its last three hours: an incident.
            let incident = k == 0 && h >= 28 * 24 - 3;
            let value = if incident {
                3000.0
            } else {
                demo_base(k, busy) + demo_wobble(k, h)
            };
            let mut reading = demo_reading(name, value, (start_hour + h) * 3_600_000);
            if h == 0 {
                reading.attributes.insert(
                    "location".to_owned(),
                    sensors::platform::Attribute {
                        value: sensors::platform::Value::Point { lat, lon },
                        observed_ms: None,
                        unit_code: None,
                    },
                );
            }
            batch.push(reading);
        }
        sensors.upsert(batch, true).await?;
    }
    // A signal-control benchmark really measured on the RESCO scenarios (see the file for the
    // command and the machine), recorded as demonstration data so the mobility page has one.
    let store = requests.store();
    if store.latest_run("mobility-bench").await?.is_none() {
        let shipped: serde_json::Value = serde_json::from_str(DEMO_MOBILITY_BENCH)?;
        let text = |key: &str| shipped[key].as_str().unwrap_or_default().to_owned();
        store
            .record_run(&store::runs::BenchmarkRun {
                suite: "mobility-bench".into(),
                command: format!("demonstration data, measured with: {}", text("command")),
                machine: text("machine"),
                started_at: text("started_at"),
                finished_at: text("finished_at"),
                results: serde_json::json!({"summaries": shipped["summaries"], "demo": true})
                    .to_string(),
            })
            .await?;
    }
    tracing::info!(
        requests = items.len(),
        sensors = 3,
        "demonstration data added"
    );
    Ok(())
}
