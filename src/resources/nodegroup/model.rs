//! Expand (Terraform values to EKS requests) and flatten (EKS objects to state).

use std::collections::BTreeMap;

use crate::clients::eks::{
    LaunchTemplate, MaxUnavailable, NodeRepair, Nodegroup, NodegroupSpec, RemoteAccess,
    RepairOverride, Scaling, Taint, UpdateConfig,
};
use crate::framework::{Field, FromValue, IfKnown, Partial, SetOf, ToValue};
use crate::resources::common::{PlacementModel, TaintModel as KubeTaintModel, TolerationModel};
use crate::value::{AttributePath, Value};

use super::plan::{ScalingPlan, TemplateRefs};
use super::purpose;

impl From<&TaintModel> for Taint {
    fn from(t: &TaintModel) -> Taint {
        Taint {
            key: t.key.clone(),
            value: t.value.clone(),
            effect: t.effect.clone(),
        }
    }
}

impl From<&Taint> for TaintModel {
    fn from(t: &Taint) -> TaintModel {
        TaintModel {
            key: t.key.clone(),
            value: t.value.clone(),
            effect: t.effect.clone(),
        }
    }
}

fn taint_models(ts: &[Taint]) -> Vec<TaintModel> {
    ts.iter().map(TaintModel::from).collect()
}

/// What a group's nodes offer pods (`placement`): the node selector and tolerations that land
/// a pod on them and nowhere else, their labels, their taints in Kubernetes form and their
/// capacity type.
pub fn placement_model(
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
    capacity_type: Option<&String>,
    local_storage: bool,
) -> PlacementModel {
    let (selector, tolerations) = purpose::placement(labels, taints);
    PlacementModel {
        node_selector: Some(selector),
        tolerations: Some(
            tolerations
                .into_iter()
                .map(|t| TolerationModel {
                    key: Some(t.key),
                    operator: Some(t.operator.to_string()),
                    value: t.value,
                    effect: Some(t.effect.to_string()),
                })
                .collect(),
        ),
        labels: Some(labels.clone()),
        taints: Some(
            taints
                .iter()
                .map(|t| KubeTaintModel {
                    key: Some(t.key.clone()),
                    value: t.value.clone(),
                    effect: Some(purpose::kubernetes_effect(&t.effect).to_string()),
                })
                .collect(),
        ),
        capacity_type: capacity_type.cloned(),
        local_storage: Some(local_storage),
    }
}

crate::model! {
    /// The intent recorded in a plan or state, as create and update send it to EKS. Values not
    /// known yet (computed ones) are `None` and left to EKS.
    pub struct GroupModel {
        pub cluster_name: IfKnown<String>,
        pub node_role_arn: IfKnown<String>,
        pub subnet_ids: IfKnown<Vec<String>>,
        pub scaling_config: IfKnown<ScalingModel>,
        pub instance_types: IfKnown<Vec<String>>,
        pub capacity_type: IfKnown<String>,
        pub disk_size: IfKnown<i64>,
        pub ami_type: IfKnown<String>,
        pub release_version: IfKnown<String>,
        pub version: IfKnown<String>,
        pub effective_labels: IfKnown<BTreeMap<String, String>>,
        pub effective_taints: IfKnown<Vec<TaintModel>>,
        pub update_config: IfKnown<UpdateConfigModel>,
        pub launch_template: IfKnown<LaunchTemplateModel>,
        pub tags_all: IfKnown<BTreeMap<String, String>>,
        pub force_update_version: IfKnown<bool>,
        pub node_repair_config: IfKnown<NodeRepairModel>,
        pub remote_access: IfKnown<RemoteAccessModel>,
    }
}

