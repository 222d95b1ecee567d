//! HubSpot's wire shapes that the connector's hooks read: association batches and a
//! record's links.

use serde::Deserialize;
use serde_json::Value;

/// `POST /crm/associations/2026-09/deals/{to}/batch/read`. Since 2026-09 HubSpot answers 200
/// with the inputs it could not read (a deal without such associations, say) in `errors`,
/// where v4 answered 207; either way those deals have no links to merge.
#[derive(Debug, Deserialize)]
pub struct AssociationBatch {
    #[serde(default)]
    pub results: Vec<AssociationResult>,
}

#[derive(Debug, Deserialize)]
pub struct AssociationResult {
    pub from: AssociationFrom,
    #[serde(default)]
    pub to: Vec<AssociationTo>,
}

#[derive(Debug, Deserialize)]
pub struct AssociationFrom {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationTo {
    pub to_object_id: Value,
    #[serde(default)]
    pub association_types: Vec<AssociationType>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationType {
    pub type_id: u32,
}

/// `GET /crm/objects/2026-09/{from}/{id}/associations/{to}`: one page of a record's links.
#[derive(Debug, Deserialize)]
pub struct LinkPage {
    #[serde(default)]
    pub results: Vec<AssociationTo>,
    pub paging: Option<LinkPaging>,
}

#[derive(Debug, Deserialize)]
pub struct LinkPaging {
    pub next: Option<LinkNext>,
}

#[derive(Debug, Deserialize)]
pub struct LinkNext {
    pub after: String,
}
