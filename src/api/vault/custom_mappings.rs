//! Vault's custom mappings: tenants' layers over the built-in mapping tables.
//!
//! With `x-apideck-consumer-id` a call works on that consumer's layer; without it, on the
//! application's layer, which every consumer of the application inherits. A key that names a
//! unified field re-points that field; any other key appears as `custom_mappings.<key>`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::connections::known_connector;
use super::{object_body, respond};
use crate::api::AppState;
use crate::api::crm::Body;
use crate::api::tenant::Caller;
use crate::error::{Error, ErrorType, Result};
use crate::mapping::validate_custom_mapping;
use crate::store::{CustomMappingRecord, MappingScope, Tenant};
use crate::unified::{MODELS, ResourceModel};

/// Properties of Vault's `CustomMapping` that are read-only; a client may send a mapping back
/// as it read it.
const READ_ONLY: &[&str] = &[
    "id",
    "label",
    "description",
    "key",
    "required",
    "custom_field",
    "consumer_id",
    "example",
];

/// A resource custom mappings can target: every unified resource crmgate serves.
fn resource_named(name: &str) -> Result<&'static ResourceModel> {
    MODELS
        .iter()
        .copied()
        .find(|m| m.resource.as_str() == name)
        .ok_or_else(|| {
            Error::new(
                StatusCode::NOT_FOUND,
                ErrorType::EntityNotFoundError,
                "Unknown resource",
            )
            .with_detail(format!("crmgate has no CRM resource {name:?}").into())
        })
}

/// Splits a target field id, `crm+opportunities+<key>`.
fn target(id: &str) -> Result<(&'static ResourceModel, String)> {
    let mut parts = id.splitn(3, '+');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("crm"), Some(resource), Some(key)) if !key.is_empty() => {
            Ok((resource_named(resource)?, key.to_owned()))
        }
        _ => Err(Error::validation(
            format!("Invalid target field id {id:?}: expected crm+<resource>+<key>"),
            json!({ "invalid": [{ "target_field_id": "expected crm+<resource>+<key>" }] }),
        )),
    }
}

fn scope(caller: &Caller, service: &str, model: &ResourceModel) -> MappingScope {
    MappingScope {
        app_id: caller.app_id.clone(),
        consumer_id: caller.consumer_id.clone(),
        service_id: service.to_owned(),
        resource: model.resource.as_str().to_owned(),
    }
}

/// Vault's `CustomMapping` for a stored row.
fn mapping_json(model: &ResourceModel, row: &CustomMappingRecord) -> Value {
    let unified = model.field(&row.key).is_some();
    json!({
        "id": format!("crm+{}+{}", model.resource.as_str(), row.key),
        "label": row.key,
        "description": null,
        "value": row.value,
        "key": row.key,
        "required": false,
        "custom_field": !unified,
        "consumer_id": row.consumer_id,
        "example": null,
    })
}

/// The rows with each key's most specific layer only (the consumer's over the application's).
fn effective(rows: Vec<CustomMappingRecord>) -> Vec<CustomMappingRecord> {
    let mut out: Vec<CustomMappingRecord> = Vec::new();
    for row in rows {
        match out.iter_mut().find(|r| r.key == row.key) {
            Some(slot) => *slot = row,
            None => out.push(row),
        }
    }
    out
}

/// `GET /vault/custom-mappings/crm/{service_id}`: the effective mappings of every resource.
#[utoipa::path(get, path = "/vault/custom-mappings/{unified_api}/{service_id}", operation_id = "customMappingsAll", tag = "Custom mappings", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), ("x-apideck-app-id" = String, Header), ("x-apideck-consumer-id" = Option<String>, Header, description = "The consumer layer; the application layer without it")), responses((status = 200, description = "The effective mappings", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service)): Path<(String, String)>,
) -> Result<Response> {
    known_connector(&state, &api, &service)?;
    let mut data = Vec::new();
    for model in MODELS {
        let rows = state
            .store
            .custom_mappings(&scope(&caller, &service, model))
            .await?;
        data.extend(effective(rows).iter().map(|r| mapping_json(model, r)));
    }
    Ok(respond(StatusCode::OK, Value::Array(data)))
}

/// `GET /vault/connections/crm/{service_id}/{resource}/custom-mappings`: what applies to the
/// consumer's connection.
#[utoipa::path(get, path = "/vault/connections/{unified_api}/{service_id}/{resource}/custom-mappings", operation_id = "connectionCustomMappingsAll", tag = "Custom mappings", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), ("resource" = String, Path), crate::api::openapi::TenantHeaders), responses((status = 200, description = "What applies to the connection", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn for_connection(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((api, service, resource)): Path<(String, String, String)>,
) -> Result<Response> {
    known_connector(&state, &api, &service)?;
    let resource = resource_named(&resource)?;
    if state.store.connection(&tenant, &service).await?.is_none() {
        return Err(Error::no_connection(&tenant, &service));
    }
    let caller = Caller {
        app_id: tenant.app_id,
        consumer_id: Some(tenant.consumer_id),
    };
    let rows = state
        .store
        .custom_mappings(&scope(&caller, &service, resource))
        .await?;
    let data = effective(rows)
        .iter()
        .map(|r| mapping_json(resource, r))
        .collect();
    Ok(respond(StatusCode::OK, Value::Array(data)))
}

/// The row of the caller's own layer for a key, if any.
async fn own_row(
    state: &AppState,
    scope: &MappingScope,
    key: &str,
) -> Result<Option<CustomMappingRecord>> {
    Ok(state
        .store
        .custom_mappings(scope)
        .await?
        .into_iter()
        .find(|r| r.key == key && r.consumer_id == scope.consumer_id))
}

