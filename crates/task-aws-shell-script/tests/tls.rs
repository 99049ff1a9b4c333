//! The agent's certificate settings (`--sslcacert`, the client certificate)
//! for every HTTPS request of a task: the OIDC token request, STS through
//! the AWS SDK, and the AWS CLI a script runs. The OIDC emulation and an
//! HTTPS front for moto serve certificates from a test CA that the
//! operating system does not trust (`azp_testkit::tls`).

use azp_testkit::fault_proxy::FaultProxy;
use azp_testkit::fixtures;
use azp_testkit::tls::{CLIENT_KEY_PASSWORD, TestPki};
use azp_testkit::{Agent, OidcServer, StepResult};

const TASK: &str = env!("CARGO_BIN_EXE_AWSShellScript");

fn step(oidc: &OidcServer, aws: &FaultProxy, script: &str) -> Agent {
    fixtures::oidc_step(fixtures::task_dir("AWSShellScript"), oidc)
        .env("AWS_ENDPOINT_URL", &aws.url())
        .input("scriptType", "inline")
        .input("inlineScript", script)
}

fn with_client_certificate(agent: Agent, password: &str) -> Agent {
    let pki = TestPki::shared();
    agent
        .variable("Agent.CAInfo", &pki.ca.display().to_string())
        .variable("Agent.ClientCert", &pki.client_cert.display().to_string())
        .variable("Agent.ClientCertKey", &pki.client_key.display().to_string())
        .variable(
            "Agent.ClientCertArchive",
            &pki.client_archive.display().to_string(),
        )
        .secret_variable("Agent.ClientCertPassword", password)
}

