//! Comparing the holder of one document with another's (an issuer document with the
//! e-Aadhaar, or two issuer documents): name, date of birth and gender, each with a
//! verdict and an explanation a person can check, not a bare boolean.
//!
//! Names are compared after normalisation: case, spacing, punctuation (`R.K.` is `R K`,
//! `D'Souza` is `DSOUZA`) and honorifics (`Mr`, `Smt`, `Shri`, `Dr`, ...) do not count.
//! Then each name part of the shorter name is matched with a part of the longer one, in
//! any order (`PATEL RAJESH MANUBHAI` is `Rajesh Manubhai Patel`): the same part counts
//! fully, an initial (`V` for `VENKATARAMAN`) 85 %, a near spelling (`CHATTERJI` for
//! `CHATTERJEE`) at most 75 % of its similarity; and each part of the longer name left
//! unmatched (a middle name left out) takes 10 points off. The score is 0-100:
//! [`Verdict::Match`] from [`MATCH_SCORE`], [`Verdict::Partial`] (a person should look)
//! from [`PARTIAL_SCORE`], [`Verdict::Mismatch`] below.
//!
//! ```
//! use aadhaar::compare::{compare_names, Verdict};
//! let c = compare_names("Rajesh Manubhai Patel", "PATEL RAJESH MANUBHAI");
//! assert_eq!(c.verdict, Verdict::Match);
//! assert_eq!(compare_names("Ananya Chatterjee", "ANANYA CHATTERJI").verdict, Verdict::Partial);
//! ```

use serde::Serialize;

/// The lowest name score that is a match.
pub const MATCH_SCORE: u8 = 90;
/// The lowest name score that is a partial match.
pub const PARTIAL_SCORE: u8 = 60;

/// Honorifics and titles that are not part of a name.
const HONORIFICS: &[&str] = &[
    "MR", "MRS", "MS", "MISS", "DR", "SHRI", "SRI", "SHREE", "SMT", "SHRIMATI", "KUMARI", "KUM",
    "PROF", "LATE", "MASTER",
];

/// Usual short and variant forms of a name part, and the form they stand for.
const SHORT_FORMS: &[(&str, &str)] = &[
    ("MOHD", "MOHAMMED"),
    ("MD", "MOHAMMED"),
    ("MOHAMMAD", "MOHAMMED"),
    ("MUHAMMAD", "MOHAMMED"),
    ("MOHAMED", "MOHAMMED"),
    ("MOHAMMED", "MOHAMMED"),
];

fn long_form(part: &str) -> Option<&'static str> {
    SHORT_FORMS
        .iter()
        .find(|(short, _)| *short == part)
        .map(|(_, long)| *long)
}

/// How two values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The same, allowing for the usual variations.
    Match,
    /// Probably the same person, but a person should look (a different spelling).
    Partial,
    /// Different.
    Mismatch,
    /// One side does not give the value: not compared.
    Unknown,
}

/// Two names compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NameComparison {
    /// The verdict the score gives.
    pub verdict: Verdict,
    /// 0-100.
    pub score: u8,
    /// What was found, one finding a line, e.g. `"V" is the initial of "VENKATARAMAN"`.
    pub explanation: Vec<String>,
}

/// A date of birth or gender compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FieldComparison {
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub explanation: String,
}

/// Name, date of birth and gender of two holders compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HolderComparison {
    /// True when nothing is a mismatch or partial match (unknowns do not count).
    pub consistent: bool,
    /// The names.
    pub name: NameComparison,
    /// The dates of birth.
    pub date_of_birth: FieldComparison,
    /// The genders.
    pub gender: FieldComparison,
}

/// What is compared of a holder: a name, a date of birth (`YYYY-MM-DD`, or a year
/// `YYYY` as some e-Aadhaars give only the year), a gender (`M`, `F`, `T`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HolderFacts<'a> {
    /// The name.
    pub name: &'a str,
    /// The date of birth.
    pub date_of_birth: Option<&'a str>,
    /// The gender.
    pub gender: Option<&'a str>,
}

