//! A stand-in for the deployment controller (and the kubelet): after a delay it rolls each
//! Deployment out, keeping one ReplicaSet per pod template and one Pod per replica, and writes
//! the status a real cluster would report — or a failed rollout when asked to (control API) or
//! when a container image tag ends in `-broken`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{json, Value};

use crate::api::{now_rfc3339, State};

#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    failure: Option<(String, String)>,
    /// Containers whose image cannot be pulled (for `-broken` images); empty: all of them.
    broken: Vec<String>,
}

pub async fn run(state: Arc<State>) {
    let mut pending: HashMap<String, (String, Instant)> = HashMap::new();
    loop {
        tokio::select! {
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        reconcile_all(&state, &mut pending).await;
    }
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

async fn reconcile_all(state: &State, pending: &mut HashMap<String, (String, Instant)>) {
    let deployments = state.list("/apis/apps/v1/deployments").await;
    let delay = Duration::from_millis(state.rollout_delay_ms.load(Ordering::SeqCst));
    let mut present = std::collections::HashSet::new();
    for d in deployments {
        let key = format!(
            "{}/{}",
            str_at(&d, "/metadata/namespace"),
            str_at(&d, "/metadata/name")
        );
        present.insert(key.clone());
        let desired = desired_status(&d, &outcome(state, &d), "");
        if status_matches(d.get("status"), &desired) {
            pending.remove(&key);
            continue;
        }
        let fingerprint = desired.to_string();
        let since = match pending.get(&key) {
            Some((fp, t)) if *fp == fingerprint => *t,
            _ => {
                pending.insert(key.clone(), (fingerprint, Instant::now()));
                continue;
            }
        };
        if since.elapsed() >= delay {
            pending.remove(&key);
            roll_out(
                state,
                str_at(&d, "/metadata/namespace"),
                str_at(&d, "/metadata/name"),
            )
            .await;
        }
    }
    pending.retain(|k, _| present.contains(k));
    give_load_balancers(state).await;
}

/// The controller name the AWS Load Balancer Controller's IngressClasses carry.
const ALB_CONTROLLER: &str = "ingress.k8s.aws/alb";

/// When set (`POST /_sandbox/fail-load-balancers`), the load balancer controller stand-in
/// cannot build load balancers: it reports (reason, message) as a Warning event on each
/// Ingress it serves, as the AWS Load Balancer Controller does, instead of an address.
static LB_FAILURE: std::sync::RwLock<Option<(String, String)>> = std::sync::RwLock::new(None);

pub fn fail_load_balancers(failure: Option<(String, String)>) {
    if let Ok(mut f) = LB_FAILURE.write() {
        *f = failure;
    }
}

/// A stand-in for the AWS Load Balancer Controller: an Ingress whose class is an IngressClass
/// of `ingress.k8s.aws/alb` gets an ALB's DNS name in its status, as the controller writes it
/// once the load balancer exists. Ingresses of a class nobody defines get nothing, as in a
/// cluster without the controller.
async fn give_load_balancers(state: &State) {
    let classes: Vec<String> = state
        .list("/apis/networking.k8s.io/v1/ingressclasses")
        .await
        .iter()
        .filter(|c| str_at(c, "/spec/controller") == ALB_CONTROLLER)
        .map(|c| str_at(c, "/metadata/name").to_string())
        .collect();
    if classes.is_empty() {
        return;
    }
    for ing in state.list("/apis/networking.k8s.io/v1/ingresses").await {
        let class = str_at(&ing, "/spec/ingressClassName");
        let has_address = ing
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if has_address || !classes.iter().any(|c| c == class) {
            continue;
        }
        let ns = str_at(&ing, "/metadata/namespace");
        let name = str_at(&ing, "/metadata/name");
        let failure = LB_FAILURE.read().ok().and_then(|f| f.clone());
        if let Some((reason, message)) = failure {
            report_failure(state, ns, name, &reason, &message).await;
            continue;
        }
        let _w = state.write.lock().await;
        let path = format!("/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}");
        let Some(mut live) = state.get(&path).await else {
            continue;
        };
        live["status"] = json!({"loadBalancer": {"ingress": [{"hostname": alb_hostname(&live)}]}});
        let _ = state
            .call_json(Method::PUT, &format!("{path}/status"), Some(&live))
            .await;
    }
}

/// A Warning event on the Ingress (one per reason), as the controller records a failed build.
async fn report_failure(state: &State, ns: &str, name: &str, reason: &str, message: &str) {
    let event_name = format!("{name}.{}", reason.to_ascii_lowercase());
    let path = format!("/api/v1/namespaces/{ns}/events");
    if state.get(&format!("{path}/{event_name}")).await.is_some() {
        return;
    }
    let now = now_rfc3339();
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns},
        "involvedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                           "name": name, "namespace": ns},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "source": {"component": "ingress"},
        "firstTimestamp": now, "lastTimestamp": now,
    });
    let _w = state.write.lock().await;
    let _ = state.call_json(Method::POST, &path, Some(&event)).await;
}