crate::model! {
    /// A `node_repair_config` block.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct NodeRepairModel {
        pub enabled: bool,
        pub max_unhealthy_node_threshold_count: Option<i64>,
        pub max_unhealthy_node_threshold_percentage: Option<i64>,
        pub max_parallel_nodes_repaired_count: Option<i64>,
        pub max_parallel_nodes_repaired_percentage: Option<i64>,
        pub node_repair_config_overrides: Vec<RepairOverrideModel>,
    }
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RepairOverrideModel {
        pub node_monitoring_condition: String,
        pub node_unhealthy_reason: String,
        pub min_repair_wait_time_mins: i64,
        pub repair_action: String,
    }
}

crate::model! {
    /// A `remote_access` block.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RemoteAccessModel {
        pub ec2_ssh_key: Option<String>,
        pub source_security_group_ids: Option<SetOf<String>>,
    }
}

/// Narrows a count from the schema's validated range to EKS's integer.
fn int(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&NodeRepairModel> for NodeRepair {
    fn from(m: &NodeRepairModel) -> NodeRepair {
        NodeRepair {
            enabled: m.enabled,
            max_unhealthy_count: m.max_unhealthy_node_threshold_count.map(int),
            max_unhealthy_percentage: m.max_unhealthy_node_threshold_percentage.map(int),
            max_parallel_count: m.max_parallel_nodes_repaired_count.map(int),
            max_parallel_percentage: m.max_parallel_nodes_repaired_percentage.map(int),
            overrides: m
                .node_repair_config_overrides
                .iter()
                .map(|o| RepairOverride {
                    condition: o.node_monitoring_condition.clone(),
                    reason: o.node_unhealthy_reason.clone(),
                    min_wait_mins: Some(int(o.min_repair_wait_time_mins)),
                    action: o.repair_action.clone(),
                })
                .collect(),
        }
    }
}

impl From<&NodeRepair> for NodeRepairModel {
    fn from(r: &NodeRepair) -> NodeRepairModel {
        NodeRepairModel {
            enabled: r.enabled,
            max_unhealthy_node_threshold_count: r.max_unhealthy_count.map(i64::from),
            max_unhealthy_node_threshold_percentage: r.max_unhealthy_percentage.map(i64::from),
            max_parallel_nodes_repaired_count: r.max_parallel_count.map(i64::from),
            max_parallel_nodes_repaired_percentage: r.max_parallel_percentage.map(i64::from),
            node_repair_config_overrides: r
                .overrides
                .iter()
                .map(|o| RepairOverrideModel {
                    node_monitoring_condition: o.condition.clone(),
                    node_unhealthy_reason: o.reason.clone(),
                    min_repair_wait_time_mins: i64::from(o.min_wait_mins.unwrap_or(0)),
                    repair_action: o.action.clone(),
                })
                .collect(),
        }
    }
}

impl From<&RemoteAccessModel> for RemoteAccess {
    fn from(m: &RemoteAccessModel) -> RemoteAccess {
        RemoteAccess {
            ec2_ssh_key: m.ec2_ssh_key.clone(),
            source_security_groups: m
                .source_security_group_ids
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_default(),
        }
    }
}

impl From<&RemoteAccess> for RemoteAccessModel {
    fn from(r: &RemoteAccess) -> RemoteAccessModel {
        RemoteAccessModel {
            ec2_ssh_key: r.ec2_ssh_key.clone(),
            source_security_group_ids: if r.source_security_groups.is_empty() {
                None
            } else {
                Some(SetOf(r.source_security_groups.clone()))
            },
        }
    }
}

crate::model! {
    /// The tags the cluster autoscaler reads, as planned: unknown while the root volume's size
    /// is.
    pub struct AutoscalerTags {
        pub autoscaler_tags: Field<BTreeMap<String, String>>,
    }
}

crate::model! {
    /// What generated configuration leaves out when it is what the purpose implies or what
    /// EKS and the autoscaler decide.
    pub struct Generated {
        pub instance_types: Field<Vec<String>>,
        pub capacity_type: Field<String>,
        pub release_version: Field<String>,
        pub scaling_config: Field<ScalingPlan>,
        pub launch_template: Field<Partial<TemplateRefs>>,
    }
}

crate::model! {
    /// How a group is named and found.
    pub struct Identity {
        pub cluster_name: IfKnown<String>,
        pub name: IfKnown<String>,
        pub name_prefix: IfKnown<String>,
        pub purpose: IfKnown<String>,
    }
}

impl Identity {
    pub fn of(v: &Value) -> Identity {
        Identity::from_value(v, &AttributePath::root()).unwrap_or(Identity {
            cluster_name: IfKnown(None),
            name: IfKnown(None),
            name_prefix: IfKnown(None),
            purpose: IfKnown(None),
        })
    }

    /// `cluster_name` and `name`, when both are known.
    pub fn address(&self) -> Option<(String, String)> {
        Some((self.cluster_name.0.clone()?, self.name.0.clone()?))
    }
}

crate::model! {
    pub struct ScalingModel {
        pub min_size: IfKnown<i64>,
        pub max_size: IfKnown<i64>,
        pub desired_size: IfKnown<i64>,
    }
}

crate::model! {
    /// A `taint` block, or an element of `effective_taints` (EKS's form).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct TaintModel {
        pub key: String,
        pub value: Option<String>,
        pub effect: String,
    }
}

