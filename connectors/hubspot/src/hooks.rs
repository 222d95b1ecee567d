//! What no mapping table can express about HubSpot writes. The tables write associations as
//! plain id lists under `associations` (`primary_contact`, `contact`, `contacts`, `company`,
//! `deal`); HubSpot's create body wants one object per associated record with its association
//! type, which depends on both objects, and an update sets them through the associations API
//! ([`crate::links`]). Default HUBSPOT_DEFINED type ids: deal→contact 3,
//! deal→company 5 (primary company); note→contact 202, note→company 190, note→deal 214;
//! contact→company 1 (primary company), contact→deal 4.
//! And every engagement, notes included, must say when it happened (`hs_timestamp`).

use crmgate_connector_sdk::{Operation, Resource, WriteHook};
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
        name: "hubspot_contact_associations",
        apply: contact_associations,
    },
    WriteHook {
        name: "hubspot_timestamp",
        apply: timestamp_now,
    },
];

pub const PRIMARY_COMPANY_TYPE_ID: u32 = 5;
/// A contact's primary company, as a deal's is type 5.
pub const CONTACT_PRIMARY_COMPANY_TYPE_ID: u32 = 1;

/// One associated type a table may write links to: the keys under `associations` that name
/// its ids, those of them that name the whole set (on update, the others are removed), and
/// the association type a new link gets.
#[derive(Debug)]
pub struct LinkKind {
    pub to: &'static str,
    pub keys: &'static [&'static str],
    pub replace: &'static [&'static str],
    pub type_id: u32,
}

const DEAL_LINKS: &[LinkKind] = &[
    LinkKind {
        to: "contacts",
        keys: &["primary_contact", "contact", "contacts"],
        replace: &["contacts"],
        type_id: 3,
    },
    LinkKind {
        to: "companies",
        keys: &["company"],
        replace: &["company"],
        type_id: PRIMARY_COMPANY_TYPE_ID,
    },
];

const NOTE_LINKS: &[LinkKind] = &[
    LinkKind {
        to: "contacts",
        keys: &["contact"],
        replace: &["contact"],
        type_id: 202,
    },
    LinkKind {
        to: "companies",
        keys: &["company"],
        replace: &["company"],
        type_id: 190,
    },
    LinkKind {
        to: "deals",
        keys: &["deal"],
        replace: &["deal"],
        type_id: 214,
    },
];

const CONTACT_LINKS: &[LinkKind] = &[
    LinkKind {
        to: "companies",
        keys: &["company"],
        replace: &["company"],
        type_id: CONTACT_PRIMARY_COMPANY_TYPE_ID,
    },
    LinkKind {
        to: "deals",
        keys: &["deals"],
        replace: &["deals"],
        type_id: 4,
    },
];

/// The links a resource's table may write.
pub fn link_kinds(resource: Resource) -> &'static [LinkKind] {
    match resource {
        Resource::Opportunities => DEAL_LINKS,
        Resource::Notes => NOTE_LINKS,
        Resource::Contacts => CONTACT_LINKS,
        _ => &[],
    }
}

/// A deal's contacts (primary contact leading) and company, on create; an update's links are
/// set by the connector ([`crate::links`]).
fn deal_associations(op: Operation, body: &mut Value) {
    if op == Operation::Create {
        shape_associations(body, DEAL_LINKS);
    }
}

/// A note's contact, company and deal, on create.
fn note_associations(op: Operation, body: &mut Value) {
    if op == Operation::Create {
        shape_associations(body, NOTE_LINKS);
    }
}

/// A contact's primary company and deals, on create.
fn contact_associations(op: Operation, body: &mut Value) {
    if op == Operation::Create {
        shape_associations(body, CONTACT_LINKS);
    }
}

/// Turns `associations: {key: id or [ids]}` into HubSpot's association list, in the order of
/// `kinds`, without duplicates.
fn shape_associations(body: &mut Value, kinds: &[LinkKind]) {
    let Some(Value::Object(ids)) = body.as_object_mut().and_then(|b| b.remove("associations"))
    else {
        return;
    };
    let mut associations: Vec<Value> = Vec::new();
    for kind in kinds {
        let mut seen: Vec<String> = Vec::new();
        for key in kind.keys {
            for id in ids_of(ids.get(*key)) {
                if !seen.contains(&id) {
                    seen.push(id);
                }
            }
        }
        associations.extend(seen.into_iter().map(|id| association(id, kind.type_id)));
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