/// An ALB's DNS name as the controller names load balancers: `k8s-<namespace>-<name>-<hash>`
/// (or the group's name), `internal-` first for internal schemes.
fn alb_hostname(ing: &Value) -> String {
    let annotation = |k: &str| {
        str_at(
            ing,
            &format!("/metadata/annotations/alb.ingress.kubernetes.io~1{k}"),
        )
    };
    let ns = str_at(ing, "/metadata/namespace");
    let name = match annotation("group.name") {
        "" => format!("{ns}-{}", str_at(ing, "/metadata/name")),
        g => g.to_string(),
    };
    let mut short: String = format!("k8s-{name}").chars().take(22).collect();
    short = short.trim_end_matches('-').to_string();
    let hash = &canonical(&json!([ns, str_at(ing, "/metadata/uid")]))
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        .to_string();
    let prefix = if annotation("scheme") == "internet-facing" {
        ""
    } else {
        "internal-"
    };
    format!(
        "{prefix}{short}-{}.eu-central-1.elb.amazonaws.com",
        &hash[..hash.len().min(10)]
    )
}

fn outcome(state: &State, d: &Value) -> Outcome {
    let ns = str_at(d, "/metadata/namespace");
    let name = str_at(d, "/metadata/name");
    let registered = state
        .failures
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|f| (f.namespace == ns || f.namespace == "*") && (f.name == name || f.name == "*"))
        .cloned();
    if let Some(f) = registered {
        return Outcome {
            failure: Some((f.reason, f.message)),
            broken: Vec::new(),
        };
    }
    let containers = d
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let broken: Vec<(String, String)> = containers
        .iter()
        .filter_map(|c| {
            let image = c.get("image").and_then(Value::as_str)?;
            image_is_broken(image).then(|| (str_at(c, "/name").to_string(), image.to_string()))
        })
        .collect();
    match broken.first() {
        Some((_, image)) => Outcome {
            failure: Some((
                "ImagePullBackOff".to_string(),
                format!("Back-off pulling image \"{image}\""),
            )),
            broken: broken.iter().map(|(n, _)| n.clone()).collect(),
        },
        None => Outcome {
            failure: None,
            broken: Vec::new(),
        },
    }
}

fn image_is_broken(image: &str) -> bool {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':')
        .is_some_and(|(_, tag)| tag.ends_with("-broken"))
}

fn replicas(d: &Value) -> i64 {
    d.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// Canonical JSON (sorted keys), so the template hash does not depend on key order.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The pod-template-hash: 10 characters of the alphabet Kubernetes uses for it.
fn template_hash(d: &Value) -> String {
    let text = canonical(d.pointer("/spec/template").unwrap_or(&Value::Null));
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn condition(kind: &str, ok: bool, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind,
        "status": if ok { "True" } else { "False" },
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    })
}

/// The status a real cluster reports once the rollout finished (or failed). Zero counts are
/// left out, as the API server's JSON does.
fn desired_status(d: &Value, outcome: &Outcome, now: &str) -> Value {
    let n = replicas(d);
    let rs = format!("{}-{}", str_at(d, "/metadata/name"), template_hash(d));
    let generation = d
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut s = serde_json::Map::new();
    s.insert("observedGeneration".into(), json!(generation));
    let put = |s: &mut serde_json::Map<String, Value>, k: &str, v: i64| {
        if v != 0 {
            s.insert(k.into(), json!(v));
        }
    };
    match &outcome.failure {
        None => {
            put(&mut s, "replicas", n);
            put(&mut s, "updatedReplicas", n);
            put(&mut s, "readyReplicas", n);
            put(&mut s, "availableReplicas", n);
            s.insert(
                "conditions".into(),
                json!([
                    condition(
                        "Available",
                        true,
                        "MinimumReplicasAvailable",
                        "Deployment has minimum availability.",
                        now
                    ),
                    condition(
                        "Progressing",
                        true,
                        "NewReplicaSetAvailable",
                        &format!("ReplicaSet \"{rs}\" has successfully progressed."),
                        now
                    ),
                ]),
            );
        }
        Some(_) => {
            put(&mut s, "replicas", n);
            put(&mut s, "unavailableReplicas", n);
            s.insert(
                "conditions".into(),
                json!([
                    condition(
                        "Available",
                        false,
                        "MinimumReplicasUnavailable",
                        "Deployment does not have minimum availability.",
                        now
                    ),
                    condition(
                        "Progressing",
                        false,
                        "ProgressDeadlineExceeded",
                        &format!("ReplicaSet \"{rs}\" has timed out progressing."),
                        now
                    ),
                ]),
            );
        }
    }
    Value::Object(s)
}

