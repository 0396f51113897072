//! Tolerant deserializers for fields DigiLocker sends in more than one shape
//! (a number in one deployment, a string in another; a list or a single string).
//! They go through `serde_json::Value` because every DigiLocker answer is JSON.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string, or a number/bool rendered as text. `null`, missing and `""` are `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// A required string that may arrive as a number.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, found {}",
            json_type(&other)
        ))),
    }
}

/// A string that may be missing or `null` (then empty).
pub(crate) fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// A date of birth `DDMMYYYY`. The published spec types it as an integer, which
/// loses the leading zero of days 01-09, so a number is zero-padded back to 8 digits.
pub(crate) fn opt_dob<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(match n.as_u64() {
            Some(v) => format!("{v:08}"),
            None => n.to_string(),
        }),
        _ => None,
    })
}

/// An integer sent as a number or as a numeric string (`"3600"`, `1767225600`).
/// Anything else (empty, unparsable, `null`, missing) is `None`: these fields are
/// informational, and an odd value must not throw away an otherwise valid token.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    })
}

/// A list of strings, or one string (comma-separated allowed), or missing/`null`.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    })
}

/// Like [`string_list`], but a missing or `null` field is `None` (not an empty
/// list): for optional hints whose absence means "not said", not "none".
pub(crate) fn opt_string_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(value) => Some(string_list(value).map_err(serde::de::Error::custom)?),
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
