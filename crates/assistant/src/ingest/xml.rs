//! service-public.fr "vosdroits" XML sheets (schema 3.x) → [`Sheet`].
//!
//! Streaming over quick-xml events. The sheet is split where the source sections it:
//! `Situation`, `Chapitre`, `SousChapitre`, each `Cas` of a `BlocCas`, and the boxes
//! `OuSAdresser`, `QuiPeutMAider`, `ServiceEnLigne`. Each passage keeps the heading path
//! (title › situation › chapter › case). Lists become `- item` lines, table rows become
//! `header: cell ; header: cell` lines, `ASavoir`/`Attention`/`ANoter`/`Rappel`/`Exemple` keep
//! their label, external links keep their URL in parentheses (so that a link in an answer can
//! be traced to its passage). Navigation, glossary and related-sheet blocks are left out.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::ingest::ParseError;
use crate::sheet::{Passage, Sheet, SheetFormat, collapse_whitespace, passages_from_paragraphs};

/// Subtrees that carry no answer text (navigation, glossary, cross-references).
const SKIPPED: &[&str] = &[
    "FilDAriane",
    "Theme",
    "SousThemePere",
    "DossierPere",
    "VoirAussi",
    "FicheConnexe",
    "Definition",
    "Abreviation",
    "QuestionReponse",
    "CommentFaireSi",
    "PourEnSavoirPlus",
    "Reference",
    "InformationComplementaire",
    "Montant",
    "SurTitre",
    "Canal",
    "Partenaire",
    "Actualite",
];

/// Elements that open a passage of their own with a heading.
fn section_label(name: &str) -> Option<&'static str> {
    match name {
        "Situation" | "Chapitre" | "SousChapitre" | "Cas" => Some(""),
        "OuSAdresser" => Some("Où s'adresser : "),
        "QuiPeutMAider" => Some("Qui peut m'aider : "),
        "ServiceEnLigne" => Some("Service en ligne : "),
        _ => None,
    }
}

/// Boxes whose first paragraph is prefixed with their label.
fn box_label(name: &str) -> Option<&'static str> {
    match name {
        "ASavoir" => Some("À savoir : "),
        "Attention" => Some("Attention : "),
        "ANoter" => Some("À noter : "),
        "Rappel" => Some("Rappel : "),
        "Exemple" => Some("Exemple : "),
        _ => None,
    }
}

struct Section {
    element: String,
    label: &'static str,
    title: String,
    /// Link of a `ServiceEnLigne` or `LienExterne`-like box, added to its passage.
    url: Option<String>,
}

#[derive(Default)]
struct Builder {
    id: Option<String>,
    title: Option<String>,
    url: Option<String>,
    audience: Option<String>,
    date: Option<String>,
    sections: Vec<Section>,
    paragraphs: Vec<String>,
    passages: Vec<Passage>,
    /// Text of the block being read (a paragraph, a title, a cell).
    text: String,
    /// Label waiting for the next paragraph (from a box).
    pending_label: Option<String>,
    /// Table being read: header cells, current row.
    table_header: Vec<String>,
    row: Vec<String>,
    row_is_header: bool,
    /// Capture of a metadata element's text.
    capture: Option<(String, String)>,
    /// URLs of the external links being read, appended when each closes.
    pending_links: Vec<String>,
    /// A list item whose first paragraph has not been read yet.
    item_open: bool,
}

impl Builder {
    fn headings(&self) -> Vec<String> {
        let mut headings = vec![self.title.clone().unwrap_or_default()];
        for section in &self.sections {
            let title = collapse_whitespace(&section.title);
            if !title.is_empty() {
                headings.push(format!("{}{title}", section.label));
            } else if !section.label.is_empty() {
                headings.push(section.label.trim_end_matches([' ', ':']).to_owned());
            }
        }
        headings
    }

    fn flush_passage(&mut self) {
        if self.paragraphs.is_empty() {
            return;
        }
        let headings = self.headings();
        let paragraphs = std::mem::take(&mut self.paragraphs);
        self.passages
            .extend(passages_from_paragraphs(&headings, &paragraphs));
    }

    fn push_paragraph(&mut self, prefix: &str) {
        let text = collapse_whitespace(&std::mem::take(&mut self.text));
        if text.is_empty() {
            return;
        }
        let label = self.pending_label.take().unwrap_or_default();
        self.paragraphs.push(format!("{prefix}{label}{text}"));
    }
}

