//! The conformance scenarios every connector passes: the same table of unified scenarios, each
//! replayed against the connector's own recorded vendor exchanges (`<scenario>.json` in its
//! fixtures folder) through a real gateway and a loopback vendor that answers as recorded.
//!
//! Each resource a connector maps has its scenarios in `<fixtures>/<resource>/`; the
//! connection (`<fixtures>/connection.json`) is shared by all.
//!
//! A fixture gives, per step, the unified request, every vendor call it must cause (method,
//! path, exact query, body) with the vendor's recorded answer, and the exact unified answer.
//! The connection's auth headers (`connection.json`) are checked on every vendor call. On top
//! of what a fixture says, each scenario checks what no fixture may weaken: a create carries
//! every field the table writes, a vendor 401 is a unified 401, an id the vendor cannot have
//! issued never reaches it, a list reaches every record once across three vendor pages.
//!
//! The test suite runs this for every built-in connector and shipped plugin, and
//! `crmgate connectors test DIR` for a plugin being written; recording (`--record`) writes
//! what crmgate sent and answered back into the fixtures, for the author to read.

mod checks;
mod diff;
mod oauth;
mod scaffold;
mod vendor;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use crmgate_connector_sdk::manifest::IdFormat;
use crmgate_connector_sdk::{HostPattern, Operation, Resource};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::mapping::MappingTable;
use crate::server::{self, Gateway, ServeOptions};
use crate::unified::ResourceModel;
pub use oauth::run as run_oauth;
pub use scaffold::scaffold;
use vendor::{Answer, Received, Vendor};

/// The scenarios, in the order they are run and reported; `custom_fields` applies only to
/// tables that map them (see [`scenarios`]).
pub const SCENARIOS: &[&str] = &[
    "create",
    "get",
    "update",
    "delete",
    "list_pages",
    "raw",
    "fields",
    "custom_fields",
    "non_numeric_id",
    "vendor_401",
    "vendor_404",
    "vendor_422",
    "vendor_429",
    "vendor_500",
];

/// The scenarios of a resource at a connector: those of the operations its manifest has
/// (a read-only resource has no create, update or delete to replay, Copper's pipelines no read
/// of one), and custom fields only where the table writes them (Pipedrive's activities have
/// none).
pub fn scenarios<'a>(
    model: &'a ResourceModel,
    connector: &'a dyn crmgate_connector_sdk::Connector,
    table: &'a MappingTable,
) -> impl Iterator<Item = &'static str> + 'a {
    let spec = connector
        .manifest()
        .declaration()
        .resources
        .get(model.resource.as_str());
    SCENARIOS.iter().copied().filter(move |s| {
        let has = |op: Operation| spec.is_some_and(|r| r.has(op));
        match *s {
            "custom_fields" => {
                has(Operation::Update)
                    && table
                        .coverage()
                        .any(|(name, c)| name == "custom_fields" && c.write.is_some())
            }
            "create" | "vendor_422" => has(Operation::Create),
            "update" => has(Operation::Update),
            "delete" => has(Operation::Delete),
            "get" | "raw" => has(Operation::Get),
            // Only ids of a shape (digits, a prefix) can be told impossible without a call.
            "non_numeric_id" => {
                has(Operation::Get)
                    && spec
                        .is_some_and(|r| r.id.format != IdFormat::String || r.id.prefix.is_some())
            }
            _ => true,
        }
    })
}

/// Placeholders for what changes from run to run: the `next` cursor of a list answer, the
/// cursor a request was made with (the previous answer's `next`), the gateway's address.
pub const NEXT: &str = "{{next}}";
pub const CURSOR: &str = "{{cursor}}";
pub const GATEWAY: &str = "{{gateway}}";
/// Stands for a timestamp crmgate makes at the time of the call (HubSpot's `hs_timestamp` on
/// a note's create): any RFC 3339 timestamp within ten minutes of the replay matches it.
pub const NOW: &str = "{{now}}";
/// Stands for a connection's authorize link in an error (a refused OAuth grant), whose signed
/// state holds the time it was made: any link to `/vault/authorize/` with a state matches.
pub const AUTHORIZE: &str = "{{authorize_url}}";
/// Stands for the replay vendor's address in a recorded vendor answer (a next link, an API
/// root in a token answer).
pub const VENDOR: &str = "{{vendor}}";

