//! What translation costs, beside what parsing and writing the same JSON costs.
//!
//! `cargo bench --bench mapping`. The page is a recorded-shape 100-deal HubSpot list
//! (bench/fixtures/hubspot_deals_page.json, made by make_hubspot_page.py beside it).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crmgate::api::{CursorCodec, CursorState};
use crmgate::mapping::{
    MappingSet, OPPORTUNITIES, PassThroughPlan, PathCache, RecordView, TenantMappings,
    WriteOperation, write_records,
};
use crmgate::unified::{OpportunityWrite, PassThrough};
use crmgate_connector_sdk::Resource;
use serde::Deserialize;
use serde_json::{Value, json};

const PAGE: &[u8] = include_bytes!("../bench/fixtures/hubspot_deals_page.json");

/// The list page as the HubSpot connector reads it.
#[derive(Deserialize)]
struct DealPage {
    results: Vec<Value>,
}

const CREATE_BODY: &str = r#"{"title": "Rocket launch", "description": "Follow up after the demo",
  "type": "newbusiness", "monetary_amount": 75000.50, "currency": "USD", "close_date": "2026-12-31",
  "loss_reason": null, "won_reason": null, "pipeline_id": "default", "pipeline_stage_id": "qualifiedtobuy",
  "primary_contact_id": "501", "contact_ids": ["501", "502"], "company_id": "901",
  "owner_id": "910901", "priority": "High"}"#;

fn hubspot_page(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    let table = set.table("hubspot", Resource::Opportunities).unwrap();
    let tenant = TenantMappings::build(
        &OPPORTUNITIES,
        [
            ("source", "$.properties.hs_analytics_source"),
            ("region", "$.properties.region"),
        ],
        &PathCache::default(),
    );
    let mut group = c.benchmark_group("hubspot_page_100");
    group.bench_function("serde_json round trip", |b| {
        b.iter(|| {
            let value: Value = serde_json::from_slice(black_box(PAGE)).unwrap();
            serde_json::to_vec(&value).unwrap()
        })
    });
    group.bench_function("sonic-rs round trip", |b| {
        b.iter(|| {
            let value: sonic_rs::Value = sonic_rs::from_slice(black_box(PAGE)).unwrap();
            sonic_rs::to_vec(&value).unwrap()
        })
    });
    group.bench_function("crmgate parse + map + write", |b| {
        b.iter(|| {
            let page: DealPage = serde_json::from_slice(black_box(PAGE)).unwrap();
            let mut out = Vec::with_capacity(64 * 1024);
            write_records(&table, &page.results, &RecordView::default(), &mut out);
            out
        })
    });
    group.bench_function("crmgate parse + map + write, 2 custom mappings", |b| {
        let view = RecordView {
            fields: None,
            tenant: Some(&tenant),
            raw: false,
        };
        b.iter(|| {
            let page: DealPage = serde_json::from_slice(black_box(PAGE)).unwrap();
            let mut out = Vec::with_capacity(64 * 1024);
            write_records(&table, &page.results, &view, &mut out);
            out
        })
    });
    let page: DealPage = serde_json::from_slice(PAGE).unwrap();
    group.bench_function("crmgate map + write only", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64 * 1024);
            write_records(
                &table,
                black_box(&page.results),
                &RecordView::default(),
                &mut out,
            );
            out
        })
    });
    group.finish();
}

fn create_body(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    let table = set.table("hubspot", Resource::Opportunities).unwrap();
    let mut group = c.benchmark_group("create_body");
    group.bench_function("serde_json round trip", |b| {
        b.iter(|| {
            let value: Value = serde_json::from_str(black_box(CREATE_BODY)).unwrap();
            serde_json::to_vec(&value).unwrap()
        })
    });
    group.bench_function("crmgate validate + map + write", |b| {
        b.iter(|| {
            let input =
                OpportunityWrite::from_body(black_box(CREATE_BODY.as_bytes()), true).unwrap();
            let body = table
                .to_vendor(&input.fields, WriteOperation::Create, None)
                .unwrap();
            serde_json::to_vec(&body.body).unwrap()
        })
    });
    group.finish();
}

fn extend_paths(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    let table = set.table("hubspot", Resource::Opportunities).unwrap();
    let input = OpportunityWrite::from_body(CREATE_BODY.as_bytes(), true).unwrap();
    let body = table
        .to_vendor(&input.fields, WriteOperation::Create, None)
        .unwrap()
        .body;
    let items: Vec<PassThrough> = serde_json::from_value(json!([{
        "service_id": "hubspot",
        "extend_paths": [
            { "path": "$.properties.custom_a", "value": "a" },
            { "path": "$.properties.custom_b", "value": 2 },
            { "path": "$.properties.custom_c", "value": true },
            { "path": "$.nested.one.two", "value": { "x": 1 } },
            { "path": "$.nested.list[0].id", "value": "first" },
            { "path": "$.nested.list[1].id", "value": "second" },
            { "path": "$.associations[*].types[0].associationTypeId", "value": 4 },
            { "path": "$.associations[0].to.id", "value": "777" },
            { "path": "$['properties']['dealname']", "value": "Renamed" },
            { "path": "$.meta", "value": { "source": "bench" } }
        ]
    }]))
    .unwrap();
    c.bench_function("extend_paths_10 (compile + apply)", |b| {
        b.iter(|| {
            let mut vendor = body.clone();
            PassThroughPlan::new(black_box(items.clone()), "hubspot", "opportunitiesAdd")
                .unwrap()
                .apply(&mut vendor)
                .unwrap();
            vendor
        })
    });
}

fn cursor(c: &mut Criterion) {
    let codec = CursorCodec::with_key(b"a benchmark key of some length..");
    let state = CursorState {
        service: "hubspot".into(),
        vendor: "MTIzNDU2Nzg5MDEyMzQ1Ng".into(),
        fingerprint: "Zm9vYmFyYmF6cXV4".into(),
    };
    let encoded = codec.encode(&state);
    c.bench_function("cursor encode", |b| {
        b.iter(|| codec.encode(black_box(&state)))
    });
    c.bench_function("cursor decode", |b| {
        b.iter(|| {
            codec
                .decode(black_box(&encoded), "hubspot", "Zm9vYmFyYmF6cXV4")
                .unwrap()
        })
    });
}

criterion_group!(benches, hubspot_page, create_body, extend_paths, cursor);
criterion_main!(benches);
