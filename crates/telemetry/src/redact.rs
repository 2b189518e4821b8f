//! Redaction of personal data in text bound for logs and transcripts: the governance crate's
//! one function ([`governance::redact`]), re-exported here so that every log line goes through
//! the same rules as the audit records and the stored transcripts.

pub use governance::redact::redact;

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

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
        // A valid IBAN is masked as one; ids and timestamps stay.
        check("FR7630006000011234567890189", "[iban]");
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
