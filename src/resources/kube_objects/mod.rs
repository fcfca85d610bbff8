//! What the Kubernetes-backed resources share: a set of objects applied with server-side
//! apply, recorded in state as `Kind/namespace/name` → fingerprint of the fields we set, read
//! back for drift, and deleted in dependency order.

pub mod drift;
mod lifecycle;

pub use lifecycle::{KubeResource, Stage};

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::clients::kube::{Kube, KubeError, ObjectRef, KINDS};
use crate::clients::wait::{self, Backoff, Poll, WaitEnd};
use crate::framework::{Diagnostic, Diagnostics};
use crate::value::Value;

/// The `app.kubernetes.io/managed-by` label of every object, and the field manager its
/// server-side applies run as (so `kubectl` shows one owner for both).
pub const MANAGED_BY: &str = "terraform-provider-dataplatform";
/// Marker in `objects` for an object deleted outside Terraform.
pub const DELETED: &str = "deleted";
/// Marker in `objects` for a Deployment whose last rollout failed: the next plan re-applies.
pub const ROLLOUT_FAILED: &str = "rollout failed";
/// Marker in `objects` for a Secret whose data was changed outside Terraform.
pub const SECRET_CHANGED: &str = "data changed";
/// Checksum of a Secret's data on a pod template: a changed credential rolls the pods.
pub const CHECKSUM_ANNOTATION: &str = "dataplatform.io/secret-checksum";

/// `Kind/namespace/name` → fingerprint (or one of the markers).
pub type Prints = BTreeMap<String, String>;

/// The object with everything secret-derived blanked: fingerprints never depend on secrets.
pub fn without_secrets(obj: &Json) -> Json {
    let mut o = obj.clone();
    if o["kind"] == "Secret" {
        if let Some(d) = o.get_mut("data").and_then(Json::as_object_mut) {
            for v in d.values_mut() {
                *v = json!("");
            }
        }
    }
    if let Some(a) = o
        .pointer_mut("/spec/template/metadata/annotations")
        .and_then(Json::as_object_mut)
    {
        if let Some(v) = a.get_mut(CHECKSUM_ANNOTATION) {
            *v = json!("");
        }
    }
    o
}

