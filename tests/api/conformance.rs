//! One conformance suite for every registered connector: the same table of unified scenarios,
//! each replayed against the connector's own recorded vendor exchanges in
//! `tests/fixtures/<connector>/<scenario>.json`.
//!
//! A fixture gives, per step, the unified request, every vendor call it must cause (method,
//! path, exact query, body) with the vendor's recorded answer, and the exact unified answer.
//! The connection's auth headers (`connection.json`) are checked on every vendor call. On top of
//! what a fixture says, each scenario asserts what no fixture may weaken: a create carries every
//! field the connector's table writes, a vendor 401 is a unified 401, a non-numeric id never
//! reaches the vendor, a list reaches every record once across three vendor pages, and so on.
//!
//! Adding a connector is its registry line plus its fixtures; a registered connector without a
//! fixture fails here. The plugins shipped in `connectors.d/` run here too, from their own
//! `fixtures/` folders. `CRMGATE_RECORD_FIXTURES=1` rewrites the expected side of each fixture
//! from what crmgate did, for writing a new connector's fixtures: read every change it makes.
//! `CRMGATE_CONFORMANCE_ONLY=<connector>` runs the suite against one connector.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crmgate::mapping::{MappingSet, MappingTable};
use crmgate::registry::{self, ConnectorEntry};
use crmgate_connector_sdk::Resource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::app::{TestApp, spawn_app};

/// Placeholders for what changes from run to run: the `next` cursor of a list answer, the
/// cursor a request was made with (the previous answer's `next`), the gateway's address.
const NEXT: &str = "{{next}}";
const CURSOR: &str = "{{cursor}}";
/// The gateway's own address, which answers' links carry.
const GATEWAY: &str = "{{gateway}}";

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    about: String,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Step {
    request: UnifiedRequest,
    vendor: Vec<Exchange>,
    status: u16,
    /// Headers the unified answer must carry with exactly these values (`retry-after`, say).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    response_headers: BTreeMap<String, String>,
    response: Value,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UnifiedRequest {
    method: String,
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
}

/// One vendor call: what crmgate must send, and the recorded answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Exchange {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    response_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<Value>,
}

/// `connection.json`: the settings a test connection is made with, and the headers they must
/// put on every vendor call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Connection {
    settings: Map<String, Value>,
    headers: BTreeMap<String, String>,
}