#[test]
fn the_agents_ca_is_trusted_by_the_token_request_sts_and_the_aws_cli() {
    let pki = TestPki::shared();
    let oidc = fixtures::https_oidc_server(false);
    let aws = fixtures::https_moto(false);
    let run = step(
        &oidc,
        &aws,
        "test -s \"$AWS_CA_BUNDLE\" && aws sts get-caller-identity --query Arn --output text",
    )
    .variable("Agent.CAInfo", &pki.ca.display().to_string())
    .run(TASK);
    run.expect(StepResult::Succeeded);
    let log = run.log_text();
    assert!(
        log.contains("arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools"),
        "{log}"
    );
    assert_eq!(oidc.requests().len(), 1, "one token request");
    let actions = aws.actions();
    assert_eq!(
        actions.first().map(String::as_str),
        Some("AssumeRoleWithWebIdentity"),
        "{actions:?}"
    );
    // The task verifies the identity, then the CLI asks for it through the
    // same HTTPS front: only the bundle lets it trust the test CA.
    assert!(
        actions.iter().filter(|a| *a == "GetCallerIdentity").count() >= 2,
        "{actions:?}"
    );
    assert!(aws.handshakes().failed.is_empty(), "{:?}", aws.handshakes());
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn an_untrusted_certificate_fails_at_once_and_says_how_to_trust_it() {
    let oidc = fixtures::https_oidc_server(false);
    let aws = fixtures::https_moto(false);
    let run = step(&oidc, &aws, "echo never").run(TASK);
    run.expect(StepResult::Failed);
    let error = run.errors().join("\n");
    for part in [
        "The OIDC token request failed: the TLS certificate of 127.0.0.1 cannot be trusted",
        "unknown issuer",
        "not retried",
        "operating system's certificate store",
        "--sslcacert (Agent.CAInfo)",
    ] {
        assert!(error.contains(part), "missing '{part}' in: {error}");
    }
    assert!(!error.contains("degraded"), "{error}");
    assert!(!run.log_text().contains("retrying"), "{}", run.log_text());
    let handshakes = oidc.handshakes();
    assert_eq!(
        (handshakes.completed, handshakes.failed.len()),
        (0, 1),
        "one attempt, never retried: {handshakes:?}"
    );
    assert!(oidc.requests().is_empty());
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn sts_does_not_retry_a_certificate_it_cannot_trust() {
    let pki = TestPki::shared();
    // The token over plain HTTP; AWS behind a certificate from the test CA,
    // while the agent trusts another CA.
    let oidc = fixtures::oidc_server();
    let aws = fixtures::https_moto(false);
    let run = step(&oidc, &aws, "echo never")
        .variable("Agent.CAInfo", &pki.other_ca.display().to_string())
        .run(TASK);
    run.expect(StepResult::Failed);
    let error = run.errors().join("\n");
    for part in [
        "the TLS certificate of 127.0.0.1 cannot be trusted: its issuer is not trusted (unknown issuer)",
        "--sslcacert (Agent.CAInfo)",
    ] {
        assert!(error.contains(part), "missing '{part}' in: {error}");
    }
    assert_eq!(oidc.requests().len(), 1);
    let handshakes = aws.handshakes();
    assert_eq!(
        (handshakes.completed, handshakes.failed.len()),
        (0, 1),
        "one attempt, never retried: {handshakes:?}"
    );
    assert!(aws.seen().is_empty());
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn the_agents_client_certificate_is_presented_to_every_server() {
    let oidc = fixtures::https_oidc_server(true);
    let aws = fixtures::https_moto(true);
    let run =
        with_client_certificate(step(&oidc, &aws, "echo deployed"), CLIENT_KEY_PASSWORD).run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log.contains(&"deployed".to_owned()),
        "{}",
        run.log_text()
    );
    assert_eq!(oidc.requests().len(), 1);
    assert_eq!(
        aws.actions(),
        ["AssumeRoleWithWebIdentity", "GetCallerIdentity"]
    );
    assert!(
        oidc.handshakes().failed.is_empty(),
        "{:?}",
        oidc.handshakes()
    );
    assert!(aws.handshakes().failed.is_empty(), "{:?}", aws.handshakes());
    // The key's password is a secret before anything is printed.
    run.secrets_registered_first(&[CLIENT_KEY_PASSWORD])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!run.log_text().contains(CLIENT_KEY_PASSWORD));
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn a_server_that_requires_a_client_certificate_is_explained() {
    let pki = TestPki::shared();
    let oidc = fixtures::https_oidc_server(true);
    let aws = fixtures::https_moto(false);
    let run = step(&oidc, &aws, "echo never")
        .variable("Agent.CAInfo", &pki.ca.display().to_string())
        .run(TASK);
    run.expect(StepResult::Failed);
    let error = run.errors().join("\n");
    for part in [
        "127.0.0.1 refused the TLS connection's client certificate",
        "--sslclientcert",
    ] {
        assert!(error.contains(part), "missing '{part}' in: {error}");
    }
    assert!(!run.log_text().contains("retrying"), "{}", run.log_text());
    assert_eq!(oidc.handshakes().failed.len(), 1, "{:?}", oidc.handshakes());
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn unusable_certificate_settings_name_the_agent_setting() {
    let pki = TestPki::shared();
    let oidc = fixtures::https_oidc_server(false);
    let aws = fixtures::https_moto(false);

    let run = step(&oidc, &aws, "echo never")
        .variable("Agent.CAInfo", "/nonexistent/corp-root.pem")
        .run(TASK);
    run.expect(StepResult::Failed);
    let error = run.errors().join("\n");
    assert!(
        error.contains("CA certificate file /nonexistent/corp-root.pem (Agent.CAInfo, set by the agent's --sslcacert option) cannot be read"),
        "{error}"
    );

    let run =
        with_client_certificate(step(&oidc, &aws, "echo never"), "not-the-password").run(TASK);
    run.expect(StepResult::Failed);
    let error = run.errors().join("\n");
    assert!(
        error.contains(
            "(Agent.ClientCertKey, set by the agent's --sslclientcertkey option) cannot be used"
        ) && error.contains("cannot be decrypted with Agent.ClientCertPassword"),
        "{error}"
    );
    assert!(!run.log_text().contains("not-the-password"));

    let run = step(&oidc, &aws, "echo never")
        .variable("Agent.ClientCert", &pki.client_cert.display().to_string())
        .run(TASK);
    run.expect(StepResult::Failed);
    assert!(
        run.errors()
            .join("\n")
            .contains("configured only in part: Agent.ClientCert set, Agent.ClientCertKey and Agent.ClientCertArchive not"),
        "{:?}",
        run.errors()
    );
    assert!(oidc.requests().is_empty(), "no request with bad settings");
    assert_eq!(oidc.handshakes(), Default::default());
}
