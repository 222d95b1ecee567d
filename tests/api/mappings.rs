//! The mapping engine seen from outside: pass-through patches, filters and sorts on HubSpot's
//! search, and `crmgate mappings check`.

use std::process::Command;

use serde_json::json;
use wiremock::matchers::{body_json, body_partial_json, query_param};

use crate::app::{assert_error, call, exact, spawn_app};
use crate::hubspot::{answer, asked, association_batch_read, deal, expect};

#[tokio::test]
async fn pass_through_patches_the_body_hubspot_receives_and_only_for_hubspot() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .and(body_json(exact(
            r#"{"properties": {"dealname": "Rocket", "my_custom": "x"},
               "associations": [{"to": {"id": "501"}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 77}]}],
               "nested": {"property": {"a": 1}}}"#,
        )))
        .respond_with(answer(201, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = json!({
        "title": "Rocket",
        "contact_ids": ["501"],
        "pass_through": [
            { "service_id": "hubspot",
              "extend_object": { "properties": { "my_custom": "x" } },
              "extend_paths": [
                  { "path": "$.associations[*].types[0].associationTypeId", "value": 77 },
                  { "path": "$.associations[*].types[0].associationCategory", "value": "USER_DEFINED" },
                  { "path": "$.nested.property", "value": { "a": 1 } }
              ] },
            { "service_id": "pipedrive", "extend_object": { "ignored": true } }
        ]
    });
    let (status, answer) = call(app.post("/crm/opportunities", &body)).await;
    assert_eq!(status, 201, "{answer}");

    let bad = json!({ "title": "x", "pass_through": [{ "service_id": "hubspot", "extend_paths": [{ "path": "$.properties.dealname.deeper", "value": 1 }] }] });
    let answer = call(app.post("/crm/opportunities", &bad)).await;
    assert_error(&answer, 400, "RequestValidationError");
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("$.properties.dealname.deeper")
    );
}

#[tokio::test]
async fn pass_through_query_parameters_reach_hubspot() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/objects/2026-09/deals")
        .and(query_param("archived", "true"))
        .and(query_param("properties", asked(&[]).as_str()))
        .respond_with(answer(200, json!({ "results": [deal(1)] })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, body) = call(app.get("/crm/opportunities?pass_through[archived]=true")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "1");
}

fn search_body(
    filters: serde_json::Value,
    sorts: serde_json::Value,
    limit: u32,
) -> serde_json::Value {
    let asked = asked(&[]);
    let properties: Vec<&str> = asked.split(',').collect();
    json!({ "limit": limit, "properties": properties, "sorts": sorts, "filterGroups": [{ "filters": filters }] })
}

fn association_batch(ids: &[&str], to: &str, type_id: u32) -> serde_json::Value {
    json!({ "status": "COMPLETE", "results": ids.iter().map(|id| json!({
        "from": { "id": id },
        "to": [{ "toObjectId": to.parse::<u64>().unwrap(), "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": type_id, "label": null }] }]
    })).collect::<Vec<_>>() })
}

/// A search hit as HubSpot returns it: no associations.
fn hit(id: u32) -> serde_json::Value {
    let mut d = deal(id);
    d.as_object_mut().unwrap().remove("associations");
    d
}

