//! Benchmark commands. Each prints a table a person can read (Markdown, so a machine can parse
//! it too), names the machine, and records its results in the store's `benchmark_runs`.

pub mod assistant;
pub mod http;
pub mod load;
pub mod requests;
pub mod server;

/// The machine a benchmark ran on: host name, CPU model, logical cores.
pub fn machine() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{host} ({cpu}, {cores} cores)")
}

/// Records a finished run in the configured store, with the command line that produced it;
/// returns the run's id.
pub async fn record(
    config: &crate::config::Config,
    suite: String,
    machine: String,
    started_at: String,
    results: String,
) -> anyhow::Result<i64> {
    let store = crate::commands::open_migrated_store(config).await?;
    let id = store
        .record_run(&store::runs::BenchmarkRun {
            suite,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            machine,
            started_at,
            finished_at: store::timestamp::now(),
            results,
        })
        .await?;
    store.close().await;
    Ok(id)
}

/// A Markdown table with aligned columns.
pub fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = line(header.to_vec());
    out.push_str(&line(widths.iter().map(|_| "").collect()).replace(' ', "-"));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
