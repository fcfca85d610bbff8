//! Schema pieces more than one resource uses: name patterns, the `cluster_name`, `namespace`
//! and `labels` attributes, and the placement types a node group hands to the workloads that
//! run on it. One definition each, so a pattern fixed here is fixed everywhere.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::framework::plan_modifiers::{RequiresReplace, UseStateForUnknown};
use crate::framework::schema::Attribute;
use crate::framework::validators::matches;
use crate::value::{Type, Value};

/// A host name, with an optional leading wildcard label.
pub const HOSTNAME_PATTERN: &str = r"^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$";
/// An ACM certificate ARN.
pub const CERTIFICATE_ARN_PATTERN: &str =
    r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]{1,128}$";
/// A Kubernetes Secret name (a DNS subdomain).
pub const SECRET_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// An EKS cluster name.
pub const CLUSTER_NAME_PATTERN: &str = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$";
const CLUSTER_NAME_SHAPE: &str = "an EKS cluster name (letters, digits, - and _, up to 100)";
/// A Kubernetes label key (optional DNS prefix, then a name of up to 63 characters).
pub const LABEL_KEY_PATTERN: &str =
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// A Kubernetes label value.
pub const LABEL_VALUE_PATTERN: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";
/// A lowercase DNS label of up to 63 characters: namespaces, service accounts, class names.
pub const NAMESPACE_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// A Kubernetes resource quantity such as `500m` or `2Gi`.
pub const QUANTITY_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";

pub fn string_map() -> Type {
    Type::Map(Box::new(Type::String))
}

pub fn string_list() -> Type {
    Type::List(Box::new(Type::String))
}

/// `attr` checked as an EKS cluster name.
pub fn eks_cluster_name(attr: Attribute) -> Attribute {
    attr.validator(matches(CLUSTER_NAME_PATTERN, CLUSTER_NAME_SHAPE))
}

/// `cluster_name` of a resource that deploys into a cluster: optional, since the provider's
/// `kubernetes` block or `cluster_name` may say where.
pub fn target_cluster_name(description: &str) -> Attribute {
    eks_cluster_name(Attribute::optional("cluster_name", Type::String))
        .description(description)
        .plan_modifier(RequiresReplace)
}

/// `namespace` of a Kubernetes-backed resource; moving to another namespace replaces it.
pub fn namespace(description: &str) -> Attribute {
    Attribute::optional_computed("namespace", Type::String)
        .description(description)
        .validator(matches(
            NAMESPACE_PATTERN,
            "a lowercase DNS label (a-z, 0-9 and -, up to 63 characters)",
        ))
        .plan_modifier(RequiresReplace)
}

/// `owner_id`: the mark a Kubernetes-backed resource writes on its objects.
pub fn owner_id() -> Attribute {
    Attribute::computed("owner_id", Type::String).description(
        "Random ID made when the resource is created, written on every object it creates (annotation \
         `dataplatform.io/owner-id`, next to `dataplatform.io/owner` naming the resource). Only objects carrying \
         it are changed or deleted by this resource. Import restores it from the objects.",
    )
    .plan_modifier(UseStateForUnknown)
}

/// `adopt_existing`: the opt-in to take over objects this resource did not create.
pub fn adopt_existing() -> Attribute {
    Attribute::optional_computed("adopt_existing", Type::Bool)
        .description(
            "Take over objects that already exist under the names this resource creates, instead of refusing \
             to apply: they get this resource's owner mark and are deleted when it is destroyed (a namespace \
             only when nothing else lives in it). Default `false`: an existing object not created by this \
             resource is an error naming it and who manages it.",
        )
        .default_value(Value::bool(false))
}

/// `force_conflicts`: the opt-in to take over fields another field manager owns.
pub fn force_conflicts() -> Attribute {
    Attribute::optional_computed("force_conflicts", Type::Bool)
        .description(
            "Server-side apply with force: take over fields another field manager (kubectl, a controller, \
             another tool) set to other values. Default `false`: such a conflict is an error naming the manager \
             and the fields.",
        )
        .default_value(Value::bool(false))
}

/// `labels`: a map of Kubernetes labels.
pub fn labels(description: &str) -> Attribute {
    Attribute::optional("labels", string_map()).description(description)
}

pub fn taint_object() -> Type {
    Type::object(vec![
        ("key", Type::String),
        ("value", Type::String),
        ("effect", Type::String),
    ])
}

pub fn toleration_object() -> Type {
    Type::object(vec![
        ("key", Type::String),
        ("operator", Type::String),
        ("value", Type::String),
        ("effect", Type::String),
    ])
}

/// Node selector and tolerations: what a pod spec needs to land on a group.
pub fn scheduling_type() -> Type {
    Type::object(vec![
        ("node_selector", string_map()),
        ("tolerations", Type::List(Box::new(toleration_object()))),
    ])
}

