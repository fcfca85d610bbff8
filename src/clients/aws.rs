//! Shared AWS SDK configuration: region, profile, role to assume, endpoints and the retry
//! policy (throttling and 5xx are retried with exponential backoff by the SDK).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How to reach AWS. Built from the provider configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub assume_role: Option<AssumeRole>,
    pub eks_endpoint: Option<String>,
    pub autoscaling_endpoint: Option<String>,
    pub sts_endpoint: Option<String>,
    /// Retries after a call's first attempt; `None`: `AWS_MAX_ATTEMPTS`, or the default.
    pub max_retries: Option<u32>,
}

#[derive(Clone, PartialEq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: Option<String>,
    /// Secret-ish: never printed.
    pub external_id: Option<String>,
}

impl std::fmt::Debug for AssumeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRole")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "(redacted)"),
            )
            .finish()
    }
}

/// An error and its causes, as one line: `dispatch failure: io error: ...: Connection refused
/// (os error 111)`. Unlike the SDK's `DisplayErrorContext`, no debug dump of the error types.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    error_chain_skipping(err, &[])
}

/// [`error_chain`] without the links whose whole text is one of `skip` (wrappers that say
/// only that something failed).
pub fn error_chain_skipping(err: &(dyn std::error::Error + 'static), skip: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        // A wrapper often repeats its cause's text: keep each piece once.
        if !text.is_empty()
            && !skip.contains(&text.as_str())
            && !parts.last().is_some_and(|p| p.ends_with(&text))
        {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// What an SDK call's failure was, whatever the service.
#[derive(Debug, PartialEq, Eq)]
pub enum SdkFailure {
    /// The service answered with a named error.
    Api { code: String, message: String },
    /// An answer came, and neither its output nor a named error could be read from it.
    Unreadable { status: u16 },
    /// No answer: the request did not get through, or the answer did not arrive.
    Transport,
}

impl SdkFailure {
    pub fn of<E: ProvideErrorMetadata + std::error::Error + 'static>(
        err: &SdkError<E, HttpResponse>,
    ) -> SdkFailure {
        if let Some(code) = err.code() {
            return SdkFailure::Api {
                code: code.to_string(),
                message: err.message().unwrap_or("").to_string(),
            };
        }
        match (err, err.raw_response()) {
            (SdkError::ServiceError(_) | SdkError::ResponseError(_), Some(raw)) => {
                SdkFailure::Unreadable {
                    status: raw.status().as_u16(),
                }
            }
            _ => SdkFailure::Transport,
        }
    }
}

/// Retries after a call's first attempt when neither the configuration nor `AWS_MAX_ATTEMPTS`
/// says otherwise: the AWS provider's default, enough to ride out sustained throttling.
pub const DEFAULT_MAX_RETRIES: u32 = 25;

/// Attempts per call, counting the first: the configured retries plus one, else the
/// environment's `AWS_MAX_ATTEMPTS` (a positive number), else the default.
pub fn max_attempts(max_retries: Option<u32>, env: Option<&str>) -> u32 {
    if let Some(n) = max_retries {
        return n.saturating_add(1);
    }
    env.and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_RETRIES + 1)
}

/// The retry partition of a service client: the attempts and backoff of [`load`] bound its
/// retries, not the SDK's default retry quota. That quota (500 tokens, up to 14 per retried
/// server error, shared by every client of the service in the process) runs dry during a long
/// apply under sustained throttling, and from then on calls fail at their first error. The
/// AWS provider's clients have no such limiter either.
pub fn retry_partition(service: &'static str) -> RetryPartition {
    RetryPartition::custom(service)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// Loads the SDK configuration. Reads environment and shared files; makes a network call only
/// when a role is assumed (and only when credentials are first needed).
pub async fn load(settings: &AwsSettings) -> SdkConfig {
    let retry = RetryConfig::standard()
        .with_max_attempts(max_attempts(
            settings.max_retries,
            std::env::var("AWS_MAX_ATTEMPTS").ok().as_deref(),
        ))
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(r) = &settings.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    let base = loader.load().await;
    let Some(role) = &settings.assume_role else {
        return base;
    };
    let mut sts_conf = base.clone().into_builder();
    if let Some(ep) = &settings.sts_endpoint {
        sts_conf = sts_conf.endpoint_url(ep);
    }
    let sts_conf = sts_conf.build();
    let mut provider = AssumeRoleProvider::builder(role.role_arn.clone())
        .session_name(
            role.session_name
                .clone()
                .unwrap_or_else(|| "terraform-provider-dataplatform".into()),
        )
        .configure(&sts_conf);
    if let Some(id) = &role.external_id {
        provider = provider.external_id(id.clone());
    }
    let provider = provider.build().await;
    base.into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_come_from_the_configuration_then_the_environment_then_the_default() {
        assert_eq!(max_attempts(Some(0), Some("7")), 1);
        assert_eq!(max_attempts(Some(3), None), 4);
        assert_eq!(max_attempts(None, Some("7")), 7);
        assert_eq!(max_attempts(None, Some(" 2 ")), 2);
        for bad in ["0", "-1", "many", ""] {
            assert_eq!(
                max_attempts(None, Some(bad)),
                DEFAULT_MAX_RETRIES + 1,
                "{bad}"
            );
        }
        assert_eq!(max_attempts(None, None), 26);
    }

    #[derive(Debug)]
    struct Wrapper(&'static str, Option<std::io::Error>);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_ref().map(|e| e as _)
        }
    }

    #[test]
    fn error_chains_are_one_line_without_debug_dumps() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = Wrapper("tcp connect error", Some(refused));
        assert_eq!(error_chain(&e), "tcp connect error: connection refused");
        let same = Wrapper(
            "connection refused",
            Some(std::io::Error::other("connection refused")),
        );
        assert_eq!(error_chain(&same), "connection refused");
        assert_eq!(error_chain(&Wrapper("alone", None)), "alone");
    }
}
