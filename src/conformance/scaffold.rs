//! `crmgate connectors new <id>`: a plugin folder that works before anything is changed — a
//! commented manifest and table for a made-up vendor, and a fixture for every scenario whose
//! vendor answers agree with them. `connectors test --record` fills in what crmgate sent and
//! answered; the author then replaces the vendor, one part at a time, keeping the tests green.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Connection, Exchange, Fixture, SCENARIOS, Step, UnifiedRequest};

const MANIFEST: &str = include_str!("scaffold/connector.yaml");
const TABLE: &str = include_str!("scaffold/opportunities.yaml");

/// Writes the plugin `id` as `parent/id/`, which must not exist yet.
pub fn scaffold(parent: &Path, id: &str) -> Result<PathBuf, String> {
    if !crate::registry::valid_id(id) {
        return Err(format!(
            "{id:?} cannot be a connector id: use lowercase letters, digits, `-` and `_`, starting with a letter"
        ));
    }
    if crate::registry::built_in_ids().contains(&id) {
        return Err(format!(
            "{id:?} is a built-in connector; a plugin needs an id of its own"
        ));
    }
    let folder = parent.join(id);
    if folder.exists() {
        return Err(format!("{} exists already", folder.display()));
    }
    let name = {
        let mut chars = id.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    };
    let fill = |text: &str| text.replace("__ID__", id).replace("__NAME__", &name);
    let write = |rel: &str, text: String| {
        let file = folder.join(rel);
        std::fs::create_dir_all(file.parent().expect("a file in the folder"))
            .and_then(|()| std::fs::write(&file, text))
            .map_err(|e| format!("{}: {e}", file.display()))
    };
    write("connector.yaml", fill(MANIFEST))?;
    write("mappings/opportunities.yaml", fill(TABLE))?;
    let connection = Connection {
        settings: [("api_key".to_owned(), json!("test-key"))]
            .into_iter()
            .collect(),
        headers: [("authorization".to_owned(), "Bearer test-key".to_owned())]
            .into_iter()
            .collect(),
        oauth: std::collections::BTreeMap::new(),
    };
    write("fixtures/connection.json", pretty(&connection))?;
    for scenario in SCENARIOS {
        write(
            &format!("fixtures/opportunities/{scenario}.json"),
            pretty(&fixture(scenario, &name)),
        )?;
    }
    Ok(folder)
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("plain JSON") + "\n"
}

/// One deal as the made-up vendor answers it.
fn deal(id: u64, custom: Value) -> Value {
    json!({
        "id": id, "name": format!("Deal {id}"), "amount": 1500.50, "currency": "EUR",
        "close_date": "2026-12-31", "owner_id": 7, "status": "open", "custom_fields": custom,
        "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-02-03T04:05:06Z",
    })
}

fn fields_catalog() -> Exchange {
    call(
        "GET",
        "/v1/deal_fields",
        200,
        Some(json!({ "data": [
        { "key": "region", "name": "Region" },
        { "key": "seats", "name": "Seats" },
    ] })),
    )
}

fn call(method: &str, path: &str, status: u16, response: Option<Value>) -> Exchange {
    Exchange {
        method: method.to_owned(),
        path: path.to_owned(),
        query: Default::default(),
        headers: Default::default(),
        body: None,
        status,
        response_headers: Default::default(),
        response,
    }
}

fn step(method: &str, path: &str, body: Option<Value>, vendor: Vec<Exchange>) -> Step {
    Step {
        request: UnifiedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            body,
        },
        vendor,
        // What crmgate answers is recorded by `connectors test --record`.
        status: 0,
        response_headers: Default::default(),
        response: Value::Null,
    }
}

fn error(status: u16, message: &str) -> Option<Value> {
    Some(json!({ "error": { "code": status, "message": message } }))
}

