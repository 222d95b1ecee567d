//! The connectors a gateway runs: the ones built into this binary (behind Cargo features that
//! are on by default) and the plugins found in a folder at start-up, each a
//! `<id>/connector.yaml` with its tables in `<id>/mappings/<resource>.yaml`. Both kinds are
//! the same [`ConnectorEntry`] from here on; nothing after loading tells them apart except
//! where their tables are read from.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crmgate_connector_sdk::driver::LookupCache;
use crmgate_connector_sdk::{
    Connector, DataConnector, Expected, Manifest, ManifestError, Resource,
};

use crate::mapping::{MappingTable, TableConnector};

/// A connector and the mapping table of each resource it serves.
#[derive(Clone)]
pub struct ConnectorEntry {
    pub connector: Arc<dyn Connector>,
    /// The names of its catalogs, per connection, kept for as long as the process runs.
    pub lookups: Arc<LookupCache>,
    /// Its tables, in the order of [`Resource::ALL`].
    pub mappings: Arc<[MappingSource]>,
    /// The plugin folder it was loaded from; `None` for a connector built into the binary.
    pub plugin: Option<PathBuf>,
}

/// The text of one resource's mapping table and where it came from.
#[derive(Debug, Clone)]
pub struct MappingSource {
    pub resource: Resource,
    /// The file name errors name.
    pub file: String,
    pub text: Cow<'static, str>,
}

/// A plugin left out at start-up (`--skip-broken-connectors`), and why.
#[derive(Debug, Clone)]
pub struct SkippedPlugin {
    /// Its folder's name.
    pub id: String,
    pub errors: Vec<String>,
}

/// What a gateway loads: the built-in connectors and, when a folder is given, its plugins.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// A folder holding `<id>/connector.yaml` for each built-in connector, read instead of the
    /// copies compiled in (`crmgate connectors check --built-in`).
    pub built_in_dir: Option<PathBuf>,
    /// Plugins: each path a plugin's folder (it holds a `connector.yaml`) or a folder of
    /// them, one sub-folder each.
    pub plugins: Vec<PathBuf>,
    /// Leave out a plugin that does not load rather than fail.
    pub skip_broken: bool,
}

/// The loaded connectors and the plugins left out.
pub struct Loaded {
    pub entries: Vec<ConnectorEntry>,
    pub skipped: Vec<SkippedPlugin>,
}

/// A connector compiled into this build, before its manifest is loaded.
struct BuiltIn {
    /// Its id and folder name under `connectors/`.
    id: &'static str,
    /// The text of its `connector.yaml`, compiled into the binary like the mapping tables.
    manifest: &'static str,
    /// Builds the connector from its loaded manifest.
    build: fn(Arc<Manifest>) -> Arc<dyn Connector>,
    mappings: &'static [(Resource, &'static str)],
}

