//! Tenants' layers on top of a built-in table: an application's mappings, then a consumer's.
//! A key that names a unified field re-points that field (both directions where the path can
//! be written); any other key is a custom mapping, read into `custom_mappings.<key>`.
//!
//! Layers are stored in the database so every process sees the same; their JSONPaths are
//! compiled once per distinct text and shared through [`PathCache`], so serving a request
//! parses nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lazy::{Place, Plan};
use super::path::{CompiledPath, PathError};
use crate::error::Error;
use crate::unified::{FieldKind, ResourceModel};

/// Longest custom mapping key; keys become JSON object keys in every response.
pub const MAX_KEY_LEN: usize = 64;

/// Most distinct paths kept compiled; beyond it the cache starts over rather than growing.
const CACHE_LIMIT: usize = 10_000;

/// Compiled tenant paths by their text.
#[derive(Debug, Default)]
pub struct PathCache {
    paths: Mutex<HashMap<String, Arc<CompiledPath>>>,
}

impl PathCache {
    /// The compiled path for `text`, compiling it on first use.
    pub fn get(&self, text: &str) -> Result<Arc<CompiledPath>, PathError> {
        let mut paths = self
            .paths
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(path) = paths.get(text) {
            return Ok(path.clone());
        }
        let path = Arc::new(CompiledPath::parse(text)?);
        if paths.len() >= CACHE_LIMIT {
            paths.clear();
        }
        paths.insert(text.to_owned(), path.clone());
        Ok(path)
    }
}

/// A unified field re-pointed by a tenant.
#[derive(Debug, Clone)]
pub struct FieldOverride {
    pub field: &'static str,
    pub path: Arc<CompiledPath>,
    pub(super) at: Place,
}

/// A tenant's custom mapping: `custom_mappings.<key>` read from the vendor record at `path`.
#[derive(Debug, Clone)]
pub struct CustomMapping {
    pub key: String,
    pub path: Arc<CompiledPath>,
    pub(super) at: Place,
}

/// The effective tenant layers for one request.
#[derive(Debug, Default)]
pub struct TenantMappings {
    pub overrides: Vec<FieldOverride>,
    pub custom: Vec<CustomMapping>,
    read_paths: Vec<Vec<String>>,
    /// The paths of `overrides` and `custom`, merged for one walk per record.
    pub(super) plan: Plan,
}

impl TenantMappings {
    /// Merges layers given lowest first (application, then consumer): a later layer's key
    /// replaces an earlier one's. Rows were validated when stored; one that no longer compiles
    /// (say, after an upgrade) is skipped with a warning rather than failing every request.
    pub fn build<'a>(
        resource: &ResourceModel,
        layers: impl IntoIterator<Item = (&'a str, &'a str)>,
        cache: &PathCache,
    ) -> Self {
        let mut merged: Vec<(&str, &str)> = Vec::new();
        for (key, value) in layers {
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => merged.push((key, value)),
            }
        }
        let mut out = TenantMappings::default();
        for (key, value) in merged {
            let path = match cache.get(value) {
                Ok(path) => path,
                Err(e) => {
                    tracing::warn!(key, error = %e, "A stored custom mapping does not compile; it is skipped.");
                    continue;
                }
            };
            if let Err((_, reason)) = unified_key_problem(resource, key, &path) {
                tracing::warn!(
                    key,
                    reason,
                    "A stored custom mapping is no longer allowed; it is skipped."
                );
                continue;
            }
            out.read_paths.push(path.name_prefix());
            let at = out.plan.add(&path);
            match resource.fields.iter().find(|f| f.name == key) {
                Some(def) => out.overrides.push(FieldOverride {
                    field: def.name,
                    path,
                    at,
                }),
                None => out.custom.push(CustomMapping {
                    key: key.to_owned(),
                    path,
                    at,
                }),
            }
        }
        out
    }

    /// The name prefixes of every path the tenant layers read, for the connector's field list.
    pub fn read_paths(&self) -> &[Vec<String>] {
        &self.read_paths
    }

    /// The tenant's path for a unified field, if it re-points it.
    pub(super) fn override_of(&self, field: &str) -> Option<&FieldOverride> {
        self.overrides.iter().find(|o| o.field == field)
    }

    pub fn override_for(&self, field: &str) -> Option<&CompiledPath> {
        self.overrides
            .iter()
            .find(|o| o.field == field)
            .map(|o| &*o.path)
    }
}

