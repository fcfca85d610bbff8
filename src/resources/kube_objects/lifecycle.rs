//! The lifecycle every Kubernetes-backed resource shares, written once: a resource says what
//! objects it wants ([`KubeResource::render`]), what it reports ([`KubeResource::outputs`]) and
//! which object an import starts from ([`KubeResource::import_anchor`]); plan, create, read
//! (drift), update, delete and import follow from that.
//!
//! Plan: defaults, `id`, the objects' fingerprints and the outputs, all without contacting
//! the cluster. Apply: the objects in order, stale ones deleted, then the resource's own wait
//! ([`KubeResource::settle`]). Read: the live objects fingerprinted against the wanted ones.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::clients::bounds::Bounds;
use crate::clients::kube::{Kube, KubeError, ObjectRef};
use crate::conns::ProviderData;
use crate::framework::attr::set;
use crate::framework::{
    timeouts, ApplyResult, Context, CreateRequest, DeleteRequest, Diagnostic, Diagnostics, Field,
    FromValue, IdentityAttribute, IdentitySchema, IfKnown, ModifyPlanRequest, ModifyPlanResponse,
    ObjectBuilder, ReadRequest, ReadResult, Resource, Schema, UpdateRequest, ValidateRequest,
};
use crate::value::AttributePath;
use crate::value::Value;

use super::handover::{self, Handover};
use super::pod_iam::{self, Binding};
use super::{
    apply_all, delete_all, kube_diag, ownership, parse_import_id, prints_of, read_all,
    restore_config, with_prints, Common, Live, Owner,
};

crate::model! {
    /// Where a Kubernetes-backed resource lives, as far as it is known.
    struct Location {
        cluster_name: IfKnown<String>,
        namespace: IfKnown<String>,
        name: IfKnown<String>,
    }
}

impl Location {
    fn of(v: &Value) -> Location {
        Location::from_value(v, &AttributePath::root()).unwrap_or(Location {
            cluster_name: IfKnown(None),
            namespace: IfKnown(None),
            name: IfKnown(None),
        })
    }

    /// `namespace` and `name`, when both are known.
    fn key(&self) -> Option<(&str, &str)> {
        Some((self.namespace.0.as_deref()?, self.name.0.as_deref()?))
    }

    /// A Kubernetes client for the cluster the resource deploys into.
    async fn kube(&self, ctx: &Context<ProviderData>) -> Result<Kube, Diagnostic> {
        ctx.data()
            .kube(self.cluster_name.0.as_deref(), &ctx.cancellation_token())
            .await
    }

    /// Like [`Self::kube`], but `None` when the EKS cluster no longer exists.
    async fn kube_if_cluster(
        &self,
        ctx: &Context<ProviderData>,
    ) -> Result<Option<Kube>, Diagnostic> {
        ctx.data()
            .kube_if_cluster(self.cluster_name.0.as_deref(), &ctx.cancellation_token())
            .await
    }

    /// The resource as its objects' owner: `id`, and the ownership settings of `value`.
    fn owner<R: KubeResource>(
        &self,
        ctx: &Context<ProviderData>,
        kube: &Kube,
        id: &str,
        value: &Value,
    ) -> Owner {
        let cluster = ctx
            .data()
            .cluster_label(self.cluster_name.0.as_deref())
            .unwrap_or_else(|| kube.host().trim_end_matches('/').to_string());
        let (ns, name) = self.key().unwrap_or_default();
        let mut owner = Owner::new(id, R::TYPE_NAME, &cluster, ns, name);
        let common = Common::of(value);
        owner.adopt = common.adopt_existing.known() == Some(&true);
        owner.force = common.force_conflicts.known() == Some(&true);
        owner
    }

    /// The ID `terraform import` takes for the resource.
    fn import_id(&self) -> String {
        let (ns, name) = self.key().unwrap_or_default();
        match self.cluster_name.0.as_deref() {
            Some(c) => format!("{c}:{ns}/{name}"),
            None => format!("{ns}/{name}"),
        }
    }
}

