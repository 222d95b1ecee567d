use secrecy::SecretString;

use super::*;

/// A small manifest that loads; tests change one thing in it at a time.
const BASE: &str = r#"meta:
  id: acme
  name: Acme
  api_version: v1
settings:
  - name: api_key
    label: API key
    secret: true
    required: true
  - name: company
    label: Company
base_url:
  default: https://api.acme.example
  hosts: [api.acme.example, "*.acme.example"]
auth:
  type: header
  headers:
    authorization: "Bearer {api_key}"
rate_limit:
  budget: { requests: 10, per_seconds: 2 }
errors:
  rules:
    - { status: [401, 403], kind: unauthorized }
    - { status: 5xx, kind: unavailable }
resources:
  opportunities:
    list:
      path: /v1/deals
      records: $.data
      pagination:
        type: cursor
        param: cursor
        next: $.next
        page_size: { param: limit, default: 50, maximum: 100 }
    get:
      path: /v1/deals/{id}
"#;

const EXPECTED: Expected<'static> = Expected {
    id: "acme",
    resources: &[Resource::Opportunities],
};

fn load(text: &str) -> Result<Manifest, Vec<ManifestError>> {
    Manifest::load("acme.yaml", text, &EXPECTED)
}

/// The errors of a manifest as `line:column: message`.
fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("the manifest loads:\n{text}"),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect(),
    }
}

/// The only error of a manifest, which must start with `at` and mention `words`.
fn assert_error(text: &str, at: &str, words: &str) {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(at) && errors[0].contains(words),
        "expected {at} … {words}, got {}",
        errors[0]
    );
}

fn changed(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

fn settings(pairs: &[(&str, &str)]) -> ConnectionSettings {
    let manifest = load(BASE).unwrap();
    ConnectionSettings::new(
        manifest.settings(),
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v))),
    )
}

// === What loads and what it answers ===

#[test]
fn the_base_manifest_loads_with_base_url_as_its_last_setting() {
    let manifest = load(BASE).unwrap();
    let names: Vec<&str> = manifest
        .settings()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["api_key", "company", "base_url"]);
    assert_eq!(manifest.name(), "Acme");
    assert_eq!(manifest.max_page_size(Resource::Opportunities), 100);
    assert_eq!(manifest.paging_params(), ["cursor", "limit"]);
    assert_eq!(
        manifest.rate_budget(),
        Some(RateBudget {
            requests: 10,
            per: std::time::Duration::from_secs(2)
        })
    );
    assert_eq!(
        manifest.vendor_hosts(),
        [
            HostPattern::parse("api.acme.example").unwrap(),
            HostPattern::parse("*.acme.example").unwrap()
        ]
    );
}

#[test]
fn auth_headers_are_rendered_from_the_settings_and_marked_sensitive() {
    let manifest = load(BASE).unwrap();
    let headers = manifest
        .auth_headers(&settings(&[("api_key", "pat-1")]))
        .unwrap();
    let value = &headers["authorization"];
    assert_eq!(value, "Bearer pat-1");
    assert!(value.is_sensitive());
}

#[test]
fn a_missing_or_unsendable_setting_is_named() {
    let manifest = load(BASE).unwrap();
    let missing = manifest.auth_headers(&settings(&[])).unwrap_err();
    assert_eq!(
        missing.kind,
        ErrorKind::MissingSetting("api_key".to_owned())
    );
    let broken = manifest
        .auth_headers(&settings(&[("api_key", "a\nb")]))
        .unwrap_err();
    assert_eq!(broken.kind, ErrorKind::MissingSetting("api_key".to_owned()));
    assert!(broken.message.contains("cannot be sent in a header"));
}

#[test]
fn basic_auth_encodes_both_templates() {
    let text = changed(
        "  type: header\n  headers:\n    authorization: \"Bearer {api_key}\"\n",
        "  type: basic\n  username: \"{api_key}\"\n",
    );
    let manifest = load(&text).unwrap();
    let headers = manifest
        .auth_headers(&settings(&[("api_key", "key")]))
        .unwrap();
    // base64("key:")
    assert_eq!(headers["authorization"], "Basic a2V5Og==");
    assert!(headers["authorization"].is_sensitive());
}

