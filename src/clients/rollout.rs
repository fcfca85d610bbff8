//! Waiting for a Deployment to roll out, as `kubectl rollout status` does, and naming the pod
//! and reason when it cannot.

use std::time::Duration;

use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::kube::{Kube, KubeError, ObjectRef};
use super::wait::{self, Backoff, Poll, WaitEnd};

/// Container states that do not fix themselves.
const FATAL_WAITING: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
];

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("{deployment} did not roll out: {reason}")]
    Failed { deployment: String, reason: String },
    #[error("{deployment} was deleted while rolling out")]
    Gone { deployment: String },
    #[error("timed out after {waited:?} waiting for {deployment} to roll out (last seen: {last})")]
    Timeout {
        deployment: String,
        waited: Duration,
        last: String,
    },
    #[error("cancelled while waiting for {deployment} to roll out")]
    Cancelled { deployment: String },
    #[error(transparent)]
    Kube(#[from] KubeError),
}

fn int(v: &Json, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Json::as_i64).unwrap_or(0)
}

fn condition<'a>(d: &'a Json, kind: &str) -> Option<&'a Json> {
    d.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// Where a Deployment is in its rollout.
pub enum Progress {
    Done,
    Pending(String),
    /// The Deployment controller gave up (progress deadline exceeded).
    Stuck(String),
}

/// Reads a Deployment's status the way `kubectl rollout status` does.
pub fn progress(d: &Json) -> Progress {
    let generation = int(d, "/metadata/generation");
    let observed = int(d, "/status/observedGeneration");
    if observed < generation {
        return Progress::Pending(
            "waiting for the deployment controller to observe the new spec".into(),
        );
    }
    if let Some(c) = condition(d, "Progressing") {
        if c["status"] == "False" && c["reason"] == "ProgressDeadlineExceeded" {
            return Progress::Stuck(
                c["message"]
                    .as_str()
                    .unwrap_or("progress deadline exceeded")
                    .to_string(),
            );
        }
    }
    let want = d
        .pointer("/spec/replicas")
        .and_then(Json::as_i64)
        .unwrap_or(1);
    let updated = int(d, "/status/updatedReplicas");
    let replicas = int(d, "/status/replicas");
    let available = int(d, "/status/availableReplicas");
    if updated < want {
        return Progress::Pending(format!("{updated} of {want} replicas updated"));
    }
    if replicas > updated {
        return Progress::Pending(format!(
            "{} old replicas pending termination",
            replicas - updated
        ));
    }
    if available < updated {
        return Progress::Pending(format!(
            "{available} of {updated} updated replicas available"
        ));
    }
    Progress::Done
}

/// Why the pods of a Deployment are not running, if a container is stuck for good.
pub fn pod_failure(pods: &[Json]) -> Option<String> {
    for pod in pods {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or("?");
        let statuses = pod
            .pointer("/status/containerStatuses")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .chain(
                pod.pointer("/status/initContainerStatuses")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten(),
            );
        for s in statuses {
            if let Some(w) = s.pointer("/state/waiting") {
                let reason = w["reason"].as_str().unwrap_or_default();
                if FATAL_WAITING.contains(&reason) {
                    let message = w["message"].as_str().unwrap_or_default();
                    let container = s["name"].as_str().unwrap_or("?");
                    return Some(if message.is_empty() {
                        format!("pod {name}, container {container}: {reason}")
                    } else {
                        format!("pod {name}, container {container}: {reason}: {message}")
                    });
                }
            }
        }
        if pod.pointer("/status/reason").and_then(Json::as_str) == Some("Evicted") {
            let message = pod
                .pointer("/status/message")
                .and_then(Json::as_str)
                .unwrap_or_default();
            return Some(format!("pod {name}: Evicted: {message}"));
        }
    }
    None
}

/// The label the Deployment controller puts on a ReplicaSet's template and its Pods.
const TEMPLATE_HASH: &str = "pod-template-hash";

/// A pod template without the controller's hash label, for comparing a ReplicaSet's
/// template with its Deployment's.
fn without_hash(template: &Json) -> Json {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Json::as_object_mut)
    {
        labels.remove(TEMPLATE_HASH);
        if labels.is_empty() {
            if let Some(meta) = t.pointer_mut("/metadata").and_then(Json::as_object_mut) {
                meta.remove("labels");
            }
        }
    }
    t
}

/// The pod-template-hash of the Deployment's current ReplicaSet: the one whose template is
/// the Deployment's (as `kubectl rollout status` finds it). None until the controller made it.
pub fn current_template_hash(d: &Json, replica_sets: &[Json]) -> Option<String> {
    let wanted = without_hash(d.pointer("/spec/template")?);
    let uid = d.pointer("/metadata/uid").and_then(Json::as_str);
    replica_sets
        .iter()
        .filter(|rs| {
            uid.is_none()
                || rs
                    .pointer("/metadata/ownerReferences")
                    .and_then(Json::as_array)
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == uid))
        })
        .find(|rs| {
            rs.pointer("/spec/template")
                .is_some_and(|t| without_hash(t) == wanted)
        })
        .and_then(|rs| {
            rs.pointer("/spec/template/metadata/labels")
                .and_then(|l| l.get(TEMPLATE_HASH))
                .or_else(|| {
                    rs.pointer("/metadata/labels")
                        .and_then(|l| l.get(TEMPLATE_HASH))
                })
                .and_then(Json::as_str)
                .map(str::to_string)
        })
}

