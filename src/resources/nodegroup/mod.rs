//! `dataplatform_nodegroup`: an EKS managed node group with a purpose.
//!
//! Order: validation, plan, create, read, update, delete, import; the plan's passes live in
//! [`plan`], expand/flatten in [`model`], purpose expansion in [`purpose`].

pub mod list;
pub mod local_storage;
pub mod model;
pub mod moved;
pub mod ownership;
pub mod plan;
pub mod purpose;
pub mod schema;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::clients::autoscaling::Autoscaling;
use crate::clients::bounds::Bounds;
use crate::clients::ec2::Ec2;
use crate::clients::eks::{
    ConfigChange, Eks, EksError, NodeRepair, Nodegroup as LiveNodegroup, Scaling, UpdateConfig,
    VersionChange,
};
use crate::conns::ProviderData;
use crate::framework::{
    timeouts, ApplyResult, Context, CreateRequest, DeleteRequest, Diagnostic, Diagnostics,
    IdentityAttribute, IdentitySchema, ModifyPlanRequest, ModifyPlanResponse, MoveSource,
    ReadRequest, ReadResult, Resource, Schema, UpdateRequest, ValidateRequest,
};
use crate::value::{AttributePath, Value};

use crate::framework::{Field, FromValue, IfKnown, Merge};
use model::{AutoscalerTags, Generated, GroupModel, Identity};
use ownership::{Claims, Naming, PENDING_TAG};
use plan::ScalingPlan;
use schema::{DEFAULT_TIMEOUT, MAX_TAINTS};

/// How long a refresh of one node group may take, the SDK's retries included.
const READ_TIMEOUT: Duration = Duration::from_secs(20 * 60);

pub struct Nodegroup;

fn eks_diag(summary: &str, e: &EksError) -> Diagnostic {
    Diagnostic::error(summary, e.to_string())
}

/// Whether EKS is still creating or updating the group.
fn is_unsettled(status: Option<&str>) -> bool {
    matches!(status, Some("CREATING" | "UPDATING"))
}

/// Terraform asked the provider to stop while EKS was creating the group. The group exists
/// and goes on being created: it is recorded as planned (so that Terraform does not taint it
/// and replace it), with its live status, and the next plan updates it in place, waiting for
/// it to become ACTIVE and writing its Auto Scaling group tags.
fn interrupted_create(mut state: Value, planned: &Value, why: &str) -> ApplyResult {
    if let Ok(tags) = AutoscalerTags::read(planned) {
        if !tags.autoscaler_tags.is_unknown() {
            tags.merge_into(&mut state);
        }
    }
    let mut result = ApplyResult::ok(state);
    result.diagnostics.push(Diagnostic::warning(
        "Interrupted while the node group was being created",
        format!(
            "{why}. The node group exists and EKS goes on creating it: it is recorded in the state \
             as it is now, and the next apply waits for it to become ACTIVE and writes its Auto \
             Scaling group tags."
        ),
    ));
    result
}

/// The AWS clients node groups use, from the provider's client holder.
#[derive(Clone)]
struct Clients {
    eks: Eks,
    autoscaling: Autoscaling,
    ec2: Ec2,
}

/// The clients for one operation: every call they make ends when Terraform asks the provider
/// to stop, or when the operation has run for `limit`.
async fn clients(ctx: &Context<ProviderData>, limit: Duration) -> Result<Clients, Diagnostic> {
    let data = ctx.data();
    let bounds = Bounds::new(ctx.cancellation_token(), limit);
    Ok(Clients {
        eks: data.eks().await?.bounded(bounds.clone()),
        autoscaling: data.autoscaling().await?.bounded(bounds.clone()),
        ec2: data.ec2().await?.bounded(bounds),
    })
}

/// Reads the live node group and its autoscaler tags.
async fn read_live(
    clients: &Clients,
    cluster: &str,
    name: &str,
) -> Result<Option<(LiveNodegroup, BTreeMap<String, String>)>, Diagnostic> {
    let Some(ng) = clients
        .eks
        .find_nodegroup(cluster, name)
        .await
        .map_err(|e| eks_diag("Cannot read node group", &e))?
    else {
        return Ok(None);
    };
    let asg = &clients.autoscaling;
    let mut tags: Option<BTreeMap<String, String>> = None;
    for group in &ng.autoscaling_groups {
        let t = asg
            .tags(group, purpose::AUTOSCALER_PREFIX)
            .await
            .map_err(|e| Diagnostic::error("Cannot read autoscaler tags", e.to_string()))?;
        // Any group that differs from the first shows up as drift.
        match &tags {
            Some(first) if *first != t => {
                tags = Some(t);
                break;
            }
            None => tags = Some(t),
            _ => {}
        }
    }
    Ok(Some((ng, tags.unwrap_or_default())))
}

