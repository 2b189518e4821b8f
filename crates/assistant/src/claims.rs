//! The grounding check run on every answer: no number, amount, date, phone number, e-mail
//! address or link may appear in an answer unless it appears in a passage the answer cites.
//!
//! Comparison ignores spaces inside numbers ("3 975" = "3975"), case, and trailing
//! punctuation of links. Citation marks (`[1]`) are not claims.

use std::sync::LazyLock;

use regex::Regex;

static CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\d{1,2}\]").expect("valid pattern"));
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://[^\s<>()\[\]]+|www\.[^\s<>()\[\]]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:fr|gouv|com|org|net|eu|paris)\b(?:/[^\s<>()\[\]]*)?)")
        .expect("valid pattern")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}").expect("valid pattern")
});
// Numbers, with grouped digits ("3 975", "01 42 76 40 40"), decimals ("25,50") and signs.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\d+(?:[ \u{a0}\u{202f}.]\d{2,3})*(?:[.,]\d+)?").expect("valid pattern")
});

/// A claim that no cited passage supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub kind: &'static str,
    pub text: String,
}

fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let between_digits = i > 0
            && i + 1 < chars.len()
            && chars[i - 1].is_ascii_digit()
            && chars[i + 1].is_ascii_digit();
        if matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.') && between_digits {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The claims of `answer` that none of `sources` contains.
pub fn unsupported(answer: &str, sources: &[&str]) -> Vec<Unsupported> {
    let answer = CITATION.replace_all(answer, " ");
    let haystack = normalise(&sources.join("\n"));
    let mut found = Vec::new();
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for (kind, pattern) in [("email", &*EMAIL), ("link", &*URL)] {
        for m in pattern.find_iter(&answer) {
            if covered
                .iter()
                .any(|(start, end)| m.start() < *end && m.end() > *start)
            {
                continue;
            }
            covered.push((m.start(), m.end()));
            let claim = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', '»', '"', '\'']);
            if !haystack.contains(&normalise(claim)) {
                found.push(Unsupported {
                    kind,
                    text: claim.to_owned(),
                });
            }
        }
    }
    for m in NUMBER.find_iter(&answer) {
        if covered
            .iter()
            .any(|(start, end)| m.start() >= *start && m.end() <= *end)
        {
            continue;
        }
        let claim = m.as_str().trim_end_matches(['.', ',']);
        if !haystack.contains(&normalise(claim)) {
            found.push(Unsupported {
                kind: "number",
                text: claim.to_owned(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(answer: &str, source: &str, expected: &[&str]) {
        let found: Vec<String> = unsupported(answer, &[source])
            .into_iter()
            .map(|u| u.text)
            .collect();
        assert_eq!(found, expected, "answer: {answer:?}");
    }

    #[test]
    fn figures_present_in_the_source_pass() {
        let source = "Le timbre fiscal coûte 25 €. Appelez le 3975 ou le 01 42 76 40 40. Voir https://www.paris.fr/encombrants.";
        check("Il faut un timbre de 25 € [1].", source, &[]);
        check("Appelez le 3 975 [1] ou le 01.42.76.40.40.", source, &[]);
        check("Voir https://www.paris.fr/encombrants [2].", source, &[]);
    }

    #[test]
    fn invented_figures_phones_emails_and_links_are_caught() {
        let source = "Le timbre fiscal coûte 25 €.";
        check("Le timbre coûte 86 € [1].", source, &["86"]);
        check("Appelez le 01 23 45 67 89.", source, &["01 23 45 67 89"]);
        check("Écrivez à contact@paris.fr.", source, &["contact@paris.fr"]);
        check(
            "Voir https://example.org/x et paris.fr.",
            source,
            &["https://example.org/x", "paris.fr"],
        );
        check("Sous 15 jours.", source, &["15"]);
    }

    #[test]
    fn citation_marks_are_not_claims() {
        check("Oui [1] [2] [12].", "Oui.", &[]);
    }
}
