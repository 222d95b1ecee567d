//! The layout's promises that a grep can check: errors become HTTP only in `src/api`, so
//! neither the mapping engine nor a connector knows axum or builds an HTTP status for a client.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Plugins are data: the ones this repository ships hold no code at all.
#[test]
fn the_shipped_plugins_hold_no_rust() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors.d");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    assert_eq!(files, Vec::<PathBuf>::new());
    let plugins = std::fs::read_dir(&dir).unwrap().count();
    assert!(plugins >= 1, "connectors.d holds the shipped plugins");
}

#[test]
fn only_the_api_knows_axum() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/mapping", "src/unified", "src/store", "connectors"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "the walk found the sources");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("axum"))
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(offenders.is_empty(), "axum outside src/api: {offenders:?}");
}

/// Connectors hand vendor records to the mapping unchanged: no connector source names a
/// unified field (as a quoted string), so no connector can write one. `id` and `type` are
/// exempt, being vendors' words too (HubSpot's associations are `{id, type}`).
#[test]
fn no_connector_writes_a_unified_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for connector in crmgate::registry::built_in_ids() {
        let sources = root.join("connectors").join(connector).join("src");
        if sources.is_dir() {
            rust_files(&sources, &mut files);
        }
    }
    assert!(files.len() >= 3, "the walk found the connectors' sources");
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for model in crmgate::unified::MODELS {
            for field in model
                .fields
                .iter()
                .filter(|f| !matches!(f.name, "id" | "type"))
            {
                if text.contains(&format!("\"{}\"", field.name)) {
                    offenders.push(format!(
                        "{}: {}",
                        file.strip_prefix(root).unwrap().display(),
                        field.name
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "unified field names in connectors: {offenders:?}"
    );
}
