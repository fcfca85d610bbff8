//! The address an ingress controller gives an Ingress (`status.loadBalancer.ingress`), and
//! waiting for it, naming the Ingress's events when it never comes: the AWS Load Balancer
//! Controller reports why it cannot build a load balancer (a subnet without the
//! `kubernetes.io/role/elb` tag, a missing certificate) only there.

use std::time::Duration;

use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::kube::{Kube, KubeError, ObjectRef};
use super::wait::{self, Backoff, Poll, WaitEnd};

#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("{ingress} was deleted while waiting for its address")]
    Gone { ingress: String },
    #[error(
        "timed out after {waited:?} waiting for the ingress controller to give {ingress} an address; {events}"
    )]
    Timeout {
        ingress: String,
        waited: Duration,
        /// The Ingress's events, described.
        events: String,
    },
    #[error("cancelled while waiting for {ingress}'s address")]
    Cancelled { ingress: String },
    #[error(transparent)]
    Kube(#[from] KubeError),
}

/// The first address in an Ingress's status: a hostname (an ALB's DNS name) or an IP.
pub fn address_of(ingress: &Json) -> Option<String> {
    let first = ingress.pointer("/status/loadBalancer/ingress/0")?;
    first["hostname"]
        .as_str()
        .or_else(|| first["ip"].as_str())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

/// The Ingress's address, `None` while it has none or does not exist.
///
/// # Errors
/// API and transport errors.
pub async fn address(kube: &Kube, ingress: &ObjectRef) -> Result<Option<String>, KubeError> {
    Ok(kube.get(ingress).await?.as_ref().and_then(address_of))
}

/// The events about an object, oldest first, as `reason: message` lines.
///
/// # Errors
/// API and transport errors.
pub async fn events(kube: &Kube, object: &ObjectRef) -> Result<Vec<String>, KubeError> {
    let namespace = object.namespace.as_deref().unwrap_or("default");
    let mut about: Vec<(String, String)> = kube
        .list("v1", "Event", namespace, "")
        .await?
        .into_iter()
        .filter(|e| {
            e.pointer("/involvedObject/kind").and_then(Json::as_str) == Some(object.kind)
                && e.pointer("/involvedObject/name").and_then(Json::as_str)
                    == Some(object.name.as_str())
        })
        .map(|e| {
            let at = e["lastTimestamp"]
                .as_str()
                .or_else(|| e["eventTime"].as_str())
                .unwrap_or_default()
                .to_string();
            let line = format!(
                "{}: {}",
                e["reason"].as_str().unwrap_or("Event"),
                e["message"].as_str().unwrap_or_default()
            );
            (at, line)
        })
        .collect();
    about.sort();
    Ok(about.into_iter().map(|(_, l)| l).collect())
}

/// Waits until the Ingress has an address and returns it.
///
/// # Errors
/// [`IngressError`]: the timeout with the Ingress's events, cancellation, or the API error.
pub async fn wait_for_address(
    kube: &Kube,
    ingress: &ObjectRef,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<String, IngressError> {
    let key = ingress.key();
    let backoff = Backoff {
        initial: Duration::from_millis(250),
        factor: 1.5,
        max: Duration::from_secs(10),
    };
    let result = wait::until(timeout, backoff, cancel, || async {
        let Some(live) = kube.get(ingress).await? else {
            return Err(IngressError::Gone {
                ingress: key.clone(),
            });
        };
        Ok(match address_of(&live) {
            Some(a) => Poll::Done(a),
            None => Poll::Pending("no address yet".into()),
        })
    })
    .await;
    match result {
        Ok(a) => Ok(a),
        Err(WaitEnd::Failed(e)) => Err(e),
        Err(WaitEnd::Cancelled) => Err(IngressError::Cancelled { ingress: key }),
        Err(WaitEnd::TimedOut { waited, .. }) => {
            let events = match events(kube, ingress).await {
                Ok(e) if e.is_empty() => {
                    "it has no events: no ingress controller has looked at it".to_string()
                }
                Ok(e) => format!("its events:\n  {}", e.join("\n  ")),
                Err(e) => format!("its events could not be read: {e}"),
            };
            Err(IngressError::Timeout {
                ingress: key,
                waited,
                events,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_address_is_the_first_hostname_or_ip() {
        let alb = json!({"status": {"loadBalancer": {"ingress": [
            {"hostname": "k8s-bi-metabase-0123456789.eu-central-1.elb.amazonaws.com"}]}}});
        assert_eq!(
            address_of(&alb).as_deref(),
            Some("k8s-bi-metabase-0123456789.eu-central-1.elb.amazonaws.com")
        );
        let nginx = json!({"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7"}]}}});
        assert_eq!(address_of(&nginx).as_deref(), Some("10.0.0.7"));
        assert_eq!(address_of(&json!({"status": {"loadBalancer": {}}})), None);
        assert_eq!(address_of(&json!({})), None);
    }
}
