//! Expand (Terraform values to EKS requests) and flatten (EKS objects to state).

use std::collections::BTreeMap;

use crate::clients::eks::{LaunchTemplate, Nodegroup, NodegroupSpec, Scaling, Taint, UpdateConfig};
use crate::framework::attr::{int_of, list_value, map_value};
use crate::framework::{FromValue, IfKnown, ObjectBuilder};
use crate::value::{AttributePath, Value};

use super::purpose::{self, Toleration};
use super::schema::schema;

/// Taints from `taint` blocks or `effective_taints`; `None` when unknown.
pub fn taints(v: &Value) -> Option<Vec<Taint>> {
    if v.is_null() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for t in v.as_list()? {
        let key = t.get_attr("key")?.as_str()?.to_string();
        let value_v = t.get_attr("value")?;
        if value_v.is_unknown() {
            return None;
        }
        let effect = t.get_attr("effect")?.as_str()?.to_string();
        out.push(Taint {
            key,
            value: value_v.as_str().map(str::to_string),
            effect,
        });
    }
    Some(out)
}

pub fn taints_value(ts: &[Taint]) -> Value {
    Value::list(
        ts.iter()
            .map(|t| {
                Value::object(vec![
                    ("key", Value::string(&t.key)),
                    ("value", t.value.as_ref().map_or(Value::Null, Value::string)),
                    ("effect", Value::string(&t.effect)),
                ])
            })
            .collect(),
    )
}

