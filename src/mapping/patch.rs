//! Setting values at JSONPaths in a vendor body: the write side of mapping tables and
//! pass-through `extend_paths`. A singular path creates the objects and arrays missing on its
//! way. An equality filter (`[?@.custom_field_definition_id == 11].value`) writes every element
//! it matches, or appends one built from its tests when none does, which is how vendors that
//! keep custom fields as a list of id/value entries are written. Any other wildcard or filter
//! path writes every existing match.

use std::fmt;

use serde_json::{Map, Value};

use super::path::{CompiledPath, Equality, Found, Step, from_end};

/// Why a value could not be set; names the path so the client can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot set {:?}: {}", self.path, self.reason)
    }
}

/// Sets `value` at `path` in `doc` and answers how many locations were written.
pub fn set(doc: &mut Value, path: &CompiledPath, value: Value) -> Result<usize, PatchError> {
    let fail = |reason| PatchError {
        path: path.as_str().to_owned(),
        reason,
    };
    if let Some(steps) = path.write_steps() {
        return set_steps(doc, steps, value, 0).map_err(fail);
    }
    let matches = path.matches(doc);
    for steps in &matches {
        set_steps(doc, steps, value.clone(), 0).map_err(fail)?;
    }
    Ok(matches.len())
}

/// Merges the members of `object` into the object at the singular `path` (created when
/// missing), so that what other fields wrote there stays.
pub fn merge(
    doc: &mut Value,
    path: &CompiledPath,
    object: Map<String, Value>,
) -> Result<(), PatchError> {
    let fail = |reason: String| PatchError {
        path: path.as_str().to_owned(),
        reason,
    };
    let steps = path
        .singular_steps()
        .ok_or_else(|| fail("a merge needs a path naming one location".to_owned()))?;
    if steps.is_empty() {
        // Into the body itself: its members are added to in place.
        return match doc {
            Value::Object(existing) => {
                existing.extend(object);
                Ok(())
            }
            Value::Null => {
                *doc = Value::Object(object);
                Ok(())
            }
            other => Err(fail(format!(
                "it holds {} where an object is merged",
                kind_of(other)
            ))),
        };
    }
    let mut merged = match path.find(doc) {
        Found::One(Value::Object(existing)) => existing.clone(),
        Found::One(Value::Null) | Found::Nothing => Map::new(),
        Found::One(other) => {
            return Err(fail(format!(
                "it holds {} where an object is merged",
                kind_of(other)
            )));
        }
        Found::Many(_) => return Err(fail("a merge needs one location".to_owned())),
    };
    merged.extend(object);
    set_steps(doc, steps, Value::Object(merged), 0)
        .map(drop)
        .map_err(fail)
}

/// Follows `steps` (the first `done` of the path already taken) and answers how many locations
/// were written.
fn set_steps(doc: &mut Value, steps: &[Step], value: Value, done: usize) -> Result<usize, String> {
    let mut slot = doc;
    for (i, step) in steps.iter().enumerate() {
        let depth = done + i;
        if slot.is_null() {
            *slot = match step {
                Step::Index(_) | Step::FromEnd(_) | Step::Equals(_) => Value::Array(Vec::new()),
                _ => Value::Object(Map::new()),
            };
        }
        slot = match (step, slot) {
            (Step::Name(name), Value::Object(map)) => {
                map.entry(name.to_string()).or_insert(Value::Null)
            }
            (Step::Index(i), Value::Array(items)) => {
                if *i == items.len() {
                    items.push(Value::Null);
                } else if *i > items.len() {
                    return Err(format!(
                        "index {i} is beyond the end of an array of {} items",
                        items.len()
                    ));
                }
                &mut items[*i]
            }
            (Step::FromEnd(k), Value::Array(items)) => {
                let Some(i) = from_end(items.len(), *k) else {
                    return Err(format!(
                        "index -{k} is before the start of an array of {} items",
                        items.len()
                    ));
                };
                &mut items[i]
            }
            (Step::Equals(tests), Value::Array(items)) => {
                return upsert(items, tests, &steps[i + 1..], value, depth + 1);
            }
            (Step::Wildcard, _) => return Err("a wildcard cannot create values".to_owned()),
            (_, other) => {
                return Err(format!(
                    "step {} meets {} where it needs {}",
                    depth + 1,
                    kind_of(other),
                    match step {
                        Step::Index(_) | Step::FromEnd(_) | Step::Equals(_) => "an array",
                        _ => "an object",
                    }
                ));
            }
        };
    }
    *slot = value;
    Ok(1)
}

