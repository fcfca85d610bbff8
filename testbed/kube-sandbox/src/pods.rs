//! What the API server's Pod strategy does on create: the status starts as `phase: Pending`
//! with the Pod's QoS class, whatever the client sent (clients such as spark-submit read
//! `status` of the Pods they created and fail on a Pod without one).

use serde_json::{json, Value};

/// The status a newly created Pod gets.
pub fn initial_status(pod: &Value) -> Value {
    json!({"phase": "Pending", "qosClass": qos_class(pod)})
}

/// `Guaranteed` when every container has CPU and memory limits and its requests (if given)
/// equal them, `BestEffort` when no container requests or limits CPU or memory, else
/// `Burstable` (as `GetPodQOS`).
pub fn qos_class(pod: &Value) -> &'static str {
    let containers = ["/spec/containers", "/spec/initContainers"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten();
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        for res in ["cpu", "memory"] {
            let request = c.pointer(&format!("/resources/requests/{res}"));
            let limit = c.pointer(&format!("/resources/limits/{res}"));
            any |= request.is_some() || limit.is_some();
            match (request, limit) {
                (_, None) => guaranteed = false,
                (Some(r), Some(l)) if quantity(r) != quantity(l) => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A resource quantity (`1`, `500m`, `1408Mi`, `1e3`, `2G`) as a number; `None` if unreadable.
fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    const SUFFIXES: [(&str, f64); 14] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Pi", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Ei", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(num) = s.strip_suffix(suffix) {
            return num.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    if let Some(num) = s.strip_suffix('E') {
        return num.parse::<f64>().ok().map(|n| n * 1e18);
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: &[Value]) -> Value {
        let containers: Vec<Value> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"name": format!("c{i}"), "image": "x", "resources": r}))
            .collect();
        json!({"spec": {"containers": containers}})
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&pod(&[json!({})])), "BestEffort");
        assert_eq!(qos_class(&json!({"spec": {}})), "BestEffort");
        // spark-submit's driver: CPU and memory requested, only memory limited.
        let driver =
            json!({"requests": {"cpu": "1", "memory": "1408Mi"}, "limits": {"memory": "1408Mi"}});
        assert_eq!(qos_class(&pod(&[driver])), "Burstable");
        let exact = json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}});
        assert_eq!(qos_class(&pod(std::slice::from_ref(&exact))), "Guaranteed");
        let limits_only = json!({"limits": {"cpu": "500m", "memory": "1G"}});
        assert_eq!(qos_class(&pod(&[exact.clone(), limits_only])), "Guaranteed");
        assert_eq!(qos_class(&pod(&[exact, json!({})])), "Burstable");
        let status = initial_status(&pod(&[json!({})]));
        assert_eq!(
            status,
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity(&json!("1408Mi")), Some(1408.0 * 1024.0 * 1024.0));
        assert_eq!(quantity(&json!("250m")), Some(0.25));
        assert_eq!(quantity(&json!("2")), Some(2.0));
        assert_eq!(quantity(&json!(2)), Some(2.0));
        assert_eq!(quantity(&json!("1e3")), Some(1000.0));
        assert_eq!(quantity(&json!("3k")), Some(3000.0));
        assert_eq!(quantity(&json!("x")), None);
    }
}
