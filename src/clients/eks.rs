//! EKS managed node groups: create, find, update (config and version), delete, and the
//! waiters that follow them to a final state; Pod Identity associations ([`pod_identity`]).
//! Throttling and 5xx are retried by the SDK's retry policy (see [`super::aws`]); what remains
//! is reported as an [`EksError`]. Every call and every wait runs under the client's
//! [`Bounds`]: a cancellation ends it at once, the operation's deadline ends it in time,
//! whatever the SDK's retries would still do.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::time::Duration;

use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types as t;
use aws_sdk_eks::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::aws::SdkFailure;
use super::bounds::{Bounds, Cut};
use super::wait::{self, Backoff, Poll, WaitEnd};

mod pod_identity;
pub use pod_identity::{Association, Subject};

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

/// How many nodes an update may take down at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxUnavailable {
    Count(i32),
    Percentage(i32),
}

/// How EKS updates a group's nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateConfig {
    pub max_unavailable: MaxUnavailable,
    /// `DEFAULT` or `MINIMAL`; EKS's default when `None`.
    pub strategy: Option<String>,
}

impl UpdateConfig {
    /// What EKS reports for a group created without an update configuration.
    pub fn eks_default() -> UpdateConfig {
        UpdateConfig {
            max_unavailable: MaxUnavailable::Count(1),
            strategy: None,
        }
    }
}

/// Node auto repair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeRepair {
    pub enabled: bool,
    pub max_unhealthy_count: Option<i32>,
    pub max_unhealthy_percentage: Option<i32>,
    pub max_parallel_count: Option<i32>,
    pub max_parallel_percentage: Option<i32>,
    pub overrides: Vec<RepairOverride>,
}

/// A repair action for one monitoring condition and reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairOverride {
    pub condition: String,
    pub reason: String,
    pub min_wait_mins: Option<i32>,
    pub action: String,
}

/// SSH access to the nodes (groups without a launch template only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteAccess {
    pub ec2_ssh_key: Option<String>,
    pub source_security_groups: Vec<String>,
}

/// The AMI types EKS accepts, as the SDK knows them.
pub fn ami_types() -> &'static [&'static str] {
    t::AmiTypes::values()
}

/// The capacity types EKS accepts, as the SDK knows them.
pub fn capacity_types() -> &'static [&'static str] {
    t::CapacityTypes::values()
}

/// The node update strategies EKS accepts, as the SDK knows them.
pub fn update_strategies() -> &'static [&'static str] {
    t::NodegroupUpdateStrategies::values()
}

/// The node auto repair actions EKS accepts, as the SDK knows them.
pub fn repair_actions() -> &'static [&'static str] {
    t::RepairAction::values()
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
    pub node_repair: Option<NodeRepair>,
    pub remote_access: Option<RemoteAccess>,
    pub tags: BTreeMap<String, String>,
}

impl NodegroupSpec {
    /// A stable text of everything the create request asks for: the same request gives the
    /// same text in every process and run, whatever order its sets and maps came in.
    pub fn canonical(&self) -> String {
        let mut subnets = self.subnet_ids.clone();
        subnets.sort();
        let mut taints = self.taints.clone();
        taints.sort();
        let mut canonical = serde_json::json!({
            "v": 1,
            "cluster": self.cluster,
            "name": self.name,
            "node_role_arn": self.node_role_arn,
            "subnet_ids": subnets,
            "scaling": self.scaling.map(|s| [s.min, s.max, s.desired]),
            "instance_types": self.instance_types,
            "capacity_type": self.capacity_type,
            "disk_size": self.disk_size,
            "ami_type": self.ami_type,
            "release_version": self.release_version,
            "version": self.version,
            "labels": self.labels,
            "taints": taints
                .iter()
                .map(|t| (&t.key, &t.value, &t.effect))
                .collect::<Vec<_>>(),
            "update_config": self.update_config.as_ref().map(|u| match u.max_unavailable {
                MaxUnavailable::Count(n) => ("count", n),
                MaxUnavailable::Percentage(n) => ("percentage", n),
            }),
            "launch_template": self
                .launch_template
                .as_ref()
                .map(|l| (&l.id, &l.name, &l.version)),
            "tags": self.tags,
        });
        // Added only when asked for, so a request made before they existed keeps its text.
        if let Some(strategy) = self
            .update_config
            .as_ref()
            .and_then(|u| u.strategy.as_ref())
        {
            canonical["update_strategy"] = serde_json::json!(strategy);
        }
        if let Some(r) = &self.node_repair {
            canonical["node_repair"] = serde_json::json!([
                r.enabled,
                r.max_unhealthy_count,
                r.max_unhealthy_percentage,
                r.max_parallel_count,
                r.max_parallel_percentage,
                r.overrides
                    .iter()
                    .map(|o| (&o.condition, &o.reason, o.min_wait_mins, &o.action))
                    .collect::<Vec<_>>(),
            ]);
        }
        if let Some(r) = &self.remote_access {
            let mut groups = r.source_security_groups.clone();
            groups.sort();
            canonical["remote_access"] = serde_json::json!([r.ec2_ssh_key, groups]);
        }
        canonical.to_string()
    }

