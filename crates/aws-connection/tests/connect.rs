//! Credential resolution end to end: the probe task run by the agent harness
//! against moto (STS), the loopback OIDC endpoint, and scripted STS faults.

use azp_testkit::fixtures;
use azp_testkit::scripted::{Canned, Match, ScriptedServer, sts};
use azp_testkit::{Agent, Endpoint, IssuerKind, Moto, OidcServer, StepResult, TaskRun};

const PROBE: &str = env!("CARGO_BIN_EXE_aws-connection-probe");
const CONNECTION: &str = fixtures::CONNECTION_ID;
const ROLE: &str = fixtures::ROLE_ARN;
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The probe, on virtual time: retry backoffs take no real time.
fn agent() -> Agent {
    fixtures::isolated(concat!(env!("CARGO_MANIFEST_DIR"), "/probe")).input("virtualTime", "true")
}

fn moto_agent() -> Agent {
    agent().env("AWS_ENDPOINT_URL", &Moto::shared().endpoint())
}

fn assert_ok(run: &TaskRun) {
    run.expect(StepResult::Succeeded);
    assert_eq!(run.exit_code, Some(0));
}

/// A credentials failure: exit code 1 and one error, returned.
fn assert_failed(run: &TaskRun) -> String {
    let error = run.expect_error();
    assert_eq!(run.exit_code, Some(1));
    error
}

#[test]
fn oidc_federation_assumes_the_role_and_masks_everything() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let run = moto_agent()
        .service_connection("awsCredentials", CONNECTION, fixtures::oidc_connection())
        .input("regionName", "eu-west-1")
        .oidc(&oidc)
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(
        log.contains("  iss: https://vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b"),
        "{log}"
    );
    assert!(log.contains("  aud: api://AzureADTokenExchange"), "{log}");
    assert!(
        log.contains("  sub: sc://contoso/Web Shop/aws-prod"),
        "{log}"
    );
    assert!(log.contains("Authenticated as arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools (account 123456789012)"), "{log}");
    assert!(
        log.contains("Region: eu-west-1 (from the task's regionName input)"),
        "{log}"
    );
    let tokens = oidc.issued_tokens();
    assert_eq!(tokens.len(), 1);
    run.assert_no_leaks(&[&tokens[0]]);
    // Keys, secret and session token from STS were registered.
    let registered: Vec<&str> = run
        .commands
        .iter()
        .filter(|c| c.name() == "task.setsecret")
        .map(|c| c.data.as_str())
        .collect();
    assert!(
        registered.iter().any(|s| s.starts_with("ASIA")),
        "{registered:?}"
    );
    assert!(registered.contains(&tokens[0].as_str()));
    // The token was registered before its claims were printed.
    let token_at = run
        .stdout
        .find(&format!("##vso[task.setsecret]{}", tokens[0]))
        .unwrap();
    assert!(token_at < run.stdout.find("  iss: ").unwrap());
    let req = &oidc.requests()[0];
    assert_eq!(req.query["serviceConnectionId"], CONNECTION);
    insta::assert_snapshot!("oidc_federation_log", run.snapshot());
}

#[test]
fn entra_issuer_and_long_form_token_url() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::Entra);
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            fixtures::oidc_connection().param("roleSessionName", "release-7"),
        )
        .input("regionName", "us-west-2")
        .oidc(&oidc)
        .without_oidc_request_uri()
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(
        log.contains(
            "  iss: https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        ),
        "{log}"
    );
    // The agent masks every connection parameter, the session name included.
    assert!(
        log.contains("assumed-role/deploy/*** (account 123456789012)"),
        "{log}"
    );
    assert!(log.contains("Assuming role deploy in account 123456789012 with the OIDC token (session name ***, 3600 s)"), "{log}");
    assert_eq!(oidc.requests()[0].query["api-version"], "7.1-preview.1");
}

#[test]
fn a_failed_oidc_exchange_never_falls_back_to_keys() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    oidc.set_status(Some(401));
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            fixtures::oidc_connection()
                .param("username", "AKIAEXAMPLE")
                .param("password", SECRET_KEY),
        )
        .input("regionName", "eu-west-1")
        .oidc(&oidc)
        .run(PROBE);
    let error = assert_failed(&run);
    assert!(
        error.starts_with("OIDC federation for service connection"),
        "{error}"
    );
    assert!(error.contains("HTTP 401"), "{error}");
    assert!(
        !run.log_text().contains("Authenticated as"),
        "{}",
        run.log_text()
    );
    run.assert_no_leaks(&[]);
}