/// A built-in connector's fixtures are in `tests/fixtures/<id>`, a plugin's in its folder.
fn fixtures(entry: &ConnectorEntry) -> PathBuf {
    match &entry.plugin {
        Some(folder) => folder.join("fixtures"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(entry.connector.id()),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &PathBuf) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (every connector needs every scenario)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn recording() -> bool {
    std::env::var_os("CRMGATE_RECORD_FIXTURES").is_some_and(|v| v == "1")
}

/// Answers vendor calls with the recorded answers, in order.
#[derive(Clone, Default)]
struct Replay(Arc<Mutex<VecDeque<ResponseTemplate>>>);

impl Respond for Replay {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().pop_front().unwrap_or_else(|| {
            ResponseTemplate::new(599).set_body_string("the fixture has no answer for this call")
        })
    }
}

/// What a scenario did, for the scenario's own checks.
struct Outcome {
    fixture: Fixture,
    /// The unified answers, in step order.
    answers: Vec<(u16, Value)>,
}

/// Replays one scenario for one connector and checks every step exactly.
async fn replay(entry: &ConnectorEntry, scenario: &str) -> Outcome {
    let id = entry.connector.id();
    let dir = fixtures(entry);
    let connection: Connection = read_json(&dir.join("connection.json"));
    let file = dir.join(format!("{scenario}.json"));
    let mut fixture: Fixture = read_json(&file);
    let app = spawn_app().await;
    let vendor = MockServer::start().await;
    let replay = Replay::default();
    Mock::given(wiremock::matchers::any())
        .respond_with(replay.clone())
        .mount(&vendor)
        .await;
    connect(&app, id, &connection, &vendor).await;

    let mut seen = 0;
    let mut cursor: Option<String> = None;
    let mut answers = Vec::new();
    for (n, step) in fixture.steps.iter_mut().enumerate() {
        let at = format!("{id}/{scenario}.json step {}", n + 1);
        *replay.0.lock().unwrap() = step.vendor.iter().map(answer).collect();
        let path = match &cursor {
            Some(c) => step.request.path.replace(CURSOR, c),
            None => step.request.path.clone(),
        };
        let method = reqwest::Method::from_bytes(step.request.method.as_bytes()).unwrap();
        let mut rq = app
            .request(method, &path)
            .header("x-apideck-service-id", id);
        if let Some(body) = &step.request.body {
            rq = rq.json(body);
        }
        let (status, headers, body) = crate::app::exchange(rq).await;
        let received = vendor.received_requests().await.unwrap_or_default();
        let calls = &received[seen..];
        seen = received.len();

        let next = body["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        let subs = substitutions(&app.address, cursor.as_deref(), next.as_deref());
        if recording() {
            step.vendor = record_calls(calls, &step.vendor);
            step.status = status;
            step.response = rewrite(body.clone(), &subs, false);
        } else {
            check_calls(&at, calls, &step.vendor, &connection);
            assert_eq!(status, step.status, "{at}: unified status; answer {body}");
            for (name, value) in &step.response_headers {
                let got = headers.get(name.as_str()).map(|v| v.to_str().unwrap());
                assert_eq!(got, Some(value.as_str()), "{at}: answer header {name}");
            }
            let expected = rewrite(step.response.clone(), &subs, true);
            assert_eq!(
                body, expected,
                "{at}: unified answer\n got: {}\nwant: {}",
                body, expected
            );
        }
        cursor = next;
        answers.push((status, body));
    }
    if recording() {
        let text = serde_json::to_string_pretty(&fixture).unwrap();
        std::fs::write(&file, text + "\n").unwrap();
    }
    Outcome { fixture, answers }
}

async fn connect(app: &TestApp, id: &str, connection: &Connection, vendor: &MockServer) {
    let mut settings = connection.settings.clone();
    settings.insert("base_url".into(), json!(vendor.uri()));
    let (status, body) = crate::app::call(app.patch(
        &format!("/vault/connections/crm/{id}"),
        &json!({ "settings": settings }),
    ))
    .await;
    assert_eq!(status, 200, "{id}: the test connection is accepted: {body}");
}

fn answer(exchange: &Exchange) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(exchange.status);
    for (name, value) in &exchange.response_headers {
        template = template.insert_header(name.as_str(), value.as_str());
    }
    match &exchange.response {
        Some(body) => template.set_body_raw(body.to_string(), "application/json"),
        None => template,
    }
}

fn query_of(request: &Request) -> BTreeMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

fn body_of(request: &Request, at: &str) -> Option<Value> {
    if request.body.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(&request.body)
            .unwrap_or_else(|e| panic!("{at}: the vendor body is not JSON: {e}")),
    )
}

fn check_calls(at: &str, calls: &[Request], expected: &[Exchange], connection: &Connection) {
    let described: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.method, c.url))
        .collect();
    assert_eq!(
        calls.len(),
        expected.len(),
        "{at}: vendor calls made: {described:#?}"
    );
    for (k, (call, want)) in calls.iter().zip(expected).enumerate() {
        let at = format!("{at}, vendor call {}", k + 1);
        assert_eq!(call.method.as_str(), want.method, "{at}: method");
        assert_eq!(call.url.path(), want.path, "{at}: path");
        assert_eq!(query_of(call), want.query, "{at}: query");
        for (name, value) in &connection.headers {
            let got = call.headers.get(name.as_str()).map(|v| v.to_str().unwrap());
            assert_eq!(got, Some(value.as_str()), "{at}: header {name}");
        }
        assert_eq!(body_of(call, &at), want.body, "{at}: body");
    }
}

