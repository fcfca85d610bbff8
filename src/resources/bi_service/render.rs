//! The Kubernetes objects of a BI service, rendered from its spec: the same function at plan,
//! apply and refresh, so fingerprints agree whenever the live objects match.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use super::engines::{self, EnvValue, Metrics, METRICS_PORT_NAME};
use super::model::{Monitoring, ServiceAccount, Spec};
use super::pod;
use crate::resources::kube_objects::pod_iam;

pub use crate::resources::kube_objects::CHECKSUM_ANNOTATION;
pub use crate::resources::kube_objects::CONFIG_ANNOTATION;
use crate::resources::kube_objects::MANAGED_BY;

/// The pod template annotation `secret_version` is written to.
pub const SECRET_VERSION_ANNOTATION: &str = "dataplatform.io/secret-version";

/// The selector labels of a service's pods.
pub fn selector(spec: &Spec) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            spec.engine.name().to_string(),
        ),
        ("app.kubernetes.io/instance".to_string(), spec.name.clone()),
    ])
}

fn labels(spec: &Spec) -> Json {
    let mut l = spec.labels.clone();
    l.extend(selector(spec));
    l.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    json!(l)
}

fn meta(spec: &Spec, name: &str) -> Json {
    json!({"name": name, "namespace": spec.namespace, "labels": labels(spec)})
}

/// The Secret's data (plain text, not yet base64) for a password.
pub fn secret_data(spec: &Spec, password: Option<&str>) -> BTreeMap<String, String> {
    engines::wiring(spec, password).1
}

/// Renders every object, in the order they are applied. `password` is the database password
/// (from state, plan or the write-only configuration); `config` the annotation for import.
pub fn objects(spec: &Spec, password: Option<&str>, config: &str) -> Vec<Json> {
    let (env, data) = engines::wiring(spec, password);
    let mut out = Vec::new();
    if spec.create_namespace {
        out.push(namespace(spec));
    }
    if let Some(sa) = spec.service_account.as_ref().filter(|sa| sa.create) {
        out.push(service_account(spec, sa));
    }
    if !data.is_empty() {
        out.push(secret(spec, &data));
    }
    out.push(deployment(spec, &env, &data, config));
    out.push(service(spec));
    out.push(disruption_budget(spec));
    if let Some(a) = &spec.pod.autoscaling {
        out.push(pod::autoscaler_json(a, &spec.name, meta(spec, &spec.name)));
    }
    if let Some(i) = &spec.ingress {
        out.push(crate::resources::ingress::render::object(
            meta(spec, &spec.name),
            &spec.name,
            i,
        ));
    }
    if let Some(mon) = &spec.monitoring {
        if spec.engine.metrics() != Metrics::NotServed {
            out.push(service_monitor(spec, mon));
        }
        out.push(prometheus_rule(spec, mon));
    }
    out
}

fn namespace(spec: &Spec) -> Json {
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": spec.namespace, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
    })
}

/// The Secret is named after the service; the Deployment's environment refers to its keys.
/// The service account the resource owns; the IRSA annotation wins over the given ones.
fn service_account(spec: &Spec, sa: &ServiceAccount) -> Json {
    let mut metadata = meta(spec, &sa.name);
    let mut annotations: Map<String, Json> = sa
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if let Some(Json::Object(irsa)) = pod_iam::service_account_annotations(spec.iam.as_ref()) {
        annotations.extend(irsa);
    }
    if !annotations.is_empty() {
        metadata["annotations"] = Json::Object(annotations);
    }
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
}

fn secret(spec: &Spec, data: &BTreeMap<String, String>) -> Json {
    use base64::Engine as _;
    let encoded: Map<String, Json> = data
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": meta(spec, &spec.name),
        "type": "Opaque",
        "data": encoded,
    })
}

