//! The `parvis` binary as a user runs it: `serve` on the embedded defaults and on PostgreSQL,
//! graceful shutdown, `migrate`, `keys`, configuration errors and exit codes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{free_port, parvis};

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A minimal HTTP/1.1 exchange; returns (status, body).
fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    if let Some(key) = key {
        request.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(command: Command) -> Server {
        Server::start_with(command, &[])
    }

    /// Starts `serve` with extra flags.
    fn start_with(mut command: Command, flags: &[&str]) -> Server {
        let address = free_port();
        let mut child = command
            .args(["serve", "--listen", &address.to_string()])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for the "serving" line, then for the port.
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "server did not start");
            match lines.next() {
                Some(Ok(line)) if line.contains("Parvis serving") => break,
                Some(Ok(_)) => continue,
                _ => panic!("server exited before serving: {:?}", child.wait()),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Server { child, address }
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_runs_on_embedded_defaults_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(parvis(dir.path()));
    let (status, body) = http(server.address, "GET", "/readyz", None, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""store":"sqlite""#), "{body}");
    assert!(
        dir.path().join("parvis-data/parvis.sqlite").is_file(),
        "default data directory created"
    );
    let (status, _) = http(server.address, "GET", "/healthz", None, None);
    assert_eq!(status, 200);
    assert!(server.terminate().success());
}

#[test]
fn keys_created_on_the_command_line_work_over_http_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let secret = ok(parvis(dir.path())
        .args([
            "--data-dir",
            data,
            "keys",
            "create",
            "--role",
            "operator",
            "--name",
            "salle de pilotage",
        ])
        .output()
        .unwrap());
    let secret = secret.trim().to_owned();
    assert!(secret.starts_with("pvs_"), "{secret}");

    let listed = ok(parvis(dir.path())
        .args(["--data-dir", data, "keys", "list", "--json"])
        .output()
        .unwrap());
    let key: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(key["role"], "operator");
    assert!(
        !listed.contains(&secret[15..]),
        "the secret is never listed"
    );

    let mut command = parvis(dir.path());
    command.env("PARVIS_DATA_DIR", data);
    let server = Server::start(command);
    let (status, body) = http(server.address, "GET", "/api/v1/me", Some(&secret), None);
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(server.address, "GET", "/api/v1/keys", Some(&secret), None);
    assert_eq!(status, 403, "an operator is not an admin");

    ok(parvis(dir.path())
        .args([
            "--data-dir",
            data,
            "keys",
            "revoke",
            key["id"].as_str().unwrap(),
        ])
        .output()
        .unwrap());
    let (status, _) = http(server.address, "GET", "/api/v1/me", Some(&secret), None);
    assert_eq!(status, 401, "revocation takes effect on the next request");
}

#[test]
fn migrate_applies_once_and_reports_status() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(parvis(dir.path()).arg("migrate").output().unwrap());
    let known = first.lines().filter(|l| l.contains("  applied  ")).count();
    assert!(known >= 2, "{first}");
    assert!(
        first.starts_with(&format!("{known} migration(s) applied")),
        "{first}"
    );
    let second = ok(parvis(dir.path()).arg("migrate").output().unwrap());
    assert!(second.contains("0 migration(s) applied"), "{second}");
    let status = ok(parvis(dir.path())
        .args(["migrate", "--status"])
        .output()
        .unwrap());
    assert!(
        status.contains("applied") && status.contains("foundation"),
        "{status}"
    );
}