async fn sync_autoscaler_tags(
    asg: &Autoscaling,
    groups: &[String],
    wanted: &BTreeMap<String, String>,
) -> Result<(), Diagnostic> {
    for group in groups {
        asg.sync_tags(group, purpose::AUTOSCALER_PREFIX, wanted)
            .await
            .map_err(|e| Diagnostic::error("Cannot write autoscaler tags", e.to_string()))?;
    }
    Ok(())
}

crate::model! {
    /// What a plan or state says of the group's local storage.
    pub struct LocalStorageFacts {
        pub local_storage: Field<bool>,
        pub local_storage_gib: Field<i64>,
        pub managed_launch_template: Field<model::ManagedTemplateModel>,
    }
}

crate::model! {
    /// What validation reads of a configuration (any of it may not be known yet).
    struct Checked {
        purpose: Field<String>,
        scaling_config: Field<ScalingPlan>,
        taint: Field<Vec<Value>>,
        capacity_type: Field<String>,
        launch_template: Field<Value>,
        local_storage: Field<bool>,
        remote_access: Field<Value>,
        disk_size: Field<Value>,
        ami_type: Field<String>,
    }
}

/// What `local_storage = true` cannot go with: the group's launch template is then its own.
fn check_local_storage(c: &Checked, diags: &mut Diagnostics) {
    let path = AttributePath::root().attr("local_storage");
    let conflicts = [
        (
            c.launch_template.is_set(),
            "launch_template",
            "the launch template's user data is yours: prepare the instance-store disks there (nodeadm's \
             spec.instance.localStorage) and leave local_storage out",
        ),
        (
            c.remote_access.is_set(),
            "remote_access",
            "EKS refuses remote_access on a group with a launch template, and local storage needs one",
        ),
        (
            c.disk_size.is_set(),
            "disk_size",
            "EKS refuses disk_size on a group with a launch template, and local storage needs one",
        ),
    ];
    for (set, other, why) in conflicts {
        if set {
            diags.attribute_error(
                path.clone(),
                "Conflicting arguments",
                format!("local_storage cannot be set with {other}: {why}."),
            );
        }
    }
    if let Field::Known(ami) = &c.ami_type {
        if local_storage::NodeOs::of_ami_type(ami).is_none() {
            diags.attribute_error(
                path,
                "Local storage not available for this AMI type",
                format!(
                    "local_storage prepares the disks on Amazon Linux 2023 (nodeadm) and Bottlerocket AMI types; \
                     ami_type is {ami}."
                ),
            );
        }
    }
}

