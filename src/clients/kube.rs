//! A Kubernetes API client for the objects the provider manages: server-side apply under the
//! provider's field manager, get, list and delete of typed-erased objects (plain JSON), so
//! custom resources such as `ServiceMonitor` need no CRD on the client side.
//!
//! Every call is idempotent (server-side apply, get, list, delete), so every call is retried
//! under a [`RetryPolicy`]: throttling (429), server errors (500, 502, 503, 504) and transport
//! errors, with exponential backoff and jitter, honouring the server's Retry-After, stopping
//! early when the caller's cancellation token fires. kube-rs's own retry layer is off, so
//! attempts do not multiply. A client with a [`TokenSource`] (EKS tokens, which expire) renews
//! its bearer token once per call when the cluster answers 401.
//!
//! Knows nothing of Terraform: errors are [`KubeError`], objects are `serde_json::Value`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

/// How to reach and authenticate to a cluster.
#[derive(Clone)]
pub enum Access {
    /// An API server URL, a bearer token and the CA that signed the server's certificate.
    Direct {
        host: String,
        token: Option<String>,
        ca_pem: Option<String>,
        insecure: bool,
    },
    /// A kubeconfig file and optionally the context to use.
    Kubeconfig {
        path: String,
        context: Option<String>,
    },
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Direct { host, insecure, .. } => f
                .debug_struct("Direct")
                .field("host", host)
                .field("token", &"<redacted>")
                .field("insecure", insecure)
                .finish(),
            Access::Kubeconfig { path, context } => f
                .debug_struct("Kubeconfig")
                .field("path", path)
                .field("context", context)
                .finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("invalid cluster connection: {0}")]
    Config(String),
    #[error("{kind} {name}: {message} ({reason}, HTTP {code})")]
    Api {
        kind: String,
        name: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("cannot reach the Kubernetes API at {host}: {message}")]
    Transport { host: String, message: String },
    #[error("unknown object kind {0}")]
    UnknownKind(String),
    #[error("object without {0}")]
    Malformed(&'static str),
    #[error("cancelled before the Kubernetes API at {host} answered")]
    Cancelled { host: String },
    #[error("cannot renew the token for the Kubernetes API at {host}: {message}")]
    Credentials { host: String, message: String },
}

impl KubeError {
    /// Throttling, a server error or an unreachable API server: worth asking again later.
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Api { code, .. } => *code == 429 || *code >= 500,
            KubeError::Transport { .. } => true,
            _ => false,
        }
    }

    /// The API's status code, for API errors.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// For a server-side apply refused because other field managers own fields it would
    /// change (409 Conflict), the names of those managers.
    pub fn conflicting_managers(&self) -> Option<Vec<String>> {
        let KubeError::Api {
            code: 409,
            reason,
            message,
            ..
        } = self
        else {
            return None;
        };
        if reason != "Conflict" || !message.starts_with("Apply failed") {
            return None;
        }
        let mut managers: Vec<String> = message
            .split("with \"")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(m, _)| m.to_string()))
            .collect();
        managers.sort();
        managers.dedup();
        Some(managers)
    }
}

/// What a namespace holds, as far as the caller may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceContents {
    /// `Kind/name` of every object found.
    pub objects: Vec<String>,
    /// Kinds the caller is not allowed to list.
    pub unreadable: Vec<String>,
}

/// A kind the provider manages, with what the API needs to address it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

pub const KINDS: &[Kind] = &[
    Kind::core("Namespace", "namespaces", false),
    Kind::core("Secret", "secrets", true),
    Kind::core("ConfigMap", "configmaps", true),
    Kind::core("Service", "services", true),
    Kind::core("ServiceAccount", "serviceaccounts", true),
    Kind::core("Pod", "pods", true),
    Kind::core("ResourceQuota", "resourcequotas", true),
    Kind::core("LimitRange", "limitranges", true),
    Kind::new("apps/v1", "Deployment", "deployments", true),
    Kind::new("apps/v1", "ReplicaSet", "replicasets", true),
    Kind::new(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    Kind::new("networking.k8s.io/v1", "Ingress", "ingresses", true),
    Kind::new(
        "networking.k8s.io/v1",
        "IngressClass",
        "ingressclasses",
        false,
    ),
    Kind::core("Event", "events", true),
    Kind::new(
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    Kind::new("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    Kind::new(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    Kind::new(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "servicemonitors",
        true,
    ),
    Kind::new(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        "prometheusrules",
        true,
    ),
];

impl Kind {
    const fn core(kind: &'static str, plural: &'static str, namespaced: bool) -> Kind {
        Kind {
            api_version: "v1",
            kind,
            plural,
            namespaced,
        }
    }
    const fn new(
        api_version: &'static str,
        kind: &'static str,
        plural: &'static str,
        namespaced: bool,
    ) -> Kind {
        Kind {
            api_version,
            kind,
            plural,
            namespaced,
        }
    }

    /// Looks up a kind by `apiVersion` and `kind`.
    pub fn find(api_version: &str, kind: &str) -> Option<Kind> {
        KINDS
            .iter()
            .find(|k| k.api_version == api_version && k.kind == kind)
            .copied()
    }

    /// The kind of a JSON object.
    ///
    /// # Errors
    /// When the object has no `apiVersion`/`kind` or the kind is not one we manage.
    pub fn of(obj: &Json) -> Result<Kind, KubeError> {
        let api_version = obj["apiVersion"]
            .as_str()
            .ok_or(KubeError::Malformed("apiVersion"))?;
        let kind = obj["kind"].as_str().ok_or(KubeError::Malformed("kind"))?;
        Kind::find(api_version, kind)
            .ok_or_else(|| KubeError::UnknownKind(format!("{api_version}/{kind}")))
    }

    fn api_resource(&self) -> ApiResource {
        let (group, version) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version),
        };
        ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
        }
    }
}

