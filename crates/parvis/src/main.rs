//! `parvis`: the one binary of the platform. It parses the command line and the configuration,
//! builds the parts (store, API, capabilities), runs them and maps failures to exit codes:
//! 0 success, 1 a runtime failure, 2 a usage or configuration error. Logic lives in the crates.

mod assistant_cmd;
mod audit_cmd;
mod bench;
mod cli;
mod commands;
mod config;
mod fairness_cmd;
mod mobility_cmd;
mod redact_cmd;
mod register_cmd;
mod requests_cmd;
mod retention_cmd;
mod sensors_cmd;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut overrides = cli.global.overrides();
    if let cli::Command::Serve(args) = &cli.command {
        overrides.listen = args.listen;
        if args.llm_url.is_some() || args.llm_model.is_some() {
            overrides.assistant = Some(config::AssistantOverrides {
                llm_url: args.llm_url.clone(),
                llm_model: args.llm_model.clone(),
            });
        }
    }
    let config = match config::Config::load(cli.global.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("parvis: {error:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("parvis: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("parvis: {error:#}");
            ExitCode::FAILURE
        }
    }
}
