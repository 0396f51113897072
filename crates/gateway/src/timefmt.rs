//! Times as the contract writes them: ISO 8601 in India Standard Time.

/// `2026-11-25T19:06:28+05:30`: whole seconds, as the hosted API answers
/// `validUpto`.
pub fn ist(unix: i64) -> String {
    let offset = time::UtcOffset::from_hms(5, 30, 0).unwrap_or(time::UtcOffset::UTC);
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ist_has_whole_seconds_and_the_indian_offset() {
        assert_eq!(ist(0), "1970-01-01T05:30:00+05:30");
        assert_eq!(ist(1_764_077_788), "2025-11-25T19:06:28+05:30");
    }
}
