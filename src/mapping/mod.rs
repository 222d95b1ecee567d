//! The mapping engine: translates unified records to vendor records and back, driven by the
//! YAML tables under `mappings/<connector>/<resource>.yaml`. It knows field translation and
//! never HTTP. Tables are compiled once at start-up; nothing is parsed per request.

mod compile;
mod filter;
mod lazy;
mod lookup;
mod patch;
mod path;
mod read;
mod table;
mod tenant;
mod transform;
mod write;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crmgate_connector_sdk::Resource;

pub use compile::{Coverage, LoadError, MappingTable, TableConnector, WriteScope};
pub use lookup::{CustomFieldsShape, FieldValues, Lookups, Missing};
pub use path::{CompiledPath, PathError};
pub use read::{ReadPage, RecordView};
pub use table::WriteOperation;
pub use tenant::{
    CustomMapping, FieldOverride, PathCache, TenantMappings, validate as validate_custom_mapping,
};
pub use write::{PassThroughPlan, VendorBody};

use crate::registry::ConnectorEntry;
use crate::unified::ResourceModel;

/// The JSON Schema of mapping files for a resource, generated from the Rust types that parse
/// them, with the resource's field, filter and sort names as the allowed keys so that editors
/// complete them. `mappings/<resource>.schema.json` is this, per resource; a test keeps them in sync.
pub fn mapping_file_schema(resource: &ResourceModel) -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(table::MappingFile))
        .expect("a schema is plain JSON");
    let names = |names: Vec<&str>| serde_json::json!({ "enum": names });
    schema["properties"]["fields"]["propertyNames"] =
        names(resource.fields.iter().map(|f| f.name).collect());
    schema["properties"]["filters"]["propertyNames"] =
        names(resource.filters.iter().map(|(k, _)| *k).collect());
    schema["properties"]["sort"]["propertyNames"] = names(resource.sorts.to_vec());
    schema
}

/// The coverage matrix of a resource as Markdown: one column per connector, a row saying
/// whether it serves the resource at all (a `501` where not), one row per unified field with
/// what the connector's table reads and writes, then one row per filter and sort of the
/// contract. `docs/connectors.md` holds this for every resource; a test keeps it in sync.
pub fn coverage_matrix(
    model: &ResourceModel,
    set: &MappingSet,
    connectors: &[ConnectorEntry],
) -> String {
    let tables: Vec<(&str, Option<Arc<MappingTable>>)> = connectors
        .iter()
        .map(|e| {
            (
                e.connector.name(),
                set.table(e.connector.id(), model.resource),
            )
        })
        .collect();
    let mut out = String::from("| |");
    for (name, _) in &tables {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(tables.len()));
    out.push_str("\n| served |");
    for (_, table) in &tables {
        out.push_str(if table.is_some() { " yes |" } else { " 501 |" });
    }
    out.push('\n');
    let mut row = |label: String, cell: &dyn Fn(&MappingTable) -> &'static str| {
        out.push_str(&format!("| {label} |"));
        for (_, table) in &tables {
            out.push_str(&format!(" {} |", table.as_deref().map_or("—", cell)));
        }
        out.push('\n');
    };
    for def in model.fields {
        row(format!("`{}`", def.name), &|t| {
            t.coverage()
                .find(|(n, _)| *n == def.name)
                .map_or("—", |(_, c)| c.cell())
        });
    }
    for (key, _) in model.filters {
        row(format!("filter `{key}`"), &|t| {
            if t.filters_on(key) { "yes" } else { "—" }
        });
    }
    for key in model.sorts {
        row(format!("sort `{key}`"), &|t| {
            if t.sorts_by(key) { "yes" } else { "—" }
        });
    }
    out
}

/// Every compiled table, by connector and resource.
#[derive(Debug, Default)]
pub struct MappingSet {
    tables: HashMap<(&'static str, Resource), Arc<MappingTable>>,
}

impl MappingSet {
    /// Loads the table of every resource of every registered connector: a built-in
    /// connector's from `dir` when given, otherwise from the copy built into the binary; a
    /// plugin's from its own folder, always. Collects every error rather than stopping at the
    /// first, so `crmgate mappings check` reports them all at once.
    pub fn load(dir: Option<&Path>, connectors: &[ConnectorEntry]) -> Result<Self, Vec<LoadError>> {
        let mut set = Self::default();
        let mut errors = Vec::new();
        for entry in connectors {
            for source in entry.mappings.iter() {
                let rel = format!("{}/{}.yaml", entry.connector.id(), source.resource.as_str());
                let (name, text) = match dir {
                    Some(dir) if entry.plugin.is_none() => {
                        let file = dir.join(&rel);
                        match std::fs::read_to_string(&file) {
                            Ok(text) => (file.display().to_string(), Cow::Owned(text)),
                            Err(e) => {
                                errors.push(LoadError {
                                    file: file.display().to_string(),
                                    line: 0,
                                    column: 0,
                                    message: format!("cannot read the file: {e}"),
                                });
                                continue;
                            }
                        }
                    }
                    _ => (source.file.clone(), Cow::Borrowed(source.text.as_ref())),
                };
                let Some(model) = crate::unified::model(source.resource) else {
                    errors.push(LoadError {
                        file: name,
                        line: 0,
                        column: 0,
                        message: format!("crmgate has no unified model for {rel}"),
                    });
                    continue;
                };
                let connector = TableConnector::of(entry.connector.as_ref());
                match MappingTable::compile(&name, &text, model, &connector) {
                    Ok(table) => {
                        set.tables
                            .insert((entry.connector.id(), source.resource), Arc::new(table));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if let Some(dir) = dir {
            errors.extend(unknown_files(dir, connectors));
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// The table for a connector's resource; every registered pair has one once loaded.
    pub fn table(&self, connector: &str, resource: Resource) -> Option<Arc<MappingTable>> {
        self.tables.get(&(connector, resource)).cloned()
    }
}

/// Files in the mappings folder that no connector reads: most likely a typo in a folder or file
/// name, which would otherwise be ignored silently.
fn unknown_files(dir: &Path, connectors: &[ConnectorEntry]) -> Vec<LoadError> {
    let mut errors = Vec::new();
    let Ok(folders) = std::fs::read_dir(dir) else {
        return errors;
    };
    for folder in folders.flatten() {
        let path = folder.path();
        if !path.is_dir() {
            continue;
        }
        let name = folder.file_name().to_string_lossy().into_owned();
        let Some(entry) = connectors.iter().find(|c| c.connector.id() == name) else {
            errors.push(LoadError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!("no registered connector is named {name:?}"),
            });
            continue;
        };
        if let Some(plugin) = &entry.plugin {
            errors.push(LoadError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!(
                    "{name:?} is a plugin: its tables are read from {} only",
                    plugin.join("mappings").display()
                ),
            });
            continue;
        }
        let Ok(files) = std::fs::read_dir(&path) else {
            continue;
        };
        for file in files.flatten() {
            let file_name = file.file_name().to_string_lossy().into_owned();
            let known = entry
                .mappings
                .iter()
                .any(|m| file_name == format!("{}.yaml", m.resource.as_str()));
            if !known {
                errors.push(LoadError {
                    file: file.path().display().to_string(),
                    line: 0,
                    column: 0,
                    message: format!("connector {name:?} has no resource for this file"),
                });
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests;