/// A warning for a resource whose EKS cluster no longer exists.
/// The cluster is named by the resource or, failing that, by the provider configuration.
fn cluster_gone<R: KubeResource>(ctx: &Context<ProviderData>, at: &Location) -> Diagnostic {
    let cluster = ctx
        .data()
        .cluster_label(at.cluster_name.0.as_deref())
        .unwrap_or_default();
    Diagnostic::warning(
        format!("{}'s cluster no longer exists", R::NOUN),
        format!(
            "The EKS cluster {cluster:?} of {} {}/{} is gone, and its objects with it: the resource is removed from state.",
            R::TYPE_NAME,
            at.namespace.0.as_deref().unwrap_or_default(),
            at.name.0.as_deref().unwrap_or_default(),
        ),
    )
}

/// Where a value is rendered: write-only secrets exist only in the configuration at apply,
/// and a stored state holds what secrets it kept.
#[derive(Clone, Copy)]
pub enum Stage<'a> {
    Plan,
    Apply { config: &'a Value },
    Read,
}

/// A resource made of Kubernetes objects. Implementing it makes a [`Resource`].
#[async_trait]
pub trait KubeResource: Send + Sync + 'static {
    /// The resource read from a plan or state, as far as rendering needs it.
    type Spec: Send + Sync;

    /// The full type name, e.g. `dataplatform_spark_pool`.
    const TYPE_NAME: &'static str;
    /// How logs name it, e.g. `Spark pool`.
    const NOUN: &'static str;
    /// A required attribute: null only in the state an import starts from.
    const REQUIRED_ATTRIBUTE: &'static str;
    /// The import ID the import error shows as an example, `namespace/name`.
    const IMPORT_EXAMPLE: &'static str;
    /// Summary of the error when an import cannot read its configuration back.
    const IMPORT_FAILED: &'static str;
    /// Computed attributes derived from the spec ([`Self::outputs`]); unknown while it is.
    const OUTPUTS: &'static [&'static str];
    /// Used when `timeouts` does not say.
    const DEFAULT_TIMEOUT: Duration;

    fn resource_schema(&self) -> Schema;

    /// Cross-attribute checks of the configuration.
    fn check_config(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Defaults that depend on other attributes, before the plan is rendered.
    fn plan_defaults(&self, _config: &Value, _planned: &mut Value) {}

    /// Checks of a rendered plan (placement, capacity), before anything is created.
    fn plan_checks(&self, _config: &Value, _spec: &Self::Spec, _diags: &mut Diagnostics) {}

    /// The spec and the objects to apply, in order; `None` while something is unknown.
    fn render(&self, value: &Value, stage: Stage<'_>) -> Option<(Self::Spec, Vec<Json>)>;

    /// The values of [`Self::OUTPUTS`].
    fn outputs(&self, spec: &Self::Spec) -> Vec<(&'static str, Value)>;

    /// The Secret data keys whose values a state rendered at [`Stage::Read`] does not hold
    /// (they come from write-only attributes): left out when a changed Secret is looked for.
    fn unknown_secret_keys(&self, _state: &Value) -> Vec<&'static str> {
        Vec::new()
    }

    /// The state to keep after a failed apply: attributes that say a write-only value was
    /// sent (a version) go back to `prior`'s values (null on create), so the next plan sends
    /// it again.
    fn after_failed_apply(&self, _prior: &Value, _state: &mut Value) {}

    /// Whether the resource has `pod_identity_associations`: the lifecycle then owns the EKS
    /// Pod Identity associations of [`Self::pod_identities`] ([`pod_iam`]).
    const POD_IDENTITY: bool = false;

    /// The service accounts whose pods get an IAM role through EKS Pod Identity.
    fn pod_identities(&self, _spec: &Self::Spec) -> Vec<Binding> {
        Vec::new()
    }

    /// The object whose configuration annotation an import restores the resource from.
    fn import_anchor(&self, namespace: &str, name: &str) -> ObjectRef;

    /// The configuration of an imported resource, from its live anchor object.
    ///
    /// # Errors
    /// When the anchor or the objects it points to cannot be read back.
    async fn restore(
        &self,
        _kube: &Kube,
        anchor: &Json,
        _namespace: &str,
        _name: &str,
    ) -> Result<Value, KubeError> {
        restore_config(anchor, &self.resource_schema())
    }

    /// What the resource hands over to controllers it does not install: warned about at
    /// apply when missing ([`handover`]).
    fn handovers(&self, _spec: &Self::Spec) -> Vec<Handover> {
        Vec::new()
    }

    /// Computed attributes read from the live objects ([`Self::live_outputs`]), such as an
    /// address a controller gives. Planned unknown when an object changes, else kept.
    const LIVE_OUTPUTS: &'static [&'static str] = &[];

    /// The values of [`Self::LIVE_OUTPUTS`], read after apply and at every refresh.
    ///
    /// # Errors
    /// A warning when the objects cannot be read.
    async fn live_outputs(
        &self,
        _kube: &Kube,
        _spec: &Self::Spec,
    ) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        Ok(Vec::new())
    }

    /// Waits for the applied objects to work (a rollout). On failure, the object to mark
    /// and the diagnostic.
    async fn settle(
        &self,
        _kube: &Kube,
        _spec: &Self::Spec,
        _timeout: Duration,
        _cancel: &CancellationToken,
    ) -> Result<(), (ObjectRef, Diagnostic)> {
        Ok(())
    }
}

