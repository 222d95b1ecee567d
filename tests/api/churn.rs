//! Paging stays exact while the data changes. A client reads page 1, then someone deletes a
//! record it was already served and inserts a new one, and the client follows crmgate's
//! cursors to the end. Every record that existed throughout must arrive exactly once, none
//! twice, and no page may hold more than `limit`; a sorted read also serves those records in
//! sort order. This holds for every connector and every sort its mapping offers (and the
//! unsorted default), in both directions.
//!
//! Each vendor here is stateful and pages as its documentation says:
//! - Pipedrive v2: an opaque `cursor`, modelled as a keyset (the last record's sort value and
//!   id), which no change can shift.
//! - HubSpot: lists continue `after` an id (a keyset too); searches continue `after` an OFFSET
//!   into the sorted, filtered result.
//! - Copper: `page_number` pages over the sorted list (offsets again).
//!
//! Ties in a sort are broken by id in the sort's direction, so every vendor order is total.
//! Records share sort values on purpose.
//!
//! A record inserted mid-read may or may not appear, and the tests do not require either. It
//! must not appear twice. Over a keyset vendor it appears when it sorts after the cursor and
//! does not when it sorts before. Unsorted HubSpot and Pipedrive lists run in id order, so a
//! new record (the highest id) always lands after the cursor there.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::app::{TestApp, call, page_ids, spawn_app};

/// The page size the client asks for; 12 records make four pages of it.
const LIMIT: usize = 3;
const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const EPOCH: i64 = 1_767_225_600;

/// A deal in vendor-neutral terms; each vendor renders it in its own shape.
#[derive(Clone, Debug)]
struct Deal {
    id: u64,
    created: i64,
    modified: i64,
    title: &'static str,
    amount: u64,
    /// Percent.
    probability: u32,
    /// Copper's spelling: Open, Won, Lost, Abandoned.
    status: &'static str,
}

/// Twelve deals whose sort values mostly repeat (two to four deals share one) and whose
/// orders by the different keys differ from each other and from id order.
fn twelve() -> Vec<Deal> {
    const TITLES: [&str; 6] = ["Beta", "Alpha", "Gamma", "Delta", "Epsilon", "Kappa"];
    const STATUSES: [&str; 3] = ["Open", "Won", "Lost"];
    (1..=12u64)
        .map(|i| Deal {
            id: i,
            created: EPOCH + ((i * 5) % 7) as i64 * DAY,
            modified: EPOCH + (30 + (i * 3) % 5) as i64 * DAY,
            title: TITLES[(i % 6) as usize],
            amount: 1000 * (1 + (i * 4) % 5),
            probability: 10 + 20 * (i % 4) as u32,
            status: STATUSES[(i % 3) as usize],
        })
        .collect()
}

/// A new deal whose every sort value is below (or above) all of [`twelve`]'s. "Won" ties
/// with existing deals, but the new deal's id is the highest, which puts it last ascending
/// and first descending as well.
fn newcomer(id: u64, low: bool) -> Deal {
    if low {
        Deal {
            id,
            created: EPOCH - 100 * DAY,
            modified: EPOCH - 100 * DAY,
            title: "Aardvark",
            amount: 1,
            probability: 0,
            status: "Abandoned",
        }
    } else {
        Deal {
            id,
            created: EPOCH + 365 * DAY,
            modified: EPOCH + 365 * DAY,
            title: "Zulu",
            amount: 1_000_000,
            probability: 100,
            status: "Won",
        }
    }
}

fn iso(secs: i64, format: SecondsFormat) -> String {
    DateTime::from_timestamp(secs, 0)
        .expect("a test date")
        .to_rfc3339_opts(format, true)
}

/// The vendor's records, shared between the test (which changes them) and the mocks.
#[derive(Clone)]
struct Store(Arc<Mutex<Vec<Deal>>>);

impl Store {
    fn new(deals: Vec<Deal>) -> Self {
        Self(Arc::new(Mutex::new(deals)))
    }

