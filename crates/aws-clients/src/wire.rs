//! Request and response lines in the log: the toolkit's `logRequest` and
//! `logResponse` diagnostic inputs.
//!
//! [`WireLog`] is an SDK interceptor. Before each attempt is sent it logs
//! the operation, method and URL and the request headers; when an answer
//! arrives, its status and headers. Headers that carry credentials
//! (`Authorization`, `X-Amz-Security-Token`, the SSE-C key) are left out,
//! and everything goes through the logging-command writer, which masks
//! every registered secret. Bodies are never logged: they hold file
//! contents and templates.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use azp_task::Logger;

/// Headers that are never logged.
const HIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "cookie",
    "proxy-authorization",
];

/// Logs request and response lines of every SDK call of a client.
#[derive(Debug, Clone)]
pub struct WireLog {
    log: Logger,
    requests: bool,
    responses: bool,
}

impl WireLog {
    /// A wire log on `log`; `None` when neither side is wanted.
    #[must_use]
    pub fn new(log: &Logger, requests: bool, responses: bool) -> Option<Self> {
        (requests || responses).then(|| Self {
            log: log.clone(),
            requests,
            responses,
        })
    }

    fn operation(cfg: &ConfigBag) -> String {
        cfg.load::<Metadata>()
            .map(|m| format!("{} {}", m.service(), m.name()))
            .unwrap_or_else(|| "AWS".to_owned())
    }

    /// One log entry: `title` and then a line per header that may be shown.
    fn write<'a>(&self, title: String, headers: impl Iterator<Item = (&'a str, &'a str)>) {
        let mut lines = vec![title];
        lines.extend(
            headers
                .filter(|(k, _)| !HIDDEN_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
                .map(|(k, v)| format!("  {k}: {v}")),
        );
        self.log.info(&lines.join("\n"));
    }
}

impl Intercept for WireLog {
    fn name(&self) -> &'static str {
        "WireLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.requests {
            let req = context.request();
            let title = format!(
                "{} request: {} {}",
                Self::operation(cfg),
                req.method(),
                req.uri()
            );
            self.write(title, req.headers().iter());
        }
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.responses {
            let res = context.response();
            let title = format!(
                "{} response: HTTP {}",
                Self::operation(cfg),
                res.status().as_u16()
            );
            self.write(title, res.headers().iter());
        }
        Ok(())
    }
}
