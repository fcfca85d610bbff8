//! Creating a node group exactly once. A create can end without recording its group: the
//! answer to CreateNodegroup lost, the provider killed while it waited, a panic. The group
//! exists all the same, and the next apply must record it rather than create a second one.
//!
//! - Every create tags its group with [`PENDING_TAG`], whose value is the [`mark`] of the
//!   planned group: a digest of the create request (cluster, naming rule, role, subnets, sizes,
//!   labels, taints, tags, ...), the name aside when it is generated.
//! - Once the group is recorded in the state the tag is removed (or, after an interrupted
//!   create, by the next apply's update). A group that still carries it was left behind.
//! - Before creating, the planned group is looked for: by its name when the configuration
//!   gives one, else among the cluster's groups whose generated names start with the prefix
//!   and the mark (see [`generated_name`]). A group carrying the same mark is recorded instead
//!   of creating one; any other group of the given name is refused, with the import command.
//! - Within one run, every group a create makes or takes is claimed, so two resources of the
//!   same configuration never take the same group.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::clients::eks::{Eks, Nodegroup, NodegroupSpec};
use crate::conns::ProviderData;
use crate::framework::{Context, Diagnostic};

use super::{eks_diag, model::Identity};

/// The tag a group carries from its create until it is recorded in a state.
pub const PENDING_TAG: &str = "terraform-provider-dataplatform:pending-create";

/// Hex digits of the mark in a generated name.
const MARK_IN_NAME: usize = 8;

/// Statuses of a group that a create may take over and wait for.
const ADOPTABLE: [&str; 3] = ["CREATING", "ACTIVE", "UPDATING"];

/// How the group is named: as configured, or generated from a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Naming {
    Given(String),
    Prefix(String),
}

impl Naming {
    pub fn of(planned: &crate::value::Value) -> Naming {
        let id = Identity::of(planned);
        if let Some(n) = id.name.0 {
            return Naming::Given(n);
        }
        Naming::Prefix(id.name_prefix.0.unwrap_or_else(|| {
            let purpose = id.purpose.0.unwrap_or_else(|| "custom".into());
            format!("tf-{purpose}-")
        }))
    }
}

/// The mark of a planned group: the same configuration planned again (in a later run, by
/// another provider process) gives the same mark; any change to what is created changes it.
/// `spec` is the create request without the pending tag; its name is ignored.
pub fn mark(spec: &NodegroupSpec, naming: &Naming) -> String {
    let request = NodegroupSpec {
        name: String::new(),
        ..spec.clone()
    };
    let naming = match naming {
        Naming::Given(n) => format!("name={n}"),
        Naming::Prefix(p) => format!("prefix={p}"),
    };
    let text = format!(
        "dataplatform_nodegroup pending-create v1\n{naming}\n{}",
        request.canonical()
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A unique suffix: UTC timestamp to the millisecond plus 4 hex digits.
fn unique_suffix() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let millis = now.as_millis();
    let nanos = now.subsec_nanos();
    format!("{millis}{:04x}", (nanos ^ std::process::id()) & 0xffff)
}

/// What generated names of groups with this mark start with.
fn generated_stem(prefix: &str, mark: &str) -> String {
    format!("{prefix}{}-", &mark[..MARK_IN_NAME.min(mark.len())])
}

/// A new name: the prefix, the start of the mark, and a unique suffix (at most 63 characters:
/// prefixes have at most 37).
pub fn generated_name(prefix: &str, mark: &str) -> String {
    let mut name = format!("{}{}", generated_stem(prefix, mark), unique_suffix());
    name.truncate(63);
    name
}

/// The tags a state shows: the pending tag is the provider's bookkeeping, not the user's.
pub fn visible_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| k.as_str() != PENDING_TAG)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Groups made or taken by creates of this run (`cluster:name`).
#[derive(Clone, Default)]
pub struct Claims(Arc<Mutex<BTreeSet<String>>>);

impl Claims {
    pub async fn of(ctx: &Context<ProviderData>) -> Claims {
        match ctx
            .shared(|| async { Ok::<_, Infallible>(Claims::default()) })
            .await
        {
            Ok(c) => c,
            Err(never) => match never {},
        }
    }

    /// True when the group was not claimed yet, and now is.
    pub fn claim(&self, cluster: &str, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{cluster}:{name}"))
    }

    /// Gives up a claim (the create did not go ahead).
    pub fn release(&self, cluster: &str, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&format!("{cluster}:{name}"));
    }

    pub fn is_claimed(&self, cluster: &str, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&format!("{cluster}:{name}"))
    }
}

