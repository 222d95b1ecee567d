//! The connector manifest format, `connectors/<id>/connector.yaml`, as serde types. The doc
//! comments are the reference: `connectors/schema.json` is generated from them, and
//! docs/connectors.md walks through one file. Unknown keys are errors, and every element that
//! takes several forms names its form with `type` (written first, so errors keep their line).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use indexmap::IndexMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

use super::path::RecordPath;
use super::tagged::tagged;
use super::template::{JsonTemplate, Template};
use crate::{HostPattern, SettingSpec};

/// One connector manifest: everything crmgate knows about a vendor's API that is data rather
/// than code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Who the connector is and which vendor API it targets.
    pub meta: Meta,
    /// The settings a connection of this connector takes, in the order Vault shows them.
    /// `base_url` is not listed: every connector takes it, and it is added after these.
    #[serde(default)]
    pub settings: Vec<SettingSpec>,
    /// Where the vendor's API lives and which hosts may receive a connection's credentials.
    pub base_url: BaseUrl,
    /// How a call carries the connection's credentials. A vendor that has no credentials but
    /// OAuth's (Salesforce, Dynamics) leaves it out and gives `oauth2`: its connections are
    /// callable once authorized.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// How a connection is authorized through Vault's OAuth 2.0 flow instead, when the vendor
    /// offers it; such a connection carries its access token as `oauth2.headers` say, in place
    /// of `auth`.
    #[serde(default)]
    pub oauth2: Option<OAuth2>,
    /// The vendor's request budget and how it reports its rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// How the vendor's error answers become unified errors.
    pub errors: Errors,
    /// Unified resource name (`opportunities`) → how the vendor serves it.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceSpec>,
    /// Named vendor catalogs (custom field definitions, option labels) that records refer to by
    /// id, read per connection and cached; a request needing several reads them in this order.
    #[serde(default)]
    pub lookups: IndexMap<String, Lookup>,
}

/// Who the connector is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The stable id: service id in the API, folder name, config key (`acme`). Must be the
    /// manifest's folder name.
    pub id: String,
    /// The name people read in Vault (`Acme`).
    pub name: String,
    /// The vendor API version the connector targets (`v2`, `2026-09`), for people and logs.
    pub api_version: String,
}

/// The vendor's API root and the hosts it is served from.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseUrl {
    /// The API root used unless the connection's `base_url` setting or the operator's
    /// `[connectors.<id>] base_url` says otherwise. HTTPS; may use non-secret settings
    /// (`https://{company_domain}.acme.example`).
    pub default: Template,
    /// The hosts (`api.example.com`, `host:port`, `*.example.com`) the vendor serves its API
    /// from: the only ones a connection's credentials are sent to, over HTTPS, unless the
    /// operator allows more. The default base URL must be one of them.
    pub hosts: Vec<HostPattern>,
}

tagged! {
    /// How a call carries the connection's credentials.
    pub enum Auth {
        /// Headers rendered from the connection's settings (`Authorization: Bearer {api_key}`).
        "header" => Header(HeaderAuth),
        /// HTTP Basic authentication from two templates.
        "basic" => Basic(BasicAuth),
    }
}

/// Header authentication.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderAuth {
    /// Header name → value template. Every value is sent marked sensitive, so it never appears
    /// in debug output.
    pub headers: BTreeMap<String, Template>,
}

/// HTTP Basic authentication: `Authorization: Basic base64(username:password)`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name (often the API key).
    pub username: Template,
    /// The password; empty when the vendor takes the key as the user name alone.
    #[serde(default = "empty_template")]
    #[schemars(default = "empty_text")]
    pub password: Template,
}

fn empty_template() -> Template {
    Template::parse("").expect("the empty template parses")
}

fn empty_text() -> &'static str {
    ""
}

