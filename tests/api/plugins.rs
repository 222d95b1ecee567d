//! Connector plugins: folders of YAML loaded at start-up beside the built-in connectors, what
//! happens when one is broken, and the shipped Close plugin's vendor specifics (paging by
//! offset through 250 records, filters and sorts as query parameters).

use std::path::Path;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::app::{TestApp, call, every_page, plugins_dir, spawn_app, spawn_app_with};

/// Copies the shipped plugin `id` into `dir` as `as_id`, its `meta.id` renamed to match.
fn copy_plugin(id: &str, dir: &Path, as_id: &str) -> std::path::PathBuf {
    let from = plugins_dir().join(id);
    let to = dir.join(as_id);
    std::fs::create_dir_all(to.join("mappings")).unwrap();
    let manifest = std::fs::read_to_string(from.join("connector.yaml")).unwrap();
    std::fs::write(
        to.join("connector.yaml"),
        manifest.replace(&format!("id: {id}\n"), &format!("id: {as_id}\n")),
    )
    .unwrap();
    std::fs::copy(
        from.join("mappings/opportunities.yaml"),
        to.join("mappings/opportunities.yaml"),
    )
    .unwrap();
    to
}

/// The service ids of a `GET /vault/connections` answer, in its order.
fn services(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["service_id"].as_str().unwrap())
        .collect()
}

async fn build_error(plugins: &Path, skip_broken: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("crmgate.db").display());
    let mut options = crate::app::options(&database_url);
    options.plugins = vec![plugins.to_owned()];
    options.skip_broken_plugins = skip_broken;
    match crmgate::server::Gateway::build(options).await {
        Ok(_) => panic!("the gateway starts"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn vault_lists_plugins_like_built_in_connectors() {
    let app = spawn_app().await;
    let (status, body) = call(app.get("/vault/connections")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        services(&body),
        [
            "hubspot",
            "pipedrive",
            "copper",
            "attio",
            "close",
            "freshsales",
            "microsoft-dynamics",
            "salesforce",
            "zoho-crm"
        ]
    );
    let close = &body["data"][4];
    assert_eq!(close["name"], "Close");
    assert_eq!(close["id"], "crm+close");
    assert_eq!(close["state"], "available");
}

#[tokio::test]
async fn a_broken_plugin_stops_start_up_with_file_line_and_column() {
    let plugins = tempfile::tempdir().unwrap();
    let folder = copy_plugin("close", plugins.path(), "acme");
    let table = folder.join("mappings/opportunities.yaml");
    let text = std::fs::read_to_string(&table).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("catalog: status_types"))
        .unwrap()
        + 1;
    std::fs::write(
        &table,
        text.replace("catalog: status_types", "catalog: stages"),
    )
    .unwrap();
    let error = build_error(plugins.path(), false).await;
    assert!(
        error.contains(&format!("{}:{line}:", table.display()))
            && error.contains("unknown catalog \"stages\""),
        "{error}"
    );
}

#[tokio::test]
async fn a_plugin_cannot_replace_a_built_in_connector() {
    let plugins = tempfile::tempdir().unwrap();
    copy_plugin("close", plugins.path(), "pipedrive");
    let error = build_error(plugins.path(), false).await;
    assert!(
        error.contains("may not take the id of the built-in connector \"pipedrive\""),
        "{error}"
    );
    // Not even when broken plugins may be skipped: the built-in one stays, and says so.
    let plugins_dir = plugins.path().to_owned();
    let app = spawn_app_with(|o| {
        o.plugins = vec![plugins_dir];
        o.skip_broken_plugins = true;
    })
    .await;
    let (_, ready) = call(app.client.get(format!("{}/health/ready", app.address))).await;
    assert_eq!(ready["skipped_plugins"][0]["id"], "pipedrive", "{ready}");
    let pipedrive = app
        .state
        .connectors
        .iter()
        .find(|e| e.connector.id() == "pipedrive")
        .unwrap();
    assert!(pipedrive.plugin.is_none(), "the built-in connector");
}

#[tokio::test]
async fn a_skipped_plugin_is_left_out_and_reported_by_readiness() {
    let plugins = tempfile::tempdir().unwrap();
    copy_plugin("close", plugins.path(), "good");
    let broken = copy_plugin("close", plugins.path(), "broken");
    std::fs::write(broken.join("connector.yaml"), "meta: { id: broken }\n").unwrap();
    let plugins_dir = plugins.path().to_owned();
    let app = spawn_app_with(|o| {
        o.plugins = vec![plugins_dir];
        o.skip_broken_plugins = true;
    })
    .await;

    let (status, ready) = call(app.client.get(format!("{}/health/ready", app.address))).await;
    assert_eq!(status, 200, "running without it was asked for: {ready}");
    assert_eq!(ready["checks"]["plugins"], "degraded");
    let skipped = ready["skipped_plugins"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{ready}");
    assert_eq!(skipped[0]["id"], "broken");
    assert!(skipped[0]["errors"].as_u64().unwrap() >= 1, "{ready}");
    assert!(
        !ready
            .to_string()
            .contains(&plugins.path().display().to_string()),
        "an answer without a key names no file of the gateway's disk: {ready}"
    );

    let (_, list) = call(app.get("/vault/connections")).await;
    assert_eq!(services(&list), ["hubspot", "pipedrive", "copper", "good"]);
    let (status, body) = call(
        app.get("/crm/opportunities")
            .header("x-apideck-service-id", "broken"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["type_name"], "ConnectionNotFoundError", "{body}");
}

#[test]
fn serve_refuses_a_broken_plugin_folder_before_anything_else() {
    let plugins = tempfile::tempdir().unwrap();
    let folder = copy_plugin("close", plugins.path(), "acme");
    std::fs::remove_file(folder.join("mappings/opportunities.yaml")).unwrap();
    std::fs::write(folder.join("mappings/deals.yaml"), "fields: {}\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .arg("serve")
        .arg("--connectors")
        .arg(plugins.path())
        .arg("--database-url")
        .arg(format!("sqlite://{}", data.path().join("x.db").display()))
        .env("CRMGATE_API_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{}:0:0: a plugin's mapping tables are named after their resource: opportunities.yaml",
            folder.join("mappings/deals.yaml").display()
        )),
        "{stderr}"
    );
    assert!(
        !data.path().join("x.db").exists(),
        "nothing was started or created"
    );
}

const CLOSE_KEY: &str = "api_close_key";

/// `Basic base64("api_close_key:")`: the key as the user name, no password.
const CLOSE_AUTH: &str = "Basic YXBpX2Nsb3NlX2tleTo=";

fn opportunity(n: usize) -> Value {
    json!({
        "id": format!("oppo_{n:04}"), "lead_id": "lead_1", "lead_name": "Acme",
        "status_id": "stat_a", "status_type": "active", "value": 150050,
        "value_currency": "EUR", "confidence": 40, "user_id": "user_1",
        "date_created": "2026-01-02T03:04:05+00:00", "date_updated": "2026-01-02T03:04:05+00:00",
    })
}

/// Close's list over `total` opportunities, answering any `_skip`/`_limit` window.
struct Offsets {
    total: usize,
}

impl Respond for Offsets {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let param = |name: &str, default: usize| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map_or(default, |(_, v)| v.parse().unwrap())
        };
        let (skip, limit) = (param("_skip", 0), param("_limit", 100));
        assert!(limit <= 100, "Close serves at most 100 a page");
        let end = (skip + limit).min(self.total);
        let data: Vec<Value> = (skip.min(end)..end).map(|n| opportunity(n + 1)).collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({ "data": data, "has_more": end < self.total }))
    }
}

