//! `/crm/<resource>`: list, create, get, update and delete of any unified resource, as
//! Apideck's contract has them. Each handler takes the resource's model as data; nothing here
//! knows a particular resource, so a new resource is a new model table, not new handlers.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use crmgate_connector_sdk::driver::{self, Position};
use crmgate_connector_sdk::{
    ConnectorError, DeleteRequest, GetRequest, ListQuery, Operation, ReadFields, Record,
    WriteRequest,
};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{Body, CrmQuery, DEFAULT_LIMIT, QueryShape, operation_id};
use crate::api::AppState;
use crate::api::cursor::{CursorState, fingerprint};
use crate::api::envelope::{Envelope, Extras, unified_id};
use crate::api::idempotency;
use crate::api::tenant::Connection;
use crate::error::{Error, Result};
use crate::mapping::{
    Lookups, MappingTable, PassThroughPlan, ReadPage, RecordView, TenantMappings, WriteOperation,
};
use crate::store::MappingScope;
use crate::unified::{ResourceModel, UnifiedWrite};

/// The connector's table with the tenant's layers, as one request uses them.
struct Mapping {
    table: Arc<MappingTable>,
    /// Compiled once per opened connection ([`crate::api::connection_cache`]).
    tenant: Arc<TenantMappings>,
}

impl Mapping {
    async fn load(
        state: &AppState,
        conn: &Connection,
        model: &'static ResourceModel,
    ) -> Result<Self> {
        let table = state
            .mappings
            .table(conn.service(), model.resource)
            .ok_or_else(|| {
                Error::unsupported_resource(
                    conn.entry().connector.name(),
                    conn.service(),
                    model.resource.as_str(),
                )
            })?;
        let resource = model.resource;
        let tenant = match conn.open.mappings(resource) {
            Some(layers) => layers,
            None => {
                let scope = MappingScope {
                    app_id: conn.tenant.app_id.clone(),
                    consumer_id: Some(conn.tenant.consumer_id.clone()),
                    service_id: conn.service().to_owned(),
                    resource: resource.as_str().to_owned(),
                };
                let rows = state.store.custom_mappings(&scope).await?;
                let layers = Arc::new(TenantMappings::build(
                    model,
                    rows.iter().map(|r| (r.key.as_str(), r.value.as_str())),
                    &state.paths,
                ));
                conn.open.keep_mappings(resource, layers.clone());
                layers
            }
        };
        Ok(Self { table, tenant })
    }

    fn read_fields(&self) -> ReadFields<'_> {
        ReadFields::new(
            self.table.read_paths(),
            self.tenant.read_paths(),
            self.table.lookup_sources(),
        )
    }

    /// The catalogs the table names the records' ids with; one the vendor refuses to show is
    /// left out, so its ids stay unnamed and the answer says so.
    async fn read_lookups(&self, conn: &Connection, page: &ReadPage<'_>) -> Result<Lookups> {
        resolve_lookups(conn, &page.lookup_keys(), true).await
    }

    fn view<'a>(&'a self, fields: Option<&'a [String]>) -> RecordView<'a> {
        RecordView {
            fields,
            tenant: Some(&self.tenant),
        }
    }
}

/// Reads the catalogs a mapping needs through the connector's lookups.
async fn resolve_lookups(
    conn: &Connection,
    needs: &[(String, Vec<String>)],
    optional: bool,
) -> Result<Lookups> {
    let mut lookups = Lookups::default();
    if needs.is_empty() {
        return Ok(lookups);
    }
    let found = driver::lookup::resolve(conn.entry().connector.as_ref(), &conn.cx, needs, optional)
        .await
        .map_err(|e| Error::from_connector(e, conn.service()))?;
    for (name, names) in found {
        lookups.insert(&name, names);
    }
    Ok(lookups)
}

fn envelope(
    conn: &Connection,
    model: &ResourceModel,
    status: StatusCode,
    op: Operation,
) -> Envelope<'static> {
    Envelope {
        status,
        service: conn.service(),
        resource: model.resource.as_str(),
        operation: op.envelope_name(),
    }
}

