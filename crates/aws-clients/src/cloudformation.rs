//! CloudFormation clients.
//!
//! Built from the session's SDK configuration, so credentials refresh
//! themselves during a long stack operation and `AWS_ENDPOINT_URL_CLOUDFORMATION`
//! applies, with the request/response log of `logRequest`/`logResponse`.

use aws_types::SdkConfig;

use crate::wire::WireLog;

/// A CloudFormation client on `config` (the session's `sdk_config()`),
/// logging its requests and responses when `wire_log` is given.
#[must_use]
pub fn client(config: &SdkConfig, wire_log: Option<WireLog>) -> aws_sdk_cloudformation::Client {
    let mut builder = aws_sdk_cloudformation::config::Builder::from(config);
    if let Some(w) = wire_log {
        builder = builder.interceptor(w);
    }
    aws_sdk_cloudformation::Client::from_conf(builder.build())
}
