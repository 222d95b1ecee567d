//! Resilience: what crmgate retries and what it never repeats, idempotent creates, request ids,
//! health, and shutdown with requests in flight.

use std::time::Duration;

use serde_json::json;
use wiremock::ResponseTemplate;

use crate::app::{assert_error, call, exact, exchange, sample, spawn_app, spawn_app_with};
use crate::hubspot::{answer, deal, expect, expect_read};

#[tokio::test]
async fn a_read_is_retried_after_a_503_and_a_create_never_is() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, _) = call(app.get("/crm/opportunities/1")).await;
    assert_eq!(status, 200);

    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let answer = call(app.post("/crm/opportunities", &json!({ "title": "Once" }))).await;
    assert_error(&answer, 502, "ConnectorExecutionError");
}

#[tokio::test]
async fn a_create_that_times_out_is_sent_exactly_once_and_answers_504() {
    let app = spawn_app_with(|options| {
        let hubspot = crmgate::config::ConnectorSettings {
            timeout_ms: Some(200),
            ..Default::default()
        };
        options.connectors.insert("hubspot".to_owned(), hubspot);
    })
    .await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(201, deal(1)).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let answer = call(app.post("/crm/opportunities", &json!({ "title": "Slow" }))).await;
    assert_error(&answer, 504, "ConnectorExecutionError");
}

#[tokio::test]
async fn a_configured_budget_holds_calls_back_and_answers_429_past_the_deadline() {
    let app = spawn_app_with(|options| {
        // Two calls: the first read also reads the account's custom deal properties.
        let limit = crmgate::config::RateLimitSettings {
            requests: 2,
            per_secs: 3600,
        };
        let hubspot = crmgate::config::ConnectorSettings {
            rate_limit: Some(limit),
            ..Default::default()
        };
        options.connectors.insert("hubspot".to_owned(), hubspot);
    })
    .await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    assert_eq!(call(app.get("/crm/opportunities/1")).await.0, 200);
    let (status, headers, body) = exchange(app.get("/crm/opportunities/1")).await;
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 3000 && retry_after <= 3600, "{retry_after}");
    assert_error(&(status, body), 429, "ConnectorRateLimitError");
}

#[tokio::test]
async fn concurrent_creates_with_one_key_make_one_vendor_call_and_one_answer() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(201, deal(77)).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = json!({ "title": "Exactly once" });
    let send = || {
        app.post("/crm/opportunities", &body)
            .header("Idempotency-Key", "key-1")
            .send()
    };
    let (first, second) = tokio::join!(send(), send());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (201, 201)
    );
    let replayed = [&first, &second]
        .iter()
        .filter(|r| r.headers().contains_key("idempotent-replayed"))
        .count();
    assert_eq!(replayed, 1);
    let (a, b) = (first.text().await.unwrap(), second.text().await.unwrap());
    assert_eq!(a, b);
    assert!(a.contains(r#""data":{"id":"77"}"#), "{a}");
    crate::schema::check(
        &reqwest::Method::POST,
        "/crm/opportunities",
        201,
        &exact(&a),
    );

    let other = app
        .post("/crm/opportunities", &json!({ "title": "Different" }))
        .header("Idempotency-Key", "key-1");
    assert_error(&call(other).await, 422, "RequestValidationError");
}

#[tokio::test]
async fn a_create_refused_by_the_vendor_releases_its_key() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(
            400,
            json!({ "message": "dealstage is required", "category": "VALIDATION_ERROR" }),
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(201, deal(5)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = json!({ "title": "Retry me" });
    let first = call(
        app.post("/crm/opportunities", &body)
            .header("Idempotency-Key", "k"),
    )
    .await;
    assert_eq!(first.0, 400);
    let second = call(
        app.post("/crm/opportunities", &body)
            .header("Idempotency-Key", "k"),
    )
    .await;
    assert_eq!(
        second.0, 201,
        "nothing was created the first time, so the key was free"
    );
}

#[tokio::test]
async fn request_ids_round_trip_and_health_needs_no_key() {
    let app = spawn_app().await;
    let response = app
        .get("/vault/connections")
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    assert_eq!(response.headers()["request-id"], "trace-42");
    let generated = app.get("/vault/connections").send().await.unwrap();
    assert_eq!(generated.headers()["x-request-id"].len(), 32);

    let live = app
        .client
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let (status, ready) = call(app.client.get(format!("{}/health/ready", app.address))).await;
    assert_eq!(status, 200);
    assert_eq!(
        ready,
        json!({
            "status": "ok",
            "checks": { "database": "ok", "mappings": "ok", "plugins": "ok" },
            "skipped_plugins": [],
        })
    );
}

#[tokio::test]
async fn hubspot_rate_limit_headers_reach_the_client() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(
            answer(200, deal(1))
                .insert_header("X-HubSpot-RateLimit-Max", "100")
                .insert_header("X-HubSpot-RateLimit-Remaining", "42")
                .insert_header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
        )
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, headers, _) = exchange(app.get("/crm/opportunities/1")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-downstream-ratelimit-limit"], "100");
    assert_eq!(headers["x-downstream-ratelimit-remaining"], "42");
    let reset: u64 = headers["x-downstream-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000);
}

#[tokio::test]
async fn a_request_in_flight_when_shutdown_starts_completes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let gateway = crmgate::server::Gateway::build(crate::app::options(&url))
        .await
        .unwrap();
    let listener = crmgate::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crmgate::server::serve(
        listener,
        gateway.state,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(10),
    ));
    let hubspot = wiremock::MockServer::start().await;
    crate::app::hubspot_without_custom_properties(&hubspot).await;
    let client = reqwest::Client::new();
    let tenant = |rq: reqwest::RequestBuilder| {
        rq.bearer_auth(crate::app::API_KEY)
            .header("x-apideck-app-id", crate::app::APP_ID)
            .header("x-apideck-consumer-id", crate::app::CONSUMER_ID)
    };
    let settings =
        json!({ "settings": { "api_key": crate::app::HUBSPOT_TOKEN, "base_url": hubspot.uri() } });
    let saved = tenant(client.patch(format!("{address}/vault/connections/crm/hubspot")))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)).set_delay(Duration::from_millis(300)))
        .expect(1)
        .mount(&hubspot)
        .await;
    let in_flight = tokio::spawn(call(tenant(
        client.get(format!("{address}/crm/opportunities/1")),
    )));
    // Shut down only once the request is surely in flight: HubSpot has received its call.
    for _ in 0..500 {
        if !hubspot
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    let (status, _) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    server.await.unwrap().unwrap();
}

