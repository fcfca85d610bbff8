//! Arbitrary-precision numbers, as cty's `number` type.
//!
//! A [`Number`] is a finite decimal ([`BigDecimal`]) or ±infinity. Equality,
//! ordering and hashing are by numeric value (`1 == 1.0 == "1.00"`).
//!
//! Parsing bounds what untrusted input can ask for: at most
//! [`MAX_SIGNIFICANT_DIGITS`] significant digits and a decimal exponent of
//! magnitude at most [`MAX_EXPONENT`]. All operations here work on the
//! digit string and the exponent separately, so a large exponent never
//! expands into a large allocation.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use bigdecimal::BigDecimal;
use num_bigint::{BigInt, Sign};

use super::error::NumberParseError;

/// Most significant digits a parsed number may have (cty itself keeps
/// about 155; anything this long is not a real configuration value).
pub const MAX_SIGNIFICANT_DIGITS: usize = 10_000;

/// Largest magnitude of the decimal exponent of a parsed number.
pub const MAX_EXPONENT: i128 = 1_000_000_000;

/// Longest run of padding zeros `Display` writes before switching to
/// exponent notation.
const PLAIN_ZEROS_LIMIT: i128 = 1024;

/// An arbitrary-precision number.
#[derive(Clone, Debug)]
pub enum Number {
    /// A finite value.
    Finite(BigDecimal),
    /// Positive infinity.
    PosInf,
    /// Negative infinity.
    NegInf,
}

/// Normal form of a number: `±digits × 10^exp`, `digits` without leading or
/// trailing zeros (empty for zero, which is never negative).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Canonical {
    NegInf,
    Finite {
        negative: bool,
        digits: String,
        exp: i128,
    },
    PosInf,
}

fn canonical_of(d: &BigDecimal) -> Canonical {
    let (int, scale) = d.as_bigint_and_scale();
    let negative = int.sign() == Sign::Minus;
    let mut digits = int.magnitude().to_str_radix(10);
    let mut exp = -i128::from(scale);
    let kept = digits.trim_end_matches('0').len();
    exp += (digits.len() - kept) as i128;
    digits.truncate(kept);
    if digits.is_empty() {
        return Canonical::Finite {
            negative: false,
            digits,
            exp: 0,
        };
    }
    Canonical::Finite {
        negative,
        digits,
        exp,
    }
}

/// Compares two non-zero magnitudes given in normal form.
fn cmp_magnitude(a: &str, a_exp: i128, b: &str, b_exp: i128) -> Ordering {
    let a_adj = a.len() as i128 + a_exp;
    let b_adj = b.len() as i128 + b_exp;
    a_adj.cmp(&b_adj).then_with(|| a.cmp(b))
}

impl Number {
    fn canonical(&self) -> Canonical {
        match self {
            Self::Finite(d) => canonical_of(d),
            Self::PosInf => Canonical::PosInf,
            Self::NegInf => Canonical::NegInf,
        }
    }

    /// Parses a decimal number: `-0.5`, `1e400`, `123456789012345678901234567890`,
    /// `+1.25E-3`, and `inf`/`infinity` (any case, optionally signed).
    ///
    /// # Errors
    /// If `s` is not a number, or exceeds [`MAX_SIGNIFICANT_DIGITS`] or
    /// [`MAX_EXPONENT`].
    pub fn parse(s: &str) -> Result<Self, NumberParseError> {
        parse_decimal(s)
    }

    /// Converts an `f64` via its shortest round-trip decimal representation
    /// (so `0.1_f64` becomes exactly `0.1`). `None` for NaN.
    #[must_use]
    pub fn from_f64(f: f64) -> Option<Self> {
        if f.is_nan() {
            None
        } else if f.is_infinite() {
            Some(if f > 0.0 { Self::PosInf } else { Self::NegInf })
        } else {
            parse_decimal(&format!("{f:e}")).ok()
        }
    }

    /// Converts an `f32` via its shortest round-trip decimal representation
    /// as an `f32`. `None` for NaN.
    #[must_use]
    pub fn from_f32(f: f32) -> Option<Self> {
        if f.is_nan() {
            None
        } else if f.is_infinite() {
            Some(if f > 0.0 { Self::PosInf } else { Self::NegInf })
        } else {
            parse_decimal(&format!("{f:e}")).ok()
        }
    }

    /// Whether this is finite with no fractional part.
    #[must_use]
    pub fn is_integer(&self) -> bool {
        matches!(self.canonical(), Canonical::Finite { digits, exp, .. } if digits.is_empty() || exp >= 0)
    }

