//! The mapping file format, as serde types; `docs/mapping-language.md` documents every key.
//! Unknown keys are errors, so a typo never silently disables a mapping.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::transform::TransformSpec;

/// One mapping file: `mappings/<connector>/<resource>.yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The vendor's "no value" is `""` (some vendors clear a field by emptying it): reads of
    /// `""` are null (except `title`, which is never null) and writes of null send `""`.
    #[serde(default)]
    pub empty_string_is_null: bool,
    /// Unified field name → how it is read from and written to the vendor record.
    pub fields: SpannedMap<FieldSpec>,
    /// Unified `filter[...]` key → the vendor filter it becomes. Keys not listed are answered
    /// with `UnsupportedFiltersError`.
    #[serde(default)]
    pub filters: SpannedMap<FilterSpec>,
    /// Unified `sort[by]` value → the vendor field to sort on.
    #[serde(default)]
    pub sort: SpannedMap<SortSpec>,
    /// Named connector hooks that reshape the vendor body after the fields are written, for
    /// what no field mapping can express (say, association objects built from id lists).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub write_hooks: Vec<Spanned<String>>,
}

/// A map in file order, with the location of each key so that errors point at the key.
/// A repeated key is an error.
#[derive(Debug)]
pub struct SpannedMap<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for SpannedMap<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SpannedMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
            type Value = SpannedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map keyed by unified names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpannedMap<T>, A::Error> {
                let mut entries: Vec<(Spanned<String>, T)> = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    if entries.iter().any(|(n, _)| n.value == name.value) {
                        return Err(de::Error::custom(format!("duplicate key {:?}", name.value)));
                    }
                    let value = map.next_value()?;
                    entries.push((name, value));
                }
                Ok(SpannedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// How a unified equality filter becomes a vendor filter: one vendor field with transforms on
/// the value, or a table of unified values (for derived fields such as a status).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub field: Option<String>,
    #[serde(default)]
    #[schemars(with = "Vec<TransformSpec>")]
    pub transforms: Vec<Spanned<TransformSpec>>,
    pub cases: Option<BTreeMap<String, FilterCase>>,
}

/// The vendor filter that stands for one unified value.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterCase {
    pub field: String,
    pub value: Value,
}

/// The vendor field a unified sort key sorts on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortSpec {
    pub field: String,
}

/// How one unified field maps; a field with no `write` cannot be stored at this vendor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub read: Option<ReadSpec>,
    #[schemars(with = "Option<WriteSpec>")]
    pub write: Option<Spanned<WriteSpec>>,
}

/// Vendor record → unified value: one or more source paths (the first that yields a value
/// wins) or a list of cases, then transforms, then a default when nothing was found. A list
/// of objects (`emails`) is read from a vendor list with `from` and `each`, or made from the
/// record's own fields with `items`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    #[schemars(with = "Option<PathList>")]
    pub from: Option<Spanned<PathList>>,
    pub cases: Option<Vec<CaseSpec>>,
    /// Instead of `from`: paths whose values are joined into one text with `separator` (a
    /// first and a last name); the parts the record lacks are left out, and with none there
    /// is nothing.
    #[schemars(with = "Option<Vec<String>>")]
    pub join: Option<Spanned<Vec<String>>>,
    /// Between joined parts; nothing when absent.
    pub separator: Option<String>,
    /// With `join`: every part or nothing (a date and a time that only mean one together).
    #[serde(default)]
    pub whole: bool,
    /// With `from` naming a vendor list: how each of its elements becomes one unified item,
    /// by item property, with paths relative to the element (`$` is the element).
    #[schemars(with = "Option<std::collections::BTreeMap<String, ReadSpec>>")]
    pub each: Option<Spanned<SpannedMap<ReadSpec>>>,
    /// Unified items made from the record's own fields, one map of item properties each
    /// (HubSpot's `email` and `phone`); an item that reads nothing is left out.
    #[schemars(with = "Option<Vec<std::collections::BTreeMap<String, ReadSpec>>>")]
    pub items: Option<Spanned<Vec<SpannedMap<ReadSpec>>>>,
    #[serde(default)]
    #[schemars(with = "Vec<TransformSpec>")]
    pub transforms: Vec<Spanned<TransformSpec>>,
    pub default: Option<Value>,
}

/// `value`, or what the record has at `from`, when the vendor value at `when` equals
/// `equals`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    #[schemars(with = "String")]
    pub when: Spanned<String>,
    pub equals: Value,
    /// A constant; `null` is one.
    #[serde(default, deserialize_with = "given")]
    pub value: Option<Value>,
    /// A path read instead of a constant (the one `parent.id` of a record whose
    /// `parent.type` says what it is).
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
}

