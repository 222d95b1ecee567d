//! Reading a vendor answer at a record path without parsing it into a tree: each step skips
//! what it does not need, and the value found stays a borrowed slice of the answer, so a page
//! of records costs one pass over its bytes before the records taken are parsed.

use std::borrow::Cow;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::manifest::{RecordPath, Segment};

/// The value at `path` in `body`; `None` when a step finds nothing (a missing member, an index
/// past the end, a step into something that is not an object or an array). `[*]` finds
/// nothing here: the paths read this way name one value.
pub fn at<'a>(body: &'a [u8], path: &RecordPath) -> serde_json::Result<Option<&'a RawValue>> {
    let mut segments = path.segments().iter();
    let Some(first) = segments.next() else {
        return serde_json::from_slice(body).map(Some);
    };
    let mut found = step(&mut serde_json::Deserializer::from_slice(body), first)?;
    for segment in segments {
        let Some(here) = found else { return Ok(None) };
        found = step(&mut serde_json::Deserializer::from_str(here.get()), segment)?;
    }
    Ok(found)
}

/// The text of the value at `path`: a string as it is, a number or a boolean as its JSON text;
/// `None` for null, nothing, or an object or array.
pub fn text_at(body: &[u8], path: &RecordPath) -> serde_json::Result<Option<String>> {
    let Some(raw) = at(body, path)? else {
        return Ok(None);
    };
    Ok(match serde_json::from_str::<Value>(raw.get())? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn step<'a, R: serde_json::de::Read<'a>>(
    de: &mut serde_json::Deserializer<R>,
    segment: &Segment,
) -> serde_json::Result<Option<&'a RawValue>> {
    match segment {
        Segment::Key(name) => de.deserialize_any(Find::Member(name)),
        Segment::Index(i) => de.deserialize_any(Find::Element(*i)),
        Segment::Each => de.deserialize_any(IgnoredAny).map(|_| None),
    }
}

/// What one step looks for.
#[derive(Clone, Copy)]
enum Find<'k> {
    Member(&'k str),
    Element(usize),
}

/// An object key, borrowed from the answer unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match self {
                Find::Member(name) if found.is_none() && key == name => {
                    found = Some(map.next_value::<&'de RawValue>()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0;
        loop {
            if matches!(self, Find::Element(want) if want == i && found.is_none()) {
                match seq.next_element::<&'de RawValue>()? {
                    Some(raw) => found = Some(raw),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> RecordPath {
        RecordPath::parse(text).unwrap()
    }

    #[test]
    fn finds_members_and_elements_and_nothing_elsewhere() {
        let body = br#"{"data":[{"id":1},{"id":2}],"additional_data":{"next_cursor":"abc"},"n":7,"e\"k":3}"#;
        assert_eq!(
            at(body, &path("$.data[1]")).unwrap().unwrap().get(),
            r#"{"id":2}"#
        );
        assert_eq!(
            text_at(body, &path("$.additional_data.next_cursor")).unwrap(),
            Some("abc".to_owned())
        );
        assert_eq!(text_at(body, &path("$.n")).unwrap(), Some("7".to_owned()));
        assert_eq!(
            text_at(body, &path("$['e\"k']")).unwrap(),
            Some("3".to_owned())
        );
        assert!(at(body, &path("$.data[2]")).unwrap().is_none());
        assert!(at(body, &path("$.n.deeper")).unwrap().is_none());
        assert!(at(body, &path("$.missing")).unwrap().is_none());
        assert_eq!(at(b"[1, 2]", &path("$")).unwrap().unwrap().get(), "[1, 2]");
        assert!(at(b"{\"a\": ", &path("$.a")).is_err(), "a cut-off answer");
    }
}
