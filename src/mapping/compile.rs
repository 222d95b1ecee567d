//! Turning a mapping file into a [`MappingTable`]: every JSONPath parsed, every transform
//! resolved, every reference checked, once, with file, line and column on each error.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::lazy::{Place, Plan};
use super::lookup::{CustomFieldsShape, Direction};
use super::path::CompiledPath;
use super::table::{
    FieldSpec, FilterCase, FilterSpec, MappingFile, ReadSpec, SpannedMap, WriteOperation, WriteSpec,
};
use super::transform::{Transform, TransformSpec};
use crmgate_connector_sdk::{Connector, WriteHook};

use crate::unified::{FieldDef, FieldKind, FilterKind, ItemModel, ResourceModel};

/// A mapping file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for LoadError {}

/// What of its connector a table is compiled against: the name its messages say, the write
/// hooks and the lookup catalogs it may name.
#[derive(Debug, Clone)]
pub struct TableConnector<'a> {
    /// The connector's display name (`Connector::name()`), as messages to clients say it.
    pub name: &'a str,
    pub write_hooks: &'a [WriteHook],
    /// The catalogs the connector's manifest declares under `lookups:`.
    pub lookups: Vec<&'a str>,
    /// The resources whose filtered list can take a lower bound (`updated_since`).
    pub lower_bounds: Vec<&'a str>,
}

impl<'a> TableConnector<'a> {
    /// What a registered connector offers its tables.
    pub fn of(connector: &'a dyn Connector) -> Self {
        Self {
            name: connector.name(),
            write_hooks: connector.write_hooks(),
            lookups: connector
                .manifest()
                .declaration()
                .lookups
                .keys()
                .map(String::as_str)
                .collect(),
            lower_bounds: connector
                .manifest()
                .declaration()
                .resources
                .iter()
                .filter(|(_, spec)| spec.takes_lower_bounds())
                .map(|(name, _)| name.as_str())
                .collect(),
        }
    }
}