crate::model! {
    pub struct UpdateConfigModel {
        pub max_unavailable: IfKnown<i64>,
        pub max_unavailable_percentage: IfKnown<i64>,
        pub update_strategy: IfKnown<String>,
    }
}

crate::model! {
    pub struct LaunchTemplateModel {
        pub id: IfKnown<String>,
        pub name: IfKnown<String>,
        pub version: IfKnown<String>,
    }
}

impl GroupModel {
    /// `None` when `v` is not a node group's plan or state.
    pub fn of(v: &Value) -> Option<GroupModel> {
        GroupModel::from_value(v, &AttributePath::root()).ok()
    }

    /// The sizes; the desired size starts at the minimum.
    pub fn scaling(&self) -> Option<Scaling> {
        let s = self.scaling_config.0.as_ref()?;
        let min = int(s.min_size.0?);
        let max = int(s.max_size.0?);
        let desired = s.desired_size.0.map_or(min, int);
        Some(Scaling { min, max, desired })
    }

    pub fn update_config(&self) -> Option<UpdateConfig> {
        let u = self.update_config.0.as_ref()?;
        let max = u
            .max_unavailable
            .0
            .map(|n| MaxUnavailable::Count(int(n)))
            .or_else(|| {
                u.max_unavailable_percentage
                    .0
                    .map(|n| MaxUnavailable::Percentage(int(n)))
            })?;
        Some(UpdateConfig {
            max_unavailable: max,
            strategy: u.update_strategy.0.clone(),
        })
    }

    pub fn node_repair(&self) -> Option<NodeRepair> {
        self.node_repair_config.0.as_ref().map(NodeRepair::from)
    }

    pub fn remote_access(&self) -> Option<RemoteAccess> {
        self.remote_access.0.as_ref().map(RemoteAccess::from)
    }

    /// The template by one reference, as EKS takes it: the id when known (both name the same
    /// template), else the name.
    pub fn launch_template(&self) -> Option<LaunchTemplate> {
        let l = self.launch_template.0.as_ref()?;
        Some(LaunchTemplate {
            id: l.id.0.clone(),
            name: l.name.0.clone().filter(|_| l.id.0.is_none()),
            version: l.version.0.clone(),
        })
    }

    pub fn taints(&self) -> Vec<Taint> {
        self.effective_taints
            .0
            .iter()
            .flatten()
            .map(Taint::from)
            .collect()
    }

