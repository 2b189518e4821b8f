//! Timestamps as stored: fixed-width RFC 3339 text in UTC with microseconds
//! (`2026-11-26T01:09:59.123456Z`), which sorts as text in the same order as in time, on both
//! backends, and reads well in a SQL shell.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Formats an instant in the stored form.
pub fn format(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .expect("a UTC instant within years 0-9999 always formats")
}

/// The current instant in the stored form.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Reads a stored timestamp (any RFC 3339 form is accepted).
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_form_is_fixed_width_utc_and_round_trips() {
        let at = datetime!(2026-11-26 02:09:59.5 +01:00);
        let text = format(at);
        assert_eq!(text, "2026-11-26T01:09:59.500000Z");
        assert_eq!(parse(&text).unwrap(), at);
    }

    #[test]
    fn text_order_is_time_order() {
        let earlier = format(datetime!(2026-01-02 03:04:05.000001 UTC));
        let later = format(datetime!(2026-01-02 03:04:05.1 UTC));
        assert!(earlier < later);
    }
}
