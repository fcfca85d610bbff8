//! What every resource gets from a configured provider: its settings, and the clients built
//! from them. Clients are built on first use (configuring the provider does no network I/O,
//! so a plan works before the cluster exists) and kept for the life of the configuration:
//! each has its own connection pool and TLS settings, too costly to rebuild for every call of
//! a large plan.
//!
//! Resources depend on this module, never on [`crate::provider`], which lists them.

pub mod config;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OnceCell};
use tokio_util::sync::CancellationToken;

use crate::clients::autoscaling::Autoscaling;
use crate::clients::aws::{AssumeRole, AwsSettings};
use crate::clients::bounds::{Bounds, Cut};
use crate::clients::ec2::Ec2;
use crate::clients::eks::{Cluster, Eks};
use crate::clients::eks_token::{self, EksTokenSource};
use crate::clients::kube::{Access, Kube, TokenSource};
use crate::framework::Diagnostic;

pub use config::{ProviderConfig, Setting};

/// How long looking up a cluster (and signing its token) may take, the SDK's retries included.
pub const LOOKUP_LIMIT: Duration = Duration::from_secs(5 * 60);

fn cut_short(what: &str, cut: Cut) -> Diagnostic {
    match cut {
        Cut::Cancelled => Diagnostic::error(
            "Cancelled",
            format!("Terraform asked the provider to stop while it was {what}."),
        ),
        Cut::TimedOut { after } => Diagnostic::error(
            "Timed out",
            format!("No answer after {after:?} while {what}."),
        ),
    }
}

/// What every resource receives once the provider is configured: the settings, and the one
/// holder of the clients built from them.
pub struct ProviderData {
    pub config: ProviderConfig,
    aws: OnceCell<aws_config::SdkConfig>,
    eks: OnceCell<Eks>,
    autoscaling: OnceCell<Autoscaling>,
    ec2: OnceCell<Ec2>,
    /// STS-signed token makers by EKS cluster.
    tokens: Mutex<BTreeMap<String, Arc<EksTokenSource>>>,
    /// Kubernetes clients by cluster, with when they were made (EKS tokens expire).
    kube: Mutex<BTreeMap<String, (Kube, Instant)>>,
}

