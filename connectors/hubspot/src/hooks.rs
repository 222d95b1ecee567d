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
//! either and set the property. Tags are the "Deal Tags" property (`hs_tag_ids`, option ids
//! joined with `;`), named by its options from the same read.

use std::sync::Arc;

use crmgate_connector_sdk::{
    CallContext, CatalogPair, ConnectorError, ErrorKind, FieldNames, Operation, ReadFields, Result,
    VendorRequest, WriteHook, id_text, option_ids, resolve_fields,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::DEAL_PROPERTIES;
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

/// What a read lacks without the properties API.
const LACKING: &str = "deals are read without custom fields and tags";

/// HubSpot's "Deal Tags" property: option ids joined with `;`.
const TAGS: &str = "hs_tag_ids";

/// One deal property of `GET /crm/properties/2026-09/deals`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Property {
    name: String,
    label: String,
    #[serde(default)]
    hubspot_defined: bool,
    #[serde(default)]
    options: Vec<PropertyOption>,
}

#[derive(Debug, Deserialize)]
struct PropertyOption {
    label: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct Properties {
    results: Vec<Property>,
}

/// A connection's custom property names and deal tag names, both read from the properties API.
#[derive(Debug, Default)]
pub struct Catalogs(CatalogPair);

/// The deal properties, read once: the custom property names and the tag names.
async fn deal_properties(cx: &CallContext) -> Result<(FieldNames, FieldNames)> {
    let url = cx.url(DEAL_PROPERTIES);
    let response = cx
        .http
        .send(VendorRequest::new(Method::GET, url), &downstream_errors)
        .await?;
    let list: Properties = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
    let mut names = FieldNames::new();
    let mut tags = FieldNames::new();
    for property in list.results {
        if property.name == TAGS {
            tags.extend(property.options.into_iter().map(|o| (o.value, o.label)));
        } else if !property.hubspot_defined {
            names.insert(property.name, property.label);
        }
    }
    Ok((names, tags))
}

/// What a read asks HubSpot for beyond the table's own properties, and how the answer is
/// named: custom properties when the table reads `custom_fields`, tags when it reads `tags`.
#[derive(Debug)]
pub struct ReadPlan {
    custom: Option<Arc<FieldNames>>,
    tags: Option<Arc<FieldNames>>,
}

impl ReadPlan {
    /// The plan of a read. Without the properties API (a token lacking
    /// `crm.schemas.deals.read`), deals are read without custom fields and tags, and the answer
    /// says so in `meta.warnings`.
    pub async fn new(
        catalogs: &Catalogs,
        cx: &CallContext,
        fields: ReadFields<'_>,
    ) -> Result<Self> {
        let read = || deal_properties(cx);
        let none = Self {
            custom: None,
            tags: None,
        };
        let custom = if fields.reads("custom_fields") {
            let names = catalogs.0.field_names(cx, &[], read);
            match cx.optional("custom_fields", LACKING, names).await? {
                Some(names) => Some(names),
                None => return Ok(none),
            }
        } else {
            None
        };
        let tags = if fields.reads("tags") {
            let names = catalogs.0.option_names(cx, &[], read);
            match cx.optional("tags", LACKING, names).await? {
                Some(names) => Some(names),
                None => return Ok(Self { custom, tags: None }),
            }
        } else {
            None
        };
        Ok(Self { custom, tags })
    }

    /// The properties to ask for besides the table's.
    pub fn extra(&self) -> Vec<&str> {
        let mut extra = self.custom.as_deref().map(sorted_names).unwrap_or_default();
        if self.tags.is_some() {
            extra.push(TAGS);
        }
        extra
    }