async fn connect_close(app: &TestApp, server: &MockServer) {
    let body = json!({ "settings": { "api_key": CLOSE_KEY, "base_url": server.uri() } });
    let (status, answer) = call(app.patch("/vault/connections/crm/close", &body)).await;
    assert_eq!(status, 200, "{answer}");
}

fn close(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "close")
}

#[tokio::test]
async fn close_reads_250_opportunities_once_through_offsets() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect_close(&app, &server).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/opportunity/"))
        .and(header("authorization", CLOSE_AUTH))
        .and(query_param("_order_by", "date_created"))
        .respond_with(Offsets { total: 250 })
        .mount(&server)
        .await;
    let mut seen = Vec::new();
    for page in every_page(&app, "close", "opportunities", 100).await {
        for record in page["data"].as_array().unwrap() {
            seen.push(record["id"].as_str().unwrap().to_owned());
            assert_eq!(record["monetary_amount"], json!(1500.5));
        }
    }
    let want: Vec<String> = (1..=250).map(|n| format!("oppo_{n:04}")).collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn close_filters_and_sorts_become_query_parameters() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect_close(&app, &server).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/opportunity/"))
        .and(query_param("status_type", "won"))
        .and(query_param("lead_id", "lead_1"))
        .and(query_param("_order_by", "-value"))
        .respond_with(Offsets { total: 1 })
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(close(app.get(
        "/crm/opportunities?filter[status]=Won&filter[company_id]=lead_1&sort[by]=monetary_amount&sort[direction]=desc",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "oppo_0001");
    let (status, body) = call(close(
        app.get("/crm/opportunities?filter[status]=Abandoned"),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
}

/// What the loader accepts of the shipped plugins, the schemas editors check against accept.
#[test]
fn the_shipped_plugins_pass_the_schemas() {
    let manifests = jsonschema::validator_for(&crmgate_connector_sdk::manifest_schema()).unwrap();
    let tables = jsonschema::validator_for(&crmgate::mapping::mapping_file_schema(
        &crmgate::unified::OPPORTUNITIES,
    ))
    .unwrap();
    let mut checked = 0;
    for folder in std::fs::read_dir(plugins_dir()).unwrap() {
        let folder = folder.unwrap().path();
        for (validator, file) in [
            (&manifests, folder.join("connector.yaml")),
            (&tables, folder.join("mappings/opportunities.yaml")),
        ] {
            let doc: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let problems: Vec<String> = validator
                .iter_errors(&doc)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            assert!(problems.is_empty(), "{}: {problems:#?}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 2);
}

/// Freshsales' host is the account's: the `bundle` setting names one label under
/// myfreshworks.com, and a value that would point anywhere else is refused when saved.
#[tokio::test]
async fn freshsales_templates_its_host_from_a_checked_bundle() {
    let plugin = crmgate::registry::load_plugin(&plugins_dir().join("freshsales")).unwrap();
    let connector = plugin.connector.as_ref();
    let settings = crmgate_connector_sdk::ConnectionSettings::new(
        connector.settings(),
        [("bundle".to_owned(), secrecy::SecretString::from("acme"))],
    );
    let url = connector.default_base_url(&settings).unwrap();
    assert_eq!(url.as_str(), "https://acme.myfreshworks.com/");
    let policy =
        crmgate_connector_sdk::OutboundPolicy::new(connector.vendor_hosts(), Vec::new().into());
    assert!(policy.check(&url).is_ok());

    let app = spawn_app().await;
    for bundle in ["evil.example.com/x", "acme.evil.com#", "a b", "-acme"] {
        let body =
            json!({ "settings": { "bundle": bundle, "api_key": "k", "deals_view_id": "1" } });
        let (status, answer) = call(app.patch("/vault/connections/crm/freshsales", &body)).await;
        assert_eq!(status, 400, "{bundle}: {answer}");
        assert!(answer.to_string().contains("bundle"), "{bundle}: {answer}");
    }
    let body = json!({ "settings": { "bundle": "acme", "api_key": "k", "deals_view_id": "1" } });
    let (status, answer) = call(app.patch("/vault/connections/crm/freshsales", &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["state"], "callable", "{answer}");
}

/// Freshsales' numbered pages of a view, answering any `page`/`per_page`.
struct Pages {
    total: usize,
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let param = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.parse::<usize>().unwrap())
                .unwrap()
        };
        let (page, per_page) = (param("page"), param("per_page"));
        assert!(per_page <= 100 && page >= 1);
        let start = ((page - 1) * per_page).min(self.total);
        let end = (start + per_page).min(self.total);
        let deals: Vec<Value> = (start..end)
            .map(|n| json!({ "id": n + 1, "name": format!("Deal {}", n + 1), "amount": "10.50" }))
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({ "deals": deals, "meta": { "total": self.total } }))
    }
}

#[tokio::test]
async fn freshsales_reads_250_deals_of_its_view_once() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    let body = json!({ "settings": {
        "bundle": "acme", "api_key": "fs-key", "deals_view_id": "77", "base_url": server.uri(),
    } });
    let (status, answer) = call(app.patch("/vault/connections/crm/freshsales", &body)).await;
    assert_eq!(status, 200, "{answer}");
    Mock::given(method("GET"))
        .and(path("/crm/sales/api/deals/view/77"))
        .and(header("authorization", "Token token=fs-key"))
        .and(query_param("sort", "created_at"))
        .and(query_param("sort_type", "asc"))
        .respond_with(Pages { total: 250 })
        .mount(&server)
        .await;
    let pages = every_page(&app, "freshsales", "opportunities", 100).await;
    let seen: Vec<u64> = pages.iter().flat_map(crate::app::page_ids).collect();
    assert_eq!(seen, (1..=250).collect::<Vec<_>>());
    assert_eq!(
        pages[0]["data"][0]["monetary_amount"],
        crate::app::exact("10.50")
    );
    let (status, refused) = call(
        app.get("/crm/opportunities?filter[owner_id]=5")
            .header("x-apideck-service-id", "freshsales"),
    )
    .await;
    assert_eq!(status, 400, "a view takes no filters: {refused}");
}

fn crmgate_command(args: &[&str], cwd: &Path) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A plugin author's whole path, from a folder holding nothing but the plugin: scaffold, fill
/// in, check, record, test, break and see the difference named, and start a gateway with it.
#[tokio::test]
async fn a_plugin_is_written_checked_tested_and_served_from_its_folder_alone() {
    let work = tempfile::tempdir().unwrap();
    let (code, out, err) = crmgate_command(&["connectors", "new", "acme"], work.path());
    assert_eq!(code, Some(0), "{out}{err}");
    let folder = work.path().join("acme");
    for file in [
        "connector.yaml",
        "mappings/opportunities.yaml",
        "fixtures/connection.json",
    ] {
        assert!(folder.join(file).is_file(), "{file}");
    }
    for scenario in crmgate::conformance::SCENARIOS {
        assert!(
            folder
                .join(format!("fixtures/opportunities/{scenario}.json"))
                .is_file(),
            "{scenario}"
        );
    }
    for (id, why) in [
        ("acme", "exists already"),
        ("pipedrive", "is a built-in connector"),
        ("Acme", "cannot be a connector id"),
    ] {
        let (code, _, err) = crmgate_command(&["connectors", "new", id], work.path());
        assert_eq!(code, Some(1), "{id}");
        assert!(err.contains(why), "{id}: {err}");
    }

    // Filled in: the vendor's own host, and its description field.
    let manifest = folder.join("connector.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("api.example.com", "api.acme.test")).unwrap();
    let table = folder.join("mappings/opportunities.yaml");
    let text = std::fs::read_to_string(&table).unwrap();
    std::fs::write(
        &table,
        text.replace(
            "  currency:\n",
            "  description:\n    read: { from: $.notes }\n  currency:\n",
        ),
    )
    .unwrap();
    // The table now reads notes, which no recorded vendor record has yet: a warning says so.
    let (code, out, err) = crmgate_command(&["connectors", "check", "acme"], work.path());
    assert_eq!((code, out.as_str()), (Some(0), "Valid: acme.\n"), "{err}");
    assert!(
        err.contains("warning: reads $.notes, which none of the"),
        "{err}"
    );
    // The vendor's answer, recorded as an author would from its documentation.
    let get = folder.join("fixtures/opportunities/get.json");
    let mut fixture: Value = serde_json::from_str(&std::fs::read_to_string(&get).unwrap()).unwrap();
    fixture["steps"][0]["vendor"][0]["response"]["data"]["notes"] = json!("Call back in May");
    std::fs::write(&get, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();
    let (code, out, err) = crmgate_command(&["connectors", "check", "acme"], work.path());
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (Some(0), "Valid: acme.\n", "")
    );
    // A path no recorded vendor record has is pointed out where the table names it.
    let filled = std::fs::read_to_string(&table).unwrap();
    let line = filled.lines().position(|l| l.contains("$.amount")).unwrap() + 1;
    std::fs::write(&table, filled.replacen("$.amount", "$.amonut", 1)).unwrap();
    let (code, _, err) = crmgate_command(&["connectors", "check", "acme"], work.path());
    assert_eq!(code, Some(0), "a warning: {err}");
    assert!(
        err.starts_with(&format!(
            "acme/mappings/opportunities.yaml:{line}:19: warning: reads $.amonut, which none of the"
        )) || err.contains(&format!(
            "opportunities.yaml:{line}:19: warning: reads $.amonut, which none of the"
        )),
        "{err}"
    );
    std::fs::write(&table, filled).unwrap();

    let (code, out, err) =
        crmgate_command(&["connectors", "test", "acme", "--record"], work.path());
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        out.lines().count(),
        crmgate::conformance::SCENARIOS.len(),
        "{out}"
    );
    let (code, out, err) = crmgate_command(&["connectors", "test", "acme"], work.path());
    assert_eq!(code, Some(0), "{out}{err}");
    let want: Vec<String> = crmgate::conformance::SCENARIOS
        .iter()
        .map(|s| format!("pass  opportunities/{s}"))
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);

    // A vendor that answers otherwise than recorded fails, naming the step and the field.
    let text = std::fs::read_to_string(&get).unwrap();
    std::fs::write(&get, text.replacen("\"Deal 42\"", "\"Deal 43\"", 1)).unwrap();
    let (code, out, _) = crmgate_command(&["connectors", "test", "acme"], work.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "FAIL  opportunities/get: step 1: unified answer at $.data.title: want \"Deal 42\", got \"Deal 43\""
        ),
        "{out}"
    );
    assert!(out.ends_with("1 of 14 scenarios failed.\n"), "{out}");

    let plugins = work.path().to_owned();
    let app = spawn_app_with(|o| o.plugins = vec![plugins]).await;
    let (_, list) = call(app.get("/vault/connections")).await;
    assert!(services(&list).contains(&"acme"), "{list}");
    let acme = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service_id"] == "acme")
        .unwrap();
    assert_eq!(acme["name"], "Acme");
}