impl std::fmt::Debug for ProviderData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderData")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProviderData {
    pub fn new(config: ProviderConfig) -> Self {
        ProviderData {
            config,
            aws: OnceCell::new(),
            eks: OnceCell::new(),
            autoscaling: OnceCell::new(),
            ec2: OnceCell::new(),
            tokens: Mutex::new(BTreeMap::new()),
            kube: Mutex::new(BTreeMap::new()),
        }
    }

    fn aws_settings(&self) -> Result<AwsSettings, Diagnostic> {
        let c = &self.config;
        let known = |s: &Setting<String>, what: &str| -> Result<Option<String>, Diagnostic> {
            match s {
                Setting::Unknown => Err(Diagnostic::error(
                    "Provider configuration not known",
                    format!("The provider's {what} is not known yet; it must be known when resources are applied."),
                )),
                Setting::Set(v) => Ok(Some(v.clone())),
                Setting::Unset => Ok(None),
            }
        };
        let assume_role = match &c.assume_role {
            None => None,
            Some(a) => Some(AssumeRole {
                role_arn: known(&a.role_arn, "assume_role.role_arn")?.unwrap_or_default(),
                session_name: known(&a.session_name, "assume_role.session_name")?,
                external_id: known(&a.external_id, "assume_role.external_id")?,
            }),
        };
        let max_retries = match &c.max_retries {
            Setting::Unknown => {
                return Err(Diagnostic::error(
                    "Provider configuration not known",
                    "The provider's max_retries is not known yet; it must be known when resources are applied.",
                ))
            }
            Setting::Set(n) => Some(u32::try_from(*n).unwrap_or(0)),
            Setting::Unset => None,
        };
        let shared_config_files = match &c.shared_config_files {
            Setting::Unknown => {
                return Err(Diagnostic::error(
                    "Provider configuration not known",
                    "The provider's shared_config_files is not known yet; it must be known when resources are applied.",
                ))
            }
            Setting::Set(files) => Some(files.clone()),
            Setting::Unset => None,
        };
        Ok(AwsSettings {
            max_retries,
            shared_config_files,
            region: known(&c.region, "region")?,
            profile: known(&c.profile, "profile")?,
            assume_role,
            eks_endpoint: known(&c.endpoints.eks, "endpoints.eks")?,
            autoscaling_endpoint: known(&c.endpoints.autoscaling, "endpoints.autoscaling")?,
            ec2_endpoint: known(&c.endpoints.ec2, "endpoints.ec2")?,
            sts_endpoint: known(&c.endpoints.sts, "endpoints.sts")?,
        })
    }

    async fn sdk_config(&self) -> Result<&aws_config::SdkConfig, Diagnostic> {
        let settings = self.aws_settings()?;
        Ok(self
            .aws
            .get_or_init(|| crate::clients::aws::load(&settings))
            .await)
    }

    /// The EKS client, built on first use.
    ///
    /// # Errors
    /// A diagnostic when the provider configuration is not known yet.
    pub async fn eks(&self) -> Result<Eks, Diagnostic> {
        self.eks
            .get_or_try_init(|| async {
                let endpoint = self.aws_settings()?.eks_endpoint;
                let conf = self.sdk_config().await?;
                let mut b = aws_sdk_eks::config::Builder::from(conf)
                    .retry_partition(crate::clients::aws::retry_partition("eks"));
                if let Some(ep) = endpoint {
                    b = b.endpoint_url(ep);
                }
                Ok(Eks::new(aws_sdk_eks::Client::from_conf(b.build())))
            })
            .await
            .cloned()
    }

    /// The Auto Scaling client, built on first use.
    ///
    /// # Errors
    /// A diagnostic when the provider configuration is not known yet.
    pub async fn autoscaling(&self) -> Result<Autoscaling, Diagnostic> {
        self.autoscaling
            .get_or_try_init(|| async {
                let endpoint = self.aws_settings()?.autoscaling_endpoint;
                let conf = self.sdk_config().await?;
                let mut b = aws_sdk_autoscaling::config::Builder::from(conf)
                    .retry_partition(crate::clients::aws::retry_partition("autoscaling"));
                if let Some(ep) = endpoint {
                    b = b.endpoint_url(ep);
                }
                Ok(Autoscaling::new(aws_sdk_autoscaling::Client::from_conf(
                    b.build(),
                )))
            })
            .await
            .cloned()
    }

    /// The EC2 client, built on first use.
    ///
    /// # Errors
    /// A diagnostic when the provider configuration is not known yet.
    pub async fn ec2(&self) -> Result<Ec2, Diagnostic> {
        self.ec2
            .get_or_try_init(|| async {
                let endpoint = self.aws_settings()?.ec2_endpoint;
                let conf = self.sdk_config().await?;
                let mut b = aws_sdk_ec2::config::Builder::from(conf)
                    .retry_partition(crate::clients::aws::retry_partition("ec2"));
                if let Some(ep) = endpoint {
                    b = b.endpoint_url(ep);
                }
                Ok(Ec2::new(aws_sdk_ec2::Client::from_conf(b.build())))
            })
            .await
            .cloned()
    }

    /// An EKS cluster's connection facts. The lookup ends when `cancel` fires (StopProvider).
    ///
    /// # Errors
    /// A diagnostic when the cluster does not exist or EKS cannot be asked.
    pub async fn eks_cluster(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> Result<Cluster, Diagnostic> {
        self.find_eks_cluster(name, cancel)
            .await?
            .ok_or_else(|| cluster_not_found(name))
    }

    /// An EKS cluster's connection facts, `None` when there is no such cluster.
    ///
    /// # Errors
    /// A diagnostic when EKS cannot be asked.
    pub async fn find_eks_cluster(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<Cluster>, Diagnostic> {
        let eks = self
            .eks()
            .await?
            .bounded(Bounds::new(cancel.clone(), LOOKUP_LIMIT));
        eks.find_cluster(name)
            .await
            .map_err(|e| Diagnostic::error("Cannot describe the EKS cluster", e.to_string()))
    }

    /// A fresh IAM authentication token for an EKS cluster. Resolving credentials (which may
    /// call STS) ends when `cancel` fires (StopProvider).
    ///
    /// # Errors
    /// A diagnostic when credentials or the region cannot be resolved.
    pub async fn eks_token(
        &self,
        cluster: &str,
        cancel: &CancellationToken,
    ) -> Result<String, Diagnostic> {
        let source = self.eks_token_source(cluster).await?;
        Bounds::new(cancel.clone(), LOOKUP_LIMIT)
            .run(source.make())
            .await
            .map_err(|cut| cut_short("signing an EKS authentication token", cut))?
            .map_err(|e| match e {
                eks_token::TokenError::Credentials(m) => Diagnostic::error("No AWS credentials", m),
                e @ eks_token::TokenError::Signing(_) => {
                    Diagnostic::error("Cannot make an EKS token", e.to_string())
                }
            })
    }

    /// What makes IAM authentication tokens (presigned STS calls) for an EKS cluster, with
    /// the region and credentials of the provider's AWS configuration; one per cluster.
    ///
    /// # Errors
    /// A diagnostic when the region or the credentials provider is missing.
    pub async fn eks_token_source(&self, cluster: &str) -> Result<Arc<EksTokenSource>, Diagnostic> {
        let mut tokens = self.tokens.lock().await;
        if let Some(source) = tokens.get(cluster) {
            return Ok(source.clone());
        }
        let conf = self.sdk_config().await?;
        let region = conf.region().map(ToString::to_string).ok_or_else(|| {
            Diagnostic::error(
                "No AWS region",
                "Set the provider's region (or AWS_REGION) to make EKS authentication tokens.",
            )
        })?;
        let provider = conf.credentials_provider().ok_or_else(|| {
            Diagnostic::error(
                "No AWS credentials",
                "No credentials provider is configured.",
            )
        })?;
        let source = Arc::new(EksTokenSource::new(provider, &region, cluster));
        tokens.insert(cluster.to_string(), source.clone());
        Ok(source)
    }

    /// How to reach the cluster a Kubernetes resource deploys into: the EKS cluster it names,
    /// else the provider's `kubernetes` block, else the provider's `cluster_name`.
    fn cluster_target(&self, cluster_name: Option<&str>) -> Result<Target, Diagnostic> {
        if let Some(name) = cluster_name {
            return Ok(Target::Eks(name.to_string()));
        }
        let unknown = |what: &str| {
            Diagnostic::error(
                "Provider configuration not known",
                format!("The provider's {what} is not known yet; it must be known when resources are applied."),
            )
        };
        if let Some(k) = &self.config.kubernetes {
            let get = |s: &Setting<String>, what: &str| match s {
                Setting::Unknown => Err(unknown(what)),
                Setting::Set(v) => Ok(Some(v.clone())),
                Setting::Unset => Ok(None),
            };
            let host = get(&k.host, "kubernetes.host")?;
            let path = get(&k.config_path, "kubernetes.config_path")?;
            if let Some(path) = path {
                return Ok(Target::Configured(Access::Kubeconfig {
                    path,
                    context: get(&k.config_context, "kubernetes.config_context")?,
                }));
            }
            if let Some(host) = host {
                let insecure = match k.insecure {
                    Setting::Unknown => return Err(unknown("kubernetes.insecure")),
                    Setting::Set(b) => b,
                    Setting::Unset => false,
                };
                return Ok(Target::Configured(Access::Direct {
                    host,
                    token: get(&k.token, "kubernetes.token")?,
                    ca_pem: get(
                        &k.cluster_ca_certificate,
                        "kubernetes.cluster_ca_certificate",
                    )?,
                    insecure,
                }));
            }
        }
        match &self.config.cluster_name {
            Setting::Set(name) => Ok(Target::Eks(name.clone())),
            Setting::Unknown => Err(unknown("cluster_name")),
            Setting::Unset => Err(Diagnostic::error(
                "No cluster to deploy into",
                "Set cluster_name on the resource or on the provider, or give the provider a kubernetes block \
                 (host, token and cluster_ca_certificate, or config_path).",
            )),
        }
    }

    /// A Kubernetes client for the cluster a resource deploys into (see [`Self::cluster_target`]),
    /// whose calls stop when `cancel` fires (StopProvider). Clients are reused; those for EKS
    /// clusters are remade with a new token before it expires, and renew their token when the
    /// cluster refuses it (401) all the same.
    ///
    /// # Errors
    /// A diagnostic when the cluster cannot be resolved or the connection settings are invalid.
    pub async fn kube(
        &self,
        cluster_name: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<Kube, Diagnostic> {
        match self.kube_if_cluster(cluster_name, cancel).await? {
            Some(k) => Ok(k),
            None => Err(cluster_not_found(
                &self.cluster_label(cluster_name).unwrap_or_default(),
            )),
        }
    }

    /// The name a resource's cluster goes by: the EKS cluster it (or the provider) names,
    /// `None` for a cluster given by the provider's `kubernetes` block.
    pub fn cluster_label(&self, cluster_name: Option<&str>) -> Option<String> {
        match self.cluster_target(cluster_name).ok()? {
            Target::Eks(name) => Some(name),
            Target::Configured(_) => None,
        }
    }

    /// Like [`Self::kube`], but `None` when the EKS cluster the resource deploys into does not
    /// exist (deleted outside Terraform, say): its objects went with it.
    ///
    /// # Errors
    /// As [`Self::kube`], but for a missing cluster.
    pub async fn kube_if_cluster(
        &self,
        cluster_name: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<Option<Kube>, Diagnostic> {
        let target = self.cluster_target(cluster_name)?;
        let key = match &target {
            Target::Eks(name) => format!("eks:{name}"),
            Target::Configured(_) => "provider".to_string(),
        };
        let mut cache = self.kube.lock().await;
        if let Some((client, made)) = cache.get(&key) {
            let fresh = matches!(target, Target::Configured(_))
                || made.elapsed() < eks_token::TOKEN_LIFETIME;
            if fresh {
                return Ok(Some(client.with_cancellation(cancel.clone())));
            }
        }
        let mut tokens: Option<Arc<dyn TokenSource>> = None;
        let access = match target {
            Target::Configured(a) => a,
            Target::Eks(name) => {
                let Some(cluster) = self.find_eks_cluster(&name, cancel).await? else {
                    return Ok(None);
                };
                let endpoint = cluster.endpoint.clone().ok_or_else(|| {
                    Diagnostic::error(
                        "EKS cluster has no endpoint yet",
                        format!(
                            "Cluster {name:?} is {}; its API endpoint is not available.",
                            cluster.status.as_deref().unwrap_or("not ready")
                        ),
                    )
                })?;
                let ca_pem = cluster.ca_pem().map_err(|e| {
                    Diagnostic::error("Invalid cluster CA", format!("Cluster {name:?}: {e}"))
                })?;
                let source = self.eks_token_source(&name).await?;
                let token = self.eks_token(&name, cancel).await?;
                tokens = Some(source as Arc<dyn TokenSource>);
                Access::Direct {
                    host: endpoint,
                    token: Some(token),
                    ca_pem,
                    insecure: false,
                }
            }
        };
        let client = Kube::connect_with(&access, tokens)
            .await
            .map_err(|e| Diagnostic::error("Invalid Kubernetes connection", e.to_string()))?;
        cache.insert(key, (client.clone(), Instant::now()));
        Ok(Some(client.with_cancellation(cancel.clone())))
    }

    /// The provider's `default_tags`, when known.
    pub fn default_tags(&self) -> BTreeMap<String, String> {
        self.config
            .default_tags
            .as_option()
            .cloned()
            .unwrap_or_default()
    }
}

enum Target {
    Eks(String),
    Configured(Access),
}

fn cluster_not_found(name: &str) -> Diagnostic {
    Diagnostic::error(
        "EKS cluster not found",
        format!("There is no EKS cluster named {name:?} in this account and region."),
    )
}
