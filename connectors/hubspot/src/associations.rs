//! Associations of search results. HubSpot's search answers deals without their associations,
//! so they are read in one batch per associated object type and merged in the shape the list
//! endpoint answers, so that the mapping table reads both alike.

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ReadFields, Record, Result, VendorErrors, VendorRequest, id_text,
};
use http::Method;
use serde_json::{Value, json};

use crate::config::DEAL_ASSOCIATIONS;
use crate::hooks::PRIMARY_COMPANY_TYPE_ID;
use crate::model::{AssociationBatch, AssociationType};

/// Merges each record's contacts and companies, when the table reads them.
pub async fn add_associations(
    cx: &CallContext,
    errors: &dyn VendorErrors,
    records: &mut [Record],
    fields: ReadFields<'_>,
) -> Result<()> {
    let objects: Vec<&str> = fields
        .under("associations")
        .into_iter()
        .filter(|o| matches!(*o, "contacts" | "companies"))
        .collect();
    if records.is_empty() || objects.is_empty() {
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
    for object in objects {
        let url = cx.url(&format!("{DEAL_ASSOCIATIONS}/{object}/batch/read"));
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
                    json!({ "id": id, "type": association_label(object, &to.association_types) })
                })
                .collect();
            record["associations"][object] = json!({ "results": linked });
        }
    }
    Ok(())
}

/// The association type names HubSpot's list endpoint reports for the same links.
fn association_label(object: &str, types: &[AssociationType]) -> &'static str {
    match object {
        "companies" if types.iter().any(|t| t.type_id == PRIMARY_COMPANY_TYPE_ID) => {
            "deal_to_company"
        }
        "companies" => "deal_to_company_unlabeled",
        _ => "deal_to_contact",
    }
}
