//! Local storage: the user data that turns a node's instance-store NVMe disks into the
//! storage its pods write to, and which instance types have such disks.
//!
//! Design: the disks are striped into one array that backs the kubelet's root (and
//! containerd's), so `emptyDir` volumes and image layers land on NVMe. Spark's local dirs then
//! need no host path: an `emptyDir` per local dir is on the NVMe, is counted against the pod's
//! ephemeral storage by the kubelet, and is cleaned up with the pod (a `hostPath` would be
//! neither).
//!
//! - Amazon Linux 2023: `nodeadm` reads a `NodeConfig` (apiVersion `node.eks.aws/v1alpha1`)
//!   from a MIME multipart part of type `application/node.eks.aws`;
//!   `spec.instance.localStorage.strategy` is one of `RAID0`, `RAID10` (four disks or more) or
//!   `Mount` (each disk on its own), mounted under `mountPath` (default `/mnt/k8s-disks`), and
//!   `/var/lib/kubelet`, `/var/lib/containerd` and `/var/log/pods` are bind-mounted onto the
//!   array unless listed in `disabledMounts`. Source: awslabs/amazon-eks-ami,
//!   `nodeadm/api/v1alpha1/nodeconfig_types.go`, and the nodeadm documentation
//!   (<https://awslabs.github.io/amazon-eks-ami/nodeadm/>). EKS managed node groups take user
//!   data in a launch template only as MIME multipart and merge their own `NodeConfig` (the
//!   cluster's details) with ours
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html>).
//! - Bottlerocket: user data is TOML settings; a bootstrap command runs
//!   `apiclient ephemeral-storage init` (a RAID0 array of the instance-store disks) and
//!   `apiclient ephemeral-storage bind --dirs ...` (the kubelet's and containerd's roots onto
//!   it) before the kubelet starts. Source: Bottlerocket settings reference,
//!   `settings.bootstrap-commands`, and `apiclient ephemeral-storage`
//!   (<https://bottlerocket.dev/en/os/latest/api/settings/bootstrap-commands/>).
//!
//! The `NodeConfig` is written as JSON, which nodeadm's YAML reader accepts (JSON is YAML).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clients::ec2::{smallest_instance_store_gib, Ec2, Ec2Error, TemplateData};
use crate::clients::eks::{Eks, LaunchTemplate, Nodegroup, NodegroupSpec, VersionChange};
use crate::framework::{Diagnostic, Diagnostics, Field, ToValue};
use crate::value::Value;

use super::model::{GroupModel, ManagedTemplateModel};
use super::LocalStorageFacts;

/// The tag that marks a launch template as a node group's own: `cluster:group`. Only a
/// template carrying its group's mark is deleted with the group.
pub const OWNER_TAG: &str = "terraform-provider-dataplatform:nodegroup";

/// The MIME boundary of our user data (fixed, so the same configuration renders the same
/// bytes and a plan shows no change).
const BOUNDARY: &str = "//dataplatform-local-storage//";

/// Where nodeadm mounts the array (its default; the kubelet's root is bind-mounted onto it).
pub const NODEADM_MOUNT_PATH: &str = "/mnt/k8s-disks";

/// The directories moved onto the instance store.
const BOUND_DIRS: [&str; 3] = ["/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"];

/// How a node's operating system is told to prepare its disks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeOs {
    /// Amazon Linux 2023: `nodeadm`.
    Al2023,
    /// Bottlerocket: TOML settings and `apiclient`.
    Bottlerocket,
}

impl NodeOs {
    /// The operating system of an EKS AMI type; `None` for those whose user data we do not
    /// write (AL2, Windows, custom AMIs).
    pub fn of_ami_type(ami_type: &str) -> Option<NodeOs> {
        if ami_type.starts_with("AL2023_") {
            Some(NodeOs::Al2023)
        } else if ami_type.starts_with("BOTTLEROCKET_") {
            Some(NodeOs::Bottlerocket)
        } else {
            None
        }
    }
}

/// The `NodeConfig` that stripes the instance-store disks (RAID0) under the kubelet's root.
pub fn node_config() -> serde_json::Value {
    json!({
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {
            "instance": {
                "localStorage": {
                    "strategy": "RAID0",
                    "mountPath": NODEADM_MOUNT_PATH,
                }
            }
        }
    })
}

