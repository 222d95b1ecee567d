//! Names for what vendors key by ids: the `lookup` and `custom_fields` transforms, which read a
//! connection's lookup catalogs (declared under `lookups:` in the connector's manifest). The
//! engine stays synchronous and pure: callers resolve the catalogs a request needs (the
//! table's [`MappingTable::lookup_keys`] and [`MappingTable::write_lookups`] say which) and
//! pass them in as [`Lookups`].
//!
//! [`MappingTable::lookup_keys`]: super::MappingTable::lookup_keys
//! [`MappingTable::write_lookups`]: super::MappingTable::write_lookups

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crmgate_connector_sdk::{FieldNames, recently_added, text};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The catalogs one request resolved, by the names the manifest gives them. A catalog that is
/// absent is one the vendor refused to name: reads leave its ids unnamed, writes find nothing.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    // A request holds a handful of catalogs; a scan beats hashing their names.
    catalogs: Vec<(String, Arc<FieldNames>)>,
}

impl Lookups {
    /// Adds a resolved catalog, replacing one of the same name.
    pub fn insert(&mut self, name: &str, names: Arc<FieldNames>) {
        match self.catalogs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = names,
            None => self.catalogs.push((name.to_owned(), names)),
        }
    }

    /// The catalog named `name`, if the request resolved it.
    pub fn get(&self, name: &str) -> Option<&FieldNames> {
        self.catalogs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, names)| &**names)
    }
}

/// What a `lookup` reads for an id its catalog does not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The id itself, as text: a deleted label still on old records stays visible.
    #[default]
    Id,
    /// Null (and, in a list, no item): for fields whose unified value is only ever a name.
    Null,
}

// `missing: null` is YAML's null, not the text "null": both spellings mean `Null`.
impl<'de> Deserialize<'de> for Missing {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MissingVisitor;
        impl<'de> Visitor<'de> for MissingVisitor {
            type Value = Missing;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`id` or `null`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Missing, E> {
                match v {
                    "id" => Ok(Missing::Id),
                    "null" => Ok(Missing::Null),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<Missing, E> {
                Ok(Missing::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Missing, E> {
                Ok(Missing::Null)
            }
        }
        deserializer.deserialize_any(MissingVisitor)
    }
}

impl JsonSchema for Missing {
    fn schema_name() -> Cow<'static, str> {
        "Missing".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What a lookup reads for an id its catalog does not name: the id as text (`id`, the default) or null (`null`).",
            "enum": ["id", "null", null]
        })
    }
}

/// How a vendor holds its custom fields.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CustomFieldsShape {
    /// `{key: value}`.
    Object {
        /// Only the keys the catalog names are custom fields (the container holds the vendor's
        /// own fields too); they are listed sorted by key. Otherwise every key is listed, and
        /// a key the catalog lacks has a null name.
        #[serde(default)]
        only_known: bool,
        #[serde(default)]
        values: FieldValues,
        /// Custom fields are the members whose name starts with this, the rest of the name
        /// being the field's key (Close keeps `"custom.cf_…"` members among a record's own,
        /// read with `from: $`); writes put it back in front of each key.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        prefix: String,
    },
    /// `[{<key>: id, <value>: value}]`.
    List {
        /// The member holding the field's key.
        key: String,
        /// The member holding the field's value.
        value: String,
        /// Keys are written as integers.
        #[serde(default)]
        integer_keys: bool,
    },
}

/// How custom field values are held in an object container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldValues {
    /// As the unified value is.
    #[default]
    AsIs,
    /// As text: `""` reads as null, and writes send null as `""` and numbers and booleans as
    /// their text.
    Text,
}

/// Which way a transform list runs; a catalog transform does opposite things in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Vendor record → unified record.
    Read,
    /// Unified write → vendor body.
    Write,
}

/// What a transform needs at apply time beyond the value: the request's catalogs and the
/// connector's name for messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    pub lookups: &'a Lookups,
    pub vendor: &'a str,
}

