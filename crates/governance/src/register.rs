//! The public algorithm register: one entry per algorithm Parvis runs, with the fields of the
//! Algorithmic Transparency Standard 0.3.1 and the CRPA items (static, from
//! `register/algorithms.toml`), and its performance taken from the latest evaluation or
//! benchmark run Parvis recorded itself — never typed by hand.
//!
//! This crate knows no store: the caller looks runs up (`Store::latest_run`) for the suites
//! [`suite_for`] names and passes them to [`Register::with_performance`].

use serde_json::{Map, Value, json};

/// The attributes the Algorithmic Transparency Standard 0.3.1 marks `required: true`.
pub const REQUIRED: [&str; 29] = [
    "standard_version",
    "lang",
    "publication_date",
    "last_change_date",
    "revision_date",
    "name",
    "organization",
    "department",
    "country",
    "contact_email",
    "description_short",
    "status",
    "decision_making_process",
    "domain",
    "area",
    "goal",
    "impact",
    "risks",
    "risk_category",
    "proportionality",
    "lawful_basis",
    "training_data",
    "source_data",
    "connected_data_sources",
    "algorithm_type",
    "type",
    "monitoring",
    "human_intervention",
    "objection_procedure",
];

/// The register's static file, as shipped.
pub const SHIPPED: &str = include_str!("../register/algorithms.toml");

#[derive(Debug, thiserror::Error)]
#[error("algorithm register: {0}")]
pub struct RegisterError(String);

/// A recorded run, as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub suite: String,
    pub command: String,
    pub machine: String,
    pub finished_at: String,
    /// The run's results (JSON text).
    pub results: String,
}

/// The register: its metadata and its entries, as JSON objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Register {
    pub meta: Map<String, Value>,
    pub algorithms: Vec<Map<String, Value>>,
}

/// The stored suite whose latest run measures a `performance_source` kind: held-out sets where
/// there is one.
pub fn suite_for(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "assistant-eval" => "assistant-eval:heldout3-realistic.jsonl",
        "requests-eval" => "requests-classification",
        "requests-routing" => "requests-routing",
        "requests-duplicates" => "requests-duplicates",
        "nab" => "sensors-nab",
        "forecast" => "sensors-forecast",
        "mobility-bench" => "mobility-bench",
        "redaction-eval" => "redaction-eval:heldout4.jsonl",
        _ => return None,
    })
}

impl Register {
    /// Parses a register file.
    pub fn parse(text: &str) -> Result<Register, RegisterError> {
        let value: toml::Value = toml::from_str(text).map_err(|e| RegisterError(e.to_string()))?;
        let value = serde_json::to_value(value).map_err(|e| RegisterError(e.to_string()))?;
        let Value::Object(mut root) = value else {
            return Err(RegisterError("not a table".into()));
        };
        let meta = match root.remove("register") {
            Some(Value::Object(meta)) => meta,
            _ => return Err(RegisterError("no [register] table".into())),
        };
        let algorithms = match root.remove("algorithms") {
            Some(Value::Array(list)) => list
                .into_iter()
                .map(|a| match a {
                    Value::Object(a) if a.get("id").is_some_and(Value::is_string) => Ok(a),
                    _ => Err(RegisterError(
                        "an [[algorithms]] entry without an id".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(RegisterError("no [[algorithms]] entries".into())),
        };
        let mut problems = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for entry in &algorithms {
            let id = entry["id"].as_str().unwrap_or_default();
            if !ids.insert(id) {
                problems.push(format!("{id}: the id is used twice"));
            }
            if entry.contains_key("performance") {
                problems.push(format!("{id}: `performance` must not be written by hand"));
            }
            let missing: Vec<&str> = REQUIRED
                .iter()
                .copied()
                .filter(|key| match entry.get(*key) {
                    None | Some(Value::Null) => true,
                    Some(Value::String(text)) => text.trim().is_empty(),
                    Some(Value::Array(items)) => items.is_empty(),
                    Some(_) => false,
                })
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "{id}: required field(s) missing or empty: {}",
                    missing.join(", ")
                ));
            }
            for source in sources(entry) {
                match source.get("kind").and_then(Value::as_str) {
                    Some(kind) if suite_for(kind).is_some() => {}
                    Some(kind) => problems.push(format!(
                        "{id}: performance_source kind {kind:?} names no evaluation Parvis runs"
                    )),
                    None => problems.push(format!("{id}: a performance_source without a kind")),
                }
            }
        }
        if !problems.is_empty() {
            return Err(RegisterError(problems.join("; ")));
        }
        Ok(Register { meta, algorithms })
    }

    /// The register Parvis ships (parsed once per process).
    pub fn shipped() -> Register {
        static PARSED: std::sync::LazyLock<Register> = std::sync::LazyLock::new(|| {
            Register::parse(SHIPPED).expect("the shipped register parses (tested)")
        });
        PARSED.clone()
    }

    /// The suites whose latest runs the register needs.
    pub fn suites(&self) -> Vec<&'static str> {
        let mut suites = Vec::new();
        for algorithm in &self.algorithms {
            for source in sources(algorithm) {
                if let Some(suite) = source
                    .get("kind")
                    .and_then(Value::as_str)
                    .and_then(suite_for)
                    && !suites.contains(&suite)
                {
                    suites.push(suite);
                }
            }
        }
        suites
    }

