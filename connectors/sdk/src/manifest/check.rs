//! The checks a manifest passes after it parses: every reference resolves (settings in
//! templates, `{id}` where there is a record, resources the connector maps), every limit is
//! consistent (page sizes, budgets), every name is usable (headers, hosts). Each problem names
//! the element it is about; the loader turns that into a line and column.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue};
use url::Url;

use super::Expected;
use super::file::*;
use super::locate::At;
use super::template::{JsonTemplate, Template, is_name};
use crate::settings::BASE_URL;
use crate::{Resource, SettingSpec};

/// One thing wrong with a manifest.
#[derive(Debug)]
pub(super) struct Problem {
    pub at: At,
    pub message: String,
}

/// Every problem of a parsed manifest, in document order of the checks.
pub(super) fn check(file: &ManifestFile, expected: &Expected<'_>) -> Vec<Problem> {
    let mut cx = Checker {
        settings: &file.settings,
        base_hosts: &file.base_url.hosts,
        problems: Vec::new(),
    };
    let root = At::default();
    if file.meta.id != expected.id {
        cx.problem(
            root.key("meta").key("id"),
            format!(
                "the manifest of connector {:?} says id {:?}; they must be the same",
                expected.id, file.meta.id
            ),
        );
    }
    cx.settings(&root.key("settings"));
    cx.base_url(&file.base_url, &root.key("base_url"));
    match (&file.auth, &file.oauth2) {
        (Some(auth), _) => cx.auth(auth, &root.key("auth")),
        (None, Some(_)) => {}
        (None, None) => cx.problem(
            root.key("auth"),
            "say how calls carry the credentials: `auth`, or `oauth2` for a vendor that has only OAuth",
        ),
    }
    if let Some(oauth) = &file.oauth2 {
        cx.oauth2(oauth, &root.key("oauth2"));
    }
    if let Some(rate) = &file.rate_limit {
        cx.rate_limit(rate, &root.key("rate_limit"));
    }
    cx.errors(&file.errors, &root.key("errors"));
    let resources = root.key("resources");
    for (name, spec) in &file.resources {
        if Resource::parse(name).is_none() {
            let known: Vec<&str> = Resource::ALL.iter().map(|r| r.as_str()).collect();
            cx.problem(
                resources.name(name),
                format!(
                    "{name:?} is not a unified resource; crmgate serves: {}",
                    known.join(", ")
                ),
            );
        }
        cx.resource(spec, &resources.key(name));
    }
    for resource in expected.resources {
        let listed = file
            .resources
            .get(resource.as_str())
            .is_some_and(|r| r.list.is_some());
        if !listed {
            cx.problem(
                resources.clone(),
                format!(
                    "the connector maps {0} but the manifest has no resources.{0}.list",
                    resource.as_str()
                ),
            );
        }
    }
    let lookups = root.key("lookups");
    for (name, lookup) in &file.lookups {
        if !is_name(name) {
            cx.problem(
                lookups.name(name),
                format!("{name:?} is not a lookup name: lower case letters, digits and `_`"),
            );
        }
        cx.lookup(lookup, &lookups.key(name));
    }
    cx.problems
}

/// What a template may name.
struct Vars<'a> {
    /// Where the template is, in words, for messages.
    place: &'static str,
    /// Whether secret settings may be used (auth only).
    secrets: bool,
    /// Names besides the settings (`id`, `field`, `value`).
    extra: &'a [&'a str],
}

const NO_EXTRA: &[&str] = &[];
/// The fields of a token answer that are the tokens themselves, not kept beside them.
const TOKEN_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "expires_in",
    "token_type",
    "scope",
];
const RECORD: &[&str] = &["id"];
const FILTER_ITEM: &[&str] = &["field", "value"];
const SORT_ITEM: &[&str] = &["field", "direction"];