#[test]
fn keys_only_and_the_child_environment() {
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws()
                .param("username", "AKIAIOSFODNN7EXAMPLE")
                .param("password", SECRET_KEY),
        )
        .input("regionName", "eu-central-1")
        .input("showChildEnv", "true")
        // Stale settings inherited from the agent host that must not survive.
        .env("AWS_SESSION_TOKEN", "stale-session-token-from-host")
        .env("AWS_PROFILE", "someone-else")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(
        log.contains("Authenticated as arn:aws:sts::123456789012:user/moto"),
        "{log}"
    );
    assert!(log.contains("child AWS_ACCESS_KEY_ID=***"), "{log}");
    assert!(log.contains("child AWS_SECRET_ACCESS_KEY=***"), "{log}");
    assert!(log.contains("child AWS_REGION=eu-central-1"), "{log}");
    assert!(
        log.contains("child AWS_DEFAULT_REGION=eu-central-1"),
        "{log}"
    );
    assert!(log.contains("child AWS_EXECUTION_ENV=VSTS-Probe"), "{log}");
    assert!(
        log.contains(&format!(
            "child AWS_ENDPOINT_URL={}",
            Moto::shared().endpoint()
        )),
        "{log}"
    );
    for gone in [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        assert!(
            !log.contains(&format!("child {gone}=")),
            "{gone} survived: {log}"
        );
    }
    run.assert_no_leaks(&[SECRET_KEY]);
}

#[test]
fn keys_assume_a_role_with_an_external_id() {
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws()
                .param("username", "AKIAIOSFODNN7EXAMPLE")
                .param("password", SECRET_KEY)
                .param(
                    "assumeRoleArn",
                    "arn:aws:iam::210987654321:role/cross-account",
                )
                .param("externalId", "ext-7f3a")
                .param("roleSessionName", "deploy-bot"),
        )
        .input("regionName", "eu-west-1")
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(log.contains("with an external ID"), "{log}");
    assert!(log.contains("Authenticated as arn:aws:sts::210987654321:assumed-role/cross-account/*** (account 210987654321)"), "{log}");
    assert!(
        log.contains("Assuming role cross-account in account 210987654321 with the access keys"),
        "{log}"
    );
    run.assert_no_leaks(&[SECRET_KEY]);
}

#[test]
fn a_role_alone_is_assumed_with_the_agents_own_credentials() {
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws().param("assumeRoleArn", ROLE),
        )
        .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENTEXAMPLE01")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "ambientSecretKeyExample0000000000000001",
        )
        .input("regionName", "eu-west-1")
        .run(PROBE);
    assert_ok(&run);
    assert!(
        run.log_text()
            .contains("with the agent's own AWS credentials"),
        "{}",
        run.log_text()
    );
    assert!(
        run.log_text()
            .contains("assumed-role/deploy/aws-vsts-tools"),
        "{}",
        run.log_text()
    );
}

#[test]
fn variables_without_a_connection() {
    let run = moto_agent()
        .variable("AWS.AccessKeyID", "AKIAVARIABLEEXAMPLE1")
        .secret_variable("AWS.SecretAccessKey", SECRET_KEY)
        .variable("AWS.Region", "ap-southeast-2")
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(
        log.contains("Region: ap-southeast-2 (from the AWS.Region variable (AWS_REGION))"),
        "{log}"
    );
    assert!(
        log.contains(
            "Using the access keys of the AWS.AccessKeyID and AWS.SecretAccessKey variables"
        ),
        "{log}"
    );
    run.assert_no_leaks(&[SECRET_KEY]);
}

#[test]
fn the_agents_own_credentials_when_nothing_is_configured() {
    let run = moto_agent()
        .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENTEXAMPLE02")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "ambientSecretKeyExample0000000000000002",
        )
        .env("AWS_DEFAULT_REGION", "sa-east-1")
        .input("showChildEnv", "true")
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(
        log.contains("using the agent's own AWS credentials"),
        "{log}"
    );
    assert!(
        log.contains("Region: sa-east-1 (from AWS_DEFAULT_REGION)"),
        "{log}"
    );
    // Children resolve ambient credentials themselves; the values are still masked.
    assert!(log.contains("child AWS_SECRET_ACCESS_KEY=***"), "{log}");
    run.assert_no_leaks(&["ambientSecretKeyExample0000000000000002"]);
}

#[test]
fn no_credentials_anywhere_is_a_clear_error() {
    let run = moto_agent().input("regionName", "eu-west-1").run(PROBE);
    let error = assert_failed(&run);
    assert!(
        error.starts_with("No AWS credentials were found"),
        "{error}"
    );
    assert!(
        error.contains("Select an AWS service connection"),
        "{error}"
    );
}

