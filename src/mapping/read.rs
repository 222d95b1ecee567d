//! Vendor record → unified record, written straight into the response buffer: values are
//! borrowed from the vendor record and copied only when a transform or a coercion changes them.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crmgate_connector_sdk::Record;

use super::compile::{CaseValue, FieldMapping, MappingTable, ReadRule, Source, place_count};
use super::lazy::{Place, Text};
use super::lookup::{Context, Lookups, Wanted};
use super::path::{CompiledPath, Found};
use super::tenant::{FieldOverride, TenantMappings};
use super::transform::{Transform, decimal_number, without_catalogs};
use crate::unified::{FieldDef, FieldKind, parse_date};

/// What of each record the client asked to see, and the tenant's layers.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordView<'a> {
    /// `fields=`: the top-level fields to write; all when `None`. The contract's required
    /// fields (an opportunity's `title`, a user's `emails`) are always written, since
    /// Apideck's SDKs reject a record without them.
    pub fields: Option<&'a [String]>,
    pub tenant: Option<&'a TenantMappings>,
}

impl RecordView<'_> {
    fn wants(&self, def: &FieldDef) -> bool {
        def.required || self.wants_name(def.name)
    }

    fn wants_name(&self, name: &str) -> bool {
        self.fields.is_none_or(|f| f.iter().any(|n| n == name))
    }
}

impl MappingTable {
    /// Writes one unified record as a JSON object to `out`, naming ids from `lookups`.
    pub fn write_record(
        &self,
        record: &Value,
        view: &RecordView<'_>,
        lookups: &Lookups,
        out: &mut Vec<u8>,
    ) {
        let cx = Context {
            lookups,
            vendor: &self.vendor,
        };
        out.push(b'{');
        let mut first = true;
        for field in &self.fields {
            if !view.wants(field.def) {
                continue;
            }
            let over = view.tenant.and_then(|t| t.override_for(field.def.name));
            let Some(value) = self.read_field(field, over, record, &cx) else {
                continue;
            };
            key(out, &mut first, field.def.name);
            write_value(out, &value);
        }
        let custom = view.tenant.map_or(&[][..], |t| &t.custom);
        if !custom.is_empty() && view.wants_name("custom_mappings") {
            key(out, &mut first, "custom_mappings");
            out.push(b'{');
            let mut inner_first = true;
            for mapping in custom {
                let value = match mapping.path.find(record) {
                    Found::One(v) => Cow::Borrowed(v),
                    Found::Many(vs) if vs.len() == 1 => Cow::Borrowed(vs[0]),
                    Found::Many(vs) if !vs.is_empty() => {
                        Cow::Owned(Value::Array(vs.into_iter().cloned().collect()))
                    }
                    _ => Cow::Owned(Value::Null),
                };
                key(out, &mut inner_first, &mapping.key);
                write_value(out, &value);
            }
            out.push(b'}');
        }
        out.push(b'}');
    }