#[test]
fn the_default_base_url_takes_settings_and_defaults() {
    let text = changed(
        "    label: Company\n",
        "    label: Company\n    default: acme\n    pattern: \"[a-z]+\"\n",
    )
    .replacen(
        "default: https://api.acme.example",
        "default: \"https://{company}.acme.example\"",
        1,
    );
    let manifest = load(&text).unwrap();
    let specs = manifest.settings();
    let url = |pairs: &[(&str, &str)]| {
        let settings = ConnectionSettings::new(
            specs,
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v))),
        );
        manifest.default_base_url(&settings).map(|u| u.to_string())
    };
    assert_eq!(
        url(&[("company", "globex")]).unwrap(),
        "https://globex.acme.example/"
    );
    assert_eq!(
        url(&[]).unwrap(),
        "https://acme.acme.example/",
        "the default"
    );
}

#[test]
fn the_committed_schema_matches_the_types() {
    let generated = serde_json::to_string_pretty(&manifest_schema()).unwrap() + "\n";
    let committed = include_str!("../../../schema.json");
    assert!(
        generated == committed,
        "connectors/schema.json is stale: run `cargo run -- connectors schema > connectors/schema.json`"
    );
}

// === Errors found while parsing, at their exact place ===

#[test]
fn an_unknown_key_is_reported_where_it_is() {
    assert_error(
        &changed("  api_version: v1\n", "  api_version: v1\n  vendor: acme\n"),
        "5:3:",
        "unknown field `vendor`",
    );
}

#[test]
fn an_unknown_key_inside_a_typed_block_is_reported_where_it_is() {
    assert_error(
        &changed(
            "        next: $.next\n",
            "        next: $.next\n        nxt: $.x\n",
        ),
        "34:9:",
        "unknown field `nxt`",
    );
}

#[test]
fn an_unknown_type_is_reported_at_the_type() {
    assert_error(
        &changed("  type: header\n", "  type: bearer\n"),
        "16:3:",
        "unknown variant `bearer`",
    );
}

#[test]
fn a_missing_type_is_reported_at_the_block() {
    assert_error(
        &changed("  type: header\n", ""),
        "16:3:",
        "missing field `type`",
    );
}

#[test]
fn a_duplicate_operation_is_reported() {
    assert_error(
        &changed(
            "    get:\n",
            "    get:\n      path: /v1/deals/{id}\n    get:\n",
        ),
        "37:5:",
        "duplicate",
    );
}

#[test]
fn a_broken_template_is_reported_at_its_value() {
    assert_error(
        &changed("\"Bearer {api_key}\"", "\"Bearer {api_key\""),
        "18:20:",
        "never closed",
    );
}

#[test]
fn a_bad_record_path_is_reported_at_its_value() {
    assert_error(
        &changed("records: $.data", "records: data"),
        "29:16:",
        "must start with $",
    );
}

#[test]
fn a_bad_host_pattern_is_reported_at_its_value() {
    assert_error(
        &changed("\"*.acme.example\"", "\"acme.*.example\""),
        "14:29:",
        "a wildcard may only start the entry",
    );
}

#[test]
fn a_bad_status_is_reported_at_its_value() {
    assert_error(
        &changed("status: 5xx", "status: 6xx"),
        "24:17:",
        "not a status",
    );
}

#[test]
fn a_bad_setting_pattern_is_reported_at_its_value() {
    assert_error(
        &changed(
            "    label: Company\n",
            "    label: Company\n    pattern: \"[a-\"\n",
        ),
        "12:14:",
        "not a regular expression",
    );
}

// === Errors found by the checks, at the element they are about ===

#[test]
fn the_id_must_be_the_connectors() {
    assert_error(
        &changed("id: acme", "id: acne"),
        "2:7:",
        "meta.id: the manifest of connector \"acme\" says id \"acne\"",
    );
}

#[test]
fn an_auth_template_may_name_only_settings() {
    assert_error(
        &changed("{api_key}\"", "{api_kye}\""),
        "18:20:",
        "auth.headers.authorization: {api_kye} is neither a setting nor known in auth; it may use {api_key}, {company}",
    );
}