#[test]
fn a_missing_region_fails_when_required() {
    let run = moto_agent()
        .input("requireRegion", "true")
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws()
                .param("username", "AKIAIOSFODNN7EXAMPLE")
                .param("password", SECRET_KEY),
        )
        .run(PROBE);
    let error = assert_failed(&run);
    assert!(error.starts_with("No AWS region is configured"), "{error}");
}

#[test]
fn the_region_comes_from_imds_v2_last() {
    let imds = ScriptedServer::start();
    imds.on(
        Match::path("PUT", "/latest/api/token"),
        Canned::new(200, "imds-session-token")
            .header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
        None,
    );
    imds.on(
        Match::path("GET", "/latest/meta-data/placement/region"),
        Canned::new(200, "ca-central-1"),
        None,
    );
    let run = moto_agent()
        .without_env("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url())
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws()
                .param("username", "AKIAIOSFODNN7EXAMPLE")
                .param("password", SECRET_KEY),
        )
        .run(PROBE);
    assert_ok(&run);
    assert!(
        run.log_text()
            .contains("Region: ca-central-1 (from the EC2 instance metadata service)"),
        "{}",
        run.log_text()
    );
    let reqs = imds.requests();
    assert_eq!(reqs[0].method, "PUT", "IMDSv2 starts with a session token");
    assert!(reqs.iter().any(|r| {
        r.headers
            .get("x-aws-ec2-metadata-token")
            .map(String::as_str)
            == Some("imds-session-token")
    }));
}

#[test]
fn a_bad_duration_variable_warns_and_uses_an_hour() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let run = moto_agent()
        .service_connection("awsCredentials", CONNECTION, fixtures::oidc_connection())
        .variable("aws.rolecredential.maxduration", "90000")
        .input("regionName", "eu-west-1")
        .oidc(&oidc)
        .run(PROBE);
    run.expect(StepResult::SucceededWithIssues);
    assert_eq!(run.warnings().len(), 1);
    assert!(
        run.warnings()[0].contains("aws.rolecredential.maxduration")
            && run.warnings()[0].contains("90000"),
        "{:?}",
        run.warnings()
    );
    assert!(run.log_text().contains(", 3600 s)"), "{}", run.log_text());
}

fn scripted_sts() -> ScriptedServer {
    let s = ScriptedServer::start();
    s.on(
        Match::body("Action=GetCallerIdentity"),
        sts::caller_identity("arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools"),
        None,
    );
    s
}

fn scripted_agent(sts_server: &ScriptedServer, oidc: &OidcServer) -> Agent {
    agent()
        .env("AWS_ENDPOINT_URL_STS", &sts_server.url())
        .service_connection("awsCredentials", CONNECTION, fixtures::oidc_connection())
        .input("regionName", "eu-west-1")
        .oidc(oidc)
}

fn web_identity_calls(s: &ScriptedServer) -> Vec<String> {
    s.requests()
        .into_iter()
        .filter(|r| r.body.contains("Action=AssumeRoleWithWebIdentity"))
        .map(|r| r.body)
        .collect()
}

#[test]
fn access_denied_names_the_claims_and_prints_a_trust_policy() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let s = scripted_sts();
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        None,
    );
    let run = scripted_agent(&s, &oidc).run(PROBE);
    let error = assert_failed(&run);
    assert!(
        error.contains(
            "AWS refused to let this pipeline assume role deploy in account 123456789012"
        ),
        "{error}"
    );
    assert!(
        error.contains("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        "{error}"
    );
    assert!(
        error.contains("  iss: https://vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b"),
        "{error}"
    );
    assert!(
        error.contains("  sub: sc://contoso/Web Shop/aws-prod"),
        "{error}"
    );
    assert!(error.contains("\"Federated\": \"arn:aws:iam::123456789012:oidc-provider/vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b\""), "{error}");
    assert!(error.contains("\"vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b:sub\": \"sc://contoso/Web Shop/aws-prod\""), "{error}");
    assert_eq!(
        web_identity_calls(&s).len(),
        1,
        "AccessDenied must not be retried"
    );
    run.assert_no_leaks(&[&oidc.issued_tokens()[0]]);
    insta::assert_snapshot!("access_denied_log", run.snapshot());
}

#[test]
fn access_denied_for_the_entra_issuer() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::Entra);
    let s = scripted_sts();
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        None,
    );
    let error = assert_failed(&scripted_agent(&s, &oidc).run(PROBE));
    assert!(
        error.contains(
            "oidc-provider/login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        ),
        "{error}"
    );
    assert!(error.contains("login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0:aud\": \"fb60f99c-7a34-4190-8149-302f77469936\""), "{error}");
}