/// OAuth 2.0 with the authorization code grant and refresh tokens (RFC 6749), as Vault runs
/// it: `/vault/authorize` sends the end customer to `authorization_url`, `/vault/callback`
/// exchanges the code at `token_url`, and the gateway refreshes the access token before it
/// expires. Each application registers its own client id and secret
/// (`crmgate apps oauth set`), and may override the scopes and both URLs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// Where the end customer grants access (HTTPS).
    pub authorization_url: String,
    /// Where codes and refresh tokens are exchanged for access tokens (HTTPS). It receives the
    /// application's client secret: its host is the only one beyond `base_url.hosts` that the
    /// token calls may reach, unless the operator allows more.
    pub token_url: String,
    /// The scopes asked for unless the application names its own.
    #[serde(default)]
    pub scopes: Vec<Template>,
    /// What joins the scopes in the `scope` parameter (RFC 6749 says a space; some vendors
    /// take commas).
    #[serde(default = "space")]
    #[schemars(default = "space")]
    pub scope_separator: String,
    /// Extra parameters of the authorization URL (`access_type: offline`, `prompt: consent`).
    #[serde(default)]
    pub authorize_params: BTreeMap<String, String>,
    /// Where tokens are revoked (RFC 7009) when the end customer disconnects through
    /// `/vault/revoke` (HTTPS, on the token URL's host or one of `base_url.hosts`).
    pub revoke_url: Option<String>,
    /// Whether a refresh sends the scopes again (the Microsoft identity platform asks for
    /// them); they name the connection's settings as on the authorization.
    #[serde(default)]
    pub scope_on_refresh: bool,
    /// Whether to use PKCE (RFC 7636, S256) where the vendor supports it.
    #[serde(default)]
    pub pkce: bool,
    /// How the client id and secret reach the token endpoint.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Whether the vendor replaces the refresh token on every refresh (the old one stops
    /// working): then a refresh answer without a new one is refused, and the new one is stored
    /// before the access token is used.
    #[serde(default)]
    pub rotates_refresh_tokens: bool,
    /// The `error` codes of a token answer that mean the grant is gone and the end customer
    /// must authorize again; the connection becomes `invalid` and no further refresh is tried.
    #[serde(default = "invalid_grant")]
    #[schemars(default = "invalid_grant")]
    pub reauthorize_on: Vec<String>,
    /// Fields of the token answer kept with the tokens (`instance_url`, `api_domain`), usable
    /// in `headers` as placeholders.
    #[serde(default)]
    pub keep: Vec<String>,
    /// A kept field that is the API root of the authorizing account (Pipedrive's
    /// `api_domain`, Salesforce's `instance_url`): it becomes the connection's `base_url`,
    /// once checked against `base_url.hosts` and the operator's allowed hosts.
    pub base_url_from: Option<String>,
    /// Header name → value template of an authorized call; `{access_token}` is the current
    /// access token. Every value is sent marked sensitive.
    #[serde(default = "bearer")]
    #[schemars(default = "bearer")]
    pub headers: BTreeMap<String, Template>,
}

fn space() -> String {
    " ".to_owned()
}

fn invalid_grant() -> Vec<String> {
    vec!["invalid_grant".to_owned()]
}

fn bearer() -> BTreeMap<String, Template> {
    BTreeMap::from([(
        "authorization".to_owned(),
        Template::parse("Bearer {access_token}").expect("the bearer template parses"),
    )])
}

/// How an application's client credentials reach the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    #[default]
    Body,
    /// HTTP Basic with the client id and secret.
    Basic,
}

/// The vendor's request budget and rate-limit reporting.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The most calls one connection may make in a rolling window, enforced before calls are
    /// sent so that they wait for a slot instead of collecting 429s. The operator's
    /// `[connectors.<id>.rate_limit]` replaces it.
    pub budget: Option<Budget>,
    /// The headers in which the vendor reports its own count, passed to clients as
    /// `x-downstream-ratelimit-*`.
    pub headers: Option<RateHeaders>,
    /// How a 429 says when to try again, in order of preference; without any, the backoff
    /// decides.
    #[serde(default)]
    pub retry_after: Vec<RetryHint>,
}

/// At most `requests` calls per `per_seconds`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Calls allowed in a window; at least 1.
    pub requests: u32,
    /// The window's length in seconds; at least 1.
    pub per_seconds: u64,
}

/// The vendor's rate-limit headers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateHeaders {
    /// The header with the window's allowance.
    #[serde(default)]
    pub limit: Option<String>,
    /// The header with the calls left in the window.
    #[serde(default)]
    pub remaining: Option<String>,
    /// Instead of `limit` and `remaining`: one header holding `key=used/limit` among
    /// `;`-separated pairs (Salesforce's `Sforce-Limit-Info: api-usage=18/5000`).
    #[serde(default)]
    pub usage: Option<UsageHeader>,
    /// When the window resets.
    pub reset: Reset,
}

tagged! {
    /// How the vendor says when its window resets.
    pub enum Reset {
        /// A header holding the reset time as Unix seconds.
        "epoch_seconds" => EpochSeconds(ResetHeader),
        /// A header holding the seconds until the reset.
        "delta_seconds" => DeltaSeconds(ResetHeader),
        /// A header holding the window's length in milliseconds (the reset is at most that
        /// far away), with the length assumed when the header is missing.
        "window_milliseconds" => WindowMilliseconds(WindowHeader),
    }
}

/// A header that holds the calls used and the allowance as `key=used/limit`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageHeader {
    /// The header's name.
    pub header: String,
    /// The pair's key (`api-usage`).
    pub key: String,
}

/// A reset header.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetHeader {
    /// The header's name.
    pub header: String,
}

/// A window-length header.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowHeader {
    /// The header's name.
    pub header: String,
    /// The window's length in milliseconds when the header is missing.
    pub default: Option<u64>,
}

