//! Associations of search results. HubSpot's search answers records without their
//! associations, so they are read in one batch per associated object type and merged in the
//! shape the list endpoint answers, so that the mapping table reads both alike.

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ReadFields, Record, Resource, Result, VendorErrors, VendorRequest,
    id_text,
};
use http::Method;
use serde_json::{Value, json};

use crate::config::ASSOCIATIONS;
use crate::hooks::{CONTACT_PRIMARY_COMPANY_TYPE_ID, PRIMARY_COMPANY_TYPE_ID};
use crate::model::{AssociationBatch, AssociationType};

/// HubSpot's object type for a resource, and the associated types its tables may read.
fn objects(resource: Resource) -> Option<(&'static str, &'static [&'static str])> {
    match resource {
        Resource::Opportunities => Some(("deals", &["contacts", "companies"])),
        Resource::Notes => Some(("notes", &["deals", "contacts", "companies"])),
        Resource::Contacts => Some(("contacts", &["companies", "deals"])),
        _ => None,
    }
}

/// Merges each record's associations of the types the table reads.
pub async fn add_associations(
    cx: &CallContext,
    errors: &dyn VendorErrors,
    resource: Resource,
    records: &mut [Record],
    fields: ReadFields<'_>,
) -> Result<()> {
    let Some((from, linkable)) = objects(resource) else {
        return Ok(());
    };
    let wanted: Vec<&str> = fields
        .under("associations")
        .into_iter()
        .filter(|o| linkable.contains(o))
        .collect();
    if records.is_empty() || wanted.is_empty() {
        return Ok(());
    }
    let mut records = records
        .iter_mut()
        .map(Record::tree_mut)
        .collect::<serde_json::Result<Vec<&mut Value>>>()
        .map_err(|e| ConnectorError::bad_response(200, e))?;
    let ids: Vec<Value> = records
        .iter()
        .filter_map(|r| r.get("id").cloned())
        .map(|id| json!({ "id": id }))
        .collect();
    for object in wanted {
        let url = cx.url(&format!("{ASSOCIATIONS}/{from}/{object}/batch/read"));
        let rq = VendorRequest::new(Method::POST, url)
            .json(json!({ "inputs": ids }))
            .read_only();
        let response = cx.http.send(rq, errors).await?;
        let batch: AssociationBatch = serde_json::from_slice(&response.body)
            .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
        for result in batch.results {
            let Some(record) = records
                .iter_mut()
                .find(|r| r.get("id").and_then(Value::as_str) == Some(&result.from.id))
            else {
                continue;
            };
            let linked: Vec<Value> = result
                .to
                .iter()
                .map(|to| {
                    let id = id_text(&to.to_object_id);
                    let label = association_label(from, object, &to.association_types);
                    json!({ "id": id, "type": label })
                })
                .collect();
            record["associations"][object] = json!({ "results": linked });
        }
    }
    Ok(())
}

/// The association type names HubSpot's list endpoint reports for the same links.
fn association_label(from: &str, object: &str, types: &[AssociationType]) -> &'static str {
    match (from, object) {
        ("deals", "companies") if types.iter().any(|t| t.type_id == PRIMARY_COMPANY_TYPE_ID) => {
            "deal_to_company"
        }
        ("deals", "companies") => "deal_to_company_unlabeled",
        ("contacts", "companies")
            if types
                .iter()
                .any(|t| t.type_id == CONTACT_PRIMARY_COMPANY_TYPE_ID) =>
        {
            "contact_to_company"
        }
        ("contacts", "companies") => "contact_to_company_unlabeled",
        ("contacts", _) => "contact_to_deal",
        ("deals", _) => "deal_to_contact",
        (_, "deals") => "note_to_deal",
        (_, "companies") => "note_to_company",
        _ => "note_to_contact",
    }
}
