//! The one runtime of every connector: list, get, create, update and delete of any resource,
//! run from the connector's manifest. The driver builds each vendor call (path, query, body,
//! paging, filters, sort, auth and budget through [`crate::OutboundClient`]), reads the answer
//! at the manifest's paths, classifies errors by its rules, and fills a unified page from as
//! many vendor pages as it takes. A connector's code only overrides the hooks of
//! [`Connector`] where its vendor has a quirk the manifest cannot say.

mod embed;
mod errors;
mod hydrate;
mod literal;
pub mod lookup;
mod request;

use std::borrow::Cow;

use serde_json::Value;

use crate::manifest::{
    EmptyAnswer, FieldSelection, IdFormat, ListOperation, Pagination, ResourceSpec,
};
use crate::text;
use crate::{
    CallContext, Connector, ConnectorError, DeleteRequest, ErrorKind, GetRequest, ListQuery,
    ListRequest, Operation, Page, ReadFields, Record, Resource, Result, VendorFilter,
    VendorRequest, VendorResponse, VendorSort, WriteRequest,
};
use request::{Build, Counted};

pub use lookup::LookupCache;

/// What a hook is called for.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub resource: Resource,
    pub operation: Operation,
    /// The vendor fields the mapping will read (reads only).
    pub fields: Option<ReadFields<'a>>,
    /// Whether a list goes through the manifest's `search` (filters or a sort were given).
    pub search: bool,
}

/// Where a unified list continues: the vendor's cursor of the page it starts in (`None` for
/// the first) and how many records of that page earlier unified pages already served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    pub vendor: Option<String>,
    pub skip: u32,
    /// The ids of the records served last, oldest first, on a list that pages with an overlap.
    pub seen: Vec<String>,
}

/// A filled unified page: vendor records in vendor order, where the next page starts (`None`
/// at the end of the list), and the vendor pages as received when asked for.
#[derive(Debug, Clone, Default)]
pub struct UnifiedPage {
    pub records: Vec<Record>,
    pub next: Option<Position>,
    pub raw: Vec<bytes::Bytes>,
}

/// Fills one unified page from `from` on.
///
/// A list that pages by counting records (offset, page number) and declares an `overlap`
/// stays exact while records are added and deleted: a position there is a count of records,
/// which a change before it shifts. So the next page is read from `overlap` records earlier
/// (those the cursor remembers as served last), the list goes on after the last of them still
/// there, and a record served under the cursor is never served again. What remains: when
/// every remembered record is gone (all deleted) or more records than the unified page holds
/// were inserted before them, the list goes on where the cursor pointed, as plain offsets do.
pub async fn list<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    q: ListQuery<'_>,
    from: Position,
) -> Result<UnifiedPage> {
    let spec = resource(connector, q.resource)?;
    let (_, pagination, _) = list_operation(connector, spec, q.resource, q.filters, q.sort)?;
    match Counted::of(pagination) {
        Some((counted, overlap)) if overlap > 0 => {
            overlapping(connector, cx, q, from, &counted, overlap as usize).await
        }
        _ => fill(connector, cx, q, from).await,
    }
}

/// [`list`] over a counting pagination with an overlap of `overlap` records. Each vendor
/// call reads one window of the list, and a page costs as many calls as it would without
/// the overlap (one per vendor page it needs), so a page may hold a few records fewer than
/// `limit` while the list goes on.
async fn overlapping<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    q: ListQuery<'_>,
    from: Position,
    counted: &Counted<'_>,
    overlap: usize,
) -> Result<UnifiedPage> {
    let Some(before) = counted.before(&from) else {
        // A cursor this list did not give out: the read refuses it.
        return fill(connector, cx, q, from).await;
    };
    let max = connector.max_page_size(q.resource);
    // What the cursor remembers, then the ids this page serves.
    let remembered = from.seen.len();
    let mut seen = from.seen;
    // Records served before the cursor that the first call reads again.
    let mut rewound = remembered.min(usize::try_from(before).unwrap_or(usize::MAX));
    let mut start = before - rewound as u64;
    let mut calls = q.limit.div_ceil(max as usize);
    let mut out = UnifiedPage {
        records: Vec::with_capacity(q.limit),
        ..UnifiedPage::default()
    };
    let more = loop {
        let want = (q.limit - out.records.len() + rewound) as u64;
        let (at, count) = counted.window(start, want, max);
        let read = fill(connector, cx, q.with_limit(count as usize), at).await?;
        calls -= 1;
        out.raw.extend(read.raw);
        let held = read.records.len();
        let ids: Vec<Option<String>> = read
            .records
            .iter()
            .map(|r| record_id(connector, q.resource, r))
            .collect();
        // The list goes on after the most recently served record still there.
        let mut consumed = match rewound {
            0 => 0,
            n => seen[seen.len() - n..]
                .iter()
                .rev()
                .find_map(|last| ids.iter().position(|id| id.as_ref() == Some(last)))
                .map_or(n.min(held), |at| at + 1),
        };
        rewound = 0;
        for (record, id) in read.records.into_iter().zip(ids).skip(consumed) {
            if out.records.len() == q.limit {
                break;
            }
            consumed += 1;
            if id
                .as_ref()
                .is_some_and(|id| seen[..remembered].contains(id))
            {
                continue;
            }
            out.records.push(record);
            seen.extend(id);
        }
        start += consumed as u64;
        let goes_on = consumed < held || read.next.is_some();
        if !goes_on || held == 0 || out.records.len() == q.limit || calls == 0 {
            break goes_on;
        }
    };
    let keep = seen.len().saturating_sub(overlap);
    out.next = more.then(|| Position {
        seen: seen.split_off(keep),
        ..counted.window(start, q.limit as u64, max).0
    });
    Ok(out)
}

