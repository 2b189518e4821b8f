//! The benchmark: each controller on each scenario (a folder with a `.sumocfg`), several seeds,
//! SUMO started as RESCO starts it, trip statistics from its tripinfo output, RESCO's published
//! delays beside ours.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quick_xml::events::Event;

use crate::control::{DriveError, Driver, Kind, RunStats, Timing};
use crate::traci::{Client, TraciError};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {reason}")]
    Scenario { path: PathBuf, reason: String },
    #[error("could not start sumo ({0}); install the Debian package `sumo`")]
    Sumo(std::io::Error),
    #[error("sumo exited with {status} on {scenario}: {stderr}")]
    SumoFailed {
        scenario: String,
        status: String,
        stderr: String,
    },
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error(transparent)]
    Traci(#[from] TraciError),
    #[error("{path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

/// A scenario: a folder holding a SUMO configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub routes: Vec<PathBuf>,
    pub begin: f64,
    pub end: f64,
    /// The route files' departures, read once for all the runs of the scenario.
    departures: std::sync::OnceLock<Vec<(String, f64)>>,
}

impl Scenario {
    /// Reads the folder's one `.sumocfg` (its route files and time window).
    pub fn load(dir: &Path) -> Result<Scenario, BenchError> {
        let error = |reason: String| BenchError::Scenario {
            path: dir.to_owned(),
            reason,
        };
        let mut configs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| error(e.to_string()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sumocfg"))
            .collect();
        configs.sort();
        let [config] = configs.as_slice() else {
            return Err(error(format!(
                "expected one .sumocfg, found {}",
                configs.len()
            )));
        };
        let text = std::fs::read_to_string(config).map_err(|e| error(e.to_string()))?;
        let mut reader = quick_xml::Reader::from_str(&text);
        let (mut routes, mut begin, mut end) = (Vec::new(), 0.0, None);
        loop {
            match reader.read_event() {
                Ok(Event::Empty(e) | Event::Start(e)) => {
                    let value = e
                        .try_get_attribute("value")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                    let Some(value) = value else { continue };
                    match e.name().as_ref() {
                        b"route-files" => routes.extend(
                            value
                                .split([',', ' '])
                                .filter(|s| !s.is_empty())
                                .map(|f| dir.join(f)),
                        ),
                        b"begin" => begin = value.parse().map_err(|_| error("begin".into()))?,
                        b"end" => end = Some(value.parse().map_err(|_| error("end".into()))?),
                        _ => {}
                    }
                }
                Ok(Event::Eof) => break,
                Err(e) => return Err(error(e.to_string())),
                _ => {}
            }
        }
        let end = end.ok_or_else(|| error("no <end> time".into()))?;
        Ok(Scenario {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: dir.to_owned(),
            config: config.clone(),
            routes,
            begin,
            end,
            departures: std::sync::OnceLock::new(),
        })
    }

    /// Every scenario folder under `root` (or `root` itself), by name.
    pub fn discover(root: &Path) -> Result<Vec<Scenario>, BenchError> {
        // SUMO runs in the scenario's folder: a relative path would no longer point to it.
        let root = &std::fs::canonicalize(root).map_err(|e| BenchError::Scenario {
            path: root.to_owned(),
            reason: e.to_string(),
        })?;
        if let Ok(scenario) = Scenario::load(root) {
            return Ok(vec![scenario]);
        }
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|e| BenchError::Scenario {
                path: root.to_owned(),
                reason: e.to_string(),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let scenarios: Vec<Scenario> = dirs
            .iter()
            .filter(|d| {
                std::fs::read_dir(d).is_ok_and(|mut it| {
                    it.any(|e| {
                        e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sumocfg"))
                    })
                })
            })
            .map(|d| Scenario::load(d))
            .collect::<Result<_, _>>()?;
        if scenarios.is_empty() {
            return Err(BenchError::Scenario {
                path: root.to_owned(),
                reason: "no folder with a .sumocfg".into(),
            });
        }
        Ok(scenarios)
    }

    /// Scheduled departures of every vehicle and trip of the route files, by id.
    pub fn departures(&self) -> Result<&[(String, f64)], BenchError> {
        if let Some(departures) = self.departures.get() {
            return Ok(departures);
        }
        let departures = self.read_departures()?;
        Ok(self.departures.get_or_init(|| departures))
    }

    fn read_departures(&self) -> Result<Vec<(String, f64)>, BenchError> {
        let mut out = Vec::new();
        for path in &self.routes {
            let text = std::fs::read_to_string(path).map_err(|e| BenchError::Scenario {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let mut reader = quick_xml::Reader::from_str(&text);
            loop {
                match reader.read_event() {
                    Ok(Event::Empty(e) | Event::Start(e))
                        if matches!(e.name().as_ref(), b"vehicle" | b"trip") =>
                    {
                        let (id, depart) = (attribute(&e, "id"), attribute(&e, "depart"));
                        if let (Some(id), Some(depart)) = (id, depart.and_then(|d| d.parse().ok()))
                        {
                            out.push((id, depart));
                        }
                    }
                    Ok(Event::Empty(e) | Event::Start(e)) if e.name().as_ref() == b"flow" => {
                        return Err(BenchError::Scenario {
                            path: path.clone(),
                            reason: "<flow> elements are not supported; expand them to vehicles"
                                .into(),
                        });
                    }
                    Ok(Event::Eof) => break,
                    Err(e) => {
                        return Err(BenchError::Scenario {
                            path: path.clone(),
                            reason: e.to_string(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Trip statistics of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TripStats {
    /// Trips in the tripinfo output (finished or not).
    pub trips: usize,
    /// Mean over trips of timeLoss + departDelay, with vehicles never inserted counted with
    /// `end - scheduled depart`.
    pub delay: f64,
    pub trip_time: f64,
    pub waiting_time: f64,
    /// Vehicles scheduled before the end that were never inserted.
    pub not_inserted: usize,
}

/// Reads a tripinfo file written with `--tripinfo-output.write-unfinished`.
pub fn trip_stats(
    tripinfo: &Path,
    departures: &[(String, f64)],
    end: f64,
) -> Result<TripStats, BenchError> {
    let text = std::fs::read_to_string(tripinfo).map_err(|e| BenchError::Output {
        path: tripinfo.to_owned(),
        reason: e.to_string(),
    })?;
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut seen: HashSet<String> = HashSet::new();
    let (mut delay, mut duration, mut waiting) = (0.0, 0.0, 0.0);
    loop {
        match reader.read_event() {
            Ok(Event::Empty(e) | Event::Start(e)) if e.name().as_ref() == b"tripinfo" => {
                let number = |name: &str| -> f64 {
                    attribute(&e, name)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.0)
                };
                delay += number("timeLoss") + number("departDelay");
                duration += number("duration");
                waiting += number("waitingTime");
                if let Some(id) = attribute(&e, "id") {
                    seen.insert(id);
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => {
                return Err(BenchError::Output {
                    path: tripinfo.to_owned(),
                    reason: e.to_string(),
                });
            }
            _ => {}
        }
    }
    let trips = seen.len();
    let mut not_inserted = 0;
    for (id, depart) in departures {
        if *depart < end && !seen.contains(id) {
            not_inserted += 1;
            delay += end - depart;
        }
    }
    let all = (trips + not_inserted).max(1) as f64;
    Ok(TripStats {
        trips,
        delay: delay / all,
        trip_time: duration / trips.max(1) as f64,
        waiting_time: waiting / trips.max(1) as f64,
        not_inserted,
    })
}

/// One run's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunResult {
    pub scenario: String,
    pub controller: Kind,
    pub seed: u64,
    pub stats: TripStats,
    pub control: RunStats,
    pub intersections: usize,
    pub wall_seconds: f64,
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// The `sumo` command with RESCO's options, listening for TraCI on `port`.
pub fn sumo_command(scenario: &Scenario, seed: u64, port: u16, tripinfo: &Path) -> Command {
    let mut command = Command::new(std::env::var("PARVIS_SUMO_BINARY").unwrap_or("sumo".into()));
    if std::env::var_os("SUMO_HOME").is_none() {
        command.env("SUMO_HOME", "/usr/share/sumo");
    }
    command
        .current_dir(&scenario.dir)
        .arg("-c")
        .arg(&scenario.config)
        .args(["--seed", &seed.to_string()])
        .args(["--time-to-teleport", "-1"])
        .arg("--tripinfo-output")
        .arg(tripinfo)
        .args(["--tripinfo-output.write-unfinished", "true"])
        .args(["--no-step-log", "true", "--no-warnings", "true"])
        .args(["--remote-port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs one controller on one scenario with one seed; SUMO's tripinfo output goes to
/// `work_dir` and stays there when `keep`.
pub fn run(
    scenario: &Scenario,
    kind: Kind,
    seed: u64,
    work_dir: &Path,
    keep: bool,
) -> Result<RunResult, BenchError> {
    let started = Instant::now();
    let tripinfo = work_dir.join(format!(
        "{}-{}-{seed}.tripinfo.xml",
        scenario.name,
        kind.name()
    ));
    let port = free_port().map_err(BenchError::Sumo)?;
    let child = sumo_command(scenario, seed, port, &tripinfo)
        .spawn()
        .map_err(BenchError::Sumo)?;
    let driven = (|| -> Result<(RunStats, usize), BenchError> {
        let mut client = Client::connect(
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_secs(60),
        )?;
        let intersections = Driver::discover(&mut client)?;
        let count = intersections.len();
        let stats = match Driver::new(intersections, kind, Timing::resco(&scenario.name)) {
            Some(mut driver) => {
                driver.run(&mut client, scenario.end, |_| {}, |_| {})?;
                driver.stats
            }
            // Fixed time: the network's own programs run untouched.
            None => {
                client.step_until(scenario.end)?;
                RunStats::default()
            }
        };
        client.close()?;
        Ok((stats, count))
    })();
    let output = child.wait_with_output().map_err(BenchError::Sumo)?;
    let (control, intersections) = match driven {
        Ok(done) => done,
        Err(error) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            tracing::error!(%error, scenario = %scenario.name, %stderr, "run failed");
            return Err(error);
        }
    };
    if !output.status.success() {
        return Err(BenchError::SumoFailed {
            scenario: scenario.name.clone(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let stats = trip_stats(&tripinfo, scenario.departures()?, scenario.end)?;
    if !keep {
        let _ = std::fs::remove_file(&tripinfo);
    }
    Ok(RunResult {
        scenario: scenario.name.clone(),
        controller: kind,
        seed,
        stats,
        control,
        intersections,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs every `(scenario, controller, seed)` on `workers` threads; `on_done` sees each result.
pub fn run_all(
    scenarios: &[Scenario],
    controllers: &[Kind],
    seeds: &[u64],
    workers: usize,
    work_dir: &Path,
    keep: bool,
    on_done: impl Fn(&Result<RunResult, BenchError>) + Sync,
) -> Vec<Result<RunResult, BenchError>> {
    let mut jobs = Vec::new();
    for scenario in scenarios {
        for kind in controllers {
            for seed in seeds {
                jobs.push((scenario, *kind, *seed));
            }
        }
    }
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                loop {
                    let job = queue.lock().map(|mut q| q.pop()).ok().flatten();
                    let Some((index, (scenario, kind, seed))) = job else {
                        break;
                    };
                    let result = run(scenario, kind, seed, work_dir, keep);
                    on_done(&result);
                    if let Ok(mut results) = results.lock() {
                        results.push((index, result));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

/// One line of the report: a controller on a scenario over its seeds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub scenario: String,
    pub controller: String,
    pub seeds: usize,
    pub delay_mean: f64,
    pub delay_worst: f64,
    pub trip_time_mean: f64,
    pub waiting_time_mean: f64,
    pub not_inserted_mean: f64,
    /// Mean controller computing time per intersection decision, microseconds.
    pub decision_us_mean: f64,
    /// RESCO's best published delay on this scenario and who holds it.
    pub resco_best: Option<(String, f64)>,
    /// RESCO's published delay for this controller, where it has one.
    pub resco_same: Option<f64>,
}

/// Summarises results per scenario and controller, in the order given.
pub fn summarise(results: &[RunResult]) -> Vec<Summary> {
    let mut keys: Vec<(String, Kind)> = Vec::new();
    for r in results {
        if !keys.contains(&(r.scenario.clone(), r.controller)) {
            keys.push((r.scenario.clone(), r.controller));
        }
    }
    keys.into_iter()
        .map(|(scenario, kind)| {
            let runs: Vec<&RunResult> = results
                .iter()
                .filter(|r| r.scenario == scenario && r.controller == kind)
                .collect();
            let n = runs.len() as f64;
            let mean = |f: &dyn Fn(&RunResult) -> f64| runs.iter().map(|r| f(r)).sum::<f64>() / n;
            let decisions: u64 = runs.iter().map(|r| r.control.decisions).sum();
            let decision_us: f64 = runs.iter().map(|r| r.control.decision_us_total).sum();
            Summary {
                resco_best: resco_best(&scenario),
                resco_same: resco_published(&scenario, kind.name()),
                scenario,
                controller: kind.name().to_owned(),
                seeds: runs.len(),
                delay_mean: mean(&|r| r.stats.delay),
                delay_worst: runs.iter().map(|r| r.stats.delay).fold(0.0, f64::max),
                trip_time_mean: mean(&|r| r.stats.trip_time),
                waiting_time_mean: mean(&|r| r.stats.waiting_time),
                not_inserted_mean: mean(&|r| r.stats.not_inserted as f64),
                decision_us_mean: if decisions > 0 {
                    decision_us / decisions as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// RESCO's published delays (Ault & Sharon, NeurIPS 2021, table of average delay in seconds),
/// as given in `shared/data/resco/README.md`.
pub const RESCO_PUBLISHED: &[(&str, [Option<f64>; 7])] = &[
    (
        "grid4x4",
        [
            None,
            Some(34.32),
            Some(52.55),
            Some(32.95),
            Some(44.00),
            Some(46.91),
            Some(99.77),
        ],
    ),
    (
        "arterial4x4",
        [
            None,
            Some(820.81),
            Some(952.75),
            Some(1168.32),
            Some(686.62),
            Some(837.75),
            Some(654.13),
        ],
    ),
    (
        "cologne1",
        [
            Some(56.61),
            Some(27.81),
            Some(65.85),
            Some(26.05),
            Some(43.24),
            Some(28.74),
            Some(30.79),
        ],
    ),
    (
        "cologne8",
        [
            Some(63.77),
            Some(21.87),
            Some(47.73),
            Some(22.06),
            Some(21.62),
            Some(60.42),
            Some(33.88),
        ],
    ),
    (
        "ingolstadt1",
        [
            Some(39.40),
            Some(28.32),
            Some(23.62),
            Some(21.48),
            Some(20.90),
            Some(28.31),
            Some(27.00),
        ],
    ),
    (
        "ingolstadt7",
        [
            Some(91.31),
            Some(80.56),
            Some(46.82),
            Some(31.19),
            Some(31.68),
            Some(48.21),
            Some(51.39),
        ],
    ),
];

/// The columns of [`RESCO_PUBLISHED`].
pub const RESCO_CONTROLLERS: [&str; 7] = [
    "fixed",
    "greedy",
    "max-pressure",
    "IDQN",
    "IPPO",
    "MPLight",
    "FMA2C",
];

pub fn resco_published(scenario: &str, controller: &str) -> Option<f64> {
    let column = RESCO_CONTROLLERS.iter().position(|c| *c == controller)?;
    RESCO_PUBLISHED
        .iter()
        .find(|(name, _)| *name == scenario)
        .and_then(|(_, row)| row[column])
}

/// The best published result on `scenario` among RESCO's controllers (fixed-time excluded).
pub fn resco_best(scenario: &str) -> Option<(String, f64)> {
    let (_, row) = RESCO_PUBLISHED.iter().find(|(name, _)| *name == scenario)?;
    row.iter()
        .zip(RESCO_CONTROLLERS)
        .skip(1)
        .filter_map(|(v, name)| v.map(|v| (name.to_owned(), v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_inserted_vehicles_count_with_the_time_they_waited() {
        let dir = std::env::temp_dir().join(format!("parvis-tripinfo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.xml");
        std::fs::write(
            &path,
            r#"<tripinfos>
<tripinfo id="a" depart="0.00" departDelay="1.00" duration="100.00" waitingTime="10.00" timeLoss="20.00"/>
<tripinfo id="b" depart="5.00" departDelay="0.00" duration="50.00" waitingTime="0.00" timeLoss="9.00"/>
</tripinfos>"#,
        )
        .unwrap();
        let departures = vec![
            ("a".to_owned(), 0.0),
            ("b".to_owned(), 5.0),
            ("c".to_owned(), 3400.0),
            ("late".to_owned(), 4000.0),
        ];
        let stats = trip_stats(&path, &departures, 3600.0).unwrap();
        assert_eq!(stats.trips, 2);
        assert_eq!(stats.not_inserted, 1);
        assert!((stats.delay - (21.0 + 9.0 + 200.0) / 3.0).abs() < 1e-9);
        assert!((stats.trip_time - 75.0).abs() < 1e-9);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resco_best_excludes_fixed_time() {
        assert_eq!(resco_best("cologne1"), Some(("IDQN".to_owned(), 26.05)));
        assert_eq!(
            resco_best("arterial4x4"),
            Some(("FMA2C".to_owned(), 654.13))
        );
        assert_eq!(resco_published("cologne8", "greedy"), Some(21.87));
        assert_eq!(resco_published("grid4x4", "fixed"), None);
    }
}