tagged! {
    /// One way a 429 answer says when to retry.
    pub enum RetryHint {
        /// A header holding seconds or an HTTP date (`Retry-After`).
        "header" => Header(RetryHeader),
        /// The reset of the rate-limit headers, when they say the window is used up.
        "reset" => Reset(NoFields),
        /// Seconds (a number, or text holding one) at a path of the error body.
        "body" => Body(RetryBody),
    }
}

/// A retry header.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryHeader {
    /// The header's name.
    pub name: String,
}

/// A retry delay in the error body.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    /// Where the seconds are.
    pub path: RecordPath,
}

/// A form that takes nothing but its `type`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// How vendor error answers become unified errors.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Errors {
    /// Where the vendor's own messages are in an error body, passed to clients as
    /// `downstream_errors`.
    pub messages: Option<ErrorMessages>,
    /// Status (and body) → unified error kind; the first rule that matches decides. A status
    /// no rule matches is `rejected`. Redirects are never followed and always `bad_response`.
    #[serde(default)]
    pub rules: Vec<ErrorRule>,
    /// The statuses on which a call that is safe to repeat (a read, a PUT, a DELETE, a search
    /// POST) is retried, with `rate_limit.retry_after` or a backoff between attempts.
    #[serde(default)]
    pub retry_reads_on: Vec<StatusPattern>,
}

/// Where an error body keeps its messages. Paths that find nothing are skipped.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorMessages {
    /// The main message.
    pub message: Option<RecordPath>,
    /// A longer explanation.
    pub detail: Option<RecordPath>,
    /// The vendor's error code.
    pub code: Option<RecordPath>,
    /// The message used when the body has none at `message`.
    pub fallback: Option<String>,
    /// A list of further errors, each read with paths relative to the item.
    pub items: Option<ErrorItems>,
}

/// A list of errors in an error body.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorItems {
    /// Where the list is.
    pub at: RecordPath,
    /// Each item's message; items without one are skipped.
    pub message: RecordPath,
    /// Each item's detail.
    pub detail: Option<RecordPath>,
    /// Each item's code.
    pub code: Option<RecordPath>,
}

/// One error rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// The statuses it applies to: one or a list, each a code (`404`) or a class (`"5xx"`).
    pub status: StatusList,
    /// Only when the error body also matches this.
    pub when: Option<Predicate>,
    /// The unified error kind.
    pub kind: UnifiedErrorKind,
}

/// The unified error kinds a vendor answer can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnifiedErrorKind {
    /// The credentials were refused.
    Unauthorized,
    /// The record does not exist.
    NotFound,
    /// The request was refused as invalid; the vendor's status is passed on.
    Rejected,
    /// The vendor's rate limit was hit.
    RateLimited,
    /// The vendor failed.
    Unavailable,
    /// The vendor gave up waiting on something.
    Timeout,
    /// The answer is not what the vendor documents.
    BadResponse,
    /// The vendor cannot do what was asked.
    Unsupported,
}

tagged! {
    /// A test on a JSON document (an error body, a lookup entry).
    pub enum Predicate {
        /// The value at `path` equals `value`.
        "equals" => Equals(Equals),
        /// The value at `path` is one of `values`.
        "one_of" => OneOf(OneOf),
        /// Something is at `path` (null counts as nothing).
        "present" => Present(Present),
        /// The inner test fails.
        "not" => Not(Not),
    }
}

/// `path` equals `value`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Equals {
    /// Where the value is.
    pub path: RecordPath,
    /// What it must be.
    pub value: Value,
}

/// `path` is one of `values`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OneOf {
    /// Where the value is.
    pub path: RecordPath,
    /// What it may be.
    pub values: Vec<Value>,
}

/// Something is at `path`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Present {
    /// Where to look.
    pub path: RecordPath,
}

/// The inner test fails.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Not {
    /// The test that must fail.
    pub predicate: Box<Predicate>,
}

/// How the vendor serves one unified resource.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Where a record's id is and what ids look like.
    #[serde(default)]
    pub id: RecordId,
    /// Lists records; also used with filters and sorts unless `search` is given.
    pub list: Option<ListOperation>,
    /// Lists records when the client gives filters or a sort.
    pub search: Option<ListOperation>,
    /// Reads one record.
    pub get: Option<RecordOperation>,
    /// Creates a record.
    pub create: Option<WriteOperation>,
    /// Changes the fields sent of a record.
    pub update: Option<WriteOperation>,
    /// Deletes (or archives, where that is the vendor's delete) a record.
    pub delete: Option<DeleteOperation>,
    /// Records kept apart by the vendor joined into each record read (by list, search or
    /// get), by the member name each is set under: a pipeline's stages at a vendor that lists
    /// stages on their own.
    #[serde(default)]
    pub embed: BTreeMap<String, Embed>,
}

