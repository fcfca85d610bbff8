//! What a resource, a data source and the provider implement. Methods take request structs,
//! so new protocol fields never break implementations; optional behaviour has defaults.

use std::sync::Arc;

use async_trait::async_trait;

use crate::value::Value;

use super::context::Context;
use super::diagnostics::{Diagnostic, Diagnostics};
use super::identity::IdentitySchema;
use super::schema::Schema;

/// The configuration of a resource at validate time (may hold unknown values).
pub struct ValidateRequest<'a> {
    pub config: &'a Value,
}

/// The state of another resource type, as a `moved` block across types hands it over
/// (Terraform 1.8+): the source provider's address, type, schema version and stored JSON.
pub struct MoveSource<'a> {
    pub provider_address: &'a str,
    pub type_name: &'a str,
    pub schema_version: i64,
    pub state: &'a serde_json::Value,
}

/// The resource's own plan changes, after the framework's pipeline.
pub struct ModifyPlanRequest<'a, D> {
    /// Null for a destroy plan.
    pub config: &'a Value,
    /// The configured provider data, when Configure has run.
    pub data: Option<&'a D>,
    /// Null on create.
    pub prior_state: &'a Value,
}

pub struct ModifyPlanResponse {
    /// The planned state so far; the resource may change computed attributes.
    pub planned: Value,
    /// Extra attribute paths whose change replaces the resource.
    pub requires_replace: Vec<crate::value::AttributePath>,
    pub diagnostics: Diagnostics,
}