/// Compares two holders: see the module docs.
pub fn compare_holders(a: HolderFacts<'_>, b: HolderFacts<'_>) -> HolderComparison {
    let name = compare_names(a.name, b.name);
    let date_of_birth = compare_dates_of_birth(a.date_of_birth, b.date_of_birth);
    let gender = compare_genders(a.gender, b.gender);
    let ok = |v: Verdict| matches!(v, Verdict::Match | Verdict::Unknown);
    HolderComparison {
        consistent: ok(name.verdict) && ok(date_of_birth.verdict) && ok(gender.verdict),
        name,
        date_of_birth,
        gender,
    }
}

/// The name parts after normalisation (module docs).
pub fn name_parts(name: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            // An apostrophe joins (D'Souza), other punctuation separates (R.K.).
            '\'' | '\u{2019}' | '`' => {}
            c if c.is_alphanumeric() => cleaned.extend(c.to_uppercase()),
            _ => cleaned.push(' '),
        }
    }
    cleaned
        .split_whitespace()
        .filter(|p| !HONORIFICS.contains(p))
        .map(str::to_owned)
        .collect()
}

/// Levenshtein distance over characters (names are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// How well part `a` stands for part `b`: (weight 0-1, finding).
fn part_match(a: &str, b: &str) -> (f64, Option<String>) {
    if a == b {
        return (1.0, None);
    }
    let first = |s: &str| s.chars().next();
    let single = |s: &str| s.chars().count() == 1;
    if (single(a) || single(b)) && first(a) == first(b) {
        let (initial, full) = if single(a) { (a, b) } else { (b, a) };
        return (
            0.85,
            Some(format!("\"{initial}\" is the initial of \"{full}\"")),
        );
    }
    if long_form(a).is_some() && long_form(a) == long_form(b) {
        return (
            0.95,
            Some(format!("\"{a}\" and \"{b}\" are usual forms of one name")),
        );
    }
    let longest = a.chars().count().max(b.chars().count());
    let similarity = 1.0 - distance(a, b) as f64 / longest as f64;
    if similarity >= 0.6 && !single(a) && !single(b) {
        return (
            similarity * 0.75,
            Some(format!(
                "\"{a}\" and \"{b}\" are spelled differently ({}% alike)",
                (similarity * 100.0).round()
            )),
        );
    }
    (0.0, None)
}

/// Compares two names: see the module docs.
pub fn compare_names(a: &str, b: &str) -> NameComparison {
    let (pa, pb) = (name_parts(a), name_parts(b));
    let verdict_of = |score: u8| {
        if score >= MATCH_SCORE {
            Verdict::Match
        } else if score >= PARTIAL_SCORE {
            Verdict::Partial
        } else {
            Verdict::Mismatch
        }
    };
    if pa.is_empty() || pb.is_empty() {
        return NameComparison {
            verdict: Verdict::Unknown,
            score: 0,
            explanation: vec!["a name is missing".into()],
        };
    }
    if pa == pb {
        let mut explanation = vec!["the same name".to_owned()];
        if a.trim() != b.trim() {
            explanation.push("differs only in case, spacing, punctuation or honorifics".into());
        }
        return NameComparison {
            verdict: Verdict::Match,
            score: 100,
            explanation,
        };
    }
    if pa.concat() == pb.concat() {
        return NameComparison {
            verdict: Verdict::Match,
            score: 98,
            explanation: vec!["the same letters, split into parts differently".into()],
        };
    }
    let (short, long) = if pa.len() <= pb.len() {
        (&pa, &pb)
    } else {
        (&pb, &pa)
    };
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    if sorted(short) == sorted(long) {
        return NameComparison {
            verdict: Verdict::Match,
            score: 95,
            explanation: vec!["the same names in another order".into()],
        };
    }
    // Greedy: each part of the shorter name takes its best unused part of the longer.
    let mut used = vec![false; long.len()];
    let mut total = 0.0;
    let mut explanation = Vec::new();
    let mut positions = Vec::new();
    for part in short {
        let best = long
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, other)| (i, part_match(part, other)))
            .max_by(|x, y| x.1 .0.total_cmp(&y.1 .0));
        match best {
            Some((i, (weight, finding))) if weight > 0.0 => {
                used[i] = true;
                positions.push(i);
                total += weight;
                explanation.extend(finding);
            }
            _ => explanation.push(format!("\"{part}\" is not in the other name")),
        }
    }
    let missing = used.iter().filter(|u| !**u).count();
    for (i, part) in long.iter().enumerate() {
        if !used[i] && total > 0.0 {
            explanation.push(format!("\"{part}\" is left out of the other name"));
        }
    }
    if positions.windows(2).any(|w| w[0] > w[1]) {
        explanation.push("the parts are in another order".into());
    }
    let raw = 100.0 * total / short.len() as f64 - 10.0 * missing as f64;
    let score = raw.round().clamp(0.0, 100.0) as u8;
    NameComparison {
        verdict: verdict_of(score),
        score,
        explanation,
    }
}

