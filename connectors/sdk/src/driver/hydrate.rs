//! A search that answers hits naming records (Pipedrive's `items[].item`, a summary of each)
//! gives way to the records themselves: one call reads the records of the hits a page takes,
//! and the page holds them in the hits' order.

use std::collections::HashMap;

use serde_json::Value;

use super::errors::text;
use super::request::Build;
use super::{Call, body_text, read_list, send};
use crate::manifest::{Hydrate, RecordPath};
use crate::{CallContext, Connector, ConnectorError, Page, Record, Result};

/// The records the page's hits name, in their order; a record the call no longer answers
/// (deleted since the search) is left out, and the page still counts every hit it held.
pub(super) async fn hydrate<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    call: &Call<'_>,
    hydrate: &Hydrate,
    id: &RecordPath,
    page: &mut Page,
) -> Result<()> {
    let mut ids = Vec::with_capacity(page.records.len());
    for hit in &page.records {
        let tree = hit
            .to_value()
            .map_err(|e| ConnectorError::bad_response(200, e))?;
        ids.push(text(&hydrate.id, &tree).ok_or_else(|| {
            ConnectorError::unreadable(200, &format!("a hit names no record at {}", hydrate.id))
        })?);
    }
    if ids.is_empty() {
        return Ok(());
    }
    let joined = ids.join(",");
    let build = Build::new(
        cx,
        hydrate.method,
        &hydrate.path,
        &hydrate.query,
        None,
        Some(&joined),
    )?;
    let response = send(connector, cx, call, build.finish(true)).await?;
    let status = response.status.as_u16();
    let answer = read_list(body_text(&response)?, &hydrate.records, None, status)?;
    let mut by_id: HashMap<String, &str> = HashMap::new();
    for record in answer.records.unwrap_or_default() {
        let tree: Value =
            serde_json::from_str(record).map_err(|e| ConnectorError::bad_response(status, e))?;
        if let Some(key) = text(id, &tree) {
            by_id.insert(key, record);
        }
    }
    page.records = ids
        .iter()
        .filter_map(|id| by_id.get(id))
        .filter_map(|record| Record::within(&response.body, record))
        .collect();
    if page.raw.is_some() {
        page.raw = Some(response.body.clone());
    }
    Ok(())
}
