//! Literals of the query languages a filter expression is written in. A filter value is
//! never pasted into the expression: it is written as a literal of its JSON type, so that
//! nothing a client sends can end the literal and change the query (SOQL or OData injection).

use serde_json::Value;

use crate::manifest::Dialect;
use crate::{Comparison, ConnectorError, ErrorKind, Result};

/// `value` as a literal of `dialect`. Text is quoted and escaped, numbers and booleans are
/// bare, and a lower bound is a timestamp (checked as RFC 3339, written bare in UTC).
pub fn write(dialect: Dialect, value: &Value, comparison: Comparison) -> Result<String> {
    if comparison == Comparison::AtLeast {
        let text = value.as_str().unwrap_or_default();
        let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| {
            refused(format!(
                "{value} is not an RFC 3339 timestamp, which a lower bound must be"
            ))
        })?;
        return Ok(at
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    }
    match value {
        // Control characters have no business in a filter value, and the query's own markers
        // for where the filters and the sort go are made of one.
        Value::String(text)
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
        {
            Err(refused(format!(
                "{value} holds a control character, which no filter value may"
            )))
        }
        Value::String(text) => Ok(match dialect {
            Dialect::Soql => soql_text(text),
            Dialect::Odata if is_guid(text) => text.clone(),
            Dialect::Odata => format!("'{}'", text.replace('\'', "''")),
            Dialect::Zoho => zoho_text(text),
        }),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(refused(format!("{other} cannot be a filter value"))),
    }
}

fn refused(message: String) -> ConnectorError {
    ConnectorError::new(ErrorKind::Unsupported, message)
}

/// SOQL's quoted string: backslash escapes for the quotes, the backslash and the control
/// characters it names. `%` and `_` stay as they are: they are wildcards only after LIKE,
/// which no filter writes.
fn soql_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Zoho's criteria value: unquoted, so each character that ends or groups a condition is
/// escaped.
fn zoho_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '(' | ')' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A GUID, 8-4-4-4-12 hex digits, which OData v4 writes bare (Dataverse's lookup values).
pub(super) fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn soql(value: Value) -> String {
        write(Dialect::Soql, &value, Comparison::Equals).unwrap()
    }

    #[test]
    fn soql_text_cannot_end_its_quotes() {
        assert_eq!(soql(json!("Acme")), "'Acme'");
        assert_eq!(soql(json!("O'Brien")), r"'O\'Brien'");
        assert_eq!(soql(json!(r"x\' OR Name != '")), r"'x\\\' OR Name != \''");
        assert_eq!(soql(json!("100%_done\n")), r"'100%_done\n'");
        assert_eq!(soql(json!(1500.5)), "1500.5");
        assert_eq!(soql(json!(true)), "true");
    }

    #[test]
    fn control_characters_are_refused_in_every_dialect() {
        for dialect in [Dialect::Soql, Dialect::Odata, Dialect::Zoho] {
            let marker = json!("x\u{1}order_by\u{1}");
            assert!(write(dialect, &marker, Comparison::Equals).is_err());
            assert!(write(dialect, &json!("a\tb"), Comparison::Equals).is_ok());
        }
    }

    #[test]
    fn odata_doubles_quotes_and_leaves_guids_bare() {
        let odata = |v: Value| write(Dialect::Odata, &v, Comparison::Equals).unwrap();
        assert_eq!(odata(json!("O'Brien")), "'O''Brien'");
        assert_eq!(
            odata(json!("00000000-0000-0000-0000-00000000000a")),
            "00000000-0000-0000-0000-00000000000a"
        );
        assert_eq!(odata(json!("0000-not-a-guid")), "'0000-not-a-guid'");
    }

    #[test]
    fn zoho_criteria_values_cannot_close_their_condition() {
        let zoho = |v: Value| write(Dialect::Zoho, &v, Comparison::Equals).unwrap();
        assert_eq!(zoho(json!("Acme")), "Acme");
        assert_eq!(
            zoho(json!(r"a)or(Owner:equals:1),\")),
            r"a\)or\(Owner:equals:1\)\,\\"
        );
    }

    #[test]
    fn a_lower_bound_is_a_checked_timestamp() {
        let since = |v: Value| write(Dialect::Soql, &v, Comparison::AtLeast);
        assert_eq!(
            since(json!("2026-01-02T05:04:05+02:00")).unwrap(),
            "2026-01-02T03:04:05Z"
        );
        assert!(since(json!("2026-01-02' OR Id != '")).is_err());
        assert!(since(json!(5)).is_err());
    }
}