/// Every connector of this build, in the order Vault lists them (plugins follow, by id).
fn built_in() -> Vec<BuiltIn> {
    vec![
        #[cfg(feature = "hubspot")]
        BuiltIn {
            id: "hubspot",
            manifest: include_str!("../connectors/hubspot/connector.yaml"),
            build: |m| Arc::new(crmgate_hubspot::HubSpot::new(m)),
            mappings: &[
                (
                    Resource::Opportunities,
                    include_str!("../mappings/hubspot/opportunities.yaml"),
                ),
                (
                    Resource::Companies,
                    include_str!("../mappings/hubspot/companies.yaml"),
                ),
                (
                    Resource::Contacts,
                    include_str!("../mappings/hubspot/contacts.yaml"),
                ),
                (
                    Resource::Notes,
                    include_str!("../mappings/hubspot/notes.yaml"),
                ),
                (
                    Resource::Users,
                    include_str!("../mappings/hubspot/users.yaml"),
                ),
                (
                    Resource::Pipelines,
                    include_str!("../mappings/hubspot/pipelines.yaml"),
                ),
            ],
        },
        #[cfg(feature = "pipedrive")]
        BuiltIn {
            id: "pipedrive",
            manifest: include_str!("../connectors/pipedrive/connector.yaml"),
            build: |m| Arc::new(DataConnector::new("pipedrive", m)),
            mappings: &[
                (
                    Resource::Opportunities,
                    include_str!("../mappings/pipedrive/opportunities.yaml"),
                ),
                (
                    Resource::Companies,
                    include_str!("../mappings/pipedrive/companies.yaml"),
                ),
                (
                    Resource::Contacts,
                    include_str!("../mappings/pipedrive/contacts.yaml"),
                ),
                (
                    Resource::Leads,
                    include_str!("../mappings/pipedrive/leads.yaml"),
                ),
                (
                    Resource::Notes,
                    include_str!("../mappings/pipedrive/notes.yaml"),
                ),
                (
                    Resource::Activities,
                    include_str!("../mappings/pipedrive/activities.yaml"),
                ),
                (
                    Resource::Users,
                    include_str!("../mappings/pipedrive/users.yaml"),
                ),
                (
                    Resource::Pipelines,
                    include_str!("../mappings/pipedrive/pipelines.yaml"),
                ),
            ],
        },
        #[cfg(feature = "copper")]
        BuiltIn {
            id: "copper",
            manifest: include_str!("../connectors/copper/connector.yaml"),
            build: |m| Arc::new(DataConnector::new("copper", m)),
            mappings: &[
                (
                    Resource::Opportunities,
                    include_str!("../mappings/copper/opportunities.yaml"),
                ),
                (
                    Resource::Companies,
                    include_str!("../mappings/copper/companies.yaml"),
                ),
                (
                    Resource::Contacts,
                    include_str!("../mappings/copper/contacts.yaml"),
                ),
                (
                    Resource::Leads,
                    include_str!("../mappings/copper/leads.yaml"),
                ),
                (
                    Resource::Notes,
                    include_str!("../mappings/copper/notes.yaml"),
                ),
                (
                    Resource::Activities,
                    include_str!("../mappings/copper/activities.yaml"),
                ),
                (
                    Resource::Users,
                    include_str!("../mappings/copper/users.yaml"),
                ),
                (
                    Resource::Pipelines,
                    include_str!("../mappings/copper/pipelines.yaml"),
                ),
            ],
        },
    ]
}

/// The ids of this build's connectors, without loading anything.
pub fn built_in_ids() -> Vec<&'static str> {
    built_in().iter().map(|b| b.id).collect()
}

