//! Markdown sheets written by the city: a front matter between `---` lines with `id`, `title`,
//! `url`, `audience` and `checked` (`key: value`, one per line), then the text. `##` and `###`
//! headings open passages and enter the heading path; list items and paragraphs are kept as
//! lines; emphasis marks are dropped and links keep their URL in parentheses.

use crate::ingest::ParseError;
use crate::sheet::{Passage, Sheet, SheetFormat, collapse_whitespace, passages_from_paragraphs};

/// Reads one Markdown sheet; `fallback_id` (the file name) must equal the front matter's `id`
/// when both exist, so that a renamed file cannot silently shadow another sheet.
pub fn parse(text: &str, fallback_id: &str) -> Result<Sheet, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.trim() == "---" => {}
        _ => {
            return Err(ParseError::at_line(
                1,
                "expected a front matter opening with ---".into(),
            ));
        }
    }
    let (mut id, mut title, mut url, mut audience, mut checked) = (None, None, None, None, None);
    let mut closed = false;
    for (idx, line) in lines.by_ref() {
        if line.trim() == "---" {
            closed = true;
            break;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::at_line(
                idx + 1,
                format!("front matter line without `key: value`: {line:?}"),
            ));
        };
        let value = strip_comment(value)
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_owned();
        match key.trim() {
            "id" => id = Some(value),
            "title" => title = Some(value),
            "url" => url = Some(value),
            "audience" => audience = Some(value),
            "checked" => checked = Some(value),
            other => {
                return Err(ParseError::at_line(
                    idx + 1,
                    format!("unknown front matter key {other:?}"),
                ));
            }
        }
    }
    if !closed {
        return Err(ParseError::at_line(
            1,
            "the front matter is not closed with ---".into(),
        ));
    }
    let id = id
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| fallback_id.to_owned());
    if id != fallback_id {
        return Err(ParseError::at_line(
            1,
            format!("id {id:?} differs from the file name {fallback_id:?}"),
        ));
    }
    let title = title
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ParseError::at_line(1, "missing title".into()))?;
    let url = url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| ParseError::at_line(1, "missing or invalid url (http or https)".into()))?;
    if let Some(date) = &checked
        && !is_iso_date(date)
    {
        return Err(ParseError::at_line(
            1,
            format!("checked must be a date YYYY-MM-DD, not {date:?}"),
        ));
    }

    let mut passages: Vec<Passage> = Vec::new();
    let mut headings = vec![title.clone()];
    let mut paragraphs: Vec<String> = Vec::new();
    let mut paragraph = String::new();
    let flush_paragraph = |paragraph: &mut String, paragraphs: &mut Vec<String>| {
        let text = collapse_whitespace(&inline(paragraph));
        if !text.is_empty() {
            paragraphs.push(text);
        }
        paragraph.clear();
    };
    for (_, line) in lines {
        let trimmed = line.trim();
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if level > 0 && trimmed[level..].starts_with(' ') {
            flush_paragraph(&mut paragraph, &mut paragraphs);
            passages.extend(passages_from_paragraphs(&headings, &paragraphs));
            paragraphs.clear();
            let heading = collapse_whitespace(&inline(&trimmed[level..]));
            match level {
                1 => headings.truncate(1),
                2 => {
                    headings.truncate(1);
                    headings.push(heading);
                }
                _ => {
                    headings.truncate(2);
                    headings.push(heading);
                }
            }
            continue;
        }
        if trimmed.is_empty() {
            flush_paragraph(&mut paragraph, &mut paragraphs);
            continue;
        }
        if is_list_item(trimmed) {
            flush_paragraph(&mut paragraph, &mut paragraphs);
            paragraph.push_str(trimmed);
            continue;
        }
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        paragraph.push_str(trimmed);
    }
    flush_paragraph(&mut paragraph, &mut paragraphs);
    passages.extend(passages_from_paragraphs(&headings, &paragraphs));
    if passages.is_empty() {
        return Err(ParseError::at_line(1, "the sheet has no text".into()));
    }
    Ok(Sheet {
        id,
        title,
        url,
        format: SheetFormat::Markdown,
        audience,
        date: checked,
        passages,
    })
}

fn strip_comment(value: &str) -> &str {
    // A YAML comment starts with " #"; URLs contain "#" without a space before it.
    value.find(" #").map_or(value, |i| &value[..i])
}

fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

fn is_list_item(line: &str) -> bool {
    line.starts_with("- ")
        || line.starts_with("* ")
        || line.split_once(". ").is_some_and(|(n, _)| {
            !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
        })
}

/// Drops emphasis and code marks; `[text](url)` becomes `text (url)`.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('[') {
        let Some(mid) = rest[start..].find("](").map(|i| start + i) else {
            break;
        };
        let Some(end) = rest[mid..].find(')').map(|i| mid + i) else {
            break;
        };
        out.push_str(&rest[..start]);
        let label = &rest[start + 1..mid];
        let url = &rest[mid + 2..end];
        if label.trim() == url.trim() || label.trim().is_empty() {
            out.push_str(url);
        } else {
            out.push_str(&format!("{label} ({url})"));
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace("**", "").replace("__", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET: &str = "---\nid: paris-encombrants\ntitle: Faire enlever des encombrants\nurl: https://www.paris.fr/pages/encombrants\naudience: particuliers\nchecked: 2026-11-26\n---\n\n# Faire enlever des encombrants\n\nLa Ville enlève **gratuitement** les objets volumineux.\n\n## Démarche\n\n1. Prendre rendez-vous sur [paris.fr](https://www.paris.fr).\n2. Déposer les objets\n   la veille au soir.\n\n### Par téléphone\n\nAppeler le 3975.\n";

    #[test]
    fn front_matter_headings_lists_and_links() {
        let sheet = parse(SHEET, "paris-encombrants").unwrap();
        assert_eq!(sheet.title, "Faire enlever des encombrants");
        assert_eq!(sheet.date.as_deref(), Some("2026-11-26"));
        assert_eq!(sheet.passages.len(), 3);
        assert_eq!(
            sheet.passages[0].text,
            "La Ville enlève gratuitement les objets volumineux."
        );
        assert_eq!(
            sheet.passages[1].headings,
            vec!["Faire enlever des encombrants", "Démarche"]
        );
        assert_eq!(
            sheet.passages[1].text,
            "1. Prendre rendez-vous sur paris.fr (https://www.paris.fr).\n2. Déposer les objets la veille au soir."
        );
        assert_eq!(
            sheet.passages[2].headings,
            vec!["Faire enlever des encombrants", "Démarche", "Par téléphone"]
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        assert_eq!(parse("no front matter", "x").unwrap_err().line, 1);
        let err = parse(
            "---\nid: x\ntitle: T\nurl: https://a\ncolor: red\n---\ntext",
            "x",
        )
        .unwrap_err();
        assert_eq!(err.line, 5);
        assert!(
            parse("---\nid: y\ntitle: T\nurl: https://a\n---\ntext", "x").is_err(),
            "id and file name differ"
        );
        assert!(
            parse(
                "---\nid: x\ntitle: T\nurl: https://a\nchecked: yesterday\n---\ntext",
                "x"
            )
            .is_err()
        );
        assert!(
            parse("---\nid: x\ntitle: T\nurl: https://a\n", "x").is_err(),
            "unclosed"
        );
    }
}
