//! OAuth 2.0 connections (RFC 6749, authorization code grant, with PKCE from RFC 7636): the
//! authorization URL, the code exchange and the refresh, as a manifest's `oauth2` declares
//! them. The gateway keeps the flow's state, the tokens and the locks; this module only speaks
//! to the vendor's token endpoint, through an [`OutboundClient`] whose policy admits it.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::manifest::{ClientAuth, OAuth2};
use crate::{ConnectorError, ErrorKind, HostPattern, Manifest, OutboundClient, Result};

/// The settings keys tokens are kept under, beside a connection's own settings. A `:` is in no
/// setting name, so they can neither clash with one nor be set through Vault's settings.
pub const ACCESS_TOKEN: &str = "oauth:access_token";
pub const REFRESH_TOKEN: &str = "oauth:refresh_token";
/// Unix seconds.
pub const EXPIRES_AT: &str = "oauth:expires_at";
/// The prefix of a kept token-answer field.
pub const KEPT: &str = "oauth:";

/// Largest token answer read; real ones are well under a kilobyte.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// One application's client at a vendor, as its owner registered it.
#[derive(Debug)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The scopes asked for instead of the manifest's.
    pub scopes: Option<Vec<String>>,
    /// Overrides of the manifest's URLs (sandboxes, tests), within the allowed hosts.
    pub authorization_url: Option<Url>,
    pub token_url: Option<Url>,
}

/// What a token endpoint granted.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: SecretString,
    /// `None` when the answer has none (a refresh that keeps the current one).
    pub refresh_token: Option<SecretString>,
    /// Unix seconds; `None` when the vendor does not say.
    pub expires_at: Option<i64>,
    /// The manifest's `keep` fields of the answer.
    pub kept: BTreeMap<String, String>,
}

impl Tokens {
    /// Writes the tokens into a connection's stored settings, replacing earlier ones; a
    /// refresh token the answer lacks is kept from before.
    pub fn store(self, settings: &mut BTreeMap<String, SecretString>) {
        settings.insert(ACCESS_TOKEN.to_owned(), self.access_token);
        if let Some(refresh) = self.refresh_token {
            settings.insert(REFRESH_TOKEN.to_owned(), refresh);
        }
        match self.expires_at {
            Some(at) => settings.insert(EXPIRES_AT.to_owned(), SecretString::from(at.to_string())),
            None => settings.remove(EXPIRES_AT),
        };
        for (name, value) in self.kept {
            settings.insert(format!("{KEPT}{name}"), SecretString::from(value));
        }
    }
}

impl Tokens {
    /// The API root the token answer names for the account (`oauth2.base_url_from`), if the
    /// manifest takes one and the answer has it; the caller checks it before use.
    pub fn base_url(&self, oauth: &OAuth2) -> Option<&str> {
        self.kept
            .get(oauth.base_url_from.as_ref()?)
            .map(String::as_str)
    }
}

/// Whether stored settings hold OAuth tokens.
pub fn is_authorized(settings: &BTreeMap<String, SecretString>) -> bool {
    settings
        .get(ACCESS_TOKEN)
        .is_some_and(|t| !t.expose_secret().is_empty())
}

/// When stored tokens expire, in Unix seconds.
pub fn expires_at(settings: &BTreeMap<String, SecretString>) -> Option<i64> {
    settings.get(EXPIRES_AT)?.expose_secret().parse().ok()
}

/// Takes every token out of stored settings (a revoked or disconnected grant).
pub fn forget(settings: &mut BTreeMap<String, SecretString>) {
    settings.retain(|name, _| !name.starts_with(KEPT));
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    pub fn generate() -> Self {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).expect("the operating system provides randomness");
        let verifier = URL_SAFE_NO_PAD.encode(raw);
        Self {
            challenge: Self::challenge_of(&verifier),
            verifier: SecretString::from(verifier),
        }
    }

    fn challenge_of(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }
}

impl Manifest {
    /// The connector's OAuth 2.0 declaration, if it has one.
    pub fn oauth2(&self) -> Option<&OAuth2> {
        self.declaration().oauth2.as_ref()
    }

