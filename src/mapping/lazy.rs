//! Vendor records read where they lie. A table's read paths are merged into one tree of
//! member names and indices when the table compiles; reading a record walks its text once
//! along that tree (`crmgate_connector_sdk::text`, a scan that only finds where values end, skips every value no path names) and keeps, per
//! path, the slice of the text it names. Most fields are a string, number or boolean copied
//! from that slice to the answer as the vendor wrote it; only a value a transform or a
//! coercion changes, or the rest of a path past a wildcard or a filter, is parsed, and then
//! only that value.

use std::borrow::Cow;

use crmgate_connector_sdk::text::{Scan, Unwalkable, value_end};

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
    /// Ordered by name length, then name.
    members: Vec<(Box<str>, Node)>,
    /// Per name length, the range of `members` whose names are that long: most names a
    /// record holds are told apart by their length and first eight bytes alone.
    by_len: Vec<(usize, usize)>,
    /// The first eight bytes of each member's name.
    heads: Vec<u64>,
    items: Vec<(usize, Node)>,
}

impl Plan {
    /// Adds a path; reading its value later takes the returned place.
    pub fn add(&mut self, path: &CompiledPath) -> Place {
        let prefix = path.plain_prefix();
        let mut node = &mut self.root;
        for step in prefix {
            node = match step {
                Step::Name(name) => {
                    let at = match node.members.binary_search_by(|(n, _)| by_length(n, name)) {
                        Ok(at) => at,
                        Err(at) => {
                            node.members.insert(at, (name.clone(), Node::default()));
                            node.index();
                            at
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
    /// record has nothing there. One pass: each byte is scanned once, a member no path names
    /// only to find where it ends. A member named twice counts as the later one, as a parse
    /// into a tree keeps it.
    pub fn walk<'r>(&self, record: &'r str) -> Result<Vec<Option<&'r str>>, Unwalkable> {
        let mut out = vec![None; self.slots];
        if self.slots > 0 {
            self.root.visit(record.trim(), 0, &mut out)?;
        }
        Ok(out)
    }
}

impl Node {
    /// Walks the value that starts at `start` of `text`; answers where it ends.
    fn visit<'r>(
        &self,
        text: &'r str,
        start: usize,
        out: &mut [Option<&'r str>],
    ) -> Result<usize, Unwalkable> {
        let end = match text.as_bytes().get(start) {
            Some(b'{') if !self.members.is_empty() => {
                let mut scan = Scan::new(text, start, b'{')?;
                // Members met so far (all of them past 64), to tell a repeated one.
                let mut met = 0u64;
                while let Some(key) = scan.next_key()? {
                    match self.member(&key.name()) {
                        Some(at) => {
                            let bit = 1u64.checked_shl(at as u32).unwrap_or(0);
                            if met & bit != 0 || bit == 0 {
                                self.members[at].1.clear(out);
                            }
                            met |= bit;
                            let end = self.members[at].1.visit(text, scan.at(), out)?;
                            scan.resume(end);
                        }
                        None => scan.skip_value()?,
                    }
                }
                scan.at() + 1
            }
            Some(b'[') if !self.items.is_empty() => {
                let mut scan = Scan::new(text, start, b'[')?;
                let mut index = 0;
                while scan.next_item()? {
                    match self.items.iter().find(|(i, _)| *i == index) {
                        Some((_, node)) => {
                            let end = node.visit(text, scan.at(), out)?;
                            scan.resume(end);
                        }
                        None => scan.skip_value()?,
                    }
                    index += 1;
                }
                scan.at() + 1
            }
            _ => value_end(text.as_bytes(), start).ok_or(Unwalkable)?,
        };
        for &slot in &self.here {
            out[slot] = Some(text.get(start..end).ok_or(Unwalkable)?);
        }
        Ok(end)
    }

    /// Rebuilds the index of `members` after one was added.
    fn index(&mut self) {
        let longest = self.members.last().map_or(0, |(n, _)| n.len());
        self.by_len = vec![(0, 0); longest + 1];
        for (i, (name, _)) in self.members.iter().enumerate() {
            let range = &mut self.by_len[name.len()];
            if range.0 == range.1 {
                *range = (i, i);
            }
            range.1 = i + 1;
        }
        self.heads = self
            .members
            .iter()
            .map(|(n, _)| head(n.as_bytes()))
            .collect();
    }

    /// The index of the member named `name`.
    fn member(&self, name: &str) -> Option<usize> {
        let (from, to) = *self.by_len.get(name.len())?;
        let (bytes, want) = (name.as_bytes(), head(name.as_bytes()));
        (from..to).find(|&i| {
            self.heads[i] == want
                && (bytes.len() <= 8 || self.members[i].0.as_bytes()[8..] == bytes[8..])
        })
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

/// The first eight bytes of a name, zero-padded.
fn head(name: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    let n = name.len().min(8);
    first[..n].copy_from_slice(&name[..n]);
    u64::from_le_bytes(first)
}

/// Member names ordered by length first, then by their bytes.
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
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
        let picked = match path.find_after_text(text, self.consumed) {
            Some(values) if path.finds_one() => {
                pick(values.first().map_or(Found::Nothing, Found::One))
            }
            Some(values) => pick(Found::Many(values.iter().collect())),
            None => {
                let Ok(prefix) = serde_json::from_str::<serde_json::Value>(text) else {
                    return Text::Nothing;
                };
                pick(path.find_after(&prefix, self.consumed))
            }
        };
        picked.map_or(Text::Nothing, |v| Text::Tree(Cow::Owned(v)))
    }
}
