//! EKS authentication tokens, as `aws eks get-token` and aws-iam-authenticator make them:
//! `k8s-aws-v1.` followed by the unpadded base64url of a presigned STS `GetCallerIdentity`
//! URL whose signature covers the `x-k8s-aws-id` header naming the cluster.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// How long the presigned URL is valid (what the AWS CLI uses). The cluster accepts a token
/// for 15 minutes from its signing time.
pub const PRESIGN_EXPIRY: Duration = Duration::from_secs(60);
/// How long a token is used before a new one is made: well inside the cluster's 15 minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign the EKS token request: {0}")]
    Signing(String),
    #[error("no AWS credentials: {0}")]
    Credentials(String),
}

/// The STS host for a region (regional endpoint, as the AWS CLI uses).
pub fn sts_host(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("sts.{region}.amazonaws.com.cn")
    } else {
        format!("sts.{region}.amazonaws.com")
    }
}

/// Makes a token for `cluster` signed with `credentials` at `now`.
///
/// # Errors
/// When signing fails (malformed credentials or region).
pub fn token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String, TokenError> {
    let host = sts_host(region);
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRY);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| TokenError::Signing(e.to_string()))?
        .into();
    let headers = [("host", host.as_str()), ("x-k8s-aws-id", cluster)];
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| TokenError::Signing(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| TokenError::Signing(e.to_string()))?
        .into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(&url)
        .body(())
        .map_err(|e| TokenError::Signing(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    ))
}

/// Makes tokens for one cluster on demand: the Kubernetes client asks it for a new one when the
/// cluster refuses an expired token.
pub struct EksTokenSource {
    credentials: SharedCredentialsProvider,
    region: String,
    cluster: String,
}

impl std::fmt::Debug for EksTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksTokenSource")
            .field("region", &self.region)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl EksTokenSource {
    pub fn new(credentials: SharedCredentialsProvider, region: &str, cluster: &str) -> Self {
        EksTokenSource {
            credentials,
            region: region.to_string(),
            cluster: cluster.to_string(),
        }
    }

    /// A token signed now with the provider's current credentials.
    ///
    /// # Errors
    /// When no credentials can be had or signing fails.
    pub async fn make(&self) -> Result<String, TokenError> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| TokenError::Credentials(e.to_string()))?;
        token(&creds, &self.region, &self.cluster, SystemTime::now())
    }
}

#[async_trait::async_trait]
impl crate::clients::kube::TokenSource for EksTokenSource {
    async fn token(&self) -> Result<String, String> {
        self.make().await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(t: &str) -> String {
        let b64 = t.strip_prefix(TOKEN_PREFIX).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn tokens_are_presigned_get_caller_identity_urls_covering_the_cluster_header() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let t = token(&creds, "eu-central-1", "analytics", now).unwrap_or_default();
        assert!(t.starts_with(TOKEN_PREFIX), "{t}");
        assert!(!t.contains('='), "no padding: {t}");
        let url = decode(&t);
        assert!(
            url.starts_with("https://sts.eu-central-1.amazonaws.com/?"),
            "{url}"
        );
        for part in [
            "Action=GetCallerIdentity",
            "Version=2011-06-15",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Feu-central-1%2Fsts%2Faws4_request",
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} missing in {url}");
        }
        assert!(!url.contains("secret"));
        // The signature depends on the cluster name.
        let other = token(&creds, "eu-central-1", "other", now).unwrap_or_default();
        assert_ne!(t, other);
        // Session tokens travel in the URL, as STS requires.
        let session = Credentials::new("AKID", "secret", Some("SESSION".into()), None, "t");
        let s = decode(&token(&session, "us-east-1", "c", now).unwrap_or_default());
        assert!(s.contains("X-Amz-Security-Token=SESSION"), "{s}");
    }

    #[tokio::test]
    async fn a_token_source_signs_a_new_token_on_each_request() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let source = EksTokenSource::new(
            SharedCredentialsProvider::new(creds),
            "eu-central-1",
            "analytics",
        );
        let first = source.make().await.unwrap_or_default();
        let url = decode(&first);
        assert!(url.contains("X-Amz-Credential=AKIDEXAMPLE%2F"), "{url}");
        assert!(!format!("{source:?}").contains("secret"));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let second = crate::clients::kube::TokenSource::token(&source)
            .await
            .unwrap_or_default();
        assert!(second.starts_with(TOKEN_PREFIX));
        assert_ne!(first, second, "signed at another second");
    }
}
