//! Vendor record → unified record, written straight into the response buffer: values are
//! borrowed from the vendor record and copied only when a transform or a coercion changes them.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::compile::{FieldMapping, MappingTable, ReadRule, Source};
use super::lookup::{Context, Lookups, Wanted};
use super::path::{CompiledPath, Found};
use super::tenant::TenantMappings;
use super::transform::{decimal_number, without_catalogs};
use crate::unified::{FieldKind, parse_date};

/// What of each record the client asked to see, and the tenant's layers.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordView<'a> {
    /// `fields=`: the top-level fields to write; all when `None`. `title` is always written,
    /// since Apideck's SDKs reject a record without it.
    pub fields: Option<&'a [String]>,
    pub tenant: Option<&'a TenantMappings>,
}

impl RecordView<'_> {
    fn wants(&self, name: &str) -> bool {
        name == "title" || self.fields.is_none_or(|f| f.iter().any(|n| n == name))
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
            if !view.wants(field.def.name) {
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
        if !custom.is_empty() && view.wants("custom_mappings") {
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

    /// Per catalog a read rule names, the distinct keys `records` carry at the rule's source
    /// (after the transforms before the catalog transform, such as a `split`), for the caller
    /// to resolve before mapping. A catalog needed whole (custom fields told apart only by
    /// the catalog) comes with no keys; one no record needs is left out.
    pub fn lookup_keys(
        &self,
        records: &[Value],
        tenant: Option<&TenantMappings>,
    ) -> Vec<(String, Vec<String>)> {
        let mut wanted = Wanted::default();
        for field in &self.fields {
            let Some((before, step)) = field.read.as_ref().and_then(ReadRule::catalog_step) else {
                continue;
            };
            let over = tenant.and_then(|t| t.override_for(field.def.name));
            for record in records {
                let value = self
                    .source(field, over, record)
                    .and_then(|v| without_catalogs(before, v));
                if let Some(value) = value {
                    step.keys(&value, &mut wanted);
                }
            }
        }
        wanted.into_list()
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
            (None, Some(Source::Cases(cases))) => cases
                .iter()
                .find(
                    |c| matches!(c.when.find(record), Found::One(v) if loosely_equal(v, &c.equals)),
                )
                .map_or_else(null, |c| Cow::Borrowed(&c.value)),
            (None, Some(Source::Nothing)) => null(),
            (None, None) => return None,
        })
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
        let read: Option<&ReadRule> = field.read.as_ref();
        let null = || Cow::Owned(Value::Null);
        let mut value = self.source(field, over, record)?;
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
                    value = null();
                    break;
                }
            }
        }
        if value.is_null()
            && let Some(default) = read.and_then(|r| r.default.as_ref())
        {
            value = Cow::Borrowed(default);
        }
        Some(coerce(field.def.name, field.def.kind, value))
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

/// Writes a JSON array of unified records, naming ids from `lookups`.
pub fn write_records(
    table: &MappingTable,
    records: &[Value],
    view: &RecordView<'_>,
    lookups: &Lookups,
    out: &mut Vec<u8>,
) {
    out.push(b'[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        table.write_record(record, view, lookups, out);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::is_utc_timestamp;

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