    fn render(&self, shape: fn(&Deal) -> Value) -> Vec<Value> {
        self.0.lock().unwrap().iter().map(shape).collect()
    }

    fn delete(&self, id: u64) {
        self.0.lock().unwrap().retain(|d| d.id != id);
    }

    fn insert(&self, deal: Deal) {
        self.0.lock().unwrap().push(deal);
    }
}

/// Numbers (or numeric text) compare as numbers, anything else as text; null sorts first.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => text(a).cmp(&text(b)),
        },
    }
}

/// A record's place in a sort: its sort value, then its id.
type Position = (Value, u64);

fn compare_positions(a: &Position, b: &Position, descending: bool) -> Ordering {
    let order = compare_values(&a.0, &b.0).then(a.1.cmp(&b.1));
    if descending { order.reverse() } else { order }
}

/// The records in sort order, each with its position.
fn sorted(
    records: Vec<Value>,
    position: impl Fn(&Value) -> Position,
    descending: bool,
) -> Vec<(Position, Value)> {
    let mut placed: Vec<(Position, Value)> =
        records.into_iter().map(|r| (position(&r), r)).collect();
    placed.sort_by(|a, b| compare_positions(&a.0, &b.0, descending));
    placed
}

fn query(rq: &Request) -> HashMap<String, String> {
    rq.url.query_pairs().into_owned().collect()
}

fn number_in(text: Option<&String>, default: usize) -> usize {
    text.and_then(|t| t.parse().ok()).unwrap_or(default)
}

/// A vendor's 400 for a request it cannot serve, which the read then reports, rather than a
/// panic inside the mock that would look like a dropped connection.
fn refuse(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(body)
}

fn hubspot_refusal(message: &str) -> ResponseTemplate {
    refuse(json!({
        "status": "error", "message": message, "correlationId": "c0ffee",
        "category": "VALIDATION_ERROR"
    }))
}

// === Pipedrive v2 ===

fn pipedrive_deal(d: &Deal) -> Value {
    json!({
        "id": d.id, "title": d.title, "value": d.amount, "currency": "EUR",
        "probability": d.probability, "expected_close_date": "2026-12-31", "lost_reason": null,
        "pipeline_id": 1, "stage_id": 3, "channel": null, "origin": "API", "person_id": 501,
        "org_id": 901, "owner_id": 77, "status": d.status.to_lowercase(), "label_ids": [],
        "stage_change_time": "2026-03-01T10:00:00Z", "creator_user_id": 77, "is_deleted": false,
        "add_time": iso(d.created, SecondsFormat::Secs),
        "update_time": iso(d.modified, SecondsFormat::Secs),
        "custom_fields": {}
    })
}

/// `GET /api/v2/deals?limit&cursor&sort_by&sort_direction`: the cursor names the last record's
/// sort value and id, and the next page starts at the first record past that position.
struct PipedriveDeals(Store);

impl Respond for PipedriveDeals {
    fn respond(&self, rq: &Request) -> ResponseTemplate {
        let q = query(rq);
        let limit = number_in(q.get("limit"), 100).min(500);
        if limit == 0 {
            return refuse(json!({ "success": false, "error": "limit must be at least 1" }));
        }
        let by = q.get("sort_by").map_or("id", String::as_str).to_owned();
        let descending = q.get("sort_direction").is_some_and(|d| d == "desc");
        let position = |r: &Value| (r[by.as_str()].clone(), r["id"].as_u64().unwrap());
        let all = sorted(self.0.render(pipedrive_deal), position, descending);
        let start = match q.get("cursor") {
            None => 0,
            Some(cursor) => {
                let Some(after) = decode_keyset(cursor) else {
                    return refuse(json!({ "success": false, "error": "Invalid cursor" }));
                };
                all.iter()
                    .position(|(p, _)| compare_positions(p, &after, descending).is_gt())
                    .unwrap_or(all.len())
            }
        };
        let page = &all[start..(start + limit).min(all.len())];
        let more = start + page.len() < all.len();
        let next = page.last().filter(|_| more).map(|(p, _)| encode_keyset(p));
        let data: Vec<&Value> = page.iter().map(|(_, r)| r).collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "success": true, "data": data, "additional_data": { "next_cursor": next }
        }))
    }
}

