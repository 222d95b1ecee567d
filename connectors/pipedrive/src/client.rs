//! Pipedrive's deal endpoints (`/api/v2/deals`).

use crmgate_connector_sdk::{
    CallContext, ConnectorError, GetRequest, ListRequest, Page, Result, SortDirection,
    VendorRequest, VendorResponse, id_text,
};
use http::Method;
use serde_json::Value;
use url::Url;

use crate::model::{DealPage, Envelope, downstream_errors};

const DEALS: &str = "/api/v2/deals";

fn deal_url(cx: &CallContext, id: &str) -> Url {
    cx.url(&format!("{DEALS}/{id}"))
}

async fn send(cx: &CallContext, rq: VendorRequest) -> Result<VendorResponse> {
    cx.http.send(rq, downstream_errors).await
}

/// The `data` of a v2 answer.
fn record(response: &VendorResponse) -> Result<Value> {
    serde_json::from_slice::<Envelope<Value>>(&response.body)
        .map(|e| e.data)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))
}

pub async fn list(cx: &CallContext, rq: ListRequest<'_>) -> Result<Page> {
    let mut url = cx.url(DEALS);
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("limit", &rq.limit.to_string());
        if let Some(cursor) = rq.cursor {
            query.append_pair("cursor", cursor);
        }
        for filter in rq.filters {
            query.append_pair(&filter.field, &id_text(&filter.value));
        }
        if let Some(sort) = rq.sort {
            query.append_pair("sort_by", &sort.field);
            let direction = match sort.direction {
                SortDirection::Ascending => "asc",
                SortDirection::Descending => "desc",
            };
            query.append_pair("sort_direction", direction);
        }
        for (k, v) in rq.query {
            query.append_pair(k, v);
        }
    }
    let response = send(cx, VendorRequest::new(Method::GET, url)).await?;
    let status = response.status.as_u16();
    let page: DealPage<'_> = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(status, e))?;
    let next = page.additional_data.and_then(|a| a.next_cursor);
    Page::select(&page.data, &rq, next, &response)
}

pub async fn get(cx: &CallContext, rq: GetRequest<'_>) -> Result<Value> {
    ConnectorError::check_integer_id(rq.id)?;
    record(&send(cx, VendorRequest::new(Method::GET, deal_url(cx, rq.id))).await?)
}

pub async fn create(cx: &CallContext, body: Value) -> Result<Value> {
    let rq = VendorRequest::new(Method::POST, cx.url(DEALS)).json(body);
    record(&send(cx, rq).await?)
}

pub async fn update(cx: &CallContext, id: &str, body: Value) -> Result<Value> {
    ConnectorError::check_integer_id(id)?;
    let rq = VendorRequest::new(Method::PATCH, deal_url(cx, id)).json(body);
    record(&send(cx, rq).await?)
}

pub async fn delete(cx: &CallContext, id: &str) -> Result<()> {
    ConnectorError::check_integer_id(id)?;
    send(cx, VendorRequest::new(Method::DELETE, deal_url(cx, id))).await?;
    Ok(())
}
