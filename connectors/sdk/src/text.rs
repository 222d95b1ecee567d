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
            (Segment::Key(name), Some(b'{')) => member(here, name)?,
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

/// The items of the array `text` (valid JSON), each as its text.
pub fn items(text: &str) -> Result<Vec<&str>, Unwalkable> {
    let mut scan = Scan::new(text, 0, b'[')?;
    let mut out = Vec::new();
    while scan.next_item()? {
        let start = scan.at;
        scan.skip_value()?;
        out.push(text.get(start..scan.at).ok_or(Unwalkable)?);
    }
    Ok(out)
}

/// A scalar's text (valid JSON): a string's contents with escapes decoded, a number or a
/// boolean as written; `None` for null, an object or an array.
pub fn scalar(text: &str) -> Option<Cow<'_, str>> {
    match text.as_bytes().first()? {
        b'"' => {
            let (end, escaped) = string_end(text.as_bytes(), 1)?;
            if escaped {
                serde_json::from_str::<String>(text).ok().map(Cow::Owned)
            } else {
                text.get(1..end - 1).map(Cow::Borrowed)
            }
        }
        b'-' | b'0'..=b'9' | b't' | b'f' => Some(Cow::Borrowed(text)),
        _ => None,
    }
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

/// The value of the member `name` of the object `text` (valid JSON): the later of two, as a
/// parse keeps it.
pub fn member<'r>(text: &'r str, name: &str) -> Result<Option<&'r str>, Unwalkable> {
    let mut found = None;
    members(text, |key, value| {
        if key.name() == name {
            found = Some(value);
        }
    })?;
    Ok(found)
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
        self.at = skip_space(self.bytes(), self.at);
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
    let mut escaped = false;
    loop {
        from = next_stop(bytes, from, false);
        match *bytes.get(from)? {
            b'"' => return Some((from + 1, escaped)),
            _ => {
                escaped = true;
                from += 2;
            }
        }
    }
}

/// Where the first quote or backslash (and, with `control`, control character) at or after
/// `from` is; the length of `bytes` when there is none. Sixteen bytes at a time: most strings
/// are short, and a call to a search routine costs more than they do.
fn next_stop(bytes: &[u8], mut from: usize, control: bool) -> usize {
    while let Some(chunk) = bytes.get(from..from + 16) {
        let stops = stops_in(chunk.try_into().expect("16 bytes"), control);
        if stops != 0 {
            return from + stops.trailing_zeros() as usize;
        }
        from += 16;
    }
    bytes
        .get(from..)
        .and_then(|rest| {
            rest.iter()
                .position(|&c| c == b'"' || c == b'\\' || (control && c < 0x20))
        })
        .map_or(bytes.len(), |n| from + n)
}

/// One bit per byte of `chunk` that is a quote or a backslash (or, with `control`, below
/// 0x20), lowest bit first.
#[cfg(target_arch = "x86_64")]
fn stops_in(chunk: &[u8; 16], control: bool) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 processor runs these; the
    // load reads the 16 bytes of `chunk` (unaligned loads are allowed).
    unsafe {
        let x = _mm_loadu_si128(chunk.as_ptr().cast());
        let mut hits = _mm_or_si128(
            _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8)),
            _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8)),
        );
        if control {
            // Unsigned x <= 0x1f exactly when max(x, 0x1f) is 0x1f.
            let low = _mm_set1_epi8(0x1f);
            hits = _mm_or_si128(hits, _mm_cmpeq_epi8(_mm_max_epu8(x, low), low));
        }
        _mm_movemask_epi8(hits) as u32
    }
}

/// [`stops_in`] eight bytes at a time where SSE2 is not there to count on (and, in tests,
/// beside it).
#[cfg(any(test, not(target_arch = "x86_64")))]
fn stops_in_words(chunk: &[u8; 16], control: bool) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each zero byte; the lowest one set is exact (borrows only spoil the
    // bytes above it).
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let half = |bytes: &[u8]| {
        let x = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        let mut stops =
            zero_bytes(x ^ (ONES * u64::from(b'"'))) | zero_bytes(x ^ (ONES * u64::from(b'\\')));
        if control {
            stops |= x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        }
        // Bit 7 of each byte to one bit per byte; the lowest set bit stays exact.
        let mut bits = 0u32;
        for k in 0..8 {
            if stops & (0x80 << (8 * k)) != 0 {
                bits |= 1 << k;
            }
        }
        bits
    };
    let low = half(&chunk[..8]);
    if low != 0 {
        return low;
    }
    half(&chunk[8..]) << 8
}

