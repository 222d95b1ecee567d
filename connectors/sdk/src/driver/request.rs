//! One vendor call built from a manifest operation: the path and query templates filled, the
//! page asked for as the pagination says, filters and the sort encoded as the operation says,
//! and `pass_through` parameters where the vendor reads them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};
use url::Url;

use super::Position;
use crate::manifest::{
    BodyFilters, Direction, FieldPlace, FieldSelection, FilterEncoding, JsonTemplate,
    ListOperation, Method, PageNumberPagination, Pagination, Place, RecordId, RecordPath, Segment,
    SortEncoding, Template,
};
use crate::text;
use crate::{
    CallContext, Comparison, ConnectorError, ErrorKind, Result, SortDirection, VendorFilter,
    VendorRequest, VendorSort, extend_search_body, id_text,
};

/// A vendor call being built.
pub(super) struct Build {
    method: http::Method,
    url: Url,
    query: Vec<(String, String)>,
    body: Option<Value>,
    /// The order a keyset pages in when the client asks for none.
    implied_sort: Option<String>,
    /// The call goes to a link the vendor gave, which carries its own query.
    link: bool,
    /// Headers the operation adds.
    headers: http::HeaderMap,
}

/// What `{where}` and `{order_by}` render as in a list's query until the filters and the sort
/// are known: characters no setting or template holds, replaced before the call is sent.
const WHERE: &str = "\u{1}where\u{1}";
const ORDER_BY: &str = "\u{1}order_by\u{1}";
const SELECT: &str = "\u{1}select\u{1}";

/// How the next page is found once the answer is in.
pub(super) enum Continuation<'p> {
    Cursor(&'p RecordPath),
    PageNumber {
        page: u64,
        size: u32,
        more: Option<&'p RecordPath>,
    },
    Offset {
        offset: u64,
        size: u32,
        more: Option<&'p RecordPath>,
    },
    Keyset {
        size: u32,
        more: Option<&'p RecordPath>,
    },
    /// The answer was the whole list.
    End,
}