impl Context<'_> {
    /// For callers that have no catalogs: every id is unnamed.
    pub const NONE: Context<'static> = Context {
        lookups: &Lookups {
            catalogs: Vec::new(),
        },
        vendor: "",
    };
}

/// Why a transform refused a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TransformError {
    /// The value does not fit the transform; the caller says which field it was.
    Invalid(String),
    /// The client named something the vendor does not have; the message is said as is.
    Unknown(String),
}

impl TransformError {
    pub fn into_message(self) -> String {
        match self {
            TransformError::Invalid(m) | TransformError::Unknown(m) => m,
        }
    }
}

/// `lookup`: ids ↔ labels of one catalog.
#[derive(Debug, Clone)]
pub(super) struct LookupTransform {
    pub catalog: String,
    pub noun: String,
    pub missing: Missing,
    pub direction: Direction,
}

/// `custom_fields`: a vendor container ↔ the unified `[{id, name, value}]`.
#[derive(Debug, Clone)]
pub(super) struct CustomFieldsTransform {
    pub catalog: String,
    pub shape: CustomFieldsShape,
    pub direction: Direction,
}

/// Keys of one text or number id (`5` and `"5"` are the same key).
fn key_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// The key whose label is `wanted`, else `wanted` itself when it is a key: clients write
/// names, or ids they read. Two keys sharing a label resolve to the smaller, every time.
fn key_for<'a>(names: &'a FieldNames, wanted: &str) -> Option<&'a str> {
    names
        .iter()
        .filter(|(_, label)| *label == wanted)
        .map(|(key, _)| key.as_str())
        .min()
        .or_else(|| names.get_key_value(wanted).map(|(key, _)| key.as_str()))
}

// === impl LookupTransform ===

impl LookupTransform {
    pub fn apply(&self, value: &Value, cx: &Context<'_>) -> Result<Value, TransformError> {
        let names = cx.lookups.get(&self.catalog);
        match (self.direction, value) {
            (_, Value::Null) => Ok(Value::Null),
            (Direction::Read, Value::Array(items)) => items
                .iter()
                .filter_map(|id| self.name(id, names).transpose())
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            (Direction::Read, id) => self.name(id, names).map(|n| n.unwrap_or(Value::Null)),
            (Direction::Write, Value::Array(items)) => items
                .iter()
                .map(|v| self.key(v, names, cx.vendor))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            (Direction::Write, v) => self.key(v, names, cx.vendor),
        }
    }

    /// The label of one id; `None` for an item that reads as nothing.
    fn name(
        &self,
        id: &Value,
        names: Option<&FieldNames>,
    ) -> Result<Option<Value>, TransformError> {
        if id.is_null() {
            return Ok(None);
        }
        let key = key_text(id)
            .ok_or_else(|| TransformError::Invalid(format!("{id} is not an id to look up")))?;
        Ok(match (names.and_then(|n| n.get(&*key)), self.missing) {
            (Some(label), _) => Some(Value::String(label.clone())),
            (None, Missing::Id) => Some(Value::String(key.into_owned())),
            (None, Missing::Null) => None,
        })
    }

    /// The key of one label or id the client gave.
    fn key(
        &self,
        given: &Value,
        names: Option<&FieldNames>,
        vendor: &str,
    ) -> Result<Value, TransformError> {
        let text = key_text(given)
            .ok_or_else(|| TransformError::Invalid(format!("{given} is not a name or an id")))?;
        names
            .and_then(|n| key_for(n, &text))
            .map(|key| Value::String(key.to_owned()))
            .ok_or_else(|| {
                TransformError::Unknown(format!(
                    "A {vendor} {} named {text:?} does not exist.{}",
                    self.noun,
                    recently_added()
                ))
            })
    }

    /// The ids a read value carries, or the names and ids a write value gives, for the
    /// catalog to cover.
    pub fn keys(&self, value: &Value, wanted: &mut Wanted) {
        let items = match value {
            Value::Array(items) => &items[..],
            one => std::slice::from_ref(one),
        };
        for key in items.iter().filter_map(key_text) {
            wanted.add(&self.catalog, &key);
        }
    }