    fn oauth2_or_unsupported(&self) -> Result<&OAuth2> {
        self.oauth2().ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Unsupported,
                format!("The {} connector has no OAuth 2.0 flow.", self.id()),
            )
        })
    }

    /// The hosts the token calls may reach: the vendor's, and the token URL's.
    pub fn token_hosts(&self) -> Vec<HostPattern> {
        let mut hosts = self.vendor_hosts().to_vec();
        if let Some(host) = self
            .oauth2()
            .and_then(|o| Url::parse(&o.token_url).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .and_then(|h| HostPattern::parse(&h).ok())
        {
            hosts.push(host);
        }
        hosts
    }

    /// Where the end customer is sent to grant access: the authorization URL with the client
    /// id, the gateway's callback, the scopes, the flow's `state` and the PKCE challenge (when
    /// the manifest asks for PKCE). The manifest's scopes may name the connection's settings
    /// (Dynamics' `https://{org}.dynamics.com/user_impersonation`): a setting the connection
    /// does not have yet is refused by name.
    pub fn authorize_url(
        &self,
        app: &OAuthApp,
        settings: &crate::ConnectionSettings,
        callback: &str,
        state: &str,
        pkce: Option<&Pkce>,
    ) -> Result<Url> {
        let oauth = self.oauth2_or_unsupported()?;
        let mut url = match &app.authorization_url {
            Some(url) => url.clone(),
            None => Url::parse(&oauth.authorization_url)
                .expect("authorization URLs are checked when the manifest loads"),
        };
        let scopes = scopes_of(oauth, app, settings)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &app.client_id)
                .append_pair("redirect_uri", callback)
                .append_pair("state", state);
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(&oauth.scope_separator));
            }
            if let (true, Some(pkce)) = (oauth.pkce, pkce) {
                query
                    .append_pair("code_challenge", &pkce.challenge)
                    .append_pair("code_challenge_method", "S256");
            }
            for (name, value) in &oauth.authorize_params {
                query.append_pair(name, value);
            }
        }
        Ok(url)
    }

    /// Exchanges an authorization code for tokens. Sent once: a code is single-use.
    pub async fn exchange_code(
        &self,
        http: &OutboundClient,
        app: &OAuthApp,
        code: &str,
        callback: &str,
        verifier: Option<&SecretString>,
    ) -> Result<Tokens> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", callback),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier.expose_secret()));
        }
        self.token_call(http, app, &form).await
    }

    /// Trades a refresh token for a new access token. Sent once: a refresh token the vendor
    /// rotates must never be spent twice. With `scope_on_refresh` the scopes go along, as
    /// they went to the authorization.
    pub async fn refresh_tokens(
        &self,
        http: &OutboundClient,
        app: &OAuthApp,
        settings: &crate::ConnectionSettings,
        refresh_token: &SecretString,
    ) -> Result<Tokens> {
        let oauth = self.oauth2_or_unsupported()?;
        let scope = if oauth.scope_on_refresh {
            Some(scopes_of(oauth, app, settings)?.join(&oauth.scope_separator))
        } else {
            None
        };
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        if let Some(scope) = scope.as_deref().filter(|s| !s.is_empty()) {
            form.push(("scope", scope));
        }
        let tokens = self.token_call(http, app, &form).await?;
        if self.oauth2_or_unsupported()?.rotates_refresh_tokens && tokens.refresh_token.is_none() {
            return Err(ConnectorError::new(
                ErrorKind::BadResponse,
                "The token endpoint answered a refresh without the new refresh token this vendor always issues.",
            ));
        }
        Ok(tokens)
    }

    async fn token_call(
        &self,
        http: &OutboundClient,
        app: &OAuthApp,
        form: &[(&str, &str)],
    ) -> Result<Tokens> {
        let oauth = self.oauth2_or_unsupported()?;
        let url = match &app.token_url {
            Some(url) => url.clone(),
            None => Url::parse(&oauth.token_url)
                .expect("token URLs are checked when the manifest loads"),
        };
        let (status, json) = post_form(oauth, http, app, url, form).await?;
        let json =
            json.ok_or_else(|| ConnectorError::unreadable(status, "the token answer is not JSON"))?;
        tokens_of(oauth, &json, status)
    }

    /// Asks the vendor to revoke a token (RFC 7009), when the manifest names where. An
    /// application whose token URL is overridden (a sandbox) has its revoke URL on the same
    /// origin. `false` when the vendor has no revocation endpoint.
    pub async fn revoke_token(
        &self,
        http: &OutboundClient,
        app: &OAuthApp,
        token: &SecretString,
        hint: &str,
    ) -> Result<bool> {
        let oauth = self.oauth2_or_unsupported()?;
        let Some(declared) = &oauth.revoke_url else {
            return Ok(false);
        };
        let mut url =
            Url::parse(declared).expect("revoke URLs are checked when the manifest loads");
        if let Some(token_url) = &app.token_url {
            // Same scheme, host and port as the overriding token URL; the path stays.
            let _ = url.set_scheme(token_url.scheme());
            let _ = url.set_host(token_url.host_str());
            let _ = url.set_port(token_url.port());
        }
        let form = [("token", token.expose_secret()), ("token_type_hint", hint)];
        post_form(oauth, http, app, url, &form).await?;
        Ok(true)
    }
}

