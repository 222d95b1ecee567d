//! The Salesforce plugin (`connectors.d/salesforce`) against a wiremock org: a connection made
//! through OAuth with the token answer's `instance_url` as its API root, and lists as SOQL
//! queries whose filter values are SOQL literals — a quote, a backslash, `%` or `_` in a value
//! never changes the query.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{TestApp, call, spawn_app};
use crate::oauth::authorized_with;

/// The select list: the fields the table reads, then the org's custom ones from `describe`.
const SELECT: &str = "SELECT Id, Name, ContactId, Description, Type, Amount, Probability, ExpectedRevenue, CloseDate, StageName, LeadSource, AccountId, OwnerId, IsWon, IsClosed, LastStageChangeDate, LastModifiedById, CreatedById, LastModifiedDate, CreatedDate, Region__c FROM Opportunity";

fn opportunity() -> Value {
    json!({
        "attributes": { "type": "Opportunity" },
        "Id": "006Hn00000001AbIAP", "Name": "O'Brien \\ 100%_x", "Amount": 1500.5,
        "IsClosed": true, "IsWon": true, "StageName": "Closed Won",
        "CreatedDate": "2026-01-02T03:04:05.000+0000"
    })
}

/// An org whose instance is `org`, with one custom Opportunity field, connected through the
/// whole OAuth flow.
async fn connected(app: &TestApp, org: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/services/data/v67.0/sobjects/Opportunity/describe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "Opportunity",
            "fields": [
                { "name": "Name", "label": "Name", "custom": false },
                { "name": "Region__c", "label": "Region", "custom": true }
            ]
        })))
        .mount(org)
        .await;
    let answer = json!({
        "access_token": "sf-access", "refresh_token": "sf-refresh",
        "instance_url": org.uri(), "token_type": "Bearer", "issued_at": "1767322800000"
    });
    authorized_with(app, "salesforce", answer).await;
}

fn salesforce(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "salesforce")
}

#[tokio::test]
async fn filter_values_reach_soql_as_escaped_literals() {
    let app = spawn_app().await;
    let org = MockServer::start().await;
    connected(&app, &org).await;
    let hostile = r"O'Brien \ 100%_x' OR Name != '";
    let soql = format!(
        r"{SELECT} WHERE Name = 'O\'Brien \\ 100%_x\' OR Name != \'' AND IsWon = true ORDER BY Amount DESC"
    );
    Mock::given(method("GET"))
        .and(path("/services/data/v67.0/query"))
        .and(query_param("q", soql.as_str()))
        .and(header("authorization", "Bearer sf-access"))
        .and(header("sforce-query-options", "batchSize=200"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 1, "done": true, "records": [opportunity()]
        })))
        .expect(1)
        .mount(&org)
        .await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("filter[title]", hostile)
        .append_pair("filter[status]", "Won")
        .append_pair("sort[by]", "monetary_amount")
        .append_pair("sort[direction]", "desc")
        .finish();
    let (status, body) = call(salesforce(app.get(&format!("/crm/opportunities?{query}")))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["status"], "Won");
    assert_eq!(body["data"][0]["title"], "O'Brien \\ 100%_x");
    assert_eq!(body["data"][0]["created_at"], "2026-01-02T03:04:05Z");
    // Lost is two conditions (closed, not won), which one filter cannot write.
    let (status, body) = call(salesforce(
        app.get("/crm/opportunities?filter[status]=Lost"),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
}

/// Salesforce's query batches over `total` records: the first call runs the query, each batch
/// names the next by its nextRecordsUrl (`/query/01g-<start>`).
struct Batches {
    total: usize,
    size: usize,
}

impl wiremock::Respond for Batches {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let start: usize = request
            .url
            .path()
            .rsplit_once('-')
            .map_or(0, |(_, n)| n.parse().unwrap());
        let end = (start + self.size).min(self.total);
        let records: Vec<Value> = (start..end)
            .map(|n| json!({ "Id": format!("006{:015}", n + 1), "Name": format!("O {}", n + 1), "IsClosed": false, "IsWon": false }))
            .collect();
        let mut page =
            json!({ "totalSize": self.total, "done": end == self.total, "records": records });
        if end < self.total {
            page["nextRecordsUrl"] = format!("/services/data/v67.0/query/01gX-{end}").into();
        }
        ResponseTemplate::new(200).set_body_json(page)
    }
}

#[tokio::test]
async fn salesforce_reads_250_opportunities_once_across_batches() {
    let app = spawn_app().await;
    let org = MockServer::start().await;
    connected(&app, &org).await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            "^/services/data/v67.0/query(/01gX-[0-9]+)?$",
        ))
        .and(header("sforce-query-options", "batchSize=200"))
        .respond_with(Batches {
            total: 250,
            size: 200,
        })
        .mount(&org)
        .await;
    let seen = crate::app::every_id(&app, "salesforce", "opportunities", 100).await;
    let want: Vec<String> = (1..=250).map(|n| format!("006{n:015}")).collect();
    assert_eq!(seen, want);
}

/// The org's allowance as Salesforce reports it on every answer reaches the client as the
/// downstream rate-limit headers; a spent allowance (403 REQUEST_LIMIT_EXCEEDED) is a 429.
#[tokio::test]
async fn salesforce_api_usage_is_passed_on() {
    let app = spawn_app().await;
    let org = MockServer::start().await;
    connected(&app, &org).await;
    Mock::given(method("GET"))
        .and(path(
            "/services/data/v67.0/sobjects/Opportunity/006Hn00000001AbIAP",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("sforce-limit-info", "api-usage=18/5000")
                .set_body_json(opportunity()),
        )
        .mount(&org)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/data/v67.0/sobjects/Opportunity/006Hn00000002AbIAP"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("sforce-limit-info", "api-usage=5000/5000")
                .set_body_json(json!([{ "errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded." }])),
        )
        .mount(&org)
        .await;
    let (status, headers, body) =
        crate::app::exchange(salesforce(app.get("/crm/opportunities/006Hn00000001AbIAP"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-downstream-ratelimit-limit"], "5000");
    assert_eq!(headers["x-downstream-ratelimit-remaining"], "4982");
    let (status, headers, body) =
        crate::app::exchange(salesforce(app.get("/crm/opportunities/006Hn00000002AbIAP"))).await;
    crate::app::assert_error(&(status, body), 429, "ConnectorRateLimitError");
    assert_eq!(headers["x-downstream-ratelimit-remaining"], "0");
}
