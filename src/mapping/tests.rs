use serde_json::{Map, Value, json};

use super::*;
use crate::unified::{OPPORTUNITIES, UnifiedWrite};

const HUBSPOT: &str = include_str!("../../mappings/hubspot/opportunities.yaml");

fn compile(text: &str) -> Result<MappingTable, LoadError> {
    MappingTable::compile(
        "test.yaml",
        text,
        &OPPORTUNITIES,
        crate::registry::connectors()
            .iter()
            .find(|e| e.connector.id() == "hubspot")
            .expect("HubSpot is built in")
            .connector
            .write_hooks(),
    )
}

fn read(table: &MappingTable, record: &Value, view: &RecordView<'_>) -> Value {
    let mut out = Vec::new();
    table.write_record(record, view, &mut out);
    serde_json::from_slice(&out).expect("the engine writes valid JSON")
}

fn write(
    table: &MappingTable,
    body: &str,
    op: WriteOperation,
) -> Result<VendorBody, crate::error::Error> {
    let input = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        body.as_bytes(),
        op == WriteOperation::Create,
    )?;
    table.to_vendor(&input.fields, op, None)
}

fn hubspot_deal() -> Value {
    serde_json::from_str(
        r#"{
        "id": "1001",
        "properties": {
            "dealname": "Rocket launch", "description": "", "dealtype": "newbusiness",
            "amount": "1500.50", "deal_currency_code": "EUR", "hs_deal_stage_probability": "0.3",
            "hs_projected_amount": "450.15", "closedate": "2019-12-07T23:50:06.678Z",
            "closed_lost_reason": null, "pipeline": "default", "dealstage": "appointmentscheduled",
            "hs_analytics_source": "OFFLINE", "hubspot_owner_id": "910901", "hs_priority": "high",
            "hs_is_closed_won": "false", "hs_is_closed_lost": "true", "num_notes": "4",
            "hs_v2_date_entered_current_stage": "2020-01-01T10:00:00+02:00",
            "hs_created_by_user_id": "77", "createdate": "2019-11-01T00:00:00Z"
        },
        "associations": {
            "contacts": {"results": [{"id": "501", "type": "deal_to_contact"}, {"id": "502", "type": "deal_to_contact"}]},
            "companies": {"results": [{"id": "900", "type": "deal_to_company_unlabeled"}, {"id": "901", "type": "deal_to_company"}]}
        },
        "createdAt": "2019-11-01T00:00:00Z", "updatedAt": "2019-12-08T09:00:00.123Z", "archived": false
    }"#,
    )
    .unwrap()
}

#[test]
fn hubspot_deal_reads_as_the_unified_opportunity() {
    let table = compile(HUBSPOT).unwrap();
    let unified = read(&table, &hubspot_deal(), &RecordView::default());
    assert_eq!(
        unified,
        json!({
            "id": "1001",
            "title": "Rocket launch",
            "primary_contact_id": "501",
            "description": null,
            "type": "newbusiness",
            "monetary_amount": serde_json::from_str::<Value>("1500.50").unwrap(),
            "currency": "EUR",
            "win_probability": 30,
            "expected_revenue": 450.15,
            "close_date": "2019-12-07",
            "loss_reason": null,
            "won_reason": null,
            "pipeline_id": "default",
            "pipeline_stage_id": "appointmentscheduled",
            "lead_source": "OFFLINE",
            "contact_id": "501",
            "contact_ids": ["501", "502"],
            "company_id": "901",
            "owner_id": "910901",
            "priority": "High",
            "status": "Lost",
            "interaction_count": 4,
            // The connector moves tags and custom properties here; this record has not been
            // through it, and a list with nothing reads as empty.
            "tags": [],
            "custom_fields": [],
            "stage_last_changed_at": "2020-01-01T08:00:00Z",
            "last_activity_at": null,
            "deleted": false,
            "date_stage_changed": "2020-01-01T08:00:00Z",
            "date_last_contacted": null,
            "updated_by": null,
            "created_by": "77",
            "updated_at": "2019-12-08T09:00:00.123Z",
            "created_at": "2019-11-01T00:00:00Z"
        })
    );
}