#[cfg(not(target_arch = "x86_64"))]
use stops_in_words as stops_in;

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

/// Where text is not JSON: the byte it stops at and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub at: usize,
    pub expected: &'static str,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

impl std::error::Error for Invalid {}

/// How deep arrays and objects may nest: as deep as serde_json parses into a `Value`, so a
/// page this accepts is one every later parse of a part of it accepts too.
const MAX_DEPTH: usize = 127;

/// What one checking pass over a page found at the paths it was given.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Checked<'t> {
    /// The text of the value at each path, `None` where nothing is there. A member named twice
    /// counts as the later one, as a parse keeps it; `[*]` finds nothing (these paths name one
    /// value).
    pub found: Vec<Option<&'t str>>,
    /// The text of each item of the array at the first path, when that is an array.
    pub items: Vec<&'t str>,
}

/// Checks that `text` is one JSON value (RFC 8259), with whitespace around it at most, and
/// finds the values at `paths` on the way: one pass that builds nothing, so a page costs one
/// read of its bytes before its records are walked.
///
/// # Panics
/// With more than 64 paths (callers pass two or three).
pub fn check<'t>(text: &'t str, paths: &[&RecordPath]) -> Result<Checked<'t>, Invalid> {
    assert!(paths.len() <= 64, "at most 64 paths are looked for at once");
    let b = text.as_bytes();
    let fail = |at: usize, expected: &'static str| Err(Invalid { at, expected });
    let mut out = Checked {
        found: vec![None; paths.len()],
        items: Vec::new(),
    };
    let mut open: Vec<Frame> = Vec::new();
    // The paths the value about to start lies on: every path, at the root.
    let mut on: u64 = if paths.is_empty() {
        0
    } else {
        u64::MAX >> (64 - paths.len())
    };
    let mut i = skip_space(b, 0);
    'value: loop {
        let start = i;
        let depth = open.len();
        // The paths whose value this is; the others in `on` go on below it.
        let mut target = 0;
        if on != 0 {
            // A member named twice counts as the later one, as a parse keeps it: what an
            // earlier one held on these paths is forgotten.
            let mut earlier = on;
            while earlier != 0 {
                out.found[earlier.trailing_zeros() as usize] = None;
                earlier &= earlier - 1;
            }
            if on & 1 != 0 {
                out.items.clear();
            }
            for (k, path) in paths.iter().enumerate() {
                if on & (1 << k) != 0 && path.segments().len() == depth {
                    target |= 1 << k;
                }
            }
        }
        match b.get(i) {
            Some(&c @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return fail(i, "at most 127 levels of nesting");
                }
                let object = c == b'{';
                i = skip_space(b, i + 1);
                if b.get(i) == Some(if object { &b'}' } else { &b']' }) {
                    i += 1;
                } else {
                    let items = target & 1 != 0 && !object;
                    let frame = Frame {
                        object,
                        on: on & !target,
                        target,
                        start,
                        index: 0,
                        items,
                    };
                    if object {
                        (i, on) = member_name(text, i, &frame, depth, paths)?;
                    } else {
                        on = frame.child_on(depth, paths, &Segment::Index(0));
                    }
                    open.push(frame);
                    continue 'value;
                }
            }
            Some(b'"') => i = string(b, i + 1)?.0,
            Some(b'-' | b'0'..=b'9') => i = number(b, i)?,
            Some(b't') => i = literal(b, i, b"true")?,
            Some(b'f') => i = literal(b, i, b"false")?,
            Some(b'n') => i = literal(b, i, b"null")?,
            _ => return fail(i, "a value"),
        }
        out.done(text, start..i, target, open.last());
        // After a value: a separator, the end of its container, or the end of the text.
        loop {
            i = skip_space(b, i);
            let depth = open.len().wrapping_sub(1);
            let Some(frame) = open.last_mut() else {
                return match b.get(i) {
                    None => Ok(out),
                    Some(_) => fail(i, "the end of the text"),
                };
            };
            match (frame.object, b.get(i)) {
                (true, Some(b',')) => {
                    (i, on) = member_name(text, skip_space(b, i + 1), frame, depth, paths)?;
                    continue 'value;
                }
                (false, Some(b',')) => {
                    frame.index += 1;
                    on = frame.child_on(depth, paths, &Segment::Index(frame.index));
                    i = skip_space(b, i + 1);
                    continue 'value;
                }
                (true, Some(b'}')) | (false, Some(b']')) => {
                    let frame = open.pop().expect("a frame is open");
                    i += 1;
                    out.done(text, frame.start..i, frame.target, open.last());
                }
                (true, _) => return fail(i, "',' or '}'"),
                (false, _) => return fail(i, "',' or ']'"),
            }
        }
    }
}