fn container(spec: &Spec, env: &BTreeMap<String, EnvValue>) -> Json {
    // Composed values come last: Kubernetes expands `$(VAR)` only from variables defined
    // before them in the list.
    let (composed, direct): (Vec<_>, Vec<_>) = env
        .iter()
        .partition(|(_, v)| matches!(v, EnvValue::Composed(_)));
    let env_list: Vec<Json> = direct
        .into_iter()
        .chain(composed)
        .map(|(k, v)| match v {
            EnvValue::Plain(s) | EnvValue::Composed(s) => json!({"name": k, "value": s}),
            EnvValue::Secret(key) => {
                json!({"name": k, "valueFrom": {"secretKeyRef": {"name": spec.name, "key": key}}})
            }
            EnvValue::Ref(r) => {
                json!({"name": k, "valueFrom": {"secretKeyRef": {"name": r.name, "key": r.key}}})
            }
        })
        .collect();
    let e = spec.engine;
    let mut requests = Map::new();
    requests.insert("cpu".into(), json!(spec.cpu_request));
    requests.insert("memory".into(), json!(spec.memory_request));
    let mut limits = Map::new();
    if let Some(c) = &spec.cpu_limit {
        limits.insert("cpu".into(), json!(c));
    }
    limits.insert("memory".into(), json!(spec.memory_limit));
    let mut container = json!({
        "name": e.name(),
        "image": spec.image(),
        "imagePullPolicy": spec.pull_policy,
        "ports": container_ports(spec),
        "env": env_list,
        "resources": {"requests": requests, "limits": limits},
        "readinessProbe": {
            "httpGet": {"path": e.health_path(), "port": "http"},
            "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": e.health_path(), "port": "http"},
            "initialDelaySeconds": e.start_seconds(),
            "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 6,
        },
    });
    container["startupProbe"] = pod::startup_probe_json(e, spec.pod.startup_probe.as_ref());
    container["securityContext"] = pod::container_security_json(&spec.pod);
    if let Some(mounts) = pod::mounts_json(&spec.pod) {
        container["volumeMounts"] = mounts;
    }
    let args = e.args();
    if !args.is_empty() {
        container["args"] = json!(args);
    }
    container
}

/// The metrics port of an engine that serves metrics on a port of its own, when monitoring
/// is on.
fn metrics_port(spec: &Spec) -> Option<u16> {
    match (spec.monitoring.as_ref(), spec.engine.metrics()) {
        (Some(_), Metrics::OwnPort(port)) => Some(port),
        _ => None,
    }
}

fn container_ports(spec: &Spec) -> Json {
    let mut ports =
        vec![json!({"name": "http", "containerPort": spec.engine.port(), "protocol": "TCP"})];
    if let Some(port) = metrics_port(spec) {
        ports.push(json!({"name": METRICS_PORT_NAME, "containerPort": port, "protocol": "TCP"}));
    }
    json!(ports)
}

/// The pod template carries a keyed checksum of the Secret's data
/// ([`crate::resources::kube_objects::checksum`]), so a changed credential rolls the pods; the Deployment carries the configuration an import restores.
fn deployment(
    spec: &Spec,
    env: &BTreeMap<String, EnvValue>,
    data: &BTreeMap<String, String>,
    config: &str,
) -> Json {
    let mut pod_spec = json!({"containers": [container(spec, env)]});
    if !spec.node_selector.is_empty() {
        pod_spec["nodeSelector"] = json!(spec.node_selector);
    }
    if !spec.tolerations.is_empty() {
        pod_spec["tolerations"] = json!(spec.tolerations);
    }
    if !spec.image_pull_secrets.is_empty() {
        let names: Vec<Json> = spec
            .image_pull_secrets
            .iter()
            .map(|n| json!({"name": n}))
            .collect();
        pod_spec["imagePullSecrets"] = Json::Array(names);
    }
    if let Some(p) = &spec.priority_class_name {
        pod_spec["priorityClassName"] = json!(p);
    }
    pod::apply_to_pod(
        spec.engine,
        spec.replicas,
        &spec.pod,
        &selector(spec),
        &mut pod_spec,
    );
    if let Some(sa) = &spec.service_account {
        pod_spec["serviceAccountName"] = json!(sa.name);
    }
    // The resource's own labels (the selector among them) win over the pod's extra ones.
    let mut pod_labels = spec.pod_labels.clone();
    if let Json::Object(own) = labels(spec) {
        for (k, v) in own {
            if let Some(v) = v.as_str() {
                pod_labels.insert(k, v.to_string());
            }
        }
    }
    let mut template_meta = json!({"labels": pod_labels});
    let mut annotations: Map<String, Json> = spec
        .pod_annotations
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !data.is_empty() {
        // Names the Secret; the apply puts the keyed checksum of its data here.
        annotations.insert(CHECKSUM_ANNOTATION.into(), json!(spec.name));
    }
    if let Some(v) = &spec.secret_version {
        // Referenced Secrets are never read: changing this is what rolls the pods for them.
        annotations.insert(SECRET_VERSION_ANNOTATION.into(), json!(v));
    }
    if !annotations.is_empty() {
        template_meta["annotations"] = Json::Object(annotations);
    }
    let mut deployment_meta = meta(spec, &spec.name);
    deployment_meta["annotations"] = json!({CONFIG_ANNOTATION: config});
    let mut deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": deployment_meta,
        "spec": {
            "replicas": spec.replicas,
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": selector(spec)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": template_meta, "spec": pod_spec},
        },
    });
    if spec.pod.autoscaling.is_some() {
        // The autoscaler owns the number of pods: not applying it leaves it to it, and a
        // refresh does not see its changes as drift.
        if let Some(s) = deployment["spec"].as_object_mut() {
            s.remove("replicas");
        }
    }
    deployment
}

