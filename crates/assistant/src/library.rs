//! The knowledge base as stored: sheets and passages in the store, written idempotently.
//!
//! Re-ingesting is idempotent: a sheet whose content digest did not change is left alone, a
//! changed one is replaced, and a sheet that was read earlier from a path inside the ingested
//! scope but is no longer there is deleted. Every change bumps the generation counter in the
//! same transaction, so a search index built from the store knows when it is stale.

use std::collections::HashMap;

use store::{Row, Store, StoreError};

use crate::ingest::{ParseError, ReadOutcome, Rejected};
use crate::sheet::{Passage, Sheet, SheetFormat};

/// Separator of headings in the stored `headings` column (a control character no sheet holds).
const HEADING_SEPARATOR: char = '\u{1f}';

/// What an ingestion changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub rejected: Vec<Rejected>,
    pub files: usize,
}

/// The knowledge base in a store.
#[derive(Debug, Clone)]
pub struct Library {
    store: Store,
}

/// A sheet as loaded for indexing (passages included).
#[derive(Debug, Clone)]
pub struct StoredSheet {
    pub sheet: Sheet,
    pub source: String,
}

impl Library {
    pub fn new(store: Store) -> Library {
        Library { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Writes the sheets read from `scope` (files and folders, as given to the reader, with
    /// `source` names from `source_of`), replacing changed ones and deleting those of the scope
    /// that are gone. One transaction: all of it is committed or none.
    pub async fn ingest(
        &self,
        outcome: ReadOutcome,
        scope: &[String],
        source_of: impl Fn(&std::path::Path) -> String,
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport {
            rejected: outcome.rejected,
            files: outcome.files,
            ..IngestReport::default()
        };
        let existing = self.digests().await?;
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut tx = self.store.begin().await?;
        let now = store::timestamp::now();
        for (path, sheet) in outcome.sheets {
            let source = source_of(&path);
            if let Some(first) = seen.get(&sheet.id) {
                report.rejected.push(Rejected {
                    path: path.clone(),
                    error: ParseError::at_line(
                        1,
                        format!("sheet id {} already read from {first}", sheet.id),
                    ),
                });
                continue;
            }
            seen.insert(sheet.id.clone(), source.clone());
            let digest = sheet.content_hash();
            match existing.get(&sheet.id) {
                Some((old_digest, old_source))
                    if *old_digest == digest && *old_source == source =>
                {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    delete_sheet(&mut tx, &sheet.id).await?;
                    report.updated += 1;
                }
                None => report.added += 1,
            }
            insert_sheet(&mut tx, &sheet, &source, &digest, &now).await?;
        }
        for (id, (_, source)) in &existing {
            let in_scope = scope
                .iter()
                .any(|root| source == root || source.starts_with(&format!("{root}/")));
            if in_scope && !seen.contains_key(id) {
                delete_sheet(&mut tx, id).await?;
                report.removed += 1;
            }
        }
        if report.added + report.updated + report.removed > 0 {
            store::query(
                "UPDATE assistant_generation SET generation = generation + 1 WHERE id = 1",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(report)
    }

    /// The generation counter: it changes whenever the knowledge base changes.
    pub async fn generation(&self) -> Result<i64, StoreError> {
        let row = store::query("SELECT generation FROM assistant_generation WHERE id = 1")
            .fetch_one(self.store.reader())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Number of sheets stored.
    pub async fn count(&self) -> Result<i64, StoreError> {
        let row = store::query("SELECT COUNT(*) FROM assistant_sheets")
            .fetch_one(self.store.reader())
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn digests(&self) -> Result<HashMap<String, (String, String)>, StoreError> {
        let rows = store::query("SELECT id, content_hash, source FROM assistant_sheets")
            .fetch_all(self.store.reader())
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?))))
            .collect()
    }

    /// Every sheet with its passages, in id order.
    pub async fn load_all(&self) -> Result<Vec<StoredSheet>, StoreError> {
        let sheet_rows = store::query(
            "SELECT id, title, url, format, audience, sheet_date, source FROM assistant_sheets ORDER BY id",
        )
        .fetch_all(self.store.reader())
        .await?;
        let passage_rows = store::query(
            "SELECT sheet_id, headings, text FROM assistant_passages ORDER BY sheet_id, seq",
        )
        .fetch_all(self.store.reader())
        .await?;
        let mut passages: HashMap<String, Vec<Passage>> = HashMap::new();
        for row in &passage_rows {
            let sheet_id: String = row.try_get(0)?;
            let headings: String = row.try_get(1)?;
            passages.entry(sheet_id).or_default().push(Passage {
                headings: headings
                    .split(HEADING_SEPARATOR)
                    .map(str::to_owned)
                    .collect(),
                text: row.try_get(2)?,
            });
        }
        let mut sheets = Vec::with_capacity(sheet_rows.len());
        for row in &sheet_rows {
            let id: String = row.try_get(0)?;
            let format: String = row.try_get(3)?;
            let format = match format.as_str() {
                "service-public-xml" => SheetFormat::ServicePublicXml,
                "markdown" => SheetFormat::Markdown,
                _ => SheetFormat::JsonLine,
            };
            sheets.push(StoredSheet {
                sheet: Sheet {
                    passages: passages.remove(&id).unwrap_or_default(),
                    id,
                    title: row.try_get(1)?,
                    url: row.try_get(2)?,
                    format,
                    audience: row.try_get(4)?,
                    date: row.try_get(5)?,
                },
                source: row.try_get(6)?,
            });
        }
        Ok(sheets)
    }
}

async fn delete_sheet(
    tx: &mut store::Transaction<'static, store::Any>,
    id: &str,
) -> Result<(), StoreError> {
    store::query("DELETE FROM assistant_passages WHERE sheet_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    store::query("DELETE FROM assistant_sheets WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_sheet(
    tx: &mut store::Transaction<'static, store::Any>,
    sheet: &Sheet,
    source: &str,
    digest: &str,
    now: &str,
) -> Result<(), StoreError> {
    store::query(
        "INSERT INTO assistant_sheets (id, title, url, format, audience, sheet_date, source, content_hash, ingested_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&sheet.id)
    .bind(&sheet.title)
    .bind(&sheet.url)
    .bind(sheet.format.as_str())
    .bind(sheet.audience.clone())
    .bind(sheet.date.clone())
    .bind(source)
    .bind(digest)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for (seq, passage) in sheet.passages.iter().enumerate() {
        let headings: Vec<&str> = passage.headings.iter().map(String::as_str).collect();
        store::query("INSERT INTO assistant_passages (sheet_id, seq, headings, text) VALUES ($1, $2, $3, $4)")
            .bind(&sheet.id)
            .bind(seq as i64)
            .bind(headings.join(&HEADING_SEPARATOR.to_string()))
            .bind(&passage.text)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