/// An object or array being checked.
struct Frame {
    object: bool,
    /// The paths that go on below this container.
    on: u64,
    /// The paths whose value this container is.
    target: u64,
    start: usize,
    /// The item being read, in an array.
    index: usize,
    /// Whether its items are the first path's list.
    items: bool,
}

impl Frame {
    /// The paths that a child of this container (at `depth`), reached by `step`, lies on.
    fn child_on(&self, depth: usize, paths: &[&RecordPath], step: &Segment) -> u64 {
        let mut on = 0;
        if self.on == 0 {
            return on;
        }
        for (k, path) in paths.iter().enumerate() {
            if self.on & (1 << k) != 0 && path.segments().get(depth) == Some(step) {
                on |= 1 << k;
            }
        }
        on
    }
}

impl<'t> Checked<'t> {
    /// Notes a value that ended: as the value of its paths, and as an item of the list.
    fn done(
        &mut self,
        text: &'t str,
        span: std::ops::Range<usize>,
        target: u64,
        parent: Option<&Frame>,
    ) {
        if target != 0 {
            for (k, found) in self.found.iter_mut().enumerate() {
                if target & (1 << k) != 0 {
                    *found = text.get(span.clone());
                }
            }
        }
        if parent.is_some_and(|p| p.items)
            && let Some(item) = text.get(span)
        {
            self.items.push(item);
        }
    }
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// A member's name and its colon, from the name's opening quote, in the object `frame` at
/// `depth`; answers where its value starts and the paths that value lies on.
fn member_name(
    text: &str,
    i: usize,
    frame: &Frame,
    depth: usize,
    paths: &[&RecordPath],
) -> Result<(usize, u64), Invalid> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return Err(Invalid {
            at: i,
            expected: "a member name",
        });
    }
    let (end, escaped) = string(b, i + 1)?;
    let mut on = 0;
    if frame.on != 0 {
        let name = Key(&text[i + 1..end - 1], escaped).name();
        for (k, path) in paths.iter().enumerate() {
            if frame.on & (1 << k) != 0
                && matches!(path.segments().get(depth), Some(Segment::Key(key)) if *key == name)
            {
                on |= 1 << k;
            }
        }
    }
    let i = skip_space(b, end);
    if b.get(i) != Some(&b':') {
        return Err(Invalid {
            at: i,
            expected: "':'",
        });
    }
    Ok((skip_space(b, i + 1), on))
}

/// A string's contents from after its opening quote; answers where it ends and whether it
/// holds escapes.
fn string(b: &[u8], mut i: usize) -> Result<(usize, bool), Invalid> {
    let mut escaped = false;
    loop {
        i = next_stop(b, i, true);
        match b.get(i) {
            Some(b'"') => return Ok((i + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u')
                        if b.get(i + 2..i + 6)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        i += 6;
                    }
                    _ => {
                        return Err(Invalid {
                            at: i,
                            expected: "an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u and 4 hex digits)",
                        });
                    }
                }
            }
            Some(&c) if c < 0x20 => {
                return Err(Invalid {
                    at: i,
                    expected: "no control character unescaped in a string",
                });
            }
            // The last few bytes, fewer than eight.
            Some(_) => i += 1,
            None => {
                return Err(Invalid {
                    at: i,
                    expected: "'\"' closing the string",
                });
            }
        }
    }
}

