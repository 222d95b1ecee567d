//! What translation costs, beside what parsing and writing the same JSON costs.
//!
//! `cargo bench --bench mapping`. The pages are recorded-shape 100-record lists of each
//! connector (bench/fixtures/, made by make_pages.py beside them); the create bodies are the
//! conformance suite's (tests/fixtures/<connector>/opportunities/create.json).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use crmgate::api::{CursorCodec, CursorState};
use crmgate::mapping::{
    Lookups, MappingSet, PassThroughPlan, PathCache, RecordView, TenantMappings, WriteOperation,
};
use crmgate::unified::{OPPORTUNITIES, PassThrough, UnifiedWrite};
use crmgate_connector_sdk::manifest::RecordPath;
use crmgate_connector_sdk::{FieldNames, Record, Resource, driver};
use serde_json::{Value, json};

/// The allocator the gateway runs with (src/main.rs), so that allocations cost here what they
/// cost in the product.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A connector's recorded 100-record page, how the driver reads it, and the catalogs it would
/// have cached for the connection.
struct Connector {
    id: &'static str,
    page: &'static [u8],
    /// Where the page's records are, as its manifest says.
    records: &'static str,
    catalogs: Catalogs,
    /// The conformance suite's create request, which carries every field the table writes,
    /// and the catalog entries that name its custom fields and tags.
    create: &'static str,
    create_catalogs: Catalogs,
}

/// Catalogs by name, each as (key, label) entries.
type Catalogs = &'static [(&'static str, &'static [(&'static str, &'static str)])];

const CONNECTORS: &[Connector] = &[
    Connector {
        id: "hubspot",
        page: include_bytes!("../bench/fixtures/hubspot_deals_page.json"),
        records: "$.results",
        catalogs: &[("custom_fields", &[]), ("tags", &[])],
        create: include_str!("../tests/fixtures/hubspot/opportunities/create.json"),
        create_catalogs: &[
            ("custom_fields", &[("region", "Region")]),
            ("tags", &[("101", "Strategic")]),
        ],
    },
    Connector {
        id: "pipedrive",
        page: include_bytes!("../bench/fixtures/pipedrive_deals_page.json"),
        records: "$.data",
        catalogs: &[
            (
                "custom_fields",
                &[
                    ("8f4b27fa0a5d4e0b9c1f0e2d3c4b5a6978695a4b", "Region"),
                    ("1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", "Seats"),
                    ("d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5", "Support plan"),
                ],
            ),
            (
                "labels",
                &[
                    ("1", "Hot"),
                    ("2", "Warm"),
                    ("3", "Cold"),
                    ("4", "Renewal"),
                    ("5", "Partner"),
                ],
            ),
        ],
        create: include_str!("../tests/fixtures/pipedrive/opportunities/create.json"),
        create_catalogs: &[
            (
                "custom_fields",
                &[("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0", "Region")],
            ),
            ("labels", &[("5", "Hot"), ("7", "Cold")]),
        ],
    },
    Connector {
        id: "copper",
        page: include_bytes!("../bench/fixtures/copper_opportunities.json"),
        records: "$",
        catalogs: &[
            ("custom_fields", &[("11", "Region"), ("12", "Seats")]),
            ("loss_reasons", &[]),
            ("customer_sources", &[]),
        ],
        create: include_str!("../tests/fixtures/copper/opportunities/create.json"),
        create_catalogs: &[
            ("custom_fields", &[("11", "Region")]),
            ("loss_reasons", &[("4", "Price")]),
            ("customer_sources", &[("6", "Referral")]),
        ],
    },
];

/// One run of a benchmark's routine, kept out of line so that `bench/instructions.sh` can
/// count what a run costs in instructions under callgrind (the symbol's inclusive cost over
/// its calls): on a shared, noisy machine timings move by a third between runs, instruction
/// counts do not.
#[inline(never)]
fn run<T>(routine: &mut impl FnMut() -> T) -> T {
    routine()
}

fn measured<T>(mut routine: impl FnMut() -> T) -> impl FnMut() -> T {
    move || run(&mut routine)
}

fn lookups(catalogs: Catalogs) -> Lookups {
    let mut lookups = Lookups::default();
    for (catalog, entries) in catalogs {
        let names: FieldNames = entries
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect();
        lookups.insert(catalog, Arc::new(names));
    }
    lookups
}

impl Connector {
    /// The records of a page as the driver reads them: the text checked once, then each
    /// record a span of it.
    fn records(&self, page: &'static [u8]) -> Vec<Record> {
        let body = bytes::Bytes::from_static(page);
        let text = std::str::from_utf8(&body).unwrap();
        let path = RecordPath::parse(self.records).unwrap();
        driver::read_list(text, &path, None, 200)
            .unwrap()
            .records
            .unwrap()
            .into_iter()
            .filter_map(|r| Record::within(&body, r))
            .collect()
    }

    fn create_body(&self) -> String {
        let fixture: Value = serde_json::from_str(self.create).unwrap();
        fixture["steps"][0]["request"]["body"].to_string()
    }
}