    /// What a field reads before its transforms, or `None` when neither the table nor the
    /// tenant maps it.
    fn source<'a>(
        &'a self,
        field: &'a FieldMapping,
        over: Option<&CompiledPath>,
        record: &'a Value,
    ) -> Option<Cow<'a, Value>> {
        let list = matches!(
            field.def.kind,
            FieldKind::IdList | FieldKind::StringList | FieldKind::CustomFields
        );
        let null = || Cow::Owned(Value::Null);
        Some(match (over, field.read.as_ref().map(|r| &r.source)) {
            (Some(path), _) => self.present(path.find(record), list).unwrap_or_else(null),
            (None, Some(Source::Paths(paths))) => paths
                .iter()
                .find_map(|p| self.present(p.find(record), list))
                .unwrap_or_else(null),
            (None, Some(Source::Cases(cases))) => {
                let case = cases.iter().find(
                    |c| matches!(c.when.find(record), Found::One(v) if loosely_equal(v, &c.equals)),
                );
                match case.map(|c| &c.value) {
                    Some(CaseValue::Constant(value)) => Cow::Borrowed(value),
                    Some(CaseValue::Path(path)) => {
                        self.present(path.find(record), list).unwrap_or_else(null)
                    }
                    None => null(),
                }
            }
            (
                None,
                Some(Source::Join {
                    paths,
                    separator,
                    whole,
                }),
            ) => joined(
                paths.iter().map(|p| self.present(p.find(record), false)),
                separator,
                *whole,
            )
            .map_or_else(null, Cow::Owned),
            // Made per property, with the properties' transforms (`read_field`).
            (None, Some(Source::Items(_) | Source::Nothing)) => null(),
            (None, None) => return None,
        })
    }

    /// A list of objects made from the record's own fields, each property read by `read`;
    /// what reads as no item ([`is_item`]) is left out.
    fn made_items(
        items: &[Vec<FieldMapping>],
        kind: FieldKind,
        mut read: impl FnMut(&FieldMapping) -> Value,
    ) -> Value {
        let items = items
            .iter()
            .filter_map(|properties| item(properties, kind, &mut read))
            .collect();
        Value::Array(items)
    }

    /// One item property's value in a tree (a record, or an element of a vendor list).
    fn property(&self, p: &FieldMapping, tree: &Value, cx: &Context<'_>) -> Value {
        let value = self
            .source(p, None, tree)
            .unwrap_or(Cow::Owned(Value::Null));
        self.finish(p, value, cx).into_owned()
    }

    /// Each element of a vendor list as one unified item (`each`).
    fn each_item(
        &self,
        each: &[FieldMapping],
        kind: FieldKind,
        list: &Value,
        cx: &Context<'_>,
    ) -> Value {
        let elements = match list {
            Value::Array(items) => items.as_slice(),
            Value::Object(_) => std::slice::from_ref(list),
            _ => return list.clone(),
        };
        let items = elements
            .iter()
            .filter_map(|element| item(each, kind, |p| self.property(p, element, cx)))
            .collect();
        Value::Array(items)
    }

    /// One field's unified value, or `None` when neither the table nor the tenant maps it. A
    /// tenant override changes where the value is read, not how: the field's transforms and
    /// default still apply, while `cases` give way to the override's path.
    fn read_field<'a>(
        &'a self,
        field: &'a FieldMapping,
        over: Option<&CompiledPath>,
        record: &'a Value,
        cx: &Context<'_>,
    ) -> Option<Cow<'a, Value>> {
        if let (None, Some(Source::Items(items))) = (over, field.read.as_ref().map(|r| &r.source)) {
            return Some(Cow::Owned(Self::made_items(items, field.def.kind, |p| {
                self.property(p, record, cx)
            })));
        }
        let value = self.source(field, over, record)?;
        Some(self.finish(field, value, cx))
    }

    /// A field's source value through its transforms, default and the unified field's type.
    fn finish<'a>(
        &'a self,
        field: &'a FieldMapping,
        mut value: Cow<'a, Value>,
        cx: &Context<'_>,
    ) -> Cow<'a, Value> {
        let read: Option<&ReadRule> = field.read.as_ref();
        for transform in read.map_or(&[][..], |r| &r.transforms) {
            match transform.apply_in(value, cx) {
                Ok(v) => value = Cow::Owned(v),
                Err(reason) => {
                    let reason = reason.into_message();
                    metrics::counter!("crmgate_mapping_errors_total", "field" => field.def.name)
                        .increment(1);
                    tracing::warn!(
                        field = field.def.name,
                        reason,
                        "A vendor value did not fit its mapping; it reads as nothing."
                    );
                    value = Cow::Owned(Value::Null);
                    break;
                }
            }
        }
        if value.is_null()
            && let Some(default) = read.and_then(|r| r.default.as_ref())
        {
            value = Cow::Borrowed(default);
        }
        if let Some(each) = read.and_then(|r| r.each.as_deref())
            && !value.is_null()
        {
            value = Cow::Owned(self.each_item(each, field.def.kind, &value, cx));
        }
        coerce(field.def.name, field.def.kind, value)
    }

    /// A found value, unless it is absent (null, or `""` where the table says so). Several
    /// matches make a list for list fields; other fields take the first match.
    fn present<'a>(&self, found: Found<'a>, list: bool) -> Option<Cow<'a, Value>> {
        let one = |v: &'a Value| match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() && self.empty_string_is_null => None,
            v => Some(Cow::Borrowed(v)),
        };
        match found {
            Found::Nothing => None,
            Found::One(v) => one(v),
            Found::Many(vs) if vs.is_empty() => None,
            Found::Many(vs) if list => {
                Some(Cow::Owned(Value::Array(vs.into_iter().cloned().collect())))
            }
            Found::Many(vs) => vs.into_iter().find_map(one),
        }
    }
}

