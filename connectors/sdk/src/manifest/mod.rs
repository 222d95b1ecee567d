//! The connector manifest, `connectors/<id>/connector.yaml`: what crmgate knows about a
//! vendor's API that is data rather than code — settings, base URL and hosts, auth, rate
//! limits, error rules, resources and their operations, lookups.
//!
//! A manifest is parsed and checked once, when the gateway starts (or by
//! `crmgate connectors check`); every error carries its file, line and column. The connector
//! trait reads settings, hosts, the default base URL, auth headers, the rate budget, page sizes
//! and paging parameters from it, the [`crate::driver`] runs its operations, pagination and
//! error rules, and the outbound client reads the vendor's rate-limit headers and retry hints
//! as it declares them. Lookups are declared here and still read by connector code
//! (docs/connectors.md says which).

mod check;
mod file;
mod locate;
mod path;
mod rate;
pub(crate) mod tagged;
mod template;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use file::*;
pub use path::{RecordPath, Segment};
pub use template::{JsonTemplate, Template};

use crate::{
    ConnectionSettings, ConnectorError, ErrorKind, HostPattern, RateBudget, RateLimitStatus,
    RateReport, Resource, Result, SettingSpec,
};
use locate::Positions;

/// A manifest that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ManifestError {}

/// What the gateway expects of a manifest beyond its own consistency.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The connector's id: its folder name and the id its code reports.
    pub id: &'a str,
    /// The resources the connector has mapping tables for; each needs a list operation.
    pub resources: &'a [Resource],
}

/// A loaded, checked manifest.
#[derive(Debug)]
pub struct Manifest {
    declaration: ManifestFile,
    /// The declared settings, then `base_url`.
    settings: Vec<SettingSpec>,
    /// The declared rate limit (an empty one when none is), shared with every request's client.
    rate_limit: Arc<RateLimit>,
}

impl Manifest {
    /// Parses and checks a manifest; `file` only names it in errors. Every problem found after
    /// parsing is reported, in the order of the file.
    pub fn load(
        file: &str,
        text: &str,
        expected: &Expected<'_>,
    ) -> Result<Self, Vec<ManifestError>> {
        let declaration: ManifestFile = serde_saphyr::from_str(text).map_err(|e| {
            let location = e.location();
            vec![ManifestError {
                file: file.to_owned(),
                line: location.map_or(0, |l| l.line()),
                column: location.map_or(0, |l| l.column()),
                message: parse_message(&e.without_snippet().to_string()),
            }]
        })?;
        let problems = check::check(&declaration, expected);
        if !problems.is_empty() {
            let positions = Positions::of(text);
            let mut errors: Vec<ManifestError> = problems
                .into_iter()
                .map(|p| {
                    let location = positions.find(&p.at);
                    ManifestError {
                        file: file.to_owned(),
                        line: location.map_or(0, |l| l.line()),
                        column: location.map_or(0, |l| l.column()),
                        message: format!("{}: {}", p.at, p.message),
                    }
                })
                .collect();
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(errors);
        }
        let mut settings = declaration.settings.clone();
        settings.push(SettingSpec::base_url());
        let rate_limit = Arc::new(declaration.rate_limit.clone().unwrap_or_default());
        Ok(Self {
            declaration,
            settings,
            rate_limit,
        })
    }

    /// Everything the manifest declares, including what only the driver to come executes.
    pub fn declaration(&self) -> &ManifestFile {
        &self.declaration
    }

    /// The connector's id.
    pub fn id(&self) -> &str {
        &self.declaration.meta.id
    }

    /// The name people read.
    pub fn name(&self) -> &str {
        &self.declaration.meta.name
    }

    /// The connection settings, `base_url` last.
    pub fn settings(&self) -> &[SettingSpec] {
        &self.settings
    }

    /// The hosts the vendor serves its API from.
    pub fn vendor_hosts(&self) -> &[HostPattern] {
        &self.declaration.base_url.hosts
    }