fn record_calls(calls: &[Request], recorded: &[Exchange]) -> Vec<Exchange> {
    calls
        .iter()
        .zip(recorded)
        .map(|(call, answer)| Exchange {
            method: call.method.to_string(),
            path: call.url.path().to_owned(),
            query: query_of(call),
            body: body_of(call, "recording"),
            ..answer.clone()
        })
        .collect()
}

/// `(placeholder, value)` pairs of a step: the gateway's address and the cursors.
fn substitutions<'a>(
    gateway: &'a str,
    cursor: Option<&'a str>,
    next: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut subs = vec![(GATEWAY, gateway)];
    subs.extend(cursor.map(|c| (CURSOR, c)));
    subs.extend(next.map(|n| (NEXT, n)));
    subs
}

/// Replaces each placeholder by its value (`expand`) or each value by its placeholder.
fn rewrite(value: Value, subs: &[(&str, &str)], expand: bool) -> Value {
    match value {
        Value::String(mut s) => {
            for (placeholder, actual) in subs {
                s = if expand {
                    s.replace(placeholder, actual)
                } else {
                    s.replace(actual, placeholder)
                };
            }
            Value::String(s)
        }
        Value::Array(items) => items
            .into_iter()
            .map(|v| rewrite(v, subs, expand))
            .collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (k, rewrite(v, subs, expand)))
            .collect(),
        other => other,
    }
}

fn opportunities_table(entry: &ConnectorEntry) -> std::sync::Arc<MappingTable> {
    MappingSet::load(None, std::slice::from_ref(entry))
        .expect("built-in tables compile")
        .table(entry.connector.id(), Resource::Opportunities)
        .expect("every connector maps opportunities")
}

/// Runs a scenario against every registered connector, then its own checks on each outcome.
async fn for_every_connector(scenario: &str, check: impl Fn(&str, &MappingTable, &Outcome)) {
    let only = std::env::var("CRMGATE_CONFORMANCE_ONLY").ok();
    let sources = registry::Sources {
        plugins: Some(crate::app::plugins_dir()),
        ..Default::default()
    };
    let entries: Vec<ConnectorEntry> = registry::load(&sources)
        .unwrap_or_else(|e| panic!("the connectors load: {e:?}"))
        .entries
        .into_iter()
        .filter(|e| only.as_deref().is_none_or(|o| o == e.connector.id()))
        .collect();
    assert!(!entries.is_empty(), "no connector to run against");
    for entry in &entries {
        let outcome = replay(entry, scenario).await;
        if !recording() {
            let at = format!("{}/{scenario}", entry.connector.id());
            check(&at, &opportunities_table(entry), &outcome);
        }
    }
}

fn only_step<'a>(at: &str, outcome: &'a Outcome) -> (&'a Step, &'a Value) {
    assert_eq!(outcome.fixture.steps.len(), 1, "{at}: one step");
    (&outcome.fixture.steps[0], &outcome.answers[0].1)
}

fn assert_request(at: &str, step: &Step, method: &str, path_prefix: &str) {
    assert_eq!(step.request.method, method, "{at}: unified method");
    assert!(
        step.request.path.starts_with(path_prefix),
        "{at}: unified path {}",
        step.request.path
    );
}

/// A vendor error scenario: the last vendor call answers `vendor`, the client gets `unified`.
fn vendor_error(at: &str, outcome: &Outcome, vendor: u16, unified: u16, type_name: &str) {
    let (step, body) = only_step(at, outcome);
    let last = step.vendor.last().expect("the vendor is called");
    assert_eq!(last.status, vendor, "{at}: the recorded vendor status");
    assert_eq!(step.status, unified, "{at}");
    assert_eq!(body["type_name"], type_name, "{at}: {body}");
    assert_eq!(body["status_code"], unified, "{at}");
}

