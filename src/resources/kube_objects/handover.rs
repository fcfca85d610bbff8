//! What a resource hands over to controllers it did not install, and what happens when one is
//! missing.
//!
//! Objects are only half the work: an Ingress does nothing without an ingress controller,
//! a ServiceMonitor is not even accepted without the Prometheus operator's
//! CustomResourceDefinitions, a pool's operator RBAC grants nothing without the Spark
//! operator's service account. Applying never fails for that, since the controller may be
//! installed later, by another team or in the same run, but the apply says what is missing
//! instead of leaving it to be found out from a Grafana board that stays empty.
//!
//! Objects of a custom kind the cluster does not serve are left out (as Helm charts do with
//! `.Capabilities.APIVersions.Has`): the apply warns and records what the plan said, and the
//! next refresh records them as absent, with the fingerprint they were rendered from, so the
//! plan stays empty while nothing changes. Once the definitions are installed, the refresh
//! finds the object missing like any other and the plan creates it.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::clients::kube::{Kube, KubeError, ObjectRef};
use crate::framework::{Diagnostic, Diagnostics};

use super::{kube_diag, Prints};

/// The custom API groups the resources write to, and who installs them.
const CUSTOM_GROUPS: &[(&str, &str)] = &[(
    "monitoring.coreos.com",
    "the Prometheus operator (its CustomResourceDefinitions, e.g. from kube-prometheus-stack)",
)];

/// The prefix of the fingerprint of an object left out because its kind is not served.
const ABSENT: &str = "absent:";

/// Who installs the API group of `api_version`, when it is a custom one.
fn installer(api_version: &str) -> Option<&'static str> {
    let group = api_version.split_once('/')?.0;
    CUSTOM_GROUPS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, who)| *who)
}

/// Whether an object's kind exists only once a controller's definitions are installed.
pub fn is_custom(obj: &Json) -> bool {
    obj["apiVersion"].as_str().and_then(installer).is_some()
}

/// The recorded print of an object left out: absent, from `print`.
pub fn absent(print: &str) -> String {
    format!("{ABSENT}{print}")
}

/// Whether a recorded print says the object was left out.
pub fn is_absent(print: &str) -> bool {
    print.starts_with(ABSENT)
}

/// The planned print of an object rendered as `print`: the state's when the object was left
/// out from the same print, else `print`.
pub fn planned_print(print: &str, prior: Option<&String>) -> String {
    match prior {
        Some(p) if p.strip_prefix(ABSENT) == Some(print) => p.clone(),
        _ => print.to_string(),
    }
}

/// The custom kinds among `objects` that the cluster does not serve, as `apiVersion/kind`.
///
/// # Errors
/// When discovery fails.
pub async fn unserved(kube: &Kube, objects: &[Json]) -> Result<Vec<String>, Diagnostic> {
    let mut checked: BTreeMap<String, bool> = BTreeMap::new();
    for obj in objects.iter().filter(|o| is_custom(o)) {
        let (Some(api_version), Some(kind)) = (obj["apiVersion"].as_str(), obj["kind"].as_str())
        else {
            continue;
        };
        let key = format!("{api_version}/{kind}");
        if checked.contains_key(&key) {
            continue;
        }
        let served = kube
            .serves(api_version, kind)
            .await
            .map_err(|e| kube_diag(&format!("Cannot look up {kind} in the cluster's APIs"), &e))?;
        checked.insert(key, served);
    }
    Ok(checked
        .into_iter()
        .filter(|(_, served)| !served)
        .map(|(k, _)| k)
        .collect())
}

