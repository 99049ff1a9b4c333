//! Credentials that refresh themselves before they expire.
//!
//! A [`CredentialSource`] knows how to get one set of credentials (ask
//! Azure DevOps for a new OIDC token and assume the role again, call
//! `AssumeRole` again, read the ambient chain). [`RefreshingCredentials`]
//! caches the last set and fetches a new one when it is within five minutes
//! of expiry, so a two-hour CloudFormation wait or a long upload never signs
//! with expired keys, even with 900-second sessions. Every new set is
//! registered as secrets before anything else can print it. The clock is
//! injected so that tests move time instead of sleeping.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, future};
use azp_task::Logger;
pub use azp_task::time::{Clock, ManualClock, SystemClock};

use crate::error::ConnectError;

/// How long before expiry credentials are replaced.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A boxed future, as the sources return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One way of getting a set of credentials.
pub trait CredentialSource: Send + Sync + Debug {
    /// Get a fresh set.
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, ConnectError>>;
}

struct Inner {
    source: Box<dyn CredentialSource>,
    clock: Arc<dyn Clock>,
    margin: Duration,
    log: Logger,
    cached: tokio::sync::Mutex<Option<Credentials>>,
    fetches: AtomicU32,
}

/// Cached credentials that refresh before expiry. Cheap to clone.
#[derive(Clone)]
pub struct RefreshingCredentials {
    inner: Arc<Inner>,
}

impl Debug for RefreshingCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingCredentials")
            .field("source", &self.inner.source)
            .finish_non_exhaustive()
    }
}

/// RFC 3339 form of a time, for the log.
#[must_use]
pub fn format_time(t: SystemTime) -> String {
    let whole_seconds = t.duration_since(SystemTime::UNIX_EPOCH).map_or(t, |d| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs())
    });
    aws_smithy_types::DateTime::from(whole_seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "an unknown time".to_owned())
}

impl RefreshingCredentials {
    /// Wrap a source.
    #[must_use]
    pub fn new(source: Box<dyn CredentialSource>, clock: Arc<dyn Clock>, log: Logger) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                clock,
                margin: REFRESH_MARGIN,
                log,
                cached: tokio::sync::Mutex::new(None),
                fetches: AtomicU32::new(0),
            }),
        }
    }

    /// The time on the clock these credentials use.
    #[must_use]
    pub fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// How many times the source was asked so far.
    #[must_use]
    pub fn fetch_count(&self) -> u32 {
        self.inner.fetches.load(Ordering::SeqCst)
    }

    fn fresh(&self, c: &Credentials) -> bool {
        c.expiry()
            .is_none_or(|exp| self.inner.clock.now() + self.inner.margin < exp)
    }

    /// The current credentials, refreshed first when they are within the
    /// margin of expiry.
    ///
    /// # Errors
    /// The source's error, when no still-valid credentials are at hand.
    pub async fn credentials(&self) -> Result<Credentials, ConnectError> {
        let mut cached = self.inner.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| self.fresh(c)) {
            return Ok(c.clone());
        }
        self.fetch_into(&mut cached).await
    }

    /// Fetch a new set now, whatever the expiry of the current one.
    ///
    /// # Errors
    /// The source's error, when no still-valid credentials are at hand.
    pub async fn refresh(&self) -> Result<Credentials, ConnectError> {
        let mut cached = self.inner.cached.lock().await;
        self.fetch_into(&mut cached).await
    }

    async fn fetch_into(
        &self,
        cached: &mut Option<Credentials>,
    ) -> Result<Credentials, ConnectError> {
        let first = self.inner.fetches.fetch_add(1, Ordering::SeqCst) == 0;
        let log = &self.inner.log;
        match self.inner.source.fetch().await {
            Ok(c) => {
                log.set_secret(c.access_key_id());
                log.set_secret(c.secret_access_key());
                if let Some(token) = c.session_token() {
                    log.set_secret(token);
                }
                if !first {
                    let until = c
                        .expiry()
                        .map_or_else(|| "no expiry".to_owned(), format_time);
                    log.info(&format!(
                        "Refreshed the AWS credentials; they are valid until {until}."
                    ));
                }
                *cached = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                // A failed refresh is not fatal while the old set still works.
                let now = self.inner.clock.now();
                match cached
                    .as_ref()
                    .filter(|c| c.expiry().is_none_or(|exp| now < exp))
                {
                    Some(old) => {
                        log.warning(format!(
                            "Refreshing the AWS credentials failed; the current ones stay in use until they expire at {}. {}",
                            old.expiry().map_or_else(|| "an unknown time".to_owned(), format_time),
                            azp_task::render_error(&e)
                        ));
                        Ok(old.clone())
                    }
                    None => Err(e),
                }
            }
        }
    }
}

