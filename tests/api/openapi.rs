//! The OpenAPI document describes exactly the routes the router serves, with Apideck's
//! operation ids, and the reference page renders it.

use std::collections::BTreeSet;

use crmgate::unified::{FieldKind, MODELS, OPPORTUNITIES};
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{call, spawn_app};

const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/crm/opportunities", "opportunitiesAll"),
    ("POST", "/crm/opportunities", "opportunitiesAdd"),
    ("GET", "/crm/opportunities/{id}", "opportunitiesOne"),
    ("PATCH", "/crm/opportunities/{id}", "opportunitiesUpdate"),
    ("DELETE", "/crm/opportunities/{id}", "opportunitiesDelete"),
    ("GET", "/crm/companies", "companiesAll"),
    ("POST", "/crm/companies", "companiesAdd"),
    ("GET", "/crm/companies/{id}", "companiesOne"),
    ("PATCH", "/crm/companies/{id}", "companiesUpdate"),
    ("DELETE", "/crm/companies/{id}", "companiesDelete"),
    ("GET", "/crm/contacts", "contactsAll"),
    ("POST", "/crm/contacts", "contactsAdd"),
    ("GET", "/crm/contacts/{id}", "contactsOne"),
    ("PATCH", "/crm/contacts/{id}", "contactsUpdate"),
    ("DELETE", "/crm/contacts/{id}", "contactsDelete"),
    ("GET", "/crm/leads", "leadsAll"),
    ("POST", "/crm/leads", "leadsAdd"),
    ("GET", "/crm/leads/{id}", "leadsOne"),
    ("PATCH", "/crm/leads/{id}", "leadsUpdate"),
    ("DELETE", "/crm/leads/{id}", "leadsDelete"),
    ("GET", "/crm/notes", "notesAll"),
    ("POST", "/crm/notes", "notesAdd"),
    ("GET", "/crm/notes/{id}", "notesOne"),
    ("PATCH", "/crm/notes/{id}", "notesUpdate"),
    ("DELETE", "/crm/notes/{id}", "notesDelete"),
    ("GET", "/crm/activities", "activitiesAll"),
    ("POST", "/crm/activities", "activitiesAdd"),
    ("GET", "/crm/activities/{id}", "activitiesOne"),
    ("PATCH", "/crm/activities/{id}", "activitiesUpdate"),
    ("DELETE", "/crm/activities/{id}", "activitiesDelete"),
    ("GET", "/crm/users", "usersAll"),
    ("POST", "/crm/users", "usersAdd"),
    ("GET", "/crm/users/{id}", "usersOne"),
    ("PATCH", "/crm/users/{id}", "usersUpdate"),
    ("DELETE", "/crm/users/{id}", "usersDelete"),
    ("GET", "/crm/pipelines", "pipelinesAll"),
    ("POST", "/crm/pipelines", "pipelinesAdd"),
    ("GET", "/crm/pipelines/{id}", "pipelinesOne"),
    ("PATCH", "/crm/pipelines/{id}", "pipelinesUpdate"),
    ("DELETE", "/crm/pipelines/{id}", "pipelinesDelete"),
    ("GET", "/vault/connections", "connectionsAll"),
    (
        "GET",
        "/vault/connections/{unified_api}/{service_id}",
        "connectionsOne",
    ),
    (
        "POST",
        "/vault/connections/{unified_api}/{service_id}",
        "connectionsAdd",
    ),
    (
        "PATCH",
        "/vault/connections/{unified_api}/{service_id}",
        "connectionsUpdate",
    ),
    (
        "DELETE",
        "/vault/connections/{unified_api}/{service_id}",
        "connectionsDelete",
    ),
    (
        "GET",
        "/vault/connections/{unified_api}/{service_id}/{resource}/custom-mappings",
        "connectionCustomMappingsAll",
    ),
    (
        "GET",
        "/vault/custom-mappings/{unified_api}/{service_id}",
        "customMappingsAll",
    ),
    (
        "GET",
        "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}",
        "customMappingsOne",
    ),
    (
        "POST",
        "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}",
        "customMappingsAdd",
    ),
    (
        "PATCH",
        "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}",
        "customMappingsUpdate",
    ),
    (
        "DELETE",
        "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}",
        "customMappingsDelete",
    ),
    ("GET", "/vault/consumers", "consumersAll"),
    ("POST", "/vault/consumers", "consumersAdd"),
    ("GET", "/vault/consumers/{consumer_id}", "consumersOne"),
    ("PATCH", "/vault/consumers/{consumer_id}", "consumersUpdate"),
    (
        "DELETE",
        "/vault/consumers/{consumer_id}",
        "consumersDelete",
    ),
    (
        "GET",
        "/vault/authorize/{service_id}/{application_id}",
        "connectionsAuthorize",
    ),
    ("GET", "/vault/callback", "connectionsCallback"),
    (
        "POST",
        "/vault/connections/{unified_api}/{service_id}/confirm",
        "connectionsConfirm",
    ),
    ("POST", "/vault/sessions", "sessionsCreate"),
    (
        "GET",
        "/vault/revoke/{service_id}/{application_id}",
        "connectionsRevoke",
    ),
    ("GET", "/proxy", "getProxy"),
    ("POST", "/proxy", "postProxy"),
    ("PUT", "/proxy", "putProxy"),
    ("PATCH", "/proxy", "patchProxy"),
    ("DELETE", "/proxy", "deleteProxy"),
    ("OPTIONS", "/proxy", "optionsProxy"),
    ("GET", "/health/live", "healthLive"),
    ("GET", "/health/ready", "healthReady"),
    ("GET", "/metrics", "metrics"),
    ("GET", "/openapi.json", "openapiDocument"),
    ("GET", "/docs", "referencePage"),
];

