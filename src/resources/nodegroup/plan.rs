//! The node group's own plan, after the framework's pipeline. The configuration, the plan and
//! the prior state are read into typed models ([`Config`], [`Plan`], [`Prior`]); the passes
//! run in this order on the [`Plan`], and only what they change is written back:
//!
//! 1. [`purpose_defaults`]: capacity type and instance types the purpose implies; a change of
//!    them replaces the group.
//! 2. [`local_storage`]: on for new executor groups on instance-store types unless set; with
//!    it, the group's own launch template and the store's size (known after apply when the
//!    group or its instance types are new) and no disk size.
//! 3. [`creation_defaults`]: the disk size (none with a launch template, which sizes the volume;
//!    20 GiB without one, on creation), and the desired size starting at the minimum.
//! 4. [`launch_template_refs`]: the launch template reference the configuration leaves out
//!    (id or name) stays while the other names the same template.
//! 5. [`id`]: `cluster_name:name`, once both are known.
//! 6. [`placement`]: effective labels and taints, `placement` and the autoscaler tags. When
//!    the purpose, labels or taints are not known yet these are unknown and the plan stops.
//! 7. [`tags_all`]: the provider's default tags under the resource's own.
//! 8. [`release_version`]: follows a version change unless configured.
//! 9. [`template_version`]: the group's own template versioned when its instance tags change.
//! 10. [`live_values`]: the status and live desired size, kept or unknown.

use std::collections::BTreeMap;

use crate::clients::eks::Taint;
use crate::conns::ProviderData;
use crate::framework::{
    Diagnostic, Field, FromValue, Merge, ModifyPlanRequest, ModifyPlanResponse, Partial,
};
use crate::resources::common::PlacementModel;
use crate::value::{AttributePath, Value};

use super::model::{placement_model, TaintModel};
use super::{local_storage, purpose};

/// The root volume's size when neither the configuration nor a launch template gives one.
const DEFAULT_DISK_GIB: i64 = 20;

crate::model! {
    /// What the passes read from the configuration.
    pub struct Config {
        pub capacity_type: Field<String>,
        pub instance_types: Field<Vec<String>>,
        pub disk_size: Field<i64>,
        pub launch_template: Field<TemplateRefs>,
        pub local_storage: Field<bool>,
        pub remote_access: Field<Value>,
        pub release_version: Field<String>,
        pub labels: Field<BTreeMap<String, String>>,
        pub taint: Field<Vec<TaintModel>>,
        pub tags: Field<BTreeMap<String, String>>,
    }
}

crate::model! {
    /// The planned attributes the passes read and decide.
    #[derive(Clone)]
    pub struct Plan {
        pub id: Field<String>,
        pub cluster_name: Field<String>,
        pub name: Field<String>,
        pub purpose: Field<String>,
        pub capacity_type: Field<String>,
        pub instance_types: Field<Vec<String>>,
        pub disk_size: Field<i64>,
        pub scaling_config: Field<ScalingPlan>,
        pub launch_template: Field<Partial<TemplateRefs>>,
        pub version: Field<String>,
        pub release_version: Field<String>,
        pub effective_labels: Field<BTreeMap<String, String>>,
        pub effective_taints: Field<Vec<TaintModel>>,
        pub placement: Field<PlacementModel>,
        pub autoscaler_tags: Field<BTreeMap<String, String>>,
        pub tags_all: Field<BTreeMap<String, String>>,
        pub local_storage: Field<bool>,
        pub local_storage_gib: Field<i64>,
        pub managed_launch_template: Field<Value>,
    }
}

crate::model! {
    #[derive(Clone)]
    pub struct ScalingPlan {
        pub min_size: Field<i64>,
        pub max_size: Field<i64>,
        pub desired_size: Field<i64>,
    }
}

crate::model! {
    /// What the passes compare with in the prior state.
    pub struct Prior {
        pub capacity_type: Field<String>,
        pub instance_types: Field<Vec<String>>,
        pub version: Field<String>,
        pub launch_template: Field<TemplateRefs>,
        pub local_storage: Field<bool>,
        pub local_storage_gib: Field<i64>,
        pub managed_launch_template: Field<Value>,
        pub tags_all: Field<BTreeMap<String, String>>,
    }
}

crate::model! {
    /// The two references to a launch template: the configuration gives one.
    #[derive(Clone, PartialEq)]
    pub struct TemplateRefs {
        pub id: Field<String>,
        pub name: Field<String>,
    }
}

