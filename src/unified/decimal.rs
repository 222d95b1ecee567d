//! Decimal numbers of write bodies (`monetary_amount`, `win_probability`): checked against what
//! a CRM can store and rewritten in plain decimal notation, so that a vendor never receives
//! `1E2`, `1e+2` or a number it would round or refuse.

use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Number;

/// Most digits before the decimal point: the widest money column of the supported CRMs holds
/// 18 (a signed 64-bit integer of cents holds 17 whole digits; decimal columns hold 18).
pub const MAX_INTEGER_DIGITS: i64 = 18;

/// Most digits after the decimal point a CRM keeps.
pub const MAX_DECIMALS: i64 = 10;

/// A decimal of a write body, in plain notation with exactly the client's digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedDecimal(pub Number);

impl<'de> Deserialize<'de> for UnifiedDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = Number::deserialize(deserializer)?;
        let plain = plain_decimal(&number.to_string()).map_err(de::Error::custom)?;
        let number = Number::from_str(&plain).map_err(de::Error::custom)?;
        Ok(UnifiedDecimal(number))
    }
}

/// Rewrites JSON number text in plain decimal notation, keeping its digits: the exponent only
/// moves the decimal point (`1E2` → `100`, `1.50E1` → `15.0`, `1.5e-3` → `0.0015`), and
/// trailing zeros the client wrote stay. Refuses numbers with more than [`MAX_INTEGER_DIGITS`]
/// integer digits or more than [`MAX_DECIMALS`] decimals, before building any text, so that
/// `1e1000000000` costs nothing.
pub fn plain_decimal(text: &str) -> Result<String, String> {
    let not_a_number = || format!("{text} is not a decimal number");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty() || !all_digits(integer) || !all_digits(fraction) {
        return Err(not_a_number());
    }
    if mantissa.contains('.') && fraction.is_empty() {
        return Err(not_a_number());
    }
    // An exponent too long for an i64 is far out of range either way; clamping it keeps the
    // arithmetic below in range.
    let exponent = match exponent {
        None => 0,
        Some(e) => {
            let (sign, digits) = match e.as_bytes().first() {
                Some(b'-') => (-1, &e[1..]),
                Some(b'+') => (1, &e[1..]),
                _ => (1, e),
            };
            if digits.is_empty() || !all_digits(digits) {
                return Err(not_a_number());
            }
            sign * digits
                .parse::<i64>()
                .unwrap_or(i64::MAX / 4)
                .min(i64::MAX / 4)
        }
    };
    let digits: String = [integer, fraction].concat();
    let len = digits.len() as i64;
    // Where the decimal point falls in `digits` once the exponent moved it.
    let point = integer.len() as i64 + exponent;
    let first_significant = digits.bytes().position(|b| b != b'0').map(|i| i as i64);
    if let Some(first) = first_significant
        && point - first > MAX_INTEGER_DIGITS
    {
        return Err(format!(
            "{text} has more than {MAX_INTEGER_DIGITS} integer digits, more than a CRM stores"
        ));
    }
    let decimals = (len - point).max(0);
    if decimals > MAX_DECIMALS {
        return Err(format!(
            "{text} has more than {MAX_DECIMALS} decimals, more than a CRM stores"
        ));
    }
    let mut out = String::with_capacity(digits.len() + 24);
    if negative {
        out.push('-');
    }
    // The integer part without leading zeros, padded with the zeros the exponent adds.
    match first_significant {
        Some(first) if first < point => {
            let end = point.min(len) as usize;
            out.push_str(&digits[first as usize..end]);
            for _ in len..point {
                out.push('0');
            }
        }
        _ => out.push('0'),
    }
    if decimals > 0 {
        out.push('.');
        for _ in point..0 {
            out.push('0');
        }
        out.push_str(&digits[point.max(0) as usize..]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_move_the_point_and_keep_the_digits() {
        for (text, plain) in [
            ("1E2", "100"),
            ("1e+2", "100"),
            ("1.50E1", "15.0"),
            ("1.5e-3", "0.0015"),
            ("-2.5e1", "-25"),
            ("0.5e1", "5"),
            ("100e-2", "1.00"),
            ("75000.0", "75000.0"),
            ("12345678901234567.89", "12345678901234567.89"),
            ("0", "0"),
            ("0e400", "0"),
            ("-0.0", "-0.0"),
            ("999999999999999999", "999999999999999999"),
            ("0.0000000001", "0.0000000001"),
            ("123", "123"),
        ] {
            assert_eq!(plain_decimal(text).as_deref(), Ok(plain), "{text}");
        }
    }

    #[test]
    fn what_no_crm_stores_is_refused() {
        for (text, reason) in [
            ("1e400", "integer digits"),
            ("1e99999999999999999999999", "integer digits"),
            ("1000000000000000000", "integer digits"),
            ("1.5e18", "integer digits"),
            ("0.00000000001", "decimals"),
            ("1e-11", "decimals"),
            ("0.30000000000000004", "decimals"),
            ("1e-99999999999999999999999", "decimals"),
        ] {
            let err = plain_decimal(text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(err.starts_with(text), "{text}: {err}");
        }
        assert!(plain_decimal("1.").is_err());
        assert!(plain_decimal("e5").is_err());
        assert!(plain_decimal("1e").is_err());
    }
}
