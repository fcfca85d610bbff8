//! EKS managed node groups: create, find, update (config and version), delete, and the
//! waiters that follow them to a final state. Throttling and 5xx are retried by the SDK's
//! retry policy (see [`super::aws`]); what remains is reported as an [`EksError`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types as t;
use aws_sdk_eks::Client;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use super::wait::{self, Backoff, Poll, WaitEnd};

/// A node taint as EKS spells it (`NO_SCHEDULE`, `NO_EXECUTE`, `PREFER_NO_SCHEDULE`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaling {
    pub min: i32,
    pub max: i32,
    pub desired: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateConfig {
    MaxUnavailable(i32),
    MaxUnavailablePercentage(i32),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchTemplate {
    pub id: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
}

/// What to create.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodegroupSpec {
    pub cluster: String,
    pub name: String,
    pub node_role_arn: String,
    pub subnet_ids: Vec<String>,
    pub scaling: Option<Scaling>,
    pub instance_types: Vec<String>,
    pub capacity_type: Option<String>,
    pub disk_size: Option<i32>,
    pub ami_type: Option<String>,
    pub release_version: Option<String>,
    pub version: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub update_config: Option<UpdateConfig>,
    pub launch_template: Option<LaunchTemplate>,
    pub tags: BTreeMap<String, String>,
}

/// A health issue or update error, as EKS names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub code: String,
    pub message: String,
    pub resource_ids: Vec<String>,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.resource_ids.is_empty() {
            write!(f, " (resources: {})", self.resource_ids.join(", "))?;
        }
        Ok(())
    }
}

fn issues_text(issues: &[Issue]) -> String {
    if issues.is_empty() {
        return "EKS reported no details".to_string();
    }
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A node group as EKS describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nodegroup {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub status: String,
    pub version: Option<String>,
    pub release_version: Option<String>,
    pub capacity_type: Option<String>,
    pub instance_types: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub ami_type: Option<String>,
    pub node_role_arn: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub scaling: Option<Scaling>,
    pub disk_size: Option<i32>,
    pub update_config: Option<UpdateConfig>,
    pub launch_template: Option<LaunchTemplate>,
    pub tags: BTreeMap<String, String>,
    pub autoscaling_groups: Vec<String>,
    pub health_issues: Vec<Issue>,
}

/// A change through UpdateNodegroupConfig.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigChange {
    pub labels_to_set: BTreeMap<String, String>,
    pub labels_to_remove: Vec<String>,
    pub taints_to_set: Vec<Taint>,
    pub taints_to_remove: Vec<Taint>,
    pub scaling: Option<Scaling>,
    pub update_config: Option<UpdateConfig>,
}

impl ConfigChange {
    pub fn is_empty(&self) -> bool {
        *self == ConfigChange::default()
    }
}

/// A change through UpdateNodegroupVersion.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VersionChange {
    pub version: Option<String>,
    pub release_version: Option<String>,
    pub launch_template: Option<LaunchTemplate>,
    pub force: bool,
}

/// What DescribeCluster says about a cluster that clients need to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub endpoint: Option<String>,
    /// Base64 of the PEM CA bundle, as EKS returns it.
    pub certificate_authority: Option<String>,
    pub version: Option<String>,
    pub status: Option<String>,
    pub oidc_issuer: Option<String>,
}

impl Cluster {
    /// The PEM CA bundle the API server's certificate chains to.
    ///
    /// # Errors
    /// When EKS sent something other than base64 of PEM text.
    pub fn ca_pem(&self) -> Result<Option<String>, CaError> {
        self.certificate_authority
            .as_deref()
            .map(decode_ca)
            .transpose()
    }
}

/// A cluster CA bundle that is not base64 of PEM text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CaError {
    #[error("certificate authority data is not base64: {0}")]
    NotBase64(String),
    #[error("certificate authority data is not PEM text")]
    NotText,
}

/// EKS returns the CA bundle as base64 of the PEM.
///
/// # Errors
/// When `b64` is not base64, or does not decode to text.
pub fn decode_ca(b64: &str) -> Result<String, CaError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| CaError::NotBase64(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| CaError::NotText)
}