#[test]
fn configuration_errors_exit_with_2_and_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let output = parvis(dir.path())
        .env("PARVIS_HTTP__BODY_LIMIT_BYTES", "5")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("body_limit_bytes"));

    let output = parvis(dir.path())
        .args(["--config", "absent.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));

    let output = parvis(dir.path())
        .args(["keys", "create", "--role", "root", "--name", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown role"));
}

#[test]
fn config_show_reflects_flags_and_hides_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let shown = ok(parvis(dir.path())
        .args(["--data-dir", "/srv/parvis", "config", "show"])
        .env("PARVIS_DATABASE_URL", "postgres://parvis:hunter2@db/parvis")
        .output()
        .unwrap());
    assert!(shown.contains("data_dir = \"/srv/parvis\""), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

/// The same binary on PostgreSQL: runs when PARVIS_TEST_DATABASE_URL is set (CI sets it).
#[test]
fn serve_runs_the_same_on_postgres() {
    let Ok(url) = std::env::var("PARVIS_TEST_DATABASE_URL") else {
        eprintln!("PARVIS_TEST_DATABASE_URL unset: PostgreSQL serve test skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("t_cli_{}", std::process::id());
    let with_pg = |command: &mut Command| {
        command
            .env("PARVIS_DATABASE_URL", &url)
            .env("PARVIS_DATABASE__SCHEMA", &schema);
    };
    let mut create = parvis(dir.path());
    with_pg(&mut create);
    let secret = ok(create
        .args(["keys", "create", "--role", "admin", "--name", "pg admin"])
        .output()
        .unwrap());

    let mut command = parvis(dir.path());
    with_pg(&mut command);
    let server = Server::start(command);
    let (status, body) = http(server.address, "GET", "/readyz", None, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""store":"postgres""#), "{body}");
    let (status, body) = http(
        server.address,
        "POST",
        "/api/v1/keys",
        Some(secret.trim()),
        Some(r#"{"name":"agent","role":"agent"}"#),
    );
    assert_eq!(status, 201, "{body}");
    assert!(server.terminate().success());
    assert!(
        !dir.path().join("parvis-data/parvis.sqlite").exists(),
        "no SQLite file on PostgreSQL"
    );

    drop_schema(&url, &schema);
}

fn drop_schema(url: &str, schema: &str) {
    use sqlx::{ConnectOptions, Connection, Executor};
    use std::str::FromStr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::any::AnyConnectOptions::from_str(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        conn.execute(
            format!("SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE")
                .as_str(),
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
}

/// Runs `script` (in `tests/`) with the Python named by `python_env` against a server on
/// defaults, with a fresh key of `role`; skipped when the variable is unset (`.ci/run` sets it).
fn python_client_passes(python_env: &str, script: &str, role: &str) {
    let Ok(python) = std::env::var(python_env) else {
        eprintln!("{python_env} unset: {script} skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = ok(parvis(dir.path())
        .args(["keys", "create", "--role", role, "--name", script])
        .output()
        .unwrap());
    let server = Server::start(parvis(dir.path()));
    let output = Command::new(python)
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .arg(format!("http://{}", server.address))
        .arg(secret.trim())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The official Python `openai` client drives the OpenAI-compatible API.
#[test]
fn the_openai_python_client_works_unchanged() {
    python_client_passes(
        "PARVIS_TEST_OPENAI_PYTHON",
        "openai_client.py",
        "resident-app",
    );
}

/// An existing Open311 client (PyPI `georeport`) drives the server: services, a service
/// definition, a posted report followed in JSON and XML.
#[test]
fn an_existing_open311_client_follows_a_report() {
    python_client_passes(
        "PARVIS_TEST_GEOREPORT_PYTHON",
        "georeport_client.py",
        "resident-app",
    );
}

/// `parvis requests classify --input FILE --json`: one line per input with exactly the issue's
/// keys, DansMaRue spellings, and `type: null` for a text that is not a report.
#[test]
fn requests_classify_writes_one_json_line_per_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"a\", \"description\": \"un matelas et un frigo abandonnés sur le trottoir\"}\n\
         {\"id\": \"b\", \"description\": \"test\"}\n",
    )
    .unwrap();
    let out = ok(parvis(dir.path())
        .args(["requests", "classify", "--json", "--input"])
        .arg(&input)
        .output()
        .unwrap());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let keys: Vec<&String> = lines[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["id", "probability", "service_code", "soustype", "type"]
    );
    assert_eq!(lines[0]["type"], "Objets abandonnés");
    assert!(
        lines[0]["service_code"]
            .as_str()
            .unwrap()
            .starts_with("OBJ-")
    );
    assert_eq!(lines[1]["type"], serde_json::Value::Null);
    assert_eq!(lines[1]["soustype"], serde_json::Value::Null);

    std::fs::write(&input, "{nope\n").unwrap();
    let failed = parvis(dir.path())
        .args(["requests", "classify", "--json", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("line 1"));
}

/// `serve --demo` fills an empty store with demonstration requests and sensor counts (one
/// incident raising an alert), and adds nothing to a store that has data.
#[test]
fn serve_demo_fills_an_empty_store_once() {
    let dir = tempfile::tempdir().unwrap();
    let operator = ok(parvis(dir.path())
        .args(["keys", "create", "--role", "operator", "--name", "demo"])
        .output()
        .unwrap());
    let server = Server::start_with(parvis(dir.path()), &["--demo"]);
    let (status, body) = http(server.address, "GET", "/api/requests/report", None, None);
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(report["closed"].as_u64().unwrap() > 200, "{report}");
    let (status, body) = http(
        server.address,
        "GET",
        "/api/alerts",
        Some(operator.trim()),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let alerts: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");

    // The fairness report works on the demo data: arrondissements compared on time to close,
    // the demo sensors placed in their arrondissements, each metric with its rule.
    let (status, body) = http(server.address, "GET", "/api/fairness", None, None);
    assert_eq!(status, 200, "{body}");
    let fairness: serde_json::Value = serde_json::from_str(&body).unwrap();
    let metric = |id: &str| {
        fairness["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing: {fairness}"))
            .clone()
    };
    let closing = metric("closure-time-by-arrondissement");
    assert_eq!(closing["groups"].as_array().unwrap().len(), 20, "{closing}");
    assert!(closing["disparity"].as_f64().unwrap() >= 1.0, "{closing}");
    assert!(closing["rule"].as_str().unwrap().contains("1.5"));
    let alerting = metric("alert-rate-by-district");
    let readings: u64 = alerting["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["n"].as_u64().unwrap())
        .sum();
    assert_eq!(readings, 3 * 28 * 24, "{alerting}");
    assert!(
        metric("assistant-answers-by-language")["finding"]
            .as_str()
            .unwrap()
            .contains("no held-out evaluation")
    );
    assert!(server.terminate().success());

    let printed = ok(parvis(dir.path())
        .args(["fairness", "report"])
        .output()
        .unwrap());
    assert!(
        printed.contains("## Time to close a service request, by arrondissement"),
        "{printed}"
    );

    // Retention three years on: contacts, observations and the audit record of the alert go;
    // the chain left (the pass's own record) still verifies from its anchor.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(3 * 365);
    let later = later
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let pass = ok(parvis(dir.path())
        .args(["retention", "enforce", "--json", "--as-of", &later])
        .output()
        .unwrap());
    let pass: serde_json::Value = serde_json::from_str(&pass).unwrap();
    assert_eq!(pass["observations_deleted"], 3 * 28 * 24, "{pass}");
    assert!(
        pass["audit_records_removed"].as_u64().unwrap() >= 1,
        "{pass}"
    );
    let verified = ok(parvis(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap());
    assert!(
        verified.contains("audit log intact: 1 records"),
        "{verified}"
    );

    let server = Server::start_with(parvis(dir.path()), &["--demo"]);
    let (_, body) = http(server.address, "GET", "/api/requests/report", None, None);
    let again: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        again["closed"], report["closed"],
        "nothing added the second time"
    );
}

#[test]
fn redact_reads_json_lines_and_scores_a_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = parvis(dir.path())
        .args(["redact", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"id\": \"a\", \"text\": \"Écrire à marie.curie@example.org ou au 06 12 34 56 78\"}\n{\"id\": 2, \"text\": \"Nid-de-poule rue de Rivoli, demande n° 2026-004512\"}\n"
                .as_bytes(),
        )
        .unwrap();
    let out = ok(child.wait_with_output().unwrap());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["redacted"], "Écrire à [email] ou au [phone]");
    assert_eq!(
        lines[0]["spans"],
        serde_json::json!([{"kind": "email", "value": "marie.curie@example.org"}, {"kind": "phone", "value": "06 12 34 56 78"}])
    );
    assert_eq!(lines[1]["spans"], serde_json::json!([]));

    // The evaluation counts a miss and a wrong span against the labels.
    let corpus = dir.path().join("corpus.jsonl");
    std::fs::write(
        &corpus,
        "{\"id\": \"x\", \"text\": \"appelez le 06 12 34 56 78\", \"spans\": [{\"kind\": \"phone\", \"value\": \"06 12 34 56 78\"}]}\n{\"id\": \"y\", \"text\": \"rien ici\", \"spans\": [{\"kind\": \"name\", \"value\": \"ici\"}]}\n",
    )
    .unwrap();
    let out = ok(parvis(dir.path())
        .args(["redact", "--json", "--no-record", "--eval"])
        .arg(&corpus)
        .output()
        .unwrap());
    let scores: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(scores["phone"]["recall"], 1.0);
    assert_eq!(scores["name"]["recall"], 0.0);
    assert_eq!(scores["name"]["gold"], 1);
}

#[test]
fn audit_verify_names_the_first_tampered_record() {
    use governance::audit::{Entry, seal};
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..5)
        .map(|i| Entry {
            actor: "requests".into(),
            algorithm: "request-classification".into(),
            version: "0.1.0".into(),
            kind: "classification".into(),
            inputs: serde_json::json!({"description": format!("dépôt sauvage n°{i}, appelez le 06 12 34 56 78")}),
            output: serde_json::json!({"type": "Objets abandonnés"}),
        })
        .collect();
    let records = seal(None, &entries, "2026-11-26T08:00:00Z");
    assert!(records.iter().all(|r| r.inputs.contains("[phone]")));
    let lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let check = |lines: &[String]| {
        let path = dir.path().join("export.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        parvis(dir.path())
            .args(["audit", "verify", "--file"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let intact = ok(check(&lines));
    assert!(intact.contains("5 records"), "{intact}");

    let mut altered = lines.clone();
    altered[2] = altered[2].replace("Objets abandonnés", "Graffitis");
    let mut removed = lines.clone();
    removed.remove(1);
    let mut reordered = lines.clone();
    reordered.swap(3, 4);
    let mut torn = lines.clone();
    let cut = torn[4].len() / 2;
    torn[4].truncate(cut);
    for (tampered, expected) in [
        (altered, "record 3 was altered"),
        (removed, "removed before record 3"),
        (reordered, "record 5 is out of order"),
        (torn, "line 5 is not a whole record"),
    ] {
        let output = check(&tampered);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
}

/// A first `serve` with demonstration data and no key creates an operator key and shows it
/// once on the terminal, so that a new user can sign in to the dashboard.
#[test]
fn a_first_demo_serve_shows_an_operator_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let address = free_port();
    let mut child = parvis(dir.path())
        .args(["serve", "--demo", "--listen", &address.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read stdout on a thread that keeps draining it: closing the pipe early would make the
    // server's next write fail.
    let stdout = child.stdout.take().unwrap();
    let (found, key_line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Demonstration operator key") {
                let _ = found.send(line);
            }
        }
    });
    let line = key_line
        .recv_timeout(Duration::from_secs(60))
        .expect("the key line");
    let key = line.rsplit(' ').next().unwrap().to_owned();
    let (status, body) = http(address, "GET", "/api/v1/me", Some(&key), None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"operator\""), "{body}");
    let _ = child.kill();
    let _ = child.wait();

    // A later start, with keys in the store, creates no other.
    let again = Server::start_with(parvis(dir.path()), &["--demo"]);
    drop(again);
    let listed = ok(parvis(dir.path()).args(["keys", "list"]).output().unwrap());
    assert_eq!(listed.matches("demo-operator").count(), 1, "{listed}");
}
