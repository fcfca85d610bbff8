//! `dataplatform_spark_pool`: the Spark contract on the node groups, checked at plan time.
//!
//! What the resource adds to the shared Kubernetes lifecycle ([`KubeResource`]): defaults
//! that follow the name and the executors' capacity, placement checks at plan time, and the
//! outputs (Spark configuration, pod templates, SparkApplication defaults). Rendering lives
//! in [`render`].

pub mod render;
pub mod schema;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use crate::clients::kube::ObjectRef;
use crate::framework::{Diagnostic, Diagnostics, Field, FromValue, Merge, Partial, Schema};
use crate::resources::kube_objects::handover::Handover;
use crate::resources::kube_objects::{self, KubeResource, Stage};
use crate::value::{AttributePath, Value};

use render::{Pool, Role};

pub struct SparkPool;

crate::model! {
    /// What validation reads of a configuration (any of it may not be known yet).
    struct Checked {
        dynamic_allocation: Field<ExecutorBounds>,
        conf: Field<BTreeMap<String, Value>>,
    }
}

crate::model! {
    struct ExecutorBounds {
        min_executors: Field<i64>,
        max_executors: Field<i64>,
    }
}

crate::model! {
    /// The arguments whose absence the plan fills in.
    struct Given {
        namespace: Field<String>,
        pod_template_dir: Field<String>,
        decommission: Field<bool>,
    }
}

crate::model! {
    /// What the plan fills in: names that follow the pool's name.
    #[derive(Clone)]
    struct Defaults {
        name: Field<String>,
        namespace: Field<String>,
        pod_template_dir: Field<String>,
        create_namespace: Field<bool>,
        driver: Field<Partial<ServiceAccount>>,
        executor: Field<Partial<ServiceAccount>>,
    }
}

crate::model! {
    #[derive(Clone)]
    struct ServiceAccount {
        service_account: Field<String>,
    }
}

crate::model! {
    /// Whether executors hand their data over before they go (default: on spot capacity).
    struct Decommission {
        decommission: Field<bool>,
    }
}

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

crate::model! {
    /// Which roles give their own node selector and tolerations (diagnostics point at them).
    struct Roles {
        driver: Field<Scheduling>,
        executor: Field<Scheduling>,
    }
}

crate::model! {
    struct Scheduling {
        node_selector: Field<Value>,
        tolerations: Field<Value>,
    }
}

