//! `pass_through[k]=v` of a list call, for vendors whose list is a search that reads only its
//! JSON body: a parameter put in the URL there would be ignored without a word.

use serde_json::{Map, Value};

use crate::{ConnectorError, ErrorKind, Result};

/// Adds each `k=v` to a search body. `v` is sent as JSON when it parses as JSON (`5`, `true`,
/// `[1,2]`, `"5"` for the text `5`) and as text otherwise, since search bodies take numbers
/// and id lists. A key the connector already set (paging, sort, a filter) or a key given twice
/// is refused before anything is sent: overriding the paging would break the cursor.
pub fn extend_search_body(body: &mut Map<String, Value>, query: &[(String, String)]) -> Result<()> {
    for (key, text) in query {
        // A key given twice is in the body by its second time.
        if body.contains_key(key) {
            return Err(ConnectorError::new(
                ErrorKind::Unsupported,
                format!(
                    "pass_through[{key}] cannot be used here: the list sets {key} itself (use limit, cursor, sort or filter) or it is given twice."
                ),
            ));
        }
        let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()));
        body.insert(key.clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_are_json_where_they_parse_and_text_otherwise() {
        let mut body = Map::from_iter([("page_size".to_owned(), json!(20))]);
        let query = pairs(&[
            ("name", "rocket"),
            ("assignee_ids", "[1,2]"),
            ("minimum_monetary_value", "500"),
            ("tag", "\"42\""),
        ]);
        extend_search_body(&mut body, &query).unwrap();
        assert_eq!(
            Value::Object(body),
            json!({
                "page_size": 20, "name": "rocket", "assignee_ids": [1, 2],
                "minimum_monetary_value": 500, "tag": "42"
            })
        );
    }

    #[test]
    fn keys_the_list_sets_or_given_twice_are_refused() {
        let mut body = Map::from_iter([("page_size".to_owned(), json!(20))]);
        let err = extend_search_body(&mut body, &pairs(&[("page_size", "200")])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
        assert!(
            err.message.starts_with("pass_through[page_size] cannot"),
            "{}",
            err.message
        );
        let twice = pairs(&[("name", "a"), ("name", "b")]);
        assert!(extend_search_body(&mut body, &twice).is_err());
    }
}
