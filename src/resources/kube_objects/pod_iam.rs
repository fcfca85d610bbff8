//! IAM roles for the pods of a Kubernetes-backed resource, with either mechanism EKS offers:
//! EKS Pod Identity (an association of the service account with the role, made through the
//! EKS API and owned by the resource) or IRSA (the `eks.amazonaws.com/role-arn` annotation on
//! the service account, which the resource renders with its objects).
//!
//! Associations are recorded in `pod_identity_associations` (`namespace/service_account` →
//! association ID). Refresh reads them back: one deleted outside Terraform becomes `deleted`,
//! one pointed at another role carries a note, so the plan shows the drift and apply puts it
//! back. Only recorded associations are changed or deleted; an existing one that is not the
//! resource's (no owner tag matching its `owner_id`) is refused unless `adopt_existing`.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::clients::eks::{Association, Eks, EksError, Subject};
use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::validators::{matches, one_of};
use crate::framework::{Diagnostic, Field, FromValue, Merge};
use crate::value::{Type, Value};

use super::ownership::OWNER_ID_ANNOTATION;

/// An IAM role ARN (any partition).
pub const ROLE_ARN_PATTERN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$";
/// The service-account annotation IRSA's webhook reads.
pub const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Marker in `pod_identity_associations` for an association deleted outside Terraform.
pub const DELETED: &str = "deleted";
/// The attribute the associations are recorded in.
pub const ATTRIBUTE: &str = "pod_identity_associations";

/// How the pods get the role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    PodIdentity,
    Irsa,
}

impl Mechanism {
    pub const NAMES: [&'static str; 2] = ["pod_identity", "irsa"];

    fn parse(s: Option<&str>) -> Mechanism {
        match s {
            Some("irsa") => Mechanism::Irsa,
            _ => Mechanism::PodIdentity,
        }
    }
}

/// A role for the pods of one service account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iam {
    pub role_arn: String,
    pub mechanism: Mechanism,
}

crate::model! {
    /// The `iam` block as configured, planned or stored.
    pub struct IamModel {
        pub role_arn: String,
        pub mechanism: Option<String>,
    }
}

impl IamModel {
    pub fn into_iam(self) -> Iam {
        Iam {
            role_arn: self.role_arn,
            mechanism: Mechanism::parse(self.mechanism.as_deref()),
        }
    }
}

/// The `iam` block of the pods of `whose` (e.g. "driver", "BI service").
pub fn iam_block(whose: &str) -> NestedBlock {
    NestedBlock::single(
        "iam",
        Block::new()
            .description(format!(
                "The IAM role the {whose} pods run as, through their service account. With `pod_identity` the \
                 resource creates an EKS Pod Identity association (the cluster needs the EKS Pod Identity Agent \
                 add-on, and the resource an EKS cluster name: the resource's or the provider's `cluster_name`); \
                 with `irsa` it annotates the service account with `{IRSA_ANNOTATION}` (the cluster needs an IAM \
                 OIDC provider, and the role a trust policy for it)."
            ))
            .attribute(
                Attribute::required("role_arn", Type::String)
                    .description("ARN of the IAM role, `arn:aws:iam::<account>:role/<name>`.")
                    .validator(matches(
                        ROLE_ARN_PATTERN,
                        "an IAM role ARN such as \"arn:aws:iam::123456789012:role/spark-jobs\"",
                    )),
            )
            .attribute(
                Attribute::optional_computed("mechanism", Type::String)
                    .description("`pod_identity` (EKS Pod Identity association) or `irsa` (service-account annotation). Default `pod_identity`.")
                    .default_value(Value::string("pod_identity"))
                    .validator(one_of(&Mechanism::NAMES)),
            ),
    )
}

/// The computed `pod_identity_associations` attribute.
pub fn associations_attribute() -> Attribute {
    Attribute::computed(ATTRIBUTE, crate::resources::common::string_map()).description(
        "The EKS Pod Identity associations the resource owns, as `namespace/service_account` to the association \
         ID. Refresh reads them back: `deleted` for one deleted outside Terraform, a note for one pointed at \
         another role, so the drift shows in the plan and apply puts it back.",
    )
}

/// The annotations a service account gets for `iam` (IRSA only).
pub fn service_account_annotations(iam: Option<&Iam>) -> Option<Json> {
    match iam {
        Some(i) if i.mechanism == Mechanism::Irsa => Some(json!({ IRSA_ANNOTATION: i.role_arn })),
        _ => None,
    }
}

