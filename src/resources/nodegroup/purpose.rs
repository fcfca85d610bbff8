//! What a purpose implies, computed without I/O so the plan shows it: labels, taints,
//! capacity defaults, placement for workloads and the cluster-autoscaler tags.

use std::collections::BTreeMap;

use crate::clients::eks::Taint;

pub const PURPOSE_KEY: &str = "purpose";
pub const AUTOSCALER_PREFIX: &str = "k8s.io/cluster-autoscaler/";

/// Instance types when none are configured.
pub fn default_instance_types(purpose: &str) -> Vec<String> {
    let types: &[&str] = match purpose {
        "infra" | "spark-driver" => &["m6i.2xlarge"],
        "spark-executor" => &["r5d.2xlarge", "r5dn.2xlarge"],
        _ => &["t3.medium"],
    };
    types.iter().map(|s| s.to_string()).collect()
}

/// Capacity type when none is configured: executors tolerate interruption, so spot.
pub fn default_capacity_type(purpose: &str) -> &'static str {
    if purpose == "spark-executor" {
        "SPOT"
    } else {
        "ON_DEMAND"
    }
}

/// The purpose label, then the user's labels (which win).
pub fn effective_labels(
    purpose: &str,
    labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if purpose != "custom" {
        out.insert(PURPOSE_KEY.to_string(), purpose.to_string());
    }
    out.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The purpose taint for Spark groups (unless the user taints the `purpose` key themselves),
/// then the user's taints; sorted.
pub fn effective_taints(purpose: &str, taints: &[Taint]) -> Vec<Taint> {
    let mut out: Vec<Taint> = taints.to_vec();
    let spark = purpose == "spark-driver" || purpose == "spark-executor";
    if spark && !taints.iter().any(|t| t.key == PURPOSE_KEY) {
        out.push(Taint {
            key: PURPOSE_KEY.to_string(),
            value: Some(purpose.to_string()),
            effect: "NO_SCHEDULE".to_string(),
        });
    }
    out.sort();
    out.dedup();
    out
}

/// EKS effect names to Kubernetes ones.
pub fn kubernetes_effect(eks: &str) -> &'static str {
    match eks {
        "NO_EXECUTE" => "NoExecute",
        "PREFER_NO_SCHEDULE" => "PreferNoSchedule",
        _ => "NoSchedule",
    }
}

/// A Kubernetes toleration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    pub operator: &'static str,
    pub value: Option<String>,
    pub effect: &'static str,
}

/// Node selector and tolerations that land a pod on this group and nowhere else.
pub fn placement(
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
) -> (BTreeMap<String, String>, Vec<Toleration>) {
    let selector = match labels.get(PURPOSE_KEY) {
        Some(p) => BTreeMap::from([(PURPOSE_KEY.to_string(), p.clone())]),
        None => labels.clone(),
    };
    let tolerations = taints
        .iter()
        .map(|t| Toleration {
            key: t.key.clone(),
            operator: if t.value.is_some() { "Equal" } else { "Exists" },
            value: t.value.clone(),
            effect: kubernetes_effect(&t.effect),
        })
        .collect();
    (selector, tolerations)
}

/// The tags the cluster autoscaler reads on the group's Auto Scaling groups.
pub fn autoscaler_tags(
    cluster: &str,
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
    disk_size_gib: Option<i64>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    tags.insert(format!("{AUTOSCALER_PREFIX}enabled"), "true".to_string());
    tags.insert(format!("{AUTOSCALER_PREFIX}{cluster}"), "owned".to_string());
    for (k, v) in labels {
        tags.insert(
            format!("{AUTOSCALER_PREFIX}node-template/label/{k}"),
            v.clone(),
        );
    }
    for t in taints {
        tags.insert(
            format!("{AUTOSCALER_PREFIX}node-template/taint/{}", t.key),
            format!(
                "{}:{}",
                t.value.as_deref().unwrap_or(""),
                kubernetes_effect(&t.effect)
            ),
        );
    }
    if let Some(gib) = disk_size_gib {
        tags.insert(
            format!("{AUTOSCALER_PREFIX}node-template/resources/ephemeral-storage"),
            format!("{gib}Gi"),
        );
    }
    tags
}