fn documented(doc: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.insert((
                method.to_uppercase(),
                path.clone(),
                op["operationId"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn the_document_lists_exactly_the_served_routes_with_apideck_ids() {
    let app = spawn_app().await;
    let (status, doc) = call(app.client.get(format!("{}/openapi.json", app.address))).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let expected: BTreeSet<_> = EXPECTED
        .iter()
        .map(|(m, p, o)| (m.to_string(), p.to_string(), o.to_string()))
        .collect();
    assert_eq!(documented(&doc), expected);

    // Every documented operation reaches a handler: not the router's fallback or 405.
    for (method, path, operation) in EXPECTED {
        let concrete = path
            .replace("{id}", "1")
            .replace("{unified_api}", "crm")
            .replace("{service_id}", "hubspot")
            .replace("{resource}", "opportunities")
            .replace("{target_field_id}", "crm+opportunities+x")
            .replace("{consumer_id}", "consumer-1");
        let (status, body) =
            call(app.request(Method::from_bytes(method.as_bytes()).unwrap(), &concrete)).await;
        assert_ne!(status, 405, "{operation}");
        assert!(
            body.get("message").is_none_or(|m| m != "Unknown route"),
            "{operation}: {body}"
        );
    }
    // And a path the document does not have is not served.
    let (status, body) = call(app.get("/crm/tickets")).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Unknown route"))
    );
}

#[tokio::test]
async fn the_opportunity_schema_has_every_unified_field() {
    let app = spawn_app().await;
    let (_, doc) = call(app.client.get(format!("{}/openapi.json", app.address))).await;
    let properties: BTreeSet<String> = doc["components"]["schemas"]["Opportunity"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut fields: BTreeSet<String> = OPPORTUNITIES
        .fields
        .iter()
        .map(|f| f.name.to_owned())
        .collect();
    fields.insert("pass_through".to_owned());
    assert_eq!(properties, fields);
}

/// The JSON type and format a field of this kind has on the wire, as the contract says.
fn wire_type(kind: FieldKind) -> (&'static str, Option<&'static str>) {
    match kind {
        FieldKind::Id | FieldKind::Title | FieldKind::String | FieldKind::Currency => {
            ("string", None)
        }
        FieldKind::Decimal => ("number", None),
        FieldKind::Integer => ("integer", None),
        FieldKind::Date => ("string", Some("date")),
        FieldKind::DateTime => ("string", Some("date-time")),
        FieldKind::Bool => ("boolean", None),
        FieldKind::IdList
        | FieldKind::StringList
        | FieldKind::CustomFields
        | FieldKind::Items(_) => ("array", None),
        FieldKind::CustomMappings | FieldKind::Object(_) => ("object", None),
    }
}

#[tokio::test]
async fn every_resource_schema_is_its_model_table() {
    let app = spawn_app().await;
    let (_, doc) = call(app.client.get(format!("{}/openapi.json", app.address))).await;
    let schemas = &doc["components"]["schemas"];
    for model in MODELS {
        let schema = &schemas[model.schema_name];
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(
            properties.len(),
            model.fields.len() + 1,
            "{}: one property per field, and pass_through",
            model.schema_name
        );
        for def in model.fields {
            let property = &properties[def.name];
            let at = format!("{}.{}", model.schema_name, def.name);
            let (ty, format) = wire_type(def.kind);
            let types = match property["type"].clone() {
                Value::String(one) => vec![one],
                Value::Array(many) => many
                    .into_iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
                other => panic!("{at}: type {other}"),
            };
            // A field that reads as null where the vendor has nothing is nullable; a title
            // reads "" and a list [].
            let nullable = !matches!(
                def.kind,
                FieldKind::Title
                    | FieldKind::IdList
                    | FieldKind::StringList
                    | FieldKind::CustomFields
                    | FieldKind::Items(_)
            );
            let mut expected = vec![ty.to_owned()];
            if nullable {
                expected.push("null".to_owned());
            }
            assert_eq!(types, expected, "{at}");
            assert_eq!(property["format"].as_str(), format, "{at}");
            assert_eq!(
                property["readOnly"].as_bool().unwrap_or(false),
                def.read_only,
                "{at}"
            );
            assert_eq!(property.get("writeOnly"), None, "{at}");
            assert!(property["description"].is_string(), "{at}");
            if let Some((min, max)) = def.range {
                assert_eq!(
                    (&property["minimum"], &property["maximum"]),
                    (&json!(min), &json!(max)),
                    "{at}"
                );
            }
            for value in def.values {
                assert!(
                    property["description"].as_str().unwrap().contains(value),
                    "{at}: {value}"
                );
            }
        }
        let required: Vec<&str> = model
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        // A schema with nothing required leaves the keyword out.
        let listed = schema.get("required").cloned().unwrap_or(json!([]));
        assert_eq!(listed, json!(required), "{}", model.schema_name);
        assert_eq!(properties["pass_through"]["writeOnly"], true);
        assert_eq!(
            properties["pass_through"]["items"]["$ref"],
            "#/components/schemas/PassThrough"
        );

        // The resource's operations take and answer this schema.
        let path = format!("/crm/{}", model.resource.as_str());
        let schema_ref = format!("#/components/schemas/{}", model.schema_name);
        let body = &doc["paths"][&path]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(body["schema"]["$ref"], schema_ref.as_str());
        let page = &schemas[format!("Get{}Response", model.plural_name)];
        assert_eq!(
            page["properties"]["data"]["items"]["$ref"],
            schema_ref.as_str()
        );
        let one = &schemas[format!("Get{}Response", model.schema_name)];
        assert_eq!(one["properties"]["data"]["$ref"], schema_ref.as_str());
    }
}

#[tokio::test]
async fn the_reference_page_is_html_that_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("/openapi.json"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external resource"
    );
}
