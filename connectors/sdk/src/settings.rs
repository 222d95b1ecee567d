use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::{ConnectorError, ErrorKind, Result};

/// One setting a connection of a connector takes. Secret settings are sealed at rest, masked in
/// Vault answers and never logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub secret: bool,
    pub required: bool,
}

impl SettingSpec {
    /// The vendor API root override every connector takes, so that tests point at a mock and
    /// users at sandboxes or regional hosts.
    pub const BASE_URL: SettingSpec = SettingSpec {
        name: "base_url",
        label: "Base URL",
        description: "Overrides the vendor's API root (sandbox, regional host, or a test mock).",
        secret: false,
        required: false,
    };
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
    /// readable as plain text.
    pub fn new(
        specs: &[SettingSpec],
        pairs: impl IntoIterator<Item = (String, SecretString)>,
    ) -> Self {
        let values = pairs
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
        Self { values }
    }

    /// A non-secret setting.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            SettingValue::Plain(v) => Some(v.as_str()).filter(|v| !v.is_empty()),
            SettingValue::Secret(_) => None,
        }
    }

    /// A secret setting, or the typed error that names it when it is missing.
    pub fn require_secret(&self, name: &'static str) -> Result<&SecretString> {
        match self.values.get(name) {
            Some(SettingValue::Secret(s)) if !s.expose_secret().is_empty() => Ok(s),
            _ => Err(ConnectorError::new(
                ErrorKind::MissingSetting(name),
                format!("The connection has no value for the required setting {name:?}."),
            )),
        }
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

    const SPECS: &[SettingSpec] = &[
        SettingSpec {
            name: "api_key",
            label: "API key",
            description: "",
            secret: true,
            required: true,
        },
        SettingSpec::BASE_URL,
    ];

    #[test]
    fn debug_output_never_shows_a_secret() {
        let settings = ConnectionSettings::new(
            SPECS,
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
    fn a_missing_secret_names_the_setting() {
        let settings = ConnectionSettings::new(SPECS, []);
        let err = settings.require_secret("api_key").unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingSetting("api_key"));
    }
}