fn encode_keyset(position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "value": position.0, "id": position.1 }).to_string())
}

fn decode_keyset(cursor: &str) -> Option<Position> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some((v["value"].clone(), v["id"].as_u64()?))
}

async fn serve_pipedrive(app: &TestApp, store: &Store) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/deals"))
        .respond_with(PipedriveDeals(store.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/dealFields"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "success": true, "data": [], "additional_data": { "next_cursor": null } }),
        ))
        .mount(&server)
        .await;
    let body = json!({ "settings": { "api_key": "pd-token", "base_url": server.uri() } });
    let (status, body) = call(app.patch("/vault/connections/crm/pipedrive", &body)).await;
    assert_eq!(status, 200, "{body}");
    server
}

// === HubSpot ===

fn hubspot_deal(d: &Deal) -> Value {
    let created = iso(d.created, SecondsFormat::Millis);
    let modified = iso(d.modified, SecondsFormat::Millis);
    json!({
        "id": d.id.to_string(),
        "properties": {
            "dealname": d.title, "description": "", "dealtype": "newbusiness",
            "amount": d.amount.to_string(), "deal_currency_code": "EUR",
            "hs_deal_stage_probability": (f64::from(d.probability) / 100.0).to_string(),
            "closedate": "2026-12-31T15:00:00Z", "pipeline": "default",
            "dealstage": "qualifiedtobuy", "hubspot_owner_id": "910901",
            "hs_is_closed_won": (d.status == "Won").to_string(),
            "hs_is_closed_lost": (d.status == "Lost").to_string(),
            "hs_is_closed": (d.status != "Open").to_string(),
            "createdate": created, "hs_lastmodifieddate": modified,
            "hs_object_id": d.id.to_string()
        },
        "createdAt": created, "updatedAt": modified, "archived": false
    })
}

fn hubspot_id(r: &Value) -> u64 {
    r["id"].as_str().unwrap().parse().unwrap()
}

/// `GET /crm/objects/2026-09/deals?limit&after`: id order; `after` is the id to start at
/// (HubSpot answers the last id plus one), so a change elsewhere shifts nothing.
struct HubSpotList(Store);