#[test]
fn money_keeps_the_vendors_digits() {
    let table = compile(HUBSPOT).unwrap();
    let mut deal = hubspot_deal();
    deal["properties"]["amount"] = json!("12345678901234567.10");
    let mut out = Vec::new();
    table.write_record(&deal, &RecordView::default(), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""monetary_amount":12345678901234567.10"#),
        "{text}"
    );
}

#[test]
fn a_deal_with_nothing_set_still_has_a_string_title_and_status() {
    let table = compile(HUBSPOT).unwrap();
    let unified = read(
        &table,
        &json!({"id": "7", "properties": {}}),
        &RecordView::default(),
    );
    assert_eq!(unified["title"], json!(""));
    assert_eq!(unified["status"], json!("Open"));
    assert_eq!(unified["company_id"], Value::Null);
    assert_eq!(
        unified["contact_ids"],
        json!([]),
        "a list with nothing is empty, never null"
    );
    assert_eq!(unified["custom_fields"], json!([]));
}

#[test]
fn sparse_fieldsets_and_custom_mappings() {
    let table = compile(HUBSPOT).unwrap();
    let fields = vec!["id".to_owned(), "monetary_amount".to_owned()];
    let tenant = TenantMappings::build(
        &OPPORTUNITIES,
        [
            ("source", "$.properties.hs_analytics_source"),
            ("missing", "$.properties.nope"),
        ],
        &PathCache::default(),
    );
    let deal = hubspot_deal();
    let view = RecordView {
        fields: Some(&fields),
        tenant: Some(&tenant),
    };
    let unified = read(&table, &deal, &view);
    let keys: Vec<&str> = unified
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["id", "monetary_amount", "title"],
        "title always, custom_mappings not selected"
    );
    let view = RecordView {
        fields: None,
        tenant: Some(&tenant),
    };
    let unified = read(&table, &deal, &view);
    assert_eq!(
        unified["custom_mappings"],
        json!({"source": "OFFLINE", "missing": null})
    );
}

#[test]
fn create_body_is_the_exact_hubspot_body() {
    let table = compile(HUBSPOT).unwrap();
    let body = write(
        &table,
        r#"{"title":"Rocket","monetary_amount":75000.0,"currency":"USD","close_date":"2020-10-30",
            "priority":"High","description":null,"owner_id":"910901","pipeline_stage_id":"s1",
            "contact_ids":["501","502"],"primary_contact_id":"501","company_id":"901",
            "source_id":"12","status":"Open","win_probability":40}"#,
        WriteOperation::Create,
    )
    .unwrap();
    // The table's write hook has already shaped the associations: this is the wire body.
    // Through serde_json: other serialisers would see arbitrary-precision numbers as maps.
    insta::assert_snapshot!(
        "hubspot_create_body",
        serde_json::to_string_pretty(&body.body).unwrap()
    );
    assert_eq!(body.unmapped, ["source_id", "status", "win_probability"]);
}