/// A node group's `placement`: how to schedule onto it, and the facts consumers check that
/// against at plan time (its node labels, taints in Kubernetes form, capacity type, and
/// whether `emptyDir` volumes are on instance-store disks).
/// Assignable to attributes of [`scheduling_type`]: the extra attributes are dropped.
pub fn placement_type() -> Type {
    Type::object(vec![
        ("node_selector", string_map()),
        ("tolerations", Type::List(Box::new(toleration_object()))),
        ("labels", string_map()),
        ("taints", Type::List(Box::new(taint_object()))),
        ("capacity_type", Type::String),
        ("local_storage", Type::Bool),
    ])
}

crate::model! {
    /// A value of [`placement_type`] (or of [`scheduling_type`], whose values lack the node
    /// group's facts).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PlacementModel {
        pub node_selector: Option<BTreeMap<String, String>>,
        pub tolerations: Option<Vec<TolerationModel>>,
        pub labels: Option<BTreeMap<String, String>>,
        pub taints: Option<Vec<TaintModel>>,
        pub capacity_type: Option<String>,
        /// Whether the nodes' instance-store disks back the kubelet's root (`emptyDir`).
        pub local_storage: Option<bool>,
    }
}

crate::model! {
    /// A toleration, in Kubernetes form.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct TolerationModel {
        pub key: Option<String>,
        pub operator: Option<String>,
        pub value: Option<String>,
        pub effect: Option<String>,
    }
}

crate::model! {
    /// A node group's taint, in Kubernetes form.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct TaintModel {
        pub key: Option<String>,
        pub value: Option<String>,
        pub effect: Option<String>,
    }
}

impl TolerationModel {
    /// The toleration of a pod spec: only the fields given.
    pub fn to_json(&self) -> Json {
        let mut o = serde_json::Map::new();
        for (f, v) in [
            ("key", &self.key),
            ("operator", &self.operator),
            ("value", &self.value),
            ("effect", &self.effect),
        ] {
            if let Some(s) = v {
                o.insert(f.to_string(), json!(s));
            }
        }
        Json::Object(o)
    }
}

/// A taint, in Kubernetes form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: String,
}

impl Taint {
    /// Whether the scheduler keeps pods that do not tolerate it off the node
    /// (`PreferNoSchedule` only discourages them).
    pub fn repels(&self) -> bool {
        self.effect == "NoSchedule" || self.effect == "NoExecute"
    }
}

/// Does a Kubernetes toleration tolerate a taint? Matched as the scheduler does: an empty
/// effect matches every effect, an empty key with `Exists` matches every taint, `Equal` (the
/// default operator) compares values.
pub fn tolerates(t: &Json, taint: &Taint) -> bool {
    let key = t["key"].as_str().unwrap_or_default();
    let operator = t["operator"].as_str().unwrap_or("Equal");
    let effect = t["effect"].as_str().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    if key.is_empty() {
        return operator == "Exists";
    }
    if key != taint.key {
        return false;
    }
    match operator {
        "Exists" => true,
        _ => t["value"].as_str().unwrap_or_default() == taint.value.as_deref().unwrap_or_default(),
    }
}

/// Tolerations of a pod spec.
pub fn tolerations_json(t: &[TolerationModel]) -> Vec<Json> {
    t.iter().map(TolerationModel::to_json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerations_match_like_the_scheduler() {
        let taint = Taint {
            key: "purpose".into(),
            value: Some("x".into()),
            effect: "NoSchedule".into(),
        };
        assert!(tolerates(
            &json!({"key": "purpose", "operator": "Equal", "value": "x", "effect": "NoSchedule"}),
            &taint
        ));
        assert!(tolerates(
            &json!({"key": "purpose", "operator": "Exists"}),
            &taint
        ));
        assert!(tolerates(&json!({"operator": "Exists"}), &taint));
        assert!(!tolerates(
            &json!({"key": "purpose", "operator": "Equal", "value": "y"}),
            &taint
        ));
        assert!(!tolerates(
            &json!({"key": "purpose", "operator": "Exists", "effect": "NoExecute"}),
            &taint
        ));
    }

    #[test]
    fn label_keys_may_carry_a_dns_prefix() {
        let key = regex::Regex::new(LABEL_KEY_PATTERN).ok();
        let ok = |s: &str| key.as_ref().is_some_and(|r| r.is_match(s));
        assert!(ok("purpose"));
        assert!(ok("node.kubernetes.io/lifecycle"));
        assert!(!ok("bad key"));
    }

    #[test]
    fn label_values_may_be_empty_but_not_start_with_a_dash() {
        let value = regex::Regex::new(LABEL_VALUE_PATTERN).ok();
        let ok = |s: &str| value.as_ref().is_some_and(|r| r.is_match(s));
        assert!(ok(""));
        assert!(ok("spark-executor"));
        assert!(!ok("-x"));
    }
}
