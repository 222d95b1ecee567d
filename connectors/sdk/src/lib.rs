//! What every crmgate connector builds on.
//!
//! A connector knows HTTP and its vendor, never the unified field names: it receives vendor-shaped
//! JSON from the mapping engine and hands vendor-shaped JSON back. This crate holds the contract
//! between the gateway and its connectors so that a connector crate depends on nothing else of
//! crmgate.

mod catalog;
pub mod driver;
mod error;
mod http;
mod limit;
pub mod manifest;
pub mod oauth;
mod operation;
mod outbound;
mod pass_through;
mod settings;
pub mod text;

pub use catalog::{FieldCatalog, FieldNames, MIN_AGE_TO_REREAD, id_text, recently_added};
pub use driver::Call;
pub use error::{ConnectorError, DownstreamError, ErrorKind, Origin};
pub use http::{
    HttpConfig, OutboundClient, Pause, RateLimitSlot, RateLimitStatus, RateReport, Refresher,
    VendorErrors, VendorRequest, VendorResponse, install_crypto_provider,
};
pub use limit::{LocalLimiter, RateBudget, RateLimiter};
pub use manifest::{Expected, Manifest, ManifestError, manifest_schema};
pub use operation::{
    CallContext, Comparison, Degraded, DegradedSlot, DeleteRequest, GetRequest, ListQuery,
    ListRequest, Operation, Page, ReadFields, Record, Resource, SortDirection, VendorFilter,
    VendorSort, WriteRequest,
};
pub use outbound::{HostPattern, OutboundPolicy, Refusal, is_public};
pub use pass_through::extend_search_body;
pub use settings::{ConnectionSettings, SettingPattern, SettingSpec};

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

/// A named reshaping of a vendor write body, run after the mapping table wrote the fields and
/// before pass-through patches, so that clients patch the body the vendor really receives.
#[derive(Clone, Copy)]
pub struct WriteHook {
    pub name: &'static str,
    pub apply: fn(Operation, &mut Value),
}

impl std::fmt::Debug for WriteHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WriteHook").field(&self.name).finish()
    }
}

/// A connector that is nothing but its manifest: most vendors need no code, and every plugin
/// (a folder of YAML loaded at start-up) is one of these.
#[derive(Debug)]
pub struct DataConnector {
    id: &'static str,
    manifest: Arc<Manifest>,
}

impl DataConnector {
    /// The connector `id` described by `manifest`, whose `meta.id` the loader checked is `id`.
    pub fn new(id: &'static str, manifest: Arc<Manifest>) -> Self {
        Self { id, manifest }
    }
}

impl Connector for DataConnector {
    fn id(&self) -> &'static str {
        self.id
    }

    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Crate-wide result type.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// One vendor CRM. Its facts come from its manifest ([`Manifest`]); implementations add code only
/// for what the manifest cannot say, and the shared path (auth injection, error classification
/// of transport failures) lives in [`OutboundClient`].
#[async_trait]
pub trait Connector: Send + Sync {
    /// Stable id used as the service id, the mapping folder and the config key (`"hubspot"`);
    /// the manifest's `meta.id` says the same, which the registry checks.
    fn id(&self) -> &'static str;

    /// The connector's manifest, loaded and checked at start-up.
    fn manifest(&self) -> &Manifest;

    /// Human name shown in Vault (`"HubSpot"`).
    fn name(&self) -> &str {
        self.manifest().name()
    }

    /// The connection settings it needs; drives Vault validation, masking and docs.
    fn settings(&self) -> &[SettingSpec] {
        self.manifest().settings()
    }

    /// The vendor's public API root for a connection, used unless the connection or the config
    /// overrides it.
    fn default_base_url(&self, settings: &ConnectionSettings) -> Result<url::Url> {
        self.manifest().default_base_url(settings)
    }

    /// The hosts the vendor serves its API from (`api.hubapi.com`, `*.pipedrive.com`): the only
    /// ones a connection's credentials are sent to, over HTTPS, unless the operator allows more.
    fn vendor_hosts(&self) -> &[HostPattern] {
        self.manifest().vendor_hosts()
    }

    /// The vendor's documented request budget per connection, enforced before calls are sent;
    /// `None` when the vendor publishes none.
    fn rate_budget(&self) -> Option<RateBudget> {
        self.manifest().rate_budget()
    }

    /// The largest page the vendor serves in one call of a resource's list; the gateway
    /// fetches several vendor pages when a client asks for more.
    fn max_page_size(&self, resource: Resource) -> u32 {
        self.manifest().max_page_size(resource)
    }

    /// The parameters the connector's lists set themselves to page through the vendor (cursor
    /// and page size). A client's `pass_through[k]` may not set them: a second `limit` or
    /// cursor would make the vendor page differently from what the gateway counts on.
    fn paging_params(&self) -> Vec<&str> {
        self.manifest().paging_params()
    }

    /// Headers that authenticate a call with this connection's credentials, rendered from the
    /// manifest's `auth` and marked sensitive so that they never appear in `Debug` output.
    fn auth_headers(&self, settings: &ConnectionSettings) -> Result<http::HeaderMap> {
        self.manifest().auth_headers(settings)
    }

    /// Named hooks a mapping file may list under `write_hooks`, for vendor body shapes no field
    /// mapping can express. Unknown names are load-time errors.
    fn write_hooks(&self) -> &'static [WriteHook] {
        &[]
    }

    /// One vendor page of a list: what [`driver::page`] does from the manifest.
    async fn list(&self, cx: &CallContext, rq: ListRequest<'_>) -> Result<Page> {
        driver::page(self, cx, rq).await
    }

    /// One record by its vendor id: what [`driver::get`] does from the manifest.
    async fn get(&self, cx: &CallContext, rq: GetRequest<'_>) -> Result<Value> {
        driver::get(self, cx, rq).await
    }

    /// Creates a record and answers the vendor's record (at least its id).
    async fn create(&self, cx: &CallContext, rq: WriteRequest<'_>) -> Result<Value> {
        driver::write(self, cx, rq).await
    }

    /// Updates the fields present in the body and answers the vendor's record.
    async fn update(&self, cx: &CallContext, rq: WriteRequest<'_>) -> Result<Value> {
        driver::write(self, cx, rq).await
    }

    /// Deletes (or archives, where that is the vendor's delete) a record.
    async fn delete(&self, cx: &CallContext, rq: DeleteRequest<'_>) -> Result<()> {
        driver::delete(self, cx, rq).await
    }

    /// Hook: a vendor call the driver built, before it is sent (an extra parameter the
    /// manifest cannot say, a body reshaped).
    async fn prepare_request(
        &self,
        _cx: &CallContext,
        _call: &Call<'_>,
        _rq: &mut VendorRequest,
    ) -> Result<()> {
        Ok(())
    }

    /// Hook: the records of a list page or a read, before the mapping reads them; for vendor
    /// answers that are not yet the records the vendor documents (search results without
    /// their associations, say). Never a place to write unified fields.
    async fn normalise(
        &self,
        _cx: &CallContext,
        _call: &Call<'_>,
        _records: &mut [Record],
    ) -> Result<()> {
        Ok(())
    }

    /// Hook: an error of a vendor call, after the manifest's rules classified it.
    fn map_error(&self, _call: &Call<'_>, err: ConnectorError) -> ConnectorError {
        err
    }
}
