//! JSON lines corpora: one sheet per line, `{"id", "title", "url", "text"}`, the text's sections
//! separated by new lines. The text carries no reliable heading marks, so passages are packed
//! paragraphs under the sheet's title.

use serde::Deserialize;

use crate::ingest::ParseError;
use crate::sheet::{Sheet, SheetFormat, collapse_whitespace, passages_from_paragraphs};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: String,
    title: String,
    url: String,
    text: String,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

/// Reads every line; each bad line is an error of its own, with its line number.
pub fn parse(text: &str) -> Vec<Result<Sheet, ParseError>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(idx, line)| {
            parse_line(line).map_err(|message| ParseError::at_line(idx + 1, message))
        })
        .collect()
}

fn parse_line(line: &str) -> Result<Sheet, String> {
    let line: Line = serde_json::from_str(line).map_err(|e| format!("invalid sheet: {e}"))?;
    let id = line.id.trim().to_owned();
    if id.is_empty() || line.title.trim().is_empty() {
        return Err("a sheet needs a non-empty id and title".into());
    }
    if !(line.url.starts_with("https://") || line.url.starts_with("http://")) {
        return Err(format!("sheet {id}: url must be an http(s) URL"));
    }
    let title = collapse_whitespace(&line.title);
    let paragraphs: Vec<String> = line
        .text
        .lines()
        .map(collapse_whitespace)
        .filter(|p| !p.is_empty())
        .collect();
    let passages = passages_from_paragraphs(std::slice::from_ref(&title), &paragraphs);
    if passages.is_empty() {
        return Err(format!("sheet {id} has no text"));
    }
    Ok(Sheet {
        id,
        title,
        url: line.url,
        format: SheetFormat::JsonLine,
        audience: line.audience,
        date: line.date,
        passages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_are_read_and_bad_ones_reported_with_their_line() {
        let text = concat!(
            r#"{"id": "F1", "title": "Carte d'identité", "url": "https://www.service-public.fr/particuliers/vosdroits/F1", "text": "Intro.\nDétails\u00a0?\nRéponse."}"#,
            "\n\n",
            r#"{"id": "F2", "title": "x"}"#,
            "\n",
            r#"{"id": "F3", "title": "t", "url": "ftp://x", "text": "a"}"#,
            "\n",
            "not json\n",
        );
        let results = parse(text);
        assert_eq!(results.len(), 4);
        let sheet = results[0].as_ref().unwrap();
        assert_eq!(sheet.passages[0].text, "Intro.\nDétails ?\nRéponse.");
        assert_eq!(results[1].as_ref().unwrap_err().line, 3);
        assert!(results[2].as_ref().unwrap_err().message.contains("url"));
        assert_eq!(results[3].as_ref().unwrap_err().line, 5);
    }
}