/// The parts' texts joined with `separator`: strings as they are, numbers and booleans as
/// their JSON text, anything else as no part. `None` when no part is there, or when one is
/// missing and the join is `whole`.
fn joined<'v>(
    parts: impl Iterator<Item = Option<Cow<'v, Value>>>,
    separator: &str,
    whole: bool,
) -> Option<Value> {
    let mut out: Option<String> = None;
    for part in parts {
        let text = match part.as_deref() {
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
            _ => None,
        };
        match (text, &mut out) {
            (None, _) if whole => return None,
            (None, _) => {}
            (Some(text), Some(joined)) => {
                joined.push_str(separator);
                joined.push_str(&text);
            }
            (Some(text), None) => out = Some(text),
        }
    }
    out.map(Value::String)
}

/// Digits with an optional leading minus: a whole number as JSON writes one.
fn whole_digits(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A whole number from decimal text that has no fraction once trailing zeros go (`"20"`,
/// `"20.0"`, `2e1`); `None` for `"20.5"` or text that is no number.
fn whole_number(text: &str) -> Option<serde_json::Number> {
    let n = decimal_number(text)?;
    let plain = crate::unified::plain_decimal(&n.to_string()).ok()?;
    let whole = match plain.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => plain.as_str(),
    };
    whole.parse::<i64>().ok().map(serde_json::Number::from)
}

/// The item the properties read, or `None` when it is no item (see [`is_item`]).
fn item(
    properties: &[FieldMapping],
    kind: FieldKind,
    read: impl FnMut(&FieldMapping) -> Value,
) -> Option<Value> {
    let values: Vec<Value> = properties.iter().map(read).collect();
    is_item(properties, &values, kind).then(|| {
        let item: Map<String, Value> = properties
            .iter()
            .zip(values)
            .map(|(p, v)| (p.def.name.to_owned(), v))
            .collect();
        Value::Object(item)
    })
}

/// Whether an item read has what makes it one: its shape's key property, neither null nor
/// `""`; for a shape without a key, any property read from the vendor that is not null (a
/// `default` alone, such as an address's type, makes no item).
fn is_item(properties: &[FieldMapping], values: &[Value], kind: FieldKind) -> bool {
    let key = match kind {
        FieldKind::Items(shape) => shape.key,
        _ => None,
    };
    let mut read = properties.iter().zip(values);
    match key {
        Some(key) => read.any(|(p, v)| p.def.name == key && !v.is_null() && v.as_str() != Some("")),
        None => read.any(|(p, v)| {
            !v.is_null()
                && !matches!(
                    p.read.as_ref().map(|r| &r.source),
                    Some(Source::Nothing) | None
                )
        }),
    }
}

/// Vendors send booleans as text (`"true"`), so a case's `equals: "true"` matches both.
fn loosely_equal(found: &Value, expected: &Value) -> bool {
    found == expected
        || match (found, expected) {
            (Value::String(s), Value::Bool(b)) | (Value::Bool(b), Value::String(s)) => {
                s.eq_ignore_ascii_case(if *b { "true" } else { "false" })
            }
            (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
                *s == n.to_string()
            }
            _ => false,
        }
}

/// Fits a value to the unified field's wire type. A vendor value that cannot fit is logged
/// and written as the field's nothing (null, `""` or `[]`) rather than breaking the client's
/// deserialiser.
fn coerce<'a>(name: &'static str, kind: FieldKind, value: Cow<'a, Value>) -> Cow<'a, Value> {
    let misfit = |value: &Value| {
        metrics::counter!("crmgate_mapping_errors_total", "field" => name).increment(1);
        tracing::warn!(
            field = name,
            ?kind,
            value_type = type_name(value),
            "A vendor value does not fit the unified field; it reads as nothing."
        );
        Cow::Owned(kind.nothing())
    };
    match (kind, value.as_ref()) {
        (kind, Value::Null) => match kind.nothing() {
            Value::Null => value,
            empty => Cow::Owned(empty),
        },
        (
            FieldKind::Id | FieldKind::Title | FieldKind::String | FieldKind::Currency,
            Value::String(_),
        ) => value,
        (FieldKind::Id | FieldKind::Title | FieldKind::String, Value::Number(n)) => {
            Cow::Owned(Value::String(n.to_string()))
        }
        (FieldKind::String, Value::Bool(b)) => Cow::Owned(Value::String(b.to_string())),
        (FieldKind::Decimal, Value::Number(_)) => value,
        (FieldKind::Decimal, Value::String(s)) if s.trim().is_empty() => Cow::Owned(Value::Null),
        (FieldKind::Decimal, Value::String(s)) => match decimal_number(s.trim()) {
            Some(n) => Cow::Owned(Value::Number(n)),
            None => misfit(&value),
        },
        (FieldKind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => value,
        (FieldKind::Integer, Value::String(s)) if s.trim().is_empty() => Cow::Owned(Value::Null),
        (FieldKind::Integer, Value::Number(_) | Value::String(_)) => {
            let text = match value.as_ref() {
                Value::String(s) => s.trim().to_owned(),
                other => other.to_string(),
            };
            match whole_number(&text) {
                Some(n) => Cow::Owned(Value::Number(n)),
                None => misfit(&value),
            }
        }
        (FieldKind::Date, Value::String(s)) => {
            if parse_date(s).is_some() {
                return value;
            }
            if is_utc_timestamp(s) {
                return Cow::Owned(Value::String(s[..10].to_owned()));
            }
            match DateTime::parse_from_rfc3339(s) {
                Ok(dt) => Cow::Owned(Value::String(
                    dt.with_timezone(&Utc).date_naive().to_string(),
                )),
                Err(_) => misfit(&value),
            }
        }
        (FieldKind::DateTime, Value::String(s)) if is_utc_timestamp(s) => value,
        (FieldKind::DateTime, Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(dt) if dt.offset().local_minus_utc() == 0 && s.ends_with('Z') => value,
            Ok(dt) => Cow::Owned(Value::String(
                dt.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )),
            Err(_) => misfit(&value),
        },
        (FieldKind::Bool, Value::Bool(_)) => value,
        (FieldKind::Bool, Value::String(s)) if s == "true" || s == "false" => {
            Cow::Owned(Value::Bool(s == "true"))
        }
        (FieldKind::IdList | FieldKind::StringList, Value::Array(items)) => {
            if items.iter().all(Value::is_string) {
                return value;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.push(Value::String(s.clone())),
                    Value::Number(n) => out.push(Value::String(n.to_string())),
                    _ => return misfit(&value),
                }
            }
            Cow::Owned(Value::Array(out))
        }
        (FieldKind::IdList | FieldKind::StringList, Value::String(_) | Value::Number(_)) => {
            let item = coerce(name, FieldKind::Id, Cow::Borrowed(value.as_ref())).into_owned();
            Cow::Owned(Value::Array(vec![item]))
        }
        (FieldKind::CustomFields, Value::Array(_)) => value,
        (FieldKind::CustomMappings, Value::Object(_)) => value,
        (FieldKind::Items(_), Value::Array(items)) if items.iter().all(Value::is_object) => value,
        (FieldKind::Object(_), Value::Object(_)) => value,
        _ => misfit(&value),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with every field in range: the shape vendors send most,
/// recognised without a full RFC 3339 parse because it is already what the contract wants.
fn is_utc_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' || parse_date(&s[..10]).is_none() {
        return false;
    }
    let two = |i: usize| -> Option<u8> {
        let (h, l) = (b[i], b[i + 1]);
        (h.is_ascii_digit() && l.is_ascii_digit()).then(|| (h - b'0') * 10 + (l - b'0'))
    };
    let time_ok = b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && two(11).is_some_and(|h| h < 24)
        && two(14).is_some_and(|m| m < 60)
        && two(17).is_some_and(|sec| sec < 61);
    let rest = &b[19..b.len() - 1];
    let fraction_ok = rest.is_empty()
        || (rest[0] == b'.' && rest.len() > 1 && rest[1..].iter().all(u8::is_ascii_digit));
    time_ok && fraction_ok
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Writes `"name":`. Names are unified field names or validated custom mapping keys
/// (letters, digits, `_`, `-`), which need no escaping.
fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    debug_assert!(
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
}

/// A page of vendor records, each walked once for every path the table and the tenant read.
pub struct ReadPage<'r> {
    table: &'r MappingTable,
    view: RecordView<'r>,
    records: Vec<Walked<'r>>,
}

/// One record of a [`ReadPage`].
enum Walked<'r> {
    /// The text at each of the table's and the tenant's places.
    Text {
        table: Vec<Option<&'r str>>,
        tenant: Vec<Option<&'r str>>,
    },
    /// A record a hook rewrote (or, never in practice, text the walk refused).
    Tree(Cow<'r, Value>),
}

impl MappingTable {
    /// Walks each record for what `view` will read of it.
    pub fn read_page<'r>(&'r self, records: &'r [Record], view: RecordView<'r>) -> ReadPage<'r> {
        let records = records
            .iter()
            .map(|r| self.walked(r, view.tenant))
            .collect();
        ReadPage {
            table: self,
            view,
            records,
        }
    }

    fn walked<'r>(&self, record: &'r Record, tenant: Option<&TenantMappings>) -> Walked<'r> {
        let text = match (record.text(), record.tree()) {
            (Some(text), _) => text,
            (None, Some(tree)) => return Walked::Tree(Cow::Borrowed(tree)),
            (None, None) => return Walked::Tree(Cow::Owned(Value::Null)),
        };
        let tenant_walk = tenant.map_or(Ok(Vec::new()), |t| t.plan.walk(text));
        match (self.walk.plan.walk(text), tenant_walk) {
            (Ok(table), Ok(tenant)) => Walked::Text { table, tenant },
            _ => Walked::Tree(Cow::Owned(record.to_value().unwrap_or(Value::Null))),
        }
    }

    /// What a field reads in a walked record before its transforms, as [`Self::source`]
    /// reads it in a tree; `None` when neither the table nor the tenant maps it.
    fn walked_source<'a>(
        &'a self,
        field: &'a FieldMapping,
        places: &[Place],
        over: Option<&'a FieldOverride>,
        slots: &[Option<&'a str>],
        tenant_slots: &[Option<&'a str>],
    ) -> Option<Text<'a>> {
        let list = matches!(
            field.def.kind,
            FieldKind::IdList | FieldKind::StringList | FieldKind::CustomFields
        );
        let pick = |found: Found<'_>| self.present(found, list).map(Cow::into_owned);
        if let Some(over) = over {
            return Some(self.present_text(over.at.find(&over.path, tenant_slots, pick)));
        }
        Some(match field.read.as_ref().map(|r| &r.source) {
            Some(Source::Paths(paths)) => paths
                .iter()
                .zip(places)
                .map(|(path, at)| self.present_text(at.find(path, slots, pick)))
                .find(|t| !matches!(t, Text::Nothing))
                .unwrap_or(Text::Nothing),
            Some(Source::Cases(cases)) => {
                let one = |found: Found<'_>| match found {
                    Found::One(v) => Some(v.clone()),
                    _ => None,
                };
                // A case's places are its `when`, then its `from` if it has one.
                let mut places = places.iter();
                let mut text = Text::Nothing;
                for case in cases {
                    let when = places.next();
                    let from = match &case.value {
                        CaseValue::Path(path) => places.next().map(|at| (path, at)),
                        CaseValue::Constant(_) => None,
                    };
                    let applies = when.is_some_and(|at| match at.find(&case.when, slots, one) {
                        Text::Raw(text) => serde_json::from_str::<Value>(text)
                            .is_ok_and(|v| loosely_equal(&v, &case.equals)),
                        Text::Tree(v) => loosely_equal(&v, &case.equals),
                        Text::Nothing => false,
                    });
                    if applies {
                        text = match (&case.value, from) {
                            (CaseValue::Constant(value), _) => Text::Tree(Cow::Borrowed(value)),
                            (CaseValue::Path(_), Some((path, at))) => {
                                self.present_text(at.find(path, slots, pick))
                            }
                            (CaseValue::Path(_), None) => Text::Nothing,
                        };
                        break;
                    }
                }
                text
            }
            Some(Source::Join {
                paths,
                separator,
                whole,
            }) => {
                let parts = paths.iter().zip(places).map(|(path, at)| {
                    match self.present_text(at.find(path, slots, pick)) {
                        Text::Raw(text) => serde_json::from_str::<Value>(text).ok().map(Cow::Owned),
                        Text::Tree(value) => Some(value),
                        Text::Nothing => None,
                    }
                });
                joined(parts, separator, *whole)
                    .map_or(Text::Nothing, |v| Text::Tree(Cow::Owned(v)))
            }
            // Made per property, with the properties' transforms (`write_walked`).
            Some(Source::Items(_) | Source::Nothing) => Text::Nothing,
            None => return None,
        })
    }

    /// A found text, unless it is absent (null, or `""` where the table says so).
    fn present_text<'a>(&self, text: Text<'a>) -> Text<'a> {
        match text {
            Text::Raw("null") => Text::Nothing,
            Text::Raw("\"\"") if self.empty_string_is_null => Text::Nothing,
            other => other,
        }
    }

    /// Writes one walked record as [`Self::write_record`] writes its tree.
    fn write_walked(
        &self,
        slots: &[Option<&str>],
        tenant_slots: &[Option<&str>],
        view: &RecordView<'_>,
        lookups: &Lookups,
        out: &mut Vec<u8>,
    ) {
        let cx = Context {
            lookups,
            vendor: &self.vendor,
        };
        out.push(b'{');
        let mut first = true;
        for (field, places) in self.fields.iter().zip(&self.walk.fields) {
            if !view.wants(field.def) {
                continue;
            }
            let over = view.tenant.and_then(|t| t.override_of(field.def.name));
            if let (None, Some(Source::Items(items))) =
                (over, field.read.as_ref().map(|r| &r.source))
            {
                let mut rest = places.as_slice();
                let made = Self::made_items(items, field.def.kind, |p| {
                    let (mine, later) = rest.split_at(place_count(p.read.as_ref()));
                    rest = later;
                    let found = self.walked_source(p, mine, None, slots, tenant_slots);
                    let value = found.map_or(Cow::Owned(Value::Null), Text::into_value);
                    self.finish(p, value, &cx).into_owned()
                });
                key(out, &mut first, field.def.name);
                write_value(out, &made);
                continue;
            }
            let Some(found) = self.walked_source(field, places, over, slots, tenant_slots) else {
                continue;
            };
            key(out, &mut first, field.def.name);
            let transforms = field.read.as_ref().map_or(&[][..], |r| &r.transforms);
            let value = match found {
                Text::Raw(text)
                    if transforms.is_empty() && write_plain(field.def.kind, text, out) =>
                {
                    continue;
                }
                Text::Raw(text)
                    if matches!(transforms, [Transform::CustomFields(t)]
                        if t.write_text(text, cx.lookups.get(&t.catalog), out)) =>
                {
                    continue;
                }
                Text::Raw(text) => Cow::Owned(serde_json::from_str(text).unwrap_or(Value::Null)),
                Text::Tree(value) => value,
                Text::Nothing => Cow::Owned(Value::Null),
            };
            write_value(out, &self.finish(field, value, &cx));
        }
        let custom = view.tenant.map_or(&[][..], |t| &t.custom);
        if !custom.is_empty() && view.wants_name("custom_mappings") {
            key(out, &mut first, "custom_mappings");
            out.push(b'{');
            let mut inner_first = true;
            for mapping in custom {
                let found =
                    mapping.at.find(
                        &mapping.path,
                        tenant_slots,
                        |found: Found<'_>| match found {
                            Found::One(v) => Some(v.clone()),
                            Found::Many(vs) if vs.len() == 1 => Some(vs[0].clone()),
                            Found::Many(vs) if !vs.is_empty() => {
                                Some(Value::Array(vs.into_iter().cloned().collect()))
                            }
                            _ => None,
                        },
                    );
                key(out, &mut inner_first, &mapping.key);
                match found {
                    Text::Raw(text) => out.extend_from_slice(text.as_bytes()),
                    Text::Tree(value) => write_value(out, &value),
                    Text::Nothing => out.extend_from_slice(b"null"),
                }
            }
            out.push(b'}');
        }
        out.push(b'}');
    }
}

