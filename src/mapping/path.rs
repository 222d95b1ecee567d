//! JSONPaths compiled once at load time. The common shapes (`$.a.b`, `$.a[0].b`, `$.a[-1].b`,
//! `$.a[*].b`, and equality filters such as `$.a[?@.type == 'x' && @.n == 1].id`) become direct
//! lookups; anything else (other filters, slices, descendants) keeps the parsed RFC 9535 query
//! and runs through the general evaluator.

use std::fmt;

use crmgate_connector_sdk::text::{self, Unwalkable};
use jsonpath_rust::parser::model::{
    Comparable, Comparison, Filter, FilterAtom, JpQuery, Literal, Segment, Selector, SingularQuery,
    SingularQuerySegment,
};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// Longest JSONPath crmgate accepts, from a mapping file or a client; bounds parser work.
pub const MAX_PATH_LEN: usize = 1024;

/// One step of a direct path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Name(Box<str>),
    Index(usize),
    /// A negative index, counted from the end: `[-1]` is `FromEnd(1)`, the last item.
    FromEnd(usize),
    Wildcard,
    /// The children for which every equality holds (`[?@.a.b == 'x' && @.n == 1]`).
    Equals(Box<[Equality]>),
}

/// One `@.<relative> == <literal>` test of a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Equality {
    pub relative: Box<[Step]>,
    pub literal: Value,
}

impl Equality {
    pub(super) fn holds(&self, item: &Value) -> bool {
        lookup(item, &self.relative).is_some_and(|v| same(v, &self.literal))
    }
}

#[derive(Debug, Clone)]
enum Plan {
    Direct(Box<[Step]>),
    General(Box<JpQuery>),
}

/// A JSONPath parsed and planned once, evaluated many times.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    text: Box<str>,
    plan: Plan,
}

/// Why a JSONPath was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSONPath {:?}: {}", self.path, self.reason)
    }
}