    /// [`Self::keys`] of a read value's JSON text (valid), without parsing it; `false` where
    /// the text cannot be read so.
    pub fn keys_text(&self, value: &str, wanted: &mut Wanted) -> bool {
        let items = if value.starts_with('[') {
            match text::items(value) {
                Ok(items) => items,
                Err(_) => return false,
            }
        } else {
            vec![value]
        };
        for key in items.into_iter().filter_map(scalar_key) {
            wanted.add(&self.catalog, &key);
        }
        true
    }
}

/// The items of a list of fields (`[{key, value}]`), as [`CustomFieldsTransform::read`] keeps
/// them: those with a scalar key, in order.
fn write_list_text(
    container: &str,
    key: &str,
    value: &str,
    names: Option<&FieldNames>,
    out: &mut Vec<u8>,
) -> bool {
    let Some(items) = container
        .starts_with('[')
        .then(|| text::items(container).ok())
        .flatten()
    else {
        return false;
    };
    let mut first = true;
    for item in items {
        let (mut id, mut found) = (None, None);
        if item.starts_with('{')
            && text::members(item, |name, member| {
                let name = name.name();
                if name == key {
                    id = Some(member);
                }
                if name == value {
                    found = Some(member);
                }
            })
            .is_err()
        {
            return false;
        }
        let Some(id) = id.and_then(scalar_key) else {
            continue;
        };
        if !write_field_text(out, &mut first, &id, names, found) {
            return false;
        }
    }
    true
}

/// The members of an object of fields (`{key: value}`), as [`CustomFieldsTransform::read`]
/// keeps them: ordered by key, a key named twice as the later one, only those the catalog
/// names when `only_known`.
fn write_object_text(
    container: &str,
    only_known: bool,
    values: FieldValues,
    prefix: &str,
    names: Option<&FieldNames>,
    out: &mut Vec<u8>,
) -> bool {
    if !container.starts_with('{') {
        return false;
    }
    let known = |key: &str| !only_known || names.is_some_and(|n| n.contains_key(key));
    if only_known && names.is_none_or(FieldNames::is_empty) {
        return true;
    }
    let mut fields: Vec<(Cow<'_, str>, &str)> = Vec::new();
    let read = text::members(container, |key, value| {
        let key = match key.name() {
            Cow::Borrowed(k) => k.strip_prefix(prefix).map(Cow::Borrowed),
            Cow::Owned(k) => k.strip_prefix(prefix).map(|k| Cow::Owned(k.to_owned())),
        };
        if let Some(key) = key.filter(|k| known(k)) {
            fields.push((key, value));
        }
    });
    if read.is_err() {
        return false;
    }
    fields.reverse();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.dedup_by(|a, b| a.0 == b.0);
    let mut first = true;
    for (key, value) in fields {
        let value = match (values, value) {
            (FieldValues::Text, "\"\"") => "null",
            (_, value) => value,
        };
        if !write_field_text(out, &mut first, &key, names, Some(value)) {
            return false;
        }
    }
    true
}

/// One unified custom field, `{"id", "name", "value"}`, its value from the vendor's text;
/// `false` when that text does not parse.
fn write_field_text(
    out: &mut Vec<u8>,
    first: &mut bool,
    id: &str,
    names: Option<&FieldNames>,
    value: Option<&str>,
) -> bool {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.extend_from_slice(b"{\"id\":");
    write_json(out, id);
    out.extend_from_slice(b",\"name\":");
    write_json(out, &names.and_then(|n| n.get(id)));
    out.extend_from_slice(b",\"value\":");
    match value {
        None => out.extend_from_slice(b"null"),
        Some(v) if written_as_is(v) => out.extend_from_slice(v.as_bytes()),
        Some(v) => match serde_json::from_str::<Value>(v) {
            Ok(parsed) => write_json(out, &parsed),
            Err(_) => return false,
        },
    }
    out.push(b'}');
    true
}

/// Whether serde_json writes a parse of this JSON text (valid) as the same text.
fn written_as_is(value: &str) -> bool {
    match value.as_bytes().first() {
        Some(b'"') => !value.contains('\\'),
        Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => true,
        _ => false,
    }
}

fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("writing to a Vec cannot fail");
}

