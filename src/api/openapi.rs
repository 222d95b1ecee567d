//! crmgate's own OpenAPI 3.1 document, built from the handlers' annotations and the schema
//! types below, and served at `/openapi.json` with a reference page at `/docs`.
//!
//! The schema types describe the wire shapes for the document only; the handlers write those
//! shapes with the mapping engine and `envelope.rs`, and the integration tests check that they
//! agree.

use axum::response::Html;
use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::{IntoParams, ToSchema};

/// The unified opportunity, as in Apideck's `crm.yml`. Read-only properties appear in answers
/// and are ignored in write bodies.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "a schema for the OpenAPI document; answers are written elsewhere"
)]
pub struct Opportunity {
    #[schema(read_only)]
    id: Option<String>,
    title: String,
    primary_contact_id: Option<String>,
    description: Option<String>,
    #[schema(rename = "type")]
    kind: Option<String>,
    /// A decimal number; the digits are kept exactly.
    monetary_amount: Option<f64>,
    /// ISO 4217.
    currency: Option<String>,
    /// Percent, 0–100.
    win_probability: Option<f64>,
    #[schema(read_only)]
    expected_revenue: Option<f64>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    close_date: Option<String>,
    loss_reason_id: Option<String>,
    loss_reason: Option<String>,
    won_reason_id: Option<String>,
    won_reason: Option<String>,
    pipeline_id: Option<String>,
    pipeline_stage_id: Option<String>,
    source_id: Option<String>,
    lead_id: Option<String>,
    lead_source: Option<String>,
    contact_id: Option<String>,
    contact_ids: Option<Vec<String>>,
    company_id: Option<String>,
    company_name: Option<String>,
    owner_id: Option<String>,
    priority: Option<String>,
    status: Option<String>,
    status_id: Option<String>,
    tags: Option<Vec<String>>,
    #[schema(read_only)]
    interaction_count: Option<f64>,
    custom_fields: Option<Vec<CustomField>>,
    #[schema(format = DateTime)]
    stage_last_changed_at: Option<String>,
    #[schema(read_only)]
    last_activity_at: Option<String>,
    #[schema(read_only)]
    deleted: Option<bool>,
    #[schema(read_only, format = DateTime)]
    date_stage_changed: Option<String>,
    #[schema(read_only, format = DateTime)]
    date_last_contacted: Option<String>,
    #[schema(read_only, format = DateTime)]
    date_lead_created: Option<String>,
    /// The tenant's custom mappings, by key.
    #[schema(read_only)]
    custom_mappings: Option<Value>,
    #[schema(read_only)]
    updated_by: Option<String>,
    #[schema(read_only)]
    created_by: Option<String>,
    #[schema(read_only, format = DateTime)]
    updated_at: Option<String>,
    #[schema(read_only, format = DateTime)]
    created_at: Option<String>,
    /// Changes to the vendor body for one service (write only).
    #[schema(write_only)]
    pass_through: Option<Vec<PassThrough>>,
}

/// A vendor field without a unified equivalent; `id` or `name` is required.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct CustomField {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    value: Option<Value>,
}

/// One `pass_through` item: deep-merged `extend_object`, then `extend_paths` in order.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct PassThrough {
    service_id: String,
    operation_id: Option<String>,
    extend_object: Option<Value>,
    extend_paths: Option<Vec<ExtendPath>>,
}

/// Sets `value` at the JSONPath `path` of the vendor body.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct ExtendPath {
    path: String,
    value: Value,
}

/// `{ "id": "..." }`.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct UnifiedId {
    id: String,
}

/// The cursors and counts of a list page.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct Meta {
    items_on_page: Option<i64>,
    cursors: Option<Value>,
    /// Non-fatal notices, such as fields the vendor could not store.
    warnings: Option<Vec<Value>>,
}

/// Ready-made links to the current and next page.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct Links {
    previous: Option<String>,
    current: Option<String>,
    next: Option<String>,
}

macro_rules! envelope {
    ($name:ident, $data:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(ToSchema)]
        #[allow(dead_code, reason = "a schema for the OpenAPI document")]
        pub struct $name {
            status_code: i64,
            status: String,
            service: String,
            resource: String,
            operation: String,
            data: $data,
            meta: Option<Meta>,
            links: Option<Links>,
            /// With `raw=true`, the vendor's answer: its record, or for a list
            /// `{"pages": [...]}` with every vendor page the list was read from.
            _raw: Option<Value>,
        }
    };
}