/// The tenant a replay runs as.
const APP_ID: &str = "conformance";
const CONSUMER_ID: &str = "conformance";

/// One scenario's recorded exchanges.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub about: String,
    pub steps: Vec<Step>,
}

/// One unified call, the vendor calls it causes and its answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub request: UnifiedRequest,
    pub vendor: Vec<Exchange>,
    pub status: u16,
    /// Headers the unified answer must carry with exactly these values (`retry-after`, say).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, String>,
    pub response: Value,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UnifiedRequest {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// One vendor call: what crmgate must send, and the recorded answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Request headers the call must carry besides the connection's (an operation's own,
    /// such as Dataverse's `prefer`), exactly; written by the fixture's author, kept by a
    /// recording.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

/// `connection.json`: the settings a test connection is made with, and the headers they must
/// put on every vendor call.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub settings: Map<String, Value>,
    pub headers: BTreeMap<String, String>,
    /// For a connector callable only through OAuth: the token answer's fields the test
    /// connection holds as if authorized (`access_token`, kept fields such as
    /// `instance_url`), saved beside its settings as the callback would.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub oauth: BTreeMap<String, String>,
}

/// The connector a replay runs against.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its service id.
    pub id: String,
    /// The folder of its `connection.json` and of a folder of scenario files per resource.
    pub fixtures: PathBuf,
    /// The plugin folder to load it from; empty for a built-in connector.
    pub plugins: Vec<PathBuf>,
}

impl Target {
    /// A plugin in `folder`, with its fixtures in `folder/fixtures`.
    pub fn plugin(folder: &Path) -> Self {
        Self {
            id: folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            fixtures: folder.join("fixtures"),
            plugins: vec![folder.to_owned()],
        }
    }
}

