//! Copper's opportunity endpoints (`/developer_api/v1/opportunities`).

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ErrorKind, GetRequest, ListRequest, Page, Result, SortDirection,
    VendorRequest, VendorResponse, extend_search_body,
};
use http::Method;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use url::Url;

use crate::model::downstream_errors;

const OPPORTUNITIES: &str = "/developer_api/v1/opportunities";

fn record_url(cx: &CallContext, id: &str) -> Url {
    cx.url(&format!("{OPPORTUNITIES}/{id}"))
}

async fn send(cx: &CallContext, rq: VendorRequest) -> Result<VendorResponse> {
    cx.http.send(rq, downstream_errors).await
}

/// Where a list continues: a page number and the page size it was counted with. The size
/// stays that of the first page, so a client changing `limit` midway skips nothing.
fn parse_cursor(cursor: Option<&str>, limit: u32) -> Result<(u64, u32)> {
    let Some(cursor) = cursor else {
        return Ok((1, limit));
    };
    cursor
        .split_once(':')
        .and_then(|(page, size)| Some((page.parse().ok()?, size.parse().ok()?)))
        .filter(|(page, size)| *page >= 1 && (1..=200).contains(size))
        .ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Unsupported,
                "The cursor does not belong to a Copper list.",
            )
        })
}

/// Lists through `POST /opportunities/search`, sorted by creation then id so pages are stable;
/// the end of the list is a page shorter than the page size. Pass-through parameters are
/// fields of the search body.
pub async fn list(cx: &CallContext, rq: ListRequest<'_>) -> Result<Page> {
    let (page, size) = parse_cursor(rq.cursor, rq.limit)?;
    let mut body = Map::new();
    body.insert("page_number".to_owned(), json!(page));
    body.insert("page_size".to_owned(), json!(size));
    let (sort_by, direction) = match rq.sort {
        Some(sort) => (sort.field.as_str(), sort.direction),
        None => ("date_created", SortDirection::Ascending),
    };
    body.insert("sort_by".to_owned(), json!(sort_by));
    let direction = match direction {
        SortDirection::Ascending => "asc",
        SortDirection::Descending => "desc",
    };
    body.insert("sort_direction".to_owned(), json!(direction));
    for filter in rq.filters {
        body.insert(filter.field.clone(), filter.value.clone());
    }
    // The search reads only its body, so pass-through parameters go there.
    extend_search_body(&mut body, rq.query)?;
    let url = cx.url(&format!("{OPPORTUNITIES}/search"));
    let search = VendorRequest::new(Method::POST, url)
        .json(Value::Object(body))
        .read_only();
    let response = send(cx, search).await?;
    let status = response.status.as_u16();
    let records: Vec<&RawValue> = serde_json::from_slice(&response.body)
        .map_err(|e| ConnectorError::bad_response(status, e))?;
    let next = (records.len() as u64 >= u64::from(size)).then(|| format!("{}:{size}", page + 1));
    Page::select(&records, &rq, next, &response)
}

pub async fn get(cx: &CallContext, rq: GetRequest<'_>) -> Result<Value> {
    ConnectorError::check_integer_id(rq.id)?;
    send(cx, VendorRequest::new(Method::GET, record_url(cx, rq.id)))
        .await?
        .json()
}

pub async fn create(cx: &CallContext, body: Value) -> Result<Value> {
    send(
        cx,
        VendorRequest::new(Method::POST, cx.url(OPPORTUNITIES)).json(body),
    )
    .await?
    .json()
}

/// Copper's PUT changes only the fields sent.
pub async fn update(cx: &CallContext, id: &str, body: Value) -> Result<Value> {
    ConnectorError::check_integer_id(id)?;
    send(
        cx,
        VendorRequest::new(Method::PUT, record_url(cx, id)).json(body),
    )
    .await?
    .json()
}

pub async fn delete(cx: &CallContext, id: &str) -> Result<()> {
    ConnectorError::check_integer_id(id)?;
    send(cx, VendorRequest::new(Method::DELETE, record_url(cx, id))).await?;
    Ok(())
}