/// The user data for `os`, as the node reads it.
pub fn user_data(os: NodeOs) -> String {
    match os {
        NodeOs::Al2023 => format!(
            "MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\
             \r\n\
             --{BOUNDARY}\r\n\
             Content-Type: application/node.eks.aws\r\n\
             \r\n\
             {}\r\n\
             --{BOUNDARY}--\r\n",
            node_config()
        ),
        NodeOs::Bottlerocket => {
            let dirs = BOUND_DIRS
                .iter()
                .map(|d| format!("\"{d}\""))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "[settings.bootstrap-commands.dataplatform-local-storage]\n\
                 commands = [[\"apiclient\", \"ephemeral-storage\", \"init\"], \
                 [\"apiclient\", \"ephemeral-storage\", \"bind\", \"--dirs\", {dirs}]]\n\
                 essential = true\n\
                 mode = \"always\"\n"
            )
        }
    }
}

/// [`user_data`] as EC2 takes it (base64).
pub fn user_data_base64(os: NodeOs) -> String {
    base64::engine::general_purpose::STANDARD.encode(user_data(os))
}

/// Whether an instance type has instance-store disks, by EC2's naming: a `d` among the
/// family's attribute letters (`r5d`, `r5dn`, `m6id`, `c7gd`, `g4dn`), and the storage
/// families (`i3`, `i4i`, `im4gn`, `is4gen`, `d3`, `h1`, `x1`). Used for the plan-time default
/// only; the size comes from DescribeInstanceTypes.
pub fn has_instance_store(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    let Some(digit) = family.find(|c: char| c.is_ascii_digit()) else {
        return false;
    };
    let (series, rest) = family.split_at(digit);
    let generation_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (generation, attributes) = rest.split_at(generation_end);
    matches!(series, "i" | "im" | "is" | "d" | "h")
        || (series == "x" && generation == "1")
        || attributes.contains('d')
}

/// Local storage when the configuration leaves it out: on for Spark executors whose every
/// instance type has instance-store disks (shuffle and spill go there), off otherwise.
pub fn default_on(purpose: &str, instance_types: &[String]) -> bool {
    purpose == "spark-executor"
        && !instance_types.is_empty()
        && instance_types.iter().all(|t| has_instance_store(t))
}

/// The name of a group's own launch template (unique per region as group names are per
/// cluster; EC2 allows 128 characters of `[a-zA-Z0-9().-/_]`, EKS names are 63 of
/// `[a-zA-Z0-9-_]`).
pub fn template_name(cluster: &str, group: &str) -> String {
    format!("eks-{cluster}-{group}-local-storage")
}

/// The request token of the template's create: the same planned group retried gets the same
/// template (EC2 allows 64 characters).
fn create_token(mark: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{mark}\n{name}"));
    hex::encode(digest)
}

fn ec2_diag(summary: &str, e: &Ec2Error) -> Diagnostic {
    Diagnostic::error(summary, e.to_string())
}

/// The group's own launch template, made.
pub struct Prepared {
    pub id: String,
    pub version: i64,
}

impl Prepared {
    /// The reference EKS takes.
    pub fn reference(&self) -> LaunchTemplate {
        LaunchTemplate {
            id: Some(self.id.clone()),
            name: None,
            version: Some(self.version.to_string()),
        }
    }
}

/// The instance-store size of the group's instance types, or a diagnostic naming the types
/// that have none.
async fn store_gib(ec2: &Ec2, types: &[String]) -> Result<i64, Diagnostic> {
    let storage = ec2
        .instance_storage(types)
        .await
        .map_err(|e| ec2_diag("Cannot read the instance types' local storage", &e))?;
    let without: Vec<&str> = types
        .iter()
        .filter(|t| {
            !storage
                .iter()
                .any(|s| &s.instance_type == *t && s.total_gb > 0)
        })
        .map(String::as_str)
        .collect();
    if !without.is_empty() {
        return Err(Diagnostic::error(
            "Instance types without instance store",
            format!(
                "local_storage needs instance-store disks, and {} has none (or EC2 does not know it): choose \
                 instance types with instance store (r5d, m6id, i4i, ...) or set local_storage = false.",
                without.join(", ")
            ),
        ));
    }
    smallest_instance_store_gib(&storage).ok_or_else(|| {
        Diagnostic::error(
            "Instance types without instance store",
            "EC2 reports no instance-store size for the group's instance types.",
        )
    })
}