pub fn placement_value(
    selector: &BTreeMap<String, String>,
    tolerations: &[Toleration],
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
    capacity_type: Option<&str>,
) -> Value {
    Value::object(vec![
        ("node_selector", map_value(selector)),
        (
            "tolerations",
            Value::list(
                tolerations
                    .iter()
                    .map(|t| {
                        Value::object(vec![
                            ("key", Value::string(&t.key)),
                            ("operator", Value::string(t.operator)),
                            ("value", t.value.as_ref().map_or(Value::Null, Value::string)),
                            ("effect", Value::string(t.effect)),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("labels", map_value(labels)),
        (
            "taints",
            Value::list(
                taints
                    .iter()
                    .map(|t| {
                        Value::object(vec![
                            ("key", Value::string(&t.key)),
                            ("value", t.value.as_ref().map_or(Value::Null, Value::string)),
                            (
                                "effect",
                                Value::string(purpose::kubernetes_effect(&t.effect)),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "capacity_type",
            capacity_type.map_or(Value::Null, Value::string),
        ),
    ])
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
        let min = s.min_size.0? as i32;
        let max = s.max_size.0? as i32;
        let desired = s.desired_size.0.map_or(min, |d| d as i32);
        Some(Scaling { min, max, desired })
    }

    pub fn update_config(&self) -> Option<UpdateConfig> {
        let u = self.update_config.0.as_ref()?;
        u.max_unavailable
            .0
            .map(|n| UpdateConfig::MaxUnavailable(n as i32))
            .or_else(|| {
                u.max_unavailable_percentage
                    .0
                    .map(|n| UpdateConfig::MaxUnavailablePercentage(n as i32))
            })
    }

    pub fn launch_template(&self) -> Option<LaunchTemplate> {
        let l = self.launch_template.0.as_ref()?;
        Some(LaunchTemplate {
            id: l.id.0.clone(),
            name: l.name.0.clone(),
            version: l.version.0.clone(),
        })
    }

    pub fn taints(&self) -> Vec<Taint> {
        self.effective_taints
            .0
            .iter()
            .flatten()
            .map(|t| Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
            .collect()
    }

    /// The create request for a group named `name`.
    pub fn spec(self, name: &str) -> NodegroupSpec {
        NodegroupSpec {
            name: name.to_string(),
            scaling: self.scaling(),
            update_config: self.update_config(),
            launch_template: self.launch_template(),
            taints: self.taints(),
            cluster: self.cluster_name.0.unwrap_or_default(),
            node_role_arn: self.node_role_arn.0.unwrap_or_default(),
            subnet_ids: self.subnet_ids.0.unwrap_or_default(),
            instance_types: self.instance_types.0.unwrap_or_default(),
            capacity_type: self.capacity_type.0,
            disk_size: self.disk_size.0.map(|d| d as i32),
            ami_type: self.ami_type.0,
            release_version: self.release_version.0,
            version: self.version.0,
            labels: self.effective_labels.0.unwrap_or_default(),
            tags: self.tags_all.0.unwrap_or_default(),
        }
    }
}

pub fn scaling_of(v: &Value) -> Option<Scaling> {
    GroupModel::of(v)?.scaling()
}

pub fn update_config_of(v: &Value) -> Option<UpdateConfig> {
    GroupModel::of(v)?.update_config()
}

pub fn launch_template_of(v: &Value) -> Option<LaunchTemplate> {
    GroupModel::of(v)?.launch_template()
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

fn scaling_block(live: Option<Scaling>, prior: &Value) -> Value {
    let Some(s) = live else { return Value::Null };
    // The autoscaler owns the live desired size: keep what was asked for.
    let desired = prior
        .get_attr("scaling_config")
        .and_then(|p| int_of(p, "desired_size"))
        .unwrap_or(i64::from(s.desired));
    Value::object(vec![
        ("min_size", Value::number(i64::from(s.min))),
        ("max_size", Value::number(i64::from(s.max))),
        ("desired_size", Value::number(desired)),
    ])
}

fn update_config_block(u: Option<UpdateConfig>) -> Value {
    match u {
        None => Value::Null,
        Some(UpdateConfig::MaxUnavailable(n)) => Value::object(vec![
            ("max_unavailable", Value::number(i64::from(n))),
            ("max_unavailable_percentage", Value::Null),
        ]),
        Some(UpdateConfig::MaxUnavailablePercentage(n)) => Value::object(vec![
            ("max_unavailable", Value::Null),
            ("max_unavailable_percentage", Value::number(i64::from(n))),
        ]),
    }
}

fn launch_template_block(l: &Option<LaunchTemplate>, prior: &Value) -> Value {
    let Some(l) = l else { return Value::Null };
    // EKS reports both id and name; keep the one the configuration uses.
    let p = prior.get_attr("launch_template").filter(|p| !p.is_null());
    let uses_name = p.is_some_and(|p| p.get_attr("name").is_some_and(|n| !n.is_null()));
    let uses_id = p.is_some_and(|p| p.get_attr("id").is_some_and(|n| !n.is_null()));
    let (id, name) = match (uses_id, uses_name) {
        (false, true) => (None, l.name.clone()),
        (true, false) => (l.id.clone(), None),
        _ => (l.id.clone(), l.name.clone()),
    };
    Value::object(vec![
        ("id", id.map_or(Value::Null, Value::string)),
        ("name", name.map_or(Value::Null, Value::string)),
        (
            "version",
            l.version.clone().map_or(Value::Null, Value::string),
        ),
    ])
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
    let block = schema().block;
    let importing = prior.get_attr("purpose").is_none_or(Value::is_null);
    let (purpose_v, labels_v, taint_v, tags_v) = if importing {
        let (p, labels, user_taints) = purpose::split_live(&ng.labels, &ng.taints);
        let user_tags: BTreeMap<String, String> = ng
            .tags
            .iter()
            .filter(|(k, v)| default_tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (
            Value::string(p),
            if labels.is_empty() {
                Value::Null
            } else {
                map_value(&labels)
            },
            taints_value(&user_taints),
            if user_tags.is_empty() {
                Value::Null
            } else {
                map_value(&user_tags)
            },
        )
    } else {
        (
            prior.get_attr("purpose").cloned().unwrap_or(Value::Null),
            prior.get_attr("labels").cloned().unwrap_or(Value::Null),
            prior
                .get_attr("taint")
                .cloned()
                .unwrap_or(Value::list(vec![])),
            prior.get_attr("tags").cloned().unwrap_or(Value::Null),
        )
    };
    let (selector, tolerations) = purpose::placement(&ng.labels, &ng.taints);
    let keep = |name: &str| prior.get_attr(name).cloned().unwrap_or(Value::Null);
    let opt_str = |s: &Option<String>| s.as_ref().map_or(Value::Null, Value::string);
    ObjectBuilder::new(&block)
        .set("id", Value::string(format!("{}:{}", ng.cluster, ng.name)))
        .set("cluster_name", Value::string(&ng.cluster))
        .set("name", Value::string(&ng.name))
        .set("name_prefix", keep("name_prefix"))
        .set("purpose", purpose_v)
        .set("node_role_arn", Value::string(&ng.node_role_arn))
        .set(
            "subnet_ids",
            Value::set(ng.subnet_ids.iter().map(Value::string).collect()),
        )
        .set("instance_types", list_value(&ng.instance_types))
        .set("capacity_type", opt_str(&ng.capacity_type))
        .set(
            "disk_size",
            ng.disk_size
                .map_or(Value::Null, |d| Value::number(i64::from(d))),
        )
        .set("ami_type", opt_str(&ng.ami_type))
        .set("version", opt_str(&ng.version))
        .set("release_version", opt_str(&ng.release_version))
        .set("force_update_version", keep("force_update_version"))
        .set("labels", labels_v)
        .set("tags", tags_v)
        .set("tags_all", map_value(&ng.tags))
        .set("arn", Value::string(&ng.arn))
        .set("status", Value::string(&ng.status))
        .set(
            "autoscaling_group_names",
            list_value(&ng.autoscaling_groups),
        )
        .set(
            "current_desired_size",
            ng.scaling
                .map_or(Value::Null, |s| Value::number(i64::from(s.desired))),
        )
        .set("effective_labels", map_value(&ng.labels))
        .set("effective_taints", taints_value(&ng.taints))
        .set("autoscaler_tags", map_value(asg_tags))
        .set(
            "placement",
            placement_value(
                &selector,
                &tolerations,
                &ng.labels,
                &ng.taints,
                ng.capacity_type.as_deref(),
            ),
        )
        .set("scaling_config", scaling_block(ng.scaling, prior))
        .set("taint", taint_v)
        .set(
            "update_config",
            // EKS reports its default (max_unavailable 1) when none was configured: only a
            // configured block, or an imported non-default one, is tracked.
            if prior
                .get_attr("update_config")
                .is_some_and(|u| !u.is_null())
                || (importing && ng.update_config != Some(UpdateConfig::MaxUnavailable(1)))
            {
                update_config_block(ng.update_config)
            } else {
                Value::Null
            },
        )
        .set(
            "launch_template",
            launch_template_block(&ng.launch_template, prior),
        )
        .set("timeouts", keep("timeouts"))
        .build()
}

/// Replaces every unknown inside `v` with null: the state after a failed create must be
/// fully known.
pub fn without_unknowns(v: Value) -> Value {
    v.transform(&mut |_, x| if x.is_unknown() { Value::Null } else { x })
}