/// What a path finds in a document.
#[derive(Debug, PartialEq)]
pub enum Found<'a> {
    Nothing,
    One(&'a Value),
    Many(Vec<&'a Value>),
}

impl CompiledPath {
    /// Parses and plans a path; the error says why it is not valid RFC 9535 JSONPath.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let fail = |reason: String| PathError {
            path: text.to_owned(),
            reason,
        };
        if text.len() > MAX_PATH_LEN {
            return Err(fail(format!("longer than {MAX_PATH_LEN} characters")));
        }
        if !text.starts_with('$') {
            return Err(fail("a JSONPath starts with `$`".to_owned()));
        }
        let query = parse_json_path(text).map_err(|e| fail(describe(&e.to_string())))?;
        let plan = match direct_steps(&query) {
            Some(steps) => Plan::Direct(steps.into_boxed_slice()),
            None => Plan::General(Box::new(query)),
        };
        Ok(Self {
            text: text.into(),
            plan,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The steps of a path that names exactly one location (names and indices only).
    pub fn singular_steps(&self) -> Option<&[Step]> {
        match &self.plan {
            Plan::Direct(steps) if steps.iter().all(Step::is_singular) => Some(steps),
            _ => None,
        }
    }

    /// Whether the path is `$`, the whole document: a write there would replace the vendor
    /// body rather than set a value in it.
    pub fn is_root(&self) -> bool {
        self.singular_steps().is_some_and(<[Step]>::is_empty)
    }

    /// Whether the path can find several values (wildcards, filters, slices, descendants).
    pub fn is_singular(&self) -> bool {
        self.singular_steps().is_some()
    }

    /// The steps of a path a write can follow with one meaning, creating what is missing:
    /// names and indices, and equality filters (`[?@.id == 11].value`) whose tests name members,
    /// so that a missing element can be built from them, and that are followed by a member
    /// none of the tests reads, so that the write cannot undo the match. A wildcard, any other
    /// filter, or a write onto a filter's own members has no such meaning.
    pub fn write_steps(&self) -> Option<&[Step]> {
        let Plan::Direct(steps) = &self.plan else {
            return None;
        };
        steps
            .iter()
            .enumerate()
            .all(|(i, step)| match step {
                Step::Name(_) | Step::Index(_) | Step::FromEnd(_) => true,
                Step::Wildcard => false,
                Step::Equals(tests) => upsertable(tests, &steps[i + 1..]),
            })
            .then_some(steps)
    }

    /// Whether a tenant may write a unified field through the path: see [`Self::write_steps`].
    pub fn is_writable(&self) -> bool {
        self.write_steps().is_some()
    }

    /// The leading member names of the path (`$.properties.amount` → `properties`, `amount`),
    /// which tell a connector which vendor fields to request.
    pub fn name_prefix(&self) -> Vec<String> {
        let mut names = Vec::new();
        match &self.plan {
            Plan::Direct(steps) => {
                for step in steps.iter() {
                    match step {
                        Step::Name(n) => names.push(n.to_string()),
                        _ => break,
                    }
                }
            }
            Plan::General(query) => {
                for segment in &query.segments {
                    match segment {
                        Segment::Selector(Selector::Name(n)) => names.push(n.clone()),
                        _ => break,
                    }
                }
            }
        }
        names
    }

    /// Evaluates the path against a document without copying anything.
    pub fn find<'a>(&self, doc: &'a Value) -> Found<'a> {
        match &self.plan {
            Plan::Direct(steps) => {
                if !steps.iter().all(Step::is_singular) {
                    let mut out = Vec::new();
                    collect(doc, steps, &mut out);
                    Found::Many(out)
                } else {
                    lookup(doc, steps).map_or(Found::Nothing, Found::One)
                }
            }
            Plan::General(query) => match js_path_process(query, doc) {
                Ok(refs) => Found::Many(refs.into_iter().map(|r| r.val).collect()),
                Err(_) => Found::Nothing,
            },
        }
    }

    /// The steps of a direct path; `None` for one the general evaluator runs.
    pub(super) fn steps(&self) -> Option<&[Step]> {
        match &self.plan {
            Plan::Direct(steps) => Some(steps),
            Plan::General(_) => None,
        }
    }

    /// The leading steps a reader can follow without a tree, by member name or index from the
    /// start: `$.a.b[0]` of `$.a.b[0].c[*]`. A path the general evaluator runs has none: it is
    /// evaluated on the whole record.
    pub(super) fn plain_prefix(&self) -> &[Step] {
        match &self.plan {
            Plan::Direct(steps) => {
                let n = steps
                    .iter()
                    .take_while(|s| matches!(s, Step::Name(_) | Step::Index(_)))
                    .count();
                &steps[..n]
            }
            Plan::General(_) => &[],
        }
    }

    /// What the path finds in `doc`, the value at its first `consumed` steps (the whole
    /// document when `consumed` is 0): the same as [`Self::find`] on the document around it.
    /// The values [`Self::find_after`] finds, read from the text of the value at the first
    /// `consumed` steps: only the matches are parsed, not the value around them. `None` where
    /// the tree must answer (a general plan, an object's members through a wildcard).
    pub(super) fn find_after_text(&self, text: &str, consumed: usize) -> Option<Vec<Value>> {
        let Plan::Direct(steps) = &self.plan else {
            return None;
        };
        let mut found = Vec::new();
        collect_text(text, steps.get(consumed..)?, &mut found).ok()?;
        found
            .into_iter()
            .map(|t| serde_json::from_str(t).ok())
            .collect()
    }

    /// Whether [`Self::find_after`] answers one value or nothing, never a list.
    pub(super) fn finds_one(&self) -> bool {
        matches!(&self.plan, Plan::Direct(steps) if steps.iter().all(Step::is_singular))
    }

    pub(super) fn find_after<'a>(&self, doc: &'a Value, consumed: usize) -> Found<'a> {
        match &self.plan {
            Plan::Direct(steps) if steps.iter().all(Step::is_singular) => {
                lookup(doc, &steps[consumed..]).map_or(Found::Nothing, Found::One)
            }
            Plan::Direct(steps) => {
                let mut out = Vec::new();
                collect(doc, &steps[consumed..], &mut out);
                Found::Many(out)
            }
            Plan::General(_) => self.find(doc),
        }
    }

    /// The normalized paths of every match, as step lists, for writes through wildcard and
    /// filter paths.
    pub fn matches(&self, doc: &Value) -> Vec<Vec<Step>> {
        match &self.plan {
            Plan::Direct(steps) => {
                let mut out = Vec::new();
                expand(doc, steps, &mut Vec::new(), &mut out);
                out
            }
            Plan::General(query) => js_path_process(query, doc)
                .map(|refs| {
                    refs.into_iter()
                        .filter_map(|r| normalized_steps(&r.path))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for CompiledPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The parser's multi-line report (position, source excerpt, expectation) as one line.
fn describe(report: &str) -> String {
    let position = report
        .lines()
        .find_map(|l| l.split_once("--> ").map(|(_, p)| p))
        .and_then(|p| p.trim().split(':').nth(1))
        .map(|col| format!("at character {col}: "));
    let expected = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .unwrap_or_else(|| report.lines().next().unwrap_or(report).trim());
    format!("{}{expected}", position.unwrap_or_default())
}

fn direct_steps(query: &JpQuery) -> Option<Vec<Step>> {
    query
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Selector(Selector::Name(n)) => Some(Step::Name(n.as_str().into())),
            Segment::Selector(Selector::Index(i)) => index_step(*i),
            Segment::Selector(Selector::Wildcard) => Some(Step::Wildcard),
            Segment::Selector(Selector::Filter(filter)) => equality_filter(filter),
            _ => None,
        })
        .collect()
}

/// A filter made only of `@.a.b == literal` tests (either way round), joined by `&&` and
/// perhaps parenthesised.
fn equality_filter(filter: &Filter) -> Option<Step> {
    let mut tests = Vec::new();
    equalities(filter, &mut tests)?;
    Some(Step::Equals(tests.into_boxed_slice()))
}

fn equalities(filter: &Filter, out: &mut Vec<Equality>) -> Option<()> {
    match filter {
        Filter::Or(alternatives) => match alternatives.as_slice() {
            [only] => equalities(only, out),
            _ => None,
        },
        Filter::And(all) => all.iter().try_for_each(|f| equalities(f, out)),
        Filter::Atom(FilterAtom::Filter { expr, not: false }) => equalities(expr, out),
        Filter::Atom(FilterAtom::Comparison(comparison)) => {
            out.push(equality(comparison)?);
            Some(())
        }
        Filter::Atom(_) => None,
    }
}

fn equality(comparison: &Comparison) -> Option<Equality> {
    let Comparison::Eq(left, right) = comparison else {
        return None;
    };
    let (query, literal) = match (left, right) {
        (Comparable::SingularQuery(SingularQuery::Current(q)), Comparable::Literal(l))
        | (Comparable::Literal(l), Comparable::SingularQuery(SingularQuery::Current(q))) => (q, l),
        _ => return None,
    };
    let literal = match literal {
        Literal::String(s) => Value::String(s.clone()),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
        Literal::Int(i) => Value::from(*i),
        Literal::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number)?,
    };
    let relative = query
        .iter()
        .map(|segment| match segment {
            SingularQuerySegment::Name(n) => Some(Step::Name(n.as_str().into())),
            SingularQuerySegment::Index(i) => index_step(*i),
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Equality {
        relative: relative.into_boxed_slice(),
        literal,
    })
}

/// RFC 9535 equality: plain JSON equality, except that numbers compare by value (`1 == 1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        _ => a == b,
    }
}