/// A service account whose pods get a role through an EKS Pod Identity association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
}

impl Binding {
    /// The Pod Identity binding of a service account, when `iam` asks for one.
    pub fn of(namespace: &str, service_account: &str, iam: Option<&Iam>) -> Option<Binding> {
        let iam = iam.filter(|i| i.mechanism == Mechanism::PodIdentity)?;
        Some(Binding {
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            role_arn: iam.role_arn.clone(),
        })
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.service_account)
    }

    fn subject(&self, cluster: &str) -> Subject {
        Subject {
            cluster: cluster.to_string(),
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
        }
    }
}

/// `namespace/service_account` → association ID (or a drift marker).
pub type Recorded = BTreeMap<String, String>;

crate::model! {
    #[derive(Clone)]
    struct Associations {
        pod_identity_associations: Field<Recorded>,
    }
}

/// The associations recorded in a state (none for a null state).
pub fn recorded(state: &Value) -> Recorded {
    Associations::read(state)
        .ok()
        .and_then(|a| a.pod_identity_associations.into_known())
        .unwrap_or_default()
}

/// `v` with the recorded associations.
pub fn with_recorded(v: &mut Value, recorded: &Recorded) {
    let Ok(before) = Associations::read(v) else {
        return;
    };
    let after = Associations {
        pod_identity_associations: Field::Known(recorded.clone()),
    };
    after.merge_changes(&before, v);
}

/// The ID an entry holds: none for `deleted`, the ID before a drift note.
fn id_of(entry: &str) -> Option<&str> {
    match entry.split_whitespace().next() {
        Some(DELETED) | None => None,
        Some(id) => Some(id),
    }
}

/// The planned associations: the prior IDs of bindings still wanted, unknown for one to be
/// made or put back (deleted or drifted outside Terraform).
pub fn plan(prior_state: &Value, planned: &mut Value, wanted: &[Binding]) {
    // A state written before the attribute existed keeps null while nothing is wanted.
    if wanted.is_empty() && prior_state.get_attr(ATTRIBUTE).is_some_and(Value::is_null) {
        crate::framework::attr::set(planned, ATTRIBUTE, Value::Null);
        return;
    }
    let prior = recorded(prior_state);
    let next = wanted.iter().map(|b| {
        let id = match prior.get(&b.key()) {
            Some(entry) if id_of(entry) == Some(entry.as_str()) => Value::string(entry),
            _ => Value::Unknown,
        };
        (b.key(), id)
    });
    crate::framework::attr::set(planned, ATTRIBUTE, Value::map(next));
}

/// What the associations need: the EKS client (bounded by the operation), the EKS cluster,
/// and the resource as owner.
pub struct Scope<'a> {
    pub eks: &'a Eks,
    pub cluster: &'a str,
    pub owner_id: &'a str,
    pub adopt: bool,
    /// `terraform import` ID of the resource, for the refusal.
    pub resource: &'a str,
}

impl Scope<'_> {
    fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(OWNER_ID_ANNOTATION.to_string(), self.owner_id.to_string())])
    }

    fn ours(&self, a: &Association) -> bool {
        a.tags.get(OWNER_ID_ANNOTATION).map(String::as_str) == Some(self.owner_id)
    }
}

/// The error for Pod Identity on a cluster without an EKS name.
pub fn no_cluster_name() -> Diagnostic {
    Diagnostic::error(
        "EKS Pod Identity needs an EKS cluster",
        "The resource reaches its cluster through the provider's kubernetes block, which names no EKS cluster: a \
         Pod Identity association is made through the EKS API and needs the cluster's name. Set cluster_name on \
         the resource or the provider, or use mechanism = \"irsa\".",
    )
}

fn eks_diag(summary: &str, e: &EksError) -> Diagnostic {
    Diagnostic::error(summary, e.to_string())
}