    /// The default API root for a connection: the manifest's template filled from its
    /// settings. A setting that makes it no URL is the setting's fault, and named.
    pub fn default_base_url(&self, settings: &ConnectionSettings) -> Result<Url> {
        let template = &self.declaration.base_url.default;
        let mut used = None;
        let text = template.render(|name| {
            used.get_or_insert(name);
            settings.require(name).map(Cow::Borrowed)
        })?;
        Url::parse(&text).map_err(|_| {
            let name = used.unwrap_or(crate::settings::BASE_URL);
            ConnectorError::new(
                ErrorKind::MissingSetting(name.to_owned()),
                format!("The {name} setting does not make the base URL a URL."),
            )
        })
    }

    /// Whether a connection is callable only once authorized through OAuth (no `auth`).
    pub fn oauth_only(&self) -> bool {
        self.declaration.auth.is_none()
    }

    /// The settings a connection must have to be callable: the required ones, less those only
    /// `auth` uses when the connection is authorized through OAuth instead.
    pub fn required_settings(&self, oauth: bool) -> impl Iterator<Item = &SettingSpec> {
        let auth_only: Vec<&str> = match (&self.declaration.auth, &self.declaration.oauth2) {
            (Some(Auth::Header(h)), Some(o)) if oauth => {
                let used_by_oauth: Vec<&str> =
                    o.headers.values().flat_map(Template::vars).collect();
                h.headers
                    .values()
                    .flat_map(Template::vars)
                    .filter(|v| !used_by_oauth.contains(v))
                    .collect()
            }
            (Some(Auth::Basic(b)), Some(_)) if oauth => {
                b.username.vars().chain(b.password.vars()).collect()
            }
            _ => Vec::new(),
        };
        self.settings
            .iter()
            .filter(move |s| s.required && !auth_only.contains(&s.name.as_str()))
    }

    /// The headers that authenticate a call with this connection's settings, marked sensitive:
    /// `oauth2.headers` with the access token for a connection authorized through OAuth, `auth`
    /// for any other.
    pub fn auth_headers(&self, settings: &ConnectionSettings) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        if let Some(oauth) = &self.declaration.oauth2
            && settings.has(crate::oauth::ACCESS_TOKEN)
        {
            for (name, template) in &oauth.headers {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .expect("header names are checked when the manifest loads");
                let text = template.render(|var| {
                    let key = if var == "access_token" || oauth.keep.iter().any(|k| k == var) {
                        format!("{}{var}", crate::oauth::KEPT)
                    } else {
                        var.to_owned()
                    };
                    settings.require(&key).map(Cow::Borrowed)
                })?;
                headers.insert(name, sensitive_value(&text)?);
            }
            return Ok(headers);
        }
        match &self.declaration.auth {
            None => {
                return Err(ConnectorError::new(
                    ErrorKind::MissingSetting("oauth".to_owned()),
                    "The connection is not authorized yet: the end customer connects it through its authorize_url.",
                ));
            }
            Some(Auth::Header(auth)) => {
                for (name, template) in &auth.headers {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .expect("header names are checked when the manifest loads");
                    headers.insert(name, header_value(template, settings)?);
                }
            }
            Some(Auth::Basic(basic)) => {
                let user = SecretString::from(render(&basic.username, settings)?);
                let password = SecretString::from(render(&basic.password, settings)?);
                let credentials =
                    SecretString::from(base64::engine::general_purpose::STANDARD.encode(format!(
                        "{}:{}",
                        user.expose_secret(),
                        password.expose_secret()
                    )));
                let mut value =
                    HeaderValue::from_str(&format!("Basic {}", credentials.expose_secret()))
                        .expect("base64 is always a valid header value");
                value.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, value);
            }
        }
        Ok(headers)
    }

    /// The vendor's documented request budget per connection.
    pub fn rate_budget(&self) -> Option<RateBudget> {
        let budget = self.declaration.rate_limit.as_ref()?.budget?;
        Some(RateBudget {
            requests: budget.requests,
            per: std::time::Duration::from_secs(budget.per_seconds),
        })
    }

    /// The vendor's own count of its rate limit in an answer's headers, as
    /// `rate_limit.headers` declares them; `None` when none are declared or the answer lacks
    /// them.
    pub fn rate_limit_status(&self, headers: &HeaderMap) -> Option<RateLimitStatus> {
        self.rate_limit.status(headers)
    }

    /// How the outbound client reads the vendor's rate limit: the declared headers, and the
    /// declared `retry_after` hints as the only waits a vendor error asks for.
    pub fn rate_report(&self) -> Arc<dyn RateReport> {
        self.rate_limit.clone()
    }

    /// The largest page the vendor's list of `resource` serves. A resource without a declared
    /// list pages one record at a time; the gateway refuses at start-up to serve a resource
    /// whose manifest lacks its list, so that is never used.
    pub fn max_page_size(&self, resource: Resource) -> u32 {
        self.declaration
            .resources
            .get(resource.as_str())
            .and_then(|r| r.list.as_ref())
            .map_or(1, |list| {
                list.pagination
                    .page_size()
                    .map_or(u32::MAX, |size| size.maximum)
            })
    }

    /// The parameters the lists and searches of every resource page with (their cursor, page
    /// number or offset, and page size), in the manifest's order, each once.
    pub fn paging_params(&self) -> Vec<&str> {
        let mut params: Vec<&str> = Vec::new();
        for resource in self.declaration.resources.values() {
            for op in resource.list.iter().chain(&resource.search) {
                let paginations = std::iter::once(&op.pagination).chain(&op.sorted_pagination);
                for param in paginations.flat_map(Pagination::params) {
                    if !params.contains(&param) {
                        params.push(param);
                    }
                }
            }
        }
        params
    }
}