/// Creates the group's own launch template before the group: its user data prepares the
/// disks for the group's AMI type (Amazon Linux 2023 when EKS picks).
///
/// # Errors
/// A diagnostic when the AMI type has no local-storage setup, an instance type has no
/// instance store, or EC2 refuses.
pub async fn prepare(ec2: &Ec2, spec: &NodegroupSpec, mark: &str) -> Result<Prepared, Diagnostic> {
    let os = node_os(spec.ami_type.as_deref())?;
    store_gib(ec2, &spec.instance_types).await?;
    let name = template_name(&spec.cluster, &spec.name);
    let mut tags: BTreeMap<String, String> = spec.tags.clone();
    tags.insert(
        OWNER_TAG.to_string(),
        format!("{}:{}", spec.cluster, spec.name),
    );
    let data = template_data(os, &spec.tags);
    tracing::info!(cluster = %spec.cluster, nodegroup = %spec.name, template = %name,
        "creating the node group's launch template (local storage)");
    let t = ec2
        .create_launch_template(&name, &data, &tags, &create_token(mark, &name))
        .await
        .map_err(|e| ec2_diag("Cannot create the node group's launch template", &e))?;
    Ok(Prepared {
        id: t.id,
        version: t.latest_version,
    })
}

/// The OS of a group's nodes, for its AMI type (Amazon Linux 2023 when EKS picks).
fn node_os(ami_type: Option<&str>) -> Result<NodeOs, Diagnostic> {
    match ami_type {
        None => Ok(NodeOs::Al2023),
        Some(ami) => NodeOs::of_ami_type(ami).ok_or_else(|| {
            Diagnostic::error(
                "Local storage not available for this AMI type",
                format!("local_storage prepares the disks on AL2023 and Bottlerocket AMI types; ami_type is {ami}."),
            )
        }),
    }
}

/// The tags the group's instances and their volumes are launched with: the group's tags
/// (EKS does not pass a managed node group's tags on to its instances; a launch template's
/// tag specifications do), without the provider's own bookkeeping tags.
pub fn instance_tags(group_tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    super::ownership::visible_tags(group_tags)
        .into_iter()
        .filter(|(k, _)| k != OWNER_TAG)
        .collect()
}

/// What the group's template carries for these nodes and tags.
pub fn template_data(os: NodeOs, group_tags: &BTreeMap<String, String>) -> TemplateData {
    TemplateData {
        user_data_base64: user_data_base64(os),
        instance_tags: instance_tags(group_tags),
    }
}

/// Whether the group's own template needs a new version between `prior` and `planned` tags
/// (unknown planned tags count as a change).
pub fn needs_new_version(
    prior_tags: Option<&BTreeMap<String, String>>,
    planned_tags: Option<&BTreeMap<String, String>>,
) -> bool {
    match (prior_tags, planned_tags) {
        (Some(p), Some(n)) => instance_tags(p) != instance_tags(n),
        _ => true,
    }
}

/// Updates the group's own template in place: a new version carrying what the plan asks
/// for, then the group rolled onto it (UpdateNodegroupVersion, waited for). Nothing happens
/// when the instance tags are unchanged or the group has no template of its own.
///
/// # Errors
/// A diagnostic naming the template when EC2 or EKS refuses; the group then still runs the
/// version it ran, and the next apply tries again.
pub async fn roll(
    (ec2, eks): (&Ec2, &Eks),
    (cluster, group): (&str, &str),
    facts: &LocalStorageFacts,
    was: &GroupModel,
    will: &GroupModel,
) -> Result<(), Diagnostic> {
    let Field::Known(ManagedTemplateModel {
        id: Some(id),
        version: running,
        ..
    }) = &facts.managed_launch_template
    else {
        return Ok(());
    };
    let Some(tags) = will.tags_all.0.as_ref() else {
        return Ok(());
    };
    if !needs_new_version(was.tags_all.0.as_ref(), Some(tags)) {
        return Ok(());
    }
    // The nodes keep the setup they run: the running version's user data, else the one for
    // the configured AMI type (EKS reports its own default type, not the one the template's
    // user data was written for).
    let running_data = match running {
        Some(v) => ec2
            .version_user_data(id, *v)
            .await
            .map_err(|e| ec2_diag("Cannot read the node group's launch template", &e))?,
        None => None,
    };
    let user_data_base64 = match running_data {
        Some(d) => d,
        None => user_data_base64(node_os(will.ami_type.0.as_deref())?),
    };
    let data = TemplateData {
        user_data_base64,
        instance_tags: instance_tags(tags),
    };
    let force = will.force_update_version.0.unwrap_or(false);
    tracing::info!(cluster = %cluster, nodegroup = %group, template = %id,
        "new launch template version for the node group's instance tags");
    let version = ec2.create_version(id, &data).await.map_err(|e| {
        ec2_diag(
            "Cannot add a version to the node group's launch template",
            &e,
        )
    })?;
    let change = VersionChange {
        version: None,
        release_version: None,
        launch_template: Some(LaunchTemplate {
            id: Some(id.clone()),
            name: None,
            version: Some(version.to_string()),
        }),
        force,
    };
    eks.update_version(cluster, group, &change).await.map_err(|e| {
        Diagnostic::error(
            "Cannot roll the node group onto its new launch template version",
            format!(
                "Launch template {id} has version {version}, but the node group still runs the previous one: {e}. \
                 The next apply tries again."
            ),
        )
    })
}