/// Fills one unified page from `from` on. Vendor pages are windows onto one stream of
/// records: a page that holds more than the unified page takes is read again by the next
/// unified page, skipping what was served; one that holds fewer records than are to be
/// skipped passes the rest of the skip on.
async fn fill<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    q: ListQuery<'_>,
    from: Position,
) -> Result<UnifiedPage> {
    let Position {
        vendor: mut cursor,
        mut skip,
        ..
    } = from;
    let max = connector.max_page_size(q.resource);
    let mut out = UnifiedPage {
        records: Vec::with_capacity(q.limit),
        ..UnifiedPage::default()
    };
    let more = loop {
        let take = (q.limit - out.records.len()) as u32;
        let page = connector
            .list(
                cx,
                ListRequest {
                    list: q,
                    limit: skip.saturating_add(take).min(max),
                    skip,
                    take,
                    cursor: cursor.as_deref(),
                },
            )
            .await?;
        check_records(connector, q.resource, &page.records)?;
        let taken = page.records.len();
        out.records.extend(page.records);
        out.raw.extend(page.raw);
        if (skip as usize).saturating_add(taken) < page.held {
            skip += taken as u32;
            break true;
        }
        skip = (skip as usize).saturating_sub(page.held) as u32;
        cursor = page.next;
        // A vendor that answers an empty page with a next cursor is not followed further here;
        // the client gets the cursor and nothing is skipped.
        if out.records.len() >= q.limit || cursor.is_none() || page.held == 0 {
            break cursor.is_some();
        }
    };
    out.next = more.then_some(Position {
        vendor: cursor,
        skip,
        seen: Vec::new(),
    });
    Ok(out)
}

/// A vendor record the mapping can read is an object with an id; anything else is the vendor
/// breaking its API, never a record of nulls.
pub fn check_records<C: Connector + ?Sized>(
    connector: &C,
    resource: Resource,
    records: &[Record],
) -> Result<()> {
    let readable = |r: &Record| {
        let object = match r.text() {
            Some(text) => text.trim_start().starts_with('{'),
            None => r.tree().is_some_and(Value::is_object),
        };
        object && record_id(connector, resource, r).is_some()
    };
    match records.iter().position(|r| !readable(r)) {
        None => Ok(()),
        Some(i) => Err(ConnectorError::unreadable(
            200,
            &format!("record {i} of its answer has no id"),
        )),
    }
}

/// A vendor record's id as text, read where the manifest says ids are.
pub fn record_id<C: Connector + ?Sized>(
    connector: &C,
    resource: Resource,
    record: &Record,
) -> Option<String> {
    match (record.text(), record.tree()) {
        (Some(text), _) => {
            let path = &resource_spec(connector, resource)?.id.path;
            match crate::text::at(text, path).ok()? {
                Some(found) if found != "null" => scalar_id(&serde_json::from_str(found).ok()?),
                // Only a path through `[*]` finds nothing there and may find an id in the tree.
                _ => scalar_id(path.find(&record.to_value().ok()?)?),
            }
        }
        (None, Some(tree)) => tree_id(connector, resource, tree),
        (None, None) => None,
    }
}

/// The id of a vendor record held as a tree (a write's answer), read as [`record_id`] reads it.
pub fn tree_id<C: Connector + ?Sized>(
    connector: &C,
    resource: Resource,
    record: &Value,
) -> Option<String> {
    scalar_id(resource_spec(connector, resource)?.id.path.find(record)?)
}

