//! Named value transforms of the mapping language. Each is resolved once when a table loads;
//! applying one is a match on an enum. `null` passes through every transform unchanged, except
//! `constant` (and a `custom_fields` write, which builds an empty container), so that "no value"
//! never turns into a made-up one. The catalog transforms
//! (`lookup`, `custom_fields`, in [`super::lookup`]) also read the request's catalogs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::lookup::{
    Context, CustomFieldsShape, CustomFieldsTransform, Direction, LookupTransform, Missing,
    TransformError, Wanted,
};
use crate::unified::parse_date;

/// Units of a unix timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnixUnit {
    Seconds,
    Milliseconds,
}

/// A transform as written in a mapping file (`- type: scale` with its arguments).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransformSpec {
    /// Numbers and booleans to their text (`1500.5` → `"1500.5"`, digits kept exactly).
    ToString,
    /// Decimal text to a number (`"1500.50"` → `1500.50`); `""` becomes null.
    ToNumber,
    /// A string id made of digits to an integer (`"42"` → `42`), for vendors with numeric ids.
    ToInteger,
    /// Multiplies a number by `factor`, exactly (0–1 ↔ 0–100 with 100 or 0.01).
    Scale { factor: f64 },
    /// `YYYY-MM-DD` → `YYYY-MM-DDT00:00:00.000Z`.
    DateToDatetime,
    /// An RFC 3339 timestamp → its date in UTC.
    DatetimeToDate,
    /// `YYYY-MM-DD` → a vendor date format (chrono syntax, e.g. `%-m/%-d/%Y`).
    FormatDate { format: String },
    /// A vendor date in `format` → `YYYY-MM-DD`.
    ParseDate { format: String },
    /// A vendor timestamp in `format` → RFC 3339 in UTC; a format without an offset (`%z`)
    /// reads the time as UTC, as vendors that drop the offset mean it.
    ParseDatetime { format: String },
    /// An RFC 3339 timestamp → a vendor format (chrono syntax), in UTC.
    FormatDatetime { format: String },
    /// Unix seconds or milliseconds → RFC 3339 in UTC.
    UnixToDatetime { unit: UnixUnit },
    /// RFC 3339 → unix seconds or milliseconds.
    DatetimeToUnix { unit: UnixUnit },
    /// A duration as a clock reads it, `HH:MM` or `HH:MM:SS` (`"01:30"`), → whole seconds.
    DurationToSeconds,
    /// Whole seconds → `HH:MM`, for vendors that keep durations in minutes; seconds that are
    /// not whole minutes are refused rather than rounded.
    SecondsToDuration,
    /// Looks the value up in `map` (keys are the value's text); unknown values become `default`
    /// when one is given, are refused with the map's keys when `strict` (a write value the
    /// vendor cannot take), and pass through unchanged otherwise.
    Enum {
        map: BTreeMap<String, Value>,
        #[serde(default)]
        default: Option<Value>,
        #[serde(default)]
        strict: bool,
    },
    /// Splits text on `separator` into a list; `""` becomes an empty list.
    Split { separator: String },
    /// Joins a list into text with `separator`.
    Join { separator: String },
    /// Always `value`, whatever the input.
    Constant { value: Value },
    /// The value as the member `key` of an object that also holds `with` (a filter on a
    /// typed reference: `5` → `{"id": 5, "type": "person"}`).
    Object {
        key: String,
        #[serde(default)]
        with: BTreeMap<String, Value>,
    },
    /// `""` → null.
    EmptyAsNull,
    /// The value's text inside a text around it, once at `{value}` (Dataverse's lookup binds:
    /// `/accounts({value})`). Only an id-like value (letters, digits, `-`, `_`, `.`) is taken, so
    /// it cannot make the text address something else.
    Wrap { text: String },
    /// Ids ↔ their labels in the connection's catalog `catalog` (lists item by item). Reads
    /// name what the catalog has, and an id it lacks becomes what `missing` says; writes take
    /// labels or ids and give the id, refusing a value the catalog lacks as an unknown `noun`.
    Lookup {
        catalog: String,
        /// What the catalog holds, for the refusal of an unknown write value ("deal label").
        #[serde(default)]
        noun: Option<String>,
        #[serde(default)]
        missing: Missing,
    },
    /// The vendor's custom field container (`shape`) ↔ the unified `[{id, name, value}]`, with
    /// names from the catalog `catalog`; writes take `{id}` or `{name}` with a `value`.
    CustomFields {
        catalog: String,
        shape: CustomFieldsShape,
    },
}