/// Whether a write may build a missing element from `tests` and go on with `rest`: every test
/// and `rest` start with member names, and none of those name lists is a prefix of another
/// (`@.id == 1` followed by `.id`, or `@.a == 1 && @.a.b == 2`, could not hold after the write).
fn upsertable(tests: &[Equality], rest: &[Step]) -> bool {
    let names = |steps: &[Step]| -> Option<Vec<Box<str>>> {
        let names: Vec<Box<str>> = steps
            .iter()
            .map_while(|s| match s {
                Step::Name(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        (!names.is_empty()).then_some(names)
    };
    let mut lists = Vec::with_capacity(tests.len() + 1);
    for test in tests {
        if !test.relative.iter().all(|s| matches!(s, Step::Name(_))) {
            return false;
        }
        let Some(list) = names(&test.relative) else {
            return false;
        };
        lists.push(list);
    }
    let Some(written) = names(rest) else {
        return false;
    };
    lists.push(written);
    lists.iter().enumerate().all(|(i, a)| {
        lists[i + 1..]
            .iter()
            .all(|b| a.iter().zip(b.iter()).any(|(x, y)| x != y))
    })
}

/// An RFC 9535 index as a step: from the start, or from the end when negative.
fn index_step(i: i64) -> Option<Step> {
    if i < 0 {
        usize::try_from(i.unsigned_abs()).ok().map(Step::FromEnd)
    } else {
        usize::try_from(i).ok().map(Step::Index)
    }
}

impl Step {
    /// Whether the step names at most one location.
    fn is_singular(&self) -> bool {
        matches!(self, Step::Name(_) | Step::Index(_) | Step::FromEnd(_))
    }
}

/// The position a step from the end names in an array of `len` items, if there is one.
pub fn from_end(len: usize, back: usize) -> Option<usize> {
    len.checked_sub(back)
}

/// The children of a node, with the step that names each.
fn children(doc: &Value) -> Box<dyn Iterator<Item = (Step, &Value)> + '_> {
    match doc {
        Value::Array(items) => Box::new(items.iter().enumerate().map(|(i, v)| (Step::Index(i), v))),
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (Step::Name(k.as_str().into()), v))),
        _ => Box::new(std::iter::empty()),
    }
}

