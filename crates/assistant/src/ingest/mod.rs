//! Reading procedure sheets from files: service-public.fr XML, Markdown with a front matter,
//! JSON lines. A bad file (or line) is reported with its name and position and skipped; the
//! rest of the run goes on.

pub mod jsonl;
pub mod markdown;
pub mod xml;

use std::path::{Path, PathBuf};

use crate::sheet::Sheet;

/// Why a sheet could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    /// An error at a byte offset of `text`, converted to a line and column (both from 1).
    pub fn at_byte(text: &str, offset: u64, message: String) -> ParseError {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ParseError {
            line,
            column,
            message,
        }
    }

    pub fn at_line(line: usize, message: String) -> ParseError {
        ParseError {
            line,
            column: 1,
            message,
        }
    }
}

/// A file or line that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub path: PathBuf,
    pub error: ParseError,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

/// What reading some paths produced.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Sheets read, each with the file it came from.
    pub sheets: Vec<(PathBuf, Sheet)>,
    pub rejected: Vec<Rejected>,
    /// Files read (whatever came of them).
    pub files: usize,
}

/// The sheet formats, by file extension.
fn format_of(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "xml" => Some("xml"),
        "md" | "markdown" => Some("md"),
        "jsonl" | "ndjson" => Some("jsonl"),
        _ => None,
    }
}

/// Every sheet file under `paths` (files, or folders walked recursively), sorted.
pub fn sheet_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} does not exist", path.display()),
            ));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else if format_of(&path).is_some() {
            files.push(path);
        }
    }
    Ok(())
}

/// Reads one file's sheets (a JSON lines file holds many).
pub fn read_text(path: &Path, text: &str, outcome: &mut ReadOutcome) {
    outcome.files += 1;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("sheet")
        .to_owned();
    let reject = |error: ParseError| Rejected {
        path: path.to_owned(),
        error,
    };
    match format_of(path) {
        Some("xml") => match xml::parse(text, &stem) {
            Ok(sheet) => outcome.sheets.push((path.to_owned(), sheet)),
            Err(error) => outcome.rejected.push(reject(error)),
        },
        Some("md") => match markdown::parse(text, &stem) {
            Ok(sheet) => outcome.sheets.push((path.to_owned(), sheet)),
            Err(error) => outcome.rejected.push(reject(error)),
        },
        Some("jsonl") => {
            for result in jsonl::parse(text) {
                match result {
                    Ok(sheet) => outcome.sheets.push((path.to_owned(), sheet)),
                    Err(error) => outcome.rejected.push(reject(error)),
                }
            }
        }
        _ => outcome.rejected.push(reject(ParseError::at_line(
            1,
            "unknown format: expected .xml, .md or .jsonl".into(),
        ))),
    }
}

/// Reads every sheet under `paths`; unreadable files are rejected, not fatal.
pub fn read_paths(paths: &[PathBuf]) -> std::io::Result<ReadOutcome> {
    let mut outcome = ReadOutcome::default();
    for path in sheet_files(paths)? {
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => read_text(&path, &text, &mut outcome),
                Err(e) => {
                    outcome.files += 1;
                    let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                    let valid = String::from_utf8_lossy(valid);
                    outcome.rejected.push(Rejected {
                        path: path.clone(),
                        error: ParseError::at_byte(
                            &valid,
                            valid.len() as u64,
                            "invalid UTF-8".into(),
                        ),
                    });
                }
            },
            Err(e) => {
                outcome.files += 1;
                outcome.rejected.push(Rejected {
                    path: path.clone(),
                    error: ParseError::at_line(1, format!("cannot read: {e}")),
                });
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_become_lines_and_columns() {
        let text = "ab\ncdé\nf";
        assert_eq!(ParseError::at_byte(text, 0, String::new()).line, 1);
        let error = ParseError::at_byte(text, 5, String::new());
        assert_eq!((error.line, error.column), (2, 3));
        // Inside a multi-byte character: the character's start.
        let error = ParseError::at_byte(text, 6, String::new());
        assert_eq!((error.line, error.column), (2, 3));
    }
}