#[tokio::test]
async fn create_with_every_writable_field() {
    for_every_connector("create", |at, table, outcome| {
        let (step, body) = only_step(at, outcome);
        assert_request(at, step, "POST", "/crm/opportunities");
        assert_eq!(step.status, 201, "{at}");
        let sent = step
            .request
            .body
            .as_ref()
            .and_then(Value::as_object)
            .unwrap();
        let missing: Vec<&str> = table
            .coverage()
            .filter(|(name, c)| c.write.is_some() && !sent.contains_key(*name))
            .map(|(name, _)| name)
            .collect();
        assert!(
            missing.is_empty(),
            "{at}: writable fields not sent: {missing:?}"
        );
        assert!(body["data"]["id"].is_string(), "{at}");
    })
    .await;
}

#[tokio::test]
async fn get_one() {
    for_every_connector("get", |at, _, outcome| {
        let (step, body) = only_step(at, outcome);
        assert_request(at, step, "GET", "/crm/opportunities/");
        assert_eq!(step.status, 200, "{at}");
        assert!(body["data"]["title"].is_string(), "{at}");
    })
    .await;
}

#[tokio::test]
async fn update_one_field() {
    for_every_connector("update", |at, _, outcome| {
        let (step, _) = only_step(at, outcome);
        assert_request(at, step, "PATCH", "/crm/opportunities/");
        let sent = step
            .request
            .body
            .as_ref()
            .and_then(Value::as_object)
            .unwrap();
        assert_eq!(sent.len(), 1, "{at}: one field");
        assert_eq!(step.status, 200, "{at}");
    })
    .await;
}

#[tokio::test]
async fn delete_one() {
    for_every_connector("delete", |at, _, outcome| {
        let (step, body) = only_step(at, outcome);
        assert_request(at, step, "DELETE", "/crm/opportunities/");
        assert_eq!(step.status, 200, "{at}");
        assert!(body["data"]["id"].is_string(), "{at}");
    })
    .await;
}