crate::model! {
    /// What the live group reports rather than what the configuration asks for.
    #[derive(Default)]
    pub struct Volatile {
        pub status: Field<String>,
        pub current_desired_size: Field<i64>,
    }
}

pub fn modify_plan(req: &ModifyPlanRequest<'_, ProviderData>, resp: &mut ModifyPlanResponse) {
    if req.config.is_null() {
        return;
    }
    let read = || -> Result<(Config, Plan, Option<Prior>), Diagnostic> {
        let prior = if req.prior_state.is_null() {
            None
        } else {
            Some(Prior::read(req.prior_state)?)
        };
        Ok((Config::read(req.config)?, Plan::read(&resp.planned)?, prior))
    };
    let (config, before, prior) = match read() {
        Ok(models) => models,
        Err(d) => {
            resp.diagnostics.push(d);
            return;
        }
    };
    let mut plan = before.clone();
    purpose_defaults(
        &config,
        prior.as_ref(),
        &mut plan,
        &mut resp.requires_replace,
    );
    local_storage(&config, prior.as_ref(), &mut plan);
    creation_defaults(&config, prior.is_none(), &mut plan);
    launch_template_refs(&config, prior.as_ref(), &mut plan);
    id(&mut plan);
    let placed = placement(&config, &mut plan);
    if placed {
        tags_all(&config, req.data, &mut plan);
        release_version(&config, prior.as_ref(), &mut plan);
    }
    template_version(prior.as_ref(), &mut plan);
    plan.merge_changes(&before, &mut resp.planned);
    if placed {
        live_values(req.prior_state, &mut resp.planned);
    }
}

pub fn purpose_defaults(
    config: &Config,
    prior: Option<&Prior>,
    plan: &mut Plan,
    requires_replace: &mut Vec<AttributePath>,
) {
    let Field::Known(p) = &plan.purpose else {
        return;
    };
    if config.capacity_type.is_null() {
        let default = Field::Known(purpose::default_capacity_type(p).to_string());
        if prior.is_some_and(|prior| prior.capacity_type != default) {
            requires_replace.push(AttributePath::root().attr("capacity_type"));
        }
        plan.capacity_type = default;
    }
    if config.instance_types.is_null() {
        let default = Field::Known(purpose::default_instance_types(p));
        if prior.is_some_and(|prior| prior.instance_types != default) {
            requires_replace.push(AttributePath::root().attr("instance_types"));
        }
        plan.instance_types = default;
    }
}

/// `local_storage` when the configuration leaves it out: on for a new executor group on
/// instance-store types (see [`local_storage::default_on`]) that has nothing EKS refuses next
/// to a launch template; an existing group keeps what it has, so an upgrade replaces nothing.
/// With local storage the group's own template and the store's size are kept while the
/// instance types are, and known after apply otherwise.
pub fn local_storage(config: &Config, prior: Option<&Prior>, plan: &mut Plan) {
    if config.local_storage.is_null() {
        let free = config.launch_template.is_null()
            && config.remote_access.is_null()
            && config.disk_size.is_null();
        plan.local_storage = match (prior, &plan.purpose, &plan.instance_types) {
            (Some(p), _, _) => p.local_storage.clone(),
            (None, Field::Known(p), Field::Known(types)) => {
                Field::Known(free && local_storage::default_on(p, types))
            }
            _ => Field::Unknown,
        };
    }
    match &plan.local_storage {
        Field::Known(true) => {
            let kept = prior.filter(|p| {
                p.local_storage.known() == Some(&true) && p.instance_types == plan.instance_types
            });
            plan.local_storage_gib = kept.map_or(Field::Unknown, |p| p.local_storage_gib.clone());
            plan.managed_launch_template =
                kept.map_or(Field::Unknown, |p| p.managed_launch_template.clone());

            // The root volume is the template's: EKS reports no disk size.
            plan.disk_size = Field::Null;
        }
        Field::Unknown => {
            plan.local_storage_gib = Field::Unknown;
            plan.managed_launch_template = Field::Unknown;
        }
        _ => {
            plan.local_storage_gib = Field::Null;
            plan.managed_launch_template = Field::Null;
        }
    }
}

/// The group's own template takes a new version, rolled out in place, when the instance
/// tags it carries change: the version it will run is then left to the apply.
pub fn template_version(prior: Option<&Prior>, plan: &mut Plan) {
    let Some(p) = prior else {
        return;
    };
    let Field::Known(template) = &plan.managed_launch_template else {
        return;
    };
    if p.managed_launch_template.is_null()
        || !local_storage::needs_new_version(p.tags_all.known(), plan.tags_all.known())
    {
        return;
    }
    let mut m = template.as_map().cloned().unwrap_or_default();
    m.insert("version".to_string(), Value::Unknown);
    plan.managed_launch_template = Field::Known(Value::object(m));
}

