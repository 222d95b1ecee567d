use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;
use url::Url;

use crate::{ConnectionSettings, ErrorKind, OutboundClient, Result};

/// The unified resources a connector may serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    Opportunities,
    Companies,
    Contacts,
    Leads,
    Notes,
    Activities,
    Users,
    Pipelines,
}

impl Resource {
    /// Every resource, in the order docs list them.
    pub const ALL: &[Resource] = &[
        Resource::Opportunities,
        Resource::Companies,
        Resource::Contacts,
        Resource::Leads,
        Resource::Notes,
        Resource::Activities,
        Resource::Users,
        Resource::Pipelines,
    ];

    /// The resource a path segment or manifest key names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// The resource's path segment and mapping file stem (`opportunities`).
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Opportunities => "opportunities",
            Resource::Companies => "companies",
            Resource::Contacts => "contacts",
            Resource::Leads => "leads",
            Resource::Notes => "notes",
            Resource::Activities => "activities",
            Resource::Users => "users",
            Resource::Pipelines => "pipelines",
        }
    }
}

/// The unified operation a vendor call serves; write-side mapping and pass-through depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    List,
    Get,
    Create,
    Update,
    Delete,
}

impl Operation {
    /// Apideck's operation name as it appears in the envelope (`all`, `one`, `add`, ...).
    pub fn envelope_name(self) -> &'static str {
        match self {
            Operation::List => "all",
            Operation::Get => "one",
            Operation::Create => "add",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// Everything a connector needs to make vendor calls for one connection: the outbound client with
/// the connection's auth already injected and the base URL to call.
pub struct CallContext {
    pub http: OutboundClient,
    pub base_url: Url,
    /// The connection's settings, for the non-secret ones a manifest's paths and bodies use.
    pub settings: Arc<ConnectionSettings>,
    /// The connector's catalogs ([`crate::driver::lookup`]), shared by its connections.
    pub lookups: Arc<crate::driver::LookupCache>,
    /// A stable, opaque name of the connection (no tenant ids in it), for connectors that cache
    /// per-connection facts such as custom field definitions.
    pub connection: String,
    /// Optional steps of this request that failed without failing it, for `meta.warnings`.
    pub degraded: DegradedSlot,
}

/// Where one request's degraded steps are kept.
pub type DegradedSlot = Arc<Mutex<Vec<Degraded>>>;

/// An optional step of an operation that the vendor refused, so the answer lacks what it adds
/// (custom field names, say) but is otherwise whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// Which step (`custom_fields`).
    pub step: String,
    /// The vendor's status for the refused call.
    pub status: Option<u16>,
    /// The vendor's error code, when it gave one (`MISSING_SCOPES`).
    pub error: Option<String>,
    /// What is missing from the answer and why, with the vendor's own words.
    pub message: String,
}

impl CallContext {
    /// Runs an optional step of a read: a vendor refusing it for lack of permission (403, a
    /// token without a metadata scope) is recorded as degraded and answers `None`, so the
    /// records are still served. Any other failure fails the read.
    pub async fn optional<T>(
        &self,
        step: &str,
        lacking: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<Option<T>> {
        match work.await {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.kind == ErrorKind::Unauthorized && err.vendor_status == Some(403) => {
                let vendor: Vec<String> = err
                    .downstream
                    .iter()
                    .map(|d| match &d.detail {
                        Some(detail) => format!("{} ({detail})", d.message),
                        None => d.message.clone(),
                    })
                    .collect();
                let mut message = format!("The connection may not read {step}, so {lacking}.");
                if !vendor.is_empty() {
                    message.push_str(&format!(" The CRM said: {}", vendor.join("; ")));
                }
                tracing::info!(
                    step,
                    "An optional vendor read was refused; answering without it."
                );
                let mut degraded = self.degraded.lock().unwrap_or_else(|p| p.into_inner());
                // A step asked twice in one request (before and after the vendor call) is
                // reported once.
                if degraded.iter().any(|d| d.step == step) {
                    return Ok(None);
                }
                degraded.push(Degraded {
                    step: step.to_owned(),
                    status: err.vendor_status,
                    error: err.downstream.iter().find_map(|d| d.code.clone()),
                    message,
                });
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// The absolute URL of a vendor path, joined to the base URL (which may carry a path prefix).
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url
    }
}

/// The vendor fields the mapping engine will read, as the static name prefixes of its JSONPaths
/// (`["properties", "amount"]`): the table's own and the tenant's overrides and custom mappings,
/// so that connectors ask their vendor for exactly those fields; and the catalogs the table
/// names whole containers with (`custom_fields` over `["properties"]`), whose keys are fields
/// to ask for too.
#[derive(Debug, Clone, Copy)]
pub struct ReadFields<'a> {
    table: &'a [Vec<String>],
    tenant: &'a [Vec<String>],
    catalogs: &'a [(String, Vec<String>)],
}

impl<'a> ReadFields<'a> {
    pub fn new(
        table: &'a [Vec<String>],
        tenant: &'a [Vec<String>],
        catalogs: &'a [(String, Vec<String>)],
    ) -> Self {
        Self {
            table,
            tenant,
            catalogs,
        }
    }

    /// The names directly under `parent` (`under("properties")` → `amount`, `dealname`, ...),
    /// without duplicates, in first-seen order.
    pub fn under(&self, parent: &str) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = Vec::new();
        for path in self.table.iter().chain(self.tenant) {
            if let [first, name, ..] = path.as_slice()
                && first == parent
                && !names.contains(&name.as_str())
            {
                names.push(name.as_str());
            }
        }
        names
    }

    /// The catalogs whose keys name fields directly under `parent`.
    pub fn catalogs_under(&self, parent: &str) -> Vec<&'a str> {
        self.catalogs
            .iter()
            .filter(|(_, path)| matches!(path.as_slice(), [only] if only == parent))
            .map(|(catalog, _)| catalog.as_str())
            .collect()
    }

