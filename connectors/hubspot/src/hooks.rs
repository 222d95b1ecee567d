//! What no mapping table can express about HubSpot writes. The tables write associations as
//! plain id lists under `associations` (`primary_contact`, `contact`, `contacts`, `company`,
//! `deal`); HubSpot's create body wants one object per associated record with its association
//! type, which depends on both objects. Default HUBSPOT_DEFINED type ids: deal→contact 3,
//! deal→company 5 (primary company); note→contact 202, note→company 190, note→deal 214.
//! And every engagement, notes included, must say when it happened (`hs_timestamp`).

use crmgate_connector_sdk::{Operation, WriteHook};
use serde_json::{Map, Value, json};

/// The hooks HubSpot's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[
    WriteHook {
        name: "hubspot_associations",
        apply: deal_associations,
    },
    WriteHook {
        name: "hubspot_note_associations",
        apply: note_associations,
    },
    WriteHook {
        name: "hubspot_timestamp",
        apply: timestamp_now,
    },
];

const CONTACT_TYPE_ID: u32 = 3;
pub const PRIMARY_COMPANY_TYPE_ID: u32 = 5;
const NOTE_TO_CONTACT_TYPE_ID: u32 = 202;
const NOTE_TO_COMPANY_TYPE_ID: u32 = 190;
const NOTE_TO_DEAL_TYPE_ID: u32 = 214;

/// A deal's contacts (primary contact leading) and company. HubSpot takes associations on
/// create only; the mapping table limits these fields to creates.
fn deal_associations(_op: Operation, body: &mut Value) {
    shape_associations(
        body,
        &[
            (&["primary_contact", "contact", "contacts"], CONTACT_TYPE_ID),
            (&["company"], PRIMARY_COMPANY_TYPE_ID),
        ],
    );
}

/// A note's contact, company and deal.
fn note_associations(_op: Operation, body: &mut Value) {
    shape_associations(
        body,
        &[
            (&["contact"], NOTE_TO_CONTACT_TYPE_ID),
            (&["company"], NOTE_TO_COMPANY_TYPE_ID),
            (&["deal"], NOTE_TO_DEAL_TYPE_ID),
        ],
    );
}

/// Turns `associations: {key: id or [ids]}` into HubSpot's association list, in the order of
/// `kinds` (each a set of keys naming one association type), without duplicates.
fn shape_associations(body: &mut Value, kinds: &[(&[&str], u32)]) {
    let Some(Value::Object(ids)) = body.as_object_mut().and_then(|b| b.remove("associations"))
    else {
        return;
    };
    let mut associations: Vec<Value> = Vec::new();
    for (keys, type_id) in kinds {
        let mut seen: Vec<String> = Vec::new();
        for key in *keys {
            for id in ids_of(ids.get(*key)) {
                if !seen.contains(&id) {
                    seen.push(id);
                }
            }
        }
        associations.extend(seen.into_iter().map(|id| association(id, *type_id)));
    }
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

/// On create, `properties.hs_timestamp` (required: where the engagement sits on the record's
/// timeline) is the time of the call, in UTC, unless the table wrote one. The unified models
/// have no such field: a note made through the API is written now.
fn timestamp_now(op: Operation, body: &mut Value) {
    if op != Operation::Create {
        return;
    }
    let Some(body) = body.as_object_mut() else {
        return;
    };
    let properties = body
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(properties) = properties.as_object_mut() {
        properties.entry("hs_timestamp").or_insert_with(|| {
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        });
    }
}

#[cfg(test)]
mod tests {
    use chrono::SubsecRound as _;

    use super::*;

    #[test]
    fn id_lists_become_association_objects_without_duplicates() {
        let mut body = json!({
            "properties": {"dealname": "A"},
            "associations": {"primary_contact": "7", "contacts": ["7", "8"], "company": "9"}
        });
        deal_associations(Operation::Create, &mut body);
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
    fn a_notes_links_take_the_note_association_types() {
        let mut body = json!({
            "properties": {"hs_note_body": "A"},
            "associations": {"deal": "1001", "contact": "501", "company": "901"}
        });
        note_associations(Operation::Create, &mut body);
        assert_eq!(
            body["associations"],
            json!([
                {"to": {"id": "501"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]},
                {"to": {"id": "901"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}]},
                {"to": {"id": "1001"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}
            ])
        );
    }

    #[test]
    fn a_body_without_associations_is_untouched() {
        let mut body = json!({"properties": {"dealname": "A"}});
        deal_associations(Operation::Create, &mut body);
        assert_eq!(body, json!({"properties": {"dealname": "A"}}));
    }

    #[test]
    fn a_create_without_a_timestamp_is_stamped_now_and_an_update_is_not() {
        let before = chrono::Utc::now();
        let mut created = json!({"properties": {"hs_note_body": "A"}});
        timestamp_now(Operation::Create, &mut created);
        let stamped = created["properties"]["hs_timestamp"].as_str().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(stamped).unwrap();
        assert!(
            at >= before.trunc_subsecs(3) && at <= chrono::Utc::now(),
            "{stamped}"
        );
        assert!(stamped.ends_with('Z'));
        let mut given = json!({"properties": {"hs_timestamp": "2026-01-02T03:04:05.000Z"}});
        timestamp_now(Operation::Create, &mut given);
        assert_eq!(
            given["properties"]["hs_timestamp"],
            "2026-01-02T03:04:05.000Z"
        );
        let mut updated = json!({"properties": {"hs_note_body": "B"}});
        timestamp_now(Operation::Update, &mut updated);
        assert_eq!(updated, json!({"properties": {"hs_note_body": "B"}}));
    }
}