impl ReadPage<'_> {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Per catalog a read rule names, the distinct keys the records carry at the rule's source
    /// (after the transforms before the catalog transform, such as a `split`), for the caller
    /// to resolve before mapping. A catalog needed whole (custom fields told apart only by
    /// the catalog) comes with no keys; one no record needs is left out.
    pub fn lookup_keys(&self) -> Vec<(String, Vec<String>)> {
        let table = self.table;
        let mut wanted = Wanted::default();
        for (field, places) in table.fields.iter().zip(&table.walk.fields) {
            let Some((before, step)) = field.read.as_ref().and_then(ReadRule::catalog_step) else {
                continue;
            };
            let over = self.view.tenant.and_then(|t| t.override_of(field.def.name));
            for record in &self.records {
                let value = match record {
                    Walked::Tree(tree) => table.source(field, over.map(|o| &*o.path), tree),
                    Walked::Text { .. } if before.is_empty() && step.needs_whole_catalog() => {
                        Some(Cow::Owned(Value::Null))
                    }
                    Walked::Text {
                        table: slots,
                        tenant,
                    } => match table.walked_source(field, places, over, slots, tenant) {
                        Some(Text::Raw(raw))
                            if before.is_empty() && step.keys_text(raw, &mut wanted) =>
                        {
                            None
                        }
                        found => found.map(Text::into_value),
                    },
                };
                if let Some(value) = value.and_then(|v| without_catalogs(before, v)) {
                    step.keys(&value, &mut wanted);
                }
            }
        }
        wanted.into_list()
    }

    /// Writes the page as a JSON array of unified records, naming ids from `lookups`.
    pub fn write(&self, lookups: &Lookups, out: &mut Vec<u8>) {
        out.push(b'[');
        for i in 0..self.records.len() {
            if i > 0 {
                out.push(b',');
            }
            self.write_record(i, lookups, out);
        }
        out.push(b']');
    }

    /// Writes the unified record of the page's record `at` (nothing past the end).
    pub fn write_record(&self, at: usize, lookups: &Lookups, out: &mut Vec<u8>) {
        match self.records.get(at) {
            Some(Walked::Text { table, tenant }) => {
                self.table
                    .write_walked(table, tenant, &self.view, lookups, out);
            }
            Some(Walked::Tree(tree)) => self.table.write_record(tree, &self.view, lookups, out),
            None => {}
        }
    }
}

