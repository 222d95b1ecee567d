//! Vault's consumers: an application's customers. A consumer comes into being when it is
//! created here or when its first connection is saved; deleting one deletes its connections and
//! custom mappings with it.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::respond;
use crate::api::AppState;
use crate::api::crm::Body;
use crate::api::cursor::CursorState;
use crate::api::tenant::Caller;
use crate::error::{Error, ErrorType, Result};
use crate::store::{ConsumerRecord, Tenant};

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 200;
/// Cursor "service" of consumer lists, so a CRM cursor is refused here and the reverse.
const CURSOR_SCOPE: &str = "vault-consumers";

fn millis_to_rfc3339(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .into()
}

async fn consumer_json(state: &AppState, app_id: &str, consumer: &ConsumerRecord) -> Result<Value> {
    let tenant = Tenant {
        app_id: app_id.to_owned(),
        consumer_id: consumer.consumer_id.clone(),
    };
    let connections = state.store.connections(&tenant).await?;
    let metadata: Value = serde_json::from_str(&consumer.metadata).unwrap_or_else(|_| json!({}));
    Ok(json!({
        "consumer_id": consumer.consumer_id,
        "application_id": app_id,
        "metadata": metadata,
        "connections": connections.iter().map(|c| json!({
            "id": format!("crm+{}", c.service_id),
            "name": state.connector(&c.service_id).map(|e| e.connector.name()),
            "service_id": c.service_id,
            "unified_api": "crm",
            "consumer_id": consumer.consumer_id,
            "auth_type": "apiKey",
            "enabled": c.enabled,
            "created_at": millis_to_rfc3339(c.created_at),
            "updated_at": millis_to_rfc3339(c.updated_at),
        })).collect::<Vec<_>>(),
        "services": connections.iter().map(|c| c.service_id.clone()).collect::<Vec<_>>(),
        "created": millis_to_rfc3339(consumer.created_at),
        "modified": millis_to_rfc3339(consumer.updated_at),
    }))
}

fn not_found(consumer_id: &str) -> Error {
    Error::new(
        StatusCode::NOT_FOUND,
        ErrorType::EntityNotFoundError,
        "Unknown consumer",
    )
    .with_detail(format!("No consumer {consumer_id:?} in this application").into())
}

/// `GET /vault/consumers`, paged with `limit` and an opaque `cursor`.
#[utoipa::path(get, path = "/vault/consumers", operation_id = "consumersAll", tag = "Consumers", params(("x-apideck-app-id" = String, Header), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "A page of consumers", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let mut limit = DEFAULT_LIMIT;
    let mut cursor = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*k {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| Error::validation(format!("Invalid query parameter limit: must be an integer from 1 to {MAX_LIMIT}"), json!({ "invalid": [{ "limit": "out of range" }] })))?;
            }
            "cursor" if !v.is_empty() => cursor = Some(v.into_owned()),
            "cursor" => {}
            other => {
                return Err(Error::validation(
                    format!("Invalid query parameter {other}: not a parameter of this operation"),
                    json!({ "invalid": [{ other: "unknown parameter" }] }),
                ));
            }
        }
    }
    let fingerprint = caller.app_id.clone();
    let offset: usize = match &cursor {
        Some(c) => state
            .cursors
            .decode(c, CURSOR_SCOPE, &fingerprint)?
            .vendor
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                Error::invalid_cursor("The cursor is not one crmgate issued for this list")
            })?,
        None => 0,
    };
    let all = state.store.consumers(&caller.app_id).await?;
    let page: Vec<&ConsumerRecord> = all.iter().skip(offset).take(limit).collect();
    let mut data = Vec::with_capacity(page.len());
    for consumer in &page {
        data.push(consumer_json(&state, &caller.app_id, consumer).await?);
    }
    let next = (offset + page.len() < all.len()).then(|| {
        state.cursors.encode(&CursorState {
            service: CURSOR_SCOPE.to_owned(),
            vendor: Some((offset + page.len()).to_string()),
            skip: 0,
            seen: Vec::new(),
            fingerprint,
        })
    });
    let body = json!({
        "status_code": 200,
        "status": "OK",
        "data": data,
        "meta": { "items_on_page": page.len(), "cursors": { "previous": null, "current": cursor, "next": next } },
    });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// The writable part of a consumer body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerBody {
    consumer_id: Option<String>,
    metadata: Option<Map<String, Value>>,
}

