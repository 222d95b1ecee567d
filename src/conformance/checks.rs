//! What each scenario must show beyond its fixture, so that no recording can weaken it.

use std::collections::HashSet;

use serde_json::Value;

use super::{CURSOR, Outcome, Reply, Step};
use crmgate_connector_sdk::manifest::RecordPath;

use crate::mapping::MappingTable;
use crate::unified::{FieldKind, ResourceModel};

type Checked = Result<(), String>;

fn ensure(holds: bool, why: impl FnOnce() -> String) -> Checked {
    if holds { Ok(()) } else { Err(why()) }
}

/// The rules of `scenario` on what it did.
/// `id` is where the vendor record holds its id (the manifest's `id.path`).
pub(super) fn check(
    scenario: &str,
    model: &ResourceModel,
    table: &MappingTable,
    id: &RecordPath,
    outcome: &Outcome,
) -> Checked {
    let collection = format!("/crm/{}", model.resource.as_str());
    let item = format!("{collection}/");
    match scenario {
        "create" => create(&collection, table, outcome),
        "get" => {
            let (step, body) = only_step(outcome)?;
            request(step, "GET", &item)?;
            status(step, 200)?;
            ensure(body["data"]["id"].is_string(), || {
                format!("the record has no id: {body}")
            })?;
            // Apideck's SDKs reject a record without its title, where the contract has one.
            let titled = model
                .field("title")
                .is_some_and(|f| f.kind == FieldKind::Title);
            ensure(!titled || body["data"]["title"].is_string(), || {
                format!("the record has no title: {body}")
            })
        }
        "update" => {
            let (step, _) = only_step(outcome)?;
            request(step, "PATCH", &item)?;
            let fields = step
                .request
                .body
                .as_ref()
                .and_then(Value::as_object)
                .map_or(0, |b| b.len());
            ensure(fields == 1, || {
                format!("an update of one field sends one field, not {fields}")
            })?;
            status(step, 200)
        }
        "delete" => {
            let (step, body) = only_step(outcome)?;
            request(step, "DELETE", &item)?;
            status(step, 200)?;
            ensure(body["data"]["id"].is_string(), || {
                format!("the answer names no id: {body}")
            })
        }
        "list_pages" => list_pages(&collection, outcome),
        "raw" => raw(outcome, id),
        "fields" => fields(model, outcome),
        "custom_fields" => custom_fields(outcome),
        "non_numeric_id" => {
            for (step, reply) in outcome.fixture.steps.iter().zip(&outcome.answers) {
                ensure(step.vendor.is_empty(), || {
                    "an id the vendor cannot have issued reached it".to_owned()
                })?;
                unified_error(reply, 404, "EntityNotFoundError")?;
            }
            Ok(())
        }
        "vendor_401" => vendor_error(outcome, &[401], 401, "UnauthorizedError"),
        "vendor_404" => vendor_error(outcome, &[404], 404, "EntityNotFoundError"),
        "vendor_422" => {
            // Some vendors (Close) refuse a body with a 400; the status is kept either way.
            vendor_error(outcome, &[400, 422], 0, "ConnectorExecutionError")?;
            let (_, body) = only_step(outcome)?;
            ensure(
                body["downstream_errors"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty()),
                || "the vendor's own messages do not reach the client".to_owned(),
            )
        }
        "vendor_429" => {
            // A 429, or the 403 a vendor spends its allowance with (Salesforce's
            // REQUEST_LIMIT_EXCEEDED): a rate-limit error either way.
            vendor_error(outcome, &[429, 403], 429, "ConnectorRateLimitError")?;
            let (step, _) = only_step(outcome)?;
            let waits = step
                .vendor
                .iter()
                .any(|e| e.response_headers.contains_key("retry-after"));
            ensure(
                !waits || step.response_headers.contains_key("retry-after"),
                || "the fixture must show the vendor's wait passed on as retry-after".to_owned(),
            )
        }
        "vendor_500" => vendor_error(outcome, &[500], 502, "ConnectorExecutionError"),
        other => Err(format!("there is no scenario {other:?}")),
    }
}

fn only_step(outcome: &Outcome) -> Result<(&Step, &Value), String> {
    match (outcome.fixture.steps.as_slice(), outcome.answers.as_slice()) {
        ([step], [reply]) => Ok((step, &reply.body)),
        (steps, _) => Err(format!("the scenario has one step, not {}", steps.len())),
    }
}

fn request(step: &Step, method: &str, prefix: &str) -> Checked {
    ensure(
        step.request.method == method && step.request.path.starts_with(prefix),
        || {
            format!(
                "the scenario's request is {method} {prefix}…, not {} {}",
                step.request.method, step.request.path
            )
        },
    )
}

fn status(step: &Step, want: u16) -> Checked {
    ensure(step.status == want, || {
        format!("the unified status is {want}, not {}", step.status)
    })
}

fn unified_error(reply: &Reply, status: u16, type_name: &str) -> Checked {
    ensure(
        reply.status == status
            && reply.body["type_name"] == type_name
            && reply.body["status_code"] == status,
        || {
            format!(
                "the client gets {status} {type_name}, not {}: {}",
                reply.status, reply.body
            )
        },
    )
}

