//! Every answer the tests see is checked against Apideck's own contracts, `crm.yml` and
//! `vault.yml` (`tests/specs/apideck/`): the response schema of the operation the request
//! names, for the answer's status, as a strict client would hold it. A key the contract does not
//! have, a `null` where it allows none or a wrong type fails the test that produced the answer.
//!
//! The contracts are OpenAPI 3.0, whose schema objects are JSON Schema with a few differences;
//! [`json_schema`] turns them into JSON Schema draft 7 (whose `$ref` ignores its siblings, as
//! OpenAPI 3.0's does). Each (operation, status) pair compiles its validator on first use, once
//! per test binary.

use std::sync::{LazyLock, OnceLock};

use jsonschema::Validator;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// The contracts answers are checked against, loaded once per test binary.
static SPECS: LazyLock<Vec<Spec>> =
    LazyLock::new(|| vec![Spec::load("crm.yml"), Spec::load("vault.yml")]);

/// Checks an answer against the contract when its request is one of the contract's operations;
/// answers outside it (health, metrics, the gateway's own OpenAPI document) are not checked.
/// Panics with every violation, where it is and the whole body.
pub fn check(method: &Method, path: &str, status: u16, body: &Value) {
    if let Err(problems) = problems(method, path, status, body) {
        panic!(
            "{method} {path} answered {status} with a body that breaks the contract:\n  {}\nbody: {}",
            problems.join("\n  "),
            serde_json::to_string_pretty(body).unwrap()
        );
    }
}

/// What is wrong with an answer, one line each; `Ok` also when the contract has no such
/// operation.
fn problems(method: &Method, path: &str, status: u16, body: &Value) -> Result<(), Vec<String>> {
    let Some((spec, operation)) = SPECS
        .iter()
        .find_map(|spec| spec.operation(method, path).map(|op| (spec, op)))
    else {
        return Ok(());
    };
    let at = format!("{} {method} {}", spec.name, operation.template);
    let Some(response) = operation.response(status) else {
        return Err(vec![format!(
            "{at} lists no {status} answer and no default answer"
        )]);
    };
    let schema = match &response.body {
        Body::Json(schema) => schema,
        Body::Other => return Ok(()),
        Body::Nothing => {
            return match body {
                Value::Null => Ok(()),
                _ => Err(vec![format!(
                    "{at} answers {} with no body",
                    response.status
                )]),
            };
        }
    };
    let validator = response.validator.get_or_init(|| {
        let document = json!({ "components": spec.components, "allOf": [schema] });
        jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&document)
            .unwrap_or_else(|e| {
                panic!("{at} {}: the schema does not compile: {e}", response.status)
            })
    });
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| {
            format!(
                "{at} {}: at {:?}: {e}",
                response.status,
                e.instance_path().as_str()
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One contract: its operations and its shared schemas.
struct Spec {
    name: &'static str,
    /// `{"schemas": ...}`, converted, where the operations' `$ref`s point.
    components: Value,
    operations: Vec<SpecOperation>,
}

struct SpecOperation {
    method: Method,
    /// The path as the contract writes it (`/crm/opportunities/{id}`).
    template: String,
    responses: Vec<SpecResponse>,
}

struct SpecResponse {
    /// `200`, `4XX` or `default`.
    status: String,
    body: Body,
    validator: OnceLock<Validator>,
}

/// What a response's body is.
enum Body {
    /// `application/json`, with its converted schema.
    Json(Value),
    /// Another media type (a redirect's HTML page, say), which is not checked.
    Other,
    /// No body at all.
    Nothing,
}

impl Spec {
    fn load(name: &'static str) -> Self {
        let file = format!("{}/tests/specs/apideck/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let document: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let components = &document["components"];
        let schemas: Map<String, Value> = components["schemas"]
            .as_object()
            .unwrap_or_else(|| panic!("{file}: no components.schemas"))
            .iter()
            .map(|(k, v)| (k.clone(), json_schema(v)))
            .collect();
        let mut operations = Vec::new();
        for (template, item) in document["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                if operation.get("responses").is_none() {
                    continue;
                }
                let responses = operation["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, response)| SpecResponse {
                        status: status.clone(),
                        body: body_schema(components, response, &file),
                        validator: OnceLock::new(),
                    })
                    .collect();
                operations.push(SpecOperation {
                    method,
                    template: template.clone(),
                    responses,
                });
            }
        }
        assert!(!operations.is_empty(), "{file}: no operations");
        Spec {
            name,
            components: json!({ "schemas": schemas }),
            operations,
        }
    }

    /// The operation a request names: the one whose template matches the path, the template
    /// with the most literal segments when several do (`/lists/{id}/members` over `/{a}/{b}/{c}`).
    fn operation(&self, method: &Method, path: &str) -> Option<&SpecOperation> {
        self.operations
            .iter()
            .filter(|op| op.method == *method)
            .filter_map(|op| literal_segments(&op.template, path).map(|n| (n, op)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, op)| op)
    }
}

impl SpecOperation {
    /// The response listed for `status`, its `NXX` range, or the default one.
    fn response(&self, status: u16) -> Option<&SpecResponse> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        [exact.as_str(), range.as_str(), "default"]
            .iter()
            .find_map(|want| {
                self.responses
                    .iter()
                    .find(|r| r.status.eq_ignore_ascii_case(want))
            })
    }
}