impl Build {
    pub fn new(
        cx: &CallContext,
        method: Method,
        path: &Template,
        query: &BTreeMap<String, Template>,
        body: Option<&JsonTemplate>,
        id: Option<&str>,
    ) -> Result<Self> {
        let vars = |name: &str| var(cx, id, name);
        let path = path.render(vars)?;
        let query = query
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.render(vars)?)))
            .collect::<Result<_>>()?;
        let body = match body {
            Some(template) => Some(template.fill(&|name| var(cx, id, name))?),
            None if matches!(method, Method::Post | Method::Put | Method::Patch) => {
                Some(Value::Object(Map::new()))
            }
            None => None,
        };
        Ok(Self {
            method: method.as_http(),
            url: cx.url(&path),
            query,
            body,
            implied_sort: None,
            link: false,
            headers: http::HeaderMap::new(),
        })
    }

    /// Adds the operation's headers, rendered from the settings.
    pub fn headers(
        &mut self,
        cx: &CallContext,
        headers: &BTreeMap<String, Template>,
    ) -> Result<()> {
        for (name, template) in headers {
            let value = template.render(|name| var(cx, None, name))?;
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .expect("header names are checked when the manifest loads");
            let value = http::HeaderValue::from_str(&value).map_err(|_| {
                ConnectorError::new(
                    ErrorKind::MissingSetting(name.to_string()),
                    format!("The {name} header of the list is no header value with this connection's settings."),
                )
            })?;
            self.headers.insert(name, value);
        }
        Ok(())
    }

    /// Writes an expression where the query says `{where}` or `{order_by}`.
    fn inline(&mut self, placeholder: &str, expression: &str) {
        for (_, value) in &mut self.query {
            if value.contains(placeholder) {
                *value = value.replace(placeholder, expression);
            }
        }
    }

    /// Puts a parameter where `place` says: the query as text, or the body as JSON.
    fn put(&mut self, place: Place, name: &str, value: Value) {
        match (place, &mut self.body) {
            (Place::Body, Some(Value::Object(body))) => {
                body.insert(name.to_owned(), value);
            }
            _ => self.query.push((name.to_owned(), id_text(&value))),
        }
    }

    /// Where parameters go that a pagination does not place itself: the body of a call that
    /// has one.
    fn default_place(&self) -> Place {
        if self.body.is_some() {
            Place::Body
        } else {
            Place::Query
        }
    }

    /// Asks for the page at `cursor` (the first page without one) of `limit` records.
    pub fn paging<'p>(
        &mut self,
        pagination: &'p Pagination,
        filters: Option<&FilterEncoding>,
        id: &RecordId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Continuation<'p>> {
        Ok(match pagination {
            Pagination::Cursor(p) => {
                self.put(p.place, &p.page_size.param, limit.into());
                if let Some(cursor) = cursor {
                    self.put(p.place, &p.param, cursor.into());
                }
                Continuation::Cursor(&p.next)
            }
            Pagination::NextLink(p) => {
                match cursor {
                    // A link may be a path on the API's host (Salesforce's nextRecordsUrl).
                    // It stays on the list's own origin, whatever the vendor's answer said.
                    Some(link) => {
                        let next = self.url.join(link).map_err(|_| foreign())?;
                        if next.origin() != self.url.origin() {
                            return Err(foreign());
                        }
                        self.url = next;
                        self.link = true;
                    }
                    None if p.sends_size => {
                        self.put(self.default_place(), &p.page_size.param, limit.into());
                    }
                    None => {}
                }
                Continuation::Cursor(&p.next)
            }
            Pagination::PageNumber(p) => {
                // The page size stays that of the first page, so a client changing `limit`
                // midway skips nothing.
                let (page, size) = match cursor {
                    None => (u64::from(p.first), limit),
                    Some(c) => page_cursor(p, c).ok_or_else(foreign)?,
                };
                self.put(p.place, &p.param, page.into());
                self.put(p.place, &p.page_size.param, size.into());
                Continuation::PageNumber {
                    page,
                    size,
                    more: p.more.as_ref(),
                }
            }
            Pagination::Offset(p) => {
                let offset: u64 = match cursor {
                    None => 0,
                    Some(c) => c.parse().map_err(|_| foreign())?,
                };
                if let Some(max) = p.max_offset
                    && offset + u64::from(limit) > max
                {
                    return Err(ConnectorError::new(
                        ErrorKind::Unsupported,
                        format!(
                            "The CRM serves at most {max} records of a list in this order; remove sort[by] to page through every record."
                        ),
                    ));
                }
                if cursor.is_some() {
                    let value = if p.text {
                        Value::String(offset.to_string())
                    } else {
                        offset.into()
                    };
                    self.put(p.place, &p.param, value);
                }
                self.put(p.place, &p.page_size.param, limit.into());
                Continuation::Offset {
                    offset,
                    size: limit,
                    more: p.more.as_ref(),
                }
            }
            Pagination::Keyset(p) => {
                if let Some(after) = cursor {
                    if id.format == crate::manifest::IdFormat::Integer {
                        ConnectorError::check_integer_id(after).map_err(|_| foreign())?;
                    }
                    let Some(FilterEncoding::List(list)) = filters else {
                        return Err(ConnectorError::new(
                            ErrorKind::Unsupported,
                            "A keyset list needs filters of type list.",
                        ));
                    };
                    let item = p.after.fill(&|name| match name {
                        "field" => Ok(Cow::Borrowed(p.field.as_str())),
                        _ => Ok(Cow::Borrowed(after)),
                    })?;
                    self.push(&list.at, item);
                }
                self.implied_sort = Some(p.field.clone());
                self.put(self.default_place(), &p.page_size.param, limit.into());
                Continuation::Keyset {
                    size: limit,
                    more: p.more.as_ref(),
                }
            }
            Pagination::All(_) => Continuation::End,
        })
    }

    /// Names the fields a read asks for; nothing when there are none to name.
    pub fn select(&mut self, selection: &FieldSelection, names: &[String]) {
        match selection.place {
            FieldPlace::Body => self.put(Place::Body, &selection.param, names.into()),
            FieldPlace::Query if names.is_empty() => {}
            FieldPlace::Query => self.query.push((selection.param.clone(), names.join(","))),
            FieldPlace::Select => self.inline(SELECT, &names.join(", ")),
        }
    }

    /// Encodes the list's filters. A query parameter or body field names its comparison
    /// itself (`updated_since`, `date_updated__gte`); a filter list says it in its item.
    pub fn filters(&mut self, op: &ListOperation, filters: &[VendorFilter]) -> Result<()> {
        if filters.is_empty() {
            return Ok(());
        }
        match &op.filters {
            None => Err(ConnectorError::new(
                ErrorKind::Unsupported,
                "This list of the CRM takes no filters.",
            )),
            Some(FilterEncoding::Query(_)) => {
                for f in filters {
                    self.query.push((f.field.clone(), id_text(&f.value)));
                }
                Ok(())
            }
            Some(FilterEncoding::Body(BodyFilters { at: None })) => {
                for f in filters {
                    self.put(Place::Body, &f.field, f.value.clone());
                }
                Ok(())
            }
            Some(FilterEncoding::Body(BodyFilters { at: Some(at) })) => {
                for f in filters {
                    let object = self.slot(at);
                    if !object.is_object() {
                        *object = Value::Object(Map::new());
                    }
                    if let Value::Object(members) = object {
                        members.insert(f.field.clone(), f.value.clone());
                    }
                }
                Ok(())
            }
            Some(FilterEncoding::Expression(expression)) => {
                let mut conditions = Vec::with_capacity(filters.len());
                for f in filters {
                    let template =
                        condition(f.comparison, &expression.equals, expression.since.as_ref())?;
                    let literal =
                        super::literal::write(expression.dialect, &f.value, f.comparison)?;
                    conditions.push(template.render(|name| {
                        Ok::<_, ConnectorError>(Cow::Borrowed(match name {
                            "field" => f.field.as_str(),
                            _ => literal.as_str(),
                        }))
                    })?);
                }
                let text = format!("{}{}", expression.prefix, conditions.join(&expression.join));
                self.inline(WHERE, &text);
                Ok(())
            }
            Some(FilterEncoding::List(list)) => {
                for f in filters {
                    let template = condition(f.comparison, &list.item, list.since.as_ref())?;
                    let value = id_text(&f.value);
                    let item = template.fill(&|name| {
                        Ok(Cow::Borrowed(match name {
                            "field" => f.field.as_str(),
                            _ => value.as_str(),
                        }))
                    })?;
                    self.push(&list.at, item);
                }
                Ok(())
            }
        }
    }

    /// Encodes the client's sort, or else the order the list keeps without one.
    pub fn sort(&mut self, op: &ListOperation, sort: Option<&VendorSort>) -> Result<()> {
        let (field, direction) = match (sort, &op.default_sort, &self.implied_sort) {
            (Some(s), _, _) => (s.field.clone(), s.direction),
            (None, Some(d), _) => (
                d.field.clone(),
                match d.direction {
                    Direction::Ascending => SortDirection::Ascending,
                    Direction::Descending => SortDirection::Descending,
                },
            ),
            (None, None, Some(field)) => (field.clone(), SortDirection::Ascending),
            (None, None, None) => return Ok(()),
        };
        let Some(encoding) = &op.sort else {
            return Err(ConnectorError::new(
                ErrorKind::Unsupported,
                "This list of the CRM cannot be sorted.",
            ));
        };
        match encoding {
            SortEncoding::Params(p) => {
                let word = word_of(direction, &p.ascending, &p.descending).to_owned();
                self.put(p.place, &p.field, field.into());
                self.put(p.place, &p.direction, word.into());
            }
            SortEncoding::Param(p) => {
                let value = word_of(direction, &p.ascending, &p.descending)
                    .render(|_| Ok::<_, std::convert::Infallible>(Cow::Borrowed(field.as_str())))
                    .unwrap_or_else(|never| match never {});
                self.put(p.place, &p.name, value.into());
            }
            SortEncoding::List(list) => {
                let word = word_of(direction, &list.ascending, &list.descending);
                let item = list.item.fill(&|name| {
                    Ok(Cow::Borrowed(match name {
                        "field" => field.as_str(),
                        _ => word,
                    }))
                })?;
                self.push(&list.at, item);
            }
            SortEncoding::Expression(sort) => {
                let word = word_of(direction, &sort.ascending, &sort.descending);
                let item = sort.item.render(|name| {
                    Ok::<_, std::convert::Infallible>(Cow::Borrowed(match name {
                        "field" => field.as_str(),
                        _ => word.as_str(),
                    }))
                });
                let item = item.unwrap_or_else(|never| match never {});
                self.inline(ORDER_BY, &format!("{}{item}", sort.prefix));
            }
        }
        Ok(())
    }

    /// `pass_through[k]=v`: in the URL of a GET, in the body of a call that reads only its
    /// body.
    pub fn pass_through(&mut self, query: &[(String, String)]) -> Result<()> {
        match &mut self.body {
            Some(Value::Object(body)) => extend_search_body(body, query),
            _ => {
                self.query.extend(query.iter().cloned());
                Ok(())
            }
        }
    }

    /// The mapped record of a write, over the fields the operation's body always carries.
    pub fn merge_body(&mut self, mapped: Value) {
        match (&mut self.body, mapped) {
            (Some(Value::Object(body)), Value::Object(mapped)) => body.extend(mapped),
            (body, mapped) => *body = Some(mapped),
        }
    }

    /// Appends `item` to the list at `at` in the body, creating what is missing on the way.
    /// The place `at` names in the body, made (objects and arrays on the way) when missing.
    fn slot(&mut self, at: &RecordPath) -> &mut Value {
        let mut here = self.body.get_or_insert_with(|| Value::Object(Map::new()));
        for segment in at.segments() {
            here = match segment {
                Segment::Key(k) => {
                    if !here.is_object() {
                        *here = Value::Object(Map::new());
                    }
                    here.as_object_mut()
                        .expect("made an object above")
                        .entry(k.clone())
                        .or_insert(Value::Null)
                }
                Segment::Index(i) => {
                    if !here.is_array() {
                        *here = Value::Array(Vec::new());
                    }
                    let items = here.as_array_mut().expect("made an array above");
                    while items.len() <= *i {
                        items.push(Value::Null);
                    }
                    &mut items[*i]
                }
                Segment::Each => here,
            };
        }
        here
    }

    fn push(&mut self, at: &RecordPath, item: Value) {
        match self.slot(at) {
            Value::Array(items) => items.push(item),
            other => *other = Value::Array(vec![item]),
        }
    }

    /// The call; `repeatable` marks a call that only reads (a search by POST).
    pub fn finish(mut self, repeatable: bool) -> VendorRequest {
        // No filters or no sort: their places in the query stay empty, and a parameter that
        // held nothing else is not sent (an empty `$filter` is an error to OData).
        self.query.retain_mut(|(_, value)| {
            let inlined = [WHERE, ORDER_BY, SELECT].iter().any(|m| value.contains(m));
            if inlined {
                *value = value
                    .replace(WHERE, "")
                    .replace(ORDER_BY, "")
                    .replace(SELECT, "");
            }
            !(inlined && value.is_empty())
        });
        if !self.link && !self.query.is_empty() {
            self.url.query_pairs_mut().extend_pairs(&self.query);
        }
        let mut rq = VendorRequest::new(self.method, self.url);
        rq.headers = self.headers;
        if let Some(body) = self.body {
            rq = rq.json(body);
        }
        if repeatable {
            rq = rq.read_only();
        }
        rq
    }
}