/// Parses a normalized path as the general evaluator reports it (`$['a'][0]`).
fn normalized_steps(path: &str) -> Option<Vec<Step>> {
    let query = parse_json_path(path).ok()?;
    let steps = direct_steps(&query)?;
    steps.iter().all(Step::is_singular).then_some(steps)
}

fn lookup<'a>(mut doc: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        doc = match (step, doc) {
            (Step::Name(n), Value::Object(map)) => map.get(&**n)?,
            (Step::Index(i), Value::Array(items)) => items.get(*i)?,
            (Step::FromEnd(k), Value::Array(items)) => items.get(from_end(items.len(), *k)?)?,
            _ => return None,
        };
    }
    Some(doc)
}

fn collect<'a>(doc: &'a Value, steps: &[Step], out: &mut Vec<&'a Value>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(doc);
        return;
    };
    match (step, doc) {
        (Step::Name(n), Value::Object(map)) => {
            if let Some(v) = map.get(&**n) {
                collect(v, rest, out);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(v) = items.get(*i) {
                collect(v, rest, out);
            }
        }
        (Step::FromEnd(k), Value::Array(items)) => {
            if let Some(v) = from_end(items.len(), *k).and_then(|i| items.get(i)) {
                collect(v, rest, out);
            }
        }
        (Step::Wildcard, _) => children(doc).for_each(|(_, v)| collect(v, rest, out)),
        (Step::Equals(tests), _) => children(doc)
            .filter(|(_, v)| tests.iter().all(|t| t.holds(v)))
            .for_each(|(_, v)| collect(v, rest, out)),
        _ => {}
    }
}

fn expand(doc: &Value, steps: &[Step], prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(prefix.clone());
        return;
    };
    let mut descend = |next: &Value, step: Step, prefix: &mut Vec<Step>| {
        prefix.push(step);
        expand(next, rest, prefix, out);
        prefix.pop();
    };
    match (step, doc) {
        (Step::Name(n), Value::Object(map)) => {
            if let Some(v) = map.get(&**n) {
                descend(v, step.clone(), prefix);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(v) = items.get(*i) {
                descend(v, step.clone(), prefix);
            }
        }
        (Step::FromEnd(k), Value::Array(items)) => {
            if let Some(i) = from_end(items.len(), *k) {
                descend(&items[i], Step::Index(i), prefix);
            }
        }
        (Step::Wildcard, _) => {
            for (step, v) in children(doc) {
                descend(v, step, prefix);
            }
        }
        (Step::Equals(tests), _) => {
            for (step, v) in children(doc) {
                if tests.iter().all(|t| t.holds(v)) {
                    descend(v, step, prefix);
                }
            }
        }
        _ => {}
    }
}

/// The paths' matches read from JSON text (valid) rather than a tree: what [`collect`] and
/// [`lookup`] find, as the texts of the values, in the same order. Wildcards and filters over
/// an object's members are left to the tree (it orders them by name), as is text the scan
/// cannot read.
fn collect_text<'r>(
    text: &'r str,
    steps: &[Step],
    out: &mut Vec<&'r str>,
) -> Result<(), Unwalkable> {
    let Some((step, rest)) = steps.split_first() else {
        out.push(text);
        return Ok(());
    };
    match (step, text.as_bytes().first()) {
        (Step::Wildcard | Step::Equals(_), Some(b'{')) => return Err(Unwalkable),
        (Step::Wildcard, Some(b'[')) => {
            for item in text::items(text)? {
                collect_text(item, rest, out)?;
            }
        }
        (Step::Equals(tests), Some(b'[')) => {
            for item in text::items(text)? {
                if tests.iter().all(|t| t.holds_text(item)) {
                    collect_text(item, rest, out)?;
                }
            }
        }
        _ => {
            if let Some(child) = lookup_text(text, std::slice::from_ref(step))? {
                collect_text(child, rest, out)?;
            }
        }
    }
    Ok(())
}

/// [`lookup`] on JSON text (valid): singular steps only.
fn lookup_text<'r>(mut text: &'r str, steps: &[Step]) -> Result<Option<&'r str>, Unwalkable> {
    for step in steps {
        let found = match (step, text.as_bytes().first()) {
            (Step::Name(name), Some(b'{')) => text::member(text, name)?,
            (Step::Index(i), Some(b'[')) => text::items(text)?.get(*i).copied(),
            (Step::FromEnd(k), Some(b'[')) => {
                let items = text::items(text)?;
                from_end(items.len(), *k).and_then(|i| items.get(i).copied())
            }
            (Step::Name(_) | Step::Index(_) | Step::FromEnd(_), _) => None,
            (Step::Wildcard | Step::Equals(_), _) => return Err(Unwalkable),
        };
        match found {
            Some(child) => text = child,
            None => return Ok(None),
        }
    }
    Ok(Some(text))
}