/// How many segments of `template` are literal when `path` matches it; `None` when it does not.
fn literal_segments(template: &str, path: &str) -> Option<usize> {
    let template: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if template.len() != path.len() {
        return None;
    }
    let mut literal = 0;
    for (t, p) in template.iter().zip(&path) {
        if t.starts_with('{') && t.ends_with('}') {
            if p.is_empty() {
                return None;
            }
        } else if t == p {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// What a response's body is, following a `#/components/responses/...` reference.
fn body_schema(components: &Value, response: &Value, file: &str) -> Body {
    let response = match response.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .unwrap_or_else(|| panic!("{file}: unexpected response reference {reference}"));
            &components["responses"][name]
        }
        None => response,
    };
    let Some(content) = response.get("content") else {
        return Body::Nothing;
    };
    match content
        .get("application/json")
        .and_then(|media| media.get("schema"))
    {
        Some(schema) => Body::Json(json_schema(schema)),
        None => Body::Other,
    }
}

/// An OpenAPI 3.0 schema object as JSON Schema: `nullable: true` also allows `null`, and the
/// keywords JSON Schema does not have (`example`, `discriminator`, `xml`, `externalDocs`,
/// `x-...`) are dropped. Only schema positions are converted, so a property that happens to be
/// named `example` keeps its place.
fn json_schema(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => continue,
            k if k.starts_with("x-") => continue,
            "properties" | "patternProperties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), json_schema(v)))
                    .collect(),
            ),
            "items" | "additionalProperties" | "not" => json_schema(value),
            "allOf" | "anyOf" | "oneOf" => value
                .as_array()
                .into_iter()
                .flatten()
                .map(json_schema)
                .collect(),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    if object.get("nullable") == Some(&Value::Bool(true)) {
        json!({ "anyOf": [out, { "type": "null" }] })
    } else {
        Value::Object(out)
    }
}

fn opportunity() -> Value {
    json!({
        "status_code": 200, "status": "OK", "service": "hubspot",
        "resource": "opportunities", "operation": "one",
        "data": { "id": "1", "title": "Deal", "contact_ids": [], "currency": null },
    })
}

fn error(downstream: Value) -> Value {
    json!({
        "status_code": 400, "error": "Bad Request",
        "type_name": "ConnectorExecutionError", "message": "Connector Execution Error",
        "detail": { "service": "hubspot" },
        "ref": "https://developers.apideck.com/errors#connectorexecutionerror",
        "downstream_errors": downstream,
    })
}

fn problems_of(method: Method, path: &str, status: u16, body: &Value) -> Vec<String> {
    problems(&method, path, status, body)
        .err()
        .unwrap_or_default()
}

#[test]
fn a_contract_answer_passes() {
    let one = "/crm/opportunities/1";
    assert_eq!(
        problems_of(Method::GET, one, 200, &opportunity()),
        Vec::<String>::new()
    );
    let downstream = json!([{ "message": "amount is not a number" }]);
    assert_eq!(
        problems_of(Method::PATCH, one, 400, &error(downstream)),
        Vec::<String>::new()
    );
}

#[test]
fn the_validator_rejects_what_a_strict_client_would() {
    let one = "/crm/opportunities/1";
    let mut null_list = opportunity();
    null_list["data"]["contact_ids"] = Value::Null;
    let found = problems_of(Method::GET, one, 200, &null_list);
    assert!(
        found.iter().any(|p| p.contains("\"/data/contact_ids\"")),
        "{found:?}"
    );

    let mut extra = opportunity();
    extra["data"]["_raw"] = json!({ "id": 1 });
    let found = problems_of(Method::GET, one, 200, &extra);
    assert!(
        found
            .iter()
            .any(|p| p.contains("\"/data\"") && p.contains("_raw")),
        "{found:?}"
    );

    let mut bad_date = opportunity();
    bad_date["data"]["close_date"] = json!("31/12/2026");
    assert!(!problems_of(Method::GET, one, 200, &bad_date).is_empty());

    let downstream = json!([{ "message": "amount is not a number", "detail": null }]);
    let found = problems_of(Method::DELETE, one, 400, &error(downstream));
    assert!(
        found
            .iter()
            .any(|p| p.contains("\"/downstream_errors/0/detail\"")),
        "{found:?}"
    );

    let mut null_detail = error(json!([]));
    null_detail["detail"] = Value::Null;
    let found = problems_of(Method::GET, "/crm/opportunities", 502, &null_detail);
    assert!(found.iter().any(|p| p.contains("\"/detail\"")), "{found:?}");

    let connections = json!({ "status_code": 200, "status": "OK", "data": [{ "health": null }] });
    let found = problems_of(Method::GET, "/vault/connections", 200, &connections);
    assert!(
        found.iter().any(|p| p.contains("\"/data/0/health\"")),
        "{found:?}"
    );
}

#[test]
fn a_status_the_operation_does_not_list_uses_its_default() {
    let op = SPECS[0]
        .operation(&Method::GET, "/crm/opportunities/1")
        .unwrap();
    assert_eq!(op.template, "/crm/opportunities/{id}");
    assert_eq!(op.response(404).unwrap().status, "404");
    assert_eq!(op.response(429).unwrap().status, "default");
    assert!(
        SPECS[0]
            .operation(&Method::GET, "/vault/connections")
            .is_none()
    );
    assert!(
        SPECS[0]
            .operation(&Method::PUT, "/crm/opportunities/1")
            .is_none()
    );
    let anything = json!({ "not": "checked" });
    assert_eq!(
        problems_of(Method::GET, "/health/live", 200, &anything),
        Vec::<String>::new()
    );
}