#[test]
fn transient_sts_failures_are_retried() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let s = scripted_sts();
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(503, "ServiceUnavailable", "Service unavailable"),
        Some(1),
    );
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(400, "Throttling", "Rate exceeded"),
        Some(1),
    );
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::credentials("AssumeRoleWithWebIdentity", 1),
        None,
    );
    let run = scripted_agent(&s, &oidc).run(PROBE);
    assert_ok(&run);
    assert_eq!(web_identity_calls(&s).len(), 3);
    assert_eq!(
        run.log_text()
            .matches("AssumeRoleWithWebIdentity failed")
            .count(),
        2,
        "{}",
        run.log_text()
    );
    insta::assert_snapshot!("transient_sts_failures_log", run.snapshot());
    assert_eq!(
        oidc.issued_tokens().len(),
        1,
        "a fresh token is not needed for throttling"
    );
    run.assert_no_leaks(&[
        "scriptedSecretAccessKey00000001",
        "scriptedSessionToken00000001",
    ]);
}

#[test]
fn an_unreachable_identity_provider_gets_a_new_token() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let s = scripted_sts();
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(
            400,
            "IDPCommunicationError",
            "The identity provider could not be reached",
        ),
        Some(1),
    );
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::credentials("AssumeRoleWithWebIdentity", 1),
        None,
    );
    let run = scripted_agent(&s, &oidc).run(PROBE);
    assert_ok(&run);
    let tokens = oidc.issued_tokens();
    assert_eq!(tokens.len(), 2);
    let calls = web_identity_calls(&s);
    assert!(calls[0].contains(&format!("WebIdentityToken={}", tokens[0])));
    assert!(calls[1].contains(&format!("WebIdentityToken={}", tokens[1])));
}

#[test]
fn a_duration_above_the_roles_maximum_is_retried_at_an_hour() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let s = scripted_sts();
    s.on(
        Match::body("DurationSeconds=7200"),
        sts::error(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ),
        None,
    );
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::credentials("AssumeRoleWithWebIdentity", 1),
        None,
    );
    let run = scripted_agent(&s, &oidc)
        .variable("aws.rolecredential.maxduration", "7200")
        .run(PROBE);
    run.expect(StepResult::SucceededWithIssues);
    assert!(
        run.warnings()[0].contains("does not allow 7200 s sessions"),
        "{:?}",
        run.warnings()
    );
    let calls = web_identity_calls(&s);
    assert_eq!(calls.len(), 2);
    assert!(calls[1].contains("DurationSeconds=3600"), "{}", calls[1]);
}

#[test]
fn validation_errors_are_not_retried() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let s = scripted_sts();
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::error(400, "InvalidIdentityToken", "Incorrect token audience"),
        None,
    );
    let error = assert_failed(&scripted_agent(&s, &oidc).run(PROBE));
    assert!(
        error.contains("InvalidIdentityToken: Incorrect token audience"),
        "{error}"
    );
    assert!(
        error.contains("needs an IAM OIDC identity provider for vstoken.dev.azure.com/"),
        "{error}"
    );
    assert_eq!(web_identity_calls(&s).len(), 1);
}

