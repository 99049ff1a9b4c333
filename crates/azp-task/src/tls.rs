//! The agent's own TLS settings, for every HTTPS client of a task.
//!
//! An agent configured with `--sslcacert` (a TLS-inspecting corporate proxy,
//! a private Azure DevOps Server) or a client certificate passes them to
//! every task as variables (agent `src/Agent.Worker/JobRunner.cs`, task-lib
//! `getHttpCertConfiguration`, task.ts l.2392–2455):
//!
//! | Variable | What |
//! | --- | --- |
//! | `Agent.CAInfo` | a PEM file of extra trusted CA certificates |
//! | `Agent.ClientCert` | the client certificate, PEM |
//! | `Agent.ClientCertKey` | its private key, PEM, usually encrypted with the password |
//! | `Agent.ClientCertArchive` | the same certificate and key as PKCS#12 |
//! | `Agent.ClientCertPassword` | the password of the key and the archive (secret) |
//!
//! The agent sets the client-certificate variables only when all three
//! files were configured (`--sslclientcert`, `--sslclientcertkey` and
//! `--sslclientcertarchive` are required together by its
//! `ConfigurationManager`), so the PEM pair is always there when a client
//! certificate is: the task uses it, and checks only that the archive is
//! readable. Extra roots are added to the operating system's trust store
//! (rustls-platform-verifier), never used instead of it.
//!
//! [`TlsFailure`] finds a certificate problem in an error's source chain:
//! such a failure is never transient, so the clients fail at once with
//! advice instead of retrying.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::env::{Env, names};
use crate::secret::Secret;
use crate::variables::Variables;

/// The agent's TLS settings that a task's HTTPS clients apply, loaded from
/// the files the variables name.
#[derive(Clone)]
pub struct AgentTls {
    ca_file: Option<PathBuf>,
    extra_roots: Vec<CertificateDer<'static>>,
    client: Option<ClientIdentity>,
}

#[derive(Clone)]
struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
}

impl std::fmt::Debug for AgentTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTls")
            .field("ca_file", &self.ca_file)
            .field("extra_roots", &self.extra_roots.len())
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

/// A TLS setting of the agent that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsSettingsError {
    /// A file a variable names is missing or unreadable.
    #[error(
        "{file} cannot be read: {cause}. \
         Check that the file exists on the agent and that the agent's user can read it, or reconfigure the agent."
    )]
    Unreadable {
        /// The file.
        file: AgentFile,
        /// Why it cannot be read.
        cause: String,
    },
    /// A certificate file holds no usable certificate.
    #[error(
        "{file} holds no usable PEM certificate ({cause}). \
         It must hold one or more '-----BEGIN CERTIFICATE-----' sections."
    )]
    BadCertificate {
        /// The file.
        file: AgentFile,
        /// What is wrong.
        cause: String,
    },
    /// The client certificate's key cannot be used.
    #[error(
        "The agent's client certificate key {path} (Agent.ClientCertKey, set by the agent's --sslclientcertkey option) cannot be used: {cause}"
    )]
    BadKey {
        /// The path.
        path: String,
        /// What is wrong and what to do.
        cause: String,
    },
    /// Only some of the client certificate variables are set.
    #[error(
        "The agent's client certificate is configured only in part: {present} set, {missing} not. \
         The agent sets Agent.ClientCert, Agent.ClientCertKey and Agent.ClientCertArchive together \
         (--sslclientcert, --sslclientcertkey, --sslclientcertarchive); reconfigure the agent, or remove \
         pipeline variables of these names that override its settings."
    )]
    Incomplete {
        /// The variables that are set.
        present: String,
        /// The variables that are missing.
        missing: String,
    },
    /// rustls refused the configuration (a key type it cannot sign with).
    #[error("The TLS configuration from the agent's certificate settings cannot be used: {0}")]
    Config(String),
}