/// Loads every built-in connector and every plugin of `sources`. Collects every error of every
/// manifest and table rather than stopping at the first; a broken plugin is an error unless
/// `skip_broken` leaves it out, and a broken built-in one always is.
pub fn load(sources: &Sources) -> Result<Loaded, Vec<ManifestError>> {
    let built_in = built_in();
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for b in &built_in {
        let rel = format!("{}/connector.yaml", b.id);
        let (file, text) = match &sources.built_in_dir {
            Some(dir) => match read(&dir.join(&rel)) {
                Ok(read) => read,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            None => (
                format!("(built-in) connectors/{rel}"),
                b.manifest.to_owned(),
            ),
        };
        let resources: Vec<Resource> = b.mappings.iter().map(|(r, _)| *r).collect();
        let expected = Expected {
            id: b.id,
            resources: &resources,
        };
        match Manifest::load(&file, &text, &expected) {
            Ok(manifest) => {
                let connector = (b.build)(Arc::new(manifest));
                let mappings = b
                    .mappings
                    .iter()
                    .map(|(resource, text)| MappingSource {
                        resource: *resource,
                        file: format!("(built-in) {}/{}.yaml", b.id, resource.as_str()),
                        text: Cow::Borrowed(*text),
                    })
                    .collect();
                entries.push(entry(connector, mappings, None));
            }
            Err(e) => errors.extend(e),
        }
    }
    if let Some(dir) = &sources.built_in_dir {
        errors.extend(unknown_manifests(dir, &built_in));
    }
    let mut skipped = Vec::new();
    for path in &sources.plugins {
        let folders = if path.join("connector.yaml").is_file() {
            Ok(vec![path.clone()])
        } else {
            plugin_folders(path)
        };
        match folders {
            Ok(folders) => {
                for folder in folders {
                    match load_plugin(&folder) {
                        Ok(plugin) => entries.push(plugin),
                        Err(plugin_errors) if sources.skip_broken => {
                            let id = folder_name(&folder);
                            let lines: Vec<String> =
                                plugin_errors.iter().map(ToString::to_string).collect();
                            tracing::error!(
                                plugin = %id,
                                errors = %lines.join("\n"),
                                "The connector plugin does not load and is left out."
                            );
                            skipped.push(SkippedPlugin { id, errors: lines });
                        }
                        Err(plugin_errors) => errors.extend(plugin_errors),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Loaded { entries, skipped })
    } else {
        Err(errors)
    }
}

/// Every connector of this build, from the built-in manifests. They are compiled in and checked
/// by a test, so they load; `Gateway::build` uses [`load`] to report errors instead.
pub fn connectors() -> Vec<ConnectorEntry> {
    load(&Sources::default())
        .unwrap_or_else(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!(
                "the built-in connector manifests do not load:\n{}",
                lines.join("\n")
            )
        })
        .entries
}

/// One plugin folder: its manifest and every table in `mappings/`, loaded and compiled
/// together, so that a table naming a catalog or a setting the manifest lacks is caught here
/// with its file and line. Errors of the manifest and of every table come together. A plugin
/// never replaces a built-in connector: taking one's id is an error.
pub fn load_plugin(folder: &Path) -> Result<ConnectorEntry, Vec<ManifestError>> {
    let id = folder_name(folder);
    let mut errors = Vec::new();
    if !valid_id(&id) {
        errors.push(at_file(
            folder,
            format!(
                "{id:?} cannot be a connector id: use lowercase letters, digits, `-` and `_`, starting with a letter"
            ),
        ));
        return Err(errors);
    }
    if built_in_ids().contains(&id.as_str()) {
        errors.push(at_file(
            folder,
            format!(
                "a plugin may not take the id of the built-in connector {id:?}; name its folder (and meta.id) otherwise"
            ),
        ));
        return Err(errors);
    }
    let (manifest_file, manifest_text) =
        read(&folder.join("connector.yaml")).map_err(|e| vec![e])?;
    let sources = plugin_tables(folder)?;
    let resources: Vec<Resource> = sources.iter().map(|s| s.resource).collect();
    let expected = Expected {
        id: &id,
        resources: &resources,
    };
    let manifest = Manifest::load(&manifest_file, &manifest_text, &expected)?;
    let connector: Arc<dyn Connector> =
        Arc::new(DataConnector::new(intern(&id), Arc::new(manifest)));
    for source in &sources {
        if let Err(e) = compile(connector.as_ref(), source) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(entry(connector, sources.into(), Some(folder.to_owned())))
    } else {
        Err(errors)
    }
}

/// Compiles one table against its connector, as [`crate::mapping::MappingSet`] does at start.
fn compile(
    connector: &dyn Connector,
    source: &MappingSource,
) -> Result<MappingTable, ManifestError> {
    let Some(model) = crate::unified::model(source.resource) else {
        return Err(at_file(
            Path::new(&source.file),
            format!(
                "crmgate has no unified model for {}",
                source.resource.as_str()
            ),
        ));
    };
    MappingTable::compile(
        &source.file,
        &source.text,
        model,
        &TableConnector::of(connector),
    )
    .map_err(|e| ManifestError {
        file: e.file,
        line: e.line,
        column: e.column,
        message: e.message,
    })
}

fn entry(
    connector: Arc<dyn Connector>,
    mappings: Arc<[MappingSource]>,
    plugin: Option<PathBuf>,
) -> ConnectorEntry {
    ConnectorEntry {
        lookups: Arc::new(LookupCache::new(connector.manifest())),
        connector,
        mappings,
        plugin,
    }
}

/// The tables in a plugin's `mappings/`, one per resource; a file that names no resource is an
/// error rather than a table silently never read.
fn plugin_tables(folder: &Path) -> Result<Vec<MappingSource>, Vec<ManifestError>> {
    let dir = folder.join("mappings");
    let files = std::fs::read_dir(&dir).map_err(|e| {
        vec![at_file(
            &dir,
            format!("cannot read the plugin's mapping tables: {e}"),
        )]
    })?;
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    let mut names: Vec<PathBuf> = files.flatten().map(|f| f.path()).collect();
    names.sort();
    for path in names {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let yaml = path.extension().is_some_and(|e| e == "yaml");
        match stem.as_deref().and_then(Resource::parse) {
            Some(resource) if yaml => match read(&path) {
                Ok((file, text)) => sources.push(MappingSource {
                    resource,
                    file,
                    text: Cow::Owned(text),
                }),
                Err(e) => errors.push(e),
            },
            _ => {
                let known: Vec<String> = Resource::ALL
                    .iter()
                    .map(|r| format!("{}.yaml", r.as_str()))
                    .collect();
                errors.push(at_file(
                    &path,
                    format!(
                        "a plugin's mapping tables are named after their resource: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    if sources.is_empty() && errors.is_empty() {
        errors.push(at_file(
            &dir,
            "the plugin maps no resource: add mappings/opportunities.yaml".to_owned(),
        ));
    }
    if errors.is_empty() {
        sources.sort_by_key(|s| Resource::ALL.iter().position(|r| *r == s.resource));
        Ok(sources)
    } else {
        Err(errors)
    }
}

/// The plugin folders in `dir`, by name: every sub-folder. One without a `connector.yaml` is
/// loaded too, so that it fails with that said rather than being skipped unnoticed.
fn plugin_folders(dir: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let folders = std::fs::read_dir(dir)
        .map_err(|e| at_file(dir, format!("cannot read the plugin folder: {e}")))?;
    let mut folders: Vec<PathBuf> = folders
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.is_dir() && !folder_name(p).starts_with('.'))
        .collect();
    folders.sort();
    Ok(folders)
}

fn read(file: &Path) -> Result<(String, String), ManifestError> {
    std::fs::read_to_string(file)
        .map(|text| (file.display().to_string(), text))
        .map_err(|e| at_file(file, format!("cannot read the file: {e}")))
}

fn at_file(file: &Path, message: String) -> ManifestError {
    ManifestError {
        file: file.display().to_string(),
        line: 0,
        column: 0,
        message,
    }
}

fn folder_name(folder: &Path) -> String {
    folder
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Connector ids are service ids in headers and URLs and folder names on disk.
pub fn valid_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A plugin's id for as long as the process runs. Connectors report `&'static str` ids (the
/// keys of every per-connector map); a plugin's is read at start-up, so it is kept here, once
/// per distinct id however often plugins are loaded (tests load them many times).
fn intern(id: &str) -> &'static str {
    static IDS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut ids = IDS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = ids.get(id) {
        return known;
    }
    let kept: &'static str = Box::leak(id.to_owned().into_boxed_str());
    ids.insert(kept);
    kept
}

/// Manifests in the folder that no connector of this build reads: most likely a typo in a
/// folder name, which would otherwise be ignored silently.
fn unknown_manifests(dir: &Path, built_in: &[BuiltIn]) -> Vec<ManifestError> {
    let Ok(folders) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut errors: Vec<ManifestError> = folders
        .flatten()
        .filter(|f| f.path().join("connector.yaml").is_file())
        .filter_map(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            (!built_in.iter().any(|b| b.id == name)).then(|| {
                at_file(
                    &f.path().join("connector.yaml"),
                    format!("no connector of this build is named {name:?}"),
                )
            })
        })
        .collect();
    errors.sort_by(|a, b| a.file.cmp(&b.file));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_manifests_load_and_match_the_files() {
        let entries = connectors();
        assert_eq!(
            entries.iter().map(|e| e.connector.id()).collect::<Vec<_>>(),
            built_in_ids()
        );
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
        let sources = Sources {
            built_in_dir: Some(dir),
            ..Sources::default()
        };
        assert!(load(&sources).is_ok(), "the files in connectors/ load too");
    }

    /// What the loader accepts, the schema editors check against accepts too.
    #[test]
    fn the_built_in_manifests_pass_the_schema() {
        let schema = crmgate_connector_sdk::manifest_schema();
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        assert!(!validator.is_valid(&serde_json::json!({ "meta": {} })));
        for b in built_in() {
            let manifest: serde_json::Value = serde_saphyr::from_str(b.manifest).unwrap();
            let problems: Vec<String> = validator
                .iter_errors(&manifest)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            assert!(problems.is_empty(), "{}: {problems:#?}", b.id);
        }
    }

    #[test]
    fn ids_are_interned_once() {
        let a = intern("a-plugin");
        let b = intern(&String::from("a-plugin"));
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn connector_ids_are_lowercase_words() {
        for good in ["close", "free-sales", "crm_2"] {
            assert!(valid_id(good), "{good}");
        }
        for bad in ["", "Close", "2crm", "a b", "a.b", "../x", "é"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
