//! Templates: text with `{name}` placeholders, filled from a connection's settings (auth headers,
//! base URLs, paths) or from what a call is about (`{id}`, a filter's `{field}` and `{value}`).
//! `{{` and `}}` stand for literal braces. A template is parsed when the manifest loads, so a
//! stray brace is a load error with its line and column, never a surprise at call time.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::locate::At;
use crate::{ConnectorError, ErrorKind, Result};

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

impl Template {
    /// Parses `text`; the error says what is wrong and where in the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                        "{text:?}: `}}` at offset {at} closes nothing (write `}}}}` for a literal brace)"
                    ));
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, n)) => name.push(n),
                            None => {
                                return Err(format!(
                                    "{text:?}: `{{` at offset {at} is never closed (write `{{{{` for a literal brace)"
                                ));
                            }
                        }
                    }
                    if !is_name(&name) {
                        return Err(format!(
                            "{text:?}: {{{name}}} is not a placeholder; names are lower case letters, digits and `_`"
                        ));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(name));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self {
            source: text.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order, repeats included.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The text with every placeholder replaced by `value(name)`; the first placeholder without
    /// a value is the error.
    pub fn render<'a, E>(
        &'a self,
        mut value: impl FnMut(&'a str) -> Result<Cow<'a, str>, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(name) => out.push_str(&value(name)?),
            }
        }
        Ok(out)
    }
}

/// A placeholder or setting name: lower case ASCII letters, digits and `_`, starting with a
/// letter.
pub(crate) fn is_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Template::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Template {
    fn schema_name() -> Cow<'static, str> {
        "Template".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Text with `{name}` placeholders (a setting, or what the call is about such as `{id}`); `{{` and `}}` are literal braces."
        })
    }
}

/// A JSON value whose strings may be templates (a body, a filter or sort item), parsed once
/// when the manifest loads; a call only fills in the placeholders.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    /// A part without placeholders, sent as written.
    Literal(Value),
    Text(Template),
    /// A string that is no template, kept with why so that the manifest check can say where it
    /// is (a manifest holding one never loads).
    Invalid(String),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    fn compile(value: Value) -> Self {
        match value {
            Value::String(text) if text.contains(['{', '}']) => match Template::parse(&text) {
                Ok(template) => JsonTemplate::Text(template),
                Err(why) => JsonTemplate::Invalid(why),
            },
            Value::Array(items) if items.iter().any(holds_placeholder) => {
                JsonTemplate::Array(items.into_iter().map(JsonTemplate::compile).collect())
            }
            Value::Object(fields) if fields.values().any(holds_placeholder) => {
                JsonTemplate::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k, JsonTemplate::compile(v)))
                        .collect(),
                )
            }
            literal => JsonTemplate::Literal(literal),
        }
    }

    /// Whether the value is a map of fields, as a body must be.
    pub fn is_object(&self) -> bool {
        matches!(
            self,
            JsonTemplate::Object(_) | JsonTemplate::Literal(Value::Object(_))
        )
    }

    /// The value with every placeholder replaced by `value(name)`.
    pub fn fill<'v>(&self, value: &dyn Fn(&str) -> Result<Cow<'v, str>>) -> Result<Value> {
        Ok(match self {
            JsonTemplate::Literal(v) => v.clone(),
            JsonTemplate::Text(template) => Value::String(
                template.render(|name| value(name).map(|v| Cow::Owned(v.into_owned())))?,
            ),
            JsonTemplate::Invalid(why) => {
                return Err(ConnectorError::new(
                    ErrorKind::Unsupported,
                    format!("a manifest template: {why}"),
                ));
            }
            JsonTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.fill(value))
                    .collect::<Result<_>>()?,
            ),
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.fill(value)?)))
                    .collect::<Result<Map<_, _>>>()?,
            ),
        })
    }

    /// Calls `f` with every template and where it is, or with why a string is none.
    pub(super) fn visit(
        &self,
        at: &At,
        f: &mut dyn FnMut(std::result::Result<&Template, &str>, &At),
    ) {
        match self {
            JsonTemplate::Literal(_) => {}
            JsonTemplate::Text(template) => f(Ok(template), at),
            JsonTemplate::Invalid(why) => f(Err(why), at),
            JsonTemplate::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    item.visit(&at.index(i), f);
                }
            }
            JsonTemplate::Object(fields) => {
                for (k, v) in fields {
                    v.visit(&at.key(k), f);
                }
            }
        }
    }
}