/// The placement checks for one role: selector against the group's labels, tolerations
/// against its taints.
fn check_role(role: &Role, kind: &str, given: Option<&Scheduling>, diags: &mut Diagnostics) {
    let at = |a: &str, own: bool| {
        if own {
            AttributePath::root().attr(kind).attr(a)
        } else {
            AttributePath::root().attr(kind).attr("placement")
        }
    };
    let own_selector = given.is_some_and(|g| g.node_selector.is_set());
    let own_tolerations = given.is_some_and(|g| g.tolerations.is_set());
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
            at("node_selector", own_selector),
            "Node selector matches no node of the group",
            format!(
                "The {kind} node selector {} is not among the node group's labels ({}): its pods would never be \
                 scheduled.",
                unmatched.join(", "),
                if labels.is_empty() { "none".to_string() } else { labels.join(", ") }
            ),
        );
    }
    if !role.local_dirs.is_empty() && role.group_local_storage == Some(false) {
        let group = role
            .group_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        diags.attribute_error(
            AttributePath::root().attr(kind).attr("local_dirs"),
            "Local dirs on a node group without local storage",
            format!(
                "The Spark pool's {kind} asks for local_dirs, but the node group its placement comes from (labels: \
                 {}) has local_storage off: the dirs would be on the root volume. Turn local_storage on in that \
                 dataplatform_nodegroup (instance types with instance store) or leave local_dirs out.",
                if group.is_empty() { "none".to_string() } else { group }
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
                at("tolerations", own_tolerations),
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

    fn check_config(&self, config: &Value, diags: &mut Diagnostics) {
        let c = match Checked::read(config) {
            Ok(c) => c,
            Err(d) => return diags.push(d),
        };
        if let Field::Known(d) = &c.dynamic_allocation {
            if let (Field::Known(min), Field::Known(max)) = (&d.min_executors, &d.max_executors) {
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
        if let Field::Known(conf) = &c.conf {
            for k in conf.keys().filter(|k| !k.starts_with("spark.")) {
                diags.attribute_error(
                    AttributePath::root().attr("conf").key(k),
                    "Not a Spark setting",
                    format!("{k:?} does not start with \"spark.\"."),
                );
            }
        }
    }

    /// The namespace and template directory follow the name; executors on spot capacity
    /// decommission unless told otherwise.
    fn plan_defaults(&self, config: &Value, planned: &mut Value) {
        let (Ok(given), Ok(before)) = (Given::read(config), Defaults::read(planned)) else {
            return;
        };
        let mut plan = before.clone();
        let name = plan.name.known().cloned();
        let or_unknown = |v: Option<String>| v.map_or(Field::Unknown, Field::Known);
        if given.namespace.is_null() {
            plan.namespace = or_unknown(name.clone());
        }
        if given.pod_template_dir.is_null() {
            plan.pod_template_dir = or_unknown(name.as_deref().map(render::default_template_dir));
        }
        // Service accounts of their own for pools that share a namespace. A pool keeps the
        // name its state has (the proposed value).
        let namespace = plan.namespace.known().cloned();
        for (kind, role) in [
            ("driver", &mut plan.driver),
            ("executor", &mut plan.executor),
        ] {
            let Field::Known(role) = role else {
                continue;
            };
            if matches!(role.service_account, Field::Known(_)) {
                continue;
            }
            role.service_account = or_unknown(match (&name, &namespace) {
                (Some(n), Some(ns)) if n == ns => Some(format!("spark-{kind}")),
                (Some(n), Some(_)) => Some(format!("{n}-spark-{kind}")),
                _ => None,
            });
        }
        // New pools use an existing namespace; pools created when the default was `true`
        // keep what their state says (the proposed value), so upgrading replaces nothing.
        if !matches!(plan.create_namespace, Field::Known(_)) {
            plan.create_namespace = Field::Known(false);
        }
        plan.merge_changes(&before, planned);
        if given.decommission.is_null() {
            // Read from the plan with the service accounts above filled in.
            let decommission = Decommission {
                decommission: render::default_decommission(planned)
                    .map_or(Field::Unknown, Field::Known),
            };
            decommission.merge_into(planned);
        }
    }

    /// Placement checked at plan time, before anything is created.
    fn plan_checks(&self, config: &Value, pool: &Pool, diags: &mut Diagnostics) {
        let roles = Roles::read(config).ok();
        let driver = roles.as_ref().and_then(|r| r.driver.known());
        let executor = roles.as_ref().and_then(|r| r.executor.known());
        check_role(&pool.driver, "driver", driver, diags);
        check_role(&pool.executor, "executor", executor, diags);
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

    /// The operator RBAC is granted to a service account the Spark operator's Helm chart
    /// creates: without it, no operator runs the pool's SparkApplications.
    fn handovers(&self, pool: &Pool) -> Vec<Handover> {
        let Some((ns, sa)) = &pool.operator else {
            return Vec::new();
        };
        vec![Handover {
            expects: ObjectRef {
                kind: "ServiceAccount",
                api_version: "v1",
                namespace: Some(ns.clone()),
                name: sa.clone(),
            },
            summary: format!("No Spark operator service account {ns}/{sa}"),
            detail: format!(
                "spark_operator grants the service account {ns}/{sa} the rights to run Spark \
                 applications in {}, but it does not exist: the Spark operator is not installed in \
                 {ns}, or under another name (spark_operator.namespace and service_account). \
                 SparkApplications submitted to the pool stay pending until it is; spark-submit \
                 works without it.",
                pool.namespace
            ),
        }]
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
use crate::framework::ModifyPlanResponse;

#[cfg(test)]
mod tests;
