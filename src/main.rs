//! The `crmgate` command: `serve` runs the gateway; `mappings`, `connectors`, `apps`, `keys`
//! and `config` are the operator's tools.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use crmgate::api::auth::{self, KeySource};
use crmgate::config::{LogFormat, Settings};
use crmgate::mapping::MappingSet;
use crmgate::server::{self, Gateway, ServeOptions};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Translating a page allocates and frees thousands of small strings and maps; jemalloc does
/// that 17 % faster under load than glibc's allocator while staying inside the memory targets
/// (docs/benchmarks.md has the before and after).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The folder of mapping tables read when none is configured and it exists.
const DEFAULT_MAPPINGS: &str = "mappings";

/// The folder `crmgate connectors check` reads the built-in manifests from, when it exists and
/// nothing else is named (a checkout of this repository).
const DEFAULT_BUILT_IN: &str = "connectors";

/// The folder of connector plugins loaded when none is configured and it exists.
const DEFAULT_PLUGINS: &str = "connectors.d";

#[derive(Parser)]
#[command(
    name = "crmgate",
    version,
    about = "Self-hosted unified CRM API gateway (Apideck Unified CRM API compatible)"
)]
struct Cli {
    /// Configuration file (TOML); see crmgate.example.toml.
    #[arg(long, global = true, env = "CRMGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (`sqlite://PATH` or `postgres://...`); overrides the configuration.
    #[arg(long, global = true, env = server::DATABASE_URL_ENV)]
    database_url: Option<String>,
    /// Log lines as `human` text or `json`; overrides the configuration.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Folder of mapping tables (default: ./mappings if it exists, else the built-in tables).
        #[arg(long)]
        mappings: Option<PathBuf>,
        /// Folder of connector plugins, `<id>/connector.yaml` each (default: ./connectors.d if
        /// it exists).
        #[arg(long)]
        connectors: Option<PathBuf>,
        /// Start without a plugin that does not load (logged, and listed by /health/ready)
        /// instead of refusing to start.
        #[arg(long)]
        skip_broken_connectors: bool,
    },
    /// Work with mapping tables.
    Mappings {
        #[command(subcommand)]
        command: MappingsCommand,
    },
    /// Work with connector manifests (`connectors/<id>/connector.yaml`).
    Connectors {
        #[command(subcommand)]
        command: ConnectorsCommand,
    },
    /// Manage applications and their API keys.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Work with the keys that seal stored credentials.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Show the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum MappingsCommand {
    /// Load and validate every mapping table; print each error with file, line and column.
    Check {
        /// Folder of mapping tables.
        #[arg(long, default_value = DEFAULT_MAPPINGS)]
        mappings: PathBuf,
    },
    /// Print the JSON Schema of one resource's mapping files (what
    /// `mappings/<resource>.schema.json` holds).
    Schema {
        /// The unified resource (`opportunities`, `notes`).
        #[arg(default_value = "opportunities")]
        resource: String,
    },
    /// Print the coverage matrix of each resource (fields, filters, sorts) over the built-in
    /// connectors and the plugins in ./connectors.d (what docs/connectors.md holds).
    Coverage,
}