/// The template of a filter's comparison: an equality's, or a lower bound's where the list
/// takes one.
fn condition<'t, T>(comparison: Comparison, equals: &'t T, since: Option<&'t T>) -> Result<&'t T> {
    match (comparison, since) {
        (Comparison::Equals, _) => Ok(equals),
        (Comparison::AtLeast, Some(since)) => Ok(since),
        (Comparison::AtLeast, None) => Err(ConnectorError::new(
            ErrorKind::Unsupported,
            "This list of the CRM takes no lower bounds as filters.",
        )),
    }
}

fn word_of<'w, T: ?Sized>(direction: SortDirection, ascending: &'w T, descending: &'w T) -> &'w T {
    match direction {
        SortDirection::Ascending => ascending,
        SortDirection::Descending => descending,
    }
}

impl<'p> Continuation<'p> {
    /// The path in the answer's body this reads (the cursor, or whether there is more).
    pub fn body_path(&self) -> Option<&'p RecordPath> {
        match self {
            Continuation::Cursor(path) => Some(path),
            Continuation::PageNumber { more, .. }
            | Continuation::Offset { more, .. }
            | Continuation::Keyset { more, .. } => *more,
            Continuation::End => None,
        }
    }

    /// The vendor cursor of the page after this one, `None` at the end of the list; `found` is
    /// the text at [`Self::body_path`] of the answer.
    pub fn next(
        &self,
        found: Option<&str>,
        records: &[&str],
        id: &RecordPath,
        status: u16,
    ) -> Result<Option<String>> {
        let more = |more: Option<&RecordPath>, size: u32| match more {
            Some(_) => found.is_some_and(|v| v != "null" && v != "false"),
            None => records.len() >= size as usize,
        };
        Ok(match self {
            Continuation::Cursor(_) => found.and_then(text::scalar).map(Cow::into_owned),
            Continuation::PageNumber {
                page,
                size,
                more: m,
            } => more(*m, *size).then(|| format!("{}:{size}", page + 1)),
            Continuation::Offset {
                offset,
                size,
                more: m,
            } => more(*m, *size).then(|| (offset + records.len() as u64).to_string()),
            Continuation::Keyset { size, more: m } => match records.last() {
                Some(last) if more(*m, *size) => text::at(last, id)
                    .map_err(|_| {
                        ConnectorError::unreadable(status, &format!("its last record has no {id}"))
                    })?
                    .and_then(text::scalar)
                    .map(Cow::into_owned),
                _ => None,
            },
            Continuation::End => None,
        })
    }
}

