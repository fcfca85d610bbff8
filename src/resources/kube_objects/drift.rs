//! Drift limited to the fields we own: the live object projected onto the shape of the object
//! we apply. Fields others add (defaults, status, other managers' labels) are not drift;
//! a field of ours changed or removed is.

use serde_json::{Map, Value as Json};

/// Lists whose elements are identified by `name` (containers, env, ports): matched by name,
/// so elements others add are not drift.
fn keyed(list: &[Json]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|e| e.get("name").and_then(Json::as_str).is_some())
}

/// The live value restricted to what `desired` sets. Where live differs, the live value is
/// kept, so the projection equals `desired` exactly when there is no drift.
pub fn project(desired: &Json, live: &Json) -> Json {
    match (desired, live) {
        (Json::Object(d), Json::Object(l)) => {
            let mut out = Map::new();
            for (k, dv) in d {
                let lv = l.get(k).unwrap_or(&Json::Null);
                if lv.is_null() && !dv.is_null() {
                    // Removed outside Terraform: keep a marker so the fingerprint differs.
                    out.insert(k.clone(), Json::Null);
                } else {
                    out.insert(k.clone(), project(dv, lv));
                }
            }
            Json::Object(out)
        }
        (Json::Array(d), Json::Array(l)) if keyed(d) => {
            let out = d
                .iter()
                .map(|de| {
                    let name = de.get("name");
                    match l.iter().find(|le| le.get("name") == name) {
                        Some(le) => project(de, le),
                        None => Json::Null,
                    }
                })
                .collect();
            Json::Array(out)
        }
        (Json::Array(d), Json::Array(l)) => {
            let mut out: Vec<Json> = d
                .iter()
                .zip(l.iter())
                .map(|(de, le)| project(de, le))
                .collect();
            // An atomic list of ours: extra or missing elements are drift.
            out.extend(l.iter().skip(d.len()).cloned());
            if l.len() < d.len() {
                out.extend(std::iter::repeat_n(Json::Null, d.len() - l.len()));
            }
            Json::Array(out)
        }
        (Json::String(ds), Json::String(ls)) if ds != ls && same_quantity(ds, ls) => {
            desired.clone()
        }
        (Json::Number(dn), Json::String(ls)) if *ls == dn.to_string() => desired.clone(),
        (Json::String(ds), Json::Number(ln)) if *ds == ln.to_string() => desired.clone(),
        _ => live.clone(),
    }
}

/// Kubernetes quantities the API server may rewrite (`0.5` ↔ `500m`, `1024Mi` ↔ `1Gi`).
pub fn quantity(s: &str) -> Option<f64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * mult)
}

fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity(a), quantity(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_others_add_are_not_drift() {
        let desired = json!({"metadata": {"name": "m", "labels": {"a": "1"}},
                             "spec": {"replicas": 1, "template": {"spec": {"containers": [
                                 {"name": "metabase", "image": "x:1", "env": [{"name": "A", "value": "1"}]}]}}}});
        let live = json!({"metadata": {"name": "m", "uid": "u", "labels": {"a": "1", "other": "x"}},
                          "spec": {"replicas": 1, "progressDeadlineSeconds": 600, "template": {"spec": {
                              "dnsPolicy": "ClusterFirst",
                              "containers": [{"name": "sidecar", "image": "s"},
                                             {"name": "metabase", "image": "x:1", "terminationMessagePath": "/dev",
                                              "env": [{"name": "A", "value": "1"}, {"name": "INJECTED", "value": "y"}]}]}}},
                          "status": {"replicas": 1}});
        assert_eq!(project(&desired, &live), desired);
    }

    #[test]
    fn changed_and_removed_fields_are_drift() {
        let desired = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "metabase", "image": "x:1", "env": [{"name": "A", "value": "1"}]}]}}}});
        let changed = json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [
            {"name": "metabase", "image": "x:1", "env": [{"name": "A", "value": "1"}]}]}}}});
        assert_ne!(project(&desired, &changed), desired);
        let removed_env = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "metabase", "image": "x:1", "env": []}]}}}});
        assert_ne!(project(&desired, &removed_env), desired);
        let other_image = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "metabase", "image": "x:2", "env": [{"name": "A", "value": "1"}]}]}}}});
        assert_ne!(project(&desired, &other_image), desired);
    }

    #[test]
    fn atomic_lists_compare_whole() {
        let desired = json!({"tolerations": [{"key": "purpose", "operator": "Equal"}]});
        let extra = json!({"tolerations": [{"key": "purpose", "operator": "Equal"}, {"key": "x", "operator": "Exists"}]});
        assert_ne!(project(&desired, &extra), desired);
        let same = json!({"tolerations": [{"key": "purpose", "operator": "Equal", "tolerationSeconds": null}]});
        assert_eq!(project(&desired, &same), desired);
    }

    #[test]
    fn quantities_the_server_rewrites_are_not_drift() {
        let desired = json!({"cpu": "0.5", "memory": "1024Mi", "port": 80});
        let live = json!({"cpu": "500m", "memory": "1Gi", "port": 80});
        assert_eq!(project(&desired, &live), desired);
        assert_ne!(
            project(&json!({"memory": "1Gi"}), &json!({"memory": "2Gi"})),
            json!({"memory": "1Gi"})
        );
    }
}