/// Checks a custom mapping before it is stored, so a bad one is a 400 at write time and never
/// a failure at request time.
pub fn validate(
    resource: &ResourceModel,
    key: &str,
    value: &str,
    cache: &PathCache,
) -> Result<(), Error> {
    let invalid = |name: &str, problem: String| {
        Error::validation(
            format!("Invalid custom mapping {name}: {problem}"),
            serde_json::json!({ "invalid": [{ name: problem }] }),
        )
    };
    let key_ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !key_ok {
        return Err(invalid(
            "key",
            format!("{key:?} must be 1 to {MAX_KEY_LEN} letters, digits, '_' or '-'"),
        ));
    }
    let path = cache
        .get(value)
        .map_err(|e| invalid("value", e.to_string()))?;
    unified_key_problem(resource, key, &path).map_err(|(name, problem)| invalid(name, problem))
}

/// What a mapping may not do to a unified field: re-point `id` (the record's vendor id, which
/// every get, update and delete addresses and every answer's `data.id` is), re-point the
/// custom-field lists, or point a field at the whole record (`$`), whose write would replace
/// the vendor body.
fn unified_key_problem(
    resource: &ResourceModel,
    key: &str,
    path: &CompiledPath,
) -> Result<(), (&'static str, String)> {
    let Some(def) = resource.fields.iter().find(|f| f.name == key) else {
        return Ok(());
    };
    if def.name == "id" {
        return Err((
            "key",
            "id cannot be re-pointed: it is the vendor's record id, which gets, updates and deletes address".to_owned(),
        ));
    }
    if matches!(
        def.kind,
        FieldKind::CustomFields | FieldKind::CustomMappings
    ) {
        return Err(("key", format!("{key} cannot be re-pointed")));
    }
    if path.is_root() {
        return Err((
            "value",
            format!("{key} cannot be the whole vendor record (\"$\"); name a location in it"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unified::OPPORTUNITIES;

    #[test]
    fn later_layers_win_and_unified_keys_override() {
        let cache = PathCache::default();
        let t = TenantMappings::build(
            &OPPORTUNITIES,
            [
                ("title", "$.properties.app_title"),
                ("gender", "$.properties.gender"),
                ("title", "$.properties.consumer_title"),
            ],
            &cache,
        );
        assert_eq!(
            t.override_for("title").unwrap().as_str(),
            "$.properties.consumer_title"
        );
        assert_eq!(t.custom.len(), 1);
        assert_eq!(t.custom[0].key, "gender");
        assert!(
            t.read_paths()
                .contains(&vec!["properties".to_owned(), "gender".to_owned()])
        );
    }

    #[test]
    fn stored_rows_that_are_no_longer_allowed_are_skipped() {
        let cache = PathCache::default();
        let t = TenantMappings::build(
            &OPPORTUNITIES,
            [
                ("id", "$.properties.other_id"),
                ("title", "$"),
                ("whole", "$"),
            ],
            &cache,
        );
        assert!(t.override_for("id").is_none());
        assert!(t.override_for("title").is_none());
        assert_eq!(t.custom.len(), 1, "a custom key may read the whole record");
    }

    #[test]
    fn paths_are_compiled_once_per_text() {
        let cache = PathCache::default();
        let a = cache.get("$.a.b").unwrap();
        let b = cache.get("$.a.b").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn bad_mappings_are_refused_before_they_are_stored() {
        let cache = PathCache::default();
        assert!(validate(&OPPORTUNITIES, "gender", "$.properties.gender", &cache).is_ok());
        for (key, value, needle) in [
            ("gender", "properties.gender", "value"),
            ("gen der", "$.a", "key"),
            ("", "$.a", "key"),
            ("custom_fields", "$.a", "cannot be re-pointed"),
            ("id", "$.properties.other_id", "id cannot be re-pointed"),
            ("title", "$", "whole vendor record"),
        ] {
            let err = validate(&OPPORTUNITIES, key, value, &cache).unwrap_err();
            assert_eq!(err.status().as_u16(), 400);
            assert!(
                err.message().contains(needle),
                "{key} {value}: {}",
                err.message()
            );
        }
    }
}