fn resource_spec<C: Connector + ?Sized>(
    connector: &C,
    resource: Resource,
) -> Option<&ResourceSpec> {
    connector
        .manifest()
        .declaration()
        .resources
        .get(resource.as_str())
}

fn scalar_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn resource<C: Connector + ?Sized>(connector: &C, resource: Resource) -> Result<&ResourceSpec> {
    connector
        .manifest()
        .declaration()
        .resources
        .get(resource.as_str())
        .ok_or_else(|| unsupported(connector, resource, "served"))
}

fn unsupported<C: Connector + ?Sized>(
    connector: &C,
    resource: Resource,
    what: &str,
) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Unsupported,
        format!(
            "{} {} {what} through crmgate.",
            connector.name(),
            resource.as_str()
        ),
    )
}

/// Checks an id against the vendor's id format before it goes into a path.
fn check_id(spec: &ResourceSpec, id: &str) -> Result<()> {
    match (spec.id.format, &spec.id.prefix) {
        (IdFormat::Integer, _) => ConnectorError::check_integer_id(id),
        (IdFormat::Uuid, _) if literal::is_guid(id) => Ok(()),
        (IdFormat::Uuid, _) => Err(ConnectorError::not_found(id)),
        (IdFormat::String, _) if id.is_empty() => Err(ConnectorError::not_found(id)),
        (IdFormat::String, None) => Ok(()),
        (IdFormat::String, Some(prefix)) => match id.strip_prefix(prefix.as_str()) {
            Some(rest)
                if !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                Ok(())
            }
            _ => Err(ConnectorError::not_found(id)),
        },
    }
}

/// Sends a call after the connector's hook saw it, classifying errors by the manifest.
async fn send<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    call: &Call<'_>,
    mut rq: VendorRequest,
) -> Result<VendorResponse> {
    connector.prepare_request(cx, call, &mut rq).await?;
    cx.http
        .send(rq, &connector.manifest().declaration().errors)
        .await
        .map_err(|e| connector.map_error(call, e))
}

/// The filters as the operation takes them: a search chosen by its `for_filters` takes the
/// list's others under its own names (`takes`) and refuses the rest, which it would ignore.
fn search_filters<'f, C: Connector + ?Sized>(
    connector: &C,
    op: &ListOperation,
    filters: &'f [VendorFilter],
) -> Result<Cow<'f, [VendorFilter]>> {
    if op.for_filters.is_empty() {
        return Ok(Cow::Borrowed(filters));
    }
    filters
        .iter()
        .map(|f| {
            if op.for_filters.contains(&f.field) {
                return Ok(f.clone());
            }
            match op.takes.get(&f.field) {
                Some(name) => Ok(VendorFilter {
                    field: name.clone(),
                    ..f.clone()
                }),
                None => Err(ConnectorError::new(
                    ErrorKind::Unsupported,
                    format!(
                        "{} finds records by {} only through its search, which cannot also filter by {}; give those filters in separate requests.",
                        connector.name(),
                        op.for_filters.join(" or "),
                        f.field
                    ),
                )),
            }
        })
        .collect::<Result<_>>()
        .map(Cow::Owned)
}

/// Which of a resource's list operations serves a request, and how it pages.
fn list_operation<'m, C: Connector + ?Sized>(
    connector: &'m C,
    spec: &'m ResourceSpec,
    resource: Resource,
    filters: &[VendorFilter],
    sort: Option<&VendorSort>,
) -> Result<(&'m ListOperation, &'m Pagination, bool)> {
    let wants_search = match spec.search.as_ref().map(|s| &s.for_filters) {
        Some(names) if !names.is_empty() => filters.iter().any(|f| names.contains(&f.field)),
        _ => !filters.is_empty() || sort.is_some(),
    };
    let (op, search) = match (&spec.search, &spec.list) {
        (Some(search), _) if wants_search => (search, true),
        (_, Some(list)) => (list, false),
        (Some(search), None) => (search, true),
        (None, None) => return Err(unsupported(connector, resource, "cannot be listed")),
    };
    let pagination = match (&op.sorted_pagination, sort) {
        (Some(sorted), Some(_)) => sorted,
        _ => &op.pagination,
    };
    Ok((op, pagination, search))
}