/// A transform ready to apply.
#[derive(Debug, Clone)]
pub enum Transform {
    ToString,
    ToNumber,
    ToInteger,
    Scale(Decimal),
    DateToDatetime,
    DatetimeToDate,
    FormatDate(DateFormat),
    ParseDate(DateFormat),
    ParseDatetime(DateFormat),
    FormatDatetime(DateFormat),
    UnixToDatetime(UnixUnit),
    DatetimeToUnix(UnixUnit),
    DurationToSeconds,
    SecondsToDuration,
    Enum {
        map: BTreeMap<String, Value>,
        default: Option<Value>,
        strict: bool,
    },
    Split(String),
    Join(String),
    Constant(Value),
    Object {
        key: String,
        with: BTreeMap<String, Value>,
    },
    EmptyAsNull,
    Wrap(String, String),
    Lookup(Box<LookupTransform>),
    CustomFields(Box<CustomFieldsTransform>),
}

impl Transform {
    /// Resolves a spec for a read or a write rule; the error says what is wrong with its
    /// arguments.
    pub(super) fn compile(spec: &TransformSpec, direction: Direction) -> Result<Self, String> {
        Ok(match spec {
            TransformSpec::ToString => Transform::ToString,
            TransformSpec::ToNumber => Transform::ToNumber,
            TransformSpec::ToInteger => Transform::ToInteger,
            TransformSpec::Scale { factor } => Transform::Scale(
                Decimal::from_str(&factor.to_string())
                    .or_else(|_| Decimal::from_scientific(&factor.to_string()))
                    .map_err(|_| format!("scale factor {factor} is not a finite decimal"))?,
            ),
            TransformSpec::DateToDatetime => Transform::DateToDatetime,
            TransformSpec::DatetimeToDate => Transform::DatetimeToDate,
            TransformSpec::FormatDate { format } => Transform::FormatDate(DateFormat::new(format)?),
            TransformSpec::ParseDate { format } => Transform::ParseDate(DateFormat::new(format)?),
            TransformSpec::ParseDatetime { format } => {
                Transform::ParseDatetime(DateFormat::new(format)?)
            }
            TransformSpec::FormatDatetime { format } => {
                Transform::FormatDatetime(DateFormat::new(format)?)
            }
            TransformSpec::UnixToDatetime { unit } => Transform::UnixToDatetime(*unit),
            TransformSpec::DatetimeToUnix { unit } => Transform::DatetimeToUnix(*unit),
            TransformSpec::DurationToSeconds => Transform::DurationToSeconds,
            TransformSpec::SecondsToDuration => Transform::SecondsToDuration,
            TransformSpec::Enum {
                default: Some(_),
                strict: true,
                ..
            } => return Err("an enum takes default or strict, not both".to_owned()),
            TransformSpec::Enum {
                map,
                default,
                strict,
            } => Transform::Enum {
                map: map.clone(),
                default: default.clone(),
                strict: *strict,
            },
            TransformSpec::Split { separator } | TransformSpec::Join { separator }
                if separator.is_empty() =>
            {
                return Err("separator must not be empty".to_owned());
            }
            TransformSpec::Split { separator } => Transform::Split(separator.clone()),
            TransformSpec::Join { separator } => Transform::Join(separator.clone()),
            TransformSpec::Constant { value } => Transform::Constant(value.clone()),
            TransformSpec::Object { key, with } if with.contains_key(key) => {
                return Err(format!(
                    "`with` sets {key:?}, which is the value's own member"
                ));
            }
            TransformSpec::Object { key, with } => Transform::Object {
                key: key.clone(),
                with: with.clone(),
            },
            TransformSpec::EmptyAsNull => Transform::EmptyAsNull,
            TransformSpec::Wrap { text } => match text.split_once("{value}") {
                Some((before, after)) if !after.contains("{value}") => {
                    Transform::Wrap(before.to_owned(), after.to_owned())
                }
                _ => return Err(format!("{text:?} must say {{value}} once")),
            },
            TransformSpec::Lookup {
                noun: None,
                catalog,
                ..
            } if direction == Direction::Write => {
                return Err(format!(
                    "a lookup in a write needs `noun`, which names what {catalog:?} holds when a value is not found"
                ));
            }
            TransformSpec::Lookup {
                catalog,
                noun,
                missing,
            } => Transform::Lookup(Box::new(LookupTransform {
                catalog: catalog.clone(),
                noun: noun.clone().unwrap_or_default(),
                missing: *missing,
                direction,
            })),
            TransformSpec::CustomFields { catalog, shape } => {
                Transform::CustomFields(Box::new(CustomFieldsTransform {
                    catalog: catalog.clone(),
                    shape: shape.clone(),
                    direction,
                }))
            }
        })
    }