#[async_trait]
impl<R: KubeResource> Resource<ProviderData> for R {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        self.resource_schema()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        self.check_config(req.config, diags);
    }

    fn modify_plan(
        &self,
        req: &ModifyPlanRequest<'_, ProviderData>,
        resp: &mut ModifyPlanResponse,
    ) {
        if req.config.is_null() {
            return;
        }
        self.plan_defaults(req.config, &mut resp.planned);
        let planned = &mut resp.planned;
        // Made at create and kept (its plan modifier); a state of an earlier version has none
        // and gets one at the next apply. Nothing rendered depends on it.
        let key = Location::of(planned)
            .key()
            .map(|(ns, name)| format!("{ns}/{name}"));
        Common::update(planned, |c| {
            if c.owner_id.is_null() {
                c.owner_id = Field::Unknown;
            }
            if let Some(id) = key {
                c.id = Field::Known(id);
            }
        });
        let Some((spec, objects)) = self.render(planned, Stage::Plan) else {
            for a in R::OUTPUTS.iter().chain(R::LIVE_OUTPUTS).chain(&["objects"]) {
                set(planned, a, Value::Unknown);
            }
            if R::POD_IDENTITY {
                set(planned, pod_iam::ATTRIBUTE, Value::Unknown);
            }
            return;
        };
        self.plan_checks(req.config, &spec, &mut resp.diagnostics);
        let planned = &mut resp.planned;
        if R::POD_IDENTITY {
            pod_iam::plan(req.prior_state, planned, &self.pod_identities(&spec));
        }
        for (a, v) in self.outputs(&spec) {
            set(planned, a, v);
        }
        set(
            planned,
            "objects",
            planned_prints(&objects, req.prior_state),
        );
        for a in R::LIVE_OUTPUTS {
            let prior = req.prior_state.get_attr(a).cloned();
            let same = prior.is_some()
                && planned.get_attr("objects") == req.prior_state.get_attr("objects");
            set(
                planned,
                a,
                if same {
                    prior.unwrap_or(Value::Unknown)
                } else {
                    Value::Unknown
                },
            );
        }
    }

    async fn create(&self, ctx: &Context<ProviderData>, req: CreateRequest) -> ApplyResult {
        let timeout = timeouts::get(&req.planned, "create", R::DEFAULT_TIMEOUT);
        apply(self, ctx, &req.config, req.planned, &Value::Null, timeout).await
    }

    async fn update(&self, ctx: &Context<ProviderData>, req: UpdateRequest) -> ApplyResult {
        let timeout = timeouts::get(&req.planned, "update", R::DEFAULT_TIMEOUT);
        apply(
            self,
            ctx,
            &req.config,
            req.planned,
            &req.prior_state,
            timeout,
        )
        .await
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: ReadRequest) -> ReadResult {
        read(self, ctx, req).await
    }

    /// Deletes what the resource created; a cluster that no longer exists took it along.
    async fn delete(&self, ctx: &Context<ProviderData>, req: DeleteRequest) -> Diagnostics {
        let prior = &req.prior_state;
        let at = Location::of(prior);
        let kube = match at.kube_if_cluster(ctx).await {
            Ok(Some(k)) => k,
            Ok(None) => return cluster_gone::<R>(ctx, &at).into(),
            Err(d) => return d.into(),
        };
        // A state of an earlier version has no owner ID: its objects are proven by the state.
        let id = Common::of(prior).owner_id.into_known().unwrap_or_default();
        let owner = at.owner::<R>(ctx, &kube, &id, prior);
        let timeout = timeouts::get(prior, "delete", R::DEFAULT_TIMEOUT);
        let mut diags = delete_all(
            &kube,
            &prints_of(prior),
            &owner,
            timeout,
            &ctx.cancellation_token(),
        )
        .await;
        let associations = pod_iam::recorded(prior);
        if R::POD_IDENTITY && !diags.has_errors() && !associations.is_empty() {
            let deleted = match eks_scope(ctx, &at, timeout).await {
                Ok((eks, cluster)) => pod_iam::delete(&eks, &cluster, &associations).await,
                Err(d) => Err(d),
            };
            if let Err(d) = deleted {
                diags.push(d);
            }
        }
        diags
    }

    /// Generated configuration also leaves out what the plan fills in by itself when an
    /// argument is left out ([`KubeResource::plan_defaults`]) and matches the object.
    fn generate_config(&self, state: &Value) -> Value {
        let block = self.resource_schema().block;
        let mut config = crate::framework::generate::config_from_state(&block, state);
        let defaulted: Vec<&str> = block
            .attributes
            .iter()
            .filter(|a| a.mode == crate::framework::Mode::OptionalComputed)
            .map(|a| a.name.as_str())
            .collect();
        let mut bare = config.clone();
        for name in &defaulted {
            set(&mut bare, name, Value::Null);
        }
        let mut planned = bare.clone();
        self.plan_defaults(&bare, &mut planned);
        for name in defaulted {
            let default = planned.get_attr(name).filter(|v| !v.is_null());
            if default.is_some() && default == state.get_attr(name) {
                set(&mut config, name, Value::Null);
            }
        }
        config
    }

    /// `cluster_name` (optional: the provider's cluster when left out), `namespace`, `name`.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new(vec![
            IdentityAttribute {
                name: "cluster_name",
                required_for_import: false,
                description: "EKS cluster the objects live in; leave out when the provider's configuration names it.",
            },
            IdentityAttribute {
                name: "namespace",
                required_for_import: true,
                description: "Kubernetes namespace of the objects.",
            },
            IdentityAttribute {
                name: "name",
                required_for_import: true,
                description: "Name of the resource.",
            },
        ]))
    }

    fn import_id_of_identity(&self, identity: &BTreeMap<&'static str, Option<&str>>) -> String {
        let part = |k: &str| identity.get(k).copied().flatten().unwrap_or_default();
        match part("cluster_name") {
            "" => format!("{}/{}", part("namespace"), part("name")),
            cluster => format!("{cluster}:{}/{}", part("namespace"), part("name")),
        }
    }

    /// The state an import starts from: `id`, `namespace`, `name` and the cluster the ID names
    /// (`cluster:namespace/name`; without one, the provider's); Read restores the rest.
    async fn import(&self, _: &Context<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let at = parse_import_id(id, R::IMPORT_EXAMPLE)?;
        let cluster = at.cluster.map_or(Value::Null, Value::string);
        Ok(ObjectBuilder::new(&self.resource_schema().block)
            .set("id", Value::string(format!("{}/{}", at.namespace, at.name)))
            .set("namespace", Value::string(at.namespace))
            .set("name", Value::string(at.name))
            .set("cluster_name", cluster)
            .build())
    }
}