/// `GET /crm/<resource>`: one unified page, filled from as many vendor pages as it takes.
pub async fn list(
    model: &'static ResourceModel,
    State(state): State<AppState>,
    conn: Connection,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let q = CrmQuery::parse(query.as_deref(), QueryShape::List, model)?;
    serves(&conn, model, Operation::List)?;
    let service = conn.service();
    let connector = &conn.entry().connector;
    q.check_paging_params(&connector.paging_params())?;
    let mapping = Mapping::load(&state, &conn, model).await?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT) as usize;
    let filters = mapping.table.vendor_filters(&q.filters)?;
    let sort = match &q.sort {
        Some((by, direction)) => Some(mapping.table.vendor_sort(by, *direction)?),
        None => None,
    };
    let fp = fingerprint(&conn.tenant, &q.list_fingerprint(model));
    let from = match &q.cursor {
        Some(c) => {
            let state = state.cursors.decode(c, service, &fp)?;
            Position {
                vendor: state.vendor,
                skip: state.skip,
                seen: state.seen,
            }
        }
        None => Position::default(),
    };
    let page = driver::list(
        connector.as_ref(),
        &conn.cx,
        ListQuery {
            resource: model.resource,
            limit,
            fields: mapping.read_fields(),
            query: &q.pass_through,
            filters: &filters,
            sort: sort.as_ref(),
            raw: q.raw,
        },
        from,
    )
    .await
    .map_err(|e| Error::from_connector(e, service).about(model))?;
    let records = page.records;
    let next = page.next.map(|at| {
        state.cursors.encode(&CursorState {
            service: service.to_owned(),
            vendor: at.vendor,
            skip: at.skip,
            seen: at.seen,
            fingerprint: fp,
        })
    });
    let read = mapping
        .table
        .read_page(&records, mapping.view(q.fields.as_deref()));
    let lookups = mapping.read_lookups(&conn, &read).await?;
    let mut meta = json!({
        "items_on_page": records.len(),
        "cursors": { "previous": null, "current": q.cursor, "next": next },
    });
    if let Some(warnings) = degraded(&conn, Operation::List) {
        meta["warnings"] = warnings;
    }
    let links = json!({
        "previous": null,
        "current": link(&headers, &uri, q.cursor.as_deref()),
        "next": next.as_deref().map(|c| link(&headers, &uri, Some(c))),
    });
    let raw = q.raw.then(|| raw_pages(&page.raw)).transpose()?;
    Ok(
        // A unified record is written in some 600 bytes (HubSpot's deals); room for that
        // spares the buffer its regrowth.
        envelope(&conn, model, StatusCode::OK, Operation::List).respond_writing(
            records.len() * 768,
            Extras {
                meta: Some(meta),
                links: Some(links),
                raw,
            },
            |out| read.write(&lookups, out),
        ),
    )
}

/// `_raw` of a list: `{"pages": [...]}` around the vendor's answers, their bytes copied.
fn raw_pages(pages: &[bytes::Bytes]) -> Result<Box<RawValue>> {
    let mut text = String::with_capacity(pages.iter().map(|p| p.len() + 1).sum::<usize>() + 12);
    text.push_str("{\"pages\":[");
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(
            std::str::from_utf8(page)
                .map_err(|e| Error::internal(format_args!("a vendor page is not UTF-8: {e}")))?,
        );
    }
    text.push_str("]}");
    RawValue::from_string(text)
        .map_err(|e| Error::internal(format_args!("a vendor page is not JSON: {e}")))
}

/// `_raw` of one record, or `null` when there is none.
fn raw_json(record: Option<&Value>) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(&record)
        .map_err(|e| Error::internal(format_args!("a vendor record does not serialise: {e}")))
}

/// The request's URL with `cursor` replaced, as Apideck's ready-made `links`.
fn link(headers: &HeaderMap, uri: &Uri, cursor: Option<&str>) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k != "cursor" {
            query.append_pair(&k, &v);
        }
    }
    if let Some(c) = cursor {
        query.append_pair("cursor", c);
    }
    let query = query.finish();
    if query.is_empty() {
        format!("http://{host}{}", uri.path())
    } else {
        format!("http://{host}{}?{query}", uri.path())
    }
}