/// Compares dates of birth (`YYYY-MM-DD`, or a year `YYYY`).
pub fn compare_dates_of_birth(a: Option<&str>, b: Option<&str>) -> FieldComparison {
    let (Some(a), Some(b)) = (a.map(str::trim), b.map(str::trim)) else {
        return FieldComparison {
            verdict: Verdict::Unknown,
            explanation: "a date of birth is missing".into(),
        };
    };
    let year = |d: &str| d.get(..4).map(str::to_owned);
    let (verdict, explanation) = if a == b {
        (Verdict::Match, "the same date".to_owned())
    } else if a.len() == 4 || b.len() == 4 {
        if year(a) == year(b) {
            (
                Verdict::Match,
                "the same year (one gives only the year)".into(),
            )
        } else {
            (Verdict::Mismatch, "different years".into())
        }
    } else {
        let parts = |d: &str| -> Option<(String, String, String)> {
            let mut p = d.split('-');
            Some((p.next()?.into(), p.next()?.into(), p.next()?.into()))
        };
        match (parts(a), parts(b)) {
            (Some((ya, ma, da)), Some((yb, mb, db))) if ya == yb && ma == db && da == mb => {
                (Verdict::Mismatch, "day and month are swapped".to_owned())
            }
            (Some((ya, ..)), Some((yb, ..))) if ya == yb => {
                (Verdict::Mismatch, "another day or month".into())
            }
            _ => (Verdict::Mismatch, "different dates".into()),
        }
    };
    FieldComparison {
        verdict,
        explanation,
    }
}