fn conditions_summary(status: &Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = status
        .get("conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        str_at(c, "/type").to_string(),
                        str_at(c, "/status").to_string(),
                        str_at(c, "/reason").to_string(),
                        str_at(c, "/message").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn status_matches(actual: Option<&Value>, desired: &Value) -> bool {
    let Some(actual) = actual else { return false };
    for k in [
        "observedGeneration",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
    ] {
        if actual.get(k) != desired.get(k) {
            return false;
        }
    }
    conditions_summary(actual) == conditions_summary(desired)
}

fn owner_ref(kind: &str, api_version: &str, obj: &Value) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": str_at(obj, "/metadata/name"),
        "uid": str_at(obj, "/metadata/uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

pub(crate) fn owned_by(obj: &Value, uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
}

/// Writes the Deployment's status and brings its ReplicaSet and Pods in line.
async fn roll_out(state: &State, ns: &str, name: &str) {
    let _w = state.write.lock().await;
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
    let Some(mut d) = state.get(&path).await else {
        return;
    };
    let outcome = outcome(state, &d);
    let now = now_rfc3339();
    let hash = template_hash(&d);
    let rs_name = format!("{name}-{hash}");
    let n = replicas(&d);
    let ok = outcome.failure.is_none();
    let uid = str_at(&d, "/metadata/uid").to_string();

    // ReplicaSets: the current one, older ones deleted (with their Pods).
    let rs_path = format!("/apis/apps/v1/namespaces/{ns}/replicasets");
    for rs in state.list(&rs_path).await {
        if owned_by(&rs, &uid) && str_at(&rs, "/metadata/name") != rs_name {
            let _ = state
                .call_json(
                    Method::DELETE,
                    &format!("{rs_path}/{}", str_at(&rs, "/metadata/name")),
                    None,
                )
                .await;
        }
    }
    let mut template = d
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = d
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let ready = if ok { n } else { 0 };
    let mut rs_status = serde_json::Map::new();
    rs_status.insert("replicas".into(), json!(n));
    rs_status.insert("fullyLabeledReplicas".into(), json!(n));
    if ready != 0 {
        rs_status.insert("readyReplicas".into(), json!(ready));
        rs_status.insert("availableReplicas".into(), json!(ready));
    }
    rs_status.insert("observedGeneration".into(), json!(1));
    let rs = match state.get(&format!("{rs_path}/{rs_name}")).await {
        Some(mut rs) => {
            rs["spec"]["replicas"] = json!(n);
            rs["status"] = Value::Object(rs_status);
            let r = state
                .call_json(
                    Method::PUT,
                    &format!("{rs_path}/{rs_name}/status"),
                    Some(&rs),
                )
                .await;
            if r.status < 300 {
                r.body
            } else {
                rs
            }
        }
        None => {
            let rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name,
                    "namespace": ns,
                    "labels": template["metadata"]["labels"].clone(),
                    "annotations": {"deployment.kubernetes.io/desired-replicas": n.to_string()},
                    "ownerReferences": [owner_ref("Deployment", "apps/v1", &d)],
                },
                "spec": {"replicas": n, "selector": selector, "template": template.clone()},
                "status": Value::Object(rs_status),
            });
            let r = state.call_json(Method::POST, &rs_path, Some(&rs)).await;
            if r.status >= 300 {
                return;
            }
            r.body
        }
    };
    let rs_uid = str_at(&rs, "/metadata/uid").to_string();

    // Pods: `<deployment>-<hash>-<i>` for each replica.
    let pods_path = format!("/api/v1/namespaces/{ns}/pods");
    let wanted: Vec<String> = (0..n).map(|i| format!("{rs_name}-{i}")).collect();
    let pods = state.list(&pods_path).await;
    for p in &pods {
        let pname = str_at(p, "/metadata/name");
        if owned_by(p, &rs_uid) && !wanted.iter().any(|w| w == pname) {
            let _ = state
                .call_json(Method::DELETE, &format!("{pods_path}/{pname}"), None)
                .await;
        }
    }
    for (i, pname) in wanted.iter().enumerate() {
        let status = pod_status(&template, &outcome, &now, i);
        match pods
            .iter()
            .find(|p| str_at(p, "/metadata/name") == pname.as_str())
        {
            Some(p) => {
                if pod_status_summary(p.get("status").unwrap_or(&Value::Null))
                    != pod_status_summary(&status)
                {
                    let mut p = p.clone();
                    p["status"] = status;
                    let _ = state
                        .call_json(
                            Method::PUT,
                            &format!("{pods_path}/{pname}/status"),
                            Some(&p),
                        )
                        .await;
                }
            }
            None => {
                let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
                spec["nodeName"] = json!("kube-sandbox-node");
                let mut meta = template
                    .get("metadata")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                meta["name"] = json!(pname);
                meta["namespace"] = json!(ns);
                meta["ownerReferences"] = json!([owner_ref("ReplicaSet", "apps/v1", &rs)]);
                let pod = json!({
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": meta,
                    "spec": spec,
                    "status": status,
                });
                let _ = state.call_json(Method::POST, &pods_path, Some(&pod)).await;
            }
        }
    }

    d["status"] = desired_status(&d, &outcome, &now);
    let _ = state
        .call_json(Method::PUT, &format!("{path}/status"), Some(&d))
        .await;
}

