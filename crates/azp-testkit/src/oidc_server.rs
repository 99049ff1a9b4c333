//! A loopback emulation of Azure DevOps' OIDC token endpoint.
//!
//! It serves `POST /{org}/{projectId}/_apis/distributedtask/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken`,
//! which is both what `System.OidcRequestUri` holds (short form) and what
//! the long form builds from `System.CollectionUri`. It checks the bearer
//! token, and answers `{"oidcToken": "<JWT>"}` with an RS256 JWT whose claims
//! have the real shapes:
//! - Azure DevOps issuer: `iss https://vstoken.dev.azure.com/{orgId}`,
//!   `aud api://AzureADTokenExchange`, `sub sc://{org}/{project}/{connection}`;
//! - Entra issuer: `iss https://login.microsoftonline.com/{tenant}/v2.0`,
//!   `aud fb60f99c-7a34-4190-8149-302f77469936`,
//!   `sub /eid1/c/pub/t/{tenant b64}/a/{app b64}/sc/{orgId}/{connectionId}`.
//!
//! Without `serviceConnectionId` it returns a pipeline token
//! (`sub p://{org}/{project}/{pipeline}`), as Azure DevOps does. Tests can
//! make it fail the next N requests, delay, answer a fixed status (401, ...)
//! or leave the token out, and can read every request it received.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use ring::signature::{self, KeyPair as _, RsaKeyPair};

use crate::serve::{Emulation, Reply};

/// A fixed test key: generating RSA keys at test time is slow in debug
/// builds. It signs nothing but loopback test tokens.
const TEST_KEY_PKCS1: &[u8] = include_bytes!("testdata/oidc-test-key.rsa.der");

/// The Azure DevOps application id (the `azp` of Entra-issued tokens).
pub const AZURE_DEVOPS_APP_ID: &str = "499b84ac-1321-427f-aa17-267ca6975798";
/// The audience of Entra-issued Azure DevOps tokens.
pub const ENTRA_AUDIENCE: &str = "fb60f99c-7a34-4190-8149-302f77469936";
/// The audience of Azure DevOps-issued tokens.
pub const AZURE_DEVOPS_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Which issuer the tokens claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// `https://vstoken.dev.azure.com/{orgId}` (being retired in 2027).
    AzureDevOps,
    /// `https://login.microsoftonline.com/{tenant}/v2.0`.
    Entra,
}

/// The organisation, project and connections the emulated server knows.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Organisation name.
    pub org: String,
    /// Organisation id (GUID).
    pub org_id: String,
    /// Project name.
    pub project: String,
    /// Project id (GUID).
    pub project_id: String,
    /// Entra tenant id (GUID).
    pub tenant_id: String,
    /// Pipeline name, for pipeline tokens.
    pub pipeline: String,
    /// Issuer form.
    pub issuer: IssuerKind,
    /// Token lifetime.
    pub lifetime: Duration,
    /// The job access token the server accepts.
    pub access_token: String,
    /// Service connections: id → name.
    pub connections: BTreeMap<String, String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            org: "contoso".into(),
            org_id: "0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b".into(),
            project: "Web Shop".into(),
            project_id: "8c1e5f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            pipeline: "deploy-web".into(),
            issuer: IssuerKind::AzureDevOps,
            lifetime: Duration::from_secs(600),
            access_token: format!("job-access-token-{:016x}", fastrand::u64(..)),
            connections: BTreeMap::new(),
        }
    }
}

impl OidcConfig {
    /// Add a service connection.
    #[must_use]
    pub fn with_connection(mut self, id: &str, name: &str) -> Self {
        self.connections.insert(id.to_lowercase(), name.to_owned());
        self
    }

    /// The issuer URL tokens carry.
    #[must_use]
    pub fn issuer_url(&self) -> String {
        match self.issuer {
            IssuerKind::AzureDevOps => format!("https://vstoken.dev.azure.com/{}", self.org_id),
            IssuerKind::Entra => {
                format!("https://login.microsoftonline.com/{}/v2.0", self.tenant_id)
            }
        }
    }

    /// The audience tokens carry.
    #[must_use]
    pub fn audience(&self) -> &'static str {
        match self.issuer {
            IssuerKind::AzureDevOps => AZURE_DEVOPS_AUDIENCE,
            IssuerKind::Entra => ENTRA_AUDIENCE,
        }
    }

    /// The subject of a token for a connection.
    #[must_use]
    pub fn subject(&self, connection_id: &str) -> String {
        let name = self
            .connections
            .get(&connection_id.to_lowercase())
            .cloned()
            .unwrap_or_default();
        match self.issuer {
            IssuerKind::AzureDevOps => format!("sc://{}/{}/{}", self.org, self.project, name),
            IssuerKind::Entra => format!(
                "/eid1/c/pub/t/{}/a/{}/sc/{}/{}",
                guid_b64(&self.tenant_id),
                guid_b64(AZURE_DEVOPS_APP_ID),
                self.org_id,
                connection_id.to_lowercase()
            ),
        }
    }
}