#[test]
fn a_path_may_name_the_id_and_non_secret_settings_only() {
    assert_error(
        &changed("/v1/deals/{id}", "/v1/{tenant}/deals/{id}"),
        "36:13:",
        "{tenant} is neither a setting nor known in a path; it may use {id}, {company}",
    );
    assert_error(
        &changed("/v1/deals/{id}", "/v1/{api_key}/deals/{id}"),
        "36:13:",
        "{api_key} is a secret setting; secrets may only be used in auth",
    );
    assert_error(
        &changed("path: /v1/deals\n", "path: /v1/deals/{id}\n"),
        "28:13:",
        "{id} is neither a setting nor known in a path that names no record",
    );
    assert_error(
        &changed("/v1/deals/{id}", "/v1/deals/{company}"),
        "36:13:",
        "needs {id}",
    );
}

#[test]
fn settings_are_named_once_and_sensibly() {
    assert_error(
        &changed("  - name: company\n", "  - name: api_key\n"),
        "10:11:",
        "declared twice",
    );
    assert_error(
        &changed("  - name: company\n", "  - name: base_url\n"),
        "10:11:",
        "base_url is a setting of every connector",
    );
    assert_error(
        &changed("  - name: company\n", "  - name: Company\n"),
        "10:11:",
        "not a setting name",
    );
}

#[test]
fn a_default_must_be_usable() {
    assert_error(
        &changed("    secret: true\n", "    secret: true\n    default: k\n"),
        "9:14:",
        "a secret setting cannot have a default",
    );
    assert_error(
        &changed(
            "    label: Company\n",
            "    label: Company\n    default: ACME\n    pattern: \"[a-z]+\"\n",
        ),
        "12:14:",
        "the default does not match the pattern [a-z]+",
    );
}

#[test]
fn the_default_base_url_is_https_on_a_declared_host() {
    assert_error(
        &changed(
            "default: https://api.acme.example",
            "default: https://api.other.example",
        ),
        "13:12:",
        "the default's host api.other.example is not one of base_url.hosts",
    );
    assert_error(
        &changed(
            "default: https://api.acme.example",
            "default: http://api.acme.example",
        ),
        "13:12:",
        "over HTTPS",
    );
    assert_error(
        &changed(
            "default: https://api.acme.example",
            "default: \"https://{api_key}.acme.example\"",
        ),
        "13:12:",
        "{api_key} is a secret setting",
    );
}

const OAUTH: &str = "rate_limit:";

fn with_oauth(block: &str) -> String {
    changed(OAUTH, &format!("oauth2:\n{block}rate_limit:"))
}

const OAUTH_BLOCK: &str = "  authorization_url: https://acme.example/authorize\n  token_url: https://auth.acme.example/token\n  keep: [instance_url]\n  headers:\n    authorization: \"Bearer {access_token}\"\n    x-instance: \"{instance_url}\"\n";

#[test]
fn an_oauth_connection_sends_its_token_and_needs_no_api_key() {
    let manifest = load(&with_oauth(OAUTH_BLOCK)).unwrap();
    let required = |oauth| -> Vec<&str> {
        manifest
            .required_settings(oauth)
            .map(|s| s.name.as_str())
            .collect()
    };
    assert_eq!(required(false), ["api_key"]);
    assert!(required(true).is_empty(), "only auth uses the API key");
    let authorized = ConnectionSettings::new(
        manifest.settings(),
        [
            ("oauth:access_token", "at-1"),
            ("oauth:instance_url", "eu1"),
        ]
        .map(|(k, v)| (k.to_owned(), SecretString::from(v))),
    );
    let headers = manifest.auth_headers(&authorized).unwrap();
    assert_eq!(headers["authorization"], "Bearer at-1");
    assert_eq!(headers["x-instance"], "eu1");
    assert!(headers["authorization"].is_sensitive());
    // Without tokens the connection is an API-key one.
    let keyed = manifest
        .auth_headers(&settings(&[("api_key", "k-1")]))
        .unwrap();
    assert_eq!(keyed["authorization"], "Bearer k-1");
    assert!(
        manifest
            .token_hosts()
            .iter()
            .any(|h| h.to_string() == "auth.acme.example"),
        "the token URL's host is reachable by token calls"
    );
}