/// A page-number cursor, `page:size`, when it is one this list could have given out.
fn page_cursor(p: &PageNumberPagination, cursor: &str) -> Option<(u64, u32)> {
    let (page, size) = cursor.split_once(':')?;
    let (page, size): (u64, u32) = (page.parse().ok()?, size.parse().ok()?);
    (page >= u64::from(p.first) && (1..=p.page_size.maximum).contains(&size))
        .then_some((page, size))
}

/// A list that pages by counting records (an offset or a page number). A position in it is a
/// number of records from the start of the list, which a record added or deleted before it
/// shifts; the driver reads such lists with an overlap (see [`super::list`]).
pub(super) enum Counted<'p> {
    Offset,
    Pages(&'p PageNumberPagination),
}

impl<'p> Counted<'p> {
    /// The counting form of a pagination and how many records it overlaps; `None` for one
    /// that does not count.
    pub fn of(pagination: &'p Pagination) -> Option<(Self, u32)> {
        match pagination {
            Pagination::Offset(p) => Some((Counted::Offset, p.overlap)),
            Pagination::PageNumber(p) => Some((Counted::Pages(p), p.overlap)),
            _ => None,
        }
    }

    /// How many records of the list lie before `at`; `None` for a cursor this list did not
    /// give out, which the read then refuses.
    pub fn before(&self, at: &Position) -> Option<u64> {
        let start = match (self, at.vendor.as_deref()) {
            (_, None) => 0,
            (Counted::Offset, Some(offset)) => offset.parse().ok()?,
            (Counted::Pages(p), Some(c)) => {
                let (page, size) = page_cursor(p, c)?;
                (page - u64::from(p.first)) * u64::from(size)
            }
        };
        start.checked_add(u64::from(at.skip))
    }

