//! crmgate's own OpenAPI 3.1 document, served at `/openapi.json` with a reference page at
//! `/docs`. Vault's and the service routes' operations come from the handlers' annotations and
//! the schema types below; each unified resource's operations and schemas are built from its
//! model (see the end of this file), like the routes that serve them.
//!
//! The schema types describe the wire shapes for the document only; the handlers write those
//! shapes with the mapping engine and `envelope.rs`, and the integration tests check that they
//! agree.

use axum::response::Html;
use crmgate_connector_sdk::Operation;
use serde_json::Value;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder, Paths,
    PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::api::crm::operation_id;
use crate::unified::{FieldDef, FieldKind, ItemModel, ResourceModel};

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

/// Query parameters of a CRM list; `filter` and `sort` are described per resource.
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
    /// `filter[key]`, the keys of the resource's filter object.
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

// === Built from the unified model ===

/// The component schema of a unified resource, built from its model, so that the document
/// cannot drift from what the validator accepts and the mapping writes: one property per field
/// with its type, format, nullability and read-only flag, the write constraints, and
/// `pass_through`, write-only, which every write body may carry.
pub fn model_schema(model: &ResourceModel) -> Schema {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(model.description));
    for def in model.fields {
        object = object.property(def.name, field_schema(def));
        if def.required {
            object = object.required(def.name);
        }
    }
    let pass_through = ArrayBuilder::new()
        .items(Ref::from_schema_name(PassThrough::name()))
        .description(Some(
            "Changes to the vendor body for one service (write only).",
        ))
        .extensions(Some(flag("writeOnly")));
    object.property("pass_through", pass_through).into()
}

/// One field's schema. A field is nullable when it reads as `null` where the vendor has
/// nothing (a title reads `""`, a list `[]`).
fn field_schema(def: &FieldDef) -> Schema {
    let nullable = def.kind.nothing().is_null();
    let typed = |ty: Type| -> SchemaType {
        if nullable {
            SchemaType::from_iter([ty, Type::Null])
        } else {
            SchemaType::new(ty)
        }
    };
    let list = |items: RefOr<Schema>| -> Schema {
        let mut array = ArrayBuilder::new()
            .schema_type(typed(Type::Array))
            .items(items)
            .description(Some(describe(def)));
        if def.read_only {
            array = array.extensions(Some(flag("readOnly")));
        }
        array.into()
    };
    let (ty, format) = match def.kind {
        FieldKind::Id | FieldKind::Title | FieldKind::String | FieldKind::Currency => {
            (Type::String, None)
        }
        FieldKind::Decimal => (Type::Number, None),
        FieldKind::Integer => (Type::Integer, None),
        FieldKind::Date => (Type::String, Some(KnownFormat::Date)),
        FieldKind::DateTime => (Type::String, Some(KnownFormat::DateTime)),
        FieldKind::Bool => (Type::Boolean, None),
        FieldKind::CustomMappings => (Type::Object, None),
        FieldKind::IdList | FieldKind::StringList => {
            return list(ObjectBuilder::new().schema_type(Type::String).into());
        }
        FieldKind::CustomFields => {
            return list(Ref::from_schema_name(CustomField::name()).into());
        }
        FieldKind::Items(item) => return list(item_schema(item, false).into()),
        FieldKind::Object(item) => {
            let object = item_schema(item, true).description(Some(describe(def)));
            return if def.read_only {
                object.read_only(true).into()
            } else {
                object.into()
            };
        }
    };
    let (minimum, maximum) = def.range.unzip();
    let object = ObjectBuilder::new()
        .schema_type(typed(ty))
        .format(format.map(SchemaFormat::KnownFormat))
        .minimum(minimum)
        .maximum(maximum)
        .description(Some(describe(def)));
    if def.read_only {
        object.read_only(true).into()
    } else {
        object.into()
    }
}

/// The object schema of an item shape, nullable where it stands alone as a field.
fn item_schema(item: &ItemModel, nullable: bool) -> ObjectBuilder {
    let ty = if nullable {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::new(Type::Object)
    };
    let mut object = ObjectBuilder::new()
        .schema_type(ty)
        .title(Some(item.schema_name));
    for def in item.fields {
        object = object.property(def.name, field_schema(def));
    }
    if let Some(key) = item.key {
        object = object.required(key);
    }
    object
}