/// What a create does with the planned group.
#[derive(Debug)]
pub enum Plan {
    /// Create a new group with this name (claimed).
    Create(String),
    /// Record this group, left behind by an earlier create of the same planned group.
    Adopt(Box<Nodegroup>),
}

fn already_exists(cluster: &str, name: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        "Node group already exists",
        format!(
            "EKS cluster {cluster:?} already has a node group named {name:?}. {why} It is not \
             taken over. To manage it with Terraform, import it:\n  terraform import \
             <resource address> {cluster}:{name}\nor give this resource another name."
        ),
    )
}

/// Why an existing group of the given name is not this resource's to record, if it is not.
fn refusal(ng: &Nodegroup, mark: &str) -> Option<String> {
    match ng.tags.get(PENDING_TAG) {
        None => Some("It was not created by an interrupted apply of this resource.".into()),
        Some(m) if m != mark => Some(
            "It was left by an interrupted create of a different configuration (its \
             pending-create mark does not match this plan's)."
                .into(),
        ),
        Some(_) if !ADOPTABLE.contains(&ng.status.as_str()) => Some(format!(
            "It was left by an interrupted create of this resource, but it is {}; delete it, \
             or import it and replace it.",
            ng.status
        )),
        Some(_) => None,
    }
}

/// Looks for the planned group left behind by an earlier create; names a new one otherwise.
///
/// # Errors
/// A diagnostic when EKS cannot be asked, or when a group of the given name exists that is
/// not this resource's (with the command that imports it).
pub async fn plan_create(
    eks: &Eks,
    claims: &Claims,
    cluster: &str,
    naming: &Naming,
    mark: &str,
) -> Result<Plan, Diagnostic> {
    match naming {
        Naming::Given(name) => {
            if !claims.claim(cluster, name) {
                return Err(already_exists(
                    cluster,
                    name,
                    "Another resource of this configuration creates it in this run.",
                ));
            }
            let found = eks
                .find_nodegroup(cluster, name)
                .await
                .map_err(|e| eks_diag("Cannot look for the node group", &e));
            let plan = match found {
                Err(d) => Err(d),
                Ok(None) => Ok(Plan::Create(name.clone())),
                Ok(Some(ng)) => match refusal(&ng, mark) {
                    None => Ok(Plan::Adopt(Box::new(ng))),
                    Some(why) => Err(already_exists(cluster, name, &why)),
                },
            };
            if plan.is_err() {
                claims.release(cluster, name);
            }
            plan
        }
        Naming::Prefix(prefix) => {
            let stem = generated_stem(prefix, mark);
            let names = eks
                .list_nodegroups(cluster)
                .await
                .map_err(|e| eks_diag("Cannot list node groups", &e))?;
            for name in names.iter().filter(|n| n.starts_with(&stem)) {
                if claims.is_claimed(cluster, name) {
                    continue;
                }
                let found = eks
                    .find_nodegroup(cluster, name)
                    .await
                    .map_err(|e| eks_diag("Cannot look for the node group", &e))?;
                if let Some(ng) = found {
                    if refusal(&ng, mark).is_none() && claims.claim(cluster, name) {
                        return Ok(Plan::Adopt(Box::new(ng)));
                    }
                }
            }
            loop {
                let name = generated_name(prefix, mark);
                if claims.claim(cluster, &name) {
                    return Ok(Plan::Create(name));
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::eks::{Scaling, Taint};

    fn spec() -> NodegroupSpec {
        NodegroupSpec {
            cluster: "analytics".into(),
            name: "infra".into(),
            node_role_arn: "arn:aws:iam::123456789012:role/nodes".into(),
            subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
            scaling: Some(Scaling {
                min: 1,
                max: 7,
                desired: 1,
            }),
            instance_types: vec!["m6i.2xlarge".into()],
            labels: BTreeMap::from([("purpose".into(), "infra".into())]),
            taints: vec![Taint {
                key: "purpose".into(),
                value: Some("infra".into()),
                effect: "NO_SCHEDULE".into(),
            }],
            tags: BTreeMap::from([("team".into(), "data".into())]),
            ..NodegroupSpec::default()
        }
    }

    #[test]
    fn the_same_planned_group_has_the_same_mark_and_token() {
        let given = Naming::Given("infra".into());
        let a = spec();
        let mut b = spec();
        // A set's order is not part of the request.
        b.subnet_ids.reverse();
        assert_eq!(mark(&a, &given), mark(&b, &given));
        assert_eq!(a.request_token(), b.request_token());
        // Pinned: a release that changed them would not find what an interrupted create of an
        // earlier release left behind.
        assert_eq!(a.request_token(), "tfdp-f8227b9cf37d772a34e53d31c1517c60");
        assert_eq!(
            mark(&a, &given),
            "57cb2aa51965faf58b8516da8dfb0a8c6010a46c37c12ef2fd4332e329b118a5"
        );
    }

    #[test]
    fn anything_created_differently_changes_the_mark_and_token() {
        let given = Naming::Given("infra".into());
        let base = spec();
        type Change = Box<dyn Fn(&mut NodegroupSpec)>;
        let changes: Vec<Change> = vec![
            Box::new(|s| s.cluster = "other".into()),
            Box::new(|s| s.subnet_ids.push("subnet-c".into())),
            Box::new(|s| s.instance_types = vec!["m6i.xlarge".into()]),
            Box::new(|s| {
                s.scaling = Some(Scaling {
                    min: 1,
                    max: 8,
                    desired: 1,
                })
            }),
            Box::new(|s| {
                s.labels.insert("team".into(), "x".into());
            }),
            Box::new(|s| s.taints.clear()),
            Box::new(|s| {
                s.tags.insert("cost".into(), "1".into());
            }),
            Box::new(|s| s.disk_size = Some(50)),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut s = spec();
            change(&mut s);
            assert_ne!(mark(&s, &given), mark(&base, &given), "change {i}");
            assert_ne!(s.request_token(), base.request_token(), "change {i}");
        }
        // The naming rule is part of the mark; a generated name is not.
        assert_ne!(
            mark(&base, &given),
            mark(&base, &Naming::Prefix("infra".into()))
        );
        let mut renamed = spec();
        renamed.name = "tf-infra-0123".into();
        let prefix = Naming::Prefix("tf-infra-".into());
        assert_eq!(mark(&renamed, &prefix), mark(&base, &prefix));
        // The token covers the name: two groups never share one.
        assert_ne!(renamed.request_token(), base.request_token());
    }

    #[test]
    fn generated_names_start_with_the_prefix_and_the_mark() {
        let m = mark(&spec(), &Naming::Prefix("spark-".into()));
        let a = generated_name("spark-", &m);
        assert!(a.starts_with(&format!("spark-{}-", &m[..8])), "{a}");
        let long = "p".repeat(37);
        let b = generated_name(&long, &m);
        assert!(b.len() <= 63, "{b}");
        let pattern = regex::Regex::new(super::super::schema::NODEGROUP_NAME_PATTERN).unwrap();
        assert!(pattern.is_match(&a) && pattern.is_match(&b), "{a} {b}");
    }

    #[test]
    fn only_a_group_with_this_plans_mark_is_taken_over() {
        let m = "a".repeat(64);
        let mut ng = Nodegroup {
            status: "CREATING".into(),
            ..Nodegroup::default()
        };
        assert!(refusal(&ng, &m).is_some_and(|w| w.contains("not created by an interrupted apply")));
        ng.tags.insert(PENDING_TAG.into(), "b".repeat(64));
        assert!(refusal(&ng, &m).is_some_and(|w| w.contains("different configuration")));
        ng.tags.insert(PENDING_TAG.into(), m.clone());
        assert_eq!(refusal(&ng, &m), None);
        ng.status = "CREATE_FAILED".into();
        assert!(refusal(&ng, &m).is_some_and(|w| w.contains("CREATE_FAILED")));
        let d = already_exists("analytics", "infra", "Why.");
        assert!(d
            .detail
            .contains("terraform import <resource address> analytics:infra"));
    }

    #[test]
    fn a_group_is_claimed_once() {
        let claims = Claims::default();
        assert!(claims.claim("analytics", "infra"));
        assert!(!claims.claim("analytics", "infra"));
        assert!(claims.is_claimed("analytics", "infra"));
        assert!(!claims.is_claimed("other", "infra"));
        claims.release("analytics", "infra");
        assert!(claims.claim("analytics", "infra"));
        let visible = visible_tags(&BTreeMap::from([
            (PENDING_TAG.to_string(), "m".to_string()),
            ("team".to_string(), "data".to_string()),
        ]));
        assert_eq!(visible.keys().collect::<Vec<_>>(), ["team"]);
    }
}
