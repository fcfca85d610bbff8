//! The framework's side of every RPC, free of protobuf: decode is done by the protocol layer
//! against the schemas this server exposes; here requests are routed to resources, the plan
//! pipeline runs, core's rules are checked, panics become diagnostics and StopProvider
//! cancels every operation in flight.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, RwLock};

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::value::{AttributePath, Known, Type, Value};

use super::context::{Context, Shared};
use super::diagnostics::{Diagnostic, Diagnostics, Severity};
use super::function::{Function, FunctionError};
use super::identity::IdentitySchema;
use super::model::ObjectBuilder;
use super::plan;
use super::redact::Secrets;
use super::resource::{
    ApplyResult, CreateRequest, DataSource, DeleteRequest, EphemeralResource, ListResource,
    ModifyPlanRequest, ModifyPlanResponse, MoveSource, Provider, ReadRequest, Resource,
    UpdateRequest, ValidateRequest,
};
use super::schema::Schema;
use super::validate::{validate_config, ClientCapabilities};

/// A planned change, as PlanResourceChange returns it.
#[derive(Debug)]
pub struct PlanResponse {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// The outcome of ApplyResourceChange and of ReadResource.
#[derive(Debug)]
pub struct StateResponse {
    /// Null: the object does not exist (destroyed, or gone).
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// One object returned by ImportResourceState.
#[derive(Debug)]
pub struct Imported {
    pub type_name: String,
    pub state: Value,
    pub private: Vec<u8>,
    /// Its identity (Terraform 1.12+), when the resource has one and the state names it.
    pub identity: Option<Value>,
}

type ResourceEntry<D> = (Arc<dyn Resource<D>>, Schema, Type);
type DataSourceEntry<D> = (Arc<dyn DataSource<D>>, Schema, Type);
type EphemeralEntry<D> = (Arc<dyn EphemeralResource<D>>, Schema, Type);
type IdentityEntry = (IdentitySchema, Type);
type ListEntry<D> = (Arc<dyn ListResource<D>>, Schema, Type);

/// One object a list found, as it travels: display name, identity, and (when asked) state.
#[derive(Debug)]
pub struct Found {
    pub display_name: String,
    pub identity: Value,
    pub state: Option<Value>,
}
/// What Configure produced, with what the operations under that configuration share.
type Configured<D> = (Arc<D>, Arc<Shared>);

/// Routes the provider's RPCs to its resources.
pub struct ProviderServer<P: Provider> {
    provider: P,
    provider_schema: Schema,
    provider_type: Type,
    resources: BTreeMap<String, ResourceEntry<P::Data>>,
    data_sources: BTreeMap<String, DataSourceEntry<P::Data>>,
    ephemeral_resources: BTreeMap<String, EphemeralEntry<P::Data>>,
    identities: BTreeMap<String, IdentityEntry>,
    list_resources: BTreeMap<String, ListEntry<P::Data>>,
    functions: BTreeMap<&'static str, Arc<dyn Function>>,
    data: RwLock<Option<Configured<P::Data>>>,
    cancel: Mutex<CancellationToken>,
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {name:?}."),
    )
    .into()
}

/// Entries by type name, each with its schema and that schema's value type, computed once.
fn by_type<T: ?Sized>(
    items: Vec<Arc<T>>,
    name: impl Fn(&T) -> &'static str,
    schema: impl Fn(&T) -> Schema,
) -> BTreeMap<String, (Arc<T>, Schema, Type)> {
    items
        .into_iter()
        .map(|item| {
            let s = schema(&item);
            let ty = s.value_type();
            (name(&item).to_string(), (item, s, ty))
        })
        .collect()
}

impl<P: Provider> ProviderServer<P> {
    pub fn new(provider: P) -> Self {
        let resources: BTreeMap<String, ResourceEntry<P::Data>> =
            by_type(provider.resources(), |r| r.type_name(), |r| r.schema());
        let identities = resources
            .iter()
            .filter_map(|(name, (r, _, _))| {
                let schema = r.identity_schema()?;
                let ty = schema.value_type();
                Some((name.clone(), (schema, ty)))
            })
            .collect();
        let data_sources = by_type(provider.data_sources(), |d| d.type_name(), |d| d.schema());
        let list_resources = by_type(provider.list_resources(), |l| l.type_name(), |l| l.schema());
        let ephemeral_resources = by_type(
            provider.ephemeral_resources(),
            |e| e.type_name(),
            |e| e.schema(),
        );
        let functions = provider
            .functions()
            .into_iter()
            .map(|f| (f.name(), f))
            .collect();
        let provider_schema = provider.schema();
        ProviderServer {
            provider_type: provider_schema.value_type(),
            provider_schema,
            provider,
            resources,
            data_sources,
            ephemeral_resources,
            identities,
            list_resources,
            functions,
            data: RwLock::new(None),
            cancel: Mutex::new(CancellationToken::new()),
        }
    }