/// Makes the wanted associations exist with their roles and deletes recorded ones no longer
/// wanted. Returns what is recorded afterwards, also on failure.
///
/// # Errors
/// The recorded associations with the diagnostic, when EKS refuses or cannot be reached, or an
/// association of someone else's is in the way.
pub async fn apply(
    scope: &Scope<'_>,
    prior: &Recorded,
    wanted: &[Binding],
) -> Result<Recorded, (Recorded, Diagnostic)> {
    let mut recorded = prior.clone();
    for b in wanted {
        let key = b.key();
        let known = match prior.get(&key).and_then(|e| id_of(e)) {
            Some(id) => scope
                .eks
                .find_pod_identity(scope.cluster, id)
                .await
                .map_err(|e| {
                    (
                        recorded.clone(),
                        eks_diag("Cannot read the Pod Identity association", &e),
                    )
                })?,
            None => None,
        };
        let live = match known {
            Some(a) => a,
            None => match take_existing(scope, b).await {
                Ok(Some(a)) => a,
                Ok(None) => {
                    let made = scope
                        .eks
                        .create_pod_identity(&b.subject(scope.cluster), &b.role_arn, &scope.tags())
                        .await
                        .map_err(|e| {
                            (
                                recorded.clone(),
                                eks_diag("Cannot create the Pod Identity association", &e),
                            )
                        })?;
                    recorded.insert(key, made.id.clone());
                    continue;
                }
                Err(d) => return Err((recorded, d)),
            },
        };
        recorded.insert(key.clone(), live.id.clone());
        if live.role_arn != b.role_arn {
            scope
                .eks
                .update_pod_identity(scope.cluster, &live.id, &b.role_arn)
                .await
                .map_err(|e| {
                    (
                        recorded.clone(),
                        eks_diag("Cannot update the Pod Identity association", &e),
                    )
                })?;
        }
    }
    let wanted_keys: Vec<String> = wanted.iter().map(Binding::key).collect();
    for (key, entry) in prior {
        if wanted_keys.contains(key) {
            continue;
        }
        if let Some(id) = id_of(entry) {
            scope
                .eks
                .delete_pod_identity(scope.cluster, id)
                .await
                .map_err(|e| {
                    (
                        recorded.clone(),
                        eks_diag("Cannot delete the Pod Identity association", &e),
                    )
                })?;
        }
        recorded.remove(key);
    }
    Ok(recorded)
}

/// The association a service account already has: the resource's own (tagged with its owner
/// ID: an import, or a create whose answer was lost), or anyone's when it adopts. `None` when
/// there is none; an error naming it when it is someone else's.
async fn take_existing(scope: &Scope<'_>, b: &Binding) -> Result<Option<Association>, Diagnostic> {
    let subject = b.subject(scope.cluster);
    let found = scope
        .eks
        .find_pod_identity_of(&subject)
        .await
        .map_err(|e| eks_diag("Cannot list the Pod Identity associations", &e))?;
    let Some(id) = found else { return Ok(None) };
    let Some(a) = scope
        .eks
        .find_pod_identity(scope.cluster, &id)
        .await
        .map_err(|e| eks_diag("Cannot read the Pod Identity association", &e))?
    else {
        return Ok(None);
    };
    if scope.ours(&a) || scope.adopt {
        return Ok(Some(a));
    }
    Err(Diagnostic::error(
        "Pod Identity association not created by this resource",
        format!(
            "Service account {}/{} of EKS cluster {:?} already has Pod Identity association {} (role {}), which \
             {} did not create. Delete it, or set adopt_existing = true to take it over (destroy then deletes it).",
            b.namespace, b.service_account, scope.cluster, a.id, a.role_arn, scope.resource
        ),
    ))
}

