//! Records a vendor keeps apart joined into the records read, as the manifest's `embed` says:
//! one call per page (not per record), its records grouped by the record each names.

use std::collections::HashMap;

use serde_json::Value;

use super::errors::text;
use super::lookup::read_pages;
use crate::manifest::{Fetch, ResourceSpec};
use crate::{CallContext, Connector, ConnectorError, ErrorKind, Record, Result};

/// Sets each embed's list on every record; records that are not objects are left as they are.
pub(super) async fn embed<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    spec: &ResourceSpec,
    records: &mut [Record],
) -> Result<()> {
    for (name, embed) in &spec.embed {
        let mut by_key: HashMap<String, Vec<Value>> = HashMap::new();
        let complete = read_pages(connector, cx, &Fetch::of_embed(embed), |record| {
            if let Some(key) = text(&embed.key, &record) {
                by_key.entry(key).or_default().push(record);
            }
        })
        .await?;
        if !complete {
            return Err(ConnectorError::new(
                ErrorKind::BadResponse,
                format!(
                    "{} has more {name} than the {} pages its manifest reads; a record would lack some",
                    connector.name(),
                    embed.max_pages
                ),
            ));
        }
        for record in records.iter_mut() {
            let tree = record
                .tree_mut()
                .map_err(|e| ConnectorError::bad_response(200, e))?;
            let joined = text(&embed.on, tree)
                .and_then(|on| by_key.get(&on))
                .cloned()
                .unwrap_or_default();
            if let Value::Object(members) = tree {
                members.insert(name.clone(), Value::Array(joined));
            }
        }
    }
    Ok(())
}
