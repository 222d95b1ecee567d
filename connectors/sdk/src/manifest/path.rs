//! Record paths: where something lives in a vendor's JSON answer (`$.data`,
//! `$.paging.next.after`, `$.errors[*]`). A small subset of JSONPath — names, indexes and `[*]`,
//! no filters or recursion — so every path has one obvious meaning and can be read without a
//! query engine.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

/// A parsed record path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPath {
    source: String,
    segments: Vec<Segment>,
}

/// One step of a [`RecordPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A member of an object (`.name` or `['any name']`).
    Key(String),
    /// An element of an array (`[0]`).
    Index(usize),
    /// Every element of an array (`[*]`).
    Each,
}

impl RecordPath {
    /// Parses `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("{text:?} is not a record path ($, .name, ['name'], [0], [*]): {why}")
        };
        let Some(mut rest) = text.strip_prefix('$') else {
            return Err(bad("it must start with $"));
        };
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(after.len());
                if end == 0 {
                    return Err(bad(
                        "a `.` must be followed by a name (use ['...'] for other characters)",
                    ));
                }
                segments.push(Segment::Key(after[..end].to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after
                    .find(']')
                    .ok_or_else(|| bad("a `[` is never closed"))?;
                let inner = &after[..end];
                segments.push(match inner {
                    "*" => Segment::Each,
                    _ if inner.len() >= 2
                        && (inner.starts_with('\'') && inner.ends_with('\'')
                            || inner.starts_with('"') && inner.ends_with('"')) =>
                    {
                        Segment::Key(inner[1..inner.len() - 1].to_owned())
                    }
                    _ => Segment::Index(
                        inner
                            .parse()
                            .map_err(|_| bad("brackets hold an index, * or a quoted name"))?,
                    ),
                });
                rest = &after[end + 1..];
            } else {
                return Err(bad("expected `.` or `[`"));
            }
        }
        Ok(Self {
            source: text.to_owned(),
            segments,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The steps from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The whole document (`$`).
    pub fn root() -> Self {
        Self {
            source: "$".to_owned(),
            segments: Vec::new(),
        }
    }

    /// Every value the path finds in a parsed document, in document order (`[*]` finds each
    /// element); used on error bodies and lookup answers, which are small.
    pub fn find_all<'a>(&self, doc: &'a serde_json::Value) -> Vec<&'a serde_json::Value> {
        use serde_json::Value;
        let mut found = vec![doc];
        for segment in &self.segments {
            found = found
                .into_iter()
                .flat_map(|v| -> Vec<&Value> {
                    match (segment, v) {
                        (Segment::Key(k), Value::Object(map)) => map.get(k).into_iter().collect(),
                        (Segment::Index(i), Value::Array(items)) => {
                            items.get(*i).into_iter().collect()
                        }
                        (Segment::Each, Value::Array(items)) => items.iter().collect(),
                        _ => Vec::new(),
                    }
                })
                .collect();
        }
        found
    }

    /// The first value the path finds that is not null.
    pub fn find<'a>(&self, doc: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.find_all(doc).into_iter().find(|v| !v.is_null())
    }

    /// One member of the root (`$.name`).
    pub fn member(name: &str) -> Self {
        Self {
            source: format!("$.{name}"),
            segments: vec![Segment::Key(name.to_owned())],
        }
    }

    /// A document holding `value` at this path and nothing else (`$.id.record_id`, `"x"` →
    /// `{"id": {"record_id": "x"}}`); an index or `[*]` on the way holds it in a list.
    pub fn place(&self, value: serde_json::Value) -> serde_json::Value {
        self.segments
            .iter()
            .rev()
            .fold(value, |inner, segment| match segment {
                Segment::Key(k) => {
                    serde_json::Value::Object([(k.clone(), inner)].into_iter().collect())
                }
                Segment::Index(_) | Segment::Each => serde_json::Value::Array(vec![inner]),
            })
    }
}

impl fmt::Display for RecordPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for RecordPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RecordPath::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RecordPath {
    fn schema_name() -> Cow<'static, str> {
        "RecordPath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^\\$",
            "description": "Where a value lives in a JSON answer: `$` then `.name`, `['name']`, `[0]` or `[*]`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_indexes_and_wildcards_parse() {
        let path = RecordPath::parse("$.additional_data['next cursor'][0].items[*].id").unwrap();
        assert_eq!(
            path.segments(),
            [
                Segment::Key("additional_data".into()),
                Segment::Key("next cursor".into()),
                Segment::Index(0),
                Segment::Key("items".into()),
                Segment::Each,
                Segment::Key("id".into()),
            ]
        );
        assert!(RecordPath::parse("$").unwrap().segments().is_empty());
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["data", "$.", "$..id", "$[?(@.a)]", "$[", "$.a b", "$x"] {
            assert!(RecordPath::parse(bad).is_err(), "{bad}");
        }
    }
}
