//! Reading sheets from files: the service-public.fr XML structures, Markdown, JSON lines, and
//! bad files reported with their position while the run goes on.

use std::path::PathBuf;

use assistant::ingest::{self, xml};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn a_service_public_sheet_is_split_by_situation_chapter_and_case() {
    let text = std::fs::read_to_string(fixture("F9999.xml")).unwrap();
    let sheet = xml::parse(&text, "F9999").unwrap();
    assert_eq!(sheet.id, "F9999");
    assert_eq!(sheet.title, "Carte d'identité : renouvellement");
    assert_eq!(
        sheet.url,
        "https://www.service-public.fr/particuliers/vosdroits/F9999"
    );
    assert_eq!(sheet.date.as_deref(), Some("2026-01-15"));
    assert_eq!(sheet.audience.as_deref(), Some("particuliers"));

    let shown: Vec<String> = sheet
        .passages
        .iter()
        .map(|p| format!("{} || {}", p.headings.join(" › "), p.text))
        .collect();
    let expected = vec![
        "Carte d'identité : renouvellement || Vous pouvez faire renouveler votre carte d'identité si elle expire dans moins de 6 mois.",
        "Carte d'identité : renouvellement › Personne majeure › Où faire la demande ? || Vous devez vous adresser à une mairie équipée d'une station biométrique.\nÀ savoir : La demande peut être faite dans n'importe quelle mairie.",
        "Carte d'identité : renouvellement › Personne majeure › Coût › Vous présentez l'ancienne carte || Le renouvellement est gratuit.",
        "Carte d'identité : renouvellement › Personne majeure › Coût › Carte perdue ou volée || Vous devez payer un timbre fiscal de 25 €.\n- Achat en ligne sur le site des timbres (https://timbres.impots.gouv.fr)\n- Achat chez un buraliste",
        "Carte d'identité : renouvellement › Personne majeure › Délais || Été ; Délai moyen : 8 semaines",
        "Carte d'identité : renouvellement › Personne mineure || La demande est faite par un parent.",
        "Carte d'identité : renouvellement › Service en ligne : Pré-demande de carte d'identité || Pré-demande de carte d'identité : https://ants.gouv.fr/pre-demande",
    ];
    assert_eq!(shown, expected);
    let all = shown.join("\n");
    assert!(
        !all.contains("Ne doit pas apparaître"),
        "navigation and glossary are left out"
    );
}

#[test]
fn malformed_xml_is_reported_with_line_and_column() {
    let error = xml::parse(
        "<Publication ID=\"F1\">\n<dc:title>T</dc:title>\n<Texte><Paragraphe>x</Texte>",
        "F1",
    )
    .unwrap_err();
    assert_eq!(error.line, 3, "{error}");
    let error = xml::parse("<Autre/>", "F1").unwrap_err();
    assert!(error.message.contains("Publication"), "{error}");
    let error = xml::parse(
        "<Publication ID=\"F1\"><Texte><Paragraphe>x</Paragraphe></Texte></Publication>",
        "F1",
    )
    .unwrap_err();
    assert!(error.message.contains("dc:title"), "{error}");
}

#[test]
fn a_folder_with_bad_files_is_read_and_the_bad_ones_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("F9999.xml"), dir.path().join("F9999.xml")).unwrap();
    std::fs::write(
        dir.path().join("F1.xml"),
        "<Publication><dc:title>x</Publication>",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.md"), "no front matter").unwrap();
    std::fs::write(
        dir.path().join("latin1.md"),
        b"---\nid: latin1\ntitle: caf\xe9\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/paris-test.md"),
        "---\nid: paris-test\ntitle: Test\nurl: https://www.paris.fr\nchecked: 2026-11-26\n---\nTexte.\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ignored.txt"), "not a sheet").unwrap();

    let outcome = ingest::read_paths(&[dir.path().to_owned()]).unwrap();
    let ids: Vec<&str> = outcome.sheets.iter().map(|(_, s)| s.id.as_str()).collect();
    assert_eq!(ids, vec!["F9999", "paris-test"]);
    assert_eq!(outcome.files, 5);
    let rejected: Vec<String> = outcome.rejected.iter().map(ToString::to_string).collect();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert!(
        rejected.iter().any(|r| r.contains("F1.xml: line 1")),
        "{rejected:?}"
    );
    assert!(
        rejected.iter().any(|r| r.contains("latin1.md")
            && r.contains("invalid UTF-8")
            && r.contains("line 3")),
        "{rejected:?}"
    );
}

#[test]
fn a_missing_path_is_an_error() {
    assert!(ingest::read_paths(&[PathBuf::from("/nonexistent/parvis")]).is_err());
}