impl Respond for HubSpotList {
    fn respond(&self, rq: &Request) -> ResponseTemplate {
        let q = query(rq);
        let limit = number_in(q.get("limit"), 10).min(100);
        if limit == 0 {
            return hubspot_refusal("limit must be at least 1");
        }
        let Ok(after) = q.get("after").map_or(Ok(0), |a| a.parse::<u64>()) else {
            return hubspot_refusal("after is not an id");
        };
        let all = sorted(
            self.0.render(hubspot_deal),
            |r| (Value::Null, hubspot_id(r)),
            false,
        );
        let rest: Vec<&Value> = all
            .iter()
            .map(|(_, r)| r)
            .filter(|r| hubspot_id(r) >= after)
            .collect();
        let page = &rest[..limit.min(rest.len())];
        let mut body = json!({ "results": page });
        if rest.len() > page.len() {
            let next = (hubspot_id(page.last().unwrap()) + 1).to_string();
            body["paging"] = json!({ "next": { "after": next, "link": format!("?after={next}") } });
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// `POST /crm/objects/2026-09/deals/search`: filter groups (ORed) of filters (ANDed), one sort,
/// and `after` as an offset into the result, as HubSpot's search pages.
struct HubSpotSearch(Store);

impl Respond for HubSpotSearch {
    fn respond(&self, rq: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&rq.body) else {
            return hubspot_refusal("the body is not JSON");
        };
        let limit = body["limit"].as_u64().map_or(10, |n| n as usize).min(200);
        if limit == 0 {
            return hubspot_refusal("limit must be at least 1");
        }
        let Ok(offset) = body["after"].as_str().map_or(Ok(0), str::parse::<usize>) else {
            return hubspot_refusal("after is not an offset");
        };
        let known = ["EQ", "NEQ", "GT", "GTE", "LT", "LTE"];
        let operators = body["filterGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["filters"].as_array().into_iter().flatten())
            .map(|f| f["operator"].as_str().unwrap_or_default());
        if let Some(unknown) = operators.into_iter().find(|o| !known.contains(o)) {
            return hubspot_refusal(&format!(
                "the test vendor does not know the operator {unknown}"
            ));
        }
        let groups = body["filterGroups"].as_array().cloned().unwrap_or_default();
        let matching: Vec<Value> = self
            .0
            .render(hubspot_deal)
            .into_iter()
            .filter(|r| {
                groups.is_empty()
                    || groups.iter().any(|g| {
                        g["filters"]
                            .as_array()
                            .is_none_or(|fs| fs.iter().all(|f| hubspot_matches(r, f)))
                    })
            })
            .collect();
        let sort = &body["sorts"][0];
        let by = sort["propertyName"]
            .as_str()
            .unwrap_or("hs_object_id")
            .to_owned();
        let descending = sort["direction"] == "DESCENDING";
        let all = sorted(
            matching,
            |r| (r["properties"][by.as_str()].clone(), hubspot_id(r)),
            descending,
        );
        let end = (offset + limit).min(all.len());
        let page: Vec<&Value> = all[offset.min(end)..end].iter().map(|(_, r)| r).collect();
        let mut answer = json!({ "total": all.len(), "results": page });
        if end < all.len() {
            answer["paging"] = json!({ "next": { "after": end.to_string() } });
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// One search filter on a deal's properties: a missing property equals nothing and is not
/// ordered, so only NEQ matches it.
fn hubspot_matches(record: &Value, filter: &Value) -> bool {
    let have = &record["properties"][filter["propertyName"].as_str().unwrap_or_default()];
    let want = &filter["value"];
    let order = compare_values(have, want);
    match filter["operator"].as_str().unwrap_or_default() {
        "EQ" => !have.is_null() && order.is_eq(),
        "NEQ" => have.is_null() || order.is_ne(),
        "GT" => !have.is_null() && order.is_gt(),
        "GTE" => !have.is_null() && order.is_ge(),
        "LT" => !have.is_null() && order.is_lt(),
        "LTE" => !have.is_null() && order.is_le(),
        other => unreachable!("the search refuses the operator {other} before filtering"),
    }
}

async fn serve_hubspot(app: &TestApp, store: &Store) {
    let server = &app.hubspot;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals"))
        .respond_with(HubSpotList(store.clone()))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/objects/2026-09/deals/search"))
        .respond_with(HubSpotSearch(store.clone()))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/crm/associations/2026-09/deals/[a-z]+/batch/read$",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "status": "COMPLETE", "results": [] })),
        )
        .mount(server)
        .await;
    app.connect_hubspot().await;
}

// === Copper ===

fn copper_opportunity(d: &Deal) -> Value {
    json!({
        "id": d.id, "name": d.title, "assignee_id": 2, "close_date": "10/30/2026",
        "company_id": 3, "company_name": "Dunder Mifflin", "customer_source_id": null,
        "details": "Sample", "loss_reason_id": null, "pipeline_id": 3, "pipeline_stage_id": 13,
        "primary_contact_id": 5, "priority": "None", "status": d.status, "tags": [],
        "interaction_count": 0, "monetary_unit": "USD", "monetary_value": d.amount,
        "win_probability": d.probability, "date_stage_changed": d.created,
        "date_last_contacted": null, "leads_converted_from": [], "date_lead_created": null,
        "date_created": d.created, "date_modified": d.modified, "custom_fields": []
    })
}

/// `POST /developer_api/v1/opportunities/search`: `page_number` (from 1) pages of `page_size`
/// over the list sorted by `sort_by` (default name), as a bare array.
struct CopperSearch(Store);

impl Respond for CopperSearch {
    fn respond(&self, rq: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&rq.body) else {
            return refuse(json!({ "success": false, "status": 400, "message": "Invalid JSON" }));
        };
        let page_number = body["page_number"].as_u64().unwrap_or(1).max(1) as usize;
        let page_size = body["page_size"].as_u64().unwrap_or(20).min(200) as usize;
        let field = match body["sort_by"].as_str().unwrap_or("name") {
            "value" => "monetary_value",
            other => other,
        }
        .to_owned();
        let descending = body["sort_direction"] == "desc";
        let all = sorted(
            self.0.render(copper_opportunity),
            |r| (r[field.as_str()].clone(), r["id"].as_u64().unwrap()),
            descending,
        );
        let start = ((page_number - 1) * page_size).min(all.len());
        let end = (start + page_size).min(all.len());
        let page: Vec<&Value> = all[start..end].iter().map(|(_, r)| r).collect();
        ResponseTemplate::new(200)
            .insert_header("X-PW-TOTAL", all.len().to_string().as_str())
            .set_body_json(page)
    }
}

async fn serve_copper(app: &TestApp, store: &Store) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/developer_api/v1/opportunities/search"))
        .respond_with(CopperSearch(store.clone()))
        .mount(&server)
        .await;
    for names in [
        "custom_field_definitions",
        "loss_reasons",
        "customer_sources",
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/developer_api/v1/{names}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&server)
            .await;
    }
    let body = json!({ "settings": { "api_key": "cu-key", "user_email": "ops@acme.test", "base_url": server.uri() } });
    let (status, body) = call(app.patch("/vault/connections/crm/copper", &body)).await;
    assert_eq!(status, 200, "{body}");
    server
}

// === The referee ===

#[derive(Clone, Copy, Debug)]
enum Vendor {
    HubSpot,
    Pipedrive,
    Copper,
}

impl Vendor {
    fn id(self) -> &'static str {
        match self {
            Vendor::HubSpot => "hubspot",
            Vendor::Pipedrive => "pipedrive",
            Vendor::Copper => "copper",
        }
    }

    /// Mounts the stateful vendor over `store` and connects it; the answer keeps its server up.
    async fn serve(self, app: &TestApp, store: &Store) -> Option<MockServer> {
        match self {
            Vendor::HubSpot => {
                serve_hubspot(app, store).await;
                None
            }
            Vendor::Pipedrive => Some(serve_pipedrive(app, store).await),
            Vendor::Copper => Some(serve_copper(app, store).await),
        }
    }
}

/// What happens between page 1 and the rest of the read.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Delete the middle record of page 1; insert one that sorts after the cursor.
    DeleteServedInsertAfter,
    /// Insert one that sorts before the cursor, delete nothing.
    InsertBefore,
    /// Delete the last record of page 1 (where the cursor points); insert one that sorts before.
    DeleteLastServedInsertBefore,
}

