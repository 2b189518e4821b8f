//! The running sensor platform: entities and their latest state (NGSI-LD's model), one time
//! series per numeric attribute, idempotent batched writes, detectors scoring observations as
//! they arrive, alerts stored and broadcast.
//!
//! A batch is written in one transaction: all of it or none. The same series and instant is
//! stored once (a repeated observation is ignored, so at-least-once delivery is safe). Detectors
//! see each series in time order: an observation older than the last one scored is stored but
//! not scored (no look-ahead, no rewinding).
//!
//! On SQLite, observations land in `sensor_recent`, keyed by time, and are moved into the
//! series-keyed archive `sensor_observations` by [`Sensors::compact`] once `compact_after_rows`
//! have accumulated (see the migration `0009_sensor_recent.sql`); on PostgreSQL they go to the
//! archive directly. Reads use the view `sensor_points` over both tables.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use store::{Row, Store, StoreError};
use tokio::sync::broadcast;

use crate::detect::{Detector, Surprise};

/// The value of an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Value {
    Number(f64),
    Text(String),
    Bool(bool),
    /// A point, WGS84.
    Point {
        lat: f64,
        lon: f64,
    },
    /// Anything else, kept as JSON text.
    Structured(String),
}

/// One attribute of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub value: Value,
    /// When the value was observed, Unix milliseconds.
    pub observed_ms: Option<i64>,
    pub unit_code: Option<String>,
}

/// An entity (a sensor or a thing it observes), as written or read.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub id: String,
    pub entity_type: String,
    pub attributes: BTreeMap<String, Attribute>,
}

/// An alert raised by a detector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: i64,
    pub entity_id: String,
    pub entity_type: String,
    pub attribute: String,
    pub observed_ms: i64,
    pub value: f64,
    pub score: f64,
    pub detector: String,
    pub created_at: String,
}

/// One point of a series, or one bucket of a downsampled series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    pub start_ms: i64,
    pub count: i64,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
}

/// Which instants a temporal query covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeRel {
    Before(i64),
    After(i64),
    Between(i64, i64),
}

/// Errors of the platform.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error("entity {0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SensorError {
    fn from(e: sqlx::Error) -> Self {
        SensorError::Store(StoreError::Database(e))
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsertOutcome {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// Observations stored (repeats excluded).
    pub observations: usize,
    pub alerts: Vec<Alert>,
}

/// Behaviour of the platform.
#[derive(Debug, Clone)]
pub struct SensorsConfig {
    /// Score at or above which an observation raises an alert.
    pub alert_threshold: f64,
    /// Days of observations kept per series unless set otherwise.
    pub retention_days: i64,
    /// Recent observations that trigger their compaction into the series-keyed archive.
    pub compact_after_rows: usize,
}

impl Default for SensorsConfig {
    fn default() -> Self {
        SensorsConfig {
            alert_threshold: 0.5,
            retention_days: 400,
            compact_after_rows: DEFAULT_COMPACT_AFTER_ROWS,
        }
    }
}

/// Rows of `sensor_recent` that trigger a compaction. Larger amortises the archive's page writes
/// over more batches but makes each compaction (during which writes wait) longer, and reads scan
/// more recent rows. `parvis sensors bench ingest` (2,000 series, batches of 500, AMD EPYC 2
/// cores): 20,000 → 51–59k observations/s, 100,000 → 58–66k, never → 80–85k; the archive alone
/// (before staging) 31–37k.
pub const DEFAULT_COMPACT_AFTER_ROWS: usize = 100_000;

struct SeriesState {
    detector: Surprise,
    last_ms: i64,
}

/// The platform over a store.
pub struct Sensors {
    store: Store,
    config: SensorsConfig,
    series_ids: Mutex<HashMap<(String, String), i64>>,
    detectors: Mutex<HashMap<i64, SeriesState>>,
    alerts: broadcast::Sender<Alert>,
    /// Rows in `sensor_recent` (approximately, between compactions; SQLite only).
    recent_rows: AtomicUsize,
    /// Held shared by writers, exclusively by a compaction, so that no batch checks the
    /// archive for a repeat while rows move into it.
    compaction: tokio::sync::RwLock<()>,
}

impl std::fmt::Debug for Sensors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sensors")
            .field("store", &self.store)
            .finish()
    }
}