    /// The record's own members the mapping reads, each once.
    pub fn top_level(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = Vec::new();
        for path in self.table.iter().chain(self.tenant) {
            if let [name, ..] = path.as_slice()
                && !names.contains(&name.as_str())
            {
                names.push(name.as_str());
            }
        }
        names
    }

    /// The catalogs whose keys name members of the record itself (custom fields read from `$`).
    pub fn catalogs_at_top(&self) -> Vec<&'a str> {
        self.catalogs
            .iter()
            .filter(|(_, path)| path.is_empty())
            .map(|(catalog, _)| catalog.as_str())
            .collect()
    }
}

/// A filter on a vendor field, translated from a unified `filter[...]` by the mapping table.
/// All filters of a request must hold together.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorFilter {
    pub field: String,
    pub value: Value,
    pub comparison: Comparison,
}

/// How a record's field must compare with a filter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equals,
    /// At or after the value: the contract's `*_since` filters.
    AtLeast,
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    Ascending,
    Descending,
}

/// A sort on a vendor field, translated from unified `sort[by]`/`sort[direction]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorSort {
    pub field: String,
    pub direction: SortDirection,
}

/// One unified page to fill, as the driver's list takes it.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    pub resource: Resource,
    /// The most records the unified page holds.
    pub limit: usize,
    pub fields: ReadFields<'a>,
    /// `pass_through[k]=v` query parameters, forwarded to the vendor as `k=v`: in the URL, or
    /// in the body of a search that reads only its body ([`crate::extend_search_body`]).
    pub query: &'a [(String, String)],
    pub filters: &'a [VendorFilter],
    pub sort: Option<&'a VendorSort>,
    /// `raw=true`: every vendor page comes along as received, for the client's `_raw`.
    pub raw: bool,
}

impl ListQuery<'_> {
    pub(crate) fn with_limit(self, limit: usize) -> Self {
        Self { limit, ..self }
    }
}

/// A request for one vendor page of a unified page.
#[derive(Debug, Clone, Copy)]
pub struct ListRequest<'a> {
    /// The unified page this vendor page is read for.
    pub list: ListQuery<'a>,
    /// The page size to ask the vendor for: the records to skip and to take, at most the
    /// connector's `max_page_size`. A vendor may answer more or fewer.
    pub limit: u32,
    /// Records at the start of this vendor page that earlier unified pages already served.
    pub skip: u32,
    /// Records wanted from this vendor page after `skip`.
    pub take: u32,
    /// The vendor's own cursor of this page, `None` for the first page.
    pub cursor: Option<&'a str>,
}

/// One vendor record as it crossed the wire: its span of the vendor's answer, which the
/// mapping reads where it lies (no tree is built for a record read as it came), or a tree
/// once a connector hook rewrote it.
#[derive(Debug, Clone)]
pub struct Record(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// `page[span]` is the record's JSON text, validated when the page was split. The page is
    /// the vendor's answer body as received, shared by its records without a copy.
    Text {
        page: Bytes,
        span: std::ops::Range<usize>,
    },
    Tree(Value),
}

impl Record {
    /// A record the connector built itself.
    pub fn from_value(value: Value) -> Self {
        Self(Repr::Tree(value))
    }

    /// A record from JSON text, checked here: for connectors and tests that hold a record's
    /// text rather than a page.
    pub fn from_text(text: &str) -> serde_json::Result<Self> {
        let text = text.trim();
        serde_json::from_str::<&RawValue>(text)?;
        let page = Bytes::copy_from_slice(text.as_bytes());
        let span = 0..page.len();
        Ok(Self(Repr::Text { page, span }))
    }

    /// The record `text` holds, read where it lies in `page`: `None` unless `text` is a slice
    /// of `page` itself, which was validated as JSON when it was received.
    pub fn within(page: &Bytes, text: &str) -> Option<Self> {
        let start = (text.as_ptr() as usize).checked_sub(page.as_ptr() as usize)?;
        let span = start..start.checked_add(text.len())?;
        page.get(span.clone())?;
        Some(Self(Repr::Text {
            page: page.clone(),
            span,
        }))
    }