/// [`key_text`] of a value's JSON text: a string's contents, a number as written.
fn scalar_key(value: &str) -> Option<Cow<'_, str>> {
    match value.as_bytes().first() {
        Some(b'"' | b'-' | b'0'..=b'9') => text::scalar(value),
        _ => None,
    }
}

// === impl CustomFieldsTransform ===

/// One unified custom field.
fn unified_field(id: String, name: Option<&String>, value: Value) -> Value {
    let mut field = Map::new();
    field.insert("id".to_owned(), Value::String(id));
    field.insert(
        "name".to_owned(),
        name.map_or(Value::Null, |n| Value::String(n.clone())),
    );
    field.insert("value".to_owned(), value);
    Value::Object(field)
}

impl CustomFieldsTransform {
    pub fn apply(&self, value: &Value, cx: &Context<'_>) -> Result<Value, TransformError> {
        let names = cx.lookups.get(&self.catalog);
        match self.direction {
            Direction::Read if value.is_null() => Ok(Value::Null),
            Direction::Read => self.read(value, names).map_err(TransformError::Invalid),
            Direction::Write => self.write(value, names, cx.vendor),
        }
    }

    /// A read written from the container's JSON text (valid) as [`Self::apply`] and
    /// serde_json would write it: values as the vendor wrote them when that is how serde_json
    /// writes them too (numbers, literals, strings without escapes), parsed and written
    /// otherwise. `false`, with nothing written, for a write, and for text that is not such a
    /// container, which the tree answers.
    pub fn write_text(
        &self,
        container: &str,
        names: Option<&FieldNames>,
        out: &mut Vec<u8>,
    ) -> bool {
        let start = out.len();
        out.push(b'[');
        let done = match (self.direction, &self.shape) {
            (Direction::Read, CustomFieldsShape::List { key, value, .. }) => {
                write_list_text(container, key, value, names, out)
            }
            (
                Direction::Read,
                CustomFieldsShape::Object {
                    only_known,
                    values,
                    prefix,
                },
            ) => write_object_text(container, *only_known, *values, prefix, names, out),
            (Direction::Write, _) => false,
        };
        if !done {
            out.truncate(start);
            return false;
        }
        out.push(b']');
        true
    }

    /// The container as `[{id, name, value}]`; values are copied, the container is not.
    fn read(&self, container: &Value, names: Option<&FieldNames>) -> Result<Value, String> {
        let name_of = |key: &str| names.and_then(|n| n.get(key));
        match (&self.shape, container) {
            (
                CustomFieldsShape::Object {
                    only_known,
                    values,
                    prefix,
                },
                Value::Object(fields),
            ) => {
                let mut list: Vec<(&str, Value)> = Vec::new();
                for (key, value) in fields {
                    let Some(key) = key.strip_prefix(prefix.as_str()) else {
                        continue;
                    };
                    let name = name_of(key);
                    if *only_known && name.is_none() {
                        continue;
                    }
                    let value = match (values, value) {
                        (FieldValues::Text, Value::String(s)) if s.is_empty() => Value::Null,
                        _ => value.clone(),
                    };
                    list.push((key, unified_field(key.to_owned(), name, value)));
                }
                // Known keys come in the container's order, which need not be sorted.
                if *only_known {
                    list.sort_by(|a, b| a.0.cmp(b.0));
                }
                Ok(Value::Array(list.into_iter().map(|(_, f)| f).collect()))
            }
            (CustomFieldsShape::List { key, value, .. }, Value::Array(items)) => Ok(Value::Array(
                items
                    .iter()
                    .filter_map(|item| {
                        let id = item.get(key).and_then(key_text)?;
                        let value = item.get(value).cloned().unwrap_or(Value::Null);
                        Some(unified_field(id.to_string(), name_of(&id), value))
                    })
                    .collect(),
            )),
            (CustomFieldsShape::Object { .. }, other) => {
                Err(format!("{other} is not an object of custom fields"))
            }
            (CustomFieldsShape::List { .. }, other) => {
                Err(format!("{other} is not a list of custom fields"))
            }
        }
    }