/// A second call, read page by page as a lookup is, whose records join the records read:
/// each record gets, under the embed's name, the list of the call's records whose `key`
/// equals its own `on`, in the call's order (an empty list when none does).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Embed {
    /// Usually GET.
    #[serde(default = "Method::get")]
    pub method: Method,
    /// The path below the base URL; may use non-secret settings.
    pub path: Template,
    /// Query parameters every call sends.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// Where the records are in the answer.
    pub records: RecordPath,
    /// How the call pages, if it does.
    pub pagination: Option<Pagination>,
    /// Pages read at most; at least 1, and more only with a pagination. A record beyond
    /// them would be missing from its list, so the read fails rather than answer short.
    #[serde(default = "one")]
    #[schemars(default = "one")]
    pub max_pages: u32,
    /// Where, in each of the call's records, the value naming the record it belongs to is
    /// (a stage's `pipeline_id`).
    pub key: RecordPath,
    /// Where, in each record read, the value its embedded records name it by (its `id`).
    pub on: RecordPath,
}

impl ResourceSpec {
    /// Whether the manifest describes `op` for this resource.
    pub fn has(&self, op: crate::Operation) -> bool {
        match op {
            crate::Operation::List => self.list.is_some(),
            crate::Operation::Get => self.get.is_some(),
            crate::Operation::Create => self.create.is_some(),
            crate::Operation::Update => self.update.is_some(),
            crate::Operation::Delete => self.delete.is_some(),
        }
    }

    /// Whether the list that runs filters (`search` when given) can express a lower bound, a
    /// `*_since` filter: a query parameter or body field names its comparison itself, an item
    /// of a filter list needs the list's `since` item.
    pub fn takes_lower_bounds(&self) -> bool {
        match self
            .search
            .as_ref()
            .or(self.list.as_ref())
            .and_then(|l| l.filters.as_ref())
        {
            Some(FilterEncoding::List(list)) => list.since.is_some(),
            Some(FilterEncoding::Expression(expression)) => expression.since.is_some(),
            Some(FilterEncoding::Query(_) | FilterEncoding::Body(_)) => true,
            None => false,
        }
    }
}

/// Where a record's id is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordId {
    /// The id's path in a record.
    #[serde(default = "id_path")]
    #[schemars(default = "id_text")]
    pub path: RecordPath,
    /// What the vendor's ids look like; an id that cannot be one is answered as not found
    /// without a call.
    #[serde(default)]
    pub format: IdFormat,
    /// What every id starts with (`oppo_`), text ids only; the rest is letters, digits, `_`
    /// and `-`. Another id is answered as not found without a call.
    pub prefix: Option<String>,
}

impl Default for RecordId {
    fn default() -> Self {
        Self {
            path: id_path(),
            format: IdFormat::default(),
            prefix: None,
        }
    }
}

fn id_path() -> RecordPath {
    RecordPath::member("id")
}

fn id_text() -> &'static str {
    "$.id"
}

/// What a vendor's ids look like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdFormat {
    /// Decimal digits only, at most 20.
    Integer,
    /// A GUID, 8-4-4-4-12 hex digits (Dataverse, Attio): another id is not found without a
    /// call, and nothing but hex digits and dashes reaches a path.
    Uuid,
    /// Any text.
    #[default]
    String,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method as the HTTP client names it.
    pub fn as_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Patch => http::Method::PATCH,
            Method::Delete => http::Method::DELETE,
        }
    }

    fn get() -> Self {
        Method::Get
    }

    fn delete() -> Self {
        Method::Delete
    }
}

/// A list (or search) of records.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListOperation {
    /// GET, or POST for a vendor that searches with a body (never a write, so it may be retried).
    #[serde(default = "Method::get")]
    pub method: Method,
    /// The path below the base URL; may use non-secret settings.
    pub path: Template,
    /// Query parameters every call sends.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// The body every call starts from (POST only); strings may use non-secret settings.
    pub body: Option<JsonTemplate>,
    /// Headers every call of the list sends, next links included (Salesforce's
    /// `Sforce-Query-Options: batchSize=200`); values may use non-secret settings.
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// Where the records are in the answer.
    pub records: RecordPath,
    /// How the vendor pages.
    pub pagination: Pagination,
    /// The fields to ask for by name, for vendors that answer only those.
    pub fields: Option<FieldSelection>,
    /// How the vendor pages when the client sorts, when that differs (a keyset on the id
    /// cannot continue a list sorted on another field).
    pub sorted_pagination: Option<Pagination>,
    /// How unified filters become part of the request; without it the operation takes none.
    pub filters: Option<FilterEncoding>,
    /// How a unified sort becomes part of the request; without it the operation takes none.
    pub sort: Option<SortEncoding>,
    /// The order asked for when the client gives none, so that pages are stable.
    pub default_sort: Option<DefaultSort>,
    /// For a `search`: the vendor filters that call for it (Pipedrive's `term`), so that the
    /// list serves every request without one. Without them, any filter or sort calls for it.
    #[serde(default)]
    pub for_filters: Vec<String>,
    /// For a search chosen by `for_filters`: the list's other vendor filters it takes, each
    /// by the name the search takes it under (`org_id: organization_id`). A request giving
    /// the search a filter it does not take is refused, not answered unfiltered.
    #[serde(default)]
    pub takes: BTreeMap<String, String>,
    /// The answer's records are hits that name records (a search that answers a summary of
    /// each): the records are read by this call, in the hits' order.
    pub hydrate: Option<Hydrate>,
}

