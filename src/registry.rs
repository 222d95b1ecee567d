//! The one list of connectors crmgate is built with. Adding a vendor is one entry here, behind
//! a Cargo feature that is on by default.

use std::path::Path;
use std::sync::Arc;

use crmgate_connector_sdk::driver::LookupCache;
use crmgate_connector_sdk::{Connector, Expected, Manifest, ManifestError, Resource};

/// A connector and the built-in mapping table of each resource it serves.
#[derive(Clone)]
pub struct ConnectorEntry {
    pub connector: Arc<dyn Connector>,
    /// The names of its catalogs, per connection, kept for as long as the process runs.
    pub lookups: Arc<LookupCache>,
    /// The resource and the text of its built-in table, compiled into the binary so that
    /// `crmgate serve` works from any directory.
    pub mappings: &'static [(Resource, &'static str)],
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

/// Every connector of this build, in the order Vault lists them.
fn built_in() -> Vec<BuiltIn> {
    vec![
        #[cfg(feature = "hubspot")]
        BuiltIn {
            id: "hubspot",
            manifest: include_str!("../connectors/hubspot/connector.yaml"),
            build: |m| Arc::new(crmgate_hubspot::HubSpot::new(m)),
            mappings: &[(
                Resource::Opportunities,
                include_str!("../mappings/hubspot/opportunities.yaml"),
            )],
        },
        #[cfg(feature = "pipedrive")]
        BuiltIn {
            id: "pipedrive",
            manifest: include_str!("../connectors/pipedrive/connector.yaml"),
            build: |m| Arc::new(crmgate_pipedrive::Pipedrive::new(m)),
            mappings: &[(
                Resource::Opportunities,
                include_str!("../mappings/pipedrive/opportunities.yaml"),
            )],
        },
        #[cfg(feature = "copper")]
        BuiltIn {
            id: "copper",
            manifest: include_str!("../connectors/copper/connector.yaml"),
            build: |m| Arc::new(crmgate_copper::Copper::new(m)),
            mappings: &[(
                Resource::Opportunities,
                include_str!("../mappings/copper/opportunities.yaml"),
            )],
        },
    ]
}

/// The ids of this build's connectors, without loading anything.
pub fn ids() -> Vec<&'static str> {
    built_in().iter().map(|b| b.id).collect()
}

/// Every connector of this build, built from its manifest: from `dir/<id>/connector.yaml` when
/// a folder is given (`crmgate connectors check`), otherwise from the copy built into the
/// binary. Collects every error of every manifest rather than stopping at the first.
pub fn load(dir: Option<&Path>) -> Result<Vec<ConnectorEntry>, Vec<ManifestError>> {
    let built_in = built_in();
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for b in &built_in {
        let rel = format!("{}/connector.yaml", b.id);
        let (file, text) = match dir {
            Some(dir) => {
                let file = dir.join(&rel);
                match std::fs::read_to_string(&file) {
                    Ok(text) => (file.display().to_string(), text),
                    Err(e) => {
                        errors.push(ManifestError {
                            file: file.display().to_string(),
                            line: 0,
                            column: 0,
                            message: format!("cannot read the file: {e}"),
                        });
                        continue;
                    }
                }
            }
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
                if connector.id() != b.id {
                    errors.push(ManifestError {
                        file,
                        line: 0,
                        column: 0,
                        message: format!(
                            "the connector registered as {:?} reports id {:?}",
                            b.id,
                            connector.id()
                        ),
                    });
                    continue;
                }
                entries.push(ConnectorEntry {
                    lookups: Arc::new(LookupCache::new(connector.manifest())),
                    connector,
                    mappings: b.mappings,
                });
            }
            Err(e) => errors.extend(e),
        }
    }
    if let Some(dir) = dir {
        errors.extend(unknown_manifests(dir, &built_in));
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// Every connector of this build, from the built-in manifests. They are compiled in and checked
/// by a test, so they load; `Gateway::build` uses [`load`] to report errors instead.
pub fn connectors() -> Vec<ConnectorEntry> {
    load(None).unwrap_or_else(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!(
            "the built-in connector manifests do not load:\n{}",
            lines.join("\n")
        )
    })
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
            (!built_in.iter().any(|b| b.id == name)).then(|| ManifestError {
                file: f.path().join("connector.yaml").display().to_string(),
                line: 0,
                column: 0,
                message: format!("no connector of this build is named {name:?}"),
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
        let entries = load(None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            entries.iter().map(|e| e.connector.id()).collect::<Vec<_>>(),
            ids()
        );
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
        assert!(
            load(Some(&dir)).is_ok(),
            "the files in connectors/ load too"
        );
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
}