/// A number, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; answers where it ends.
fn number(b: &[u8], mut i: usize) -> Result<usize, Invalid> {
    let digits = |i: usize| {
        b.get(i..).map_or(0, |rest| {
            rest.iter().take_while(|c| c.is_ascii_digit()).count()
        })
    };
    let fail = |at: usize| {
        Err(Invalid {
            at,
            expected: "a digit",
        })
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return fail(i),
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return fail(i + 1);
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return fail(i);
        }
        i += n;
    }
    Ok(i)
}

fn literal(b: &[u8], i: usize, word: &'static [u8]) -> Result<usize, Invalid> {
    if b.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        Err(Invalid {
            at: i,
            expected: "true, false or null",
        })
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

    #[test]
    fn finds_lists_and_scalars() {
        let body = r#"{"data":[{"id":1}, {"id":"2"} ,[]],"additional_data":{"next_cursor":"a\u0062c"},"n":7,"e\"k":true,"z":null}"#;
        let data = at(body, &path("$.data")).unwrap().unwrap();
        assert_eq!(items(data), Ok(vec![r#"{"id":1}"#, r#"{"id":"2"}"#, "[]"]));
        assert_eq!(items("[]"), Ok(vec![]));
        assert_eq!(items("{}"), Err(Unwalkable));
        let scalar_at = |p: &str| scalar(at(body, &path(p)).unwrap().unwrap()).map(Cow::into_owned);
        assert_eq!(
            scalar_at("$.additional_data.next_cursor").as_deref(),
            Some("abc")
        );
        assert_eq!(scalar_at("$.n").as_deref(), Some("7"));
        assert_eq!(scalar_at("$['e\"k']").as_deref(), Some("true"));
        assert_eq!(scalar_at("$.z"), None);
        assert_eq!(scalar_at("$.data"), None);
        assert_eq!(scalar(r#""plain""#), Some(Cow::Borrowed("plain")));
    }

    #[test]
    fn check_finds_what_a_scan_finds() {
        let text = r#" {"a": {"b": [1, {"c": "x\"}"}]}, "s": "{\"a\": 2}", "a\u0062": 3, "d": 1, "d": [4, 5], "n": null} "#;
        let wanted = [
            "$.d",
            "$.a.b[1].c",
            "$.a.b[0]",
            "$.ab",
            "$.a.b[2]",
            "$.s.a",
            "$.a.b[*]",
            "$",
            "$.n",
            "$.a",
            "$.a.b",
        ]
        .map(path);
        let paths: Vec<&RecordPath> = wanted.iter().collect();
        let checked = check(text, &paths).unwrap();
        for (p, found) in wanted.iter().zip(&checked.found) {
            assert_eq!(*found, at(text, p).unwrap(), "{p}");
        }
        assert_eq!(checked.items, ["4", "5"], "the later of two members");
        let list = path("$.a.b");
        let nested = check(text, &[&list]).unwrap();
        assert_eq!(nested.items, ["1", r#"{"c": "x\"}"}"#]);
        assert!(check("[]", &[&path("$")]).unwrap().items.is_empty());
        assert_eq!(
            check("[[1], 2]", &[&path("$")]).unwrap().items,
            ["[1]", "2"]
        );
        assert_eq!(
            check(r#"{"x": {"y": 1}}"#, &[&path("$.x")]).unwrap().items,
            Vec::<&str>::new(),
            "an object has no items"
        );
    }

    proptest::proptest! {
        /// Where SSE2 is used, it finds the first stop where the word-at-a-time scan does.
        #[test]
        fn both_stop_scans_agree(chunk in proptest::prelude::any::<[u8; 16]>(), control: bool) {
            let first = |stops: u32| (stops != 0).then(|| stops.trailing_zeros());
            let expected = chunk
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || (control && c < 0x20))
                .map(|n| n as u32);
            proptest::prop_assert_eq!(first(stops_in(&chunk, control)), expected);
            proptest::prop_assert_eq!(first(stops_in_words(&chunk, control)), expected);
        }
    }

    /// Checks that `text` is one JSON value, as [`check`] does without looking for anything.
    fn validate(text: &str) -> Result<(), Invalid> {
        check(text, &[]).map(|_| ())
    }

    /// What serde_json accepts as one value, for comparison.
    fn parses(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn validates_as_serde_json_parses() {
        let cases = [
            r#"{"a": [1, -0.5e+3, "x\u00e9\n", true, false, null, {}, []], "b": {"c": 1E2}}"#,
            " [ ] ",
            "\"\"",
            "0",
            "-0",
            "1.0",
            "12e-3",
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a: 1}",
            "[1 2]",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "[true false]",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\u{1}b\"",
            "\"open",
            "[\"a\"] x",
            "{\"a\":}",
            "[,1]",
            "{,}",
            "[1]]",
            "{\"a\":1}}",
            "\"\u{7f}\"",
            "[-]",
            "[0x1]",
            "\"\\ud800\"",
        ];
        for text in cases {
            assert_eq!(validate(text).is_ok(), parses(text), "{text:?}");
        }
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        for n in [126, 127, 128, 129] {
            let parsed = serde_json::from_str::<serde_json::Value>(&deep(n)).is_ok();
            assert_eq!(validate(&deep(n)).is_ok(), parsed, "{n} levels");
        }
    }

    /// Found by the property below: a member named twice replaces, beneath it too, what the
    /// earlier one held, as in a parse.
    #[test]
    fn a_member_named_twice_is_the_later_one_all_the_way_down() {
        let text = r#"{"n": [1, 2], "n": "x"}"#;
        let wanted = ["$.n", "$.n[1]"].map(path);
        let paths: Vec<&RecordPath> = wanted.iter().collect();
        let checked = check(text, &paths).unwrap();
        assert_eq!(checked.found, [Some("\"x\""), None]);
        assert!(checked.items.is_empty());
        let again = check(r#"{"n": [1, 2], "n": []}"#, &paths).unwrap();
        assert_eq!(again.found, [Some("[]"), None]);
        assert!(again.items.is_empty());
    }

    #[test]
    fn says_where_and_what() {
        assert_eq!(
            validate(r#"{"a": [1, 2,]}"#),
            Err(Invalid {
                at: 12,
                expected: "a value"
            })
        );
        assert_eq!(
            validate(r#"{"a": 1} {"#).unwrap_err().to_string(),
            "expected the end of the text at byte 9"
        );
    }

    proptest::proptest! {
        /// Any text, and any valid text cut or with one byte changed, is judged as serde_json
        /// judges it.
        #[test]
        fn agrees_with_serde_json(
            text in "[\\[\\]{}:,\"\\\\ 0-9a-z.eE+-]{0,40}",
            cut in 0usize..200,
            spot in 0usize..200,
            byte in proptest::prelude::any::<u8>(),
        ) {
            proptest::prop_assert_eq!(validate(&text).is_ok(), parses(&text));
            let valid = r#"{"id": "1", "n": [1.5, -2e3, 0], "s": "a\"b\\u00e9", "t": true, "z": null, "o": {"x": []}}"#;
            let cut = &valid[..cut.min(valid.len())];
            proptest::prop_assert_eq!(validate(cut).is_ok(), parses(cut));
            let mut bytes = valid.as_bytes().to_vec();
            let changed_at = spot % bytes.len();
            bytes[changed_at] = byte;
            if let Ok(changed) = std::str::from_utf8(&bytes) {
                proptest::prop_assert_eq!(validate(changed).is_ok(), parses(changed), "{}", changed);
                let wanted = ["$.n", "$.n[1]", "$.o.x", "$.s", "$.id"].map(path);
                let paths: Vec<&RecordPath> = wanted.iter().collect();
                if let Ok(checked) = check(changed, &paths) {
                    for (p, found) in wanted.iter().zip(&checked.found) {
                        proptest::prop_assert_eq!(*found, at(changed, p).unwrap(), "{} in {}", p, changed);
                    }
                    let listed = at(changed, &wanted[0]).unwrap().and_then(|n| items(n).ok());
                    proptest::prop_assert_eq!(Some(checked.items), listed.or(Some(Vec::new())));
                }
            }
        }
    }
}