/// Writes a vendor scalar that needs no transform straight from its text, when its type is
/// already the unified field's; `false` leaves it to the tree reader (a value to convert, a
/// misfit to report, a string with escapes to decode).
fn write_plain(kind: FieldKind, text: &str, out: &mut Vec<u8>) -> bool {
    let number = |b: u8| b == b'-' || b.is_ascii_digit();
    let Some(&first) = text.as_bytes().first() else {
        return false;
    };
    match kind {
        FieldKind::Id | FieldKind::Title | FieldKind::String | FieldKind::Currency
            if first == b'"' =>
        {
            out.extend_from_slice(text.as_bytes());
        }
        FieldKind::Id | FieldKind::Title | FieldKind::String if number(first) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        FieldKind::Decimal if number(first) => out.extend_from_slice(text.as_bytes()),
        FieldKind::Integer if whole_digits(text) => out.extend_from_slice(text.as_bytes()),
        FieldKind::Bool if text == "true" || text == "false" => {
            out.extend_from_slice(text.as_bytes());
        }
        FieldKind::Decimal => match plain_string(text).map(str::trim) {
            Some("") => out.extend_from_slice(b"null"),
            Some(s) => match decimal_number(s) {
                Some(n) => write_value(out, &Value::Number(n)),
                None => return false,
            },
            None => return false,
        },
        FieldKind::Date => match plain_string(text) {
            Some(s) if parse_date(s).is_some() => out.extend_from_slice(text.as_bytes()),
            Some(s) if is_utc_timestamp(s) => {
                out.push(b'"');
                out.extend_from_slice(&s.as_bytes()[..10]);
                out.push(b'"');
            }
            _ => return false,
        },
        FieldKind::DateTime => match plain_string(text) {
            Some(s) if is_utc_timestamp(s) => out.extend_from_slice(text.as_bytes()),
            _ => return false,
        },
        _ => return false,
    }
    true
}