/// The address of one object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The reference of a JSON object.
    ///
    /// # Errors
    /// When the object lacks kind or name, or is of a kind we do not manage.
    pub fn of(obj: &Json) -> Result<ObjectRef, KubeError> {
        let kind = Kind::of(obj)?;
        let name = obj["metadata"]["name"]
            .as_str()
            .ok_or(KubeError::Malformed("metadata.name"))?;
        let namespace = if kind.namespaced {
            Some(
                obj["metadata"]["namespace"]
                    .as_str()
                    .ok_or(KubeError::Malformed("metadata.namespace"))?
                    .to_string(),
            )
        } else {
            None
        };
        Ok(ObjectRef {
            kind: kind.kind,
            api_version: kind.api_version,
            namespace,
            name: name.to_string(),
        })
    }

    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    fn kind(&self) -> Result<Kind, KubeError> {
        Kind::find(self.api_version, self.kind)
            .ok_or_else(|| KubeError::UnknownKind(self.kind.to_string()))
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// Where a new bearer token comes from when the cluster refuses the one in use (401): EKS
/// tokens expire, and a long apply outlives them.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync {
    /// A fresh token.
    ///
    /// # Errors
    /// Why none can be made (never the credential itself).
    async fn token(&self) -> Result<String, String>;
}

/// How a failed attempt is retried: throttling and server errors up to `max_attempts`,
/// transport errors (an unreachable cluster) up to `max_transport_attempts`, each wait
/// exponential from `initial_backoff` to `max_backoff` with jitter (between half and all of
/// it), and at least the server's Retry-After (up to `max_retry_after`).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, counting the first, for 429 and 500/502/503/504.
    pub max_attempts: u32,
    /// Attempts per call, counting the first, for transport errors.
    pub max_transport_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest Retry-After honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Rides out sustained throttling (a third of all requests) with bursts of server errors:
    /// twelve attempts fail together with odds of about 1 in 300 000 at a 35 % failure rate,
    /// and waiting for all of them takes under a minute.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 12,
            max_transport_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

/// What a failed attempt was, for the retry decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Failure {
    /// 429 or 500/502/503/504, with the server's Retry-After if it gave one.
    Retryable { retry_after: Option<Duration> },
    /// The request or the answer was lost on the way.
    Transport,
    /// Anything else: the answer stands.
    Final,
}