#[derive(Subcommand)]
enum ConnectorsCommand {
    /// Load and check connector plugins (manifest and mapping tables together) and the
    /// built-in manifests; print each error with file, line and column.
    Check {
        /// Plugin folders, or folders of them (default: ./connectors.d if it exists).
        paths: Vec<PathBuf>,
        /// A folder holding `<id>/connector.yaml` for each built-in connector (default, when
        /// no path is given: ./connectors if it exists).
        #[arg(long)]
        built_in: Option<PathBuf>,
    },
    /// Print the JSON Schema of connector manifests (what `connectors/schema.json` holds).
    Schema,
    /// Make a plugin folder `<id>/` to start from: a commented manifest and mapping table for
    /// a made-up vendor, and a fixture for every conformance scenario.
    New {
        /// The connector's id: its folder name and service id.
        id: String,
        /// Where to make the folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Replay the conformance scenarios of a plugin from its `fixtures/` and print one line
    /// each; exit 1 when any fails.
    Test {
        /// The plugin's folder.
        folder: PathBuf,
        /// Write what crmgate sent and answered into the fixtures instead of comparing.
        #[arg(long)]
        record: bool,
    },
}

#[derive(Subcommand)]
enum AppsCommand {
    /// Create an application and its first API key (shown once).
    Create {
        /// A name for people.
        #[arg(long)]
        name: String,
        /// The id clients send as x-apideck-app-id (default: generated).
        #[arg(long)]
        id: Option<String>,
    },
    /// List applications and their keys (ids only; keys are never stored).
    List,
    /// Issue another API key for an application (shown once).
    CreateKey { app_id: String },
    /// Revoke an API key by its id; requests with it fail from then on.
    RevokeKey { key_id: String },
    /// Manage an application's OAuth 2.0 clients, one per connector with an OAuth flow.
    Oauth {
        #[command(subcommand)]
        command: OAuthCommand,
    },
}

#[derive(Subcommand)]
enum OAuthCommand {
    /// Register (or replace) the application's client at a connector's vendor. Register
    /// `<public_url>/vault/callback` as the redirect URL in the vendor's app settings.
    Set(Box<OAuthSet>),
    /// List the application's OAuth clients (never their secrets).
    List { app_id: String },
    /// Remove the application's client for a connector; its connections keep their tokens but
    /// can no longer refresh them.
    Remove { app_id: String, service_id: String },
}

/// What `crmgate apps oauth set` takes.
#[derive(clap::Args)]
struct OAuthSet {
    /// The application (x-apideck-app-id).
    app_id: String,
    /// The connector (`hubspot`).
    service_id: String,
    #[arg(long)]
    client_id: String,
    /// A file holding the client secret (kept out of shell history and process lists).
    #[arg(long)]
    client_secret_file: PathBuf,
    /// A scope to ask for instead of the connector's defaults; repeat for several.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Where end customers may be sent back after authorizing; repeat for several, the
    /// first is the default.
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<url::Url>,
    /// Another authorization URL (a sandbox), within the connector's or the allowed hosts.
    #[arg(long)]
    authorization_url: Option<url::Url>,
    /// Another token URL, within the connector's or the allowed hosts.
    #[arg(long)]
    token_url: Option<url::Url>,
    /// Refuse authorize links without a `nonce`: every connection then waits for the
    /// application to confirm it (POST /vault/connections/crm/{service}/confirm). Hosted
    /// Vault pages, whose session already binds the consumer, are not asked for one.
    #[arg(long)]
    require_nonce: bool,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-seal every connection's settings under a new key.
    ///
    /// With CRMGATE_ENCRYPTION_KEY: list the new key first and the current one after it
    /// (`new,old`), start every gateway process with that list, run this, then drop the old key.
    /// With the key file beside a SQLite database: a new key is generated and written to the
    /// file; restart the gateway afterwards.
    Rotate,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets masked.
    Print,
}

/// Shorthand environment variables, kept because they are what people type first; each wins
/// over its `CRMGATE__SECTION__KEY` form.
fn apply_shorthands(settings: &mut Settings) {
    if let Some(key) = env_secret(server::API_KEY_ENV) {
        settings.auth.api_key = Some(key);
    }
    if let Some(keys) = env_secret(server::ENCRYPTION_KEY_ENV) {
        settings.crypto.encryption_key = Some(keys);
    }
    if let Ok(url) = std::env::var(server::REDIS_URL_ENV)
        && !url.is_empty()
    {
        settings.redis.url = Some(url);
    }
}

fn env_secret(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|k| !k.is_empty())
        .map(SecretString::from)
}

