//! The mapping file format, as serde types; `docs/mapping-language.md` documents every key.
//! Unknown keys are errors, so a typo never silently disables a mapping.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::transform::TransformSpec;

/// One mapping file: `mappings/<connector>/<resource>.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The vendor's "no value" is `""` (HubSpot clears a property by emptying it): reads of
    /// `""` are null (except `title`, which is never null) and writes of null send `""`.
    #[serde(default)]
    pub empty_string_is_null: bool,
    /// Unified field name → how it is read from and written to the vendor record.
    pub fields: FieldSpecs,
}

/// The `fields` map, in file order, with the location of each key so that errors point at the
/// field's name.
#[derive(Debug)]
pub struct FieldSpecs(pub Vec<(Spanned<String>, Spanned<FieldSpec>)>);

impl<'de> Deserialize<'de> for FieldSpecs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = FieldSpecs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of unified field names to mappings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldSpecs, A::Error> {
                let mut fields: Vec<(Spanned<String>, Spanned<FieldSpec>)> = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    if fields.iter().any(|(n, _)| n.value == name.value) {
                        return Err(de::Error::custom(format!(
                            "duplicate field {:?}",
                            name.value
                        )));
                    }
                    let spec = map.next_value()?;
                    fields.push((name, spec));
                }
                Ok(FieldSpecs(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// How one unified field maps; a field with no `write` cannot be stored at this vendor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub read: Option<ReadSpec>,
    pub write: Option<Spanned<WriteSpec>>,
}

/// Vendor record → unified value: one or more source paths (the first that yields a value
/// wins) or a list of cases, then transforms, then a default when nothing was found.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    pub from: Option<Spanned<PathList>>,
    pub cases: Option<Vec<CaseSpec>>,
    #[serde(default)]
    pub transforms: Vec<Spanned<TransformSpec>>,
    pub default: Option<Value>,
}

/// `value` when the vendor value at `when` equals `equals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    pub when: Spanned<String>,
    pub equals: Value,
    pub value: Value,
}

/// Unified value → vendor body: transforms, then set at `to` (objects on the way are created).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteSpec {
    pub to: Spanned<String>,
    #[serde(default)]
    pub transforms: Vec<Spanned<TransformSpec>>,
    /// The operations that may write the field; all when absent.
    pub on: Option<Vec<WriteOperation>>,
}

/// A write operation a field can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