/// `GET /crm/<resource>/{id}`.
pub async fn one(
    model: &'static ResourceModel,
    State(state): State<AppState>,
    conn: Connection,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let q = CrmQuery::parse(query.as_deref(), QueryShape::One, model)?;
    serves(&conn, model, Operation::Get)?;
    let mapping = Mapping::load(&state, &conn, model).await?;
    let record = conn
        .entry()
        .connector
        .get(
            &conn.cx,
            GetRequest {
                resource: model.resource,
                id: &id,
                fields: mapping.read_fields(),
            },
        )
        .await
        .map(Record::from_value)
        .map_err(|e| Error::from_connector(e, conn.service()).about(model))?;
    driver::check_records(
        conn.entry().connector.as_ref(),
        model.resource,
        std::slice::from_ref(&record),
    )
    .map_err(|e| Error::from_connector(e, conn.service()).about(model))?;
    let read = mapping.table.read_page(
        std::slice::from_ref(&record),
        mapping.view(q.fields.as_deref()),
    );
    let lookups = mapping.read_lookups(&conn, &read).await?;
    let mut data = Vec::with_capacity(1024);
    read.write_record(0, &lookups, &mut data);
    Ok(
        envelope(&conn, model, StatusCode::OK, Operation::Get).respond(
            &data,
            Extras {
                meta: degraded(&conn, Operation::Get).map(|w| json!({ "warnings": w })),
                raw: q.raw.then(|| raw_json(record.tree())).transpose()?,
                ..Extras::default()
            },
        ),
    )
}

/// The optional steps the vendor refused, as Apideck's `WorkflowWarning`s: the answer is
/// whole but for what those steps add.
fn degraded(conn: &Connection, op: Operation) -> Option<Value> {
    let steps = conn.cx.degraded.lock().unwrap_or_else(|p| p.into_inner());
    (!steps.is_empty()).then(|| {
        steps
            .iter()
            .map(|d| {
                json!({
                    "type": "downstream_request_failed",
                    "status_code": d.status,
                    "error": d.error,
                    "operation": format!("{}:{}", op.envelope_name(), d.step),
                    "message": d.message,
                })
            })
            .collect()
    })
}

/// Maps a write body (the table's hooks shape it for the vendor), then applies the pass-through
/// patches, so that clients patch the body the vendor really receives.
async fn vendor_body(
    state: &AppState,
    conn: &Connection,
    model: &'static ResourceModel,
    body: &[u8],
    op: Operation,
) -> Result<(Value, Vec<String>)> {
    let write_op = match op {
        Operation::Create => WriteOperation::Create,
        _ => WriteOperation::Update,
    };
    let input = UnifiedWrite::from_body(model, body, op == Operation::Create)?;
    let plan = PassThroughPlan::new(input.pass_through, conn.service(), &operation_id(model, op))?;
    let mapping = Mapping::load(state, conn, model).await?;
    // Names given for ids are resolved before the mapping writes them: an unknown one is the
    // client's error, raised before anything is written.
    let needs = mapping
        .table
        .write_lookups(&input.fields, write_op, Some(&mapping.tenant));
    let lookups = resolve_lookups(conn, &needs, false).await?;
    let mapped =
        mapping
            .table
            .to_vendor(&input.fields, write_op, Some(&mapping.tenant), &lookups)?;
    let mut vendor = mapped.body;
    plan.apply(&mut vendor)?;
    Ok((vendor, mapped.unmapped))
}

/// Fields the vendor cannot store are reported, as Apideck's `WorkflowWarning`s, never dropped
/// silently.
fn warnings(service: &str, op: Operation, unmapped: &[String]) -> Option<Value> {
    (!unmapped.is_empty()).then(|| {
        json!({ "warnings": [{
            "type": "unmapped_fields",
            "operation": op.envelope_name(),
            "message": format!("{service} has no field for: {}; these values were not stored", unmapped.join(", ")),
            "fields": unmapped,
        }] })
    })
}

fn written_id(
    conn: &Connection,
    model: &ResourceModel,
    record: &Value,
    fallback: Option<&str>,
) -> Result<String> {
    driver::tree_id(conn.entry().connector.as_ref(), model.resource, record)
        .or_else(|| fallback.map(str::to_owned))
        .ok_or_else(|| {
            Error::from_connector(
                ConnectorError::unreadable(200, "the answer carries no record id"),
                conn.service(),
            )
        })
}