fn check_scaling(s: &ScalingPlan, diags: &mut Diagnostics) {
    let path = AttributePath::root().attr("scaling_config");
    let (min, max, desired) = (
        s.min_size.known().copied(),
        s.max_size.known().copied(),
        s.desired_size.known().copied(),
    );
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            diags.attribute_error(
                path.clone().attr("min_size"),
                "Invalid scaling bounds",
                format!(
                    "scaling_config.min_size ({min}) must not be greater than max_size ({max})."
                ),
            );
        }
        if let Some(d) = desired {
            if d < min || d > max {
                diags.attribute_error(
                    path.attr("desired_size"),
                    "Invalid desired size",
                    format!("scaling_config.desired_size ({d}) must be between min_size ({min}) and max_size ({max})."),
                );
            }
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for Nodegroup {
    fn type_name(&self) -> &'static str {
        "dataplatform_nodegroup"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let c = match Checked::read(req.config) {
            Ok(c) => c,
            Err(d) => return diags.push(d),
        };
        if let Field::Known(s) = &c.scaling_config {
            check_scaling(s, diags);
        }
        if c.capacity_type.known().map(String::as_str) == Some("CAPACITY_BLOCK")
            && c.launch_template.is_null()
        {
            diags.attribute_error(
                AttributePath::root().attr("capacity_type"),
                "Capacity Block without a launch template",
                "EKS creates a node group on an EC2 Capacity Block only from a launch template that targets \
                 the reservation (instance market type capacity-block and the capacity reservation ID): add a \
                 launch_template block.",
            );
        }
        if c.local_storage.known() == Some(&true) {
            check_local_storage(&c, diags);
        }
        // The purpose taint counts against EKS's limit of 50.
        let user_taints = c.taint.known().map_or(0, Vec::len);
        let implied = usize::from(matches!(
            c.purpose.known().map(String::as_str),
            Some("spark-driver" | "spark-executor")
        ));
        if user_taints + implied > MAX_TAINTS {
            diags.attribute_error(
                AttributePath::root().attr("taint"),
                "Too many taints",
                format!(
                    "A node group has at most {MAX_TAINTS} taints; this one would have {} ({user_taints} taint blocks{}).",
                    user_taints + implied,
                    if implied == 1 { " and the purpose taint" } else { "" }
                ),
            );
        }
    }

    fn modify_plan(
        &self,
        req: &ModifyPlanRequest<'_, ProviderData>,
        resp: &mut ModifyPlanResponse,
    ) {
        plan::modify_plan(req, resp);
    }

    async fn create(&self, ctx: &Context<ProviderData>, req: CreateRequest) -> ApplyResult {
        let data = ctx.data();
        let planned = req.planned;
        let timeout = timeouts::get(&planned, "create", DEFAULT_TIMEOUT);
        let clients = match clients(ctx, timeout).await {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let eks = &clients.eks;
        let naming = Naming::of(&planned);
        let mut spec = model::spec(&planned, "");
        let wants_local_storage =
            LocalStorageFacts::read(&planned).is_ok_and(|f| f.local_storage.known() == Some(&true));
        let mark = ownership::mark(&spec, &naming);
        let claims = Claims::of(ctx).await;
        // The group an earlier create of this plan left behind, or a new name.
        let found = ownership::plan_create(eks, &claims, &spec.cluster, &naming, &mark).await;
        let created = match found {
            Err(d) => return ApplyResult::failed(Value::Null, d),
            Ok(ownership::Plan::Adopt(ng)) => {
                tracing::info!(cluster = %ng.cluster, nodegroup = %ng.name, status = %ng.status,
                    "recording the node group an interrupted create of this plan left behind");
                *ng
            }
            Ok(ownership::Plan::Create(name)) => {
                spec.name = name;
                if wants_local_storage {
                    match local_storage::prepare(&clients.ec2, &spec, &mark).await {
                        Ok(prepared) => {
                            spec.launch_template = Some(prepared.reference());
                            spec.disk_size = None;
                        }
                        Err(d) => return ApplyResult::failed(Value::Null, d),
                    }
                }
                spec.tags.insert(PENDING_TAG.to_string(), mark.clone());
                tracing::info!(cluster = %spec.cluster, nodegroup = %spec.name, "creating node group");
                match eks.create_nodegroup(&spec).await {
                    Ok(ng) => ng,
                    Err(e) => {
                        return ApplyResult::failed(
                            Value::Null,
                            eks_diag("Cannot create node group", &e),
                        )
                    }
                }
            }
        };
        let (cluster, name) = (created.cluster.clone(), created.name.clone());
        // The group's own template and the store's size go into the state with it.
        let planned = if wants_local_storage {
            match local_storage::recorded(&clients.ec2, &created, &spec, planned).await {
                Ok(p) => p,
                Err((p, d)) => {
                    let state = model::without_unknowns(model::state(
                        &created,
                        &p,
                        &BTreeMap::new(),
                        &data.default_tags(),
                    ));
                    return ApplyResult::failed(state, d);
                }
            }
        } else {
            planned
        };
        // From here on the group exists: every failure returns a state that records it.
        let recorded = |ng: &LiveNodegroup| {
            model::without_unknowns(model::state(
                ng,
                &planned,
                &BTreeMap::new(),
                &data.default_tags(),
            ))
        };
        if let Err(e) = eks.wait_active(&cluster, &name).await {
            if e.is_cancelled() {
                return interrupted_create(recorded(&created), &planned, &e.to_string());
            }
            // Record the group as it was last seen. Out of time or with EKS unreachable, no
            // second round of calls: what CreateNodegroup returned is recorded. A group that is
            // gone is not recorded; one that failed is recorded without its pending tag (the
            // next apply replaces it rather than taking it over again).
            let state = match &e {
                EksError::Timeout { .. } | EksError::Transport { .. } => recorded(&created),
                _ => match eks.find_nodegroup(&cluster, &name).await {
                    Ok(None) => Value::Null,
                    Ok(Some(ng)) => {
                        let _ = eks.remove_tags(&ng.arn, vec![PENDING_TAG.into()]).await;
                        recorded(&ng)
                    }
                    Err(_) => recorded(&created),
                },
            };
            return ApplyResult::failed(state, eks_diag("Node group did not become ready", &e));
        }
        let mut warnings = Vec::new();
        if let Err(e) = eks
            .remove_tags(&created.arn, vec![PENDING_TAG.to_string()])
            .await
        {
            if e.is_cancelled() {
                return interrupted_create(recorded(&created), &planned, &e.to_string());
            }
            warnings.push(Diagnostic::warning(
                "Node group created; its pending-create tag remains",
                format!(
                    "{e}. The node group is recorded in the state; the tag {PENDING_TAG} is \
                     removed by the next apply that changes the group."
                ),
            ));
        }
        let mut result = self
            .finish(
                data,
                &clients,
                &cluster,
                &name,
                &planned,
                &recorded(&created),
            )
            .await;
        if result.diagnostics.has_errors() && ctx.is_cancelled() && !result.state.is_null() {
            return interrupted_create(
                recorded(&created),
                &planned,
                "Terraform asked the provider to stop while it finished the node group",
            );
        }
        for w in warnings {
            result.diagnostics.push(w);
        }
        result
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: ReadRequest) -> ReadResult {
        let data = ctx.data();
        let Some((cluster, name)) = Identity::of(&req.state).address() else {
            return ReadResult::gone();
        };
        let clients = match clients(ctx, READ_TIMEOUT).await {
            Ok(c) => c,
            Err(d) => return ReadResult::failed(req.state, req.private, d),
        };
        match read_live(&clients, &cluster, &name).await {
            Ok(Some((ng, tags))) => ReadResult::found(
                model::state(&ng, &req.state, &tags, &data.default_tags()),
                req.private,
            ),
            Ok(None) => {
                tracing::info!(cluster = %cluster, nodegroup = %name, "node group is gone; removing it from state");
                ReadResult::gone()
            }
            Err(d) => ReadResult::failed(req.state, req.private, d),
        }
    }

    async fn update(&self, ctx: &Context<ProviderData>, req: UpdateRequest) -> ApplyResult {
        let data = ctx.data();
        let prior = req.prior_state;
        let planned = req.planned;
        let timeout = timeouts::get(&planned, "update", DEFAULT_TIMEOUT);
        let clients = match clients(ctx, timeout).await {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(prior, d),
        };
        let eks = &clients.eks;
        let id = Identity::of(&prior);
        let cluster = id.cluster_name.0.unwrap_or_default();
        let name = id.name.0.unwrap_or_default();
        let live = match eks.find_nodegroup(&cluster, &name).await {
            Ok(Some(ng)) => ng,
            Ok(None) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error(
                        "Node group is gone",
                        format!("{cluster}:{name} was deleted outside Terraform."),
                    ),
                )
            }
            Err(e) => return ApplyResult::failed(prior, eks_diag("Cannot read node group", &e)),
        };
        let models = GroupModel::read(&prior).and_then(|p| Ok((p, GroupModel::read(&planned)?)));
        let (was, will) = match models {
            Ok(models) => models,
            Err(d) => return ApplyResult::failed(prior, d),
        };
        if let Err(d) = apply_changes(eks, &cluster, &name, live, &was, &will).await {
            return self
                .failed_update(data, &clients, &cluster, &name, &prior, d)
                .await;
        }
        // The group's own template follows its tags: a new version, the nodes rolled onto it.
        let facts = match LocalStorageFacts::read(&prior) {
            Ok(f) => f,
            Err(d) => return ApplyResult::failed(prior, d),
        };
        let rolled =
            local_storage::roll((&clients.ec2, eks), (&cluster, &name), &facts, &was, &will).await;
        if let Err(d) = rolled {
            return self
                .failed_update(data, &clients, &cluster, &name, &prior, d)
                .await;
        }
        self.finish(data, &clients, &cluster, &name, &planned, &prior)
            .await
    }

    async fn delete(&self, ctx: &Context<ProviderData>, req: DeleteRequest) -> Diagnostics {
        let timeout = timeouts::get(&req.prior_state, "delete", DEFAULT_TIMEOUT);
        let clients = match clients(ctx, timeout).await {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        let id = Identity::of(&req.prior_state);
        let cluster = id.cluster_name.0.unwrap_or_default();
        let name = id.name.0.unwrap_or_default();
        tracing::info!(cluster = %cluster, nodegroup = %name, "deleting node group");
        if let Err(e) = clients.eks.delete_nodegroup(&cluster, &name).await {
            return eks_diag("Cannot delete node group", &e).into();
        }
        // The group's own template goes after the group (EKS refuses while a group uses it).
        match LocalStorageFacts::read(&req.prior_state) {
            Ok(f) => local_storage::delete_owned(&clients.ec2, &f, &cluster, &name).await,
            Err(d) => d.into(),
        }
    }

    /// `cluster_name` and `name`, both required.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new(vec![
            IdentityAttribute {
                name: "cluster_name",
                required_for_import: true,
                description: "Name of the EKS cluster.",
            },
            IdentityAttribute {
                name: "name",
                required_for_import: true,
                description: "Name of the node group.",
            },
        ]))
    }

    fn import_id_of_identity(
        &self,
        identity: &std::collections::BTreeMap<&'static str, Option<&str>>,
    ) -> String {
        let part = |k: &str| identity.get(k).copied().flatten().unwrap_or_default();
        format!("{}:{}", part("cluster_name"), part("name"))
    }

    /// Generated configuration leaves out what the purpose implies (its default instance and
    /// capacity types), the size (the cluster autoscaler's) and the AMI release (pinning it
    /// would stop AMI updates).
    fn generate_config(&self, state: &Value) -> Value {
        let mut c =
            crate::framework::generate::config_from_state(&Resource::schema(self).block, state);
        let Ok(mut generated) = Generated::read(&c) else {
            return c;
        };
        let purpose = Checked::read(state)
            .ok()
            .and_then(|s| s.purpose.into_known())
            .unwrap_or_else(|| "custom".to_string());
        if generated.instance_types.known() == Some(&purpose::default_instance_types(&purpose)) {
            generated.instance_types = Field::Null;
        }
        if generated.capacity_type.known().map(String::as_str)
            == Some(purpose::default_capacity_type(&purpose))
        {
            generated.capacity_type = Field::Null;
        }
        generated.release_version = Field::Null;
        if let Field::Known(scaling) = &mut generated.scaling_config {
            scaling.desired_size = Field::Null;
        }
        // The configuration names the template once, by name (EKS reports both).
        if let Field::Known(template) = &mut generated.launch_template {
            if template.name.is_set() {
                template.id = Field::Null;
            }
        }
        generated.merge_into(&mut c);
        c
    }

    /// `moved` from the AWS provider's `aws_eks_node_group` (see [`moved`]).
    fn move_state(&self, source: &MoveSource<'_>) -> Result<Value, Diagnostics> {
        moved::from_aws(source)
    }

    async fn import(&self, _: &Context<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let mut parts = id.splitn(2, ':');
        match (parts.next(), parts.next()) {
            (Some(cluster), Some(name))
                if !cluster.is_empty() && !name.is_empty() && !name.contains(':') =>
            {
                Ok(Value::object(vec![
                    ("id", Value::string(id)),
                    ("cluster_name", Value::string(cluster)),
                    ("name", Value::string(name)),
                ]))
            }
            _ => Err(Diagnostic::error(
                "Invalid import id",
                format!("Expected \"<cluster_name>:<node group name>\", got {id:?}."),
            )
            .into()),
        }
    }
}

