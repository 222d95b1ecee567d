//! What HubSpot needs that no mapping table can express.
//!
//! The mapping table writes associations as plain id lists under `associations`
//! (`primary_contact`, `contact`, `contacts`, `company`); HubSpot's create body wants one object
//! per associated record with its association type. Default HUBSPOT_DEFINED type ids: deal→contact
//! 3, deal→company 5 (primary company).
//!
//! Custom fields are the account's own deal properties (those HubSpot did not define). A deal
//! only carries the properties asked for by name, so their names are read from the properties
//! API (cached per connection), asked for with the mapped ones, and moved into
//! `custom_fields: [{id, name, value}]` (id: the property name, name: its label). Writes take
//! either and set the property.

use std::sync::Arc;

use crmgate_connector_sdk::{
    CallContext, ConnectorError, FieldCatalog, FieldNames, Operation, ReadFields, Result,
    VendorRequest, WriteHook, resolve_fields,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::downstream_errors;

/// The hooks HubSpot's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[WriteHook {
    name: "hubspot_associations",
    apply: shape_associations,
}];

const CONTACT_TYPE_ID: u32 = 3;
pub const PRIMARY_COMPANY_TYPE_ID: u32 = 5;

/// Turns `associations: {contacts: [...], company: ...}` into HubSpot's association list,
/// contacts first (primary contact leading), without duplicates. HubSpot takes associations on
/// create only; the mapping table limits these fields to creates.
fn shape_associations(_op: Operation, body: &mut Value) {
    let Some(Value::Object(ids)) = body.as_object_mut().and_then(|b| b.remove("associations"))
    else {
        return;
    };
    let mut contacts: Vec<String> = Vec::new();
    for key in ["primary_contact", "contact", "contacts"] {
        for id in ids_of(ids.get(key)) {
            if !contacts.contains(&id) {
                contacts.push(id);
            }
        }
    }
    let mut associations: Vec<Value> = contacts
        .into_iter()
        .map(|id| association(id, CONTACT_TYPE_ID))
        .collect();
    associations.extend(
        ids_of(ids.get("company"))
            .into_iter()
            .map(|id| association(id, PRIMARY_COMPANY_TYPE_ID)),
    );
    if !associations.is_empty()
        && let Some(map) = body.as_object_mut()
    {
        map.insert("associations".to_owned(), Value::Array(associations));
    }
}

fn ids_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn association(id: String, type_id: u32) -> Value {
    let mut to = Map::new();
    to.insert("id".to_owned(), Value::String(id));
    json!({
        "to": to,
        "types": [{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id }]
    })
}

/// One deal property of `GET /crm/v3/properties/deals`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Property {
    name: String,
    label: String,
    #[serde(default)]
    hubspot_defined: bool,
}

#[derive(Debug, Deserialize)]
struct Properties {
    results: Vec<Property>,
}

async fn custom_properties(cx: &CallContext) -> Result<FieldNames> {
    let url = cx.url("/crm/v3/properties/deals");
    let response = cx
        .http
        .send(VendorRequest::new(Method::GET, url), downstream_errors)
        .await?;
    let list: Properties = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
    Ok(list
        .results
        .into_iter()
        .filter(|p| !p.hubspot_defined)
        .map(|p| (p.name, p.label))
        .collect())
}

/// The account's custom deal properties when the table reads `custom_fields`.
pub async fn custom_fields_read(
    catalog: &FieldCatalog,
    cx: &CallContext,
    fields: ReadFields<'_>,
) -> Result<Option<Arc<FieldNames>>> {
    if !fields.reads("custom_fields") {
        return Ok(None);
    }
    catalog
        .covering(cx, &[], || custom_properties(cx))
        .await
        .map(Some)
}

/// The custom property names, sorted so that requests and answers are the same every time.
pub fn sorted_names(names: &FieldNames) -> Vec<&str> {
    let mut sorted: Vec<&str> = names.keys().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted
}

/// Moves each record's custom properties into `custom_fields: [{id, name, value}]`.
pub fn name_custom_fields(names: &FieldNames, records: &mut [Value]) {
    let sorted = sorted_names(names);
    for record in records {
        let mut list = Vec::new();
        if let Some(Value::Object(properties)) = record.get_mut("properties") {
            for &id in &sorted {
                if let Some(value) = properties.remove(id) {
                    list.push(json!({ "id": id, "name": names.get(id), "value": value }));
                }
            }
        }
        if let Some(map) = record.as_object_mut() {
            map.insert("custom_fields".to_owned(), Value::Array(list));
        }
    }
}

/// Turns unified custom fields (`{id}` or `{name}`, and `value`) into properties; a label
/// HubSpot does not know is a 400 before anything is written.
pub async fn id_fields(catalog: &FieldCatalog, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(fields)) = body.as_object_mut().and_then(|b| b.remove("custom_fields"))
    else {
        return Ok(());
    };
    let resolved =
        resolve_fields(catalog, cx, &fields, "HubSpot", || custom_properties(cx)).await?;
    let properties = resolved.into_iter().map(|(name, value)| {
        // HubSpot takes every property value as text.
        let text = match value {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        };
        (name, Value::String(text))
    });
    match body.get_mut("properties") {
        Some(Value::Object(existing)) => existing.extend(properties),
        _ => body["properties"] = Value::Object(properties.collect()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_become_association_objects_without_duplicates() {
        let mut body = json!({
            "properties": {"dealname": "A"},
            "associations": {"primary_contact": "7", "contacts": ["7", "8"], "company": "9"}
        });
        shape_associations(Operation::Create, &mut body);
        assert_eq!(
            body,
            json!({
                "properties": {"dealname": "A"},
                "associations": [
                    {"to": {"id": "7"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                    {"to": {"id": "8"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                    {"to": {"id": "9"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}
                ]
            })
        );
    }

    #[test]
    fn a_body_without_associations_is_untouched() {
        let mut body = json!({"properties": {"dealname": "A"}});
        shape_associations(Operation::Create, &mut body);
        assert_eq!(body, json!({"properties": {"dealname": "A"}}));
    }
}