/// The read of the records a page of hits names: one call with their ids, which `{id}`
/// stands for joined with `,` (so the page size is at most what the call takes).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hydrate {
    /// Usually GET.
    #[serde(default = "Method::get")]
    pub method: Method,
    /// The path below the base URL.
    pub path: Template,
    /// Query parameters; `{id}` is the ids.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// Where the records are in the answer.
    pub records: RecordPath,
    /// Where, in each hit, the id of the record it names is.
    pub id: RecordPath,
}

/// A read of one record.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordOperation {
    /// Usually GET.
    #[serde(default = "Method::get")]
    pub method: Method,
    /// The path below the base URL, with `{id}`.
    pub path: Template,
    /// Query parameters every call sends.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// Where the record is in the answer.
    #[serde(default = "RecordPath::root")]
    #[schemars(default = "root_text")]
    pub record: RecordPath,
    /// The fields to ask for by name, for vendors that answer only those.
    pub fields: Option<FieldSelection>,
    /// Only a record that passes this is one of the resource's (a Copper note is an activity
    /// of the type Note): another is answered as not found.
    pub only: Option<Predicate>,
}

/// The vendor fields a read names, for vendors that answer only the fields asked for: those
/// the mapping reads under `under`, then the keys of the catalogs the mapping names that
/// member with (an account's custom properties), each once.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSelection {
    /// The parameter that lists them (`properties`); none with `in: select`.
    #[serde(default)]
    pub param: String,
    /// The query (the names joined with `,`), the body (a list of names), or `select`: where
    /// the list's query says `{select}`, joined with `, ` (SOQL's select list).
    #[serde(default, rename = "in")]
    pub place: FieldPlace,
    /// The record member the fields are under (`properties`); the record itself without it.
    #[serde(default)]
    pub under: Option<String>,
}

/// Where a read's field names go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldPlace {
    /// A query parameter, the names joined with `,`.
    #[default]
    Query,
    /// A body field, a list of names.
    Body,
    /// The list's query where it says `{select}`, the names joined with `, `.
    Select,
}

fn root_text() -> &'static str {
    "$"
}

/// A create or an update. The body is the vendor record the mapping table wrote.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteOperation {
    /// POST, PUT or PATCH.
    pub method: Method,
    /// The path below the base URL; `{id}` for updates.
    pub path: Template,
    /// Query parameters every call sends.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// Fields every body carries besides the mapped ones; strings may use non-secret settings.
    pub body: Option<JsonTemplate>,
    /// Headers the call sends (Dataverse's `Prefer: return=representation`); values may use
    /// non-secret settings.
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// What a vendor that answers a write with no body (204) returns: with `id`, the
    /// record is its id alone (set at the resource's id path), which is all a unified write
    /// answers; without, a body is required.
    #[serde(default)]
    pub empty_answer: Option<EmptyAnswer>,
    /// Where an answer that holds the written record's id and no record has the id
    /// (Salesforce's create: `{id, success, errors}`); the record is then that id alone.
    #[serde(default)]
    pub id: Option<RecordPath>,
    /// Where the written record is in the answer.
    #[serde(default = "RecordPath::root")]
    #[schemars(default = "root_text")]
    pub record: RecordPath,
}

/// A delete.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteOperation {
    /// Usually DELETE.
    #[serde(default = "Method::delete")]
    pub method: Method,
    /// The path below the base URL, with `{id}`.
    pub path: Template,
    /// Query parameters every call sends.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The query string.
    #[default]
    Query,
    /// A top-level field of the JSON body.
    Body,
}

/// The page size a list asks for.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSize {
    /// The parameter that carries it (`limit`).
    pub param: String,
    /// The size asked for when the gateway has no reason to ask for another.
    pub default: Option<u32>,
    /// The largest page the vendor serves; the gateway reads several pages to fill a larger
    /// unified page.
    pub maximum: u32,
}

