//! Operation timeouts: the `timeouts { create = "60m" }` block users know from other
//! providers, and Go-style duration strings.

use std::time::Duration;

use thiserror::Error;

use crate::value::{Type, Value};

use super::schema::{Attribute, Block, NestedBlock};
use super::validators;

/// A duration string that could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("missing unit in {0:?} (use s, m or h, e.g. \"30m\")")]
    MissingUnit(String),
    #[error("unknown unit {unit:?} in {input:?} (use ms, s, m or h)")]
    UnknownUnit { unit: String, input: String },
    #[error("invalid number in {0:?}")]
    InvalidNumber(String),
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

impl DurationError {
    /// What is wrong, without quoting the input (for values that must not be shown).
    pub fn reason(&self) -> &'static str {
        match self {
            DurationError::Empty => "it is empty",
            DurationError::MissingUnit(_) => "a number has no unit (use s, m or h, e.g. \"30m\")",
            DurationError::UnknownUnit { .. } => "it has a unit other than ms, s, m or h",
            DurationError::InvalidNumber(_) => "it holds something other than numbers and units",
            DurationError::TooLarge(_) => "it is too large",
        }
    }
}

/// Parses durations such as `90s`, `45m`, `1h30m`, `1.5h`, `500ms` (Go's time.ParseDuration
/// for non-negative values).
///
/// # Errors
/// Returns a [`DurationError`] describing the first problem.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(DurationError::InvalidNumber(input.to_string()));
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| DurationError::InvalidNumber(input.to_string()))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit.to_string(),
                    input: input.to_string(),
                })
            }
        };
        total += number * seconds;
    }
    if !total.is_finite() || total > 10.0 * 365.0 * 86400.0 {
        return Err(DurationError::TooLarge(input.to_string()));
    }
    Ok(Duration::from_secs_f64(total))
}

/// The `timeouts` block for the given operations, e.g. `["create", "update", "delete"]`, with
/// each default shown in the docs.
pub fn block(operations: &[(&str, Duration)]) -> NestedBlock {
    let mut b = Block::new().description("How long each operation may take before it fails.");
    for (op, default) in operations {
        b = b.attribute(
            Attribute::optional(op, Type::String)
                .description(format!(
                    "How long to wait for {op}, as a duration such as `30m` or `1h`. Default `{}`.",
                    format_duration(*default)
                ))
                .validator(validators::Duration),
        );
    }
    NestedBlock::single("timeouts", b)
}

/// The timeout of `operation` from a resource value holding a `timeouts` block, or `default`.
pub fn get(resource: &Value, operation: &str, default: Duration) -> Duration {
    resource
        .get_attr("timeouts")
        .and_then(|t| t.get_attr(operation))
        .and_then(|v| v.as_str())
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(default)
}

/// Formats a duration the way users write it (`1h30m`, `45m`, `20s`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("30s", 30.0),
            ("45m", 2700.0),
            ("1h30m", 5400.0),
            ("1.5h", 5400.0),
            ("500ms", 0.5),
            ("0", 0.0),
            ("2h0m10s", 7210.0),
        ];
        for (s, secs) in cases {
            assert_eq!(parse_duration(s), Ok(Duration::from_secs_f64(secs)), "{s}");
        }
    }

    #[test]
    fn rejects_bad_durations() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert!(matches!(
            parse_duration("10"),
            Err(DurationError::MissingUnit(_))
        ));
        assert!(matches!(
            parse_duration("10d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("m"),
            Err(DurationError::InvalidNumber(_))
        ));
        assert!(matches!(
            parse_duration("-5m"),
            Err(DurationError::InvalidNumber(_))
        ));
        assert!(matches!(
            parse_duration("99999999h"),
            Err(DurationError::TooLarge(_))
        ));
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(20)), "20s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