#[test]
fn update_cannot_change_create_only_fields() {
    let table = compile(HUBSPOT).unwrap();
    let err = write(&table, r#"{"contact_ids":["1"]}"#, WriteOperation::Update).unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
    assert!(err.message().contains("contact_ids"), "{}", err.message());
    let body = write(
        &table,
        r#"{"title":"New","contact_ids":[]}"#,
        WriteOperation::Update,
    )
    .unwrap();
    assert_eq!(
        body.body,
        json!({"properties": {"dealname": "New"}}),
        "an empty list changes nothing"
    );
}

#[test]
fn null_clears_a_transformed_field_at_a_vendor_without_null() {
    let table = compile(HUBSPOT).unwrap();
    let body = write(
        &table,
        r#"{"close_date":null,"monetary_amount":null,"priority":null}"#,
        WriteOperation::Update,
    )
    .unwrap();
    assert_eq!(
        body.body,
        json!({"properties": {"closedate": "", "amount": "", "hs_priority": ""}})
    );
}

#[test]
fn write_transform_errors_name_the_field() {
    let table = compile(
        "fields:\n  owner_id:\n    write: { to: $.owner, transforms: [{ type: to_integer }] }\n",
    )
    .unwrap();
    let err = write(
        &table,
        r#"{"title":"x","owner_id":"abc"}"#,
        WriteOperation::Create,
    )
    .unwrap_err();
    assert!(
        err.message().starts_with("Invalid property owner_id"),
        "{}",
        err.message()
    );
    let ok = write(
        &table,
        r#"{"title":"x","owner_id":"42"}"#,
        WriteOperation::Create,
    )
    .unwrap();
    assert_eq!(ok.body, json!({"owner": 42}));
}

#[test]
fn pass_through_patches_only_its_service_after_mapping() {
    let mut body = json!({"properties": {"dealname": "A"}, "associations": [{"types": [{"associationTypeId": 3}]}]});
    let items: Vec<crate::unified::PassThrough> = serde_json::from_value(json!([
        {"service_id": "hubspot", "extend_object": {"properties": {"custom": "1"}},
         "extend_paths": [
            {"path": "$.associations[*].types[0].associationTypeId", "value": 9},
            {"path": "$.nested.property", "value": {"a": 1}}
         ]},
        {"service_id": "pipedrive", "extend_object": {"x": 1}},
        {"service_id": "hubspot", "operation_id": "opportunitiesUpdate", "extend_object": {"y": 1}}
    ]))
    .unwrap();
    PassThroughPlan::new(items, "hubspot", "opportunitiesAdd")
        .unwrap()
        .apply(&mut body)
        .unwrap();
    assert_eq!(
        body,
        json!({
            "properties": {"dealname": "A", "custom": "1"},
            "associations": [{"types": [{"associationTypeId": 9}]}],
            "nested": {"property": {"a": 1}}
        })
    );
}

#[test]
fn pass_through_paths_are_checked_for_every_service_before_sending() {
    let items: Vec<crate::unified::PassThrough> = serde_json::from_value(json!([
        {"service_id": "other", "extend_paths": [{"path": "$.a[", "value": 1}]}
    ]))
    .unwrap();
    let err = PassThroughPlan::new(items, "hubspot", "opportunitiesAdd")
        .err()
        .unwrap();
    assert!(
        err.message()
            .contains("pass_through[0].extend_paths[0].path"),
        "{}",
        err.message()
    );

    let items: Vec<crate::unified::PassThrough> = serde_json::from_value(json!([
        {"service_id": "hubspot", "extend_paths": [{"path": "$.properties.dealname.x", "value": 1}]}
    ]))
    .unwrap();
    let mut body = json!({"properties": {"dealname": "A"}});
    let err = PassThroughPlan::new(items, "hubspot", "opportunitiesAdd")
        .unwrap()
        .apply(&mut body)
        .unwrap_err();
    assert!(
        err.message().contains("$.properties.dealname.x"),
        "{}",
        err.message()
    );
}

#[test]
fn load_errors_name_file_line_and_column() {
    let cases = [
        (
            "fields:\n  title:\n    read: { from: $.a }\n  nonsense:\n    read: { from: $.b }\n",
            4,
            "not a field",
        ),
        (
            "fields:\n  title:\n    read: { from: \"$.a[\" }\n",
            3,
            "invalid jsonpath",
        ),
        (
            "fields:\n  title:\n    read: { from: $.a, transforms: [{ type: frobnicate }] }\n",
            3,
            "frobnicate",
        ),
        (
            "fields:\n  title:\n    read: { from: $.a, colour: red }\n",
            3,
            "colour",
        ),
        (
            "fields:\n  id:\n    read: { from: $.id }\n    write: { to: $.id }\n",
            4,
            "read-only",
        ),
        (
            "fields:\n  title:\n    read: { from: $.a }\n  title:\n    read: { from: $.b }\n",
            4,
            "duplicate",
        ),
        (
            "fields:\n  title:\n    write: { to: \"$.a[*]\" }\n",
            3,
            "one location",
        ),
        (
            "fields:\n  title:\n    read: { from: $.a, transforms: [{ type: format_date, format: \"%Q\" }] }\n",
            3,
            "date format",
        ),
    ];
    for (text, line, needle) in cases {
        let err = compile(text).unwrap_err();
        assert_eq!(err.file, "test.yaml");
        assert_eq!(err.line, line, "{text}\n→ {err}");
        assert!(err.column > 0, "{err}");
        assert!(
            err.to_string().to_lowercase().contains(needle),
            "{text}\n→ {err}"
        );
    }
}

#[test]
fn overlapping_write_paths_are_refused() {
    let err = compile(
        "fields:\n  title:\n    write: { to: $.a }\n  description:\n    write: { to: $.a.b }\n",
    )
    .unwrap_err();
    assert!(err.message.contains("overlapping"), "{err}");
}

#[test]
fn the_table_tells_connectors_which_fields_it_reads() {
    let table = compile(HUBSPOT).unwrap();
    let fields = crmgate_connector_sdk::ReadFields::new(table.read_paths(), &[]);
    let properties = fields.under("properties");
    for name in [
        "dealname",
        "amount",
        "closedate",
        "hs_is_closed_won",
        "hs_is_closed_lost",
        "hs_priority",
    ] {
        assert!(
            properties.contains(&name),
            "{name} missing from {properties:?}"
        );
    }
    assert!(!properties.iter().any(|p| p.contains('[')));
}

#[test]
fn built_in_tables_all_compile() {
    let set = MappingSet::load(None, &crate::registry::connectors()).unwrap();
    for entry in crate::registry::connectors() {
        for (resource, _) in entry.mappings {
            assert!(set.table(entry.connector.id(), *resource).is_some());
        }
    }
}

#[test]
fn empty_maps_are_valid_json_objects() {
    let table = compile("fields:\n  title:\n    read: { from: $.name }\n").unwrap();
    assert_eq!(
        read(&table, &Value::Object(Map::new()), &RecordView::default()),
        json!({"title": ""})
    );
}

#[test]
fn filters_become_vendor_filters() {
    use crmgate_connector_sdk::VendorFilter;
    let table = compile(HUBSPOT).unwrap();
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let filters = table
        .vendor_filters(&pairs(&[
            ("status", "won"),
            ("win_probability", "40"),
            ("monetary_amount", "1000.50"),
            ("company_id", "901"),
        ]))
        .unwrap();
    assert_eq!(
        filters,
        [
            VendorFilter {
                field: "hs_is_closed_won".into(),
                value: json!("true")
            },
            VendorFilter {
                field: "hs_deal_stage_probability".into(),
                value: json!("0.4")
            },
            VendorFilter {
                field: "amount".into(),
                value: json!("1000.50")
            },
            VendorFilter {
                field: "associations.company".into(),
                value: json!("901")
            },
        ]
    );
    let err = table
        .vendor_filters(&pairs(&[("status", "Pending")]))
        .unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
    assert!(
        err.message().contains("Won, Lost, Open") || err.message().contains("Lost, Open, Won"),
        "{}",
        err.message()
    );
    let err = table
        .vendor_filters(&pairs(&[("monetary_amount", "lots")]))
        .unwrap_err();
    assert!(
        err.message().contains("filter[monetary_amount]"),
        "{}",
        err.message()
    );
    let plain = table
        .vendor_filters(&pairs(&[("monetary_amount", "1.5E3")]))
        .unwrap();
    assert_eq!(
        plain[0].value,
        json!("1500"),
        "exponents never reach the vendor"
    );
    let err = table
        .vendor_filters(&pairs(&[("monetary_amount", "1e400")]))
        .unwrap_err();
    assert!(
        err.message().contains("integer digits"),
        "{}",
        err.message()
    );
    let err = table.vendor_filters(&pairs(&[("name", "x")])).unwrap_err();
    assert_eq!(err.type_name(), "UnsupportedFiltersError");
    assert!(
        err.detail()["supported_filters"]
            .as_array()
            .unwrap()
            .contains(&json!("title"))
    );
}

#[test]
fn sorts_become_vendor_sorts() {
    use crmgate_connector_sdk::{SortDirection, VendorSort};
    let table = compile(HUBSPOT).unwrap();
    assert_eq!(
        table
            .vendor_sort("created_at", SortDirection::Descending)
            .unwrap(),
        VendorSort {
            field: "createdate".into(),
            direction: SortDirection::Descending
        }
    );
    let err = table
        .vendor_sort("status", SortDirection::Ascending)
        .unwrap_err();
    assert_eq!(err.type_name(), "UnsupportedSortFieldError");
    assert!(
        !err.detail()["supported_sort_fields"]
            .as_array()
            .unwrap()
            .contains(&json!("status"))
    );
}

#[test]
fn filters_sorts_and_hooks_are_checked_at_load() {
    let cases = [
        (
            "fields: {}\nfilters:\n  name: { field: x }\n",
            3,
            "not a filter",
        ),
        (
            "fields: {}\nfilters:\n  title: { field: x, cases: {} }\n",
            3,
            "either",
        ),
        (
            "fields: {}\nsort:\n  colour: { field: x }\n",
            3,
            "not a sort key",
        ),
        (
            "fields: {}\nwrite_hooks: [hubspot_associations, nope]\n",
            2,
            "unknown hook",
        ),
    ];
    for (text, line, needle) in cases {
        let err = compile(text).unwrap_err();
        assert_eq!(err.line, line, "{text}\n→ {err}");
        assert!(err.to_string().contains(needle), "{text}\n→ {err}");
    }
}

#[test]
fn a_tenant_override_repoints_one_field_in_both_directions() {
    let table = compile(HUBSPOT).unwrap();
    let tenant = TenantMappings::build(
        &OPPORTUNITIES,
        [
            ("title", "$.properties.deal_title_internal"),
            ("source_id", "$.properties.lead_origin"),
        ],
        &PathCache::default(),
    );
    let mut deal = hubspot_deal();
    deal["properties"]["deal_title_internal"] = json!("Internal name");
    deal["properties"]["lead_origin"] = json!("fair-2026");
    let view = RecordView {
        fields: None,
        tenant: Some(&tenant),
    };
    let unified = read(&table, &deal, &view);
    assert_eq!(unified["title"], json!("Internal name"));
    assert_eq!(
        unified["source_id"],
        json!("fair-2026"),
        "an unmapped field gains a source"
    );
    assert_eq!(
        unified["monetary_amount"],
        serde_json::from_str::<Value>("1500.50").unwrap()
    );
    let mut out = Vec::new();
    table.write_record(&deal, &view, &mut out);
    let text = String::from_utf8(out).unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
    assert!(
        at("pipeline_stage_id") < at("source_id") && at("source_id") < at("lead_source"),
        "contract order is kept: {text}"
    );

    let input = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        br#"{"title":"T","source_id":"web","monetary_amount":5}"#,
        true,
    )
    .unwrap();
    let body = table
        .to_vendor(&input.fields, WriteOperation::Create, Some(&tenant))
        .unwrap();
    assert_eq!(
        body.body,
        json!({"properties": {"deal_title_internal": "T", "lead_origin": "web", "amount": "5"}})
    );
    assert!(body.unmapped.is_empty());
    let plain = table
        .to_vendor(&input.fields, WriteOperation::Create, None)
        .unwrap();
    assert_eq!(plain.body["properties"]["dealname"], json!("T"));
    assert_eq!(plain.unmapped, ["source_id"]);
}