/// A compiled mapping table for one connector and one resource.
#[derive(Debug)]
pub struct MappingTable {
    pub(super) fields: Vec<FieldMapping>,
    /// Where each field's paths are found in a walked record, parallel to `fields`.
    pub(super) walk: Walk,
    pub(super) empty_string_is_null: bool,
    pub(super) filters: Vec<FilterRule>,
    pub(super) sorts: Vec<(&'static str, String)>,
    pub(super) write_hooks: Vec<WriteHook>,
    /// The connector's display name, for messages about its catalogs.
    pub(super) vendor: String,
    read_paths: Vec<Vec<String>>,
    lookup_sources: Vec<(String, Vec<String>)>,
}

/// The table's read paths merged for one walk per record.
#[derive(Debug, Default)]
pub(super) struct Walk {
    pub plan: Plan,
    /// Per field, the places of its `from` paths or of its cases' `when` paths.
    pub fields: Vec<Vec<Place>>,
}

impl Walk {
    fn of(fields: &[FieldMapping]) -> Self {
        let mut plan = Plan::default();
        let fields = fields
            .iter()
            .map(|f| {
                let mut places = Vec::new();
                add_places(f.read.as_ref(), &mut plan, &mut places);
                places
            })
            .collect();
        Self { plan, fields }
    }
}

/// The places of a rule's paths, in the order [`Source`] lists them: an item property's
/// places follow the item's earlier ones.
fn add_places(read: Option<&ReadRule>, plan: &mut Plan, places: &mut Vec<Place>) {
    match read.map(|r| &r.source) {
        Some(Source::Paths(paths) | Source::Join { paths, .. }) => {
            places.extend(paths.iter().map(|p| plan.add(p)));
        }
        Some(Source::Cases(cases)) => {
            places.extend(cases.iter().flat_map(Case::paths).map(|p| plan.add(p)));
        }
        Some(Source::Items(items)) => {
            for property in items.iter().flatten() {
                add_places(property.read.as_ref(), plan, places);
            }
        }
        Some(Source::Nothing) | None => {}
    }
}

/// The static name prefixes of the record paths a rule reads, for the vendor's field
/// selection.
fn name_prefixes(read: &ReadRule, out: &mut Vec<Vec<String>>) {
    match &read.source {
        Source::Paths(paths) | Source::Join { paths, .. } => {
            out.extend(paths.iter().map(CompiledPath::name_prefix));
        }
        Source::Cases(cases) => out.extend(
            cases
                .iter()
                .flat_map(Case::paths)
                .map(CompiledPath::name_prefix),
        ),
        Source::Items(items) => {
            for read in items.iter().flatten().filter_map(|p| p.read.as_ref()) {
                name_prefixes(read, out);
            }
        }
        Source::Nothing => {}
    }
}

/// How many places [`add_places`] gives a rule.
pub(super) fn place_count(read: Option<&ReadRule>) -> usize {
    match read.map(|r| &r.source) {
        Some(Source::Paths(paths) | Source::Join { paths, .. }) => paths.len(),
        Some(Source::Cases(cases)) => cases.iter().flat_map(Case::paths).count(),
        Some(Source::Items(items)) => items
            .iter()
            .flatten()
            .map(|p| place_count(p.read.as_ref()))
            .sum(),
        Some(Source::Nothing) | None => 0,
    }
}

/// A unified filter key and how its value becomes a vendor filter.
#[derive(Debug)]
pub(super) struct FilterRule {
    pub key: &'static str,
    pub kind: FilterKind,
    pub target: FilterTarget,
}

#[derive(Debug)]
pub(super) enum FilterTarget {
    Field {
        field: String,
        transforms: Vec<Transform>,
    },
    Cases(BTreeMap<String, FilterCase>),
}

/// One unified field's compiled mapping.
#[derive(Debug)]
pub(super) struct FieldMapping {
    pub def: &'static FieldDef,
    pub read: Option<ReadRule>,
    pub write: Option<WriteRule>,
}

#[derive(Debug)]
pub(super) struct ReadRule {
    pub source: Source,
    pub transforms: Vec<Transform>,
    pub default: Option<Value>,
    /// For a list of objects read from a vendor list: each element's item properties.
    pub each: Option<Vec<FieldMapping>>,
}

#[derive(Debug)]
pub(super) enum Source {
    Paths(Vec<CompiledPath>),
    Cases(Vec<Case>),
    /// The texts at the paths joined into one.
    Join {
        paths: Vec<CompiledPath>,
        separator: String,
        whole: bool,
    },
    /// Items made from the record's own fields, each a list of item properties.
    Items(Vec<Vec<FieldMapping>>),
    Nothing,
}

#[derive(Debug)]
pub(super) struct Case {
    pub when: CompiledPath,
    pub equals: Value,
    pub value: CaseValue,
}

/// What a case that applies reads.
#[derive(Debug)]
pub(super) enum CaseValue {
    Constant(Value),
    Path(CompiledPath),
}

impl Case {
    /// Its paths, in the order [`add_places`] gives them places: `when`, then `from`.
    fn paths(&self) -> impl Iterator<Item = &CompiledPath> {
        let from = match &self.value {
            CaseValue::Path(path) => Some(path),
            CaseValue::Constant(_) => None,
        };
        std::iter::once(&self.when).chain(from)
    }
}

#[derive(Debug)]
pub(super) struct WriteRule {
    /// Where the value is set; `None` for a list whose items go to the record's own fields.
    pub to: Option<CompiledPath>,
    pub transforms: Vec<Transform>,
    pub on: Option<Vec<WriteOperation>>,
    /// The value is an object merged into the one at `to` (custom fields kept among the
    /// vendor's own fields), so other fields may write inside `to`.
    pub merge: bool,
    /// The value is a name looked up to an id, so it may share `to` with the field that writes
    /// the id, and wins over it when a write carries both.
    pub named: bool,
    /// For a list of objects: how its items are written.
    pub list: Option<ListWrite>,
    /// Constants set beside a written value; a rule with them is one of the alternatives
    /// for its `to`.
    pub with: Vec<(CompiledPath, Value)>,
}

/// How the items of a unified list of objects reach the vendor.
#[derive(Debug)]
pub(super) enum ListWrite {
    /// Each item becomes one element of the vendor list at the rule's `to`, its properties
    /// written relative to the element.
    Each(Vec<ItemWrite>),
    /// Each item takes the first free place it matches among the record's own fields.
    Slots(Vec<Slot>),
}

/// One item property's write.
#[derive(Debug)]
pub(super) struct ItemWrite {
    pub def: &'static FieldDef,
    pub rule: WriteRule,
}

/// A place for one item among the record's own fields.
#[derive(Debug)]
pub(super) struct Slot {
    /// Item property → the value (compared without regard to case) an item needs to go here.
    pub when: Vec<(&'static str, String)>,
    pub properties: Vec<ItemWrite>,
    /// Item property → the value the table reads for this place by default (a phone read
    /// back as `type: primary`): an item giving that value loses nothing.
    pub implied: Vec<(&'static str, String)>,
}

impl ReadRule {
    /// The rule's catalog transform, with the transforms before it.
    pub fn catalog_step(&self) -> Option<(&[Transform], &Transform)> {
        catalog_step(&self.transforms)
    }
}

impl WriteRule {
    /// The rule's catalog transform, with the transforms before it.
    pub fn catalog_step(&self) -> Option<(&[Transform], &Transform)> {
        catalog_step(&self.transforms)
    }

    /// Whether two alternatives (rules with `with`) set a common location, so that one write
    /// cannot carry both.
    pub fn shares_a_slot(&self, other: &WriteRule) -> bool {
        self.locations()
            .any(|a| other.locations().any(|b| overlapping(a, b)))
    }

    /// The locations a scalar write sets: `to`, then its `with` constants.
    fn locations(&self) -> impl Iterator<Item = &[super::path::Step]> + Clone {
        self.to
            .iter()
            .chain(self.with.iter().map(|(p, _)| p))
            .filter_map(CompiledPath::singular_steps)
    }
}

/// Whether one location is the other or inside it.
fn overlapping(a: &[super::path::Step], b: &[super::path::Step]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

fn catalog_step(transforms: &[Transform]) -> Option<(&[Transform], &Transform)> {
    let at = transforms.iter().position(|t| t.catalog().is_some())?;
    Some((&transforms[..at], &transforms[at]))
}

impl MappingTable {
    /// Parses and compiles a mapping file against the fields of its unified resource. `file` is
    /// only used to name the file in errors.
    pub fn compile(
        file: &str,
        text: &str,
        resource: &'static ResourceModel,
        connector: &TableConnector<'_>,
    ) -> Result<Self, LoadError> {
        let hooks = connector.write_hooks;
        let at = |loc: Option<Location>, message: String| LoadError {
            file: file.to_owned(),
            line: loc.map_or(0, |l| l.line()),
            column: loc.map_or(0, |l| l.column()),
            message,
        };
        let parsed: MappingFile = serde_saphyr::from_str(text)
            .map_err(|e| at(e.location(), first_line(&e.without_snippet().to_string())))?;

        // Every unified field has a slot, mapped or not, so that a tenant override can give an
        // unmapped field a vendor path and it still appears in the contract's order.
        let mut fields: Vec<FieldMapping> = resource
            .fields
            .iter()
            .map(|def| FieldMapping {
                def,
                read: None,
                write: None,
            })
            .collect();
        for (name, spec) in &parsed.fields.0 {
            let Some(slot) = fields.iter_mut().find(|f| f.def.name == name.value) else {
                return Err(at(
                    Some(name.referenced),
                    format!("{:?} is not a field of the unified resource", name.value),
                ));
            };
            *slot =
                compile_field(slot.def, spec, &connector.lookups).map_err(|(loc, m)| at(loc, m))?;
        }
        check_write_overlaps(&fields).map_err(|(loc, m)| at(loc, m))?;

        let mut read_paths = Vec::new();
        let mut lookup_sources: Vec<(String, Vec<String>)> = Vec::new();
        for field in &fields {
            let Some(read) = &field.read else { continue };
            if let (Some((_, step)), Source::Paths(paths)) = (read.catalog_step(), &read.source) {
                let catalog = step.catalog().unwrap_or_default();
                for path in paths {
                    let source = (catalog.to_owned(), path.name_prefix());
                    if !lookup_sources.contains(&source) {
                        lookup_sources.push(source);
                    }
                }
            }
            name_prefixes(read, &mut read_paths);
        }
        let bounds = connector.lower_bounds.contains(&resource.resource.as_str());
        let filters =
            compile_filters(&parsed.filters, resource, bounds).map_err(|(loc, m)| at(loc, m))?;
        let mut sorts = Vec::new();
        for (key, spec) in &parsed.sort.0 {
            let Some(known) = resource.sorts.iter().find(|s| **s == key.value) else {
                return Err(at(
                    Some(key.referenced),
                    format!("{:?} is not a sort key of the unified resource", key.value),
                ));
            };
            sorts.push((*known, spec.field.clone()));
        }
        let mut write_hooks = Vec::new();
        for name in &parsed.write_hooks {
            let Some(hook) = hooks.iter().find(|h| h.name == name.value) else {
                let known: Vec<&str> = hooks.iter().map(|h| h.name).collect();
                return Err(at(
                    Some(name.referenced),
                    format!(
                        "unknown hook {:?}; this connector has: {}",
                        name.value,
                        list_or_none(&known)
                    ),
                ));
            };
            write_hooks.push(*hook);
        }
        let walk = Walk::of(&fields);
        Ok(Self {
            fields,
            walk,
            empty_string_is_null: parsed.empty_string_is_null,
            filters,
            sorts,
            write_hooks,
            vendor: connector.name.to_owned(),
            read_paths,
            lookup_sources,
        })
    }

    /// Per catalog a read rule names, the static name prefix of the rule's source
    /// (`("custom_fields", ["properties"])`), one entry per catalog and source: where the
    /// catalog's keys sit in a record, for connectors that ask their vendor for fields by name.
    pub fn lookup_sources(&self) -> &[(String, Vec<String>)] {
        &self.lookup_sources
    }

    /// The static name prefixes of every path the table reads, for [`ReadFields`].
    ///
    /// [`ReadFields`]: crmgate_connector_sdk::ReadFields
    pub fn read_paths(&self) -> &[Vec<String>] {
        &self.read_paths
    }

    /// Whether the table turns the unified filter `key` into a vendor filter.
    pub fn filters_on(&self, key: &str) -> bool {
        self.filters.iter().any(|f| f.key == key)
    }

    /// Whether the table turns a sort by `key` into a vendor sort.
    pub fn sorts_by(&self, key: &str) -> bool {
        self.sorts.iter().any(|(k, _)| *k == key)
    }

    /// How each unified field is served, in the contract's order: the cells of the field
    /// coverage matrix, and what the conformance suite expects a create to carry.
    pub fn coverage(&self) -> impl Iterator<Item = (&'static str, Coverage)> + '_ {
        self.fields.iter().map(|f| {
            let write = f.write.as_ref().map(|w| match w.on.as_deref() {
                Some(ops) if !ops.contains(&WriteOperation::Update) => WriteScope::CreateOnly,
                _ => WriteScope::Always,
            });
            let coverage = Coverage {
                read: f.read.is_some(),
                write,
            };
            (f.def.name, coverage)
        })
    }
}

/// What a table does with one unified field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub read: bool,
    pub write: Option<WriteScope>,
}

/// Which writes carry a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope {
    Always,
    CreateOnly,
}

impl Coverage {
    /// The cell of the coverage matrix.
    pub fn cell(self) -> &'static str {
        match (self.read, self.write) {
            (false, None) => "—",
            (true, None) => "read",
            (true, Some(WriteScope::Always)) => "read, write",
            (true, Some(WriteScope::CreateOnly)) => "read, write on create",
            (false, Some(WriteScope::Always)) => "write",
            (false, Some(WriteScope::CreateOnly)) => "write on create",
        }
    }
}

type Located = (Option<Location>, String);

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn compile_filters(
    specs: &SpannedMap<FilterSpec>,
    resource: &ResourceModel,
    lower_bounds: bool,
) -> Result<Vec<FilterRule>, Located> {
    let mut rules = Vec::new();
    for (key, spec) in &specs.0 {
        let Some((known, kind)) = resource.filters.iter().find(|(k, _)| *k == key.value) else {
            return Err((
                Some(key.referenced),
                format!("{:?} is not a filter of the unified resource", key.value),
            ));
        };
        if *kind == FilterKind::Since && !lower_bounds {
            return Err((
                Some(key.referenced),
                format!(
                    "{:?} is a lower bound, which the manifest's list of {} cannot express (a filter list needs a `since` item)",
                    key.value,
                    resource.resource.as_str()
                ),
            ));
        }
        let target = match (&spec.field, &spec.cases) {
            (Some(field), None) => {
                if let Some(t) = catalog_transform(&spec.transforms) {
                    return Err((
                        Some(t.referenced),
                        "a filter cannot use a catalog: filters are translated without the connection's catalogs"
                            .to_owned(),
                    ));
                }
                FilterTarget::Field {
                    field: field.clone(),
                    transforms: compile_transforms(&spec.transforms, Direction::Write, &[])?,
                }
            }
            (None, Some(cases)) if spec.transforms.is_empty() => FilterTarget::Cases(cases.clone()),
            _ => {
                return Err((
                    Some(key.referenced),
                    "a filter needs either `field` (with optional `transforms`) or `cases`"
                        .to_owned(),
                ));
            }
        };
        rules.push(FilterRule {
            key: known,
            kind: *kind,
            target,
        });
    }
    Ok(rules)
}

fn compile_field(
    def: &'static FieldDef,
    spec: &FieldSpec,
    catalogs: &[&str],
) -> Result<FieldMapping, Located> {
    let read = spec
        .read
        .as_ref()
        .map(|r| compile_read(def, r, catalogs))
        .transpose()?;
    let mut write = match &spec.write {
        Some(w) if def.read_only => {
            return Err((
                Some(w.referenced),
                format!(
                    "{:?} is read-only in the unified model and cannot be written",
                    def.name
                ),
            ));
        }
        Some(w) => Some(match def.kind {
            FieldKind::Items(item) => compile_list_write(def, item, w)?,
            _ => compile_write(def.name, &w.value, w.referenced, catalogs)?,
        }),
        None => None,
    };
    if let (
        Some(ReadRule {
            source: Source::Items(reads),
            ..
        }),
        Some(ListWrite::Slots(slots)),
    ) = (&read, write.as_mut().and_then(|w| w.list.as_mut()))
        && reads.len() == slots.len()
    {
        for (slot, read) in slots.iter_mut().zip(reads) {
            slot.implied = read
                .iter()
                .filter_map(|p| {
                    let rule = p.read.as_ref()?;
                    let value = rule.default.as_ref()?.as_str()?;
                    matches!(rule.source, Source::Nothing).then(|| (p.def.name, value.to_owned()))
                })
                .collect();
        }
    }
    Ok(FieldMapping { def, read, write })
}

fn compile_read(
    def: &'static FieldDef,
    spec: &ReadSpec,
    catalogs: &[&str],
) -> Result<ReadRule, Located> {
    let item = match def.kind {
        FieldKind::Items(item) => Some(item),
        _ => None,
    };
    let listed = spec.each.as_ref().map(|e| e.referenced);
    let made = spec.items.as_ref().map(|i| i.referenced);
    match (item, listed.or(made)) {
        (None, Some(loc)) => {
            return Err((
                Some(loc),
                format!(
                    "{:?} is not a list of objects; `each` and `items` are for those",
                    def.name
                ),
            ));
        }
        (Some(_), _) if !spec.transforms.is_empty() => {
            return Err((
                spec.transforms.first().map(|t| t.referenced),
                format!(
                    "{:?} is a list of objects: transform its item properties, not the list",
                    def.name
                ),
            ));
        }
        (Some(item), None) if spec.from.is_some() => {
            return Err((
                spec.from.as_ref().map(|f| f.referenced),
                format!(
                    "{:?} is a list of {} objects: with `from`, say with `each` how an element becomes one",
                    def.name, item.schema_name
                ),
            ));
        }
        _ => {}
    }
    if let Some(items) = &spec.items {
        if spec.from.is_some() || spec.cases.is_some() || spec.each.is_some() {
            return Err((
                Some(items.referenced),
                "`items` makes the list from the record's fields; it takes no `from`, `cases` or `each`"
                    .to_owned(),
            ));
        }
        let item = item.expect("checked above");
        let items = items
            .value
            .iter()
            .map(|properties| compile_item(item, properties))
            .collect::<Result<_, _>>()?;
        return Ok(ReadRule {
            source: Source::Items(items),
            transforms: Vec::new(),
            default: None,
            each: None,
        });
    }
    let each = match (&spec.each, item) {
        (Some(each), Some(item)) if spec.from.is_some() => Some(compile_item(item, &each.value)?),
        (Some(each), _) => {
            return Err((
                Some(each.referenced),
                "`each` maps the elements of the vendor list `from` names; give `from`".to_owned(),
            ));
        }
        (None, _) => None,
    };
    if let Some(join) = &spec.join {
        if spec.from.is_some() || spec.cases.is_some() {
            return Err((
                Some(join.referenced),
                "`join` reads its own paths; it takes no `from` or `cases`".to_owned(),
            ));
        }
        if join.value.len() < 2 {
            return Err((
                Some(join.referenced),
                "`join` joins two paths or more; for one, use `from`".to_owned(),
            ));
        }
        if let Some(t) = catalog_transform(&spec.transforms) {
            return Err((
                Some(t.referenced),
                "a joined text names no catalog entry; look up the parts' fields instead"
                    .to_owned(),
            ));
        }
        return Ok(ReadRule {
            source: Source::Join {
                paths: join
                    .value
                    .iter()
                    .map(|p| compile_path(p, join.referenced))
                    .collect::<Result<_, _>>()?,
                separator: spec.separator.clone().unwrap_or_default(),
                whole: spec.whole,
            },
            transforms: compile_transforms(&spec.transforms, Direction::Read, catalogs)?,
            default: spec.default.clone(),
            each: None,
        });
    }
    if spec.separator.is_some() || spec.whole {
        return Err((
            spec.from.as_ref().map(|f| f.referenced),
            "`separator` and `whole` say how `join` joins; give `join`".to_owned(),
        ));
    }
    let source = match (&spec.from, &spec.cases) {
        (Some(_), Some(_)) => {
            let loc = spec.from.as_ref().map(|f| f.referenced);
            return Err((loc, "`from` and `cases` cannot both be given".to_owned()));
        }
        (Some(from), None) => Source::Paths(
            from.value
                .0
                .iter()
                .map(|p| compile_path(p, from.referenced))
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(cases)) => Source::Cases(
            cases
                .iter()
                .map(|c| {
                    let value = match (&c.value, &c.from) {
                        (Some(value), None) => CaseValue::Constant(value.clone()),
                        (None, Some(from)) => {
                            CaseValue::Path(compile_path(&from.value, from.referenced)?)
                        }
                        _ => {
                            return Err((
                                Some(c.when.referenced),
                                "a case gives either `value` or `from`".to_owned(),
                            ));
                        }
                    };
                    Ok(Case {
                        when: compile_path(&c.when.value, c.when.referenced)?,
                        equals: c.equals.clone(),
                        value,
                    })
                })
                .collect::<Result<_, Located>>()?,
        ),
        (None, None) if spec.default.is_some() => Source::Nothing,
        (None, None) => {
            return Err((None, "a read needs `from`, `cases` or `default`".to_owned()));
        }
    };
    Ok(ReadRule {
        source,
        transforms: compile_transforms(&spec.transforms, Direction::Read, catalogs)?,
        default: spec.default.clone(),
        each,
    })
}

/// The read rules of one item's properties, in the contract's order of the item's fields.
/// Item properties name no catalogs: the lookups a page resolves are found at fields' paths.
fn compile_item(
    item: &'static ItemModel,
    properties: &SpannedMap<ReadSpec>,
) -> Result<Vec<FieldMapping>, Located> {
    let mut rules = Vec::with_capacity(properties.0.len());
    for (name, spec) in &properties.0 {
        let def = item_property(item, name, &spec.transforms)?;
        rules.push(FieldMapping {
            def,
            read: Some(compile_read(def, spec, &[])?),
            write: None,
        });
    }
    if let Some(key) = item.key
        && !rules.iter().any(|r| r.def.name == key)
    {
        return Err((
            properties.0.first().map(|(n, _)| n.referenced),
            format!("an item of {} must read its {key:?}", item.schema_name),
        ));
    }
    rules.sort_by_key(|r| item.fields.iter().position(|f| f.name == r.def.name));
    Ok(rules)
}

/// The first transform that names a catalog, where none may: filters and item properties are
/// translated without the connection's catalogs.
fn catalog_transform(specs: &[Spanned<TransformSpec>]) -> Option<&Spanned<TransformSpec>> {
    specs.iter().find(|t| {
        matches!(
            t.value,
            TransformSpec::Lookup { .. } | TransformSpec::CustomFields { .. }
        )
    })
}

/// A scalar field's write; `at` is where its spec is, for errors without a closer place.
fn compile_write(
    name: &str,
    spec: &WriteSpec,
    at: Location,
    catalogs: &[&str],
) -> Result<WriteRule, Located> {
    if let Some(loc) = spec
        .each
        .as_ref()
        .map(|e| e.referenced)
        .or(spec.items.as_ref().map(|i| i.referenced))
    {
        return Err((
            Some(loc),
            format!("{name:?} is not a list of objects; `each` and `items` are for those"),
        ));
    }
    let Some(to_text) = &spec.to else {
        return Err((Some(at), "a write needs `to`".to_owned()));
    };
    let to = compile_path(&to_text.value, to_text.referenced)?;
    if !to.is_singular() {
        return Err((
            Some(to_text.referenced),
            format!(
                "write path {:?} must name one location (no wildcards or filters)",
                to_text.value
            ),
        ));
    }
    let transforms = compile_transforms(&spec.transforms, Direction::Write, catalogs)?;
    let merge = matches!(
        spec.transforms.last().map(|t| &t.value),
        Some(TransformSpec::CustomFields {
            shape: CustomFieldsShape::Object { .. },
            ..
        })
    );
    // Custom fields merged into the body's top level (Close's `custom.cf_…` members) are the
    // one write that may name `$`: they add members and replace none.
    if to.is_root() && !merge {
        return Err((
            Some(to_text.referenced),
            "write path \"$\" would replace the whole vendor body; name a location in it (only an object of custom fields may be merged into `$`)"
                .to_owned(),
        ));
    }
    let named = spec
        .transforms
        .iter()
        .any(|t| matches!(t.value, TransformSpec::Lookup { .. }));
    let mut with = Vec::new();
    for (path, value) in spec.with.iter().flat_map(|w| &w.value.0) {
        let compiled = compile_path(&path.value, path.referenced)?;
        if !compiled.is_singular() || compiled.is_root() {
            return Err((
                Some(path.referenced),
                format!(
                    "`with` path {:?} must name one location inside the body",
                    path.value
                ),
            ));
        }
        with.push((compiled, value.clone()));
    }
    Ok(WriteRule {
        to: Some(to),
        transforms,
        on: spec.on.clone(),
        merge,
        named,
        list: None,
        with,
    })
}

/// A list of objects' write: `to` with `each` for a vendor list, or `items` for places among
/// the record's own fields. Item properties are scalars written without catalogs, and the
/// list as a whole has no transforms, as for reads.
fn compile_list_write(
    def: &'static FieldDef,
    item: &'static ItemModel,
    spanned: &Spanned<WriteSpec>,
) -> Result<WriteRule, Located> {
    let spec = &spanned.value;
    if let Some(with) = &spec.with {
        return Err((
            Some(with.referenced),
            format!(
                "{:?} is a list of objects: `with` is for a scalar write",
                def.name
            ),
        ));
    }
    if let Some(t) = spec.transforms.first() {
        return Err((
            Some(t.referenced),
            format!(
                "{:?} is a list of objects: transform its item properties, not the list",
                def.name
            ),
        ));
    }
    let (to, list) = match (&spec.to, &spec.each, &spec.items) {
        (Some(to), Some(each), None) => {
            let path = compile_path(&to.value, to.referenced)?;
            if !path.is_singular() || path.is_root() {
                return Err((
                    Some(to.referenced),
                    format!(
                        "write path {:?} must name one location inside the body",
                        to.value
                    ),
                ));
            }
            let properties = compile_item_writes(item, &each.value)?;
            (Some(path), ListWrite::Each(properties))
        }
        (None, None, Some(slots)) => {
            let mut compiled = Vec::with_capacity(slots.value.len());
            for slot in &slots.value {
                let mut when = Vec::with_capacity(slot.when.len());
                for (name, value) in &slot.when {
                    let Some(f) = item.fields.iter().find(|f| f.name == name.value) else {
                        return Err(not_a_property(item, name));
                    };
                    when.push((f.name, value.clone()));
                }
                compiled.push(Slot {
                    when,
                    properties: compile_item_writes(item, &slot.properties)?,
                    implied: Vec::new(),
                });
            }
            (None, ListWrite::Slots(compiled))
        }
        _ => {
            return Err((
                Some(spanned.referenced),
                format!(
                    "{:?} is a list of {} objects: write it with `to` and `each` (a vendor list) or with `items` alone (the record's own fields)",
                    def.name, item.schema_name
                ),
            ));
        }
    };
    Ok(WriteRule {
        to,
        transforms: Vec::new(),
        on: spec.on.clone(),
        merge: false,
        named: false,
        list: Some(list),
        with: Vec::new(),
    })
}

/// The writes of one item's properties.
fn compile_item_writes(
    item: &'static ItemModel,
    properties: &SpannedMap<WriteSpec>,
) -> Result<Vec<ItemWrite>, Located> {
    let mut writes = Vec::with_capacity(properties.0.len());
    for (name, spec) in &properties.0 {
        let def = item_property(item, name, &spec.transforms)?;
        if spec.on.is_some() {
            return Err((
                Some(name.referenced),
                "`on` limits the whole list's write; give it beside `to`/`items`, not on an item property"
                    .to_owned(),
            ));
        }
        if let Some(with) = &spec.with {
            return Err((
                Some(with.referenced),
                "`with` is for a field's write, not an item property's".to_owned(),
            ));
        }
        let rule = compile_write(def.name, spec, name.referenced, &[])?;
        writes.push(ItemWrite { def, rule });
    }
    Ok(writes)
}

/// The item field a mapping names, whose transforms may name no catalog.
fn item_property(
    item: &'static ItemModel,
    name: &Spanned<String>,
    transforms: &[Spanned<TransformSpec>],
) -> Result<&'static FieldDef, Located> {
    let Some(def) = item.fields.iter().find(|f| f.name == name.value) else {
        return Err(not_a_property(item, name));
    };
    if let Some(t) = catalog_transform(transforms) {
        return Err((
            Some(t.referenced),
            format!(
                "an item property cannot use a catalog ({} {:?})",
                item.schema_name, name.value
            ),
        ));
    }
    Ok(def)
}

fn not_a_property(item: &ItemModel, name: &Spanned<String>) -> Located {
    let known: Vec<&str> = item.fields.iter().map(|f| f.name).collect();
    (
        Some(name.referenced),
        format!(
            "{:?} is not a property of {}; it has {}",
            name.value,
            item.schema_name,
            known.join(", ")
        ),
    )
}

fn compile_path(text: &str, loc: Location) -> Result<CompiledPath, Located> {
    CompiledPath::parse(text).map_err(|e| (Some(loc), e.to_string()))
}

/// A rule's transforms. A catalog must be one the connector's manifest declares, and a list
/// uses at most one, since what a caller resolves is read before the first catalog transform.
fn compile_transforms(
    specs: &[Spanned<TransformSpec>],
    direction: Direction,
    catalogs: &[&str],
) -> Result<Vec<Transform>, Located> {
    let mut out: Vec<Transform> = Vec::with_capacity(specs.len());
    for spec in specs {
        let at = |m: String| (Some(spec.referenced), m);
        let transform = Transform::compile(&spec.value, direction).map_err(at)?;
        if let Some(catalog) = transform.catalog() {
            if !catalogs.contains(&catalog) {
                return Err(at(format!(
                    "unknown catalog {catalog:?}; this connector's manifest has: {}",
                    list_or_none(catalogs)
                )));
            }
            if out.iter().any(|t| t.catalog().is_some()) {
                return Err(at("a transform list uses at most one catalog".to_owned()));
            }
        }
        out.push(transform);
    }
    Ok(out)
}

/// Two fields writing `$.a` and `$.a.b` would overwrite each other depending on body order.
/// Two exceptions are orderly: a merged object (custom fields) under which other fields write,
/// and a name and its id written to one place, where the name wins.
fn check_write_overlaps(fields: &[FieldMapping]) -> Result<(), Located> {
    let mut writes: Vec<(&str, &[super::path::Step], &WriteRule)> = Vec::new();
    for f in fields {
        let Some(w) = &f.write else { continue };
        writes.extend(w.locations().map(|steps| (f.def.name, steps, w)));
        if let Some(ListWrite::Slots(slots)) = &w.list {
            for p in slots.iter().flat_map(|s| &s.properties) {
                if let Some(steps) = p.rule.to.as_ref().and_then(CompiledPath::singular_steps) {
                    writes.push((f.def.name, steps, &p.rule));
                }
            }
        }
    }
    for (i, (a, a_steps, a_rule)) in writes.iter().enumerate() {
        for (b, b_steps, b_rule) in &writes[i + 1..] {
            // Alternatives for one slot: a write giving two is refused when it is made.
            let alternatives = !a_rule.with.is_empty() && !b_rule.with.is_empty();
            let orderly = alternatives
                || match a_steps.len().cmp(&b_steps.len()) {
                    std::cmp::Ordering::Less => a_rule.merge,
                    std::cmp::Ordering::Greater => b_rule.merge,
                    std::cmp::Ordering::Equal => {
                        a_rule.named != b_rule.named && !a_rule.merge && !b_rule.merge
                    }
                };
            if overlapping(a_steps, b_steps) && !orderly {
                return Err((
                    None,
                    format!("fields {a:?} and {b:?} write to overlapping vendor paths"),
                ));
            }
        }
    }
    Ok(())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_owned()
}