/// A unified answer of a replayed step.
#[derive(Debug, Clone)]
pub struct Reply {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

/// What a scenario did.
#[derive(Debug)]
pub struct Outcome {
    pub fixture: Fixture,
    /// The unified answers, in step order.
    pub answers: Vec<Reply>,
}

/// Why a scenario failed: the first difference, said where it is.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Replays `scenario` of a resource for `target` on a gateway of its own and checks every step
/// and the scenario's own rules; with `record`, writes what crmgate did into the fixture
/// instead of comparing (the scenario's rules still run on what was recorded).
pub async fn run(
    target: &Target,
    model: &'static ResourceModel,
    scenario: &str,
    record: bool,
) -> Result<Outcome, Failure> {
    let connection: Connection = read_json(&target.fixtures.join("connection.json"))?;
    let file = target
        .fixtures
        .join(model.resource.as_str())
        .join(format!("{scenario}.json"));
    let mut fixture: Fixture = read_json(&file)?;
    let harness = Harness::start(target).await?;
    harness.connect(&target.id, &connection).await?;
    let mut cursor: Option<String> = None;
    let mut answers = Vec::new();
    let mut unanswered = Vec::new();
    for (n, step) in fixture.steps.iter_mut().enumerate() {
        let at = format!("step {}", n + 1);
        harness.vendor.answer_with(harness.answers(&step.vendor));
        let path = match &cursor {
            Some(c) => step.request.path.replace(CURSOR, c),
            None => step.request.path.clone(),
        };
        let (status, headers, body) = harness.send(&target.id, &step.request, &path).await?;
        let calls = harness.vendor.take_received();
        let next = body["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        let subs = harness.substitutions(cursor.as_deref(), next.as_deref());
        if record {
            if calls.len() > step.vendor.len() {
                unanswered.push(format!(
                    "{at}: vendor call {} ({} {}) had no recorded answer; fill in its status and response",
                    step.vendor.len() + 1,
                    calls[step.vendor.len()].method,
                    calls[step.vendor.len()].path
                ));
            }
            step.vendor = record_calls(&calls, &step.vendor);
            step.status = status;
            step.response = rewrite(body.clone(), &subs, false);
        } else {
            check_calls(&at, &calls, &step.vendor, &connection.headers)?;
            if status != step.status {
                return Err(Failure(format!(
                    "{at}: unified status: want {}, got {status}; the answer: {body}",
                    step.status
                )));
            }
            for (name, value) in &step.response_headers {
                let got = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
                if got != Some(value.as_str()) {
                    return Err(Failure(format!(
                        "{at}: answer header {name}: want {value:?}, got {got:?}"
                    )));
                }
            }
            let expected = rewrite(step.response.clone(), &subs, true);
            if let Some(difference) = diff::first(&expected, &body) {
                return Err(Failure(format!("{at}: unified answer {difference}")));
            }
        }
        cursor = next;
        // As recorded: a vendor page under `_raw` then reads as the fixture's answer does.
        answers.push(Reply {
            method: step.request.method.clone(),
            path,
            status,
            body: rewrite(body, &[(VENDOR, harness.vendor.address.as_str())], false),
        });
    }
    if record {
        let text = serde_json::to_string_pretty(&fixture).expect("a fixture serialises");
        std::fs::write(&file, text + "\n").map_err(|e| {
            Failure(format!(
                "{}: cannot write the recording: {e}",
                file.display()
            ))
        })?;
        if !unanswered.is_empty() {
            return Err(Failure(unanswered.join("; ")));
        }
    }
    let outcome = Outcome { fixture, answers };
    let table = harness.table(&target.id, model.resource)?;
    let id = harness
        .gateway
        .connector(&target.id)
        .and_then(|e| {
            e.connector
                .manifest()
                .declaration()
                .resources
                .get(model.resource.as_str())
                .map(|r| r.id.path.clone())
        })
        .ok_or_else(|| Failure(format!("{} has no {}", target.id, model.resource.as_str())))?;
    checks::check(scenario, model, &table, &id, &outcome).map_err(Failure)?;
    Ok(outcome)
}

/// A gateway on loopback with a fresh database, the connector under test loaded, and a
/// replay vendor that only the gateway's outbound allowance for loopback lets it reach.
struct Harness {
    address: String,
    client: reqwest::Client,
    key: String,
    options: ServeOptions,
    gateway: crate::api::AppState,
    vendor: Vendor,
    _stop: oneshot::Sender<()>,
    _dir: TempDir,
}

impl Harness {
    async fn start(target: &Target) -> Result<Self, Failure> {
        let fail = |what: &str, e: &dyn std::fmt::Display| Failure(format!("{what}: {e}"));
        let dir = TempDir::new().map_err(|e| fail("cannot make a folder for the database", &e))?;
        let key = random_hex(16);
        let mut sealing = [0u8; 32];
        getrandom::fill(&mut sealing).map_err(|e| fail("no randomness", &e))?;
        let options = ServeOptions {
            database_url: format!("sqlite://{}", dir.0.join("crmgate.db").display()),
            mappings: None,
            plugins: target.plugins.clone(),
            skip_broken_plugins: false,
            api_key: Some(SecretString::from(key.clone())),
            redis_url: None,
            encryption_key: Some(SecretString::from(
                base64::engine::general_purpose::STANDARD.encode(sealing),
            )),
            request_deadline: Duration::from_secs(30),
            max_request_body_bytes: 1024 * 1024,
            connection_cache_tenants: 16,
            connectors: BTreeMap::new(),
            allowed_hosts: vec![HostPattern::parse("127.0.0.1").map_err(|e| fail("loopback", &e))?],
            public_url: url::Url::parse("http://127.0.0.1/").expect("a URL"),
        };
        let gateway = Gateway::build(options.clone())
            .await
            .map_err(|e| Failure(format!("the gateway does not start: {e:#}")))?;
        let listener = server::bind("127.0.0.1:0".parse().expect("an address"))
            .await
            .map_err(|e| fail("cannot listen", &e))?;
        let address = format!(
            "http://{}",
            listener.local_addr().map_err(|e| fail("no address", &e))?
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let state = gateway.state.clone();
        tokio::spawn(server::serve(
            listener,
            gateway.state,
            async {
                let _ = stopped.await;
            },
            Duration::from_secs(1),
        ));
        let vendor = Vendor::start()
            .await
            .map_err(|e| fail("the replay vendor does not start", &e))?;
        crmgate_connector_sdk::install_crypto_provider();
        Ok(Self {
            address,
            client: reqwest::Client::new(),
            key,
            options,
            gateway: state,
            vendor,
            _stop: stop,
            _dir: dir,
        })
    }

    /// Makes the test connection, pointed at the replay vendor.
    async fn connect(&self, id: &str, connection: &Connection) -> Result<(), Failure> {
        let mut settings = connection.settings.clone();
        settings.insert("base_url".into(), json!(self.vendor.address));
        let body = json!({ "settings": settings });
        let (status, _, answer) = self
            .call(
                id,
                "PATCH",
                &format!("/vault/connections/crm/{id}"),
                Some(&body),
            )
            .await?;
        if status != 200 {
            return Err(Failure(format!(
                "connection.json: the connection is refused ({status}): {answer}"
            )));
        }
        if !connection.oauth.is_empty() {
            self.authorize(id, &connection.oauth).await?;
        }
        Ok(())
    }

    /// Saves token fields on the test connection, as a callback does.
    async fn authorize(&self, id: &str, fields: &BTreeMap<String, String>) -> Result<(), Failure> {
        let fail = |e: &dyn std::fmt::Display| Failure(format!("connection.json: oauth: {e}"));
        let tenant = crate::store::Tenant {
            app_id: APP_ID.to_owned(),
            consumer_id: CONSUMER_ID.to_owned(),
        };
        let state = &self.gateway;
        let record = state
            .store
            .connection(&tenant, id)
            .await
            .map_err(|e| fail(&e))?
            .ok_or_else(|| fail(&"the connection was not saved"))?;
        let mut settings = state
            .open_settings(&tenant, &record)
            .map_err(|e| fail(&e))?;
        for (name, value) in fields {
            settings.insert(
                format!("{}{name}", crmgate_connector_sdk::oauth::KEPT),
                SecretString::from(value.clone()),
            );
        }
        crate::api::oauth::save_settings(
            state.store.as_ref(),
            &state.sealer,
            &tenant,
            record,
            &settings,
        )
        .await
        .map_err(|e| fail(&e))
    }

    /// The recorded answers of `exchanges`, for the replay vendor.
    fn answers(&self, exchanges: &[Exchange]) -> Vec<Answer> {
        exchanges
            .iter()
            .map(|e| answer_of(e, &self.vendor.address))
            .collect()
    }

    /// `(placeholder, value)` pairs of a step: the gateway's and the vendor's addresses and
    /// the cursors.
    fn substitutions<'a>(
        &'a self,
        cursor: Option<&'a str>,
        next: Option<&'a str>,
    ) -> Vec<(&'static str, &'a str)> {
        let mut subs = vec![
            (GATEWAY, self.address.as_str()),
            (VENDOR, self.vendor.address.as_str()),
        ];
        subs.extend(cursor.map(|c| (CURSOR, c)));
        subs.extend(next.map(|n| (NEXT, n)));
        subs
    }

    /// A fixture's unified request, at `path` (its cursor filled in).
    async fn send(
        &self,
        service: &str,
        rq: &UnifiedRequest,
        path: &str,
    ) -> Result<(u16, reqwest::header::HeaderMap, Value), Failure> {
        self.call(service, &rq.method, path, rq.body.as_ref()).await
    }

    async fn call(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, reqwest::header::HeaderMap, Value), Failure> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| Failure(format!("{method:?} is no HTTP method")))?;
        let mut rq = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.key)
            .header("x-apideck-app-id", APP_ID)
            .header("x-apideck-consumer-id", CONSUMER_ID)
            .header("x-apideck-service-id", service);
        if let Some(body) = body {
            rq = rq.json(body);
        }
        let response = rq
            .send()
            .await
            .map_err(|e| Failure(format!("{path}: the gateway did not answer: {e}")))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure(format!("{path}: the answer was cut off: {e}")))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| Failure(format!("{path}: the answer is not JSON: {e}")))?
        };
        Ok((status, headers, body))
    }

    /// The compiled table of a resource of the connector under test, as the gateway runs it.
    fn table(&self, id: &str, resource: Resource) -> Result<Arc<MappingTable>, Failure> {
        self.gateway
            .mappings
            .table(id, resource)
            .ok_or_else(|| Failure(format!("{id} maps no {}", resource.as_str())))
    }
}