impl Nodegroup {
    /// After create or update: write the autoscaler tags, read back, and return the state.
    async fn finish(
        &self,
        data: &ProviderData,
        clients: &Clients,
        cluster: &str,
        name: &str,
        planned: &Value,
        fallback: &Value,
    ) -> ApplyResult {
        let live = match clients.eks.find_nodegroup(cluster, name).await {
            Ok(Some(ng)) => ng,
            Ok(None) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error(
                        "Node group is gone",
                        format!("{cluster}:{name} disappeared during apply."),
                    ),
                )
            }
            Err(e) => {
                return ApplyResult::failed(
                    fallback.clone(),
                    eks_diag("Cannot read node group", &e),
                )
            }
        };
        // Unknown at plan time when the root volume's size was (a launch template leaves it to
        // EKS): the group as created says what the autoscaler's template must advertise.
        // With local storage, what the instance store holds.
        let ephemeral_gib = LocalStorageFacts::read(planned)
            .ok()
            .and_then(|f| f.local_storage_gib.known().copied())
            .or(live.disk_size.map(i64::from));
        let wanted = match AutoscalerTags::read(planned).map(|t| t.autoscaler_tags) {
            Ok(Field::Unknown) => Some(purpose::autoscaler_tags(
                cluster,
                &live.labels,
                &live.taints,
                ephemeral_gib,
            )),
            Ok(tags) => tags.into_known(),
            Err(_) => None,
        };
        if let Some(wanted) = wanted {
            if let Err(d) =
                sync_autoscaler_tags(&clients.autoscaling, &live.autoscaling_groups, &wanted).await
            {
                let state = model::state(&live, planned, &BTreeMap::new(), &data.default_tags());
                return ApplyResult::failed(model::without_unknowns(state), d);
            }
        }
        match read_live(clients, cluster, name).await {
            Ok(Some((ng, tags))) => {
                ApplyResult::ok(model::state(&ng, planned, &tags, &data.default_tags()))
            }
            Ok(None) => ApplyResult::failed(
                Value::Null,
                Diagnostic::error(
                    "Node group is gone",
                    format!("{cluster}:{name} disappeared during apply."),
                ),
            ),
            Err(d) => ApplyResult::failed(fallback.clone(), d),
        }
    }

    /// A failed update: record the node group as it now is, so the next plan shows what is left.
    async fn failed_update(
        &self,
        data: &ProviderData,
        clients: &Clients,
        cluster: &str,
        name: &str,
        prior: &Value,
        d: Diagnostic,
    ) -> ApplyResult {
        let state = match read_live(clients, cluster, name).await {
            Ok(Some((ng, tags))) => model::state(&ng, prior, &tags, &data.default_tags()),
            _ => prior.clone(),
        };
        ApplyResult::failed(state, d)
    }
}