    pub fn provider_name(&self) -> &'static str {
        self.provider.type_name()
    }

    pub fn provider_schema(&self) -> &Schema {
        &self.provider_schema
    }

    /// The value type of the provider configuration, computed once.
    pub fn provider_type(&self) -> &Type {
        &self.provider_type
    }

    pub fn resource_schemas(&self) -> impl Iterator<Item = (&str, &Schema)> {
        self.resources.iter().map(|(k, (_, s, _))| (k.as_str(), s))
    }

    pub fn data_source_schemas(&self) -> impl Iterator<Item = (&str, &Schema)> {
        self.data_sources
            .iter()
            .map(|(k, (_, s, _))| (k.as_str(), s))
    }

    pub fn identity_schemas(&self) -> impl Iterator<Item = (&str, &IdentitySchema)> {
        self.identities.iter().map(|(n, (s, _))| (n.as_str(), s))
    }

    pub fn identity_type(&self, type_name: &str) -> Option<&Type> {
        self.identities.get(type_name).map(|(_, t)| t)
    }

    /// The identity of a resource's state (see [`IdentitySchema::of_state`]).
    pub fn identity_of(&self, type_name: &str, state: &Value) -> Option<Value> {
        self.identities
            .get(type_name)
            .and_then(|(s, _)| s.of_state(state))
    }

    /// Decodes stored identity JSON. Only version 0 exists so far; a newer one was written by
    /// a newer provider.
    pub fn upgrade_identity(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
    ) -> (Value, Diagnostics) {
        let Some((schema, ty)) = self.identities.get(type_name) else {
            return (Value::Null, unknown_type("resource identity", type_name));
        };
        if version > schema.version {
            return (
                Value::Null,
                Diagnostic::error(
                    "Identity written by a newer provider",
                    format!(
                        "The identity of this {type_name} was written by identity schema version {version}, \
                         newer than this provider's version {}. Upgrade the provider.",
                        schema.version
                    ),
                )
                .into(),
            );
        }
        match crate::value::decode_json(raw_json, ty) {
            Ok(v) => (v, Diagnostics::new()),
            Err(e) => (
                Value::Null,
                Diagnostic::error(
                    "Unreadable identity",
                    format!("The stored identity does not match the identity schema: {e}."),
                )
                .into(),
            ),
        }
    }