/// A folder removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("crmgate-conformance-{}", random_hex(8)));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the system has randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "{}: cannot read the file: {e} (every connector needs every scenario)",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| Failure(format!("{}: {e}", path.display())))
}

/// A recorded answer as the replay vendor gives it; an answer may link back to the vendor
/// (Dataverse's @odata.nextLink), at its address of this run.
fn answer_of(exchange: &Exchange, vendor: &str) -> Answer {
    Answer {
        status: exchange.status,
        headers: exchange.response_headers.clone(),
        body: exchange
            .response
            .clone()
            .map(|b| rewrite(b, &[(VENDOR, vendor)], true)),
    }
}

fn body_of(call: &Received, at: &str) -> Result<Option<Value>, Failure> {
    if call.body.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&call.body)
        .map(Some)
        .map_err(|e| Failure(format!("{at}: the vendor body is not JSON: {e}")))
}

/// Whether `calls` are `expected`, each carrying the connection's `auth` headers.
fn check_calls(
    at: &str,
    calls: &[Received],
    expected: &[Exchange],
    auth: &BTreeMap<String, String>,
) -> Result<(), Failure> {
    if calls.len() != expected.len() {
        let made: Vec<String> = calls
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect();
        return Err(Failure(format!(
            "{at}: the vendor was called {} times, the fixture has {}: {}",
            calls.len(),
            expected.len(),
            if made.is_empty() {
                "no call".to_owned()
            } else {
                made.join(", ")
            }
        )));
    }
    for (k, (call, want)) in calls.iter().zip(expected).enumerate() {
        let at = format!("{at}, vendor call {}", k + 1);
        let differ = |what: &str, want: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
            Err(Failure(format!("{at}: {what}: want {want:?}, got {got:?}")))
        };
        if call.method != want.method {
            return differ("method", &want.method, &call.method);
        }
        if call.path != want.path {
            return differ("path", &want.path, &call.path);
        }
        if call.query != want.query {
            return differ("query", &want.query, &call.query);
        }
        for (name, value) in auth.iter().chain(&want.headers) {
            let got = call
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok());
            if got != Some(value.as_str()) {
                return differ(&format!("header {name}"), value, &got);
            }
        }
        let body = body_of(call, &at)?;
        match (&want.body, &body) {
            (Some(want), Some(got)) => {
                if let Some(difference) = diff::first(want, got) {
                    return Err(Failure(format!("{at}: body {difference}")));
                }
            }
            (None, None) => {}
            (want, got) => return differ("body", want, got),
        }
    }
    Ok(())
}