fn fixture(scenario: &str, name: &str) -> Fixture {
    let one = |id: u64| Some(json!({ "data": deal(id, json!({})) }));
    let page = |ids: &[u64], next: Option<&str>| {
        let data: Vec<Value> = ids.iter().map(|id| deal(*id, json!({}))).collect();
        Some(json!({ "data": data, "next_cursor": next }))
    };
    let (about, steps) = match scenario {
        "create" => (
            format!("Create with every field the {name} table writes; the custom field's id is checked against the deal fields first."),
            vec![step(
                "POST",
                "/crm/opportunities",
                Some(json!({
                    "title": "Rocket", "monetary_amount": 1500.50, "currency": "EUR",
                    "close_date": "2026-12-31", "owner_id": "7", "status": "Open",
                    "custom_fields": [{ "id": "region", "value": "EMEA" }],
                })),
                vec![
                    fields_catalog(),
                    call("POST", "/v1/deals", 201, Some(json!({ "data": deal(1, json!({ "region": "EMEA" })) }))),
                ],
            )],
        ),
        "get" => (
            "Read one deal.".to_owned(),
            vec![step("GET", "/crm/opportunities/42", None, vec![call("GET", "/v1/deals/42", 200, one(42))])],
        ),
        "update" => (
            "Update one field.".to_owned(),
            vec![step(
                "PATCH",
                "/crm/opportunities/42",
                Some(json!({ "title": "Renamed" })),
                vec![call("PATCH", "/v1/deals/42", 200, one(42))],
            )],
        ),
        "delete" => (
            "Delete one deal.".to_owned(),
            vec![step("DELETE", "/crm/opportunities/42", None, vec![call("DELETE", "/v1/deals/42", 204, None)])],
        ),
        "list_pages" => (
            "Five deals over three vendor pages, followed through the vendor's next_cursor.".to_owned(),
            vec![
                step("GET", "/crm/opportunities?limit=2", None, vec![call("GET", "/v1/deals", 200, page(&[1, 2], Some("c2")))]),
                step("GET", "/crm/opportunities?limit=2&cursor={{cursor}}", None, vec![call("GET", "/v1/deals", 200, page(&[3, 4], Some("c3")))]),
                step("GET", "/crm/opportunities?limit=2&cursor={{cursor}}", None, vec![call("GET", "/v1/deals", 200, page(&[5], None))]),
            ],
        ),
        "raw" => (
            "raw=true: a list's envelope carries every vendor page as received under _raw.pages, one record's envelope the vendor record.".to_owned(),
            vec![
                step("GET", "/crm/opportunities?limit=1&raw=true", None, vec![call("GET", "/v1/deals", 200, page(&[1], None))]),
                step("GET", "/crm/opportunities/7?raw=true", None, vec![call("GET", "/v1/deals/7", 200, one(7))]),
            ],
        ),
        "fields" => (
            "fields= limits each record to the named fields (and title).".to_owned(),
            vec![step(
                "GET",
                "/crm/opportunities?limit=2&fields=id,monetary_amount,status",
                None,
                vec![call("GET", "/v1/deals", 200, page(&[1, 2], None))],
            )],
        ),
        "custom_fields" => (
            "A custom field written by name goes out by its key and reads back named.".to_owned(),
            vec![
                step(
                    "PATCH",
                    "/crm/opportunities/42",
                    Some(json!({ "custom_fields": [{ "name": "Region", "value": "EMEA" }] })),
                    vec![
                        fields_catalog(),
                        call("PATCH", "/v1/deals/42", 200, Some(json!({ "data": deal(42, json!({ "region": "EMEA" })) }))),
                    ],
                ),
                step(
                    "GET",
                    "/crm/opportunities/42",
                    None,
                    vec![call("GET", "/v1/deals/42", 200, Some(json!({ "data": deal(42, json!({ "region": "EMEA", "seats": 12 })) })))],
                ),
            ],
        ),
        "non_numeric_id" => (
            format!("{name} ids are integers: another id is not found without a call."),
            vec![
                step("GET", "/crm/opportunities/abc", None, Vec::new()),
                step("PATCH", "/crm/opportunities/abc", Some(json!({ "title": "X" })), Vec::new()),
                step("DELETE", "/crm/opportunities/abc", None, Vec::new()),
            ],
        ),
        "vendor_422" => (
            format!("{name} refuses the body; its message reaches the client."),
            vec![step(
                "POST",
                "/crm/opportunities",
                Some(json!({ "title": "Bad", "owner_id": "999" })),
                vec![call("POST", "/v1/deals", 422, error(422, "Owner 999 does not exist"))],
            )],
        ),
        "vendor_429" => {
            let mut refused = call("GET", "/v1/deals/42", 429, error(429, "Too many requests"));
            refused.response_headers.insert("retry-after".into(), "120".into());
            let mut step = step("GET", "/crm/opportunities/42", None, vec![refused]);
            step.response_headers.insert("retry-after".into(), "120".into());
            (
                format!("{name}'s budget is spent and it asks for a wait past the request deadline: no retry, the wait is passed on."),
                vec![step],
            )
        }
        other => {
            let status: u16 = other.trim_start_matches("vendor_").parse().unwrap_or(500);
            (
                format!("{name} answers {status}."),
                vec![step(
                    "GET",
                    "/crm/opportunities/42",
                    None,
                    vec![call("GET", "/v1/deals/42", status, error(status, "The vendor says no"))],
                )],
            )
        }
    };
    Fixture { about, steps }
}
