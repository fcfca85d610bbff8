//! `dataplatform_spark_pool`: the Spark contract on the node groups, checked at plan time.
//!
//! Order: plan (defaults, placement checks, outputs), create/update, read, delete, import.
//! Rendering lives in [`render`].

pub mod render;
pub mod schema;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::clients::kube::ObjectRef;
use crate::conns::ProviderData;
use crate::framework::attr::{is_set, set, str_of};
use crate::framework::{
    ApplyResult, Context, CreateRequest, DeleteRequest, Diagnostic, Diagnostics, ModifyPlanRequest,
    ModifyPlanResponse, ReadRequest, ReadResult, Resource, Schema, UpdateRequest, ValidateRequest,
};
use crate::resources::kube_objects::{
    self, apply_all, fingerprints, prints_of, prints_value, read_all, with_prints, Live, Prints,
};
use crate::value::{AttributePath, Value};

use render::{Pool, Role};
use schema::DEFAULT_TIMEOUT;

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

/// Does a Kubernetes toleration tolerate a taint?
fn tolerates(t: &Json, taint: &render::Taint) -> bool {
    let key = t["key"].as_str().unwrap_or_default();
    let operator = t["operator"].as_str().unwrap_or("Equal");
    let effect = t["effect"].as_str().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    if key.is_empty() {
        return operator == "Exists";
    }
    if key != taint.key {
        return false;
    }
    match operator {
        "Exists" => true,
        _ => t["value"].as_str().unwrap_or_default() == taint.value.as_deref().unwrap_or_default(),
    }
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
    for taint in role
        .group_taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
    {
        if !role.tolerations.iter().any(|t| tolerates(t, taint)) {
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

#[async_trait]
impl Resource<ProviderData> for SparkPool {
    fn type_name(&self) -> &'static str {
        "dataplatform_spark_pool"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let c = req.config;
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

    fn modify_plan(
        &self,
        req: &ModifyPlanRequest<'_, ProviderData>,
        resp: &mut ModifyPlanResponse,
    ) {
        if req.config.is_null() {
            return;
        }
        let config = req.config;
        let planned = &mut resp.planned;
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
        if !is_set(config.get_attr("decommission")) {
            let d = render::default_decommission(planned);
            set(
                planned,
                "decommission",
                d.map_or(Value::Unknown, Value::bool),
            );
        }
        if let (Some(ns), Some(n)) = (str_of(planned, "namespace"), &name) {
            set(planned, "id", Value::string(format!("{ns}/{n}")));
        }
        let Some((pool, objects)) = desired(planned) else {
            for a in [
                "spark_conf",
                "driver_pod_template",
                "executor_pod_template",
                "spark_application_defaults",
                "objects",
            ] {
                set(planned, a, Value::Unknown);
            }
            return;
        };
        // Placement checked at plan time, before anything is created.
        check_role(&pool.driver, "driver", config, &mut resp.diagnostics);
        check_role(&pool.executor, "executor", config, &mut resp.diagnostics);
        if pool.executor.on_spot() && !pool.decommission {
            resp.diagnostics.attribute_error(
                AttributePath::root().attr("decommission"),
                "Spot executors without decommissioning",
                "The executors run on spot capacity: with decommission = false an interruption loses their shuffle \
                 and cached blocks and fails stages. Remove decommission = false.",
            );
        }
        if pool.driver.on_spot() {
            resp.diagnostics.push(
                Diagnostic::warning(
                    "Driver on spot capacity",
                    "A spot interruption of the driver fails the whole application; prefer an on-demand group.",
                )
                .at(AttributePath::root().attr("driver").attr("placement")),
            );
        }
        let conf = pool.spark_conf();
        set(
            planned,
            "spark_conf",
            Value::map(conf.iter().map(|(k, v)| (k.clone(), Value::string(v)))),
        );
        set(
            planned,
            "driver_pod_template",
            Value::string(render::to_yaml(&pool.driver_template())),
        );
        set(
            planned,
            "executor_pod_template",
            Value::string(render::to_yaml(&pool.executor_template())),
        );
        set(
            planned,
            "spark_application_defaults",
            Value::string(pool.spark_application_defaults().to_string()),
        );
        set(planned, "objects", prints_value(&fingerprints(&objects)));
    }

    async fn create(&self, ctx: &Context<ProviderData>, req: CreateRequest) -> ApplyResult {
        self.apply(ctx, req.planned, &Prints::new(), true).await
    }

    async fn update(&self, ctx: &Context<ProviderData>, req: UpdateRequest) -> ApplyResult {
        let prior = prints_of(&req.prior_state);
        self.apply(ctx, req.planned, &prior, false).await
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: ReadRequest) -> ReadResult {
        let data = ctx.data();
        let mut state = req.state;
        let kube = match data
            .kube(
                str_of(&state, "cluster_name").as_deref(),
                &ctx.cancellation_token(),
            )
            .await
        {
            Ok(k) => k,
            Err(d) => {
                return ReadResult {
                    state: Some(state),
                    private: req.private,
                    diagnostics: d.into(),
                }
            }
        };
        if state.get_attr("driver").is_none_or(Value::is_null) {
            // Import: the configuration is kept on the pod-template ConfigMap.
            let (Some(ns), Some(name)) = (str_of(&state, "namespace"), str_of(&state, "name"))
            else {
                return ReadResult::gone();
            };
            let cm = ObjectRef {
                kind: "ConfigMap",
                api_version: "v1",
                namespace: Some(ns),
                name: format!("{name}-pod-templates"),
            };
            let restored = match kube.get(&cm).await {
                Ok(None) => return ReadResult::gone(),
                Ok(Some(live)) => kube_objects::restore_config(&live, &schema::schema()),
                Err(e) => Err(e),
            };
            match restored {
                Ok(mut r) => {
                    set(
                        &mut r,
                        "id",
                        state.get_attr("id").cloned().unwrap_or(Value::Null),
                    );
                    state = r;
                }
                Err(e) => {
                    return ReadResult {
                        state: Some(state),
                        private: req.private,
                        diagnostics: kube_objects::kube_diag("Cannot import the Spark pool", &e)
                            .into(),
                    }
                }
            }
        }
        let Some((pool, objects)) = desired(&state) else {
            return ReadResult::found(state, req.private);
        };
        match read_all(&kube, &objects, true, &prints_of(&state)).await {
            Live::Found(prints) => {
                let mut state = with_prints(state, &prints);
                let conf = pool.spark_conf();
                set(
                    &mut state,
                    "spark_conf",
                    Value::map(conf.iter().map(|(k, v)| (k.clone(), Value::string(v)))),
                );
                set(
                    &mut state,
                    "driver_pod_template",
                    Value::string(render::to_yaml(&pool.driver_template())),
                );
                set(
                    &mut state,
                    "executor_pod_template",
                    Value::string(render::to_yaml(&pool.executor_template())),
                );
                set(
                    &mut state,
                    "spark_application_defaults",
                    Value::string(pool.spark_application_defaults().to_string()),
                );
                ReadResult::found(state, req.private)
            }
            Live::Gone => {
                tracing::info!(namespace = %pool.namespace, name = %pool.name, "Spark pool is gone; removing it from state");
                ReadResult::gone()
            }
            Live::Unreachable(d) | Live::Failed(d) => ReadResult {
                state: Some(state),
                private: req.private,
                diagnostics: d.into(),
            },
        }
    }

    async fn delete(&self, ctx: &Context<ProviderData>, req: DeleteRequest) -> Diagnostics {
        kube_objects::delete_resource(ctx, &req.prior_state, DEFAULT_TIMEOUT).await
    }

    async fn import(&self, _: &Context<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        kube_objects::import_state(&schema::schema().block, id, "spark/etl")
    }
}

impl SparkPool {
    async fn apply(
        &self,
        ctx: &Context<ProviderData>,
        planned: Value,
        prior: &Prints,
        creating: bool,
    ) -> ApplyResult {
        let Some((pool, objects)) = desired(&planned) else {
            return ApplyResult::failed(
                if creating {
                    Value::Null
                } else {
                    with_prints(planned, prior)
                },
                Diagnostic::error(
                    "Configuration not known",
                    "Some values are still unknown at apply time.",
                ),
            );
        };
        let kube = match ctx
            .data()
            .kube(
                str_of(&planned, "cluster_name").as_deref(),
                &ctx.cancellation_token(),
            )
            .await
        {
            Ok(k) => k,
            Err(d) => {
                return ApplyResult::failed(
                    if creating {
                        Value::Null
                    } else {
                        with_prints(planned, prior)
                    },
                    d,
                )
            }
        };
        tracing::info!(namespace = %pool.namespace, name = %pool.name, objects = objects.len(), "applying Spark pool");
        match apply_all(&kube, &objects, prior).await {
            Ok(recorded) => ApplyResult::ok(with_prints(planned, &recorded)),
            Err((recorded, d)) => {
                let state = if recorded.is_empty() {
                    Value::Null
                } else {
                    with_prints(planned, &recorded)
                };
                ApplyResult::failed(state, d)
            }
        }
    }
}

#[cfg(test)]
mod tests;
