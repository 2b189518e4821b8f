//! The one typed configuration of Parvis, read with a fixed precedence:
//! built-in defaults < TOML file < environment (`PARVIS_*`) < command-line flags,
//! then validated as a whole before anything starts.
//!
//! The file is `--config FILE` (or `PARVIS_CONFIG`), which must exist, else `./parvis.toml` when
//! present. Environment variables name a field in upper case after `PARVIS_`, nested fields
//! joined by a double underscore: `PARVIS_DATA_DIR`, `PARVIS_DATABASE_URL`,
//! `PARVIS_HTTP__BODY_LIMIT_BYTES`, `PARVIS_LOG__FORMAT`. See `parvis.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use store::StoreConfig;
use telemetry::logging::LogFormat;

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where Parvis keeps its files (the SQLite store, indexes); created if absent.
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// `postgres://…` to use PostgreSQL; absent: SQLite at `<data_dir>/parvis.sqlite`.
    pub database_url: Option<String>,
    /// `mqtt://host:port` of a broker whose sensor topics `serve` ingests (`sensors.mqtt_topics`);
    /// absent: no MQTT ingestion.
    pub mqtt_url: Option<String>,
    /// `serve` adds demonstration data to an empty store (turn off in production, or
    /// `serve --no-demo`).
    pub demo: bool,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub assistant: AssistantConfig,
    pub requests: RequestsSection,
    pub sensors: SensorsSection,
    pub retention: RetentionSection,
}

/// How long each class of data is kept (raw sensor data: `sensors.retention_days`), enforced
/// by a job of `parvis serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Days an assistant conversation is kept after its last turn.
    pub assistant_transcripts_days: u32,
    /// Days a service request's contact is kept after the request closed (its description is
    /// then redacted).
    pub request_personal_data_days: u32,
    /// Days an audit record is kept; at least 183 (six months).
    pub audit_log_days: u32,
    /// Seconds between two passes of the retention job.
    pub interval_secs: u64,
}

impl Default for RetentionSection {
    fn default() -> Self {
        let policy = store::retention::Policy::default();
        RetentionSection {
            assistant_transcripts_days: policy.assistant_transcripts_days,
            request_personal_data_days: policy.request_personal_data_days,
            audit_log_days: policy.audit_log_days,
            interval_secs: 3600,
        }
    }
}

