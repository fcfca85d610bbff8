//! Attribute validators: checks run at validate time on known, non-null values, each
//! producing a diagnostic that names the attribute, and each describing itself for the docs.
//!
//! A validator sees its value through a [`Subject`], which knows whether the value is
//! sensitive (the attribute is sensitive or write-only, or nested in one that is). Messages
//! quote a value only through [`Subject::got`] and its siblings, which never quote a sensitive
//! one: they say what is wrong with it instead ("the value has a trailing newline").

use std::fmt::Write as _;

use regex::Regex;

use crate::value::{AttributePath, Value};

use super::diagnostics::{Diagnostic, Diagnostics};
use super::timeouts::parse_duration;

/// The value a validator checks, where it is, and whether it may be shown.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub path: &'a AttributePath,
    /// Known and not null.
    pub value: &'a Value,
    /// Sensitive or write-only, itself or through the attribute it is nested in: the value
    /// must not appear in any message.
    pub sensitive: bool,
}

/// Said of a sensitive value instead of quoting it.
pub const NOT_SHOWN: &str = "The value is sensitive, so it is not shown.";

impl Subject<'_> {
    /// The end of a message about the string `s`: `, got "s".`, or for a sensitive value what
    /// can be said of it without showing it.
    pub fn got(&self, s: &str) -> String {
        self.got_with(s, None)
    }

    /// As [`Subject::got`], with `fact` ("is too long") said first of a sensitive value.
    fn got_with(&self, s: &str, fact: Option<&str>) -> String {
        if !self.sensitive {
            return format!(", got {s:?}.");
        }
        let facts: Vec<String> = fact
            .map(str::to_string)
            .into_iter()
            .chain(describe(s))
            .collect();
        if facts.is_empty() {
            format!(". {NOT_SHOWN}")
        } else {
            format!("; the value {}. {NOT_SHOWN}", facts.join(" and "))
        }
    }

    /// The end of a message about a value other than a string: `, got 12.` when it may be
    /// shown, `.` and that it is not shown otherwise.
    fn got_other(&self, shown: impl std::fmt::Display) -> String {
        if self.sensitive {
            format!(". {NOT_SHOWN}")
        } else {
            format!(", got {shown}.")
        }
    }
}

/// What can be said of a string without showing it: empty, surrounded by or holding
/// whitespace (a value read from a file keeps its trailing newline), control characters.
pub fn describe(s: &str) -> Vec<String> {
    let mut facts = Vec::new();
    if s.is_empty() {
        facts.push("is empty".to_string());
        return facts;
    }
    if s.ends_with('\n') {
        facts.push("has a trailing newline".to_string());
    } else if s.ends_with(char::is_whitespace) {
        facts.push("has trailing whitespace".to_string());
    }
    if s.starts_with(char::is_whitespace) {
        facts.push("has leading whitespace".to_string());
    }
    if s.trim().contains(char::is_whitespace) {
        facts.push("contains whitespace".to_string());
    }
    if s.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        facts.push("contains control characters".to_string());
    }
    facts
}

