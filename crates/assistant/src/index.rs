//! The full-text index of passages: tantivy with a French analyzer (stop words and elided
//! articles removed, accents folded, Snowball French stemmer), three fields weighted at query
//! time (sheet title, heading path, passage text).
//!
//! The index lives on disk under the data directory and is rebuilt from the store whenever the
//! store's generation differs from the one recorded beside the index, so an API node only ever
//! needs the store to recover it.

use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenStream,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term, doc};

/// Name under which the French analyzer is registered.
const FRENCH: &str = "parvis_fr";

/// Elided articles and pronouns left as separate tokens by the tokenizer ("l'", "qu'"…).
const ELISIONS: &[&str] = &[
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu",
];

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The French analyzer used for the index and for queries.
pub fn french_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::French).expect("tantivy ships French stop words"))
        .filter(StopWordFilter::remove(
            ELISIONS.iter().map(|w| (*w).to_owned()),
        ))
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .build()
}

/// The stems of a text, as the index sees them.
pub fn stems(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// One passage to index.
#[derive(Debug, Clone)]
pub struct IndexedPassage<'a> {
    pub title: &'a str,
    pub headings: &'a str,
    pub text: &'a str,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    passage: Field,
    title: Field,
    headings: Field,
    body: Field,
}

/// Field weights at query time.
#[derive(Debug, Clone, Copy)]
pub struct FieldWeights {
    pub title: f32,
    pub headings: f32,
    pub body: f32,
}

impl Default for FieldWeights {
    fn default() -> Self {
        FieldWeights {
            title: 2.0,
            headings: 1.2,
            body: 1.0,
        }
    }
}

/// The index and its reader.
pub struct PassageIndex {
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for PassageIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassageIndex")
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        passage: builder.add_u64_field("passage", FAST | STORED),
        title: builder.add_text_field("title", text.clone()),
        headings: builder.add_text_field("headings", text.clone()),
        body: builder.add_text_field("body", text),
    };
    (builder.build(), fields)
}

const GENERATION_FILE: &str = "parvis-generation";

impl PassageIndex {
    /// Opens the index in `dir` if it was built for `generation`, else rebuilds it there from
    /// `passages` (their position is their id).
    pub fn open_or_build<'a>(
        dir: &Path,
        generation: i64,
        passages: impl Iterator<Item = IndexedPassage<'a>>,
    ) -> Result<PassageIndex, IndexError> {
        let io = |source| IndexError::Io {
            path: dir.to_owned(),
            source,
        };
        let recorded = std::fs::read_to_string(dir.join(GENERATION_FILE)).ok();
        if recorded.as_deref().map(str::trim) == Some(generation.to_string().as_str())
            && let Ok(index) = Self::open(dir)
        {
            return Ok(index);
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema();
        let index = Index::create_in_dir(dir, schema)?;
        Self::build(index, fields, passages)?;
        std::fs::write(dir.join(GENERATION_FILE), generation.to_string()).map_err(io)?;
        Self::open(dir)
    }

    /// Builds an index in memory (tests, evaluation scratch).
    pub fn in_memory<'a>(
        passages: impl Iterator<Item = IndexedPassage<'a>>,
    ) -> Result<PassageIndex, IndexError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register(FRENCH, french_analyzer());
        Self::build(index.clone(), fields, passages)?;
        Self::from_index(index, fields)
    }

    fn build<'a>(
        index: Index,
        fields: Fields,
        passages: impl Iterator<Item = IndexedPassage<'a>>,
    ) -> Result<(), IndexError> {
        index.tokenizers().register(FRENCH, french_analyzer());
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        for (idx, passage) in passages.enumerate() {
            writer.add_document(doc!(
                fields.passage => idx as u64,
                fields.title => passage.title,
                fields.headings => passage.headings,
                fields.body => passage.text,
            ))?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        Ok(())
    }

    fn open(dir: &Path) -> Result<PassageIndex, IndexError> {
        let index = Index::open_in_dir(dir)?;
        let (_, fields) = schema();
        index.tokenizers().register(FRENCH, french_analyzer());
        Self::from_index(index, fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<PassageIndex, IndexError> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(PassageIndex { reader, fields })
    }

    /// The best passages for weighted stems: (passage id, score), best first.
    pub fn search(
        &self,
        terms: &[(String, f32)],
        weights: FieldWeights,
        limit: usize,
    ) -> Result<Vec<(usize, f32)>, IndexError> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 3);
        for (stem, weight) in terms {
            for (field, field_weight) in [
                (self.fields.title, weights.title),
                (self.fields.headings, weights.headings),
                (self.fields.body, weights.body),
            ] {
                let query = TermQuery::new(
                    Term::from_field_text(field, stem),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), weight * field_weight)),
                ));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(passage) = document
                .get_first(self.fields.passage)
                .and_then(|v| v.as_u64())
            {
                out.push((passage as usize, score));
            }
        }
        Ok(out)
    }
}