    pub fn apply(&self, records: &mut [Value]) {
        if let Some(names) = &self.custom {
            name_custom_fields(names, records);
        }
        if let Some(names) = &self.tags {
            name_tags(names, records);
        }
    }
}

/// Asks HubSpot for the properties the table reads and `extra` (without an explicit list
/// HubSpot answers five): `properties=` of a GET, the `properties` of a search body. A
/// `pass_through[properties]` would replace the list the mapping needs, so it is refused.
pub fn ask_for_properties(
    rq: &mut VendorRequest,
    fields: ReadFields<'_>,
    extra: &[&str],
) -> Result<()> {
    let mut names = fields.under("properties");
    names.extend(extra);
    match &mut rq.body {
        Some(Value::Object(body)) => {
            if body.contains_key("properties") {
                return Err(ConnectorError::new(
                    ErrorKind::Unsupported,
                    "pass_through[properties] cannot be used here: the list sets properties itself.",
                ));
            }
            body.insert("properties".to_owned(), json!(names));
        }
        _ if names.is_empty() => {}
        _ => {
            rq.url
                .query_pairs_mut()
                .append_pair("properties", &names.join(","));
        }
    }
    Ok(())
}

/// Moves each record's `hs_tag_ids` (`"101;102"`) into `tags` as names; an id HubSpot does not
/// name stays an id rather than disappearing.
pub fn name_tags(names: &FieldNames, records: &mut [Value]) {
    for record in records {
        let ids = record
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .and_then(|p| p.remove(TAGS));
        let tags: Vec<Value> = ids
            .as_ref()
            .and_then(Value::as_str)
            .into_iter()
            .flat_map(|s| s.split(';'))
            .filter(|id| !id.is_empty())
            .map(|id| Value::String(names.get(id).cloned().unwrap_or_else(|| id.to_owned())))
            .collect();
        if let Some(map) = record.as_object_mut() {
            map.insert("tags".to_owned(), Value::Array(tags));
        }
    }
}

/// Turns the unified `tags` of a write (tag names, or option ids) into `hs_tag_ids`; a name
/// HubSpot does not have is a 400 before anything is written. No tags (`[]`, which a cleared
/// `null` is too) clears the property (`""`) without looking names up.
pub async fn id_tags(catalogs: &Catalogs, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(tags)) = body.as_object_mut().and_then(|b| b.remove("tags")) else {
        return Ok(());
    };
    if tags.is_empty() {
        body["properties"][TAGS] = Value::String(String::new());
        return Ok(());
    }
    let wanted: Vec<String> = tags.iter().map(id_text).collect();
    let names = catalogs
        .0
        .option_names(cx, &wanted, || deal_properties(cx))
        .await?;
    let ids = option_ids(&names, &wanted, "A HubSpot deal tag")?;
    body["properties"][TAGS] = Value::String(ids.join(";"));
    Ok(())
}

/// The custom property names, sorted so that requests and answers are the same every time.
pub fn sorted_names(names: &FieldNames) -> Vec<&str> {
    let mut sorted: Vec<&str> = names.keys().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted
}

/// Moves each record's custom properties into `custom_fields: [{id, name, value}]`. HubSpot
/// answers a cleared property as `""`, which reads as null: what a client cleared it with.
pub fn name_custom_fields(names: &FieldNames, records: &mut [Value]) {
    let sorted = sorted_names(names);
    for record in records {
        let mut list = Vec::new();
        if let Some(Value::Object(properties)) = record.get_mut("properties") {
            for &id in &sorted {
                if let Some(value) = properties.remove(id) {
                    let value = match value {
                        Value::String(s) if s.is_empty() => Value::Null,
                        other => other,
                    };
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
pub async fn id_fields(catalogs: &Catalogs, cx: &CallContext, body: &mut Value) -> Result<()> {
    let Some(Value::Array(fields)) = body.as_object_mut().and_then(|b| b.remove("custom_fields"))
    else {
        return Ok(());
    };
    let names = |wanted: Vec<String>| async move {
        catalogs
            .0
            .field_names(cx, &wanted, || deal_properties(cx))
            .await
    };
    let resolved = resolve_fields(&fields, "HubSpot", names).await?;
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
    fn tag_ids_become_names_and_an_unnamed_id_stays() {
        let names = FieldNames::from([("101".to_owned(), "Strategic".to_owned())]);
        let mut records = [
            json!({"id": "1", "properties": {"dealname": "A", "hs_tag_ids": "101;999"}}),
            json!({"id": "2", "properties": {"dealname": "B", "hs_tag_ids": null}}),
        ];
        name_tags(&names, &mut records);
        assert_eq!(
            records,
            [
                json!({"id": "1", "properties": {"dealname": "A"}, "tags": ["Strategic", "999"]}),
                json!({"id": "2", "properties": {"dealname": "B"}, "tags": []}),
            ]
        );
    }

    #[test]
    fn a_body_without_associations_is_untouched() {
        let mut body = json!({"properties": {"dealname": "A"}});
        shape_associations(Operation::Create, &mut body);
        assert_eq!(body, json!({"properties": {"dealname": "A"}}));
    }
}
