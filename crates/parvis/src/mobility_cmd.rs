//! `parvis mobility …`: the signal-control benchmark on SUMO scenarios and live control of a
//! running simulation.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mobility::bench::{self, Scenario};
use mobility::control::Kind;

use crate::bench::markdown_table;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum MobilityCommand {
    /// Runs controllers on SUMO scenarios (folders with a .sumocfg, e.g. ../shared/data/resco)
    /// with several seeds and compares their delays with RESCO's published results.
    Bench(BenchArgs),
    /// Drives the signals of a running SUMO simulation (the stand-in for a city's signal
    /// controllers); plan changes and status go to the store.
    Control(ControlArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A scenario folder, or a folder of scenario folders.
    #[arg(long, value_name = "DIR")]
    pub scenarios: PathBuf,
    /// Comma-separated controllers: fixed, max-pressure, greedy, wave.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fixed,max-pressure,greedy,wave"
    )]
    pub controllers: Vec<String>,
    /// Seeds per scenario and controller (1..=N).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Only these scenarios (comma-separated folder names).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Parallel SUMO runs; default: the number of cores.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Keep SUMO's tripinfo outputs in this folder (deleted otherwise).
    #[arg(long, value_name = "DIR")]
    pub keep_outputs: Option<PathBuf>,
    /// One JSON list instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Do not record the run in the store.
    #[arg(long)]
    pub no_record: bool,
}

pub async fn run(config: &Config, command: MobilityCommand) -> anyhow::Result<()> {
    match command {
        MobilityCommand::Bench(args) => bench_command(config, args).await,
        MobilityCommand::Control(args) => control_command(config, args).await,
    }
}

