//! One conformance suite for every registered connector: `crmgate::conformance` replays each
//! scenario against the connector's own recorded vendor exchanges — `tests/fixtures/<id>/` for
//! a built-in connector, `fixtures/` in the folder of each plugin shipped in `connectors.d/` —
//! and checks every vendor call, the exact answers and the scenario's own rules. On top, every
//! answer is validated against Apideck's `crm.yml`, which the command plugin authors run
//! (`crmgate connectors test`) cannot do without the contract at hand.
//!
//! Adding a connector is its registry line (or its plugin folder) plus its fixtures; a
//! registered connector without a fixture fails here. `CRMGATE_RECORD_FIXTURES=1` rewrites the
//! expected side of each fixture from what crmgate did, for writing a new connector's
//! fixtures: read every change it makes. `CRMGATE_CONFORMANCE_ONLY=<connector>` runs the suite
//! against one connector.

use std::path::PathBuf;

use crmgate::conformance::{self, Target};
use crmgate::registry;

fn recording() -> bool {
    std::env::var_os("CRMGATE_RECORD_FIXTURES").is_some_and(|v| v == "1")
}

/// Every built-in connector and every shipped plugin.
fn targets() -> Vec<Target> {
    let built_in = registry::built_in_ids().into_iter().map(|id| Target {
        id: id.to_owned(),
        fixtures: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(id),
        plugins: Vec::new(),
    });
    let mut plugins: Vec<PathBuf> = std::fs::read_dir(crate::app::plugins_dir())
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    plugins.sort();
    built_in
        .chain(plugins.iter().map(|p| Target::plugin(p)))
        .collect()
}

/// Runs a scenario against every connector (or the one `CRMGATE_CONFORMANCE_ONLY` names), for
/// every resource it maps that the scenario applies to.
async fn for_every_connector(scenario: &str) {
    let only = std::env::var("CRMGATE_CONFORMANCE_ONLY").ok();
    let targets: Vec<Target> = targets()
        .into_iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == t.id))
        .collect();
    assert!(!targets.is_empty(), "no connector to run against");
    let sources = registry::Sources {
        plugins: vec![crate::app::plugins_dir()],
        ..Default::default()
    };
    let entries = registry::load(&sources).unwrap().entries;
    let set = crmgate::mapping::MappingSet::load(None, &entries).unwrap();
    for target in &targets {
        let entry = entries
            .iter()
            .find(|e| e.connector.id() == target.id)
            .unwrap();
        for source in entry.mappings.iter() {
            let model = crmgate::unified::model(source.resource).unwrap();
            let table = set.table(target.id.as_str(), source.resource).unwrap();
            if !conformance::scenarios(model, entry.connector.as_ref(), &table)
                .any(|s| s == scenario)
            {
                continue;
            }
            let outcome = conformance::run(target, model, scenario, recording())
                .await
                .unwrap_or_else(|failure| {
                    panic!(
                        "{}/{}/{scenario}: {failure}",
                        target.id,
                        model.resource.as_str()
                    )
                });
            for reply in &outcome.answers {
                let method = reqwest::Method::from_bytes(reply.method.as_bytes()).unwrap();
                let path = reply.path.split('?').next().unwrap();
                crate::schema::check(&method, path, reply.status, &reply.body);
            }
        }
    }
}

#[test]
fn the_suite_runs_every_scenario() {
    let here = include_str!("conformance.rs");
    for scenario in conformance::SCENARIOS {
        assert!(
            here.contains(&format!("for_every_connector(\"{scenario}\")")),
            "{scenario} has no test here"
        );
    }
}

#[tokio::test]
async fn create_with_every_writable_field() {
    for_every_connector("create").await;
}

#[tokio::test]
async fn get_one() {
    for_every_connector("get").await;
}

#[tokio::test]
async fn update_one_field() {
    for_every_connector("update").await;
}

#[tokio::test]
async fn delete_one() {
    for_every_connector("delete").await;
}

#[tokio::test]
async fn list_across_three_vendor_pages() {
    for_every_connector("list_pages").await;
}

#[tokio::test]
async fn raw_carries_the_vendor_answer_on_the_envelope() {
    for_every_connector("raw").await;
}

#[tokio::test]
async fn fields_limits_the_answer() {
    for_every_connector("fields").await;
}

#[tokio::test]
async fn custom_fields_round_trip() {
    for_every_connector("custom_fields").await;
}

#[tokio::test]
async fn a_non_numeric_id_never_reaches_the_vendor() {
    for_every_connector("non_numeric_id").await;
}

#[tokio::test]
async fn a_vendor_401_is_an_unauthorized_error() {
    for_every_connector("vendor_401").await;
}

#[tokio::test]
async fn a_vendor_404_is_an_entity_not_found_error() {
    for_every_connector("vendor_404").await;
}

#[tokio::test]
async fn a_vendor_422_is_proxied_with_the_vendors_messages() {
    for_every_connector("vendor_422").await;
}

#[tokio::test]
async fn a_vendor_429_is_a_rate_limit_error() {
    for_every_connector("vendor_429").await;
}

#[tokio::test]
async fn a_vendor_500_is_a_connector_execution_error() {
    for_every_connector("vendor_500").await;
}

/// Every connector with an OAuth flow (its manifest's `oauth2:` section) passes the OAuth
/// scenario of its `oauth.json`: authorize, exchange, and a refresh on the vendor's 401.
#[tokio::test]
async fn oauth_connects_and_refreshes_on_a_401() {
    let only = std::env::var("CRMGATE_CONFORMANCE_ONLY").ok();
    let sources = registry::Sources {
        plugins: vec![crate::app::plugins_dir()],
        ..Default::default()
    };
    let entries = registry::load(&sources).unwrap().entries;
    let mut ran = Vec::new();
    for target in targets()
        .into_iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == t.id))
    {
        let entry = entries
            .iter()
            .find(|e| e.connector.id() == target.id)
            .unwrap();
        if entry.connector.manifest().oauth2().is_none() {
            continue;
        }
        conformance::run_oauth(&target)
            .await
            .unwrap_or_else(|failure| panic!("{}/oauth: {failure}", target.id));
        ran.push(target.id);
    }
    if only.is_none() {
        assert!(
            ran.contains(&"hubspot".to_owned()) && ran.contains(&"pipedrive".to_owned()),
            "{ran:?}"
        );
    }
}