impl Failure {
    /// Classifies a kube-rs error.
    pub fn of(e: &kube::Error) -> Failure {
        match e {
            kube::Error::Api(s) if matches!(s.code, 429 | 500 | 502 | 503 | 504) => {
                Failure::Retryable {
                    retry_after: s
                        .details
                        .as_ref()
                        .map(|d| d.retry_after_seconds)
                        .filter(|s| *s > 0)
                        .map(|s| Duration::from_secs(u64::from(s))),
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => Failure::Transport,
            _ => Failure::Final,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt when `failure` is the `attempt`-th failure of its
    /// kind (retryable answer or transport error) in a call, or `None` when the failure is
    /// final or the attempts are used up. `jitter` in [0, 1) picks the point between half and
    /// all of the exponential backoff.
    pub fn delay(&self, attempt: u32, failure: Failure, jitter: f64) -> Option<Duration> {
        let (limit, retry_after) = match failure {
            Failure::Final => return None,
            Failure::Retryable { retry_after } => (self.max_attempts, retry_after),
            Failure::Transport => (self.max_transport_attempts, None),
        };
        if attempt >= limit {
            return None;
        }
        let exponent = attempt.saturating_sub(1).min(30);
        let backoff = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let jittered = backoff.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        let floor = retry_after.map_or(Duration::ZERO, |r| r.min(self.max_retry_after));
        Some(jittered.max(floor))
    }
}

/// A number in [0, 1), different on every call (for backoff jitter; not for secrets).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The kube-rs client in use, and how many times its token was renewed.
struct Connection {
    client: kube::Client,
    generation: u64,
}

/// What the clones of one [`Kube`] share: a renewed token serves them all.
struct Shared {
    current: std::sync::RwLock<Connection>,
    access: Access,
    tokens: Option<Arc<dyn TokenSource>>,
    renewing: tokio::sync::Mutex<()>,
}

/// A connected client.
#[derive(Clone)]
pub struct Kube {
    shared: Arc<Shared>,
    host: String,
    retry: RetryPolicy,
    cancel: Option<CancellationToken>,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube").field("host", &self.host).finish()
    }
}

fn pem_to_der(pem: &str) -> Result<Vec<Vec<u8>>, KubeError> {
    let certs: Result<Vec<_>, _> = crate::pem::certificates(pem).collect();
    let certs = certs.map_err(|e| KubeError::Config(format!("cluster CA certificate: {e}")))?;
    if certs.is_empty() {
        return Err(KubeError::Config(
            "cluster CA certificate: no PEM certificate found".into(),
        ));
    }
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}

/// A kube-rs client for `access`, and the URL it talks to. Does no network I/O.
async fn client_for(access: &Access) -> Result<(kube::Client, String), KubeError> {
    let mut config = match access {
        Access::Direct {
            host,
            token,
            ca_pem,
            insecure,
        } => {
            let uri: http::Uri = host
                .parse()
                .map_err(|e| KubeError::Config(format!("host {host:?}: {e}")))?;
            if uri.scheme().is_none() || uri.host().is_none() {
                return Err(KubeError::Config(format!(
                    "host {host:?} is not a URL such as https://example:443"
                )));
            }
            let mut c = kube::Config::new(uri);
            c.root_cert = ca_pem.as_deref().map(pem_to_der).transpose()?;
            c.accept_invalid_certs = *insecure;
            c.auth_info.token = token.clone().map(Into::into);
            c
        }
        Access::Kubeconfig { path, context } => {
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| KubeError::Config(format!("kubeconfig {path}: {e}")))?;
            let options = kube::config::KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| KubeError::Config(format!("kubeconfig {path}: {e}")))?
        }
    };
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    config.write_timeout = Some(Duration::from_secs(60));
    // kube-rs's layer retries only 429/503/504, up to 15 times with waits growing to minutes
    // and no way to stop them; [`Kube::call`] retries instead.
    config.default_retry = false;
    let host = config.cluster_url.to_string();
    let client =
        kube::Client::try_from(config).map_err(|e| KubeError::Config(format!("{host}: {e}")))?;
    Ok((client, host))
}

fn api_for(client: kube::Client, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = kind.api_resource();
    match (kind.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client, ns, &ar),
        _ => Api::all_with(client, &ar),
    }
}

impl Kube {
    /// Builds a client. Does no network I/O.
    ///
    /// # Errors
    /// When the host, CA or kubeconfig cannot be used.
    pub async fn connect(access: &Access) -> Result<Kube, KubeError> {
        Kube::connect_with(access, None).await
    }

    /// Like [`Kube::connect`]; with `tokens`, a call the cluster answers 401 gets a new token
    /// from it and is tried once more (for a direct connection with a bearer token).
    ///
    /// # Errors
    /// When the host, CA or kubeconfig cannot be used.
    pub async fn connect_with(
        access: &Access,
        tokens: Option<Arc<dyn TokenSource>>,
    ) -> Result<Kube, KubeError> {
        let (client, host) = client_for(access).await?;
        Ok(Kube {
            shared: Arc::new(Shared {
                current: std::sync::RwLock::new(Connection {
                    client,
                    generation: 0,
                }),
                access: access.clone(),
                tokens,
                renewing: tokio::sync::Mutex::new(()),
            }),
            host,
            retry: RetryPolicy::default(),
            cancel: None,
        })
    }

    /// The same client, whose calls (and waits between attempts) end with
    /// [`KubeError::Cancelled`] once `cancel` fires.
    #[must_use]
    pub fn with_cancellation(&self, cancel: CancellationToken) -> Kube {
        Kube {
            cancel: Some(cancel),
            ..self.clone()
        }
    }

    /// The same client with another retry policy.
    #[must_use]
    pub fn with_retry(&self, retry: RetryPolicy) -> Kube {
        Kube {
            retry,
            ..self.clone()
        }
    }