    /// The unified list as the vendor's container; every field must be one the catalog has.
    fn write(
        &self,
        value: &Value,
        names: Option<&FieldNames>,
        vendor: &str,
    ) -> Result<Value, TransformError> {
        let items = match value {
            Value::Null => &[][..],
            Value::Array(items) => &items[..],
            other => {
                return Err(TransformError::Invalid(format!(
                    "{other} is not a list of custom fields"
                )));
            }
        };
        let empty = FieldNames::new();
        let names = names.unwrap_or(&empty);
        match &self.shape {
            CustomFieldsShape::Object { values, prefix, .. } => {
                let mut out = Map::new();
                for item in items {
                    let key = field_key(names, item, vendor)?;
                    let value = item.get("value").cloned().unwrap_or(Value::Null);
                    let value = match (values, value) {
                        (FieldValues::AsIs, v) => v,
                        (FieldValues::Text, Value::Null) => Value::String(String::new()),
                        (FieldValues::Text, v @ Value::String(_)) => v,
                        (FieldValues::Text, other) => Value::String(other.to_string()),
                    };
                    out.insert(format!("{prefix}{key}"), value);
                }
                Ok(Value::Object(out))
            }
            CustomFieldsShape::List {
                key: key_member,
                value: value_member,
                integer_keys,
            } => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let key = field_key(names, item, vendor)?;
                    let key = if *integer_keys {
                        key.parse::<u64>().map(Value::from).map_err(|_| {
                            TransformError::Unknown(format!(
                                "{key:?} is not a {vendor} custom field id."
                            ))
                        })?
                    } else {
                        Value::String(key.to_owned())
                    };
                    let mut field = Map::new();
                    field.insert(key_member.clone(), key);
                    field.insert(
                        value_member.clone(),
                        item.get("value").cloned().unwrap_or(Value::Null),
                    );
                    out.push(Value::Object(field));
                }
                Ok(Value::Array(out))
            }
        }
    }

    /// Whether a read needs the whole catalog (see [`Self::read_keys`]).
    pub fn needs_whole_catalog(&self) -> bool {
        self.direction == Direction::Read
            && matches!(
                self.shape,
                CustomFieldsShape::Object {
                    only_known: true,
                    ..
                }
            )
    }

    /// The keys a read container carries, or the ids and names a write gives, for the catalog
    /// to cover.
    pub fn keys(&self, value: &Value, wanted: &mut Wanted) {
        match self.direction {
            Direction::Read => self.read_keys(value, wanted),
            Direction::Write => self.write_keys(value, wanted),
        }
    }

    /// With `only_known`, the whole catalog is needed, since the container cannot tell its
    /// custom fields apart.
    fn read_keys(&self, container: &Value, wanted: &mut Wanted) {
        match (&self.shape, container) {
            (
                CustomFieldsShape::Object {
                    only_known: true, ..
                },
                _,
            ) => {
                wanted.whole(&self.catalog);
            }
            (CustomFieldsShape::Object { prefix, .. }, Value::Object(fields)) => {
                for key in fields
                    .keys()
                    .filter_map(|k| k.strip_prefix(prefix.as_str()))
                {
                    wanted.add(&self.catalog, key);
                }
            }
            (CustomFieldsShape::List { key, .. }, Value::Array(items)) => {
                for id in items.iter().filter_map(|i| i.get(key).and_then(key_text)) {
                    wanted.add(&self.catalog, &id);
                }
            }
            _ => {}
        }
    }

    /// [`Self::keys`] of a read container's JSON text (valid), for a list of fields: the key of
    /// each item read where it lies. `false` for the other shapes, which the tree answers.
    pub fn keys_text(&self, container: &str, wanted: &mut Wanted) -> bool {
        let (Direction::Read, CustomFieldsShape::List { key, .. }) = (self.direction, &self.shape)
        else {
            return false;
        };
        if !container.starts_with('[') {
            return true;
        }
        let Ok(items) = text::items(container) else {
            return false;
        };
        for item in items.into_iter().filter(|i| i.starts_with('{')) {
            let Ok(id) = text::member(item, key) else {
                return false;
            };
            if let Some(id) = id.and_then(scalar_key) {
                wanted.add(&self.catalog, &id);
            }
        }
        true
    }

    /// The id of each item, else its name (an item with both is written by its id).
    fn write_keys(&self, value: &Value, wanted: &mut Wanted) {
        for item in value.as_array().into_iter().flatten() {
            let given = item
                .get("id")
                .and_then(key_text)
                .or_else(|| item.get("name").and_then(Value::as_str).map(Cow::Borrowed));
            if let Some(given) = given {
                wanted.add(&self.catalog, &given);
            }
        }
    }
}