#[test]
fn forced_refresh_requests_a_new_token_and_assumes_again() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let run = moto_agent()
        .service_connection("awsCredentials", CONNECTION, fixtures::oidc_connection())
        .input("regionName", "eu-west-1")
        .input("forcedRefreshes", "2")
        .oidc(&oidc)
        .run(PROBE);
    assert_ok(&run);
    assert_eq!(oidc.issued_tokens().len(), 3);
    assert_eq!(
        run.log_text()
            .matches("Refreshed the AWS credentials")
            .count(),
        2
    );
    assert_eq!(
        run.log_text()
            .matches("After refresh: arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools")
            .count(),
        2
    );
    let tokens = oidc.issued_tokens();
    run.assert_no_leaks(&tokens.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn verification_can_be_turned_off() {
    let oidc = fixtures::oidc_server_issued_by(IssuerKind::AzureDevOps);
    let s = ScriptedServer::start();
    s.on(
        Match::body("Action=AssumeRoleWithWebIdentity"),
        sts::credentials("AssumeRoleWithWebIdentity", 1),
        None,
    );
    let run = scripted_agent(&s, &oidc)
        .variable("AWS.VerifyIdentity", "false")
        .run(PROBE);
    assert_ok(&run);
    assert!(
        !s.requests()
            .iter()
            .any(|r| r.body.contains("GetCallerIdentity"))
    );
    assert!(
        run.log_text().contains("Not verifying the credentials"),
        "{}",
        run.log_text()
    );
}

#[test]
fn the_agent_proxy_carries_aws_calls_and_reaches_children() {
    let proxy = ScriptedServer::start();
    proxy.on(
        Match::body("Action=GetCallerIdentity"),
        sts::caller_identity("arn:aws:sts::123456789012:user/through-proxy"),
        None,
    );
    let run = agent()
        .env("AWS_ENDPOINT_URL", "http://sts.example.test")
        .variable("Agent.ProxyUrl", &proxy.url())
        .variable("Agent.ProxyUsername", "proxyuser")
        .secret_variable("Agent.ProxyPassword", "proxy-pass-123")
        .variable("Agent.ProxyBypassList", r#"["internal\\.example\\.test"]"#)
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws()
                .param("username", "AKIAIOSFODNN7EXAMPLE")
                .param("password", SECRET_KEY),
        )
        .input("regionName", "eu-west-1")
        .input("showChildEnv", "true")
        .run(PROBE);
    assert_ok(&run);
    let log = run.log_text();
    assert!(
        log.contains("Authenticated as arn:aws:sts::123456789012:user/through-proxy"),
        "{log}"
    );
    let req = &proxy.requests()[0];
    assert_eq!(
        req.headers["proxy-authorization"],
        "Basic cHJveHl1c2VyOnByb3h5LXBhc3MtMTIz"
    );
    // The URL with credentials is a registered secret as a whole (children
    // see the password percent-encoded inside it).
    assert!(log.contains("child HTTPS_PROXY=***"), "{log}");
    assert!(
        log.contains("child NO_PROXY=internal.example.test"),
        "{log}"
    );
    run.assert_no_leaks(&["proxy-pass-123"]);
}

// --- Settings are merged, never replaced; impossible settings are diagnosed
// before any call; every error says what to change (issue 8). ---

/// A scripted STS that answers `GetCallerIdentity` for keys.
fn scripted_sts_for_keys() -> ScriptedServer {
    let s = ScriptedServer::start();
    s.on(
        Match::body("Action=GetCallerIdentity"),
        sts::caller_identity("arn:aws:iam::123456789012:user/deployer"),
        None,
    );
    s
}

fn keys_connection(key_id: &str) -> Endpoint {
    Endpoint::aws()
        .param("username", key_id)
        .param("password", SECRET_KEY)
}

#[test]
fn the_jobs_no_proxy_is_merged_with_the_agents_bypass_list_for_children() {
    let run = moto_agent()
        .variable("Agent.ProxyUrl", "http://proxy.corp.example:3128")
        .variable(
            "Agent.ProxyBypassList",
            r#"["git\\.corp\\.example", "*\\.corp\\.cloud"]"#,
        )
        .env(
            "NO_PROXY",
            "vpce-0a1b.sts.eu-west-1.vpce.amazonaws.com,.svc.internal",
        )
        .env("no_proxy", "10.20.0.0/16")
        .service_connection(
            "awsCredentials",
            CONNECTION,
            keys_connection("AKIAIOSFODNN7EXAMPLE"),
        )
        .variable("AWS.VerifyIdentity", "false")
        .input("regionName", "eu-west-1")
        .input("showChildEnv", "true")
        .run(PROBE);
    // The invalid entry makes the step yellow, with a warning naming it.
    run.expect(StepResult::SucceededWithIssues);
    assert_eq!(run.warnings().len(), 1, "{:?}", run.warnings());
    assert!(
        run.warnings()[0].contains(r"'*\.corp\.cloud'")
            && run.warnings()[0].contains("It is skipped, as the agent skips it")
            && run.warnings()[0].contains(r"'.*\.corp\.cloud'"),
        "{}",
        run.warnings()[0]
    );
    // The union, in this order: the job's NO_PROXY, its no_proxy, the
    // agent's bypass hosts, loopback (always direct for the agent), and the
    // metadata addresses (they answer only locally).
    let expected = "vpce-0a1b.sts.eu-west-1.vpce.amazonaws.com,.svc.internal,10.20.0.0/16,git.corp.example,\
                    localhost,127.0.0.1,::1,127.0.0.0/8,169.254.169.254,169.254.170.2,fd00:ec2::254";
    let log = run.log_text();
    assert!(log.contains(&format!("child NO_PROXY={expected}")), "{log}");
    assert!(log.contains(&format!("child no_proxy={expected}")), "{log}");
}

#[test]
fn a_host_in_the_jobs_no_proxy_never_goes_through_the_agents_proxy() {
    let proxy = ScriptedServer::start();
    proxy.on(
        Match::body("Action=GetCallerIdentity"),
        sts::caller_identity("arn:aws:iam::123456789012:user/through-proxy"),
        None,
    );
    // The name resolves nowhere: going direct fails at DNS, while the proxy
    // would have answered. The SDK's own retries are turned down so the
    // test does not wait for them.
    let run = agent()
        .env("AWS_ENDPOINT_URL_STS", "http://sts.vpce.internal.test")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("NO_PROXY", ".vpce.internal.test")
        .variable("Agent.ProxyUrl", &proxy.url())
        .service_connection(
            "awsCredentials",
            CONNECTION,
            keys_connection("AKIAIOSFODNN7EXAMPLE"),
        )
        .input("regionName", "eu-west-1")
        .run(PROBE);
    let error = assert_failed(&run);
    assert!(
        proxy.requests().is_empty(),
        "the proxy must not see it: {error}"
    );
    assert!(
        error.starts_with("The AWS credentials could not be verified with sts:GetCallerIdentity (the request could not be sent:"),
        "{error}"
    );
    assert!(
        error.contains("AWS STS could not be reached from this agent"),
        "{error}"
    );
}

#[test]
fn use_oidc_that_is_neither_true_nor_false_fails_before_any_call() {
    let oidc = fixtures::oidc_server();
    let s = scripted_sts();
    let run = agent()
        .env("AWS_ENDPOINT_URL_STS", &s.url())
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws()
                .param("useOIDC", "1")
                .param("assumeRoleArn", ROLE),
        )
        .input("regionName", "eu-west-1")
        .oidc(&oidc)
        .run(PROBE);
    let error = assert_failed(&run);
    // The agent masks every connection field, "1" too, so even the
    // connection id in the message is mangled; the message needs no value.
    assert!(
        error.starts_with("The Use OIDC (useOIDC) field of service connection ")
            && error.contains(
                "is neither true nor false, so the task cannot tell which way to authenticate"
            ),
        "{error}"
    );
    assert!(oidc.requests().is_empty());
    assert!(s.requests().is_empty());
}