    /// Imports the object an identity names (`import { identity = {...} }`).
    pub async fn import_by_identity(
        &self,
        type_name: &str,
        identity: &Value,
    ) -> (Vec<Imported>, Diagnostics) {
        let Some((r, _, _)) = self.resources.get(type_name) else {
            return (Vec::new(), unknown_type("resource", type_name));
        };
        let Some((schema, _)) = self.identities.get(type_name) else {
            return (
                Vec::new(),
                Diagnostic::error(
                    "Import by identity not supported",
                    format!("{type_name} has no identity: import it by ID."),
                )
                .into(),
            );
        };
        let missing = schema.missing(identity);
        if !missing.is_empty() {
            let all: Vec<String> = schema
                .attributes
                .iter()
                .map(|a| {
                    format!(
                        "{}{}",
                        a.name,
                        if a.required_for_import {
                            ""
                        } else {
                            " (optional)"
                        }
                    )
                })
                .collect();
            return (
                Vec::new(),
                Diagnostic::error(
                    "Incomplete identity",
                    format!(
                        "The identity of a {type_name} needs {}; missing: {}.",
                        all.join(", "),
                        missing.join(", ")
                    ),
                )
                .into(),
            );
        }
        let id = r.import_id_of_identity(&schema.parts(identity));
        let (mut imported, diags) = self.import_resource_state(type_name, &id).await;
        for i in &mut imported {
            if i.identity.is_none() {
                i.identity = Some(identity.clone());
            }
        }
        (imported, diags)
    }

    /// The configuration to write for an object whose state is `state`.
    pub fn generate_resource_config(&self, type_name: &str, state: &Value) -> (Value, Diagnostics) {
        let Some((r, _, _)) = self.resources.get(type_name) else {
            return (Value::Null, unknown_type("resource", type_name));
        };
        let mut diags = Diagnostics::new();
        match guard_sync_value("GenerateResourceConfig", &mut diags, || {
            r.generate_config(state)
        }) {
            Some(config) => (config, diags),
            None => (Value::Null, diags),
        }
    }

    /// Takes over another resource type's state for `target_type` (a `moved` block across
    /// types), with the new state's identity.
    pub fn move_resource_state(
        &self,
        target_type: &str,
        source: &MoveSource<'_>,
    ) -> (Value, Option<Value>, Diagnostics) {
        let Some((r, schema, _)) = self.resources.get(target_type) else {
            return (Value::Null, None, unknown_type("resource", target_type));
        };
        let mut diags = Diagnostics::new();
        match guard_sync_value("MoveResourceState", &mut diags, || r.move_state(source)) {
            Some(Ok(state)) => {
                let state = ObjectBuilder::from_value(&schema.block, &state).build();
                let identity = self.identity_of(target_type, &state);
                (state, identity, diags)
            }
            Some(Err(d)) => (Value::Null, None, d),
            None => (Value::Null, None, diags),
        }
    }

    pub fn list_resource_schemas(&self) -> impl Iterator<Item = (&str, &Schema)> {
        self.list_resources
            .iter()
            .map(|(n, (_, s, _))| (n.as_str(), s))
    }

    pub fn list_resource_type(&self, type_name: &str) -> Option<&Type> {
        self.list_resources.get(type_name).map(|(_, _, t)| t)
    }