const CHANGES: [Change; 3] = [
    Change::DeleteServedInsertAfter,
    Change::InsertBefore,
    Change::DeleteLastServedInsertBefore,
];

#[derive(Clone, Copy)]
struct Sort {
    by: &'static str,
    descending: bool,
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.descending { "desc" } else { "asc" };
        write!(f, "sort[by]={}&sort[direction]={direction}", self.by)
    }
}

/// Reads page 1, applies `change`, follows the cursors to the end, and says what went wrong.
/// `filter` is more of the list's query (`&filter[...]=...`), or empty.
async fn run(
    vendor: Vendor,
    filter: &str,
    sort: Option<Sort>,
    change: Change,
) -> Result<(), String> {
    let app = spawn_app().await;
    let original = twelve();
    let store = Store::new(original.clone());
    let _server = vendor.serve(&app, &store).await;
    let sort_query = sort
        .map(|s| format!("{filter}&{s}"))
        .unwrap_or(filter.to_owned());
    let describe = format!(
        "{}{filter} {} {change:?}",
        vendor.id(),
        sort.map_or("unsorted".to_owned(), |s| s.to_string())
    );

    let mut pages: Vec<Vec<u64>> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut deleted = None;
    let inserted = 13;
    loop {
        if pages.len() > 3 * original.len() {
            return Err(format!("{describe}: the list did not end; pages {pages:?}"));
        }
        let mut url = format!("/crm/opportunities?limit={LIMIT}{sort_query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = call(app.get(&url).header("x-apideck-service-id", vendor.id())).await;
        if status != 200 {
            return Err(format!(
                "{describe}: page {} answered {status} {body}; pages so far {pages:?}",
                pages.len() + 1
            ));
        }
        let ids = page_ids(&body);
        pages.push(ids);
        cursor = body["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        if pages.len() == 1 {
            let first = &pages[0];
            if first.len() != LIMIT || cursor.is_none() {
                return Err(format!(
                    "{describe}: page 1 is not a full page with a next cursor: {first:?}"
                ));
            }
            // "Before the cursor" is the low end ascending, the high end descending.
            let descending = sort.is_some_and(|s| s.descending);
            let (victim, before) = match change {
                Change::DeleteServedInsertAfter => (Some(first[1]), false),
                Change::InsertBefore => (None, true),
                Change::DeleteLastServedInsertBefore => (Some(first[LIMIT - 1]), true),
            };
            if let Some(id) = victim {
                store.delete(id);
            }
            deleted = victim;
            store.insert(newcomer(inserted, before != descending));
        }
        if cursor.is_none() {
            break;
        }
    }
    let order = sort.map(|s| sort_order(&original, s));
    judge(&original, deleted, inserted, &pages, order.as_deref())
        .map_err(|e| format!("{describe}: {e}"))
}

/// The ids of `deals` in the order a sorted read must serve them: by the unified sort key's
/// vendor value, ties by id in the same direction (as the test vendors break them).
fn sort_order(deals: &[Deal], sort: Sort) -> Vec<u64> {
    let value = |d: &Deal| match sort.by {
        "created_at" => json!(d.created),
        "updated_at" => json!(d.modified),
        "title" => json!(d.title),
        "monetary_amount" => json!(d.amount),
        "win_probability" => json!(d.probability),
        "status" => json!(d.status),
        other => panic!("no test value for the sort {other}"),
    };
    let mut placed: Vec<Position> = deals.iter().map(|d| (value(d), d.id)).collect();
    placed.sort_by(|a, b| compare_positions(a, b, sort.descending));
    placed.into_iter().map(|(_, id)| id).collect()
}

/// Every original record except the deleted one exactly once, nothing twice, nothing unknown,
/// no page over the limit; and when sorted, the records that existed throughout in `order`.
fn judge(
    original: &[Deal],
    deleted: Option<u64>,
    inserted: u64,
    pages: &[Vec<u64>],
    order: Option<&[u64]>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let oversized: Vec<&Vec<u64>> = pages.iter().filter(|p| p.len() > LIMIT).collect();
    if !oversized.is_empty() {
        problems.push(format!("pages over the limit {LIMIT}: {oversized:?}"));
    }
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for id in pages.iter().flatten() {
        *counts.entry(*id).or_default() += 1;
    }
    let mut repeated: Vec<u64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    repeated.sort_unstable();
    if !repeated.is_empty() {
        problems.push(format!("repeated {repeated:?}"));
    }
    let missing: Vec<u64> = original
        .iter()
        .map(|d| d.id)
        .filter(|id| Some(*id) != deleted && !counts.contains_key(id))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("lost {missing:?}"));
    }
    let mut unknown: Vec<u64> = counts
        .keys()
        .copied()
        .filter(|id| *id != inserted && !original.iter().any(|d| d.id == *id))
        .collect();
    unknown.sort_unstable();
    if !unknown.is_empty() {
        problems.push(format!("unknown ids {unknown:?}"));
    }
    if let Some(order) = order {
        let throughout = |id: &&u64| **id != inserted && Some(**id) != deleted;
        let expected: Vec<u64> = order.iter().filter(throughout).copied().collect();
        let mut served: Vec<u64> = Vec::new();
        for id in pages.iter().flatten().filter(throughout) {
            if !served.contains(id) {
                served.push(*id);
            }
        }
        if problems.is_empty() && served != expected {
            problems.push(format!("out of sort order, expected {expected:?}"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let deleted = deleted.map_or("nothing".to_owned(), |id| id.to_string());
    Err(format!(
        "{} (deleted {deleted} after page 1, inserted {inserted}); pages {pages:?}",
        problems.join(", ")
    ))
}

/// Every change under the sort (both directions when there is one); one failure lists all.
async fn referee(vendor: Vendor, filter: &str, by: Option<&'static str>) {
    let sorts: Vec<Option<Sort>> = match by {
        None => vec![None],
        Some(by) => [false, true]
            .into_iter()
            .map(|descending| Some(Sort { by, descending }))
            .collect(),
    };
    let mut failures = Vec::new();
    let mut runs = 0;
    for sort in sorts {
        for change in CHANGES {
            runs += 1;
            if let Err(failure) = run(vendor, filter, sort, change).await {
                failures.push(failure);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} reads lost or repeated records:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One test per vendor and sort, and the list of them all for the coverage check.
macro_rules! referee_tests {
    ($($(#[$attr:meta])* $name:ident: $vendor:ident, $sort:expr;)*) => {
        $(
            #[tokio::test]
            $(#[$attr])*
            async fn $name() {
                referee(Vendor::$vendor, "", $sort).await;
            }
        )*

        const REFEREED: &[(Vendor, Option<&str>)] = &[$((Vendor::$vendor, $sort)),*];
    };
}

referee_tests! {
    pipedrive_unsorted: Pipedrive, None;
    pipedrive_by_created_at: Pipedrive, Some("created_at");
    pipedrive_by_updated_at: Pipedrive, Some("updated_at");
    hubspot_unsorted: HubSpot, None;
    hubspot_by_created_at: HubSpot, Some("created_at");
    hubspot_by_updated_at: HubSpot, Some("updated_at");
    hubspot_by_title: HubSpot, Some("title");
    hubspot_by_monetary_amount: HubSpot, Some("monetary_amount");
    hubspot_by_win_probability: HubSpot, Some("win_probability");
    copper_unsorted: Copper, None;
    copper_by_created_at: Copper, Some("created_at");
    copper_by_updated_at: Copper, Some("updated_at");
    copper_by_title: Copper, Some("title");
    copper_by_monetary_amount: Copper, Some("monetary_amount");
    copper_by_win_probability: Copper, Some("win_probability");
    copper_by_status: Copper, Some("status");
}

/// A filtered, unsorted HubSpot list is a search paged by keyset on `hs_object_id` (every deal
/// has this owner, so the filter keeps them all).
#[tokio::test]
async fn hubspot_filtered_unsorted() {
    referee(Vendor::HubSpot, "&filter[owner_id]=910901", None).await;
}

/// The tests above cover exactly the sorts each vendor's mapping offers (and the unsorted
/// default): a sort added to a mapping without a referee test fails here.
#[test]
fn every_sort_a_mapping_offers_is_refereed() {
    for vendor in [Vendor::HubSpot, Vendor::Pipedrive, Vendor::Copper] {
        let file = format!(
            "{}/mappings/{}/opportunities.yaml",
            env!("CARGO_MANIFEST_DIR"),
            vendor.id()
        );
        let mapping: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let mut offered: Vec<&str> = mapping["sort"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        offered.sort_unstable();
        let mut covered: Vec<&str> = REFEREED
            .iter()
            .filter(|(v, _)| v.id() == vendor.id())
            .filter_map(|(_, sort)| *sort)
            .collect();
        covered.sort_unstable();
        assert_eq!(offered, covered, "{file}");
        assert!(
            REFEREED
                .iter()
                .any(|(v, sort)| v.id() == vendor.id() && sort.is_none()),
            "{} unsorted",
            vendor.id()
        );
    }
}