/// A value that is there, `null` included: absent is `None`.
fn given<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Unified value → vendor body: transforms, then set at `to` (objects on the way are created).
/// A list of objects (`emails`) is written as a vendor list at `to` with `each`, or into the
/// record's own fields with `items`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteSpec {
    #[schemars(with = "Option<String>")]
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<TransformSpec>")]
    pub transforms: Vec<Spanned<TransformSpec>>,
    /// The operations that may write the field; all when absent.
    pub on: Option<Vec<WriteOperation>>,
    /// With `to` naming a vendor list: how each unified item becomes one of its elements, by
    /// item property, with paths relative to the element (`$` is the element).
    #[schemars(with = "Option<std::collections::BTreeMap<String, WriteSpec>>")]
    pub each: Option<Spanned<SpannedMap<WriteSpec>>>,
    /// Places in the record's own fields, one item each (HubSpot's `phone` and `mobilephone`):
    /// an item goes to the first free place whose `when` it matches, else to the first free
    /// place without one.
    #[schemars(with = "Option<Vec<WriteSlot>>")]
    pub items: Option<Spanned<Vec<WriteSlot>>>,
    /// Constants set beside the value, by path, whenever a value is written (Copper's
    /// `parent.type` beside `parent.id`). Fields whose writes have `with` may share `to`:
    /// they are alternatives for one vendor slot, and a write giving two is refused.
    #[schemars(with = "Option<std::collections::BTreeMap<String, Value>>")]
    pub with: Option<Spanned<SpannedMap<Value>>>,
}

/// One place for a unified item among the record's own fields: the item properties it writes,
/// and the values an item must have to go there (`when: {type: mobile}`); without `when`, any
/// item may.
#[derive(Debug, Default)]
pub struct WriteSlot {
    pub when: Vec<(Spanned<String>, String)>,
    pub properties: SpannedMap<WriteSpec>,
}

impl<'de> Deserialize<'de> for WriteSlot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SlotVisitor;
        impl<'de> Visitor<'de> for SlotVisitor {
            type Value = WriteSlot;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of item properties, with an optional `when`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WriteSlot, A::Error> {
                let mut slot = WriteSlot::default();
                let mut when = false;
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    let repeated = if name.value == "when" {
                        std::mem::replace(&mut when, true)
                    } else {
                        slot.properties.0.iter().any(|(n, _)| n.value == name.value)
                    };
                    if repeated {
                        return Err(de::Error::custom(format!("duplicate key {:?}", name.value)));
                    }
                    if name.value == "when" {
                        let values: SpannedMap<String> = map.next_value()?;
                        slot.when = values.0;
                    } else {
                        let spec = map.next_value()?;
                        slot.properties.0.push((name, spec));
                    }
                }
                Ok(slot)
            }
        }
        deserializer.deserialize_map(SlotVisitor)
    }
}

impl JsonSchema for WriteSlot {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WriteSlot".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let property = generator.subschema_for::<WriteSpec>();
        json_schema!({
            "description": "Item property → where it is written; `when` gives the item values this place takes.",
            "type": "object",
            "properties": {
                "when": { "type": "object", "additionalProperties": { "type": "string" } }
            },
            "additionalProperties": property
        })
    }
}

/// A write operation a field can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteOperation {
    Create,
    Update,
}

/// One JSONPath or a list of them (tried in order).
#[derive(Debug)]
pub struct PathList(pub Vec<String>);

impl<'de> Deserialize<'de> for PathList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PathsVisitor;
        impl<'de> Visitor<'de> for PathsVisitor {
            type Value = PathList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSONPath or a list of JSONPaths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathList, E> {
                Ok(PathList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PathList, A::Error> {
                let mut paths = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    paths.push(p);
                }
                if paths.is_empty() {
                    return Err(de::Error::invalid_length(0, &"at least one JSONPath"));
                }
                Ok(PathList(paths))
            }
        }
        deserializer.deserialize_any(PathsVisitor)
    }
}

impl<T: JsonSchema> JsonSchema for SpannedMap<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let values = generator.subschema_for::<T>();
        json_schema!({ "type": "object", "additionalProperties": values })
    }
}

impl JsonSchema for PathList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PathList".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A JSONPath (RFC 9535) or a list of them, tried in order.",
            "anyOf": [
                { "type": "string", "pattern": "^\\$" },
                { "type": "array", "items": { "type": "string", "pattern": "^\\$" }, "minItems": 1 }
            ]
        })
    }
}