/// Takes a live group from its last known values to the plan: waits for a group still being
/// created or updated (an apply interrupted while it waited, or a change made outside
/// Terraform), then changes its configuration, its version and its tags (the pending-create tag
/// of an interrupted create goes with the tags no longer wanted), all within the `update`
/// timeout.
async fn apply_changes(
    eks: &Eks,
    cluster: &str,
    name: &str,
    live: LiveNodegroup,
    prior: &GroupModel,
    planned: &GroupModel,
) -> Result<(), Diagnostic> {
    let live = if is_unsettled(Some(live.status.as_str())) {
        eks.wait_active(cluster, name)
            .await
            .map_err(|e| eks_diag("Node group did not become ready", &e))?
    } else {
        live
    };
    let change = config_change(&live, prior, planned);
    eks.update_config(cluster, name, &change)
        .await
        .map_err(|e| eks_diag("Cannot update node group", &e))?;
    if let Some(v) = version_change(prior, planned) {
        eks.update_version(cluster, name, &v)
            .await
            .map_err(|e| eks_diag("Cannot update node group version", &e))?;
    }
    if let Some(wanted) = &planned.tags_all.0 {
        eks.sync_tags(&live.arn, &live.tags, wanted)
            .await
            .map_err(|e| eks_diag("Cannot tag node group", &e))?;
    }
    Ok(())
}