/// A GUID's bytes in .NET order (first three groups little-endian), base64url.
fn guid_b64(guid: &str) -> String {
    let hex: String = guid.chars().filter(char::is_ascii_hexdigit).collect();
    let mut bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0))
        .collect();
    bytes[0..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// Headers, names lower case.
    pub headers: BTreeMap<String, String>,
    /// Body as text.
    pub body: String,
}

#[derive(Default)]
struct Behaviour {
    fail_next: VecDeque<u16>,
    delay: Option<Duration>,
    status_override: Option<u16>,
    omit_token: bool,
    sign_in_page: bool,
}

struct State {
    config: OidcConfig,
    behaviour: Behaviour,
    requests: Vec<RecordedRequest>,
    issued: Vec<String>,
    key: RsaKeyPair,
}

/// The running emulation. Stops when dropped.
#[derive(Debug)]
pub struct OidcServer {
    server: Emulation<State>,
}

impl OidcServer {
    /// Start on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound (test environment broken).
    #[must_use]
    pub fn start(config: OidcConfig) -> Self {
        Self::start_with_tls(config, None)
    }

    /// Start on a free loopback port, serving HTTPS with `tls` (see
    /// [`crate::tls::TestPki::server_config`]); the URLs are `https://`.
    ///
    /// # Panics
    /// As [`OidcServer::start`].
    #[must_use]
    pub fn start_with_tls(config: OidcConfig, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let key = RsaKeyPair::from_der(TEST_KEY_PKCS1).expect("test key is valid PKCS#1");
        let server = Emulation::start_with_tls(
            State {
                config,
                behaviour: Behaviour::default(),
                requests: Vec::new(),
                issued: Vec::new(),
                key,
            },
            handle,
            tls,
        );
        Self { server }
    }

    /// The TLS handshakes the server saw (none over plain HTTP).
    #[must_use]
    pub fn handshakes(&self) -> crate::serve::Handshakes {
        self.server.handshakes()
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> OidcConfig {
        self.server.lock().config.clone()
    }

    /// `System.CollectionUri`: `http://127.0.0.1:{port}/{org}/` (`https`
    /// over TLS).
    #[must_use]
    pub fn collection_uri(&self) -> String {
        format!(
            "{}/{}/",
            self.server.base_url(),
            self.server.lock().config.org
        )
    }

    /// `System.OidcRequestUri` for a job.
    #[must_use]
    pub fn oidc_request_uri(&self, hub: &str, plan_id: &str, job_id: &str) -> String {
        let project_id = self.server.lock().config.project_id.clone();
        format!(
            "{}{project_id}/_apis/distributedtask/hubs/{hub}/plans/{plan_id}/jobs/{job_id}/oidctoken",
            self.collection_uri()
        )
    }

    /// Make the next `n` requests fail with `status` (e.g. 500, 503, 429).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.server
            .lock()
            .behaviour
            .fail_next
            .extend(std::iter::repeat_n(status, n));
    }

    /// Delay every answer.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.server.lock().behaviour.delay = delay;
    }

    /// Answer every request with this status (e.g. 401, 403) until cleared.
    pub fn set_status(&self, status: Option<u16>) {
        self.server.lock().behaviour.status_override = status;
    }

    /// Answer 200 without an `oidcToken`.
    pub fn omit_token(&self, omit: bool) {
        self.server.lock().behaviour.omit_token = omit;
    }

    /// Answer every request with Azure DevOps' sign-in page (HTTP 203,
    /// `text/html`), as it does when it does not accept the bearer token and
    /// redirects are not suppressed.
    pub fn answer_with_sign_in_page(&self, on: bool) {
        self.server.lock().behaviour.sign_in_page = on;
    }

    /// Every request received so far.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.lock().requests.clone()
    }

    /// Every token issued so far.
    #[must_use]
    pub fn issued_tokens(&self) -> Vec<String> {
        self.server.lock().issued.clone()
    }

    /// Whether `token` carries a valid signature of this server's key.
    #[must_use]
    pub fn verify(&self, token: &str) -> bool {
        let public = self.server.lock().key.public_key().as_ref().to_vec();
        let Some((signed, sig)) = token.rsplit_once('.') else {
            return false;
        };
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public)
            .verify(signed.as_bytes(), &sig)
            .is_ok()
    }
}