/// What a list request costs in translation: parse the vendor page, collect the keys to name
/// (the catalogs themselves are cached), map and write the unified records; beside a plain
/// parse and write of the same bytes.
fn pages(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    for connector in CONNECTORS {
        let table = set.table(connector.id, Resource::Opportunities).unwrap();
        let lookups = lookups(connector.catalogs);
        let mut group = c.benchmark_group(format!("page_100/{}", connector.id));
        group.bench_function("serde_json round trip", |b| {
            b.iter(measured(|| {
                let value: Value = serde_json::from_slice(black_box(connector.page)).unwrap();
                serde_json::to_vec(&value).unwrap()
            }))
        });
        group.bench_function("crmgate parse + map + write", |b| {
            b.iter(measured(|| {
                let records = connector.records(black_box(connector.page));
                let read = table.read_page(&records, RecordView::default());
                black_box(read.lookup_keys());
                let mut out = Vec::with_capacity(64 * 1024);
                read.write(&lookups, &mut out);
                out
            }))
        });
        group.finish();
    }
}

/// The HubSpot page in more detail: a faster parser's round trip for scale, tenant custom
/// mappings, and the mapping alone.
fn hubspot_page(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    let table = set.table("hubspot", Resource::Opportunities).unwrap();
    let page = CONNECTORS[0].page;
    let tenant = TenantMappings::build(
        &OPPORTUNITIES,
        [
            ("source", "$.properties.hs_analytics_source"),
            ("region", "$.properties.region"),
        ],
        &PathCache::default(),
    );
    let mut group = c.benchmark_group("page_100/hubspot");
    group.bench_function("sonic-rs round trip", |b| {
        b.iter(measured(|| {
            let value: sonic_rs::Value = sonic_rs::from_slice(black_box(page)).unwrap();
            sonic_rs::to_vec(&value).unwrap()
        }))
    });
    group.bench_function("crmgate parse + map + write, 2 custom mappings", |b| {
        let view = RecordView {
            fields: None,
            tenant: Some(&tenant),
        };
        b.iter(measured(|| {
            let records = CONNECTORS[0].records(black_box(page));
            let mut out = Vec::with_capacity(64 * 1024);
            table
                .read_page(&records, view)
                .write(&Lookups::default(), &mut out);
            out
        }))
    });
    let records = CONNECTORS[0].records(page);
    group.bench_function("crmgate map + write only", |b| {
        b.iter(measured(|| {
            let mut out = Vec::with_capacity(64 * 1024);
            table
                .read_page(black_box(&records), RecordView::default())
                .write(&Lookups::default(), &mut out);
            out
        }))
    });
    let trees: Vec<Record> = records
        .iter()
        .map(|r| Record::from_value(r.to_value().unwrap()))
        .collect();
    group.bench_function("crmgate map + write only, records as trees", |b| {
        b.iter(measured(|| {
            let mut out = Vec::with_capacity(64 * 1024);
            table
                .read_page(black_box(&trees), RecordView::default())
                .write(&Lookups::default(), &mut out);
            out
        }))
    });
    group.finish();
}

/// A create: validate the unified body, map it, write the vendor body; beside a plain parse
/// and write of the same body.
fn create_body(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    for connector in CONNECTORS {
        let table = set.table(connector.id, Resource::Opportunities).unwrap();
        let body = connector.create_body();
        let lookups = lookups(connector.create_catalogs);
        let mut group = c.benchmark_group(format!("create_body/{}", connector.id));
        group.bench_function("serde_json round trip", |b| {
            b.iter(measured(|| {
                let value: Value = serde_json::from_str(black_box(&body)).unwrap();
                serde_json::to_vec(&value).unwrap()
            }))
        });
        group.bench_function("crmgate validate + map + write", |b| {
            b.iter(measured(|| {
                let input =
                    UnifiedWrite::from_body(&OPPORTUNITIES, black_box(body.as_bytes()), true)
                        .unwrap();
                let vendor = table
                    .to_vendor(&input.fields, WriteOperation::Create, None, &lookups)
                    .unwrap();
                serde_json::to_vec(&vendor.body).unwrap()
            }))
        });
        group.finish();
    }
}

fn extend_paths(c: &mut Criterion) {
    let set = MappingSet::load(None, &crmgate::registry::connectors()).unwrap();
    let table = set.table("hubspot", Resource::Opportunities).unwrap();
    let create = CONNECTORS[0].create_body();
    let input = UnifiedWrite::from_body(&OPPORTUNITIES, create.as_bytes(), true).unwrap();
    let lookups = lookups(CONNECTORS[0].create_catalogs);
    let body = table
        .to_vendor(&input.fields, WriteOperation::Create, None, &lookups)
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
        b.iter(measured(|| {
            let mut vendor = body.clone();
            PassThroughPlan::new(black_box(items.clone()), "hubspot", "opportunitiesAdd")
                .unwrap()
                .apply(&mut vendor)
                .unwrap();
            vendor
        }))
    });
}

fn cursor(c: &mut Criterion) {
    let codec = CursorCodec::with_key(b"a benchmark key of some length..");
    let state = CursorState {
        service: "hubspot".into(),
        vendor: Some("MTIzNDU2Nzg5MDEyMzQ1Ng".into()),
        skip: 0,
        seen: Vec::new(),
        fingerprint: "Zm9vYmFyYmF6cXV4".into(),
    };
    let encoded = codec.encode(&state);
    c.bench_function("cursor encode", |b| {
        b.iter(measured(|| codec.encode(black_box(&state))))
    });
    c.bench_function("cursor decode", |b| {
        b.iter(measured(|| {
            codec
                .decode(black_box(&encoded), "hubspot", "Zm9vYmFyYmF6cXV4")
                .unwrap()
        }))
    });
}

criterion_group!(
    benches,
    pages,
    hubspot_page,
    create_body,
    extend_paths,
    cursor
);
criterion_main!(benches);