tagged! {
    /// How a list moves from one page to the next.
    pub enum Pagination {
        /// The answer holds an opaque cursor that the next call sends back.
        "cursor" => Cursor(CursorPagination),
        /// The answer holds the URL of the next page.
        "next_link" => NextLink(NextLinkPagination),
        /// Pages are numbered.
        "page_number" => PageNumber(PageNumberPagination),
        /// The call says how many records to skip.
        "offset" => Offset(OffsetPagination),
        /// The call asks for records after the last one seen, by a field the list is sorted
        /// and filtered on (the record id as tie-breaker), so that records added or deleted
        /// meanwhile neither repeat nor go missing.
        "keyset" => Keyset(KeysetPagination),
        /// The answer holds every record (a company's users, a deal pipeline list): no next
        /// page and no page size; unified pages are cut from that one answer.
        "all" => All(NoFields),
    }
}

/// Cursor pagination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CursorPagination {
    /// The parameter that sends the cursor back (`cursor`, `after`).
    pub param: String,
    /// Where the answer holds the next page's cursor; none there is the last page.
    pub next: RecordPath,
    /// Where the cursor and the page size go.
    #[serde(default, rename = "in")]
    pub place: Place,
    /// The page size.
    pub page_size: PageSize,
}

/// Next-link pagination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextLinkPagination {
    /// Where the answer holds the next page's URL (checked against `base_url.hosts`); none
    /// there is the last page.
    pub next: RecordPath,
    /// The page size, sent with the first call unless `sends_size` is false.
    pub page_size: PageSize,
    /// Whether the first call sends the page size; a vendor that sizes its pages itself
    /// (Salesforce's query batches, set by a list header) says false, and the gateway cuts
    /// unified pages from the vendor's.
    #[serde(default = "yes")]
    #[schemars(default = "yes")]
    pub sends_size: bool,
}

fn yes() -> bool {
    true
}

/// Page-number pagination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageNumberPagination {
    /// The parameter with the page number.
    pub param: String,
    /// Where the number and the page size go.
    #[serde(default, rename = "in")]
    pub place: Place,
    /// The number of the first page.
    #[serde(default = "one")]
    #[schemars(default = "one")]
    pub first: u32,
    /// The page size.
    pub page_size: PageSize,
    /// Something in the answer that is there, and neither `null` nor `false`, only when more
    /// pages follow (`$.has_more`); without it a page shorter than the page size is the last.
    pub more: Option<RecordPath>,
    /// How many of the records served last the next page reads again, so that a record
    /// added or deleted before the cursor makes it neither skip nor repeat one: the page goes
    /// on after the last of them still there. 0 pages by plain numbers.
    #[serde(default)]
    pub overlap: u32,
}

fn one() -> u32 {
    1
}

/// Offset pagination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OffsetPagination {
    /// The parameter with the number of records to skip.
    pub param: String,
    /// Where the offset and the page size go.
    #[serde(default, rename = "in")]
    pub place: Place,
    /// The page size.
    pub page_size: PageSize,
    /// Something in the answer that is there, and neither `null` nor `false`, only when more
    /// pages follow (`$.has_more`); without it a page shorter than the page size is the last.
    pub more: Option<RecordPath>,
    /// The largest offset the vendor serves; a list that would go past it is refused rather
    /// than cut short.
    pub max_offset: Option<u64>,
    /// Sends the offset as text (`"100"`), as some search bodies take it.
    #[serde(default)]
    pub text: bool,
    /// How many of the records served last the next page reads again; see `page_number`.
    #[serde(default)]
    pub overlap: u32,
}

/// Keyset pagination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysetPagination {
    /// The vendor field the list is sorted on and continues after.
    pub field: String,
    /// The filter that continues after the last record, added to the operation's filters
    /// (`type: list` only); `{field}` and `{value}` are the key and the last record's value.
    pub after: JsonTemplate,
    /// The page size.
    pub page_size: PageSize,
    /// Something in the answer that is there, and neither `null` nor `false`, only when more
    /// pages follow (`$.has_more`); without it a page shorter than the page size is the last.
    pub more: Option<RecordPath>,
}

tagged! {
    /// How unified equality filters become part of a list request.
    pub enum FilterEncoding {
        /// Each filter is a query parameter: `?{field}={value}`.
        "query" => Query(NoFields),
        /// Each filter is a body field: `{field: value}`, at the top or in the object `at`.
        "body" => Body(BodyFilters),
        /// Each filter is one item of a list in the body.
        "list" => List(FilterList),
        /// The filters are one expression of a query language (SOQL's `WHERE`, OData's
        /// `$filter`), written into the list's query where it says `{where}`.
        "expression" => Expression(FilterExpression),
    }
}

/// What stands for the record of a write the vendor answers without a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmptyAnswer {
    /// The record's id, as the call named it.
    Id,
}

/// Filters as members of a body object.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyFilters {
    /// The object the filters are members of (`$.filter`), made when missing; the body itself
    /// without it.
    #[serde(default)]
    pub at: Option<RecordPath>,
}