    /// The CreateNodegroup client request token: derived from the whole request, so a create
    /// sent again (a retry, or the next run after a lost answer) is the same request to EKS,
    /// which answers with the group it made instead of making a second one.
    pub fn request_token(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        format!("tfdp-{}", &hex::encode(digest)[..32])
    }
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
    pub node_repair: Option<NodeRepair>,
    pub remote_access: Option<RemoteAccess>,
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
    pub node_repair: Option<NodeRepair>,
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
    /// EKS answered, but with something that is neither the operation's output nor an error
    /// EKS names (a body of the wrong shape, an HTML page, a value of the wrong type).
    #[error("EKS sent a {operation} response that could not be read: {detail} ({resource}, HTTP {status})")]
    Unreadable {
        operation: &'static str,
        resource: String,
        status: u16,
        detail: String,
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
        err: SdkError<E, HttpResponse>,
    ) -> Self {
        let resource = resource.to_string();
        match SdkFailure::of(&err) {
            SdkFailure::Api { code, message } => EksError::Api {
                operation,
                resource,
                code,
                message,
            },
            SdkFailure::Unreadable { status } => EksError::Unreadable {
                operation,
                resource,
                status,
                detail: unreadable_detail(&err),
            },
            SdkFailure::Transport => EksError::Transport {
                operation,
                resource,
                message: super::aws::error_chain(&err),
            },
        }
    }

    /// A call cut short by the operation's bounds.
    fn cut(operation: &'static str, resource: &str, cut: Cut) -> Self {
        let what = format!("EKS to answer {operation} of {resource}");
        match cut {
            Cut::Cancelled => EksError::Cancelled { what },
            Cut::TimedOut { after } => EksError::Timeout {
                what,
                waited: after,
                last: "no answer yet".into(),
            },
        }
    }

    /// True when the operation was asked to stop (Terraform's StopProvider).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, EksError::Cancelled { .. })
    }

    /// True when EKS said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EksError::Api { code, .. } if code == "ResourceNotFoundException" || code == "NotFoundException")
    }
}

