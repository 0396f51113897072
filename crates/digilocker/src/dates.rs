//! Dates as DigiLocker writes them: `DD-MM-YYYY`, `DD/MM/YYYY`, ISO 8601
//! dates and date-times, and `DDMMYYYY` for dates of birth (sometimes a JSON
//! number that lost its leading zero; [`crate::lenient`] pads it back).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// India Standard Time, the zone every DigiLocker date without one is in.
fn ist() -> UtcOffset {
    UtcOffset::from_hms(5, 30, 0).unwrap_or(UtcOffset::UTC)
}

/// A calendar date from any of the shapes DigiLocker sends, or `None`.
///
/// - `DD-MM-YYYY`, `DD/MM/YYYY`, `DD.MM.YYYY` (day first, as in India; one
///   or two digits for day and month);
/// - `YYYY-MM-DD`, `YYYY/MM/DD` (ISO 8601 order: four digits first);
/// - `DDMMYYYY` (eight digits, the dates of birth);
/// - an ISO 8601 / RFC 3339 date-time with an offset (`2015-05-12T15:50:38Z`),
///   taken as the date in India at that instant;
/// - any of the date shapes followed by a time after a space or `T` with no
///   offset (`2024-06-29T16:39:32`, `12-05-2015 15:50:38`): the date as written.
pub(crate) fn parse(text: &str) -> Option<Date> {
    let text = text.trim();
    if text.is_empty() || text.len() > 40 {
        return None;
    }
    if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(instant.to_offset(ist()).date());
    }
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        return ymd(&text[4..], &text[2..4], &text[..2]);
    }
    // A date followed by a time without an offset: keep the date part.
    let date_part = text
        .split([' ', 'T'])
        .next()
        .filter(|d| d.len() < text.len())
        .map_or(text, |d| {
            // Only when what follows really is a time of day.
            let rest = text[d.len() + 1..].trim();
            if looks_like_time(rest) {
                d
            } else {
                text
            }
        });
    let parts: Vec<&str> = date_part.split(['-', '/', '.']).collect();
    let [a, b, c] = parts[..] else {
        return None;
    };
    if a.len() == 4 {
        ymd(a, b, c)
    } else {
        ymd(c, b, a)
    }
}

/// `HH:MM`, `HH:MM:SS`, optionally with a fraction: what may follow a date.
fn looks_like_time(text: &str) -> bool {
    let format = time::macros::format_description!(
        version = 2,
        "[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    time::Time::parse(text, &format).is_ok()
}

fn ymd(year: &str, month: &str, day: &str) -> Option<Date> {
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(year, 4, 4) || !digits(month, 1, 2) || !digits(day, 1, 2) {
        return None;
    }
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::parse;

    #[test]
    fn every_shape_digilocker_sends() {
        for (text, expected) in [
            ("12-05-2015", date!(2015 - 05 - 12)),
            ("12/05/2015", date!(2015 - 05 - 12)),
            ("12.05.2015", date!(2015 - 05 - 12)),
            ("2-5-2015", date!(2015 - 05 - 02)),
            ("2015-05-12", date!(2015 - 05 - 12)),
            ("2015/05/12", date!(2015 - 05 - 12)),
            ("12052015", date!(2015 - 05 - 12)),
            ("01011990", date!(1990 - 01 - 01)),
            ("2015-05-12T15:50:38Z", date!(2015 - 05 - 12)),
            ("2023-09-15T12:05:11.310+05:30", date!(2023 - 09 - 15)),
            // Late evening UTC is already the next day in India.
            ("2015-05-12T20:00:00Z", date!(2015 - 05 - 13)),
            ("2024-06-29T16:39:32", date!(2024 - 06 - 29)),
            ("2015-05-12 15:50:38", date!(2015 - 05 - 12)),
            ("12-05-2015 15:50", date!(2015 - 05 - 12)),
            ("  29-02-2024 ", date!(2024 - 02 - 29)),
        ] {
            assert_eq!(parse(text), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn nonsense_and_impossible_dates_are_none() {
        for text in [
            "",
            " ",
            "yesterday",
            "31-02-2024",
            "29-02-2023",
            "2015-13-01",
            "00-01-2020",
            "12-05-15",
            "1011990",
            "120520151",
            "12-05-2015 noon",
            "2015-05-12T25:00:00Z",
            "12--2015",
            "12-05-2015-01",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}