    pub fn validate_list_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let Some((l, schema, _)) = self.list_resources.get(type_name) else {
            return unknown_type("list resource", type_name);
        };
        let mut diags = validate_config(&schema.block, config, ClientCapabilities::default());
        guard_sync("ValidateListResourceConfig", &mut diags, || {
            let mut d = Diagnostics::new();
            l.validate(&ValidateRequest { config }, &mut d);
            d
        });
        // Terraform places these in the `list` block, whose `config` block holds the values.
        diags
            .into_iter()
            .map(|mut d| {
                if let Some(path) = d.attribute.take() {
                    let mut inside = AttributePath::root().attr("config");
                    for step in path.steps() {
                        inside.push(step.clone());
                    }
                    d.attribute = Some(inside);
                }
                d
            })
            .collect()
    }

    /// Lists existing objects of `type_name`: each with its identity, and its state when
    /// `include_state`.
    pub async fn list_resource(
        &self,
        type_name: &str,
        config: Value,
        include_state: bool,
        limit: usize,
    ) -> (Vec<Found>, Diagnostics) {
        let Some((l, _, _)) = self.list_resources.get(type_name) else {
            return (Vec::new(), unknown_type("list resource", type_name));
        };
        let Some((_, schema, _)) = self.resources.get(type_name) else {
            return (Vec::new(), unknown_type("resource", type_name));
        };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return (Vec::new(), d),
        };
        let (listed, mut diags) = match guard("ListResource", l.list(&ctx, config, limit)).await {
            Ok(r) => r,
            Err(d) => return (Vec::new(), d),
        };
        let mut found = Vec::new();
        for item in listed.into_iter().take(limit) {
            let state = ObjectBuilder::from_value(&schema.block, &item.state).build();
            let Some(identity) = self.identity_of(type_name, &state) else {
                diags.push(Diagnostic::warning(
                    "Object without identity",
                    format!(
                        "{} was found but its identity could not be made; it is left out.",
                        item.display_name
                    ),
                ));
                continue;
            };
            found.push(Found {
                display_name: item.display_name,
                identity,
                state: include_state.then(|| strip_write_only(&schema.block, state)),
            });
        }
        (found, diags)
    }

    pub fn ephemeral_resource_schemas(&self) -> impl Iterator<Item = (&str, &Schema)> {
        self.ephemeral_resources
            .iter()
            .map(|(n, (_, s, _))| (n.as_str(), s))
    }

    pub fn ephemeral_resource_type(&self, type_name: &str) -> Option<&Type> {
        self.ephemeral_resources.get(type_name).map(|(_, _, t)| t)
    }

    pub fn functions(&self) -> impl Iterator<Item = &dyn Function> {
        self.functions.values().map(|f| f.as_ref())
    }

    pub fn function(&self, name: &str) -> Option<&dyn Function> {
        self.functions.get(name).map(|f| f.as_ref())
    }

    /// Calls a function with decoded arguments, one per parameter.
    pub fn call_function(&self, name: &str, args: &[Value]) -> Result<Value, FunctionError> {
        let f = self.function(name).ok_or_else(|| FunctionError {
            text: format!("This provider has no function named {name:?}."),
            argument: None,
        })?;
        let params = f.parameters();
        if args.len() != params.len() {
            return Err(FunctionError {
                text: format!(
                    "{name} takes {} argument(s), got {}.",
                    params.len(),
                    args.len()
                ),
                argument: None,
            });
        }
        if let Some(i) = args.iter().position(|a| a.is_null() || !a.is_fully_known()) {
            return Err(FunctionError::argument(
                i,
                format!("{} must be a known, non-null value.", params[i].name),
            ));
        }
        f.call(args)
    }

    pub fn resource_schema(&self, type_name: &str) -> Option<&Schema> {
        self.resources.get(type_name).map(|(_, s, _)| s)
    }

    pub fn data_source_schema(&self, type_name: &str) -> Option<&Schema> {
        self.data_sources.get(type_name).map(|(_, s, _)| s)
    }

    /// The value type of a resource, computed once.
    pub fn resource_type(&self, type_name: &str) -> Option<&Type> {
        self.resources.get(type_name).map(|(_, _, t)| t)
    }

    /// The value type of a data source, computed once.
    pub fn data_source_type(&self, type_name: &str) -> Option<&Type> {
        self.data_sources.get(type_name).map(|(_, _, t)| t)
    }

    /// StopProvider: cancels every operation in flight. Later operations get a fresh token.
    pub fn stop(&self) {
        let mut guard = self.cancel.lock().unwrap_or_else(|p| p.into_inner());
        guard.cancel();
        *guard = CancellationToken::new();
    }

    fn context(&self) -> Result<Context<P::Data>, Diagnostics> {
        let (data, shared) = self
            .data
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Provider not configured",
                    "Terraform called the provider before configuring it.",
                ))
            })?;
        let token = self
            .cancel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .child_token();
        Ok(Context::with_shared(data, shared, token))
    }

    fn data(&self) -> Option<Arc<P::Data>> {
        self.data
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(d, _)| d.clone())
    }

    pub fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_config(
            &self.provider_schema.block,
            config,
            ClientCapabilities::default(),
        );
        guard_sync("ValidateProviderConfig", &mut diags, || {
            let mut d = Diagnostics::new();
            self.provider.validate(config, &mut d);
            d
        });
        Secrets::redact_in(&self.provider_schema.block, &[config], &mut diags);
        diags
    }

    pub async fn configure(&self, config: &Value) -> Diagnostics {
        // Values that were not known at validate time are now: their errors (the schema's
        // validators and cross-field rules) stop the configuration here.
        let mut diags: Diagnostics = validate_config(
            &self.provider_schema.block,
            config,
            ClientCapabilities::default(),
        )
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
        if diags.has_errors() {
            Secrets::redact_in(&self.provider_schema.block, &[config], &mut diags);
            return diags;
        }
        let configured = guard(
            "ConfigureProvider",
            self.provider.configure(config, &mut diags),
        )
        .await;
        match configured {
            Ok(Some(data)) => {
                *self.data.write().unwrap_or_else(|p| p.into_inner()) =
                    Some((Arc::new(data), Arc::new(Shared::default())));
            }
            Ok(None) => {}
            Err(d) => diags.extend(d),
        }
        Secrets::redact_in(&self.provider_schema.block, &[config], &mut diags);
        diags
    }

    pub fn validate_resource_config(
        &self,
        type_name: &str,
        config: &Value,
        caps: ClientCapabilities,
    ) -> Diagnostics {
        let Some((r, schema, _)) = self.resources.get(type_name) else {
            return unknown_type("resource", type_name);
        };
        let mut diags = validate_config(&schema.block, config, caps);
        guard_sync("ValidateResourceConfig", &mut diags, || {
            let mut d = Diagnostics::new();
            r.validate(&ValidateRequest { config }, &mut d);
            d
        });
        Secrets::redact_in(&schema.block, &[config], &mut diags);
        diags
    }

    pub fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let Some((ds, schema, _)) = self.data_sources.get(type_name) else {
            return unknown_type("data source", type_name);
        };
        let mut diags = validate_config(&schema.block, config, ClientCapabilities::default());
        guard_sync("ValidateDataResourceConfig", &mut diags, || {
            let mut d = Diagnostics::new();
            ds.validate(&ValidateRequest { config }, &mut d);
            d
        });
        Secrets::redact_in(&schema.block, &[config], &mut diags);
        diags
    }

    pub fn validate_ephemeral_resource_config(
        &self,
        type_name: &str,
        config: &Value,
    ) -> Diagnostics {
        let Some((e, schema, _)) = self.ephemeral_resources.get(type_name) else {
            return unknown_type("ephemeral resource", type_name);
        };
        let mut diags = validate_config(&schema.block, config, ClientCapabilities::default());
        guard_sync("ValidateEphemeralResourceConfig", &mut diags, || {
            let mut d = Diagnostics::new();
            e.validate(&ValidateRequest { config }, &mut d);
            d
        });
        Secrets::redact_in(&schema.block, &[config], &mut diags);
        diags
    }

    /// Opens an ephemeral resource. Its sensitive values never reach a diagnostic.
    pub async fn open_ephemeral_resource(
        &self,
        type_name: &str,
        config: Value,
    ) -> (Value, Diagnostics) {
        let Some((e, schema, _)) = self.ephemeral_resources.get(type_name) else {
            return (Value::Null, unknown_type("ephemeral resource", type_name));
        };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let (result, mut diags) =
            match guard("OpenEphemeralResource", e.open(&ctx, config.clone())).await {
                Ok(r) => r,
                Err(d) => (Value::Null, d),
            };
        Secrets::redact_in(&schema.block, &[&config, &result], &mut diags);
        (result, diags)
    }

    /// Upgrades stored JSON state written at `version` to the current schema and decodes it.
    pub fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
    ) -> (Value, Diagnostics) {
        let Some((r, schema, ty)) = self.resources.get(type_name) else {
            return (Value::Null, unknown_type("resource", type_name));
        };
        let mut json = raw_json.to_vec();
        if version > schema.version {
            return (
                Value::Null,
                Diagnostic::error(
                    "State written by a newer provider",
                    format!(
                        "The state of this {type_name} was written by schema version {version}, newer than \
                         this provider's version {}. Upgrade the provider.",
                        schema.version
                    ),
                )
                .into(),
            );
        }
        if version < schema.version {
            let parsed: serde_json::Value = match serde_json::from_slice(raw_json) {
                Ok(v) => v,
                Err(e) => {
                    return (
                        Value::Null,
                        Diagnostic::error(
                            "Unreadable state",
                            format!("The stored state is not valid JSON: {e}."),
                        )
                        .into(),
                    )
                }
            };
            let mut diags = Diagnostics::new();
            let upgraded = guard_sync_value("UpgradeResourceState", &mut diags, || {
                r.upgrade_state(version, parsed)
            });
            match upgraded {
                Some(Ok(v)) => json = serde_json::to_vec(&v).unwrap_or_default(),
                Some(Err(d)) => return (Value::Null, d),
                None => return (Value::Null, diags),
            }
        }
        match crate::value::decode_json(&json, ty) {
            Ok(v) => (normalize(&schema.block, v), Diagnostics::new()),
            Err(e) => (
                Value::Null,
                Diagnostic::error(
                    "Unreadable state",
                    format!("The stored state does not match the schema: {e}."),
                )
                .into(),
            ),
        }
    }

    pub async fn read_resource(
        &self,
        type_name: &str,
        state: Value,
        private: Vec<u8>,
    ) -> StateResponse {
        let Some((r, schema, _)) = self.resources.get(type_name) else {
            return failed_state(state, unknown_type("resource", type_name));
        };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return failed_state(state, d),
        };
        if state.is_null() {
            return failed_state(state, Diagnostics::new());
        }
        let fallback = state.clone();
        let secrets = Secrets::of(&schema.block, &[&state]);
        let mut resp =
            match guard("ReadResource", r.read(&ctx, ReadRequest { state, private })).await {
                Ok(res) => StateResponse {
                    state: res
                        .state
                        .map_or(Value::Null, |s| strip_write_only(&schema.block, s)),
                    private: res.private,
                    diagnostics: res.diagnostics,
                },
                Err(d) => failed_state(fallback, d),
            };
        secrets.redact(&mut resp.diagnostics);
        resp
    }

    pub fn plan_resource_change(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        prior_private: Vec<u8>,
    ) -> PlanResponse {
        let Some((r, schema, _)) = self.resources.get(type_name) else {
            return PlanResponse {
                planned: Value::Null,
                requires_replace: Vec::new(),
                planned_private: prior_private,
                diagnostics: unknown_type("resource", type_name),
            };
        };
        let data = self.data();
        // Destroy: the planned state is null; the resource may still warn.
        if proposed.is_null() {
            let mut resp = ModifyPlanResponse::new(Value::Null);
            let mut diags = Diagnostics::new();
            guard_sync("PlanResourceChange", &mut diags, || {
                r.modify_plan(
                    &ModifyPlanRequest {
                        config,
                        data: data.as_deref(),
                        prior_state: prior,
                    },
                    &mut resp,
                );
                Diagnostics::new()
            });
            diags.extend(resp.diagnostics);
            Secrets::redact_in(&schema.block, &[config, prior], &mut diags);
            return PlanResponse {
                planned: Value::Null,
                requires_replace: Vec::new(),
                planned_private: prior_private,
                diagnostics: diags,
            };
        }
        let pipeline = plan::plan(schema, prior, proposed, config);
        let mut resp = ModifyPlanResponse {
            planned: pipeline.planned,
            requires_replace: pipeline.requires_replace,
            diagnostics: pipeline.diagnostics,
        };
        let mut diags = Diagnostics::new();
        guard_sync("PlanResourceChange", &mut diags, || {
            r.modify_plan(
                &ModifyPlanRequest {
                    config,
                    data: data.as_deref(),
                    prior_state: prior,
                },
                &mut resp,
            );
            Diagnostics::new()
        });
        diags.extend(resp.diagnostics);
        Secrets::redact_in(&schema.block, &[config, prior], &mut diags);
        let mut requires_replace = Vec::new();
        if !prior.is_null() {
            let derived = plan::replaced_after(&schema.block, prior, &resp.planned);
            for p in resp.requires_replace.into_iter().chain(derived) {
                if !requires_replace.contains(&p) {
                    requires_replace.push(p);
                }
            }
        }
        PlanResponse {
            planned: resp.planned,
            requires_replace,
            planned_private: prior_private,
            diagnostics: diags,
        }
    }

    pub async fn apply_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        planned: Value,
        config: Value,
        planned_private: Vec<u8>,
    ) -> StateResponse {
        let Some((r, schema, _)) = self.resources.get(type_name) else {
            return failed_state(prior, unknown_type("resource", type_name));
        };
        // Errors from the remote side may quote what was sent.
        let secrets = Secrets::of(&schema.block, &[&config, &prior]);
        let mut resp = self
            .apply_unredacted(r.as_ref(), schema, prior, planned, config, planned_private)
            .await;
        secrets.redact(&mut resp.diagnostics);
        resp
    }

    async fn apply_unredacted(
        &self,
        r: &dyn Resource<P::Data>,
        schema: &Schema,
        prior: Value,
        planned: Value,
        config: Value,
        planned_private: Vec<u8>,
    ) -> StateResponse {
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return failed_state(prior, d),
        };
        if planned.is_null() {
            if prior.is_null() {
                return failed_state(Value::Null, Diagnostics::new());
            }
            let fallback = prior.clone();
            let req = DeleteRequest {
                prior_state: prior,
                prior_private: planned_private.clone(),
            };
            return match guard("ApplyResourceChange", r.delete(&ctx, req)).await {
                Ok(d) if d.has_errors() => StateResponse {
                    state: fallback,
                    private: planned_private,
                    diagnostics: d,
                },
                Ok(d) => StateResponse {
                    state: Value::Null,
                    private: Vec::new(),
                    diagnostics: d,
                },
                Err(d) => failed_state(fallback, d),
            };
        }
        let creating = prior.is_null();
        let fallback = prior.clone();
        let planned_copy = planned.clone();
        let result = if creating {
            guard(
                "ApplyResourceChange",
                r.create(&ctx, CreateRequest { config, planned }),
            )
            .await
        } else {
            let req = UpdateRequest {
                config,
                prior_state: prior,
                planned,
                prior_private: planned_private.clone(),
            };
            guard("ApplyResourceChange", r.update(&ctx, req)).await
        };
        let ApplyResult {
            state,
            private,
            mut diagnostics,
        } = match result {
            Ok(res) => res,
            Err(d) => return failed_state(fallback, d),
        };
        let state = strip_write_only(&schema.block, state);
        if !diagnostics.has_errors() && !state.is_null() {
            check_applied(&planned_copy, &state, &mut diagnostics);
        }
        if !state.is_fully_known() {
            diagnostics.error(
                "Provider returned unknown values after apply",
                format!(
                    "This is a bug in the provider's {}: every value must be known after apply.",
                    r.type_name()
                ),
            );
            return StateResponse {
                state: if creating { Value::Null } else { fallback },
                private,
                diagnostics,
            };
        }
        StateResponse {
            state,
            private,
            diagnostics,
        }
    }

    pub async fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> (Vec<Imported>, Diagnostics) {
        let Some((r, schema, _)) = self.resources.get(type_name) else {
            return (Vec::new(), unknown_type("resource", type_name));
        };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return (Vec::new(), d),
        };
        match guard("ImportResourceState", r.import(&ctx, id)).await {
            Ok(Ok(state)) => {
                let state = ObjectBuilder::from_value(&schema.block, &state).build();
                (
                    vec![Imported {
                        type_name: type_name.to_string(),
                        identity: self.identity_of(type_name, &state),
                        state,
                        private: Vec::new(),
                    }],
                    Diagnostics::new(),
                )
            }
            Ok(Err(d)) | Err(d) => (Vec::new(), d),
        }
    }

    pub async fn read_data_source(&self, type_name: &str, config: Value) -> (Value, Diagnostics) {
        let Some((ds, _, _)) = self.data_sources.get(type_name) else {
            return (Value::Null, unknown_type("data source", type_name));
        };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        match guard("ReadDataSource", ds.read(&ctx, config)).await {
            Ok(r) => r,
            Err(d) => (Value::Null, d),
        }
    }
}