impl RetentionSection {
    pub fn policy(&self) -> store::retention::Policy {
        store::retention::Policy {
            assistant_transcripts_days: self.assistant_transcripts_days,
            request_personal_data_days: self.request_personal_data_days,
            audit_log_days: self.audit_log_days,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorsSection {
    /// Detector score at or above which an observation raises an alert.
    pub alert_threshold: f64,
    /// Days of observations kept per series.
    pub retention_days: i64,
    /// Recent observations (kept in a time-keyed table) moved into the series-keyed archive
    /// once this many have accumulated.
    pub compact_after_rows: usize,
    /// MQTT topics to subscribe to when `mqtt_url` is set.
    pub mqtt_topics: Vec<String>,
    /// A URL every alert is posted to (JSON), besides `/api/alerts`.
    pub alert_webhook: Option<String>,
}

impl Default for SensorsSection {
    fn default() -> Self {
        let defaults = sensors::platform::SensorsConfig::default();
        SensorsSection {
            alert_threshold: defaults.alert_threshold,
            retention_days: defaults.retention_days,
            compact_after_rows: defaults.compact_after_rows,
            mqtt_topics: vec!["parvis/sensors/#".into()],
            alert_webhook: None,
        }
    }
}

impl SensorsSection {
    pub fn platform(&self) -> sensors::platform::SensorsConfig {
        sensors::platform::SensorsConfig {
            alert_threshold: self.alert_threshold,
            retention_days: self.retention_days,
            compact_after_rows: self.compact_after_rows,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestsSection {
    /// A catalogue file to use instead of the built-in DansMaRue catalogue.
    pub catalogue: Option<PathBuf>,
    /// More labelled examples (JSON lines) the classifier is trained on at start-up, besides the
    /// shipped ones (evaluate them first with `parvis requests train --examples`).
    pub examples: Vec<PathBuf>,
    /// Radius within which open requests of the same category are proposed as duplicates.
    pub duplicate_radius_m: f64,
    /// How many days back a duplicate may have been reported.
    pub duplicate_window_days: u32,
    /// Type probability the classifier needs to file a report (else it asks for a category).
    pub classifier_threshold: f32,
    /// Type probability above which the classifier overrides a chosen category of another type.
    pub reclassify_threshold: f32,
}

impl Default for RequestsSection {
    fn default() -> Self {
        RequestsSection {
            catalogue: None,
            examples: Vec::new(),
            duplicate_radius_m: 250.0,
            duplicate_window_days: 7,
            classifier_threshold: requests::classify::DEFAULT_THRESHOLD,
            reclassify_threshold: 0.9,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssistantConfig {
    /// Optional dense retriever: an OpenAI-compatible embeddings endpoint (base URL ending in
    /// /v1); absent, retrieval is lexical only.
    pub embeddings_url: Option<String>,
    /// The embedding model to ask for.
    pub embeddings_model: Option<String>,
    /// Bearer key for the embeddings endpoint (prefer PARVIS_ASSISTANT__EMBEDDINGS_API_KEY).
    pub embeddings_api_key: Option<String>,
    /// Optional generative mode: an OpenAI-compatible chat endpoint (base URL ending in /v1)
    /// that rewrites answers from the cited passages; drafts failing the grounding check are
    /// not served.
    pub llm_url: Option<String>,
    /// The chat model to ask for.
    pub llm_model: Option<String>,
    /// Bearer key for the chat endpoint (prefer PARVIS_ASSISTANT__LLM_API_KEY).
    pub llm_api_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Most connections held to PostgreSQL (SQLite: read connections).
    pub max_connections: u32,
    /// PostgreSQL schema for Parvis's tables; absent: the server's default search path.
    pub schema: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body accepted.
    pub body_limit_bytes: usize,
    /// Longest a request may take before it is answered `503 timeout`.
    pub request_timeout_secs: u64,
    /// How long one store check answers `/readyz`; 0 checks the store on every call.
    pub readiness_cache_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: String,
    /// Which events to write, in the `RUST_LOG` syntax.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./parvis-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            mqtt_url: None,
            demo: true,
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            assistant: AssistantConfig::default(),
            requests: RequestsSection::default(),
            sensors: SensorsSection::default(),
            retention: RetentionSection::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 16,
            schema: None,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            readiness_cache_ms: 250,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "human".into(),
            filter: "info,sqlx=warn,tower_http=warn".into(),
        }
    }
}

/// Values given as command-line flags; only those present override.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogOverrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant: Option<AssistantOverrides>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AssistantOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_model: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// Environment variables with the `PARVIS_` prefix that are not configuration fields.
const NOT_CONFIGURATION: [&str; 1] = ["config"];

impl Config {
    /// Reads the configuration: defaults < file < environment < flags, then validates it.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        Self::load_from(file, Env::prefixed("PARVIS_"), overrides)
    }

    fn load_from(file: Option<&Path>, env: Env, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    bail!("configuration file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("parvis.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("parvis.toml"));
            }
            None => {}
        }
        let env = env.split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            !NOT_CONFIGURATION.contains(&key.as_str())
                && !key.starts_with("test_")
                && !key.starts_with("bench_")
                && !key.starts_with("replay_")
        });
        let config: Config = figment
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!(describe_figment_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values together; every problem is named.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        if self.data_dir.as_os_str().is_empty() {
            problems.push("data_dir is empty".to_owned());
        }
        if let Some(url) = &self.database_url
            && let Err(e) = StoreConfig::from_url(url, self.database.max_connections)
        {
            problems.push(format!("database_url: {e}"));
        }
        if !(1..=1024).contains(&self.database.max_connections) {
            problems.push("database.max_connections must be between 1 and 1024".into());
        }
        if !(1024..=1 << 30).contains(&self.http.body_limit_bytes) {
            problems.push("http.body_limit_bytes must be between 1024 and 1073741824".into());
        }
        if !(1..=3600).contains(&self.http.request_timeout_secs) {
            problems.push("http.request_timeout_secs must be between 1 and 3600".into());
        }
        if self.http.readiness_cache_ms > 60_000 {
            problems.push("http.readiness_cache_ms must be at most 60000".into());
        }
        if let Some(url) = &self.assistant.embeddings_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push("assistant.embeddings_url must be an http(s) URL".into());
            }
            if self
                .assistant
                .embeddings_model
                .as_deref()
                .unwrap_or("")
                .is_empty()
            {
                problems.push(
                    "assistant.embeddings_model is required with assistant.embeddings_url".into(),
                );
            }
        }
        if !(0.0..=1.0).contains(&self.sensors.alert_threshold) {
            problems.push("sensors.alert_threshold must be in [0, 1]".into());
        }
        if let Some(url) = &self.mqtt_url
            && let Err(e) = sensors::mqtt::parse_url(url)
        {
            problems.push(format!("mqtt_url: {e}"));
        }
        if let Some(url) = &self.sensors.alert_webhook
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push("sensors.alert_webhook must be an http(s) URL".into());
        }
        if self.sensors.mqtt_topics.is_empty() {
            problems.push("sensors.mqtt_topics must name at least one topic".into());
        }
        problems.extend(self.retention.policy().problems());
        if !(60..=86_400).contains(&self.retention.interval_secs) {
            problems.push("retention.interval_secs must be 60 to 86400".into());
        }
        if !(1..=36_500).contains(&self.sensors.retention_days) {
            problems.push("sensors.retention_days must be 1 to 36500".into());
        }
        let r = &self.requests;
        if !(r.duplicate_radius_m > 0.0 && r.duplicate_radius_m <= 5000.0) {
            problems.push("requests.duplicate_radius_m must be in (0, 5000]".into());
        }
        if !(1..=365).contains(&r.duplicate_window_days) {
            problems.push("requests.duplicate_window_days must be 1 to 365".into());
        }
        for (name, value) in [
            ("classifier_threshold", r.classifier_threshold),
            ("reclassify_threshold", r.reclassify_threshold),
        ] {
            if !(0.0..=1.0).contains(&value) {
                problems.push(format!("requests.{name} must be in [0, 1]"));
            }
        }
        if let Some(url) = &self.assistant.llm_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push("assistant.llm_url must be an http(s) URL".into());
            }
            if self.assistant.llm_model.as_deref().unwrap_or("").is_empty() {
                problems.push("assistant.llm_model is required with assistant.llm_url".into());
            }
        }
        if let Err(e) = self.log.format.parse::<LogFormat>() {
            problems.push(format!("log.format: {e}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("invalid configuration:\n  - {}", problems.join("\n  - "))
        }
    }

    /// Where the store is: PostgreSQL when `database_url` says so, else SQLite in `data_dir`.
    pub fn store(&self) -> anyhow::Result<StoreConfig> {
        let mut config = match &self.database_url {
            Some(url) => StoreConfig::from_url(url, self.database.max_connections)?,
            None => StoreConfig::sqlite_in(&self.data_dir),
        };
        if let StoreConfig::Postgres { schema, .. } = &mut config {
            schema.clone_from(&self.database.schema);
        }
        Ok(config)
    }

    pub fn api(&self) -> api::ApiConfig {
        api::ApiConfig {
            body_limit: self.http.body_limit_bytes,
            request_timeout: Duration::from_secs(self.http.request_timeout_secs),
            readiness_cache: Duration::from_millis(self.http.readiness_cache_ms),
        }
    }

    pub fn log_format(&self) -> LogFormat {
        self.log.format.parse().unwrap_or_default()
    }

    /// The dense retriever, when one is configured.
    pub fn embedder(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<dyn assistant::dense::Embedder>>> {
        let (Some(url), Some(model)) = (
            &self.assistant.embeddings_url,
            &self.assistant.embeddings_model,
        ) else {
            return Ok(None);
        };
        let embedder = assistant::dense::OpenAiEmbedder::new(assistant::dense::EmbeddingsConfig {
            url: url.clone(),
            model: model.clone(),
            api_key: self.assistant.embeddings_api_key.clone(),
        })?;
        Ok(Some(std::sync::Arc::new(embedder)))
    }

    /// The generative model, when one is configured.
    pub fn generator(&self) -> anyhow::Result<Option<assistant::generate::Generator>> {
        let (Some(url), Some(model)) = (&self.assistant.llm_url, &self.assistant.llm_model) else {
            return Ok(None);
        };
        Ok(Some(assistant::generate::Generator::new(
            assistant::generate::LlmConfig {
                url: url.clone(),
                model: model.clone(),
                api_key: self.assistant.llm_api_key.clone(),
            },
        )?))
    }

    /// The effective configuration as TOML, with any database password hidden.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        shown.database_url = shown.database_url.as_deref().map(store::redact_url);
        if shown.assistant.llm_api_key.is_some() {
            shown.assistant.llm_api_key = Some("***".into());
        }
        if shown.assistant.embeddings_api_key.is_some() {
            shown.assistant.embeddings_api_key = Some("***".into());
        }
        toml::to_string_pretty(&shown).context("configuration to TOML")
    }
}

