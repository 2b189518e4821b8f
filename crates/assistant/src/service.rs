//! The assistant as a running service: the knowledge base in the store (with the built-in Paris
//! sheets kept in sync), the engine over its current snapshot (rebuilt when the store's
//! generation changes), and conversations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use include_dir::{Dir, include_dir};
use store::{Row, Store, StoreError};

use crate::dense::{self, DenseError, EmbedKind, Embedder};
use crate::engine::{Answer, Engine, Mode, Question};
use crate::generate::Generator;
use crate::index::IndexError;
use crate::ingest::{self, ReadOutcome};
use crate::library::{IngestReport, Library};
use crate::query::Lang;

/// The default knowledge base the project ships: Paris municipal procedures written for Parvis.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../knowledge/paris");

/// Source name prefix of the built-in sheets.
pub const BUILTIN_SOURCE: &str = "builtin:knowledge/paris";

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2_000;
/// Passages per request to the embedding service.
const EMBED_BATCH: usize = 16;
/// Characters of a passage (with its title and headings) sent to the embedding service.
const EMBED_CHARS: usize = 1_200;
/// Turns of a conversation kept for follow-up questions.
const KEPT_TURNS: i64 = 6;

/// Errors of the assistant service.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("invalid question: {0}")]
    InvalidQuestion(String),
    #[error("no conversation with id {0:?}")]
    UnknownConversation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("cannot read {0}")]
    Path(String),
    #[error(transparent)]
    Embeddings(#[from] DenseError),
    #[error("the engine task failed: {0}")]
    Task(String),
}

/// A question to the service.
#[derive(Debug, Clone)]
pub struct AskRequest {
    pub question: String,
    pub lang: Option<Lang>,
    pub mode: Mode,
    pub conversation_id: Option<String>,
}

/// The service's answer.
#[derive(Debug, Clone)]
pub struct AskResponse {
    pub answer: Answer,
    pub conversation_id: String,
}

/// The assistant service; share it behind an `Arc`.
pub struct Assistant {
    store: Store,
    library: Library,
    index_dir: PathBuf,
    /// The engine and what it was built from: the store's generation and how many passage
    /// embeddings it holds.
    engine: RwLock<(i64, usize, Arc<Engine>)>,
    embedder: Option<Arc<dyn Embedder>>,
    generator: Option<Generator>,
    /// The turn writer: stored turns and their audit records, committed in groups.
    turns: tokio::sync::mpsc::Sender<(PendingTurn, TurnReply)>,
}

type TurnReply = tokio::sync::oneshot::Sender<Result<(), AssistantError>>;

/// A turn ready to be stored (question already redacted) with its audit record.
struct PendingTurn {
    conversation_id: String,
    seq: i64,
    /// Set for the first turn of a new conversation: (mode, lang).
    new_conversation: Option<(&'static str, &'static str)>,
    question: String,
    answer: String,
    sheet_ids: String,
    abstained: bool,
    created_at: String,
    audit: governance::audit::Entry,
}

/// Most turns committed in one transaction.
const MAX_TURN_GROUP: usize = 64;