#[test]
fn a_boolean_variable_that_is_neither_true_nor_false_is_an_error() {
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            keys_connection("AKIAIOSFODNN7EXAMPLE"),
        )
        .variable("AWS.VerifyIdentity", "0")
        .input("regionName", "eu-west-1")
        .run(PROBE);
    let error = assert_failed(&run);
    assert_eq!(
        error,
        "The pipeline variable AWS.VerifyIdentity is '0', which is neither true nor false. Set it to true or false."
    );
}

#[test]
fn a_stale_session_token_next_to_a_long_term_key_is_never_sent() {
    let s = scripted_sts_for_keys();
    let run = agent()
        .env("AWS_ENDPOINT_URL_STS", &s.url())
        .service_connection(
            "awsCredentials",
            CONNECTION,
            keys_connection("AKIAIOSFODNN7EXAMPLE").param("sessionToken", "stale-token-from-2023"),
        )
        .input("regionName", "eu-west-1")
        .input("showChildEnv", "true")
        .run(PROBE);
    run.expect(StepResult::SucceededWithIssues);
    assert!(
        run.warnings()[0].starts_with(&format!(
            "The Session Token (sessionToken) of service connection {CONNECTION} is set next to a long-term access key"
        )),
        "{:?}",
        run.warnings()
    );
    let req = &s.requests()[0];
    assert!(
        !req.headers.contains_key("x-amz-security-token"),
        "the stale token was sent to STS"
    );
    assert!(!run.log_text().contains("child AWS_SESSION_TOKEN="));
}

#[test]
fn the_agents_own_stale_session_token_is_dropped_too() {
    let s = scripted_sts_for_keys();
    let run = agent()
        .env("AWS_ENDPOINT_URL_STS", &s.url())
        .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENTEXAMPLE03")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "ambientSecretKeyExample0000000000000003",
        )
        .env("AWS_SESSION_TOKEN", "left-over-session-token")
        .input("regionName", "eu-west-1")
        .input("showChildEnv", "true")
        .run(PROBE);
    run.expect(StepResult::SucceededWithIssues);
    assert!(
        run.warnings()[0].starts_with(
            "The agent's own AWS credentials have a session token next to a long-term access key"
        ),
        "{:?}",
        run.warnings()
    );
    assert!(!s.requests()[0].headers.contains_key("x-amz-security-token"));
    let log = run.log_text();
    assert!(log.contains("child AWS_ACCESS_KEY_ID=***"), "{log}");
    assert!(!log.contains("child AWS_SESSION_TOKEN="), "{log}");
}