/// A file named by one of the agent's certificate settings, as an error
/// names it: "The agent's CA certificate file /etc/corp.pem (Agent.CAInfo,
/// set by the agent's --sslcacert option)".
#[derive(Debug, Clone)]
pub struct AgentFile {
    /// What the file is, e.g. "CA certificate".
    pub what: &'static str,
    /// The agent variable, e.g. `Agent.CAInfo`.
    pub variable: &'static str,
    /// The agent's configuration option, e.g. `--sslcacert`.
    pub flag: &'static str,
    /// The path.
    pub path: String,
}

impl std::fmt::Display for AgentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "The agent's {} file {} ({}, set by the agent's {} option)",
            self.what, self.path, self.variable, self.flag
        )
    }
}

const CA: (&str, &str, &str) = ("CA certificate", "Agent.CAInfo", "--sslcacert");
const CERT: (&str, &str, &str) = ("client certificate", "Agent.ClientCert", "--sslclientcert");
const ARCHIVE: (&str, &str, &str) = (
    "client certificate archive",
    "Agent.ClientCertArchive",
    "--sslclientcertarchive",
);

impl AgentTls {
    /// The agent's settings from `env`: `Ok(None)` when it has neither a CA
    /// file nor a client certificate. Reads and parses the files now, so
    /// every client built later behaves the same.
    ///
    /// # Errors
    /// [`TlsSettingsError`] when a named file is missing or unreadable,
    /// holds no certificate, the key cannot be decrypted with
    /// `Agent.ClientCertPassword`, or only part of the client certificate
    /// is configured.
    pub fn from_env(env: &Env) -> Result<Option<Self>, TlsSettingsError> {
        let vars = Variables::new(env);
        let get = |n: &str| vars.get(n).map(str::trim).filter(|v| !v.is_empty());
        let ca_file = get(names::AGENT_CAINFO).map(PathBuf::from);
        let cert = get(names::AGENT_CLIENTCERT).map(PathBuf::from);
        let key = get(names::AGENT_CLIENTCERTKEY).map(PathBuf::from);
        let archive = get(names::AGENT_CLIENTCERTARCHIVE).map(PathBuf::from);
        // Not trimmed: spaces at either end can be part of a password.
        let password = vars
            .get_untrimmed(names::AGENT_CLIENTCERTPASSWORD)
            .map(Secret::new);
        if ca_file.is_none() && cert.is_none() && key.is_none() && archive.is_none() {
            return Ok(None);
        }
        let extra_roots = match &ca_file {
            Some(path) => read_certificates(path, CA)?,
            None => Vec::new(),
        };
        let client = match (cert, key, archive) {
            (None, None, None) => None,
            (Some(cert), Some(key), Some(archive)) => {
                // Only checked: the PEM pair carries the same identity.
                read_file(&archive, ARCHIVE)?;
                Some(ClientIdentity {
                    chain: read_certificates(&cert, CERT)?,
                    key: Arc::new(read_key(&key, password.as_ref())?),
                })
            }
            (cert, key, archive) => {
                let named = [
                    ("Agent.ClientCert", cert.is_some()),
                    ("Agent.ClientCertKey", key.is_some()),
                    ("Agent.ClientCertArchive", archive.is_some()),
                ];
                let list = |set: bool| {
                    named
                        .iter()
                        .filter(|(_, s)| *s == set)
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(" and ")
                };
                return Err(TlsSettingsError::Incomplete {
                    present: list(true),
                    missing: list(false),
                });
            }
        };
        Ok(Some(Self {
            ca_file,
            extra_roots,
            client,
        }))
    }

    /// The `Agent.CAInfo` file, if set.
    #[must_use]
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The extra trusted roots from `Agent.CAInfo`, DER.
    #[must_use]
    pub fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
    }

    /// Whether a client certificate is presented.
    #[must_use]
    pub fn has_client_certificate(&self) -> bool {
        self.client.is_some()
    }

    /// A CA bundle for child processes that take one file of trusted roots
    /// instead of the system's (the AWS CLI's `AWS_CA_BUNDLE`, curl's
    /// `--cacert`): PEM text of the operating system's roots
    /// (rustls-native-certs: the OpenSSL directories on Linux, the
    /// Windows and macOS stores) followed by `Agent.CAInfo`'s, so the
    /// child trusts what the task trusts. `None` without `Agent.CAInfo`.
    #[must_use]
    pub fn child_ca_bundle(&self) -> Option<String> {
        self.ca_file.as_ref()?;
        // Unreadable system certificates are skipped, as the task's own
        // verifier skips them.
        let system = rustls_native_certs::load_native_certs().certs;
        let mut pem = pem_certificates(&system);
        pem.push_str(&pem_certificates(&self.extra_roots));
        Some(pem)
    }
}