impl ModifyPlanResponse {
    /// A response that starts from `planned`, with nothing to replace and no diagnostics.
    pub fn new(planned: Value) -> Self {
        ModifyPlanResponse {
            planned,
            requires_replace: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
}

/// The resource's own plan for creating `config` (no prior state, no provider data), as a
/// resource's unit tests drive it.
#[cfg(test)]
pub fn plan_create<D: Send + Sync + 'static, R: Resource<D>>(
    r: &R,
    config: &Value,
) -> ModifyPlanResponse {
    let mut resp = ModifyPlanResponse::new(config.clone());
    let req = ModifyPlanRequest {
        config,
        data: None,
        prior_state: &Value::Null,
    };
    r.modify_plan(&req, &mut resp);
    resp
}

pub struct CreateRequest {
    pub config: Value,
    pub planned: Value,
}

pub struct UpdateRequest {
    pub config: Value,
    pub prior_state: Value,
    pub planned: Value,
    pub prior_private: Vec<u8>,
}

pub struct ReadRequest {
    pub state: Value,
    pub private: Vec<u8>,
}

pub struct DeleteRequest {
    pub prior_state: Value,
    pub prior_private: Vec<u8>,
}

/// The result of create and update. On error, `state` must still tell the truth: the object
/// as far as it exists (null when nothing was created), so nothing is orphaned.
pub struct ApplyResult {
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl ApplyResult {
    pub fn ok(state: Value) -> Self {
        ApplyResult {
            state,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
    pub fn failed(state: Value, diagnostics: impl Into<Diagnostics>) -> Self {
        ApplyResult {
            state,
            private: Vec::new(),
            diagnostics: diagnostics.into(),
        }
    }
}

/// The result of read: `None` means the object is gone (core removes it from state).
pub struct ReadResult {
    pub state: Option<Value>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl ReadResult {
    pub fn found(state: Value, private: Vec<u8>) -> Self {
        ReadResult {
            state: Some(state),
            private,
            diagnostics: Diagnostics::new(),
        }
    }
    /// The object as last known, kept in state, with what went wrong reading it.
    pub fn failed(state: Value, private: Vec<u8>, diagnostics: impl Into<Diagnostics>) -> Self {
        ReadResult {
            state: Some(state),
            private,
            diagnostics: diagnostics.into(),
        }
    }
    pub fn gone() -> Self {
        ReadResult {
            state: None,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
}

/// A managed resource type. `D` is the provider's configured data.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync {
    /// The full type name, e.g. `dataplatform_nodegroup`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Cross-attribute checks on the configuration. Attribute validators already ran.
    fn validate(&self, _req: &ValidateRequest<'_>, _diags: &mut Diagnostics) {}

    /// Resource-level plan changes (also called for destroy plans, with a null config).
    fn modify_plan(&self, _req: &ModifyPlanRequest<'_, D>, _resp: &mut ModifyPlanResponse) {}

    async fn create(&self, ctx: &Context<D>, req: CreateRequest) -> ApplyResult;
    async fn read(&self, ctx: &Context<D>, req: ReadRequest) -> ReadResult;
    async fn update(&self, ctx: &Context<D>, req: UpdateRequest) -> ApplyResult;
    /// Not-found counts as success.
    async fn delete(&self, ctx: &Context<D>, req: DeleteRequest) -> Diagnostics;

    /// Imports by id: the returned state needs only what Read needs to find the object.
    async fn import(&self, _ctx: &Context<D>, _id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// The identity schema (Terraform 1.12+); none by default. Its attributes are state
    /// attributes of the same name.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The import ID an identity names (`import { identity = {...} }`), from its attributes
    /// (`None` where left out). Only called for resources with an identity schema, with every
    /// required attribute given.
    fn import_id_of_identity(
        &self,
        _identity: &std::collections::BTreeMap<&'static str, Option<&str>>,
    ) -> String {
        String::new()
    }

    /// The configuration to generate for an imported or listed object (Terraform 1.5+
    /// `-generate-config-out`): by default [`config_from_state`](super::generate::config_from_state).
    fn generate_config(&self, state: &Value) -> Value {
        super::generate::config_from_state(&self.schema().block, state)
    }

    /// Takes over the state of another resource type (`moved { from = <type>.x ... }`)
    /// without calling any API; the next refresh reads the object. Refuses, naming the
    /// attribute, what it cannot map.
    fn move_state(&self, source: &MoveSource<'_>) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Move not supported",
            format!(
                "{} cannot take over the state of {} ({}); import the object instead.",
                self.type_name(),
                source.type_name,
                source.provider_address
            ),
        )
        .into())
    }

    /// Upgrades stored state JSON written by schema `version` (older than the current one) to
    /// the current version's shape.
    fn upgrade_state(
        &self,
        version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::error(
            "Unable to upgrade state",
            format!(
                "{} has no upgrade from schema version {version} to version {}.",
                self.type_name(),
                self.schema().version
            ),
        )
        .into())
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _req: &ValidateRequest<'_>, _diags: &mut Diagnostics) {}
    /// Returns the full object (configuration plus computed attributes).
    async fn read(&self, ctx: &Context<D>, config: Value) -> (Value, Diagnostics);
}

/// An ephemeral resource (Terraform 1.10+): opened whenever a plan or apply needs its value,
/// which Terraform keeps out of plan and state files. Core opens it only once its
/// configuration is wholly known.
#[async_trait]
pub trait EphemeralResource<D: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _req: &ValidateRequest<'_>, _diags: &mut Diagnostics) {}
    /// Returns the full object (configuration plus computed attributes). What it opens holds
    /// nothing to renew or close.
    async fn open(&self, ctx: &Context<D>, config: Value) -> (Value, Diagnostics);
}

/// One object a list resource found: a name for people and its full resource state (what a
/// Read of it returns).
pub struct Listed {
    pub display_name: String,
    pub state: Value,
}

/// A list resource (Terraform 1.14+, `terraform query`): finds existing objects of a managed
/// resource type, so `terraform query -generate-config-out` can write their `import` blocks and
/// configuration. The resource type must have an identity.
#[async_trait]
pub trait ListResource<D: Send + Sync + 'static>: Send + Sync {
    /// The managed resource type it lists.
    fn type_name(&self) -> &'static str;
    /// The schema of the `list` block's `config`.
    fn schema(&self) -> Schema;
    fn validate(&self, _req: &ValidateRequest<'_>, _diags: &mut Diagnostics) {}
    /// At most `limit` objects matching `config`, in a stable order.
    async fn list(
        &self,
        ctx: &Context<D>,
        config: Value,
        limit: usize,
    ) -> (Vec<Listed>, Diagnostics);
}

/// The state an import of `id` followed by a refresh gives; `None` when the object does not
/// exist. List resources read what they find through it, so it reads as an import would.
pub async fn read_imported<D: Send + Sync + 'static, R: Resource<D> + ?Sized>(
    resource: &R,
    ctx: &Context<D>,
    id: &str,
) -> (Option<Value>, Diagnostics) {
    let state = match resource.import(ctx, id).await {
        Ok(s) => s,
        Err(d) => return (None, d),
    };
    let read = resource
        .read(
            ctx,
            ReadRequest {
                state,
                private: Vec::new(),
            },
        )
        .await;
    (read.state.filter(|s| !s.is_null()), read.diagnostics)
}

pub type ResourceList<D> = Vec<Arc<dyn Resource<D>>>;
pub type ListResourceList<D> = Vec<Arc<dyn ListResource<D>>>;
pub type DataSourceList<D> = Vec<Arc<dyn DataSource<D>>>;
pub type EphemeralResourceList<D> = Vec<Arc<dyn EphemeralResource<D>>>;

/// The provider itself.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What Configure builds and every operation receives.
    type Data: Send + Sync + 'static;

    /// The provider's local name, e.g. `dataplatform`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Cross-attribute checks on the provider configuration.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Builds the provider data. Must do no network I/O: values may be unknown during plan.
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<Self::Data>;
    fn resources(&self) -> ResourceList<Self::Data>;
    fn data_sources(&self) -> DataSourceList<Self::Data>;
    /// List resources; none by default.
    fn list_resources(&self) -> ListResourceList<Self::Data> {
        Vec::new()
    }
    /// Ephemeral resources; none by default.
    fn ephemeral_resources(&self) -> EphemeralResourceList<Self::Data> {
        Vec::new()
    }
    /// Provider functions; none by default.
    fn functions(&self) -> crate::framework::FunctionList {
        Vec::new()
    }
}
