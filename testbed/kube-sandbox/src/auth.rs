//! Bearer-token authentication: static tokens, and EKS IAM tokens in the aws-iam-authenticator
//! format (`k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL).
//!
//! An EKS token's structure and age are always checked here. Its signature is verified, like
//! EKS does, by sending the presigned request to STS (the AWS stand-in, `--sts-endpoint`) with
//! the cluster name in `x-k8s-aws-id`: accepted when STS answers with an identity, so any
//! credentials STS knows work, assumed-role sessions included. Without an STS endpoint, the
//! signature is checked against one fixed secret key (`--aws-secret-key`), or not at all.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const EKS_TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The longest X-Amz-Expires accepted.
const MAX_EXPIRES_SECS: i64 = 900;
/// How long after X-Amz-Date EKS accepts a token: 15 minutes, whatever X-Amz-Expires says
/// (`aws eks get-token` presigns for 60 s; clients cache the token for up to 14 minutes).
pub const DEFAULT_TOKEN_MAX_AGE_SECS: i64 = 900;
/// How far X-Amz-Date may lie in the future (clock skew).
const MAX_FUTURE_SECS: i64 = 300;
/// How the refusal of an expired EKS token begins.
pub const EXPIRED: &str = "EKS token: expired";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No Authorization header, and anonymous requests are allowed.
    Anonymous,
    Static,
    Eks {
        access_key_id: String,
        /// The cluster name the signature was verified for; `None` when signatures are not checked.
        cluster: Option<String>,
        /// The token's X-Amz-Date (tells a renewed token from the one before).
        signed_at: String,
        /// The caller STS named (only when STS verified the token).
        arn: Option<String>,
    },
    /// An EKS token whose structure and age are fine, still to be verified by STS
    /// ([`AuthConfig::authenticate`] does).
    EksPending(Box<Pending>),
}

/// What STS is asked to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    endpoint: String,
    host: String,
    path_and_query: String,
    access_key_id: String,
    signed_at: String,
}

pub struct AuthConfig {
    pub tokens: Vec<String>,
    pub aws_secret_key: Option<String>,
    pub eks_clusters: Vec<String>,
    /// Seconds after X-Amz-Date a token stops being accepted (the control API changes it).
    pub eks_token_max_age_secs: AtomicI64,
    /// Accept requests without an Authorization header (a token, if sent, is still checked).
    pub allow_anonymous: bool,
    /// The STS endpoint (`http://host:port`) EKS tokens are verified by; the control API sets it.
    pub sts_endpoint: std::sync::RwLock<Option<String>>,
}

/// How long verifying a token with STS may take.
const STS_TIMEOUT: Duration = Duration::from_secs(10);