/// The last vendor call answers one of `vendor`; the client gets `unified` (0: the same).
fn vendor_error(outcome: &Outcome, vendor: &[u16], unified: u16, type_name: &str) -> Checked {
    let (step, _) = only_step(outcome)?;
    let last = step
        .vendor
        .last()
        .ok_or_else(|| "the vendor is never called".to_owned())?;
    ensure(vendor.contains(&last.status), || {
        format!(
            "the recorded vendor status is one of {vendor:?}, not {}",
            last.status
        )
    })?;
    let unified = if unified == 0 { last.status } else { unified };
    unified_error(&outcome.answers[0], unified, type_name)
}

fn create(collection: &str, table: &MappingTable, outcome: &Outcome) -> Checked {
    let (step, body) = only_step(outcome)?;
    request(step, "POST", collection)?;
    status(step, 201)?;
    let sent = step.request.body.as_ref().and_then(Value::as_object);
    let missing: Vec<&str> = table
        .coverage()
        .filter(|(name, c)| c.write.is_some() && !sent.is_some_and(|s| s.contains_key(*name)))
        .map(|(name, _)| name)
        .collect();
    ensure(missing.is_empty(), || {
        format!("the create sends no value for fields the table writes: {missing:?}")
    })?;
    ensure(body["data"]["id"].is_string(), || {
        format!("the answer names no id: {body}")
    })
}

fn list_pages(collection: &str, outcome: &Outcome) -> Checked {
    let steps = &outcome.fixture.steps;
    ensure(steps.len() == 3, || {
        format!("the list is read in three pages, not {}", steps.len())
    })?;
    let mut ids = HashSet::new();
    let mut total = 0;
    for (n, (step, reply)) in steps.iter().zip(&outcome.answers).enumerate() {
        request(step, "GET", collection)?;
        ensure(reply.status == 200, || {
            format!("page {} is answered {}", n + 1, reply.status)
        })?;
        ensure(step.request.path.contains(CURSOR) == (n > 0), || {
            "every page after the first is asked for with the previous cursor, and only those"
                .to_owned()
        })?;
        for record in reply.body["data"].as_array().into_iter().flatten() {
            total += 1;
            ids.insert(record["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    ensure(ids.len() == total, || {
        format!("{total} records served, {} of them distinct", ids.len())
    })?;
    ensure(
        outcome.answers[2].body["meta"]["cursors"]["next"].is_null(),
        || "the last page hands out no next cursor".to_owned(),
    )
}

fn raw(outcome: &Outcome, id: &RecordPath) -> Checked {
    let steps = &outcome.fixture.steps;
    ensure(steps.len() == 2, || "a list, then one record".to_owned())?;
    ensure(
        steps.iter().all(|s| s.request.path.contains("raw=true")),
        || "both ask for raw=true".to_owned(),
    )?;
    let (list, one) = (&outcome.answers[0].body, &outcome.answers[1].body);
    let records = list["data"].as_array().map_or(&[][..], Vec::as_slice);
    ensure(!records.is_empty(), || "the list is empty".to_owned())?;
    ensure(records.iter().all(|r| r.get("_raw").is_none()), || {
        "records are unified records only, without _raw".to_owned()
    })?;
    let pages = list["_raw"]["pages"]
        .as_array()
        .ok_or_else(|| format!("no _raw.pages in {list}"))?;
    let answers: Vec<&Value> = steps[0]
        .vendor
        .iter()
        .filter_map(|e| e.response.as_ref())
        .collect();
    ensure(!pages.is_empty(), || "_raw.pages is empty".to_owned())?;
    for page in pages {
        ensure(answers.contains(&page), || {
            format!("a page that is not a vendor answer as received: {page}")
        })?;
    }
    ensure(one["data"].get("_raw").is_none(), || {
        format!("one record's data carries _raw: {one}")
    })?;
    let raw_id = id
        .find(&one["_raw"])
        .map(crmgate_connector_sdk::id_text)
        .unwrap_or_default();
    ensure(one["data"]["id"].as_str() == Some(raw_id.as_str()), || {
        "one record's _raw is its vendor record".to_owned()
    })
}

fn fields(model: &ResourceModel, outcome: &Outcome) -> Checked {
    let (step, body) = only_step(outcome)?;
    let wanted: Vec<&str> = step
        .request
        .path
        .split_once("fields=")
        .map(|(_, f)| f.split('&').next().unwrap_or_default().split(',').collect())
        .ok_or_else(|| "the request names no fields=".to_owned())?;
    for record in body["data"].as_array().into_iter().flatten() {
        for key in record.as_object().into_iter().flat_map(|r| r.keys()) {
            let required = model.field(key).is_some_and(|f| f.required);
            ensure(required || wanted.contains(&key.as_str()), || {
                format!("{key} was not asked for")
            })?;
        }
    }
    Ok(())
}

fn custom_fields(outcome: &Outcome) -> Checked {
    let written = outcome.fixture.steps.iter().any(|s| {
        s.request
            .body
            .as_ref()
            .is_some_and(|b| b["custom_fields"].is_array())
    });
    ensure(written, || "no step writes custom fields".to_owned())?;
    let read = outcome.answers.iter().any(|reply| {
        reply.body["data"]["custom_fields"]
            .as_array()
            .is_some_and(|fields| fields.iter().any(|f| f["name"].is_string()))
    });
    ensure(read, || {
        "no step reads them back with their names".to_owned()
    })
}
