//! A Kubernetes API client for the objects the provider manages: server-side apply under the
//! provider's field manager, get, list and delete of typed-erased objects (plain JSON), so
//! custom resources such as `ServiceMonitor` need no CRD on the client side.
//!
//! Knows nothing of Terraform: errors are [`KubeError`], objects are `serde_json::Value`.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::Value as Json;

/// The field manager our server-side applies are recorded under.
pub const FIELD_MANAGER: &str = "terraform-provider-dataplatform";

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
}

impl KubeError {
    /// The API's status code, for API errors.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
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
    Kind::new("networking.k8s.io/v1", "Ingress", "ingresses", true),
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

/// A connected client.
#[derive(Clone)]
pub struct Kube {
    client: kube::Client,
    host: String,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube").field("host", &self.host).finish()
    }
}

fn pem_to_der(pem: &str) -> Result<Vec<Vec<u8>>, KubeError> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut reader).collect();
    let certs = certs.map_err(|e| KubeError::Config(format!("cluster CA certificate: {e}")))?;
    if certs.is_empty() {
        return Err(KubeError::Config(
            "cluster CA certificate: no PEM certificate found".into(),
        ));
    }
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}

impl Kube {
    /// Builds a client. Does no network I/O.
    ///
    /// # Errors
    /// When the host, CA or kubeconfig cannot be used.
    pub async fn connect(access: &Access) -> Result<Kube, KubeError> {
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
        config.default_retry = true;
        let host = config.cluster_url.to_string();
        let client = kube::Client::try_from(config)
            .map_err(|e| KubeError::Config(format!("{host}: {e}")))?;
        Ok(Kube { client, host })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn api(&self, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = kind.api_resource();
        match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    fn error(&self, kind: &str, name: &str, e: kube::Error) -> KubeError {
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

    /// Server-side applies `obj` under [`FIELD_MANAGER`], taking ownership of conflicting
    /// fields, and returns the live object.
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn apply(&self, obj: &Json) -> Result<Json, KubeError> {
        let r = ObjectRef::of(obj)?;
        let api = self.api(r.kind()?, r.namespace.as_deref());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let live = api
            .patch(&r.name, &params, &Patch::Apply(obj))
            .await
            .map_err(|e| self.error(r.kind, &r.key(), e))?;
        serde_json::to_value(live).map_err(|_| KubeError::Malformed("serializable object"))
    }

    /// The live object, or `None` when it does not exist.
    ///
    /// # Errors
    /// API errors other than not-found, and transport errors.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Json>, KubeError> {
        let api = self.api(r.kind()?, r.namespace.as_deref());
        match api.get_opt(&r.name).await {
            Ok(Some(o)) => {
                Ok(Some(serde_json::to_value(o).map_err(|_| {
                    KubeError::Malformed("serializable object")
                })?))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.error(r.kind, &r.key(), e)),
        }
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
        let k = Kind::find(api_version, kind)
            .ok_or_else(|| KubeError::UnknownKind(format!("{api_version}/{kind}")))?;
        let api = self.api(k, Some(namespace));
        let list = api
            .list(&ListParams::default().labels(label_selector))
            .await
            .map_err(|e| self.error(kind, namespace, e))?;
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
        let api = self.api(r.kind()?, r.namespace.as_deref());
        match api.delete(&r.name, &DeleteParams::foreground()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(self.error(r.kind, &r.key(), e)),
        }
    }

    /// The server's version, e.g. `v1.32.0`.
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn server_version(&self) -> Result<String, KubeError> {
        self.client
            .apiserver_version()
            .await
            .map(|v| v.git_version)
            .map_err(|e| self.error("version", "", e))
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
}
