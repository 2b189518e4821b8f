//! The command line. Global flags apply to every subcommand; capabilities add their own
//! subcommand groups here (`parvis assistant …`, `parvis requests …`, `parvis sensors …`,
//! `parvis mobility …`, `parvis register …`) as they arrive.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{LogOverrides, Overrides};

/// Parvis: an open, sovereign AI platform for city services.
#[derive(Debug, Parser)]
#[command(name = "parvis", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML); default: ./parvis.toml when present.
    #[arg(long, global = true, env = "PARVIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (also PARVIS_DATA_DIR); default ./parvis-data.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of SQLite (also PARVIS_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log output format (also PARVIS_LOG__FORMAT).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Human,
    Json,
}

impl GlobalArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            listen: None,
            database_url: self.database_url.clone(),
            assistant: None,
            log: self.log_format.map(|format| LogOverrides {
                format: Some(
                    match format {
                        LogFormatArg::Human => "human",
                        LogFormatArg::Json => "json",
                    }
                    .to_owned(),
                ),
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (migrates the store first).
    Serve(ServeArgs),
    /// Apply pending store migrations and list them.
    Migrate(MigrateArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show or check the effective configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The citizen and agent assistant: ingestion, evaluation.
    #[command(subcommand)]
    Assistant(crate::assistant_cmd::AssistantCommand),
    /// Ask the assistant a question; prints the answer and its sources.
    Ask(crate::assistant_cmd::AskArgs),
    /// Service requests: classifier, routing and duplicate evaluations, service report, benchmark.
    #[command(subcommand)]
    Requests(crate::requests_cmd::RequestsCommand),
    /// City sensors: the NAB benchmark of the anomaly detector.
    #[command(subcommand)]
    Sensors(crate::sensors_cmd::SensorsCommand),
    /// Traffic signals: the SUMO benchmark of the controllers, live control of a simulation.
    #[command(subcommand)]
    Mobility(crate::mobility_cmd::MobilityCommand),
    /// Masks personal data in text read on standard input; `--eval FILE` scores it.
    Redact(crate::redact_cmd::RedactArgs),
    /// The audit log of automated decisions: verify its hash chain, export it.
    #[command(subcommand)]
    Audit(crate::audit_cmd::AuditCommand),
    /// The public algorithm register.
    #[command(subcommand)]
    Register(crate::register_cmd::RegisterCommand),
    /// The fairness report: disparities between arrondissements and languages, with flags.
    #[command(subcommand)]
    Fairness(crate::fairness_cmd::FairnessCommand),
    /// Retention of data: one pass of the job `serve` runs.
    #[command(subcommand)]
    Retention(crate::retention_cmd::RetentionCommand),
    /// Benchmarks; each prints a table and records its results in the store.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (also PARVIS_LISTEN); default 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Optional generative mode: an OpenAI-compatible chat endpoint, e.g.
    /// https://albert.api.etalab.gouv.fr/v1 (key in PARVIS_ASSISTANT__LLM_API_KEY).
    #[arg(long, value_name = "URL")]
    pub llm_url: Option<String>,
    /// The chat model for --llm-url.
    #[arg(long, value_name = "MODEL")]
    pub llm_model: Option<String>,
    /// On an empty store, add demonstration data first (the default, `demo` in the
    /// configuration): synthetic service requests across Paris, four weeks of synthetic sensor
    /// counts (marked as demonstration, never real) and a recorded signal-control benchmark.
    #[arg(long, conflicts_with = "no_demo")]
    pub demo: bool,
    /// Never add demonstration data (production).
    #[arg(long)]
    pub no_demo: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// List applied and pending migrations without applying any.
    #[arg(long)]
    pub status: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; the key is printed once, on standard output, and never again.
    Create {
        /// resident-app, agent, operator or admin.
        #[arg(long)]
        role: String,
        /// Who or what holds the key.
        #[arg(long)]
        name: String,
    },
    /// List keys (never their secrets).
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id; it stops working on the next request.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (passwords hidden) as TOML.
    Show,
    /// Validate the configuration and reach the store.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load the HTTP server over loopback: /readyz and an authenticated write, on SQLite and
    /// PostgreSQL in one run.
    Http(crate::bench::http::HttpBenchArgs),
    /// Answers per second and latency of the assistant over HTTP (ask and chat completions).
    Assistant(crate::bench::assistant::AssistantBenchArgs),
}
