//! What the Kubernetes-backed resources share: a set of objects applied with server-side
//! apply, recorded in state as `Kind/namespace/name` → fingerprint of the fields we set, read
//! back for drift, and deleted in dependency order.

pub mod checksum;
pub mod drift;
#[cfg(test)]
mod example;
pub mod handover;
mod lifecycle;
pub mod list;
pub mod ownership;
pub mod pod_iam;

pub use lifecycle::{KubeResource, Stage};
pub use ownership::{Claim, Owner};

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::clients::kube::{Kube, KubeError, ObjectRef, KINDS};
use crate::clients::wait::{self, Backoff, Poll, WaitEnd};
use crate::framework::plan_modifiers::UseStateForUnknown;
use crate::framework::schema::{Attribute, Block};
use crate::framework::{Diagnostic, Diagnostics, Field, FromValue, Merge};
use crate::resources::common;
use crate::value::{Type, Value};

/// The `app.kubernetes.io/managed-by` label of every object, and the field manager its
/// server-side applies run as (so `kubectl` shows one owner for both).
pub const MANAGED_BY: &str = "terraform-provider-dataplatform";
/// Marker in `objects` for an object deleted outside Terraform.
pub const DELETED: &str = "deleted";
/// Marker in `objects` for a Deployment whose last rollout failed: the next plan re-applies.
pub const ROLLOUT_FAILED: &str = "rollout failed";
/// Marker in `objects` for a Secret whose data was changed outside Terraform.
pub const SECRET_CHANGED: &str = "data changed";
/// Marker in `objects` for an object replaced outside Terraform by someone else's.
pub const NOT_OURS: &str = "owned by another";
/// `n` random bytes, for owner IDs and checksum keys.
///
/// # Errors
/// When the system's random source fails.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, Diagnostic> {
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        Diagnostic::error(
            "No random source",
            "The system's random number generator failed.",
        )
    })?;
    Ok(bytes)
}

/// Keyed checksum of a Secret's data on a pod template, so a changed credential rolls the
/// pods ([`checksum`]).
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

