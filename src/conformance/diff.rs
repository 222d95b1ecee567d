//! The first place two JSON values differ, said as a path and both sides, so that a failed
//! replay names the field rather than printing two whole answers.

use serde_json::Value;

use super::{AUTHORIZE, NOW};

/// `None` when equal; otherwise `at $.data.title: want "A", got "B"`.
pub(super) fn first(want: &Value, got: &Value) -> Option<String> {
    walk(want, got, &mut String::from("$"))
}

fn walk(want: &Value, got: &Value, at: &mut String) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, value) in w {
                let len = at.len();
                at.push('.');
                at.push_str(key);
                let found = match g.get(key) {
                    Some(other) => walk(value, other, at),
                    None => Some(format!("at {at}: want {value}, got nothing")),
                };
                at.truncate(len);
                if found.is_some() {
                    return found;
                }
            }
            g.iter()
                .find(|(key, _)| !w.contains_key(*key))
                .map(|(key, value)| format!("at {at}.{key}: want nothing, got {value}"))
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                let found = walk(a, b, at);
                at.truncate(len);
                if found.is_some() {
                    return found;
                }
            }
            (w.len() != g.len())
                .then(|| format!("at {at}: want {} items, got {}", w.len(), g.len()))
        }
        (Value::String(w), Value::String(g)) if w == NOW => {
            let recent = chrono::DateTime::parse_from_rfc3339(g).is_ok_and(|t| {
                (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).abs()
                    < chrono::TimeDelta::minutes(10)
            });
            (!recent).then(|| format!("at {at}: want a timestamp of now, got {g:?}"))
        }
        (Value::String(w), Value::String(g)) if w == AUTHORIZE => {
            let link = g.contains("/vault/authorize/") && g.contains("?state=");
            (!link).then(|| format!("at {at}: want an authorize link, got {g:?}"))
        }
        (w, g) if w == g => None,
        (w, g) => Some(format!("at {at}: want {w}, got {g}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::first;

    #[test]
    fn now_stands_for_a_timestamp_of_the_replay() {
        let want = json!({"at": "{{now}}"});
        let now = chrono::Utc::now().to_rfc3339();
        assert_eq!(first(&want, &json!({ "at": now })), None);
        assert_eq!(
            first(&want, &json!({"at": "2020-01-01T00:00:00Z"})),
            Some("at $.at: want a timestamp of now, got \"2020-01-01T00:00:00Z\"".to_owned())
        );
        assert!(first(&want, &json!({"at": "soon"})).is_some());
    }

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let want = json!({"data": {"id": "1", "tags": ["a", "b"], "amount": 1.50}});
        assert_eq!(first(&want, &want.clone()), None);
        let cases = [
            (
                json!({"data": {"id": "2", "tags": ["a", "b"], "amount": 1.50}}),
                "at $.data.id: want \"1\", got \"2\"",
            ),
            (
                json!({"data": {"id": "1", "tags": ["a"], "amount": 1.50}}),
                "at $.data.tags: want 2 items, got 1",
            ),
            (
                json!({"data": {"id": "1", "tags": ["a", "c"], "amount": 1.50}}),
                "at $.data.tags[1]: want \"b\", got \"c\"",
            ),
            (
                json!({"data": {"id": "1", "tags": ["a", "b"]}}),
                "at $.data.amount: want 1.5, got nothing",
            ),
            (
                json!({"data": {"id": "1", "tags": ["a", "b"], "amount": 1.50, "x": null}}),
                "at $.data.x: want nothing, got null",
            ),
        ];
        for (got, said) in cases {
            assert_eq!(first(&want, &got).as_deref(), Some(said));
        }
    }
}
