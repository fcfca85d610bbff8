//! The node group's own plan, after the framework's pipeline. The passes run in this order:
//!
//! 1. [`purpose_defaults`]: capacity type and instance types the purpose implies; a change of
//!    them replaces the group.
//! 2. [`creation_defaults`]: the disk size (none with a launch template, which sizes the volume;
//!    20 GiB without one, on creation), and the desired size starting at the minimum.
//! 3. [`id`]: `cluster_name:name`, once both are known.
//! 4. [`placement`]: effective labels and taints, `placement` and the autoscaler tags. When
//!    the purpose, labels or taints are not known yet these are unknown and the plan stops.
//! 5. [`tags_all`]: the provider's default tags under the resource's own.
//! 6. [`release_version`]: follows a version change unless configured.
//! 7. [`live_values`]: the status and live desired size, kept or unknown.

use crate::clients::eks::Taint;
use crate::conns::ProviderData;
use crate::framework::attr::{self, is_known_set, str_of};
use crate::framework::{ModifyPlanRequest, ModifyPlanResponse};
use crate::value::{AttributePath, Value};

use super::{model, purpose};

pub fn modify_plan(req: &ModifyPlanRequest<'_, ProviderData>, resp: &mut ModifyPlanResponse) {
    if req.config.is_null() {
        return;
    }
    purpose_defaults(req, resp);
    let planned = &mut resp.planned;
    creation_defaults(req, planned);
    id(planned);
    if !placement(req.config, planned) {
        return;
    }
    tags_all(req, planned);
    release_version(req, planned);
    live_values(req.prior_state, planned);
}

fn creating(req: &ModifyPlanRequest<'_, ProviderData>) -> bool {
    req.prior_state.is_null()
}

pub fn purpose_defaults(req: &ModifyPlanRequest<'_, ProviderData>, resp: &mut ModifyPlanResponse) {
    let Some(p) = str_of(&resp.planned, "purpose") else {
        return;
    };
    for (name, default) in [
        (
            "capacity_type",
            Value::string(purpose::default_capacity_type(&p)),
        ),
        (
            "instance_types",
            attr::list_value(&purpose::default_instance_types(&p)),
        ),
    ] {
        if req.config.get_attr(name).is_none_or(Value::is_null) {
            if !creating(req) && req.prior_state.get_attr(name) != Some(&default) {
                resp.requires_replace.push(AttributePath::root().attr(name));
            }
            attr::set(&mut resp.planned, name, default);
        }
    }
}

pub fn creation_defaults(req: &ModifyPlanRequest<'_, ProviderData>, planned: &mut Value) {
    let config = req.config;
    if config.get_attr("disk_size").is_none_or(Value::is_null) {
        if is_known_set(config.get_attr("launch_template")) {
            // EKS reports no disk size for a group with a launch template: known now, not later.
            attr::set(planned, "disk_size", Value::Null);
        } else if creating(req) {
            attr::set(planned, "disk_size", Value::number(20i64));
        }
    }
    if !creating(req) {
        return;
    }
    if let Some(mut s) = planned.get_attr("scaling_config").cloned() {
        if s.get_attr("desired_size").is_some_and(Value::is_unknown) {
            if let Some(min) = s.get_attr("min_size").cloned() {
                attr::set(&mut s, "desired_size", min);
            }
            attr::set(planned, "scaling_config", s);
        }
    }
}

pub fn id(planned: &mut Value) {
    if let (Some(n), Some(cluster)) = (str_of(planned, "name"), str_of(planned, "cluster_name")) {
        attr::set(planned, "id", Value::string(format!("{cluster}:{n}")));
    }
}

/// Known whenever their inputs are. `false` when the purpose, labels or taints are not.
pub fn placement(config: &Value, planned: &mut Value) -> bool {
    let purpose = str_of(planned, "purpose");
    let labels = config.get_attr("labels").and_then(attr::string_map);
    let taints = config.get_attr("taint").and_then(model::taints);
    let (Some(p), Some(labels), Some(taints)) = (purpose, labels, taints) else {
        for a in [
            "effective_labels",
            "effective_taints",
            "placement",
            "autoscaler_tags",
        ] {
            attr::set(planned, a, Value::Unknown);
        }
        return false;
    };
    let labels = purpose::effective_labels(&p, &labels);
    let taints: Vec<Taint> = purpose::effective_taints(&p, &taints);
    let (selector, tolerations) = purpose::placement(&labels, &taints);
    attr::set(planned, "effective_labels", attr::map_value(&labels));
    attr::set(planned, "effective_taints", model::taints_value(&taints));
    let capacity = str_of(planned, "capacity_type");
    let placement = if planned
        .get_attr("capacity_type")
        .is_some_and(Value::is_unknown)
    {
        Value::Unknown
    } else {
        model::placement_value(
            &selector,
            &tolerations,
            &labels,
            &taints,
            capacity.as_deref(),
        )
    };
    attr::set(planned, "placement", placement);
    let disk = planned
        .get_attr("disk_size")
        .cloned()
        .unwrap_or(Value::Null);
    let tags = match (str_of(planned, "cluster_name"), disk.is_unknown()) {
        (Some(cluster), false) => {
            let gib = disk.as_number().and_then(|n| n.to_i64());
            attr::map_value(&purpose::autoscaler_tags(&cluster, &labels, &taints, gib))
        }
        _ => Value::Unknown,
    };
    attr::set(planned, "autoscaler_tags", tags);
    true
}

pub fn tags_all(req: &ModifyPlanRequest<'_, ProviderData>, planned: &mut Value) {
    let own = req.config.get_attr("tags").and_then(attr::string_map);
    let tags_all = match (own, req.data) {
        (Some(own), Some(data)) if !data.config.default_tags.is_unknown() => {
            let mut all = data.default_tags();
            all.extend(own);
            attr::map_value(&all)
        }
        _ => Value::Unknown,
    };
    attr::set(planned, "tags_all", tags_all);
}

pub fn release_version(req: &ModifyPlanRequest<'_, ProviderData>, planned: &mut Value) {
    if !creating(req)
        && req
            .config
            .get_attr("release_version")
            .is_none_or(Value::is_null)
        && planned.get_attr("version") != req.prior_state.get_attr("version")
    {
        attr::set(planned, "release_version", Value::Unknown);
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
    let volatile = ["status", "current_desired_size"];
    let changed = is_creating(prior.get_attr("status").and_then(Value::as_str))
        || match (planned.as_map(), prior.as_map()) {
            (Some(p), Some(s)) => p
                .iter()
                .any(|(k, v)| !volatile.contains(&k.as_str()) && s.get(k) != Some(v)),
            _ => true,
        };
    for k in volatile {
        let v = if changed {
            Value::Unknown
        } else {
            prior.get_attr(k).cloned().unwrap_or(Value::Null)
        };
        attr::set(planned, k, v);
    }
}

/// Whether EKS is still creating the group.
fn is_creating(status: Option<&str>) -> bool {
    status == Some("CREATING")
}
