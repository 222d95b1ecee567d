//! What Copper needs that no mapping table can express: custom fields. Copper keys them by
//! numeric definition ids (`custom_fields: [{custom_field_definition_id, value}]`); the unified
//! model shows `{id, name, value}` with the name from `/custom_field_definitions` and takes
//! either on writes.

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ErrorKind, FieldCatalog, FieldNames, Result, VendorRequest,
    WriteHook, resolve_fields,
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

fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn definitions(cx: &CallContext) -> Result<FieldNames> {
    let url = cx.url("/developer_api/v1/custom_field_definitions");
    let response = cx
        .http
        .send(VendorRequest::new(Method::GET, url), downstream_errors)
        .await?;
    let list: Vec<Definition> = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
    Ok(list.into_iter().map(|d| (id_text(&d.id), d.name)).collect())
}

/// Turns Copper's custom fields of each record into `{id, name, value}`.
pub async fn name_fields(
    catalog: &FieldCatalog,
    cx: &CallContext,
    records: &mut [Value],
) -> Result<()> {
    let ids: Vec<String> = records
        .iter()
        .filter_map(|r| r.get("custom_fields")?.as_array())
        .flatten()
        .filter_map(|f| f.get("custom_field_definition_id").map(id_text))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let names = catalog.covering(cx, &ids, || definitions(cx)).await?;
    name_custom_fields(&names, records);
    Ok(())
}

/// The naming itself, given the names:
/// `[{custom_field_definition_id, value}]` → `[{id, name, value}]`.
pub fn name_custom_fields(names: &FieldNames, records: &mut [Value]) {
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
            *field = json!({ "id": id, "name": names.get(&id), "value": value });
        }
    }
}

/// Turns unified custom fields (`{id}` or `{name}`, and `value`) in a write body into Copper's
/// `{custom_field_definition_id, value}`; a name Copper does not know is a 400.
pub async fn id_fields(catalog: &FieldCatalog, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(fields)) = body.get("custom_fields") else {
        return Ok(());
    };
    let names = |wanted: Vec<String>| async move {
        catalog.covering(cx, &wanted, || definitions(cx)).await
    };
    let resolved = resolve_fields(fields, "Copper", names).await?;
    let mut out = Vec::with_capacity(resolved.len());
    for (id, value) in resolved {
        let numeric: u64 = id.parse().map_err(|_| {
            ConnectorError::new(
                ErrorKind::Unsupported,
                format!("{id:?} is not a Copper custom field id."),
            )
        })?;
        out.push(json!({ "custom_field_definition_id": numeric, "value": value }));
    }
    body["custom_fields"] = Value::Array(out);
    Ok(())
}
