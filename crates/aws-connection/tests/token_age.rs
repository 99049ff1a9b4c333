//! An OIDC token older than five minutes is replaced before the next STS
//! attempt. Time is moved by the clock, not by sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_connection::provider::{Clock, CredentialSource};
use aws_connection::settings::{RoleArn, RoleSpec};
use aws_connection::sts::{WebIdentitySettings, WebIdentitySource};
use azp_task::log::SharedBuffer;
use azp_task::oidc::{OidcTokenRequest, RetryPolicy};
use azp_task::time::{Backoff, Sleep};
use azp_task::{Env, Logger};
use azp_testkit::scripted::{Match, ScriptedServer, sts};

const CONNECTION: &str = azp_testkit::fixtures::CONNECTION_ID;

/// A clock that moves forward by `step` every time it is read.
#[derive(Debug)]
struct SteppingClock {
    now: Mutex<SystemTime>,
    step: Duration,
}

impl Clock for SteppingClock {
    fn now(&self) -> SystemTime {
        let mut t = self.now.lock().unwrap();
        let current = *t;
        *t += self.step;
        current
    }

    // Backoff waits cost nothing: the clock moves by reading it.
    fn sleep(&self, _: Duration) -> Sleep {
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn a_stale_token_is_replaced_before_the_next_attempt() {
    let oidc = azp_testkit::fixtures::oidc_server();
    let scripted = ScriptedServer::start();
    scripted.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(400, "Throttling", "Rate exceeded"),
        Some(2),
    );
    scripted.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::credentials("AssumeRoleWithWebIdentity", 1),
        None,
    );

    let cfg = oidc.config();
    let env = Env::from_pairs([
        (
            "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN".to_owned(),
            cfg.access_token.clone(),
        ),
        (
            "SYSTEM_OIDCREQUESTURI".to_owned(),
            oidc.oidc_request_uri("build", "p", "j"),
        ),
    ]);
    let buf = SharedBuffer::default();
    let log = Logger::new(Box::new(buf.clone()), false);
    let http = aws_clients::http::sdk_http_client(None, None, &log).unwrap();
    let sts_client = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("eu-west-1"))
            .endpoint_url(scripted.url())
            .http_client(http)
            .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
            .build(),
    );
    // Each reading of the clock moves it 200 s: the token is 200 s old at the
    // first attempt, 400 s (over the 300 s limit) at the second.
    let clock = Arc::new(SteppingClock {
        now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        step: Duration::from_secs(200),
    });
    let source = WebIdentitySource::new(
        WebIdentitySettings {
            request: OidcTokenRequest::from_env(&env, CONNECTION).unwrap(),
            http: azp_task::http::client(None, None).unwrap(),
            token_retry: RetryPolicy::default(),
            connection_id: CONNECTION.into(),
            role: RoleSpec {
                arn: RoleArn::parse("arn:aws:iam::123456789012:role/deploy", "test").unwrap(),
                session_name: "aws-vsts-tools".into(),
                external_id: None,
                duration: Duration::from_secs(3600),
            },
            sts: sts_client,
            retry: Backoff {
                max_attempts: 5,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(20),
            },
        },
        log,
        clock,
    );
    let creds = source.fetch().await.unwrap();
    assert_eq!(creds.access_key_id(), "ASIASCRIPTED00000001");

    let tokens = oidc.issued_tokens();
    let calls: Vec<String> = scripted.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(calls.len(), 3);
    assert!(calls[0].contains(&tokens[0]));
    assert!(tokens.len() >= 2, "a stale token must be replaced");
    assert!(
        calls[2].contains(tokens.last().unwrap()),
        "the last attempt must use the newest token"
    );
    assert!(!calls[2].contains(&tokens[0]));
}