pub fn creation_defaults(config: &Config, creating: bool, plan: &mut Plan) {
    if config.disk_size.is_null() && plan.local_storage.known() != Some(&true) {
        if plan.local_storage.is_unknown() && creating {
            plan.disk_size = Field::Unknown;
        } else if matches!(config.launch_template, Field::Known(_)) {
            // EKS reports no disk size for a group with a launch template: known now, not later.
            plan.disk_size = Field::Null;
        } else if creating {
            plan.disk_size = Field::Known(DEFAULT_DISK_GIB);
        }
    }
    if !creating {
        return;
    }
    if let Field::Known(s) = &mut plan.scaling_config {
        if s.desired_size.is_unknown() {
            s.desired_size = s.min_size.clone();
        }
    }
}

/// The reference the configuration leaves out is the prior one while the given one names the
/// same template, and known after apply otherwise.
pub fn launch_template_refs(config: &Config, prior: Option<&Prior>, plan: &mut Plan) {
    let (Field::Known(given), Field::Known(planned)) =
        (&config.launch_template, &mut plan.launch_template)
    else {
        return;
    };
    let before = prior.and_then(|p| p.launch_template.known());
    let kept = |given: &Field<String>,
                was: Option<&Field<String>>,
                other: Option<&Field<String>>| match (was, other) {
        // A refresh has just read both from EKS: the other one is what EKS reports.
        (Some(was), Some(other)) if given.is_set() && was == given => other.clone(),
        _ => Field::Unknown,
    };
    if given.id.is_null() {
        planned.id = kept(&given.name, before.map(|b| &b.name), before.map(|b| &b.id));
    }
    if given.name.is_null() {
        planned.name = kept(&given.id, before.map(|b| &b.id), before.map(|b| &b.name));
    }
}

pub fn id(plan: &mut Plan) {
    if let (Field::Known(name), Field::Known(cluster)) = (&plan.name, &plan.cluster_name) {
        plan.id = Field::Known(format!("{cluster}:{name}"));
    }
}

/// Known whenever their inputs are. `false` when the purpose, labels or taints are not.
pub fn placement(config: &Config, plan: &mut Plan) -> bool {
    let labels = config.labels.known_or_default();
    let taints = config.taint.known_or_default();
    let (Field::Known(p), Some(labels), Some(taints)) = (&plan.purpose, labels, taints) else {
        plan.effective_labels = Field::Unknown;
        plan.effective_taints = Field::Unknown;
        plan.placement = Field::Unknown;
        plan.autoscaler_tags = Field::Unknown;
        return false;
    };
    let taints: Vec<Taint> = taints.iter().map(Taint::from).collect();
    let labels = purpose::effective_labels(p, &labels);
    let taints = purpose::effective_taints(p, &taints);
    plan.placement = match &plan.capacity_type {
        Field::Unknown => Field::Unknown,
        _ if plan.local_storage.is_unknown() => Field::Unknown,
        capacity => Field::Known(placement_model(
            &labels,
            &taints,
            capacity.known(),
            plan.local_storage.known() == Some(&true),
        )),
    };
    // With local storage, pods' ephemeral storage is the instance store, not the root volume.
    let ephemeral = if plan.local_storage.known() == Some(&true) {
        &plan.local_storage_gib
    } else {
        &plan.disk_size
    };
    plan.autoscaler_tags = match (&plan.cluster_name, ephemeral) {
        (Field::Known(cluster), size) if !size.is_unknown() && !plan.local_storage.is_unknown() => {
            Field::Known(purpose::autoscaler_tags(
                cluster,
                &labels,
                &taints,
                size.known().copied(),
            ))
        }
        _ => Field::Unknown,
    };
    plan.effective_taints = Field::Known(taints.iter().map(TaintModel::from).collect());
    plan.effective_labels = Field::Known(labels);
    true
}

pub fn tags_all(config: &Config, data: Option<&ProviderData>, plan: &mut Plan) {
    plan.tags_all = match (config.tags.known_or_default(), data) {
        (Some(own), Some(data)) if !data.config.default_tags.is_unknown() => {
            let mut all = data.default_tags();
            all.extend(own);
            Field::Known(all)
        }
        _ => Field::Unknown,
    };
}