    /// The catalog the transform reads, if it is a catalog transform.
    pub(super) fn catalog(&self) -> Option<&str> {
        match self {
            Transform::Lookup(l) => Some(&l.catalog),
            Transform::CustomFields(c) => Some(&c.catalog),
            _ => None,
        }
    }

    /// Whether the transform reads custom fields told apart only by the catalog, so a read
    /// needs the whole catalog whatever the record holds.
    pub(super) fn needs_whole_catalog(&self) -> bool {
        matches!(self, Transform::CustomFields(c) if c.needs_whole_catalog())
    }

    /// What of `value` a catalog transform needs its catalog to cover.
    pub(super) fn keys(&self, value: &Value, wanted: &mut Wanted) {
        match self {
            Transform::Lookup(l) => l.keys(value, wanted),
            Transform::CustomFields(c) => c.keys(value, wanted),
            _ => {}
        }
    }

    /// [`Self::keys`] of a value's JSON text, where the transform can read it so; `false`
    /// leaves it to [`Self::keys`].
    pub(super) fn keys_text(&self, value: &str, wanted: &mut Wanted) -> bool {
        match self {
            Transform::Lookup(l) => l.keys_text(value, wanted),
            Transform::CustomFields(c) => c.keys_text(value, wanted),
            _ => true,
        }
    }

    /// Applies the transform with the request's catalogs. A borrowed value is only copied by
    /// the transforms that change values in place; the catalog transforms build their answer
    /// from a reference.
    pub(super) fn apply_in(
        &self,
        value: Cow<'_, Value>,
        cx: &Context<'_>,
    ) -> Result<Value, TransformError> {
        match self {
            Transform::Lookup(l) => l.apply(&value, cx),
            Transform::CustomFields(c) => c.apply(&value, cx),
            other => other
                .apply_value(value.into_owned())
                .map_err(TransformError::Invalid),
        }
    }

    /// Applies the transform without catalogs (a catalog transform then finds no names); the
    /// error describes the value that did not fit.
    pub fn apply(&self, value: Value) -> Result<Value, String> {
        self.apply_in(Cow::Owned(value), &Context::NONE)
            .map_err(TransformError::into_message)
    }

