//! Unified write body → vendor body, and pass-through patches on the vendor body.

use std::borrow::Cow;

use crmgate_connector_sdk::Operation;
use serde_json::{Map, Value};

use super::compile::{FieldMapping, ListWrite, MappingTable, Slot, WriteRule};
use super::lookup::{Context, Lookups, TransformError, Wanted};
use super::patch;
use super::path::CompiledPath;
use super::table::WriteOperation;
use super::tenant::TenantMappings;
use super::transform::without_catalogs;
use crate::error::Error;
use crate::unified::{FieldKind, PassThrough};

/// Most `extend_paths` items one request may carry, and the longest value of `operation_id`;
/// bounds the work a single request can cause.
pub const MAX_EXTEND_PATHS: usize = 100;

/// The vendor body a write produced, with the unified fields the vendor has no place for.
#[derive(Debug)]
pub struct VendorBody {
    pub body: Value,
    /// Fields the client sent with a value that this vendor cannot store; reported back to the
    /// client as warnings, never dropped silently.
    pub unmapped: Vec<String>,
}

impl MappingTable {
    /// Builds the vendor body for a create or an update from the client's validated fields,
    /// turning names into ids with `lookups`, then runs the table's write hooks.
    pub fn to_vendor(
        &self,
        input: &Map<String, Value>,
        op: WriteOperation,
        tenant: Option<&TenantMappings>,
        lookups: &Lookups,
    ) -> Result<VendorBody, Error> {
        let cx = Context {
            lookups,
            vendor: &self.vendor,
        };
        let mut body = Value::Object(Map::new());
        let mut unmapped = Vec::new();
        // A name shares its place with the id it names, and wins over it: written last.
        let mut named: Vec<(&str, &CompiledPath, Value)> = Vec::new();
        // The alternatives for one vendor slot written so far (fields whose writes have `with`).
        let mut alternatives: Vec<(&str, &WriteRule)> = Vec::new();
        for (name, value) in input {
            let Some(field) = self.fields.iter().find(|f| f.def.name == name) else {
                continue;
            };
            let rule = field.write.as_ref();
            let list = rule.and_then(|r| r.list.as_ref());
            let target = write_target(field, tenant);
            if target.is_none() && list.is_none() {
                if !is_empty(value) {
                    unmapped.push(name.clone());
                }
                continue;
            }
            if let Some(on) = rule.and_then(|r| r.on.as_ref())
                && !on.contains(&op)
            {
                if is_empty(value) {
                    continue;
                }
                return Err(Error::validation(
                    format!(
                        "Property {name} cannot be changed by this operation at this connector"
                    ),
                    serde_json::json!({ "unsupported": [{ name: format!("writable only on {}", ops(on)) }] }),
                ));
            }
            let cannot = |e: patch::PatchError| {
                Error::validation(
                    format!("Property {name} cannot be written: {e}"),
                    serde_json::json!({ "invalid": [{ name: e.to_string() }] }),
                )
            };
            if let Some(list) = list {
                self.write_list(name, list, target, value, &cx, &mut body, &mut unmapped)?;
                continue;
            }
            let Some(target) = target else { continue };
            let v = self.scalar(name, rule, cleared(field, value), &cx)?;
            if let Some(r) = rule.filter(|r| !r.with.is_empty()) {
                // An alternative given no value takes no slot.
                if v.is_null() {
                    continue;
                }
                if let Some((other, _)) = alternatives.iter().find(|(_, o)| o.shares_a_slot(r)) {
                    return Err(Error::validation(
                        format!(
                            "Properties {other} and {name} cannot both be written: {} keeps one of them",
                            self.vendor
                        ),
                        serde_json::json!({ "invalid": [{ name.as_str(): format!("conflicts with {other}") }] }),
                    ));
                }
                alternatives.push((name, r));
                patch::set(&mut body, target, v).map_err(cannot)?;
                for (path, constant) in &r.with {
                    patch::set(&mut body, path, constant.clone()).map_err(cannot)?;
                }
                continue;
            }
            match (rule, v) {
                (Some(r), Value::Object(members)) if r.merge => {
                    patch::merge(&mut body, target, members).map_err(cannot)?;
                }
                (Some(r), v) if r.named && tenant.and_then(|t| t.override_for(name)).is_none() => {
                    named.push((name, target, v));
                }
                (_, v) => {
                    patch::set(&mut body, target, v).map_err(cannot)?;
                }
            }
        }
        for (name, target, v) in named {
            patch::set(&mut body, target, v).map_err(|e| {
                Error::validation(
                    format!("Property {name} cannot be written: {e}"),
                    serde_json::json!({ "invalid": [{ name: e.to_string() }] }),
                )
            })?;
        }
        let operation = match op {
            WriteOperation::Create => Operation::Create,
            WriteOperation::Update => Operation::Update,
        };
        for hook in &self.write_hooks {
            (hook.apply)(operation, &mut body);
        }
        Ok(VendorBody { body, unmapped })
    }