/// Splits `objects` into those to apply and the prints of those left out: custom kinds the
/// cluster does not serve, recorded as planned (core holds an apply to its plan; the next
/// refresh records them as absent), and those the plan already records as left out. One
/// warning per kind not served names what is missing.
pub fn leave_out(
    objects: &[Json],
    unserved: &[String],
    planned: &Prints,
) -> (Vec<Json>, Prints, Diagnostics) {
    let mut kept = Vec::with_capacity(objects.len());
    let mut left = Prints::new();
    let mut diags = Diagnostics::new();
    let mut named: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for obj in objects {
        let Ok(r) = ObjectRef::of(obj) else {
            kept.push(obj.clone());
            continue;
        };
        let print = super::fingerprint(obj);
        let kind_key = format!("{}/{}", r.api_version, r.kind);
        let not_served = unserved.iter().find(|k| **k == kind_key);
        let planned_absent = planned.get(&r.key()).filter(|p| is_absent(p));
        match (not_served, planned_absent) {
            (None, None) => kept.push(obj.clone()),
            (Some(k), _) => {
                let recorded = planned.get(&r.key()).cloned();
                left.insert(r.key(), recorded.unwrap_or_else(|| absent(&print)));
                named.entry(k.as_str()).or_default().push(r.to_string());
            }
            // Left out at the last apply and planned so: the plan promised no change.
            (None, Some(p)) => {
                left.insert(r.key(), p.clone());
            }
        }
    }
    for (kind, objects) in named {
        let who = installer(kind).unwrap_or("its controller");
        diags.push(Diagnostic::warning(
            format!("The cluster does not serve {kind}: not created"),
            format!(
                "{} was left out: its kind exists only once {who} is installed. Nothing \
                 else changes; once it is installed, the next plan creates it.",
                objects.join(", ")
            ),
        ));
    }
    (kept, left, diags)
}

/// An object a controller the resource hands work to creates or needs, and what is missing
/// without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The object that shows the controller is there.
    pub expects: ObjectRef,
    /// Warning summary, when it is missing.
    pub summary: String,
    /// Warning detail, naming the controller and what does not happen without it.
    pub detail: String,
}

/// Warnings for the handovers whose expected object is missing. Objects that cannot be read
/// (no permission to read cluster-scoped classes is common) are not reported: nothing is
/// known about them.
pub async fn check(kube: &Kube, handovers: &[Handover]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for h in handovers {
        match kube.get(&h.expects).await {
            Ok(Some(_)) => {}
            Ok(None) => diags.push(Diagnostic::warning(&h.summary, &h.detail)),
            Err(KubeError::Api { code, .. }) if code == 401 || code == 403 => {
                tracing::debug!(object = %h.expects, "handover not checked: not readable");
            }
            Err(e) => tracing::debug!(object = %h.expects, error = %e, "handover not checked"),
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn monitor() -> Json {
        json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
               "metadata": {"name": "metabase", "namespace": "bi"}, "spec": {"a": 1}})
    }

    fn deployment() -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "metabase", "namespace": "bi"}})
    }

    #[test]
    fn only_the_prometheus_operators_kinds_are_custom() {
        assert!(is_custom(&monitor()));
        assert!(!is_custom(&deployment()));
    }

    #[test]
    fn a_plan_keeps_an_object_left_out_while_it_renders_the_same() {
        let left = absent("abc");
        assert_eq!(planned_print("abc", Some(&left)), left);
        assert_eq!(planned_print("abd", Some(&left)), "abd");
        assert_eq!(planned_print("abc", Some(&"abc".to_string())), "abc");
        assert_eq!(planned_print("abc", None), "abc");
        assert_eq!(planned_print("abc", Some(&"deleted".to_string())), "abc");
    }

    #[test]
    fn unserved_kinds_are_left_out_with_one_warning_naming_the_operator() {
        let objects = [deployment(), monitor()];
        let unserved = vec!["monitoring.coreos.com/v1/ServiceMonitor".to_string()];
        let print = super::super::fingerprint(&monitor());
        let mut planned = Prints::new();
        planned.insert("ServiceMonitor/bi/metabase".into(), print.clone());
        let (kept, left, diags) = leave_out(&objects, &unserved, &planned);
        assert_eq!(kept, vec![deployment()]);
        // As planned: the refresh records it as absent.
        assert_eq!(left.get("ServiceMonitor/bi/metabase"), Some(&print));
        let w = diags
            .iter()
            .next()
            .map(|d| d.detail.clone())
            .unwrap_or_default();
        assert!(w.contains("Prometheus operator"), "{w}");
        assert!(!diags.has_errors());
    }

    #[test]
    fn an_object_planned_as_left_out_stays_out_even_once_its_kind_is_served() {
        let objects = [monitor()];
        let mut planned = Prints::new();
        planned.insert("ServiceMonitor/bi/metabase".into(), absent("x"));
        let (kept, left, diags) = leave_out(&objects, &[], &planned);
        assert!(kept.is_empty());
        assert_eq!(left.get("ServiceMonitor/bi/metabase"), Some(&absent("x")));
        assert!(diags.is_empty());
    }
}
