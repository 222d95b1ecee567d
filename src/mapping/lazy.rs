//! Vendor records read where they lie. A table's read paths are merged into one tree of
//! member names and indices when the table compiles; reading a record walks its text once
//! along that tree (sonic-rs's lazy iterators skip every value no path names) and keeps, per
//! path, the slice of the text it names. Most fields are a string, number or boolean copied
//! from that slice to the answer as the vendor wrote it; only a value a transform or a
//! coercion changes, or the rest of a path past a wildcard or a filter, is parsed, and then
//! only that value.

use std::borrow::Cow;

use sonic_rs::{JsonValueTrait, LazyValue};

use super::path::{CompiledPath, Found, Step};

/// Where a path's value is found after a walk: the slot holding the text at the path's
/// plain prefix, and how many of its steps that prefix is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    slot: usize,
    consumed: usize,
    /// Whether the prefix is the whole path, so the slot holds the value itself.
    whole: bool,
}

/// The merged prefixes of a set of paths.
#[derive(Debug, Default)]
pub(super) struct Plan {
    root: Node,
    slots: usize,
}

#[derive(Debug, Default)]
struct Node {
    /// The slots whose prefix ends here.
    here: Vec<usize>,
    members: Vec<(Box<str>, Node)>,
    items: Vec<(usize, Node)>,
}

/// A walk that cannot go on (a value the iterators refuse); the record is read as a tree.
#[derive(Debug)]
pub(super) struct Unwalkable;

impl Plan {
    /// Adds a path; reading its value later takes the returned place.
    pub fn add(&mut self, path: &CompiledPath) -> Place {
        let prefix = path.plain_prefix();
        let mut node = &mut self.root;
        for step in prefix {
            node = match step {
                Step::Name(name) => {
                    let at = match node.members.iter().position(|(n, _)| n == name) {
                        Some(at) => at,
                        None => {
                            node.members.push((name.clone(), Node::default()));
                            node.members.len() - 1
                        }
                    };
                    &mut node.members[at].1
                }
                Step::Index(i) => {
                    let at = match node.items.iter().position(|(n, _)| n == i) {
                        Some(at) => at,
                        None => {
                            node.items.push((*i, Node::default()));
                            node.items.len() - 1
                        }
                    };
                    &mut node.items[at].1
                }
                _ => unreachable!("a plain prefix holds names and indices only"),
            };
        }
        let slot = self.slots;
        self.slots += 1;
        node.here.push(slot);
        Place {
            slot,
            consumed: prefix.len(),
            whole: path.plain_prefix().len() == path_len(path),
        }
    }

    /// The text at every slot's prefix in `record` (valid JSON text), `None` where the
    /// record has nothing there. A member named twice counts as the later one, as a parse
    /// into a tree keeps it.
    pub fn walk<'r>(&self, record: &'r str) -> Result<Vec<Option<&'r str>>, Unwalkable> {
        let mut out = vec![None; self.slots];
        if self.slots == 0 {
            return Ok(out);
        }
        for &slot in &self.root.here {
            out[slot] = Some(record);
        }
        if !self.root.members.is_empty() && record.trim_start().starts_with('{') {
            for entry in sonic_rs::to_object_iter(record) {
                let (key, value) = entry.map_err(|_| Unwalkable)?;
                if let Some((_, node)) = self.root.members.iter().find(|(n, _)| **n == *key) {
                    node.clear(&mut out);
                    node.visit(value, &mut out)?;
                }
            }
        }
        if !self.root.items.is_empty() && record.trim_start().starts_with('[') {
            for (i, item) in sonic_rs::to_array_iter(record).enumerate() {
                let item = item.map_err(|_| Unwalkable)?;
                if let Some((_, node)) = self.root.items.iter().find(|(n, _)| *n == i) {
                    node.visit(item, &mut out)?;
                }
            }
        }
        Ok(out)
    }
}

impl Node {
    fn visit<'r>(
        &self,
        value: LazyValue<'r>,
        out: &mut [Option<&'r str>],
    ) -> Result<(), Unwalkable> {
        let Cow::Borrowed(text) = value.as_raw_cow() else {
            return Err(Unwalkable);
        };
        for &slot in &self.here {
            out[slot] = Some(text);
        }
        if !self.members.is_empty() && value.is_object() {
            let entries = value.clone().into_object_iter().ok_or(Unwalkable)?;
            for entry in entries {
                let (key, value) = entry.map_err(|_| Unwalkable)?;
                if let Some((_, node)) = self.members.iter().find(|(n, _)| **n == *key) {
                    node.clear(out);
                    node.visit(value, out)?;
                }
            }
        } else if !self.items.is_empty() && value.is_array() {
            let last = self.items.iter().map(|(i, _)| *i).max().unwrap_or(0);
            let items = value.into_array_iter().ok_or(Unwalkable)?;
            for (i, item) in items.enumerate().take(last + 1) {
                let item = item.map_err(|_| Unwalkable)?;
                if let Some((_, node)) = self.items.iter().find(|(n, _)| *n == i) {
                    node.visit(item, out)?;
                }
            }
        }
        Ok(())
    }

    /// Forgets what an earlier member of the same name left in this node's slots.
    fn clear(&self, out: &mut [Option<&str>]) {
        for &slot in &self.here {
            out[slot] = None;
        }
        for (_, node) in &self.members {
            node.clear(out);
        }
        for (_, node) in &self.items {
            node.clear(out);
        }
    }
}

fn path_len(path: &CompiledPath) -> usize {
    path.steps().map_or(usize::MAX, <[Step]>::len)
}

/// What a path finds in a walked record.
#[derive(Debug)]
pub(super) enum Text<'r> {
    Nothing,
    /// The value's JSON text, as the vendor wrote it.
    Raw(&'r str),
    /// A value past a wildcard or filter, found in the parsed value at the prefix, or one
    /// the table gives.
    Tree(Cow<'r, serde_json::Value>),
}

impl<'r> Text<'r> {
    /// The value as a tree; nothing is null.
    pub fn into_value(self) -> Cow<'r, serde_json::Value> {
        match self {
            Text::Nothing => Cow::Owned(serde_json::Value::Null),
            Text::Raw(text) => Cow::Owned(serde_json::from_str(text).unwrap_or_default()),
            Text::Tree(value) => value,
        }
    }
}

impl Place {
    /// What `path` (added as `self`) finds, given the walk's slots. `pick` turns a tree
    /// match into the value read, as the tree reader does with the same match.
    pub fn find<'r>(
        &self,
        path: &CompiledPath,
        slots: &[Option<&'r str>],
        pick: impl FnOnce(Found<'_>) -> Option<serde_json::Value>,
    ) -> Text<'r> {
        let Some(text) = slots[self.slot] else {
            return Text::Nothing;
        };
        if self.whole {
            return Text::Raw(text);
        }
        let Ok(prefix) = serde_json::from_str::<serde_json::Value>(text) else {
            return Text::Nothing;
        };
        pick(path.find_after(&prefix, self.consumed))
            .map_or(Text::Nothing, |v| Text::Tree(Cow::Owned(v)))
    }
}
