//! Redaction of personal data in text bound for logs and transcripts.
//!
//! Recognised today:
//! - e-mail addresses → `[email]`;
//! - French phone numbers, national (`06 12 34 56 78`, `06.12.34.56.78`, `0612345678`) or
//!   international (`+33 6 12 34 56 78`, `+33 (0)6 12 34 56 78`, `0033612345678`) → `[phone]`.
//!
//! Hand-written on top of `regex` because what counts as personal data is the product's own
//! rule; the patterns err on the side of redacting (a ten-digit number that looks like a French
//! phone number is redacted even if it was an order number).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What replaces an e-mail address.
pub const EMAIL_MARK: &str = "[email]";
/// What replaces a phone number.
pub const PHONE_MARK: &str = "[phone]";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}")
        .expect("e-mail pattern compiles")
});

// A French number: a trunk prefix (0, +33, 0033, optionally "(0)") then a digit 1-9 and four
// pairs of digits, separators (space, dot, dash) allowed between groups. Boundaries are checked
// by hand below because the regex crate has no look-around.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(?:\+|00)\s?33[\s.\-]?(?:\(0\)[\s.\-]?)?|0)[1-9](?:[\s.\-]?\d{2}){4}")
        .expect("phone pattern compiles")
});

/// Returns `text` with personal data replaced by marks; borrows when there was nothing to redact.
pub fn redact(text: &str) -> Cow<'_, str> {
    let text = EMAIL.replace_all(text, EMAIL_MARK);
    match redact_phones(&text) {
        Some(redacted) => Cow::Owned(redacted),
        None => text,
    }
}

fn redact_phones(text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut last = 0;
    for found in PHONE.find_iter(text) {
        let before = text[..found.start()].chars().next_back();
        let after = text[found.end()..].chars().next();
        // Part of a longer number (an IBAN, an id, a timestamp): leave it.
        if before.is_some_and(|c| c.is_ascii_digit() || c == '+')
            || after.is_some_and(|c| c.is_ascii_digit())
        {
            continue;
        }
        let buffer = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buffer.push_str(&text[last..found.start()]);
        buffer.push_str(PHONE_MARK);
        last = found.end();
    }
    let mut buffer = out?;
    buffer.push_str(&text[last..]);
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(redact(input), expected, "input: {input:?}");
    }

    #[test]
    fn emails_are_redacted() {
        check(
            "contact: jeanne.dupont+mairie@exemple.paris.fr.",
            "contact: [email].",
        );
        check(
            "Ecrire à A_B-c@sub.domain.org ou x@y.fr",
            "Ecrire à [email] ou [email]",
        );
    }

    #[test]
    fn french_phone_numbers_are_redacted_in_every_usual_form() {
        for phone in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "01 42 76 40 40",
            "+33 6 12 34 56 78",
            "+33612345678",
            "+33 (0)6 12 34 56 78",
            "0033 6 12 34 56 78",
            "0033612345678",
        ] {
            check(&format!("appelez le {phone} svp"), "appelez le [phone] svp");
        }
    }

    #[test]
    fn text_without_personal_data_is_borrowed_unchanged() {
        let text = "GET /readyz 200 in 0.3 ms, 3975 requests, service 3949";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn longer_digit_runs_and_ids_are_not_phone_numbers() {
        check("FR7630006000011234567890189", "FR7630006000011234567890189");
        check("request 20261126011234 done", "request 20261126011234 done");
        check("ts=1764120000123", "ts=1764120000123");
        check("3975 requests", "3975 requests");
    }

    #[test]
    fn both_kinds_in_one_line() {
        check(
            r#"{"email":"a@b.fr","phone":"07 00 11 22 33"}"#,
            r#"{"email":"[email]","phone":"[phone]"}"#,
        );
    }
}