/// Applies the objects in order, deletes those no longer wanted, and settles. The returned
/// state records what exists, whatever fails: on create (`prior_state` null) nothing is
/// recorded until an object exists. After a failure the resource's
/// [`KubeResource::after_failed_apply`] puts back what must be sent again.
async fn apply<R: KubeResource>(
    r: &R,
    ctx: &Context<ProviderData>,
    config: &Value,
    planned: Value,
    prior_state: &Value,
    timeout: Duration,
) -> ApplyResult {
    let mut result = apply_objects(r, ctx, config, planned, prior_state, timeout).await;
    if result.diagnostics.has_errors() && !result.state.is_null() {
        r.after_failed_apply(prior_state, &mut result.state);
    }
    result
}

async fn apply_objects<R: KubeResource>(
    r: &R,
    ctx: &Context<ProviderData>,
    config: &Value,
    mut planned: Value,
    prior_state: &Value,
    timeout: Duration,
) -> ApplyResult {
    let prior = prints_of(prior_state);
    let untouched = |mut planned: Value| {
        if prior_state.is_null() {
            return Value::Null;
        }
        Common::update(&mut planned, |c| {
            if c.owner_id.is_unknown() {
                c.owner_id = Field::Null;
            }
        });
        with_prints(planned, &prior)
    };
    let cancel = ctx.cancellation_token();
    let at = Location::of(&planned);
    let kube = match at.kube(ctx).await {
        Ok(k) => k,
        Err(d) => return ApplyResult::failed(untouched(planned), d),
    };
    let id = match Common::of(&planned).owner_id.into_known() {
        Some(id) => id,
        None => match super::random_bytes(16) {
            Ok(b) => hex::encode(b),
            Err(d) => return ApplyResult::failed(untouched(planned), d),
        },
    };
    let owner = at.owner::<R>(ctx, &kube, &id, &planned);
    Common::update(&mut planned, |c| {
        c.owner_id = Field::Known(owner.id.clone())
    });
    let Some((spec, objects)) = r.render(&planned, Stage::Apply { config }) else {
        return ApplyResult::failed(
            untouched(planned),
            Diagnostic::error(
                "Configuration not known",
                "Some values are still unknown at apply time.",
            ),
        );
    };
    tracing::info!(
        namespace = at.namespace.0.as_deref().unwrap_or_default(),
        name = at.name.0.as_deref().unwrap_or_default(),
        objects = objects.len(),
        "applying {}",
        R::NOUN
    );
    let import_id = at.import_id();
    if R::POD_IDENTITY {
        // Before the objects: EKS injects a pod's credentials when the pod is created.
        let wanted = r.pod_identities(&spec);
        let prior_associations = pod_iam::recorded(prior_state);
        let associations = if wanted.is_empty() && prior_associations.is_empty() {
            Ok(None)
        } else {
            match eks_scope(ctx, &at, timeout).await {
                Ok((eks, cluster)) => {
                    let scope = pod_iam::Scope {
                        eks: &eks,
                        cluster: &cluster,
                        owner_id: &owner.id,
                        adopt: owner.adopt,
                        resource: &owner.name,
                    };
                    pod_iam::apply(&scope, &prior_associations, &wanted)
                        .await
                        .map(Some)
                }
                Err(d) => Err((prior_associations, d)),
            }
        };
        match associations {
            Ok(Some(a)) => pod_iam::with_recorded(&mut planned, &a),
            Ok(None) => {}
            Err((a, d)) => {
                // On create, a state only when an association exists (with the owner ID its
                // tag carries), so the next apply finds it again.
                let state = if prior_state.is_null() && a.is_empty() {
                    Value::Null
                } else {
                    let mut state = with_prints(planned, &prior);
                    pod_iam::with_recorded(&mut state, &a);
                    state
                };
                return ApplyResult::failed(state, d);
            }
        }
    }
    let unserved = match handover::unserved(&kube, &objects).await {
        Ok(u) => u,
        Err(d) => return ApplyResult::failed(untouched(planned), d),
    };
    let (objects, left_out, mut diags) =
        handover::leave_out(&objects, &unserved, &known_prints(&planned));
    let (mut recorded, applied) = match apply_all(&kube, &objects, &prior, &owner, &import_id).await
    {
        Ok(r) => r,
        Err((recorded, d)) => {
            let state = if recorded.is_empty() && pod_iam::recorded(&planned).is_empty() {
                Value::Null
            } else {
                with_prints(planned, &recorded)
            };
            return ApplyResult::failed(state, d);
        }
    };
    diags.extend(applied);
    recorded.extend(left_out);
    diags.extend(handover::check(&kube, &r.handovers(&spec)).await);
    if let Err((object, d)) = r.settle(&kube, &spec, timeout, &cancel).await {
        recorded.insert(object.key(), super::ROLLOUT_FAILED.to_string());
        diags.push(d);
    }
    let mut state = with_prints(planned, &recorded);
    set_live_outputs(r, &kube, &spec, &mut state, &mut diags).await;
    ApplyResult {
        state,
        private: Vec::new(),
        diagnostics: diags,
    }
}