fn pod_status(template: &Value, outcome: &Outcome, now: &str, index: usize) -> Value {
    let containers = template
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let waiting_for = |name: &str| -> Option<(String, String)> {
        let (reason, message) = outcome.failure.clone()?;
        (outcome.broken.is_empty() || outcome.broken.iter().any(|b| b == name))
            .then_some((reason, message))
    };
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let name = str_at(c, "/name");
            let image = str_at(c, "/image");
            match waiting_for(name) {
                Some((reason, message)) => json!({
                    "name": name, "image": image, "imageID": "", "ready": false, "started": false,
                    "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}},
                }),
                None => json!({
                    "name": name, "image": image, "imageID": format!("{image}@sha256:0000"),
                    "ready": outcome.failure.is_none(), "started": true,
                    "restartCount": 0, "state": {"running": {"startedAt": now}},
                    "containerID": format!("containerd://{}", "0".repeat(64)),
                }),
            }
        })
        .collect();
    let ok = outcome.failure.is_none();
    let unready: Vec<&str> = containers
        .iter()
        .map(|c| str_at(c, "/name"))
        .filter(|n| !ok && waiting_for(n).is_some())
        .collect();
    let cond = |t: &str, s: bool| {
        let mut c = json!({"type": t, "status": if s { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
        if !s {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            ));
        }
        c
    };
    json!({
        "phase": if ok { "Running" } else { "Pending" },
        "conditions": [
            cond("PodReadyToStartContainers", true),
            cond("Initialized", true),
            cond("Ready", ok),
            cond("ContainersReady", ok),
            cond("PodScheduled", true),
        ],
        "hostIP": "10.0.0.10",
        "podIP": format!("10.244.0.{}", 10 + index % 240),
        "startTime": now,
        "qosClass": "BestEffort",
        "containerStatuses": statuses,
    })
}

fn pod_status_summary(s: &Value) -> String {
    let containers: Vec<String> = s
        .get("containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}:{}:{}:{}",
                        str_at(c, "/name"),
                        c.get("ready").and_then(Value::as_bool).unwrap_or(false),
                        str_at(c, "/state/waiting/reason"),
                        str_at(c, "/state/waiting/message")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{}|{}", str_at(s, "/phase"), containers.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_images() {
        assert!(image_is_broken("nginx:1.27-broken"));
        assert!(image_is_broken("registry:5000/team/app:v2-broken"));
        assert!(!image_is_broken("registry-broken:5000/app:v2"));
        assert!(!image_is_broken("nginx"));
        assert!(!image_is_broken("nginx:1.27"));
    }

    #[test]
    fn hash_is_stable_and_key_order_independent() {
        let a = json!({"spec": {"template": {"metadata": {"labels": {"a": "1", "b": "2"}}}}});
        let b: Value = serde_json::from_str(
            r#"{"spec": {"template": {"metadata": {"labels": {"b": "2", "a": "1"}}}}}"#,
        )
        .unwrap();
        assert_eq!(template_hash(&a), template_hash(&b));
        assert_eq!(template_hash(&a).len(), 10);
    }

    #[test]
    fn statuses() {
        let d = json!({"metadata": {"name": "web", "generation": 3}, "spec": {"replicas": 2}});
        let ok = desired_status(
            &d,
            &Outcome {
                failure: None,
                broken: vec![],
            },
            "t",
        );
        assert_eq!(ok["availableReplicas"], 2);
        assert_eq!(ok["observedGeneration"], 3);
        let failed = desired_status(
            &d,
            &Outcome {
                failure: Some(("ImagePullBackOff".into(), "x".into())),
                broken: vec![],
            },
            "t",
        );
        assert!(failed.get("availableReplicas").is_none());
        assert!(failed.to_string().contains("has timed out progressing"));
        assert!(!status_matches(Some(&ok), &failed));
        assert!(status_matches(
            Some(&ok),
            &desired_status(
                &d,
                &Outcome {
                    failure: None,
                    broken: vec![]
                },
                "u"
            )
        ));
    }
}