    /// The create request for a group named `name`.
    pub fn spec(self, name: &str) -> NodegroupSpec {
        NodegroupSpec {
            name: name.to_string(),
            scaling: self.scaling(),
            update_config: self.update_config(),
            node_repair: self.node_repair(),
            remote_access: self.remote_access(),
            launch_template: self.launch_template(),
            taints: self.taints(),
            cluster: self.cluster_name.0.unwrap_or_default(),
            node_role_arn: self.node_role_arn.0.unwrap_or_default(),
            subnet_ids: self.subnet_ids.0.unwrap_or_default(),
            instance_types: self.instance_types.0.unwrap_or_default(),
            capacity_type: self.capacity_type.0,
            disk_size: self.disk_size.0.map(int),
            ami_type: self.ami_type.0,
            release_version: self.release_version.0,
            version: self.version.0,
            labels: self.effective_labels.0.unwrap_or_default(),
            tags: self.tags_all.0.unwrap_or_default(),
        }
    }
}

/// The create request from a fully planned value (unknowns are left to EKS).
pub fn spec(planned: &Value, name: &str) -> NodegroupSpec {
    GroupModel::of(planned)
        .map(|g| g.spec(name))
        .unwrap_or_else(|| NodegroupSpec {
            name: name.to_string(),
            ..NodegroupSpec::default()
        })
}

crate::model! {
    /// What a prior state or plan says of intent rather than of the live group.
    struct Intent {
        purpose: Value,
        name_prefix: Value,
        labels: Value,
        taint: Value,
        tags: Value,
        force_update_version: Value,
        timeouts: Value,
        scaling_config: IfKnown<ScalingModel>,
        update_config: Value,
        node_repair_config: Value,
        local_storage_gib: Value,
        managed_launch_template: IfKnown<ManagedTemplateModel>,
    }
}

crate::model! {
    /// `managed_launch_template`: the launch template a group with `local_storage` owns.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ManagedTemplateModel {
        pub id: Option<String>,
        pub name: Option<String>,
        pub version: Option<i64>,
    }
}

crate::model! {
    /// Every attribute of the schema, as state.
    struct NodegroupState {
        id: String,
        cluster_name: String,
        name: String,
        name_prefix: Value,
        purpose: Value,
        node_role_arn: String,
        subnet_ids: SetOf<String>,
        instance_types: Vec<String>,
        capacity_type: Option<String>,
        disk_size: Option<i64>,
        ami_type: Option<String>,
        version: Option<String>,
        release_version: Option<String>,
        force_update_version: Value,
        labels: Value,
        tags: Value,
        tags_all: BTreeMap<String, String>,
        arn: String,
        status: String,
        autoscaling_group_names: Vec<String>,
        current_desired_size: Option<i64>,
        effective_labels: BTreeMap<String, String>,
        effective_taints: Vec<TaintModel>,
        autoscaler_tags: BTreeMap<String, String>,
        placement: PlacementModel,
        scaling_config: Option<ScalingModel>,
        taint: Value,
        update_config: Option<UpdateConfigModel>,
        launch_template: Option<LaunchTemplateModel>,
        node_repair_config: Option<NodeRepairModel>,
        remote_access: Option<RemoteAccessModel>,
        timeouts: Value,
        local_storage: bool,
        local_storage_gib: Value,
        managed_launch_template: Option<ManagedTemplateModel>,
    }
}

impl Intent {
    /// No prior (import).
    fn none() -> Intent {
        Intent {
            purpose: Value::Null,
            name_prefix: Value::Null,
            labels: Value::Null,
            taint: Value::Null,
            tags: Value::Null,
            force_update_version: Value::Null,
            timeouts: Value::Null,
            scaling_config: IfKnown(None),
            update_config: Value::Null,
            node_repair_config: Value::Null,
            local_storage_gib: Value::Null,
            managed_launch_template: IfKnown(None),
        }
    }
}