#[test]
fn the_committed_schema_matches_the_types() {
    let generated =
        serde_json::to_string_pretty(&mapping_file_schema(&OPPORTUNITIES)).unwrap() + "\n";
    let committed = include_str!("../../mappings/schema.json");
    assert!(
        generated == committed,
        "mappings/schema.json is stale: run `cargo run -- mappings schema > mappings/schema.json`"
    );
    let schema: Value = serde_json::from_str(committed).unwrap();
    assert!(
        schema["properties"]["fields"]["propertyNames"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("close_date"))
    );
}

/// The benchmark pages (bench/fixtures/) map into 100 whole records each: an id, a title,
/// a close date and a status from the contract, and an exact amount where the vendor gave one.
#[test]
fn the_benchmark_pages_map_without_error() {
    let pages: [(&str, &[u8], &str); 3] = [
        (
            HUBSPOT,
            include_bytes!("../../bench/fixtures/hubspot_deals_page.json"),
            "/results",
        ),
        (
            include_str!("../../mappings/pipedrive/opportunities.yaml"),
            include_bytes!("../../bench/fixtures/pipedrive_deals_page.json"),
            "/data",
        ),
        (
            include_str!("../../mappings/copper/opportunities.yaml"),
            include_bytes!("../../bench/fixtures/copper_opportunities.json"),
            "",
        ),
    ];
    for (text, bytes, records_at) in pages {
        let page: Value = serde_json::from_slice(bytes).unwrap();
        let records = page.pointer(records_at).unwrap().as_array().unwrap();
        assert_eq!(records.len(), 100);
        let table = compile(text).unwrap();
        let mut out = Vec::new();
        write_records(&table, records, &RecordView::default(), &mut out);
        let unified: Vec<Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(unified.len(), 100);
        for record in &unified {
            assert!(
                record["id"].is_string() && record["title"].is_string(),
                "{record}"
            );
            let date = record["close_date"].as_str().unwrap();
            assert!(crate::unified::parse_date(date).is_some(), "{date}");
            assert!(
                matches!(
                    record["status"].as_str(),
                    Some("Open" | "Won" | "Lost" | "Abandoned")
                ),
                "{record}"
            );
            assert!(
                record["monetary_amount"].is_number() || record["monetary_amount"].is_null(),
                "{record}"
            );
        }
    }
}