    /// Whether this is finite.
    #[must_use]
    pub fn is_finite(&self) -> bool {
        matches!(self, Self::Finite(_))
    }

    /// The underlying decimal, if finite.
    #[must_use]
    pub fn as_bigdecimal(&self) -> Option<&BigDecimal> {
        match self {
            Self::Finite(d) => Some(d),
            _ => None,
        }
    }

    /// The exact value as an `i128`, if it is an integer of at most 20 digits.
    fn to_small_int(&self) -> Option<i128> {
        let Canonical::Finite {
            negative,
            digits,
            exp,
        } = self.canonical()
        else {
            return None;
        };
        if digits.is_empty() {
            return Some(0);
        }
        if exp < 0 || digits.len() as i128 + exp > 20 {
            return None;
        }
        let zeros = usize::try_from(exp).ok()?;
        let magnitude: i128 = format!("{digits}{}", "0".repeat(zeros)).parse().ok()?;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// The exact value as an `i64`, if it is an integer in range.
    #[must_use]
    pub fn to_i64(&self) -> Option<i64> {
        self.to_small_int().and_then(|i| i64::try_from(i).ok())
    }

    /// The exact value as a `u64`, if it is an integer in range.
    #[must_use]
    pub fn to_u64(&self) -> Option<u64> {
        self.to_small_int().and_then(|i| u64::try_from(i).ok())
    }

    /// The nearest `f64` (correctly rounded; overflows to ±infinity).
    #[must_use]
    pub fn to_f64(&self) -> f64 {
        match self.canonical() {
            Canonical::PosInf => f64::INFINITY,
            Canonical::NegInf => f64::NEG_INFINITY,
            Canonical::Finite {
                negative,
                digits,
                exp,
            } => {
                let sign = if negative { -1.0 } else { 1.0 };
                let adjusted = digits.len() as i128 + exp;
                if digits.is_empty() || adjusted < -400 {
                    0.0 * sign
                } else if adjusted > 400 {
                    f64::INFINITY * sign
                } else {
                    let text = format!("{digits}e{exp}");
                    text.parse::<f64>().map_or(0.0, |f| f * sign)
                }
            }
        }
    }

    /// The `f64` holding exactly this value, if there is one.
    #[must_use]
    pub fn to_f64_exact(&self) -> Option<f64> {
        let f = self.to_f64();
        if !f.is_finite() {
            return None;
        }
        (exact_decimal_of_f64(f) == *self).then_some(f)
    }
}

/// The exact decimal value of a finite `f64`.
fn exact_decimal_of_f64(f: f64) -> Number {
    let bits = f.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exp2) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let mut int = BigInt::from(mantissa);
    if negative {
        int = -int;
    }
    if exp2 >= 0 {
        Number::Finite(BigDecimal::new(int << exp2, 0))
    } else {
        // m × 2^-k = m × 5^k × 10^-k
        let k = exp2.unsigned_abs();
        let pow5 = num_traits::pow(BigInt::from(5u8), k as usize);
        Number::Finite(BigDecimal::new(int * pow5, -exp2))
    }
}

fn parse_decimal(s: &str) -> Result<Number, NumberParseError> {
    let bytes = s.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Ok(if negative {
            Number::NegInf
        } else {
            Number::PosInf
        });
    }
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int_part, mut rest) = rest.split_at(int_len);
    let mut frac_part: &[u8] = &[];
    if let Some((b'.', after)) = rest.split_first() {
        let frac_len = after.iter().take_while(|b| b.is_ascii_digit()).count();
        (frac_part, rest) = after.split_at(frac_len);
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(NumberParseError::new(format!("{s:?} has no digits")));
    }
    let mut exp: i128 = 0;
    if let Some((b'e' | b'E', after)) = rest.split_first() {
        (exp, rest) = parse_exponent(after, s)?;
    }
    if !rest.is_empty() {
        return Err(NumberParseError::new(format!("{s:?} is not a number")));
    }
    let mut digits: Vec<u8> = int_part.iter().chain(frac_part).copied().collect();
    exp -= frac_part.len() as i128;
    let leading = digits.iter().take_while(|&&b| b == b'0').count();
    digits.drain(..leading);
    let kept = digits.len() - digits.iter().rev().take_while(|&&b| b == b'0').count();
    exp += (digits.len() - kept) as i128;
    digits.truncate(kept);
    if digits.is_empty() {
        return Ok(Number::Finite(BigDecimal::from(0)));
    }
    if digits.len() > MAX_SIGNIFICANT_DIGITS {
        return Err(NumberParseError::new(format!(
            "more than {MAX_SIGNIFICANT_DIGITS} significant digits"
        )));
    }
    let adjusted = digits.len() as i128 + exp;
    if adjusted.abs() > MAX_EXPONENT {
        return Err(NumberParseError::new("exponent out of range"));
    }
    let scale = i64::try_from(-exp).map_err(|_| NumberParseError::new("exponent out of range"))?;
    let mut int = BigInt::parse_bytes(&digits, 10)
        .ok_or_else(|| NumberParseError::new(format!("{s:?} is not a number")))?;
    if negative {
        int = -int;
    }
    Ok(Number::Finite(BigDecimal::new(int, scale)))
}