/// The rustls configuration of every HTTPS client of a task: ring, the
/// operating system's verifier (rustls-platform-verifier) and then the
/// agent's extra roots (see `WithAgentRoots`), the agent's client
/// certificate if any, and `alpn` (`[b"http/1.1"]`: reqwest is built without HTTP/2).
///
/// # Errors
/// [`TlsSettingsError::Config`] when the verifiers cannot be set up (an
/// extra root that is not a CA certificate webpki can use), or rustls
/// cannot use the client key.
pub fn client_config(
    tls: Option<&AgentTls>,
    alpn: &[&[u8]],
) -> Result<rustls::ClientConfig, TlsSettingsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config_error = |e: rustls::Error| TlsSettingsError::Config(e.to_string());
    let system =
        Arc::new(rustls_platform_verifier::Verifier::new(provider.clone()).map_err(config_error)?);
    let roots = tls.map(|t| t.extra_roots.clone()).unwrap_or_default();
    let verifier: Arc<dyn ServerCertVerifier> = if roots.is_empty() {
        system
    } else {
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            store.add(root).map_err(config_error)?;
        }
        let agent = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(store),
            provider.clone(),
        )
        .build()
        .map_err(|e| TlsSettingsError::Config(e.to_string()))?;
        Arc::new(WithAgentRoots { system, agent })
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match tls.and_then(|t| t.client.as_ref()) {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(config_error)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The operating system's verifier, then the agent's roots: a certificate
/// is trusted when the system trusts it, or when it chains to an
/// `Agent.CAInfo` root (checked by webpki: name, validity, usage, chain).
///
/// The platform verifier's own extra-roots mode would do the same on Linux
/// and macOS, but on Windows it builds a custom CryptoAPI chain engine,
/// which Wine 8 refuses (`E_INVALIDARG`), so the one code path for every
/// platform is this pair. A chain to an agent root gets no revocation
/// check, as with Node's `ca` option that the toolkit's tasks use.
#[derive(Debug)]
struct WithAgentRoots {
    system: Arc<rustls_platform_verifier::Verifier>,
    agent: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for WithAgentRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let system = match self.system.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        match self.agent.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            // The agent's roots do not know the issuer either: the system's
            // reason is the one to show.
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
                Err(system)
            }
            // Issued under an agent root, but wrong in another way (expired,
            // another name): that is the reason.
            Err(agent) => Err(agent),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.system.supported_verify_schemes()
    }
}

