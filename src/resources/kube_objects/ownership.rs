//! Which objects a resource may change and delete: the ones it created, proven by its mark.
//!
//! Every object a Kubernetes-backed resource writes carries
//! - the label `app.kubernetes.io/managed-by: terraform-provider-dataplatform`,
//! - the annotation `dataplatform.io/owner-id`: the resource's `owner_id`, a random ID made
//!   when the resource is created, kept in its state and restored by import,
//! - the annotation `dataplatform.io/owner`: who that is, for people and error messages
//!   (`dataplatform_spark_pool analytics:spark/etl`: type, cluster, namespace and name).
//!
//! Applies run as one field manager per resource (`dataplatform/spark_pool/spark/etl`) and
//! never force: a field another manager owns is a conflict, reported with the manager's name,
//! unless the resource says `force_conflicts = true`.
//!
//! An object that exists and carries another owner ID (another Terraform state, or another
//! resource) or none (created by someone else) is refused before anything is written, unless
//! the resource says `adopt_existing = true`. Destroy deletes only objects that carry the
//! resource's owner ID; a namespace only when, once the resource's own objects are gone,
//! nothing else lives in it.
//!
//! Objects written by earlier versions of the provider carry the label but no owner ID: those
//! recorded in the resource's state are its own, and get the mark at the next apply.

use serde_json::{json, Value as Json};

use crate::clients::kube::{KubeError, ObjectRef};
use crate::framework::Diagnostic;

use super::MANAGED_BY;

/// The owner ID annotation.
pub const OWNER_ID_ANNOTATION: &str = "dataplatform.io/owner-id";
/// The annotation naming the owner.
pub const OWNER_ANNOTATION: &str = "dataplatform.io/owner";
/// The field manager of provider versions that applied every object as one manager.
pub const LEGACY_FIELD_MANAGER: &str = MANAGED_BY;
/// The longest field manager name the API server accepts.
const MAX_FIELD_MANAGER: usize = 128;

/// A resource instance, as its objects know it.
#[derive(Clone, Debug)]
pub struct Owner {
    /// The resource's `owner_id`.
    pub id: String,
    /// `dataplatform_spark_pool analytics:spark/etl`.
    pub name: String,
    /// The field manager its applies run as.
    pub field_manager: String,
    /// Take over objects that exist without this owner's mark.
    pub adopt: bool,
    /// Take over fields other field managers own.
    pub force: bool,
}

impl Owner {
    /// The owner of resource `type_name` (e.g. `dataplatform_spark_pool`) named `name` in
    /// `namespace` of `cluster`.
    pub fn new(id: &str, type_name: &str, cluster: &str, namespace: &str, name: &str) -> Owner {
        Owner {
            id: id.to_string(),
            name: format!("{type_name} {cluster}:{namespace}/{name}"),
            field_manager: field_manager(type_name, namespace, name),
            adopt: false,
            force: false,
        }
    }

    /// `obj` with the owner's label and annotations.
    pub fn mark(&self, obj: &Json) -> Json {
        let mut o = obj.clone();
        if let Some(meta) = o.get_mut("metadata").and_then(Json::as_object_mut) {
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("app.kubernetes.io/managed-by".into(), json!(MANAGED_BY));
            }
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(OWNER_ID_ANNOTATION.into(), json!(self.id));
                a.insert(OWNER_ANNOTATION.into(), json!(self.name));
            }
        }
        o
    }

    /// Whose a live object is, to this owner. `recorded`: the resource's state lists it.
    pub fn claim(&self, live: &Json, recorded: bool) -> Claim {
        match owner_id(live) {
            Some(id) if id == self.id => Claim::Ours,
            Some(_) => Claim::Foreign(format!(
                "it belongs to {} (another Terraform resource or state)",
                annotation(live, OWNER_ANNOTATION).unwrap_or("another dataplatform resource")
            )),
            None if recorded && managed_by(live) == Some(MANAGED_BY) => Claim::Legacy,
            None => Claim::Foreign(describe_foreign(live)),
        }
    }
}

/// `dataplatform/spark_pool/spark/etl`, shortened with a hash to the API server's limit.
pub fn field_manager(type_name: &str, namespace: &str, name: &str) -> String {
    let short = type_name.strip_prefix("dataplatform_").unwrap_or(type_name);
    let full = format!("dataplatform/{short}/{namespace}/{name}");
    if full.len() <= MAX_FIELD_MANAGER {
        return full;
    }
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(full.as_bytes()));
    let keep = MAX_FIELD_MANAGER - 17;
    let mut cut = keep;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", &full[..cut], &hash[..16])
}

/// Whose a live object is.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// It carries this owner's ID.
    Ours,
    /// Written by an earlier provider version and recorded in this resource's state.
    Legacy,
    /// Someone else's, and who, as far as the object says.
    Foreign(String),
}

fn annotation<'a>(live: &'a Json, key: &str) -> Option<&'a str> {
    live.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Json::as_str)
}

/// The owner ID an object carries.
pub fn owner_id(live: &Json) -> Option<&str> {
    annotation(live, OWNER_ID_ANNOTATION)
}

fn managed_by(live: &Json) -> Option<&str> {
    live.pointer("/metadata/labels")
        .and_then(|l| l.get("app.kubernetes.io/managed-by"))
        .and_then(Json::as_str)
}