/// What went wrong talking to EKS. Throttling and 5xx were already retried.
#[derive(Debug, Error)]
pub enum EksError {
    #[error("{operation} of {resource} failed: {code}: {message}")]
    Api {
        operation: &'static str,
        resource: String,
        code: String,
        message: String,
    },
    #[error("{operation} of {resource} could not reach EKS: {message}")]
    Transport {
        operation: &'static str,
        resource: String,
        message: String,
    },
    #[error("timed out after {waited:?} waiting for {what} (last seen: {last})")]
    Timeout {
        what: String,
        waited: Duration,
        last: String,
    },
    #[error("cancelled while waiting for {what}")]
    Cancelled { what: String },
    #[error(
        "node group {resource} no longer exists: it disappeared while the provider waited for it"
    )]
    Gone { resource: String },
    #[error("node group {resource} is {status}: {}", issues_text(.issues))]
    Failed {
        resource: String,
        status: String,
        issues: Vec<Issue>,
    },
    #[error("update {update_id} of node group {resource} {status}: {}", issues_text(.errors))]
    UpdateFailed {
        resource: String,
        update_id: String,
        status: String,
        errors: Vec<Issue>,
    },
}

impl EksError {
    fn from_sdk<E: ProvideErrorMetadata + std::error::Error + 'static>(
        operation: &'static str,
        resource: &str,
        err: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    ) -> Self {
        match err.code() {
            Some(code) => EksError::Api {
                operation,
                resource: resource.to_string(),
                code: code.to_string(),
                message: err.message().unwrap_or("").to_string(),
            },
            None => EksError::Transport {
                operation,
                resource: resource.to_string(),
                message: match err.raw_response() {
                    Some(r) => format!("unexpected HTTP {} response", r.status().as_u16()),
                    None => super::aws::error_chain(&err),
                },
            },
        }
    }

    /// True when EKS said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EksError::Api { code, .. } if code == "ResourceNotFoundException" || code == "NotFoundException")
    }
}

fn ended(what: String, e: WaitEnd<EksError>) -> EksError {
    match e {
        WaitEnd::TimedOut { waited, last } => EksError::Timeout { what, waited, last },
        WaitEnd::Cancelled => EksError::Cancelled { what },
        WaitEnd::Failed(e) => e,
    }
}

/// The EKS client with its polling policy.
#[derive(Clone, Debug)]
pub struct Eks {
    client: Client,
    backoff: Backoff,
}

fn taint_effect(e: &str) -> t::TaintEffect {
    t::TaintEffect::from(e)
}

fn to_sdk_taint(taint: &Taint) -> t::Taint {
    let mut b = t::Taint::builder()
        .key(&taint.key)
        .effect(taint_effect(&taint.effect));
    if let Some(v) = &taint.value {
        b = b.value(v);
    }
    b.build()
}

fn to_sdk_scaling(s: Scaling) -> t::NodegroupScalingConfig {
    t::NodegroupScalingConfig::builder()
        .min_size(s.min)
        .max_size(s.max)
        .desired_size(s.desired)
        .build()
}

fn to_sdk_update_config(u: UpdateConfig) -> t::NodegroupUpdateConfig {
    match u {
        UpdateConfig::MaxUnavailable(n) => t::NodegroupUpdateConfig::builder()
            .max_unavailable(n)
            .build(),
        UpdateConfig::MaxUnavailablePercentage(n) => t::NodegroupUpdateConfig::builder()
            .max_unavailable_percentage(n)
            .build(),
    }
}

fn to_sdk_launch_template(l: &LaunchTemplate) -> t::LaunchTemplateSpecification {
    t::LaunchTemplateSpecification::builder()
        .set_id(l.id.clone())
        .set_name(l.name.clone())
        .set_version(l.version.clone())
        .build()
}