/// Why an answer could not be read, without the SDK's wrappers that say only that it failed.
fn unreadable_detail(err: &(dyn std::error::Error + 'static)) -> String {
    const WRAPPERS: [&str; 4] = [
        "service error",
        "response error",
        "unhandled error",
        "unhandled error (Unhandled)",
    ];
    let detail = super::aws::error_chain_skipping(err, &WRAPPERS);
    if detail.is_empty() {
        "the body is not what the operation returns".to_string()
    } else {
        detail
    }
}

fn ended(what: String, e: WaitEnd<EksError>) -> EksError {
    match e {
        WaitEnd::TimedOut { waited, last } => EksError::Timeout { what, waited, last },
        WaitEnd::Cancelled => EksError::Cancelled { what },
        WaitEnd::Failed(e) => e,
    }
}

/// The EKS client with its polling policy and the bounds of the operation it serves.
#[derive(Clone, Debug)]
pub struct Eks {
    client: Client,
    backoff: Backoff,
    bounds: Bounds,
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

fn to_sdk_update_config(u: &UpdateConfig) -> t::NodegroupUpdateConfig {
    let b = t::NodegroupUpdateConfig::builder().set_update_strategy(
        u.strategy
            .as_deref()
            .map(t::NodegroupUpdateStrategies::from),
    );
    match u.max_unavailable {
        MaxUnavailable::Count(n) => b.max_unavailable(n),
        MaxUnavailable::Percentage(n) => b.max_unavailable_percentage(n),
    }
    .build()
}

fn to_sdk_node_repair(r: &NodeRepair) -> t::NodeRepairConfig {
    t::NodeRepairConfig::builder()
        .enabled(r.enabled)
        .set_max_unhealthy_node_threshold_count(r.max_unhealthy_count)
        .set_max_unhealthy_node_threshold_percentage(r.max_unhealthy_percentage)
        .set_max_parallel_nodes_repaired_count(r.max_parallel_count)
        .set_max_parallel_nodes_repaired_percentage(r.max_parallel_percentage)
        .set_node_repair_config_overrides(if r.overrides.is_empty() {
            None
        } else {
            Some(
                r.overrides
                    .iter()
                    .map(|o| {
                        t::NodeRepairConfigOverrides::builder()
                            .node_monitoring_condition(&o.condition)
                            .node_unhealthy_reason(&o.reason)
                            .set_min_repair_wait_time_mins(o.min_wait_mins)
                            .repair_action(t::RepairAction::from(o.action.as_str()))
                            .build()
                    })
                    .collect(),
            )
        })
        .build()
}

fn to_sdk_remote_access(r: &RemoteAccess) -> t::RemoteAccessConfig {
    t::RemoteAccessConfig::builder()
        .set_ec2_ssh_key(r.ec2_ssh_key.clone())
        .set_source_security_groups(if r.source_security_groups.is_empty() {
            None
        } else {
            Some(r.source_security_groups.clone())
        })
        .build()
}

fn from_sdk_node_repair(r: &t::NodeRepairConfig) -> NodeRepair {
    NodeRepair {
        enabled: r.enabled().unwrap_or(false),
        max_unhealthy_count: r.max_unhealthy_node_threshold_count(),
        max_unhealthy_percentage: r.max_unhealthy_node_threshold_percentage(),
        max_parallel_count: r.max_parallel_nodes_repaired_count(),
        max_parallel_percentage: r.max_parallel_nodes_repaired_percentage(),
        overrides: r
            .node_repair_config_overrides()
            .iter()
            .map(|o| RepairOverride {
                condition: o
                    .node_monitoring_condition()
                    .unwrap_or_default()
                    .to_string(),
                reason: o.node_unhealthy_reason().unwrap_or_default().to_string(),
                min_wait_mins: o.min_repair_wait_time_mins(),
                action: o
                    .repair_action()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
            })
            .collect(),
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
            let max = u
                .max_unavailable_percentage()
                .map(MaxUnavailable::Percentage)
                .or(u.max_unavailable().map(MaxUnavailable::Count))?;
            Some(UpdateConfig {
                max_unavailable: max,
                strategy: u.update_strategy().map(|s| s.as_str().to_string()),
            })
        }),
        node_repair: ng.node_repair_config().map(from_sdk_node_repair),
        remote_access: ng.remote_access().map(|r| RemoteAccess {
            ec2_ssh_key: r.ec2_ssh_key().map(str::to_string),
            source_security_groups: r.source_security_groups().to_vec(),
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
            bounds: Bounds::default(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same client, whose calls and waits all end when `bounds` say so: at once when the
    /// operation is cancelled, at its deadline otherwise.
    #[must_use]
    pub fn bounded(&self, bounds: Bounds) -> Eks {
        Eks {
            bounds,
            ..self.clone()
        }
    }

    /// Sends one request (with the SDK's retries) under the client's bounds.
    async fn call<T, E, F>(
        &self,
        operation: &'static str,
        resource: &str,
        send: F,
    ) -> Result<T, EksError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        match self.bounds.run(send).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(EksError::from_sdk(operation, resource, e)),
            Err(cut) => {
                tracing::info!(operation, resource, ?cut, "EKS call cut short");
                Err(EksError::cut(operation, resource, cut))
            }
        }
    }

    /// Polls under the client's bounds: until its deadline, or until it is cancelled.
    async fn wait_for<T, F, Fut>(&self, what: String, check: F) -> Result<T, EksError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, EksError>>,
    {
        if let Err(cut) = self.bounds.check() {
            return Err(match cut {
                Cut::Cancelled => EksError::Cancelled { what },
                Cut::TimedOut { after } => EksError::Timeout {
                    what,
                    waited: after,
                    last: "not polled: the operation's time had run out".into(),
                },
            });
        }
        wait::until(
            self.bounds.remaining(),
            self.backoff,
            self.bounds.cancel_token(),
            check,
        )
        .await
        .map_err(|e| ended(what, e))
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
        let found = self
            .call(
                "DescribeNodegroup",
                &resource,
                self.client
                    .describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .send(),
            )
            .await;
        match found {
            Ok(out) => Ok(out.nodegroup().map(|n| from_sdk(cluster, n))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The names of a cluster's node groups (all pages).
    ///
    /// # Errors
    /// [`EksError`], not-found included (a cluster that does not exist).
    pub async fn list_nodegroups(&self, cluster: &str) -> Result<Vec<String>, EksError> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call(
                    "ListNodegroups",
                    cluster,
                    self.client
                        .list_nodegroups()
                        .cluster_name(cluster)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await?;
            names.extend(out.nodegroups().iter().cloned());
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    /// A cluster's connection facts, or `None` when there is no such cluster.
    ///
    /// # Errors
    /// API and transport errors other than not-found.
    pub async fn find_cluster(&self, name: &str) -> Result<Option<Cluster>, EksError> {
        let found = self
            .call(
                "DescribeCluster",
                name,
                self.client.describe_cluster().name(name).send(),
            )
            .await;
        match found {
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
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts creating a node group (returns at once, status CREATING). The request carries
    /// [`NodegroupSpec::request_token`], so sending the same spec again is idempotent.
    ///
    /// # Errors
    /// [`EksError::Api`] when EKS refuses (e.g. a name already in use).
    pub async fn create_nodegroup(&self, spec: &NodegroupSpec) -> Result<Nodegroup, EksError> {
        let resource = format!("{}:{}", spec.cluster, spec.name);
        let mut req = self
            .client
            .create_nodegroup()
            .client_request_token(spec.request_token())
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
            .set_update_config(spec.update_config.as_ref().map(to_sdk_update_config))
            .set_node_repair_config(spec.node_repair.as_ref().map(to_sdk_node_repair))
            .set_remote_access(spec.remote_access.as_ref().map(to_sdk_remote_access))
            .set_launch_template(spec.launch_template.as_ref().map(to_sdk_launch_template));
        if !spec.instance_types.is_empty() {
            req = req.set_instance_types(Some(spec.instance_types.clone()));
        }
        let out = self.call("CreateNodegroup", &resource, req.send()).await?;
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
    pub async fn wait_active(&self, cluster: &str, name: &str) -> Result<Nodegroup, EksError> {
        let resource = format!("{cluster}:{name}");
        let what = format!("node group {resource} to become ACTIVE");
        self.wait_for(what, || async {
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
        if let Some(r) = &change.node_repair {
            req = req.node_repair_config(to_sdk_node_repair(r));
        }
        if let Some(u) = &change.update_config {
            req = req.update_config(to_sdk_update_config(u));
        }
        let out = self
            .call("UpdateNodegroupConfig", &resource, req.send())
            .await?;
        let id = out
            .update()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_string();
        self.wait_update(cluster, name, &id).await
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
    ) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        let out = self
            .call(
                "UpdateNodegroupVersion",
                &resource,
                self.client
                    .update_nodegroup_version()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .set_version(change.version.clone())
                    .set_release_version(change.release_version.clone())
                    .set_launch_template(
                        change.launch_template.as_ref().map(to_sdk_launch_template),
                    )
                    .force(change.force)
                    .send(),
            )
            .await?;
        let id = out
            .update()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_string();
        self.wait_update(cluster, name, &id).await
    }

    async fn wait_update(
        &self,
        cluster: &str,
        name: &str,
        update_id: &str,
    ) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        let what = format!("update {update_id} of node group {resource}");
        self.wait_for(what, || async {
            let out = self
                .call(
                    "DescribeUpdate",
                    &resource,
                    self.client
                        .describe_update()
                        .name(cluster)
                        .nodegroup_name(name)
                        .update_id(update_id)
                        .send(),
                )
                .await?;
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
        self.remove_tags(arn, remove).await?;
        let set: BTreeMap<String, String> = wanted
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !set.is_empty() {
            self.call(
                "TagResource",
                arn,
                self.client
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(hashmap(&set)))
                    .send(),
            )
            .await?;
        }
        Ok(())
    }

    /// Removes tags (by key) from a node group or cluster; nothing to remove is no call.
    ///
    /// # Errors
    /// [`EksError`] from UntagResource.
    pub async fn remove_tags(&self, arn: &str, keys: Vec<String>) -> Result<(), EksError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.call(
            "UntagResource",
            arn,
            self.client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn send_delete(&self, cluster: &str, name: &str) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        self.call(
            "DeleteNodegroup",
            &resource,
            self.client
                .delete_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send(),
        )
        .await?;
        Ok(())
    }

    /// Deletes the node group and waits until it is gone. Not found is success.
    ///
    /// # Errors
    /// [`EksError`] when deletion fails or times out.
    pub async fn delete_nodegroup(&self, cluster: &str, name: &str) -> Result<(), EksError> {
        let resource = format!("{cluster}:{name}");
        if let Err(e) = self.send_delete(cluster, name).await {
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
                    match self.wait_active(cluster, name).await {
                        Ok(_) => {}
                        Err(EksError::Gone { .. }) => return Ok(()),
                        Err(e) => return Err(e),
                    }
                    self.send_delete(cluster, name).await?;
                }
            }
        }
        let what = format!("node group {resource} to be deleted");
        self.wait_for(what, || async {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;
    use tokio_util::sync::CancellationToken;

    /// An answer of the loopback stand-in: status, error type header, body; `None` never answers.
    type Answer = Option<(u16, Option<&'static str>, String)>;

    /// A loopback stand-in for the EKS REST API answering every request (head and body) with
    /// `answer`.
    async fn stub(answer: Arc<dyn Fn(&str) -> Answer + Send + Sync>) -> String {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let Some((head, body)) =
                        crate::clients::test_http::read_request(&mut conn).await
                    else {
                        return;
                    };
                    let request = format!("{head}{body}");
                    let Some((status, kind, body)) = answer(&request) else {
                        tokio::time::sleep(Duration::from_secs(300)).await;
                        return;
                    };
                    let kind = kind
                        .map(|k| format!("x-amzn-errortype: {k}\r\n"))
                        .unwrap_or_default();
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{kind}content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                });
            }
        });
        url
    }

    fn eks(url: &str) -> Eks {
        use aws_sdk_eks::config::retry::RetryConfig;
        use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
        let conf = aws_sdk_eks::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(url)
            .region(Region::new("eu-central-1"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build();
        Eks::new(Client::from_conf(conf))
    }

    /// Under sustained throttling or server errors every call still gets all its attempts:
    /// the SDK's retry quota, which the default partition would drain, does not cut them short.
    #[tokio::test]
    async fn throttling_and_server_errors_are_retried_whatever_came_before() {
        use aws_sdk_eks::config::retry::RetryConfig;
        use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
        use std::sync::atomic::{AtomicUsize, Ordering};
        for (status, code) in [
            (503, "ServiceUnavailableException"),
            (400, "ThrottlingException"),
        ] {
            let asked = Arc::new(AtomicUsize::new(0));
            let seen = asked.clone();
            let body = r#"{"message":"Rate exceeded"}"#.to_string();
            let url = stub(Arc::new(move |_: &str| {
                seen.fetch_add(1, Ordering::SeqCst);
                Some((status, Some(code), body.clone()))
            }))
            .await;
            let conf = aws_sdk_eks::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .endpoint_url(&url)
                .region(Region::new("eu-central-1"))
                .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(3)
                        .with_initial_backoff(Duration::from_millis(1))
                        .with_max_backoff(Duration::from_millis(2)),
                )
                .retry_partition(crate::clients::aws::retry_partition("eks-test"))
                .build();
            let eks = Eks::new(Client::from_conf(conf));
            // 60 calls of 2 retries each: far beyond the default quota of 500 tokens.
            for _ in 0..60 {
                assert!(eks.find_cluster("analytics").await.is_err());
            }
            assert_eq!(asked.load(Ordering::SeqCst), 180, "{code}");
        }
    }

    async fn describe_with(answer: Answer) -> Result<Option<Nodegroup>, EksError> {
        let url = stub(Arc::new(move |_: &str| answer.clone())).await;
        eks(&url).find_nodegroup("analytics", "infra").await
    }

    #[tokio::test]
    async fn an_answer_of_the_wrong_shape_is_unreadable_not_unreachable() {
        // moto's default disk size: a string where EKS sends a number.
        let body = r#"{"nodegroup":{"nodegroupName":"infra","diskSize":"20"}}"#.to_string();
        let e = describe_with(Some((200, None, body)))
            .await
            .expect_err("unreadable");
        let text = e.to_string();
        assert!(
            matches!(
                &e,
                EksError::Unreadable {
                    operation: "DescribeNodegroup",
                    status: 200,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            text.starts_with("EKS sent a DescribeNodegroup response that could not be read: "),
            "{text}"
        );
        assert!(text.contains("analytics:infra, HTTP 200"), "{text}");
        assert!(!text.contains("could not reach"), "{text}");
        assert!(
            !text.contains("unhandled"),
            "the SDK's wrappers are left out: {text}"
        );

        // Not JSON at all, and an HTML page where an error was expected.
        let e = describe_with(Some((200, None, "<html>".into())))
            .await
            .expect_err("unreadable");
        assert!(
            matches!(&e, EksError::Unreadable { status: 200, .. }),
            "{e:?}"
        );
        let e = describe_with(Some((404, None, "<html>not here</html>".into())))
            .await
            .expect_err("unreadable");
        assert!(
            matches!(&e, EksError::Unreadable { status: 404, .. }),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn errors_eks_names_are_api_errors_and_not_found_is_none() {
        let missing = r#"{"message":"No node group found for name: infra."}"#.to_string();
        let found = describe_with(Some((404, Some("ResourceNotFoundException"), missing))).await;
        assert!(matches!(found, Ok(None)), "{found:?}");
        let bad = r#"{"message":"bad name"}"#.to_string();
        let e = describe_with(Some((400, Some("InvalidParameterException"), bad)))
            .await
            .expect_err("refused");
        assert!(
            matches!(&e, EksError::Api { code, .. } if code == "InvalidParameterException"),
            "{e:?}"
        );
        let ok = r#"{"nodegroup":{"nodegroupName":"infra","diskSize":20,"status":"ACTIVE"}}"#;
        let ng = describe_with(Some((200, None, ok.to_string())))
            .await
            .expect("read")
            .expect("found");
        assert_eq!((ng.disk_size, ng.status.as_str()), (Some(20), "ACTIVE"));
    }

    #[tokio::test]
    async fn no_answer_at_all_is_a_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        drop(listener);
        let e = eks(&url)
            .find_nodegroup("analytics", "infra")
            .await
            .expect_err("refused");
        assert!(matches!(&e, EksError::Transport { .. }), "{e:?}");
        assert!(e.to_string().contains("could not reach EKS"), "{e}");
    }

    #[tokio::test]
    async fn a_call_without_answer_ends_when_cancelled_or_out_of_time() {
        let url = stub(Arc::new(|_: &str| None)).await;
        let cancel = CancellationToken::new();
        let client = eks(&url).bounded(Bounds::new(cancel.clone(), Duration::from_secs(60)));
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            c.cancel();
        });
        let start = Instant::now();
        let e = client
            .find_nodegroup("analytics", "infra")
            .await
            .expect_err("cancelled");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert!(e.is_cancelled(), "{e:?}");
        assert_eq!(
            e.to_string(),
            "cancelled while waiting for EKS to answer DescribeNodegroup of analytics:infra"
        );

        let client = eks(&url).bounded(Bounds::new(
            CancellationToken::new(),
            Duration::from_millis(300),
        ));
        let start = Instant::now();
        let e = client
            .create_nodegroup(&NodegroupSpec {
                cluster: "analytics".into(),
                name: "infra".into(),
                ..NodegroupSpec::default()
            })
            .await
            .expect_err("out of time");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert!(matches!(&e, EksError::Timeout { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("waiting for EKS to answer CreateNodegroup of analytics:infra"),
            "{e}"
        );
        // The wait that would follow does not start.
        let e = client
            .wait_active("analytics", "infra")
            .await
            .expect_err("out of time");
        assert!(matches!(&e, EksError::Timeout { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn the_create_request_carries_its_token() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let url = {
            let seen = seen.clone();
            stub(Arc::new(move |line: &str| {
                if let Ok(mut s) = seen.lock() {
                    s.push(line.to_string());
                }
                Some((400, Some("InvalidParameterException"), "{}".into()))
            }))
            .await
        };
        let spec = NodegroupSpec {
            cluster: "analytics".into(),
            name: "infra".into(),
            ..NodegroupSpec::default()
        };
        let _ = eks(&url).create_nodegroup(&spec).await;
        let _ = eks(&url).create_nodegroup(&spec).await;
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        let token = format!("\"clientRequestToken\":\"{}\"", spec.request_token());
        assert_eq!(seen.len(), 2);
        for request in &seen {
            assert!(
                request.starts_with("POST /clusters/analytics/node-groups")
                    && request.contains(&token),
                "the same token in each request: {request}"
            );
        }
    }

    #[test]
    fn ca_data_is_base64_of_pem() {
        use base64::Engine as _;
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(decode_ca(&b64).as_deref(), Ok(pem));
        assert!(decode_ca("not base64!").is_err());
    }
}