pub fn release_version(config: &Config, prior: Option<&Prior>, plan: &mut Plan) {
    if let Some(prior) = prior {
        if config.release_version.is_null() && plan.version != prior.version {
            plan.release_version = Field::Unknown;
        }
    }
}

/// Unchanged when nothing else changes, unknown when an apply will run.
///
/// A group still CREATING can only be one an interrupted create of this resource left: it is
/// planned as an update that waits for it and finishes what the create did not. A group
/// UPDATING is not a change by itself: another client (a resize, the console) may be updating
/// it, and what an interrupted update of this resource left undone shows as a difference from
/// the configuration. An apply with real changes waits for the group to settle first.
pub fn live_values(prior: &Value, planned: &mut Value) {
    if prior.is_null() {
        return;
    }
    let Ok(live) = Volatile::read(prior) else {
        return;
    };
    let without_volatile = |v: &Value| {
        let mut v = v.clone();
        Volatile::default().merge_into(&mut v);
        v
    };
    let changed = is_creating(live.status.known().map(String::as_str))
        || without_volatile(planned) != without_volatile(prior);
    let next = if changed {
        Volatile {
            status: Field::Unknown,
            current_desired_size: Field::Unknown,
        }
    } else {
        live
    };
    next.merge_into(planned);
}

/// Whether EKS is still creating the group.
fn is_creating(status: Option<&str>) -> bool {
    status == Some("CREATING")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(id: Field<String>, name: Field<String>) -> Field<TemplateRefs> {
        Field::Known(TemplateRefs { id, name })
    }

    fn known(s: &str) -> Field<String> {
        Field::Known(s.to_string())
    }

    fn plan_for(given: Field<TemplateRefs>, prior: Option<Field<TemplateRefs>>) -> TemplateRefs {
        let config = Config::read(&Value::object(vec![(
            "launch_template",
            crate::framework::ToValue::to_value(&given),
        )]))
        .expect("config");
        let prior = prior.map(|p| Prior {
            capacity_type: Field::Null,
            instance_types: Field::Null,
            version: Field::Null,
            launch_template: p,
            local_storage: Field::Null,
            local_storage_gib: Field::Null,
            managed_launch_template: Field::Null,
            tags_all: Field::Null,
        });
        let template = Value::object(vec![
            (
                "id",
                crate::framework::ToValue::to_value(
                    &given.known().map(|g| g.id.clone()).unwrap_or_default(),
                ),
            ),
            (
                "name",
                crate::framework::ToValue::to_value(
                    &given.known().map(|g| g.name.clone()).unwrap_or_default(),
                ),
            ),
            ("version", Value::string("1")),
        ]);
        let mut plan =
            Plan::read(&Value::object(vec![("launch_template", template)])).expect("plan");
        launch_template_refs(&config, prior.as_ref(), &mut plan);
        let Field::Known(t) = plan.launch_template else {
            panic!("a planned template")
        };
        TemplateRefs {
            id: t.id.clone(),
            name: t.name.clone(),
        }
    }

    #[test]
    fn the_reference_left_out_stays_while_the_other_names_the_same_template() {
        let by_name = refs(Field::Null, known("nodes"));
        let imported = refs(known("lt-0123456789abcdef0"), known("nodes"));
        // After an import (EKS reports both): nothing changes.
        let p = plan_for(by_name.clone(), Some(imported.clone()));
        assert_eq!(p.id, known("lt-0123456789abcdef0"));
        // Another template by name: its id is known after apply.
        let p = plan_for(refs(Field::Null, known("other")), Some(imported.clone()));
        assert_eq!(p.id, Field::Unknown);
        // Creating: known after apply.
        assert_eq!(plan_for(by_name, None).id, Field::Unknown);
        // By id, the name follows the same way.
        let p = plan_for(
            refs(known("lt-0123456789abcdef0"), Field::Null),
            Some(imported),
        );
        assert_eq!(p.name, known("nodes"));
    }

    fn storage_plan(config: Vec<(&str, Value)>, types: &[&str], prior: Option<Prior>) -> Plan {
        let config = Config::read(&Value::object(config)).expect("config");
        let mut plan = Plan::read(&Value::object(vec![
            ("purpose", Value::string("spark-executor")),
            (
                "instance_types",
                Value::list(types.iter().map(|t| Value::string(*t)).collect()),
            ),
            ("local_storage", Value::Unknown),
            ("local_storage_gib", Value::Unknown),
            ("managed_launch_template", Value::Unknown),
        ]))
        .expect("plan");
        local_storage(&config, prior.as_ref(), &mut plan);
        creation_defaults(&config, prior.is_none(), &mut plan);
        plan
    }

    #[test]
    fn new_executor_groups_on_instance_store_types_get_local_storage() {
        let p = storage_plan(vec![], &["r5d.2xlarge", "r5dn.2xlarge"], None);
        assert_eq!(p.local_storage, Field::Known(true));
        assert_eq!(
            p.disk_size,
            Field::Null,
            "the root volume is the template's"
        );
        assert!(p.local_storage_gib.is_unknown(), "read from EC2 at apply");
        let p = storage_plan(vec![], &["r5.2xlarge"], None);
        assert_eq!(p.local_storage, Field::Known(false));
        assert_eq!(p.disk_size, Field::Known(DEFAULT_DISK_GIB));
        assert_eq!(p.local_storage_gib, Field::Null);
        let with_template = vec![(
            "launch_template",
            Value::object(vec![("id", Value::string("lt-1")), ("name", Value::Null)]),
        )];
        let p = storage_plan(with_template, &["r5d.2xlarge"], None);
        assert_eq!(
            p.local_storage,
            Field::Known(false),
            "a user template is left alone"
        );
    }

    #[test]
    fn existing_groups_keep_their_local_storage_and_its_size() {
        let prior = |on: Field<bool>, types: &[&str]| Prior {
            capacity_type: Field::Null,
            instance_types: Field::Known(types.iter().map(|t| t.to_string()).collect()),
            version: Field::Null,
            launch_template: Field::Null,
            local_storage: on,
            local_storage_gib: Field::Known(279),
            managed_launch_template: Field::Known(Value::object(vec![(
                "id",
                Value::string("lt-1"),
            )])),
            tags_all: Field::Null,
        };
        // Upgraded from a version without local storage: nothing to replace.
        let p = storage_plan(
            vec![],
            &["r5d.2xlarge"],
            Some(prior(Field::Null, &["r5d.2xlarge"])),
        );
        assert_eq!(p.local_storage, Field::Null);
        let on = Field::Known(true);
        let p = storage_plan(
            vec![],
            &["r5d.2xlarge"],
            Some(prior(on.clone(), &["r5d.2xlarge"])),
        );
        assert_eq!(p.local_storage_gib, Field::Known(279));
        assert!(p.managed_launch_template.is_set() && !p.managed_launch_template.is_unknown());
        let p = storage_plan(vec![], &["r5d.4xlarge"], Some(prior(on, &["r5d.2xlarge"])));
        assert!(p.local_storage_gib.is_unknown(), "new types, new size");
    }

    #[test]
    fn new_instance_tags_take_a_new_template_version() {
        let tags = |pairs: &[(&str, &str)]| -> Field<BTreeMap<String, String>> {
            Field::Known(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let template = Value::object(vec![
            ("id", Value::string("lt-1")),
            ("name", Value::string("eks-analytics-x-local-storage")),
            ("version", Value::number(1i64)),
        ]);
        let prior = Prior {
            capacity_type: Field::Null,
            instance_types: Field::Null,
            version: Field::Null,
            launch_template: Field::Null,
            local_storage: Field::Known(true),
            local_storage_gib: Field::Known(279),
            managed_launch_template: Field::Known(template.clone()),
            tags_all: tags(&[("team", "data")]),
        };
        let version_after = |planned_tags: Field<BTreeMap<String, String>>| {
            let mut plan = Plan::read(&Value::object(Vec::<(&str, Value)>::new())).expect("plan");
            plan.managed_launch_template = Field::Known(template.clone());
            plan.tags_all = planned_tags;
            template_version(Some(&prior), &mut plan);
            match plan.managed_launch_template {
                Field::Known(t) => t.get_attr("version").cloned(),
                _ => None,
            }
        };
        assert_eq!(
            version_after(tags(&[("team", "data")])),
            Some(Value::number(1i64))
        );
        // The provider's pending-create tag is not the instances'.
        assert_eq!(
            version_after(tags(&[
                ("team", "data"),
                (super::super::ownership::PENDING_TAG, "x")
            ])),
            Some(Value::number(1i64))
        );
        assert_eq!(
            version_after(tags(&[("team", "lake")])),
            Some(Value::Unknown)
        );
        assert_eq!(version_after(Field::Unknown), Some(Value::Unknown));
    }
}
