//! Procedure sheets and their passages, as every ingestion format produces them.

use sha2::{Digest, Sha256};

/// Where a sheet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// A service-public.fr "vosdroits" XML sheet (schema 3.x).
    ServicePublicXml,
    /// A Markdown sheet with a front matter, written by the city.
    Markdown,
    /// One line of a JSON lines corpus `{"id", "title", "url", "text"}`.
    JsonLine,
}

impl SheetFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SheetFormat::ServicePublicXml => "service-public-xml",
            SheetFormat::Markdown => "markdown",
            SheetFormat::JsonLine => "jsonl",
        }
    }
}

/// One procedure sheet, split into passages.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The sheet's identifier (`F1234`, `paris-encombrants`).
    pub id: String,
    pub title: String,
    /// The public page the sheet comes from; every citation points there.
    pub url: String,
    pub format: SheetFormat,
    /// Who the sheet is for (`particuliers`…), when the source says.
    pub audience: Option<String>,
    /// When the source was last modified or checked (`YYYY-MM-DD`), when it says.
    pub date: Option<String>,
    pub passages: Vec<Passage>,
}

/// A self-contained piece of a sheet, with the headings above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// Headings from the sheet's title down (title › situation › chapter › case).
    pub headings: Vec<String>,
    pub text: String,
}

impl Sheet {
    /// A digest of everything that matters for retrieval and answers; re-ingesting a sheet
    /// whose digest did not change is a no-op.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [&self.id, &self.title, &self.url] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hasher.update(self.audience.as_deref().unwrap_or("").as_bytes());
        hasher.update([0]);
        hasher.update(self.date.as_deref().unwrap_or("").as_bytes());
        for passage in &self.passages {
            hasher.update([1]);
            for heading in &passage.headings {
                hasher.update(heading.as_bytes());
                hasher.update([0]);
            }
            hasher.update(passage.text.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Longest passage kept whole; longer ones are cut at paragraph boundaries.
pub const MAX_PASSAGE_CHARS: usize = 1_400;

/// Splits paragraphs (already cleaned) into passages of at most [`MAX_PASSAGE_CHARS`], each with
/// the given headings. A single paragraph longer than the limit stays whole.
pub fn passages_from_paragraphs(headings: &[String], paragraphs: &[String]) -> Vec<Passage> {
    let mut passages = Vec::new();
    let mut current = String::new();
    for paragraph in paragraphs.iter().filter(|p| !p.trim().is_empty()) {
        if !current.is_empty()
            && current.chars().count() + paragraph.chars().count() + 1 > MAX_PASSAGE_CHARS
        {
            passages.push(Passage {
                headings: headings.to_vec(),
                text: std::mem::take(&mut current),
            });
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(paragraph.trim());
    }
    if !current.is_empty() {
        passages.push(Passage {
            headings: headings.to_vec(),
            text: current,
        });
    }
    passages
}

/// Collapses runs of white space into one space and trims.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_paragraph_boundaries() {
        let paragraphs: Vec<String> = (0..10)
            .map(|i| format!("{i} {}", "x".repeat(400)))
            .collect();
        let passages = passages_from_paragraphs(&["T".into()], &paragraphs);
        assert!(passages.len() >= 3);
        for passage in &passages {
            assert!(passage.text.chars().count() <= MAX_PASSAGE_CHARS);
            assert_eq!(passage.headings, vec!["T".to_owned()]);
        }
        let rejoined: Vec<&str> = passages.iter().flat_map(|p| p.text.split('\n')).collect();
        assert_eq!(rejoined.len(), 10, "no paragraph lost or split");
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(collapse_whitespace("  a \n\t b  c "), "a b c");
    }
}