fn hashmap(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn btree(m: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn from_sdk(cluster: &str, ng: &t::Nodegroup) -> Nodegroup {
    let mut taints: Vec<Taint> = ng
        .taints()
        .iter()
        .map(|x| Taint {
            key: x.key().unwrap_or_default().to_string(),
            value: x.value().map(str::to_string),
            effect: x
                .effect()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect();
    taints.sort();
    Nodegroup {
        cluster: ng.cluster_name().unwrap_or(cluster).to_string(),
        name: ng.nodegroup_name().unwrap_or_default().to_string(),
        arn: ng.nodegroup_arn().unwrap_or_default().to_string(),
        status: ng
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        version: ng.version().map(str::to_string),
        release_version: ng.release_version().map(str::to_string),
        capacity_type: ng.capacity_type().map(|c| c.as_str().to_string()),
        instance_types: ng.instance_types().to_vec(),
        subnet_ids: ng.subnets().to_vec(),
        ami_type: ng.ami_type().map(|a| a.as_str().to_string()),
        node_role_arn: ng.node_role().unwrap_or_default().to_string(),
        labels: btree(ng.labels()),
        taints,
        scaling: ng.scaling_config().map(|s| Scaling {
            min: s.min_size().unwrap_or(0),
            max: s.max_size().unwrap_or(0),
            desired: s.desired_size().unwrap_or(0),
        }),
        disk_size: ng.disk_size(),
        update_config: ng.update_config().and_then(|u| {
            u.max_unavailable_percentage()
                .map(UpdateConfig::MaxUnavailablePercentage)
                .or(u.max_unavailable().map(UpdateConfig::MaxUnavailable))
        }),
        launch_template: ng.launch_template().map(|l| LaunchTemplate {
            id: l.id().map(str::to_string),
            name: l.name().map(str::to_string),
            version: l.version().map(str::to_string),
        }),
        tags: btree(ng.tags()),
        autoscaling_groups: ng
            .resources()
            .map(|r| {
                r.auto_scaling_groups()
                    .iter()
                    .filter_map(|a| a.name().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        health_issues: ng
            .health()
            .map(|h| {
                h.issues()
                    .iter()
                    .map(|i| Issue {
                        code: i.code().map(|c| c.as_str().to_string()).unwrap_or_default(),
                        message: i.message().unwrap_or_default().to_string(),
                        resource_ids: i.resource_ids().to_vec(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl Eks {
    pub fn new(client: Client) -> Self {
        Eks {
            client,
            backoff: Backoff::default(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Finds a node group; `None` when it does not exist (or its cluster does not).
    ///
    /// # Errors
    /// [`EksError`] for any other failure.
    pub async fn find_nodegroup(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<Nodegroup>, EksError> {
        let resource = format!("{cluster}:{name}");
        match self
            .client
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.nodegroup().map(|n| from_sdk(cluster, n))),
            Err(e) => {
                let e = EksError::from_sdk("DescribeNodegroup", &resource, e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A cluster's connection facts, or `None` when there is no such cluster.
    ///
    /// # Errors
    /// API and transport errors other than not-found.
    pub async fn find_cluster(&self, name: &str) -> Result<Option<Cluster>, EksError> {
        match self.client.describe_cluster().name(name).send().await {
            Ok(out) => Ok(out.cluster().map(|c| Cluster {
                name: c.name().unwrap_or(name).to_string(),
                arn: c.arn().unwrap_or_default().to_string(),
                endpoint: c.endpoint().map(str::to_string),
                certificate_authority: c
                    .certificate_authority()
                    .and_then(|a| a.data())
                    .map(str::to_string),
                version: c.version().map(str::to_string),
                status: c.status().map(|s| s.as_str().to_string()),
                oidc_issuer: c
                    .identity()
                    .and_then(|i| i.oidc())
                    .and_then(|o| o.issuer())
                    .map(str::to_string),
            })),
            Err(e) => {
                let e = EksError::from_sdk("DescribeCluster", name, e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Starts creating a node group (returns at once, status CREATING).
    ///
    /// # Errors
    /// [`EksError::Api`] when EKS refuses (e.g. a name already in use).
    pub async fn create_nodegroup(&self, spec: &NodegroupSpec) -> Result<Nodegroup, EksError> {
        let resource = format!("{}:{}", spec.cluster, spec.name);
        let mut req = self
            .client
            .create_nodegroup()
            .cluster_name(&spec.cluster)
            .nodegroup_name(&spec.name)
            .node_role(&spec.node_role_arn)
            .set_subnets(Some(spec.subnet_ids.clone()))
            .set_labels(Some(hashmap(&spec.labels)))
            .set_tags(if spec.tags.is_empty() {
                None
            } else {
                Some(hashmap(&spec.tags))
            })
            .set_taints(if spec.taints.is_empty() {
                None
            } else {
                Some(spec.taints.iter().map(to_sdk_taint).collect())
            })
            .set_version(spec.version.clone())
            .set_release_version(spec.release_version.clone())
            .set_disk_size(spec.disk_size)
            .set_capacity_type(spec.capacity_type.as_deref().map(t::CapacityTypes::from))
            .set_ami_type(spec.ami_type.as_deref().map(t::AmiTypes::from))
            .set_scaling_config(spec.scaling.map(to_sdk_scaling))
            .set_update_config(spec.update_config.map(to_sdk_update_config))
            .set_launch_template(spec.launch_template.as_ref().map(to_sdk_launch_template));
        if !spec.instance_types.is_empty() {
            req = req.set_instance_types(Some(spec.instance_types.clone()));
        }
        let out = req
            .send()
            .await
            .map_err(|e| EksError::from_sdk("CreateNodegroup", &resource, e))?;
        out.nodegroup()
            .map(|n| from_sdk(&spec.cluster, n))
            .ok_or_else(|| EksError::Api {
                operation: "CreateNodegroup",
                resource,
                code: "EmptyResponse".into(),
                message: "EKS returned no node group".into(),
            })
    }

    /// Waits until the node group is ACTIVE. CREATE_FAILED or DEGRADED end the wait with the
    /// health issues EKS reports.
    ///
    /// # Errors
    /// [`EksError::Failed`], [`EksError::Timeout`], [`EksError::Cancelled`] or an API error.
    pub async fn wait_active(
        &self,
        cluster: &str,
        name: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Nodegroup, EksError> {
        let resource = format!("{cluster}:{name}");
        let what = format!("node group {resource} to become ACTIVE");
        wait::until(timeout, self.backoff, cancel, || async {
            match self.find_nodegroup(cluster, name).await? {
                None => Err(EksError::Gone {
                    resource: resource.clone(),
                }),
                Some(ng) => match ng.status.as_str() {
                    "ACTIVE" => Ok(Poll::Done(ng)),
                    "CREATE_FAILED" | "DELETE_FAILED" | "DEGRADED" => Err(EksError::Failed {
                        resource: resource.clone(),
                        status: ng.status.clone(),
                        issues: ng.health_issues.clone(),
                    }),
                    other => Ok(Poll::Pending(other.to_string())),
                },
            }
        })
        .await
        .map_err(|e| ended(what, e))
    }

    /// Applies a configuration change and waits for the update to finish.
    ///
    /// # Errors
    /// [`EksError::UpdateFailed`] naming what EKS reports (e.g. PodEvictionFailure), or others.
    pub async fn update_config(
        &self,
        cluster: &str,
        name: &str,
        change: &ConfigChange,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), EksError> {
        if change.is_empty() {
            return Ok(());
        }
        let resource = format!("{cluster}:{name}");
        let mut req = self
            .client
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name);
        if !change.labels_to_set.is_empty() || !change.labels_to_remove.is_empty() {
            req = req.labels(
                t::UpdateLabelsPayload::builder()
                    .set_add_or_update_labels(if change.labels_to_set.is_empty() {
                        None
                    } else {
                        Some(hashmap(&change.labels_to_set))
                    })
                    .set_remove_labels(if change.labels_to_remove.is_empty() {
                        None
                    } else {
                        Some(change.labels_to_remove.clone())
                    })
                    .build(),
            );
        }
        if !change.taints_to_set.is_empty() || !change.taints_to_remove.is_empty() {
            req = req.taints(
                t::UpdateTaintsPayload::builder()
                    .set_add_or_update_taints(if change.taints_to_set.is_empty() {
                        None
                    } else {
                        Some(change.taints_to_set.iter().map(to_sdk_taint).collect())
                    })
                    .set_remove_taints(if change.taints_to_remove.is_empty() {
                        None
                    } else {
                        Some(change.taints_to_remove.iter().map(to_sdk_taint).collect())
                    })
                    .build(),
            );
        }
        if let Some(s) = change.scaling {
            req = req.scaling_config(to_sdk_scaling(s));
        }
        if let Some(u) = change.update_config {
            req = req.update_config(to_sdk_update_config(u));
        }
        let out = req
            .send()
            .await
            .map_err(|e| EksError::from_sdk("UpdateNodegroupConfig", &resource, e))?;
        let id = out
            .update()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_string();
        self.wait_update(cluster, name, &id, timeout, cancel).await
    }

    /// Applies a version change and waits for the update to finish.
    ///
    /// # Errors
    /// [`EksError::UpdateFailed`] naming what EKS reports, or others.
    pub async fn update_version(
        &self,
        cluster: &str,
        name: &str,
        change: &VersionChange,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        let out = self
            .client
            .update_nodegroup_version()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .set_version(change.version.clone())
            .set_release_version(change.release_version.clone())
            .set_launch_template(change.launch_template.as_ref().map(to_sdk_launch_template))
            .force(change.force)
            .send()
            .await
            .map_err(|e| EksError::from_sdk("UpdateNodegroupVersion", &resource, e))?;
        let id = out
            .update()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_string();
        self.wait_update(cluster, name, &id, timeout, cancel).await
    }

    async fn wait_update(
        &self,
        cluster: &str,
        name: &str,
        update_id: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        let what = format!("update {update_id} of node group {resource}");
        wait::until(timeout, self.backoff, cancel, || async {
            let out = self
                .client
                .describe_update()
                .name(cluster)
                .nodegroup_name(name)
                .update_id(update_id)
                .send()
                .await
                .map_err(|e| EksError::from_sdk("DescribeUpdate", &resource, e))?;
            let Some(u) = out.update() else {
                return Ok(Poll::Pending("no update yet".into()));
            };
            let status = u
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            match status.as_str() {
                "Successful" => Ok(Poll::Done(())),
                "Failed" | "Cancelled" => Err(EksError::UpdateFailed {
                    resource: resource.clone(),
                    update_id: update_id.to_string(),
                    status: status.to_ascii_lowercase(),
                    errors: u
                        .errors()
                        .iter()
                        .map(|e| Issue {
                            code: e
                                .error_code()
                                .map(|c| c.as_str().to_string())
                                .unwrap_or_default(),
                            message: e.error_message().unwrap_or_default().to_string(),
                            resource_ids: e.resource_ids().to_vec(),
                        })
                        .collect(),
                }),
                other => Ok(Poll::Pending(other.to_string())),
            }
        })
        .await
        .map_err(|e| ended(what, e))
    }

    /// Replaces the node group's tags: sets `tags`, removes keys no longer wanted.
    ///
    /// # Errors
    /// [`EksError`] from TagResource/UntagResource.
    pub async fn sync_tags(
        &self,
        arn: &str,
        current: &BTreeMap<String, String>,
        wanted: &BTreeMap<String, String>,
    ) -> Result<(), EksError> {
        let remove: Vec<String> = current
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        if !remove.is_empty() {
            self.client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| EksError::from_sdk("UntagResource", arn, e))?;
        }
        let set: BTreeMap<String, String> = wanted
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !set.is_empty() {
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(hashmap(&set)))
                .send()
                .await
                .map_err(|e| EksError::from_sdk("TagResource", arn, e))?;
        }
        Ok(())
    }

    /// Deletes the node group and waits until it is gone. Not found is success.
    ///
    /// # Errors
    /// [`EksError`] when deletion fails or times out.
    pub async fn delete_nodegroup(
        &self,
        cluster: &str,
        name: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        if let Err(e) = self
            .client
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
        {
            let e = EksError::from_sdk("DeleteNodegroup", &resource, e);
            if e.is_not_found() {
                return Ok(());
            }
            if !matches!(&e, EksError::Api { code, .. } if code == "ResourceInUseException") {
                return Err(e);
            }
            // In use: already being deleted (a destroy interrupted earlier), or still being
            // created or updated, which must end before it can be deleted.
            match self.find_nodegroup(cluster, name).await? {
                None => return Ok(()),
                Some(ng) if ng.status == "DELETING" => {}
                Some(_) => {
                    match self.wait_active(cluster, name, timeout, cancel).await {
                        Ok(_) => {}
                        Err(EksError::Gone { .. }) => return Ok(()),
                        Err(e) => return Err(e),
                    }
                    self.client
                        .delete_nodegroup()
                        .cluster_name(cluster)
                        .nodegroup_name(name)
                        .send()
                        .await
                        .map_err(|e| EksError::from_sdk("DeleteNodegroup", &resource, e))?;
                }
            }
        }
        let what = format!("node group {resource} to be deleted");
        wait::until(timeout, self.backoff, cancel, || async {
            match self.find_nodegroup(cluster, name).await? {
                None => Ok(Poll::Done(())),
                Some(ng) if ng.status == "DELETE_FAILED" => Err(EksError::Failed {
                    resource: resource.clone(),
                    status: ng.status,
                    issues: ng.health_issues,
                }),
                Some(ng) => Ok(Poll::Pending(ng.status)),
            }
        })
        .await
        .map_err(|e| ended(what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_data_is_base64_of_pem() {
        use base64::Engine as _;
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(decode_ca(&b64).as_deref(), Ok(pem));
        assert!(decode_ca("not base64!").is_err());
    }
}