/// PEM text of `certs`, 64 base64 characters a line (RFC 7468).
#[must_use]
pub fn pem_certificates(certs: &[CertificateDer<'_>]) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    for cert in certs {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

fn agent_file(
    path: &Path,
    (what, variable, flag): (&'static str, &'static str, &'static str),
) -> AgentFile {
    AgentFile {
        what,
        variable,
        flag,
        path: path.display().to_string(),
    }
}

fn read_file(
    path: &Path,
    setting: (&'static str, &'static str, &'static str),
) -> Result<Vec<u8>, TlsSettingsError> {
    std::fs::read(path).map_err(|e| TlsSettingsError::Unreadable {
        file: agent_file(path, setting),
        cause: e.to_string(),
    })
}

fn read_certificates(
    path: &Path,
    setting: (&'static str, &'static str, &'static str),
) -> Result<Vec<CertificateDer<'static>>, TlsSettingsError> {
    let bytes = read_file(path, setting)?;
    let bad = |cause: String| TlsSettingsError::BadCertificate {
        file: agent_file(path, setting),
        cause,
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate found".to_owned()));
    }
    Ok(certs)
}

/// The private key of `path`: a plain PEM key (PKCS#8, PKCS#1 or SEC1), or
/// an encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`, what `openssl pkcs12
/// -nocerts` writes) decrypted with `password`.
fn read_key(
    path: &Path,
    password: Option<&Secret>,
) -> Result<PrivateKeyDer<'static>, TlsSettingsError> {
    let bytes = read_file(
        path,
        (
            "client certificate key",
            "Agent.ClientCertKey",
            "--sslclientcertkey",
        ),
    )?;
    let bad = |cause: String| TlsSettingsError::BadKey {
        path: path.display().to_string(),
        cause,
    };
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password else {
            return Err(bad(
                "it is encrypted, and Agent.ClientCertPassword (the agent's --sslclientcertpassword) is not set".to_owned(),
            ));
        };
        // The key may follow certificates and "Bag Attributes" lines (`openssl
        // pkcs12 -out all.pem` writes such a file): parse its section alone.
        let begin = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
        let end = "-----END ENCRYPTED PRIVATE KEY-----";
        let section = text
            .find(begin)
            .and_then(|b| text[b..].find(end).map(|e| &text[b..b + e + end.len()]))
            .ok_or_else(|| bad(format!("its '{begin}' section has no end line")))?;
        let (_, doc) = pkcs8::der::SecretDocument::from_pem(section)
            .map_err(|e| bad(format!("its encrypted key is not valid PEM ({e})")))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).map_err(|_| {
            bad("it is encrypted with a scheme this task cannot read (PBES1, the default of OpenSSL 1.0's \
                 `pkcs8 -topk8`, for example). Convert it to PBES2 with the same password: \
                 openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <new key>"
                .to_owned())
        })?;
        // pkcs8 says only "PKCS#5 encryption failed" for a wrong password.
        let plain = info.decrypt(password.expose()).map_err(|_| {
            bad("it cannot be decrypted with Agent.ClientCertPassword: the password is wrong, or the key is \
                 encrypted with a cipher other than AES-CBC or 3DES. The agent's guide asks for the same password \
                 on the key and the archive; check the one given to --sslclientcertpassword"
                .to_owned())
        })?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(bad(
            "it is encrypted in OpenSSL's legacy format ('Proc-Type: 4,ENCRYPTED'), which is not supported. Convert it \
             to PKCS#8 with the same password: openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <new key>"
                .to_owned(),
        ));
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        bad(format!(
            "it holds no PEM private key ({e}); it must hold a 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', \
             'RSA PRIVATE KEY' or 'EC PRIVATE KEY' section"
        ))
    })
}

/// A TLS failure that retrying cannot fix: the server's certificate failed
/// verification, or the server refused the client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFailure {
    /// The host the connection was for, when known.
    pub host: Option<String>,
    /// What was wrong, e.g. "its issuer is not trusted (unknown issuer)".
    pub problem: String,
    /// Whether the server refused our client certificate (or its absence),
    /// rather than we its certificate.
    pub client_certificate: bool,
}

impl TlsFailure {
    /// The certificate failure in `err`'s source chain, if any, for `host`:
    /// a `TlsFailure` found already (with its own host), or a
    /// `rustls::Error` (directly, or inside `std::io::Error`s as hyper and
    /// tokio-rustls pass it on).
    #[must_use]
    pub fn find(err: &(dyn std::error::Error + 'static), host: Option<&str>) -> Option<Self> {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<Self>() {
                return Some(found.clone());
            }
            if let Some((problem, client_certificate)) = rustls_error(e).and_then(classify) {
                return Some(Self {
                    host: host.map(str::to_owned),
                    problem,
                    client_certificate,
                });
            }
            current = e.source();
        }
        None
    }
}