/// Why the pods of the Deployment's current template are stuck, if they are: pods of older
/// templates (a broken image being rolled back) do not count, nor does anything before the
/// controller has made the current ReplicaSet.
async fn current_pod_failure(
    kube: &Kube,
    namespace: &str,
    d: &Json,
) -> Result<Option<String>, KubeError> {
    let selector = selector(d);
    let replica_sets = kube
        .list("apps/v1", "ReplicaSet", namespace, &selector)
        .await?;
    let Some(hash) = current_template_hash(d, &replica_sets) else {
        return Ok(None);
    };
    let selector = if selector.is_empty() {
        format!("{TEMPLATE_HASH}={hash}")
    } else {
        format!("{selector},{TEMPLATE_HASH}={hash}")
    };
    let pods = kube.list("v1", "Pod", namespace, &selector).await?;
    Ok(pod_failure(&pods))
}

fn selector(d: &Json) -> String {
    d.pointer("/spec/selector/matchLabels")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Waits until the Deployment has rolled out, failing early when a pod is stuck for good or
/// the controller reports the progress deadline exceeded.
///
/// # Errors
/// [`RolloutError`] naming the pod and reason, the timeout, or the API error.
pub async fn wait(
    kube: &Kube,
    deployment: &ObjectRef,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), RolloutError> {
    let key = deployment.key();
    let backoff = Backoff {
        initial: Duration::from_millis(250),
        factor: 1.5,
        max: Duration::from_secs(5),
    };
    let namespace = deployment.namespace.clone().unwrap_or_default();
    let result = wait::until(timeout, backoff, cancel, || async {
        let Some(d) = kube.get(deployment).await? else {
            return Err(RolloutError::Gone {
                deployment: key.clone(),
            });
        };
        let pending = match progress(&d) {
            Progress::Done => return Ok(Poll::Done(())),
            Progress::Stuck(message) => {
                let reason = current_pod_failure(kube, &namespace, &d)
                    .await?
                    .map_or(message.clone(), |p| format!("{p} ({message})"));
                return Err(RolloutError::Failed {
                    deployment: key.clone(),
                    reason,
                });
            }
            Progress::Pending(p) => p,
        };
        if let Some(reason) = current_pod_failure(kube, &namespace, &d).await? {
            return Err(RolloutError::Failed {
                deployment: key.clone(),
                reason,
            });
        }
        Ok(Poll::Pending(pending))
    })
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(WaitEnd::Failed(e)) => Err(e),
        Err(WaitEnd::Cancelled) => Err(RolloutError::Cancelled { deployment: key }),
        Err(WaitEnd::TimedOut { waited, last }) => Err(RolloutError::Timeout {
            deployment: key,
            waited,
            last,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollout_progress_follows_generation_and_replicas() {
        let pending = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
                             "status": {"observedGeneration": 1}});
        assert!(matches!(progress(&pending), Progress::Pending(_)));
        let updating = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
                              "status": {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3, "availableReplicas": 2}});
        assert!(matches!(progress(&updating), Progress::Pending(p) if p.contains("1 of 2")));
        let done = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
                          "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}});
        assert!(matches!(progress(&done), Progress::Done));
        let stuck = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1},
                           "status": {"observedGeneration": 1, "conditions": [
                               {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"m-1\" has timed out progressing."}]}});
        assert!(matches!(progress(&stuck), Progress::Stuck(m) if m.contains("timed out")));
        let zero = json!({"metadata": {"generation": 3}, "spec": {"replicas": 0},
                          "status": {"observedGeneration": 3}});
        assert!(matches!(progress(&zero), Progress::Done));
    }

    #[test]
    fn stuck_pods_are_named_with_their_reason() {
        let pods = vec![
            json!({"metadata": {"name": "m-1-a"}, "status": {"phase": "Running",
                   "containerStatuses": [{"name": "metabase", "state": {"running": {}}}]}}),
            json!({"metadata": {"name": "m-2-b"}, "status": {"phase": "Pending",
                   "containerStatuses": [{"name": "metabase", "state": {"waiting": {
                       "reason": "ImagePullBackOff", "message": "Back-off pulling image \"x:broken\""}}}]}}),
        ];
        let f = pod_failure(&pods).unwrap_or_default();
        assert!(
            f.contains("m-2-b") && f.contains("ImagePullBackOff") && f.contains("x:broken"),
            "{f}"
        );
        let starting = vec![
            json!({"metadata": {"name": "m"}, "status": {"containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]}}),
        ];
        assert_eq!(pod_failure(&starting), None);
    }

    #[test]
    fn only_the_current_replica_set_counts() {
        let template = |image: &str| {
            json!({"metadata": {"labels": {"app": "m"}},
                                            "spec": {"containers": [{"name": "m", "image": image}]}})
        };
        let with_hash = |image: &str, hash: &str| {
            let mut t = template(image);
            t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            t
        };
        let rs = |image: &str, hash: &str, owner: &str| {
            json!({
            "metadata": {"name": format!("m-{hash}"), "labels": {"app": "m", "pod-template-hash": hash},
                         "ownerReferences": [{"uid": owner}]},
            "spec": {"template": with_hash(image, hash)}})
        };
        let d = json!({"metadata": {"uid": "u1"}, "spec": {"template": template("m:1")}});
        let sets = vec![
            rs("m:1-broken", "bbbbbbbbbb", "u1"),
            rs("m:1", "cccccccccc", "u1"),
        ];
        assert_eq!(
            current_template_hash(&d, &sets).as_deref(),
            Some("cccccccccc")
        );
        // Rolled back to a template whose ReplicaSet the controller has not made yet.
        let d2 = json!({"metadata": {"uid": "u1"}, "spec": {"template": template("m:2")}});
        assert_eq!(current_template_hash(&d2, &sets), None);
        // Another Deployment's ReplicaSet with the same template is not this one's.
        assert_eq!(
            current_template_hash(&d, &[rs("m:1", "dddddddddd", "u2")]),
            None
        );
    }
}