    fn apply_value(&self, value: Value) -> Result<Value, String> {
        if let Transform::Constant(v) = self {
            return Ok(v.clone());
        }
        if value.is_null() {
            return Ok(value);
        }
        match self {
            Transform::ToString => Ok(match value {
                Value::Number(n) => Value::String(n.to_string()),
                Value::Bool(b) => Value::String(b.to_string()),
                Value::String(_) => value,
                other => return Err(format!("cannot turn {other} into text")),
            }),
            Transform::ToNumber => match &value {
                Value::Number(_) => Ok(value),
                Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
                Value::String(s) => decimal_number(s.trim())
                    .map(Value::Number)
                    .ok_or_else(|| format!("{s:?} is not a decimal number")),
                other => Err(format!("{other} is not a decimal number")),
            },
            // A list of ids (label ids, say) becomes a list of integers.
            Transform::ToInteger => match value {
                Value::Array(items) => items
                    .into_iter()
                    .map(to_integer)
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                other => to_integer(other),
            },
            Transform::Scale(factor) => {
                let d = to_decimal(&value)?;
                let scaled = d
                    .checked_mul(*factor)
                    .ok_or_else(|| format!("{value} overflows when scaled"))?;
                Ok(Value::Number(decimal_to_number(scaled)))
            }
            Transform::DateToDatetime => {
                let d = as_date(&value)?;
                Ok(Value::String(format!("{d}T00:00:00.000Z")))
            }
            Transform::DatetimeToDate => {
                let s = as_str(&value)?;
                if let Some(d) = parse_date(s) {
                    return Ok(Value::String(d.to_string()));
                }
                let dt = DateTime::parse_from_rfc3339(s)
                    .map_err(|_| format!("{s:?} is not an RFC 3339 timestamp"))?;
                Ok(Value::String(
                    dt.with_timezone(&Utc).date_naive().to_string(),
                ))
            }
            Transform::FormatDate(format) => {
                let d = as_date(&value)?;
                Ok(Value::String(
                    d.format_with_items(format.items.iter()).to_string(),
                ))
            }
            Transform::ParseDate(format) => {
                let s = as_str(&value)?;
                let mut parsed = chrono::format::Parsed::new();
                chrono::format::parse(&mut parsed, s, format.items.iter())
                    .and_then(|()| parsed.to_naive_date())
                    .map(|d| Value::String(d.to_string()))
                    .map_err(|_| format!("{s:?} is not a date in the format {:?}", format.text))
            }
            Transform::ParseDatetime(format) => {
                let s = as_str(&value)?;
                let mut parsed = chrono::format::Parsed::new();
                chrono::format::parse(&mut parsed, s, format.items.iter())
                    .ok()
                    .and_then(|()| match parsed.offset() {
                        Some(_) => parsed.to_datetime().ok().map(|dt| dt.with_timezone(&Utc)),
                        None => parsed
                            .to_naive_datetime_with_offset(0)
                            .ok()
                            .map(|dt| dt.and_utc()),
                    })
                    .map(|dt| Value::String(dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
                    .ok_or_else(|| {
                        format!("{s:?} is not a timestamp in the format {:?}", format.text)
                    })
            }
            Transform::FormatDatetime(format) => {
                let s = as_str(&value)?;
                let dt = DateTime::parse_from_rfc3339(s)
                    .map_err(|_| format!("{s:?} is not an RFC 3339 timestamp"))?;
                Ok(Value::String(
                    dt.with_timezone(&Utc)
                        .format_with_items(format.items.iter())
                        .to_string(),
                ))
            }
            Transform::UnixToDatetime(unit) => {
                let scale = match unit {
                    UnixUnit::Seconds => 1000,
                    UnixUnit::Milliseconds => 1,
                };
                // Whole numbers, what vendors send, skip the decimal arithmetic.
                let millis = match value.as_i64() {
                    Some(n) => n.checked_mul(scale),
                    None => to_decimal(&value)?
                        .checked_mul(Decimal::from(scale))
                        .and_then(|m| i64::try_from(m.trunc()).ok()),
                }
                .ok_or_else(|| format!("{value} is not a unix timestamp"))?;
                let dt = Utc
                    .timestamp_millis_opt(millis)
                    .single()
                    .ok_or_else(|| format!("{value} is out of range for a timestamp"))?;
                Ok(Value::String(
                    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                ))
            }
            Transform::DatetimeToUnix(unit) => {
                let s = as_str(&value)?;
                let dt = DateTime::parse_from_rfc3339(s)
                    .map_err(|_| format!("{s:?} is not an RFC 3339 timestamp"))?;
                let n = match unit {
                    UnixUnit::Seconds => dt.timestamp(),
                    UnixUnit::Milliseconds => dt.timestamp_millis(),
                };
                Ok(Value::Number(n.into()))
            }
            Transform::DurationToSeconds => {
                let s = as_str(&value)?;
                let parts: Option<Vec<u64>> = s.split(':').map(|p| p.parse().ok()).collect();
                let seconds = match parts.as_deref() {
                    Some(&[h, m]) if m < 60 => h.checked_mul(3600).map(|h| h + m * 60),
                    Some(&[h, m, sec]) if m < 60 && sec < 60 => {
                        h.checked_mul(3600).map(|h| h + m * 60 + sec)
                    }
                    _ => None,
                };
                seconds
                    .map(|n| Value::Number(n.into()))
                    .ok_or_else(|| format!("{s:?} is not a duration as HH:MM or HH:MM:SS"))
            }
            Transform::SecondsToDuration => match value.as_u64() {
                Some(n) if n % 60 == 0 => Ok(Value::String(format!(
                    "{:02}:{:02}",
                    n / 3600,
                    n % 3600 / 60
                ))),
                Some(n) => Err(format!(
                    "{n} seconds is not a whole number of minutes, which this connector keeps"
                )),
                None => Err(format!("{value} is not a whole number of seconds")),
            },
            Transform::Enum {
                map,
                default,
                strict,
            } => {
                let key = match &value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => return Err(format!("{other} cannot be looked up in an enum table")),
                };
                match (map.get(&key), default) {
                    (Some(mapped), _) => Ok(mapped.clone()),
                    (None, Some(default)) => Ok(default.clone()),
                    (None, None) if *strict => Err(format!(
                        "{value} is not supported by this connector; it takes {}",
                        map.keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    (None, None) => Ok(value),
                }
            }
            Transform::Split(separator) => {
                let s = as_str(&value)?;
                Ok(Value::Array(
                    s.split(separator.as_str())
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ))
            }
            Transform::Join(separator) => {
                let Value::Array(items) = &value else {
                    return Err(format!("{value} is not a list"));
                };
                let parts = items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        other => Err(format!("{other} cannot be joined as text")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::String(parts.join(separator)))
            }
            Transform::Wrap(before, after) => {
                let text = match &value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => return Err(format!("{other} cannot be written into a text")),
                };
                let id_like = !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if !id_like {
                    return Err(format!("{text:?} is not an id"));
                }
                Ok(Value::String(format!("{before}{text}{after}")))
            }
            Transform::EmptyAsNull => Ok(match &value {
                Value::String(s) if s.is_empty() => Value::Null,
                _ => value,
            }),
            Transform::Object { key, with } => {
                let wrap = |value: Value| {
                    let mut object = with.clone().into_iter().collect::<Map<String, Value>>();
                    object.insert(key.clone(), value);
                    Value::Object(object)
                };
                // A list of references (contact ids) becomes a list of typed references.
                Ok(match value {
                    Value::Array(items) => Value::Array(items.into_iter().map(wrap).collect()),
                    one => wrap(one),
                })
            }
            Transform::Constant(_) => unreachable!("handled before the null check"),
            Transform::Lookup(_) | Transform::CustomFields(_) => {
                unreachable!("catalog transforms are applied by apply_in")
            }
        }
    }
}

/// `value` through `transforms` without catalogs (the steps before a catalog transform);
/// `None` when one refuses it.
pub(super) fn without_catalogs<'a>(
    transforms: &[Transform],
    value: Cow<'a, Value>,
) -> Option<Cow<'a, Value>> {
    transforms.iter().try_fold(value, |v, t| {
        t.apply_in(v, &Context::NONE).ok().map(Cow::Owned)
    })
}