/// Commits waiting turns together: one transaction (one fsync, one audit-chain lookup) for the
/// group, then answers each caller. A group that fails is retried one turn per transaction, so
/// one bad turn cannot fail the others. A caller is answered only once its turn is durable.
async fn write_turns(
    store: Store,
    mut queue: tokio::sync::mpsc::Receiver<(PendingTurn, TurnReply)>,
) {
    let mut group = Vec::with_capacity(MAX_TURN_GROUP);
    while queue.recv_many(&mut group, MAX_TURN_GROUP).await > 0 {
        let pending: Vec<&PendingTurn> = group.iter().map(|(p, _)| p).collect();
        match insert_turns(&store, &pending).await {
            Ok(()) => {
                for (_, reply) in group.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(_) => {
                for (turn, reply) in group.drain(..) {
                    let _ = reply.send(insert_turns(&store, &[&turn]).await);
                }
            }
        }
    }
}

async fn insert_turns(store: &Store, turns: &[&PendingTurn]) -> Result<(), AssistantError> {
    let mut tx = store.begin().await?;
    for turn in turns {
        match turn.new_conversation {
            Some((mode, lang)) => {
                store::query("INSERT INTO assistant_conversations (id, mode, lang, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                    .bind(&turn.conversation_id)
                    .bind(mode)
                    .bind(lang)
                    .bind(&turn.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
            None => {
                store::query("UPDATE assistant_conversations SET updated_at = $1 WHERE id = $2")
                    .bind(&turn.created_at)
                    .bind(&turn.conversation_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
        }
        store::query(
            "INSERT INTO assistant_turns (conversation_id, seq, question, answer, sheet_ids, abstained, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&turn.conversation_id)
        .bind(turn.seq)
        .bind(&turn.question)
        .bind(&turn.answer)
        .bind(&turn.sheet_ids)
        .bind(turn.abstained)
        .bind(&turn.created_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        // Only the last turns are needed to understand follow-ups.
        store::query("DELETE FROM assistant_turns WHERE conversation_id = $1 AND seq < $2")
            .bind(&turn.conversation_id)
            .bind(turn.seq - KEPT_TURNS)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    }
    // Each answer is an automated decision: it joins the audit log with its turn.
    let entries: Vec<governance::audit::Entry> = turns.iter().map(|t| t.audit.clone()).collect();
    store.append_audit_in(&mut tx, &entries).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

impl std::fmt::Debug for Assistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assistant")
            .field("index_dir", &self.index_dir)
            .finish()
    }
}

/// Reads the built-in sheets.
pub fn builtin_sheets() -> ReadOutcome {
    let mut outcome = ReadOutcome::default();
    let mut files: Vec<_> = BUILTIN.files().collect();
    files.sort_by_key(|f| f.path().to_owned());
    for file in files {
        if let Some(text) = file.contents_utf8() {
            ingest::read_text(
                &Path::new("knowledge/paris").join(file.path()),
                text,
                &mut outcome,
            );
        }
    }
    outcome
}

impl Assistant {
    /// Opens the assistant over `store`: brings the built-in sheets up to date, then builds (or
    /// reuses) the index in `data_dir/assistant-index`.
    pub async fn open(store: Store, data_dir: &Path) -> Result<Assistant, AssistantError> {
        Assistant::open_with(store, data_dir, None).await
    }

    /// Opens the assistant with an optional dense retriever (embeddings already stored are
    /// used at once; missing ones are computed by [`Assistant::embed_missing`]).
    pub async fn open_with(
        store: Store,
        data_dir: &Path,
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<Assistant, AssistantError> {
        // The scope model trains once; do it now rather than on the first question.
        let _ = tokio::task::spawn_blocking(crate::scope::ScopeModel::built_in).await;
        let library = Library::new(store.clone());
        let report = sync_builtin(&library).await?;
        if report.added + report.updated + report.removed > 0 {
            tracing::info!(
                added = report.added,
                updated = report.updated,
                removed = report.removed,
                "built-in knowledge base updated"
            );
        }
        for rejected in &report.rejected {
            tracing::error!(%rejected, "built-in sheet rejected");
        }
        let index_dir = data_dir.join("assistant-index");
        let (generation, engine) = build_engine(&library, &index_dir, embedder.as_deref()).await?;
        let (turns, queue) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(write_turns(store.clone(), queue));
        Ok(Assistant {
            store,
            library,
            index_dir,
            engine: RwLock::new((generation, engine.embedded_passages(), Arc::new(engine))),
            embedder,
            generator: None,
            turns,
        })
    }

    /// Turns on the optional generative mode.
    pub fn with_generator(mut self, generator: Option<Generator>) -> Assistant {
        self.generator = generator;
        self
    }

    /// Answers one question (no conversation bookkeeping): dense vector if configured, the
    /// engine, then the generative rewrite if configured and its draft passes its checks.
    pub async fn respond(
        &self,
        text: &str,
        mode: Mode,
        previous: Option<&str>,
        first_turn: bool,
        lang: Option<Lang>,
    ) -> Result<Answer, AssistantError> {
        let vector = self.query_vector(text).await;
        let engine = self.engine();
        let question_text = text.to_owned();
        let previous_text = previous.map(str::to_owned);
        let answer = {
            let engine = engine.clone();
            tokio::task::spawn_blocking(move || {
                engine.ask(&Question {
                    text: &question_text,
                    mode,
                    previous: previous_text.as_deref(),
                    first_turn,
                    lang,
                    vector: vector.as_deref(),
                })
            })
            .await
            .map_err(|e| AssistantError::Task(e.to_string()))?
        };
        let Some(generator) = &self.generator else {
            return Ok(answer);
        };
        if answer.abstained.is_some() || answer.citations.is_empty() {
            return Ok(answer);
        }
        match generator
            .rewrite(text, answer.lang, &answer.citations)
            .await
        {
            Ok(draft) => Ok(engine.with_body(answer, draft, first_turn)),
            Err(reason) => {
                tracing::warn!(%reason, "generated draft not served; extractive answer instead");
                Ok(answer)
            }
        }
    }

    /// The engine over the current snapshot.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.read().expect("engine lock").2.clone()
    }

    pub fn library(&self) -> &Library {
        &self.library
    }

    /// Rebuilds the engine if the knowledge base changed since it was built; true if it did.
    pub async fn refresh(&self) -> Result<bool, AssistantError> {
        let current = self.library.generation().await?;
        let stored_vectors = match &self.embedder {
            Some(embedder) => count_embeddings(&self.store, embedder.model()).await?,
            None => 0,
        };
        {
            let engine = self.engine.read().expect("engine lock");
            if engine.0 == current && engine.1 == stored_vectors {
                return Ok(false);
            }
        }
        let (generation, engine) =
            build_engine(&self.library, &self.index_dir, self.embedder.as_deref()).await?;
        let embedded = engine.embedded_passages();
        *self.engine.write().expect("engine lock") = (generation, embedded, Arc::new(engine));
        tracing::info!(generation, embedded, "assistant engine rebuilt");
        Ok(true)
    }

    /// Embeds up to `limit` passages that have no vector yet for the configured model and
    /// stores them; returns how many it embedded (0 without a dense retriever).
    pub async fn embed_missing(&self, limit: usize) -> Result<usize, AssistantError> {
        let Some(embedder) = &self.embedder else {
            return Ok(0);
        };
        let rows = store::query(
            "SELECT p.sheet_id, p.seq, s.title, p.headings, p.text FROM assistant_passages p \
             JOIN assistant_sheets s ON s.id = p.sheet_id \
             WHERE NOT EXISTS (SELECT 1 FROM assistant_embeddings e \
                               WHERE e.sheet_id = p.sheet_id AND e.seq = p.seq AND e.model = $1) \
             ORDER BY p.sheet_id, p.seq LIMIT $2",
        )
        .bind(embedder.model())
        .bind(limit as i64)
        .fetch_all(self.store.reader())
        .await
        .map_err(StoreError::from)?;
        let mut done = 0;
        for batch in rows.chunks(EMBED_BATCH) {
            let mut keys = Vec::with_capacity(batch.len());
            let mut texts = Vec::with_capacity(batch.len());
            for row in batch {
                let sheet_id: String = row.try_get(0).map_err(StoreError::from)?;
                let seq: i64 = row.try_get(1).map_err(StoreError::from)?;
                let title: String = row.try_get(2).map_err(StoreError::from)?;
                let headings: String = row.try_get(3).map_err(StoreError::from)?;
                let text: String = row.try_get(4).map_err(StoreError::from)?;
                let headings = headings
                    .split('\u{1f}')
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" › ");
                let passage: String = format!("{title} › {headings}\n{text}")
                    .chars()
                    .take(EMBED_CHARS)
                    .collect();
                keys.push((sheet_id, seq));
                texts.push(passage);
            }
            let vectors = embedder.embed(&texts, EmbedKind::Passage).await?;
            let mut tx = self.store.begin().await?;
            for ((sheet_id, seq), vector) in keys.iter().zip(&vectors) {
                store::query("INSERT INTO assistant_embeddings (sheet_id, seq, model, vector) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                    .bind(sheet_id)
                    .bind(*seq)
                    .bind(embedder.model())
                    .bind(dense::to_bytes(vector))
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            done += batch.len();
        }
        Ok(done)
    }

    /// The question's embedding, when a dense retriever is configured and answers; a failing
    /// embedding service degrades to lexical retrieval, it does not fail the question.
    pub async fn query_vector(&self, question: &str) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        match embedder
            .embed(&[question.to_owned()], EmbedKind::Query)
            .await
        {
            Ok(mut vectors) => vectors.pop(),
            Err(error) => {
                tracing::warn!(%error, "embedding service unavailable; lexical retrieval only");
                None
            }
        }
    }

    /// Ingests files and folders, then refreshes the engine.
    pub async fn ingest(&self, paths: &[PathBuf]) -> Result<IngestReport, AssistantError> {
        let report = ingest_paths(&self.library, paths).await?;
        self.refresh().await?;
        Ok(report)
    }

    /// Answers a question within a conversation (a new one when none is given); the turn is
    /// stored before the answer is returned.
    /// The kept turns of a conversation, oldest first: (question as stored, redacted; answer).
    pub async fn transcript(
        &self,
        conversation_id: &str,
    ) -> Result<Vec<(String, String)>, AssistantError> {
        let rows = store::query(
            "SELECT question, answer FROM assistant_turns WHERE conversation_id = $1 ORDER BY seq",
        )
        .bind(conversation_id)
        .fetch_all(self.store.reader())
        .await
        .map_err(StoreError::from)?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get(0).map_err(StoreError::from)?,
                    row.try_get(1).map_err(StoreError::from)?,
                ))
            })
            .collect()
    }

    pub async fn ask(&self, request: AskRequest) -> Result<AskResponse, AssistantError> {
        let question = request.question.trim();
        if question.is_empty() {
            return Err(AssistantError::InvalidQuestion(
                "the question is empty".into(),
            ));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AssistantError::InvalidQuestion(format!(
                "the question is longer than {MAX_QUESTION_CHARS} characters"
            )));
        }
        let (conversation_id, previous, turns) = match &request.conversation_id {
            Some(id) => {
                let (previous, turns) = self.last_question(id).await?;
                (id.clone(), previous, turns)
            }
            None => (uuid::Uuid::new_v4().to_string(), None, 0),
        };
        let answer = self
            .respond(
                question,
                request.mode,
                previous.as_deref(),
                turns == 0,
                request.lang,
            )
            .await?;
        self.store_turn(&conversation_id, turns, &request, question, &answer)
            .await?;
        Ok(AskResponse {
            answer,
            conversation_id,
        })
    }

    /// The conversation's last question and the next turn's number; an error if there is no
    /// such conversation. One query: the conversation, joined to its latest turn if any.
    async fn last_question(
        &self,
        conversation_id: &str,
    ) -> Result<(Option<String>, i64), AssistantError> {
        let row = store::query(
            "SELECT t.question, t.seq FROM assistant_conversations c \
             LEFT JOIN assistant_turns t ON t.conversation_id = c.id \
             WHERE c.id = $1 ORDER BY t.seq DESC LIMIT 1",
        )
        .bind(conversation_id)
        .fetch_optional(self.store.reader())
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Err(AssistantError::UnknownConversation(
                conversation_id.to_owned(),
            ));
        };
        let question: Option<String> = row.try_get(0).map_err(StoreError::from)?;
        let seq: Option<i64> = row.try_get(1).map_err(StoreError::from)?;
        Ok((question, seq.map_or(0, |seq| seq + 1)))
    }

    async fn store_turn(
        &self,
        conversation_id: &str,
        seq: i64,
        request: &AskRequest,
        question: &str,
        answer: &Answer,
    ) -> Result<(), AssistantError> {
        let sheet_ids: Vec<&str> = answer
            .citations
            .iter()
            .map(|c| c.sheet_id.as_str())
            .collect();
        let mode = match request.mode {
            Mode::Resident => "resident",
            Mode::Agent => "agent",
        };
        // Residents write names, e-mails and phone numbers into questions: the stored turn and
        // the audit record keep none of it (the answer itself only quotes official sheets).
        let redacted = telemetry::redact(question).into_owned();
        let turn = PendingTurn {
            conversation_id: conversation_id.to_owned(),
            seq,
            new_conversation: (seq == 0 && request.conversation_id.is_none())
                .then_some((mode, answer.lang.as_str())),
            question: redacted.clone(),
            answer: answer.text.clone(),
            sheet_ids: sheet_ids.join(","),
            abstained: answer.abstained.is_some(),
            created_at: store::timestamp::now(),
            audit: governance::audit::Entry {
                actor: "assistant".into(),
                algorithm: "assistant-answering".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                kind: "answer".into(),
                inputs: serde_json::json!({
                    "conversation_id": conversation_id,
                    "turn": seq,
                    "question": redacted,
                    "mode": mode,
                }),
                output: serde_json::json!({
                    "sources": sheet_ids,
                    "confidence": answer.confidence,
                    "abstained": answer.abstained.map(|a| a.as_str()),
                    "lang": answer.lang.as_str(),
                }),
            },
        };
        let stopped =
            || AssistantError::Store(StoreError::Config("the turn writer stopped".into()));
        let (reply, written) = tokio::sync::oneshot::channel();
        self.turns
            .send((turn, reply))
            .await
            .map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }
}

async fn sync_builtin(library: &Library) -> Result<IngestReport, StoreError> {
    library
        .ingest(builtin_sheets(), &[BUILTIN_SOURCE.to_owned()], |path| {
            format!("builtin:{}", path.display())
        })
        .await
}

/// Ingests files and folders into the library; sources are canonical absolute paths, and the
/// given paths are the scope within which vanished sheets are deleted.
pub async fn ingest_paths(
    library: &Library,
    paths: &[PathBuf],
) -> Result<IngestReport, AssistantError> {
    let canonical: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            p.canonicalize()
                .map_err(|e| AssistantError::Path(format!("{}: {e}", p.display())))
        })
        .collect::<Result<_, _>>()?;
    let outcome = tokio::task::spawn_blocking({
        let canonical = canonical.clone();
        move || ingest::read_paths(&canonical)
    })
    .await
    .map_err(|e| AssistantError::Task(e.to_string()))?
    .map_err(|e| AssistantError::Path(e.to_string()))?;
    let scope: Vec<String> = canonical.iter().map(|p| p.display().to_string()).collect();
    Ok(library
        .ingest(outcome, &scope, |path| path.display().to_string())
        .await?)
}