#[tokio::test]
async fn list_across_three_vendor_pages() {
    for_every_connector("list_pages", |at, _, outcome| {
        assert_eq!(outcome.fixture.steps.len(), 3, "{at}: three pages");
        let mut ids = HashSet::new();
        let mut total = 0;
        for (n, (step, (status, body))) in outcome
            .fixture
            .steps
            .iter()
            .zip(&outcome.answers)
            .enumerate()
        {
            assert_request(at, step, "GET", "/crm/opportunities");
            assert_eq!(*status, 200, "{at}");
            assert_eq!(
                step.request.path.contains(CURSOR),
                n > 0,
                "{at}: every page after the first is asked for with the previous cursor"
            );
            for record in body["data"].as_array().unwrap() {
                total += 1;
                ids.insert(record["id"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(ids.len(), total, "{at}: every record exactly once");
        let last = &outcome.answers[2].1;
        assert_eq!(
            last["meta"]["cursors"]["next"],
            Value::Null,
            "{at}: the end"
        );
    })
    .await;
}

#[tokio::test]
async fn raw_carries_the_vendor_answer_on_the_envelope() {
    for_every_connector("raw", |at, _, outcome| {
        let steps = &outcome.fixture.steps;
        assert_eq!(steps.len(), 2, "{at}: a list, then one record");
        for step in steps {
            assert!(step.request.path.contains("raw=true"), "{at}");
        }
        let (list, one) = (&outcome.answers[0].1, &outcome.answers[1].1);

        let records = list["data"].as_array().unwrap();
        assert!(!records.is_empty(), "{at}");
        assert!(
            records.iter().all(|r| r.get("_raw").is_none()),
            "{at}: records are unified records only"
        );
        let pages = list["_raw"]["pages"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: _raw.pages in {list}"));
        let answers: Vec<&Value> = steps[0]
            .vendor
            .iter()
            .filter_map(|e| e.response.as_ref())
            .collect();
        assert!(!pages.is_empty(), "{at}");
        for page in pages {
            assert!(
                answers.contains(&page),
                "{at}: a page that is not a vendor answer as received: {page}"
            );
        }

        assert!(one["data"].get("_raw").is_none(), "{at}: {one}");
        let raw_id = crmgate_connector_sdk::id_text(&one["_raw"]["id"]);
        assert_eq!(
            one["data"]["id"].as_str(),
            Some(raw_id.as_str()),
            "{at}: one record's _raw is its vendor record"
        );
    })
    .await;
}

#[tokio::test]
async fn fields_limits_the_answer() {
    for_every_connector("fields", |at, _, outcome| {
        let (step, body) = only_step(at, outcome);
        let wanted = step
            .request
            .path
            .split_once("fields=")
            .map(|(_, f)| f.split('&').next().unwrap().split(',').collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("{at}: the request names fields"));
        for record in body["data"].as_array().unwrap() {
            for key in record.as_object().unwrap().keys() {
                assert!(
                    key == "title" || wanted.contains(&key.as_str()),
                    "{at}: {key} was not asked for"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_vendor_401_is_an_unauthorized_error() {
    for_every_connector("vendor_401", |at, _, outcome| {
        vendor_error(at, outcome, 401, 401, "UnauthorizedError");
    })
    .await;
}

#[tokio::test]
async fn a_vendor_404_is_an_entity_not_found_error() {
    for_every_connector("vendor_404", |at, _, outcome| {
        vendor_error(at, outcome, 404, 404, "EntityNotFoundError");
    })
    .await;
}

#[tokio::test]
async fn a_vendor_422_is_proxied_with_the_vendors_messages() {
    for_every_connector("vendor_422", |at, _, outcome| {
        // Some vendors (Close) refuse a body with a 400 instead; the status is kept either way.
        let (step, _) = only_step(at, outcome);
        let refused = step.vendor.last().map_or(0, |v| v.status);
        assert!(matches!(refused, 400 | 422), "{at}: a refusal of the body");
        vendor_error(at, outcome, refused, refused, "ConnectorExecutionError");
        let (_, body) = only_step(at, outcome);
        assert!(
            !body["downstream_errors"].as_array().unwrap().is_empty(),
            "{at}: the vendor's own messages reach the client"
        );
    })
    .await;
}

#[tokio::test]
async fn a_vendor_429_is_a_rate_limit_error() {
    for_every_connector("vendor_429", |at, _, outcome| {
        vendor_error(at, outcome, 429, 429, "ConnectorRateLimitError");
        let (step, _) = only_step(at, outcome);
        assert!(
            step.response_headers.contains_key("retry-after"),
            "{at}: the vendor's wait is passed on"
        );
    })
    .await;
}

#[tokio::test]
async fn a_vendor_500_is_a_connector_execution_error() {
    for_every_connector("vendor_500", |at, _, outcome| {
        vendor_error(at, outcome, 500, 502, "ConnectorExecutionError");
    })
    .await;
}

#[tokio::test]
async fn a_non_numeric_id_never_reaches_the_vendor() {
    for_every_connector("non_numeric_id", |at, _, outcome| {
        for (step, (status, body)) in outcome.fixture.steps.iter().zip(&outcome.answers) {
            assert!(step.vendor.is_empty(), "{at}: no vendor call");
            assert_eq!(*status, 404, "{at}");
            assert_eq!(body["type_name"], "EntityNotFoundError", "{at}");
        }
    })
    .await;
}

#[tokio::test]
async fn custom_fields_round_trip() {
    for_every_connector("custom_fields", |at, _, outcome| {
        let steps = &outcome.fixture.steps;
        let written = steps.iter().any(|s| {
            s.request
                .body
                .as_ref()
                .is_some_and(|b| b["custom_fields"].is_array())
        });
        assert!(written, "{at}: a step writes custom fields");
        let read = outcome.answers.iter().any(|(_, body)| {
            body["data"]["custom_fields"]
                .as_array()
                .is_some_and(|fields| fields.iter().any(|f| f["name"].is_string()))
        });
        assert!(read, "{at}: a step reads them back with their names");
    })
    .await;
}