/// A strftime date format, parsed once when the table compiles rather than on every value.
#[derive(Debug, Clone)]
pub struct DateFormat {
    text: String,
    items: Vec<chrono::format::Item<'static>>,
}

impl DateFormat {
    fn new(format: &str) -> Result<Self, String> {
        chrono::format::StrftimeItems::new(format)
            .parse_to_owned()
            .map(|items| Self {
                text: format.to_owned(),
                items,
            })
            .map_err(|_| format!("{format:?} is not a valid date format"))
    }
}

fn as_str(value: &Value) -> Result<&str, String> {
    value.as_str().ok_or_else(|| format!("{value} is not text"))
}

fn as_date(value: &Value) -> Result<NaiveDate, String> {
    let s = as_str(value)?;
    parse_date(s).ok_or_else(|| format!("{s:?} is not a date as YYYY-MM-DD"))
}

fn to_decimal(value: &Value) -> Result<Decimal, String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        other => return Err(format!("{other} is not a number")),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| format!("{text:?} is not a decimal number"))
}

/// A decimal as a JSON number with its exact digits (trailing zeros after the point dropped).
pub fn decimal_to_number(d: Decimal) -> Number {
    let text = d.normalize().to_string();
    Number::from_str(&text).expect("a normalized decimal is a valid JSON number")
}