/// Posts a form to one of the vendor's OAuth endpoints with the client's credentials: the
/// answer's status and JSON, or the vendor's refusal as an error with every secret of the call
/// cut out. Sent once.
async fn post_form(
    oauth: &OAuth2,
    http: &OutboundClient,
    app: &OAuthApp,
    url: Url,
    form: &[(&str, &str)],
) -> Result<(u16, Option<Value>)> {
    let (body, headers) = token_request(oauth, app, form);
    let mut response = http
        .forward(Method::POST, url, headers, body, false)
        .await?;
    let status = response.status().as_u16();
    let mut answer = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        ConnectorError::new(
            ErrorKind::Unavailable,
            format!("The token endpoint's answer broke off: {e}."),
        )
    })? {
        if answer.len() + chunk.len() > MAX_TOKEN_ANSWER {
            return Err(ConnectorError::unreadable(
                status,
                "the token answer is too large",
            ));
        }
        answer.extend_from_slice(&chunk);
    }
    let secrets = [app.client_secret.expose_secret()].into_iter().chain(
        form.iter()
            .filter(|(k, _)| !matches!(*k, "grant_type" | "token_type_hint"))
            .map(|(_, v)| *v),
    );
    let json: Option<Value> = serde_json::from_slice(&answer).ok();
    if !(200..300).contains(&status) {
        return Err(token_error(oauth, status, json.as_ref(), secrets));
    }
    Ok((status, json))
}

/// The form body and headers of a token call, the client's credentials where the manifest
/// says they go.
fn token_request(oauth: &OAuth2, app: &OAuthApp, form: &[(&str, &str)]) -> (Bytes, HeaderMap) {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.extend_pairs(form.iter().copied());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    match oauth.client_auth {
        ClientAuth::Body => {
            body.append_pair("client_id", &app.client_id);
            body.append_pair("client_secret", app.client_secret.expose_secret());
        }
        ClientAuth::Basic => {
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = SecretString::from(format!(
                "{}:{}",
                encode(&app.client_id),
                encode(app.client_secret.expose_secret())
            ));
            let mut value =
                HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair.expose_secret())))
                    .expect("base64 is always a valid header value");
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
    }
    (Bytes::from(body.finish()), headers)
}

/// The scopes asked for: the application's own, or the manifest's with the connection's
/// settings in them.
fn scopes_of(
    oauth: &OAuth2,
    app: &OAuthApp,
    settings: &crate::ConnectionSettings,
) -> Result<Vec<String>> {
    match &app.scopes {
        Some(own) => Ok(own.clone()),
        None => oauth
            .scopes
            .iter()
            .map(|scope| {
                scope.render(|name| settings.require(name).map(std::borrow::Cow::Borrowed))
            })
            .collect(),
    }
}