fn canonical(v: &Json, out: &mut String) {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Json::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(e, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A short, stable fingerprint of an object's fields (secrets excluded).
pub fn fingerprint(obj: &Json) -> String {
    let mut s = String::new();
    canonical(&without_secrets(obj), &mut s);
    let digest = Sha256::digest(s.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..16])
}

/// The fingerprints of the objects to apply.
pub fn fingerprints(objects: &[Json]) -> Prints {
    objects
        .iter()
        .filter_map(|o| ObjectRef::of(o).ok().map(|r| (r.key(), fingerprint(o))))
        .collect()
}

pub fn prints_value(m: &Prints) -> Value {
    Value::map(m.iter().map(|(k, v)| (k.clone(), Value::string(v))))
}

/// The `objects` attribute of a state.
pub fn prints_of(state: &Value) -> Prints {
    state
        .get_attr("objects")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn with_prints(mut state: Value, prints: &Prints) -> Value {
    crate::framework::attr::set(&mut state, "objects", prints_value(prints));
    state
}

/// Parses an `objects` key back into a reference.
pub fn object_ref(key: &str) -> Option<ObjectRef> {
    let mut parts = key.split('/');
    let kind = parts.next()?;
    let k = KINDS.iter().find(|k| k.kind == kind)?;
    let (namespace, name) = if k.namespaced {
        (Some(parts.next()?.to_string()), parts.next()?.to_string())
    } else {
        (None, parts.next()?.to_string())
    };
    if parts.next().is_some() {
        return None;
    }
    Some(ObjectRef {
        kind: k.kind,
        api_version: k.api_version,
        namespace,
        name,
    })
}

/// Deletion order: dependents first, the namespace last.
fn delete_rank(kind: &str) -> u8 {
    match kind {
        "PrometheusRule" | "ServiceMonitor" => 0,
        "Ingress" => 1,
        "PodDisruptionBudget" | "Service" => 2,
        "Deployment" => 3,
        "RoleBinding" => 4,
        "Role" | "Secret" | "ConfigMap" | "ResourceQuota" | "LimitRange" => 5,
        "ServiceAccount" => 6,
        "Namespace" => 9,
        _ => 7,
    }
}

/// A diagnostic for a Kubernetes error, with what to do for the common ones.
pub fn kube_diag(summary: &str, e: &KubeError) -> Diagnostic {
    let detail = match e {
        KubeError::Api {
            code: 404, message, ..
        } if message.contains("namespaces") => {
            format!("{e}\n\nCreate the namespace first or set create_namespace = true.")
        }
        KubeError::Api {
            code: 401 | 403, ..
        } => format!(
            "{e}\n\nThe credentials in use are not allowed to do this: for EKS, map the caller's IAM role in the \
             cluster's access entries (or aws-auth)."
        ),
        _ => e.to_string(),
    };
    Diagnostic::error(summary, detail)
}

/// Applies `objects` in order and deletes those of `prior` no longer wanted. On failure the
/// prints of what exists (applied so far, and prior objects) come with the diagnostic.
pub async fn apply_all(
    kube: &Kube,
    objects: &[Json],
    prior: &Prints,
) -> Result<Prints, (Prints, Diagnostic)> {
    let wanted = fingerprints(objects);
    let mut recorded = prior.clone();
    for obj in objects {
        let Ok(r) = ObjectRef::of(obj) else { continue };
        if let Err(e) = kube.apply(obj, MANAGED_BY).await {
            return Err((recorded, kube_diag(&format!("Cannot apply {r}"), &e)));
        }
        recorded.insert(r.key(), wanted.get(&r.key()).cloned().unwrap_or_default());
    }
    let mut stale: Vec<ObjectRef> = prior
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .filter_map(|k| object_ref(k))
        .collect();
    stale.sort_by_key(|r| delete_rank(r.kind));
    for r in stale {
        if let Err(e) = kube.delete(&r).await {
            return Err((recorded, kube_diag(&format!("Cannot delete {r}"), &e)));
        }
        recorded.remove(&r.key());
    }
    Ok(wanted)
}

/// What refresh found.
pub enum Live {
    /// The live prints, `deleted` for objects not found.
    Found(Prints),
    /// None of the objects exists.
    Gone,
    /// The cluster could not be reached: keep the state, with a warning.
    Unreachable(Diagnostic),
    Failed(Diagnostic),
}

/// Reads the live objects and fingerprints the fields we set. `secret_values_known` says
/// whether Secret data in `desired` holds the real values (not write-only placeholders).
pub async fn read_all(
    kube: &Kube,
    desired: &[Json],
    secret_values_known: bool,
    prior: &Prints,
) -> Live {
    let mut prints = Prints::new();
    let mut present = 0usize;
    for obj in desired {
        let Ok(r) = ObjectRef::of(obj) else { continue };
        let print = match kube.get(&r).await {
            Ok(None) => DELETED.to_string(),
            Ok(Some(live)) => {
                present += 1;
                let projected = drift::project(obj, &live);
                if r.kind == "Secret"
                    && secret_values_known
                    && projected.get("data") != obj.get("data")
                {
                    SECRET_CHANGED.to_string()
                } else {
                    fingerprint(&projected)
                }
            }
            Err(e @ KubeError::Transport { .. }) => {
                return Live::Unreachable(Diagnostic::warning(
                    "Cluster not reachable; live objects not read",
                    format!("{e}\n\nThe plan uses the last known state."),
                ))
            }
            Err(e) => return Live::Failed(kube_diag("Cannot read the live objects", &e)),
        };
        prints.insert(r.key(), print);
    }
    if present == 0 {
        return Live::Gone;
    }
    // A failed rollout stays marked until an apply succeeds.
    for (k, v) in prior {
        if v == ROLLOUT_FAILED && prints.contains_key(k) {
            prints.insert(k.clone(), ROLLOUT_FAILED.to_string());
        }
    }
    Live::Found(prints)
}

/// Deletes every recorded object, dependents first, and waits until they are gone.
pub async fn delete_all(
    kube: &Kube,
    recorded: &Prints,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Diagnostics {
    let mut refs: Vec<ObjectRef> = recorded.keys().filter_map(|k| object_ref(k)).collect();
    refs.sort_by_key(|r| delete_rank(r.kind));
    for r in &refs {
        if let Err(e) = kube.delete(r).await {
            return kube_diag(&format!("Cannot delete {r}"), &e).into();
        }
    }
    let backoff = Backoff {
        initial: Duration::from_millis(200),
        factor: 1.5,
        max: Duration::from_secs(5),
    };
    let waited = wait::until(timeout, backoff, cancel, || async {
        let mut left = Vec::new();
        for r in &refs {
            if kube.get(r).await?.is_some() {
                left.push(r.key());
            }
        }
        Ok::<_, KubeError>(if left.is_empty() {
            Poll::Done(())
        } else {
            Poll::Pending(format!("still present: {}", left.join(", ")))
        })
    })
    .await;
    match waited {
        Ok(()) => Diagnostics::new(),
        Err(WaitEnd::Failed(e)) => kube_diag("Cannot confirm deletion", &e).into(),
        Err(WaitEnd::Cancelled) => {
            Diagnostic::error("Deletion cancelled", "Terraform asked the provider to stop.").into()
        }
        Err(WaitEnd::TimedOut { waited, last }) => Diagnostic::error(
            "Objects not deleted in time",
            format!(
                "After {waited:?}: {last}. Finalizers may be holding them; raise timeouts.delete or check the objects."
            ),
        )
        .into(),
    }
}

/// Where an import finds a resource: the cluster when the ID names one, namespace and name.
#[derive(Debug, PartialEq, Eq)]
pub struct ImportId<'a> {
    pub cluster: Option<&'a str>,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// A namespaced resource's import ID: `cluster:namespace/name`, or `namespace/name` for the
/// cluster the provider names.
///
/// # Errors
/// A diagnostic showing the expected forms.
pub fn parse_import_id<'a>(id: &'a str, example: &str) -> Result<ImportId<'a>, Diagnostics> {
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    let cluster_name = |s: &str| {
        regex::Regex::new(crate::resources::common::CLUSTER_NAME_PATTERN)
            .is_ok_and(|r| r.is_match(s))
    };
    let (cluster, rest) = match id.split_once(':') {
        Some((c, rest)) if cluster_name(c) => (Some(c), rest),
        Some(_) => (None, ""),
        None => (None, id),
    };
    match rest.split_once('/') {
        Some((namespace, name)) if label(namespace) && label(name) => Ok(ImportId {
            cluster,
            namespace,
            name,
        }),
        _ => Err(Diagnostic::error(
            "Invalid import ID",
            format!(
                "Expected \"cluster:namespace/name\" (e.g. \"analytics:{example}\"), or \"namespace/name\" \
                 when the provider names the cluster; got {id:?}."
            ),
        )
        .into()),
    }
}

/// The annotation that keeps a resource's non-secret configuration on one of its objects, so
/// import can restore it.
pub const CONFIG_ANNOTATION: &str = "dataplatform.io/config";

/// The configuration to keep in [`CONFIG_ANNOTATION`]: `planned` with the computed and secret
/// attributes (`drop`) nulled, as JSON of the resource's own type.
pub fn config_annotation(
    planned: &Value,
    schema: &crate::framework::Schema,
    drop: &[&str],
) -> Option<String> {
    let mut v = planned.clone();
    for a in drop {
        crate::framework::attr::set(&mut v, a, Value::Null);
    }
    crate::value::encode_json_value(&v, &schema.value_type())
        .ok()
        .map(|j| j.to_string())
}

/// Reads [`CONFIG_ANNOTATION`] of a live object back into a value of the resource's type.
///
/// # Errors
/// When the object has no readable annotation (not created by this provider).
pub fn restore_config(live: &Json, schema: &crate::framework::Schema) -> Result<Value, KubeError> {
    let annotation = live
        .pointer(&format!(
            "/metadata/annotations/{}",
            CONFIG_ANNOTATION.replace('/', "~1")
        ))
        .and_then(Json::as_str)
        .ok_or(KubeError::Malformed(
            "the dataplatform.io/config annotation (not created by this provider)",
        ))?;
    let json: Json = serde_json::from_str(annotation)
        .map_err(|_| KubeError::Malformed("a readable dataplatform.io/config annotation"))?;
    crate::value::decode_json_value(&json, &schema.value_type()).map_err(|_| {
        KubeError::Malformed("a dataplatform.io/config annotation of this provider version")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_parse_back_into_references() {
        for key in [
            "Deployment/bi/metabase",
            "Namespace/bi",
            "PrometheusRule/bi/m",
            "RoleBinding/spark/x",
        ] {
            assert_eq!(object_ref(key).map(|r| r.key()).as_deref(), Some(key));
        }
        assert!(object_ref("Nope/x/y").is_none());
        assert!(object_ref("Deployment/a/b/c").is_none());
    }

    #[test]
    fn import_ids_name_the_cluster_or_leave_it_to_the_provider() {
        let id = |cluster, namespace, name| ImportId {
            cluster,
            namespace,
            name,
        };
        assert_eq!(
            parse_import_id("spark/etl", "x/y").ok(),
            Some(id(None, "spark", "etl"))
        );
        assert_eq!(
            parse_import_id("analytics:spark/etl", "x/y").ok(),
            Some(id(Some("analytics"), "spark", "etl"))
        );
        assert_eq!(
            parse_import_id("Data_Lake-2:hbi/metabase", "x/y").ok(),
            Some(id(Some("Data_Lake-2"), "hbi", "metabase"))
        );
        for bad in [
            "spark",
            "Spark/etl",
            "spark/",
            "/etl",
            "a/b/c",
            "-a/b",
            ":spark/etl",
            "bad cluster:spark/etl",
            "analytics:",
            "analytics:spark",
            "a:b:c/d",
        ] {
            assert!(parse_import_id(bad, "x/y").is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprints_ignore_secret_values_and_key_order() {
        let a = json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"k": "YQ=="}});
        let b = json!({"data": {"k": "Yg=="}, "metadata": {"namespace": "n", "name": "s"}, "kind": "Secret"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = json!({"kind": "ConfigMap", "data": {"k": "a"}});
        let d = json!({"kind": "ConfigMap", "data": {"k": "b"}});
        assert_ne!(fingerprint(&c), fingerprint(&d));
    }
}