struct Checker<'a> {
    settings: &'a [SettingSpec],
    /// `base_url.hosts`, which an OAuth revoke URL may be on.
    base_hosts: &'a [crate::HostPattern],
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, at: At, message: impl Into<String>) {
        self.problems.push(Problem {
            at,
            message: message.into(),
        });
    }

    fn settings(&mut self, at: &At) {
        for (i, spec) in self.settings.iter().enumerate() {
            let here = at.index(i);
            let name = &spec.name;
            if name == BASE_URL {
                self.problem(
                    here.key("name"),
                    "base_url is a setting of every connector and is added after these; remove it",
                );
            } else if name == "id" {
                self.problem(
                    here.key("name"),
                    "`id` stands for the record id in templates; choose another name",
                );
            } else if !is_name(name) {
                self.problem(
                    here.key("name"),
                    format!(
                        "{name:?} is not a setting name: lower case letters, digits and `_`, starting with a letter"
                    ),
                );
            }
            if let Some(first) = self.settings[..i].iter().position(|s| s.name == *name) {
                self.problem(
                    here.key("name"),
                    format!("setting {name:?} is declared twice (first as settings[{first}])"),
                );
            }
            if let Some(default) = &spec.default {
                if spec.secret {
                    self.problem(
                        here.key("default"),
                        "a secret setting cannot have a default: it would be in the binary for all to read",
                    );
                } else if spec.required {
                    self.problem(
                        here.key("default"),
                        "a required setting never falls back to its default; drop one of the two",
                    );
                } else if let Err(why) = spec.check(default) {
                    self.problem(here.key("default"), format!("the default {why}"));
                }
            }
        }
    }

    /// Checks a template's placeholders against what `vars` allows.
    fn template(&mut self, template: &Template, vars: &Vars<'_>, at: &At) {
        for name in template.vars() {
            if vars.extra.contains(&name) {
                continue;
            }
            match self.settings.iter().find(|s| s.name == name) {
                Some(spec) if spec.secret && !vars.secrets => self.problem(
                    at.clone(),
                    format!(
                        "{{{name}}} is a secret setting; secrets may only be used in auth, never in {}",
                        vars.place
                    ),
                ),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = vars
                        .extra
                        .iter()
                        .copied()
                        .chain(
                            self.settings
                                .iter()
                                .filter(|s| vars.secrets || !s.secret)
                                .map(|s| s.name.as_str()),
                        )
                        .collect();
                    let known = if known.is_empty() {
                        "no placeholders".to_owned()
                    } else {
                        known.iter().map(|k| format!("{{{k}}}")).collect::<Vec<_>>().join(", ")
                    };
                    self.problem(
                        at.clone(),
                        format!(
                            "{{{name}}} is neither a setting nor known in {}; it may use {known}",
                            vars.place
                        ),
                    );
                }
            }
        }
    }

    /// Checks every template of a JSON template (a body, a list item).
    fn value_template(&mut self, value: &JsonTemplate, vars: &Vars<'_>, at: &At) {
        value.visit(at, &mut |found, at| match found {
            Ok(template) => self.template(template, vars, at),
            Err(why) => self.problem(at.clone(), why),
        });
    }

    fn header_name(&mut self, name: &str, at: &At) {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            self.problem(at.clone(), format!("{name:?} is not an HTTP header name"));
        }
    }

    fn base_url(&mut self, base: &BaseUrl, at: &At) {
        if base.hosts.is_empty() {
            self.problem(
                at.key("hosts"),
                "list at least one host: credentials go nowhere else",
            );
        }
        let vars = Vars {
            place: "the base URL",
            secrets: false,
            extra: NO_EXTRA,
        };
        let here = at.key("default");
        self.template(&base.default, &vars, &here);
        // Placeholders stand for one DNS label, the most a setting may fill in a host.
        let sample = base
            .default
            .render(|_| Ok::<_, ()>("x".into()))
            .unwrap_or_default();
        let url = match Url::parse(&sample) {
            Ok(url) => url,
            Err(e) => {
                self.problem(
                    here,
                    format!("{:?} is not a URL: {e}", base.default.as_str()),
                );
                return;
            }
        };
        if url.scheme() != "https" {
            self.problem(
                here,
                "the vendor's API is reached over HTTPS; the default must start with https://",
            );
            return;
        }
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(443);
        if !base.hosts.iter().any(|h| h.matches(host, port)) {
            self.problem(
                here,
                format!("the default's host {host} is not one of base_url.hosts"),
            );
        }
    }

    fn auth(&mut self, auth: &Auth, at: &At) {
        let vars = Vars {
            place: "auth",
            secrets: true,
            extra: NO_EXTRA,
        };
        match auth {
            Auth::Header(header) => self.auth_headers(&header.headers, &vars, &at.key("headers")),
            Auth::Basic(basic) => {
                self.template(&basic.username, &vars, &at.key("username"));
                self.template(&basic.password, &vars, &at.key("password"));
            }
        }
    }

    /// Headers that carry credentials: valid names, each once, values that can be headers.
    fn auth_headers(&mut self, headers: &BTreeMap<String, Template>, vars: &Vars<'_>, at: &At) {
        if headers.is_empty() {
            self.problem(at.clone(), "list at least one header");
        }
        let mut seen: Vec<&str> = Vec::new();
        for (name, template) in headers {
            let here = at.key(name);
            self.header_name(name, &at.name(name));
            if let Some(other) = seen.iter().find(|s| s.eq_ignore_ascii_case(name)) {
                self.problem(
                    at.name(name),
                    format!("header {name:?} is given twice (also as {other:?}); header names ignore case"),
                );
            }
            seen.push(name);
            self.template(template, vars, &here);
            let sample = template
                .render(|_| Ok::<_, ()>("x".into()))
                .unwrap_or_default();
            if HeaderValue::from_str(&sample).is_err() {
                self.problem(here, "the value holds characters a header cannot carry");
            }
        }
    }

    fn oauth2(&mut self, oauth: &OAuth2, at: &At) {
        for (key, url) in [
            ("authorization_url", &oauth.authorization_url),
            ("token_url", &oauth.token_url),
        ] {
            match Url::parse(url) {
                Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => {}
                Ok(_) => self.problem(at.key(key), format!("{url:?} is not an https:// URL")),
                Err(e) => self.problem(at.key(key), format!("{url:?} is not a URL: {e}")),
            }
        }
        if let Some(revoke) = &oauth.revoke_url {
            let here = at.key("revoke_url");
            let token_host = Url::parse(&oauth.token_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            match Url::parse(revoke) {
                Ok(url) if url.scheme() == "https" => {
                    let host = url.host_str().unwrap_or_default();
                    let port = url.port_or_known_default().unwrap_or(443);
                    let known = token_host.as_deref() == Some(host)
                        || self.base_hosts.iter().any(|h| h.matches(host, port));
                    if !known {
                        self.problem(
                            here,
                            format!(
                                "{host} is neither the token URL's host nor one of base_url.hosts"
                            ),
                        );
                    }
                }
                Ok(_) => self.problem(here, format!("{revoke:?} is not an https:// URL")),
                Err(e) => self.problem(here, format!("{revoke:?} is not a URL: {e}")),
            }
        }
        let scope_vars = Vars {
            place: "a scope",
            secrets: false,
            extra: NO_EXTRA,
        };
        for (i, scope) in oauth.scopes.iter().enumerate() {
            self.template(scope, &scope_vars, &at.key("scopes").index(i));
        }
        if oauth.scope_separator.is_empty() {
            self.problem(
                at.key("scope_separator"),
                "scopes need a separator (RFC 6749 uses a space)",
            );
        }
        for (i, name) in oauth.keep.iter().enumerate() {
            if !is_name(name) || TOKEN_FIELDS.contains(&name.as_str()) {
                self.problem(
                    at.key("keep").index(i),
                    format!(
                        "{name:?} cannot be kept: a name of lower case letters, digits and `_`, other than {}",
                        TOKEN_FIELDS.join(", ")
                    ),
                );
            }
        }
        if let Some(name) = &oauth.base_url_from
            && !oauth.keep.contains(name)
        {
            self.problem(
                at.key("base_url_from"),
                format!("{name:?} is not one of oauth2.keep; keep it to take the base URL from it"),
            );
        }
        let extra: Vec<&str> = std::iter::once("access_token")
            .chain(oauth.keep.iter().map(String::as_str))
            .collect();
        let vars = Vars {
            place: "oauth2.headers",
            secrets: true,
            extra: &extra,
        };
        self.auth_headers(&oauth.headers, &vars, &at.key("headers"));
    }

    fn rate_limit(&mut self, rate: &RateLimit, at: &At) {
        if let Some(budget) = &rate.budget {
            let here = at.key("budget");
            if budget.requests == 0 {
                self.problem(here.key("requests"), "a budget allows at least 1 request");
            }
            if budget.per_seconds == 0 {
                self.problem(here.key("per_seconds"), "a window lasts at least 1 second");
            }
        }
        if let Some(headers) = &rate.headers {
            let here = at.key("headers");
            match (&headers.usage, &headers.limit, &headers.remaining) {
                (Some(usage), None, None) => {
                    self.header_name(&usage.header, &here.key("usage").key("header"));
                }
                (None, Some(limit), Some(remaining)) => {
                    self.header_name(limit, &here.key("limit"));
                    self.header_name(remaining, &here.key("remaining"));
                }
                _ => self.problem(
                    here.clone(),
                    "name the `limit` and `remaining` headers, or one `usage` header instead",
                ),
            }
            let reset = match &headers.reset {
                Reset::EpochSeconds(h) | Reset::DeltaSeconds(h) => &h.header,
                Reset::WindowMilliseconds(w) => &w.header,
            };
            self.header_name(reset, &here.key("reset").key("header"));
        }
        for (i, hint) in rate.retry_after.iter().enumerate() {
            let here = at.key("retry_after").index(i);
            match hint {
                RetryHint::Header(h) => self.header_name(&h.name, &here.key("name")),
                RetryHint::Reset(_) if rate.headers.is_none() => self.problem(
                    here,
                    "waiting for the reset needs rate_limit.headers to read it from",
                ),
                RetryHint::Reset(_) | RetryHint::Body(_) => {}
            }
        }
    }

    fn errors(&mut self, errors: &Errors, at: &At) {
        for (i, rule) in errors.rules.iter().enumerate() {
            let earlier = errors.rules[..i]
                .iter()
                .position(|e| e.when.is_none() && covers(&e.status, &rule.status));
            if let Some(j) = earlier {
                self.problem(
                    at.key("rules").index(i),
                    format!("this rule never applies: rules[{j}] takes every status it names"),
                );
            }
        }
    }

    fn resource(&mut self, spec: &ResourceSpec, at: &At) {
        match (&spec.id.prefix, spec.id.format) {
            (Some(_), IdFormat::Integer | IdFormat::Uuid) => self.problem(
                at.key("id").key("prefix"),
                "integer ids and GUIDs have no prefix; use format: string",
            ),
            (Some(prefix), _) if prefix.is_empty() => self.problem(
                at.key("id").key("prefix"),
                "an empty prefix says nothing; leave it out",
            ),
            _ => {}
        }
        if let Some(list) = &spec.list {
            let here = at.key("list");
            self.list(list, &here);
            if !list.for_filters.is_empty() {
                self.problem(
                    here.key("for_filters"),
                    "for_filters says when the search serves instead of the list; give it on search",
                );
            }
            if list.hydrate.is_some() {
                self.problem(
                    here.key("hydrate"),
                    "a list answers records; hydrate is for a search that answers hits",
                );
            }
        }
        if let Some(search) = &spec.search {
            self.list(search, &at.key("search"));
            if !search.takes.is_empty() && search.for_filters.is_empty() {
                self.problem(
                    at.key("search").key("takes"),
                    "takes names what a search chosen by for_filters takes besides them; give for_filters",
                );
            }
            if let Some(hydrate) = &search.hydrate {
                let here = at.key("search").key("hydrate");
                if !matches!(hydrate.method, Method::Get | Method::Post) {
                    self.problem(here.key("method"), "a hydrate is GET or POST");
                }
                self.path(&hydrate.path, false, &here);
                self.query(&hydrate.query, true, &here);
                if !hydrate.query.values().any(|t| t.vars().any(|v| v == "id")) {
                    self.problem(
                        here.key("query"),
                        "a hydrate names the ids, {id}, in its query",
                    );
                }
            }
            if spec.list.is_none() {
                self.problem(
                    at.key("search"),
                    "a search is the list's variant for filters and sorts; declare list too",
                );
            }
        }
        if let Some(get) = &spec.get {
            let here = at.key("get");
            if !matches!(get.method, Method::Get | Method::Post) {
                self.problem(here.key("method"), "a read is GET or POST");
            }
            self.path(&get.path, true, &here);
            self.query(&get.query, true, &here);
        }
        if let Some(create) = &spec.create {
            self.write(create, false, &at.key("create"));
        }
        if let Some(update) = &spec.update {
            self.write(update, true, &at.key("update"));
        }
        for (name, embed) in &spec.embed {
            self.embed(name, embed, &at.key("embed"));
        }
        if let Some(delete) = &spec.delete {
            let here = at.key("delete");
            if delete.method == Method::Get {
                self.problem(here.key("method"), "a delete cannot be a GET");
            }
            self.path(&delete.path, true, &here);
            self.query(&delete.query, true, &here);
        }
    }

    /// A path below the base URL; `record` when it is about one record (and so needs `{id}`).
    fn path(&mut self, path: &Template, record: bool, at: &At) {
        let here = at.key("path");
        if !path.as_str().starts_with('/') {
            self.problem(here.clone(), "a path starts with /");
        }
        let vars = Vars {
            place: if record {
                "a path"
            } else {
                "a path that names no record"
            },
            secrets: false,
            extra: if record { RECORD } else { NO_EXTRA },
        };
        self.template(path, &vars, &here);
        if record && !path.vars().any(|v| v == "id") {
            self.problem(here, "the path of an operation on one record needs {id}");
        }
    }

    fn query(
        &mut self,
        query: &std::collections::BTreeMap<String, Template>,
        record: bool,
        at: &At,
    ) {
        let vars = Vars {
            place: "a query",
            secrets: false,
            extra: if record { RECORD } else { NO_EXTRA },
        };
        for (name, template) in query {
            if name.is_empty() {
                self.problem(at.key("query").name(name), "a query parameter needs a name");
            }
            self.template(template, &vars, &at.key("query").key(name));
        }
    }

    fn body(&mut self, body: Option<&JsonTemplate>, method: Method, record: bool, at: &At) {
        let Some(body) = body else { return };
        if matches!(method, Method::Get | Method::Delete) {
            self.problem(at.key("body"), "a GET or DELETE carries no body");
        }
        if !body.is_object() {
            self.problem(at.key("body"), "a body template is a map of fields");
        }
        let vars = Vars {
            place: "a body",
            secrets: false,
            extra: if record { RECORD } else { NO_EXTRA },
        };
        self.value_template(body, &vars, &at.key("body"));
    }

    /// Headers an operation adds: valid names, values from non-secret settings.
    fn operation_headers(&mut self, headers: &BTreeMap<String, Template>, at: &At) {
        let vars = Vars {
            place: "an operation's header",
            secrets: false,
            extra: NO_EXTRA,
        };
        for (name, template) in headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.problem(at.key("headers").name(name), "not a header name");
            }
            self.template(template, &vars, &at.key("headers").key(name));
        }
    }

    fn write(&mut self, op: &WriteOperation, record: bool, at: &At) {
        if !matches!(op.method, Method::Post | Method::Put | Method::Patch) {
            self.problem(at.key("method"), "a write is POST, PUT or PATCH");
        }
        self.operation_headers(&op.headers, at);
        self.path(&op.path, record, at);
        self.query(&op.query, record, at);
        self.body(op.body.as_ref(), op.method, record, at);
    }

    fn list(&mut self, op: &ListOperation, at: &At) {
        if !matches!(op.method, Method::Get | Method::Post) {
            self.problem(at.key("method"), "a list is GET or POST");
        }
        self.path(&op.path, false, at);
        // A query-language list writes its filters and sort into its query templates.
        let filters_inline = matches!(op.filters, Some(FilterEncoding::Expression(_)));
        let sort_inline = matches!(op.sort, Some(SortEncoding::Expression(_)));
        let select_inline = op
            .fields
            .as_ref()
            .is_some_and(|f| f.place == FieldPlace::Select);
        let extra: Vec<&str> = [
            ("where", filters_inline),
            ("order_by", sort_inline),
            ("select", select_inline),
        ]
        .into_iter()
        .filter_map(|(name, used)| used.then_some(name))
        .collect();
        let vars = Vars {
            place: "a query",
            secrets: false,
            extra: &extra,
        };
        for (name, template) in &op.query {
            if name.is_empty() {
                self.problem(at.key("query").name(name), "a query parameter needs a name");
            }
            self.template(template, &vars, &at.key("query").key(name));
        }
        for (placeholder, used, key) in [
            ("where", filters_inline, "filters"),
            ("order_by", sort_inline, "sort"),
            ("select", select_inline, "fields"),
        ] {
            if used
                && !op
                    .query
                    .values()
                    .any(|t| t.vars().any(|v| v == placeholder))
            {
                self.problem(
                    at.key(key),
                    format!("an expression goes into the query where it says {{{placeholder}}}; no query parameter does"),
                );
            }
        }
        if let Some(fields) = &op.fields
            && fields.place != FieldPlace::Select
            && fields.param.is_empty()
        {
            self.problem(
                at.key("fields"),
                "name the parameter the field names go in (`param`)",
            );
        }
        self.operation_headers(&op.headers, at);
        self.body(op.body.as_ref(), op.method, false, at);
        let get = op.method == Method::Get;
        let mut params = self.pagination(&op.pagination, get, &op.query, at);
        if let Some(filters) = &op.filters {
            let here = at.key("filters");
            match filters {
                FilterEncoding::Query(_) => {}
                FilterEncoding::Body(_) | FilterEncoding::List(_) if get => {
                    self.problem(here.clone(), "a GET has no body to put filters in");
                }
                FilterEncoding::Body(_) => {}
                FilterEncoding::Expression(expression) => {
                    let vars = Vars {
                        place: "a filter expression",
                        secrets: false,
                        extra: FILTER_ITEM,
                    };
                    let conditions = [
                        ("equals", Some(&expression.equals)),
                        ("since", expression.since.as_ref()),
                    ];
                    for (key, template) in conditions {
                        if let Some(template) = template {
                            self.template(template, &vars, &here.key(key));
                        }
                    }
                }
                FilterEncoding::List(list) => {
                    let vars = Vars {
                        place: "a filter item",
                        secrets: false,
                        extra: FILTER_ITEM,
                    };
                    self.value_template(&list.item, &vars, &here.key("item"));
                    if let Some(since) = &list.since {
                        self.value_template(since, &vars, &here.key("since"));
                    }
                }
            }
        }
        if let Pagination::Keyset(_) = &op.pagination
            && !matches!(op.filters, Some(FilterEncoding::List(_)))
        {
            self.problem(
                at.key("pagination"),
                "keyset paging adds its filter to the filter list; give filters with type: list",
            );
        }
        match &op.sort {
            Some(SortEncoding::Params(sort)) => {
                let here = at.key("sort");
                if sort.place == Place::Body && get {
                    self.problem(
                        here.key("in"),
                        "a GET has no body; put the sort in the query",
                    );
                }
                for param in [&sort.field, &sort.direction] {
                    if sort.place == Place::Query && op.query.contains_key(param) {
                        self.problem(
                            here.clone(),
                            format!("the query already sets {param:?}, which the sort sets"),
                        );
                    }
                    if params.contains(&param) {
                        self.problem(
                            here.clone(),
                            format!("{param:?} is set by both the sort and the pagination"),
                        );
                    }
                }
                params.extend([&sort.field, &sort.direction]);
            }
            Some(SortEncoding::Param(sort)) => {
                let here = at.key("sort");
                if sort.place == Place::Body && get {
                    self.problem(
                        here.key("in"),
                        "a GET has no body; put the sort in the query",
                    );
                }
                if sort.place == Place::Query && op.query.contains_key(&sort.name) {
                    self.problem(
                        here.key("name"),
                        format!(
                            "the query already sets {:?}, which the sort sets",
                            sort.name
                        ),
                    );
                }
                if params.contains(&&sort.name) {
                    self.problem(
                        here.key("name"),
                        format!("{:?} is set by both the sort and the pagination", sort.name),
                    );
                }
                for (key, value) in [
                    ("ascending", &sort.ascending),
                    ("descending", &sort.descending),
                ] {
                    let vars: Vec<&str> = value.vars().collect();
                    if vars != ["field"] {
                        self.problem(
                            here.key(key),
                            format!(
                                "{:?} must name the vendor field once, as {{field}}, and nothing else",
                                value.as_str()
                            ),
                        );
                    }
                }
                params.push(&sort.name);
            }
            Some(SortEncoding::List(sort)) => {
                let here = at.key("sort");
                if get {
                    self.problem(here.clone(), "a GET has no body to put a sort list in");
                }
                let vars = Vars {
                    place: "a sort item",
                    secrets: false,
                    extra: SORT_ITEM,
                };
                self.value_template(&sort.item, &vars, &here.key("item"));
            }
            Some(SortEncoding::Expression(sort)) => {
                let vars = Vars {
                    place: "a sort expression",
                    secrets: false,
                    extra: SORT_ITEM,
                };
                self.template(&sort.item, &vars, &at.key("sort").key("item"));
            }
            None => {
                if op.default_sort.is_some() {
                    self.problem(
                        at.key("default_sort"),
                        "a default sort needs `sort`: how a sort is sent",
                    );
                }
            }
        }
    }

    /// Checks the pagination of the operation at `op` and answers the parameters it sets.
    fn pagination<'p>(
        &mut self,
        pagination: &'p Pagination,
        get: bool,
        query: &std::collections::BTreeMap<String, Template>,
        op: &At,
    ) -> Vec<&'p String> {
        let at = &op.key("pagination");
        // Keyset paging continues through the filter list, which the list's checks place.
        let (params, place, page_size, overlap): (Vec<&String>, Option<Place>, &PageSize, u32) =
            match pagination {
                Pagination::Cursor(p) => (vec![&p.param], Some(p.place), &p.page_size, 0),
                Pagination::NextLink(p) => (vec![], Some(Place::Query), &p.page_size, 0),
                Pagination::PageNumber(p) => {
                    (vec![&p.param], Some(p.place), &p.page_size, p.overlap)
                }
                Pagination::Offset(p) => (vec![&p.param], Some(p.place), &p.page_size, p.overlap),
                Pagination::Keyset(p) => {
                    let vars = Vars {
                        place: "a keyset filter",
                        secrets: false,
                        extra: FILTER_ITEM,
                    };
                    self.value_template(&p.after, &vars, &at.key("after"));
                    (vec![], None, &p.page_size, 0)
                }
                Pagination::All(_) => return Vec::new(),
            };
        let size = at.key("page_size");
        if page_size.maximum == 0 {
            self.problem(size.key("maximum"), "the maximum page size is at least 1");
        }
        if let Some(default) = page_size.default {
            if default == 0 {
                self.problem(size.key("default"), "the default page size is at least 1");
            } else if default > page_size.maximum {
                self.problem(
                    size.key("default"),
                    format!(
                        "the default page size {default} is above the maximum {}",
                        page_size.maximum
                    ),
                );
            }
        }
        if overlap > 0 && overlap >= page_size.maximum {
            self.problem(
                at.key("overlap"),
                format!(
                    "an overlap of {overlap} leaves no new record on a page of {}",
                    page_size.maximum
                ),
            );
        }
        if place == Some(Place::Body) && get {
            self.problem(at.key("in"), "a GET has no body; page it in the query");
        }
        let mut all = params;
        all.push(&page_size.param);
        if all.len() == 2 && all[0] == all[1] {
            self.problem(
                size.key("param"),
                format!("{:?} cannot carry both the page and its size", all[0]),
            );
        }
        if place == Some(Place::Query) {
            for param in &all {
                if query.contains_key(*param) {
                    self.problem(
                        op.key("query").name(param),
                        format!("the query already sets {param:?}, which the pagination sets"),
                    );
                }
            }
        }
        all
    }

    fn lookup(&mut self, lookup: &Lookup, at: &At) {
        self.fetch(&Fetch::of_lookup(lookup), "a lookup", at);
    }

    fn embed(&mut self, name: &str, embed: &Embed, at: &At) {
        if !is_name(name) {
            self.problem(
                at.name(name),
                format!("{name:?} is not a member name: lower case letters, digits and `_`"),
            );
        }
        self.fetch(&Fetch::of_embed(embed), "an embed", &at.key(name));
    }

    /// A call read page by page, by a lookup or an embed (`what`).
    fn fetch(&mut self, fetch: &Fetch<'_>, what: &str, at: &At) {
        if !matches!(fetch.method, Method::Get | Method::Post) {
            self.problem(at.key("method"), format!("{what} is GET or POST"));
        }
        self.path(fetch.path, false, at);
        self.query(fetch.query, false, at);
        if let Some(pagination) = fetch.pagination {
            self.pagination(pagination, fetch.method == Method::Get, fetch.query, at);
        }
        if fetch.max_pages == 0 {
            self.problem(at.key("max_pages"), format!("{what} reads at least 1 page"));
        } else if fetch.max_pages > 1 && fetch.pagination.is_none() {
            self.problem(
                at.key("max_pages"),
                "reading more than one page needs a pagination",
            );
        }
    }
}

/// Whether every status `later` names is one `earlier` names too.
fn covers(earlier: &StatusList, later: &StatusList) -> bool {
    later.0.iter().all(|l| {
        earlier.0.iter().any(|e| match (e, l) {
            (StatusPattern::Class(a), StatusPattern::Class(b)) => a == b,
            (e, StatusPattern::Code(code)) => e.matches(*code),
            (StatusPattern::Code(_), StatusPattern::Class(_)) => false,
        })
    })
}
