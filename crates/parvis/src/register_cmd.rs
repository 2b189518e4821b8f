//! `parvis register export`: the public algorithm register, with performance from the runs
//! recorded in the store.

use clap::{Subcommand, ValueEnum};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Prints the register (static fields and measured performance).
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

pub async fn run(config: &Config, command: RegisterCommand) -> anyhow::Result<()> {
    let RegisterCommand::Export { format } = command;
    let store = crate::commands::open_migrated_store(config).await?;
    let register = api::register_routes::measured_register(&store).await;
    store.close().await;
    let register = register?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&register.to_json())?),
        Format::Csv => print!("{}", register.to_csv()),
    }
    Ok(())
}