/// The field managers of a live object.
pub fn field_managers(live: &Json) -> Vec<String> {
    let mut out: Vec<String> = live
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("manager").and_then(Json::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

/// Whether `manager`'s applied configuration of `live` sets `spec.replicas`.
pub fn applies_replicas(live: &Json, manager: &str) -> bool {
    live.pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .is_some_and(|a| {
            a.iter().any(|e| {
                e.get("manager").and_then(Json::as_str) == Some(manager)
                    && e.pointer("/fieldsV1/f:spec/f:replicas").is_some()
            })
        })
}

/// Who an object without this provider's owner mark seems to belong to.
fn describe_foreign(live: &Json) -> String {
    let mut who = Vec::new();
    if let Some(m) = managed_by(live) {
        who.push(format!("app.kubernetes.io/managed-by={m}"));
    }
    for key in [
        "meta.helm.sh/release-name",
        "meta.helm.sh/release-namespace",
    ] {
        if let Some(v) = annotation(live, key) {
            who.push(format!("{key}={v}"));
        }
    }
    let managers = field_managers(live);
    if !managers.is_empty() {
        who.push(format!("field managers {}", managers.join(", ")));
    }
    if who.is_empty() {
        "it was not created by this resource".to_string()
    } else {
        format!("it was not created by this resource ({})", who.join("; "))
    }
}

/// The error for an object that exists and is not this resource's. `import_id` is the ID
/// `terraform import` takes for the resource.
pub fn refusal(r: &ObjectRef, why: &str, owner: &Owner, import_id: &str) -> Diagnostic {
    let type_name = owner.name.split(' ').next().unwrap_or_default();
    if r.kind == "Namespace" {
        return Diagnostic::error(
            format!("{r} already exists"),
            format!(
                "The namespace exists and {why}. A resource with create_namespace = true creates its namespace, \
                 and deletes it on destroy.\n\nTo deploy into the existing namespace, set create_namespace = false. \
                 To take the namespace over (it is then deleted on destroy when nothing else lives in it), set \
                 adopt_existing = true."
            ),
        );
    }
    Diagnostic::error(
        format!("{r} already exists"),
        format!(
            "The object exists and {why}. This resource changes and deletes only the objects it created.\n\n\
             Ways forward:\n\
             - If it is the {type_name} another Terraform state manages, import it instead of creating it: \
             terraform import <address> {import_id}\n\
             - To take the existing objects over (they get this resource's owner mark, and destroy deletes them), \
             set adopt_existing = true on the resource; with force_conflicts = true it also takes over fields \
             other field managers own."
        ),
    )
}

/// The error for an apply that would change fields another field manager owns.
pub fn conflict(r: &ObjectRef, e: &KubeError) -> Diagnostic {
    let managers = e.conflicting_managers().unwrap_or_default();
    Diagnostic::error(
        format!("Conflicting field managers on {r}"),
        format!(
            "{e}\n\nAnother field manager ({}) owns fields this resource sets, with other values. Change them back \
             or stop the other writer, remove the fields from this resource's configuration, or set \
             force_conflicts = true to take the fields over.",
            managers.join(", ")
        ),
    )
}

/// Objects a namespace holds that say nothing about who uses it: made by the cluster itself
/// (the default service account, the root CA, events and endpoints).
pub fn cluster_made(object: &str) -> bool {
    matches!(
        object,
        "ServiceAccount/default" | "ConfigMap/kube-root-ca.crt"
    ) || ["Event/", "Endpoints/", "EndpointSlice/"]
        .iter()
        .any(|p| object.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner::new(
            "id-1",
            "dataplatform_spark_pool",
            "analytics",
            "spark",
            "etl",
        )
    }

    #[test]
    fn marks_name_the_owner_and_claims_read_them_back() {
        let o = owner();
        assert_eq!(o.field_manager, "dataplatform/spark_pool/spark/etl");
        assert_eq!(o.name, "dataplatform_spark_pool analytics:spark/etl");
        let obj =
            json!({"kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "spark"}});
        let marked = o.mark(&obj);
        assert_eq!(o.claim(&marked, false), Claim::Ours);
        let other = Owner::new(
            "id-2",
            "dataplatform_spark_pool",
            "analytics",
            "spark",
            "etl",
        );
        assert!(matches!(other.claim(&marked, true), Claim::Foreign(w) if w.contains("spark/etl")));
        let legacy = json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": MANAGED_BY}}});
        assert_eq!(o.claim(&legacy, true), Claim::Legacy);
        assert!(matches!(o.claim(&legacy, false), Claim::Foreign(_)));
        let helm = json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "metabase"},
            "managedFields": [{"manager": "helm", "operation": "Update"}]}});
        let Claim::Foreign(who) = o.claim(&helm, true) else {
            panic!("a Helm object is foreign")
        };
        assert!(who.contains("managed-by=Helm") && who.contains("release-name=metabase"));
        assert!(who.contains("field managers helm"));
    }

    #[test]
    fn long_field_managers_are_cut_to_the_limit_with_a_hash() {
        let ns = "n".repeat(63);
        let name = "x".repeat(63);
        let m = field_manager("dataplatform_bi_service", &ns, &name);
        assert_eq!(m.len(), MAX_FIELD_MANAGER);
        assert_ne!(
            m,
            field_manager("dataplatform_bi_service", &ns, &"y".repeat(63))
        );
    }
}