/// `POST /crm/<resource>`: HTTP 201 with `data.id`.
///
/// With an `Idempotency-Key` the same key and body within 24 hours is answered with the first
/// answer and no second vendor call, from any process; the same key with another body or on
/// another resource is a 422.
pub async fn create(
    model: &'static ResourceModel,
    State(state): State<AppState>,
    conn: Connection,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Result<Response> {
    serves(&conn, model, Operation::Create)?;
    let Some(key) = idempotency::key(&headers)? else {
        return create_once(&state, &conn, model, query.as_deref(), &body).await;
    };
    let fingerprint = idempotency::fingerprint(
        conn.service(),
        model.resource.as_str(),
        query.as_deref(),
        &body,
    );
    idempotency::run(&state, &conn.tenant, &key, &fingerprint, || {
        create_once(&state, &conn, model, query.as_deref(), &body)
    })
    .await
}

async fn create_once(
    state: &AppState,
    conn: &Connection,
    model: &'static ResourceModel,
    query: Option<&str>,
    body: &[u8],
) -> Result<Response> {
    let q = CrmQuery::parse(query, QueryShape::Write, model)?;
    let (vendor, unmapped) = vendor_body(state, conn, model, body, Operation::Create).await?;
    let record = conn
        .entry()
        .connector
        .create(
            &conn.cx,
            WriteRequest {
                resource: model.resource,
                id: None,
                body: vendor,
            },
        )
        .await
        .map_err(|e| Error::from_connector(e, conn.service()).about(model))?;
    let id = written_id(conn, model, &record, None)?;
    Ok(
        envelope(conn, model, StatusCode::CREATED, Operation::Create).respond(
            &unified_id(&id),
            Extras {
                meta: warnings(conn.service(), Operation::Create, &unmapped),
                raw: q.raw.then(|| raw_json(Some(&record))).transpose()?,
                ..Extras::default()
            },
        ),
    )
}

/// `PATCH /crm/<resource>/{id}`: only the properties in the body change.
///
/// An update with nothing for the vendor to store (only fields it has no place for, or none)
/// makes no vendor call — a vendor answers an empty change with an error or nothing — and is
/// answered 200 with the id as given and the warnings; `_raw` is null, as no vendor record was
/// read, and whether the record exists is not checked.
pub async fn update(
    model: &'static ResourceModel,
    State(state): State<AppState>,
    conn: Connection,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Result<Response> {
    let q = CrmQuery::parse(query.as_deref(), QueryShape::Write, model)?;
    serves(&conn, model, Operation::Update)?;
    let (vendor, unmapped) = vendor_body(&state, &conn, model, &body, Operation::Update).await?;
    let record = if vendor.as_object().is_some_and(|b| b.is_empty()) {
        None
    } else {
        let record = conn
            .entry()
            .connector
            .update(
                &conn.cx,
                WriteRequest {
                    resource: model.resource,
                    id: Some(&id),
                    body: vendor,
                },
            )
            .await
            .map_err(|e| Error::from_connector(e, conn.service()).about(model))?;
        Some(record)
    };
    let id = match &record {
        Some(record) => written_id(&conn, model, record, Some(&id))?,
        None => id,
    };
    Ok(
        envelope(&conn, model, StatusCode::OK, Operation::Update).respond(
            &unified_id(&id),
            Extras {
                meta: warnings(conn.service(), Operation::Update, &unmapped),
                raw: q.raw.then(|| raw_json(record.as_ref())).transpose()?,
                ..Extras::default()
            },
        ),
    )
}

/// Refuses, before any work, an operation the connection's connector does not serve: a
/// resource it has no table for (whatever its manifest lists), or an operation its manifest
/// does not describe for the resource.
fn serves(conn: &Connection, model: &ResourceModel, op: Operation) -> Result<()> {
    let entry = conn.entry();
    let resource = model.resource.as_str();
    if !entry.mappings.iter().any(|m| m.resource == model.resource) {
        return Err(Error::unsupported_resource(
            entry.connector.name(),
            conn.service(),
            resource,
        ));
    }
    let described = entry
        .connector
        .manifest()
        .declaration()
        .resources
        .get(resource)
        .is_some_and(|spec| spec.has(op));
    if described {
        return Ok(());
    }
    let verb = match op {
        Operation::List => "list",
        Operation::Get => "read",
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Delete => "delete",
    };
    Err(Error::unsupported_operation(
        entry.connector.name(),
        conn.service(),
        resource,
        verb,
    ))
}

/// `DELETE /crm/<resource>/{id}`: HTTP 200 with `data.id` (Apideck answers an envelope, not
/// 204).
pub async fn delete(
    model: &'static ResourceModel,
    conn: Connection,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    CrmQuery::parse(query.as_deref(), QueryShape::Write, model)?;
    serves(&conn, model, Operation::Delete)?;
    conn.entry()
        .connector
        .delete(
            &conn.cx,
            DeleteRequest {
                resource: model.resource,
                id: &id,
            },
        )
        .await
        .map_err(|e| Error::from_connector(e, conn.service()).about(model))?;
    Ok(envelope(&conn, model, StatusCode::OK, Operation::Delete)
        .respond(&unified_id(&id), Extras::default()))
}