/// Environment variable that switches OTLP trace export on (the exporter reads it, and its
/// `OTEL_EXPORTER_OTLP_*` siblings, itself).
const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Logs to stderr as human text or JSON; with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also
/// exported over OTLP/HTTP. Answers the trace provider, which must be shut down to flush.
fn init_logging(format: LogFormat, level: &str) -> anyhow::Result<Option<SdkTracerProvider>> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let provider = match std::env::var(OTLP_ENDPOINT_ENV) {
        Ok(endpoint) if !endpoint.is_empty() => {
            // The exporter's HTTP client shares crmgate's TLS stack, which needs its provider.
            crmgate_connector_sdk::install_crypto_provider();
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()?;
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(Resource::builder().with_service_name("crmgate").build())
                    .build(),
            )
        }
        _ => None,
    };
    let traces = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("crmgate")));
    let (human, json) = match format {
        LogFormat::Human => (Some(tracing_subscriber::fmt::layer()), None),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            ),
        ),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(human)
        .with(json)
        .with(traces)
        .init();
    if provider.is_some() {
        tracing::info!("Exporting traces over OTLP.");
    }
    Ok(provider)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("crmgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    apply_shorthands(&mut settings);
    if let Some(url) = cli.database_url {
        settings.database.url = url;
    }
    if let Some(format) = cli.log_format {
        settings.server.log_format = format;
    }
    // Replaying scenarios provokes vendor errors on purpose: only errors are worth a line there.
    let quiet = matches!(
        cli.command,
        Command::Connectors {
            command: ConnectorsCommand::Test { .. }
        }
    );
    let traces = match init_logging(
        settings.server.log_format,
        if quiet { "error" } else { "info" },
    ) {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("crmgate: cannot set up trace export: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve {
            listen,
            mappings,
            connectors,
            skip_broken_connectors,
        } => {
            if let Some(listen) = listen {
                settings.server.listen = listen;
            }
            if let Some(dir) = mappings {
                settings.mappings.dir = Some(dir);
            }
            if let Some(dir) = connectors {
                settings.connectors.dir = Some(dir);
            }
            settings.connectors.skip_broken |= skip_broken_connectors;
            serve(settings).await
        }
        Command::Mappings {
            command: MappingsCommand::Check { mappings },
        } => return check(&mappings),
        Command::Mappings {
            command: MappingsCommand::Schema { resource },
        } => {
            let Some(model) =
                crmgate_connector_sdk::Resource::parse(&resource).and_then(crmgate::unified::model)
            else {
                let names: Vec<&str> = crmgate::unified::MODELS
                    .iter()
                    .map(|m| m.resource.as_str())
                    .collect();
                eprintln!(
                    "crmgate serves no resource {resource:?}; it serves {}",
                    names.join(", ")
                );
                return ExitCode::FAILURE;
            };
            let schema = crmgate::mapping::mapping_file_schema(model);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("a schema serialises")
            );
            return ExitCode::SUCCESS;
        }
        Command::Mappings {
            command: MappingsCommand::Coverage,
        } => {
            let sources = crmgate::registry::Sources {
                plugins: existing(DEFAULT_PLUGINS).into_iter().collect(),
                ..Default::default()
            };
            let connectors = match crmgate::registry::load(&sources) {
                Ok(loaded) => loaded.entries,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    return ExitCode::FAILURE;
                }
            };
            let set = MappingSet::load(None, &connectors).expect("loaded tables compile");
            let matrices: Vec<String> = crmgate::unified::MODELS
                .iter()
                .map(|model| {
                    format!(
                        "### {}\n\n{}",
                        model.plural_name,
                        crmgate::mapping::coverage_matrix(model, &set, &connectors)
                    )
                })
                .collect();
            print!("{}", matrices.join("\n"));
            return ExitCode::SUCCESS;
        }
        Command::Connectors {
            command: ConnectorsCommand::Check { paths, built_in },
        } => return check_connectors(paths, built_in),
        Command::Connectors {
            command: ConnectorsCommand::New { id, dir },
        } => {
            return match crmgate::conformance::scaffold(&dir, &id) {
                Ok(folder) => {
                    println!(
                        "Made {}: `crmgate connectors test {0} --record`, read what it wrote, then `crmgate connectors test {0}`.",
                        folder.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("crmgate: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Connectors {
            command: ConnectorsCommand::Test { folder, record },
        } => return test_plugin(&folder, record).await,
        Command::Connectors {
            command: ConnectorsCommand::Schema,
        } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crmgate_connector_sdk::manifest_schema())
                    .expect("a schema serialises")
            );
            return ExitCode::SUCCESS;
        }
        Command::Apps { command } => apps(settings, command).await,
        Command::Keys {
            command: KeysCommand::Rotate,
        } => rotate(&settings).await,
        Command::Config {
            command: ConfigCommand::Print,
        } => {
            print!("{}", settings.to_masked_toml());
            return ExitCode::SUCCESS;
        }
    };
    if let Some(provider) = traces
        && let Err(e) = provider.shutdown()
    {
        eprintln!("crmgate: traces could not be flushed: {e}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crmgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(dir: &Path) -> ExitCode {
    match MappingSet::load(Some(dir), &crmgate::registry::connectors()) {
        Ok(_) => {
            println!("All mapping tables in {} are valid.", dir.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} error(s) in {}.", errors.len(), dir.display());
            ExitCode::FAILURE
        }
    }
}

/// Prints, for a plugin, what its table reads that none of its recorded vendor records has.
fn warn_unrecorded(entry: &crmgate::registry::ConnectorEntry) {
    let (Some(folder), Ok(set)) = (
        &entry.plugin,
        MappingSet::load(None, std::slice::from_ref(entry)),
    ) else {
        return;
    };
    for source in entry.mappings.iter() {
        let Some(table) = set.table(entry.connector.id(), source.resource) else {
            continue;
        };
        let fixtures = folder.join("fixtures");
        for warning in
            crmgate::conformance::unrecorded_paths(entry, source.resource, &table, &fixtures)
        {
            eprintln!("{warning}");
        }
    }
}

/// Replays every scenario against the plugin in `folder`, one line each.
async fn test_plugin(folder: &Path, record: bool) -> ExitCode {
    let entry = match crmgate::registry::load_plugin(folder) {
        Ok(entry) => entry,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} error(s); the plugin does not load.", errors.len());
            return ExitCode::FAILURE;
        }
    };
    let set = match MappingSet::load(None, std::slice::from_ref(&entry)) {
        Ok(set) => set,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let target = crmgate::conformance::Target::plugin(folder);
    // Written without println!, so that a reader that stops early (`| head`) is no panic.
    let mut out = std::io::stdout();
    let (mut failed, mut total) = (0, 0);
    for source in entry.mappings.iter() {
        let (Some(model), Some(table)) = (
            crmgate::unified::model(source.resource),
            set.table(entry.connector.id(), source.resource),
        ) else {
            continue;
        };
        let resource = source.resource.as_str();
        for scenario in crmgate::conformance::scenarios(model, entry.connector.as_ref(), &table) {
            total += 1;
            let line = match crmgate::conformance::run(&target, model, scenario, record).await {
                Ok(_) if record => format!("recorded  {resource}/{scenario}"),
                Ok(_) => format!("pass  {resource}/{scenario}"),
                Err(failure) => {
                    failed += 1;
                    format!("FAIL  {resource}/{scenario}: {failure}")
                }
            };
            let _ = writeln!(out, "{line}");
        }
    }
    if entry.connector.manifest().oauth2().is_some() {
        total += 1;
        let line = match crmgate::conformance::run_oauth(&target).await {
            Ok(()) => "pass  oauth".to_owned(),
            Err(failure) => {
                failed += 1;
                format!("FAIL  oauth: {failure}")
            }
        };
        let _ = writeln!(out, "{line}");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        let _ = writeln!(out, "{failed} of {total} scenarios failed.");
        ExitCode::FAILURE
    }
}

