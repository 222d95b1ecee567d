//! Typed settings: built-in defaults, then `crmgate.toml` (`--config`), then
//! `CRMGATE__SECTION__KEY` environment variables, then command-line flags. Every section
//! refuses unknown keys, so a typo is an error that names the key instead of a setting that
//! silently does nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crmgate_connector_sdk::{HostPattern, RateBudget};
use secrecy::SecretString;
use serde::Deserialize;

/// Prefix of the environment variables that override the file (`CRMGATE__SERVER__LISTEN`).
pub const ENV_PREFIX: &str = "CRMGATE";
/// Separator of sections in those variables.
pub const ENV_SEPARATOR: &str = "__";

/// Everything crmgate can be configured with.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub mappings: MappingsSettings,
    pub auth: AuthSettings,
    pub crypto: CryptoSettings,
    pub redis: RedisSettings,
    pub outbound: OutboundSettings,
    /// Plugins, and per connector overrides by service id (`[connectors.hubspot]`).
    pub connectors: ConnectorsSettings,
}

/// `[connectors]`: where plugins are, and a table per connector. The keys `dir` and
/// `skip_broken` are taken, so no connector can be named either.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConnectorsSettings {
    /// A folder of connector plugins, one `<id>/connector.yaml` each; `./connectors.d` if it
    /// exists, else none.
    pub dir: Option<PathBuf>,
    /// Start without a plugin that does not load (logged, and listed by `/health/ready`)
    /// instead of refusing to start.
    pub skip_broken: bool,
    /// Per connector, by service id. Flattened, so `deny_unknown_fields` cannot be set on this
    /// struct; an unknown key becomes a connector name, which `check_connectors` refuses.
    #[serde(flatten)]
    pub by_id: BTreeMap<String, ConnectorSettings>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// How long requests in flight may finish after a shutdown signal.
    pub shutdown_grace_secs: u64,
    pub log_format: LogFormat,
    /// How long a request may take in all, vendor retries and waits included.
    pub request_deadline_secs: u64,
    /// Largest request body accepted; larger ones are answered 413.
    pub max_request_body_bytes: usize,
    /// How many tenants' opened connections (settings decrypted, mapping layers compiled)
    /// each process keeps; 0 opens every request's connection afresh.
    pub connection_cache_tenants: usize,
    /// Where browsers reach this gateway (`https://crm.example.com`): the root of Vault's
    /// authorize links and of the OAuth callback, `<public_url>/vault/callback`, which each
    /// application registers with the vendor. `http://<listen>` when unset.
    pub public_url: Option<url::Url>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("a valid address"),
            shutdown_grace_secs: 30,
            log_format: LogFormat::Human,
            request_deadline_secs: 30,
            max_request_body_bytes: 1024 * 1024,
            connection_cache_tenants: 10_000,
            public_url: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (embedded default) or `postgres://...` (scale-out).
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://crmgate.db".to_owned(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingsSettings {
    /// A folder of mapping tables; `./mappings` if it exists, else the built-in tables.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// The operator key; generated on the first start when unset.
    pub api_key: Option<SecretString>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CryptoSettings {
    /// Base64 keys sealing stored credentials, newest first, comma-separated; a key file
    /// beside a SQLite database when unset.
    pub encryption_key: Option<SecretString>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Shares rate budgets between processes; budgets are per process without it.
    pub url: Option<String>,
}

/// Where connections' credentials may be sent beyond the hosts each connector declares.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundSettings {
    /// Extra hosts any connector may call, each `host`, `host:port` or `*.suffix`, over HTTP or
    /// HTTPS: sandboxes, proxies, test mocks. Loopback and private addresses are reached only
    /// through an entry naming that host (or `host:port`) itself.
    pub allowed_hosts: Vec<String>,
}

impl OutboundSettings {
    /// The entries, parsed; a bad one is named with what is wrong.
    pub fn patterns(&self) -> Result<Vec<HostPattern>, ConfigError> {
        self.allowed_hosts
            .iter()
            .map(|entry| {
                HostPattern::parse(entry).map_err(|message| ConfigError {
                    source_name: "[outbound] allowed_hosts".to_owned(),
                    message,
                })
            })
            .collect()
    }
}