async fn bench_command(config: &Config, args: BenchArgs) -> anyhow::Result<()> {
    let started_at = store::timestamp::now();
    let mut scenarios = Scenario::discover(&args.scenarios)?;
    if !args.only.is_empty() {
        scenarios.retain(|s| args.only.contains(&s.name));
        anyhow::ensure!(!scenarios.is_empty(), "no scenario named {:?}", args.only);
    }
    let kinds = args
        .controllers
        .iter()
        .map(|name| {
            Kind::parse(name).ok_or_else(|| {
                anyhow::anyhow!("unknown controller {name}: fixed, max-pressure, greedy or wave")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(args.seeds >= 1, "--seeds must be at least 1");
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let temporary = tempfile::tempdir()?;
    let work_dir = match &args.keep_outputs {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            std::path::absolute(dir)?
        }
        None => temporary.path().to_owned(),
    };
    let keep = args.keep_outputs.is_some();
    let total = (scenarios.len() * kinds.len() * seeds.len()) as u64;
    let progress = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs {msg}",
        )?
        .progress_chars("=> "),
    );
    let results = {
        let progress = progress.clone();
        let work = work_dir.clone();
        tokio::task::spawn_blocking(move || {
            bench::run_all(&scenarios, &kinds, &seeds, workers, &work, keep, |result| {
                if let Ok(r) = result {
                    progress.set_message(format!(
                        "{} {} seed {}: delay {:.1} s",
                        r.scenario,
                        r.controller.name(),
                        r.seed,
                        r.stats.delay
                    ));
                }
                progress.inc(1);
            })
        })
        .await?
    };
    progress.finish_and_clear();
    let mut done = Vec::new();
    for result in results {
        done.push(result?);
    }
    let summaries = bench::summarise(&done);
    if args.json {
        let list: Vec<serde_json::Value> = summaries
            .iter()
            .map(|s| {
                serde_json::json!({
                    "scenario": s.scenario,
                    "controller": s.controller,
                    "seeds": s.seeds,
                    "delay_mean": s.delay_mean,
                    "delay_worst": s.delay_worst,
                    "trip_time_mean": s.trip_time_mean,
                    "waiting_time_mean": s.waiting_time_mean,
                    "not_inserted_mean": s.not_inserted_mean,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "signal-control benchmark: {} runs, seeds 1..={}, {workers} parallel SUMO runs",
            done.len(),
            args.seeds
        );
        println!("machine: {}\n", crate::bench::machine());
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                let fixed = summaries
                    .iter()
                    .find(|f| f.scenario == s.scenario && f.controller == "fixed")
                    .map(|f| f.delay_mean);
                vec![
                    s.scenario.clone(),
                    s.controller.clone(),
                    s.seeds.to_string(),
                    format!("{:.2}", s.delay_mean),
                    format!("{:.2}", s.delay_worst),
                    fixed
                        .map(|f| format!("{:.3}", s.delay_mean / f))
                        .unwrap_or("–".into()),
                    format!("{:.1}", s.trip_time_mean),
                    format!("{:.1}", s.waiting_time_mean),
                    format!("{:.1}", s.not_inserted_mean),
                    format!("{:.1}", s.decision_us_mean),
                    s.resco_same
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or("–".into()),
                    s.resco_best
                        .as_ref()
                        .map(|(name, v)| format!("{v:.2} ({name})"))
                        .unwrap_or("–".into()),
                ]
            })
            .collect();
        print!(
            "{}",
            markdown_table(
                &[
                    "scenario",
                    "controller",
                    "seeds",
                    "delay mean s",
                    "delay worst s",
                    "× fixed",
                    "trip time s",
                    "waiting s",
                    "not inserted",
                    "decision µs",
                    "RESCO same",
                    "RESCO best",
                ],
                &rows
            )
        );
        println!(
            "\ndelay = mean over trips of timeLoss + departDelay (unfinished trips included), vehicles never inserted counted with end − scheduled depart; RESCO columns as published (Ault & Sharon 2021, SUMO 1.9)"
        );
    }
    if !args.no_record {
        let results = serde_json::json!({
            "summaries": summaries,
            "runs": done,
        });
        crate::bench::record(
            config,
            "mobility-bench".into(),
            crate::bench::machine(),
            started_at,
            results.to_string(),
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The TraCI address of a running simulation (`sumo … --remote-port PORT`).
    #[arg(long, value_name = "HOST:PORT")]
    pub sumo: String,
    /// max-pressure, greedy or wave.
    #[arg(long, default_value = "wave")]
    pub controller: String,
    /// Stop at this simulated time, seconds (default: when the simulation ends).
    #[arg(long)]
    pub until: Option<f64>,
    /// Yellow clearance, seconds.
    #[arg(long, default_value_t = 3.0)]
    pub yellow: f64,
    /// Seconds between decisions (RESCO's 10; the wave controller decides every 5).
    #[arg(long, default_value_t = 10.0)]
    pub decision: f64,
}

/// Drives a running simulation; every plan change and the intersections' status go to the
/// store (for the audit and `GET /api/mobility/status`).
async fn control_command(config: &Config, args: ControlArgs) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs;
    let kind = Kind::parse(&args.controller)
        .filter(|k| *k != Kind::Fixed)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown controller {}: max-pressure, greedy or wave (fixed leaves the signals alone)",
                args.controller
            )
        })?;
    anyhow::ensure!(
        args.yellow > 0.0 && args.decision > args.yellow,
        "--decision must be longer than --yellow"
    );
    let addr = args
        .sumo
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{}: no address", args.sumo))?;
    let store = crate::commands::open_migrated_store(config).await?;
    // Bounded: the simulation waits for the store rather than piling records up in memory.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(
        Vec<store::signals::PlanChange>,
        Vec<store::signals::SignalStatus>,
    )>(16);
    let until = args.until.unwrap_or(f64::INFINITY);
    let timing = mobility::control::Timing {
        decision: args.decision,
        yellow: args.yellow,
        min_green: 5.0,
        max_red: 120.0,
    };
    let name = kind.name();
    let driving = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, u64)> {
        let mut client =
            mobility::traci::Client::connect(addr, std::time::Duration::from_secs(30))?;
        let (api, version) = client.version()?;
        tracing::info!(api, %version, "connected to the simulation");
        let intersections = mobility::control::Driver::discover(&mut client)?;
        tracing::info!(
            intersections = intersections.len(),
            controller = name,
            "controlling"
        );
        let mut driver = mobility::control::Driver::new(intersections, kind, timing)
            .ok_or_else(|| anyhow::anyhow!("fixed time leaves the signals alone"))?;
        let pending = std::cell::RefCell::new(Vec::new());
        let result = driver.run(
            &mut client,
            until,
            |change| {
                pending.borrow_mut().push(store::signals::PlanChange {
                    intersection: change.intersection.clone(),
                    controller: name.to_owned(),
                    sim_time: change.time,
                    from_phase: change.from_phase as i64,
                    to_phase: change.to_phase as i64,
                    state: change.state.clone(),
                    reason: change.reason.to_owned(),
                })
            },
            |driver| {
                let status = driver
                    .status()
                    .into_iter()
                    .map(|s| store::signals::SignalStatus {
                        intersection: s.id,
                        controller: name.to_owned(),
                        phase: s.phase as i64,
                        phases: s.phases as i64,
                        state: s.state,
                        yellow: s.yellow,
                        queue: s.queue,
                        sim_time: driver.now(),
                        updated_at: String::new(),
                    })
                    .collect();
                let _ = sender.blocking_send((pending.take(), status));
            },
        );
        let stats = (driver.stats.decisions, driver.stats.changes);
        match result {
            Ok(()) => {
                client.close()?;
                Ok(stats)
            }
            // SUMO closes the connection when its simulation reaches its end.
            Err(mobility::control::DriveError::Traci(mobility::traci::TraciError::Io(error)))
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                tracing::info!("the simulation ended");
                Ok(stats)
            }
            Err(error) => Err(error.into()),
        }
    });
    let writer = async {
        while let Some((changes, status)) = receiver.recv().await {
            store.record_signals(&changes, &status).await?;
            let entries: Vec<governance::audit::Entry> = changes
                .iter()
                .map(|c| governance::audit::Entry {
                    actor: "mobility-control".into(),
                    algorithm: "signal-control".into(),
                    version: format!("{}@{}", c.controller, env!("CARGO_PKG_VERSION")),
                    kind: "signal-plan-change".into(),
                    inputs: serde_json::json!({"intersection": c.intersection, "sim_time": c.sim_time, "from_phase": c.from_phase}),
                    output: serde_json::json!({"to_phase": c.to_phase, "state": c.state, "reason": c.reason}),
                })
                .collect();
            store.append_audit(&entries).await?;
        }
        anyhow::Ok(())
    };
    let (driven, written) = tokio::join!(driving, writer);
    written?;
    let (decisions, changes) = driven??;
    println!("{decisions} decisions, {changes} plan changes recorded");
    store.close().await;
    Ok(())
}
