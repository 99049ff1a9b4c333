//! A test PKI and TLS for the loopback servers: the agent's `--sslcacert`
//! and client-certificate settings, tested for real.
//!
//! [`TestPki::shared`] makes, once per test process, with the `openssl`
//! command line (as an agent's administrator would, following the agent's
//! client-certificate guide):
//! - a test root CA that no operating system trusts, and a server
//!   certificate it issues for `127.0.0.1` and `localhost`;
//! - a client certificate from the same CA, its key as an encrypted PKCS#8
//!   PEM (`openssl pkcs8 -topk8 -v2 aes-256-cbc`, what `openssl pkcs12
//!   -nocerts` writes) and a PKCS#12 archive, all under one password;
//! - an unrelated second CA, to stand for the wrong file.
//!
//! [`TestPki::server_config`] is the rustls configuration the emulations
//! serve HTTPS with, optionally requiring a client certificate from the CA.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The password of the client key and archive.
pub const CLIENT_KEY_PASSWORD: &str = "Cl1ent-Cert-P4ssword!";

/// The files of the test PKI, in a folder removed when the process ends.
#[derive(Debug)]
pub struct TestPki {
    _cleanup: std::process::Child,
    /// The test root CA, PEM: what `Agent.CAInfo` names.
    pub ca: PathBuf,
    /// A second CA that issued nothing here.
    pub other_ca: PathBuf,
    /// The server certificate (127.0.0.1, localhost), PEM.
    pub server_cert: PathBuf,
    /// Its key, PEM, unencrypted.
    pub server_key: PathBuf,
    /// The client certificate, PEM: `Agent.ClientCert`.
    pub client_cert: PathBuf,
    /// Its key, encrypted PKCS#8 PEM: `Agent.ClientCertKey`.
    pub client_key: PathBuf,
    /// Its key, unencrypted PKCS#8 PEM.
    pub client_key_plain: PathBuf,
    /// Certificate and key as PKCS#12: `Agent.ClientCertArchive`.
    pub client_archive: PathBuf,
}

impl TestPki {
    /// The process's PKI, made on first use.
    ///
    /// # Panics
    /// When `openssl` is missing or fails.
    pub fn shared() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(TestPki::create)
    }

    fn create() -> Self {
        // Kept, not dropped: it lives in a static, which Rust never drops,
        // so the folder goes when the process ends (`crate::at_exit`).
        let dir = tempfile::Builder::new()
            .prefix("azp-test-pki-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let cleanup = crate::at_exit(r#"rm -rf "$0""#, &[dir.as_os_str()]);
        let d = dir.as_path();
        let p = |n: &str| d.join(n);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        for (name, cn) in [
            ("ca", "azp-aws-tasks test root CA"),
            ("other-ca", "azp-aws-tasks unrelated CA"),
        ] {
            openssl(
                d,
                &[
                    &["req", "-x509"][..],
                    &ec,
                    &[
                        "-keyout",
                        &format!("{name}.key"),
                        "-out",
                        &format!("{name}.pem"),
                        "-days",
                        "3",
                        "-subj",
                        &format!("/CN={cn}"),
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign,cRLSign",
                    ],
                ]
                .concat(),
            );
        }
        for (name, cn, ext) in [
            (
                "server",
                "127.0.0.1",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n",
            ),
            (
                "client",
                "azp-test-agent",
                "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n",
            ),
        ] {
            std::fs::write(p(&format!("{name}.ext")), ext).expect("write ext");
            openssl(
                d,
                &[
                    &["req"][..],
                    &ec,
                    &[
                        "-keyout",
                        &format!("{name}.key"),
                        "-out",
                        &format!("{name}.csr"),
                        "-subj",
                        &format!("/CN={cn}"),
                    ],
                ]
                .concat(),
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "3",
                    "-out",
                    &format!("{name}.pem"),
                    "-extfile",
                    &format!("{name}.ext"),
                ],
            );
        }
        let pass = format!("pass:{CLIENT_KEY_PASSWORD}");
        openssl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "client.key",
                "-out",
                "client-key-plain.pem",
            ],
        );
        openssl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                "client.key",
                "-out",
                "client-key.pem",
                "-passout",
                &pass,
            ],
        );
        openssl(
            d,
            &[
                "pkcs12",
                "-export",
                "-out",
                "client.pfx",
                "-inkey",
                "client.key",
                "-in",
                "client.pem",
                "-certfile",
                "ca.pem",
                "-passout",
                &pass,
            ],
        );
        Self {
            ca: p("ca.pem"),
            other_ca: p("other-ca.pem"),
            server_cert: p("server.pem"),
            server_key: p("server.key"),
            client_cert: p("client.pem"),
            client_key: p("client-key.pem"),
            client_key_plain: p("client-key-plain.pem"),
            client_archive: p("client.pfx"),
            _cleanup: cleanup,
        }
    }

    /// The servers' TLS configuration: the server certificate, and, with
    /// `require_client_certificate`, a client certificate issued by the test
    /// CA is required.
    ///
    /// # Panics
    /// When the files cannot be read (the PKI is broken).
    #[must_use]
    pub fn server_config(&self, require_client_certificate: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.server_cert)
            .expect("server cert")
            .collect::<Result<_, _>>()
            .expect("server cert PEM");
        let key = PrivateKeyDer::from_pem_file(&self.server_key).expect("server key");
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if require_client_certificate {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(&self.ca).expect("ca") {
                roots.add(c.expect("ca PEM")).expect("ca cert");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_single_cert(chain, key).expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (scripts/install-test-deps)");
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
