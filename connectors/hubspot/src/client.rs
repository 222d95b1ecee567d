//! HubSpot's deal endpoints (`/crm/objects/2026-09/deals`, see [`crate::config`]).

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ErrorKind, GetRequest, ListRequest, Page, ReadFields, Result,
    SortDirection, VendorRequest, VendorResponse, extend_search_body, id_text,
};
use http::Method;
use serde_json::{Value, json};
use url::Url;

use crate::config::{ASSOCIATIONS, DEAL_ASSOCIATIONS, DEALS};
use crate::hooks::PRIMARY_COMPANY_TYPE_ID;
use crate::model::{
    AssociationBatch, AssociationType, DealPage, RecordId, SearchPage, downstream_errors,
};

fn deal_url(cx: &CallContext, id: &str) -> Url {
    cx.url(&format!("{DEALS}/{id}"))
}

/// The properties to ask for: the table's and the account's custom ones (`extra`).
fn properties<'a>(fields: ReadFields<'a>, extra: &[&'a str]) -> Vec<&'a str> {
    let mut names = fields.under("properties");
    names.extend(extra);
    names
}

/// Without an explicit `properties=` HubSpot returns only five properties.
fn read_query(url: &mut Url, fields: ReadFields<'_>, extra: &[&str]) {
    let properties = properties(fields, extra).join(",");
    let mut query = url.query_pairs_mut();
    if !properties.is_empty() {
        query.append_pair("properties", &properties);
    }
    query.append_pair("associations", ASSOCIATIONS);
}

async fn send(cx: &CallContext, rq: VendorRequest) -> Result<VendorResponse> {
    cx.http.send(rq, downstream_errors).await
}

pub async fn list(cx: &CallContext, rq: ListRequest<'_>, extra: &[&str]) -> Result<Page> {
    if !rq.filters.is_empty() || rq.sort.is_some() {
        return search(cx, rq, extra).await;
    }
    let mut url = cx.url(DEALS);
    url.query_pairs_mut()
        .append_pair("limit", &rq.limit.to_string());
    if let Some(after) = rq.cursor {
        url.query_pairs_mut().append_pair("after", after);
    }
    read_query(&mut url, rq.fields, extra);
    for (k, v) in rq.query {
        url.query_pairs_mut().append_pair(k, v);
    }
    let response = send(cx, VendorRequest::new(Method::GET, url)).await?;
    let status = response.status.as_u16();
    let page: DealPage<'_> = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(status, e))?;
    let next = page.paging.and_then(|p| p.next).map(|n| n.after);
    Page::select(&page.results, &rq, next, &response)
}

/// HubSpot's search stops at 10,000 results per query. Unsorted searches therefore page by
/// keyset (`hs_object_id` greater than the last id seen, ascending), which has no such limit;
/// a client-chosen sort pages by offset and is refused past the limit rather than truncated.
const SEARCH_WINDOW: u64 = 10_000;

/// Where a search continues: after an id (keyset) or at an offset (client sort).
enum SearchCursor {
    AfterId(String),
    Offset(u64),
}

impl SearchCursor {
    fn parse(cursor: &str) -> Result<Self> {
        let bad = || {
            ConnectorError::new(
                ErrorKind::Unsupported,
                "The cursor does not belong to a filtered or sorted list.",
            )
        };
        match cursor.split_once(':') {
            Some(("id", id)) => ConnectorError::check_integer_id(id)
                .map(|()| SearchCursor::AfterId(id.to_owned()))
                .map_err(|_| bad()),
            Some(("offset", n)) => n.parse().map(SearchCursor::Offset).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

async fn search(cx: &CallContext, rq: ListRequest<'_>, extra: &[&str]) -> Result<Page> {
    let cursor = rq.cursor.map(SearchCursor::parse).transpose()?;
    let mut filters: Vec<Value> = rq
        .filters
        .iter()
        .map(|f| json!({ "propertyName": f.field, "operator": "EQ", "value": as_text(&f.value) }))
        .collect();
    let mut body = json!({
        "limit": rq.limit,
        "properties": properties(rq.fields, extra),
    });
    match (rq.sort, &cursor) {
        (Some(sort), _) => {
            let direction = match sort.direction {
                SortDirection::Ascending => "ASCENDING",
                SortDirection::Descending => "DESCENDING",
            };
            body["sorts"] = json!([{ "propertyName": sort.field, "direction": direction }]);
            if let Some(SearchCursor::Offset(offset)) = cursor {
                if offset + u64::from(rq.limit) > SEARCH_WINDOW {
                    return Err(ConnectorError::new(
                        ErrorKind::Unsupported,
                        "HubSpot's search returns at most 10,000 results when sorted; remove sort[by] to page through every record.",
                    ));
                }
                body["after"] = json!(offset.to_string());
            }
        }
        (None, _) => {
            body["sorts"] = json!([{ "propertyName": "hs_object_id", "direction": "ASCENDING" }]);
            if let Some(SearchCursor::AfterId(id)) = &cursor {
                filters
                    .push(json!({ "propertyName": "hs_object_id", "operator": "GT", "value": id }));
            }
        }
    }
    body["filterGroups"] = json!([{ "filters": filters }]);
    // The search reads only its body, so pass-through parameters go there (`query`, say).
    if let Value::Object(fields) = &mut body {
        extend_search_body(fields, rq.query)?;
    }
    let url = cx.url(&format!("{DEALS}/search"));
    let response = send(
        cx,
        VendorRequest::new(Method::POST, url).json(body).read_only(),
    )
    .await?;
    let status = response.status.as_u16();
    let page: SearchPage<'_> = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(status, e))?;
    let more = page.paging.and_then(|p| p.next).is_some();
    let next = match (more, rq.sort, page.results.last()) {
        (false, _, _) | (true, None, None) => None,
        (true, None, Some(last)) => serde_json::from_str::<RecordId>(last.get())
            .map_err(|e| ConnectorError::bad_response(status, e))?
            .id
            .map(|id| format!("id:{id}")),
        (true, Some(_), _) => {
            let done = match cursor {
                Some(SearchCursor::Offset(n)) => n,
                _ => 0,
            };
            Some(format!("offset:{}", done + page.results.len() as u64))
        }
    };
    let mut page = Page::select(&page.results, &rq, next, &response)?;
    add_associations(cx, &mut page.records, rq.fields).await?;
    Ok(page)
}

fn as_text(value: &Value) -> Value {
    match value {
        Value::String(_) => value.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Search results carry no associations; they are read in one batch per associated object type
/// and merged in the shape the list endpoint uses, so the mapping table reads both alike.
async fn add_associations(
    cx: &CallContext,
    records: &mut [Value],
    fields: ReadFields<'_>,
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<Value> = records
        .iter()
        .filter_map(|r| r.get("id").cloned())
        .map(|id| json!({ "id": id }))
        .collect();
    for object in fields.under("associations") {
        if !matches!(object, "contacts" | "companies") {
            continue;
        }
        let url = cx.url(&format!("{DEAL_ASSOCIATIONS}/{object}/batch/read"));
        let rq = VendorRequest::new(Method::POST, url)
            .json(json!({ "inputs": ids }))
            .read_only();
        let response = send(cx, rq).await?;
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

pub async fn get(cx: &CallContext, rq: GetRequest<'_>, extra: &[&str]) -> Result<Value> {
    let mut url = deal_url(cx, rq.id);
    read_query(&mut url, rq.fields, extra);
    send(cx, VendorRequest::new(Method::GET, url)).await?.json()
}

pub async fn create(cx: &CallContext, body: Value) -> Result<Value> {
    let rq = VendorRequest::new(Method::POST, cx.url(DEALS)).json(body);
    send(cx, rq).await?.json()
}

pub async fn update(cx: &CallContext, id: &str, body: Value) -> Result<Value> {
    let rq = VendorRequest::new(Method::PATCH, deal_url(cx, id)).json(body);
    send(cx, rq).await?.json()
}

pub async fn delete(cx: &CallContext, id: &str) -> Result<()> {
    ConnectorError::check_integer_id(id)?;
    send(cx, VendorRequest::new(Method::DELETE, deal_url(cx, id))).await?;
    Ok(())
}