    /// One value through a rule's transforms; `null` passes them as "no value" (a date
    /// transform has no date to turn into text), and only then becomes the vendor's way of
    /// clearing a field.
    fn scalar(
        &self,
        name: &str,
        rule: Option<&WriteRule>,
        mut v: Value,
        cx: &Context<'_>,
    ) -> Result<Value, Error> {
        for transform in rule.map_or(&[][..], |r| &r.transforms) {
            v = transform.apply_in(Cow::Owned(v), cx).map_err(|e| match e {
                TransformError::Invalid(reason) => Error::validation(
                    format!("Invalid property {name}: {reason}"),
                    serde_json::json!({ "invalid": [{ name: reason }] }),
                ),
                TransformError::Unknown(message) => Error::validation(
                    message.clone(),
                    serde_json::json!({ "invalid": [{ name: message }] }),
                ),
            })?;
        }
        if v.is_null() && self.empty_string_is_null {
            v = Value::String(String::new());
        }
        Ok(v)
    }

    /// A list of objects into the body. The list replaces what the vendor has: with `each`
    /// the vendor list is the items, and with places among the record's fields every place no
    /// item takes is cleared. What has no place (an item no free place matches, a property
    /// the mapping does not write) is reported by its path, `phone_numbers[2].extension`.
    #[allow(clippy::too_many_arguments)]
    fn write_list(
        &self,
        name: &str,
        list: &ListWrite,
        target: Option<&CompiledPath>,
        value: &Value,
        cx: &Context<'_>,
        body: &mut Value,
        unmapped: &mut Vec<String>,
    ) -> Result<(), Error> {
        let items: &[Value] = value.as_array().map_or(&[], Vec::as_slice);
        let cannot = |e: patch::PatchError| {
            Error::validation(
                format!("Property {name} cannot be written: {e}"),
                serde_json::json!({ "invalid": [{ name: e.to_string() }] }),
            )
        };
        match list {
            ListWrite::Each(properties) => {
                let mut elements = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut element = Value::Object(Map::new());
                    for p in properties {
                        let Some(v) = item.get(p.def.name) else {
                            continue;
                        };
                        let path = format!("{name}[{i}].{}", p.def.name);
                        let v = self.scalar(&path, Some(&p.rule), v.clone(), cx)?;
                        if let Some(to) = &p.rule.to {
                            patch::set(&mut element, to, v).map_err(cannot)?;
                        }
                    }
                    let placed = properties.iter().map(|p| (p.def.name, None));
                    left_out(name, i, item, placed, unmapped);
                    elements.push(element);
                }
                if let Some(target) = target {
                    patch::set(body, target, Value::Array(elements)).map_err(cannot)?;
                }
            }
            ListWrite::Slots(slots) => {
                let taken = place(slots, items);
                for (i, item) in items.iter().enumerate() {
                    match taken.iter().position(|t| *t == Some(i)) {
                        Some(s) => {
                            let slot = &slots[s];
                            let placed = slot
                                .properties
                                .iter()
                                .map(|p| (p.def.name, None))
                                .chain(slot.when.iter().map(|(k, _)| (*k, None)))
                                .chain(slot.implied.iter().map(|(k, v)| (*k, Some(v.as_str()))));
                            left_out(name, i, item, placed, unmapped);
                        }
                        None => unmapped.push(format!("{name}[{i}]")),
                    }
                }
                for (slot, item) in slots.iter().zip(&taken) {
                    for p in &slot.properties {
                        let given = item.and_then(|i| items[i].get(p.def.name));
                        let path = match item {
                            Some(i) => format!("{name}[{i}].{}", p.def.name),
                            None => name.to_owned(),
                        };
                        let v = self.scalar(
                            &path,
                            Some(&p.rule),
                            given.cloned().unwrap_or(Value::Null),
                            cx,
                        )?;
                        if let Some(to) = &p.rule.to {
                            patch::set(body, to, v).map_err(cannot)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Per catalog a write rule names, the labels, ids or custom field names the client's
    /// fields give, for the caller to resolve before [`to_vendor`](Self::to_vendor). Fields
    /// this write does not carry to the vendor, and `null` or `[]`, need no catalog.
    pub fn write_lookups(
        &self,
        fields: &Map<String, Value>,
        op: WriteOperation,
        tenant: Option<&TenantMappings>,
    ) -> Vec<(String, Vec<String>)> {
        let mut wanted = Wanted::default();
        for (name, value) in fields {
            let Some(field) = self.fields.iter().find(|f| f.def.name == name) else {
                continue;
            };
            let Some((before, step)) = field.write.as_ref().and_then(WriteRule::catalog_step)
            else {
                continue;
            };
            let allowed = field
                .write
                .as_ref()
                .and_then(|r| r.on.as_ref())
                .is_none_or(|on| on.contains(&op));
            if !allowed || write_target(field, tenant).is_none() {
                continue;
            }
            if let Some(v) = without_catalogs(before, Cow::Borrowed(value)) {
                step.keys(&v, &mut wanted);
            }
        }
        wanted.into_list()
    }
}

/// Where a field is written: a tenant override re-points the write too, when its path names
/// one location inside the body; otherwise the field is read-only for that tenant.
fn write_target<'a>(
    field: &'a FieldMapping,
    tenant: Option<&'a TenantMappings>,
) -> Option<&'a CompiledPath> {
    match tenant.and_then(|t| t.override_for(field.def.name)) {
        // A tenant override re-points the write too, when its path is writable (one location,
        // or an equality filter such as a custom-field entry) inside the body; otherwise the
        // field is read-only for that tenant.
        Some(path) => (path.is_writable() && !path.is_root()).then_some(path),
        None => field.write.as_ref().and_then(|r| r.to.as_ref()),
    }
}

/// Which item (by index) each place takes: first every item that matches a free place's
/// `when`, in order, then the others in the free places without one.
fn place(slots: &[Slot], items: &[Value]) -> Vec<Option<usize>> {
    let mut taken: Vec<Option<usize>> = vec![None; slots.len()];
    let matches = |slot: &Slot, item: &Value| {
        slot.when.iter().all(|(k, want)| {
            item.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|have| have.eq_ignore_ascii_case(want))
        })
    };
    for specific in [true, false] {
        for (i, item) in items.iter().enumerate() {
            if taken.contains(&Some(i)) {
                continue;
            }
            let free = (0..slots.len()).find(|&s| {
                taken[s].is_none()
                    && slots[s].when.is_empty() != specific
                    && matches(&slots[s], item)
            });
            if let Some(s) = free {
                taken[s] = Some(i);
            }
        }
    }
    taken
}

/// The properties of item `i` that have a value but no place at the vendor: `placed` names
/// the properties written (with `None`) and those that read back as one value anyway.
fn left_out<'a>(
    name: &str,
    i: usize,
    item: &Value,
    placed: impl Iterator<Item = (&'a str, Option<&'a str>)> + Clone,
    unmapped: &mut Vec<String>,
) {
    for (property, v) in item.as_object().into_iter().flatten() {
        let kept = placed.clone().any(|(p, reads)| {
            p == property
                && reads.is_none_or(|r| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(r)))
        });
        if !v.is_null() && !kept {
            unmapped.push(format!("{name}[{i}].{property}"));
        }
    }
}

