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
                let pods = kube.list("v1", "Pod", &namespace, &selector(&d)).await?;
                let reason =
                    pod_failure(&pods).map_or(message.clone(), |p| format!("{p} ({message})"));
                return Err(RolloutError::Failed {
                    deployment: key.clone(),
                    reason,
                });
            }
            Progress::Pending(p) => p,
        };
        let pods = kube.list("v1", "Pod", &namespace, &selector(&d)).await?;
        if let Some(reason) = pod_failure(&pods) {
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
}
