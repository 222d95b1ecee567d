//! The unified model: what clients read and write, with Apideck's exact wire names.
//!
//! Reads are written straight to the output buffer by the mapping engine, guided by the field
//! tables here; writes are validated by the typed input structs here and then mapped from the
//! client's JSON, so that an explicit `null` (clear the field) differs from an absent property.

mod currency;
mod decimal;
mod opportunity;

use std::fmt;

use chrono::{DateTime, NaiveDate};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};

pub use currency::{CURRENCY_CODES, Currency};
pub use decimal::{MAX_DECIMALS, MAX_INTEGER_DIGITS, UnifiedDecimal, plain_decimal};
pub use opportunity::{
    OPPORTUNITIES, OPPORTUNITY_FIELDS, OPPORTUNITY_FILTERS, OPPORTUNITY_SORTS, OpportunityWrite,
};

use crate::error::Error;

/// How a unified field is typed on the wire; the mapping engine coerces vendor values to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An id: always a JSON string, numbers from the vendor are written as their digits.
    Id,
    /// `title`: a string that is never null, since Apideck's SDKs reject a null title.
    Title,
    String,
    /// A decimal number written with the digits the vendor gave, never through a float.
    Decimal,
    Currency,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 in UTC.
    DateTime,
    Bool,
    IdList,
    StringList,
    CustomFields,
    CustomMappings,
}

/// The type of a `filter[...]` value; query strings carry text, so numbers are parsed and
/// checked before they reach a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    String,
    Number,
}

/// What a unified resource offers for lists: its fields, filter keys and sort keys.
#[derive(Debug, Clone, Copy)]
pub struct ResourceDef {
    pub fields: &'static [FieldDef],
    pub filters: &'static [(&'static str, FilterKind)],
    pub sorts: &'static [&'static str],
}

/// One property of a unified resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Response-only in the contract: ignored in write bodies, and a mapping may not write it.
    pub read_only: bool,
}

/// A vendor field without a unified equivalent, as Apideck's `CustomField`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub value: Value,
}

impl CustomField {
    /// The contract requires `id` or `name`, so the connector knows which vendor field it is.
    pub fn check(&self) -> Result<(), Error> {
        if self.id.is_none() && self.name.is_none() {
            return Err(Error::validation(
                "Invalid property custom_fields: each item needs an id or a name",
                serde_json::json!({ "invalid": [{ "custom_fields": "id or name required" }] }),
            ));
        }
        Ok(())
    }
}

/// One `pass_through[]` item of a write body: changes applied to the vendor body of one service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassThrough {
    pub service_id: String,
    pub operation_id: Option<String>,
    pub extend_object: Option<Map<String, Value>>,
    pub extend_paths: Option<Vec<ExtendPath>>,
}

/// One `extend_paths[]` item: set `value` at the JSONPath `path` of the vendor body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendPath {
    pub path: String,
    pub value: Value,
}

/// A `YYYY-MM-DD` date in a write body.
#[derive(Debug, Clone, Copy)]
pub struct UnifiedDate(pub NaiveDate);

impl<'de> Deserialize<'de> for UnifiedDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = UnifiedDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date as YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UnifiedDate, E> {
                parse_date(v)
                    .map(UnifiedDate)
                    .ok_or_else(|| E::custom(format!("invalid date {v:?}, expected YYYY-MM-DD")))
            }
        }
        deserializer.deserialize_str(DateVisitor)
    }
}

/// An RFC 3339 timestamp in a write body.
#[derive(Debug, Clone, Copy)]
pub struct UnifiedDateTime;

impl<'de> Deserialize<'de> for UnifiedDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateTimeVisitor;
        impl Visitor<'_> for DateTimeVisitor {
            type Value = UnifiedDateTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as 2020-09-30T07:43:32.000Z")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UnifiedDateTime, E> {
                DateTime::parse_from_rfc3339(v)
                    .map(|_| UnifiedDateTime)
                    .map_err(|_| E::custom(format!("invalid timestamp {v:?}, expected RFC 3339")))
            }
        }
        deserializer.deserialize_str(DateTimeVisitor)
    }
}

/// Parses exactly `YYYY-MM-DD` (chrono's format parser would also take `2020-1-5`, and
/// re-reads its format string on every call, which shows on the read path).
pub fn parse_date(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}
