//! `dataplatform_spark_pool`: the Spark contract on the node groups, checked at plan time.
//!
//! What the resource adds to the shared Kubernetes lifecycle ([`KubeResource`]): defaults
//! that follow the name and the executors' capacity, placement checks at plan time, and the
//! outputs (Spark configuration, pod templates, SparkApplication defaults). Rendering lives
//! in [`render`].

pub mod history;
pub mod render;
pub mod schema;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::clients::kube::{Kube, ObjectRef};
use crate::clients::rollout::{self, RolloutError};
use crate::framework::{Diagnostic, Diagnostics, Field, FromValue, Merge, Partial, Schema};
use crate::resources::ingress;
use crate::resources::kube_objects::handover::Handover;
use crate::resources::kube_objects::pod_iam::{Binding, Mechanism};
use crate::resources::kube_objects::{self, KubeResource, Stage};
use crate::value::{AttributePath, Value};

use render::{Pool, Role};

pub struct SparkPool;

crate::model! {
    /// What validation reads of a configuration (any of it may not be known yet).
    struct Checked {
        dynamic_allocation: Field<ExecutorBounds>,
        conf: Field<BTreeMap<String, Value>>,
        event_log: Field<Value>,
        history_server: Field<Value>,
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
    "history_server_url",
    "history_server_load_balancer_hostname",
    "objects",
    "pod_identity_associations",
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

/// A service account shared by driver and executors has one role; Pod Identity on a Spark 3
/// image needs a newer AWS SDK than Spark ships.
fn check_iam(pool: &Pool, diags: &mut Diagnostics) {
    let iam_at = |kind: &str| AttributePath::root().attr(kind).attr("iam");
    if pool.driver.service_account == pool.executor.service_account
        && pool.driver.iam.is_some()
        && pool.executor.iam.is_some()
        && pool.driver.iam != pool.executor.iam
    {
        diags.attribute_error(
            iam_at("executor"),
            "One service account, two IAM roles",
            format!(
                "Driver and executors share service account {:?}, which can have one IAM role: give both the same \
                 iam block, or give the executors a service account of their own.",
                pool.driver.service_account
            ),
        );
    }
    for (kind, role) in [("driver", &pool.driver), ("executor", &pool.executor)] {
        let pod_identity = role
            .iam
            .as_ref()
            .is_some_and(|i| i.mechanism == Mechanism::PodIdentity);
        if pod_identity && pool.spark_major().is_some_and(|m| m < 4) {
            diags.push(
                Diagnostic::warning(
                    "Pod Identity needs a newer AWS SDK than Spark 3 ships",
                    format!(
                        "Spark 3.5's hadoop-aws 3.3.4 comes with aws-java-sdk-bundle 1.12.262; the AWS SDK for Java \
                         reads EKS Pod Identity credentials from 1.12.746 on. Put a newer bundle in {} or use \
                         mechanism = \"irsa\".",
                        pool.image
                    ),
                )
                .at(iam_at(kind).attr("mechanism")),
            );
            break;
        }
    }
    let history_pod_identity = pool.history.as_ref().filter(|h| {
        h.iam
            .as_ref()
            .is_some_and(|i| i.mechanism == Mechanism::PodIdentity)
            && render::spark_major(&h.image).is_some_and(|m| m < 4)
    });
    if let Some(h) = history_pod_identity {
        diags.push(
            Diagnostic::warning(
                "Pod Identity needs a newer AWS SDK than Spark 3 ships",
                format!(
                    "The History Server's image {} is Spark 3, whose aws-java-sdk-bundle 1.12.262 does not read EKS \
                     Pod Identity credentials (1.12.746 and later do). Put a newer bundle in the image or use \
                     mechanism = \"irsa\".",
                    h.image
                ),
            )
            .at(AttributePath::root()
                .attr("history_server")
                .attr("iam")
                .attr("mechanism")),
        );
    }
}

#[async_trait]
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
        "history_server_url",
    ];
    const DEFAULT_TIMEOUT: Duration = schema::DEFAULT_TIMEOUT;
    const POD_IDENTITY: bool = true;

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
        if c.history_server.is_set() && c.event_log.is_null() {
            diags.attribute_error(
                AttributePath::root().attr("history_server"),
                "Missing event logs",
                "The History Server shows what the pool's applications write to event_log.dir: add \
                 event_log { dir = \"s3a://...\" } to the pool.",
            );
        }
        let history_ingress = AttributePath::root().attr("history_server").attr("ingress");
        ingress::check_config(config, &history_ingress, diags);
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
        check_iam(pool, diags);
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

    fn pod_identities(&self, pool: &Pool) -> Vec<Binding> {
        pool.pod_identities()
    }

    fn render(&self, value: &Value, _: Stage<'_>) -> Option<(Pool, Vec<Json>)> {
        desired(value)
    }

    /// The operator RBAC is granted to a service account the Spark operator's Helm chart
    /// creates: without it, no operator runs the pool's SparkApplications.
    fn handovers(&self, pool: &Pool) -> Vec<Handover> {
        let mut out: Vec<Handover> = pool
            .history
            .iter()
            .filter_map(|h| {
                let i = h.ingress.as_ref()?;
                let object = ingress::live::object(&h.namespace, &h.name);
                Some(ingress::live::handover(&object, i, &h.url()))
            })
            .collect();
        let Some((ns, sa)) = &pool.operator else {
            return out;
        };
        out.push(Handover {
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
        });
        out
    }

    /// The History Server's rollout, and its load balancer when asked to wait for it.
    async fn settle(
        &self,
        kube: &Kube,
        pool: &Pool,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), (ObjectRef, Diagnostic)> {
        let Some(h) = &pool.history else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let deployment = ObjectRef {
            kind: "Deployment",
            api_version: "apps/v1",
            namespace: Some(h.namespace.clone()),
            name: h.name.clone(),
        };
        rollout::wait(kube, &deployment, timeout, cancel)
            .await
            .map_err(|e| {
                let summary = match e {
                    RolloutError::Failed { .. } => "History Server rollout failed",
                    RolloutError::Timeout { .. } => "History Server rollout timed out",
                    _ => "History Server rollout not confirmed",
                };
                (
                    deployment.clone(),
                    Diagnostic::error(summary, e.to_string()),
                )
            })?;
        let Some(i) = &h.ingress else {
            return Ok(());
        };
        let left = timeout.saturating_sub(started.elapsed());
        let object = ingress::live::object(&h.namespace, &h.name);
        ingress::live::wait_for_address(kube, &object, i, left, cancel).await
    }

    const LIVE_OUTPUTS: &'static [&'static str] = &["history_server_load_balancer_hostname"];

    async fn live_outputs(
        &self,
        kube: &Kube,
        pool: &Pool,
    ) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        let hostname = match pool.history.as_ref().filter(|h| h.ingress.is_some()) {
            Some(h) => {
                let object = ingress::live::object(&h.namespace, &h.name);
                ingress::live::hostname(kube, &object).await?
            }
            None => Value::Null,
        };
        Ok(vec![("history_server_load_balancer_hostname", hostname)])
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
            (
                "history_server_url",
                pool.history
                    .as_ref()
                    .map_or(Value::Null, |h| Value::string(h.url())),
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