#[test]
fn oauth_declarations_are_checked() {
    for (from, to, words) in [
        (
            "https://auth.acme.example/token",
            "http://auth.acme.example/token",
            "is not an https:// URL",
        ),
        (
            "keep: [instance_url]",
            "keep: [access_token]",
            "cannot be kept",
        ),
        (
            "{instance_url}",
            "{region}",
            "{region} is neither a setting nor known in oauth2.headers",
        ),
    ] {
        let text = with_oauth(&OAUTH_BLOCK.replace(from, to));
        let errors = errors(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("oauth2.") && e.contains(words)),
            "{from} → {to}: {errors:#?}"
        );
    }
    for (revoke, words) in [
        (
            "https://elsewhere.example/revoke",
            "neither the token URL's host nor one of base_url.hosts",
        ),
        ("http://auth.acme.example/revoke", "is not an https:// URL"),
    ] {
        let errors = errors(&with_oauth(&format!(
            "{OAUTH_BLOCK}  revoke_url: {revoke}\n"
        )));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("oauth2.revoke_url") && e.contains(words)),
            "{revoke}: {errors:#?}"
        );
    }
    assert!(
        load(&with_oauth(&format!(
            "{OAUTH_BLOCK}  revoke_url: https://auth.acme.example/revoke\n"
        )))
        .is_ok()
    );
    let text = with_oauth(&format!("{OAUTH_BLOCK}  base_url_from: api_domain\n"));
    let errors = errors(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("oauth2.base_url_from") && e.contains("not one of oauth2.keep")),
        "{errors:#?}"
    );
}

#[test]
fn header_names_must_be_valid_and_distinct() {
    assert_error(
        &changed(
            "    authorization: \"Bearer {api_key}\"\n",
            "    authorization: \"Bearer {api_key}\"\n    Authorization: \"{api_key}\"\n",
        ),
        "18:5:",
        "given twice",
    );
    assert_error(
        &changed("    authorization:", "    \"bad header\":"),
        "18:5:",
        "not an HTTP header name",
    );
}

#[test]
fn page_sizes_must_be_consistent() {
    assert_error(
        &changed("default: 50, maximum: 100", "default: 500, maximum: 100"),
        "34:45:",
        "the default page size 500 is above the maximum 100",
    );
    assert_error(
        &changed("default: 50, maximum: 100", "maximum: 0"),
        "34:45:",
        "at least 1",
    );
}

#[test]
fn a_get_list_pages_in_its_query_without_clashing() {
    assert_error(
        &changed(
            "        param: cursor\n",
            "        param: cursor\n        in: body\n",
        ),
        "33:13:",
        "a GET has no body",
    );
    assert_error(
        &changed(
            "      records: $.data\n",
            "      query: { limit: \"5\" }\n      records: $.data\n",
        ),
        "29:16:",
        "the query already sets \"limit\", which the pagination sets",
    );
}

#[test]
fn resources_must_be_known_and_listed() {
    let errors = errors(&changed("  opportunities:\n", "  deals:\n"));
    assert_eq!(
        errors,
        [
            "26:3: resources.deals: \"deals\" is not a unified resource; crmgate serves: opportunities, companies, contacts, leads, notes, activities, users, pipelines",
            "26:3: resources: the connector maps opportunities but the manifest has no resources.opportunities.list",
        ]
    );
}

#[test]
fn a_search_needs_a_list_and_keyset_paging_needs_a_filter_list() {
    let search = changed("    list:\n", "    search:\n");
    let errors = errors(&search);
    assert!(
        errors.iter().any(|e| e.contains("declare list too")),
        "{errors:#?}"
    );
    assert_error(
        &changed(
            "        type: cursor\n        param: cursor\n        next: $.next\n",
            "        type: keyset\n        field: id\n        after: { field: \"{field}\", gt: \"{value}\" }\n",
        ),
        "31:9:",
        "keyset paging adds its filter to the filter list",
    );
}

#[test]
fn budgets_and_retry_hints_must_be_usable() {
    assert_error(
        &changed("requests: 10", "requests: 0"),
        "20:23:",
        "at least 1 request",
    );
    assert_error(
        &changed(
            "  budget: { requests: 10, per_seconds: 2 }\n",
            "  budget: { requests: 10, per_seconds: 2 }\n  retry_after: [{ type: reset }]\n",
        ),
        "21:17:",
        "needs rate_limit.headers",
    );
}

#[test]
fn an_error_rule_shadowed_by_an_earlier_one_is_refused() {
    assert_error(
        &changed(
            "    - { status: 5xx, kind: unavailable }\n",
            "    - { status: 5xx, kind: unavailable }\n    - { status: 503, kind: rate_limited }\n",
        ),
        "25:7:",
        "never applies: rules[1]",
    );
}