// ---- Writes through equality filters (custom-field entries kept as {id, value} lists) ----

fn set_at(doc: &mut Value, text: &str, value: Value) -> Result<usize, patch::PatchError> {
    patch::set(doc, &CompiledPath::parse(text).unwrap(), value)
}

const COPPER_FIELD: &str = "$.custom_fields[?@.custom_field_definition_id == 11].value";

#[test]
fn an_equality_filter_updates_every_matching_element() {
    let mut doc = json!({"custom_fields": [
        {"custom_field_definition_id": 11, "value": "old"},
        {"custom_field_definition_id": 12, "value": "other"},
        {"custom_field_definition_id": 11.0, "value": "old too"}
    ]});
    assert_eq!(set_at(&mut doc, COPPER_FIELD, json!("X")), Ok(2));
    assert_eq!(
        doc,
        json!({"custom_fields": [
            {"custom_field_definition_id": 11, "value": "X"},
            {"custom_field_definition_id": 12, "value": "other"},
            {"custom_field_definition_id": 11.0, "value": "X"}
        ]})
    );
}

#[test]
fn an_equality_filter_appends_an_element_when_none_matches() {
    let mut doc = json!({"custom_fields": [{"custom_field_definition_id": 12, "value": "other"}]});
    assert_eq!(set_at(&mut doc, COPPER_FIELD, json!("X")), Ok(1));
    assert_eq!(
        doc,
        json!({"custom_fields": [
            {"custom_field_definition_id": 12, "value": "other"},
            {"custom_field_definition_id": 11, "value": "X"}
        ]})
    );
}