/// Compares genders (`M`, `F`, `T`).
pub fn compare_genders(a: Option<&str>, b: Option<&str>) -> FieldComparison {
    match (a, b) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => FieldComparison {
            verdict: Verdict::Match,
            explanation: "the same gender".into(),
        },
        (Some(_), Some(_)) => FieldComparison {
            verdict: Verdict::Mismatch,
            explanation: "different genders".into(),
        },
        _ => FieldComparison {
            verdict: Verdict::Unknown,
            explanation: "a gender is missing".into(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn verdict(a: &str, b: &str) -> (Verdict, u8) {
        let c = compare_names(a, b);
        (c.verdict, c.score)
    }

    #[test]
    fn case_spacing_punctuation_and_honorifics_do_not_count() {
        assert_eq!(
            verdict("Ramesh Kumar Sharma", "RAMESH KUMAR SHARMA"),
            (Verdict::Match, 100)
        );
        assert_eq!(
            verdict("Ramesh  Kumar Sharma ", "Mr. Ramesh Kumar Sharma"),
            (Verdict::Match, 100)
        );
        assert_eq!(
            verdict("Smt. Sunita Devi", "SUNITA DEVI"),
            (Verdict::Match, 100)
        );
        assert_eq!(
            verdict("Dr Maria D'Souza", "MARIA DSOUZA"),
            (Verdict::Match, 100)
        );
        assert_eq!(
            verdict("Shri Harish Chandra Joshi", "HARISH CHANDRA JOSHI"),
            (Verdict::Match, 100)
        );
        let c = compare_names("Venkata Raman", "VENKATARAMAN");
        assert_eq!((c.verdict, c.score), (Verdict::Match, 98));
    }

    #[test]
    fn initials_and_order_are_usual_variations() {
        let c = compare_names("Priya Venkataraman", "PRIYA V");
        assert_eq!(c.verdict, Verdict::Match, "{c:?}");
        assert!(c.explanation.iter().any(|e| e.contains("initial")), "{c:?}");
        let c = compare_names("Rajesh Manubhai Patel", "PATEL RAJESH MANUBHAI");
        assert_eq!((c.verdict, c.score), (Verdict::Match, 95));
        assert_eq!(c.explanation, ["the same names in another order"]);
        // Initials with dots, family name first.
        let c = compare_names("Ramesh Kumar Sharma", "SHARMA R.K.");
        assert_eq!(c.verdict, Verdict::Match, "{c:?}");
        assert!(
            c.explanation.iter().any(|e| e.contains("another order")),
            "{c:?}"
        );
        // A middle name left out: still a match, explained.
        let c = compare_names("Gurpreet Kaur Sandhu", "GURPREET SANDHU");
        assert_eq!((c.verdict, c.score), (Verdict::Match, 90), "{c:?}");
        assert!(c
            .explanation
            .iter()
            .any(|e| e.contains("\"KAUR\" is left out")));
    }

    #[test]
    fn other_spellings_are_partial_and_other_people_mismatch() {
        let c = compare_names("Ananya Chatterjee", "ANANYA CHATTERJI");
        assert_eq!(c.verdict, Verdict::Partial, "{c:?}");
        assert!(c.explanation[0].contains("spelled differently"), "{c:?}");
        let c = compare_names("Mohammed Irfan Khan", "MOHD IRFAN KHAN");
        assert_eq!(c.verdict, Verdict::Match, "{c:?}");
        assert!(c.explanation[0].contains("usual forms"), "{c:?}");
        assert_eq!(
            verdict("Ramesh Kumar Sharma", "Priya Venkataraman").0,
            Verdict::Mismatch
        );
        // The father's name on a document is not the holder's.
        assert_eq!(
            verdict("Ramesh Kumar Sharma", "SURESH KUMAR SHARMA").0,
            Verdict::Mismatch
        );
        assert_eq!(verdict("Lakshmi", "LAKSHMI"), (Verdict::Match, 100));
        assert_eq!(verdict("Lakshmi", "Arjun Reddy").0, Verdict::Mismatch);
        assert_eq!(verdict("", "Arjun Reddy").0, Verdict::Unknown);
    }

    #[test]
    fn dates_of_birth_and_genders() {
        let d = |a, b| compare_dates_of_birth(Some(a), Some(b));
        assert_eq!(d("1985-08-15", "1985-08-15").verdict, Verdict::Match);
        assert_eq!(d("1985", "1985-08-15").verdict, Verdict::Match);
        assert_eq!(d("1984", "1985-08-15").verdict, Verdict::Mismatch);
        let swapped = d("1988-09-10", "1988-10-09");
        assert_eq!(swapped.verdict, Verdict::Mismatch);
        assert_eq!(swapped.explanation, "day and month are swapped");
        assert_eq!(
            d("1988-09-09", "1988-09-19").explanation,
            "another day or month"
        );
        assert_eq!(
            compare_dates_of_birth(None, Some("1985")).verdict,
            Verdict::Unknown
        );
        assert_eq!(
            compare_genders(Some("F"), Some("f")).verdict,
            Verdict::Match
        );
        assert_eq!(
            compare_genders(Some("F"), Some("M")).verdict,
            Verdict::Mismatch
        );
        assert_eq!(compare_genders(None, Some("M")).verdict, Verdict::Unknown);
        let all = compare_holders(
            HolderFacts {
                name: "Gurpreet Kaur Sandhu",
                date_of_birth: Some("1988-09-09"),
                gender: Some("F"),
            },
            HolderFacts {
                name: "GURPREET KAUR SANDHU",
                date_of_birth: Some("1988-09-19"),
                gender: None,
            },
        );
        assert!(!all.consistent);
        assert_eq!(all.name.verdict, Verdict::Match);
        assert_eq!(all.gender.verdict, Verdict::Unknown);
    }
}