#[test]
fn a_lookup_reads_more_than_a_page_only_with_a_pagination() {
    let text = format!(
        "{BASE}lookups:\n  tags:\n    path: /v1/tags\n    records: $\n    max_pages: 3\n    key: $.id\n    label: $.name\n"
    );
    assert_error(&text, "41:16:", "needs a pagination");
}

#[test]
fn every_problem_of_a_file_is_reported_in_file_order() {
    let text = changed("id: acme", "id: acne").replacen("{api_key}\"", "{api_kye}\"", 1);
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("2:") && errors[1].starts_with("18:"),
        "{errors:#?}"
    );
}

#[test]
fn keys_before_type_still_load_and_their_errors_point_at_the_block() {
    let text = changed(
        "        type: cursor\n        param: cursor\n        next: $.next\n        page_size: { param: limit, default: 50, maximum: 100 }\n",
        "        page_size: { param: limit, default: 50, maximum: 100 }\n        next: $.next\n        type: cursor\n        param: cursor\n",
    );
    let manifest = load(&text).unwrap();
    assert_eq!(manifest.max_page_size(Resource::Opportunities), 100);
    assert_error(
        &text.replacen("next: $.next", "next: next", 1),
        "31:9:",
        "must start with $",
    );
}

#[test]
fn an_overlap_must_leave_room_for_new_records() {
    let paged = |overlap: u32| {
        changed(
            "        type: cursor\n        param: cursor\n        next: $.next\n",
            &format!(
                "        type: page_number\n        param: page\n        overlap: {overlap}\n"
            ),
        )
    };
    assert!(load(&paged(5)).is_ok());
    assert_error(
        &paged(100),
        "33:18:",
        "an overlap of 100 leaves no new record on a page of 100",
    );
}

#[test]
fn a_broken_string_deep_in_a_body_template_is_reported_at_that_string() {
    let body = changed(
        "    get:\n",
        "    create:\n      method: POST\n      path: /v1/deals\n      body:\n        meta:\n          tags: [fixed, \"{company\"]\n    get:\n",
    );
    assert_error(&body, "40:25:", "never closed");
    let unknown = body.replace("\"{company\"", "\"{region}\"");
    assert_error(&unknown, "40:25:", "region");
}

#[test]
fn a_one_parameter_sort_names_the_field_and_clashes_with_nothing() {
    let sort = |ascending: &str| {
        changed(
            "    get:\n",
            &format!(
                "      sort: {{ type: param, name: order, ascending: \"{ascending}\", descending: \"-{{field}}\" }}\n    get:\n"
            ),
        )
    };
    assert!(load(&sort("{field}")).is_ok());
    assert_error(
        &sort("up"),
        "35:",
        "must name the vendor field once, as {field}",
    );
    assert_error(
        &sort("{company}{field}"),
        "35:",
        "must name the vendor field once",
    );
    assert_error(
        &changed(
            "    get:\n",
            "      sort: { type: param, name: limit, ascending: \"{field}\", descending: \"-{field}\" }\n    get:\n",
        ),
        "35:",
        "\"limit\" is set by both the sort and the pagination",
    );
}

#[test]
fn an_id_prefix_is_for_text_ids() {
    let with = |id: &str| {
        changed(
            "  opportunities:\n",
            &format!("  opportunities:\n    id: {id}\n"),
        )
    };
    assert!(load(&with("{ format: string, prefix: oppo_ }")).is_ok());
    assert_error(
        &with("{ format: integer, prefix: oppo_ }"),
        "27:",
        "integer ids and GUIDs have no prefix",
    );
    assert_error(
        &with("{ format: uuid, prefix: oppo_ }"),
        "27:",
        "integer ids and GUIDs have no prefix",
    );
    assert_error(
        &with("{ prefix: \"\" }"),
        "27:",
        "an empty prefix says nothing",
    );
}

#[test]
fn an_embed_is_checked_as_a_lookup_is_and_needs_a_member_name() {
    let embed = |name: &str, extra: &str| {
        changed(
            "    get:\n      path: /v1/deals/{id}\n",
            &format!(
                "    get:\n      path: /v1/deals/{{id}}\n    embed:\n      {name}:\n        path: /v1/lines\n        records: $.data\n        key: $.deal_id\n        on: $.id\n{extra}"
            ),
        )
    };
    let manifest = load(&embed("lines", "")).unwrap();
    let spec = &manifest.declaration().resources["opportunities"];
    assert_eq!(spec.embed["lines"].max_pages, 1);
    assert_error(&embed("Line-Items", ""), "38:7:", "is not a member name");
    assert_error(
        &embed("lines", "        max_pages: 3\n"),
        "43:20:",
        "needs a pagination",
    );
    assert_error(
        &embed("lines", "        method: DELETE\n"),
        "43:17:",
        "an embed is GET or POST",
    );
}