/// The calls made, each with the recorded answer at its place; a call beyond them is written
/// with an empty 200 for the author to fill in.
fn record_calls(calls: &[Received], recorded: &[Exchange]) -> Vec<Exchange> {
    calls
        .iter()
        .enumerate()
        .map(|(k, call)| {
            let answer = recorded.get(k);
            Exchange {
                method: call.method.clone(),
                path: call.path.clone(),
                query: call.query.clone(),
                headers: answer.map(|a| a.headers.clone()).unwrap_or_default(),
                body: body_of(call, "recording").ok().flatten(),
                status: answer.map_or(200, |a| a.status),
                response_headers: answer
                    .map(|a| a.response_headers.clone())
                    .unwrap_or_default(),
                response: answer.and_then(|a| a.response.clone()),
            }
        })
        .collect()
}

/// Replaces each placeholder by its value (`expand`) or each value by its placeholder.
fn rewrite(value: Value, subs: &[(&str, &str)], expand: bool) -> Value {
    match value {
        Value::String(s) if !expand && s.contains("/vault/authorize/") => {
            Value::String(AUTHORIZE.to_owned())
        }
        Value::String(mut s) => {
            for (placeholder, actual) in subs {
                s = if expand {
                    s.replace(placeholder, actual)
                } else {
                    s.replace(actual, placeholder)
                };
            }
            Value::String(s)
        }
        Value::Array(items) => items
            .into_iter()
            .map(|v| rewrite(v, subs, expand))
            .collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (k, rewrite(v, subs, expand)))
            .collect(),
        other => other,
    }
}