/// The planned `objects`: each object's fingerprint, or the state's record that it was left
/// out from the same one ([`handover::planned_print`]).
fn planned_prints(objects: &[Json], prior_state: &Value) -> Value {
    let prior = known_prints(prior_state);
    Value::map(objects.iter().filter_map(|o| {
        let r = ObjectRef::of(o).ok()?;
        let print = super::fingerprint(o);
        Some((
            r.key(),
            Value::string(handover::planned_print(&print, prior.get(&r.key()))),
        ))
    }))
}

/// The known entries of `objects` (a plan may hold unknown ones).
fn known_prints(v: &Value) -> super::Prints {
    v.get_attr("objects")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Sets [`KubeResource::LIVE_OUTPUTS`] from the live objects; when they cannot be read, a
/// warning, and the values stay as they are (null when unknown).
async fn set_live_outputs<R: KubeResource>(
    r: &R,
    kube: &Kube,
    spec: &R::Spec,
    state: &mut Value,
    diags: &mut Diagnostics,
) {
    if R::LIVE_OUTPUTS.is_empty() {
        return;
    }
    match r.live_outputs(kube, spec).await {
        Ok(values) => {
            for (a, v) in values {
                set(state, a, v);
            }
        }
        Err(d) => {
            diags.push(d);
            for a in R::LIVE_OUTPUTS {
                if state.get_attr(a).is_some_and(Value::is_unknown) {
                    set(state, a, Value::Null);
                }
            }
        }
    }
}

/// Refresh: an imported state is restored from its anchor first; then the live objects are
/// fingerprinted. Objects that are all gone remove the resource from state; a cluster that
/// cannot be reached keeps the state as it is.
async fn read<R: KubeResource>(r: &R, ctx: &Context<ProviderData>, req: ReadRequest) -> ReadResult {
    let mut state = req.state;
    let at = Location::of(&state);
    let kube = match at.kube_if_cluster(ctx).await {
        Ok(Some(k)) => k,
        Ok(None) => {
            let mut gone = ReadResult::gone();
            gone.diagnostics.push(cluster_gone::<R>(ctx, &at));
            return gone;
        }
        Err(d) => return ReadResult::failed(state, req.private, d),
    };
    if state
        .get_attr(R::REQUIRED_ATTRIBUTE)
        .is_none_or(Value::is_null)
    {
        match imported(r, &kube, &at, &state).await {
            Ok(Some(s)) => state = s,
            Ok(None) => return ReadResult::gone(),
            Err(e) => {
                return ReadResult::failed(state, req.private, kube_diag(R::IMPORT_FAILED, &e))
            }
        }
    }
    let Some((spec, objects)) = r.render(&state, Stage::Read) else {
        return ReadResult::found(state, req.private);
    };
    let unknown = r.unknown_secret_keys(&state);
    let owner_id = Common::of(&state).owner_id.into_known();
    let live = read_all(
        &kube,
        &objects,
        &unknown,
        &prints_of(&state),
        owner_id.as_deref(),
    )
    .await;
    match live {
        Live::Found(mut prints) => {
            if let Err(d) = keep_left_out(&kube, &objects, &mut prints).await {
                return ReadResult::failed(state, req.private, d);
            }
            let mut state = with_prints(state, &prints);
            for (a, v) in r.outputs(&spec) {
                set(&mut state, a, v);
            }
            if R::POD_IDENTITY {
                if let Err(d) = read_associations(r, ctx, &at, &spec, &mut state).await {
                    return ReadResult::failed(state, req.private, d);
                }
            }
            let mut diags = Diagnostics::new();
            set_live_outputs(r, &kube, &spec, &mut state, &mut diags).await;
            let mut found = ReadResult::found(state, req.private);
            found.diagnostics.extend(diags);
            found
        }
        Live::Gone => {
            tracing::info!(
                namespace = at.namespace.0.as_deref().unwrap_or_default(),
                name = at.name.0.as_deref().unwrap_or_default(),
                "{} is gone; removing it from state",
                R::NOUN
            );
            ReadResult::gone()
        }
        Live::Unreachable(d) | Live::Failed(d) => ReadResult::failed(state, req.private, d),
    }
}

/// Objects left out at apply ([`handover`]) are recorded as absent, with the fingerprint they
/// were rendered from, while the cluster does not serve their kind; once it does, they are
/// missing like any other.
async fn keep_left_out(
    kube: &Kube,
    objects: &[Json],
    prints: &mut super::Prints,
) -> Result<(), Diagnostic> {
    let missing: Vec<Json> = objects
        .iter()
        .filter(|o| {
            handover::is_custom(o)
                && ObjectRef::of(o)
                    .is_ok_and(|r| prints.get(&r.key()).map(String::as_str) == Some(super::DELETED))
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let unserved = handover::unserved(kube, &missing).await?;
    for o in &missing {
        let Ok(r) = ObjectRef::of(o) else { continue };
        if unserved.contains(&format!("{}/{}", r.api_version, r.kind)) {
            prints.insert(r.key(), handover::absent(&super::fingerprint(o)));
        }
    }
    Ok(())
}

/// The EKS client for an operation of `limit`, and the EKS cluster of the resource; an error
/// when the resource's cluster is not an EKS cluster it can name.
async fn eks_scope(
    ctx: &Context<ProviderData>,
    at: &Location,
    limit: Duration,
) -> Result<(crate::clients::eks::Eks, String), Diagnostic> {
    let cluster = ctx
        .data()
        .cluster_label(at.cluster_name.0.as_deref())
        .ok_or_else(pod_iam::no_cluster_name)?;
    let eks = ctx
        .data()
        .eks()
        .await?
        .bounded(Bounds::new(ctx.cancellation_token(), limit));
    Ok((eks, cluster))
}

/// Refreshes `pod_identity_associations` of `state` from EKS.
async fn read_associations<R: KubeResource>(
    r: &R,
    ctx: &Context<ProviderData>,
    at: &Location,
    spec: &R::Spec,
    state: &mut Value,
) -> Result<(), Diagnostic> {
    let prior = pod_iam::recorded(state);
    let wanted = r.pod_identities(spec);
    if prior.is_empty() && wanted.is_empty() {
        return Ok(());
    }
    let (eks, cluster) = eks_scope(ctx, at, R::DEFAULT_TIMEOUT).await?;
    let owner_id = Common::of(state).owner_id.into_known().unwrap_or_default();
    let scope = pod_iam::Scope {
        eks: &eks,
        cluster: &cluster,
        owner_id: &owner_id,
        adopt: false,
        resource: R::TYPE_NAME,
    };
    let live = pod_iam::read(&scope, &prior, &wanted).await?;
    pod_iam::with_recorded(state, &live);
    Ok(())
}

/// The state of an imported resource, restored from its anchor object, with the import's
/// `id`. `None` when there is no such object.
async fn imported<R: KubeResource>(
    r: &R,
    kube: &Kube,
    at: &Location,
    state: &Value,
) -> Result<Option<Value>, KubeError> {
    let Some((ns, name)) = at.key() else {
        return Ok(None);
    };
    let Some(live) = kube.get(&r.import_anchor(ns, name)).await? else {
        return Ok(None);
    };
    let mut restored = r.restore(kube, &live, ns, name).await?;
    let id = Common::of(state).id;
    Common::update(&mut restored, |c| {
        c.id = id;
        c.owner_id = ownership::owner_id(&live).map(str::to_string).into();
    });
    Ok(Some(restored))
}