/// Filters as one query-language expression. Every value is written as the dialect writes a
/// literal of its type, so that no value can change the expression: text quoted and escaped,
/// numbers and booleans bare, and a lower bound's timestamp checked as RFC 3339 and written
/// bare (both dialects take date-time literals so).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterExpression {
    /// How literals are written: `soql` (Salesforce) or `odata` (Dataverse).
    pub dialect: Dialect,
    /// One equality; `{field}` is the vendor field, `{value}` the literal (`{field} = {value}`).
    pub equals: Template,
    /// A lower bound (the contract's `*_since` filters); without it the list takes equality
    /// filters only.
    #[serde(default)]
    pub since: Option<Template>,
    /// What joins the conditions (` AND `).
    pub join: String,
    /// Written before the conditions when there are any (` WHERE `).
    #[serde(default)]
    pub prefix: String,
}

/// A query language whose literals a filter expression writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// Salesforce's SOQL: text in single quotes, with `\`, `\'`, `\"` and control
    /// characters escaped by a backslash.
    Soql,
    /// OData v4 (Dataverse): text in single quotes with a quote doubled; a GUID bare.
    Odata,
    /// Zoho CRM's search `criteria`: values unquoted, with `\`, `(`, `)` and `,` escaped
    /// by a backslash.
    Zoho,
}

/// Filters as items of a body list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterList {
    /// Where the list is in the body (created when missing).
    pub at: RecordPath,
    /// One item; `{field}` and `{value}` are the vendor field and the filter's value.
    pub item: JsonTemplate,
    /// The item of a lower bound (the contract's `*_since` filters: the field at or after
    /// `{value}`); without it the list takes equality filters only.
    #[serde(default)]
    pub since: Option<JsonTemplate>,
}

tagged! {
    /// How a unified sort becomes part of a list request.
    pub enum SortEncoding {
        /// Two parameters: the field and the direction.
        "params" => Params(SortParams),
        /// One parameter whose value says both (`_order_by=-date_created`).
        "param" => Param(SortParam),
        /// Items of a list in the body.
        "list" => List(SortList),
        /// Part of a query-language expression, written into the list's query where it says
        /// `{order_by}` (SOQL's `ORDER BY`, OData's `$orderby`).
        "expression" => Expression(SortExpression),
    }
}

/// A sort as two parameters.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortParams {
    /// Where the parameters go.
    #[serde(default, rename = "in")]
    pub place: Place,
    /// The parameter naming the field (`sort_by`).
    pub field: String,
    /// The parameter naming the direction (`sort_direction`).
    pub direction: String,
    /// The vendor's word for ascending.
    pub ascending: String,
    /// The vendor's word for descending.
    pub descending: String,
}

/// A sort as one parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortParam {
    /// Where the parameter goes.
    #[serde(default, rename = "in")]
    pub place: Place,
    /// The parameter's name (`_order_by`).
    pub name: String,
    /// Its value for an ascending sort; `{field}` is the vendor field (`"{field}"`).
    pub ascending: Template,
    /// Its value for a descending sort (`"-{field}"`).
    pub descending: Template,
}

/// A sort as an item of a body list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortList {
    /// Where the list is in the body.
    pub at: RecordPath,
    /// One item; `{field}` and `{direction}` are the vendor field and the vendor's word for
    /// the direction.
    pub item: JsonTemplate,
    /// The vendor's word for ascending.
    pub ascending: String,
    /// The vendor's word for descending.
    pub descending: String,
}

/// A sort written into a query-language expression.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortExpression {
    /// The sort; `{field}` and `{direction}` are the vendor field and the vendor's word for the
    /// direction (`{field} {direction}`).
    pub item: Template,
    /// The vendor's word for ascending.
    pub ascending: String,
    /// The vendor's word for descending.
    pub descending: String,
    /// Written before it (` ORDER BY `).
    #[serde(default)]
    pub prefix: String,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ascending,
    Descending,
}

/// The order asked for when the client gives none.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultSort {
    /// The vendor field.
    pub field: String,
    /// The direction.
    pub direction: Direction,
}

/// A call read page by page, a lookup's or an embed's: what the driver needs to read it.
#[derive(Debug, Clone, Copy)]
pub struct Fetch<'a> {
    pub method: Method,
    pub path: &'a Template,
    pub query: &'a BTreeMap<String, Template>,
    pub records: &'a RecordPath,
    pub pagination: Option<&'a Pagination>,
    pub max_pages: u32,
}

impl<'a> Fetch<'a> {
    pub fn of_lookup(lookup: &'a Lookup) -> Self {
        Self {
            method: lookup.method,
            path: &lookup.path,
            query: &lookup.query,
            records: &lookup.records,
            pagination: lookup.pagination.as_ref(),
            max_pages: lookup.max_pages,
        }
    }