/// Writes `rest` in every element of `items` that passes `tests`, or in a new element built
/// from the tests (their literals kept exactly, `11` a number and `'11'` a string) when none
/// does.
fn upsert(
    items: &mut Vec<Value>,
    tests: &[Equality],
    rest: &[Step],
    value: Value,
    done: usize,
) -> Result<usize, String> {
    let mut hits: Vec<usize> = (0..items.len())
        .filter(|&i| tests.iter().all(|t| t.holds(&items[i])))
        .collect();
    if hits.is_empty() {
        let mut element = Value::Object(Map::new());
        for test in tests {
            set_steps(&mut element, &test.relative, test.literal.clone(), done)?;
        }
        items.push(element);
        hits.push(items.len() - 1);
    }
    let mut written = 0;
    for i in hits {
        written += set_steps(&mut items[i], rest, value.clone(), done)?;
    }
    Ok(written)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Deep-merges `patch` into `doc`: objects merge key by key, anything else replaces.
pub fn deep_merge(doc: &mut Value, patch: Map<String, Value>) {
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(target) = doc else {
        return;
    };
    for (key, value) in patch {
        match (target.get_mut(&key), value) {
            (Some(existing @ Value::Object(_)), Value::Object(inner)) => {
                deep_merge(existing, inner);
            }
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(p: &str) -> CompiledPath {
        CompiledPath::parse(p).unwrap()
    }

    #[test]
    fn creates_missing_objects_and_arrays() {
        let mut doc = json!({"properties": {"dealname": "A"}});
        set(&mut doc, &path("$.nested.property"), json!(1)).unwrap();
        set(&mut doc, &path("$.list[0].x"), json!("y")).unwrap();
        set(&mut doc, &path("$.properties.amount"), json!("10")).unwrap();
        assert_eq!(
            doc,
            json!({"properties": {"dealname": "A", "amount": "10"}, "nested": {"property": 1}, "list": [{"x": "y"}]})
        );
    }

    #[test]
    fn wildcards_and_filters_write_every_match() {
        let mut doc = json!({"associations": [
            {"types": [{"associationTypeId": 3}]},
            {"types": [{"associationTypeId": 5}]}
        ]});
        let n = set(
            &mut doc,
            &path("$.associations[*].types[0].associationTypeId"),
            json!(9),
        )
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            doc["associations"][1]["types"][0]["associationTypeId"],
            json!(9)
        );
        let n = set(
            &mut doc,
            &path("$.associations[?@.types[0].associationTypeId == 9].x"),
            json!(true),
        )
        .unwrap();
        assert_eq!(
            n, 0,
            "a filter selects existing members only; `x` does not exist yet"
        );
    }

    #[test]
    fn impossible_writes_name_the_path() {
        let mut doc = json!({"a": "scalar", "l": []});
        let err = set(&mut doc, &path("$.a.b"), json!(1)).unwrap_err();
        assert_eq!(err.path, "$.a.b");
        assert!(err.reason.contains("a string"), "{}", err.reason);
        let err = set(&mut doc, &path("$.l[3]"), json!(1)).unwrap_err();
        assert!(err.reason.contains("beyond the end"), "{}", err.reason);
        let err = set(&mut doc, &path("$.l[-1]"), json!(1)).unwrap_err();
        assert_eq!(
            err.reason,
            "index -1 is before the start of an array of 0 items"
        );
        let err = set(&mut doc, &path("$.missing[-1].x"), json!(1)).unwrap_err();
        assert!(err.reason.contains("before the start"), "{}", err.reason);
    }

    #[test]
    fn a_negative_index_sets_from_the_end() {
        let mut doc = json!({"l": [{"x": 1}, {"x": 2}]});
        assert_eq!(set(&mut doc, &path("$.l[-1].x"), json!(9)), Ok(1));
        assert_eq!(set(&mut doc, &path("$.l[-2]"), json!("first")), Ok(1));
        assert_eq!(doc, json!({"l": ["first", {"x": 9}]}));
    }

    #[test]
    fn merge_keeps_what_is_there_and_creates_what_is_not() {
        let Value::Object(members) = json!({"region": "EMEA", "dealname": "B"}) else {
            unreachable!()
        };
        let mut doc = json!({"properties": {"dealname": "A", "amount": "1"}});
        merge(&mut doc, &path("$.properties"), members.clone()).unwrap();
        assert_eq!(
            doc,
            json!({"properties": {"dealname": "B", "amount": "1", "region": "EMEA"}})
        );
        let mut empty = json!({});
        merge(&mut empty, &path("$.properties"), members.clone()).unwrap();
        assert_eq!(
            empty,
            json!({"properties": {"region": "EMEA", "dealname": "B"}})
        );
        let mut text = json!({"properties": "x"});
        let err = merge(&mut text, &path("$.properties"), members).unwrap_err();
        assert_eq!(err.reason, "it holds a string where an object is merged");
    }

    #[test]
    fn deep_merge_merges_objects_and_replaces_the_rest() {
        let mut doc = json!({"properties": {"a": "1", "b": "2"}, "list": [1]});
        let Value::Object(patch) = json!({"properties": {"b": "3", "c": "4"}, "list": [2]}) else {
            unreachable!()
        };
        deep_merge(&mut doc, patch);
        assert_eq!(
            doc,
            json!({"properties": {"a": "1", "b": "3", "c": "4"}, "list": [2]})
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-z]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// Paths made of the pieces JSONPath is built from, valid or not.
    fn path_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "\\.[a-c]",
            "\\[[0-3]\\]",
            Just("[*]".to_owned()),
            Just("..".to_owned()),
            Just("[?@.a == 1]".to_owned()),
            Just("['b']".to_owned()),
            "[\\[\\]\\.$@?*'a-c0-9 ]{1,3}",
        ];
        prop::collection::vec(piece, 0..5).prop_map(|pieces| format!("${}", pieces.concat()))
    }

    /// Singular paths: names and small indices only.
    fn singular_path() -> impl Strategy<Value = String> {
        let piece = prop_oneof!["\\.[a-c]", "\\[[0-2]\\]"];
        prop::collection::vec(piece, 1..5).prop_map(|pieces| format!("${}", pieces.concat()))
    }

    proptest! {
        #[test]
        fn never_panics(mut doc in json_value(), text in path_text(), value in json_value()) {
            if let Ok(path) = CompiledPath::parse(&text) {
                let _ = set(&mut doc, &path, value);
                let _ = path.find(&doc);
            }
        }

        #[test]
        fn a_set_singular_path_reads_back(mut doc in json_value(), text in singular_path(), value in json_value()) {
            let path = CompiledPath::parse(&text).unwrap();
            prop_assume!(path.is_singular());
            if set(&mut doc, &path, value.clone()).is_ok() {
                prop_assert_eq!(path.find(&doc), crate::mapping::path::Found::One(&value));
            }
        }

        #[test]
        fn creating_from_nothing_always_succeeds_for_names(names in prop::collection::vec("[a-c]", 1..5), value in json_value()) {
            let text = format!("$.{}", names.join("."));
            let path = CompiledPath::parse(&text).unwrap();
            let mut doc = json!({});
            prop_assert_eq!(set(&mut doc, &path, value.clone()), Ok(1));
            prop_assert_eq!(path.find(&doc), crate::mapping::path::Found::One(&value));
        }

        #[test]
        fn wildcard_writes_touch_every_match(items in prop::collection::vec(json_value(), 0..6), value in json_value()) {
            let objects: Vec<Value> = items.iter().map(|v| json!({ "x": v })).collect();
            let mut doc = json!({ "a": objects });
            let path = CompiledPath::parse("$.a[*].x").unwrap();
            prop_assert_eq!(set(&mut doc, &path, value.clone()), Ok(items.len()));
            for item in doc["a"].as_array().unwrap() {
                prop_assert_eq!(&item["x"], &value);
            }
        }
    }
}