/// One vendor page of a list, as [`Connector::list`] answers it.
pub async fn page<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    rq: ListRequest<'_>,
) -> Result<Page> {
    let q = rq.list;
    let spec = resource(connector, q.resource)?;
    let (op, pagination, search) = list_operation(connector, spec, q.resource, q.filters, q.sort)?;
    let call = Call {
        resource: q.resource,
        operation: Operation::List,
        fields: Some(q.fields),
        search,
    };
    let filters = search_filters(connector, op, q.filters)?;
    let mut build = Build::new(cx, op.method, &op.path, &op.query, op.body.as_ref(), None)?;
    build.headers(cx, &op.headers)?;
    build.filters(op, &filters)?;
    let position = build.paging(
        pagination,
        op.filters.as_ref(),
        &spec.id,
        rq.cursor,
        rq.limit,
    )?;
    build.sort(op, q.sort)?;
    if let Some(selection) = &op.fields {
        let names = selected(connector, cx, selection, q.fields).await?;
        build.select(selection, &names);
    }
    build.pass_through(q.query)?;
    let response = send(connector, cx, &call, build.finish(true)).await?;
    let status = response.status.as_u16();
    let answer = read_list(
        body_text(&response)?,
        &op.records,
        position.body_path(),
        status,
    )?;
    let records = answer.records.ok_or_else(|| {
        ConnectorError::unreadable(status, &format!("it holds nothing at {}", op.records))
    })?;
    let next = position.next(answer.more, &records, &spec.id.path, status)?;
    let mut page = Page::select(&response.body, &records, &rq, next);
    if let Some(hits) = &op.hydrate {
        hydrate::hydrate(connector, cx, &call, hits, &spec.id.path, &mut page).await?;
    }
    embed::embed(connector, cx, spec, &mut page.records).await?;
    connector.normalise(cx, &call, &mut page.records).await?;
    Ok(page)
}

/// One record by id, as [`Connector::get`] answers it.
pub async fn get<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    rq: GetRequest<'_>,
) -> Result<Value> {
    let spec = resource(connector, rq.resource)?;
    let op = spec
        .get
        .as_ref()
        .ok_or_else(|| unsupported(connector, rq.resource, "cannot be read one by one"))?;
    check_id(spec, rq.id)?;
    let call = Call {
        resource: rq.resource,
        operation: Operation::Get,
        fields: Some(rq.fields),
        search: false,
    };
    let mut build = Build::new(cx, op.method, &op.path, &op.query, None, Some(rq.id))?;
    if let Some(selection) = &op.fields {
        let names = selected(connector, cx, selection, rq.fields).await?;
        build.select(selection, &names);
    }
    let response = send(connector, cx, &call, build.finish(true)).await?;
    let found = record_at(&response, &op.record)?;
    if op.only.as_ref().is_some_and(|only| !only.holds(&found)) {
        return Err(ConnectorError::not_found(rq.id));
    }
    let mut record = [Record::from_value(found)];
    embed::embed(connector, cx, spec, &mut record).await?;
    connector.normalise(cx, &call, &mut record).await?;
    let [record] = record;
    record
        .into_value()
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))
}

/// Creates or updates a record with the body the mapping wrote, as [`Connector::create`]
/// and [`Connector::update`] answer it. A write is sent once: it is never repeated after it
/// may have reached the vendor.
pub async fn write<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    rq: WriteRequest<'_>,
) -> Result<Value> {
    let spec = resource(connector, rq.resource)?;
    let (op, operation) = match rq.id {
        None => (&spec.create, Operation::Create),
        Some(_) => (&spec.update, Operation::Update),
    };
    let op = op
        .as_ref()
        .ok_or_else(|| unsupported(connector, rq.resource, "cannot be written"))?;
    if let Some(id) = rq.id {
        check_id(spec, id)?;
    }
    let call = Call {
        resource: rq.resource,
        operation,
        fields: None,
        search: false,
    };
    let mut build = Build::new(cx, op.method, &op.path, &op.query, op.body.as_ref(), rq.id)?;
    build.headers(cx, &op.headers)?;
    build.merge_body(rq.body);
    let response = send(connector, cx, &call, build.finish(false)).await?;
    match (op.empty_answer, rq.id, &op.id) {
        // Salesforce answers an update 204 with nothing: the record is the id it was sent to.
        (Some(EmptyAnswer::Id), Some(id), _) if response.body.is_empty() => {
            Ok(spec.id.path.place(Value::String(id.to_owned())))
        }
        (_, _, Some(at)) => {
            let answer = record_at(&response, &op.record)?;
            let id = at.find(&answer).map(crate::id_text).ok_or_else(|| {
                ConnectorError::unreadable(
                    response.status.as_u16(),
                    &format!("it holds no record id at {at}"),
                )
            })?;
            Ok(spec.id.path.place(Value::String(id)))
        }
        _ => record_at(&response, &op.record),
    }
}