#[test]
fn an_equality_filter_creates_the_missing_array() {
    let mut doc = json!({});
    assert_eq!(set_at(&mut doc, COPPER_FIELD, json!("X")), Ok(1));
    assert_eq!(
        doc,
        json!({"custom_fields": [{"custom_field_definition_id": 11, "value": "X"}]})
    );
    let mut doc = json!({});
    set_at(&mut doc, "$.a.list[?@.k.id == 'x'].v.text", json!(1)).unwrap();
    assert_eq!(
        doc,
        json!({"a": {"list": [{"k": {"id": "x"}, "v": {"text": 1}}]}})
    );
}

#[test]
fn several_equalities_all_hold_on_the_written_element() {
    let path = "$.f[?@.id == 11 && @.kind == 'text' && (@.live == true)].value";
    let mut doc = json!({"f": [{"id": 11, "kind": "date", "live": true, "value": "keep"}]});
    assert_eq!(set_at(&mut doc, path, json!("X")), Ok(1));
    assert_eq!(
        doc["f"],
        json!([
            {"id": 11, "kind": "date", "live": true, "value": "keep"},
            {"id": 11, "kind": "text", "live": true, "value": "X"}
        ])
    );
    assert_eq!(set_at(&mut doc, path, json!("Y")), Ok(1));
    assert_eq!(doc["f"][1]["value"], json!("Y"));
    assert_eq!(doc["f"].as_array().unwrap().len(), 2);
}