/// The field's description, with what the validator holds a write to that the type does not
/// say.
fn describe(def: &FieldDef) -> String {
    let mut text = def.description.to_owned();
    match def.kind {
        FieldKind::Decimal => text.push_str(" A decimal number; its digits are kept exactly."),
        FieldKind::Currency => text.push_str(" An ISO 4217 code."),
        _ => {}
    }
    if !def.values.is_empty() {
        text.push_str(&format!(
            " A write gives one of {}, in any case; a read may carry another value of the CRM's.",
            def.values.join(", ")
        ));
    }
    text
}

/// `{key: true}`, for the keywords utoipa's array builder lacks (`readOnly`, `writeOnly`).
fn flag(key: &str) -> utoipa::openapi::extensions::Extensions {
    [(key, true)].into_iter().collect()
}

/// Apideck's envelope around `data`, as every CRM operation answers.
fn envelope(description: &str, data: impl Into<RefOr<Schema>>) -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let optional = |name: &str| -> RefOr<Schema> {
        Schema::OneOf(
            utoipa::openapi::schema::OneOfBuilder::new()
                .item(Ref::from_schema_name(name))
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .build(),
        )
        .into()
    };
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property(
            "status_code",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        )
        .property("status", string())
        .property("service", string())
        .property("resource", string())
        .property("operation", string())
        .property("data", data)
        .property("meta", optional(Meta::name().as_ref()))
        .property("links", optional(Links::name().as_ref()))
        .property(
            "_raw",
            ObjectBuilder::new().schema_type(SchemaType::AnyValue).description(Some(
                "With `raw=true`, the vendor's answer: its record, or for a list `{\"pages\": [...]}` with every vendor page the list was read from.",
            )),
        );
    for name in [
        "status_code",
        "status",
        "service",
        "resource",
        "operation",
        "data",
    ] {
        object = object.required(name);
    }
    object.into()
}

/// The schemas a resource's operations name, by component name: the resource, its envelopes,
/// and what they refer to.
pub fn resource_schemas(model: &ResourceModel) -> Vec<(String, RefOr<Schema>)> {
    let one = Ref::from_schema_name(model.schema_name);
    let mut schemas = vec![
        (model.schema_name.to_owned(), model_schema(model).into()),
        (
            format!("Get{}Response", model.plural_name),
            envelope(
                &format!("A page of {}.", model.resource.as_str()),
                ArrayBuilder::new().items(one.clone()),
            )
            .into(),
        ),
        (
            format!("Get{}Response", model.schema_name),
            envelope(&format!("One {}.", model.schema_name.to_lowercase()), one).into(),
        ),
        (
            "UnifiedIdResponse".to_owned(),
            envelope(
                "The id of the created, updated or deleted record.",
                Ref::from_schema_name(UnifiedId::name()),
            )
            .into(),
        ),
        (UnifiedId::name().into_owned(), UnifiedId::schema()),
        (Meta::name().into_owned(), Meta::schema()),
        (Links::name().into_owned(), Links::schema()),
        (ErrorBody::name().into_owned(), ErrorBody::schema()),
        (CustomField::name().into_owned(), CustomField::schema()),
    ];
    PassThrough::schemas(&mut schemas);
    schemas.push((PassThrough::name().into_owned(), PassThrough::schema()));
    schemas
}