/// `dir` when it is a folder here: the defaults that apply only where they exist.
fn existing(dir: &str) -> Option<PathBuf> {
    Path::new(dir).is_dir().then(|| PathBuf::from(dir))
}

fn check_connectors(mut paths: Vec<PathBuf>, built_in: Option<PathBuf>) -> ExitCode {
    // Only when nothing is named: the checkout's built-in manifests and its plugins.
    let nothing_named = paths.is_empty() && built_in.is_none();
    let built_in = built_in.or_else(|| existing(DEFAULT_BUILT_IN).filter(|_| nothing_named));
    if nothing_named {
        paths.extend(existing(DEFAULT_PLUGINS));
    }
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    if let Some(dir) = &built_in {
        let sources = crmgate::registry::Sources {
            built_in_dir: Some(dir.clone()),
            ..Default::default()
        };
        match crmgate::registry::load(&sources) {
            Ok(loaded) => checked.extend(loaded.entries.iter().map(|e| e.connector.id())),
            Err(e) => errors.extend(e),
        }
    }
    if !paths.is_empty() {
        let sources = crmgate::registry::Sources {
            plugins: paths.clone(),
            ..Default::default()
        };
        match crmgate::registry::load(&sources) {
            Ok(loaded) => {
                for entry in loaded.entries.iter().filter(|e| e.plugin.is_some()) {
                    checked.push(entry.connector.id());
                    warn_unrecorded(entry);
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    if built_in.is_none() && paths.is_empty() {
        eprintln!(
            "Nothing to check: name plugin folders, or run where ./{DEFAULT_PLUGINS} or ./{DEFAULT_BUILT_IN} is."
        );
        return ExitCode::FAILURE;
    }
    if errors.is_empty() {
        println!("Valid: {}.", checked.join(", "));
        ExitCode::SUCCESS
    } else {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!("{} error(s).", errors.len());
        ExitCode::FAILURE
    }
}

/// The plugin folder the configuration names, else `./connectors.d` if it exists.
fn plugin_dirs(settings: &Settings) -> Vec<PathBuf> {
    settings
        .connectors
        .dir
        .clone()
        .or_else(|| existing(DEFAULT_PLUGINS))
        .into_iter()
        .collect()
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let mappings = settings
        .mappings
        .dir
        .clone()
        .or_else(|| existing(DEFAULT_MAPPINGS));
    match &mappings {
        Some(dir) => tracing::info!(dir = %dir.display(), "Loading mapping tables from a folder."),
        None => tracing::info!("Loading the built-in mapping tables."),
    }
    let plugins = plugin_dirs(&settings);
    for dir in &plugins {
        tracing::info!(dir = %dir.display(), "Loading connector plugins from a folder.");
    }
    let listen = settings.server.listen;
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    let gateway = Gateway::build(ServeOptions::from_settings(settings, mappings, plugins)?).await?;
    match &gateway.key_source {
        KeySource::Environment => tracing::info!("Using the configured API key."),
        KeySource::Generated(key) => {
            // Printed once, on the terminal only: the database keeps just its hash.
            println!(
                "Generated an API key (shown only now; set {} to choose your own):\n\n    {}\n",
                server::API_KEY_ENV,
                key.expose_secret()
            );
        }
        KeySource::Stored => tracing::info!(
            "Using the API key generated on an earlier start (set {} to replace it).",
            server::API_KEY_ENV
        ),
    }
    let listener = server::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "crmgate is listening.");
    server::serve(listener, gateway.state, shutdown_signal(), grace).await?;
    tracing::info!("crmgate stopped.");
    Ok(())
}

async fn apps(settings: Settings, command: AppsCommand) -> anyhow::Result<()> {
    let store = crmgate::store::open(&settings.database.url).await?;
    let now = chrono::Utc::now().timestamp_millis();
    match command {
        AppsCommand::Create { name, id } => {
            let (app, key_id, key) =
                auth::create_application(store.as_ref(), id, &name, now).await?;
            println!("Created application {} ({}).", app.id, app.name);
            println!(
                "API key {key_id} (shown only now):\n\n    {}\n",
                key.expose_secret()
            );
        }
        AppsCommand::List => {
            for app in store.applications().await? {
                println!("{}\t{}", app.id, app.name);
                for key in store.api_keys(&app.id).await? {
                    let state = if key.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!("    key {}\t{state}", key.id);
                }
            }
        }
        AppsCommand::CreateKey { app_id } => {
            if store.application(&app_id).await?.is_none() {
                anyhow::bail!("no application {app_id}");
            }
            let (key_id, key) = auth::issue_key(store.as_ref(), &app_id, now).await?;
            println!(
                "API key {key_id} for {app_id} (shown only now):\n\n    {}\n",
                key.expose_secret()
            );
        }
        AppsCommand::RevokeKey { key_id } => {
            if !store.revoke_api_key(&key_id, now).await? {
                anyhow::bail!("no active key {key_id}");
            }
            println!("Revoked key {key_id}.");
        }
        AppsCommand::Oauth { command } => return oauth_clients(settings, command).await,
    }
    Ok(())
}

async fn oauth_clients(settings: Settings, command: OAuthCommand) -> anyhow::Result<()> {
    match command {
        OAuthCommand::Set(set) => {
            let OAuthSet {
                app_id,
                service_id,
                client_id,
                client_secret_file,
                scopes,
                redirect_uris,
                authorization_url,
                token_url,
                require_nonce,
            } = *set;
            let secret = std::fs::read_to_string(&client_secret_file).with_context(|| {
                format!(
                    "cannot read the client secret from {}",
                    client_secret_file.display()
                )
            })?;
            let secret = secret.trim();
            if secret.is_empty() {
                anyhow::bail!("{} holds no client secret", client_secret_file.display());
            }
            let plugins = plugin_dirs(&settings);
            let options = ServeOptions::from_settings(settings, None, plugins)?;
            let input = server::OAuthClientInput {
                app_id: app_id.clone(),
                service_id: service_id.clone(),
                client_id,
                client_secret: SecretString::from(secret.to_owned()),
                scopes,
                redirect_uris,
                authorization_url,
                token_url,
                require_nonce,
            };
            server::set_oauth_client(&options, input).await?;
            println!("Saved the {service_id} OAuth client of {app_id}.");
        }
        OAuthCommand::List { app_id } => {
            let store = crmgate::store::open(&settings.database.url).await?;
            for client in store.oauth_clients(&app_id).await? {
                println!(
                    "{}\tclient {}\tscopes {}\tredirects {}{}",
                    client.service_id,
                    client.client_id,
                    client.scopes.as_deref().unwrap_or("(connector default)"),
                    client.redirect_uris.replace('\n', " "),
                    if client.require_nonce {
                        "\tnonce required"
                    } else {
                        ""
                    }
                );
            }
        }
        OAuthCommand::Remove { app_id, service_id } => {
            let store = crmgate::store::open(&settings.database.url).await?;
            if !store.delete_oauth_client(&app_id, &service_id).await? {
                anyhow::bail!("{app_id} has no {service_id} OAuth client");
            }
            println!("Removed the {service_id} OAuth client of {app_id}.");
        }
    }
    Ok(())
}

async fn rotate(settings: &Settings) -> anyhow::Result<()> {
    let rotation = server::rotate_keys(
        &settings.database.url,
        settings.crypto.encryption_key.clone(),
    )
    .await?;
    println!(
        "Re-sealed {} connection(s) under key {}.",
        rotation.resealed, rotation.key_id
    );
    for failure in &rotation.unreadable {
        eprintln!("Left unchanged, does not open with any configured key: {failure}");
    }
    match (&rotation.key_file, rotation.unreadable.is_empty()) {
        (Some(file), true) => println!(
            "{} now holds only the new key; restart the gateway.",
            file.display()
        ),
        (Some(file), false) => println!(
            "{} keeps the old key too, for the connections above.",
            file.display()
        ),
        (None, _) => println!(
            "Remove the older keys from {} once every process runs with the new list.",
            server::ENCRYPTION_KEY_ENV
        ),
    }
    if rotation.unreadable.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} connection(s) could not be re-sealed",
            rotation.unreadable.len()
        )
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("Shutting down: finishing requests in flight.");
}