#[test]
fn a_filter_literal_keeps_its_type() {
    let mut doc = json!({"custom_fields": [{"custom_field_definition_id": "11", "value": "s"}]});
    set_at(&mut doc, COPPER_FIELD, json!("n")).unwrap();
    set_at(
        &mut doc,
        "$.custom_fields[?@.custom_field_definition_id == '11'].value",
        json!("s2"),
    )
    .unwrap();
    set_at(&mut doc, "$.custom_fields[?@.id == 1.5].value", json!("f")).unwrap();
    assert_eq!(
        doc,
        json!({"custom_fields": [
            {"custom_field_definition_id": "11", "value": "s2"},
            {"custom_field_definition_id": 11, "value": "n"},
            {"id": 1.5, "value": "f"}
        ]})
    );
}

#[test]
fn other_filter_forms_are_not_writable_and_never_append() {
    assert!(CompiledPath::parse(COPPER_FIELD).unwrap().is_writable());
    for text in [
        "$.custom_fields[?@.custom_field_definition_id > 11].value",
        "$.custom_fields[?@.custom_field_definition_id != 11].value",
        "$.custom_fields[?@.id == 11 || @.id == 12].value",
        "$.custom_fields[?!(@.id == 11)].value",
        "$.custom_fields[?length(@.id) == 2].value",
        "$.custom_fields[?@.id == 11].values[*]",
        "$.custom_fields[*][?@.id == 11].value",
        "$.custom_fields[?@.ids[0] == 11].value",
        "$.custom_fields[?@ == 11].value",
        "$.custom_fields[?@.id == 11]",
        "$.custom_fields[?@.id == 11].id",
        "$.custom_fields[?@.a == 1 && @.a.b == 2].value",
        "$.custom_fields[?@.id == 11][0]",
    ] {
        let path = CompiledPath::parse(text).unwrap();
        assert!(!path.is_writable(), "{text}");
        let mut doc = json!({"custom_fields": []});
        assert_eq!(patch::set(&mut doc, &path, json!("X")), Ok(0), "{text}");
        assert_eq!(doc, json!({"custom_fields": []}), "{text}");
    }
}

#[test]
fn a_tenant_override_writes_through_an_equality_filter() {
    let table = compile(HUBSPOT).unwrap();
    let cache = PathCache::default();
    assert!(validate_custom_mapping(&OPPORTUNITIES, "description", COPPER_FIELD, &cache).is_ok());
    let tenant = TenantMappings::build(&OPPORTUNITIES, [("description", COPPER_FIELD)], &cache);
    let input = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        br#"{"title": "T", "description": "X"}"#,
        true,
    )
    .unwrap();
    let out = table
        .to_vendor(&input.fields, WriteOperation::Create, Some(&tenant))
        .unwrap();
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert_eq!(
        out.body["custom_fields"],
        json!([{"custom_field_definition_id": 11, "value": "X"}])
    );
    let wildcard = TenantMappings::build(
        &OPPORTUNITIES,
        [(
            "description",
            "$.custom_fields[?@.custom_field_definition_id > 11].value",
        )],
        &cache,
    );
    let out = table
        .to_vendor(&input.fields, WriteOperation::Create, Some(&wildcard))
        .unwrap();
    assert_eq!(
        out.unmapped,
        ["description"],
        "other filters stay read-only"
    );
}

/// Copper's own table, as the gateway loads it: the body handed to Copper's connector carries
/// the entry in Copper's shape (the connector's custom-field hook runs after this).
#[test]
fn a_copper_description_override_becomes_a_custom_field_entry() {
    let connectors = crate::registry::connectors();
    let entry = connectors
        .iter()
        .find(|e| e.connector.id() == "copper")
        .expect("Copper is built in");
    let table = MappingTable::compile(
        "copper.yaml",
        include_str!("../../mappings/copper/opportunities.yaml"),
        &OPPORTUNITIES,
        entry.connector.write_hooks(),
    )
    .unwrap();
    let cache = PathCache::default();
    let tenant = TenantMappings::build(&OPPORTUNITIES, [("description", COPPER_FIELD)], &cache);
    let input = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        br#"{"title": "T", "description": "X"}"#,
        true,
    )
    .unwrap();
    let out = table
        .to_vendor(&input.fields, WriteOperation::Create, Some(&tenant))
        .unwrap();
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert_eq!(out.body.get("details"), None);
    assert_eq!(
        out.body["custom_fields"],
        json!([{"custom_field_definition_id": 11, "value": "X"}])
    );
}
