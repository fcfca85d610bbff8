//! `dataplatform_spark_pool`: the Spark contract on the node groups, checked at plan time.
//!
//! What the resource adds to the shared Kubernetes lifecycle ([`KubeResource`]): defaults
//! that follow the name and the executors' capacity, placement checks at plan time, and the
//! outputs (Spark configuration, pod templates, SparkApplication defaults). Rendering lives
//! in [`render`].

pub mod render;
pub mod schema;

use std::time::Duration;

use serde_json::Value as Json;

use crate::clients::kube::ObjectRef;
use crate::framework::attr::{is_known_set, is_set, known_attr, set, str_of};
use crate::framework::{Diagnostic, Diagnostics, Schema};
use crate::resources::kube_objects::{self, KubeResource, Stage};
use crate::value::{AttributePath, Value};

use render::{Pool, Role};

pub struct SparkPool;

/// Computed attributes that are not configuration.
const COMPUTED: &[&str] = &[
    "id",
    "spark_conf",
    "driver_pod_template",
    "executor_pod_template",
    "spark_application_defaults",
    "objects",
    "timeouts",
];

/// The objects to apply (the ConfigMap carries the configuration for import).
fn desired(planned: &Value) -> Option<(Pool, Vec<Json>)> {
    let pool = Pool::from_value(planned)?;
    let config = kube_objects::config_annotation(planned, &schema::schema(), COMPUTED)?;
    let mut objects = pool.objects();
    let cm = pool.configmap_name();
    for o in &mut objects {
        if o["kind"] == "ConfigMap" && o["metadata"]["name"] == cm.as_str() {
            o["metadata"]["annotations"] =
                serde_json::json!({kube_objects::CONFIG_ANNOTATION: config});
        }
    }
    Some((pool, objects))
}

