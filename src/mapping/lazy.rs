//! Vendor records read where they lie. A table's read paths are merged into one tree of
//! member names and indices when the table compiles; reading a record walks its text once
//! along that tree (a scan that only finds where values end skips every value no path names) and keeps, per
//! path, the slice of the text it names. Most fields are a string, number or boolean copied
//! from that slice to the answer as the vendor wrote it; only a value a transform or a
//! coercion changes, or the rest of a path past a wildcard or a filter, is parsed, and then
//! only that value.

use std::borrow::Cow;

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
                    let at = match node.members.binary_search_by(|(n, _)| by_length(n, name)) {
                        Ok(at) => at,
                        Err(at) => {
                            node.members.insert(at, (name.clone(), Node::default()));
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
                    let name = key.name();
                    match self.members.binary_search_by(|(n, _)| by_length(n, &name)) {
                        Ok(at) => {
                            let bit = 1u64.checked_shl(at as u32).unwrap_or(0);
                            if met & bit != 0 || bit == 0 {
                                self.members[at].1.clear(out);
                            }
                            met |= bit;
                            scan.at = self.members[at].1.visit(text, scan.at, out)?;
                        }
                        Err(_) => scan.skip_value()?,
                    }
                }
                scan.at + 1
            }
            Some(b'[') if !self.items.is_empty() => {
                let mut scan = Scan::new(text, start, b'[')?;
                let mut index = 0;
                while scan.next()? {
                    match self.items.iter().find(|(i, _)| *i == index) {
                        Some((_, node)) => scan.at = node.visit(text, scan.at, out)?,
                        None => scan.skip_value()?,
                    }
                    index += 1;
                }
                scan.at + 1
            }
            _ => value_end(text.as_bytes(), start).ok_or(Unwalkable)?,
        };
        for &slot in &self.here {
            out[slot] = Some(text.get(start..end).ok_or(Unwalkable)?);
        }
        Ok(end)
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

/// Member names ordered by length first, so that most comparisons of a walk end there.
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// An object member's name as written between its quotes, and whether it holds escapes.
pub(super) struct Key<'r>(&'r str, bool);

impl<'r> Key<'r> {
    /// The name with its escapes decoded, borrowed when it has none.
    pub fn name(&self) -> Cow<'r, str> {
        if !self.1 {
            return Cow::Borrowed(self.0);
        }
        serde_json::from_str(&format!("\"{}\"", self.0)).map_or(Cow::Borrowed(self.0), Cow::Owned)
    }
}

/// Calls `each` with every member of the object `text` (valid JSON) in order.
pub(super) fn members<'r>(
    text: &'r str,
    mut each: impl FnMut(Key<'r>, &'r str),
) -> Result<(), Unwalkable> {
    let mut scan = Scan::new(text, 0, b'{')?;
    while let Some(key) = scan.next_key()? {
        let start = scan.at;
        scan.skip_value()?;
        each(key, text.get(start..scan.at).ok_or(Unwalkable)?);
    }
    Ok(())
}

/// A position in the text of one object or array. The text was validated when the page was
/// split, so the scan only finds where values end; anything it does not expect stops it
/// (`Unwalkable`) rather than being read some other way.
struct Scan<'r> {
    text: &'r str,
    at: usize,
    first: bool,
}

impl<'r> Scan<'r> {
    /// At the opening `open` at `start` of `text`.
    fn new(text: &'r str, start: usize, open: u8) -> Result<Self, Unwalkable> {
        match text.as_bytes().get(start) {
            Some(&b) if b == open => Ok(Self {
                text,
                at: start + 1,
                first: true,
            }),
            _ => Err(Unwalkable),
        }
    }

    fn bytes(&self) -> &'r [u8] {
        self.text.as_bytes()
    }

    fn skip_space(&mut self) {
        while self
            .bytes()
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    /// Past the separator before the next member or item; `false` at the end.
    fn next(&mut self) -> Result<bool, Unwalkable> {
        self.skip_space();
        match self.bytes().get(self.at) {
            Some(b'}' | b']') => return Ok(false),
            Some(b',') if !self.first => self.at += 1,
            Some(_) if self.first => {}
            _ => return Err(Unwalkable),
        }
        self.first = false;
        self.skip_space();
        Ok(true)
    }

    fn next_key(&mut self) -> Result<Option<Key<'r>>, Unwalkable> {
        if !self.next()? {
            return Ok(None);
        }
        if self.bytes().get(self.at) != Some(&b'"') {
            return Err(Unwalkable);
        }
        let (end, escaped) = string_end(self.bytes(), self.at + 1).ok_or(Unwalkable)?;
        let key = self.text.get(self.at + 1..end - 1).ok_or(Unwalkable)?;
        self.at = end;
        self.skip_space();
        if self.bytes().get(self.at) != Some(&b':') {
            return Err(Unwalkable);
        }
        self.at += 1;
        self.skip_space();
        Ok(Some(Key(key, escaped)))
    }

    /// Moves past the value that starts here.
    fn skip_value(&mut self) -> Result<(), Unwalkable> {
        self.at = value_end(self.bytes(), self.at).ok_or(Unwalkable)?;
        Ok(())
    }
}

/// Where the string whose contents start at `from` ends (after its closing quote), and
/// whether it holds escapes.
fn string_end(bytes: &[u8], mut from: usize) -> Option<(usize, bool)> {
    // Most names and values are short: a plain look at their first bytes beats a call.
    for (i, &b) in bytes.get(from..)?.iter().take(24).enumerate() {
        match b {
            b'"' => return Some((from + i + 1, false)),
            b'\\' => break,
            _ => {}
        }
    }
    let mut escaped = false;
    loop {
        from += memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        match bytes[from] {
            b'"' => return Some((from + 1, escaped)),
            _ => {
                escaped = true;
                from += 2;
            }
        }
    }
}

/// Where the value that starts at `start` ends.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match *bytes.get(start)? {
        b'"' => string_end(bytes, start + 1).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = start;
            loop {
                match *bytes.get(at)? {
                    b'"' => {
                        at = string_end(bytes, at + 1)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => Some(
            bytes[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(bytes.len(), |n| start + n),
        ),
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