fn scaling_block(live: Option<Scaling>, prior: &Intent) -> Option<ScalingModel> {
    let s = live?;
    // The autoscaler owns the live desired size: keep what was asked for.
    let desired = prior
        .scaling_config
        .0
        .as_ref()
        .and_then(|p| p.desired_size.0)
        .unwrap_or(i64::from(s.desired));
    Some(ScalingModel {
        min_size: IfKnown(Some(i64::from(s.min))),
        max_size: IfKnown(Some(i64::from(s.max))),
        desired_size: IfKnown(Some(desired)),
    })
}

fn update_config_block(u: Option<UpdateConfig>) -> Option<UpdateConfigModel> {
    let u = u?;
    let (count, percentage) = match u.max_unavailable {
        MaxUnavailable::Count(n) => (Some(i64::from(n)), None),
        MaxUnavailable::Percentage(n) => (None, Some(i64::from(n))),
    };
    Some(UpdateConfigModel {
        max_unavailable: IfKnown(count),
        max_unavailable_percentage: IfKnown(percentage),
        update_strategy: IfKnown(u.strategy),
    })
}

/// Both references EKS reports: the one the configuration leaves out is computed.
fn launch_template_block(l: &Option<LaunchTemplate>) -> Option<LaunchTemplateModel> {
    let l = l.as_ref()?;
    Some(LaunchTemplateModel {
        id: IfKnown(l.id.clone()),
        name: IfKnown(l.name.clone()),
        version: IfKnown(l.version.clone()),
    })
}

