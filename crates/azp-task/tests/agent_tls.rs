//! The key and certificate files agents are configured with, in the forms
//! OpenSSL writes them, read by `AgentTls` (files from `azp_testkit::tls`).

use std::path::{Path, PathBuf};
use std::process::Command;

use azp_task::Env;
use azp_task::tls::AgentTls;
use azp_testkit::tls::{CLIENT_KEY_PASSWORD, TestPki};

fn settings(key: &Path, password: &str) -> Result<Option<AgentTls>, String> {
    let pki = TestPki::shared();
    let path = |p: &Path| p.display().to_string();
    AgentTls::from_env(&Env::from_pairs([
        ("AGENT_CAINFO", path(&pki.ca)),
        ("AGENT_CLIENTCERT", path(&pki.client_cert)),
        ("AGENT_CLIENTCERTKEY", path(key)),
        ("AGENT_CLIENTCERTARCHIVE", path(&pki.client_archive)),
        ("AGENT_CLIENTCERTPASSWORD", password.to_owned()),
    ]))
    .map_err(|e| e.to_string())
}

/// The test client key, re-encrypted by `openssl pkcs8` with `args`.
fn key_with(dir: &Path, name: &str, args: &[&str], password: &str) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-in"])
        .arg(&TestPki::shared().client_key_plain)
        .arg("-out")
        .arg(&out)
        .args(args)
        .args(["-passout", &format!("pass:{password}")])
        .status()
        .expect("openssl");
    assert!(status.success());
    out
}

#[test]
fn keys_in_the_forms_openssl_writes_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::shared();

    // PBES2 with AES (OpenSSL 3's default), as the PKI writes it.
    let tls = settings(&pki.client_key, CLIENT_KEY_PASSWORD)
        .unwrap()
        .unwrap();
    assert!(tls.has_client_certificate());
    assert_eq!(tls.extra_roots().len(), 1);

    // PBES2 with 3DES and HMAC-SHA1, as OpenSSL 1.1 wrote it.
    let legacy = key_with(
        dir.path(),
        "3des.pem",
        &["-v2", "des3", "-v2prf", "hmacWithSHA1"],
        "pw",
    );
    assert!(
        settings(&legacy, "pw")
            .unwrap()
            .unwrap()
            .has_client_certificate()
    );

    // Certificates, then the key, in one file (`openssl pkcs12 -out all.pem`).
    let combined = dir.path().join("all.pem");
    let text = std::fs::read_to_string(&pki.client_cert).unwrap()
        + &std::fs::read_to_string(&pki.client_key).unwrap();
    std::fs::write(&combined, text.replace('\n', "\r\n")).unwrap();
    assert!(
        settings(&combined, CLIENT_KEY_PASSWORD)
            .unwrap()
            .unwrap()
            .has_client_certificate()
    );

    // A password with spaces at its ends is used as it is.
    let spaced = key_with(
        dir.path(),
        "spaced.pem",
        &["-v2", "aes-256-cbc"],
        " pass phrase ",
    );
    assert!(
        settings(&spaced, " pass phrase ")
            .unwrap()
            .unwrap()
            .has_client_certificate()
    );

    // An unencrypted key needs no password.
    assert!(
        settings(&pki.client_key_plain, "")
            .unwrap()
            .unwrap()
            .has_client_certificate()
    );
}

#[test]
fn keys_that_cannot_be_read_say_why_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let pbes1 = key_with(dir.path(), "pbes1.pem", &["-v1", "PBE-SHA1-3DES"], "pw");
    let error = settings(&pbes1, "pw").unwrap_err();
    assert!(
        error.contains("PBES1") && error.contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
        "{error}"
    );
    assert!(!error.contains("ASN.1"), "{error}");

    let error = settings(&TestPki::shared().client_key, "wrong").unwrap_err();
    assert!(error.contains("the password is wrong"), "{error}");
    assert!(!error.contains("wrong\""), "{error}");

    let error = settings(&TestPki::shared().client_key, "").unwrap_err();
    assert!(
        error.contains("Agent.ClientCertPassword (the agent's --sslclientcertpassword) is not set"),
        "{error}"
    );
}