/// One unified operation and the HubSpot call it makes.
struct Op {
    name: &'static str,
    method: reqwest::Method,
    path: &'static str,
    vendor_method: &'static str,
    vendor_path: &'static str,
    repeatable: bool,
}

fn operations() -> Vec<Op> {
    use reqwest::Method;
    let op = |name, method, path, vendor_method, vendor_path, repeatable| Op {
        name,
        method,
        path,
        vendor_method,
        vendor_path,
        repeatable,
    };
    vec![
        op(
            "list",
            Method::GET,
            "/crm/opportunities",
            "GET",
            "/crm/objects/2026-09/deals",
            true,
        ),
        op(
            "get",
            Method::GET,
            "/crm/opportunities/1",
            "GET",
            "/crm/objects/2026-09/deals/1",
            true,
        ),
        op(
            "create",
            Method::POST,
            "/crm/opportunities",
            "POST",
            "/crm/objects/2026-09/deals",
            false,
        ),
        op(
            "update",
            Method::PATCH,
            "/crm/opportunities/1",
            "PATCH",
            "/crm/objects/2026-09/deals/1",
            true,
        ),
        op(
            "delete",
            Method::DELETE,
            "/crm/opportunities/1",
            "DELETE",
            "/crm/objects/2026-09/deals/1",
            true,
        ),
    ]
}

#[tokio::test]
async fn the_fault_matrix() {
    let app = spawn_app_with(|options| {
        let hubspot = crmgate::config::ConnectorSettings {
            timeout_ms: Some(300),
            ..Default::default()
        };
        options.connectors.insert("hubspot".to_owned(), hubspot);
    })
    .await;
    app.connect_hubspot().await;
    // (fault, its answer, calls when repeatable, calls otherwise, status, type, Retry-After)
    type Fault = (
        &'static str,
        ResponseTemplate,
        u64,
        u64,
        u16,
        &'static str,
        Option<&'static str>,
    );
    let faults: Vec<Fault> = vec![
        (
            "429",
            ResponseTemplate::new(429).insert_header("Retry-After", "0"),
            3,
            1,
            429,
            "ConnectorRateLimitError",
            Some("1"),
        ),
        (
            "502",
            ResponseTemplate::new(502),
            3,
            1,
            502,
            "ConnectorExecutionError",
            None,
        ),
        (
            "500",
            ResponseTemplate::new(500),
            1,
            1,
            502,
            "ConnectorExecutionError",
            None,
        ),
        (
            "html",
            ResponseTemplate::new(200).set_body_string("<html>down</html>"),
            1,
            1,
            502,
            "ConnectorExecutionError",
            None,
        ),
        (
            "timeout",
            answer(200, deal(1)).set_delay(Duration::from_secs(3)),
            1,
            1,
            504,
            "ConnectorExecutionError",
            None,
        ),
    ];
    for (fault, template, repeated, once, status, type_name, retry_after) in faults {
        for op in operations() {
            app.hubspot.reset().await;
            crate::app::hubspot_without_custom_properties(&app.hubspot).await;
            let calls = if op.repeatable { repeated } else { once };
            wiremock::Mock::given(wiremock::matchers::method(op.vendor_method))
                .and(wiremock::matchers::path(op.vendor_path))
                .respond_with(template.clone())
                .expect(calls)
                .mount(&app.hubspot)
                .await;
            let body = json!({ "title": "Fault" });
            let mut rq = app.request(op.method.clone(), op.path);
            if op.method != reqwest::Method::GET && op.method != reqwest::Method::DELETE {
                rq = rq.json(&body);
            }
            let (got, headers, answer) = exchange(rq).await;
            let header = headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let case = format!("{fault} on {}", op.name);
            if fault == "html" && op.name == "delete" {
                // A delete reads no body: the vendor's 200 is success, whatever it says.
                assert_eq!(got, 200, "{case}: {answer}");
            } else {
                assert_eq!(got, status, "{case}: {answer}");
                assert_eq!(answer["type_name"], type_name, "{case}");
                assert_eq!(header.as_deref(), retry_after, "{case}");
            }
            app.hubspot.verify().await;
        }
    }
}