fn parse_body(body: &[u8]) -> Result<ConsumerBody> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::validation(
            "The body must be a JSON object",
            json!({ "body": "expected a JSON object" }),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            Error::validation(
                format!("Invalid body: {e}"),
                json!({ "body": e.to_string() }),
            )
        } else {
            Error::malformed_body(&e)
        }
    })
}

/// `POST /vault/consumers`.
#[utoipa::path(post, path = "/vault/consumers", operation_id = "consumersAdd", tag = "Consumers", request_body = crate::api::openapi::ConsumerInput, params(("x-apideck-app-id" = String, Header)), responses((status = 200, description = "Created", body = crate::api::openapi::VaultResponse), (status = 409, description = "It exists", body = crate::api::openapi::ErrorBody), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response> {
    let input = parse_body(&body)?;
    let consumer_id = input
        .consumer_id
        .filter(|c| !c.trim().is_empty() && c.len() <= 255)
        .ok_or_else(|| {
            Error::validation(
                "Missing property consumer_id",
                json!({ "missing": [{ "consumer_id": "required" }] }),
            )
        })?;
    if state
        .store
        .consumer(&caller.app_id, &consumer_id)
        .await?
        .is_some()
    {
        return Err(Error::new(
            StatusCode::CONFLICT,
            ErrorType::RequestValidationError,
            "Consumer exists",
        )
        .with_detail(format!("Consumer {consumer_id:?} exists; change it with PATCH").into()));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let record = ConsumerRecord {
        consumer_id,
        metadata: Value::Object(input.metadata.unwrap_or_default()).to_string(),
        created_at: now,
        updated_at: now,
    };
    state.store.save_consumer(&caller.app_id, &record).await?;
    Ok(respond(
        StatusCode::OK,
        consumer_json(&state, &caller.app_id, &record).await?,
    ))
}

/// `GET /vault/consumers/{consumer_id}`.
#[utoipa::path(get, path = "/vault/consumers/{consumer_id}", operation_id = "consumersOne", tag = "Consumers", params(("consumer_id" = String, Path), ("x-apideck-app-id" = String, Header)), responses((status = 200, description = "The consumer", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(consumer_id): Path<String>,
) -> Result<Response> {
    let record = state
        .store
        .consumer(&caller.app_id, &consumer_id)
        .await?
        .ok_or_else(|| not_found(&consumer_id))?;
    Ok(respond(
        StatusCode::OK,
        consumer_json(&state, &caller.app_id, &record).await?,
    ))
}

/// `PATCH /vault/consumers/{consumer_id}`: replaces the metadata.
#[utoipa::path(patch, path = "/vault/consumers/{consumer_id}", operation_id = "consumersUpdate", tag = "Consumers", request_body = crate::api::openapi::ConsumerInput, params(("consumer_id" = String, Path), ("x-apideck-app-id" = String, Header)), responses((status = 200, description = "Updated", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(consumer_id): Path<String>,
    Body(body): Body,
) -> Result<Response> {
    let input = parse_body(&body)?;
    if input
        .consumer_id
        .as_deref()
        .is_some_and(|c| c != consumer_id)
    {
        return Err(Error::validation(
            "A consumer's id cannot change",
            json!({ "invalid": [{ "consumer_id": "read-only" }] }),
        ));
    }
    let mut record = state
        .store
        .consumer(&caller.app_id, &consumer_id)
        .await?
        .ok_or_else(|| not_found(&consumer_id))?;
    if let Some(metadata) = input.metadata {
        record.metadata = Value::Object(metadata).to_string();
    }
    record.updated_at = chrono::Utc::now().timestamp_millis();
    state.store.save_consumer(&caller.app_id, &record).await?;
    Ok(respond(
        StatusCode::OK,
        consumer_json(&state, &caller.app_id, &record).await?,
    ))
}

/// `DELETE /vault/consumers/{consumer_id}`: with its connections and custom mappings.
#[utoipa::path(delete, path = "/vault/consumers/{consumer_id}", operation_id = "consumersDelete", tag = "Consumers", params(("consumer_id" = String, Path), ("x-apideck-app-id" = String, Header)), responses((status = 200, description = "Deleted with its connections and mappings", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(consumer_id): Path<String>,
) -> Result<Response> {
    if !state
        .store
        .delete_consumer(&caller.app_id, &consumer_id)
        .await?
    {
        return Err(not_found(&consumer_id));
    }
    tracing::info!(
        consumer = consumer_id,
        "Consumer deleted with its connections and mappings."
    );
    Ok(respond(
        StatusCode::OK,
        json!({ "consumer_id": consumer_id }),
    ))
}