impl ProvideCredentials for RefreshingCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(aws_credential_types::provider::error::CredentialsError::provider_error)
        })
    }
}

/// Credentials that never change (static keys).
#[derive(Debug)]
pub struct StaticSource(pub Credentials);

impl CredentialSource for StaticSource {
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, ConnectError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azp_task::log::SharedBuffer;

    #[derive(Debug)]
    struct Counting {
        clock: ManualClock,
        lifetime: Duration,
        n: AtomicU32,
        fail_from: Option<u32>,
    }

    impl CredentialSource for Counting {
        fn fetch(&self) -> BoxFuture<'_, Result<Credentials, ConnectError>> {
            Box::pin(async move {
                let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
                if self.fail_from.is_some_and(|f| n >= f) {
                    return Err(ConnectError::NoRegion);
                }
                Ok(Credentials::new(
                    format!("ASIAKEY{n:013}"),
                    format!("secret-{n}"),
                    Some(format!("token-{n}")),
                    Some(self.clock.now() + self.lifetime),
                    "test",
                ))
            })
        }
    }

    fn setup(
        lifetime: u64,
        fail_from: Option<u32>,
    ) -> (RefreshingCredentials, ManualClock, SharedBuffer) {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let buf = SharedBuffer::default();
        let source = Counting {
            clock: clock.clone(),
            lifetime: Duration::from_secs(lifetime),
            n: AtomicU32::new(0),
            fail_from,
        };
        let creds = RefreshingCredentials::new(
            Box::new(source),
            Arc::new(clock.clone()),
            Logger::new(Box::new(buf.clone()), false),
        );
        (creds, clock, buf)
    }

    #[tokio::test]
    async fn refreshes_five_minutes_before_expiry() {
        let (creds, clock, buf) = setup(900, None);
        let first = creds.credentials().await.unwrap();
        assert_eq!(first.access_key_id(), "ASIAKEY0000000000001");
        clock.advance(Duration::from_secs(599));
        assert_eq!(
            creds.credentials().await.unwrap().access_key_id(),
            first.access_key_id()
        );
        assert_eq!(creds.fetch_count(), 1);
        clock.advance(Duration::from_secs(2)); // 601 s: inside the 300 s margin of a 900 s session
        let second = creds.credentials().await.unwrap();
        assert_eq!(second.access_key_id(), "ASIAKEY0000000000002");
        assert_eq!(creds.fetch_count(), 2);
        let out = buf.contents();
        for s in ["ASIAKEY0000000000002", "secret-2", "token-2"] {
            assert!(
                out.contains(&format!("##vso[task.setsecret]{s}\n")),
                "{out}"
            );
        }
        assert!(out.contains("Refreshed the AWS credentials"), "{out}");
        // Registration comes before the refresh notice.
        assert!(out.find("setsecret]token-2").unwrap() < out.find("Refreshed").unwrap());
    }

    #[tokio::test]
    async fn two_hours_with_fifteen_minute_sessions() {
        let (creds, clock, _) = setup(900, None);
        for _ in 0..(2 * 60) {
            let c = creds.credentials().await.unwrap();
            assert!(
                c.expiry().unwrap() > clock.now(),
                "expired credentials handed out"
            );
            clock.advance(Duration::from_secs(60));
        }
        // 7200 s / 600 s of use per session.
        assert_eq!(creds.fetch_count(), 12);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_still_valid_credentials() {
        let (creds, clock, buf) = setup(900, Some(2));
        creds.credentials().await.unwrap();
        clock.advance(Duration::from_secs(700));
        assert_eq!(
            creds.credentials().await.unwrap().access_key_id(),
            "ASIAKEY0000000000001"
        );
        assert!(
            buf.contents()
                .contains("Refreshing the AWS credentials failed")
        );
        clock.advance(Duration::from_secs(300));
        assert!(
            creds.credentials().await.is_err(),
            "expired credentials must not be handed out"
        );
    }

    #[tokio::test]
    async fn forced_refresh_always_fetches() {
        let (creds, _, _) = setup(3600, None);
        creds.credentials().await.unwrap();
        assert_eq!(
            creds.refresh().await.unwrap().access_key_id(),
            "ASIAKEY0000000000002"
        );
    }
}