    /// Fills each entry's `performance` from the runs `latest` finds (by suite), with the date,
    /// command and machine of the run; a metric never measured says so.
    pub fn with_performance(mut self, latest: impl Fn(&str) -> Option<Run>) -> Register {
        for algorithm in &mut self.algorithms {
            let performance: Vec<Value> = sources(algorithm)
                .iter()
                .map(|source| {
                    let kind = source.get("kind").and_then(Value::as_str).unwrap_or("");
                    let metric = source.get("metric").and_then(Value::as_str).unwrap_or("");
                    let run = suite_for(kind).and_then(&latest);
                    let (value, measured) = match &run {
                        Some(run) => {
                            let results: Value =
                                serde_json::from_str(&run.results).unwrap_or(Value::Null);
                            (
                                metric_value(&results, metric),
                                json!({"suite": run.suite, "date": run.finished_at,
                                    "command": run.command, "machine": run.machine}),
                            )
                        }
                        None => (Value::Null, Value::Null),
                    };
                    json!({
                        "metric": metric,
                        "description": source.get("description").cloned().unwrap_or(Value::Null),
                        "value": value,
                        "measured_by": measured,
                    })
                })
                .collect();
            algorithm.insert("performance".into(), Value::Array(performance));
        }
        self
    }

    /// The whole register as one JSON document.
    pub fn to_json(&self) -> Value {
        json!({"register": self.meta, "algorithms": self.algorithms})
    }