/// Decimal text as a JSON number with exactly those digits, if it is one.
pub fn decimal_number(text: &str) -> Option<Number> {
    // JSON's number grammar is stricter than most parsers ("+1", "1." and ".5" are refused),
    // and with arbitrary precision the digits are kept as given.
    serde_json::from_str::<Number>(text).ok()
}

fn to_integer(value: Value) -> Result<Value, String> {
    let text = match &value {
        Value::String(s) => s.as_str(),
        Value::Number(_) => return Ok(value),
        other => return Err(format!("{other} is not an integer id")),
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(|n| Value::Number(n.into()))
            .map_err(|_| format!("{text:?} is too large for an integer id"))
    } else {
        Err(format!("{text:?} is not an integer id"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(spec: TransformSpec) -> Transform {
        Transform::compile(&spec, Direction::Read).unwrap()
    }

    #[test]
    fn decimals_keep_their_digits_both_ways() {
        assert_eq!(
            t(TransformSpec::ToNumber)
                .apply(json!("1500.50"))
                .unwrap()
                .to_string(),
            "1500.50"
        );
        assert_eq!(
            t(TransformSpec::ToNumber)
                .apply(json!("12345678901234567890.12"))
                .unwrap()
                .to_string(),
            "12345678901234567890.12"
        );
        assert_eq!(
            t(TransformSpec::ToNumber).apply(json!("")).unwrap(),
            Value::Null
        );
        assert!(t(TransformSpec::ToNumber).apply(json!("abc")).is_err());
        let n: Value = serde_json::from_str("75000.10").unwrap();
        assert_eq!(
            t(TransformSpec::ToString).apply(n).unwrap(),
            json!("75000.10")
        );
    }

    #[test]
    fn scale_is_exact_in_both_directions() {
        let up = t(TransformSpec::Scale { factor: 100.0 });
        assert_eq!(up.apply(json!("0.3")).unwrap().to_string(), "30");
        assert_eq!(up.apply(json!("0.125")).unwrap().to_string(), "12.5");
        let down = t(TransformSpec::Scale { factor: 0.01 });
        assert_eq!(down.apply(json!(40)).unwrap().to_string(), "0.4");
        assert!(up.apply(json!("x")).is_err());
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(
            t(TransformSpec::DateToDatetime)
                .apply(json!("2020-10-30"))
                .unwrap(),
            json!("2020-10-30T00:00:00.000Z")
        );
        assert!(
            t(TransformSpec::DateToDatetime)
                .apply(json!("2020-13-30"))
                .is_err()
        );
        let to_date = t(TransformSpec::DatetimeToDate);
        assert_eq!(
            to_date.apply(json!("2019-12-07T16:50:06.678Z")).unwrap(),
            json!("2019-12-07")
        );
        assert_eq!(
            to_date.apply(json!("2019-12-07T23:30:00-02:00")).unwrap(),
            json!("2019-12-08")
        );
        let mdy = t(TransformSpec::FormatDate {
            format: "%-m/%-d/%Y".into(),
        });
        assert_eq!(mdy.apply(json!("2020-10-30")).unwrap(), json!("10/30/2020"));
        assert_eq!(mdy.apply(json!("2020-01-05")).unwrap(), json!("1/5/2020"));
        let parse = t(TransformSpec::ParseDate {
            format: "%m/%d/%Y".into(),
        });
        assert_eq!(
            parse.apply(json!("10/30/2020")).unwrap(),
            json!("2020-10-30")
        );
        assert_eq!(parse.apply(json!("1/5/2020")).unwrap(), json!("2020-01-05"));
        let naive = t(TransformSpec::ParseDatetime {
            format: "%Y-%m-%d %H:%M:%S".into(),
        });
        assert_eq!(
            naive.apply(json!("2026-01-02 03:04:05")).unwrap(),
            json!("2026-01-02T03:04:05Z")
        );
        assert!(naive.apply(json!("2026-01-02")).is_err());
        assert!(naive.apply(json!("2026-02-30 03:04:05")).is_err());
        let offset = t(TransformSpec::ParseDatetime {
            format: "%d.%m.%Y %H:%M %z".into(),
        });
        assert_eq!(
            offset.apply(json!("02.01.2026 01:30 -0200")).unwrap(),
            json!("2026-01-02T03:30:00Z")
        );
        let out = t(TransformSpec::FormatDatetime {
            format: "%Y-%m-%d %H:%M:%S".into(),
        });
        assert_eq!(
            out.apply(json!("2026-01-02T05:04:05+02:00")).unwrap(),
            json!("2026-01-02 03:04:05")
        );
        assert!(out.apply(json!("2026-01-02")).is_err());
        let secs = t(TransformSpec::UnixToDatetime {
            unit: UnixUnit::Seconds,
        });
        assert_eq!(
            secs.apply(json!(1601452800)).unwrap(),
            json!("2020-09-30T08:00:00Z")
        );
        let ms = t(TransformSpec::DatetimeToUnix {
            unit: UnixUnit::Milliseconds,
        });
        assert_eq!(
            ms.apply(json!("2020-09-30T08:00:00Z")).unwrap(),
            json!(1601452800000_i64)
        );
        assert!(
            Transform::compile(
                &TransformSpec::FormatDate {
                    format: "%Q".into()
                },
                Direction::Read
            )
            .is_err()
        );
    }

    #[test]
    fn a_value_becomes_a_member_of_an_object_with_constants() {
        let object = t(TransformSpec::Object {
            key: "id".into(),
            with: [("type".to_owned(), json!("person"))].into(),
        });
        assert_eq!(
            object.apply(json!(5)).unwrap(),
            json!({ "id": 5, "type": "person" })
        );
        assert_eq!(object.apply(Value::Null).unwrap(), Value::Null);
        assert_eq!(
            object.apply(json!(["p1", "p2"])).unwrap(),
            json!([{ "id": "p1", "type": "person" }, { "id": "p2", "type": "person" }])
        );
        let clash = TransformSpec::Object {
            key: "id".into(),
            with: [("id".to_owned(), json!(1))].into(),
        };
        assert!(Transform::compile(&clash, Direction::Read).is_err());
    }

    #[test]
    fn a_wrapped_value_cannot_address_anything_else() {
        let bind = t(TransformSpec::Wrap {
            text: "/accounts({value})".into(),
        });
        assert_eq!(
            bind.apply(json!("00000000-0000-0000-0000-00000000000a"))
                .unwrap(),
            json!("/accounts(00000000-0000-0000-0000-00000000000a)")
        );
        assert!(bind.apply(json!("x)/contacts(y")).is_err());
        assert_eq!(bind.apply(Value::Null).unwrap(), Value::Null);
        let twice = TransformSpec::Wrap {
            text: "{value}{value}".into(),
        };
        assert!(Transform::compile(&twice, Direction::Write).is_err());
    }

    #[test]
    fn durations_read_as_a_clock_and_are_written_in_whole_minutes() {
        let read = t(TransformSpec::DurationToSeconds);
        assert_eq!(read.apply(json!("01:30")).unwrap(), json!(5400));
        assert_eq!(read.apply(json!("26:00:15")).unwrap(), json!(93615));
        for bad in ["1:75", "01", "an hour", "01:30:60", ""] {
            assert!(read.apply(json!(bad)).is_err(), "{bad}");
        }
        let write = t(TransformSpec::SecondsToDuration);
        assert_eq!(write.apply(json!(5400)).unwrap(), json!("01:30"));
        assert_eq!(write.apply(json!(0)).unwrap(), json!("00:00"));
        assert_eq!(
            write.apply(json!(90)).unwrap_err(),
            "90 seconds is not a whole number of minutes, which this connector keeps"
        );
        assert!(write.apply(json!(-60)).is_err());
    }

    #[test]
    fn enums_lists_ids_and_constants() {
        let e = t(TransformSpec::Enum {
            map: [("low".to_owned(), json!("Low"))].into(),
            default: None,
            strict: false,
        });
        assert_eq!(e.apply(json!("low")).unwrap(), json!("Low"));
        assert_eq!(
            e.apply(json!("odd")).unwrap(),
            json!("odd"),
            "unknown passes through"
        );
        let strict = t(TransformSpec::Enum {
            map: [
                ("Open".to_owned(), json!("open")),
                ("Won".to_owned(), json!("won")),
            ]
            .into(),
            default: None,
            strict: true,
        });
        assert_eq!(strict.apply(json!("Won")).unwrap(), json!("won"));
        assert_eq!(
            strict.apply(json!("Abandoned")).unwrap_err(),
            "\"Abandoned\" is not supported by this connector; it takes Open, Won"
        );
        assert!(
            Transform::compile(
                &TransformSpec::Enum {
                    map: BTreeMap::new(),
                    default: Some(json!("x")),
                    strict: true,
                },
                Direction::Read
            )
            .is_err()
        );
        let e = t(TransformSpec::Enum {
            map: BTreeMap::new(),
            default: Some(json!("None")),
            strict: false,
        });
        assert_eq!(e.apply(json!("odd")).unwrap(), json!("None"));
        assert_eq!(
            e.apply(Value::Null).unwrap(),
            Value::Null,
            "null is not a value to map"
        );
        let split = t(TransformSpec::Split {
            separator: ";".into(),
        });
        assert_eq!(
            split.apply(json!("a;b;;c")).unwrap(),
            json!(["a", "b", "c"])
        );
        let join = t(TransformSpec::Join {
            separator: ";".into(),
        });
        assert_eq!(join.apply(json!(["a", "b"])).unwrap(), json!("a;b"));
        let int = t(TransformSpec::ToInteger);
        assert_eq!(int.apply(json!("42")).unwrap(), json!(42));
        assert!(int.apply(json!("4x2")).is_err());
        assert_eq!(int.apply(json!(["5", 6])).unwrap(), json!([5, 6]));
        assert!(int.apply(json!(["5", "x"])).is_err());
        assert_eq!(
            t(TransformSpec::Constant { value: json!(3) })
                .apply(Value::Null)
                .unwrap(),
            json!(3)
        );
        assert_eq!(
            t(TransformSpec::EmptyAsNull).apply(json!("")).unwrap(),
            Value::Null
        );
    }
}
