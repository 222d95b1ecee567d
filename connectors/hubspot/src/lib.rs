//! crmgate connector for HubSpot deals and notes, on HubSpot's date-versioned 2026-09 CRM APIs
//! (objects, search, properties and associations; the paths are in [`config`]).
//!
//! Its settings, auth (a bearer token), hosts, budget and paging are in its manifest,
//! `connectors/hubspot/connector.yaml`; lists page with `after`; every property is a string on
//! the wire and the mapping tables (`mappings/hubspot/<resource>.yaml`) type them. The quirks
//! in code are the shape of associations on create and a note's required timestamp
//! ([`hooks`]), and the associations of search results ([`associations`]).

mod associations;
mod config;
mod hooks;
mod links;
mod model;
mod stages;

use std::sync::Arc;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    Call, CallContext, Connector, ConnectorError, Manifest, Record, Resource, Result, WriteHook,
    WriteRequest, driver,
};
use serde_json::Value;

/// The HubSpot connector.
#[derive(Debug)]
pub struct HubSpot {
    manifest: Arc<Manifest>,
}

impl HubSpot {
    /// The connector described by `manifest` (its `connector.yaml`, loaded by the registry).
    pub fn new(manifest: Arc<Manifest>) -> Self {
        Self { manifest }
    }
}

#[async_trait]
impl Connector for HubSpot {
    fn id(&self) -> &'static str {
        "hubspot"
    }

    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn write_hooks(&self) -> &'static [WriteHook] {
        hooks::WRITE_HOOKS
    }

    /// Places a written deal status in a stage ([`stages`]), then creates.
    async fn create(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        if rq.resource == Resource::Opportunities {
            let errors = &self.manifest.declaration().errors;
            stages::place(cx, errors, &mut rq.body, None).await?;
        }
        driver::write(self, cx, rq).await
    }

    /// Places a written deal status in a stage, patches the properties, then sets the links
    /// the table wrote under `associations`, which HubSpot's PATCH does not take ([`links`]).
    async fn update(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        let links = rq
            .body
            .as_object_mut()
            .and_then(|b| b.remove("associations"));
        let Some(id) = rq.id else {
            return driver::write(self, cx, rq).await;
        };
        // HubSpot ids are numbers: checked here too, since links alone skip the PATCH
        // that would check them, and an id goes into every link path.
        ConnectorError::check_integer_id(id)?;
        if rq.resource == Resource::Opportunities {
            let errors = &self.manifest.declaration().errors;
            stages::place(cx, errors, &mut rq.body, Some(id)).await?;
        }
        let (resource, patch) = (
            rq.resource,
            rq.body.as_object().is_some_and(|b| !b.is_empty()),
        );
        // Links alone read no vendor record: the answer's `_raw` is null, as for an update
        // that sends nothing.
        let record = if patch || links.is_none() {
            driver::write(self, cx, rq).await?
        } else {
            Value::Null
        };
        if let Some(Value::Object(links)) = links {
            let errors = &self.manifest.declaration().errors;
            links::apply(cx, errors, resource, id, &links, patch).await?;
        }
        Ok(record)
    }

    async fn normalise(
        &self,
        cx: &CallContext,
        call: &Call<'_>,
        records: &mut [Record],
    ) -> Result<()> {
        match call.fields {
            Some(fields) if call.search => {
                let errors = &self.manifest.declaration().errors;
                associations::add_associations(cx, errors, call.resource, records, fields).await
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// HubSpot ends support for its numbered CRM APIs (v4 in March 2027, v3 in September 2027),
    /// so no file of this connector, code or doc, may name one: not `crm/v` and a digit.
    #[test]
    fn no_file_names_a_numbered_crm_api() {
        let mut folders = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
        let mut read = 0;
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    read += 1;
                    assert_no_numbered_api(&path, &text);
                }
            }
        }
        assert!(
            read >= 6,
            "Cargo.toml and the five sources, at least: {read} files read"
        );
    }

    fn assert_no_numbered_api(path: &Path, text: &str) {
        for (n, line) in text.lines().enumerate() {
            let numbered = line
                .match_indices("crm/v")
                .any(|(at, m)| line[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
            assert!(!numbered, "{}:{}: {line}", path.display(), n + 1);
        }
    }
}