    /// How many times the token was renewed.
    pub fn renewals(&self) -> u64 {
        self.current().1
    }

    fn current(&self) -> (kube::Client, u64) {
        let c = self
            .shared
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (c.client.clone(), c.generation)
    }

    /// Replaces the connection's token with a new one, unless another call already did since
    /// `seen`.
    async fn renew(&self, tokens: &dyn TokenSource, seen: u64) -> Result<(), KubeError> {
        let _one_at_a_time = self.shared.renewing.lock().await;
        if self.current().1 != seen {
            return Ok(());
        }
        let Access::Direct {
            host,
            ca_pem,
            insecure,
            ..
        } = &self.shared.access
        else {
            return Ok(());
        };
        let token = tokens
            .token()
            .await
            .map_err(|message| KubeError::Credentials {
                host: self.host.clone(),
                message,
            })?;
        let access = Access::Direct {
            host: host.clone(),
            token: Some(token),
            ca_pem: ca_pem.clone(),
            insecure: *insecure,
        };
        let (client, _) = client_for(&access).await?;
        let mut c = self
            .shared
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.client = client;
        c.generation += 1;
        tracing::info!(host = %self.host, renewals = c.generation, "renewed the Kubernetes token after a 401");
        Ok(())
    }

    async fn sleep(&self, d: Duration) -> Result<(), KubeError> {
        match &self.cancel {
            Some(c) => tokio::select! {
                _ = c.cancelled() => Err(KubeError::Cancelled { host: self.host.clone() }),
                _ = tokio::time::sleep(d) => Ok(()),
            },
            None => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }

    /// Runs one idempotent call under the retry policy (see the module documentation).
    async fn call<T, F, Fut>(&self, kind: &str, name: &str, op: F) -> Result<T, KubeError>
    where
        F: Fn(kube::Client) -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        // Failures so far: retryable answers, transport errors.
        let (mut answers, mut transport) = (0u32, 0u32);
        let mut renewed = false;
        loop {
            let (client, generation) = self.current();
            let result = match &self.cancel {
                Some(c) => tokio::select! {
                    biased;
                    _ = c.cancelled() => return Err(KubeError::Cancelled { host: self.host.clone() }),
                    r = op(client) => r,
                },
                None => op(client).await,
            };
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if let (kube::Error::Api(s), Some(tokens)) = (&e, &self.shared.tokens) {
                if s.code == 401 && !renewed {
                    renewed = true;
                    self.renew(tokens.as_ref(), generation).await?;
                    continue;
                }
            }
            let failure = Failure::of(&e);
            let attempt = match failure {
                Failure::Retryable { .. } => {
                    answers += 1;
                    answers
                }
                Failure::Transport => {
                    transport += 1;
                    transport
                }
                Failure::Final => 0,
            };
            let Some(wait) = self.retry.delay(attempt, failure, jitter()) else {
                return Err(self.error(kind, name, &e));
            };
            tracing::debug!(
                host = %self.host, kind, name, attempt, wait_ms = wait.as_millis() as u64,
                error = %self.error(kind, name, &e),
                "retrying a Kubernetes call"
            );
            self.sleep(wait).await?;
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn error(&self, kind: &str, name: &str, e: &kube::Error) -> KubeError {
        match e {
            kube::Error::Api(s) => KubeError::Api {
                kind: kind.to_string(),
                name: name.to_string(),
                code: s.code,
                reason: s.reason.clone(),
                message: s.message.clone(),
            },
            other => KubeError::Transport {
                host: self.host.clone(),
                message: other.to_string(),
            },
        }
    }

    /// Server-side applies `obj` as `field_manager` and returns the live object. With `force`,
    /// fields other managers own are taken over; without, such an apply fails with 409
    /// Conflict ([`KubeError::conflicting_managers`]).
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn apply(
        &self,
        obj: &Json,
        field_manager: &str,
        force: bool,
    ) -> Result<Json, KubeError> {
        let r = ObjectRef::of(obj)?;
        let kind = r.kind()?;
        let namespace = r.namespace.as_deref();
        let name = r.name.as_str();
        let params = PatchParams::apply(field_manager);
        let params = if force { params.force() } else { params };
        let patch = Patch::Apply(obj);
        let (params, patch) = (&params, &patch);
        let live = self
            .call(r.kind, &r.key(), |client| {
                let api = api_for(client, kind, namespace);
                async move { api.patch(name, params, patch).await }
            })
            .await?;
        serde_json::to_value(live).map_err(|_| KubeError::Malformed("serializable object"))
    }

    /// The live object, or `None` when it does not exist.
    ///
    /// # Errors
    /// API errors other than not-found, and transport errors.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Json>, KubeError> {
        let kind = r.kind()?;
        let namespace = r.namespace.as_deref();
        let name = r.name.as_str();
        let found = self
            .call(r.kind, &r.key(), |client| {
                let api = api_for(client, kind, namespace);
                async move { api.get_opt(name).await }
            })
            .await?;
        found
            .map(|o| {
                serde_json::to_value(o).map_err(|_| KubeError::Malformed("serializable object"))
            })
            .transpose()
    }

    /// Objects of a kind in a namespace matching a label selector.
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Json>, KubeError> {
        self.list_in(api_version, kind, Some(namespace), label_selector)
            .await
    }

    /// Objects of a kind in every namespace matching a label selector.
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn list_all(
        &self,
        api_version: &str,
        kind: &str,
        label_selector: &str,
    ) -> Result<Vec<Json>, KubeError> {
        self.list_in(api_version, kind, None, label_selector).await
    }

    async fn list_in(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Json>, KubeError> {
        let k = Kind::find(api_version, kind)
            .ok_or_else(|| KubeError::UnknownKind(format!("{api_version}/{kind}")))?;
        let params = ListParams::default().labels(label_selector);
        let params = &params;
        let list = self
            .call(kind, namespace.unwrap_or_default(), |client| {
                let api = api_for(client, k, namespace);
                async move { api.list(params).await }
            })
            .await?;
        list.items
            .into_iter()
            .map(|o| {
                serde_json::to_value(o).map_err(|_| KubeError::Malformed("serializable object"))
            })
            .collect()
    }

    /// Deletes an object (foreground propagation). Returns whether it existed.
    ///
    /// # Errors
    /// API errors other than not-found, and transport errors.
    pub async fn delete(&self, r: &ObjectRef) -> Result<bool, KubeError> {
        let kind = r.kind()?;
        let namespace = r.namespace.as_deref();
        let name = r.name.as_str();
        let params = DeleteParams::foreground();
        let params = &params;
        self.call(r.kind, &r.key(), |client| {
            let api = api_for(client, kind, namespace);
            async move {
                match api.delete(name, params).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }

    /// Every object in a namespace, as `Kind/name`, of every namespaced kind the server
    /// serves that can be listed (found through discovery, so custom resources count), and
    /// the kinds the caller may not list (so the namespace cannot be proven empty).
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn namespace_contents(
        &self,
        namespace: &str,
    ) -> Result<NamespaceContents, KubeError> {
        let mut lists = vec![(
            String::new(),
            self.call("discovery", "v1", |client| async move {
                client.list_core_api_resources("v1").await
            })
            .await?,
        )];
        let groups = self
            .call("discovery", "apis", |client| async move {
                client.list_api_groups().await
            })
            .await?;
        for g in groups.groups {
            let Some(v) = g.preferred_version.or_else(|| g.versions.first().cloned()) else {
                continue;
            };
            let gv = v.group_version;
            let gv = gv.as_str();
            let list = self
                .call("discovery", gv, |client| async move {
                    client.list_api_group_resources(gv).await
                })
                .await?;
            lists.push((gv.to_string(), list));
        }
        let mut found = NamespaceContents::default();
        for (gv, list) in lists {
            let gv = if gv.is_empty() { "v1".to_string() } else { gv };
            for res in list.resources {
                let listable = res.verbs.iter().any(|v| v == "list");
                if !res.namespaced || !listable || res.name.contains('/') {
                    continue;
                }
                let (group, version) = gv.split_once('/').unwrap_or(("", gv.as_str()));
                let ar = ApiResource {
                    group: group.to_string(),
                    version: version.to_string(),
                    api_version: gv.clone(),
                    kind: res.kind.clone(),
                    plural: res.name.clone(),
                };
                let ar = &ar;
                let items = self
                    .call(&res.kind, namespace, |client| async move {
                        Api::<DynamicObject>::namespaced_with(client, namespace, ar)
                            .list(&ListParams::default())
                            .await
                    })
                    .await;
                let items = match items {
                    Ok(l) => l.items,
                    Err(KubeError::Api {
                        code: 401 | 403, ..
                    }) => {
                        found.unreadable.push(res.kind.clone());
                        continue;
                    }
                    // Gone since discovery, or not listable after all.
                    Err(KubeError::Api {
                        code: 404 | 405, ..
                    }) => continue,
                    Err(e) => return Err(e),
                };
                for o in items {
                    if let Some(name) = o.metadata.name {
                        found.objects.push(format!("{}/{name}", res.kind));
                    }
                }
            }
        }
        found.objects.sort();
        found.objects.dedup();
        found.unreadable.sort();
        found.unreadable.dedup();
        Ok(found)
    }

    /// Whether the server serves a kind at an API version, found through discovery. A
    /// custom resource is served only once its CustomResourceDefinition is installed.
    ///
    /// # Errors
    /// API errors other than not-found, and transport errors.
    pub async fn serves(&self, api_version: &str, kind: &str) -> Result<bool, KubeError> {
        let listed = self
            .call("discovery", api_version, |client| async move {
                match api_version.split_once('/') {
                    None => client.list_core_api_resources(api_version).await,
                    Some(_) => client.list_api_group_resources(api_version).await,
                }
            })
            .await;
        match listed {
            Ok(list) => Ok(list.resources.iter().any(|r| r.kind == kind)),
            Err(KubeError::Api { code: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The server's version, e.g. `v1.32.0`.
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn server_version(&self) -> Result<String, KubeError> {
        self.call("version", "", |client| async move {
            client.apiserver_version().await
        })
        .await
        .map(|v| v.git_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_refs_name_kind_namespace_and_name() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "metabase", "namespace": "bi"}});
        assert_eq!(
            ObjectRef::of(&d).map(|r| r.key()).ok().as_deref(),
            Some("Deployment/bi/metabase")
        );
        let n = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bi"}});
        assert_eq!(
            ObjectRef::of(&n).map(|r| r.key()).ok().as_deref(),
            Some("Namespace/bi")
        );
        let unknown = json!({"apiVersion": "v9", "kind": "Thing", "metadata": {"name": "x"}});
        assert!(matches!(
            ObjectRef::of(&unknown),
            Err(KubeError::UnknownKind(_))
        ));
        let no_ns = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
        assert!(matches!(
            ObjectRef::of(&no_ns),
            Err(KubeError::Malformed(_))
        ));
    }

    #[test]
    fn api_resources_split_group_and_version() {
        let k = Kind::find("networking.k8s.io/v1", "Ingress").map(|k| k.api_resource());
        let k = k.as_ref();
        assert_eq!(k.map(|a| a.group.as_str()), Some("networking.k8s.io"));
        assert_eq!(k.map(|a| a.version.as_str()), Some("v1"));
        let s = Kind::find("v1", "Secret").map(|k| k.api_resource());
        assert_eq!(s.as_ref().map(|a| a.group.as_str()), Some(""));
    }

    #[test]
    fn access_debug_never_shows_the_token() {
        let a = Access::Direct {
            host: "https://127.0.0.1:6443".into(),
            token: Some("s3cr3t-token".into()),
            ca_pem: None,
            insecure: false,
        };
        assert!(!format!("{a:?}").contains("s3cr3t"));
    }

    #[test]
    fn throttling_server_errors_and_transport_are_transient() {
        let api = |code| KubeError::Api {
            kind: "Ingress".into(),
            name: "x".into(),
            code,
            reason: String::new(),
            message: String::new(),
        };
        assert!(api(429).is_transient() && api(503).is_transient());
        assert!(!api(404).is_transient() && !api(403).is_transient());
        assert!(KubeError::Transport {
            host: "h".into(),
            message: "refused".into()
        }
        .is_transient());
        assert!(!KubeError::Malformed("metadata").is_transient());
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            max_transport_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(20),
        }
    }

    #[test]
    fn backoff_grows_is_capped_jittered_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let retryable = Failure::Retryable { retry_after: None };
        assert_eq!(
            p.delay(1, retryable, 0.999_999).map(|d| d.as_millis()),
            Some(199)
        );
        assert_eq!(p.delay(1, retryable, 0.0), Some(Duration::from_millis(100)));
        assert_eq!(p.delay(3, retryable, 0.0), Some(Duration::from_millis(400)));
        // Capped at max_backoff, whatever the attempt.
        assert_eq!(p.delay(11, retryable, 0.0), Some(Duration::from_secs(4)));
        assert!(p
            .delay(11, retryable, 0.999)
            .is_some_and(|d| d <= p.max_backoff));
        // Attempts are bounded: 12 for throttling and server errors, 4 for transport errors.
        assert!(p.delay(12, retryable, 0.5).is_none());
        assert!(p.delay(3, Failure::Transport, 0.5).is_some());
        assert!(p.delay(4, Failure::Transport, 0.5).is_none());
        assert!(p.delay(1, Failure::Final, 0.5).is_none());
        // Retry-After is a floor, itself capped.
        let after = |s| Failure::Retryable {
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(p.delay(1, after(1), 0.0), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(1, after(600), 0.0), Some(p.max_retry_after));
        assert_eq!(p.delay(7, after(1), 0.0), Some(Duration::from_secs(4)));
        // Jitter spreads the waits.
        let waits: std::collections::BTreeSet<Duration> = (0..20)
            .filter_map(|_| p.delay(4, retryable, jitter()))
            .collect();
        assert!(waits.len() > 10, "{waits:?}");
        assert!(waits
            .iter()
            .all(|w| *w >= Duration::from_millis(800) && *w <= Duration::from_millis(1600)));
    }

    fn status(code: u16, retry_after: u32) -> kube::Error {
        let s: kube::core::Status = serde_json::from_value(json!({
            "status": "Failure", "code": code, "reason": "X", "message": "m",
            "details": {"retryAfterSeconds": retry_after},
        }))
        .unwrap_or_default();
        kube::Error::Api(Box::new(s))
    }

    #[test]
    fn throttling_server_and_transport_errors_are_retryable_others_final() {
        for code in [429, 500, 502, 503, 504] {
            assert_eq!(
                Failure::of(&status(code, 0)),
                Failure::Retryable { retry_after: None },
                "{code}"
            );
        }
        assert_eq!(
            Failure::of(&status(429, 1)),
            Failure::Retryable {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        for code in [400, 401, 403, 404, 409, 422, 501] {
            assert_eq!(Failure::of(&status(code, 0)), Failure::Final, "{code}");
        }
        assert_eq!(
            Failure::of(&kube::Error::Service("connection reset".into())),
            Failure::Transport
        );
        assert_eq!(
            Failure::of(&kube::Error::LinesCodecMaxLineLengthExceeded),
            Failure::Final
        );
    }

    /// What the stub API server answers a request with.
    #[derive(Clone, Debug)]
    enum Answer {
        Object,
        Status(u16, u32),
        /// Closes the connection without answering.
        Hangup,
    }

    /// A loopback HTTP server that answers the n-th request (from 0) with `answer(n, bearer)`
    /// and records each request's bearer token.
    struct Stub {
        url: String,
        seen: Arc<std::sync::Mutex<Vec<String>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Stub {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Stub {
        fn requests(&self) -> usize {
            self.seen.lock().map(|s| s.len()).unwrap_or_default()
        }
        fn tokens(&self) -> Vec<String> {
            self.seen.lock().map(|s| s.clone()).unwrap_or_default()
        }
    }

    async fn stub(answer: impl Fn(usize, &str) -> Answer + Send + Sync + 'static) -> Stub {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let answer = Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let Some((head, _)) = crate::clients::test_http::read_request(&mut conn).await
                    else {
                        return;
                    };
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                            })
                            .unwrap_or_default()
                    };
                    let bearer = header("authorization")
                        .trim_start_matches("Bearer ")
                        .to_string();
                    let n = {
                        let Ok(mut s) = recorded.lock() else { return };
                        s.push(bearer.clone());
                        s.len() - 1
                    };
                    let (code, retry_after, body) = match answer(n, &bearer) {
                        Answer::Hangup => return,
                        Answer::Object => (
                            200,
                            0,
                            json!({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "c", "namespace": "ns"}}),
                        ),
                        Answer::Status(code, after) => (
                            code,
                            after,
                            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                   "code": code, "reason": if code == 404 { "NotFound" } else { "Injected" },
                                   "message": "injected",
                                   "details": {"retryAfterSeconds": after}}),
                        ),
                    };
                    let body = body.to_string();
                    let mut resp = format!(
                        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        body.len()
                    );
                    if retry_after > 0 {
                        resp.push_str(&format!("retry-after: {retry_after}\r\n"));
                    }
                    resp.push_str("\r\n");
                    resp.push_str(&body);
                    let _ = conn.write_all(resp.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Stub { url, seen, task }
    }

    fn config_map() -> ObjectRef {
        ObjectRef {
            kind: "ConfigMap",
            api_version: "v1",
            namespace: Some("ns".into()),
            name: "c".into(),
        }
    }

    async fn client(s: &Stub, tokens: Option<Arc<dyn TokenSource>>) -> Kube {
        let access = Access::Direct {
            host: s.url.clone(),
            token: Some("old".into()),
            ca_pem: None,
            insecure: false,
        };
        Kube::connect_with(&access, tokens)
            .await
            .map(|k| k.with_retry(fast()))
            .expect("client")
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retried_until_the_call_succeeds() {
        let s = stub(|n, _| match n {
            0 => Answer::Status(429, 1),
            1 => Answer::Status(500, 0),
            2 => Answer::Status(502, 0),
            3 => Answer::Status(503, 1),
            4 => Answer::Status(504, 0),
            5 => Answer::Hangup,
            _ => Answer::Object,
        })
        .await;
        let k = client(&s, None).await;
        let got = k.get(&config_map()).await;
        assert!(
            matches!(&got, Ok(Some(o)) if o["metadata"]["name"] == "c"),
            "{got:?}"
        );
        assert_eq!(s.requests(), 7);
        // Deletes, lists and applies go through the same retries.
        let s = stub(|n, _| {
            if n % 2 == 0 {
                Answer::Status(429, 0)
            } else {
                Answer::Object
            }
        })
        .await;
        let k = client(&s, None).await;
        assert!(matches!(k.delete(&config_map()).await, Ok(true)));
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "c", "namespace": "ns"}});
        assert!(k.apply(&obj, "test", false).await.is_ok());
        assert_eq!(s.requests(), 4);
    }

    #[tokio::test]
    async fn final_errors_and_used_up_attempts_end_the_call() {
        let s = stub(|_, _| Answer::Status(403, 0)).await;
        let k = client(&s, None).await;
        let e = k.get(&config_map()).await;
        assert!(matches!(e, Err(KubeError::Api { code: 403, .. })), "{e:?}");
        assert_eq!(s.requests(), 1);

        let s = stub(|_, _| Answer::Status(404, 0)).await;
        let k = client(&s, None).await;
        assert!(matches!(k.get(&config_map()).await, Ok(None)));
        assert!(matches!(k.delete(&config_map()).await, Ok(false)));
        assert_eq!(s.requests(), 2);

        let s = stub(|_, _| Answer::Status(503, 0)).await;
        let k = client(&s, None).await;
        let e = k.get(&config_map()).await;
        assert!(matches!(e, Err(KubeError::Api { code: 503, .. })), "{e:?}");
        assert_eq!(s.requests(), 8);

        let s = stub(|_, _| Answer::Hangup).await;
        let k = client(&s, None).await;
        let e = k.get(&config_map()).await;
        assert!(matches!(e, Err(KubeError::Transport { .. })), "{e:?}");
        assert_eq!(s.requests(), 3);
    }

    #[tokio::test]
    async fn cancellation_ends_the_wait_between_attempts() {
        let s = stub(|_, _| Answer::Status(503, 0)).await;
        let cancel = CancellationToken::new();
        let k = client(&s, None)
            .await
            .with_retry(RetryPolicy {
                initial_backoff: Duration::from_secs(30),
                max_backoff: Duration::from_secs(30),
                ..fast()
            })
            .with_cancellation(cancel.clone());
        let stop = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stop.cancel();
        });
        let started = std::time::Instant::now();
        let e = k.get(&config_map()).await;
        assert!(matches!(e, Err(KubeError::Cancelled { .. })), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(s.requests(), 1);
        // A cancelled client does not start another call.
        assert!(matches!(
            k.get(&config_map()).await,
            Err(KubeError::Cancelled { .. })
        ));
    }

    /// Tokens `new-1`, `new-2`, ... and how many were made.
    struct Counter(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl TokenSource for Counter {
        async fn token(&self) -> Result<String, String> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Ok(format!("new-{n}"))
        }
    }

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_and_shared_by_the_clones() {
        let s = stub(|_, bearer| {
            if bearer == "old" {
                Answer::Status(401, 0)
            } else {
                Answer::Object
            }
        })
        .await;
        let tokens = Arc::new(Counter(0.into()));
        let k = client(&s, Some(tokens.clone())).await;
        let clone = k.with_cancellation(CancellationToken::new());
        // Concurrent calls refused together renew once.
        let cm = config_map();
        let (a, b, c) = tokio::join!(k.get(&cm), clone.get(&cm), k.get(&cm));
        assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
        assert_eq!(tokens.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!((k.renewals(), clone.renewals()), (1, 1));
        let before = s.requests();
        assert!(clone.get(&config_map()).await.is_ok());
        assert_eq!(s.tokens()[before..], ["new-1".to_string()]);
        // Tokens never appear in errors or debug output.
        assert!(!format!("{k:?}").contains("new-1"));

        // A renewed token refused as well: the 401 stands after one renewal.
        let s = stub(|_, _| Answer::Status(401, 0)).await;
        let tokens = Arc::new(Counter(0.into()));
        let k = client(&s, Some(tokens.clone())).await;
        let e = k.get(&config_map()).await;
        assert!(matches!(e, Err(KubeError::Api { code: 401, .. })), "{e:?}");
        assert_eq!(s.tokens(), ["old", "new-1"]);
        assert!(!e.map_err(|e| e.to_string()).unwrap_err().contains("new-1"));

        // Without a token source a 401 is final.
        let s = stub(|_, _| Answer::Status(401, 0)).await;
        let k = client(&s, None).await;
        assert!(matches!(
            k.get(&config_map()).await,
            Err(KubeError::Api { code: 401, .. })
        ));
        assert_eq!(s.requests(), 1);
    }
}