    /// One CSV row per algorithm: its main fields and its performance in one cell.
    pub fn to_csv(&self) -> String {
        const COLUMNS: [&str; 12] = [
            "id",
            "name",
            "description_short",
            "status",
            "organization",
            "department",
            "contact_email",
            "goal",
            "risk_category",
            "human_intervention",
            "objection_procedure",
            "performance",
        ];
        let mut out = COLUMNS.join(",");
        out.push('\n');
        for algorithm in &self.algorithms {
            let cells: Vec<String> = COLUMNS
                .iter()
                .map(|column| {
                    let text = match (*column, algorithm.get(*column)) {
                        ("performance", Some(Value::Array(items))) => items
                            .iter()
                            .map(|p| {
                                format!(
                                    "{}={} ({})",
                                    p["metric"].as_str().unwrap_or(""),
                                    p["value"],
                                    p["measured_by"]["date"].as_str().unwrap_or("not measured")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                        (_, Some(Value::String(s))) => s.clone(),
                        (_, Some(Value::Null) | None) => String::new(),
                        (_, Some(other)) => other.to_string(),
                    };
                    format!("\"{}\"", text.replace('"', "\"\""))
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

fn sources(algorithm: &Map<String, Value>) -> Vec<Map<String, Value>> {
    match algorithm.get("performance_source") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_object().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// `metric` in a run's results: at the top, one level down (per kind, per language), or per
/// row of a `summaries` list (per scenario and controller).
fn metric_value(results: &Value, metric: &str) -> Value {
    if let Some(value) = results.get(metric) {
        return value.clone();
    }
    if let Some(Value::Array(rows)) = results.get("summaries") {
        let rows: Vec<Value> = rows
            .iter()
            .filter_map(|row| {
                let value = row.get(metric)?;
                Some(json!({"scenario": row.get("scenario"), "controller": row.get("controller"), metric: value}))
            })
            .collect();
        if !rows.is_empty() {
            return Value::Array(rows);
        }
    }
    if let Value::Object(map) = results {
        let nested: Map<String, Value> = map
            .iter()
            .filter_map(|(key, sub)| Some((key.clone(), sub.get(metric)?.clone())))
            .collect();
        if !nested.is_empty() {
            return Value::Object(nested);
        }
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_register_parses_and_names_known_suites() {
        let register = Register::shipped();
        assert!(register.algorithms.len() >= 9);
        for algorithm in &register.algorithms {
            for source in sources(algorithm) {
                let kind = source["kind"].as_str().unwrap();
                assert!(suite_for(kind).is_some(), "{kind} has no suite");
            }
        }
    }

    #[test]
    fn performance_comes_from_recorded_runs_only() {
        let register = Register::shipped().with_performance(|suite| {
            (suite == "redaction-eval:heldout4.jsonl").then(|| Run {
                suite: suite.into(),
                command: "parvis redact --eval heldout4.jsonl".into(),
                machine: "test".into(),
                finished_at: "2026-11-26T07:52:55Z".into(),
                results: r#"{"email": {"precision": 1.0, "recall": 0.99}, "lines": 207}"#.into(),
            })
        });
        let redaction = register
            .algorithms
            .iter()
            .find(|a| a["id"] == "redaction")
            .unwrap();
        let performance = redaction["performance"].as_array().unwrap();
        assert!(
            performance
                .iter()
                .any(|p| p["value"]["email"] == 0.99 || p["value"]["email"] == 1.0),
            "{performance:?}"
        );
        assert_eq!(
            performance[0]["measured_by"]["command"],
            "parvis redact --eval heldout4.jsonl"
        );
        // Nothing measured: the value is null, never invented.
        let nab = register
            .algorithms
            .iter()
            .find(|a| a["id"] == "anomaly-detection")
            .unwrap();
        assert!(
            nab["performance"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["value"].is_null() && p["measured_by"].is_null())
        );
        let csv = register.to_csv();
        assert_eq!(csv.lines().count(), register.algorithms.len() + 1);
    }

    #[test]
    fn a_hand_written_performance_is_refused() {
        let text =
            "[register]\nversion = \"0.3.1\"\n[[algorithms]]\nid = \"x\"\nperformance = \"99%\"\n";
        let error = Register::parse(text).unwrap_err().to_string();
        assert!(error.contains("must not be written by hand"), "{error}");
    }

    #[test]
    fn missing_required_fields_duplicate_ids_and_unknown_sources_are_named() {
        // The shipped file with one entry's objection procedure removed, another entry's id
        // reused, and an evaluation nobody runs.
        let mut text = SHIPPED.replacen("objection_procedure =", "objection_procedure_x =", 1);
        text = text.replacen("id = \"forecasting\"", "id = \"anomaly-detection\"", 1);
        text = text.replacen("kind = \"nab\"", "kind = \"nab-typo\"", 1);
        let error = Register::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains(
                "assistant-retrieval: required field(s) missing or empty: objection_procedure"
            ),
            "{error}"
        );
        assert!(
            error.contains("anomaly-detection: the id is used twice"),
            "{error}"
        );
        assert!(
            error.contains("kind \"nab-typo\" names no evaluation"),
            "{error}"
        );
    }
}