impl Equality {
    fn holds_text(&self, item: &str) -> bool {
        lookup_text(item, &self.relative)
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_str::<Value>(v).ok())
            .is_some_and(|v| same(&v, &self.literal))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn common_shapes_are_direct_lookups() {
        let doc = json!({"a": {"b": [{"c": 1}, {"c": 2}]}, "x y": "spaced"});
        let p = CompiledPath::parse("$.a.b[1].c").unwrap();
        assert!(p.is_singular());
        assert_eq!(p.find(&doc), Found::One(&json!(2)));
        let p = CompiledPath::parse("$.a.b[*].c").unwrap();
        assert!(!p.is_singular());
        assert_eq!(p.find(&doc), Found::Many(vec![&json!(1), &json!(2)]));
        let p = CompiledPath::parse("$['x y']").unwrap();
        assert_eq!(p.find(&doc), Found::One(&json!("spaced")));
        assert_eq!(
            CompiledPath::parse("$.a.zz").unwrap().find(&doc),
            Found::Nothing
        );
    }

    #[test]
    fn equality_filters_are_direct_and_others_general() {
        let doc = json!({"r": [{"t": "x", "id": "1", "n": 1}, {"t": "y", "id": "2", "n": 2.0}]});
        let p = CompiledPath::parse("$.r[?@.t == 'y'].id").unwrap();
        assert!(matches!(p.plan, Plan::Direct(_)));
        let reversed = CompiledPath::parse("$.r[?'x' == @.t].id").unwrap();
        assert_eq!(reversed.find(&doc), Found::Many(vec![&json!("1")]));
        let numeric = CompiledPath::parse("$.r[?@.n == 2].id").unwrap();
        assert!(matches!(numeric.plan, Plan::Direct(_)));
        assert_eq!(numeric.find(&doc), Found::Many(vec![&json!("2")]));
        let other = CompiledPath::parse("$.r[?@.n > 1].id").unwrap();
        assert!(matches!(other.plan, Plan::General(_)));
        assert!(!p.is_singular());
        assert_eq!(p.find(&doc), Found::Many(vec![&json!("2")]));
        assert_eq!(
            p.matches(&doc),
            vec![vec![
                Step::Name("r".into()),
                Step::Index(1),
                Step::Name("id".into())
            ]]
        );
        assert_eq!(p.name_prefix(), ["r"]);
    }

    #[test]
    fn bad_paths_say_why() {
        assert!(
            CompiledPath::parse("properties.amount")
                .unwrap_err()
                .reason
                .contains('$')
        );
        let err = CompiledPath::parse("$.a[").unwrap_err();
        assert!(
            err.reason.starts_with("at character 5: expected"),
            "{}",
            err.reason
        );
        assert!(CompiledPath::parse(&format!("$.{}", "a".repeat(MAX_PATH_LEN))).is_err());
    }

    #[test]
    fn negative_indices_count_from_the_end() {
        let doc = json!({"a": [{"id": 1}, {"id": 2}], "e": []});
        let p = CompiledPath::parse("$.a[-1].id").unwrap();
        assert!(p.is_singular(), "[-1] names one location");
        assert_eq!(p.find(&doc), Found::One(&json!(2)));
        assert_eq!(
            CompiledPath::parse("$.a[-2].id").unwrap().find(&doc),
            Found::One(&json!(1))
        );
        assert_eq!(
            CompiledPath::parse("$.a[-3].id").unwrap().find(&doc),
            Found::Nothing
        );
        assert_eq!(
            CompiledPath::parse("$.e[-1]").unwrap().find(&doc),
            Found::Nothing
        );
        let filtered = CompiledPath::parse("$.r[?@.t[-1] == 'x'].id").unwrap();
        let doc = json!({"r": [{"t": ["a", "x"], "id": "1"}, {"t": ["x", "a"], "id": "2"}]});
        assert_eq!(filtered.find(&doc), Found::Many(vec![&json!("1")]));
    }

    #[test]
    fn name_prefix_stops_at_the_first_non_name() {
        let p = CompiledPath::parse("$.associations.contacts.results[*].id").unwrap();
        assert_eq!(p.name_prefix(), ["associations", "contacts", "results"]);
    }
}
