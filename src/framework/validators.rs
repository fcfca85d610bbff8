//! Attribute validators: checks run at validate time on known, non-null values, each
//! producing a diagnostic that names the attribute, and each describing itself for the docs.

use std::fmt::Write as _;

use regex::Regex;

use crate::value::{AttributePath, Value};

use super::diagnostics::{Diagnostic, Diagnostics};
use super::timeouts::parse_duration;

/// A check on one attribute's value.
pub trait Validator: Send + Sync {
    /// Markdown shown in the docs ("must be one of `a`, `b`").
    fn description(&self) -> String;
    /// Called only with a known, non-null value.
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics);
}

fn invalid(path: &AttributePath, detail: String) -> Diagnostic {
    Diagnostic::error("Invalid attribute value", detail).at(path.clone())
}

/// The string must be one of a fixed set.
pub struct OneOf(pub Vec<&'static str>);

pub fn one_of(values: &[&'static str]) -> OneOf {
    OneOf(values.to_vec())
}

impl Validator for OneOf {
    fn description(&self) -> String {
        let mut s = String::from("must be one of ");
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "`{v}`");
        }
        s
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.0.contains(&s) {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} {}, got {s:?}.",
                        self.description().replace('`', "\"")
                    ),
                ));
            }
        }
    }
}

/// The string must match a regular expression; `what` names the expected form. The expression
/// is compiled on first use: every provider process builds all schemas, few validate.
pub struct Matches {
    pattern: &'static str,
    re: std::sync::OnceLock<Regex>,
    what: &'static str,
}

/// Builds a pattern validator. The pattern is a constant of the provider, checked by tests.
pub fn matches(pattern: &'static str, what: &'static str) -> Matches {
    // Debug builds (all tests) compile every pattern when the schemas are built.
    debug_assert!(
        Regex::new(pattern).is_ok(),
        "invalid built-in pattern {pattern}"
    );
    Matches {
        pattern,
        re: std::sync::OnceLock::new(),
        what,
    }
}

impl Matches {
    fn regex(&self) -> &Regex {
        self.re.get_or_init(|| {
            Regex::new(self.pattern)
                .unwrap_or_else(|e| panic!("invalid built-in pattern {}: {e}", self.pattern))
        })
    }
}

impl Validator for Matches {
    fn description(&self) -> String {
        format!("must be {}", self.what)
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.regex().is_match(s) {
                diags.push(invalid(
                    path,
                    format!("{path} must be {}, got {s:?}.", self.what),
                ));
            }
        }
    }
}

/// String length bounds, in characters.
pub struct StringLength {
    pub min: usize,
    pub max: usize,
}

pub fn string_length(min: usize, max: usize) -> StringLength {
    StringLength { min, max }
}

impl Validator for StringLength {
    fn description(&self) -> String {
        format!(
            "must be between {} and {} characters long",
            self.min, self.max
        )
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            let n = s.chars().count();
            if n < self.min || n > self.max {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} must be between {} and {} characters long, got {n}.",
                        self.min, self.max
                    ),
                ));
            }
        }
    }
}

/// A whole number within bounds.
pub struct IntBetween {
    pub min: i64,
    pub max: i64,
}

pub fn int_between(min: i64, max: i64) -> IntBetween {
    IntBetween { min, max }
}

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!(
            "must be a whole number between {} and {}",
            self.min, self.max
        )
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(n) = value.as_number() {
            let ok = n.is_integer() && n.to_i64().is_some_and(|i| i >= self.min && i <= self.max);
            if !ok {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} must be a whole number between {} and {}, got {n}.",
                        self.min, self.max
                    ),
                ));
            }
        }
    }
}

/// Collection size bounds (list, set, map).
pub struct SizeBetween {
    pub min: usize,
    pub max: usize,
}

pub fn size_between(min: usize, max: usize) -> SizeBetween {
    SizeBetween { min, max }
}

impl Validator for SizeBetween {
    fn description(&self) -> String {
        format!("must have between {} and {} elements", self.min, self.max)
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        let n = value
            .as_list()
            .map(|l| l.len())
            .or_else(|| value.as_map().map(|m| m.len()));
        if let Some(n) = n {
            if n < self.min || n > self.max {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} must have between {} and {} elements, got {n}.",
                        self.min, self.max
                    ),
                ));
            }
        }
    }
}

/// An absolute http or https URL.
pub struct HttpUrl;

impl Validator for HttpUrl {
    fn description(&self) -> String {
        "must be an absolute `http` or `https` URL".to_string()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            match url::Url::parse(s) {
                Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => {}
                Ok(u) => diags.push(invalid(
                    path,
                    format!(
                        "{path} must be an http or https URL with a host, got scheme {:?}.",
                        u.scheme()
                    ),
                )),
                Err(e) => diags.push(invalid(path, format!("{path} is not a valid URL: {e}."))),
            }
        }
    }
}

/// A duration such as `30s`, `45m`, `1h30m`.
pub struct Duration;

impl Validator for Duration {
    fn description(&self) -> String {
        "must be a duration such as `30s`, `45m` or `1h30m`".to_string()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if let Err(e) = parse_duration(s) {
                diags.push(invalid(
                    path,
                    format!("{path} is not a valid duration: {e}."),
                ));
            }
        }
    }
}

/// One or more PEM certificates.
pub struct PemCertificate;

impl Validator for PemCertificate {
    fn description(&self) -> String {
        "must be PEM-encoded certificate data".to_string()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            let certs: Result<Vec<_>, _> = crate::pem::certificates(s).collect();
            match certs {
                Ok(c) if !c.is_empty() => {}
                _ => diags.push(invalid(
                    path,
                    format!(
                        "{path} must hold PEM certificate data (\"-----BEGIN CERTIFICATE-----\" ...); \
                         the value given has none."
                    ),
                )),
            }
        }
    }
}

/// Runs a list of validators on a value, skipping null and unknown values (they are checked
/// again at apply time, when known).
pub fn run(
    validators: &[std::sync::Arc<dyn Validator>],
    path: &AttributePath,
    value: &Value,
    diags: &mut Diagnostics,
) {
    if value.is_null() || value.is_unknown() {
        return;
    }
    for v in validators {
        v.validate(path, value, diags);
    }
}