#[test]
fn a_role_arn_against_iams_grammar_fails_before_any_call_without_echoing_it() {
    let oidc = fixtures::oidc_server();
    let s = scripted_sts();
    for (arn, problem) in [
        (
            "arn:aws:iam::123456789012:role/deploy role",
            "character 38 in the role name is a space",
        ),
        (
            "arn:aws:iam::12345678901:role/deploy",
            "the account (from character 14) has 11 digits",
        ),
        (
            "arn:aws-china:iam::123456789012:role/deploy",
            "the partition (from character 5) is not one of aws, aws-cn, aws-us-gov",
        ),
        (
            "arn:aws:iam::123456789012:user/deploy",
            "does not start with 'role/'",
        ),
    ] {
        let run = agent()
            .env("AWS_ENDPOINT_URL_STS", &s.url())
            .service_connection(
                "awsCredentials",
                CONNECTION,
                Endpoint::aws()
                    .param("useOIDC", "true")
                    .param("assumeRoleArn", arn),
            )
            .input("regionName", "eu-west-1")
            .oidc(&oidc)
            .run(PROBE);
        let error = assert_failed(&run);
        assert!(
            error.starts_with(&format!(
                "The Role to Assume (assumeRoleArn) of service connection {CONNECTION} is not a valid IAM role ARN: "
            )) && error.contains(problem),
            "{arn}: {error}"
        );
        // The agent masks the ARN; the message never needed it.
        assert!(!error.contains("***"), "{error}");
    }
    assert!(oidc.requests().is_empty());
    assert!(s.requests().is_empty());
}

#[test]
fn a_role_only_connection_on_an_agent_without_credentials_says_so() {
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws().param("assumeRoleArn", ROLE),
        )
        .input("regionName", "eu-west-1")
        .run(PROBE);
    let error = assert_failed(&run);
    assert!(
        error.starts_with(&format!(
            "Service connection {CONNECTION} has a Role to Assume but no keys and no Use OIDC, so the role is assumed \
             with the agent's own AWS credentials, and this agent has none"
        )),
        "{error}"
    );
    assert!(error.contains("Tick Use OIDC on the connection"), "{error}");
    assert!(
        !error.contains("no service connection is selected"),
        "{error}"
    );
}

fn assume_role_agent(s: &ScriptedServer, key_id: &str, token: Option<&str>) -> Agent {
    let mut ep = keys_connection(key_id).param("assumeRoleArn", ROLE);
    if let Some(t) = token {
        ep = ep.param("sessionToken", t);
    }
    agent()
        .env("AWS_ENDPOINT_URL_STS", &s.url())
        .service_connection("awsCredentials", CONNECTION, ep)
        .input("regionName", "eu-west-1")
}

fn assume_role_calls(s: &ScriptedServer) -> usize {
    s.requests()
        .iter()
        .filter(|r| r.body.contains("Action=AssumeRole&"))
        .count()
}

#[test]
fn rejected_keys_fail_at_once_and_name_the_fields() {
    // STS "Common Errors": these are answers about the signing credentials,
    // which no retry can change.
    for (key, token, code, advice) in [
        (
            "AKIAIOSFODNN7EXAMPLE",
            None,
            "InvalidClientTokenId",
            "The Access Key ID (username) of service connection",
        ),
        (
            "AKIAIOSFODNN7EXAMPLE",
            None,
            "SignatureDoesNotMatch",
            "The Secret Access Key (password) of service connection",
        ),
        (
            "ASIAIOSFODNN7EXAMPLE",
            Some("expired-session-token"),
            "ExpiredToken",
            "The Session Token (sessionToken) of service connection",
        ),
    ] {
        let s = ScriptedServer::start();
        s.on(
            Match::body("Action=AssumeRole&"),
            sts::error(
                403,
                code,
                "The security token included in the request is invalid.",
            ),
            None,
        );
        let error = assert_failed(&assume_role_agent(&s, key, token).run(PROBE));
        assert!(
            error.starts_with(&format!(
                "AssumeRole failed because AWS rejected the access keys of service connection {CONNECTION} ({code}: "
            )),
            "{error}"
        );
        assert!(error.contains(advice), "{code}: {error}");
        assert!(!error.contains("later"), "{error}");
        assert_eq!(assume_role_calls(&s), 1, "{code} must not be retried");
    }
}