/// The client's value, with a list cleared by null as the empty list: that is what clears
/// labels or tags at every vendor, so transforms see one shape.
fn cleared(field: &FieldMapping, value: &Value) -> Value {
    match value {
        Value::Null if matches!(field.def.kind, FieldKind::IdList | FieldKind::StringList) => {
            Value::Array(Vec::new())
        }
        other => other.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn ops(on: &[WriteOperation]) -> String {
    on.iter()
        .map(|op| match op {
            WriteOperation::Create => "create",
            WriteOperation::Update => "update",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pass-through items of a write body that apply to this call, with their paths compiled.
/// Every path is checked before anything is sent, so a bad path is a 400 and never a half-done
/// vendor call.
pub struct PassThroughPlan {
    items: Vec<SelectedItem>,
}

/// One pass-through item for this call, with its paths compiled.
struct SelectedItem {
    extend_object: Option<Map<String, Value>>,
    extend_paths: Vec<(CompiledPath, Value)>,
}

impl PassThroughPlan {
    /// Selects the items for `service` (and `operation_id`, when an item names one) and compiles
    /// their paths.
    pub fn new(items: Vec<PassThrough>, service: &str, operation_id: &str) -> Result<Self, Error> {
        let total: usize = items
            .iter()
            .map(|i| i.extend_paths.as_ref().map_or(0, Vec::len))
            .sum();
        if total > MAX_EXTEND_PATHS {
            return Err(Error::validation(
                format!("Too many pass_through extend_paths: {total}, at most {MAX_EXTEND_PATHS}"),
                serde_json::json!({ "invalid": [{ "pass_through": "too many extend_paths" }] }),
            ));
        }
        let mut selected = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let mut paths = Vec::new();
            for (j, ext) in item
                .extend_paths
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let invalid = |reason: String| {
                    Error::validation(
                        format!("Invalid pass_through[{i}].extend_paths[{j}].path: {reason}"),
                        serde_json::json!({ "invalid": [{ format!("pass_through[{i}].extend_paths[{j}].path"): reason }] }),
                    )
                };
                let path = CompiledPath::parse(&ext.path).map_err(|e| invalid(e.to_string()))?;
                if path.is_root() {
                    return Err(invalid(
                        "\"$\" is the whole vendor body; use extend_object to change it, or name a location in it".to_owned(),
                    ));
                }
                paths.push((path, ext.value));
            }
            let applies = item.service_id == service
                && item
                    .operation_id
                    .as_deref()
                    .is_none_or(|op| op == operation_id);
            if applies {
                selected.push(SelectedItem {
                    extend_object: item.extend_object,
                    extend_paths: paths,
                });
            }
        }
        Ok(Self { items: selected })
    }

    /// Applies the selected items to the vendor body: `extend_object` first, then each
    /// `extend_paths` item in order. A path that writes nothing (a wildcard or filter that
    /// matches no member) is a 400 like one that cannot be written, never a silent no-op.
    pub fn apply(self, body: &mut Value) -> Result<(), Error> {
        let invalid = |path: &str, reason: &str| {
            Error::validation(
                format!("Invalid pass_through path {path}: {reason}"),
                serde_json::json!({ "invalid": [{ path: reason }] }),
            )
        };
        for item in self.items {
            if let Some(object) = item.extend_object {
                patch::deep_merge(body, object);
            }
            for (path, value) in item.extend_paths {
                let written =
                    patch::set(body, &path, value).map_err(|e| invalid(&e.path, &e.reason))?;
                if written == 0 {
                    return Err(invalid(
                        path.as_str(),
                        "matches nothing in the vendor body, so nothing would be set",
                    ));
                }
            }
        }
        Ok(())
    }
}