async fn build_engine(
    library: &Library,
    index_dir: &Path,
    embedder: Option<&dyn Embedder>,
) -> Result<(i64, Engine), AssistantError> {
    let generation = library.generation().await?;
    let sheets = library
        .load_all()
        .await?
        .into_iter()
        .map(|s| s.sheet)
        .collect();
    let index_dir = index_dir.to_owned();
    let engine =
        tokio::task::spawn_blocking(move || Engine::build(sheets, Some((&index_dir, generation))))
            .await
            .map_err(|e| AssistantError::Task(e.to_string()))??;
    let Some(embedder) = embedder else {
        return Ok((generation, engine));
    };
    let rows =
        store::query("SELECT sheet_id, seq, vector FROM assistant_embeddings WHERE model = $1")
            .bind(embedder.model())
            .fetch_all(library.store().reader())
            .await
            .map_err(StoreError::from)?;
    let mut stored: HashMap<(String, i64), Vec<f32>> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let sheet_id: String = row.try_get(0).map_err(StoreError::from)?;
        let seq: i64 = row.try_get(1).map_err(StoreError::from)?;
        let bytes: Vec<u8> = row.try_get(2).map_err(StoreError::from)?;
        stored.insert((sheet_id, seq), dense::from_bytes(&bytes));
    }
    let vectors = engine
        .passage_keys()
        .into_iter()
        .map(|(sheet_id, seq)| stored.remove(&(sheet_id, seq as i64)))
        .collect();
    Ok((generation, engine.with_dense(vectors)))
}

async fn count_embeddings(store: &Store, model: &str) -> Result<usize, StoreError> {
    let row = store::query("SELECT COUNT(*) FROM assistant_embeddings WHERE model = $1")
        .bind(model)
        .fetch_one(store.reader())
        .await?;
    let n: i64 = row.try_get(0)?;
    Ok(n as usize)
}