fn not_found(id: &str) -> Error {
    Error::new(
        StatusCode::NOT_FOUND,
        ErrorType::EntityNotFoundError,
        "Unknown custom mapping",
    )
    .with_detail(format!("No custom mapping {id} in this layer").into())
}

/// The resource and key a target field id names, under a known connector.
fn locate(
    state: &AppState,
    api: &str,
    service: &str,
    id: &str,
) -> Result<(&'static ResourceModel, String)> {
    known_connector(state, api, service)?;
    target(id)
}

/// `GET /vault/custom-mappings/crm/{service_id}/{target_field_id}`.
#[utoipa::path(get, path = "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}", operation_id = "customMappingsOne", tag = "Custom mappings", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), ("target_field_id" = String, Path, description = "crm+<resource>+<key>"), ("x-apideck-app-id" = String, Header), ("x-apideck-consumer-id" = Option<String>, Header, description = "The consumer layer; the application layer without it")), responses((status = 200, description = "The mapping", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service, id)): Path<(String, String, String)>,
) -> Result<Response> {
    let (resource, key) = locate(&state, &api, &service, &id)?;
    let rows = state
        .store
        .custom_mappings(&scope(&caller, &service, resource))
        .await?;
    let row = effective(rows)
        .into_iter()
        .find(|r| r.key == key)
        .ok_or_else(|| not_found(&id))?;
    Ok(respond(StatusCode::OK, mapping_json(resource, &row)))
}

/// `POST .../{target_field_id}`: creates a mapping in the caller's layer.
#[utoipa::path(post, path = "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}", operation_id = "customMappingsAdd", tag = "Custom mappings", request_body = crate::api::openapi::CustomMappingInput, params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), ("target_field_id" = String, Path, description = "crm+<resource>+<key>"), ("x-apideck-app-id" = String, Header), ("x-apideck-consumer-id" = Option<String>, Header, description = "The consumer layer; the application layer without it")), responses((status = 200, description = "Created", body = crate::api::openapi::VaultResponse), (status = 409, description = "It exists in this layer", body = crate::api::openapi::ErrorBody), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn add(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String, String)>,
    body: Body,
) -> Result<Response> {
    save(state, caller, path, body, true).await
}

/// `PATCH .../{target_field_id}`: changes a mapping of the caller's layer.
#[utoipa::path(patch, path = "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}", operation_id = "customMappingsUpdate", tag = "Custom mappings", request_body = crate::api::openapi::CustomMappingInput, params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), ("target_field_id" = String, Path, description = "crm+<resource>+<key>"), ("x-apideck-app-id" = String, Header), ("x-apideck-consumer-id" = Option<String>, Header, description = "The consumer layer; the application layer without it")), responses((status = 200, description = "Updated", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn update(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String, String)>,
    body: Body,
) -> Result<Response> {
    save(state, caller, path, body, false).await
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service, id)): Path<(String, String, String)>,
    Body(body): Body,
    create: bool,
) -> Result<Response> {
    let (resource, key) = locate(&state, &api, &service, &id)?;
    let value = mapping_value(&body)?;
    validate_custom_mapping(resource, &key, &value, &state.paths)?;
    let scope = scope(&caller, &service, resource);
    let existing = own_row(&state, &scope, &key).await?;
    match (create, existing.is_some()) {
        (true, true) => {
            return Err(Error::new(
                StatusCode::CONFLICT,
                ErrorType::RequestValidationError,
                "Custom mapping exists",
            )
            .with_detail(format!("{id} exists in this layer; change it with PATCH").into()));
        }
        (false, false) => return Err(not_found(&id)),
        _ => {}
    }
    let now = chrono::Utc::now().timestamp_millis();
    state
        .store
        .save_custom_mapping(&scope, &key, &value, now)
        .await?;
    tracing::info!(
        service,
        key,
        layer = if scope.consumer_id.is_some() {
            "consumer"
        } else {
            "application"
        },
        "Custom mapping saved."
    );
    let row = CustomMappingRecord {
        key,
        value,
        consumer_id: scope.consumer_id,
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
    };
    Ok(respond(StatusCode::OK, mapping_json(resource, &row)))
}

/// `DELETE .../{target_field_id}`: HTTP 204.
#[utoipa::path(delete, path = "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}", operation_id = "customMappingsDelete", tag = "Custom mappings", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), ("target_field_id" = String, Path, description = "crm+<resource>+<key>"), ("x-apideck-app-id" = String, Header), ("x-apideck-consumer-id" = Option<String>, Header, description = "The consumer layer; the application layer without it")), responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service, id)): Path<(String, String, String)>,
) -> Result<Response> {
    let (resource, key) = locate(&state, &api, &service, &id)?;
    if !state
        .store
        .delete_custom_mapping(&scope(&caller, &service, resource), &key)
        .await?
    {
        return Err(not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `value` of a create or update body (`{"value": "$.path"}`).
fn mapping_value(body: &[u8]) -> Result<String> {
    let map = object_body(body)?;
    let mut value = None;
    for (key, v) in map {
        match (key.as_str(), v) {
            ("value", Value::String(s)) => value = Some(s),
            ("value", _) => {
                return Err(Error::validation(
                    "Invalid property value: expected a JSONPath string",
                    json!({ "invalid": [{ "value": "expected a string" }] }),
                ));
            }
            (other, _) if READ_ONLY.contains(&other) => {}
            (other, _) => {
                return Err(Error::validation(
                    format!("Unknown property {other}"),
                    json!({ "unknown": [other] }),
                ));
            }
        }
    }
    value.ok_or_else(|| {
        Error::validation(
            "Missing property value",
            json!({ "missing": [{ "value": "required" }] }),
        )
    })
}