/// What the table reads that none of the plugin's recorded vendor records has: the static part
/// of each read path, followed member by member through every record the fixtures hold (the
/// answers at the manifest's `records` and `record` paths). A path no record has is most
/// likely a misspelt member or one that includes the answer's envelope (`$.data.name` where
/// records are already `$.data`'s items); it may also be a member the recordings leave out,
/// so it is a warning, with where the table names it.
pub fn unrecorded_paths(
    entry: &crate::registry::ConnectorEntry,
    resource: Resource,
    table: &MappingTable,
    fixtures: &Path,
) -> Vec<String> {
    let declaration = entry.connector.manifest().declaration();
    let Some(spec) = declaration.resources.get(resource.as_str()) else {
        return Vec::new();
    };
    let fixtures = fixtures.join(resource.as_str());
    let lists = [&spec.list, &spec.search]
        .into_iter()
        .flatten()
        .map(|l| &l.records);
    let singles = [spec.get.as_ref().map(|g| &g.record)]
        .into_iter()
        .flatten()
        .chain(
            [&spec.create, &spec.update]
                .into_iter()
                .flatten()
                .map(|w| &w.record),
        );
    let answers: Vec<Value> = SCENARIOS
        .iter()
        .filter_map(|s| read_json::<Fixture>(&fixtures.join(format!("{s}.json"))).ok())
        .flat_map(|f| f.steps)
        .flat_map(|s| s.vendor)
        .filter(|e| (200..300).contains(&e.status))
        .filter_map(|e| e.response)
        .collect();
    let mut records: Vec<&Value> = Vec::new();
    for answer in &answers {
        for path in lists.clone() {
            for found in path.find_all(answer) {
                records.extend(found.as_array().into_iter().flatten());
            }
        }
        for path in singles.clone() {
            records.extend(path.find(answer));
        }
    }
    let records: Vec<&Value> = records
        .into_iter()
        .filter(|r| spec.id.path.find(r).is_some())
        .collect();
    if records.is_empty() {
        return Vec::new();
    }
    let source = entry.mappings.iter().find(|m| m.resource == resource);
    let mut warnings = Vec::new();
    for members in table.read_paths().iter().filter(|m| !m.is_empty()) {
        let held = records.iter().any(|record| {
            members
                .iter()
                .try_fold(*record, |at, member| at.get(member))
                .is_some()
        });
        if held {
            continue;
        }
        let path = format!("$.{}", members.join("."));
        let at = source
            .and_then(|s| {
                s.text.lines().enumerate().find_map(|(n, line)| {
                    line.find(&path)
                        .map(|col| format!("{}:{}:{}", s.file, n + 1, col + 1))
                })
            })
            .unwrap_or_else(|| source.map_or_else(String::new, |s| s.file.clone()));
        warnings.push(format!(
            "{at}: warning: reads {path}, which none of the {} vendor records in {} has",
            records.len(),
            fixtures.display()
        ));
    }
    warnings
}