/// Whether a JSON value holds a string with a brace anywhere: only those parts are templates.
fn holds_placeholder(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains(['{', '}']),
        Value::Array(items) => items.iter().any(holds_placeholder),
        Value::Object(fields) => fields.values().any(holds_placeholder),
        _ => false,
    }
}

impl<'de> Deserialize<'de> for JsonTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Value::deserialize(deserializer).map(JsonTemplate::compile)
    }
}

// Any JSON value, as the manifest schema has always said.
impl JsonSchema for JsonTemplate {
    fn inline_schema() -> bool {
        Value::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        Value::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Value::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(template: &str) -> String {
        Template::parse(template)
            .unwrap()
            .render(|name| Ok::<_, ()>(Cow::Owned(name.to_uppercase())))
            .unwrap()
    }

    #[test]
    fn placeholders_are_filled_and_double_braces_are_literal() {
        assert_eq!(fill("Bearer {api_key}"), "Bearer API_KEY");
        assert_eq!(fill("{a}{b_2}"), "AB_2");
        assert_eq!(fill("{{not}} {x}"), "{not} X");
        assert_eq!(fill("plain"), "plain");
        let t = Template::parse("/deals/{id}?x={id}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), ["id", "id"]);
    }

    #[test]
    fn a_stray_or_unnamed_brace_is_refused() {
        for bad in ["{api_key", "a}b", "{}", "{Api}", "{a b}", "{9x}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    fn json(text: &str) -> JsonTemplate {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_json_template_fills_its_strings_and_keeps_the_rest_as_written() {
        let template = json(
            r#"{"filters": [{"field": "{field}", "op": "EQ", "values": ["{value}", 2]}],
                "limit": 100, "note": "{{literal}}", "plain": {"a": [true, null]}}"#,
        );
        let filled = template
            .fill(&|name| Ok(Cow::Owned(format!("<{name}>"))))
            .unwrap();
        assert_eq!(
            filled,
            serde_json::json!({
                "filters": [{"field": "<field>", "op": "EQ", "values": ["<value>", 2]}],
                "limit": 100, "note": "{literal}", "plain": {"a": [true, null]}
            })
        );
        // Parts without a placeholder are compiled to one literal, not walked per call.
        let JsonTemplate::Object(fields) = &template else {
            panic!("{template:?}")
        };
        assert!(matches!(
            fields.iter().find(|(k, _)| k == "plain"),
            Some((_, JsonTemplate::Literal(_)))
        ));
    }

    #[test]
    fn a_json_template_reports_each_template_and_each_broken_string_where_it_is() {
        let template = json(r#"{"a": ["x", "{ok}"], "b": {"c": "{broken"}}"#);
        let mut seen = Vec::new();
        template.visit(&At::default(), &mut |found, at| {
            seen.push((
                at.to_string(),
                found.map(|t| t.as_str().to_owned()).map_err(str::to_owned),
            ));
        });
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], ("a[1]".to_owned(), Ok("{ok}".to_owned())));
        assert_eq!(seen[1].0, "b.c");
        assert!(seen[1].1.as_ref().unwrap_err().contains("never closed"));
        let refused = template.fill(&|_| Ok(Cow::Borrowed("v"))).unwrap_err();
        assert!(refused.to_string().contains("never closed"), "{refused}");
    }
}