/// The state of a live node group. Fields that describe intent rather than the live object
/// (purpose, user labels and taints, tags, desired size, timeouts) come from `prior`; when
/// `prior` has none (import) they are derived from the live object.
pub fn state(
    ng: &Nodegroup,
    prior: &Value,
    asg_tags: &BTreeMap<String, String>,
    default_tags: &BTreeMap<String, String>,
) -> Value {
    let prior =
        Intent::from_value(prior, &AttributePath::root()).unwrap_or_else(|_| Intent::none());
    let importing = prior.purpose.is_null();
    let (purpose_v, labels_v, taint_v, tags_v) = if importing {
        let (p, labels, user_taints) = purpose::split_live(&ng.labels, &ng.taints);
        let user_tags: BTreeMap<String, String> = super::ownership::visible_tags(&ng.tags)
            .iter()
            .filter(|(k, v)| default_tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (
            Value::string(p),
            if labels.is_empty() {
                Value::Null
            } else {
                labels.to_value()
            },
            taint_models(&user_taints).to_value(),
            if user_tags.is_empty() {
                Value::Null
            } else {
                user_tags.to_value()
            },
        )
    } else {
        let taint = if prior.taint.is_null() {
            Value::list(vec![])
        } else {
            prior.taint.clone()
        };
        (
            prior.purpose.clone(),
            prior.labels.clone(),
            taint,
            prior.tags.clone(),
        )
    };
    // EKS reports its default (max_unavailable 1) when none was configured: only a
    // configured block, or an imported non-default one, is tracked.
    let eks_default = |u: &UpdateConfig| {
        u.max_unavailable == MaxUnavailable::Count(1)
            && u.strategy.as_deref().is_none_or(|s| s == "DEFAULT")
    };
    let tracks_update_config = !prior.update_config.is_null()
        || (importing && !ng.update_config.as_ref().is_none_or(eks_default));
    // Likewise repair: EKS may report it off when it was never configured.
    let tracks_node_repair = !prior.node_repair_config.is_null()
        || (importing
            && ng
                .node_repair
                .as_ref()
                .is_some_and(|r| *r != NodeRepair::default()));
    // The group's own template (local storage) is not the user's `launch_template`.
    let managed = prior.managed_launch_template.0.clone().filter(|m| {
        m.id.is_some()
            && ng
                .launch_template
                .as_ref()
                .is_some_and(|l| l.id.is_some() && l.id == m.id)
    });
    // On import, the group's own template is known by its name, and the store's size by the
    // autoscaler tag the group's create wrote.
    let imported_managed = importing
        .then_some(ng.launch_template.as_ref())
        .flatten()
        .filter(|l| {
            l.name.as_deref()
                == Some(super::local_storage::template_name(&ng.cluster, &ng.name).as_str())
        })
        .map(|l| ManagedTemplateModel {
            id: l.id.clone(),
            name: l.name.clone(),
            version: None,
        });
    let imported_gib = imported_managed.as_ref().and_then(|_| {
        asg_tags
            .get(&format!(
                "{}node-template/resources/ephemeral-storage",
                purpose::AUTOSCALER_PREFIX
            ))
            .and_then(|v| v.strip_suffix("Gi"))
            .and_then(|v| v.parse::<i64>().ok())
    });
    let managed = managed.or(imported_managed);
    let managed = managed.map(|m| ManagedTemplateModel {
        version: ng
            .launch_template
            .as_ref()
            .and_then(|l| l.version.as_deref())
            .and_then(|v| v.parse().ok())
            .or(m.version),
        ..m
    });
    let local_storage = managed.is_some();
    NodegroupState {
        id: format!("{}:{}", ng.cluster, ng.name),
        cluster_name: ng.cluster.clone(),
        name: ng.name.clone(),
        name_prefix: prior.name_prefix.clone(),
        purpose: purpose_v,
        node_role_arn: ng.node_role_arn.clone(),
        subnet_ids: SetOf(ng.subnet_ids.clone()),
        instance_types: ng.instance_types.clone(),
        capacity_type: ng.capacity_type.clone(),
        disk_size: ng.disk_size.map(i64::from),
        ami_type: ng.ami_type.clone(),
        version: ng.version.clone(),
        release_version: ng.release_version.clone(),
        force_update_version: prior.force_update_version.clone(),
        labels: labels_v,
        tags: tags_v,
        tags_all: super::ownership::visible_tags(&ng.tags),
        arn: ng.arn.clone(),
        status: ng.status.clone(),
        autoscaling_group_names: ng.autoscaling_groups.clone(),
        current_desired_size: ng.scaling.map(|s| i64::from(s.desired)),
        effective_labels: ng.labels.clone(),
        effective_taints: taint_models(&ng.taints),
        autoscaler_tags: asg_tags.clone(),
        placement: placement_model(
            &ng.labels,
            &ng.taints,
            ng.capacity_type.as_ref(),
            local_storage,
        ),
        scaling_config: scaling_block(ng.scaling, &prior),
        taint: taint_v,
        update_config: if tracks_update_config {
            update_config_block(ng.update_config.clone())
        } else {
            None
        },
        launch_template: if local_storage {
            None
        } else {
            launch_template_block(&ng.launch_template)
        },
        node_repair_config: ng
            .node_repair
            .as_ref()
            .filter(|_| tracks_node_repair)
            .map(NodeRepairModel::from),
        remote_access: ng.remote_access.as_ref().map(RemoteAccessModel::from),
        timeouts: prior.timeouts.clone(),
        local_storage,
        local_storage_gib: if local_storage {
            imported_gib.map_or_else(|| prior.local_storage_gib.clone(), |g| g.to_value())
        } else {
            Value::Null
        },
        managed_launch_template: managed,
    }
    .to_value()
}

/// Replaces every unknown inside `v` with null: the state after a failed create must be
/// fully known.
pub fn without_unknowns(v: Value) -> Value {
    v.transform(&mut |_, x| if x.is_unknown() { Value::Null } else { x })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_has_every_attribute_and_block_of_the_schema() {
        let out = state(
            &Nodegroup::default(),
            &Value::Null,
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        let written: Vec<&String> = out.as_map().map(|m| m.keys().collect()).unwrap_or_default();
        let block = super::super::schema::schema().block;
        let mut declared: Vec<&String> = block
            .attributes
            .iter()
            .map(|a| &a.name)
            .chain(block.blocks.iter().map(|b| &b.type_name))
            .collect();
        declared.sort();
        assert_eq!(written, declared);
    }
}