envelope!(
    GetOpportunitiesResponse,
    Vec<Opportunity>,
    "A page of opportunities."
);
envelope!(GetOpportunityResponse, Opportunity, "One opportunity.");
envelope!(
    UnifiedIdResponse,
    UnifiedId,
    "The id of the created, updated or deleted record."
);

/// Apideck's error body, for every failure.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct ErrorBody {
    status_code: i64,
    error: String,
    type_name: String,
    message: String,
    detail: Option<Value>,
    #[schema(rename = "ref")]
    reference: String,
    downstream_errors: Option<Vec<Value>>,
}

/// Vault's envelope around a connection, consumer or custom mapping (or a list of them).
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct VaultResponse {
    status_code: i64,
    status: String,
    data: Value,
}

/// Vault's writable part of a connection.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct ConnectionInput {
    enabled: Option<bool>,
    /// Setting name → value; `null` removes a setting.
    settings: Option<Value>,
}

/// A custom mapping's writable part: a JSONPath into the vendor record.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct CustomMappingInput {
    value: String,
}

/// A consumer's writable part.
#[derive(ToSchema)]
#[allow(dead_code, reason = "a schema for the OpenAPI document")]
pub struct ConsumerInput {
    consumer_id: Option<String>,
    metadata: Option<Value>,
}

/// The tenant headers every CRM and Vault call sends.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code, reason = "parameters for the OpenAPI document")]
pub struct TenantHeaders {
    /// The application; must be the API key's application when the key is an application key.
    #[param(rename = "x-apideck-app-id")]
    app_id: String,
    /// The consumer (customer) whose connection is used.
    #[param(rename = "x-apideck-consumer-id")]
    consumer_id: String,
    /// The connection to use when the consumer has several.
    #[param(rename = "x-apideck-service-id")]
    service_id: Option<String>,
}

/// Query parameters of `GET /crm/opportunities`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters for the OpenAPI document")]
pub struct ListQuery {
    /// Adds `_raw` to the envelope: `{"pages": [...]}`, each vendor page as received.
    raw: Option<bool>,
    /// An opaque cursor from `meta.cursors.next`.
    cursor: Option<String>,
    /// 1–200, default 20.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Comma-separated fields to return (`title` is always returned).
    fields: Option<String>,
    /// `filter[title|status|monetary_amount|win_probability|company_id|owner_id|primary_contact_id]`.
    filter: Option<Value>,
    /// `sort[by]` and `sort[direction]` (`asc` or `desc`).
    sort: Option<Value>,
    /// `pass_through[k]=v`, forwarded to the vendor as `k=v`.
    pass_through: Option<Value>,
}

/// Query parameters of reads and writes of one record.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters for the OpenAPI document")]
pub struct RecordQuery {
    /// Adds `_raw` to the envelope: the vendor record.
    raw: Option<bool>,
    /// Comma-separated fields to return (reads only).
    fields: Option<String>,
}

/// The document's frame: title, version, the bearer scheme.
pub fn base() -> OpenApi {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder};
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("crmgate")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A self-hosted unified CRM API gateway speaking Apideck's Unified CRM and Vault APIs.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "apiKey",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}

/// The finished document, serialised once when the router is built.
static DOCUMENT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Keeps the finished document for `/openapi.json`; every router of the process is built from
/// the same annotations, so the first one is the one.
pub fn publish(document: &OpenApi) {
    DOCUMENT.get_or_init(|| serde_json::to_vec(document).expect("the document serialises"));
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapiDocument", tag = "Meta",
    responses((status = 200, description = "This document")))]
pub async fn document() -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = DOCUMENT.get().cloned().unwrap_or_default();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// `GET /docs`: a reference page rendered in the browser from `/openapi.json`, with nothing
/// loaded from elsewhere.
#[utoipa::path(get, path = "/docs", operation_id = "referencePage", tag = "Meta",
    responses((status = 200, description = "An HTML reference of this API", content_type = "text/html")))]
pub async fn page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