/// The placement checks for one role: selector against the group's labels, tolerations
/// against its taints.
fn check_role(role: &Role, kind: &str, config: &Value, diags: &mut Diagnostics) {
    let block = config.get_attr(kind);
    let own = |a: &str| {
        block
            .and_then(|b| b.get_attr(a))
            .is_some_and(|v| !v.is_null())
    };
    let at = |a: &str| {
        if own(a) {
            AttributePath::root().attr(kind).attr(a)
        } else {
            AttributePath::root().attr(kind).attr("placement")
        }
    };
    let unmatched: Vec<String> = role
        .node_selector
        .iter()
        .filter(|(k, v)| role.group_labels.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !unmatched.is_empty() {
        let labels: Vec<String> = role
            .group_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        diags.attribute_error(
            at("node_selector"),
            "Node selector matches no node of the group",
            format!(
                "The {kind} node selector {} is not among the node group's labels ({}): its pods would never be \
                 scheduled.",
                unmatched.join(", "),
                if labels.is_empty() { "none".to_string() } else { labels.join(", ") }
            ),
        );
    }
    for taint in role.group_taints.iter().filter(|t| t.repels()) {
        if !role
            .tolerations
            .iter()
            .any(|t| crate::resources::common::tolerates(t, taint))
        {
            diags.attribute_error(
                at("tolerations"),
                "Taint not tolerated",
                format!(
                    "The {kind} pods do not tolerate the node group's taint {}{}:{}: they would never be scheduled \
                     there.",
                    taint.key,
                    taint.value.as_ref().map(|v| format!("={v}")).unwrap_or_default(),
                    taint.effect
                ),
            );
        }
    }
}

impl KubeResource for SparkPool {
    type Spec = Pool;

    const TYPE_NAME: &'static str = "dataplatform_spark_pool";
    const NOUN: &'static str = "Spark pool";
    const REQUIRED_ATTRIBUTE: &'static str = "driver";
    const IMPORT_EXAMPLE: &'static str = "spark/etl";
    const IMPORT_FAILED: &'static str = "Cannot import the Spark pool";
    const OUTPUTS: &'static [&'static str] = &[
        "spark_conf",
        "driver_pod_template",
        "executor_pod_template",
        "spark_application_defaults",
    ];
    const DEFAULT_TIMEOUT: Duration = schema::DEFAULT_TIMEOUT;

    fn resource_schema(&self) -> Schema {
        schema::schema()
    }

    fn check_config(&self, c: &Value, diags: &mut Diagnostics) {
        if let Some(d) = c
            .get_attr("dynamic_allocation")
            .filter(|d| !d.is_null() && !d.is_unknown())
        {
            let n = |a: &str| {
                d.get_attr(a)
                    .and_then(Value::as_number)
                    .and_then(|n| n.to_i64())
            };
            if let (Some(min), Some(max)) = (n("min_executors"), n("max_executors")) {
                if min > max {
                    diags.attribute_error(
                        AttributePath::root()
                            .attr("dynamic_allocation")
                            .attr("min_executors"),
                        "Invalid executor bounds",
                        format!("min_executors ({min}) is greater than max_executors ({max})."),
                    );
                }
            }
        }
        if let Some(conf) = c.get_attr("conf").and_then(Value::as_map) {
            for k in conf.keys() {
                if !k.starts_with("spark.") {
                    diags.attribute_error(
                        AttributePath::root().attr("conf").key(k),
                        "Not a Spark setting",
                        format!("{k:?} does not start with \"spark.\"."),
                    );
                }
            }
        }
    }

    /// The namespace and template directory follow the name; executors on spot capacity
    /// decommission unless told otherwise.
    fn plan_defaults(&self, config: &Value, planned: &mut Value) {
        let name = str_of(planned, "name");
        if !is_set(config.get_attr("namespace")) {
            set(
                planned,
                "namespace",
                name.clone().map_or(Value::Unknown, Value::string),
            );
        }
        if !is_set(config.get_attr("pod_template_dir")) {
            let dir = name.as_deref().map(render::default_template_dir);
            set(
                planned,
                "pod_template_dir",
                dir.map_or(Value::Unknown, Value::string),
            );
        }
        // Service accounts of their own for pools that share a namespace. A pool keeps the
        // name its state has (the proposed value).
        let namespace = str_of(planned, "namespace");
        for kind in ["driver", "executor"] {
            let Some(mut role) = known_attr(planned, kind) else {
                continue;
            };
            if is_known_set(role.get_attr("service_account")) {
                continue;
            }
            let sa = match (&name, &namespace) {
                (Some(n), Some(ns)) if n == ns => Value::string(format!("spark-{kind}")),
                (Some(n), Some(_)) => Value::string(format!("{n}-spark-{kind}")),
                _ => Value::Unknown,
            };
            set(&mut role, "service_account", sa);
            set(planned, kind, role);
        }
        // New pools use an existing namespace; pools created when the default was `true`
        // keep what their state says (the proposed value), so upgrading replaces nothing.
        if !is_known_set(planned.get_attr("create_namespace")) {
            set(planned, "create_namespace", Value::bool(false));
        }
        if !is_set(config.get_attr("decommission")) {
            let d = render::default_decommission(planned);
            set(
                planned,
                "decommission",
                d.map_or(Value::Unknown, Value::bool),
            );
        }
    }

    /// Placement checked at plan time, before anything is created.
    fn plan_checks(&self, config: &Value, pool: &Pool, diags: &mut Diagnostics) {
        check_role(&pool.driver, "driver", config, diags);
        check_role(&pool.executor, "executor", config, diags);
        if pool.executor.on_spot() && !pool.decommission {
            diags.attribute_error(
                AttributePath::root().attr("decommission"),
                "Spot executors without decommissioning",
                "The executors run on spot capacity: with decommission = false an interruption loses their shuffle \
                 and cached blocks and fails stages. Remove decommission = false.",
            );
        }
        if pool.driver.on_spot() {
            diags.push(
                Diagnostic::warning(
                    "Driver on spot capacity",
                    "A spot interruption of the driver fails the whole application; prefer an on-demand group.",
                )
                .at(AttributePath::root().attr("driver").attr("placement")),
            );
        }
    }

    fn render(&self, value: &Value, _: Stage<'_>) -> Option<(Pool, Vec<Json>)> {
        desired(value)
    }

    fn outputs(&self, pool: &Pool) -> Vec<(&'static str, Value)> {
        let conf = pool.spark_conf();
        vec![
            (
                "spark_conf",
                Value::map(conf.iter().map(|(k, v)| (k.clone(), Value::string(v)))),
            ),
            (
                "driver_pod_template",
                Value::string(render::to_yaml(&pool.driver_template())),
            ),
            (
                "executor_pod_template",
                Value::string(render::to_yaml(&pool.executor_template())),
            ),
            (
                "spark_application_defaults",
                Value::string(pool.spark_application_defaults().to_string()),
            ),
        ]
    }

    /// The configuration is kept on the pod-template ConfigMap.
    fn import_anchor(&self, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: "ConfigMap",
            api_version: "v1",
            namespace: Some(namespace.to_string()),
            name: format!("{name}-pod-templates"),
        }
    }
}

// The tests drive the resource through the framework's trait, as the server does.
#[cfg(test)]
use crate::framework::{ModifyPlanRequest, ModifyPlanResponse, Resource};

#[cfg(test)]
mod tests;