    /// One vendor call's window from `n` records into the list: where it starts and how
    /// many of the `want` records from there it holds, at most `maximum` (the vendor's
    /// largest page). Offsets start anywhere; numbered pages start at multiples of their
    /// size, so the size is the one, up to the largest, whose page holds most of them (the
    /// smallest such size, to read little before `n`).
    pub fn window(&self, n: u64, want: u64, maximum: u32) -> (Position, u64) {
        let want = want.clamp(1, u64::from(maximum));
        match self {
            Counted::Offset => (
                Position {
                    vendor: (n > 0).then(|| n.to_string()),
                    ..Position::default()
                },
                want,
            ),
            Counted::Pages(p) => {
                let maximum = u64::from(p.page_size.maximum.min(maximum));
                let held = |size: u64| ((n / size + 1) * size - n).min(want);
                let size = (1..=maximum)
                    .rev()
                    .max_by_key(|&size| held(size))
                    .unwrap_or(1);
                let position = Position {
                    vendor: Some(format!("{}:{size}", u64::from(p.first) + n / size)),
                    skip: (n % size) as u32,
                    seen: Vec::new(),
                };
                (position, held(size))
            }
        }
    }
}

/// A cursor no page of this list gave out.
fn foreign() -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Unsupported,
        "The cursor does not belong to this list.",
    )
}

