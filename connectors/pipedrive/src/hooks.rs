//! What Pipedrive needs that no mapping table can express: custom fields. Pipedrive keys them by
//! 40-character hashes (`custom_fields: {<hash>: value}`); the unified model shows
//! `[{id, name, value}]` with the name from `dealFields` and takes either on writes.

use crmgate_connector_sdk::{
    CallContext, ConnectorError, FieldCatalog, FieldNames, Result, VendorRequest, WriteHook,
    resolve_fields,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{Envelope, downstream_errors};

/// The hooks Pipedrive's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[];

/// Pages of `dealFields` read at most; an account has far fewer fields than this covers.
const MAX_FIELD_PAGES: usize = 10;

/// One field of `GET /api/v2/dealFields`.
#[derive(Debug, Deserialize)]
struct DealField {
    field_code: String,
    field_name: String,
}

async fn deal_fields(cx: &CallContext) -> Result<FieldNames> {
    let mut names = FieldNames::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_FIELD_PAGES {
        let mut url = cx.url("/api/v2/dealFields");
        url.query_pairs_mut().append_pair("limit", "500");
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let response = cx
            .http
            .send(VendorRequest::new(Method::GET, url), downstream_errors)
            .await?;
        let page: Envelope<Vec<DealField>> = serde_json::from_slice(&response.body)
            .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
        names.extend(page.data.into_iter().map(|f| (f.field_code, f.field_name)));
        cursor = page.additional_data.and_then(|a| a.next_cursor);
        if cursor.is_none() {
            break;
        }
    }
    Ok(names)
}

/// Turns each record's `custom_fields` object into the unified `[{id, name, value}]`, reading
/// the names again when a record carries a field the cache does not know.
pub async fn name_fields(
    catalog: &FieldCatalog,
    cx: &CallContext,
    records: &mut [Value],
) -> Result<()> {
    let mut codes: Vec<String> = Vec::new();
    for fields in records
        .iter()
        .filter_map(|r| r.get("custom_fields")?.as_object())
    {
        for code in fields.keys() {
            if !codes.contains(code) {
                codes.push(code.clone());
            }
        }
    }
    if codes.is_empty() {
        // An empty `{}` still becomes `[]`, without asking for names.
        name_custom_fields(&FieldNames::new(), records);
        return Ok(());
    }
    let names = catalog.covering(cx, &codes, || deal_fields(cx)).await?;
    name_custom_fields(&names, records);
    Ok(())
}

/// The naming itself, given the names: `{<hash>: value}` → `[{id, name, value}]`.
pub fn name_custom_fields(names: &FieldNames, records: &mut [Value]) {
    for record in records {
        let Some(slot) = record.get_mut("custom_fields").filter(|v| v.is_object()) else {
            continue;
        };
        let Value::Object(fields) = slot.take() else {
            continue;
        };
        let list: Vec<Value> = fields
            .into_iter()
            .map(|(code, value)| {
                let name = names.get(&code);
                json!({ "id": code, "name": name, "value": value })
            })
            .collect();
        *slot = Value::Array(list);
    }
}

/// Turns unified custom fields (`{id}` or `{name}`, and `value`) in a write body into
/// Pipedrive's `custom_fields: {<hash>: value}`; a name Pipedrive does not know is a 400.
pub async fn id_fields(catalog: &FieldCatalog, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(fields)) = body.get("custom_fields") else {
        return Ok(());
    };
    let resolved = resolve_fields(catalog, cx, fields, "Pipedrive", || deal_fields(cx)).await?;
    body["custom_fields"] = Value::Object(resolved.into_iter().collect());
    Ok(())
}