/// ALB instance targets reach the pods through a node port.
fn service(spec: &Spec) -> Json {
    let instance_targets = spec
        .ingress
        .as_ref()
        .is_some_and(|i| i.target_type == "instance");
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(spec, &spec.name),
        "spec": {
            "type": if instance_targets { "NodePort" } else { "ClusterIP" },
            "selector": selector(spec),
            "ports": service_ports(spec),
        },
    })
}

fn service_ports(spec: &Spec) -> Json {
    let mut ports =
        vec![json!({"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"})];
    if let Some(port) = metrics_port(spec) {
        ports.push(json!({"name": METRICS_PORT_NAME, "port": port, "targetPort": METRICS_PORT_NAME, "protocol": "TCP"}));
    }
    json!(ports)
}

fn disruption_budget(spec: &Spec) -> Json {
    json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": meta(spec, &spec.name),
        // maxUnavailable rather than minAvailable: node drains (scale-down, node group
        // upgrades) can always evict a single-replica service instead of failing.
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(spec)}},
    })
}

/// The Service port the ServiceMonitor scrapes.
fn scraped_port(spec: &Spec) -> &'static str {
    match spec.engine.metrics() {
        Metrics::OwnPort(_) => METRICS_PORT_NAME,
        Metrics::WebPort | Metrics::NotServed => "http",
    }
}

fn service_monitor(spec: &Spec, mon: &Monitoring) -> Json {
    json!({
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": meta(spec, &spec.name),
        "spec": {
            "selector": {"matchLabels": selector(spec)},
            "namespaceSelector": {"matchNames": [spec.namespace]},
            "endpoints": [{"port": scraped_port(spec), "path": mon.metrics_path, "interval": "30s"}],
        },
    })
}

/// Alerts on restarts, memory close to the limit and CPU throttling.
fn prometheus_rule(spec: &Spec, mon: &Monitoring) -> Json {
    let e = spec.engine;
    let pods = format!("namespace=\"{}\",pod=~\"{}-.*\"", spec.namespace, spec.name);
    let container = format!("{pods},container=\"{}\"", e.name());
    let alert_labels = json!({"severity": "warning", "service": spec.name, "engine": e.name()});
    json!({
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": meta(spec, &spec.name),
        "spec": {"groups": [{
            "name": format!("{}.rules", spec.name),
            "rules": [
                {
                    "alert": "BIServiceRestarting",
                    "expr": format!("increase(kube_pod_container_status_restarts_total{{{pods}}}[15m]) > {}", mon.restart_threshold),
                    "labels": alert_labels,
                    "annotations": {
                        "summary": format!("{} ({}) restarts too often", spec.name, e.name()),
                        "description": format!("A pod of {}/{} restarted more than {} times in 15 minutes.", spec.namespace, spec.name, mon.restart_threshold),
                    },
                },
                {
                    "alert": "BIServiceMemoryHigh",
                    "expr": format!(
                        "max by (pod) (container_memory_working_set_bytes{{{container}}}) / max by (pod) (kube_pod_container_resource_limits{{{container},resource=\"memory\"}}) > 0.9"
                    ),
                    "for": "10m",
                    "labels": alert_labels,
                    "annotations": {
                        "summary": format!("{} ({}) is close to its memory limit", spec.name, e.name()),
                        "description": format!("A pod of {}/{} has used over 90% of its memory limit for 10 minutes.", spec.namespace, spec.name),
                    },
                },
                {
                    "alert": "BIServiceCPUThrottled",
                    "expr": format!(
                        "sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{{{container}}}[5m])) / sum by (pod) (rate(container_cpu_cfs_periods_total{{{container}}}[5m])) > 0.5"
                    ),
                    "for": "15m",
                    "labels": alert_labels,
                    "annotations": {
                        "summary": format!("{} ({}) is CPU throttled", spec.name, e.name()),
                        "description": format!("Over half of the CPU periods of a pod of {}/{} were throttled for 15 minutes.", spec.namespace, spec.name),
                    },
                },
            ],
        }]},
    })
}
