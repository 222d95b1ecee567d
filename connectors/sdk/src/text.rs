//! JSON text read where it lies: finding members, items and where values end in text that
//! was validated when it was received, without building a tree. The driver reads record ids
//! with it and the mapping engine walks records with it. Anything the scan does not expect
//! stops it ([`Unwalkable`]) rather than being read some other way; the callers then parse.

use std::borrow::Cow;

use crate::manifest::{RecordPath, Segment};

/// Text the scan cannot read on; the caller falls back to a parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unwalkable;

/// The text of the value at `path` in `text` (valid JSON), or `None` where nothing is there.
/// A member named twice counts as the later one, as a parse keeps it; `[*]` finds nothing
/// here (the paths read this way name one value).
pub fn at<'r>(text: &'r str, path: &RecordPath) -> Result<Option<&'r str>, Unwalkable> {
    let mut here = text.trim();
    for segment in path.segments() {
        let found = match (segment, here.as_bytes().first()) {
            (Segment::Key(name), Some(b'{')) => {
                let mut found = None;
                members(here, |key, value| {
                    if key.name() == name.as_str() {
                        found = Some(value);
                    }
                })?;
                found
            }
            (Segment::Index(i), Some(b'[')) => {
                let mut scan = Scan::new(here, 0, b'[')?;
                let mut found = None;
                let mut index = 0;
                while found.is_none() && scan.next_item()? {
                    let start = scan.at();
                    scan.skip_value()?;
                    if index == *i {
                        found = here.get(start..scan.at());
                    }
                    index += 1;
                }
                found
            }
            _ => None,
        };
        match found {
            Some(value) => here = value,
            None => return Ok(None),
        }
    }
    Ok(Some(here))
}

/// An object member's name as written between its quotes, and whether it holds escapes.
pub struct Key<'r>(&'r str, bool);

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
pub fn members<'r>(
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
pub struct Scan<'r> {
    text: &'r str,
    at: usize,
    first: bool,
}

impl<'r> Scan<'r> {
    /// At the opening `open` at `start` of `text`.
    pub fn new(text: &'r str, start: usize, open: u8) -> Result<Self, Unwalkable> {
        match text.as_bytes().get(start) {
            Some(&b) if b == open => Ok(Self {
                text,
                at: start + 1,
                first: true,
            }),
            _ => Err(Unwalkable),
        }
    }

    /// Where the scan is: at a value after [`Self::next`] or [`Self::next_key`], at the
    /// closing bracket once they answer the end.
    pub fn at(&self) -> usize {
        self.at
    }

    /// Goes on after a value the caller read itself, which ended at `at`.
    pub fn resume(&mut self, at: usize) {
        self.at = at;
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
    pub fn next_item(&mut self) -> Result<bool, Unwalkable> {
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

    pub fn next_key(&mut self) -> Result<Option<Key<'r>>, Unwalkable> {
        if !self.next_item()? {
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
    pub fn skip_value(&mut self) -> Result<(), Unwalkable> {
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
pub fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> RecordPath {
        RecordPath::parse(text).unwrap()
    }

    #[test]
    fn finds_what_a_parse_finds() {
        let text = r#" {"a": {"b": [1, {"c": "x\"}"}]}, "s": "{\"a\": 2}", "a\u0062": 3, "d": 1, "d": 2} "#;
        assert_eq!(at(text, &path("$.a.b[1].c")), Ok(Some(r#""x\"}""#)));
        assert_eq!(at(text, &path("$.a.b[0]")), Ok(Some("1")));
        assert_eq!(
            at(text, &path("$.ab")),
            Ok(Some("3")),
            "escapes in names are decoded"
        );
        assert_eq!(
            at(text, &path("$.d")),
            Ok(Some("2")),
            "the later of two members"
        );
        assert_eq!(at(text, &path("$.a.b[2]")), Ok(None));
        assert_eq!(
            at(text, &path("$.s.a")),
            Ok(None),
            "a string is not an object"
        );
        assert_eq!(at(text, &path("$.a.b[*]")), Ok(None));
        assert_eq!(at("[1, 2]", &path("$.x")), Ok(None));
        assert_eq!(at("{\"x\" 1}", &path("$.x")), Err(Unwalkable));
    }
}