/// Parses `[+-]digits` after an `e`, returning the exponent and the rest.
fn parse_exponent<'a>(after: &'a [u8], s: &str) -> Result<(i128, &'a [u8]), NumberParseError> {
    let (negative, after) = match after.first() {
        Some(b'-') => (true, &after[1..]),
        Some(b'+') => (false, &after[1..]),
        _ => (false, after),
    };
    let len = after.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return Err(NumberParseError::new(format!(
            "{s:?} has an empty exponent"
        )));
    }
    let mut value: i128 = 0;
    for &b in &after[..len] {
        value = value * 10 + i128::from(b - b'0');
        if value > 4 * MAX_EXPONENT {
            return Err(NumberParseError::new("exponent out of range"));
        }
    }
    Ok((if negative { -value } else { value }, &after[len..]))
}

impl FromStr for Number {
    type Err = NumberParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_decimal(s)
    }
}

impl TryFrom<f64> for Number {
    type Error = NumberParseError;

    fn try_from(f: f64) -> Result<Self, Self::Error> {
        Self::from_f64(f).ok_or_else(|| NumberParseError::new("NaN is not a number"))
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(v: $t) -> Self {
                Self::Finite(BigDecimal::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl From<BigDecimal> for Number {
    fn from(d: BigDecimal) -> Self {
        Self::Finite(d)
    }
}

impl From<BigInt> for Number {
    fn from(i: BigInt) -> Self {
        Self::Finite(BigDecimal::new(i, 0))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.canonical(), other.canonical()) {
            (
                Canonical::Finite {
                    negative: an,
                    digits: ad,
                    exp: ae,
                },
                Canonical::Finite {
                    negative: bn,
                    digits: bd,
                    exp: be,
                },
            ) => {
                let class = |neg: bool, d: &str| match (neg, d.is_empty()) {
                    (_, true) => 0,
                    (true, false) => -1,
                    (false, false) => 1,
                };
                let (ac, bc) = (class(an, &ad), class(bn, &bd));
                match ac.cmp(&bc) {
                    Ordering::Equal if ac == 0 => Ordering::Equal,
                    Ordering::Equal if ac > 0 => cmp_magnitude(&ad, ae, &bd, be),
                    Ordering::Equal => cmp_magnitude(&bd, be, &ad, ae),
                    unequal => unequal,
                }
            }
            (a, b) => rank(&a).cmp(&rank(&b)),
        }
    }
}

fn rank(c: &Canonical) -> i8 {
    match c {
        Canonical::NegInf => -1,
        Canonical::Finite { .. } => 0,
        Canonical::PosInf => 1,
    }
}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical().hash(state);
    }
}

impl fmt::Display for Number {
    /// Plain decimal (`-0.5`, `300`, `123456789012345678901234567890`);
    /// exponent notation (`1.5e2000`) only when plain form would need more
    /// than 1024 padding zeros. Infinities print as `Infinity`/`-Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Canonical::Finite {
            negative,
            digits,
            exp,
        } = self.canonical()
        else {
            return f.write_str(if matches!(self, Self::NegInf) {
                "-Infinity"
            } else {
                "Infinity"
            });
        };
        if digits.is_empty() {
            return f.write_str("0");
        }
        if negative {
            f.write_str("-")?;
        }
        let n = digits.len() as i128;
        let point = n + exp;
        if (0..=PLAIN_ZEROS_LIMIT).contains(&exp) {
            f.write_str(&digits)?;
            return f.write_str(&"0".repeat(exp as usize));
        }
        if exp < 0 && point > 0 {
            let (whole, frac) = digits.split_at(point as usize);
            return write!(f, "{whole}.{frac}");
        }
        if exp < 0 && -point <= PLAIN_ZEROS_LIMIT {
            return write!(f, "0.{}{digits}", "0".repeat((-point) as usize));
        }
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            write!(f, "{first}e{}", point - 1)
        } else {
            write!(f, "{first}.{rest}e{}", point - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        match Number::parse(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parse_and_display_table() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("-0.5", "-0.5"),
            ("1.00", "1"),
            ("+12.340", "12.34"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("1.5e-3", "0.0015"),
            ("0.000", "0"),
            ("00012", "12"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1e400", &format!("1{}", "0".repeat(400))),
            ("1e2000", "1e2000"),
            ("-1.5e-2000", "-1.5e-2000"),
            ("inf", "Infinity"),
            ("-Infinity", "-Infinity"),
            ("+INF", "Infinity"),
        ];
        for (input, want) in cases {
            assert_eq!(n(input).to_string(), want, "{input}");
            assert_eq!(n(want), n(input), "{input}");
        }
    }

    #[test]
    fn parse_errors() {
        let too_many = "1".repeat(MAX_SIGNIFICANT_DIGITS + 1);
        let bad = [
            "",
            "-",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "1x",
            "--1",
            "1..2",
            "0x10",
            " 1",
            "1 ",
            "NaN",
            "1e1000000001",
            "1e-99999999999999999999999999",
            "infinit",
            &too_many,
        ];
        for input in bad {
            assert!(Number::parse(input).is_err(), "{input:?}");
        }
        // Leading/trailing zeros do not count as significant digits.
        let padded = format!("000{}1{}", "0".repeat(20_000), "0".repeat(20_000));
        assert!(Number::parse(&padded).is_ok());
    }

    #[test]
    fn equality_ordering_and_hash_by_value() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |x: &Number| {
            let mut h = DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        };
        let same = [
            (Number::from(1), n("1.0")),
            (n("1.00"), Number::from(1u64)),
            (
                n("100"),
                Number::Finite(BigDecimal::new(BigInt::from(1), -2)),
            ),
            (n("0"), n("-0.0")),
            (Number::from_f64(-0.0).unwrap_or(Number::PosInf), n("0")),
        ];
        for (a, b) in same {
            assert_eq!(a, b);
            assert_eq!(hash(&a), hash(&b));
        }
        let ascending = [
            "-Infinity",
            "-1e2000",
            "-10",
            "-9.99",
            "-1",
            "-0.5",
            "0",
            "1e-2000",
            "0.001",
            "0.5",
            "1",
            "1.5",
            "9.99",
            "10",
            "11",
            "1e400",
            "Infinity",
        ];
        for pair in ascending.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(n(pair[1]) > n(pair[0]));
        }
    }

    #[test]
    fn integer_conversions() {
        assert_eq!(n("300").to_i64(), Some(300));
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(n("18446744073709551615").to_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551616").to_u64(), None);
        assert_eq!(n("-1").to_u64(), None);
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("1e30").to_i64(), None);
        assert_eq!(n("1e1000000").to_i64(), None);
        assert_eq!(Number::PosInf.to_i64(), None);
        assert!(n("1e3").is_integer());
        assert!(n("2.000").is_integer());
        assert!(!n("2.5").is_integer());
        assert!(!Number::NegInf.is_integer());
    }

    #[test]
    fn float_conversions() {
        assert_eq!(Number::from_f64(0.1), Some(n("0.1")));
        assert_eq!(Number::from_f64(1.5), Some(n("1.5")));
        assert_eq!(Number::from_f64(1e300), Some(n("1e300")));
        assert_eq!(Number::from_f64(f64::INFINITY), Some(Number::PosInf));
        assert_eq!(Number::from_f64(f64::NAN), None);
        assert!(Number::try_from(f64::NAN).is_err());
        assert_eq!(Number::from_f32(0.1), Some(n("0.1")));
        assert_eq!(n("0.1").to_f64(), 0.1);
        assert_eq!(n("-2.5").to_f64(), -2.5);
        assert_eq!(n("1e400").to_f64(), f64::INFINITY);
        assert_eq!(n("-1e400").to_f64(), f64::NEG_INFINITY);
        assert_eq!(n("1e-400").to_f64(), 0.0);
        assert_eq!(Number::NegInf.to_f64(), f64::NEG_INFINITY);
        assert_eq!(n("1.5").to_f64_exact(), Some(1.5));
        assert_eq!(n("-0.125").to_f64_exact(), Some(-0.125));
        assert_eq!(n("0.1").to_f64_exact(), None);
        assert_eq!(n("9007199254740993").to_f64_exact(), None);
        assert_eq!(
            n("1180591620717411303424").to_f64_exact(),
            Some(2f64.powi(70))
        );
        assert_eq!(n("1e400").to_f64_exact(), None);
        let tiny = exact_decimal_of_f64(f64::from_bits(1));
        assert_eq!(tiny.to_f64_exact(), Some(f64::from_bits(1)));
    }
}
