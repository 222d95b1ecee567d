use std::sync::Arc;

use crmgate_connector_sdk::Record;
use serde_json::{Map, Value, json};

use super::transform::TransformSpec;
use super::*;
use crate::unified::{OPPORTUNITIES, UnifiedWrite};

const HUBSPOT: &str = include_str!("../../mappings/hubspot/opportunities.yaml");

fn compile(text: &str) -> Result<MappingTable, LoadError> {
    compile_for("hubspot", text)
}

/// Compiles a table against a built-in connector's hooks and catalogs.
fn compile_for(connector: &str, text: &str) -> Result<MappingTable, LoadError> {
    let connectors = crate::registry::connectors();
    let entry = connectors
        .iter()
        .find(|e| e.connector.id() == connector)
        .expect("the connector is built in");
    MappingTable::compile(
        "test.yaml",
        text,
        &OPPORTUNITIES,
        &TableConnector::of(entry.connector.as_ref()),
    )
}

fn read(table: &MappingTable, record: &Value, view: &RecordView<'_>) -> Value {
    read_with(table, record, view, &Lookups::default())
}

/// The unified record, read both ways: from a tree (as records a hook rewrote are read) and
/// walked in the vendor's text (as pages are read), which must agree.
fn read_with(
    table: &MappingTable,
    record: &Value,
    view: &RecordView<'_>,
    lookups: &Lookups,
) -> Value {
    let mut out = Vec::new();
    table.write_record(record, view, lookups, &mut out);
    let tree: Value = serde_json::from_slice(&out).expect("the engine writes valid JSON");
    let walked: Value = serde_json::from_str(&read_text(table, &record.to_string(), view, lookups))
        .expect("the engine writes valid JSON");
    assert_eq!(walked, tree, "the walk and the tree read {record} alike");
    tree
}

/// The unified record read from the vendor's text, as a page's records are.
fn read_text(table: &MappingTable, text: &str, view: &RecordView<'_>, lookups: &Lookups) -> String {
    let records = [Record::from_text(text).unwrap()];
    let mut out = Vec::new();
    table.read_page(&records, *view).write(lookups, &mut out);
    let out = String::from_utf8(out).unwrap();
    out.strip_prefix('[')
        .and_then(|o| o.strip_suffix(']'))
        .unwrap()
        .to_owned()
}