/// A note's `*_since` filters are lower bounds in HubSpot's search (`GTE`, in unix
/// milliseconds), beside an owner's `EQ`; the hits get their deal, contact and company from
/// the note association batches.
#[tokio::test]
async fn note_filters_run_on_hubspot_search_with_lower_bounds() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let properties = [
        "hs_note_body",
        "hubspot_owner_id",
        "hs_updated_by_user_id",
        "hs_created_by_user_id",
        "hs_lastmodifieddate",
        "hs_createdate",
    ];
    let body = json!({
        "limit": 20,
        "properties": properties,
        "sorts": [{ "propertyName": "hs_object_id", "direction": "ASCENDING" }],
        "filterGroups": [{ "filters": [
            { "propertyName": "hubspot_owner_id", "operator": "EQ", "value": "77" },
            { "propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1767225600000" },
            { "propertyName": "hs_createdate", "operator": "GTE", "value": "1764547200000" }
        ] }]
    });
    let hit = json!({ "id": "7001", "archived": false, "properties": {
        "hs_note_body": "<p>Pilot</p>", "hubspot_owner_id": "77", "hs_object_id": "7001",
        "hs_createdate": "2026-01-02T03:04:05.000Z", "hs_lastmodifieddate": "2026-02-03T04:05:06.000Z" } });
    expect("POST", "/crm/objects/2026-09/notes/search")
        .and(body_json(body))
        .respond_with(answer(200, json!({ "total": 1, "results": [hit] })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    for (to, id, type_id) in [
        ("deals", "1001", 214),
        ("contacts", "501", 202),
        ("companies", "901", 190),
    ] {
        expect(
            "POST",
            &format!("/crm/associations/2026-09/notes/{to}/batch/read"),
        )
        .and(body_json(json!({ "inputs": [{ "id": "7001" }] })))
        .respond_with(answer(200, association_batch(&["7001"], id, type_id)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    }
    let (status, page) = call(app.get(
        "/crm/notes?filter[owner_id]=77&filter[updated_since]=2026-01-01T00:00:00Z&filter[created_since]=2025-12-01T01:00:00%2B01:00",
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"],
        json!([{
            "id": "7001", "content": "<p>Pilot</p>", "owner_id": "77", "contact_id": "501",
            "company_id": "901", "opportunity_id": "1001", "active": true,
            "updated_by": null, "created_by": null,
            "updated_at": "2026-02-03T04:05:06.000Z", "created_at": "2026-01-02T03:04:05.000Z"
        }])
    );
    let title = call(app.get("/crm/notes?filter[title]=Pilot")).await;
    assert_error(&title, 400, "UnsupportedFiltersError");
}

/// Company lists with a name or a sort go through HubSpot's search: the name as `EQ`,
/// `created_since` as `GTE` in unix milliseconds, the sort as the search's one sort.
#[tokio::test]
async fn company_filters_and_sorts_run_on_hubspot_search() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/properties/2026-09/companies")
        .respond_with(answer(200, json!({ "results": [] })))
        .mount(&app.hubspot)
        .await;
    expect("POST", "/crm/objects/2026-09/companies/search")
        .and(body_partial_json(json!({
            "sorts": [{ "propertyName": "name", "direction": "ASCENDING" }],
            "filterGroups": [{ "filters": [
                { "propertyName": "name", "operator": "EQ", "value": "Acme" },
                { "propertyName": "createdate", "operator": "GTE", "value": "1767225600000" }
            ] }]
        })))
        .respond_with(answer(
            200,
            json!({ "total": 1, "results": [{ "id": "3001",
            "properties": { "name": "Acme", "hs_object_id": "3001" } }] }),
        ))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, page) = call(app.get(
        "/crm/companies?filter[name]=Acme&filter[created_since]=2026-01-01T00:00:00Z&sort[by]=name&sort[direction]=asc",
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"][0]["id"], "3001");
    assert_eq!(page["data"][0]["name"], "Acme");
}

#[tokio::test]
async fn filters_run_on_hubspot_search_and_page_by_id_past_its_window() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let filters = json!([
        { "propertyName": "hs_is_closed_won", "operator": "EQ", "value": "true" },
        { "propertyName": "associations.company", "operator": "EQ", "value": "901" }
    ]);
    let by_id = json!([{ "propertyName": "hs_object_id", "direction": "ASCENDING" }]);
    expect("POST", "/crm/objects/2026-09/deals/search")
        .and(body_json(search_body(filters.clone(), by_id.clone(), 2)))
        .respond_with(answer(200, json!({ "total": 3, "results": [hit(11), hit(12)], "paging": { "next": { "after": "2" } } })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let mut narrowed = filters.as_array().unwrap().clone();
    narrowed.push(json!({ "propertyName": "hs_object_id", "operator": "GT", "value": "12" }));
    expect("POST", "/crm/objects/2026-09/deals/search")
        .and(body_json(search_body(json!(narrowed), by_id, 2)))
        .respond_with(answer(200, json!({ "total": 3, "results": [hit(13)] })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("POST", &association_batch_read("contacts"))
        .respond_with(answer(
            200,
            association_batch(&["11", "12", "13"], "501", 3),
        ))
        .expect(2)
        .mount(&app.hubspot)
        .await;
    expect("POST", &association_batch_read("companies"))
        .and(body_json(
            json!({ "inputs": [{ "id": "11" }, { "id": "12" }] }),
        ))
        .respond_with(answer(200, association_batch(&["11", "12"], "901", 5)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("POST", &association_batch_read("companies"))
        .and(body_json(json!({ "inputs": [{ "id": "13" }] })))
        .respond_with(answer(200, association_batch(&["13"], "901", 5)))
        .expect(1)
        .mount(&app.hubspot)
        .await;

    let (status, first) =
        call(app.get("/crm/opportunities?limit=2&filter[status]=Won&filter[company_id]=901")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["data"][0]["id"], "11");
    assert_eq!(
        first["data"][0]["company_id"], "901",
        "search hits get their associations"
    );
    assert_eq!(first["data"][1]["contact_ids"], json!(["501"]));
    let next = first["meta"]["cursors"]["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, second) = call(app.get(&format!(
        "/crm/opportunities?limit=2&filter[status]=Won&filter[company_id]=901&cursor={next}"
    )))
    .await;
    assert_eq!(second["data"][0]["id"], "13");
    assert_eq!(second["meta"]["cursors"]["next"], json!(null));

    let other_filter = call(app.get(&format!(
        "/crm/opportunities?limit=2&filter[status]=Lost&cursor={next}"
    )))
    .await;
    assert_error(&other_filter, 400, "InvalidCursorError");
}

#[tokio::test]
async fn a_sort_becomes_hubspots_sort() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals/search")
        .and(body_json(search_body(
            json!([]),
            json!([{ "propertyName": "amount", "direction": "DESCENDING" }]),
            20,
        )))
        .respond_with(answer(200, json!({ "total": 1, "results": [hit(5)] })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("POST", &association_batch_read("contacts"))
        .respond_with(answer(200, json!({ "results": [] })))
        .mount(&app.hubspot)
        .await;
    expect("POST", &association_batch_read("companies"))
        .respond_with(answer(200, json!({ "results": [] })))
        .mount(&app.hubspot)
        .await;
    let (status, body) =
        call(app.get("/crm/opportunities?sort[by]=monetary_amount&sort[direction]=desc")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "5");
    assert_eq!(
        body["data"][0]["contact_ids"],
        json!([]),
        "search answers carry no associations: an empty list, never null"
    );
}

/// Since 2026-09 a batch association read answers 200 and lists the deals it found no such
/// associations for under `errors` (v4 answered 207): those deals read unlinked, the rest linked.
#[tokio::test]
async fn deals_listed_under_a_batch_reads_errors_read_without_those_links() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals/search")
        .and(body_json(search_body(
            json!([]),
            json!([{ "propertyName": "amount", "direction": "DESCENDING" }]),
            20,
        )))
        .respond_with(answer(
            200,
            json!({ "total": 2, "results": [hit(5), hit(6)] }),
        ))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("POST", &association_batch_read("contacts"))
        .and(body_json(
            json!({ "inputs": [{ "id": "5" }, { "id": "6" }] }),
        ))
        .respond_with(answer(200, association_batch(&["5", "6"], "501", 3)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let mut companies = association_batch(&["5"], "901", 5);
    companies["numErrors"] = json!(1);
    companies["errors"] = json!([{
        "status": "error", "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": "No company is associated with deal 6.",
        "context": { "fromObjectId": ["6"], "fromObjectType": ["deal"], "toObjectType": ["company"] }
    }]);
    expect("POST", &association_batch_read("companies"))
        .and(body_json(
            json!({ "inputs": [{ "id": "5" }, { "id": "6" }] }),
        ))
        .respond_with(answer(200, companies))
        .expect(1)
        .mount(&app.hubspot)
        .await;

    let (status, body) =
        call(app.get("/crm/opportunities?sort[by]=monetary_amount&sort[direction]=desc")).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<_> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert_eq!(ids, [&json!("5"), &json!("6")]);
    assert_eq!(body["data"][0]["company_id"], "901");
    assert_eq!(body["data"][1]["company_id"], json!(null));
    assert_eq!(body["data"][1]["contact_ids"], json!(["501"]));
}

#[test]
fn mappings_check_names_the_file_and_line_of_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("hubspot")).unwrap();
    let file = dir.path().join("hubspot/opportunities.yaml");
    std::fs::write(&file, "fields:\n  title:\n    read: { from: $.properties.dealname }\n  description:\n    read: { from: \"$.properties[\" }\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["mappings", "check", "--mappings"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:5:", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("invalid JSONPath"), "{stderr}");

    let ok = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args([
            "mappings",
            "check",
            "--mappings",
            concat!(env!("CARGO_MANIFEST_DIR"), "/mappings"),
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