/// What UpdateNodegroupConfig must change, from the last known live values to the plan.
fn config_change(live: &LiveNodegroup, prior: &GroupModel, planned: &GroupModel) -> ConfigChange {
    let mut change = ConfigChange::default();
    if let Some(want) = &planned.effective_labels.0 {
        change.labels_to_set = want
            .iter()
            .filter(|(k, v)| live.labels.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        change.labels_to_remove = live
            .labels
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
    }
    if planned.effective_taints.0.is_some() {
        let want = planned.taints();
        change.taints_to_set = want
            .iter()
            .filter(|t| !live.taints.contains(t))
            .cloned()
            .collect();
        change.taints_to_remove = live
            .taints
            .iter()
            .filter(|t| !want.iter().any(|w| w.key == t.key && w.effect == t.effect))
            .cloned()
            .collect();
    }
    if let (Some(want), Some(have)) = (planned.scaling(), live.scaling) {
        let asked_before = prior.scaling().map(|s| s.desired);
        // The autoscaler owns the live size: keep it, within the new bounds, unless the
        // configuration asks for a new desired size.
        let desired = if asked_before != Some(want.desired) {
            want.desired
        } else {
            have.desired.clamp(want.min, want.max)
        };
        let target = Scaling {
            min: want.min,
            max: want.max,
            desired,
        };
        if target != have {
            change.scaling = Some(target);
        }
    }
    let want_update = planned.update_config();
    if let Some(want) = want_update {
        // A strategy left to EKS is whatever EKS reports.
        let live_strategy = live.update_config.as_ref().and_then(|u| u.strategy.clone());
        let want = UpdateConfig {
            strategy: want.strategy.or(live_strategy),
            ..want
        };
        if Some(&want) != live.update_config.as_ref() {
            change.update_config = Some(want);
        }
    }
    // Removing the block turns repair off.
    let want_repair = match (planned.node_repair(), prior.node_repair()) {
        (Some(want), _) => Some(want),
        (None, Some(_)) => Some(NodeRepair::default()),
        (None, None) => None,
    };
    if let Some(want) = want_repair {
        let live_repair = live.node_repair.clone().unwrap_or_default();
        if want != live_repair {
            change.node_repair = Some(want);
        }
    }
    change
}

/// What UpdateNodegroupVersion must change, if anything.
fn version_change(prior: &GroupModel, planned: &GroupModel) -> Option<VersionChange> {
    let changed = |p: &IfKnown<String>, before: &IfKnown<String>| p.0.is_some() && p != before;
    let version = changed(&planned.version, &prior.version);
    let release = changed(&planned.release_version, &prior.release_version);
    let lt_version = |g: &GroupModel| {
        g.launch_template
            .0
            .as_ref()
            .and_then(|l| l.version.0.clone())
    };
    let lt_changed = lt_version(planned).is_some() && lt_version(planned) != lt_version(prior);
    if !(version || release || lt_changed) {
        return None;
    }
    Some(VersionChange {
        version: planned.version.0.clone().filter(|_| version),
        release_version: planned.release_version.0.clone().filter(|_| release),
        launch_template: planned.launch_template().filter(|_| lt_changed),
        force: planned.force_update_version.0.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::ObjectBuilder;
    use crate::framework::{attr, ToValue};

    fn planned(min: i64, max: i64, desired: i64, labels: &[(&str, &str)]) -> Value {
        ObjectBuilder::new(&schema::schema().block)
            .set(
                "scaling_config",
                Value::object(vec![
                    ("min_size", Value::number(min)),
                    ("max_size", Value::number(max)),
                    ("desired_size", Value::number(desired)),
                ]),
            )
            .set(
                "effective_labels",
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<String, String>>()
                    .to_value(),
            )
            .set("effective_taints", Value::list(vec![]))
            .build()
    }

    fn change_of(live: &LiveNodegroup, prior: &Value, planned: &Value) -> ConfigChange {
        let model = |v: &Value| GroupModel::read(v).expect("a node group plan");
        config_change(live, &model(prior), &model(planned))
    }

    fn live(min: i32, max: i32, desired: i32) -> LiveNodegroup {
        LiveNodegroup {
            scaling: Some(Scaling { min, max, desired }),
            labels: BTreeMap::from([
                ("purpose".into(), "infra".into()),
                ("old".into(), "x".into()),
            ]),
            ..LiveNodegroup::default()
        }
    }

    #[test]
    fn raising_min_above_the_live_size_raises_the_size() {
        // Asked for 1 at create; the autoscaler moved it to 4; min becomes 6.
        let change = change_of(
            &live(1, 7, 4),
            &planned(1, 7, 1, &[]),
            &planned(6, 7, 1, &[]),
        );
        assert_eq!(
            change.scaling,
            Some(Scaling {
                min: 6,
                max: 7,
                desired: 6
            })
        );
    }

    #[test]
    fn the_autoscalers_size_is_kept_within_new_bounds() {
        let change = change_of(
            &live(1, 7, 4),
            &planned(1, 7, 1, &[]),
            &planned(1, 9, 1, &[]),
        );
        assert_eq!(
            change.scaling,
            Some(Scaling {
                min: 1,
                max: 9,
                desired: 4
            })
        );
        let none = change_of(
            &live(1, 7, 4),
            &planned(1, 7, 1, &[]),
            &planned(1, 7, 1, &[]),
        );
        assert_eq!(none.scaling, None, "no fight with the autoscaler");
    }

    #[test]
    fn an_explicit_new_desired_size_is_sent() {
        let change = change_of(
            &live(1, 7, 4),
            &planned(1, 7, 1, &[]),
            &planned(1, 7, 2, &[]),
        );
        assert_eq!(
            change.scaling,
            Some(Scaling {
                min: 1,
                max: 7,
                desired: 2
            })
        );
    }

    #[test]
    fn labels_are_added_and_removed() {
        let change = change_of(
            &live(1, 7, 1),
            &planned(1, 7, 1, &[]),
            &planned(1, 7, 1, &[("purpose", "infra"), ("team", "de")]),
        );
        assert_eq!(
            change.labels_to_set,
            BTreeMap::from([("team".to_string(), "de".to_string())])
        );
        assert_eq!(change.labels_to_remove, vec!["old".to_string()]);
    }

    #[test]
    fn removing_node_repair_turns_it_off() {
        let repair = Value::object(vec![
            ("enabled", Value::bool(true)),
            ("max_unhealthy_node_threshold_count", Value::Null),
            ("max_unhealthy_node_threshold_percentage", Value::Null),
            ("max_parallel_nodes_repaired_count", Value::number(2i64)),
            ("max_parallel_nodes_repaired_percentage", Value::Null),
            ("node_repair_config_overrides", Value::list(vec![])),
        ]);
        let mut prior = planned(1, 7, 1, &[]);
        attr::set(&mut prior, "node_repair_config", repair);
        let mut on = live(1, 7, 1);
        on.node_repair = Some(NodeRepair {
            enabled: true,
            max_parallel_count: Some(2),
            ..NodeRepair::default()
        });
        let kept = change_of(&on, &prior, &prior);
        assert_eq!(kept.node_repair, None, "unchanged: nothing sent");
        let off = change_of(&on, &prior, &planned(1, 7, 1, &[]));
        assert_eq!(off.node_repair, Some(NodeRepair::default()));
    }

    #[test]
    fn version_changes_only_when_asked() {
        let prior = ObjectBuilder::new(&schema::schema().block)
            .set("version", "1.28")
            .set("release_version", "1.28.1")
            .build();
        let model = |v: &Value| GroupModel::read(v).expect("a node group plan");
        assert!(version_change(&model(&prior), &model(&prior)).is_none());
        let mut next = prior.clone();
        attr::set(&mut next, "version", Value::string("1.29"));
        attr::set(&mut next, "release_version", Value::Unknown);
        let v = version_change(&model(&prior), &model(&next)).expect("a version change");
        assert_eq!(v.version.as_deref(), Some("1.29"));
        assert_eq!(v.release_version, None);
    }

    #[test]
    fn eks_default_update_config_is_not_drift_when_unconfigured() {
        let ng = LiveNodegroup {
            cluster: "analytics".into(),
            name: "infra".into(),
            update_config: Some(UpdateConfig::eks_default()),
            ..LiveNodegroup::default()
        };
        let prior = ObjectBuilder::new(&schema::schema().block)
            .set("purpose", "infra")
            .build();
        let state = model::state(&ng, &prior, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(state.get_attr("update_config"), Some(&Value::Null));
        // Imported: EKS's default is not recorded, anything else is.
        let imported = model::state(&ng, &Value::Null, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(imported.get_attr("update_config"), Some(&Value::Null));
        let custom = LiveNodegroup {
            update_config: Some(UpdateConfig {
                max_unavailable: crate::clients::eks::MaxUnavailable::Percentage(25),
                strategy: None,
            }),
            ..ng
        };
        let imported = model::state(&custom, &Value::Null, &BTreeMap::new(), &BTreeMap::new());
        assert!(imported
            .get_attr("update_config")
            .is_some_and(|u| !u.is_null()));
    }

    #[test]
    fn import_ids_are_cluster_colon_name() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let data = std::sync::Arc::new(ProviderData::new(Default::default()));
        let ctx = Context::new(data, tokio_util::sync::CancellationToken::new());
        let ok = rt
            .block_on(Nodegroup.import(&ctx, "analytics:spark-executors"))
            .unwrap();
        assert_eq!(
            Identity::of(&ok).address(),
            Some(("analytics".to_string(), "spark-executors".to_string()))
        );
        for bad in ["analytics", ":x", "a:", "a:b:c"] {
            assert!(rt.block_on(Nodegroup.import(&ctx, bad)).is_err(), "{bad}");
        }
    }
}