/// The start of Azure DevOps' sign-in page, as a 203 answer carries it.
pub const SIGN_IN_PAGE: &str = "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>\
<body><form id=\"signin\" action=\"/_signin\">Sign in to continue to Azure DevOps</form></body></html>";

fn json(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-vss-e2eid", "e2e-0000-test")
        .header("x-msedge-ref", "Ref A: loopback")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// One token request, answered as Azure DevOps would (or as the test's
/// behaviour says).
fn handle(st: &mut State, recorded: RecordedRequest) -> Reply {
    let (method, path, query, headers) = (
        recorded.method.clone(),
        recorded.path.clone(),
        recorded.query.clone(),
        recorded.headers.clone(),
    );
    st.requests.push(recorded);
    let b = &mut st.behaviour;
    let delay = b.delay;
    let reply = |response: Response<Full<Bytes>>| Reply { response, delay };
    if b.sign_in_page {
        return reply(
            Response::builder()
                .status(203)
                .header("content-type", "text/html; charset=utf-8")
                .header("x-vss-e2eid", "e2e-0000-test")
                .body(Full::new(Bytes::from(SIGN_IN_PAGE)))
                .unwrap_or_default(),
        );
    }
    if let Some(status) = b.fail_next.pop_front().or(b.status_override) {
        let message = match status {
            401 => "TF400813: The user '' is not authorized to access this resource.",
            403 => {
                "Access denied: the build service lacks permission to use this service connection."
            }
            429 => "Request was blocked due to exceeding usage of resource.",
            _ => "The service is temporarily unavailable.",
        };
        return reply(json(
            status,
            &serde_json::json!({ "message": message, "typeKey": "TestFailure" }),
        ));
    }
    let omit = b.omit_token;
    let cfg = st.config.clone();
    let expected_prefix = format!(
        "/{}/{}/_apis/distributedtask/hubs/",
        cfg.org, cfg.project_id
    );
    if method != "POST" || !path.starts_with(&expected_prefix) || !path.ends_with("/oidctoken") {
        return reply(json(
            404,
            &serde_json::json!({ "message": format!("No route for {method} {path}") }),
        ));
    }
    if headers.get("authorization").map(String::as_str)
        != Some(&format!("Bearer {}", cfg.access_token))
    {
        return reply(json(
            401,
            &serde_json::json!({ "message": "TF400813: The user '' is not authorized to access this resource." }),
        ));
    }
    if !query.contains_key("api-version") {
        return reply(json(
            400,
            &serde_json::json!({ "message": "No api-version was supplied for the POST request." }),
        ));
    }
    let subject = match query.get("serviceConnectionId") {
        None => format!("p://{}/{}/{}", cfg.org, cfg.project, cfg.pipeline),
        Some(id) => {
            let id = id.to_lowercase();
            if !cfg.connections.contains_key(&id) {
                return reply(json(
                    404,
                    &serde_json::json!({ "message": format!("Service connection {id} was not found or the job does not reference it.") }),
                ));
            }
            cfg.subject(&id)
        }
    };
    if omit {
        return reply(json(200, &serde_json::json!({})));
    }
    let token = sign_token(&st.key, &cfg, &subject);
    st.issued.push(token.clone());
    reply(json(200, &serde_json::json!({ "oidcToken": token })))
}

#[allow(clippy::disallowed_methods)] // tokens carry real issue and expiry times, as Azure DevOps issues them
fn sign_token(key: &RsaKeyPair, cfg: &OidcConfig, subject: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "kid": "loopback-test-key" });
    let mut claims = serde_json::json!({
        "jti": format!("{:032x}", fastrand::u128(..)),
        "sub": subject,
        "aud": cfg.audience(),
        "iss": cfg.issuer_url(),
        "nbf": now,
        "iat": now,
        "exp": now + cfg.lifetime.as_secs(),
    });
    if cfg.issuer == IssuerKind::Entra {
        claims["azp"] = AZURE_DEVOPS_APP_ID.into();
        claims["tid"] = cfg.tenant_id.clone().into();
        claims["ver"] = "2.0".into();
    }
    let signing_input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .expect("RSA signing works");
    format!("{signing_input}.{}", b64.encode(sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_subject_encodes_guids_like_dotnet() {
        // Known value from agent-contract.md: the Azure DevOps app id.
        assert_eq!(guid_b64(AZURE_DEVOPS_APP_ID), "rISbSSETf0KqFyZ8ppdXmA");
    }
}