/// A placeholder's value: the record id, or a non-secret setting of the connection.
fn var<'v>(cx: &'v CallContext, id: Option<&'v str>, name: &str) -> Result<Cow<'v, str>> {
    match (name, id) {
        ("id", Some(id)) => Ok(Cow::Borrowed(id)),
        // Only a query-language list's query names these (the manifest check sees to it).
        ("where", _) => Ok(Cow::Borrowed(WHERE)),
        ("order_by", _) => Ok(Cow::Borrowed(ORDER_BY)),
        ("select", _) => Ok(Cow::Borrowed(SELECT)),
        _ => cx.settings.get(name).map(Cow::Borrowed).ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::MissingSetting(name.to_owned()),
                format!("The connection has no value for the setting {name:?}."),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(maximum: u32) -> PageNumberPagination {
        serde_saphyr::from_str(&format!(
            "param: page\nfirst: 1\npage_size: {{ param: size, maximum: {maximum} }}\noverlap: 5\n"
        ))
        .unwrap()
    }

    fn position(vendor: &str, skip: u32) -> Position {
        Position {
            vendor: Some(vendor.into()),
            skip,
            seen: Vec::new(),
        }
    }

    #[test]
    fn a_numbered_window_is_the_page_that_holds_most_of_it() {
        let p = pages(200);
        let pages = Counted::Pages(&p);
        // From the start any size of at least the want holds all; the smallest is asked for.
        assert_eq!(pages.window(0, 20, 200), (position("1:20", 0), 20));
        // Records 195.. : page 2 of 195 holds 195 of them, no page of 196..200 more than 5.
        assert_eq!(pages.window(195, 205, 200), (position("2:195", 0), 195));
        // Records 385.. : page 3 of 192 starts at 384 and holds 191.
        assert_eq!(pages.window(385, 205, 200), (position("3:192", 1), 191));
        // The connector's maximum binds too.
        assert_eq!(pages.window(0, 500, 50), (position("1:50", 0), 50));
    }

    #[test]
    fn positions_count_records_from_the_start() {
        let p = pages(200);
        let pages = Counted::Pages(&p);
        assert_eq!(pages.before(&Position::default()), Some(0));
        assert_eq!(pages.before(&position("3:192", 1)), Some(385));
        assert_eq!(pages.before(&position("0:20", 0)), None, "pages start at 1");
        assert_eq!(
            pages.before(&position("2:201", 0)),
            None,
            "above the maximum"
        );
        assert_eq!(Counted::Offset.before(&position("40", 2)), Some(42));
        assert_eq!(Counted::Offset.before(&position("forty", 0)), None);
        assert_eq!(Counted::Offset.window(40, 10, 100), (position("40", 0), 10));
        assert_eq!(Counted::Offset.window(0, 10, 100).0, Position::default());
    }
}
