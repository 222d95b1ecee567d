//! What Copper needs that no mapping table can express: names for what it keys by ids.
//! Custom fields are keyed by numeric definition ids
//! (`custom_fields: [{custom_field_definition_id, value}]`); the unified model shows
//! `{id, name, value}` with the name from `/custom_field_definitions` and takes either on
//! writes. The loss reason and the customer source are ids too; the unified `loss_reason` and
//! `lead_source` are their names (`/loss_reasons`, `/customer_sources`), which the connector
//! adds to each record as `loss_reason_name` / `customer_source_name` and turns back into ids
//! on writes.

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ErrorKind, FieldCatalog, FieldNames, Result, VendorRequest,
    WriteHook, distinct, id_text, option_ids, resolve_fields,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::downstream_errors;

/// The hooks Copper's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[];

/// One named thing, as Copper lists custom field definitions, loss reasons and sources.
#[derive(Debug, Deserialize)]
struct Named {
    id: Value,
    name: String,
}

/// `GET` of one of Copper's lists of named things: id → name.
async fn named(cx: &CallContext, path: &str) -> Result<FieldNames> {
    let url = cx.url(path);
    let response = cx
        .http
        .send(VendorRequest::new(Method::GET, url), &downstream_errors)
        .await?;
    let list: Vec<Named> = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
    Ok(list.into_iter().map(|d| (id_text(&d.id), d.name)).collect())
}

async fn definitions(cx: &CallContext) -> Result<FieldNames> {
    named(cx, "/developer_api/v1/custom_field_definitions").await
}

/// An id a record carries whose name the unified model shows.
struct Lookup {
    path: &'static str,
    id_key: &'static str,
    name_key: &'static str,
    what: &'static str,
}

const LOSS_REASONS: Lookup = Lookup {
    path: "/developer_api/v1/loss_reasons",
    id_key: "loss_reason_id",
    name_key: "loss_reason_name",
    what: "A Copper loss reason",
};

const CUSTOMER_SOURCES: Lookup = Lookup {
    path: "/developer_api/v1/customer_sources",
    id_key: "customer_source_id",
    name_key: "customer_source_name",
    what: "A Copper customer source",
};

/// A connection's names: custom field definitions, loss reasons, customer sources.
#[derive(Debug, Default)]
pub struct Catalogs {
    definitions: FieldCatalog,
    reasons: FieldCatalog,
    sources: FieldCatalog,
}

impl Catalogs {
    fn lookups(&self) -> [(&FieldCatalog, &'static Lookup); 2] {
        [
            (&self.reasons, &LOSS_REASONS),
            (&self.sources, &CUSTOMER_SOURCES),
        ]
    }
}

/// What a read lacks without Copper's metadata endpoints.
const LACKING: &str = "custom fields, loss reasons and sources are given without names";

/// Names what each record carries by id: custom fields, the loss reason, the source. A token
/// that may not read the metadata still reads opportunities: names stay empty, and the answer
/// says so.
pub async fn name_records(
    catalogs: &Catalogs,
    cx: &CallContext,
    records: &mut [Value],
) -> Result<()> {
    name_fields(&catalogs.definitions, cx, records).await?;
    for (catalog, lookup) in catalogs.lookups() {
        let ids = distinct(
            records
                .iter()
                .filter_map(|r| r.get(lookup.id_key).filter(|v| !v.is_null()))
                .map(id_text),
        );
        if ids.is_empty() {
            continue;
        }
        let read = catalog.covering(cx, &ids, || named(cx, lookup.path));
        let names = cx
            .optional(lookup.id_key, LACKING, read)
            .await?
            .unwrap_or_default();
        for record in records.iter_mut() {
            let Some(id) = record.get(lookup.id_key).filter(|v| !v.is_null()) else {
                continue;
            };
            let name = names
                .get(&id_text(id))
                .cloned()
                .map_or(Value::Null, Value::String);
            if let Some(map) = record.as_object_mut() {
                map.insert(lookup.name_key.to_owned(), name);
            }
        }
    }
    Ok(())
}

/// Turns the names of a write (`loss_reason_name`, `customer_source_name`) into Copper's ids;
/// null clears the id, and a name Copper does not have is a 400 before anything is written.
pub async fn id_lookups(catalogs: &Catalogs, cx: &CallContext, body: &mut Value) -> Result<()> {
    for (catalog, lookup) in catalogs.lookups() {
        let Some(given) = body.as_object_mut().and_then(|b| b.remove(lookup.name_key)) else {
            continue;
        };
        let id = match given {
            Value::Null => Value::Null,
            other => {
                let wanted = [id_text(&other)];
                let names = catalog
                    .covering(cx, &wanted, || named(cx, lookup.path))
                    .await?;
                let id = option_ids(&names, &wanted, lookup.what)?[0];
                id.parse::<u64>().map(Value::from).map_err(|_| {
                    ConnectorError::new(
                        ErrorKind::Unsupported,
                        format!("{id:?} is not a Copper id."),
                    )
                })?
            }
        };
        body[lookup.id_key] = id;
    }
    Ok(())
}

/// Turns Copper's custom fields of each record into `{id, name, value}`.
async fn name_fields(
    catalog: &FieldCatalog,
    cx: &CallContext,
    records: &mut [Value],
) -> Result<()> {
    let ids = distinct(
        records
            .iter()
            .filter_map(|r| r.get("custom_fields")?.as_array())
            .flatten()
            .filter_map(|f| f.get("custom_field_definition_id").map(id_text)),
    );
    if ids.is_empty() {
        return Ok(());
    }
    let read = catalog.covering(cx, &ids, || definitions(cx));
    let names = cx.optional("custom_fields", LACKING, read).await?;
    name_custom_fields(&names.unwrap_or_default(), records);
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
pub async fn id_fields(catalogs: &Catalogs, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(fields)) = body.get("custom_fields") else {
        return Ok(());
    };
    let catalog = &catalogs.definitions;
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