/// The tokens of a successful answer; `expires_in` may be a number or its text.
/// RFC 6749 names the fields in snake case; HubSpot's date-versioned token endpoint documents
/// camel case (`accessToken`, `expiresIn`), so either is read.
fn tokens_of(oauth: &OAuth2, json: &Value, status: u16) -> Result<Tokens> {
    let text = |name: &str| -> Option<String> {
        let camel = camel_case(name);
        match json.get(name).or_else(|| json.get(&camel))? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let access_token = text("access_token").ok_or_else(|| {
        ConnectorError::unreadable(status, "the token answer has no access_token")
    })?;
    // A lifetime outside a second to a year is not one to plan refreshes by.
    let expires_at = text("expires_in")
        .and_then(|s| s.parse::<i64>().ok())
        .map(|seconds| now() + seconds.clamp(1, 366 * 24 * 3600));
    let kept = oauth
        .keep
        .iter()
        .filter_map(|name| Some((name.clone(), text(name)?)))
        .collect();
    Ok(Tokens {
        access_token: SecretString::from(access_token),
        refresh_token: text("refresh_token").map(SecretString::from),
        expires_at,
        kept,
    })
}

/// `access_token` → `accessToken`.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A refused token call: `Revoked` when the vendor's `error` says the grant is gone, else a
/// rejection with the vendor's code and description, any secret of the call cut out.
fn token_error<'a>(
    oauth: &OAuth2,
    status: u16,
    json: Option<&Value>,
    secrets: impl Iterator<Item = &'a str>,
) -> ConnectorError {
    let field = |name: &str| json.and_then(|j| j.get(name)).and_then(Value::as_str);
    // RFC 6749 puts the code in `error`; some vendors answer their own shape (HubSpot's
    // `status` or `category`).
    let code = ["error", "status", "category"]
        .into_iter()
        .find_map(field)
        .unwrap_or("");
    let mut description: String = ["error_description", "message"]
        .into_iter()
        .find_map(field)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    for secret in secrets.filter(|s| s.len() >= 4) {
        description = description.replace(secret, "[REDACTED]");
    }
    let said = if description.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {description}")
    };
    if oauth.reauthorize_on.iter().any(|c| c == code) {
        return ConnectorError::new(
            ErrorKind::Revoked,
            format!("The CRM no longer honours the connection's authorization ({said}); the end customer must authorize again."),
        )
        .with_status(status);
    }
    let kind = if status >= 500 {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Unauthorized
    };
    ConnectorError::new(
        kind,
        format!("The CRM's token endpoint refused the call with {status} ({said})."),
    )
    .with_status(status)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            Pkce::challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce::generate();
        assert_eq!(pkce.verifier.expose_secret().len(), 43);
        assert_eq!(
            Pkce::challenge_of(pkce.verifier.expose_secret()),
            pkce.challenge
        );
    }

    fn declared() -> OAuth2 {
        serde_saphyr::from_str(
            "authorization_url: https://a.example/auth\ntoken_url: https://a.example/token\nkeep: [api_domain]\n",
        )
        .unwrap()
    }

    #[test]
    fn token_answers_are_read_in_snake_or_camel_case() {
        let oauth = declared();
        for answer in [
            serde_json::json!({ "access_token": "a", "refresh_token": "r", "expires_in": 60, "api_domain": "https://x.example" }),
            serde_json::json!({ "accessToken": "a", "refreshToken": "r", "expiresIn": "60", "apiDomain": "https://x.example" }),
        ] {
            let tokens = tokens_of(&oauth, &answer, 200).unwrap();
            assert_eq!(tokens.access_token.expose_secret(), "a");
            assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "r");
            let left = tokens.expires_at.unwrap() - now();
            assert!((59..=60).contains(&left), "{left}");
            assert_eq!(tokens.kept["api_domain"], "https://x.example");
        }
        let err = tokens_of(&oauth, &serde_json::json!({ "token": "a" }), 200).unwrap_err();
        assert!(err.message.contains("no access_token"), "{}", err.message);
    }

    #[test]
    fn refused_grants_are_told_from_other_refusals_and_secrets_cut_out() {
        let mut oauth = declared();
        oauth.reauthorize_on = vec!["invalid_grant".into(), "BAD_REFRESH_TOKEN".into()];
        let refused = |body: serde_json::Value| {
            token_error(&oauth, 400, Some(&body), ["rt-secret-1"].into_iter())
        };
        assert_eq!(
            refused(serde_json::json!({ "error": "invalid_grant" })).kind,
            ErrorKind::Revoked
        );
        assert_eq!(
            refused(serde_json::json!({ "status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token" })).kind,
            ErrorKind::Revoked
        );
        let other = refused(
            serde_json::json!({ "error": "invalid_client", "error_description": "rt-secret-1 is not yours" }),
        );
        assert_eq!(other.kind, ErrorKind::Unauthorized);
        assert!(
            other
                .message
                .contains("invalid_client: [REDACTED] is not yours"),
            "{}",
            other.message
        );
        let down = token_error(&oauth, 503, None, std::iter::empty());
        assert_eq!(down.kind, ErrorKind::Unavailable);
    }

    #[test]
    fn tokens_replace_earlier_ones_and_keep_a_refresh_token_not_reissued() {
        let mut settings = BTreeMap::from([
            ("api_key".to_owned(), SecretString::from("k")),
            (REFRESH_TOKEN.to_owned(), SecretString::from("r-1")),
        ]);
        Tokens {
            access_token: SecretString::from("a-2"),
            refresh_token: None,
            expires_at: Some(1_900_000_000),
            kept: BTreeMap::from([("instance_url".to_owned(), "https://x".to_owned())]),
        }
        .store(&mut settings);
        assert!(is_authorized(&settings));
        assert_eq!(settings[REFRESH_TOKEN].expose_secret(), "r-1");
        assert_eq!(expires_at(&settings), Some(1_900_000_000));
        assert_eq!(settings["oauth:instance_url"].expose_secret(), "https://x");
        forget(&mut settings);
        let left: Vec<&str> = settings.keys().map(String::as_str).collect();
        assert_eq!(left, ["api_key"]);
    }
}