/// The contents of a JSON string without escapes; `None` for anything else.
fn plain_string(text: &str) -> Option<&str> {
    text.strip_prefix('"')?
        .strip_suffix('"')
        .filter(|s| !s.contains('\\'))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::{Value, json};

    use super::{coerce, is_utc_timestamp, whole_digits};
    use crate::unified::FieldKind;

    /// Whole numbers read as whole numbers however the vendor writes them; a fraction does
    /// not fit an integer field and reads as nothing.
    #[test]
    fn integers_are_whole_numbers() {
        let read =
            |v: Value| coerce("display_order", FieldKind::Integer, Cow::Owned(v)).into_owned();
        assert_eq!(read(json!(3)), json!(3));
        assert_eq!(read(json!("20")), json!(20));
        assert_eq!(read(json!("20.00")), json!(20));
        assert_eq!(read(json!(-4)), json!(-4));
        assert_eq!(read(json!(2e1)), json!(20));
        assert_eq!(read(json!("")), Value::Null);
        assert_eq!(read(json!(33.3)), Value::Null);
        assert_eq!(read(json!("seven")), Value::Null);
        assert!(whole_digits("-12") && whole_digits("0"));
        assert!(!whole_digits("1.0") && !whole_digits("-") && !whole_digits("1e3"));
    }

    #[test]
    fn utc_timestamps_are_recognised_by_shape_and_range() {
        for ok in [
            "2019-12-07T16:50:06.678Z",
            "2019-12-07T16:50:06Z",
            "2020-02-29T23:59:60Z",
        ] {
            assert!(is_utc_timestamp(ok), "{ok}");
        }
        for bad in [
            "2019-12-07T16:50:06+02:00",
            "2019-13-07T16:50:06Z",
            "2019-12-07T24:00:00Z",
            "2019-12-07T16:50:06.Z",
            "2019-12-07 16:50:06Z",
            "2019-02-30T10:00:00Z",
        ] {
            assert!(!is_utc_timestamp(bad), "{bad}");
        }
    }
}