fn with_attrs(v: Value, attrs: Vec<(&str, Value)>) -> Value {
    let mut m = v.as_map().cloned().unwrap_or_default();
    for (k, x) in attrs {
        m.insert(k.to_string(), x);
    }
    Value::object(m)
}

/// `planned` with the group's own template (as the created group runs it) and the store's
/// size, for the state.
///
/// # Errors
/// With the plan as far as it is known, when the size cannot be read.
pub async fn recorded(
    ec2: &Ec2,
    created: &Nodegroup,
    spec: &NodegroupSpec,
    planned: Value,
) -> Result<Value, (Value, Diagnostic)> {
    let live = created.launch_template.clone().unwrap_or(LaunchTemplate {
        id: None,
        name: None,
        version: None,
    });
    let managed = ManagedTemplateModel {
        id: live.id,
        name: Some(template_name(&created.cluster, &created.name)),
        version: live.version.and_then(|v| v.parse().ok()),
    };
    let planned = with_attrs(
        planned,
        vec![("managed_launch_template", managed.to_value())],
    );
    match store_gib(ec2, &spec.instance_types).await {
        Ok(gib) => Ok(with_attrs(
            planned,
            vec![("local_storage_gib", gib.to_value())],
        )),
        Err(d) => Err((planned, d)),
    }
}