/// Reads one service-public.fr XML sheet. `fallback_id` (the file name) is used when the sheet
/// has no `ID`.
pub fn parse(xml: &str, fallback_id: &str) -> Result<Sheet, ParseError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut skip_depth: Option<usize> = None;
    let mut builder = Builder::default();
    let mut saw_root = false;

    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| ParseError::at_byte(xml, reader.error_position(), e.to_string()))?;
        match event {
            Event::Start(element) => {
                let name = element_name(&element);
                if stack.is_empty() {
                    if name != "Publication" {
                        return Err(ParseError::at_byte(
                            xml,
                            position,
                            format!("root element is <{name}>, expected <Publication>"),
                        ));
                    }
                    saw_root = true;
                    builder.id = attribute(&element, "ID");
                    builder.url = attribute(&element, "spUrl");
                }
                stack.push(name.clone());
                if skip_depth.is_some() {
                    continue;
                }
                if SKIPPED.contains(&name.as_str()) {
                    skip_depth = Some(stack.len());
                    continue;
                }
                start_element(&mut builder, &stack, &name, &element);
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else {
                    return Err(ParseError::at_byte(
                        xml,
                        position,
                        "closing tag without opening tag".into(),
                    ));
                };
                if let Some(depth) = skip_depth {
                    if stack.len() + 1 == depth {
                        skip_depth = None;
                    }
                    continue;
                }
                end_element(&mut builder, &stack, &name);
            }
            // An empty link still names its target.
            Event::Empty(element)
                if skip_depth.is_none() && element_name(&element) == "LienExterne" =>
            {
                if let Some(url) = attribute(&element, "URL") {
                    builder.text.push_str(&format!(" ({url})"));
                }
            }
            Event::Text(text) => {
                if skip_depth.is_some() {
                    continue;
                }
                let text = text
                    .decode()
                    .map_err(|e| ParseError::at_byte(xml, position, e.to_string()))?;
                append_text(&mut builder, &text);
            }
            Event::CData(text) if skip_depth.is_none() => {
                let text = String::from_utf8_lossy(&text).into_owned();
                append_text(&mut builder, &text);
            }
            Event::GeneralRef(reference) => {
                if skip_depth.is_some() {
                    continue;
                }
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = reference
                            .decode()
                            .map_err(|e| ParseError::at_byte(xml, position, e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .map(str::to_owned)
                            .ok_or_else(|| {
                                ParseError::at_byte(
                                    xml,
                                    position,
                                    format!("unknown entity &{name};"),
                                )
                            })?
                    }
                };
                append_text(&mut builder, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::at_byte(
            xml,
            xml.len() as u64,
            format!("unclosed <{}>", stack.join("> <")),
        ));
    }
    if !saw_root {
        return Err(ParseError::at_byte(
            xml,
            0,
            "no <Publication> element".into(),
        ));
    }
    builder.flush_passage();
    let title = builder
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ParseError::at_byte(xml, 0, "the sheet has no dc:title".into()))?;
    let id = builder.id.clone().unwrap_or_else(|| fallback_id.to_owned());
    let url = builder
        .url
        .clone()
        .map(|u| {
            u.replace(
                "://www.service-public.gouv.fr/",
                "://www.service-public.fr/",
            )
        })
        .unwrap_or_else(|| format!("https://www.service-public.fr/particuliers/vosdroits/{id}"));
    if builder.passages.is_empty() {
        return Err(ParseError::at_byte(xml, 0, "the sheet has no text".into()));
    }
    Ok(Sheet {
        id,
        title,
        url,
        format: SheetFormat::ServicePublicXml,
        audience: builder.audience.clone(),
        date: builder.date.clone(),
        passages: builder.passages,
    })
}

fn element_name(element: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(element.name().as_ref()).into_owned()
}

fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn start_element(builder: &mut Builder, stack: &[String], name: &str, element: &BytesStart<'_>) {
    match name {
        "dc:title" | "dc:identifier" | "dc:date" | "Audience" if stack.len() == 2 => {
            builder.capture = Some((name.to_owned(), String::new()));
        }
        _ if section_label(name).is_some() => {
            builder.push_paragraph("");
            builder.flush_passage();
            builder.sections.push(Section {
                element: name.to_owned(),
                label: section_label(name).unwrap_or(""),
                title: String::new(),
                url: attribute(element, "URL"),
            });
        }
        "Rangée" => {
            builder.row.clear();
            builder.row_is_header = attribute(element, "type").as_deref() == Some("header");
        }
        "Tableau" => builder.table_header.clear(),
        "LienExterne" => {}
        _ => {
            if let Some(label) = box_label(name) {
                builder.pending_label = Some(label.to_owned());
            }
        }
    }
    if name == "Titre" || name == "TitreRiche" || name == "TitreFlottant" {
        builder.text.clear();
    }
    if name == "LienExterne" {
        // The URL is appended after the link's text when the link closes.
        builder
            .pending_links
            .push(attribute(element, "URL").unwrap_or_default());
    }
    if name == "Item" {
        builder.item_open = true;
    }
}

fn end_element(builder: &mut Builder, stack: &[String], name: &str) {
    if let Some((element, text)) = builder.capture.take() {
        if element == name {
            let text = collapse_whitespace(&text);
            match name {
                "dc:title" => builder.title = Some(text),
                "dc:identifier" if builder.id.is_none() => builder.id = Some(text),
                "dc:date" => {
                    builder.date = Some(text.trim_start_matches("modified").trim().to_owned())
                }
                "Audience" => builder.audience = Some(text.to_lowercase()),
                _ => {}
            }
            return;
        }
        builder.capture = Some((element, text));
    }
    let parent = parent_of_closed(stack);
    match name {
        "Titre" if section_label(parent).is_some() => {
            let title = collapse_whitespace(&std::mem::take(&mut builder.text));
            if let Some(section) = builder.sections.last_mut() {
                section.title = title;
            }
        }
        "Titre" if box_label(parent).is_some() => {
            // The box's own title ("À savoir", "Exemple"…) replaces the generic label.
            let title = collapse_whitespace(&std::mem::take(&mut builder.text));
            if !title.is_empty() {
                builder.pending_label = Some(format!("{title} : "));
            }
        }
        "Titre" | "TitreRiche" | "TitreFlottant" => builder.push_paragraph(""),
        "Paragraphe" if matches!(parent, "Titre" | "TitreRiche" | "TitreFlottant") => {
            builder.text.push(' ');
        }
        "Paragraphe" if stack.iter().any(|s| s == "Cellule") => {
            builder.text.push(' ');
        }
        "Paragraphe" => {
            let first_in_item = parent == "Item" && builder.item_open;
            builder.push_paragraph(if first_in_item { "- " } else { "" });
            if first_in_item {
                builder.item_open = false;
            }
        }
        "Item" => {
            if builder.item_open {
                builder.push_paragraph("- ");
            }
            builder.item_open = false;
        }
        "Cellule" => {
            let cell = collapse_whitespace(&std::mem::take(&mut builder.text));
            builder.row.push(cell);
        }
        "Rangée" => {
            let row = std::mem::take(&mut builder.row);
            if builder.row_is_header {
                builder.table_header = row;
            } else if row.iter().any(|c| !c.is_empty()) {
                let line = row
                    .iter()
                    .enumerate()
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(
                        |(i, cell)| match builder.table_header.get(i).filter(|h| !h.is_empty()) {
                            Some(header) if i > 0 => format!("{header} : {cell}"),
                            _ => cell.clone(),
                        },
                    )
                    .collect::<Vec<_>>()
                    .join(" ; ");
                builder.paragraphs.push(line);
            }
        }
        "LienExterne" => {
            if let Some(url) = builder.pending_links.pop().filter(|u| !u.is_empty()) {
                builder.text.push_str(&format!(" ({url})"));
            }
        }
        _ if section_label(name).is_some() => {
            builder.push_paragraph("");
            if let Some(section) = builder.sections.last()
                && section.element == name
                && let Some(url) = section.url.clone()
            {
                let title = collapse_whitespace(&section.title);
                builder.paragraphs.push(format!("{title} : {url}"));
            }
            builder.flush_passage();
            builder.sections.pop();
        }
        _ if box_label(name).is_some() => {
            builder.push_paragraph("");
            builder.pending_label = None;
        }
        _ => {}
    }
}

/// The parent of the element that just closed (the stack no longer holds it).
fn parent_of_closed(stack: &[String]) -> &str {
    stack.last().map_or("", String::as_str)
}

fn append_text(builder: &mut Builder, text: &str) {
    if let Some((_, captured)) = builder.capture.as_mut() {
        captured.push_str(text);
    } else {
        builder.text.push_str(text);
    }
}