/// Rows per multi-row statement, per backend. sqlx-sqlite resolves every `$N` by name at bind
/// time, which grows with the parameter count (200 rows spent a quarter of ingestion there), and
/// each statement is a round trip to the SQLite worker thread: 50 measured best on SQLite
/// (`parvis sensors bench ingest`: 20 → 36.5k, 50 → 40k, 200 → 36k observations/s); on
/// PostgreSQL fewer, larger statements win (200: 56k, 50: 41k).
fn rows_per_statement(backend: store::Backend) -> usize {
    match backend {
        store::Backend::Sqlite => 50,
        store::Backend::Postgres => 200,
    }
}

impl Sensors {
    pub async fn open(store: Store, config: SensorsConfig) -> Result<Sensors, SensorError> {
        let rows = sqlx::query("SELECT entity_id, attribute, id FROM sensor_series")
            .fetch_all(store.reader())
            .await?;
        let mut ids = HashMap::new();
        for row in &rows {
            ids.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
        let recent: i64 = sqlx::query("SELECT COUNT(*) FROM sensor_recent")
            .fetch_one(store.reader())
            .await?
            .try_get(0)?;
        let (alerts, _) = broadcast::channel(1024);
        Ok(Sensors {
            store,
            config,
            series_ids: Mutex::new(ids),
            detectors: Mutex::new(HashMap::new()),
            alerts,
            recent_rows: AtomicUsize::new(recent.max(0) as usize),
            compaction: tokio::sync::RwLock::new(()),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Live alerts; a slow subscriber misses some (it is told), never blocks ingestion.
    pub fn subscribe(&self) -> broadcast::Receiver<Alert> {
        self.alerts.subscribe()
    }

    /// Creates an entity; fails if it exists.
    pub async fn create(&self, entity: Entity) -> Result<UpsertOutcome, SensorError> {
        if self.get(&entity.id).await?.is_some() {
            return Err(SensorError::AlreadyExists(entity.id));
        }
        self.upsert(vec![entity], false).await
    }

    /// Creates or updates entities in one transaction. `merge`: attributes are added to the
    /// existing ones (NGSI-LD `options=update`); otherwise they replace them.
    pub async fn upsert(
        &self,
        batch: Vec<Entity>,
        merge: bool,
    ) -> Result<UpsertOutcome, SensorError> {
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000;
        let now = store::timestamp::now();
        let mut outcome = UpsertOutcome::default();
        let mut observations: Vec<(i64, i64, f64)> = Vec::new();
        // The batch's final state per entity, in first-appearance order (an id may repeat).
        let mut order: Vec<&str> = Vec::new();
        let mut state: HashMap<&str, (&str, BTreeMap<String, Attribute>)> = HashMap::new();
        for entity in &batch {
            match state.get_mut(entity.id.as_str()) {
                Some((entity_type, attributes)) => {
                    if *entity_type != entity.entity_type {
                        return Err(SensorError::Invalid(format!(
                            "entity {} appears with types {entity_type} and {}",
                            entity.id, entity.entity_type
                        )));
                    }
                    if !merge {
                        attributes.clear();
                    }
                    attributes.extend(entity.attributes.clone());
                }
                None => {
                    order.push(&entity.id);
                    state.insert(&entity.id, (&entity.entity_type, entity.attributes.clone()));
                }
            }
        }
        let rows_per_statement = rows_per_statement(self.store.backend());
        // SQLite: anonymous parameters, which it binds by position without looking up a name
        // per parameter (numbered ones make that lookup quadratic in the statement's size).
        let sqlite = self.store.backend() == store::Backend::Sqlite;
        let param = |n: usize| {
            if sqlite {
                "?".to_owned()
            } else {
                format!("${n}")
            }
        };
        let guard = self.compaction.read().await;
        let mut tx = self.store.begin().await?;
        for ids in order.chunks(rows_per_statement) {
            let placeholders: Vec<String> = (1..=ids.len()).map(param).collect();
            let sql = format!(
                "SELECT id, type, attributes FROM sensor_entities WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            let mut existing: HashMap<String, (String, String)> = HashMap::new();
            for row in query.fetch_all(&mut *tx).await? {
                existing.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
            }
            let mut rows: Vec<(&str, &str, String)> = Vec::with_capacity(ids.len());
            for id in ids {
                let (entity_type, attributes) = state.get_mut(id).expect("every id has a state");
                match existing.get(*id) {
                    Some((stored_type, stored)) => {
                        if stored_type != entity_type {
                            return Err(SensorError::Invalid(format!(
                                "entity {id} has type {stored_type}, not {entity_type}"
                            )));
                        }
                        if merge {
                            let mut old: BTreeMap<String, Attribute> =
                                serde_json::from_str(stored).unwrap_or_default();
                            old.extend(std::mem::take(attributes));
                            *attributes = old;
                        }
                        outcome.updated.push((*id).to_owned());
                    }
                    None => outcome.created.push((*id).to_owned()),
                }
                rows.push((
                    id,
                    entity_type,
                    serde_json::to_string(attributes).expect("attributes serialise"),
                ));
            }
            let values: Vec<String> = (0..rows.len())
                .map(|i| {
                    let p: Vec<String> = (1..=5).map(|k| param(5 * i + k)).collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO sensor_entities (id, type, attributes, created_at, modified_at) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET attributes = excluded.attributes, modified_at = excluded.modified_at",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (id, entity_type, attributes) in &rows {
                query = query
                    .bind(*id)
                    .bind(*entity_type)
                    .bind(attributes)
                    .bind(&now)
                    .bind(&now);
            }
            query.execute(&mut *tx).await?;
        }
        let mut new_series = HashMap::new();
        // The entity and attribute of each series written, to name the alerts.
        let mut names: HashMap<i64, (&Entity, &str)> = HashMap::new();
        for entity in &batch {
            for (name, attribute) in &entity.attributes {
                let Value::Number(value) = attribute.value else {
                    continue;
                };
                let series = self
                    .series_id(&mut tx, &entity.id, name, &mut new_series)
                    .await?;
                names.insert(series, (entity, name));
                observations.push((series, attribute.observed_ms.unwrap_or(now_ms), value));
            }
        }
        // Repeated (series, instant) pairs are ignored, within the batch and against the store
        // (the recent table by its key, the archive by a lookup).
        let mut inserted: Vec<bool> = Vec::with_capacity(observations.len());
        for chunk in observations.chunks(rows_per_statement) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p: Vec<String> = (1..=3).map(|k| param(3 * i + k)).collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let values = placeholders.join(", ");
            let sql = if sqlite {
                // SQLite stages observations in the time-keyed table (see the module's notes).
                format!(
                    "INSERT INTO sensor_recent (series_id, observed_ms, value) \
                     SELECT v.column1, v.column2, v.column3 FROM (VALUES {values}) AS v \
                     WHERE NOT EXISTS (SELECT 1 FROM sensor_observations o \
                     WHERE o.series_id = v.column1 AND o.observed_ms = v.column2) \
                     ON CONFLICT (observed_ms, series_id) DO NOTHING \
                     RETURNING series_id, observed_ms"
                )
            } else {
                // PostgreSQL appends rows to its heap whatever their key, and its index pages
                // reach the WAL in full once per checkpoint: the archive directly is faster
                // (`parvis sensors bench ingest --postgres`: 12k observations/s staged).
                format!(
                    "INSERT INTO sensor_observations (series_id, observed_ms, value) \
                     VALUES {values} ON CONFLICT (series_id, observed_ms) DO NOTHING \
                     RETURNING series_id, observed_ms"
                )
            };
            let mut query = sqlx::query(&sql);
            for (series, at, value) in chunk {
                query = query.bind(*series).bind(*at).bind(*value);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            let mut stored: std::collections::HashSet<(i64, i64)> =
                std::collections::HashSet::new();
            for row in &rows {
                stored.insert((row.try_get(0)?, row.try_get(1)?));
            }
            for (series, at, _) in chunk {
                inserted.push(stored.remove(&(*series, *at)));
            }
        }
        tx.commit().await?;
        drop(guard);
        self.series_ids.lock().unwrap().extend(new_series);
        outcome.observations = inserted.iter().filter(|i| **i).count();

        // Score what was stored, in time order per series.
        let mut fresh: Vec<(i64, i64, f64)> = observations
            .into_iter()
            .zip(inserted)
            .filter_map(|(o, new)| new.then_some(o))
            .collect();
        fresh.sort_by_key(|(series, at, _)| (*series, *at));
        let mut raised = Vec::new();
        {
            let mut detectors = self.detectors.lock().unwrap();
            for (series, at, value) in fresh {
                let state = detectors.entry(series).or_insert_with(|| SeriesState {
                    detector: Surprise::default(),
                    last_ms: i64::MIN,
                });
                if at <= state.last_ms {
                    continue;
                }
                state.last_ms = at;
                let score = state.detector.score(at / 1000, value);
                if score >= self.config.alert_threshold {
                    raised.push((series, at, value, score));
                }
            }
        }
        if !raised.is_empty() {
            outcome.alerts = self.store_alerts(&names, raised).await?;
            for alert in &outcome.alerts {
                let _ = self.alerts.send(alert.clone());
            }
        }
        // The batch is stored and scored: a failed compaction only delays the next one.
        if sqlite {
            let recent = self
                .recent_rows
                .fetch_add(outcome.observations, Ordering::Relaxed)
                + outcome.observations;
            if recent >= self.config.compact_after_rows
                && let Err(error) = self.compact().await
            {
                tracing::warn!(%error, "compaction of recent observations failed");
            }
        }
        Ok(outcome)
    }

    /// Moves the recent observations into the series-keyed archive, in one transaction (readers
    /// see them in one table or the other, never both nor neither). Returns the rows moved.
    pub async fn compact(&self) -> Result<u64, SensorError> {
        let _exclusive = self.compaction.write().await;
        let mut tx = self.store.begin().await?;
        // `WHERE true`: SQLite's parser needs it before an upsert clause of INSERT … SELECT.
        let moved = sqlx::query(
            "INSERT INTO sensor_observations (series_id, observed_ms, value) \
             SELECT series_id, observed_ms, value FROM sensor_recent WHERE true \
             ORDER BY series_id, observed_ms ON CONFLICT (series_id, observed_ms) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM sensor_recent")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.recent_rows.store(0, Ordering::Relaxed);
        Ok(moved)
    }

    /// The id of a series, created in `tx` if needed. New ids go to `created`, and reach the
    /// shared cache only once the transaction is committed (a rolled-back id must not be used).
    async fn series_id(
        &self,
        tx: &mut store::Transaction<'static, store::Any>,
        entity: &str,
        attribute: &str,
        created: &mut HashMap<(String, String), i64>,
    ) -> Result<i64, SensorError> {
        let key = (entity.to_owned(), attribute.to_owned());
        if let Some(id) = self.series_ids.lock().unwrap().get(&key) {
            return Ok(*id);
        }
        if let Some(id) = created.get(&key) {
            return Ok(*id);
        }
        sqlx::query(
            "INSERT INTO sensor_series (entity_id, attribute, retention_days) VALUES ($1, $2, $3) \
             ON CONFLICT (entity_id, attribute) DO NOTHING",
        )
        .bind(entity)
        .bind(attribute)
        .bind(self.config.retention_days)
        .execute(&mut **tx)
        .await?;
        let id: i64 =
            sqlx::query("SELECT id FROM sensor_series WHERE entity_id = $1 AND attribute = $2")
                .bind(entity)
                .bind(attribute)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
        created.insert(key, id);
        Ok(id)
    }

    async fn store_alerts(
        &self,
        names: &HashMap<i64, (&Entity, &str)>,
        raised: Vec<(i64, i64, f64, f64)>,
    ) -> Result<Vec<Alert>, SensorError> {
        let now = store::timestamp::now();
        let mut tx = self.store.begin().await?;
        let mut alerts = Vec::new();
        for (series, at, value, score) in raised {
            let Some((entity, attribute)) = names.get(&series) else {
                continue;
            };
            let (entity_id, entity_type, attribute) = (
                entity.id.clone(),
                entity.entity_type.clone(),
                (*attribute).to_owned(),
            );
            let row = sqlx::query(
                "INSERT INTO sensor_alerts (series_id, entity_id, entity_type, attribute, observed_ms, value, score, detector, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'surprise', $8) RETURNING id",
            )
            .bind(series)
            .bind(&entity_id)
            .bind(&entity_type)
            .bind(&attribute)
            .bind(at)
            .bind(value)
            .bind(score)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            alerts.push(Alert {
                id: row.try_get(0)?,
                entity_id,
                entity_type,
                attribute,
                observed_ms: at,
                value,
                score,
                detector: "surprise".into(),
                created_at: now.clone(),
            });
        }
        // Each alert is an automated decision: it joins the audit log with the alerts.
        let entries: Vec<governance::audit::Entry> = alerts
            .iter()
            .map(|a| governance::audit::Entry {
                actor: "sensors".into(),
                algorithm: "anomaly-detection".into(),
                version: format!("{}@{}", a.detector, env!("CARGO_PKG_VERSION")),
                kind: "alert".into(),
                inputs: serde_json::json!({"entity": a.entity_id, "attribute": a.attribute,
                    "observed_ms": a.observed_ms, "value": a.value}),
                output: serde_json::json!({"alert_id": a.id, "score": a.score,
                    "threshold": self.config.alert_threshold}),
            })
            .collect();
        self.store.append_audit_in(&mut tx, &entries).await?;
        tx.commit().await?;
        Ok(alerts)
    }

    /// An entity with its latest attributes.
    pub async fn get(&self, id: &str) -> Result<Option<Entity>, SensorError> {
        let row = sqlx::query("SELECT id, type, attributes FROM sensor_entities WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.reader())
            .await?;
        row.as_ref().map(entity_from_row).transpose()
    }

    /// Entities of a type (all types when `None`), by id, at most `limit` from `offset`.
    pub async fn list(
        &self,
        entity_type: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Entity>, SensorError> {
        let rows = match entity_type {
            Some(t) => {
                sqlx::query(&format!(
                    "SELECT id, type, attributes FROM sensor_entities WHERE type = $1 ORDER BY id LIMIT {limit} OFFSET {offset}"
                ))
                .bind(t)
                .fetch_all(self.store.reader())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT id, type, attributes FROM sensor_entities ORDER BY id LIMIT {limit} OFFSET {offset}"
                ))
                .fetch_all(self.store.reader())
                .await?
            }
        };
        rows.iter().map(entity_from_row).collect()
    }

    /// The observations of an entity's numeric attributes in a period, oldest first (the last
    /// `last_n` of them per attribute when set).
    pub async fn temporal(
        &self,
        id: &str,
        attributes: &[String],
        rel: Option<TimeRel>,
        last_n: Option<usize>,
    ) -> Result<BTreeMap<String, Vec<(i64, f64)>>, SensorError> {
        if self.get(id).await?.is_none() {
            return Err(SensorError::NotFound(format!("entity {id}")));
        }
        let (from, to) = match rel {
            None => (i64::MIN, i64::MAX),
            Some(TimeRel::Before(t)) => (i64::MIN, t - 1),
            Some(TimeRel::After(t)) => (t + 1, i64::MAX),
            Some(TimeRel::Between(a, b)) => (a, b - 1),
        };
        let series = sqlx::query(
            "SELECT id, attribute FROM sensor_series WHERE entity_id = $1 ORDER BY attribute",
        )
        .bind(id)
        .fetch_all(self.store.reader())
        .await?;
        let mut out = BTreeMap::new();
        for row in &series {
            let series_id: i64 = row.try_get(0)?;
            let attribute: String = row.try_get(1)?;
            if !attributes.is_empty() && !attributes.contains(&attribute) {
                continue;
            }
            let limit = last_n.map_or(String::new(), |n| format!(" LIMIT {}", n.min(100_000)));
            let order = if last_n.is_some() { "DESC" } else { "ASC" };
            let rows = sqlx::query(&format!(
                "SELECT observed_ms, value FROM sensor_points WHERE series_id = $1 \
                 AND observed_ms >= $2 AND observed_ms <= $3 ORDER BY observed_ms {order}{limit}"
            ))
            .bind(series_id)
            .bind(from)
            .bind(to)
            .fetch_all(self.store.reader())
            .await?;
            let mut points: Vec<(i64, f64)> = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
            points.sort_by_key(|p| p.0);
            out.insert(attribute, points);
        }
        Ok(out)
    }

    /// A series downsampled into buckets of `bucket_ms` (avg, min, max, count), in [from, to).
    pub async fn downsample(
        &self,
        entity: &str,
        attribute: &str,
        from: i64,
        to: i64,
        bucket_ms: i64,
    ) -> Result<Vec<Bucket>, SensorError> {
        if bucket_ms <= 0 {
            return Err(SensorError::Invalid("bucket must be positive".into()));
        }
        let Some(series) = self
            .series_ids
            .lock()
            .unwrap()
            .get(&(entity.to_owned(), attribute.to_owned()))
            .copied()
        else {
            return Err(SensorError::NotFound(format!(
                "series {entity} {attribute}"
            )));
        };
        let rows = sqlx::query(
            "SELECT (observed_ms - $2) / $4, COUNT(*), AVG(value), MIN(value), MAX(value) \
             FROM sensor_points WHERE series_id = $1 AND observed_ms >= $2 AND observed_ms < $3 \
             GROUP BY (observed_ms - $2) / $4 ORDER BY 1",
        )
        .bind(series)
        .bind(from)
        .bind(to)
        .bind(bucket_ms)
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let k: i64 = r.try_get(0)?;
                Ok(Bucket {
                    start_ms: from + k * bucket_ms,
                    count: r.try_get(1)?,
                    avg: r.try_get(2)?,
                    min: r.try_get(3)?,
                    max: r.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(SensorError::from)
    }

    /// Forecast of a series for the next `horizon` steps of `step_ms` after its latest bucket,
    /// from the seasonal profile learned on the last eight seasons (`season` steps each), with
    /// the seasonal-naive forecast beside it. Returns (bucket start, profile, naive).
    pub async fn forecast(
        &self,
        entity: &str,
        attribute: &str,
        step_ms: i64,
        season: usize,
        horizon: usize,
    ) -> Result<Vec<(i64, Option<f64>, Option<f64>)>, SensorError> {
        let latest: Option<i64> = {
            let Some(series) = self
                .series_ids
                .lock()
                .unwrap()
                .get(&(entity.to_owned(), attribute.to_owned()))
                .copied()
            else {
                return Err(SensorError::NotFound(format!(
                    "series {entity} {attribute}"
                )));
            };
            sqlx::query("SELECT MAX(observed_ms) FROM sensor_points WHERE series_id = $1")
                .bind(series)
                .fetch_one(self.store.reader())
                .await?
                .try_get(0)?
        };
        let Some(latest) = latest else {
            return Ok(Vec::new());
        };
        let end = (latest / step_ms + 1) * step_ms;
        let start = end - 8 * season as i64 * step_ms;
        let buckets = self
            .downsample(entity, attribute, start, end, step_ms)
            .await?;
        let mut history: Vec<Option<f64>> = vec![None; 8 * season];
        for b in buckets {
            history[((b.start_ms - start) / step_ms) as usize] = Some(b.avg);
        }
        let mut model = crate::forecast::SeasonalProfile::new(season, 0.3, season.min(24), 0.5);
        // Align the profile's positions with the calendar: position 0 = the window's start.
        for value in &history {
            model.learn(*value);
        }
        let profile = model.forecast(horizon);
        let naive = crate::forecast::seasonal_naive(&history, season, horizon);
        Ok((0..horizon)
            .map(|h| (end + h as i64 * step_ms, profile[h], naive[h]))
            .collect())
    }

    /// The latest alerts, newest first.
    pub async fn alerts(&self, limit: usize) -> Result<Vec<Alert>, SensorError> {
        let rows = sqlx::query(&format!(
            "SELECT id, entity_id, entity_type, attribute, observed_ms, value, score, detector, created_at \
             FROM sensor_alerts ORDER BY id DESC LIMIT {}",
            limit.min(1000)
        ))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Alert {
                    id: r.try_get(0)?,
                    entity_id: r.try_get(1)?,
                    entity_type: r.try_get(2)?,
                    attribute: r.try_get(3)?,
                    observed_ms: r.try_get(4)?,
                    value: r.try_get(5)?,
                    score: r.try_get(6)?,
                    detector: r.try_get(7)?,
                    created_at: r.try_get(8)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(SensorError::from)
    }

    /// Per entity: where it is (its `location` point, if any), how many observations it has
    /// stored and how many alerts they raised. For the fairness report's alert rates.
    pub async fn alert_exposure(&self) -> Result<Vec<Exposure>, SensorError> {
        let rows = sqlx::query(
            "SELECT e.id, e.attributes, \
             (SELECT COUNT(*) FROM sensor_points o JOIN sensor_series s \
              ON o.series_id = s.id WHERE s.entity_id = e.id), \
             (SELECT COUNT(*) FROM sensor_alerts a WHERE a.entity_id = e.id) \
             FROM sensor_entities e ORDER BY e.id",
        )
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let entity =
                    entity_from_row_parts(row.try_get(0)?, String::new(), row.try_get(1)?)?;
                let location = entity
                    .attributes
                    .get("location")
                    .and_then(|a| match a.value {
                        Value::Point { lat, lon } => Some((lat, lon)),
                        _ => None,
                    });
                let observations: i64 = row.try_get(2)?;
                let alerts: i64 = row.try_get(3)?;
                Ok(Exposure {
                    entity_id: entity.id,
                    location,
                    observations: observations.max(0) as u64,
                    alerts: alerts.max(0) as u64,
                })
            })
            .collect()
    }
}

/// An entity's share of the alerts: see [`Sensors::alert_exposure`].
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub entity_id: String,
    /// (lat, lon), WGS84.
    pub location: Option<(f64, f64)>,
    pub observations: u64,
    pub alerts: u64,
}

fn entity_from_row_parts(
    id: String,
    entity_type: String,
    attributes: String,
) -> Result<Entity, SensorError> {
    Ok(Entity {
        id,
        entity_type,
        attributes: serde_json::from_str(&attributes)
            .map_err(|e| SensorError::Invalid(e.to_string()))?,
    })
}

fn entity_from_row(row: &store::AnyRow) -> Result<Entity, SensorError> {
    entity_from_row_parts(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)
}