impl AuthConfig {
    /// Checks an `Authorization` header value, asking STS to verify an EKS token's signature
    /// when an STS endpoint is set. The error says why the request is refused.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<Identity, String> {
        match self.check(header, now)? {
            Identity::EksPending(p) => self.verify_with_sts(&p).await,
            other => Ok(other),
        }
    }

    /// Sends the presigned GetCallerIdentity to STS once per cluster name (the signed
    /// `x-k8s-aws-id` header) until STS accepts it, as EKS does for its own name.
    async fn verify_with_sts(&self, p: &Pending) -> Result<Identity, String> {
        let mut refusals = Vec::new();
        for cluster in &self.eks_clusters {
            let (status, body) = tokio::time::timeout(STS_TIMEOUT, sts_get(p, cluster))
                .await
                .map_err(|_| format!("EKS token: STS at {} did not answer", p.endpoint))??;
            if status == 200 {
                let arn = caller_arn(&body).ok_or_else(|| {
                    "EKS token: STS answered GetCallerIdentity without an Arn".to_string()
                })?;
                return Ok(Identity::Eks {
                    access_key_id: p.access_key_id.clone(),
                    cluster: Some(cluster.clone()),
                    signed_at: p.signed_at.clone(),
                    arn: Some(arn),
                });
            }
            refusals.push(format!("{cluster}: {}", sts_error_code(&body, status)));
        }
        Err(format!(
            "EKS token: bad signature (STS refused the presigned GetCallerIdentity for cluster {})",
            refusals.join(", ")
        ))
    }

    /// Checks an `Authorization` header value. The error says why the request is refused.
    pub fn check(&self, header: Option<&str>, now: jiff::Timestamp) -> Result<Identity, String> {
        let header = match header {
            Some(h) => h,
            None if self.allow_anonymous => return Ok(Identity::Anonymous),
            None => return Err("no bearer token in the Authorization header".into()),
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or("the Authorization header is not a bearer token")?
            .trim();
        if token.is_empty() {
            return Err("empty bearer token".into());
        }
        if self.tokens.iter().any(|t| t == token) {
            return Ok(Identity::Static);
        }
        if let Some(encoded) = token.strip_prefix(EKS_TOKEN_PREFIX) {
            return self.check_eks(encoded, now);
        }
        Err("unknown bearer token".into())
    }

    fn check_eks(&self, encoded: &str, now: jiff::Timestamp) -> Result<Identity, String> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|e| format!("EKS token: not base64url: {e}"))?;
        let url = String::from_utf8(raw).map_err(|_| "EKS token: not UTF-8".to_string())?;
        let p = PresignedUrl::parse(&url)?;
        let get = |k: &str| p.param(k);
        let need = |k: &str| get(k).ok_or_else(|| format!("EKS token: missing {k}"));

        if need("Action")? != "GetCallerIdentity" {
            return Err("EKS token: Action is not GetCallerIdentity".into());
        }
        if need("Version")? != "2011-06-15" {
            return Err("EKS token: Version is not 2011-06-15".into());
        }
        if need("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
            return Err("EKS token: X-Amz-Algorithm is not AWS4-HMAC-SHA256".into());
        }
        let credential = need("X-Amz-Credential")?;
        let scope: Vec<&str> = credential.split('/').collect();
        if scope.len() != 5 || scope[4] != "aws4_request" || scope[0].is_empty() {
            return Err(format!(
                "EKS token: malformed X-Amz-Credential {credential:?}"
            ));
        }
        if scope[3] != "sts" {
            return Err(format!(
                "EKS token: credential scope is for service {:?}, not sts",
                scope[3]
            ));
        }
        let signed_headers = need("X-Amz-SignedHeaders")?;
        let signed: Vec<&str> = signed_headers.split(';').collect();
        if !signed.contains(&"x-k8s-aws-id") {
            return Err("EKS token: X-Amz-SignedHeaders does not include x-k8s-aws-id".into());
        }
        if !signed.contains(&"host") {
            return Err("EKS token: X-Amz-SignedHeaders does not include host".into());
        }
        let amz_date = need("X-Amz-Date")?;
        let signed_at = parse_amz_date(amz_date)
            .ok_or_else(|| format!("EKS token: malformed X-Amz-Date {amz_date:?}"))?;
        if !amz_date.starts_with(scope[1]) {
            return Err("EKS token: X-Amz-Date does not match the credential scope date".into());
        }
        let expires: i64 = need("X-Amz-Expires")?
            .parse()
            .map_err(|_| "EKS token: X-Amz-Expires is not a number".to_string())?;
        if !(1..=MAX_EXPIRES_SECS).contains(&expires) {
            return Err(format!(
                "EKS token: X-Amz-Expires {expires} is outside 1..={MAX_EXPIRES_SECS}"
            ));
        }
        let age = now.as_second() - signed_at.as_second();
        if age < -MAX_FUTURE_SECS {
            return Err(format!(
                "EKS token: X-Amz-Date {amz_date} is {} s in the future",
                -age
            ));
        }
        let max_age = self.eks_token_max_age_secs.load(Ordering::SeqCst);
        if age > max_age {
            return Err(format!(
                "{EXPIRED} (signed {age} s ago; tokens are accepted for {max_age} s)"
            ));
        }
        let signature = need("X-Amz-Signature")?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("EKS token: malformed X-Amz-Signature".into());
        }
        let access_key_id = scope[0].to_string();
        let sts = self
            .sts_endpoint
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(endpoint) = sts {
            return Ok(Identity::EksPending(Box::new(Pending {
                endpoint,
                host: p.host.clone(),
                path_and_query: p.path_and_query.clone(),
                access_key_id,
                signed_at: amz_date.to_string(),
            })));
        }
        let Some(secret) = &self.aws_secret_key else {
            return Ok(Identity::Eks {
                access_key_id,
                cluster: None,
                signed_at: amz_date.to_string(),
                arn: None,
            });
        };
        for cluster in &self.eks_clusters {
            for payload_hash in [UNSIGNED_PAYLOAD, EMPTY_SHA256] {
                let expected = p.signature(secret, &signed, cluster, payload_hash)?;
                if expected.eq_ignore_ascii_case(signature) {
                    return Ok(Identity::Eks {
                        access_key_id,
                        cluster: Some(cluster.clone()),
                        signed_at: amz_date.to_string(),
                        arn: None,
                    });
                }
            }
        }
        Err(format!(
            "EKS token: bad signature (it does not verify for cluster {} with the configured secret key)",
            self.eks_clusters.join(", ")
        ))
    }
}

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn parse_amz_date(s: &str) -> Option<jiff::Timestamp> {
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", s).ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// One GET of the presigned request to the STS endpoint (plain HTTP on loopback), with the
/// token's host in `Host` (it is signed) and the cluster name in `x-k8s-aws-id`.
async fn sts_get(p: &Pending, cluster: &str) -> Result<(u16, String), String> {
    let unreachable =
        |e: std::io::Error| format!("EKS token: cannot reach STS at {}: {e}", p.endpoint);
    let addr = p
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("EKS token: the STS endpoint {} is not http://", p.endpoint))?
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(unreachable)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nx-k8s-aws-id: {cluster}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        p.path_and_query, p.host
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(unreachable)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(unreachable)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("EKS token: STS at {} answered no HTTP status", p.endpoint))?;
    Ok((status, body.to_string()))
}

