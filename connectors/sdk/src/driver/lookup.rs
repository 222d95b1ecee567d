//! The connection's named catalogs (custom field definitions, option labels, loss reasons...)
//! as the manifest's `lookups` read them, cached per connection with [`FieldCatalog`]'s expiry.
//! Lookups that make the same vendor call (Pipedrive's custom fields and labels both come from
//! `dealFields`) are read together: one call fills every catalog it answers.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::errors::text;
use super::request::Build;
use crate::manifest::{Fetch, Lookup, Manifest, RecordId};
use crate::{CallContext, Connector, ConnectorError, ErrorKind, FieldCatalog, FieldNames, Result};

/// One connector's catalogs, for all its connections; the gateway keeps one per connector.
#[derive(Debug, Default)]
pub struct LookupCache {
    catalogs: HashMap<String, FieldCatalog>,
    /// Each lookup's companions: the lookups answered by the same call (itself among them), in
    /// the manifest's order.
    reads: HashMap<String, Vec<String>>,
}

impl LookupCache {
    /// The cache of a connector's lookups, grouped by the call each needs.
    pub fn new(manifest: &Manifest) -> Self {
        let lookups = &manifest.declaration().lookups;
        let call = |l: &Lookup| {
            format!(
                "{:?} {} {:?} {} {:?} {}",
                l.method, l.path, l.query, l.records, l.pagination, l.max_pages
            )
        };
        let mut reads = HashMap::new();
        for (name, lookup) in lookups {
            let same: Vec<String> = lookups
                .iter()
                .filter(|(_, l)| call(l) == call(lookup))
                .map(|(other, _)| other.clone())
                .collect();
            reads.insert(name.clone(), same);
        }
        Self {
            catalogs: lookups
                .keys()
                .map(|name| (name.clone(), FieldCatalog::default()))
                .collect(),
            reads,
        }
    }
}

/// The catalogs a request needs, each read unless its cache covers the keys (or names)
/// wanted. For a read (`optional`), a catalog the vendor refuses to show is left out and the
/// answer says so in `meta.warnings`; for a write every catalog must be read.
pub async fn resolve<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    needs: &[(String, Vec<String>)],
    optional: bool,
) -> Result<HashMap<String, Arc<FieldNames>>> {
    let declared = &connector.manifest().declaration().lookups;
    let mut needs: Vec<&(String, Vec<String>)> = needs.iter().collect();
    needs.sort_by_key(|(name, _)| declared.get_index_of(name));
    let mut out = HashMap::with_capacity(needs.len());
    for (name, wanted) in needs {
        let read = names(connector, cx, name, wanted);
        let names = if optional {
            // Named after the first lookup its call answers, so one refused call is one warning.
            let step = cx.lookups.reads.get(name).map_or(name.as_str(), |r| &r[0]);
            match cx.optional(step, LACKING, read).await? {
                Some(names) => names,
                None => continue,
            }
        } else {
            read.await?
        };
        out.insert(name.clone(), names);
    }
    Ok(out)
}

/// What an answer lacks without a catalog.
const LACKING: &str = "the answer goes without the names it gives: ids stay unnamed, and fields known only through it are left out";

/// One catalog covering `wanted`.
pub async fn names<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    name: &str,
    wanted: &[String],
) -> Result<Arc<FieldNames>> {
    let cache = &cx.lookups;
    let unknown = || {
        ConnectorError::new(
            ErrorKind::Unsupported,
            format!("{} has no lookup named {name:?}.", connector.name()),
        )
    };
    let catalog = cache.catalogs.get(name).ok_or_else(unknown)?;
    let together = cache.reads.get(name).ok_or_else(unknown)?;
    catalog
        .covering(cx, wanted, || async {
            let read = read(connector, cx, together).await;
            let mut mine = FieldNames::new();
            match read {
                Ok(all) => {
                    for (other, names) in together.iter().zip(all) {
                        match cache.catalogs.get(other) {
                            _ if other == name => mine = names,
                            Some(catalog) => {
                                catalog.store(cx, names);
                            }
                            None => {}
                        }
                    }
                    Ok(mine)
                }
                Err(err) => {
                    for other in together.iter().filter(|o| *o != name) {
                        if let Some(catalog) = cache.catalogs.get(other) {
                            catalog.remember_refusal(cx, &err);
                        }
                    }
                    Err(err)
                }
            }
        })
        .await
}

/// Reads the catalogs `names` (which share one call) page by page, as the first declares.
async fn read<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    names: &[String],
) -> Result<Vec<FieldNames>> {
    let declared = &connector.manifest().declaration().lookups;
    let lookups: Vec<&Lookup> = names.iter().filter_map(|n| declared.get(n)).collect();
    let mut out = vec![FieldNames::new(); lookups.len()];
    read_pages(connector, cx, &Fetch::of_lookup(lookups[0]), |record| {
        for (lookup, names) in lookups.iter().zip(out.iter_mut()) {
            collect(lookup, &record, names);
        }
    })
    .await?;
    Ok(out)
}

/// Every record of a call, page by page up to its `max_pages`, in the vendor's order;
/// `Ok(false)` when pages were left unread.
pub(super) async fn read_pages<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    fetch: &Fetch<'_>,
    mut visit: impl FnMut(Value),
) -> Result<bool> {
    let errors = &connector.manifest().declaration().errors;
    let mut cursor: Option<String> = None;
    for _ in 0..fetch.max_pages {
        let mut build = Build::new(cx, fetch.method, fetch.path, fetch.query, None, None)?;
        let continuation = match fetch.pagination {
            Some(p) => {
                let size = p
                    .page_size()
                    .map_or(u32::MAX, |size| size.default.unwrap_or(size.maximum));
                Some(build.paging(p, None, &RecordId::default(), cursor.as_deref(), size)?)
            }
            None => None,
        };
        let response = cx.http.send(build.finish(true), errors).await?;
        let status = response.status.as_u16();
        let bad = |e| ConnectorError::bad_response(status, e);
        let more = continuation.as_ref().and_then(|c| c.body_path());
        let answer = super::read_list(super::body_text(&response)?, fetch.records, more, status)?;
        let records = answer.records.unwrap_or_default();
        for record in &records {
            visit(serde_json::from_str(record).map_err(bad)?);
        }
        cursor = match continuation {
            Some(c) => c.next(answer.more, &records, &RecordId::default().path, status)?,
            None => None,
        };
        if cursor.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The entries one record of a lookup's answer adds: the record itself, or its options.
fn collect(lookup: &Lookup, record: &Value, names: &mut FieldNames) {
    if lookup.only.as_ref().is_some_and(|only| !only.holds(record)) {
        return;
    }
    let entries: Vec<&Value> = match &lookup.options {
        Some(path) => path
            .find_all(record)
            .into_iter()
            .flat_map(|v| v.as_array().into_iter().flatten())
            .collect(),
        None => vec![record],
    };
    for entry in entries {
        if let (Some(key), Some(label)) = (text(&lookup.key, entry), text(&lookup.label, entry)) {
            names.insert(key, label);
        }
    }
}
