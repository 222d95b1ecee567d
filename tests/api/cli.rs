//! The `crmgate` command: its configuration (file, then environment, then flags) and the
//! operator's tools.

use std::process::Command;

fn crmgate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crmgate"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CRMGATE") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crmgate.toml");
    std::fs::write(&file, "[database]\nurl = \"sqlite://from-file.db\"\n[server]\nlisten = \"127.0.0.1:1111\"\nshutdown_grace_secs = 5\n").unwrap();
    let output = crmgate()
        .args(["config", "print", "--config"])
        .arg(&file)
        .env("CRMGATE__SERVER__LISTEN", "127.0.0.1:2222")
        .env("CRMGATE__DATABASE__URL", "sqlite://from-env.db")
        .env("CRMGATE_API_KEY", "shorthand-secret")
        .args(["--database-url", "sqlite://from-flag.db"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("listen = \"127.0.0.1:2222\""), "{printed}");
    assert!(
        printed.contains("url = \"sqlite://from-flag.db\""),
        "{printed}"
    );
    assert!(printed.contains("shutdown_grace_secs = 5"), "{printed}");
    assert!(
        printed.contains("api_key = \"********\"") && !printed.contains("shorthand-secret"),
        "{printed}"
    );
}

#[test]
fn a_typo_in_the_file_stops_the_command_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crmgate.toml");
    std::fs::write(&file, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let output = crmgate()
        .args(["config", "print", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("lisen") && stderr.contains("crmgate.toml"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_request_id_is_in_every_log_line_of_the_request_and_traces_reach_an_otlp_collector() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1..)
        .mount(&collector)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = crmgate()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.path().join("g.db").display()))
        .env("CRMGATE_API_KEY", crate::app::API_KEY)
        .env(
            "CRMGATE_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.uri())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crmgate_connector_sdk::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the gateway starts");
    let saved = client
        .patch(format!("{base}/vault/connections/crm/hubspot"))
        .bearer_auth(crate::app::API_KEY)
        .header("x-apideck-app-id", crate::app::APP_ID)
        .header("x-apideck-consumer-id", crate::app::CONSUMER_ID)
        .header("x-request-id", "rid-abc-123")
        .json(&serde_json::json!({ "settings": { "api_key": "tok" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["x-request-id"], "rid-abc-123");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "SIGTERM is a clean stop: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let logs = String::from_utf8(output.stdout).unwrap();
    let saved_line = logs
        .lines()
        .find(|l| l.contains("Connection saved."))
        .unwrap_or_else(|| panic!("no log line of the request in:\n{logs}"));
    let line: serde_json::Value = serde_json::from_str(saved_line).unwrap();
    assert_eq!(line["span"]["request_id"], "rid-abc-123", "{saved_line}");
    assert!(!logs.contains("\"tok\""), "the credential is not logged");
    collector.verify().await;
}

/// `crmgate mappings coverage` prints the coverage matrix of every resource over the built-in
/// tables and the shipped plugins', and docs/connectors.md carries exactly that copy.
#[test]
fn the_documented_coverage_matrix_is_what_the_command_prints() {
    let output = crmgate().args(["mappings", "coverage"]).output().unwrap();
    assert!(output.status.success());
    let matrix = String::from_utf8(output.stdout).unwrap();
    assert!(
        matrix.starts_with(
            "### Opportunities\n\n| | HubSpot | Pipedrive | Copper | Attio | Close | Freshsales | Microsoft Dynamics 365 | Salesforce | Zoho CRM |\n|---|---|---|---|---|---|---|---|---|---|\n| served | yes | yes | yes | yes | yes | yes | yes | yes | yes |\n"
        ),
        "{matrix}"
    );
    assert!(matrix.contains("\n### Notes\n\n"), "{matrix}");
    assert!(matrix.contains("| filter `updated_since` |"), "{matrix}");
    assert!(matrix.contains(
        "| `custom_fields` | read, write | read, write | read, write | — | read, write | read, write | — | read, write | read, write |"
    ));
    let docs = include_str!("../../docs/connectors.md");
    assert!(
        docs.contains(&matrix),
        "docs/connectors.md is out of date; paste `crmgate mappings coverage`:\n{matrix}"
    );
}

/// A copy of the repository's manifests in a temporary folder, to break one at a time.
fn manifests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
    for id in ["hubspot", "pipedrive", "copper"] {
        std::fs::create_dir(dir.path().join(id)).unwrap();
        std::fs::copy(
            repo.join(id).join("connector.yaml"),
            dir.path().join(id).join("connector.yaml"),
        )
        .unwrap();
    }
    dir
}

fn check_connectors(dir: &std::path::Path) -> (Option<i32>, String, String) {
    let output = crmgate()
        .args(["connectors", "check", "--built-in"])
        .arg(dir)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn connectors_check_accepts_the_repositorys_manifests() {
    let (code, stdout, stderr) =
        check_connectors(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors"));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "Valid: hubspot, pipedrive, copper.\n");
}

#[test]
fn connectors_check_names_the_file_line_and_column_of_every_error() {
    let dir = manifests();
    let pipedrive = dir.path().join("pipedrive/connector.yaml");
    let text = std::fs::read_to_string(&pipedrive).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("x-api-token"))
        .unwrap()
        + 1;
    std::fs::write(
        &pipedrive,
        text.replace("\"{api_key}\"", "\"{api_token}\"").replacen(
            "page_size: { param: limit, maximum: 500 }",
            "page_size: { param: limit, default: 900, maximum: 500 }",
            1,
        ),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("copper/connector.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("hubsopt")).unwrap();
    std::fs::write(dir.path().join("hubsopt/connector.yaml"), "meta: {}\n").unwrap();

    let (code, _, stderr) = check_connectors(dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 5, "{stderr}");
    assert!(
        errors[0].starts_with(&format!(
            "{}:{line}:18: auth.headers.x-api-token: {{api_token}} is neither a setting",
            pipedrive.display()
        )),
        "{stderr}"
    );
    assert!(
        errors[1].contains("page_size.default: the default page size 900 is above the maximum 500"),
        "{stderr}"
    );
    assert!(
        errors[2].starts_with(&format!(
            "{}:0:0: cannot read the file",
            dir.path().join("copper/connector.yaml").display()
        )),
        "{stderr}"
    );
    assert!(
        errors[3].contains(
            "hubsopt/connector.yaml:0:0: no connector of this build is named \"hubsopt\""
        ),
        "{stderr}"
    );
    assert_eq!(errors[4], "4 error(s).");
}

/// Each resource's mapping files have their own schema, naming that resource's fields; an
/// unknown resource is refused with the ones there are.
#[test]
fn mappings_schema_prints_each_resources_committed_schema() {
    let notes = crmgate()
        .args(["mappings", "schema", "notes"])
        .output()
        .unwrap();
    assert!(notes.status.success());
    assert_eq!(
        String::from_utf8(notes.stdout).unwrap(),
        include_str!("../../mappings/notes.schema.json")
    );
    let default = crmgate().args(["mappings", "schema"]).output().unwrap();
    assert_eq!(
        String::from_utf8(default.stdout).unwrap(),
        include_str!("../../mappings/opportunities.schema.json")
    );
    let unknown = crmgate()
        .args(["mappings", "schema", "deals"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(unknown.stderr).unwrap(),
        "crmgate serves no resource \"deals\"; it serves opportunities, companies, contacts, leads, notes, activities, users, pipelines\n"
    );
}

#[test]
fn connectors_schema_prints_the_committed_schema() {
    let output = crmgate().args(["connectors", "schema"]).output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        include_str!("../../connectors/schema.json")
    );
}

#[test]
fn apps_oauth_registers_a_client_whose_secret_is_never_stored_or_shown_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("crmgate.db").display());
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "the-client-secret-789\n").unwrap();
    let run = |args: &[&str]| {
        let out = crmgate()
            .current_dir(dir.path())
            .env("CRMGATE__DATABASE__URL", &database)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let secret = secret_file.to_str().unwrap();
    let (code, out, err) = run(&[
        "apps",
        "oauth",
        "set",
        "app-1",
        "hubspot",
        "--client-id",
        "cid-1",
        "--client-secret-file",
        secret,
        "--redirect-uri",
        "https://app.example.com/cb",
        "--scope",
        "oauth",
        "--scope",
        "crm.objects.deals.read",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&["apps", "oauth", "list", "app-1"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out.trim(),
        "hubspot\tclient cid-1\tscopes oauth crm.objects.deals.read\tredirects https://app.example.com/cb"
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("crmgate.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("the-client-secret-789"),
                "{} holds the secret in the clear",
                path.display()
            );
        }
    }
    let (code, _, err) = run(&[
        "apps",
        "oauth",
        "set",
        "app-1",
        "copper",
        "--client-id",
        "c",
        "--client-secret-file",
        secret,
        "--redirect-uri",
        "https://app.example.com/cb",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the copper connector has no OAuth 2.0 flow"),
        "{err}"
    );
    let (code, out, _) = run(&["apps", "oauth", "remove", "app-1", "hubspot"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Removed"), "{out}");
    let (_, out, _) = run(&["apps", "oauth", "list", "app-1"]);
    assert_eq!(out.trim(), "");
}