/// The `rustls::Error` that `e` is, or that `e` wraps through any number
/// of `std::io::Error`s. Needed because `io::Error::source` skips the error
/// it wraps (it returns that error's source), and hyper wraps tokio-rustls'
/// `io::Error(InvalidData, rustls::Error)` in another `io::Error`.
pub(crate) fn rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let mut io = e.downcast_ref::<std::io::Error>()?;
    loop {
        let inner = io.get_ref()?;
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = inner.downcast_ref::<std::io::Error>()?;
    }
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.host.as_deref().unwrap_or("the server");
        if self.client_certificate {
            write!(
                f,
                "{host} refused the TLS connection's client certificate: {}. If {host} requires a client certificate, \
                 configure it on the agent (--sslclientcert, --sslclientcertkey, --sslclientcertarchive and \
                 --sslclientcertpassword, which reach tasks as Agent.ClientCert and related variables); the tasks \
                 present the agent's certificate",
                self.problem
            )
        } else {
            write!(
                f,
                "the TLS certificate of {host} cannot be trusted: {}. This is not transient, so it is not retried. \
                 If a TLS-inspecting proxy or a private certificate authority issues it, trust that root CA in \
                 either of two ways: install it in the operating system's certificate store, or configure the agent \
                 with --sslcacert (Agent.CAInfo), whose certificates the tasks add to the trusted roots",
                self.problem
            )
        }
    }
}

impl std::error::Error for TlsFailure {}

fn classify(e: &rustls::Error) -> Option<(String, bool)> {
    use rustls::{AlertDescription as A, CertificateError as C};
    Some(match e {
        rustls::Error::InvalidCertificate(c) => (
            match c {
                C::UnknownIssuer => "its issuer is not trusted (unknown issuer)".to_owned(),
                C::Expired | C::ExpiredContext { .. } => "it has expired".to_owned(),
                C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".to_owned(),
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "it is not valid for this host name (wrong name)".to_owned()
                }
                C::Revoked => "it has been revoked".to_owned(),
                C::BadSignature => "its signature is invalid".to_owned(),
                C::BadEncoding => "it cannot be decoded".to_owned(),
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                    "it is not meant for TLS servers".to_owned()
                }
                C::Other(other) => other.to_string(),
                _ => "it failed verification".to_owned(),
            },
            false,
        ),
        // A TLS 1.2 server that requires a client certificate and got none
        // ends the handshake with this alert (OpenSSL does); so does one that
        // shares no version or cipher with us. Neither is transient.
        rustls::Error::AlertReceived(A::HandshakeFailure) => (
            "the server ended the handshake with the TLS alert 'HandshakeFailure', which a TLS 1.2 server \
             sends when it requires a client certificate and gets none (or shares no protocol version or \
             cipher with the client)"
                .to_owned(),
            true,
        ),
        rustls::Error::AlertReceived(
            alert @ (A::CertificateRequired
            | A::BadCertificate
            | A::UnknownCA
            | A::AccessDenied
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::UnsupportedCertificate),
        ) => (format!("the server sent the TLS alert '{alert:?}'"), true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_found_through_io_errors_and_read_as_advice() {
        // As hyper passes on tokio-rustls' error: io::Error in io::Error.
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        let found = TlsFailure::find(&io, Some("dev.azure.com")).expect("found");
        assert_eq!(found.problem, "its issuer is not trusted (unknown issuer)");
        assert!(!found.client_certificate);
        let text = found.to_string();
        assert!(
            text.starts_with("the TLS certificate of dev.azure.com cannot be trusted"),
            "{text}"
        );
        assert!(text.contains("--sslcacert (Agent.CAInfo)"), "{text}");

        for alert in [
            rustls::AlertDescription::CertificateRequired,
            rustls::AlertDescription::HandshakeFailure,
        ] {
            let found =
                TlsFailure::find(&rustls::Error::AlertReceived(alert), None).expect("found");
            assert!(found.client_certificate);
            assert!(found.to_string().contains("--sslclientcert"), "{found}");
        }

        let other = std::io::Error::other("connection reset");
        assert_eq!(TlsFailure::find(&other, None), None);
    }

    #[test]
    fn pem_output_reads_back() {
        let der = CertificateDer::from(vec![0x30u8; 100]);
        let pem = pem_certificates(std::slice::from_ref(&der));
        assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
        let back: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, vec![der]);
    }
}