/// The attributes of [`Common`], which every Kubernetes-backed resource has: `id`,
/// `owner_id`, `adopt_existing`, `force_conflicts` and `objects`.
pub fn lifecycle_attributes(block: Block) -> Block {
    block
        .attribute(
            Attribute::computed("id", Type::String)
                .description("`namespace/name`.")
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(common::owner_id())
        .attribute(common::adopt_existing())
        .attribute(common::force_conflicts())
        .attribute(
            Attribute::computed("objects", common::string_map()).description(
                "The Kubernetes objects managed, as `Kind/namespace/name` to a fingerprint of the fields this \
                 resource sets. Refresh puts the live fingerprint here, `deleted` for an object deleted outside \
                 Terraform, so drift shows in the plan.",
            ),
        )
}

crate::model! {
    /// The attributes every Kubernetes-backed resource has, as the shared lifecycle reads and
    /// writes them.
    #[derive(Clone, Default)]
    pub struct Common {
        pub id: Field<String>,
        pub owner_id: Field<String>,
        pub adopt_existing: Field<bool>,
        pub force_conflicts: Field<bool>,
        pub objects: Field<Prints>,
    }
}

impl Common {
    /// The common attributes of a configuration, plan or state (all null when unreadable).
    pub fn of(v: &Value) -> Common {
        Common::read(v).unwrap_or_default()
    }

    /// Changes the common attributes of `v`, writing back only what `f` changed.
    pub fn update(v: &mut Value, f: impl FnOnce(&mut Common)) {
        let before = Common::of(v);
        let mut next = before.clone();
        f(&mut next);
        next.merge_changes(&before, v);
    }
}

/// The `objects` attribute of a state.
pub fn prints_of(state: &Value) -> Prints {
    Common::of(state).objects.into_known().unwrap_or_default()
}

pub fn with_prints(mut state: Value, prints: &Prints) -> Value {
    Common::update(&mut state, |c| c.objects = Field::Known(prints.clone()));
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

/// Applies `objects` in order, as `owner`, and deletes those of `prior` no longer wanted.
///
/// Before anything is written every object is read: one that exists and is not the owner's
/// is refused ([`ownership`]), unless the owner adopts. Deployments an autoscaler scales are
/// applied without `spec.replicas`. On failure the prints of what exists (applied so far, and
/// prior objects) come with the diagnostics.
pub async fn apply_all(
    kube: &Kube,
    objects: &[Json],
    prior: &Prints,
    owner: &Owner,
    import_id: &str,
) -> Result<(Prints, Diagnostics), (Prints, Diagnostics)> {
    let wanted = fingerprints(objects);
    let mut recorded = prior.clone();
    let fail = |recorded: &Prints, d: Diagnostic| Err((recorded.clone(), d.into()));
    let mut lives = Vec::with_capacity(objects.len());
    let mut refused = Diagnostics::new();
    for obj in objects {
        let r = ObjectRef::of(obj).ok();
        let live = match &r {
            Some(r) => match kube.get(r).await {
                Ok(l) => l,
                Err(e) => return fail(&recorded, kube_diag(&format!("Cannot read {r}"), &e)),
            },
            None => None,
        };
        if let (Some(r), Some(l)) = (&r, &live) {
            if let Claim::Foreign(why) = owner.claim(l, prior.contains_key(&r.key())) {
                if !owner.adopt {
                    refused.push(ownership::refusal(r, &why, owner, import_id));
                }
            }
        }
        lives.push(live);
    }
    if refused.has_errors() {
        return Err((recorded, refused));
    }
    let mut objects = objects.to_vec();
    if let Err(d) = seal_checksums(&mut objects, &lives) {
        return fail(&recorded, d);
    }
    let leaving: Vec<String> = prior
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    let (scaled, freed) = match autoscaled(kube, &objects, &leaving).await {
        Ok(s) => s,
        Err(e) => return fail(&recorded, kube_diag("Cannot list the autoscalers", &e)),
    };
    for (obj, live) in objects.iter().zip(&lives) {
        let Ok(r) = ObjectRef::of(obj) else { continue };
        let mut marked = owner.mark(obj);
        if scaled.contains(&r.key()) {
            if let Err(e) = hand_replicas_over(kube, &marked, live.as_ref(), owner).await {
                return fail(&recorded, kube_diag(&format!("Cannot apply {r}"), &e));
            }
            if let Some(spec) = marked.get_mut("spec").and_then(Json::as_object_mut) {
                spec.remove("replicas");
            }
        }
        // The resource's own autoscaler is going: the replicas come back to the owner, taken
        // from the autoscaler's controller through the hand-over manager.
        let handed_back = !scaled.contains(&r.key())
            && (freed.contains(&r.key())
                || live
                    .as_ref()
                    .is_some_and(|l| ownership::applies_replicas(l, REPLICAS_HANDOVER)));
        // Taking the replicas back from the autoscaler's controller (and the hand-over
        // manager) is this apply's purpose: it forces, as the plan showed the Deployment change.
        let forcing;
        let applier = if handed_back && !owner.force {
            forcing = Owner {
                force: true,
                ..owner.clone()
            };
            &forcing
        } else {
            owner
        };
        if let Err(d) = apply_one(kube, &r, &marked, live.as_ref(), applier).await {
            return fail(&recorded, d);
        }
        if handed_back {
            if let Err(e) = hand_replicas_back(kube, &marked).await {
                return fail(&recorded, kube_diag(&format!("Cannot apply {r}"), &e));
            }
        }
        recorded.insert(r.key(), wanted.get(&r.key()).cloned().unwrap_or_default());
    }
    let stale: Vec<ObjectRef> = prior
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .filter_map(|k| object_ref(k))
        .collect();
    match delete_owned(kube, &stale, owner).await {
        Ok(kept) => Ok((wanted, kept.into_iter().map(|(_, d)| d).collect())),
        Err((deleted, d)) => {
            for r in deleted {
                recorded.remove(&r.key());
            }
            fail(&recorded, d)
        }
    }
}

/// Server-side applies one marked object as the owner's field manager. Conflicts with the
/// field manager of earlier provider versions are the owner's own fields: taken over, and the
/// old manager's claim released.
async fn apply_one(
    kube: &Kube,
    r: &ObjectRef,
    marked: &Json,
    live: Option<&Json>,
    owner: &Owner,
) -> Result<(), Diagnostic> {
    let legacy = live.is_some_and(|l| {
        ownership::field_managers(l)
            .iter()
            .any(|m| m == ownership::LEGACY_FIELD_MANAGER)
    });
    let applied = match kube.apply(marked, &owner.field_manager, owner.force).await {
        Err(e) => match e.conflicting_managers() {
            Some(m) if legacy && m.iter().all(|m| m == ownership::LEGACY_FIELD_MANAGER) => {
                kube.apply(marked, &owner.field_manager, true).await
            }
            Some(_) => return Err(ownership::conflict(r, &e)),
            None => Err(e),
        },
        ok => ok,
    };
    applied.map_err(|e| kube_diag(&format!("Cannot apply {r}"), &e))?;
    if legacy {
        // An empty apply releases every field the old manager claimed; the owner's stay.
        let mut meta = serde_json::Map::new();
        meta.insert("name".into(), json!(r.name));
        if let Some(ns) = &r.namespace {
            meta.insert("namespace".into(), json!(ns));
        }
        let empty = json!({"apiVersion": r.api_version, "kind": r.kind, "metadata": meta});
        kube.apply(&empty, ownership::LEGACY_FIELD_MANAGER, false)
            .await
            .map_err(|e| {
                kube_diag(
                    &format!("Cannot release {r} from the old field manager"),
                    &e,
                )
            })?;
    }
    Ok(())
}

/// The field manager that keeps `spec.replicas` while an autoscaler takes it over.
const REPLICAS_HANDOVER: &str = "dataplatform/replicas-handover";

/// Before a Deployment is applied without `spec.replicas` (an autoscaler scales it), the
/// current count is applied by a hand-over manager, so dropping the field from the owner's
/// configuration does not reset it to one.
async fn hand_replicas_over(
    kube: &Kube,
    marked: &Json,
    live: Option<&Json>,
    owner: &Owner,
) -> Result<(), KubeError> {
    let Some(live) = live else { return Ok(()) };
    let owned = ownership::applies_replicas(live, &owner.field_manager)
        || ownership::applies_replicas(live, ownership::LEGACY_FIELD_MANAGER);
    let Some(replicas) = live.pointer("/spec/replicas").filter(|_| owned) else {
        return Ok(());
    };
    let handover = json!({
        "apiVersion": marked["apiVersion"], "kind": marked["kind"],
        "metadata": {"name": marked["metadata"]["name"], "namespace": marked["metadata"]["namespace"]},
        "spec": {"replicas": replicas},
    });
    kube.apply(&handover, REPLICAS_HANDOVER, true)
        .await
        .map(drop)
}

/// When no autoscaler scales a Deployment any more and the owner has applied its count, the
/// hand-over manager lets `spec.replicas` go (it applies nothing), leaving it to the owner.
async fn hand_replicas_back(kube: &Kube, marked: &Json) -> Result<(), KubeError> {
    let release = json!({
        "apiVersion": marked["apiVersion"], "kind": marked["kind"],
        "metadata": {"name": marked["metadata"]["name"], "namespace": marked["metadata"]["namespace"]},
    });
    kube.apply(&release, REPLICAS_HANDOVER, false)
        .await
        .map(drop)
}

/// The Deployments among `objects` that a HorizontalPodAutoscaler scales, as object keys:
/// one among `objects` (the resource's own), or one in the cluster other than those in
/// `leaving` (the resource's own being deleted, which hand the replicas back). Second, the
/// Deployments the leaving ones scale.
async fn autoscaled(
    kube: &Kube,
    objects: &[Json],
    leaving: &[String],
) -> Result<(Keys, Keys), KubeError> {
    let mut out = Keys::new();
    let mut freed = Keys::new();
    for hpa in objects
        .iter()
        .filter(|o| o["kind"] == "HorizontalPodAutoscaler")
    {
        let target = &hpa["spec"]["scaleTargetRef"];
        if let (Some(ns), Some(name), true) = (
            hpa.pointer("/metadata/namespace").and_then(Json::as_str),
            target["name"].as_str(),
            target["kind"] == "Deployment",
        ) {
            out.insert(format!("Deployment/{ns}/{name}"));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for o in objects.iter().filter(|o| o["kind"] == "Deployment") {
        let Some(ns) = o.pointer("/metadata/namespace").and_then(Json::as_str) else {
            continue;
        };
        if !seen.insert(ns.to_string()) {
            continue;
        }
        let hpas = match kube
            .list("autoscaling/v2", "HorizontalPodAutoscaler", ns, "")
            .await
        {
            Ok(h) => h,
            // Credentials that may not list autoscalers (or a cluster without the API): no
            // autoscaler the provider could defer to.
            Err(KubeError::Api {
                code: 403 | 404, ..
            }) => {
                tracing::debug!(namespace = ns, "autoscalers not listed");
                continue;
            }
            Err(e) => return Err(e),
        };
        for hpa in hpas {
            let name = hpa.pointer("/metadata/name").and_then(Json::as_str);
            let left = name
                .is_some_and(|n| leaving.contains(&format!("HorizontalPodAutoscaler/{ns}/{n}")));
            let target = &hpa["spec"]["scaleTargetRef"];
            if target["kind"] == "Deployment" {
                if let Some(name) = target["name"].as_str() {
                    let key = format!("Deployment/{ns}/{name}");
                    if left {
                        freed.insert(key);
                    } else {
                        out.insert(key);
                    }
                }
            }
        }
    }
    freed.retain(|k| !out.contains(k));
    Ok((out, freed))
}

type Keys = std::collections::BTreeSet<String>;

/// Seals the Secret checksums of pod templates ([`checksum`]), with the HMAC key each live
/// Secret keeps or a new one.
fn seal_checksums(objects: &mut [Json], lives: &[Option<Json>]) -> Result<(), Diagnostic> {
    let mut keys = BTreeMap::new();
    for id in checksum::summed_secrets(objects) {
        let live = objects.iter().zip(lives).find_map(|(o, l)| {
            let r = ObjectRef::of(o).ok()?;
            (r.kind == "Secret"
                && format!("{}/{}", r.namespace.as_deref().unwrap_or_default(), r.name) == id)
                .then_some(l.as_ref())
                .flatten()
        });
        let key = match live.and_then(checksum::live_key) {
            Some(k) => k,
            None => random_bytes(checksum::KEY_LEN)?,
        };
        keys.insert(id, key);
    }
    checksum::seal(objects, &keys);
    Ok(())
}

/// Deletes those of `refs` that carry the owner's mark (or were written by an earlier
/// version), dependents first; a namespace only when nothing else lives in it. Returns what
/// was left in place, each with a warning saying why; on failure, what is gone and the error.
async fn delete_owned(
    kube: &Kube,
    refs: &[ObjectRef],
    owner: &Owner,
) -> Result<Vec<(ObjectRef, Diagnostic)>, (Vec<ObjectRef>, Diagnostic)> {
    let mut refs = refs.to_vec();
    refs.sort_by_key(|r| delete_rank(r.kind));
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for r in refs {
        let live = match kube.get(&r).await {
            Ok(Some(l)) => l,
            Ok(None) => {
                deleted.push(r);
                continue;
            }
            Err(e) => return Err((deleted, kube_diag(&format!("Cannot read {r}"), &e))),
        };
        if let Claim::Foreign(why) = owner.claim(&live, true) {
            let d = Diagnostic::warning(
                format!("{r} left in place"),
                format!(
                    "{r} is not deleted: {why}. Destroy deletes only what the resource created."
                ),
            );
            kept.push((r, d));
            continue;
        }
        if r.kind == "Namespace" {
            let contents = match kube.namespace_contents(&r.name).await {
                Ok(c) => c,
                Err(e) => {
                    return Err((
                        deleted,
                        kube_diag(&format!("Cannot list what {r} holds"), &e),
                    ))
                }
            };
            if !contents.unreadable.is_empty() {
                let d = Diagnostic::warning(
                    format!("{r} left in place"),
                    format!(
                        "{r} is not deleted: the credentials in use may not list {}, so nothing proves the \
                         namespace holds only what this resource created. Delete it by hand if it is empty.",
                        contents.unreadable.join(", ")
                    ),
                );
                kept.push((r, d));
                continue;
            }
            let others: Vec<String> = contents
                .objects
                .into_iter()
                .filter(|o| !ownership::cluster_made(o))
                .collect();
            if !others.is_empty() {
                let shown: Vec<&str> = others.iter().take(10).map(String::as_str).collect();
                let more = others.len().saturating_sub(shown.len());
                let d = Diagnostic::warning(
                    format!("{r} left in place"),
                    format!(
                        "{r} is not deleted: it holds objects this resource did not create: {}{}. Delete the \
                         namespace by hand once they are gone.",
                        shown.join(", "),
                        if more > 0 { format!(" and {more} more") } else { String::new() }
                    ),
                );
                kept.push((r, d));
                continue;
            }
        }
        if let Err(e) = kube.delete(&r).await {
            return Err((deleted, kube_diag(&format!("Cannot delete {r}"), &e)));
        }
        deleted.push(r);
    }
    Ok(kept)
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

/// Reads the live objects and fingerprints the fields we set. `unknown_secret_keys` are Secret
/// data keys whose values the state does not hold (write-only), so they cannot be compared.
/// `owner_id`: objects that carry another owner's ID are not ours any more.
pub async fn read_all(
    kube: &Kube,
    desired: &[Json],
    unknown_secret_keys: &[&str],
    prior: &Prints,
    owner_id: Option<&str>,
) -> Live {
    let (scaled, _) = match autoscaled(kube, desired, &[]).await {
        Ok(s) => s,
        Err(e @ KubeError::Transport { .. }) => return unreachable(&e),
        Err(e) => return Live::Failed(kube_diag("Cannot list the autoscalers", &e)),
    };
    let mut prints = Prints::new();
    let mut present = 0usize;
    for obj in desired {
        let Ok(r) = ObjectRef::of(obj) else { continue };
        let print = match kube.get(&r).await {
            Ok(None) => DELETED.to_string(),
            Ok(Some(live)) if ownership::owner_id(&live).is_some_and(|id| Some(id) != owner_id) => {
                NOT_OURS.to_string()
            }
            Ok(Some(mut live)) => {
                present += 1;
                if scaled.contains(&r.key()) {
                    // The autoscaler's replica count is not drift.
                    if let (Some(l), Some(d)) = (
                        live.get_mut("spec").and_then(Json::as_object_mut),
                        obj.pointer("/spec/replicas"),
                    ) {
                        l.insert("replicas".into(), d.clone());
                    }
                }
                let projected = drift::project(obj, &live);
                if r.kind == "Secret" && secret_changed(obj, &projected, unknown_secret_keys) {
                    SECRET_CHANGED.to_string()
                } else {
                    fingerprint(&projected)
                }
            }
            Err(e @ KubeError::Transport { .. }) => return unreachable(&e),
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

fn unreachable(e: &KubeError) -> Live {
    Live::Unreachable(Diagnostic::warning(
        "Cluster not reachable; live objects not read",
        format!("{e}\n\nThe plan uses the last known state."),
    ))
}

/// Whether a Secret's live data (projected onto the keys we set) differs from what we set,
/// leaving out the keys whose values are not known.
fn secret_changed(desired: &Json, projected: &Json, unknown: &[&str]) -> bool {
    let known = |v: Option<&Json>| -> BTreeMap<String, Json> {
        v.and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !unknown.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    known(desired.get("data")) != known(projected.get("data"))
}

/// Deletes the recorded objects the owner may delete ([`delete_owned`]) and waits until they
/// are gone; what is left in place comes back as warnings.
pub async fn delete_all(
    kube: &Kube,
    recorded: &Prints,
    owner: &Owner,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Diagnostics {
    let refs: Vec<ObjectRef> = recorded.keys().filter_map(|k| object_ref(k)).collect();
    let (namespaces, objects): (Vec<ObjectRef>, Vec<ObjectRef>) =
        refs.into_iter().partition(|r| r.kind == "Namespace");
    let mut diags = Diagnostics::new();
    // The namespace is looked at only once the resource's own objects are gone from it.
    for batch in [objects, namespaces] {
        let kept = match delete_owned(kube, &batch, owner).await {
            Ok(kept) => kept,
            Err((_, d)) => {
                diags.push(d);
                return diags;
            }
        };
        let waiting: Vec<&ObjectRef> = batch
            .iter()
            .filter(|r| !kept.iter().any(|(k, _)| k == *r))
            .collect();
        for (_, d) in kept {
            diags.push(d);
        }
        if let Err(d) = wait_gone(kube, &waiting, timeout, cancel).await {
            diags.push(d);
            return diags;
        }
    }
    diags
}

/// Waits until none of `refs` exists.
async fn wait_gone(
    kube: &Kube,
    refs: &[&ObjectRef],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), Diagnostic> {
    let backoff = Backoff {
        initial: Duration::from_millis(200),
        factor: 1.5,
        max: Duration::from_secs(5),
    };
    let waited = wait::until(timeout, backoff, cancel, || async {
        let mut left = Vec::new();
        for r in refs {
            match kube.get(r).await {
                Ok(Some(_)) => left.push(r.key()),
                Ok(None) => {}
                // The client has retried it already; a wait goes on polling until its
                // timeout rather than ending on an overloaded API server.
                Err(e) if e.is_transient() => {
                    return Ok(Poll::Pending(format!("{} unconfirmed: {e}", r.key())))
                }
                Err(e) => return Err(e),
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
        Ok(()) => Ok(()),
        Err(WaitEnd::Failed(e)) => Err(kube_diag("Cannot confirm deletion", &e)),
        Err(WaitEnd::Cancelled) => Err(Diagnostic::error(
            "Deletion cancelled",
            "Terraform asked the provider to stop.",
        )),
        Err(WaitEnd::TimedOut { waited, last }) => Err(Diagnostic::error(
            "Objects not deleted in time",
            format!(
                "After {waited:?}: {last}. Finalizers may be holding them; raise timeouts.delete or check the objects."
            ),
        )),
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
/// attributes (`drop`, and `owner_id`) nulled, as JSON of the resource's own type.
pub fn config_annotation(
    planned: &Value,
    schema: &crate::framework::Schema,
    drop: &[&str],
) -> Option<String> {
    let mut v = planned.clone();
    // The owner ID is on the objects already, and made only at apply.
    for a in drop.iter().chain(&["owner_id"]) {
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