/// Deletes a record, as [`Connector::delete`] does.
pub async fn delete<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    rq: DeleteRequest<'_>,
) -> Result<()> {
    let spec = resource(connector, rq.resource)?;
    let op = spec
        .delete
        .as_ref()
        .ok_or_else(|| unsupported(connector, rq.resource, "cannot be deleted"))?;
    check_id(spec, rq.id)?;
    let call = Call {
        resource: rq.resource,
        operation: Operation::Delete,
        fields: None,
        search: false,
    };
    let build = Build::new(cx, op.method, &op.path, &op.query, None, Some(rq.id))?;
    send(connector, cx, &call, build.finish(true)).await?;
    Ok(())
}

/// The fields a read names: the mapped ones under the selection's member, then the keys of
/// the catalogs the mapping names that member with, sorted so that calls are the same every
/// time. A catalog the vendor refuses to show leaves its fields out, and the answer says so.
async fn selected<C: Connector + ?Sized>(
    connector: &C,
    cx: &CallContext,
    selection: &FieldSelection,
    fields: ReadFields<'_>,
) -> Result<Vec<String>> {
    let (members, catalogs) = match &selection.under {
        Some(under) => (fields.under(under), fields.catalogs_under(under)),
        None => (fields.top_level(), fields.catalogs_at_top()),
    };
    let mut names: Vec<String> = members.into_iter().map(str::to_owned).collect();
    for catalog in catalogs {
        let need = [(catalog.to_owned(), Vec::new())];
        if let Some(known) = lookup::resolve(connector, cx, &need, true)
            .await?
            .get(catalog)
        {
            let mut keys: Vec<&String> = known.keys().collect();
            keys.sort_unstable();
            for key in keys {
                if !names.contains(key) {
                    names.push(key.clone());
                }
            }
        }
    }
    Ok(names)
}

/// The record at `path` of an answer.
fn record_at(response: &VendorResponse, path: &crate::manifest::RecordPath) -> Result<Value> {
    let status = response.status.as_u16();
    match check_body(body_text(response)?, &[path], status)?.found[0] {
        Some(found) => {
            serde_json::from_str(found).map_err(|e| ConnectorError::bad_response(status, e))
        }
        None => Err(ConnectorError::unreadable(
            status,
            &format!("it holds no record at {path}"),
        )),
    }
}

/// An answer's body as text.
fn body_text(response: &VendorResponse) -> Result<&str> {
    std::str::from_utf8(&response.body).map_err(|e| {
        ConnectorError::unreadable(
            response.status.as_u16(),
            &format!("its body is not UTF-8 ({e})"),
        )
    })
}

/// Checks an answer's text as JSON, once, finding the values at `paths` on the way: every
/// later read of it is a scan that trusts it.
fn check_body<'t>(
    text: &'t str,
    paths: &[&crate::manifest::RecordPath],
    status: u16,
) -> Result<text::Checked<'t>> {
    text::check(text, paths)
        .map_err(|e| ConnectorError::unreadable(status, &format!("its body is not JSON ({e})")))
}

/// A list answer, checked once.
pub struct ListAnswer<'t> {
    /// The records, each as its text: `None` when nothing is at the records path, none for
    /// `null`.
    pub records: Option<Vec<&'t str>>,
    /// The text at the paging path, when one was asked for and is there.
    pub more: Option<&'t str>,
}

/// Checks a list answer's text as JSON, once, and finds its records at `records` and,
/// on the same pass, the text at the paging path `more`.
pub fn read_list<'t>(
    text: &'t str,
    records: &crate::manifest::RecordPath,
    more: Option<&crate::manifest::RecordPath>,
    status: u16,
) -> Result<ListAnswer<'t>> {
    // "No Content" is an empty list (Zoho answers a list or search with no records so).
    if status == 204 && text.is_empty() {
        return Ok(ListAnswer {
            records: Some(Vec::new()),
            more: None,
        });
    }
    let mut paths = vec![records];
    paths.extend(more);
    let mut checked = check_body(text, &paths, status)?;
    let list = match checked.found[0] {
        None => None,
        Some("null") => Some(Vec::new()),
        Some(list) if list.starts_with('[') => Some(std::mem::take(&mut checked.items)),
        Some(_) => {
            return Err(ConnectorError::unreadable(
                status,
                &format!("it holds no list at {records}"),
            ));
        }
    };
    Ok(ListAnswer {
        records: list,
        more: checked.found.get(1).copied().flatten(),
    })
}
