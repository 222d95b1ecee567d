//! What Copper needs that no mapping table can express: custom fields. Copper keys them by
//! numeric definition ids (`custom_fields: [{custom_field_definition_id, value}]`); the unified
//! model shows `{id, name, value}` with the name from `/custom_field_definitions` and takes
//! either on writes. Definitions are cached per connection and read again when an id or a name
//! is not in the cache (a field added since).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ErrorKind, Result, VendorRequest, WriteHook,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::downstream_errors;

/// The hooks Copper's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[];

/// One custom field definition, as Copper lists them.
#[derive(Debug, Deserialize)]
struct Definition {
    id: Value,
    name: String,
}

/// Definition id (as text) → name, for one connection.
type Definitions = HashMap<String, String>;

/// Custom field definitions by connection.
#[derive(Debug, Default)]
pub struct DefinitionCache {
    by_connection: Mutex<HashMap<String, Arc<Definitions>>>,
}

fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl DefinitionCache {
    fn cached(&self, cx: &CallContext) -> Option<Arc<Definitions>> {
        self.by_connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cx.connection)
            .cloned()
    }

    async fn refresh(&self, cx: &CallContext) -> Result<Arc<Definitions>> {
        let url = cx.url("/developer_api/v1/custom_field_definitions");
        let response = cx
            .http
            .send(VendorRequest::new(Method::GET, url), downstream_errors)
            .await?;
        let list: Vec<Definition> = serde_json::from_slice(&response.body)
            .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
        let definitions: Arc<Definitions> =
            Arc::new(list.into_iter().map(|d| (id_text(&d.id), d.name)).collect());
        self.by_connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cx.connection.clone(), definitions.clone());
        Ok(definitions)
    }

    /// The definitions, read again if any of `wanted` (ids or names) is not among them.
    async fn covering(&self, cx: &CallContext, wanted: &[String]) -> Result<Arc<Definitions>> {
        if let Some(cached) = self.cached(cx)
            && wanted
                .iter()
                .all(|w| cached.contains_key(w) || cached.values().any(|n| n == w))
        {
            return Ok(cached);
        }
        self.refresh(cx).await
    }

    /// Turns Copper's custom fields of each record into `{id, name, value}`.
    pub async fn name_fields(&self, cx: &CallContext, records: &mut [Value]) -> Result<()> {
        let ids: Vec<String> = records
            .iter()
            .filter_map(|r| r.get("custom_fields")?.as_array())
            .flatten()
            .filter_map(|f| f.get("custom_field_definition_id").map(id_text))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let definitions = self.covering(cx, &ids).await?;
        for record in records {
            let Some(Value::Array(fields)) = record.get_mut("custom_fields") else {
                continue;
            };
            for field in fields.iter_mut() {
                let id = field
                    .get("custom_field_definition_id")
                    .map(id_text)
                    .unwrap_or_default();
                let value = field.get("value").cloned().unwrap_or(Value::Null);
                *field = json!({ "id": id, "name": definitions.get(&id), "value": value });
            }
        }
        Ok(())
    }

    /// Turns unified custom fields (`{id}` or `{name}`, and `value`) in a write body into
    /// Copper's `{custom_field_definition_id, value}`; a name Copper does not know is a 400.
    pub async fn id_fields(&self, cx: &CallContext, body: &mut Value) -> Result<()> {
        let Some(Value::Array(fields)) = body.get("custom_fields") else {
            return Ok(());
        };
        let wanted: Vec<String> = fields
            .iter()
            .filter_map(|f| {
                f.get("id")
                    .filter(|v| !v.is_null())
                    .or_else(|| f.get("name"))
                    .map(id_text)
            })
            .collect();
        let definitions = self.covering(cx, &wanted).await?;
        let mut out = Vec::with_capacity(wanted.len());
        for field in fields {
            let id = match (
                field.get("id").filter(|v| !v.is_null()),
                field.get("name").and_then(Value::as_str),
            ) {
                (Some(id), _) => id_text(id),
                (None, Some(name)) => definitions
                    .iter()
                    .find(|(_, n)| *n == name)
                    .map(|(id, _)| id.clone())
                    .ok_or_else(|| {
                        ConnectorError::new(
                            ErrorKind::Unsupported,
                            format!("Copper has no custom field named {name:?}."),
                        )
                    })?,
                (None, None) => continue,
            };
            let numeric: u64 = id.parse().map_err(|_| {
                ConnectorError::new(
                    ErrorKind::Unsupported,
                    format!("{id:?} is not a Copper custom field id."),
                )
            })?;
            out.push(json!({ "custom_field_definition_id": numeric, "value": field.get("value").cloned().unwrap_or(Value::Null) }));
        }
        body["custom_fields"] = Value::Array(out);
        Ok(())
    }
}
