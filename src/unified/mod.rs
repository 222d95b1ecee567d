//! The unified model: what clients read and write, with Apideck's exact wire names.
//!
//! Each resource is declared once, as a [`ResourceModel`] table (`opportunity.rs`): its
//! fields with their wire names, types, read-only flags and write constraints, its filters and
//! sorts. Everything else derives from that table: the write validator (`write.rs`), the field
//! list of `fields=` and of the mapping engine, and the OpenAPI schema (`src/api/openapi.rs`).
//! Reads are written straight to the output buffer by the mapping engine, guided by the table;
//! writes are checked against it and then mapped from the client's JSON, so that an explicit
//! `null` (clear the field) differs from an absent property.

mod activity;
mod company;
mod contact;
mod currency;
mod decimal;
mod items;
mod lead;
mod note;
mod opportunity;
mod pipeline;
mod user;
mod write;

use std::fmt;

use chrono::{DateTime, NaiveDate};
use crmgate_connector_sdk::Resource;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};

pub use activity::ACTIVITIES;
pub use company::COMPANIES;
pub use contact::CONTACTS;
pub use currency::{CURRENCY_CODES, Currency};
pub use decimal::{MAX_DECIMALS, MAX_INTEGER_DIGITS, UnifiedDecimal, plain_decimal};
pub use items::{ADDRESS, BANK_ACCOUNT, EMAIL, PHONE_NUMBER, ROW_TYPE, SOCIAL_LINK, WEBSITE};
pub use lead::LEADS;
pub use note::NOTES;
pub use opportunity::OPPORTUNITIES;
pub use pipeline::{PIPELINE_STAGE, PIPELINES};
pub use user::USERS;
pub use write::UnifiedWrite;

use crate::error::Error;

/// Every unified resource crmgate serves, each declared once. The API serves a route set per
/// entry, and custom mappings may target each; a new resource is a new table here.
pub static MODELS: &[&ResourceModel] = &[
    &OPPORTUNITIES,
    &COMPANIES,
    &CONTACTS,
    &LEADS,
    &NOTES,
    &ACTIVITIES,
    &USERS,
    &PIPELINES,
];

/// The model of a resource, if crmgate serves it.
pub fn model(resource: Resource) -> Option<&'static ResourceModel> {
    MODELS.iter().copied().find(|m| m.resource == resource)
}

/// A unified resource, declared once: its contract names, fields, filters and sorts, and the
/// rules a write body must keep.
#[derive(Debug)]
pub struct ResourceModel {
    pub resource: Resource,
    /// The contract's schema name (`Opportunity`): the OpenAPI component and its envelopes.
    pub schema_name: &'static str,
    /// The contract's plural (`Opportunities`): the operations' tag and the list envelope.
    pub plural_name: &'static str,
    /// What a record is, for the OpenAPI document.
    pub description: &'static str,
    /// Every property in the contract's order, which is also the order of the keys in every
    /// unified record crmgate writes. `pass_through` is write-only, common to every resource's
    /// write body and not listed here.
    pub fields: &'static [FieldDef],
    /// The keys of the contract's filter object, with the type each value has.
    pub filters: &'static [(&'static str, FilterKind)],
    /// The values of the contract's `sort.by`.
    pub sorts: &'static [&'static str],
    /// Properties that name the same thing: a write that gives several must give one value.
    pub synonyms: &'static [Synonym],
}

impl ResourceModel {
    /// The field with this wire name.
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Two properties of one resource that name the same thing, such as an opportunity's
/// `contact_id` and `primary_contact_id`.
#[derive(Debug, Clone, Copy)]
pub struct Synonym {
    pub fields: (&'static str, &'static str),
    /// What both name, for the error when they differ: "the opportunity's primary contact".
    pub names: &'static str,
}

/// How a unified field is typed on the wire; the mapping engine coerces vendor values to it,
/// the write validator checks client values against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An id: always a JSON string, numbers from the vendor are written as their digits.
    Id,
    /// `title`: a string that is never null, since Apideck's SDKs reject a null title.
    Title,
    String,
    /// A decimal number written with the digits the vendor gave, never through a float.
    Decimal,
    /// A whole number (`display_order`); a vendor number with a fraction does not fit.
    Integer,
    /// An ISO 4217 code of Apideck's `Currency` enum.
    Currency,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 in UTC.
    DateTime,
    Bool,
    IdList,
    StringList,
    /// Apideck's `[{id, name, description, value}]`.
    CustomFields,
    /// The tenant's custom mappings, by key.
    CustomMappings,
    /// A list of objects of one shape (`emails`: `[{id, email, type}]`), never null.
    Items(&'static ItemModel),
    /// One object of the shape of an item model (a company's `row_type`: `{id, name}`).
    Object(&'static ItemModel),
}

/// The shape of the objects of an [`FieldKind::Items`] list, as the contract declares it
/// (`Email`, `PhoneNumber`, `PipelineStage`).
#[derive(Debug, PartialEq, Eq)]
pub struct ItemModel {
    /// The contract's schema name.
    pub schema_name: &'static str,
    pub fields: &'static [FieldDef],
    /// The property an item cannot be without (an email's `email`): an item the vendor
    /// leaves it empty in is not an item. Without one, an item needs any property.
    pub key: Option<&'static str>,
}

impl FieldKind {
    /// What a field of this kind reads when the vendor has nothing for it: `""` for a title and
    /// `[]` for a list, which the contract types as never null; `null` for every other kind.
    pub fn nothing(self) -> Value {
        match self {
            FieldKind::Title => Value::String(String::new()),
            FieldKind::IdList
            | FieldKind::StringList
            | FieldKind::CustomFields
            | FieldKind::Items(_) => Value::Array(Vec::new()),
            _ => Value::Null,
        }
    }
}

/// The type of a `filter[...]` value; query strings carry text, so numbers are parsed and
/// checked before they reach a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    String,
    Number,
    /// An RFC 3339 timestamp the record's own must be at or after (`updated_since`), sent on
    /// in UTC.
    Since,
}

/// One property of a unified resource. Built with [`field`] and the `const` methods below, so
/// that a table reads as a list of properties with only what differs spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// The wire name, as the contract spells it.
    pub name: &'static str,
    pub kind: FieldKind,
    /// Response-only in the contract: ignored in write bodies, and a mapping may not write it.
    pub read_only: bool,
    /// A create must give it, and not as `null`.
    pub required: bool,
    /// The values a write may give, matched without regard to case and sent in the spelling
    /// given here, so that every table and vendor sees one spelling; empty for any value.
    /// Reads are not narrowed.
    pub values: &'static [&'static str],
    /// The inclusive range of a decimal a write may give, checked exactly.
    pub range: Option<(i64, i64)>,
    /// What the field holds, for the OpenAPI document.
    pub description: &'static str,
}

/// A writable, optional, unconstrained field.
pub const fn field(name: &'static str, kind: FieldKind, description: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind,
        read_only: false,
        required: false,
        values: &[],
        range: None,
        description,
    }
}

impl FieldDef {
    /// Marks a field the contract marks `readOnly`.
    pub const fn read_only(self) -> Self {
        Self {
            read_only: true,
            ..self
        }
    }

    /// Marks a field a create must give.
    pub const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    /// Limits what a write may give to `values`.
    pub const fn one_of(self, values: &'static [&'static str]) -> Self {
        Self { values, ..self }
    }

    /// Limits a decimal a write may give to `min..=max`.
    pub const fn within(self, min: i64, max: i64) -> Self {
        Self {
            range: Some((min, max)),
            ..self
        }
    }
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