/// The catalog keys a page of records needs, asked of them as text and as trees alike.
fn lookup_keys(table: &MappingTable, records: &[Value]) -> Vec<(String, Vec<String>)> {
    let texts: Vec<Record> = records
        .iter()
        .map(|r| Record::from_text(&r.to_string()).unwrap())
        .collect();
    let trees: Vec<Record> = records.iter().cloned().map(Record::from_value).collect();
    let keys = table.read_page(&texts, RecordView::default()).lookup_keys();
    assert_eq!(
        table.read_page(&trees, RecordView::default()).lookup_keys(),
        keys,
        "trees need the same catalogs"
    );
    keys
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
    table.to_vendor(&input.fields, op, None, &Lookups::default())
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
    table.write_record(&deal, &RecordView::default(), &Lookups::default(), &mut out);
    let tree = String::from_utf8(out).unwrap();
    let walked = read_text(
        &table,
        &deal.to_string(),
        &RecordView::default(),
        &Lookups::default(),
    );
    for text in [tree, walked] {
        assert!(
            text.contains(r#""monetary_amount":12345678901234567.10"#),
            "{text}"
        );
    }
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
    // The table's write hook has already shaped the associations: this is the wire body, but
    // for `stage_status`, which the connector turns into a stage of the pipeline.
    // Through serde_json: other serialisers would see arbitrary-precision numbers as maps.
    insta::assert_snapshot!(
        "hubspot_create_body",
        serde_json::to_string_pretty(&body.body).unwrap()
    );
    assert_eq!(body.unmapped, ["source_id", "win_probability"]);
}

#[test]
fn update_cannot_change_create_only_fields() {
    let table = compile(
        "fields:\n  title:\n    write: { to: $.properties.dealname }\n  contact_ids:\n    write: { to: $.associations.contacts, on: [create] }\n",
    )
    .unwrap();
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
    let fields = crmgate_connector_sdk::ReadFields::new(table.read_paths(), &[], &[]);
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
        for source in entry.mappings.iter() {
            assert!(set.table(entry.connector.id(), source.resource).is_some());
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
    use crmgate_connector_sdk::{Comparison, VendorFilter};
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
                value: json!("true"),
                comparison: Comparison::Equals
            },
            VendorFilter {
                field: "hs_deal_stage_probability".into(),
                value: json!("0.4"),
                comparison: Comparison::Equals
            },
            VendorFilter {
                field: "amount".into(),
                value: json!("1000.50"),
                comparison: Comparison::Equals
            },
            VendorFilter {
                field: "associations.company".into(),
                value: json!("901"),
                comparison: Comparison::Equals
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

/// A `*_since` filter needs a vendor list that can say "at or after": query parameters name
/// their comparison (Pipedrive's `updated_since`), a filter list needs its `since` item
/// (HubSpot's `GTE`); a manifest with neither makes the filter a load error.
#[test]
fn a_lower_bound_filter_needs_a_list_that_takes_one() {
    let connectors = crate::registry::connectors();
    let compile_notes = |id: &str| {
        let entry = connectors.iter().find(|e| e.connector.id() == id).unwrap();
        MappingTable::compile(
            "notes.yaml",
            "fields: {}\nfilters:\n  updated_since: { field: changed }\n",
            &crate::unified::NOTES,
            &TableConnector::of(entry.connector.as_ref()),
        )
    };
    assert!(compile_notes("pipedrive").is_ok());
    assert!(compile_notes("hubspot").is_ok());
    let err = compile_notes("copper").unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert!(
        err.to_string()
            .contains("\"updated_since\" is a lower bound, which the manifest's list of notes cannot express (a filter list needs a `since` item)"),
        "{err}"
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
    let text = read_text(&table, &deal.to_string(), &view, &Lookups::default());
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
        .to_vendor(
            &input.fields,
            WriteOperation::Create,
            Some(&tenant),
            &Lookups::default(),
        )
        .unwrap();
    assert_eq!(
        body.body,
        json!({"properties": {"deal_title_internal": "T", "lead_origin": "web", "amount": "5"}})
    );
    assert!(body.unmapped.is_empty());
    let plain = table
        .to_vendor(
            &input.fields,
            WriteOperation::Create,
            None,
            &Lookups::default(),
        )
        .unwrap();
    assert_eq!(plain.body["properties"]["dealname"], json!("T"));
    assert_eq!(plain.unmapped, ["source_id"]);
}

#[test]
fn the_committed_schemas_match_the_types() {
    for model in crate::unified::MODELS {
        let resource = model.resource.as_str();
        let generated = serde_json::to_string_pretty(&mapping_file_schema(model)).unwrap() + "\n";
        let file = format!(
            "{}/mappings/{resource}.schema.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            generated == committed,
            "{file} is stale: run `cargo run -- mappings schema {resource} > mappings/{resource}.schema.json`"
        );
    }
    let schema = mapping_file_schema(&OPPORTUNITIES);
    assert!(
        schema["properties"]["fields"]["propertyNames"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("close_date"))
    );
    let notes = mapping_file_schema(&crate::unified::NOTES);
    let names = notes["properties"]["fields"]["propertyNames"]["enum"]
        .as_array()
        .unwrap();
    assert!(names.contains(&json!("content")) && !names.contains(&json!("close_date")));
}

/// The benchmark pages (bench/fixtures/) map into 100 whole records each: an id, a title,
/// a close date and a status from the contract, and an exact amount where the vendor gave one.
#[test]
fn the_benchmark_pages_map_without_error() {
    let pages: [(&str, &str, &[u8], &str); 3] = [
        (
            "hubspot",
            HUBSPOT,
            include_bytes!("../../bench/fixtures/hubspot_deals_page.json"),
            "/results",
        ),
        (
            "pipedrive",
            include_str!("../../mappings/pipedrive/opportunities.yaml"),
            include_bytes!("../../bench/fixtures/pipedrive_deals_page.json"),
            "/data",
        ),
        (
            "copper",
            include_str!("../../mappings/copper/opportunities.yaml"),
            include_bytes!("../../bench/fixtures/copper_opportunities.json"),
            "",
        ),
    ];
    for (connector, text, bytes, records_at) in pages {
        let page: Value = serde_json::from_slice(bytes).unwrap();
        let records: Vec<Record> = page
            .pointer(records_at)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Record::from_text(&r.to_string()).unwrap())
            .collect();
        assert_eq!(records.len(), 100);
        let table = compile_for(connector, text).unwrap();
        let mut out = Vec::new();
        table
            .read_page(&records, RecordView::default())
            .write(&Lookups::default(), &mut out);
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

// === catalogs: lookup and custom_fields ===

/// Pipedrive's labels and custom fields as the integrator's table will map them.
const PIPEDRIVE_NAMED: &str = r#"
fields:
  tags:
    read:
      from: $.label_ids
      transforms: [{ type: lookup, catalog: labels }]
    write:
      to: $.label_ids
      transforms:
        - { type: lookup, catalog: labels, noun: deal label }
        - { type: to_integer }
  custom_fields:
    read:
      from: $.custom_fields
      transforms:
        - { type: custom_fields, catalog: custom_fields, shape: { type: object } }
    write:
      to: $.custom_fields
      transforms:
        - { type: custom_fields, catalog: custom_fields, shape: { type: object } }
    "#;

/// Copper's loss reasons, sources and custom fields, beside the ids they name.
const COPPER_NAMED: &str = r#"
fields:
  loss_reason_id:
    read: { from: $.loss_reason_id }
    write: { to: $.loss_reason_id, transforms: [{ type: to_integer }] }
  loss_reason:
    read:
      from: $.loss_reason_id
      transforms: [{ type: lookup, catalog: loss_reasons, missing: null }]
    write:
      to: $.loss_reason_id
      transforms:
        - { type: lookup, catalog: loss_reasons, noun: loss reason }
        - { type: to_integer }
  source_id:
    read: { from: $.customer_source_id }
    write: { to: $.customer_source_id, transforms: [{ type: to_integer }] }
  lead_source:
    read:
      from: $.customer_source_id
      transforms: [{ type: lookup, catalog: customer_sources, missing: null }]
    write:
      to: $.customer_source_id
      transforms:
        - { type: lookup, catalog: customer_sources, noun: customer source }
        - { type: to_integer }
  custom_fields:
    read:
      from: $.custom_fields
      transforms:
        - type: custom_fields
          catalog: custom_fields
          shape: { type: list, key: custom_field_definition_id, value: value, integer_keys: true }
    write:
      to: $.custom_fields
      transforms:
        - type: custom_fields
          catalog: custom_fields
          shape: { type: list, key: custom_field_definition_id, value: value, integer_keys: true }
"#;

/// HubSpot's tags (`hs_tag_ids`, ids joined with `;`) and custom properties among its own.
const HUBSPOT_NAMED: &str = r#"
empty_string_is_null: true
fields:
  title:
    read: { from: $.properties.dealname }
    write: { to: $.properties.dealname }
  tags:
    read:
      from: $.properties.hs_tag_ids
      transforms:
        - { type: split, separator: ";" }
        - { type: lookup, catalog: tags }
    write:
      to: $.properties.hs_tag_ids
      transforms:
        - { type: lookup, catalog: tags, noun: deal tag }
        - { type: join, separator: ";" }
  custom_fields:
    read:
      from: $.properties
      transforms:
        - type: custom_fields
          catalog: custom_fields
          shape: { type: object, only_known: true, values: text }
    write:
      to: $.properties
      transforms:
        - type: custom_fields
          catalog: custom_fields
          shape: { type: object, only_known: true, values: text }
"#;

fn catalog(pairs: &[(&str, &str)]) -> Arc<crmgate_connector_sdk::FieldNames> {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn lookups(catalogs: &[(&str, &[(&str, &str)])]) -> Lookups {
    let mut lookups = Lookups::default();
    for (name, pairs) in catalogs {
        lookups.insert(name, catalog(pairs));
    }
    lookups
}

fn pipedrive_lookups() -> Lookups {
    lookups(&[
        ("labels", &[("5", "Hot"), ("6", "Warm")]),
        ("custom_fields", &[("h1", "Region"), ("h2", "Seats")]),
    ])
}

/// Only the named fields of a read, for tables that map a few.
fn read_only(table: &MappingTable, record: Value, lookups: &Lookups, names: &[&str]) -> Value {
    let fields: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let view = RecordView {
        fields: Some(&fields),
        tenant: None,
    };
    let mut unified = read_with(table, &record, &view, lookups);
    unified.as_object_mut().unwrap().remove("title");
    unified
}

fn write_with(
    table: &MappingTable,
    body: &str,
    op: WriteOperation,
    lookups: &Lookups,
) -> Result<Value, crate::error::Error> {
    let input = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        body.as_bytes(),
        op == WriteOperation::Create,
    )?;
    table
        .to_vendor(&input.fields, op, None, lookups)
        .map(|b| b.body)
}

const RECENT: &str = " If it was added at the vendor in the last 30 seconds, try again shortly.";

#[test]
fn a_lookup_reads_ids_as_labels_and_keeps_unnamed_ids() {
    let table = compile_for("pipedrive", PIPEDRIVE_NAMED).unwrap();
    let named = pipedrive_lookups();
    let deal = json!({"label_ids": [5, 9, "6"]});
    assert_eq!(
        read_only(&table, deal.clone(), &named, &["tags"]),
        json!({"tags": ["Hot", "9", "Warm"]})
    );
    assert_eq!(
        read_only(&table, deal, &Lookups::default(), &["tags"]),
        json!({"tags": ["5", "9", "6"]}),
        "a catalog the vendor refused names nothing"
    );
    assert_eq!(
        read_only(&table, json!({"label_ids": null}), &named, &["tags"]),
        json!({"tags": []})
    );
    assert_eq!(
        read_only(&table, json!({}), &named, &["tags"]),
        json!({"tags": []})
    );
}

#[test]
fn a_lookup_with_missing_null_reads_unnamed_ids_as_nothing() {
    let table = compile_for("copper", COPPER_NAMED).unwrap();
    let named = lookups(&[("loss_reasons", &[("4", "Price")])]);
    let fields = ["loss_reason", "loss_reason_id"];
    assert_eq!(
        read_only(&table, json!({"loss_reason_id": 4}), &named, &fields),
        json!({"loss_reason": "Price", "loss_reason_id": "4"})
    );
    assert_eq!(
        read_only(&table, json!({"loss_reason_id": 7}), &named, &fields),
        json!({"loss_reason": null, "loss_reason_id": "7"})
    );
    assert_eq!(
        read_only(
            &table,
            json!({"loss_reason_id": 4}),
            &Lookups::default(),
            &fields
        ),
        json!({"loss_reason": null, "loss_reason_id": "4"})
    );
    assert_eq!(
        read_only(&table, json!({"loss_reason_id": null}), &named, &fields),
        json!({"loss_reason": null, "loss_reason_id": null})
    );
    let list = compile_for(
        "pipedrive",
        "fields:\n  tags:\n    read:\n      from: $.label_ids\n      transforms: [{ type: lookup, catalog: labels, missing: \"null\" }]\n",
    )
    .unwrap();
    assert_eq!(
        read_only(
            &list,
            json!({"label_ids": [9, 5]}),
            &pipedrive_lookups(),
            &["tags"]
        ),
        json!({"tags": ["Hot"]}),
        "in a list, an unnamed id is no item"
    );
}

#[test]
fn a_lookup_writes_labels_or_ids_as_ids() {
    let table = compile_for("pipedrive", PIPEDRIVE_NAMED).unwrap();
    let named = pipedrive_lookups();
    let update = |body: &str| write_with(&table, body, WriteOperation::Update, &named);
    assert_eq!(
        update(r#"{"tags":["Hot","6"]}"#).unwrap(),
        json!({"label_ids": [5, 6]})
    );
    assert_eq!(update(r#"{"tags":[]}"#).unwrap(), json!({"label_ids": []}));
    assert_eq!(
        update(r#"{"tags":null}"#).unwrap(),
        json!({"label_ids": []}),
        "a cleared list clears the labels"
    );
    let err = update(r#"{"tags":["Hot","Lukewarm"]}"#).unwrap_err();
    let message = format!("A Pipedrive deal label named \"Lukewarm\" does not exist.{RECENT}");
    assert_eq!(err.status().as_u16(), 400);
    assert_eq!(err.type_name(), "RequestValidationError");
    assert_eq!(err.message(), message);
    assert_eq!(err.detail(), &json!({"invalid": [{"tags": message}]}));
    let err = write_with(
        &table,
        r#"{"tags":["5"]}"#,
        WriteOperation::Update,
        &Lookups::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        format!("A Pipedrive deal label named \"5\" does not exist.{RECENT}"),
        "without the catalog nothing is known"
    );
}

#[test]
fn a_name_and_its_id_share_a_place_and_the_name_wins() {
    let table = compile_for("copper", COPPER_NAMED).unwrap();
    let named = lookups(&[
        ("loss_reasons", &[("4", "Price")]),
        ("customer_sources", &[("3", "Web")]),
    ]);
    let update = |body: &str| write_with(&table, body, WriteOperation::Update, &named);
    assert_eq!(
        update(r#"{"loss_reason":"Price","lead_source":null}"#).unwrap(),
        json!({"loss_reason_id": 4, "customer_source_id": null})
    );
    assert_eq!(
        update(r#"{"loss_reason":"Price","loss_reason_id":"9","source_id":"3"}"#).unwrap(),
        json!({"loss_reason_id": 4, "customer_source_id": 3})
    );
    assert_eq!(
        update(r#"{"lead_source":"3"}"#).unwrap(),
        json!({"customer_source_id": 3}),
        "an id is taken where a name is expected"
    );
    assert_eq!(
        update(r#"{"lead_source":"Fair"}"#).unwrap_err().message(),
        format!("A Copper customer source named \"Fair\" does not exist.{RECENT}")
    );
    let err = compile_for(
        "copper",
        "fields:\n  loss_reason:\n    write: { to: $.x }\n  loss_reason_id:\n    write: { to: $.x }\n",
    )
    .unwrap_err();
    assert!(err.message.contains("overlapping"), "{err}");
}

#[test]
fn hubspot_tags_compose_with_split_and_join() {
    let table = compile_for("hubspot", HUBSPOT_NAMED).unwrap();
    let named = lookups(&[("tags", &[("101", "Strategic"), ("102", "Renewal")])]);
    let deal = |ids: Value| json!({"properties": {"dealname": "A", "hs_tag_ids": ids}});
    assert_eq!(
        read_only(&table, deal(json!("101;999")), &named, &["tags"]),
        json!({"tags": ["Strategic", "999"]})
    );
    assert_eq!(
        read_only(&table, deal(json!("")), &named, &["tags"]),
        json!({"tags": []})
    );
    let update = |body: &str| write_with(&table, body, WriteOperation::Update, &named);
    assert_eq!(
        update(r#"{"tags":["Strategic","102"]}"#).unwrap(),
        json!({"properties": {"hs_tag_ids": "101;102"}})
    );
    assert_eq!(
        update(r#"{"tags":[]}"#).unwrap(),
        json!({"properties": {"hs_tag_ids": ""}})
    );
    assert_eq!(
        update(r#"{"tags":null}"#).unwrap(),
        json!({"properties": {"hs_tag_ids": ""}})
    );
    assert_eq!(
        update(r#"{"tags":["Nope"]}"#).unwrap_err().message(),
        format!("A HubSpot deal tag named \"Nope\" does not exist.{RECENT}")
    );
}

#[test]
fn custom_fields_in_an_object_read_every_key_in_order() {
    let table = compile_for("pipedrive", PIPEDRIVE_NAMED).unwrap();
    let deal =
        json!({"custom_fields": {"h2": 5, "h1": "EMEA", "h3": {"value": 1, "currency": "EUR"}}});
    assert_eq!(
        read_only(
            &table,
            deal.clone(),
            &pipedrive_lookups(),
            &["custom_fields"]
        ),
        json!({"custom_fields": [
            {"id": "h1", "name": "Region", "value": "EMEA"},
            {"id": "h2", "name": "Seats", "value": 5},
            {"id": "h3", "name": null, "value": {"value": 1, "currency": "EUR"}},
        ]})
    );
    assert_eq!(
        read_only(&table, deal, &Lookups::default(), &["custom_fields"]),
        json!({"custom_fields": [
            {"id": "h1", "name": null, "value": "EMEA"},
            {"id": "h2", "name": null, "value": 5},
            {"id": "h3", "name": null, "value": {"value": 1, "currency": "EUR"}},
        ]})
    );
    assert_eq!(
        read_only(
            &table,
            json!({"custom_fields": {}}),
            &pipedrive_lookups(),
            &["custom_fields"]
        ),
        json!({"custom_fields": []})
    );
}

/// Close keeps custom fields as `"custom.<key>"` members among the record's own: read from the
/// record itself, written merged into the body's top level beside the other fields.
#[test]
fn custom_fields_with_a_prefix_live_among_the_records_own_members() {
    let table = compile_for(
        "pipedrive",
        r#"
fields:
  title: { read: { from: $.name }, write: { to: $.name } }
  custom_fields:
    read:
      from: $
      transforms:
        - { type: custom_fields, catalog: custom_fields, shape: { type: object, prefix: custom. } }
    write:
      to: $
      transforms:
        - { type: custom_fields, catalog: custom_fields, shape: { type: object, prefix: custom. } }
"#,
    )
    .unwrap();
    let record = json!({"name": "A", "custom.h2": 5, "customer": "x", "custom.h1": "EMEA", "custom.h9": null});
    assert_eq!(
        read_only(&table, record, &pipedrive_lookups(), &["custom_fields"]),
        json!({"custom_fields": [
            {"id": "h1", "name": "Region", "value": "EMEA"},
            {"id": "h2", "name": "Seats", "value": 5},
            {"id": "h9", "name": null, "value": null},
        ]})
    );
    assert_eq!(
        lookup_keys(&table, &[json!({"custom.h1": 1, "name": "x"})]),
        [("custom_fields".to_owned(), vec!["h1".to_owned()])]
    );
    let body = write_with(
        &table,
        r#"{"title": "B", "custom_fields": [{"name": "Seats", "value": 7}, {"id": "h1", "value": "EU"}]}"#,
        WriteOperation::Create,
        &pipedrive_lookups(),
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"name": "B", "custom.h2": 7, "custom.h1": "EU"})
    );
}

/// `$` is the whole body: only an object of custom fields may be merged into it.
#[test]
fn only_custom_fields_may_write_the_whole_body() {
    let err = compile("fields:\n  title:\n    write: { to: $ }\n").unwrap_err();
    assert!(
        err.message.contains("would replace the whole vendor body"),
        "{err}"
    );
}

#[test]
fn custom_fields_in_an_object_are_written_by_id_or_name() {
    let table = compile_for("pipedrive", PIPEDRIVE_NAMED).unwrap();
    let named = pipedrive_lookups();
    let update = |body: &str| write_with(&table, body, WriteOperation::Update, &named);
    assert_eq!(
        update(r#"{"custom_fields":[{"name":"Region","value":"APAC"},{"id":"h2","value":7}]}"#)
            .unwrap(),
        json!({"custom_fields": {"h1": "APAC", "h2": 7}})
    );
    assert_eq!(
        update(r#"{"custom_fields":[]}"#).unwrap(),
        json!({"custom_fields": {}})
    );
    let err = update(r#"{"custom_fields":[{"name":"Nope","value":1}]}"#).unwrap_err();
    let message = format!("Pipedrive has no custom field named \"Nope\".{RECENT}");
    assert_eq!(err.type_name(), "RequestValidationError");
    assert_eq!(err.message(), message);
    assert_eq!(
        err.detail(),
        &json!({"invalid": [{"custom_fields": message}]})
    );
    assert_eq!(
        update(r#"{"custom_fields":[{"id":"h9","name":"Region","value":1}]}"#)
            .unwrap_err()
            .message(),
        format!("Pipedrive has no custom field with id \"h9\".{RECENT}"),
        "an unknown id is refused even beside a known name"
    );
}

#[test]
fn custom_fields_among_the_vendors_own_are_the_known_ones_as_text() {
    let table = compile_for("hubspot", HUBSPOT_NAMED).unwrap();
    let named = lookups(&[("custom_fields", &[("seats", "Seats"), ("region", "Region")])]);
    let deal = json!({"properties": {
        "dealname": "A", "seats": "", "region": "EMEA", "zeta": "z", "hs_tag_ids": "101"
    }});
    assert_eq!(
        read_only(&table, deal.clone(), &named, &["custom_fields"]),
        json!({"custom_fields": [
            {"id": "region", "name": "Region", "value": "EMEA"},
            {"id": "seats", "name": "Seats", "value": null},
        ]})
    );
    assert_eq!(
        read_only(&table, deal, &Lookups::default(), &["custom_fields"]),
        json!({"custom_fields": []}),
        "without the catalog no property is known to be custom"
    );
    let update = |body: &str| write_with(&table, body, WriteOperation::Update, &named);
    assert_eq!(
        update(
            r#"{"title":"T","custom_fields":[{"name":"Region","value":"APAC"},{"id":"seats","value":12}]}"#
        )
        .unwrap(),
        json!({"properties": {"dealname": "T", "region": "APAC", "seats": "12"}}),
        "merged beside the table's own properties"
    );
    assert_eq!(
        update(r#"{"custom_fields":[{"id":"seats","value":null},{"id":"region","value":true}]}"#)
            .unwrap(),
        json!({"properties": {"seats": "", "region": "true"}})
    );
    assert_eq!(
        update(r#"{"custom_fields":[{"id":"dealname","value":"x"}]}"#)
            .unwrap_err()
            .message(),
        format!("HubSpot has no custom field with id \"dealname\".{RECENT}")
    );
}

#[test]
fn custom_fields_in_a_list_read_and_write_with_integer_keys() {
    let table = compile_for("copper", COPPER_NAMED).unwrap();
    let named = lookups(&[("custom_fields", &[("11", "Region"), ("12", "Seats")])]);
    let opportunity = json!({"custom_fields": [
        {"custom_field_definition_id": 11, "value": "EMEA"},
        {"custom_field_definition_id": 13, "value": 2},
    ]});
    assert_eq!(
        read_only(&table, opportunity, &named, &["custom_fields"]),
        json!({"custom_fields": [
            {"id": "11", "name": "Region", "value": "EMEA"},
            {"id": "13", "name": null, "value": 2},
        ]})
    );
    assert_eq!(
        write_with(
            &table,
            r#"{"custom_fields":[{"name":"Seats","value":3},{"id":"11","value":null}]}"#,
            WriteOperation::Update,
            &named,
        )
        .unwrap(),
        json!({"custom_fields": [
            {"custom_field_definition_id": 12, "value": 3},
            {"custom_field_definition_id": 11, "value": null},
        ]})
    );
}

#[test]
fn a_custom_field_without_id_or_name_is_refused() {
    let spec = TransformSpec::CustomFields {
        catalog: "custom_fields".into(),
        shape: CustomFieldsShape::Object {
            only_known: false,
            values: FieldValues::AsIs,
            prefix: String::new(),
        },
    };
    let transform = transform::Transform::compile(&spec, lookup::Direction::Write).unwrap();
    let named = pipedrive_lookups();
    let cx = lookup::Context {
        lookups: &named,
        vendor: "Pipedrive",
    };
    let err = transform
        .apply_in(std::borrow::Cow::Owned(json!([{"value": 1}])), &cx)
        .unwrap_err();
    assert_eq!(
        err,
        lookup::TransformError::Unknown("A custom field needs an id or a name.".to_owned())
    );
}

#[test]
fn callers_learn_which_keys_to_resolve() {
    let table = compile_for("pipedrive", PIPEDRIVE_NAMED).unwrap();
    let records = [
        json!({"label_ids": [5, 9], "custom_fields": {"h2": 1, "h1": null}}),
        json!({"label_ids": ["9", 6], "custom_fields": {"h3": 2}}),
        json!({"label_ids": null}),
    ];
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        lookup_keys(&table, &records),
        [
            ("labels".to_owned(), strings(&["5", "9", "6"])),
            ("custom_fields".to_owned(), strings(&["h1", "h2", "h3"])),
        ]
    );
    assert_eq!(
        lookup_keys(&table, &[json!({"label_ids": []})]),
        [],
        "records that carry no ids need no catalog"
    );

    let hubspot = compile_for("hubspot", HUBSPOT_NAMED).unwrap();
    let deals = [json!({"properties": {"hs_tag_ids": "101;102", "region": "x"}})];
    assert_eq!(
        lookup_keys(&hubspot, &deals),
        [
            ("tags".to_owned(), strings(&["101", "102"])),
            ("custom_fields".to_owned(), vec![]),
        ],
        "ids after the split; custom properties need the whole catalog"
    );
    assert_eq!(
        hubspot.lookup_sources(),
        [
            ("tags".to_owned(), strings(&["properties", "hs_tag_ids"])),
            ("custom_fields".to_owned(), strings(&["properties"])),
        ]
    );

    let input = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        br#"{"tags":["Hot","6"],"custom_fields":[{"name":"Region","value":1},{"id":"h2","name":"Seats","value":2}]}"#,
        false,
    )
    .unwrap();
    assert_eq!(
        table.write_lookups(&input.fields, WriteOperation::Update, None),
        [
            ("custom_fields".to_owned(), strings(&["Region", "h2"])),
            ("labels".to_owned(), strings(&["Hot", "6"])),
        ]
    );
    let cleared = UnifiedWrite::from_body(
        &OPPORTUNITIES,
        br#"{"tags":[],"custom_fields":null}"#,
        false,
    )
    .unwrap();
    assert_eq!(
        table.write_lookups(&cleared.fields, WriteOperation::Update, None),
        []
    );
}

#[test]
fn catalogs_are_checked_at_load() {
    let cases = [
        (
            "fields:\n  tags:\n    read: { from: $.x, transforms: [{ type: lookup, catalog: nope }] }\n",
            3,
            "unknown catalog \"nope\"; this connector's manifest has: custom_fields, company_custom_fields, contact_custom_fields, tags",
        ),
        (
            "fields:\n  tags:\n    write: { to: $.x, transforms: [{ type: lookup, catalog: tags }] }\n",
            3,
            "a lookup in a write needs `noun`",
        ),
        (
            "fields:\n  tags:\n    read:\n      from: $.x\n      transforms:\n        - { type: lookup, catalog: tags }\n        - { type: lookup, catalog: tags }\n",
            7,
            "at most one catalog",
        ),
        (
            "fields: {}\nfilters:\n  title: { field: x, transforms: [{ type: lookup, catalog: tags }] }\n",
            3,
            "a filter cannot use a catalog",
        ),
        (
            "fields:\n  custom_fields:\n    read: { from: $.x, transforms: [{ type: custom_fields, catalog: tags, shape: { type: grid } }] }\n",
            3,
            "grid",
        ),
    ];
    for (text, line, needle) in cases {
        let err = compile(text).unwrap_err();
        assert_eq!(err.file, "test.yaml");
        assert_eq!(err.line, line, "{text}\n→ {err}");
        assert!(err.column > 0, "{err}");
        assert!(err.message.contains(needle), "{text}\n→ {err}");
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
        .to_vendor(
            &input.fields,
            WriteOperation::Create,
            Some(&tenant),
            &Lookups::default(),
        )
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
        .to_vendor(
            &input.fields,
            WriteOperation::Create,
            Some(&wildcard),
            &Lookups::default(),
        )
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
    let table = compile_for(
        "copper",
        include_str!("../../mappings/copper/opportunities.yaml"),
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
        .to_vendor(
            &input.fields,
            WriteOperation::Create,
            Some(&tenant),
            &Lookups::default(),
        )
        .unwrap();
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert_eq!(out.body.get("details"), None);
    assert_eq!(
        out.body["custom_fields"],
        json!([{"custom_field_definition_id": 11, "value": "X"}])
    );
}

#[test]
fn a_list_of_custom_fields_is_written_from_its_text_as_the_tree_writes_it() {
    let table = compile_for(
        "copper",
        include_str!("../../mappings/copper/opportunities.yaml"),
    )
    .unwrap();
    let text = r#"{"id": 1, "custom_fields": [
        {"custom_field_definition_id": 11, "value": "caf\u00e9 \"x\""},
        {"value": [1, 2.50], "custom_field_definition_id": "12"},
        {"custom_field_definition_id": 13, "value": {"b": 1, "a": 2, "a": 3}},
        {"custom_field_definition_id": 14, "value": 1.5e3},
        {"custom_field_definition_id": 15},
        {"value": "no id"},
        7
    ]}"#;
    let catalogs = lookups(&[("custom_fields", &[("11", "Region"), ("12", "Seats")])]);
    let walked = same_as_tree(&table, text, &catalogs);
    for written in [
        r#"{"id":"11","name":"Region","value":"café \"x\""}"#,
        r#"{"id":"12","name":"Seats","value":[1,2.50]}"#,
        r#"{"id":"13","name":null,"value":{"a":3,"b":1}}"#,
        r#"{"id":"14","name":null,"value":1.5e3}"#,
        r#"{"id":"15","name":null,"value":null}"#,
    ] {
        assert!(walked.contains(written), "{written} in {walked}");
    }
}

#[test]
fn an_object_of_custom_fields_is_written_from_its_text_as_the_tree_writes_it() {
    let hash = |c: char| c.to_string().repeat(40);
    let (a, b, c) = (hash('a'), hash('b'), hash('c'));
    let pipedrive = compile_for(
        "pipedrive",
        include_str!("../../mappings/pipedrive/opportunities.yaml"),
    )
    .unwrap();
    let text = format!(
        r#"{{"id": 1, "custom_fields": {{"{c}": [1, 2], "{a}": "first", "{b}": "x\u0079", "{a}": "later"}}}}"#
    );
    let catalogs = lookups(&[("custom_fields", &[(a.as_str(), "Region")])]);
    let written = same_as_tree(&pipedrive, &text, &catalogs);
    let expected = format!(
        r#""custom_fields":[{{"id":"{a}","name":"Region","value":"later"}},{{"id":"{b}","name":null,"value":"xy"}},{{"id":"{c}","name":null,"value":[1,2]}}]"#
    );
    assert!(written.contains(&expected), "{written}");
    // HubSpot's properties hold custom fields among the rest; only the catalog's are fields,
    // and an empty text is no value.
    let hubspot = compile(HUBSPOT).unwrap();
    let text = r#"{"id": "1", "properties": {"region": "", "seats": "12", "dealname": "D", "other": "o"}}"#;
    let catalogs = lookups(&[("custom_fields", &[("seats", "Seats"), ("region", "Region")])]);
    let written = same_as_tree(&hubspot, text, &catalogs);
    assert!(
        written.contains(
            r#""custom_fields":[{"id":"region","name":"Region","value":null},{"id":"seats","name":"Seats","value":"12"}]"#
        ),
        "{written}"
    );
}

/// A record read from its text, checked to read as its tree does.
fn same_as_tree(table: &MappingTable, text: &str, catalogs: &Lookups) -> String {
    let view = RecordView::default();
    let walked = read_text(table, text, &view, catalogs);
    let mut tree = Vec::new();
    table.write_record(
        &serde_json::from_str(text).unwrap(),
        &view,
        catalogs,
        &mut tree,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&walked).unwrap(),
        serde_json::from_slice::<Value>(&tree).unwrap()
    );
    walked
}

/// Walking a record's text must read exactly what the tree reader reads (the tree reader is
/// the oracle): over the shipped tables, records whose every read path holds a random value
/// of any type, with escapes, big and exact numbers, dates with offsets, empty containers.
mod walk_matches_tree {
    use proptest::prelude::*;

    use super::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("12345678901234567.10"),
                Just("0.5"),
                Just("-3"),
                Just("1e3"),
                Just("40.000")
            ]
            .prop_map(|n| serde_json::from_str(n).unwrap()),
            prop_oneof![
                Just(""),
                Just(" 12.50 "),
                Just("true"),
                Just("false"),
                Just("2026-03-04"),
                Just("2026-03-04T05:06:07Z"),
                Just("2026-03-04T05:06:07.123+02:00"),
                Just("2026-02-30"),
                Just("low"),
                Just("101;102"),
                Just("deal_to_company"),
            ]
            .prop_map(|s| Value::String(s.to_owned())),
            "[a-z0-9 \"\\\\/\u{e9}\u{1F600}\u{2028};.-]{0,12}".prop_map(Value::String),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,6}|id|type|value", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Sets `value` at the member names `path` in `doc`, making objects on the way.
    fn set(doc: &mut Value, path: &[String], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut at = doc;
        for name in parents {
            if !at.get(name).is_some_and(Value::is_object) {
                at[name.as_str()] = json!({});
            }
            at = &mut at[name.as_str()];
        }
        at[last.as_str()] = value;
    }

    fn check(connector: &str, text: &str, base: &Value, changes: Vec<(usize, Option<Value>)>) {
        let table = compile_for(connector, text).unwrap();
        let paths = table.read_paths().to_vec();
        let mut record = base.clone();
        for (pick, value) in changes {
            let path = &paths[pick % paths.len()];
            match value {
                Some(v) => set(&mut record, path, v),
                None => set(&mut record, path, Value::Null),
            }
        }
        let cache = PathCache::default();
        let tenant = TenantMappings::build(
            &OPPORTUNITIES,
            [
                ("description", "$.id"),
                ("everything", "$"),
                ("items", "$.a[*].b"),
                ("first", "$.a[0]"),
                ("matched", "$.a[?@.type == 'x'].value"),
            ],
            &cache,
        );
        let catalogs = lookups(&[
            ("custom_fields", &[("region", "Region"), ("11", "Seats")]),
            ("tags", &[("101", "Strategic")]),
            ("labels", &[("5", "Hot")]),
        ]);
        for view in [
            RecordView::default(),
            RecordView {
                fields: None,
                tenant: Some(&tenant),
            },
        ] {
            read_with(&table, &record, &view, &catalogs);
        }
        lookup_keys(&table, std::slice::from_ref(&record));
    }

    fn lookups(catalogs: &[(&str, &[(&str, &str)])]) -> Lookups {
        let mut lookups = Lookups::default();
        for (name, entries) in catalogs {
            let names = entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            lookups.insert(name, Arc::new(names));
        }
        lookups
    }

    fn changes() -> impl Strategy<Value = Vec<(usize, Option<Value>)>> {
        prop::collection::vec((any::<usize>(), prop::option::of(value())), 1..12)
    }

    fn first_record(page: &[u8], at: &str) -> Value {
        let page: Value = serde_json::from_slice(page).unwrap();
        page.pointer(at).unwrap().clone()
    }

    proptest! {
        #[test]
        fn hubspot(changes in changes()) {
            let deal = first_record(include_bytes!("../../bench/fixtures/hubspot_deals_page.json"), "/results/0");
            check("hubspot", HUBSPOT, &deal, changes);
        }

        #[test]
        fn pipedrive(changes in changes()) {
            let deal = first_record(include_bytes!("../../bench/fixtures/pipedrive_deals_page.json"), "/data/0");
            check("pipedrive", include_str!("../../mappings/pipedrive/opportunities.yaml"), &deal, changes);
        }

        #[test]
        fn copper(changes in changes()) {
            let deal = first_record(include_bytes!("../../bench/fixtures/copper_opportunities.json"), "/0");
            check("copper", include_str!("../../mappings/copper/opportunities.yaml"), &deal, changes);
        }
    }

    #[test]
    fn escapes_brackets_in_strings_and_spacing_do_not_mislead_the_walk() {
        let table = compile(HUBSPOT).unwrap();
        let text = "{ \"id\" : 7 ,\n\t\"archived\": false, \"note\": \"}]\\\"[{\",
            \"properties\" : { \"deal\\u006eame\" : \"A \\\"quoted\\\" } name\",
            \"x\": [\"]\", {\"y\": \"}\"}], \"amount\": \"12.50\" } ,
            \"associations\": {\"contacts\": {\"results\": [{\"id\": \"9\"}, {\"id\": 10}]}} }";
        let tree: Value = serde_json::from_str(text).unwrap();
        let walked: Value = serde_json::from_str(&read_text(
            &table,
            text,
            &RecordView::default(),
            &Lookups::default(),
        ))
        .unwrap();
        assert_eq!(walked, read(&table, &tree, &RecordView::default()));
        assert_eq!(walked["id"], json!("7"));
        assert_eq!(walked["title"], json!("A \"quoted\" } name"));
        assert_eq!(
            walked["monetary_amount"],
            serde_json::from_str::<Value>("12.50").unwrap()
        );
        assert_eq!(walked["contact_ids"], json!(["9", "10"]));
    }

    #[test]
    fn a_member_named_twice_reads_as_the_later_one() {
        let table = compile(HUBSPOT).unwrap();
        let text = r#"{"id": "1", "properties": {"dealname": "first", "amount": "5"},
            "properties": {"dealname": "second"}, "id": "2"}"#;
        let tree: Value = serde_json::from_str(text).unwrap();
        let walked: Value = serde_json::from_str(&read_text(
            &table,
            text,
            &RecordView::default(),
            &Lookups::default(),
        ))
        .unwrap();
        assert_eq!(walked, read(&table, &tree, &RecordView::default()));
        assert_eq!(walked["title"], json!("second"));
        assert_eq!(walked["id"], json!("2"));
        assert_eq!(
            walked["monetary_amount"],
            Value::Null,
            "the first properties are gone"
        );
    }
}

fn compile_users(text: &str) -> Result<MappingTable, LoadError> {
    let connectors = crate::registry::connectors();
    let entry = connectors
        .iter()
        .find(|e| e.connector.id() == "pipedrive")
        .unwrap();
    MappingTable::compile(
        "users.yaml",
        text,
        &crate::unified::USERS,
        &TableConnector::of(entry.connector.as_ref()),
    )
}

/// A list of objects is read from a vendor list element by element (`each`), or made from
/// the record's own fields (`items`); an item without its key property (an email without
/// its address) is left out, and the walk and the tree agree.
#[test]
fn lists_of_objects_are_read_from_lists_and_from_fields() {
    let table = compile_users(
        r#"
empty_string_is_null: true
fields:
  id: { read: { from: $.id } }
  emails:
    read:
      from: $.emails
      each:
        email: { from: $.value }
        type:
          from: $.label
          transforms: [{ type: enum, map: { work: work, home: personal }, default: other }]
  phone_numbers:
    read:
      items:
        - number: { from: $.phone }
          type: { default: primary }
        - number: { from: $.mobile }
          type: { default: mobile }
          extension: { from: $.mobile_ext, transforms: [{ type: to_string }] }
  addresses:
    read:
      items:
        - type: { default: primary }
          city: { from: $.city }
"#,
    )
    .unwrap();
    let record = json!({
        "id": 7,
        "emails": [
            { "value": "ada@example.com", "label": "work" },
            { "value": "", "label": "home" },
            { "value": "a@home.example", "label": "home", "primary": true },
            { "value": "x@example.com", "label": "sales" }
        ],
        "phone": "+32 2 555 01 01",
        "mobile": null,
        "mobile_ext": 12,
        "city": "Brussels"
    });
    assert_eq!(
        read(&table, &record, &RecordView::default()),
        json!({
            "id": "7",
            "addresses": [{ "type": "primary", "city": "Brussels" }],
            "phone_numbers": [{ "number": "+32 2 555 01 01", "type": "primary" }],
            "emails": [
                { "email": "ada@example.com", "type": "work" },
                { "email": "a@home.example", "type": "personal" },
                { "email": "x@example.com", "type": "other" }
            ]
        })
    );
    let bare = json!({ "id": 8, "emails": null, "phone": "" });
    assert_eq!(
        read(&table, &bare, &RecordView::default()),
        json!({ "id": "8", "addresses": [], "phone_numbers": [], "emails": [] }),
        "nothing is an empty list, never null, and a default alone makes no item"
    );
}

#[test]
fn lists_of_objects_are_checked_at_load() {
    let cases = [
        (
            "fields:\n  emails:\n    read: { from: $.emails }\n",
            3,
            "say with `each` how an element becomes one",
        ),
        (
            "fields:\n  emails:\n    read:\n      from: $.emails\n      each: { mail: { from: $.value } }\n",
            5,
            "\"mail\" is not a property of Email; it has id, email, type",
        ),
        (
            "fields:\n  emails:\n    read:\n      from: $.emails\n      each: { type: { from: $.label } }\n",
            5,
            "an item of Email must read its \"email\"",
        ),
        (
            "fields:\n  name:\n    read: { from: $.name, each: { email: { from: $ } } }\n",
            3,
            "\"name\" is not a list of objects",
        ),
        (
            "fields:\n  emails:\n    read:\n      items: [{ email: { from: $.email } }]\n      from: $.x\n",
            4,
            "`items` makes the list from the record's fields",
        ),
        (
            "fields:\n  emails:\n    read:\n      from: $.emails\n      each: { email: { from: $.v } }\n      transforms: [{ type: to_string }]\n",
            6,
            "transform its item properties, not the list",
        ),
        (
            "fields:\n  emails:\n    read:\n      from: $.emails\n      each:\n        email: { from: $.v }\n        type: { from: $.t, transforms: [{ type: lookup, catalog: labels }] }\n",
            7,
            "an item property cannot use a catalog (Email \"type\")",
        ),
        (
            "fields:\n  emails:\n    write: { to: $.emails }\n",
            3,
            "write it with `to` and `each` (a vendor list) or with `items` alone",
        ),
        (
            "fields:\n  emails:\n    write:\n      to: $.emails\n      each: { mail: { to: $.value } }\n",
            5,
            "\"mail\" is not a property of Email",
        ),
        (
            "fields:\n  emails:\n    write:\n      items:\n        - when: { kind: work }\n          email: { to: $.email }\n",
            5,
            "\"kind\" is not a property of Email",
        ),
        (
            "fields:\n  emails:\n    write:\n      to: $.emails[*]\n      each: { email: { to: $.value } }\n",
            4,
            "must name one location inside the body",
        ),
        (
            "fields:\n  emails:\n    write:\n      items:\n        - email: { to: $.email, on: [create] }\n",
            5,
            "`on` limits the whole list's write",
        ),
        (
            "fields:\n  name:\n    write: { to: $.name, each: { email: { to: $.v } } }\n",
            3,
            "\"name\" is not a list of objects",
        ),
        (
            "fields:\n  emails:\n    write:\n      items:\n        - email: { to: $.email }\n  name:\n    write: { to: $.email }\n",
            0,
            "fields \"name\" and \"emails\" write to overlapping vendor paths",
        ),
    ];
    for (text, line, needle) in cases {
        let err = compile_users(text).unwrap_err();
        assert!(err.to_string().contains(needle), "{text}\n→ {err}");
        assert_eq!(err.line, line, "{text}\n→ {err}");
    }
}

fn compile_companies(text: &str) -> Result<MappingTable, LoadError> {
    let connectors = crate::registry::connectors();
    let entry = connectors
        .iter()
        .find(|e| e.connector.id() == "copper")
        .unwrap();
    MappingTable::compile(
        "companies.yaml",
        text,
        &crate::unified::COMPANIES,
        &TableConnector::of(entry.connector.as_ref()),
    )
}

fn write_company(table: &MappingTable, body: &str) -> Result<VendorBody, crate::error::Error> {
    let input = UnifiedWrite::from_body(&crate::unified::COMPANIES, body.as_bytes(), false)?;
    table.to_vendor(
        &input.fields,
        WriteOperation::Update,
        None,
        &Lookups::default(),
    )
}

const LIST_WRITES: &str = r#"
empty_string_is_null: true
fields:
  emails:
    write:
      to: $.emails
      each:
        email: { to: $.address }
        type:
          to: $.category
          transforms: [{ type: enum, map: { work: work, personal: personal }, default: other }]
  phone_numbers:
    read:
      items:
        - number: { from: $.mobile }
          type: { default: mobile }
        - number: { from: $.phone }
          type: { default: primary }
    write:
      items:
        - when: { type: mobile }
          number: { to: $.mobile }
        - number: { to: $.phone }
          extension: { to: $.phone_ext }
"#;

/// A list of objects is written as a vendor list element by element (`each`), or into the
/// record's own fields (`items`), where each item takes the first free place it matches and
/// a place no item takes is cleared; whatever has no place, and would not read back, is named
/// in the warnings.
#[test]
fn lists_of_objects_are_written_to_lists_and_to_fields() {
    let table = compile_companies(LIST_WRITES).unwrap();
    let out = write_company(
        &table,
        r#"{
            "emails": [
                { "email": "ada@example.com", "type": "work" },
                { "id": "e2", "email": "a@home.example", "type": "billing" }
            ],
            "phone_numbers": [
                { "number": "+32 2 555 01 01", "type": "primary", "extension": "12" },
                { "number": "+32 470 00 00 00", "type": "Mobile" },
                { "number": "+32 2 555 09 09", "type": "fax", "country_code": null }
            ]
        }"#,
    )
    .unwrap();
    assert_eq!(
        out.body,
        json!({
            "emails": [
                { "address": "ada@example.com", "category": "work" },
                { "address": "a@home.example", "category": "other" }
            ],
            "phone": "+32 2 555 01 01",
            "phone_ext": "12",
            "mobile": "+32 470 00 00 00"
        })
    );
    assert_eq!(out.unmapped, ["emails[1].id", "phone_numbers[2]"]);
    let work = write_company(
        &table,
        r#"{"phone_numbers": [{"number": "1", "type": "work"}]}"#,
    );
    assert_eq!(
        work.unwrap().unmapped,
        ["phone_numbers[0].type"],
        "the place reads back as primary, so a work phone loses its type"
    );

    let cleared = write_company(&table, r#"{ "emails": null, "phone_numbers": [] }"#).unwrap();
    assert_eq!(
        cleared.body,
        json!({ "emails": [], "mobile": "", "phone": "", "phone_ext": "" }),
        "an empty list clears every place, in the vendor's spelling of nothing"
    );
    assert!(cleared.unmapped.is_empty());
}

/// Items are checked against their shape before anything is mapped: an unknown property or a
/// wrong type is a 400 with the item's path.
#[test]
fn items_in_a_write_body_are_checked_with_their_path() {
    let check = |body: &str| {
        UnifiedWrite::from_body(&crate::unified::COMPANIES, body.as_bytes(), false)
            .unwrap_err()
            .to_string()
    };
    assert!(
        check(r#"{"emails": [{"email": "a@b.example"}, {"adress": "x"}]}"#)
            .ends_with("Unknown property emails[1].adress"),
    );
    assert!(
        check(r#"{"phone_numbers": [{"number": 3255501}]}"#)
            .contains("Invalid property phone_numbers[0].number"),
    );
    assert!(check(r#"{"emails": {"email": "a@b.example"}}"#).contains("Invalid property emails"));
    assert!(
        check(r#"{"bank_accounts": [{"currency": "EURO"}]}"#).contains("bank_accounts[0].currency")
    );
    let fine = UnifiedWrite::from_body(
        &crate::unified::COMPANIES,
        br#"{"emails": null, "websites": [{"url": "https://a.example", "type": null}], "row_type": {"id": "1"}}"#,
        false,
    )
    .unwrap();
    assert_eq!(fine.fields["websites"][0]["url"], "https://a.example");
}

/// A case may read a path instead of giving a constant: the one id of a record whose type
/// field says what it is, read alike from the tree and the text, and nothing when no case
/// applies.
#[test]
fn a_case_reads_the_path_it_names() {
    let table = compile(
        "fields:\n  company_id:\n    read:\n      cases:\n        - { when: $.parent.type, equals: person, value: nobody }\n        - { when: $.parent.type, equals: company, from: $.parent.id }\n  primary_contact_id:\n    read:\n      cases: [{ when: $.parent.type, equals: person, from: $.parent.id }]\n",
    )
    .unwrap();
    let view = RecordView::default();
    let company = read(
        &table,
        &json!({ "parent": { "type": "company", "id": 42 } }),
        &view,
    );
    assert_eq!(company["company_id"], json!("42"));
    assert_eq!(company["primary_contact_id"], Value::Null);
    let person = read(
        &table,
        &json!({ "parent": { "type": "person", "id": 7 } }),
        &view,
    );
    assert_eq!(person["company_id"], json!("nobody"));
    assert_eq!(person["primary_contact_id"], json!("7"));
    let neither = read(
        &table,
        &json!({ "parent": { "type": "lead", "id": 9 } }),
        &view,
    );
    assert_eq!(neither["company_id"], Value::Null);

    let both = "fields:\n  company_id:\n    read:\n      cases: [{ when: $.t, equals: 1, value: a, from: $.id }]\n";
    let err = compile(both).unwrap_err();
    assert!(
        err.message.contains("either `value` or `from`"),
        "{}",
        err.message
    );
}

/// Writes with `with` are alternatives for one vendor slot: each sets its constants beside
/// its value, an alternative given `null` takes no slot, and a body giving two is refused
/// before anything is sent.
#[test]
fn alternatives_set_their_constants_and_exclude_each_other() {
    let table = compile(
        "fields:\n  company_id:\n    write: { to: $.parent.id, with: { $.parent.type: company } }\n  primary_contact_id:\n    write: { to: $.parent.id, with: { $.parent.type: person } }\n",
    )
    .unwrap();
    let company = write(
        &table,
        r#"{"title": "x", "company_id": "42", "primary_contact_id": null}"#,
        WriteOperation::Update,
    )
    .unwrap();
    assert_eq!(
        company.body,
        json!({ "parent": { "id": "42", "type": "company" } })
    );
    let err = write(
        &table,
        r#"{"company_id": "42", "primary_contact_id": "7"}"#,
        WriteOperation::Update,
    )
    .unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.message(),
        "Properties company_id and primary_contact_id cannot both be written: HubSpot keeps one of them"
    );

    let list = "fields:\n  company_id:\n    write: { to: $.parent.id }\n  primary_contact_id:\n    write: { to: $.parent.id, with: { $.parent.type: person } }\n";
    let err = compile(list).unwrap_err();
    assert!(err.message.contains("overlapping"), "{}", err.message);
    let root = "fields:\n  company_id:\n    write: { to: $.parent.id, with: { $: x } }\n";
    let err = compile(root).unwrap_err();
    assert!(
        err.message.contains("one location inside the body"),
        "{}",
        err.message
    );
}

/// `join` makes one text of several paths, alike from the tree and the text: the parts the
/// record lacks are left out, none is nothing, and a `whole` join needs every part.
#[test]
fn joined_paths_read_as_one_text() {
    let table = compile(
        "fields:\n  title:\n    read:\n      join: [$.first, $.last]\n      separator: \" \"\n  close_date:\n    read:\n      join: [$.day, $.time]\n      separator: T\n      whole: true\n      transforms: [{ type: datetime_to_date }]\n  description:\n    read:\n      join: [$.a, $.b]\n      separator: \"-\"\n",
    )
    .unwrap();
    let view = RecordView::default();
    let both = read(
        &table,
        &json!({ "first": "Ada", "last": "Lovelace", "day": "2026-03-04", "time": "10:30:00Z", "a": 7, "b": true }),
        &view,
    );
    assert_eq!(both["title"], json!("Ada Lovelace"));
    assert_eq!(both["close_date"], json!("2026-03-04"));
    assert_eq!(both["description"], json!("7-true"));
    let some = read(
        &table,
        &json!({ "last": "Lovelace", "first": null, "day": "2026-03-04" }),
        &view,
    );
    assert_eq!(some["title"], json!("Lovelace"));
    assert_eq!(
        some["close_date"],
        Value::Null,
        "a whole join lacks its time"
    );
    assert_eq!(some["description"], Value::Null);

    let one = "fields:\n  title:\n    read: { join: [$.first] }\n";
    assert!(
        compile(one)
            .unwrap_err()
            .message
            .contains("two paths or more")
    );
    let loose = "fields:\n  title:\n    read: { from: $.first, separator: \" \" }\n";
    assert!(compile(loose).unwrap_err().message.contains("give `join`"));
    let named = "fields:\n  title:\n    read:\n      join: [$.a, $.b]\n      transforms: [{ type: lookup, catalog: custom_fields }]\n";
    assert!(
        compile(named)
            .unwrap_err()
            .message
            .contains("names no catalog entry")
    );
}
