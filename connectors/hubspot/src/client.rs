//! HubSpot's deal endpoints (`/crm/v3/objects/deals`).

use crmgate_connector_sdk::{
    CallContext, ConnectorError, GetRequest, ListRequest, Page, ReadFields, Result, VendorRequest,
    VendorResponse,
};
use http::Method;
use serde_json::Value;
use url::Url;

use crate::config::ASSOCIATIONS;
use crate::model::{DealPage, downstream_errors};

const DEALS: &str = "/crm/v3/objects/deals";

/// HubSpot ids are decimal digits; anything else cannot name a deal, so it is answered as not
/// found without a call (and cannot smuggle a path or query into the URL).
pub fn check_id(id: &str) -> Result<()> {
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ConnectorError::not_found(id))
    }
}

fn deal_url(cx: &CallContext, id: &str) -> Url {
    cx.url(&format!("{DEALS}/{id}"))
}

/// Without an explicit `properties=` HubSpot returns only five properties.
fn read_query(url: &mut Url, fields: ReadFields<'_>) {
    let properties = fields.under("properties").join(",");
    let mut query = url.query_pairs_mut();
    if !properties.is_empty() {
        query.append_pair("properties", &properties);
    }
    query.append_pair("associations", ASSOCIATIONS);
}

async fn send(cx: &CallContext, rq: VendorRequest) -> Result<VendorResponse> {
    cx.http.send(rq, downstream_errors).await
}

pub async fn list(cx: &CallContext, rq: ListRequest<'_>) -> Result<Page> {
    let mut url = cx.url(DEALS);
    url.query_pairs_mut()
        .append_pair("limit", &rq.limit.to_string());
    if let Some(after) = rq.cursor {
        url.query_pairs_mut().append_pair("after", after);
    }
    read_query(&mut url, rq.fields);
    for (k, v) in rq.query {
        url.query_pairs_mut().append_pair(k, v);
    }
    let response = send(cx, VendorRequest::new(Method::GET, url)).await?;
    let page: DealPage = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
    Ok(Page {
        records: page.results,
        next: page.paging.and_then(|p| p.next).map(|n| n.after),
    })
}

pub async fn get(cx: &CallContext, rq: GetRequest<'_>) -> Result<Value> {
    check_id(rq.id)?;
    let mut url = deal_url(cx, rq.id);
    read_query(&mut url, rq.fields);
    send(cx, VendorRequest::new(Method::GET, url)).await?.json()
}

pub async fn create(cx: &CallContext, body: Value) -> Result<Value> {
    let rq = VendorRequest::new(Method::POST, cx.url(DEALS)).json(body);
    send(cx, rq).await?.json()
}

pub async fn update(cx: &CallContext, id: &str, body: Value) -> Result<Value> {
    check_id(id)?;
    let rq = VendorRequest::new(Method::PATCH, deal_url(cx, id)).json(body);
    send(cx, rq).await?.json()
}

pub async fn delete(cx: &CallContext, id: &str) -> Result<()> {
    check_id(id)?;
    send(cx, VendorRequest::new(Method::DELETE, deal_url(cx, id))).await?;
    Ok(())
}
