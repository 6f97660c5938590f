//! Fakes of the Microsoft identity platform token endpoint and of Blob storage's Get User
//! Delegation Key, answering with the real shapes (token JSON, `UserDelegationKey` XML).

use serde_json::json;
use stack_gateway::config::Config;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const CLIENT_ID: &str = "5f0c1a2b-0000-4000-8000-00000000c11e";
pub const CLIENT_SECRET: &str = "app-secret-value";
pub const ACCOUNT: &str = "contosomig";
pub const CONTAINER: &str = "contoso-mail";
pub const KEY_OID: &str = "6d4c3b2a-1111-4111-8111-0000000000aa";
pub const KEY_TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The user delegation key's secret, base64 as Azure sends it.
pub const KEY_VALUE: &str = "M2k4b3E1dzJ6N3k0cjFlNnQ5dTBpM282cDJhNWQ4Zmc=";
pub const TOKEN_PATH: &str = "/organizations/oauth2/v2.0/token";

pub struct Azure {
    pub login: MockServer,
    pub blob: MockServer,
}

/// A token answer as the v2 token endpoint gives it.
pub fn tokens(access: &str, refresh: Option<&str>) -> ResponseTemplate {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": "https://storage.azure.com/user_impersonation",
        "expires_in": 4779,
        "ext_expires_in": 4779,
        "access_token": access,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// An OAuth error answer (RFC 6749 §5.2) with Entra's extra fields.
pub fn oauth_error(status: u16, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
        "error_codes": [70008],
        "timestamp": "2026-11-23 03:00:00Z",
        "trace_id": "0000",
        "correlation_id": "1111",
    }))
}

/// Echoes the requested `Start`/`Expiry` into a `UserDelegationKey`, as Azure does.
struct KeyResponder;

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let from = text.find(open).map(|i| i + open.len()).unwrap_or(0);
    let to = text[from..].find(close).map(|i| i + from).unwrap_or(from);
    &text[from..to]
}

impl Respond for KeyResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body);
        let xml = format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><UserDelegationKey><SignedOid>{KEY_OID}</SignedOid><SignedTid>{KEY_TID}</SignedTid><SignedStart>{}</SignedStart><SignedExpiry>{}</SignedExpiry><SignedService>b</SignedService><SignedVersion>2026-04-06</SignedVersion><Value>{KEY_VALUE}</Value></UserDelegationKey>",
            between(&body, "<Start>", "</Start>"),
            between(&body, "<Expiry>", "</Expiry>"),
        );
        ResponseTemplate::new(200)
            .insert_header("x-ms-version", "2026-04-06")
            .set_body_raw(xml, "application/xml")
    }
}

impl Azure {
    pub async fn start() -> Self {
        Azure {
            login: MockServer::start().await,
            blob: MockServer::start().await,
        }
    }

    /// Points the gateway at the fakes, with the app registration set.
    pub fn configure(&self, c: &mut Config) {
        c.integrations.azure_client_id = Some(CLIENT_ID.into());
        c.integrations.azure_client_secret = Some(CLIENT_SECRET.into());
        c.integrations.azure_login_url = self.login.uri();
        c.integrations.azure_blob_url_template = format!("{}/{{account}}", self.blob.uri());
    }

    /// The token endpoint redeems `code` for `refresh`.
    pub async fn code_grant(&self, code: &str, refresh: &str) {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .and(body_string_contains("grant_type=authorization_code"))
            .and(body_string_contains(format!("&code={code}&")))
            .respond_with(tokens("access-from-code", Some(refresh)))
            .mount(&self.login)
            .await;
    }

    /// The token endpoint answers `answer` to a refresh with `refresh`.
    pub async fn refresh_grant(&self, refresh: &str, answer: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains(format!("&refresh_token={refresh}")))
            .respond_with(answer)
            .mount(&self.login)
            .await;
    }

    /// The token endpoint refuses every code (used or expired).
    pub async fn refuse_codes(&self) {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(oauth_error(400, "invalid_grant"))
            .mount(&self.login)
            .await;
    }

    /// Get User Delegation Key answers for `access`.
    pub async fn delegation_key(&self, access: &str) {
        Mock::given(method("POST"))
            .and(path(format!("/{ACCOUNT}/")))
            .and(query_param("restype", "service"))
            .and(query_param("comp", "userdelegationkey"))
            .and(header("authorization", format!("Bearer {access}").as_str()))
            .and(header("x-ms-version", "2026-04-06"))
            .respond_with(KeyResponder)
            .mount(&self.blob)
            .await;
    }

    /// Get User Delegation Key answers `answer` whatever is asked.
    pub async fn delegation_key_fails(&self, answer: ResponseTemplate) {
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&self.blob)
            .await;
    }

    /// Form bodies of the token requests so far.
    pub async fn token_requests(&self) -> Vec<Vec<(String, String)>> {
        self.login
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == TOKEN_PATH)
            .map(|r| url::form_urlencoded::parse(&r.body).into_owned().collect())
            .collect()
    }

    pub async fn key_requests(&self) -> Vec<Request> {
        self.blob.received_requests().await.unwrap_or_default()
    }
}

/// The value of `name` in a form body.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