/// The recorded associations as they are live: `deleted` for one that is gone, a note for one
/// whose role is not the wanted one; the resource's own association of a wanted binding that
/// is not recorded yet (after an import) is found by its owner tag.
///
/// # Errors
/// A diagnostic when EKS cannot be asked.
pub async fn read(
    scope: &Scope<'_>,
    prior: &Recorded,
    wanted: &[Binding],
) -> Result<Recorded, Diagnostic> {
    let mut live = Recorded::new();
    let drift = |a: &Association, want: Option<&Binding>| match want {
        Some(b) if b.role_arn != a.role_arn => {
            format!(
                "{} (role changed outside Terraform to {})",
                a.id, a.role_arn
            )
        }
        _ => a.id.clone(),
    };
    for (key, entry) in prior {
        let want = wanted.iter().find(|b| &b.key() == key);
        let Some(id) = id_of(entry) else {
            live.insert(key.clone(), DELETED.to_string());
            continue;
        };
        let found = scope
            .eks
            .find_pod_identity(scope.cluster, id)
            .await
            .map_err(|e| eks_diag("Cannot read the Pod Identity association", &e))?;
        live.insert(
            key.clone(),
            found.map_or_else(|| DELETED.to_string(), |a| drift(&a, want)),
        );
    }
    for b in wanted.iter().filter(|b| !prior.contains_key(&b.key())) {
        let subject = b.subject(scope.cluster);
        let Some(id) = scope
            .eks
            .find_pod_identity_of(&subject)
            .await
            .map_err(|e| eks_diag("Cannot list the Pod Identity associations", &e))?
        else {
            continue;
        };
        if let Some(a) = scope
            .eks
            .find_pod_identity(scope.cluster, &id)
            .await
            .map_err(|e| eks_diag("Cannot read the Pod Identity association", &e))?
        {
            if scope.ours(&a) {
                live.insert(b.key(), drift(&a, Some(b)));
            }
        }
    }
    Ok(live)
}

/// Deletes the recorded associations (those already gone are fine).
///
/// # Errors
/// A diagnostic naming the association EKS would not delete.
pub async fn delete(eks: &Eks, cluster: &str, prior: &Recorded) -> Result<(), Diagnostic> {
    for entry in prior.values() {
        if let Some(id) = id_of(entry) {
            eks.delete_pod_identity(cluster, id)
                .await
                .map_err(|e| eks_diag("Cannot delete the Pod Identity association", &e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn role_arns_of_every_partition_pass_and_other_arns_do_not() {
        let re = Regex::new(ROLE_ARN_PATTERN).expect("pattern");
        for ok in [
            "arn:aws:iam::123456789012:role/spark",
            "arn:aws-cn:iam::123456789012:role/teams/etl/spark-jobs",
            "arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f_g-h",
        ] {
            assert!(re.is_match(ok), "{ok}");
        }
        for bad in [
            "arn:aws:iam::123456789012:user/spark",
            "arn:aws:iam::123456789012:policy/spark",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::12345:role/spark",
            "spark",
        ] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn irsa_annotates_the_service_account_and_pod_identity_binds_it() {
        let irsa = Iam {
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            mechanism: Mechanism::Irsa,
        };
        let pid = Iam {
            mechanism: Mechanism::PodIdentity,
            ..irsa.clone()
        };
        assert_eq!(
            service_account_annotations(Some(&irsa)),
            Some(json!({IRSA_ANNOTATION: "arn:aws:iam::123456789012:role/r"}))
        );
        assert_eq!(service_account_annotations(Some(&pid)), None);
        assert_eq!(Binding::of("ns", "sa", Some(&irsa)), None);
        assert_eq!(
            Binding::of("ns", "sa", Some(&pid)).map(|b| b.key()),
            Some("ns/sa".to_string())
        );
    }

    fn state(entries: &[(&str, &str)]) -> Value {
        Value::object(vec![(
            ATTRIBUTE,
            Value::map(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::string(*v))),
            ),
        )])
    }

    fn binding(key: &str) -> Binding {
        let (ns, sa) = key.split_once('/').expect("key");
        Binding {
            namespace: ns.into(),
            service_account: sa.into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
        }
    }

    #[test]
    fn the_plan_keeps_recorded_ids_and_drops_unwanted_ones() {
        let prior = state(&[("ns/a", "a-1"), ("ns/b", "a-2")]);
        let mut planned = state(&[]);
        plan(&prior, &mut planned, &[binding("ns/a")]);
        assert_eq!(planned, state(&[("ns/a", "a-1")]));
    }

    #[test]
    fn drift_or_a_new_binding_leaves_its_id_unknown() {
        for prior in [
            state(&[("ns/a", DELETED)]),
            state(&[(
                "ns/a",
                "a-1 (role changed outside Terraform to arn:aws:iam::123456789012:role/x)",
            )]),
            state(&[]),
        ] {
            let mut planned = state(&[]);
            plan(&prior, &mut planned, &[binding("ns/a"), binding("ns/b")]);
            let expected = Value::map([
                ("ns/a".to_string(), Value::Unknown),
                ("ns/b".to_string(), Value::Unknown),
            ]);
            assert_eq!(planned.get_attr(ATTRIBUTE), Some(&expected), "{prior:?}");
        }
    }
}