/// The vendor key of a unified custom field given by id or by name. An unknown id is refused
/// even beside a known name: the client meant that field, which the vendor does not have.
fn field_key<'a>(
    names: &'a FieldNames,
    item: &'a Value,
    vendor: &str,
) -> Result<&'a str, TransformError> {
    let id = item.get("id").and_then(key_text);
    let name = item.get("name").and_then(Value::as_str);
    match (id, name) {
        (Some(id), _) => names
            .get_key_value(&*id)
            .map(|(key, _)| key.as_str())
            .ok_or_else(|| {
                TransformError::Unknown(format!(
                    "{vendor} has no custom field with id {id:?}.{}",
                    recently_added(),
                ))
            }),
        (None, Some(name)) => names
            .iter()
            .filter(|(_, label)| *label == name)
            .map(|(key, _)| key.as_str())
            .min()
            .ok_or_else(|| {
                TransformError::Unknown(format!(
                    "{vendor} has no custom field named {name:?}.{}",
                    recently_added(),
                ))
            }),
        (None, None) => Err(TransformError::Unknown(
            "A custom field needs an id or a name.".to_owned(),
        )),
    }
}

/// The keys a request needs named, per catalog, in first-seen order without duplicates.
#[derive(Debug, Default)]
pub(super) struct Wanted {
    catalogs: Vec<WantedCatalog>,
}

#[derive(Debug)]
struct WantedCatalog {
    name: String,
    keys: Vec<String>,
    seen: HashSet<String>,
    whole: bool,
}

impl Wanted {
    fn entry(&mut self, catalog: &str) -> &mut WantedCatalog {
        let at = match self.catalogs.iter().position(|c| c.name == catalog) {
            Some(at) => at,
            None => {
                self.catalogs.push(WantedCatalog {
                    name: catalog.to_owned(),
                    keys: Vec::new(),
                    seen: HashSet::new(),
                    whole: false,
                });
                self.catalogs.len() - 1
            }
        };
        &mut self.catalogs[at]
    }

    fn add(&mut self, catalog: &str, key: &str) {
        let entry = self.entry(catalog);
        if !entry.whole && !entry.seen.contains(key) {
            entry.seen.insert(key.to_owned());
            entry.keys.push(key.to_owned());
        }
    }

    /// The catalog is needed whole, whatever keys were asked for.
    fn whole(&mut self, catalog: &str) {
        let entry = self.entry(catalog);
        entry.whole = true;
        entry.keys.clear();
    }

    /// Catalogs needed whole (with no keys) or for some keys; one asked for nothing is left out.
    pub fn into_list(self) -> Vec<(String, Vec<String>)> {
        self.catalogs
            .into_iter()
            .filter(|c| c.whole || !c.keys.is_empty())
            .map(|c| (c.name, c.keys))
            .collect()
    }
}