/// A check on one attribute's value.
pub trait Validator: Send + Sync {
    /// Markdown shown in the docs ("must be one of `a`, `b`").
    fn description(&self) -> String;
    /// Called only with a known, non-null value. Messages quote the value only through
    /// [`Subject::got`].
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics);
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
            if !self.0.contains(&s) {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} {}{}",
                        self.description().replace('`', "\""),
                        subject.got(s)
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
            if !self.regex().is_match(s) {
                diags.push(invalid(
                    path,
                    format!("{path} must be {}{}", self.what, subject.got(s)),
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
            let n = s.chars().count();
            if n < self.min || n > self.max {
                let end = if subject.sensitive {
                    let fact = if n < self.min {
                        "is too short"
                    } else {
                        "is too long"
                    };
                    subject.got_with(s, Some(fact))
                } else {
                    format!(", got {n}.")
                };
                diags.push(invalid(
                    path,
                    format!(
                        "{path} must be between {} and {} characters long{end}",
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(n) = subject.value.as_number() {
            let ok = n.is_integer() && n.to_i64().is_some_and(|i| i >= self.min && i <= self.max);
            if !ok {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} must be a whole number between {} and {}{}",
                        self.min,
                        self.max,
                        subject.got_other(n)
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        let value = subject.value;
        let n = value
            .as_list()
            .map(|l| l.len())
            .or_else(|| value.as_map().map(|m| m.len()));
        if let Some(n) = n {
            if n < self.min || n > self.max {
                diags.push(invalid(
                    path,
                    format!(
                        "{path} must have between {} and {} elements{}",
                        self.min,
                        self.max,
                        subject.got_other(n)
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
            match url::Url::parse(s) {
                Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => {}
                // The scheme is part of the value: shown only when the value may be.
                Ok(u) if !subject.sensitive => diags.push(invalid(
                    path,
                    format!(
                        "{path} must be an http or https URL with a host, got scheme {:?}.",
                        u.scheme()
                    ),
                )),
                Ok(_) => diags.push(invalid(
                    path,
                    format!(
                        "{path} must be an http or https URL with a host{}",
                        subject.got(s)
                    ),
                )),
                // The parser's messages are fixed texts ("invalid port number").
                Err(e) if !subject.sensitive => {
                    diags.push(invalid(path, format!("{path} is not a valid URL: {e}.")))
                }
                Err(e) => diags.push(invalid(
                    path,
                    format!("{path} is not a valid URL ({e}){}", subject.got(s)),
                )),
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
            if let Err(e) = parse_duration(s) {
                // The parser's errors quote the input.
                let detail = if subject.sensitive {
                    format!(
                        "{path} is not a valid duration: {}. {NOT_SHOWN}",
                        e.reason()
                    )
                } else {
                    format!("{path} is not a valid duration: {e}.")
                };
                diags.push(invalid(path, detail));
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
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
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

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/16`, `2001:db8::/32`): an address, a
/// slash and a prefix length within the family's bits, with no bit set after the prefix (what
/// EC2 security group rules take).
pub struct Cidr;

/// Why a string is not a network in CIDR notation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// No `/` and prefix length.
    NoPrefix,
    /// What comes before the `/` is not an IPv4 or IPv6 address.
    Address,
    /// The prefix length is not a whole number up to `max`.
    Prefix { max: u8 },
    /// Bits are set after the prefix: `network` is the block the value falls in.
    HostBits { network: String },
}

impl std::fmt::Display for CidrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CidrError::NoPrefix => f.write_str("it has no prefix length (such as \"/16\")"),
            CidrError::Address => f.write_str("the address is not an IPv4 or IPv6 address"),
            CidrError::Prefix { max } => {
                write!(
                    f,
                    "the prefix length must be a whole number from 0 to {max}"
                )
            }
            CidrError::HostBits { network } => {
                write!(
                    f,
                    "bits are set after the prefix; the network is {network:?}"
                )
            }
        }
    }
}

/// Reads a network in CIDR notation.
///
/// # Errors
/// What is wrong with it ([`CidrError`]).
pub fn parse_cidr(s: &str) -> Result<(std::net::IpAddr, u8), CidrError> {
    use std::net::IpAddr;
    let (address, prefix) = s.split_once('/').ok_or(CidrError::NoPrefix)?;
    let address: IpAddr = address.parse().map_err(|_| CidrError::Address)?;
    let max: u8 = if address.is_ipv4() { 32 } else { 128 };
    let prefix = Some(prefix)
        .filter(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u8>().ok())
        .filter(|p| *p <= max)
        .ok_or(CidrError::Prefix { max })?;
    let network = match address {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(u32::from(32 - prefix)).unwrap_or(0);
            IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
            IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
    };
    if network != address {
        return Err(CidrError::HostBits {
            network: format!("{network}/{prefix}"),
        });
    }
    Ok((address, prefix))
}

impl Validator for Cidr {
    fn description(&self) -> String {
        "must be an IPv4 or IPv6 CIDR block such as `10.0.0.0/16` or `2001:db8::/32`".to_string()
    }
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        let path = subject.path;
        if let Some(s) = subject.value.as_str() {
            if let Err(e) = parse_cidr(s) {
                let what =
                    "an IPv4 or IPv6 CIDR block such as \"10.0.0.0/16\" or \"2001:db8::/32\"";
                // The reason may quote the network the value falls in.
                let detail = if subject.sensitive {
                    format!("{path} must be {what}{}", subject.got(s))
                } else {
                    format!("{path} must be {what}: {e}, got {s:?}.")
                };
                diags.push(invalid(path, detail));
            }
        }
    }
}

/// Runs a validator on each element of a list, set or map. A list element is named by its
/// index and a map element by its key. A set element is named by the set itself: Terraform
/// addresses set elements by value, which the protocol's paths cannot carry, and a position
/// would point at another element of the configuration whenever Terraform's order (sorted)
/// differs from the written one; the message quotes the element instead.
pub struct Each<V>(pub V);

pub fn each<V: Validator>(v: V) -> Each<V> {
    Each(v)
}

impl<V: Validator> Validator for Each<V> {
    fn description(&self) -> String {
        let inner = self.0.description();
        match inner.strip_prefix("must ") {
            Some(rest) => format!("must, for each element, {rest}"),
            None => format!("for each element: {inner}"),
        }
    }
    fn validate(&self, subject: &Subject<'_>, diags: &mut Diagnostics) {
        use crate::value::Known;
        let mut one = |path: &AttributePath, value: &Value| {
            if value.is_null() || value.is_unknown() {
                return;
            }
            let element = Subject {
                path,
                value,
                sensitive: subject.sensitive,
            };
            self.0.validate(&element, diags);
        };
        match subject.value.as_known() {
            Some(Known::List(items) | Known::Tuple(items)) => {
                for (i, e) in items.iter().enumerate() {
                    one(&subject.path.clone().index(i as i64), e);
                }
            }
            Some(Known::Set(items)) => {
                for e in items {
                    one(subject.path, e);
                }
            }
            Some(Known::Map(m)) => {
                for (k, e) in m {
                    one(&subject.path.clone().key(k), e);
                }
            }
            _ => {}
        }
    }
}

/// Runs a list of validators on a value, skipping null and unknown values (they are checked
/// again at apply time, when known). `sensitive`: the value must not be shown.
pub fn run(
    validators: &[std::sync::Arc<dyn Validator>],
    path: &AttributePath,
    value: &Value,
    sensitive: bool,
    diags: &mut Diagnostics,
) {
    if value.is_null() || value.is_unknown() {
        return;
    }
    let subject = Subject {
        path,
        value,
        sensitive,
    };
    for v in validators {
        v.validate(&subject, diags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-value";

    /// Every validator of the framework, with a value of its type it refuses.
    fn refusing() -> Vec<(Box<dyn Validator>, Value)> {
        let s = |v: &str| Value::string(v);
        vec![
            (Box::new(one_of(&["a", "b"])), s(SECRET)),
            (
                Box::new(matches(r"^rediss?://[^\s]+$", "a redis:// URL")),
                s(&format!("redis://default:{SECRET}@cache:6379/0\n")),
            ),
            (Box::new(string_length(1, 4)), s(SECRET)),
            (Box::new(int_between(1, 10)), Value::number(31337i64)),
            (
                Box::new(size_between(0, 1)),
                Value::list(vec![s(SECRET), s(SECRET)]),
            ),
            (Box::new(HttpUrl), s(&format!("{SECRET}:opaque"))),
            (
                Box::new(HttpUrl),
                s(&format!("https://u:{SECRET}@h:99999/")),
            ),
            (Box::new(Duration), s(&format!("{SECRET}m"))),
            (Box::new(Duration), s(&format!("5{SECRET}"))),
            (Box::new(PemCertificate), s(SECRET)),
            (Box::new(Cidr), s(&format!("10.0.0.1/8{SECRET}"))),
            (Box::new(each(Cidr)), Value::set(vec![s(SECRET)])),
        ]
    }

    fn details(v: &dyn Validator, value: &Value, sensitive: bool) -> Vec<String> {
        let path = AttributePath::root().attr("secrets").attr("value");
        let mut d = Diagnostics::new();
        v.validate(
            &Subject {
                path: &path,
                value,
                sensitive,
            },
            &mut d,
        );
        d.iter()
            .map(|x| format!("{} {}", x.summary, x.detail))
            .collect()
    }

    #[test]
    fn no_validator_quotes_a_sensitive_value() {
        for (v, value) in refusing() {
            let shown = details(v.as_ref(), &value, true);
            assert_eq!(shown.len(), 1, "{}: {shown:?}", v.description());
            let text = shown.join("\n");
            assert!(!text.to_lowercase().contains(SECRET), "{text}");
            assert!(!text.contains("31337"), "{text}");
            assert!(
                text.contains("secrets.value"),
                "names the attribute: {text}"
            );
        }
    }

    #[test]
    fn values_that_are_not_sensitive_are_still_quoted() {
        let (v, value) = (one_of(&["a", "b"]), Value::string("c"));
        assert_eq!(
            details(&v, &value, false),
            vec!["Invalid attribute value secrets.value must be one of \"a\", \"b\", got \"c\"."]
        );
        let v = string_length(1, 4);
        assert!(details(&v, &Value::string("abcdef"), false)[0].ends_with(", got 6."));
    }

    #[test]
    fn a_sensitive_value_is_described_without_being_shown() {
        let v = matches(r"^rediss?://[^\s]+$", "a redis:// or rediss:// URL");
        let value = Value::string(format!("redis://default:{SECRET}@cache:6379/0\n"));
        assert_eq!(
            details(&v, &value, true),
            vec![format!(
                "Invalid attribute value secrets.value must be a redis:// or rediss:// URL; \
                 the value has a trailing newline. {NOT_SHOWN}"
            )]
        );
        let long = details(&string_length(1, 4), &Value::string(" ab cd"), true);
        assert!(
            long[0].contains(
                "the value is too long and has leading whitespace and contains whitespace."
            ),
            "{long:?}"
        );
        assert_eq!(describe(""), vec!["is empty"]);
        assert_eq!(describe("a\u{7}b"), vec!["contains control characters"]);
        assert!(describe("plain").is_empty());
    }

    #[test]
    fn cidr_blocks_of_both_families_are_accepted() {
        for ok in [
            "10.0.0.0/8",
            "0.0.0.0/0",
            "192.168.1.17/32",
            "2001:db8::/32",
            "::/0",
            "2001:db8::1/128",
            "::ffff:10.0.0.0/104",
        ] {
            assert!(parse_cidr(ok).is_ok(), "{ok}");
            assert!(details(&Cidr, &Value::string(ok), false).is_empty(), "{ok}");
        }
    }

    #[test]
    fn malformed_cidr_blocks_are_refused_with_the_reason() {
        let cases = [
            ("10.0.0.0", CidrError::NoPrefix),
            ("10.0.0/8", CidrError::Address),
            ("010.0.0.0/8", CidrError::Address),
            ("10.0.0.256/32", CidrError::Address),
            ("fe80::1%eth0/64", CidrError::Address),
            ("10.0.0.0/33", CidrError::Prefix { max: 32 }),
            ("10.0.0.0/", CidrError::Prefix { max: 32 }),
            ("10.0.0.0/+8", CidrError::Prefix { max: 32 }),
            ("10.0.0.0/ 8", CidrError::Prefix { max: 32 }),
            ("2001:db8::/129", CidrError::Prefix { max: 128 }),
            (
                "10.1.2.3/16",
                CidrError::HostBits {
                    network: "10.1.0.0/16".into(),
                },
            ),
            (
                "2001:db8::1/32",
                CidrError::HostBits {
                    network: "2001:db8::/32".into(),
                },
            ),
            ("", CidrError::NoPrefix),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_cidr(input), Err(expected), "{input:?}");
        }
        assert_eq!(
            details(&Cidr, &Value::string("10.1.2.3/16"), false),
            vec![
                "Invalid attribute value secrets.value must be an IPv4 or IPv6 CIDR block such as \
                 \"10.0.0.0/16\" or \"2001:db8::/32\": bits are set after the prefix; the network is \
                 \"10.1.0.0/16\", got \"10.1.2.3/16\"."
            ]
        );
    }

    fn paths(v: &dyn Validator, value: &Value) -> Vec<String> {
        let path = AttributePath::root().attr("ingress").attr("inbound_cidrs");
        let mut d = Diagnostics::new();
        v.validate(
            &Subject {
                path: &path,
                value,
                sensitive: false,
            },
            &mut d,
        );
        d.iter()
            .map(|x| {
                x.attribute
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn each_names_list_elements_by_index_map_elements_by_key_and_set_elements_by_the_set() {
        let s = |v: &str| Value::string(v);
        let v = each(Cidr);
        assert_eq!(
            v.description(),
            "must, for each element, be an IPv4 or IPv6 CIDR block such as `10.0.0.0/16` or \
             `2001:db8::/32`"
        );
        assert_eq!(
            paths(&v, &Value::list(vec![s("10.0.0.0/8"), s("bad")])),
            vec!["ingress.inbound_cidrs[1]"]
        );
        assert_eq!(
            paths(&v, &Value::map([("office".to_string(), s("10.0.0.1/8"))])),
            vec!["ingress.inbound_cidrs[\"office\"]"]
        );
        let set = Value::set(vec![s("bad"), s("10.0.0.0/8"), s("::1")]);
        assert_eq!(
            paths(&v, &set),
            vec!["ingress.inbound_cidrs", "ingress.inbound_cidrs"]
        );
        // Unknown and null elements wait for apply.
        let pending = Value::set(vec![Value::Unknown, Value::Null, s("10.0.0.0/8")]);
        assert!(paths(&v, &pending).is_empty());
    }
}