    pub fn of_embed(embed: &'a Embed) -> Self {
        Self {
            method: embed.method,
            path: &embed.path,
            query: &embed.query,
            records: &embed.records,
            pagination: embed.pagination.as_ref(),
            max_pages: embed.max_pages,
        }
    }
}

/// A named vendor catalog: entries with a key (the id records carry) and a label (the name
/// people read). Read per connection and cached as custom field names are: trusted for five
/// minutes, and read again sooner when a record names a key the catalog lacks.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Usually GET.
    #[serde(default = "Method::get")]
    pub method: Method,
    /// The path below the base URL; may use non-secret settings.
    pub path: Template,
    /// Query parameters every call sends.
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    /// Where the entries (or the records holding them) are in the answer.
    pub records: RecordPath,
    /// How the catalog pages, if it does.
    pub pagination: Option<Pagination>,
    /// Pages read at most; at least 1, and more only with a pagination.
    #[serde(default = "one")]
    #[schemars(default = "one")]
    pub max_pages: u32,
    /// Only the records that pass this are used.
    pub only: Option<Predicate>,
    /// Where, in each record used, the list of entries is, when entries are options of a
    /// record (the labels of a label field) rather than the records themselves.
    pub options: Option<RecordPath>,
    /// Where an entry's key is.
    pub key: RecordPath,
    /// Where an entry's label is.
    pub label: RecordPath,
}

// === impl StatusPattern ===

/// A status code (`404`) or a class of them (`"5xx"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Code(u16),
    /// The hundreds digit of a class: `5` for `5xx`.
    Class(u16),
}

impl StatusPattern {
    /// Whether `status` is one this pattern names.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(code) => code == status,
            StatusPattern::Class(class) => status / 100 == class,
        }
    }

    fn from_code(code: u64) -> Result<Self, String> {
        u16::try_from(code)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .map(StatusPattern::Code)
            .ok_or_else(|| format!("{code} is not an HTTP status (100 to 599)"))
    }

    fn from_text(text: &str) -> Result<Self, String> {
        if let Ok(code) = text.parse::<u64>() {
            return Self::from_code(code);
        }
        match text.as_bytes() {
            [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                Ok(StatusPattern::Class(u16::from(d - b'0')))
            }
            _ => Err(format!(
                "{text:?} is not a status: write a code (404) or a class (\"4xx\")"
            )),
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(code) => write!(f, "{code}"),
            StatusPattern::Class(class) => write!(f, "{class}xx"),
        }
    }
}

struct StatusVisitor;

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = StatusPattern;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a status code (404) or a class (\"4xx\")")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusPattern, E> {
        StatusPattern::from_code(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusPattern, E> {
        u64::try_from(v)
            .map_err(|_| E::custom(format!("{v} is not an HTTP status (100 to 599)")))
            .and_then(|v| self.visit_u64(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusPattern, E> {
        StatusPattern::from_text(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for StatusPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StatusVisitor)
    }
}

impl JsonSchema for StatusPattern {
    fn schema_name() -> Cow<'static, str> {
        "StatusPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A status code (404) or a class (\"4xx\").",
            "oneOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                { "type": "string", "pattern": "^[1-5][xX][xX]$" }
            ]
        })
    }
}

/// One status pattern or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList(pub Vec<StatusPattern>);

impl StatusList {
    /// Whether any pattern names `status`.
    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|p| p.matches(status))
    }
}

impl<'de> Deserialize<'de> for StatusList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StatusList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status (404, \"5xx\") or a list of them")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusList, E> {
                StatusVisitor.visit_u64(v).map(|p| StatusList(vec![p]))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusList, E> {
                StatusVisitor.visit_i64(v).map(|p| StatusList(vec![p]))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusList, E> {
                StatusVisitor.visit_str(v).map(|p| StatusList(vec![p]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusList, A::Error> {
                let mut out = Vec::new();
                while let Some(pattern) = seq.next_element()? {
                    out.push(pattern);
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list of statuses matches nothing",
                    ));
                }
                Ok(StatusList(out))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

impl JsonSchema for StatusList {
    fn schema_name() -> Cow<'static, str> {
        "StatusList".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<StatusPattern>();
        json_schema!({
            "description": "A status (404, \"5xx\") or a list of them.",
            "oneOf": [one, { "type": "array", "items": one, "minItems": 1 }]
        })
    }
}

// === impl HostPattern ===

impl<'de> Deserialize<'de> for HostPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        HostPattern::parse(&text).map_err(de::Error::custom)
    }
}

impl JsonSchema for HostPattern {
    fn schema_name() -> Cow<'static, str> {
        "HostPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A host (`api.example.com`), a host and port (`host:8443`) or every host below a domain (`*.example.com`)."
        })
    }
}