/// Answers HubSpot's list and stamps when each call arrived.
struct Stamped(std::sync::Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>);

impl wiremock::Respond for Stamped {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(tokio::time::Instant::now());
        answer(200, deal(1))
    }
}

#[tokio::test]
async fn two_gateways_on_one_redis_keep_one_budget_at_the_vendor() {
    let Ok(redis) = std::env::var("CRMGATE_TEST_REDIS_URL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).unwrap();
    // A fresh consumer, so earlier runs' budgets in Redis do not count.
    let consumer = format!("budget-{}", u64::from_le_bytes(raw));
    let configure = |options: &mut crmgate::server::ServeOptions| {
        options.database_url = database_url.clone();
        options.redis_url = Some(redis.clone());
        let limit = crmgate::config::RateLimitSettings {
            requests: 10,
            per_secs: 2,
        };
        let hubspot = crmgate::config::ConnectorSettings {
            rate_limit: Some(limit),
            ..Default::default()
        };
        options.connectors.insert("hubspot".to_owned(), hubspot);
    };
    let one = spawn_app_with(configure).await;
    let two = spawn_app_with(configure).await;
    let settings = json!({ "settings": { "api_key": crate::app::HUBSPOT_TOKEN, "base_url": one.hubspot.uri() } });
    let saved = one
        .request_for(
            reqwest::Method::PATCH,
            "/vault/connections/crm/hubspot",
            &consumer,
        )
        .json(&settings);
    assert_eq!(call(saved).await.0, 200);
    let stamps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(Stamped(stamps.clone()))
        .expect(30)
        .mount(&one.hubspot)
        .await;
    let mut requests = Vec::new();
    for i in 0..30 {
        let app = if i % 2 == 0 { &one } else { &two };
        let rq = app.request_for(reqwest::Method::GET, "/crm/opportunities/1", &consumer);
        requests.push(tokio::spawn(call(rq)));
    }
    for request in requests {
        assert_eq!(request.await.unwrap().0, 200);
    }
    let mut stamps = stamps.lock().unwrap().clone();
    stamps.sort();
    // Stamped at the vendor after crossing loopback and a busy runtime; half a second of
    // allowance keeps scheduling jitter out while two unshared budgets would still show 20.
    let window = Duration::from_millis(1500);
    for (i, t) in stamps.iter().enumerate() {
        let in_window = stamps[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < window)
            .count();
        assert!(
            in_window <= 10,
            "{in_window} vendor calls within one window from call {i}"
        );
    }
}

#[tokio::test]
async fn metrics_count_each_vendor_call_once() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/42")
        .respond_with(answer(200, deal(42)))
        .expect(2)
        .mount(&app.hubspot)
        .await;
    // The first read also reads the account's custom properties; the second is one call.
    assert_eq!(call(app.get("/crm/opportunities/42")).await.0, 200);
    let calls = r#"crmgate_vendor_calls_total{connector="hubspot",operation="get",status="200"}"#;
    let before = sample(&app.metrics().await, calls);
    assert_eq!(call(app.get("/crm/opportunities/42")).await.0, 200);
    let after = app.metrics().await;
    assert_eq!(sample(&after, calls), before + 1.0, "{after}");
    assert!(
        sample(
            &after,
            r#"crmgate_http_requests_total{route="/crm/opportunities/{id}",method="GET",status="200"}"#
        ) >= 1.0,
        "{after}"
    );
    assert!(!after.contains(crate::app::CONSUMER_ID) && !after.contains(crate::app::HUBSPOT_TOKEN));
}
