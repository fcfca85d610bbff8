//! Shared AWS SDK configuration: region, profile, role to assume, endpoints and the retry
//! policy (throttling and 5xx are retried with exponential backoff by the SDK).
//!
//! Credentials come from where the AWS SDKs (and the AWS provider) look, in the same order:
//! static keys in the environment, a named profile, a web identity token file and a role
//! (what HCP Terraform's dynamic credentials, EKS service account roles and CI OIDC set), then
//! the shared files' default profile, the container and the instance. A web identity is
//! exchanged here rather than by the SDK's chain, so that it honours `endpoints.sts`, carries
//! a recognisable session name and is reused until shortly before it expires.

use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{
    error::CredentialsError, future, ProvideCredentials, SharedCredentialsProvider,
};
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::bounds::{Bounds, Cut};

/// How to reach AWS. Built from the provider configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Shared config files instead of the default one (the default credentials file stays).
    pub shared_config_files: Option<Vec<String>>,
    pub assume_role: Option<AssumeRole>,
    pub eks_endpoint: Option<String>,
    pub autoscaling_endpoint: Option<String>,
    pub ec2_endpoint: Option<String>,
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

/// The session name of roles the provider assumes when none is given.
pub const DEFAULT_SESSION_NAME: &str = "terraform-provider-dataplatform";

/// Where the provider's AWS credentials come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`, if set).
    EnvironmentKeys,
    /// A named profile of the shared config and credentials files (the provider's `profile`,
    /// else `AWS_PROFILE`).
    Profile(String),
    /// The default profile of the shared config files the provider names (`shared_config_files`):
    /// HCP Terraform's dynamic credentials handed over as a file, for instance.
    SharedConfigFiles,
    /// A web identity token in a file, exchanged for the role's credentials with STS
    /// AssumeRoleWithWebIdentity: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and
    /// `AWS_ROLE_SESSION_NAME`, as HCP Terraform's dynamic credentials set them.
    WebIdentity(WebIdentity),
    /// The SDK's chain for the rest: the shared files' default profile, the container's
    /// credentials endpoint, the instance metadata service.
    DefaultChain,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentity {
    pub token_file: String,
    pub role_arn: String,
    pub session_name: String,
}

/// Chooses where credentials come from, given the provider's `profile`, whether it names
/// shared config files, and the environment (`env` answers a variable's value; empty values
/// count as unset, as in the AWS SDKs).
pub fn credential_source(
    profile: Option<&str>,
    shared_config_files: bool,
    env: impl Fn(&str) -> Option<String>,
) -> CredentialSource {
    let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(p) = profile {
        return CredentialSource::Profile(p.to_string());
    }
    if var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some() {
        return CredentialSource::EnvironmentKeys;
    }
    if let Some(p) = var("AWS_PROFILE") {
        return CredentialSource::Profile(p);
    }
    if shared_config_files {
        return CredentialSource::SharedConfigFiles;
    }
    if let (Some(token_file), Some(role_arn)) =
        (var("AWS_WEB_IDENTITY_TOKEN_FILE"), var("AWS_ROLE_ARN"))
    {
        return CredentialSource::WebIdentity(WebIdentity {
            token_file,
            role_arn,
            session_name: var("AWS_ROLE_SESSION_NAME")
                .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string()),
        });
    }
    CredentialSource::DefaultChain
}

/// How long before they expire credentials from a web identity are exchanged again.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Credentials for a role, from a web identity token read from its file at each exchange (the
/// file may be renewed while the provider runs); kept until shortly before they expire.
#[derive(Debug)]
pub struct WebIdentityProvider {
    identity: WebIdentity,
    sts: aws_sdk_sts::Client,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl WebIdentityProvider {
    pub fn new(identity: WebIdentity, sts: aws_sdk_sts::Client) -> Self {
        WebIdentityProvider {
            identity,
            sts,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(c.clone());
            }
        }
        let id = &self.identity;
        let token = tokio::fs::read_to_string(&id.token_file)
            .await
            .map_err(|e| {
                CredentialsError::provider_error(format!(
                    "cannot read the web identity token file {} (AWS_WEB_IDENTITY_TOKEN_FILE): {e}",
                    id.token_file
                ))
            })?;
        let answer = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(&id.role_arn)
            .role_session_name(&id.session_name)
            .web_identity_token(token.trim())
            .send()
            .await
            .map_err(|e| {
                CredentialsError::provider_error(format!(
                    "STS AssumeRoleWithWebIdentity for {}: {}",
                    id.role_arn,
                    error_chain(&e)
                ))
            })?;
        let c = answer.credentials().ok_or_else(|| {
            CredentialsError::provider_error(
                "STS AssumeRoleWithWebIdentity returned no credentials",
            )
        })?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "WebIdentityToken",
        );
        *cached = Some(creds.clone());
        Ok(creds)
    }
}

