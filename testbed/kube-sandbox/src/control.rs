//! The control API under `/_sandbox/` (no authentication): failed rollouts, faults, token
//! lifetime, reset, statistics.

use std::sync::atomic::Ordering;

use http::{Method, Response};
use serde_json::{json, Value};

use crate::api::{Body, Failure, State};

fn respond(status: u16, body: Value) -> Response<Body> {
    use http_body_util::{BodyExt, Full};
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(
            Full::new(bytes::Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("response")
}

pub async fn handle(state: &State, method: &Method, path: &str, body: &[u8]) -> Response<Body> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return respond(400, json!({"error": format!("body is not JSON: {e}")})),
        }
    };
    let text = |k: &str, default: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    match (method.as_str(), path.trim_end_matches('/')) {
        ("POST", "/_sandbox/fail-rollout") => {
            let name = text("name", "");
            if name.is_empty() {
                return respond(
                    400,
                    json!({"error": "name is required (a Deployment name or \"*\")"}),
                );
            }
            let failure = Failure {
                namespace: text("namespace", "default"),
                name,
                reason: text("reason", "ProgressDeadlineExceeded"),
                message: text("message", "the rollout failed"),
            };
            state.failures.lock().unwrap().push(failure);
            state.wake.notify_one();
            respond(200, json!({"ok": true}))
        }
        ("POST", "/_sandbox/clear-failures") => {
            state.failures.lock().unwrap().clear();
            state.wake.notify_one();
            respond(200, json!({"ok": true}))
        }
        ("POST", "/_sandbox/reset") => {
            state.reset().await;
            respond(200, json!({"ok": true}))
        }
        ("POST", "/_sandbox/rollout-delay") => match body.get("ms").and_then(Value::as_u64) {
            Some(ms) => {
                state.rollout_delay_ms.store(ms, Ordering::SeqCst);
                respond(200, json!({"ok": true}))
            }
            None => respond(400, json!({"error": "ms (a number) is required"})),
        },
        ("POST", "/_sandbox/faults") => match crate::faults::Settings::from_json(&body) {
            Ok(settings) => {
                let seed = body.get("seed").and_then(Value::as_u64);
                state.faults.lock().unwrap().configure(settings, seed);
                respond(200, json!({"ok": true}))
            }
            Err(e) => respond(400, json!({"error": e})),
        },
        ("DELETE", "/_sandbox/faults") => {
            state.faults.lock().unwrap().clear();
            respond(200, json!({"ok": true}))
        }
        ("POST", "/_sandbox/eks-token-max-age") => {
            match body.get("seconds").and_then(Value::as_i64) {
                Some(s) if s >= 0 => {
                    state.auth.eks_token_max_age_secs.store(s, Ordering::SeqCst);
                    respond(200, json!({"ok": true}))
                }
                _ => respond(
                    400,
                    json!({"error": "seconds (a whole number >= 0) is required"}),
                ),
            }
        }
        ("POST", "/_sandbox/fail-load-balancers") => {
            let failure = match (
                body.get("reason").and_then(Value::as_str),
                body.get("message").and_then(Value::as_str),
            ) {
                (Some(r), Some(m)) => Some((r.to_string(), m.to_string())),
                _ => None,
            };
            crate::controller::fail_load_balancers(failure.clone());
            state.wake.notify_one();
            respond(200, json!({"failing": failure.is_some()}))
        }
        ("POST", "/_sandbox/api-groups") => {
            let without: Vec<String> = body
                .get("without")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            crate::discovery::set_without_groups(without.clone());
            respond(200, json!({"without": without}))
        }
        ("POST", "/_sandbox/sts-endpoint") => {
            let url = match body.get("url") {
                Some(Value::Null) | None => Ok(None),
                Some(Value::String(u)) => sts_endpoint(u).map(Some),
                Some(_) => Err("url must be a string or null".to_string()),
            };
            match url {
                Ok(url) => {
                    *state
                        .auth
                        .sts_endpoint
                        .write()
                        .unwrap_or_else(|e| e.into_inner()) = url;
                    respond(200, json!({"ok": true}))
                }
                Err(e) => respond(400, json!({"error": e})),
            }
        }
        ("GET", "/_sandbox/stats") => respond(200, state.stats_json()),
        ("GET", "/_sandbox/healthz") => respond(200, json!({"ok": true})),
        _ => respond(
            404,
            json!({"error": format!("unknown control {method} {path}")}),
        ),
    }
}

/// An STS endpoint EKS tokens can be verified by: plain HTTP to a host and port.
pub fn sts_endpoint(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("STS endpoint {url:?}: only http://host:port is supported"))?;
    let hostport = rest.trim_end_matches('/');
    match hostport.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && port.parse::<u16>().is_ok() && !hostport.contains('/') =>
        {
            Ok(format!("http://{hostport}"))
        }
        _ => Err(format!("STS endpoint {url:?}: expected http://host:port")),
    }
}
