//! The shape of associations on create, which no mapping table can express: the table writes
//! associations as plain id lists under `associations` (`primary_contact`, `contact`,
//! `contacts`, `company`); HubSpot's create body wants one object per associated record with
//! its association type. Default HUBSPOT_DEFINED type ids: deal→contact 3, deal→company 5
//! (primary company).

use crmgate_connector_sdk::{Operation, WriteHook};
use serde_json::{Map, Value, json};

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
