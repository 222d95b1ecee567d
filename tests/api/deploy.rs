//! The deployment files stay true to the configuration they set.

use std::collections::BTreeMap;

use serde_json::Value;

const COMPOSE: &str = include_str!("../../compose.yaml");
const SHORTHANDS: &[&str] = &[
    "CRMGATE_API_KEY",
    "CRMGATE_ENCRYPTION_KEY",
    "CRMGATE_REDIS_URL",
    "CRMGATE_DATABASE_URL",
];

#[test]
fn compose_runs_crmgate_on_its_postgres_and_redis_with_valid_settings() {
    let compose: Value = serde_saphyr::from_str(COMPOSE).unwrap();
    let services = compose["services"].as_object().unwrap();
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, ["crmgate", "postgres", "redis"]);

    let crmgate = &services["crmgate"];
    let env: BTreeMap<String, String> = crmgate["environment"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    for key in env.keys() {
        assert!(
            key.starts_with("CRMGATE__") || SHORTHANDS.contains(&key.as_str()),
            "{key} is no crmgate setting"
        );
    }
    // Every CRMGATE__ variable must be a key the configuration accepts.
    let settings = crmgate::config::Settings::load_with_env(None, env.clone()).unwrap();
    assert_eq!(
        settings.server.listen.ip().to_string(),
        "0.0.0.0",
        "reachable from outside the container"
    );
    let port = settings.server.listen.port();
    assert_eq!(crmgate["ports"][0], format!("{port}:{port}"));

    let database = url::Url::parse(&settings.database.url).unwrap();
    assert_eq!(database.scheme(), "postgres");
    assert!(
        services.contains_key(database.host_str().unwrap()),
        "the database host is the compose service"
    );
    let postgres_env = &services["postgres"]["environment"];
    assert_eq!(database.username(), postgres_env["POSTGRES_USER"]);
    assert_eq!(
        database.password(),
        postgres_env["POSTGRES_PASSWORD"].as_str()
    );
    assert_eq!(
        database.path(),
        format!("/{}", postgres_env["POSTGRES_DB"].as_str().unwrap())
    );

    let redis = url::Url::parse(settings.redis.url.as_deref().unwrap()).unwrap();
    assert!(services.contains_key(redis.host_str().unwrap()));
    for secret in ["CRMGATE_API_KEY", "CRMGATE_ENCRYPTION_KEY"] {
        assert!(
            env[secret].starts_with("${") && env[secret].contains(":?"),
            "{secret} must come from the operator"
        );
    }
}

#[test]
fn the_image_listens_beyond_loopback_and_runs_as_a_user() {
    let dockerfile = include_str!("../../Dockerfile");
    assert!(dockerfile.contains("CRMGATE__SERVER__LISTEN=0.0.0.0:8080"));
    assert!(dockerfile.contains("EXPOSE 8080"));
    assert!(
        dockerfile
            .lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root"))
    );
    assert!(
        dockerfile.contains("--locked"),
        "the image builds what Cargo.lock pins"
    );
    // The shipped plugins travel with the binary, and the gateway is told where.
    let copied = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("COPY --from=build /src/connectors.d "))
        .expect("the image carries connectors.d");
    assert!(
        dockerfile.contains(&format!("CRMGATE__CONNECTORS__DIR={copied}")),
        "{copied}"
    );
}