impl ProvideCredentials for WebIdentityProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
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

/// How a call to an AWS service under [`Bounds`] failed (the SDK has already retried
/// throttling and server errors).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    #[error("failed: {code}: {message}")]
    Api { code: String, message: String },
    #[error("could not reach {service}: {detail}")]
    Transport {
        service: &'static str,
        detail: String,
    },
    #[error("got a response that could not be read (HTTP {status}): {detail}")]
    Unreadable { status: u16, detail: String },
    #[error("was cancelled: the provider was asked to stop")]
    Cancelled,
    #[error("timed out: no answer within the operation's time ({after:?})")]
    TimedOut { after: std::time::Duration },
}

impl From<Cut> for CallFailure {
    fn from(cut: Cut) -> Self {
        match cut {
            Cut::Cancelled => CallFailure::Cancelled,
            Cut::TimedOut { after } => CallFailure::TimedOut { after },
        }
    }
}

/// Sends one request to `service` (its name, for messages) under `bounds`: a cancellation or
/// the operation's deadline ends it, whatever the SDK's retries would still do.
///
/// # Errors
/// [`CallFailure`] saying how the call failed.
pub async fn call<T, E, F>(
    bounds: &Bounds,
    service: &'static str,
    send: F,
) -> Result<T, CallFailure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    F: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    bounds
        .run(send)
        .await?
        .map_err(|e| match SdkFailure::of(&e) {
            SdkFailure::Api { code, message } => CallFailure::Api { code, message },
            SdkFailure::Unreadable { status } => CallFailure::Unreadable {
                status,
                detail: error_chain(&e),
            },
            SdkFailure::Transport => CallFailure::Transport {
                service,
                detail: error_chain(&e),
            },
        })
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
    if let Some(files) = &settings.shared_config_files {
        let mut b = EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(true);
        for f in files {
            b = b.with_file(EnvConfigFileKind::Config, f);
        }
        loader = loader.profile_files(b.build());
    }
    let source = credential_source(
        settings.profile.as_deref(),
        settings.shared_config_files.is_some(),
        |k| std::env::var(k).ok(),
    );
    let mut base = loader.load().await;
    let sts_conf = |conf: &SdkConfig| {
        let mut b = conf.clone().into_builder();
        if let Some(ep) = &settings.sts_endpoint {
            b = b.endpoint_url(ep);
        }
        b.build()
    };
    if let CredentialSource::WebIdentity(identity) = source {
        let sts = aws_sdk_sts::Client::new(&sts_conf(&base));
        let provider = WebIdentityProvider::new(identity, sts);
        base = base
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }
    let Some(role) = &settings.assume_role else {
        return base;
    };
    let sts_conf = sts_conf(&base);
    let mut provider = AssumeRoleProvider::builder(role.role_arn.clone())
        .session_name(
            role.session_name
                .clone()
                .unwrap_or_else(|| DEFAULT_SESSION_NAME.into()),
        )
        .configure(&sts_conf);
    if let Some(id) = &role.external_id {
        provider = provider.external_id(id.clone());
    }
    let provider = provider.build().await;
    base.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_web_identity_in_the_environment_is_used_as_hcp_terraform_provides_it() {
        let tfc = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/run/aws-token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/tfc-run"),
        ];
        assert_eq!(
            credential_source(None, false, env(&tfc)),
            CredentialSource::WebIdentity(WebIdentity {
                token_file: "/tmp/run/aws-token".into(),
                role_arn: "arn:aws:iam::123456789012:role/tfc-run".into(),
                session_name: DEFAULT_SESSION_NAME.into(),
            })
        );
        let named = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
            ("AWS_ROLE_SESSION_NAME", "run-42"),
        ];
        match credential_source(None, false, env(&named)) {
            CredentialSource::WebIdentity(w) => assert_eq!(w.session_name, "run-42"),
            other => panic!("{other:?}"),
        }
    }

    /// A stub of STS answering AssumeRoleWithWebIdentity with credentials that expire after
    /// `lifetime`; returns its URL and the request bodies it got.
    async fn stub_sts(
        lifetime: Duration,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    while let Some((_, body)) =
                        crate::clients::test_http::read_request(&mut conn).await
                    {
                        let n = {
                            let mut b = seen.lock().unwrap_or_else(|e| e.into_inner());
                            b.push(body);
                            b.len()
                        };
                        let expires =
                            aws_smithy_types::DateTime::from(SystemTime::now() + lifetime)
                                .fmt(aws_smithy_types::date_time::Format::DateTime)
                                .unwrap_or_default();
                        let xml = format!(
                            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                             <AccessKeyId>ASIAEXAMPLE{n}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>\
                             <SessionToken>session</SessionToken><Expiration>{expires}</Expiration></Credentials>\
                             </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                        );
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{xml}",
                            xml.len()
                        );
                        if conn.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, bodies)
    }

    fn provider_for(url: &str, token_file: &std::path::Path) -> WebIdentityProvider {
        let conf = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .endpoint_url(url)
            .build();
        WebIdentityProvider::new(
            WebIdentity {
                token_file: token_file.display().to_string(),
                role_arn: "arn:aws:iam::123456789012:role/tfc-run".into(),
                session_name: DEFAULT_SESSION_NAME.into(),
            },
            aws_sdk_sts::Client::from_conf(conf),
        )
    }

    #[tokio::test]
    async fn a_web_identity_is_exchanged_once_and_again_only_when_its_credentials_near_expiry() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "first.jwt.token\n").expect("token");

        let (url, bodies) = stub_sts(Duration::from_secs(3600)).await;
        let p = provider_for(&url, &token_file);
        let a = p.provide_credentials().await.expect("credentials");
        let b = p.provide_credentials().await.expect("credentials");
        assert_eq!(a.access_key_id(), "ASIAEXAMPLE1");
        assert_eq!(b.access_key_id(), "ASIAEXAMPLE1", "reused while fresh");
        assert_eq!(a.session_token(), Some("session"));
        {
            let seen = bodies.lock().unwrap_or_else(|e| e.into_inner());
            assert_eq!(seen.len(), 1);
            for part in [
                "Action=AssumeRoleWithWebIdentity",
                "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Ftfc-run",
                "RoleSessionName=terraform-provider-dataplatform",
            ] {
                assert!(seen[0].contains(part), "{part} in {}", seen[0]);
            }
            // The file's trailing newline is not part of the token.
            assert!(
                seen[0].ends_with("&WebIdentityToken=first.jwt.token"),
                "{}",
                seen[0]
            );
        }

        // Credentials that expire within five minutes are exchanged again, with the token the
        // file holds now.
        let (url, bodies) = stub_sts(Duration::from_secs(120)).await;
        let p = provider_for(&url, &token_file);
        p.provide_credentials().await.expect("credentials");
        std::fs::write(&token_file, "second.jwt.token").expect("token");
        let again = p.provide_credentials().await.expect("credentials");
        assert_eq!(again.access_key_id(), "ASIAEXAMPLE2");
        let seen = bodies.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(seen.len(), 2);
        assert!(
            seen[1].contains("WebIdentityToken=second.jwt.token"),
            "{}",
            seen[1]
        );

        // No token file: the error names it and the variable.
        let p = provider_for(&url, &dir.path().join("missing"));
        let err = p.provide_credentials().await.expect_err("no token");
        let text = error_chain(&err);
        assert!(text.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "{text}");
        assert!(!text.contains("jwt"), "{text}");
    }

    #[test]
    fn credential_sources_follow_the_aws_sdk_order() {
        let all = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_PROFILE", "dev"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
        ];
        // The provider's profile first, then static keys, AWS_PROFILE, the web identity.
        assert_eq!(
            credential_source(Some("ops"), false, env(&all)),
            CredentialSource::Profile("ops".into())
        );
        assert_eq!(
            credential_source(None, false, env(&all)),
            CredentialSource::EnvironmentKeys
        );
        assert_eq!(
            credential_source(None, false, env(&all[2..])),
            CredentialSource::Profile("dev".into())
        );
        // Shared config files the provider names (HCP Terraform's tfc_aws_dynamic_credentials)
        // come before the web identity in the environment, after static keys and AWS_PROFILE.
        assert_eq!(
            credential_source(None, true, env(&all[3..])),
            CredentialSource::SharedConfigFiles
        );
        assert_eq!(
            credential_source(None, true, env(&all)),
            CredentialSource::EnvironmentKeys
        );
        // A key without its secret, a token file without a role, empty values: not enough.
        for partial in [
            &[("AWS_ACCESS_KEY_ID", "AKID")][..],
            &[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")][..],
            &[("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r")][..],
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", ""),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
            ][..],
            &[("AWS_PROFILE", " ")][..],
            &[][..],
        ] {
            assert_eq!(
                credential_source(None, false, env(partial)),
                CredentialSource::DefaultChain,
                "{partial:?}"
            );
        }
    }

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