#[test]
fn a_search_by_some_filters_is_declared_on_the_search_and_names_its_ids() {
    let search = |extra: &str| {
        changed(
            "    get:\n      path: /v1/deals/{id}\n",
            &format!(
                "    search:\n      path: /v1/deals/search\n      records: $.items\n      pagination: {{ type: cursor, param: cursor, next: $.next, page_size: {{ param: limit, maximum: 100 }} }}\n      filters: {{ type: query }}\n{extra}    get:\n      path: /v1/deals/{{id}}\n"
            ),
        )
    };
    let hydrate = "      hydrate:\n        path: /v1/deals\n        query: { ids: \"{id}\" }\n        records: $.data\n        id: $.item.id\n";
    let manifest = load(&search(&format!(
        "      for_filters: [term]\n      takes: {{ org_id: organization_id }}\n{hydrate}"
    )))
    .unwrap();
    let op = manifest.declaration().resources["opportunities"]
        .search
        .as_ref()
        .unwrap();
    assert_eq!(op.for_filters, ["term"]);
    assert_eq!(op.takes["org_id"], "organization_id");
    assert_error(
        &search("      takes: { org_id: organization_id }\n"),
        "40:14:",
        "give for_filters",
    );
    assert_error(
        &search(&hydrate.replace("{ ids: \"{id}\" }", "{ ids: all }")),
        "",
        "names the ids, {id}",
    );
    assert_error(
        &changed(
            "        page_size: { param: limit, default: 50, maximum: 100 }\n",
            "        page_size: { param: limit, default: 50, maximum: 100 }\n      for_filters: [term]\n",
        ),
        "",
        "give it on search",
    );
}

#[test]
fn a_manifest_says_how_calls_carry_credentials_unless_it_has_oauth() {
    let no_auth = changed(
        "auth:\n  type: header\n  headers:\n    authorization: \"Bearer {api_key}\"\n",
        "",
    );
    assert_error(&no_auth, "1:1", "`auth`, or `oauth2`");
    let oauth_only = no_auth.replacen(
        "rate_limit:",
        "oauth2:\n  authorization_url: https://acme.example/authorize\n  token_url: https://api.acme.example/token\nrate_limit:",
        1,
    );
    let manifest = load(&oauth_only).unwrap();
    assert!(manifest.oauth_only());
    let err = manifest.auth_headers(&settings(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::MissingSetting("oauth".into()));
}

#[test]
fn an_expression_list_needs_its_place_in_the_query() {
    let expression = "        page_size: { param: limit, default: 50, maximum: 100 }\n      filters: { type: expression, dialect: soql, equals: \"{field} = {value}\", join: \" AND \", prefix: \" WHERE \" }\n";
    let without = changed(
        "        page_size: { param: limit, default: 50, maximum: 100 }\n",
        expression,
    );
    assert_error(&without, "35:16", "{where}");
    let with = without.replacen(
        "      path: /v1/deals\n",
        "      path: /v1/deals\n      query: { q: \"SELECT Id FROM Deal{where}\" }\n",
        1,
    );
    assert!(load(&with).is_ok());
    let elsewhere = with.replacen(
        "      path: /v1/deals/{id}\n",
        "      path: /v1/deals/{id}\n      query: { q: \"{where}\" }\n",
        1,
    );
    assert!(
        errors(&elsewhere).iter().any(|e| e.contains("where")),
        "{:?}",
        errors(&elsewhere)
    );
}

#[test]
fn field_names_need_a_parameter_unless_they_fill_a_select_list() {
    let fields = changed(
        "      records: $.data\n",
        "      records: $.data\n      fields: { in: query }\n",
    );
    assert_error(&fields, "30:", "`param`");
    let header = changed(
        "      records: $.data\n",
        "      records: $.data\n      headers: { \"bad header\": x }\n",
    );
    assert_error(&header, "30:", "not a header name");
}