/// The caller's ARN in a GetCallerIdentity answer (JSON, or the query protocol's XML).
fn caller_arn(body: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        return v["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
            .as_str()
            .map(str::to_string);
    }
    xml_element(body, "Arn")
}

/// The error code of an STS refusal, else its HTTP status.
fn sts_error_code(body: &str, status: u16) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["Error"]["Code"].as_str().map(str::to_string))
        .or_else(|| xml_element(body, "Code"))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

fn xml_element(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{name}>"))?;
    Some(body[start..start + len].to_string())
}

struct PresignedUrl {
    host: String,
    path: String,
    /// The path and query as signed (forwarded to STS unchanged).
    path_and_query: String,
    params: Vec<(String, String)>,
}

impl PresignedUrl {
    fn parse(url: &str) -> Result<PresignedUrl, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or("EKS token: the presigned URL is not an http(s) URL")?;
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, path) = match before_query.find('/') {
            Some(i) => (&before_query[..i], &before_query[i..]),
            None => (before_query, "/"),
        };
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("EKS token: the presigned URL's host holds whitespace".into());
        }
        if host.is_empty() {
            return Err("EKS token: the presigned URL has no host".into());
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = urlencoding::decode(k)
                .map_err(|_| "EKS token: bad percent-encoding".to_string())?
                .into_owned();
            let v = urlencoding::decode(v)
                .map_err(|_| "EKS token: bad percent-encoding".to_string())?
                .into_owned();
            if params.iter().any(|(pk, _)| *pk == k) {
                return Err(format!("EKS token: duplicate query parameter {k}"));
            }
            params.push((k, v));
        }
        let path_and_query = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        if path_and_query
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err("EKS token: the presigned URL holds whitespace".into());
        }
        Ok(PresignedUrl {
            host: host.to_string(),
            path: path.to_string(),
            path_and_query,
            params,
        })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Recomputes the SigV4 query signature for the given cluster name (the value of the signed
    /// `x-k8s-aws-id` header) and payload hash.
    fn signature(
        &self,
        secret: &str,
        signed_headers: &[&str],
        cluster: &str,
        payload_hash: &str,
    ) -> Result<String, String> {
        let mut query: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| k != "X-Amz-Signature")
            .map(|(k, v)| (uri_encode(k), uri_encode(v)))
            .collect();
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers = String::new();
        for h in signed_headers {
            let value = match *h {
                "host" => self.host.as_str(),
                "x-k8s-aws-id" => cluster,
                other => return Err(format!("EKS token: unsupported signed header {other}")),
            };
            headers.push_str(&format!("{h}:{}\n", value.trim()));
        }
        let canonical_request = format!(
            "GET\n{}\n{canonical_query}\n{headers}\n{}\n{payload_hash}",
            canonical_path(&self.path),
            signed_headers.join(";")
        );
        let credential = self.param("X-Amz-Credential").unwrap_or_default();
        let scope: Vec<&str> = credential.split('/').collect();
        let amz_date = self.param("X-Amz-Date").unwrap_or_default();
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
            scope[1..].join("/"),
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope[1].as_bytes());
        let k_region = hmac(&k_date, scope[2].as_bytes());
        let k_service = hmac(&k_region, scope[3].as_bytes());
        let k_signing = hmac(&k_service, b"aws4_request");
        Ok(hex(&hmac(&k_signing, string_to_sign.as_bytes())))
    }
}

fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|seg| {
            let decoded = urlencoding::decode(seg)
                .map(|c| c.into_owned())
                .unwrap_or_else(|_| seg.to_string());
            uri_encode(&decoded)
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds an EKS token the way aws-iam-authenticator and `aws eks get-token` do (for tests).
#[cfg(test)]
pub fn presign_eks_token(
    host: &str,
    region: &str,
    access_key: &str,
    secret: &str,
    cluster: &str,
    amz_date: &str,
    expires: u32,
) -> String {
    let date = &amz_date[..8];
    let params = vec![
        ("Action".to_string(), "GetCallerIdentity".to_string()),
        ("Version".to_string(), "2011-06-15".to_string()),
        (
            "X-Amz-Algorithm".to_string(),
            "AWS4-HMAC-SHA256".to_string(),
        ),
        (
            "X-Amz-Credential".to_string(),
            format!("{access_key}/{date}/{region}/sts/aws4_request"),
        ),
        ("X-Amz-Date".to_string(), amz_date.to_string()),
        ("X-Amz-Expires".to_string(), expires.to_string()),
        (
            "X-Amz-SignedHeaders".to_string(),
            "host;x-k8s-aws-id".to_string(),
        ),
    ];
    let unsigned = PresignedUrl {
        host: host.to_string(),
        path: "/".to_string(),
        path_and_query: String::new(),
        params: params.clone(),
    };
    let sig = unsigned
        .signature(secret, &["host", "x-k8s-aws-id"], cluster, EMPTY_SHA256)
        .unwrap();
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("https://{host}/?{query}&X-Amz-Signature={sig}");
    format!(
        "{EKS_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(secret: Option<&str>) -> AuthConfig {
        AuthConfig {
            tokens: vec!["static-token".into()],
            aws_secret_key: secret.map(str::to_string),
            eks_clusters: vec!["analytics".into()],
            eks_token_max_age_secs: AtomicI64::new(DEFAULT_TOKEN_MAX_AGE_SECS),
            allow_anonymous: false,
            sts_endpoint: std::sync::RwLock::new(None),
        }
    }

    fn at(s: &str) -> jiff::Timestamp {
        parse_amz_date(s).unwrap()
    }

    fn token(cluster: &str, date: &str) -> String {
        presign_eks_token(
            "sts.eu-central-1.amazonaws.com",
            "eu-central-1",
            "AKIDEXAMPLE",
            "testing",
            cluster,
            date,
            60,
        )
    }

    #[test]
    fn static_tokens() {
        let c = cfg(None);
        assert_eq!(
            c.check(Some("Bearer static-token"), at("20240101T000000Z")),
            Ok(Identity::Static)
        );
        assert!(c
            .check(Some("Bearer nope"), at("20240101T000000Z"))
            .is_err());
        assert!(c.check(None, at("20240101T000000Z")).is_err());
        let anonymous = AuthConfig {
            allow_anonymous: true,
            ..cfg(None)
        };
        assert_eq!(
            anonymous.check(None, at("20240101T000000Z")),
            Ok(Identity::Anonymous)
        );
        assert!(anonymous
            .check(Some("Bearer nope"), at("20240101T000000Z"))
            .is_err());
    }

    #[test]
    fn eks_token_signature_is_verified() {
        let c = cfg(Some("testing"));
        let t = format!("Bearer {}", token("analytics", "20240101T000000Z"));
        assert_eq!(
            c.check(Some(&t), at("20240101T000030Z")),
            Ok(Identity::Eks {
                access_key_id: "AKIDEXAMPLE".into(),
                cluster: Some("analytics".into()),
                signed_at: "20240101T000000Z".into(),
                arn: None,
            })
        );
        let other = format!("Bearer {}", token("other", "20240101T000000Z"));
        let err = c.check(Some(&other), at("20240101T000030Z")).unwrap_err();
        assert!(err.contains("bad signature"), "{err}");
        let wrong_secret = cfg(Some("other-secret"));
        assert!(wrong_secret
            .check(Some(&t), at("20240101T000030Z"))
            .unwrap_err()
            .contains("bad signature"));
        // Without a secret only the structure and the times are checked.
        assert!(cfg(None)
            .check(Some(&other), at("20240101T000030Z"))
            .is_ok());
    }

    #[test]
    fn eks_token_times() {
        let c = cfg(Some("testing"));
        let t = format!("Bearer {}", token("analytics", "20240101T000000Z"));
        assert!(c.check(Some(&t), at("20240101T001400Z")).is_ok());
        let err = c.check(Some(&t), at("20240101T001501Z")).unwrap_err();
        assert!(err.contains("expired"), "{err}");
        let strict = AuthConfig {
            eks_token_max_age_secs: AtomicI64::new(60),
            ..cfg(Some("testing"))
        };
        assert!(strict.check(Some(&t), at("20240101T000100Z")).is_ok());
        assert!(strict
            .check(Some(&t), at("20240101T000101Z"))
            .unwrap_err()
            .contains("expired"));
        // The control API shortens it at run time.
        strict.eks_token_max_age_secs.store(2, Ordering::SeqCst);
        assert!(strict.check(Some(&t), at("20240101T000002Z")).is_ok());
        assert!(strict
            .check(Some(&t), at("20240101T000003Z"))
            .unwrap_err()
            .starts_with(EXPIRED));
        let err = c.check(Some(&t), at("20231231T235000Z")).unwrap_err();
        assert!(err.contains("future"), "{err}");
        assert!(c.check(Some(&t), at("20231231T235800Z")).is_ok());
    }

    #[test]
    fn eks_token_structure() {
        let c = cfg(None);
        let now = at("20240101T000000Z");
        let enc = |url: &str| {
            format!(
                "Bearer {EKS_TOKEN_PREFIX}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
            )
        };
        let err = c
            .check(
                Some(&enc("https://sts.amazonaws.com/?Action=ListUsers")),
                now,
            )
            .unwrap_err();
        assert!(err.contains("GetCallerIdentity"), "{err}");
        let no_id = "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000";
        let err = c.check(Some(&enc(no_id)), now).unwrap_err();
        assert!(err.contains("x-k8s-aws-id"), "{err}");
        let ok = no_id.replace("SignedHeaders=host", "SignedHeaders=host%3Bx-k8s-aws-id");
        assert!(c.check(Some(&enc(&ok)), now).is_ok());
        let long = ok.replace("X-Amz-Expires=60", "X-Amz-Expires=3600");
        assert!(c
            .check(Some(&enc(&long)), now)
            .unwrap_err()
            .contains("X-Amz-Expires"));
        assert!(c
            .check(Some("Bearer k8s-aws-v1.%%%"), now)
            .unwrap_err()
            .contains("base64"));
    }

    /// A stand-in for STS: accepts the presigned request when its signature verifies with the
    /// secret `testing` for the host and `x-k8s-aws-id` it comes with; counts the requests.
    async fn fake_sts() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = calls.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let header = |name: &str| {
                    req.lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                        .unwrap_or_default()
                        .to_string()
                };
                let target = req.split_whitespace().nth(1).unwrap_or_default();
                let good = PresignedUrl::parse(&format!("https://{}{target}", header("Host")))
                    .ok()
                    .filter(|p| p.param("Action") == Some("GetCallerIdentity"))
                    .and_then(|p| {
                        let cluster = header("x-k8s-aws-id");
                        let expected = p
                            .signature("testing", &["host", "x-k8s-aws-id"], &cluster, EMPTY_SHA256)
                            .ok()?;
                        Some(p.param("X-Amz-Signature") == Some(expected.as_str()))
                    })
                    .unwrap_or(false);
                let (status, body) = if good {
                    ("200 OK", r#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"arn:aws:sts::123456789012:assumed-role/tfc/run-1"}}}"#.to_string())
                } else {
                    ("403 Forbidden", "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>".to_string())
                };
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes())
                    .await;
            }
        });
        (format!("http://{addr}"), calls)
    }

    #[tokio::test]
    async fn with_an_sts_endpoint_sts_verifies_eks_tokens() {
        let (endpoint, calls) = fake_sts().await;
        let c = AuthConfig {
            eks_clusters: vec!["other".into(), "analytics".into()],
            ..cfg(Some("not-used-when-sts-verifies"))
        };
        *c.sts_endpoint.write().unwrap() = Some(endpoint);
        let t = format!("Bearer {}", token("analytics", "20240101T000000Z"));
        let now = at("20240101T000030Z");
        assert_eq!(
            c.authenticate(Some(&t), now).await,
            Ok(Identity::Eks {
                access_key_id: "AKIDEXAMPLE".into(),
                cluster: Some("analytics".into()),
                signed_at: "20240101T000000Z".into(),
                arn: Some("arn:aws:sts::123456789012:assumed-role/tfc/run-1".into()),
            })
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "tried for each cluster name"
        );
        // STS refuses it: a forged signature, or one for another cluster.
        let forged = format!("Bearer {}", token("elsewhere", "20240101T000000Z"));
        let err = c.authenticate(Some(&forged), now).await.unwrap_err();
        assert!(
            err.contains("bad signature") && err.contains("SignatureDoesNotMatch"),
            "{err}"
        );
        // An expired token is refused before STS is asked.
        let before = calls.load(Ordering::SeqCst);
        let err = c
            .authenticate(Some(&t), at("20240101T001501Z"))
            .await
            .unwrap_err();
        assert!(err.starts_with(EXPIRED), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), before);
        // Static tokens need no STS.
        assert_eq!(
            c.authenticate(Some("Bearer static-token"), now).await,
            Ok(Identity::Static)
        );
        // STS down: refused, saying so.
        *c.sts_endpoint.write().unwrap() = Some("http://127.0.0.1:1".into());
        let err = c.authenticate(Some(&t), now).await.unwrap_err();
        assert!(err.contains("cannot reach STS"), "{err}");
    }
}