/// Deletes the group's own launch template once the group is gone: only one that carries
/// the group's mark, and one already gone is fine.
pub async fn delete_owned(
    ec2: &Ec2,
    facts: &LocalStorageFacts,
    cluster: &str,
    group: &str,
) -> Diagnostics {
    let Field::Known(ManagedTemplateModel { id: Some(id), .. }) = &facts.managed_launch_template
    else {
        return Diagnostics::new();
    };
    let template = match ec2.find_launch_template(id).await {
        Ok(Some(t)) => t,
        Ok(None) => return Diagnostics::new(),
        Err(e) => return ec2_diag("Cannot read the node group's launch template", &e).into(),
    };
    let mark = format!("{cluster}:{group}");
    if template.tags.get(OWNER_TAG) != Some(&mark) {
        return Diagnostic::warning(
            "Launch template left in place",
            format!(
                "Launch template {id} does not carry this node group's mark ({OWNER_TAG} = {mark}): it was \
                 not deleted."
            ),
        )
        .into();
    }
    tracing::info!(cluster = %cluster, nodegroup = %group, template = %id, "deleting the node group's launch template");
    match ec2.delete_launch_template(id).await {
        Ok(()) => Diagnostics::new(),
        Err(e) => ec2_diag("Cannot delete the node group's launch template", &e).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(os: NodeOs) -> String {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(user_data_base64(os))
            .expect("base64");
        String::from_utf8(bytes).expect("utf-8")
    }

    /// The parts of a MIME multipart document: (headers, body) each.
    fn parts(doc: &str) -> Vec<(String, String)> {
        let (head, body) = doc.split_once("\r\n\r\n").expect("head");
        let boundary = head
            .split("boundary=\"")
            .nth(1)
            .and_then(|b| b.split('"').next())
            .expect("boundary");
        assert!(head.contains("MIME-Version: 1.0"));
        assert!(head.contains("Content-Type: multipart/mixed"));
        let close = format!("--{boundary}--");
        assert!(body.contains(&close), "closing boundary");
        body.split(&format!("--{boundary}"))
            .filter(|p| !p.trim().is_empty() && p.trim() != "--")
            .map(|p| {
                let p = p.trim_start_matches("\r\n");
                let (h, b) = p.split_once("\r\n\r\n").expect("part head");
                (h.to_string(), b.trim_end().to_string())
            })
            .collect()
    }

    #[test]
    fn al2023_user_data_is_one_nodeadm_part_asking_for_raid0() {
        let doc = decode(NodeOs::Al2023);
        let parts = parts(&doc);
        assert_eq!(parts.len(), 1);
        let (headers, body) = &parts[0];
        assert_eq!(headers, "Content-Type: application/node.eks.aws");
        let config: serde_json::Value = serde_json::from_str(body).expect("NodeConfig");
        assert_eq!(config["apiVersion"], "node.eks.aws/v1alpha1");
        assert_eq!(config["kind"], "NodeConfig");
        let storage = &config["spec"]["instance"]["localStorage"];
        assert_eq!(storage["strategy"], "RAID0");
        assert_eq!(storage["mountPath"], "/mnt/k8s-disks");
        assert!(
            storage.get("disabledMounts").is_none(),
            "kubelet root moves onto the array"
        );
    }

    #[test]
    fn bottlerocket_user_data_initialises_and_binds_ephemeral_storage() {
        let doc = decode(NodeOs::Bottlerocket);
        let mut lines = doc.lines();
        assert_eq!(
            lines.next(),
            Some("[settings.bootstrap-commands.dataplatform-local-storage]")
        );
        let commands = lines
            .next()
            .and_then(|l| l.strip_prefix("commands = "))
            .expect("commands");
        // A TOML array of string arrays is also JSON.
        let commands: Vec<Vec<String>> = serde_json::from_str(commands).expect("commands");
        assert_eq!(commands[0], ["apiclient", "ephemeral-storage", "init"]);
        assert_eq!(
            commands[1],
            [
                "apiclient",
                "ephemeral-storage",
                "bind",
                "--dirs",
                "/var/lib/containerd",
                "/var/lib/kubelet",
                "/var/log/pods"
            ]
        );
        assert_eq!(lines.next(), Some("essential = true"));
        assert_eq!(lines.next(), Some("mode = \"always\""));
    }

    #[test]
    fn user_data_is_the_same_for_the_same_configuration() {
        assert_eq!(user_data(NodeOs::Al2023), user_data(NodeOs::Al2023));
    }

    #[test]
    fn ami_types_choose_the_user_data_format() {
        assert_eq!(
            NodeOs::of_ami_type("AL2023_x86_64_STANDARD"),
            Some(NodeOs::Al2023)
        );
        assert_eq!(
            NodeOs::of_ami_type("AL2023_ARM_64_STANDARD"),
            Some(NodeOs::Al2023)
        );
        assert_eq!(
            NodeOs::of_ami_type("BOTTLEROCKET_x86_64"),
            Some(NodeOs::Bottlerocket)
        );
        assert_eq!(NodeOs::of_ami_type("AL2_x86_64"), None);
        assert_eq!(NodeOs::of_ami_type("CUSTOM"), None);
    }

    #[test]
    fn instance_store_families_are_recognised() {
        for t in [
            "r5d.2xlarge",
            "r5dn.2xlarge",
            "m5ad.large",
            "m6id.xlarge",
            "c7gd.large",
            "g4dn.xlarge",
            "i3.large",
            "i4i.xlarge",
            "im4gn.large",
            "is4gen.medium",
            "d3.xlarge",
            "x1.16xlarge",
        ] {
            assert!(has_instance_store(t), "{t}");
        }
        for t in [
            "r5.2xlarge",
            "m6i.2xlarge",
            "t3.medium",
            "x2iezn.2xlarge",
            "c7g.large",
            "",
        ] {
            assert!(!has_instance_store(t), "{t}");
        }
    }

    #[test]
    fn on_by_default_only_for_executors_on_instance_store_types() {
        let nvme = vec!["r5d.2xlarge".to_string(), "r5dn.2xlarge".to_string()];
        let mixed = vec!["r5d.2xlarge".to_string(), "r5.2xlarge".to_string()];
        assert!(default_on("spark-executor", &nvme));
        assert!(!default_on("spark-executor", &mixed));
        assert!(!default_on("spark-driver", &nvme));
        assert!(!default_on("spark-executor", &[]));
    }
}