/// Overrides for one connector.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorSettings {
    /// The vendor API root for every connection that sets none of its own.
    pub base_url: Option<url::Url>,
    /// Longest wait for a connection to the vendor.
    pub connect_timeout_ms: Option<u64>,
    /// Longest single vendor call.
    pub timeout_ms: Option<u64>,
    /// Largest vendor answer read; a larger one is refused while it streams in.
    pub max_response_bytes: Option<usize>,
    /// The connection budget, replacing the vendor's documented default.
    pub rate_limit: Option<RateLimitSettings>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub requests: u32,
    pub per_secs: u64,
}

impl ConnectorSettings {
    /// The outbound client's settings for this connector: the defaults with these overrides.
    pub fn http_config(&self) -> crmgate_connector_sdk::HttpConfig {
        let mut config = crmgate_connector_sdk::HttpConfig::default();
        if let Some(ms) = self.connect_timeout_ms {
            config.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.timeout_ms {
            config.request_timeout = Duration::from_millis(ms);
        }
        if let Some(bytes) = self.max_response_bytes {
            config.max_body_bytes = bytes;
        }
        config
    }
}

impl RateLimitSettings {
    pub fn budget(self) -> RateBudget {
        RateBudget {
            requests: self.requests,
            per: Duration::from_secs(self.per_secs),
        }
    }
}

/// Checks what types alone cannot: every `[connectors.<id>]` section names a loaded connector
/// (built-in or plugin, so this runs once plugins are loaded).
pub fn check_connector_names(
    by_id: &BTreeMap<String, ConnectorSettings>,
    known: &[&str],
) -> Result<(), ConfigError> {
    for name in by_id.keys() {
        if !known.contains(&name.as_str()) {
            return Err(ConfigError {
                source_name: "configuration".to_owned(),
                message: format!(
                    "[connectors.{name}] names no connector; known: {}",
                    known.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

impl Settings {
    /// Loads defaults, then the file (when given), then the `CRMGATE__` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Self::load`], with the environment given (tests pass their own).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let source_name =
            file.map_or_else(|| "configuration".to_owned(), |f| f.display().to_string());
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError {
                    source_name,
                    message: "the file does not exist".to_owned(),
                });
            }
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
        let overrides: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator(ENV_SEPARATOR)
                .separator(ENV_SEPARATOR)
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("outbound.allowed_hosts")
                .source(Some(overrides)),
        );
        let merged = builder.build().map_err(|e| ConfigError {
            source_name: source_name.clone(),
            message: e.to_string(),
        })?;
        merged.try_deserialize().map_err(|e| ConfigError {
            source_name,
            message: e.to_string(),
        })
    }

    /// The effective configuration as TOML, secrets masked, for `crmgate config print`.
    pub fn to_masked_toml(&self) -> String {
        let mask = |s: &Option<SecretString>| {
            if s.is_some() {
                "\"********\""
            } else {
                "# unset"
            }
        };
        let opt = |s: Option<String>| s.map_or_else(|| "# unset".to_owned(), |v| format!("{v:?}"));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "[server]\nlisten = \"{}\"\nshutdown_grace_secs = {}",
            self.server.listen, self.server.shutdown_grace_secs
        );
        let format = match self.server.log_format {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        };
        let _ = writeln!(out, "log_format = \"{format}\"");
        let _ = writeln!(
            out,
            "request_deadline_secs = {}\nmax_request_body_bytes = {}\nconnection_cache_tenants = {}\npublic_url = {}\n",
            self.server.request_deadline_secs,
            self.server.max_request_body_bytes,
            self.server.connection_cache_tenants,
            opt(self
                .server
                .public_url
                .as_ref()
                .map(|u| redact_url(u.as_str())))
        );
        let _ = writeln!(
            out,
            "[database]\nurl = {:?}\n",
            redact_url(&self.database.url)
        );
        let _ = writeln!(
            out,
            "[mappings]\ndir = {}\n",
            opt(self.mappings.dir.as_ref().map(|d| d.display().to_string()))
        );
        let _ = writeln!(out, "[auth]\napi_key = {}\n", mask(&self.auth.api_key));
        let _ = writeln!(
            out,
            "[crypto]\nencryption_key = {}\n",
            mask(&self.crypto.encryption_key)
        );
        let _ = writeln!(
            out,
            "[redis]\nurl = {}",
            opt(self.redis.url.as_deref().map(redact_url))
        );
        let hosts: Vec<String> = self
            .outbound
            .allowed_hosts
            .iter()
            .map(|h| format!("{h:?}"))
            .collect();
        let _ = writeln!(out, "\n[outbound]\nallowed_hosts = [{}]", hosts.join(", "));
        let _ = writeln!(
            out,
            "\n[connectors]\ndir = {}\nskip_broken = {}",
            opt(self
                .connectors
                .dir
                .as_ref()
                .map(|d| d.display().to_string())),
            self.connectors.skip_broken
        );
        for (name, c) in &self.connectors.by_id {
            let _ = writeln!(out, "\n[connectors.{name}]");
            let _ = writeln!(
                out,
                "base_url = {}",
                opt(c.base_url.as_ref().map(|u| redact_url(u.as_str())))
            );
            let _ = writeln!(
                out,
                "timeout_ms = {}",
                c.timeout_ms
                    .map_or_else(|| "# default".to_owned(), |t| t.to_string())
            );
            match c.rate_limit {
                Some(r) => {
                    let _ = writeln!(
                        out,
                        "rate_limit = {{ requests = {}, per_secs = {} }}",
                        r.requests, r.per_secs
                    );
                }
                None => {
                    let _ = writeln!(out, "rate_limit = # the vendor's documented default");
                }
            }
        }
        out
    }
}

/// A URL without its secrets, for messages and printing: the userinfo password and every query
/// value whose name suggests a secret (`?password=`, `sslpassword=`, `access_token=`, ...). A
/// text that does not parse as a URL but may hold userinfo or a query is hidden whole.
pub fn redact_url(url: &str) -> String {
    const MASK: &str = "****";
    let Ok(mut parsed) = url::Url::parse(url) else {
        return if url.contains(['@', '?']) {
            "<an unparseable URL, hidden>".to_owned()
        } else {
            url.to_owned()
        };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(MASK));
    }
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        [
            "pass",
            "pwd",
            "secret",
            "token",
            "key",
            "auth",
            "credential",
            "signature",
        ]
        .iter()
        .any(|word| name.contains(word))
    };
    if parsed.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    MASK.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_without_a_file() {
        let s = Settings::load_with_env(None, []).unwrap();
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database.url, "sqlite://crmgate.db");
        assert!(s.connectors.by_id.is_empty());
        assert_eq!(s.connectors.dir, None);
        assert!(!s.connectors.skip_broken);
    }

    #[test]
    fn a_typo_names_the_key_and_the_file() {
        let f = file("[server]\nlisen = \"0.0.0.0:1\"\n");
        let err = Settings::load_with_env(Some(f.path()), []).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("lisen"), "{text}");
        assert!(text.contains(&f.path().display().to_string()), "{text}");
        let f = file("[connectors.hubspot]\ntimeout = 5\n");
        assert!(
            Settings::load_with_env(Some(f.path()), [])
                .unwrap_err()
                .to_string()
                .contains("timeout")
        );
    }

    #[test]
    fn the_environment_beats_the_file() {
        let f =
            file("[server]\nlisten = \"127.0.0.1:1000\"\n[connectors.hubspot]\ntimeout_ms = 100\n");
        let env = [
            (
                "CRMGATE__SERVER__LISTEN".to_owned(),
                "127.0.0.1:2000".to_owned(),
            ),
            ("CRMGATE__AUTH__API_KEY".to_owned(), "from-env".to_owned()),
            (
                "CRMGATE_API_KEY".to_owned(),
                "single underscore is not this layer".to_owned(),
            ),
        ];
        let s = Settings::load_with_env(Some(f.path()), env).unwrap();
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:2000");
        assert_eq!(s.auth.api_key.unwrap().expose_secret(), "from-env");
        assert_eq!(s.connectors.by_id["hubspot"].timeout_ms, Some(100));
    }

    /// `dir` and `skip_broken` sit beside the per-connector tables in `[connectors]`, from the
    /// file and from the environment alike.
    #[test]
    fn the_plugin_folder_is_set_beside_connector_tables() {
        let f = file("[connectors]\ndir = \"plugins\"\n[connectors.hubspot]\ntimeout_ms = 7\n");
        let s = Settings::load_with_env(Some(f.path()), []).unwrap();
        assert_eq!(s.connectors.dir, Some(PathBuf::from("plugins")));
        assert!(!s.connectors.skip_broken);
        assert_eq!(s.connectors.by_id.len(), 1);
        assert_eq!(s.connectors.by_id["hubspot"].timeout_ms, Some(7));
        let env = [(
            "CRMGATE__CONNECTORS__SKIP_BROKEN".to_owned(),
            "true".to_owned(),
        )];
        let s = Settings::load_with_env(Some(f.path()), env).unwrap();
        assert!(s.connectors.skip_broken);
        assert_eq!(s.connectors.by_id.len(), 1);
    }

    #[test]
    fn unknown_connectors_are_refused() {
        let f = file("[connectors.hubspto]\ntimeout_ms = 1\n");
        let s = Settings::load_with_env(Some(f.path()), []).unwrap();
        assert!(
            check_connector_names(&s.connectors.by_id, &["hubspot"])
                .unwrap_err()
                .to_string()
                .contains("hubspto")
        );
    }

    #[test]
    fn printing_masks_secrets() {
        let env = [
            (
                "CRMGATE__AUTH__API_KEY".to_owned(),
                "very-secret".to_owned(),
            ),
            (
                "CRMGATE__DATABASE__URL".to_owned(),
                "postgres://u:pw123@db/x".to_owned(),
            ),
        ];
        let printed = Settings::load_with_env(None, env).unwrap().to_masked_toml();
        assert!(
            !printed.contains("very-secret") && !printed.contains("pw123"),
            "{printed}"
        );
        assert!(printed.contains("api_key = \"********\""));
    }

    #[test]
    fn printing_masks_passwords_in_every_url() {
        let f = file(
            "[database]\nurl = \"postgres://db/x?sslmode=require&password=pq-secret\"\n\
             [redis]\nurl = \"redis://:redis-secret@cache:6379/0\"\n\
             [connectors.hubspot]\nbase_url = \"https://proxy.example/?access_token=tok-secret&region=eu\"\n",
        );
        let printed = Settings::load_with_env(Some(f.path()), [])
            .unwrap()
            .to_masked_toml();
        for secret in ["pq-secret", "redis-secret", "tok-secret"] {
            assert!(!printed.contains(secret), "{secret}: {printed}");
        }
        assert!(
            printed.contains("sslmode=require") && printed.contains("region=eu"),
            "{printed}"
        );
        assert_eq!(
            redact_url("postgres://user:pw@db/x?sslpassword=a&application_name=b"),
            "postgres://user:****@db/x?sslpassword=****&application_name=b"
        );
        assert_eq!(redact_url("sqlite://crmgate.db"), "sqlite://crmgate.db");
        assert_eq!(
            redact_url("postgres://user:pw@db:port"),
            "<an unparseable URL, hidden>"
        );
    }

    #[test]
    fn allowed_hosts_come_from_the_file_or_a_comma_separated_variable() {
        let f = file("[outbound]\nallowed_hosts = [\"sandbox.example.com\", \"*.corp.example\"]\n");
        let s = Settings::load_with_env(Some(f.path()), []).unwrap();
        assert_eq!(
            s.outbound.patterns().unwrap(),
            [
                HostPattern::Host("sandbox.example.com".into()),
                HostPattern::Suffix(".corp.example".into())
            ]
        );
        let env = [(
            "CRMGATE__OUTBOUND__ALLOWED_HOSTS".to_owned(),
            "127.0.0.1:8080,mock.local".to_owned(),
        )];
        let s = Settings::load_with_env(None, env).unwrap();
        assert_eq!(
            s.outbound.patterns().unwrap(),
            [
                HostPattern::HostPort("127.0.0.1".into(), 8080),
                HostPattern::Host("mock.local".into())
            ]
        );
        let f = file("[outbound]\nallowed_hosts = [\"http://x.example\"]\n");
        let err = Settings::load_with_env(Some(f.path()), [])
            .unwrap()
            .outbound
            .patterns()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[outbound] allowed_hosts") && err.contains("http://x.example"),
            "{err}"
        );
    }

    #[test]
    fn the_example_file_is_valid() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("crmgate.example.toml");
        let s = Settings::load_with_env(Some(&example), []).unwrap();
        check_connector_names(&s.connectors.by_id, &["hubspot"]).unwrap();
    }
}