fn failed_state(state: Value, diagnostics: Diagnostics) -> StateResponse {
    StateResponse {
        state,
        private: Vec::new(),
        diagnostics,
    }
}

/// Every known planned value must come back unchanged; catching a slip here gives a clearer
/// message than core's "inconsistent result after apply".
fn check_applied(planned: &Value, state: &Value, diags: &mut Diagnostics) {
    let (Some(p), Some(s)) = (planned.as_map(), state.as_map()) else {
        return;
    };
    for (name, pv) in p {
        if !pv.is_fully_known() {
            continue;
        }
        if s.get(name) != Some(pv) {
            diags.push(
                Diagnostic::error(
                    "Provider produced an inconsistent result",
                    format!("The applied value of {name} differs from the planned value. This is a bug in the provider."),
                )
                .at(AttributePath::root().attr(name)),
            );
        }
    }
}

/// Write-only attributes are never stored.
fn strip_write_only(block: &super::schema::Block, mut state: Value) -> Value {
    if let Value::Known(Known::Object(fields)) = &mut state {
        for a in block.attributes.iter().filter(|a| a.write_only) {
            fields.insert(a.name.clone(), Value::Null);
        }
    }
    state
}

/// Fills in attributes missing from decoded state so the object has exactly the schema's shape.
fn normalize(block: &super::schema::Block, v: Value) -> Value {
    if v.is_null() || has_shape(block, &v) {
        return v;
    }
    ObjectBuilder::from_value(block, &v).build()
}