/// Splits live labels and taints back into purpose and user parts (import).
pub fn split_live(
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
) -> (String, BTreeMap<String, String>, Vec<Taint>) {
    let purpose = labels
        .get(PURPOSE_KEY)
        .filter(|p| ["infra", "spark-driver", "spark-executor"].contains(&p.as_str()))
        .cloned()
        .unwrap_or_else(|| "custom".to_string());
    let mut user_labels = labels.clone();
    if purpose != "custom" {
        user_labels.remove(PURPOSE_KEY);
    }
    let implied = effective_taints(&purpose, &[]);
    let user_taints = taints
        .iter()
        .filter(|t| !implied.contains(t))
        .cloned()
        .collect();
    (purpose, user_labels, user_taints)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(k: &str, v: Option<&str>, e: &str) -> Taint {
        Taint {
            key: k.into(),
            value: v.map(Into::into),
            effect: e.into(),
        }
    }

    #[test]
    fn executor_purpose_expands_to_label_taint_spot() {
        let labels = effective_labels("spark-executor", &BTreeMap::new());
        assert_eq!(
            labels.get("purpose").map(String::as_str),
            Some("spark-executor")
        );
        let taints = effective_taints("spark-executor", &[]);
        assert_eq!(
            taints,
            vec![taint("purpose", Some("spark-executor"), "NO_SCHEDULE")]
        );
        assert_eq!(default_capacity_type("spark-executor"), "SPOT");
        assert_eq!(
            default_instance_types("spark-executor"),
            vec!["r5d.2xlarge", "r5dn.2xlarge"]
        );
        let (sel, tol) = placement(&labels, &taints);
        assert_eq!(
            sel,
            BTreeMap::from([("purpose".to_string(), "spark-executor".to_string())])
        );
        assert_eq!(
            tol,
            vec![Toleration {
                key: "purpose".into(),
                operator: "Equal",
                value: Some("spark-executor".into()),
                effect: "NoSchedule"
            }]
        );
    }

    #[test]
    fn infra_has_a_label_but_no_taint() {
        assert!(effective_taints("infra", &[]).is_empty());
        assert_eq!(effective_labels("infra", &BTreeMap::new()).len(), 1);
        assert!(effective_labels("custom", &BTreeMap::new()).is_empty());
        assert_eq!(default_capacity_type("infra"), "ON_DEMAND");
    }

    #[test]
    fn users_override_the_purpose() {
        let mine = BTreeMap::from([
            ("purpose".to_string(), "batch".to_string()),
            ("team".to_string(), "de".to_string()),
        ]);
        let labels = effective_labels("spark-driver", &mine);
        assert_eq!(labels["purpose"], "batch");
        let t = effective_taints("spark-driver", &[taint("purpose", None, "NO_EXECUTE")]);
        assert_eq!(t, vec![taint("purpose", None, "NO_EXECUTE")]);
    }

    #[test]
    fn autoscaler_tags_cover_discovery_and_scale_from_zero() {
        let labels = effective_labels("spark-executor", &BTreeMap::new());
        let taints = effective_taints("spark-executor", &[]);
        let tags = autoscaler_tags("analytics", &labels, &taints, Some(100));
        assert_eq!(tags["k8s.io/cluster-autoscaler/enabled"], "true");
        assert_eq!(tags["k8s.io/cluster-autoscaler/analytics"], "owned");
        assert_eq!(
            tags["k8s.io/cluster-autoscaler/node-template/label/purpose"],
            "spark-executor"
        );
        assert_eq!(
            tags["k8s.io/cluster-autoscaler/node-template/taint/purpose"],
            "spark-executor:NoSchedule"
        );
        assert_eq!(
            tags["k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage"],
            "100Gi"
        );
    }

    #[test]
    fn live_labels_split_back_into_purpose_and_user_parts() {
        let labels = BTreeMap::from([
            ("purpose".to_string(), "spark-executor".to_string()),
            ("a".to_string(), "b".to_string()),
        ]);
        let taints = vec![
            taint("purpose", Some("spark-executor"), "NO_SCHEDULE"),
            taint("gpu", None, "NO_SCHEDULE"),
        ];
        let (p, l, t) = split_live(&labels, &taints);
        assert_eq!(p, "spark-executor");
        assert_eq!(l, BTreeMap::from([("a".to_string(), "b".to_string())]));
        assert_eq!(t, vec![taint("gpu", None, "NO_SCHEDULE")]);
    }
}