    /// The record's JSON text as the vendor sent it, unless a hook rewrote it. (The span is
    /// checked as UTF-8 again here, which costs far less than keeping the page twice, as bytes
    /// and as text.)
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text { page, span } => std::str::from_utf8(page.get(span.clone())?).ok(),
            Repr::Tree(_) => None,
        }
    }

    /// The record as a tree: the hook's tree, or the text parsed into a new one.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        match &self.0 {
            Repr::Text { .. } => serde_json::from_str(self.text().unwrap_or("null")),
            Repr::Tree(value) => Ok(value.clone()),
        }
    }

    /// The record as a tree, parsing the text only when it is text.
    pub fn into_value(self) -> serde_json::Result<Value> {
        match self.0 {
            Repr::Text { .. } => self.to_value(),
            Repr::Tree(value) => Ok(value),
        }
    }

    /// The record as a tree to rewrite, parsed on first use: for hooks, which are the only
    /// readers that need one.
    pub fn tree_mut(&mut self) -> serde_json::Result<&mut Value> {
        if let Repr::Text { .. } = self.0 {
            self.0 = Repr::Tree(self.to_value()?);
        }
        match &mut self.0 {
            Repr::Tree(value) => Ok(value),
            Repr::Text { .. } => unreachable!("a text record was just made a tree"),
        }
    }

    /// The tree, when the record is one.
    pub fn tree(&self) -> Option<&Value> {
        match &self.0 {
            Repr::Tree(value) => Some(value),
            Repr::Text { .. } => None,
        }
    }
}

/// One vendor page as a unified page uses it: the records it takes, in vendor order, how many
/// the vendor page held, and the vendor cursor of the next page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The page's records after the request's `skip`, at most its `take`.
    pub records: Vec<Record>,
    /// How many records the vendor page held, taken or not: a vendor answering more than
    /// asked leaves the rest for the next unified page, which re-reads this vendor page.
    pub held: usize,
    pub next: Option<String>,
    /// The vendor's page body as received, when the request asked for it (`raw`).
    pub raw: Option<Bytes>,
}

impl Page {
    /// The page from the vendor's records as they lie in its answer `page`: the records taken
    /// keep their spans of it, so nothing is parsed into a tree. With `raw`, the whole answer
    /// comes along as received.
    pub fn select(
        page: &Bytes,
        records: &[&str],
        rq: &ListRequest<'_>,
        next: Option<String>,
    ) -> Self {
        let start = (rq.skip as usize).min(records.len());
        let end = start.saturating_add(rq.take as usize).min(records.len());
        Self {
            records: records[start..end]
                .iter()
                .filter_map(|r| Record::within(page, r))
                .collect(),
            held: records.len(),
            next,
            raw: rq.list.raw.then(|| page.clone()),
        }
    }
}

/// A request for one record.
#[derive(Debug, Clone, Copy)]
pub struct GetRequest<'a> {
    pub resource: Resource,
    pub id: &'a str,
    pub fields: ReadFields<'a>,
}

/// A create (no id) or an update (with id), carrying the vendor body the mapping built.
#[derive(Debug, Clone)]
pub struct WriteRequest<'a> {
    pub resource: Resource,
    pub id: Option<&'a str>,
    pub body: Value,
}

/// A delete of one record.
#[derive(Debug, Clone, Copy)]
pub struct DeleteRequest<'a> {
    pub resource: Resource,
    pub id: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keeps_a_base_path_prefix() {
        let cx = CallContext {
            http: OutboundClient::for_tests(),
            base_url: Url::parse("http://127.0.0.1:1234/mock/").unwrap(),
            settings: Arc::default(),
            lookups: Arc::default(),
            connection: "test".to_owned(),
            degraded: DegradedSlot::default(),
        };
        assert_eq!(
            cx.url("/crm/objects/2026-09/deals").as_str(),
            "http://127.0.0.1:1234/mock/crm/objects/2026-09/deals"
        );
    }

    #[test]
    fn read_fields_lists_names_under_a_parent_once() {
        let paths = vec![
            vec!["properties".to_owned(), "amount".to_owned()],
            vec!["id".to_owned()],
            vec!["properties".to_owned(), "amount".to_owned()],
        ];
        let tenant = vec![
            vec!["properties".to_owned(), "dealname".to_owned()],
            vec!["properties".to_owned(), "amount".to_owned()],
        ];
        let catalogs = vec![
            ("custom_fields".to_owned(), vec!["properties".to_owned()]),
            (
                "tags".to_owned(),
                vec!["properties".to_owned(), "tags".to_owned()],
            ),
        ];
        let fields = ReadFields::new(&paths, &tenant, &catalogs);
        assert_eq!(fields.under("properties"), ["amount", "dealname"]);
        assert_eq!(fields.catalogs_under("properties"), ["custom_fields"]);
        assert!(fields.catalogs_under("id").is_empty());
        assert_eq!(fields.top_level(), ["properties", "id"]);
        assert!(fields.catalogs_at_top().is_empty());
        let root = vec![("custom_fields".to_owned(), Vec::new())];
        let fields = ReadFields::new(&paths, &tenant, &root);
        assert_eq!(fields.catalogs_at_top(), ["custom_fields"]);
    }
}