/// The documented paths of a resource: its collection (list, create) and its records (one,
/// update, delete), with Apideck's operation ids.
pub fn resource_paths(model: &ResourceModel) -> (Paths, Paths) {
    use utoipa::openapi::path::Parameter;
    let collection = format!("/crm/{}", model.resource.as_str());
    let item = format!("{collection}/{{id}}");
    let tenant = || TenantHeaders::into_params(|| Some(ParameterIn::Header));
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let id = || {
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(string()))
            .build()
    };
    let raw = || {
        ParameterBuilder::new()
            .name("raw")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
            .build()
    };
    let body = || {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name(model.schema_name))),
            )
            .build()
    };
    let operation = |op: Operation, doc: &str, parameters: Vec<Parameter>, answer: Answer| {
        let (summary, description) = match doc.split_once("\n\n") {
            Some((summary, description)) => (summary, Some(description)),
            None => (doc, None),
        };
        let mut responses = ResponsesBuilder::new().response(
            answer.status,
            ResponseBuilder::new()
                .description(answer.description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name(answer.schema))),
                ),
        );
        for (status, description) in ERRORS {
            responses = responses.response(
                *status,
                ResponseBuilder::new().description(*description).content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name(ErrorBody::name()))),
                ),
            );
        }
        OperationBuilder::new()
            .operation_id(Some(operation_id(model, op)))
            .tag(model.plural_name)
            .summary(Some(summary))
            .description(description)
            .parameters(Some(parameters))
            .responses(responses.build())
            .security(SecurityRequirement::new("apiKey", Vec::<String>::new()))
    };
    let list = operation(
        Operation::List,
        &format!(
            "`GET {collection}`: one unified page, filled from as many vendor pages as it takes."
        ),
        tenant().into_iter().chain(list_params(model)).collect(),
        Answer {
            status: "200",
            description: format!("A page of {}", model.resource.as_str()),
            schema: format!("Get{}Response", model.plural_name),
        },
    );
    let idempotency_key = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("Answers a repeated create with the first answer"))
        .schema(Some(
            ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])),
        ))
        .build();
    let create = operation(
        Operation::Create,
        &format!(
            "`POST {collection}`: HTTP 201 with `data.id`.\n\nWith an `Idempotency-Key` the same key and body within 24 hours is answered with the first answer and no second vendor call, from any process; the same key with another body or on another resource is a 422."
        ),
        tenant().into_iter().chain([idempotency_key, raw()]).collect(),
        Answer::id("201", "Created"),
    )
    .request_body(Some(body()));
    let one = operation(
        Operation::Get,
        &format!("`GET {item}`."),
        std::iter::once(id())
            .chain(tenant())
            .chain(RecordQuery::into_params(|| Some(ParameterIn::Query)))
            .collect(),
        Answer {
            status: "200",
            description: format!("One {}", model.schema_name.to_lowercase()),
            schema: format!("Get{}Response", model.schema_name),
        },
    );
    let update = operation(
        Operation::Update,
        &format!(
            "`PATCH {item}`: only the properties in the body change.\n\nAn update with nothing for the vendor to store (only fields it has no place for, or none) makes no vendor call — a vendor answers an empty change with an error or nothing — and is answered 200 with the id as given and the warnings; `_raw` is null, as no vendor record was read, and whether the record exists is not checked."
        ),
        std::iter::once(id()).chain(tenant()).chain([raw()]).collect(),
        Answer::id("200", "Updated"),
    )
    .request_body(Some(body()));
    let delete = operation(
        Operation::Delete,
        &format!(
            "`DELETE {item}`: HTTP 200 with `data.id` (Apideck answers an envelope, not 204)."
        ),
        std::iter::once(id()).chain(tenant()).collect(),
        Answer::id("200", "Deleted"),
    );
    let path =
        |path: String, item: PathItemBuilder| PathsBuilder::new().path(path, item.build()).build();
    (
        path(
            collection,
            PathItemBuilder::new()
                .operation(HttpMethod::Get, list)
                .operation(HttpMethod::Post, create),
        ),
        path(
            item,
            PathItemBuilder::new()
                .operation(HttpMethod::Get, one)
                .operation(HttpMethod::Patch, update)
                .operation(HttpMethod::Delete, delete),
        ),
    )
}

/// An operation's success answer.
struct Answer {
    status: &'static str,
    description: String,
    schema: String,
}

impl Answer {
    /// The answer of a write: the record's id.
    fn id(status: &'static str, description: &str) -> Self {
        Self {
            status,
            description: description.to_owned(),
            schema: "UnifiedIdResponse".to_owned(),
        }
    }
}

/// The error answers every CRM operation documents.
const ERRORS: &[(&str, &str)] = &[
    ("400", "Invalid request"),
    ("401", "Missing or invalid API key"),
    ("404", "Not found"),
    ("422", "Unprocessable"),
    ("429", "The CRM's rate limit"),
    ("502", "The CRM failed"),
    ("504", "The CRM did not answer in time"),
];

/// The query parameters of a list, with the resource's own filter and sort keys.
fn list_params(model: &ResourceModel) -> Vec<utoipa::openapi::path::Parameter> {
    let mut params = ListQuery::into_params(|| Some(ParameterIn::Query));
    for param in &mut params {
        match param.name.as_str() {
            "filter" => {
                let keys: Vec<&str> = model.filters.iter().map(|(k, _)| *k).collect();
                param.description = Some(format!("`filter[{}]`.", keys.join("|")));
            }
            "sort" => {
                param.description = Some(format!(
                    "`sort[by]` ({}) and `sort[direction]` (`asc` or `desc`).",
                    model.sorts.join(", ")
                ));
            }
            _ => {}
        }
    }
    params
}
