use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::{ConnectorError, ErrorKind, Result};

/// One setting a connection of a connector takes, as its manifest declares it. Secret settings
/// are sealed at rest, masked in Vault answers and never logged.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingSpec {
    /// The setting's key in Vault and in templates (`api_key`): lower case letters, digits and
    /// `_`.
    pub name: String,
    /// The label of its Vault form field.
    pub label: String,
    /// What to enter, shown in Vault.
    #[serde(default)]
    pub description: String,
    /// Sealed at rest, masked in answers, never logged; usable only in `auth`.
    #[serde(default)]
    pub secret: bool,
    /// A connection without it is not callable.
    #[serde(default)]
    pub required: bool,
    /// The value used when the connection has none (non-secret, optional settings only).
    pub default: Option<String>,
    /// A regular expression the whole value must match; Vault refuses other values.
    pub pattern: Option<SettingPattern>,
}

impl SettingSpec {
    /// The vendor API root override every connector takes, so that tests point at a mock and
    /// users at sandboxes or regional hosts. Manifests do not list it; it follows their own.
    pub fn base_url() -> Self {
        Self {
            name: BASE_URL.to_owned(),
            label: "Base URL".to_owned(),
            description:
                "Overrides the vendor's API root (sandbox, regional host, or a test mock)."
                    .to_owned(),
            secret: false,
            required: false,
            default: None,
            pattern: None,
        }
    }

    /// Whether `value` is one this setting takes; the error says why not.
    pub fn check(&self, value: &str) -> std::result::Result<(), String> {
        match &self.pattern {
            Some(pattern) if !pattern.is_match(value) => {
                Err(format!("does not match the pattern {}", pattern.source))
            }
            _ => Ok(()),
        }
    }
}

/// The name of the setting every connector takes.
pub const BASE_URL: &str = "base_url";

/// A setting's pattern: a regular expression that must match the whole value, compiled when
/// the manifest loads.
#[derive(Debug, Clone)]
pub struct SettingPattern {
    source: String,
    regex: Regex,
}

impl SettingPattern {
    /// Compiles `source`, anchored at both ends.
    pub fn new(source: &str) -> std::result::Result<Self, String> {
        Regex::new(&format!("^(?:{source})$"))
            .map(|regex| Self {
                source: source.to_owned(),
                regex,
            })
            .map_err(|e| format!("{source:?} is not a regular expression: {e}"))
    }

    /// Whether the whole of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

impl<'de> Deserialize<'de> for SettingPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Self::new(&source).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SettingPattern {
    fn schema_name() -> Cow<'static, str> {
        "SettingPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "regex",
            "description": "A regular expression the whole value must match."
        })
    }
}

enum SettingValue {
    Plain(String),
    Secret(SecretString),
}

/// The settings of one connection, with secrets held as `SecretString` so that neither `Debug`
/// nor a log line can print them.
#[derive(Default)]
pub struct ConnectionSettings {
    values: BTreeMap<String, SettingValue>,
}

impl ConnectionSettings {
    /// Builds the settings from stored pairs; only values the specs mark non-secret become
    /// readable as plain text. A non-secret setting without a value takes its spec's default.
    pub fn new(
        specs: &[SettingSpec],
        pairs: impl IntoIterator<Item = (String, SecretString)>,
    ) -> Self {
        let mut values: BTreeMap<String, SettingValue> = pairs
            .into_iter()
            .map(|(name, value)| {
                let plain = specs.iter().any(|s| !s.secret && s.name == name);
                let value = if plain {
                    SettingValue::Plain(value.expose_secret().to_owned())
                } else {
                    SettingValue::Secret(value)
                };
                (name, value)
            })
            .collect();
        for spec in specs.iter().filter(|s| !s.secret) {
            if let Some(default) = &spec.default
                && !matches!(values.get(&spec.name), Some(SettingValue::Plain(v)) if !v.is_empty())
            {
                values.insert(spec.name.clone(), SettingValue::Plain(default.clone()));
            }
        }
        Self { values }
    }

    /// A non-secret setting.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            SettingValue::Plain(v) => Some(v.as_str()).filter(|v| !v.is_empty()),
            SettingValue::Secret(_) => None,
        }
    }

    /// Any setting's value, secret or not, for rendering auth templates; the typed error names
    /// the setting when it has none.
    pub(crate) fn require(&self, name: &str) -> Result<&str> {
        let value = match self.values.get(name) {
            Some(SettingValue::Plain(v)) => v.as_str(),
            Some(SettingValue::Secret(s)) => s.expose_secret(),
            None => "",
        };
        if value.is_empty() {
            return Err(ConnectorError::new(
                ErrorKind::MissingSetting(name.to_owned()),
                format!("The connection has no value for the required setting {name:?}."),
            ));
        }
        Ok(value)
    }

    /// Whether a value is stored for `name`, secret or not.
    pub fn has(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(SettingValue::Plain(v)) => !v.is_empty(),
            Some(SettingValue::Secret(s)) => !s.expose_secret().is_empty(),
            None => false,
        }
    }
}

impl fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.values {
            match value {
                SettingValue::Plain(v) => map.entry(name, v),
                SettingValue::Secret(_) => map.entry(name, &"[REDACTED]"),
            };
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<SettingSpec> {
        vec![
            SettingSpec {
                name: "api_key".to_owned(),
                label: "API key".to_owned(),
                description: String::new(),
                secret: true,
                required: true,
                default: None,
                pattern: None,
            },
            SettingSpec {
                name: "region".to_owned(),
                label: "Region".to_owned(),
                description: String::new(),
                secret: false,
                required: false,
                default: Some("eu".to_owned()),
                pattern: Some(SettingPattern::new("[a-z]{2}").unwrap()),
            },
            SettingSpec::base_url(),
        ]
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let settings = ConnectionSettings::new(
            &specs(),
            [
                (
                    "api_key".to_owned(),
                    SecretString::from("pat-na1-very-secret"),
                ),
                (
                    "base_url".to_owned(),
                    SecretString::from("http://127.0.0.1:9"),
                ),
            ],
        );
        let printed = format!("{settings:?}");
        assert!(!printed.contains("very-secret"), "{printed}");
        assert!(printed.contains("[REDACTED]"));
        assert!(printed.contains("http://127.0.0.1:9"));
        assert_eq!(
            settings.get("api_key"),
            None,
            "secrets are not readable as plain values"
        );
    }

    #[test]
    fn a_missing_setting_names_itself() {
        let settings = ConnectionSettings::new(&specs(), []);
        let err = settings.require("api_key").unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingSetting("api_key".to_owned()));
    }

    #[test]
    fn a_default_stands_in_for_a_missing_value_only() {
        let empty =
            ConnectionSettings::new(&specs(), [("region".to_owned(), SecretString::from(""))]);
        assert_eq!(empty.get("region"), Some("eu"));
        let own =
            ConnectionSettings::new(&specs(), [("region".to_owned(), SecretString::from("us"))]);
        assert_eq!(own.get("region"), Some("us"));
    }

    #[test]
    fn a_pattern_must_match_the_whole_value() {
        let region = &specs()[1];
        assert!(region.check("us").is_ok());
        assert!(region.check("usa").unwrap_err().contains("[a-z]{2}"));
        assert!(SettingSpec::base_url().check("anything").is_ok());
    }
}