impl Pagination {
    /// The page size this pagination asks for; `None` for a list answered whole.
    pub fn page_size(&self) -> Option<&PageSize> {
        match self {
            Pagination::Cursor(p) => Some(&p.page_size),
            Pagination::NextLink(p) => Some(&p.page_size),
            Pagination::PageNumber(p) => Some(&p.page_size),
            Pagination::Offset(p) => Some(&p.page_size),
            Pagination::Keyset(p) => Some(&p.page_size),
            Pagination::All(_) => None,
        }
    }

    /// The parameters it sets: where the page is, then its size.
    pub fn params(&self) -> Vec<&str> {
        let position = match self {
            Pagination::Cursor(p) => Some(p.param.as_str()),
            Pagination::PageNumber(p) => Some(p.param.as_str()),
            Pagination::Offset(p) => Some(p.param.as_str()),
            Pagination::NextLink(_) | Pagination::Keyset(_) | Pagination::All(_) => None,
        };
        position
            .into_iter()
            .chain(self.page_size().map(|size| size.param.as_str()))
            .collect()
    }
}

/// A template rendered from settings, secrets included; callers hold the result as a secret
/// so that it is wiped when dropped.
fn render(template: &Template, settings: &ConnectionSettings) -> Result<String> {
    template.render(|name| settings.require(name).map(Cow::Borrowed))
}

/// A header value from a template, marked sensitive. A value that cannot be sent in a header
/// names the setting that brought the bad characters.
/// A header value of an authorized call, from text the vendor's token answer filled.
fn sensitive_value(text: &str) -> Result<HeaderValue> {
    let text = SecretString::from(text.to_owned());
    let mut value = HeaderValue::from_str(text.expose_secret()).map_err(|_| {
        ConnectorError::new(
            ErrorKind::Unauthorized,
            "The connection's OAuth token holds characters that cannot be sent in a header; authorize it again.",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn header_value(template: &Template, settings: &ConnectionSettings) -> Result<HeaderValue> {
    let text = SecretString::from(render(template, settings)?);
    let mut value = HeaderValue::from_str(text.expose_secret()).map_err(|_| {
        let culprit = template
            .vars()
            .find(|name| {
                settings
                    .require(name)
                    .is_ok_and(|v| HeaderValue::from_str(v).is_err())
            })
            .or_else(|| template.vars().next())
            .unwrap_or_default();
        ConnectorError::new(
            ErrorKind::MissingSetting(culprit.to_owned()),
            format!("The {culprit} setting holds characters that cannot be sent in a header."),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// serde-saphyr's message without its own position, which the error carries separately.
fn parse_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text).trim();
    match first.rfind(" at line ") {
        Some(at) if first[at..].contains(", column ") => first[..at].to_owned(),
        _ => first.to_owned(),
    }
}

/// The JSON Schema of manifest files, generated from the types that parse them.
/// `connectors/schema.json` is this; a test keeps it in sync.
pub fn manifest_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ManifestFile)).expect("a schema is plain JSON")
}

#[cfg(test)]
mod tests;