/// Whether `v` is an object with exactly the attributes and blocks of `block` (as state
/// decoded against the block's type always is), so that normalizing would rebuild it as is.
fn has_shape(block: &super::schema::Block, v: &Value) -> bool {
    let Value::Known(Known::Object(fields)) = v else {
        return false;
    };
    fields.len() == block.attributes.len() + block.blocks.len()
        && block
            .attributes
            .iter()
            .all(|a| fields.contains_key(&a.name))
        && block
            .blocks
            .iter()
            .all(|b| fields.contains_key(&b.type_name))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

fn panic_diagnostic(rpc: &str, message: &str) -> Diagnostics {
    tracing::error!(rpc, panic = message, "provider panicked");
    Diagnostic::error(
        "Provider internal error",
        format!(
            "The provider hit an internal error during {rpc} and stopped this operation: {message}. \
             Please report this issue; state was left as it was before the operation."
        ),
    )
    .into()
}

/// Runs a future, turning a panic into an error diagnostic.
async fn guard<T>(rpc: &str, fut: impl Future<Output = T>) -> Result<T, Diagnostics> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|p| panic_diagnostic(rpc, &panic_message(p.as_ref())))
}

fn guard_sync(rpc: &str, diags: &mut Diagnostics, f: impl FnOnce() -> Diagnostics) {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(d) => diags.extend(d),
        Err(p) => diags.extend(panic_diagnostic(rpc, &panic_message(p.as_ref()))),
    }
}

fn guard_sync_value<T>(rpc: &str, diags: &mut Diagnostics, f: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(p) => {
            diags.extend(panic_diagnostic(rpc, &panic_message(p.as_ref())));
            None
        }
    }
}