#[test]
fn rejected_keys_on_verification_name_the_fields_not_the_verify_switch() {
    let s = ScriptedServer::start();
    s.on(
        Match::body("Action=GetCallerIdentity"),
        sts::error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        None,
    );
    let run = agent()
        .env("AWS_ENDPOINT_URL_STS", &s.url())
        .service_connection(
            "awsCredentials",
            CONNECTION,
            keys_connection("AKIAIOSFODNN7EXAMPLE"),
        )
        .input("regionName", "eu-west-1")
        .run(PROBE);
    let error = assert_failed(&run);
    assert!(
        error.starts_with(&format!(
            "sts:GetCallerIdentity failed because AWS rejected the access keys of service connection {CONNECTION} \
             (InvalidClientTokenId: The security token included in the request is invalid. (HTTP 403, request id {})).",
            sts::ERROR_REQUEST_ID
        )),
        "{error}"
    );
    assert!(
        error.contains("starts with AKIA, a long-term IAM user key, and AWS does not know it"),
        "{error}"
    );
    assert!(!error.contains("AWS.VerifyIdentity"), "{error}");
}

#[test]
fn role_chaining_is_capped_at_an_hour_and_the_hint_says_so() {
    let s = ScriptedServer::start();
    s.on(
        Match::body("DurationSeconds=7200"),
        sts::error(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ),
        None,
    );
    s.on(
        Match::body("Action=AssumeRole&"),
        sts::credentials("AssumeRole", 1),
        None,
    );
    s.on(
        Match::body("Action=GetCallerIdentity"),
        sts::caller_identity("arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools"),
        None,
    );
    let run = assume_role_agent(&s, "ASIAIOSFODNN7EXAMPLE", Some("session-token-of-a-role"))
        .variable("aws.rolecredential.maxduration", "7200")
        .run(PROBE);
    run.expect(StepResult::SucceededWithIssues);
    let w = run.warnings()[0];
    assert!(w.contains("(role chaining) to one-hour sessions"), "{w}");
    assert!(
        w.contains("Lower the variable aws.rolecredential.maxduration to 3600 or less"),
        "{w}"
    );
    assert!(!w.contains("Raise the role's maximum"), "{w}");
    assert_eq!(assume_role_calls(&s), 2);
}

#[test]
fn a_sign_in_page_from_the_oidc_endpoint_says_what_to_check() {
    let oidc = fixtures::oidc_server();
    oidc.answer_with_sign_in_page(true);
    let run = moto_agent()
        .service_connection("awsCredentials", CONNECTION, fixtures::oidc_connection())
        .input("regionName", "eu-west-1")
        .oidc(&oidc)
        .run(PROBE);
    let error = assert_failed(&run);
    assert!(
        error.contains("The OIDC token request got an HTML page (HTTP 203) instead of a JSON answer from Azure DevOps"),
        "{error}"
    );
    assert!(
        error.contains("the job access token was not accepted"),
        "{error}"
    );
    assert!(!error.contains("<"), "no HTML in the message: {error}");
    assert_eq!(oidc.requests().len(), 1, "a sign-in page is not retried");
}

#[test]
fn the_region_comes_from_the_shared_config_profile_before_imds() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[default]\nregion = eu-south-2\n[profile ci]\nregion = ap-east-1\n",
    )
    .unwrap();
    let run = moto_agent()
        .env("AWS_CONFIG_FILE", &config.display().to_string())
        .env("AWS_PROFILE", "ci")
        .service_connection(
            "awsCredentials",
            CONNECTION,
            keys_connection("AKIAIOSFODNN7EXAMPLE"),
        )
        .run(PROBE);
    assert_ok(&run);
    assert!(
        run.log_text()
            .contains("Region: ap-east-1 (from the profile in the AWS shared config file)."),
        "{}",
        run.log_text()
    );
}

// --- The endpoint type's second scheme, "OIDC or role, no stored keys"
// (scheme None at run time): connections read the same parameters. ---

#[test]
fn oidc_over_the_scheme_without_keys() {
    let oidc = fixtures::oidc_server();
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            fixtures::oidc_connection_without_keys(),
        )
        .input("regionName", "eu-west-1")
        .oidc(&oidc)
        .run(PROBE);
    assert_ok(&run);
    assert!(
        run.log_text().contains(&format!(
            "Authenticated as {} (account 123456789012)",
            fixtures::ASSUMED_ROLE_ARN
        )),
        "{}",
        run.log_text()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn a_role_over_the_scheme_without_keys_uses_the_agents_credentials() {
    let run = moto_agent()
        .service_connection(
            "awsCredentials",
            CONNECTION,
            Endpoint::aws_without_keys().param("assumeRoleArn", ROLE),
        )
        .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENTEXAMPLE04")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "ambientSecretKeyExample0000000000000004",
        )
        .input("regionName", "eu-west-1")
        .run(PROBE);
    assert_ok(&run);
    assert!(
        run.log_text().contains(
            "Assuming role deploy in account 123456789012 with the agent's own AWS credentials"
        ),
        "{}",
        run.log_text()
    );
}
