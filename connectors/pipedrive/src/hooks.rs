//! What Pipedrive needs that no mapping table can express: names for what it keys by ids.
//! Custom fields are keyed by 40-character hashes (`custom_fields: {<hash>: value}`); the
//! unified model shows `[{id, name, value}]` with the name from `dealFields` and takes either on
//! writes. Labels are `label_ids`; the unified `tags` are their names (the options of the label
//! field in `dealFields`), and a write may give names or ids. One `dealFields` read fills both.

use crmgate_connector_sdk::{
    CallContext, CatalogPair, ConnectorError, ErrorKind, FieldNames, Result, VendorRequest,
    WriteHook, distinct, id_text, option_ids, resolve_fields,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{Envelope, downstream_errors};

/// The hooks Pipedrive's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[];

/// Pages of `dealFields` read at most; an account has far fewer fields than this covers.
const MAX_FIELD_PAGES: usize = 10;

/// The field codes of deal labels in `dealFields` (v2, and v1's name for it).
const LABEL_FIELDS: [&str; 2] = ["label_ids", "label"];

/// One field of `GET /api/v2/dealFields`.
#[derive(Debug, Deserialize)]
struct DealField {
    field_code: String,
    field_name: String,
    #[serde(default)]
    is_custom_field: bool,
    #[serde(default)]
    options: Option<Vec<FieldOption>>,
}

#[derive(Debug, Deserialize)]
struct FieldOption {
    id: Value,
    label: String,
}

/// A connection's custom field names and label names, both read from `dealFields`.
#[derive(Debug, Default)]
pub struct Catalogs(CatalogPair);

/// Every deal field, read once: the custom field names and the label names.
async fn deal_fields(cx: &CallContext) -> Result<(FieldNames, FieldNames)> {
    let mut names = FieldNames::new();
    let mut labels = FieldNames::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_FIELD_PAGES {
        let mut url = cx.url("/api/v2/dealFields");
        url.query_pairs_mut().append_pair("limit", "500");
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let response = cx
            .http
            .send(VendorRequest::new(Method::GET, url), &downstream_errors)
            .await?;
        let page: Envelope<Vec<DealField>> = serde_json::from_slice(&response.body)
            .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
        for field in page.data {
            if LABEL_FIELDS.contains(&field.field_code.as_str()) {
                let options = field.options.unwrap_or_default();
                labels.extend(options.into_iter().map(|o| (id_text(&o.id), o.label)));
            } else if field.is_custom_field {
                names.insert(field.field_code, field.field_name);
            }
        }
        cursor = page.additional_data.and_then(|a| a.next_cursor);
        if cursor.is_none() {
            break;
        }
    }
    Ok((names, labels))
}

/// What a read lacks without `dealFields`.
const LACKING: &str = "custom fields and labels are given by id, without names";

/// Names what each record carries by id: custom fields and labels. A token that may not read
/// `dealFields` still reads deals: ids stay unnamed, and the answer says so.
pub async fn name_records(
    catalogs: &Catalogs,
    cx: &CallContext,
    records: &mut [Value],
) -> Result<()> {
    if name_fields(catalogs, cx, records).await? {
        name_labels(catalogs, cx, records).await
    } else {
        name_labels_with(&FieldNames::new(), records);
        Ok(())
    }
}

/// Sets each record's `tags` to the names of its `label_ids` (an id Pipedrive does not name
/// stays an id rather than disappearing).
async fn name_labels(catalogs: &Catalogs, cx: &CallContext, records: &mut [Value]) -> Result<()> {
    let ids = distinct(
        records
            .iter()
            .filter_map(|r| r.get("label_ids")?.as_array())
            .flatten()
            .map(id_text),
    );
    let names = if ids.is_empty() {
        None
    } else {
        let read = catalogs.0.option_names(cx, &ids, || deal_fields(cx));
        cx.optional("tags", LACKING, read).await?
    };
    name_labels_with(&names.unwrap_or_default(), records);
    Ok(())
}

/// The label naming itself, given the names.
pub fn name_labels_with(names: &FieldNames, records: &mut [Value]) {
    for record in records {
        let tags: Vec<Value> = record
            .get("label_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|id| {
                let id = id_text(id);
                Value::String(names.get(&id).cloned().unwrap_or(id))
            })
            .collect();
        if let Some(map) = record.as_object_mut() {
            map.insert("tags".to_owned(), Value::Array(tags));
        }
    }
}

/// Turns the unified `tags` of a write (label names, or label ids) into `label_ids`; a name
/// Pipedrive does not have is a 400 before anything is written. No tags (`[]`, which a
/// cleared `null` is too) clears the labels without looking names up.
pub async fn id_labels(catalogs: &Catalogs, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(tags)) = body.as_object_mut().and_then(|b| b.remove("tags")) else {
        return Ok(());
    };
    if tags.is_empty() {
        body["label_ids"] = Value::Array(tags);
        return Ok(());
    }
    let wanted: Vec<String> = tags.iter().map(id_text).collect();
    let names = catalogs
        .0
        .option_names(cx, &wanted, || deal_fields(cx))
        .await?;
    let ids = option_ids(&names, &wanted, "A Pipedrive deal label")?
        .into_iter()
        .map(|id| id.parse::<u64>().map(Value::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            ConnectorError::new(ErrorKind::Unsupported, "Pipedrive label ids are integers.")
        })?;
    body["label_ids"] = Value::Array(ids);
    Ok(())
}

/// Turns each record's `custom_fields` object into the unified `[{id, name, value}]`, reading
/// the names again when a record carries a field the cache does not know. Answers whether the
/// names could be read.
async fn name_fields(catalogs: &Catalogs, cx: &CallContext, records: &mut [Value]) -> Result<bool> {
    let codes = distinct(
        records
            .iter()
            .filter_map(|r| r.get("custom_fields")?.as_object())
            .flat_map(|fields| fields.keys().cloned()),
    );
    if codes.is_empty() {
        // An empty `{}` still becomes `[]`, without asking for names.
        name_custom_fields(&FieldNames::new(), records);
        return Ok(true);
    }
    let read = catalogs.0.field_names(cx, &codes, || deal_fields(cx));
    let names = cx.optional("custom_fields", LACKING, read).await?;
    let available = names.is_some();
    name_custom_fields(&names.unwrap_or_default(), records);
    Ok(available)
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
pub async fn id_fields(catalogs: &Catalogs, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(fields)) = body.get("custom_fields") else {
        return Ok(());
    };
    let names = |wanted: Vec<String>| async move {
        catalogs
            .0
            .field_names(cx, &wanted, || deal_fields(cx))
            .await
    };
    let resolved = resolve_fields(fields, "Pipedrive", names).await?;
    body["custom_fields"] = Value::Object(resolved.into_iter().collect());
    Ok(())
}
