//! The OIDC token request against the loopback emulation of Azure DevOps.

use std::time::Duration;

use azp_task::log::SharedBuffer;
use azp_task::oidc::{OidcError, OidcTokenRequest, RetryPolicy};
use azp_task::time::{Backoff, ManualClock};
use azp_task::{Env, Logger};
use azp_testkit::{IssuerKind, OidcConfig, OidcServer};

const CONNECTION: &str = "6a0e3c52-8f1d-4b7a-9c2e-3d4f5a6b7c8d";

fn fast() -> RetryPolicy {
    RetryPolicy {
        backoff: Backoff {
            max_attempts: 4,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(30),
        },
        budget: Duration::from_secs(120),
        attempt_timeout: Duration::from_secs(5),
    }
}

/// A clock on which backoff waits take no real time.
fn clock() -> ManualClock {
    ManualClock::new(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

fn server(issuer: IssuerKind) -> OidcServer {
    OidcServer::start(
        OidcConfig {
            issuer,
            ..OidcConfig::default()
        }
        .with_connection(CONNECTION, "aws-prod"),
    )
}

fn env_for(server: &OidcServer, short: bool) -> Env {
    let cfg = server.config();
    let mut pairs = vec![
        (
            "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN".to_owned(),
            cfg.access_token.clone(),
        ),
        ("SYSTEM_COLLECTIONURI".to_owned(), server.collection_uri()),
        ("SYSTEM_TEAMPROJECTID".to_owned(), cfg.project_id.clone()),
        ("SYSTEM_HOSTTYPE".to_owned(), "build".to_owned()),
        ("SYSTEM_PLANID".to_owned(), "plan-1".to_owned()),
        ("SYSTEM_JOBID".to_owned(), "job-1".to_owned()),
    ];
    if short {
        pairs.push((
            "SYSTEM_OIDCREQUESTURI".to_owned(),
            server.oidc_request_uri("build", "plan-1", "job-1"),
        ));
    }
    Env::from_pairs(pairs)
}

async fn fetch(
    server: &OidcServer,
    short: bool,
) -> (Result<azp_task::oidc::OidcToken, OidcError>, String) {
    let (result, out, _) = fetch_on(server, short).await;
    (result, out)
}

/// As [`fetch`], also returning the clock the retries waited on.
async fn fetch_on(
    server: &OidcServer,
    short: bool,
) -> (
    Result<azp_task::oidc::OidcToken, OidcError>,
    String,
    ManualClock,
) {
    let buf = SharedBuffer::default();
    let log = Logger::new(Box::new(buf.clone()), false);
    let request = OidcTokenRequest::from_env(&env_for(server, short), CONNECTION).unwrap();
    let client = azp_task::http::client(None, None).unwrap();
    let clock = clock();
    let result = request.fetch(&client, &log, &fast(), &clock).await;
    (result, buf.contents(), clock)
}

#[tokio::test]
async fn short_form_success_registers_the_token() {
    let server = server(IssuerKind::AzureDevOps);
    let (result, out) = fetch(&server, true).await;
    let token = result.unwrap();
    assert!(server.verify(token.token.expose()));
    assert_eq!(
        token.claims.iss,
        "https://vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b"
    );
    assert_eq!(token.claims.aud, vec!["api://AzureADTokenExchange"]);
    assert_eq!(token.claims.sub, "sc://contoso/Web Shop/aws-prod");
    assert_eq!(
        out,
        format!("##vso[task.setsecret]{}\n", token.token.expose())
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.query["api-version"], "7.1");
    assert_eq!(r.query["serviceConnectionId"], CONNECTION);
    assert_eq!(
        r.headers["authorization"],
        format!("Bearer {}", server.config().access_token)
    );
    assert_eq!(r.headers["x-tfs-fedauthredirect"], "Suppress");
}

#[tokio::test]
async fn long_form_success() {
    let server = server(IssuerKind::AzureDevOps);
    let (result, _) = fetch(&server, false).await;
    assert!(result.is_ok());
    let r = &server.requests()[0];
    assert_eq!(r.query["api-version"], "7.1-preview.1");
    assert!(
        r.path
            .ends_with("/_apis/distributedtask/hubs/build/plans/plan-1/jobs/job-1/oidctoken"),
        "{}",
        r.path
    );
}

#[tokio::test]
async fn entra_issuer_claims() {
    let server = server(IssuerKind::Entra);
    let (result, _) = fetch(&server, true).await;
    let claims = result.unwrap().claims;
    assert_eq!(
        claims.iss,
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
    );
    assert_eq!(claims.aud, vec!["fb60f99c-7a34-4190-8149-302f77469936"]);
    assert!(claims.sub.starts_with("/eid1/c/pub/t/"), "{}", claims.sub);
    assert!(
        claims.sub.ends_with(&format!(
            "/a/rISbSSETf0KqFyZ8ppdXmA/sc/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b/{CONNECTION}"
        )),
        "{}",
        claims.sub
    );
}

#[tokio::test]
async fn success_after_two_failures() {
    let server = server(IssuerKind::AzureDevOps);
    server.fail_next(1, 503);
    server.fail_next(1, 429);
    let (result, out, clock) = fetch_on(&server, true).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(out.matches("retrying in").count(), 2, "{out}");
    assert!(out.contains("HTTP 503"), "{out}");
    // Equal jitter around 2 s, then 4 s: waited on the clock, not in real time.
    let slept = clock.slept();
    assert_eq!(slept.len(), 2);
    assert!(slept[0] >= Duration::from_secs(1) && slept[0] <= Duration::from_secs(2));
    assert!(slept[1] >= Duration::from_secs(2) && slept[1] <= Duration::from_secs(4));
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = server(IssuerKind::AzureDevOps);
    server.fail_next(10, 500);
    let (result, _, clock) = fetch_on(&server, true).await;
    assert!(
        matches!(result, Err(OidcError::Exhausted { attempts: 4, .. })),
        "{result:?}"
    );
    assert_eq!(server.requests().len(), 4);
    assert_eq!(clock.slept().len(), 3);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_says_what_to_check() {
    let server = server(IssuerKind::AzureDevOps);
    server.set_status(Some(401));
    let (result, _) = fetch(&server, true).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, OidcError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("Allow scripts to access the OAuth token"),
        "{msg}"
    );
    assert!(msg.contains(CONNECTION), "{msg}");
    assert!(msg.contains("x-vss-e2eid: e2e-0000-test"), "{msg}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_wrong_job_token_gets_401() {
    let server = server(IssuerKind::AzureDevOps);
    let mut env = env_for(&server, true);
    env.set(
        "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN",
        "not-the-job-token",
    );
    let log = Logger::new(Box::new(SharedBuffer::default()), false);
    let request = OidcTokenRequest::from_env(&env, CONNECTION).unwrap();
    let err = request
        .fetch(
            &azp_task::http::client(None, None).unwrap(),
            &log,
            &fast(),
            &clock(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_response_without_a_token_is_an_error() {
    let server = server(IssuerKind::AzureDevOps);
    server.omit_token(true);
    let (result, out) = fetch(&server, true).await;
    assert!(
        matches!(result, Err(OidcError::MissingToken { .. })),
        "{result:?}"
    );
    assert!(!out.contains("setsecret"));
}

#[tokio::test]
async fn an_unknown_connection_gets_404_guidance() {
    let server = OidcServer::start(OidcConfig::default());
    let (result, _) = fetch(&server, true).await;
    let err = result.unwrap_err();
    assert!(matches!(err, OidcError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("referenced by an input of a task in this job")
    );
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_is_retried() {
    let server = server(IssuerKind::AzureDevOps);
    server.set_delay(Some(Duration::from_millis(400)));
    let mut policy = RetryPolicy {
        attempt_timeout: Duration::from_millis(100),
        ..fast()
    };
    policy.backoff.max_attempts = 2;
    let log = Logger::new(Box::new(SharedBuffer::default()), false);
    let request = OidcTokenRequest::from_env(&env_for(&server, true), CONNECTION).unwrap();
    let err = request
        .fetch(
            &azp_task::http::client(None, None).unwrap(),
            &log,
            &policy,
            &clock(),
        )
        .await
        .unwrap_err();
    let OidcError::Exhausted { attempts, last, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(attempts, 2);
    assert!(last.contains("timed out"), "{last}");
}
