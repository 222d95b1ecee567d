//! Templates: text with `{name}` placeholders, filled from a connection's settings (auth headers,
//! base URLs, paths) or from what a call is about (`{id}`, a filter's `{field}` and `{value}`).
//! `{{` and `}}` stand for literal braces. A template is parsed when the manifest loads, so a
//! stray brace is a load error with its line and column, never a surprise at call time.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

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
}