fn describe_figment_error(error: figment::Error) -> String {
    let problems: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
    format!("invalid configuration:\n  - {}", problems.join("\n  - "))
}

#[cfg(test)]
// figment's Jail closures return its (large) error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load(jail_file: Option<&str>, overrides: &Overrides) -> anyhow::Result<Config> {
        Config::load_from(
            jail_file.map(Path::new),
            Env::prefixed("PARVIS_"),
            overrides,
        )
    }

    #[test]
    fn defaults_need_no_configuration_at_all() {
        Jail::expect_with(|_jail| {
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(config.data_dir, PathBuf::from("./parvis-data"));
            assert!(matches!(
                config.store().unwrap(),
                StoreConfig::Sqlite { .. }
            ));
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_then_flags() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "listen = \"0.0.0.0:9000\"\ndata_dir = \"/from/file\"\n[http]\nbody_limit_bytes = 4096\n",
            )?;
            jail.set_env("PARVIS_DATA_DIR", "/from/env");
            jail.set_env("PARVIS_HTTP__REQUEST_TIMEOUT_SECS", "7");
            jail.set_env("PARVIS_TEST_DATABASE_URL", "postgres://ignored");
            let overrides = Overrides {
                listen: Some("127.0.0.1:9999".parse().unwrap()),
                ..Overrides::default()
            };
            let config = load(Some("custom.toml"), &overrides).unwrap();
            assert_eq!(
                config.listen.to_string(),
                "127.0.0.1:9999",
                "flag beats file"
            );
            assert_eq!(
                config.data_dir,
                PathBuf::from("/from/env"),
                "env beats file"
            );
            assert_eq!(config.http.body_limit_bytes, 4096, "file beats default");
            assert_eq!(config.http.request_timeout_secs, 7);
            Ok(())
        });
    }

    #[test]
    fn parvis_toml_in_the_working_directory_is_read() {
        Jail::expect_with(|jail| {
            jail.create_file("parvis.toml", "[log]\nformat = \"json\"\n")?;
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(config.log_format(), LogFormat::Json);
            Ok(())
        });
    }

    #[test]
    fn mistakes_are_named() {
        Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "lisen = \"127.0.0.1:1\"\n")?;
            let err = load(Some("typo.toml"), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("lisen"), "{err}");

            let err = load(Some("missing.toml"), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("does not exist"), "{err}");

            jail.set_env("PARVIS_LISTEN", "not an address");
            let err = load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("listen"), "{err}");
            jail.clear_env();

            jail.set_env("PARVIS_DATABASE_URL", "mysql://x");
            jail.set_env("PARVIS_HTTP__BODY_LIMIT_BYTES", "10");
            jail.set_env("PARVIS_LOG__FORMAT", "xml");
            let err = load(None, &Overrides::default()).unwrap_err().to_string();
            for needle in ["database_url", "body_limit_bytes", "log.format"] {
                assert!(err.contains(needle), "{needle} missing from {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn postgres_url_and_schema_select_postgres_and_passwords_are_hidden() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "PARVIS_DATABASE_URL",
                "postgres://parvis:s3cret@db:5432/parvis",
            );
            jail.set_env("PARVIS_DATABASE__SCHEMA", "parvis");
            let config = load(None, &Overrides::default()).unwrap();
            match config.store().unwrap() {
                StoreConfig::Postgres { schema, .. } => {
                    assert_eq!(schema.as_deref(), Some("parvis"))
                }
                other => panic!("{other:?}"),
            }
            let shown = config.to_toml().unwrap();
            assert!(!shown.contains("s3cret"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn the_example_file_is_valid_and_complete() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../parvis.example.toml");
        let text = std::fs::read_to_string(&example).unwrap();
        let config: Config = toml::from_str(&text).unwrap();
        config.validate().unwrap();
        // Every field of the configuration is shown (commented or not) in the example.
        let defaults = toml::to_string(&Config::default()).unwrap();
        for line in defaults.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            assert!(
                text.contains(&format!("{key} =")),
                "{key} missing from parvis.example.toml"
            );
        }
    }
}
