//! The tfplugin6 `Provider` service: each handler decodes, calls the framework, encodes.
//! User errors travel as diagnostics, never as gRPC status errors.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::framework::{Diagnostic, Diagnostics, FunctionError, Provider, ProviderServer};
use crate::value::{Type, Value};

use super::convert;
use super::generated::tfplugin6 as pb;
use pb::provider_server::Provider as ProviderRpc;

/// Serves a framework provider over tfplugin6.
pub struct ProviderService<P: Provider> {
    server: Arc<ProviderServer<P>>,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(server: Arc<ProviderServer<P>>) -> Self {
        ProviderService { server }
    }

    fn resource_type(&self, name: &str) -> Result<&Type, Diagnostics> {
        self.server
            .resource_type(name)
            .ok_or_else(|| unknown("resource", name))
    }

    fn functions(&self) -> std::collections::HashMap<String, pb::Function> {
        self.server
            .functions()
            .map(|f| (f.name().to_string(), convert::function(f)))
            .collect()
    }

    /// An identity on the wire; `None` when there is none or it cannot be encoded (then with
    /// a diagnostic).
    fn identity_data(
        &self,
        type_name: &str,
        identity: Option<Value>,
        diags: &mut Diagnostics,
    ) -> Option<pb::ResourceIdentityData> {
        let identity = identity?;
        let ty = self.server.identity_type(type_name)?;
        match convert::encode(&identity, ty, "identity") {
            Ok(v) => Some(pb::ResourceIdentityData {
                identity_data: Some(v),
            }),
            Err(d) => {
                diags.extend(d);
                None
            }
        }
    }

    /// The identity of a state on the wire, when the resource has one.
    fn identity_of(
        &self,
        type_name: &str,
        state: &Value,
        diags: &mut Diagnostics,
    ) -> Option<pb::ResourceIdentityData> {
        let identity = self.server.identity_of(type_name, state);
        self.identity_data(type_name, identity, diags)
    }

    fn ephemeral_resource_type(&self, name: &str) -> Result<&Type, Diagnostics> {
        self.server
            .ephemeral_resource_type(name)
            .ok_or_else(|| unknown("ephemeral resource", name))
    }

    fn data_source_type(&self, name: &str) -> Result<&Type, Diagnostics> {
        self.server
            .data_source_type(name)
            .ok_or_else(|| unknown("data source", name))
    }
}

fn unknown(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {name:?}."),
    )
    .into()
}

fn unsupported(what: &str, name: &str) -> Vec<pb::Diagnostic> {
    convert::diagnostics(
        Diagnostic::error(
            format!("Unsupported {what}"),
            format!("This provider has no {what} named {name:?}."),
        )
        .into(),
    )
}

fn ok<T>(t: T) -> Result<Response<T>, Status> {
    Ok(Response::new(t))
}

type Rpc<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn one<T: Send + 'static>(item: T) -> BoxStream<T> {
    Box::pin(futures::stream::once(async move { Ok(item) }))
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: true,
        generate_resource_config: true,
    }
}

#[tonic::async_trait]
impl<P: Provider> ProviderRpc for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Rpc<pb::get_metadata::Response> {
        ok(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .server
                .resource_schemas()
                .map(|(n, _)| pb::get_metadata::ResourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            data_sources: self
                .server
                .data_source_schemas()
                .map(|(n, _)| pb::get_metadata::DataSourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            functions: self
                .server
                .functions()
                .map(|f| pb::get_metadata::FunctionMetadata {
                    name: f.name().to_string(),
                })
                .collect(),
            ephemeral_resources: self
                .server
                .ephemeral_resource_schemas()
                .map(|(n, _)| pb::get_metadata::EphemeralMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            list_resources: self
                .server
                .list_resource_schemas()
                .map(|(n, _)| pb::get_metadata::ListResourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            ..Default::default()
        })
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Rpc<pb::get_provider_schema::Response> {
        ok(pb::get_provider_schema::Response {
            provider: Some(convert::schema(self.server.provider_schema())),
            resource_schemas: self
                .server
                .resource_schemas()
                .map(|(n, s)| (n.to_string(), convert::schema(s)))
                .collect(),
            data_source_schemas: self
                .server
                .data_source_schemas()
                .map(|(n, s)| (n.to_string(), convert::schema(s)))
                .collect(),
            ephemeral_resource_schemas: self
                .server
                .ephemeral_resource_schemas()
                .map(|(n, s)| (n.to_string(), convert::schema(s)))
                .collect(),
            list_resource_schemas: self
                .server
                .list_resource_schemas()
                .map(|(n, s)| (n.to_string(), convert::schema(s)))
                .collect(),
            server_capabilities: Some(capabilities()),
            functions: self.functions(),
            ..Default::default()
        })
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Rpc<pb::validate_provider_config::Response> {
        let ty = self.server.provider_type();
        let diags =
            match convert::decode(req.get_ref().config.as_ref(), ty, "provider configuration") {
                Ok(config) => self.server.validate_provider_config(&config),
                Err(d) => d,
            };
        ok(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        let r = req.into_inner();
        let diags = self
            .resource_type(&r.type_name)
            .and_then(|ty| convert::decode(r.config.as_ref(), ty, "resource configuration"))
            .map(|config| {
                self.server.validate_resource_config(
                    &r.type_name,
                    &config,
                    convert::capabilities(r.client_capabilities.as_ref()),
                )
            })
            .unwrap_or_else(|d| d);
        ok(pb::validate_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Rpc<pb::validate_data_resource_config::Response> {
        let r = req.into_inner();
        let diags = self
            .data_source_type(&r.type_name)
            .and_then(|ty| convert::decode(r.config.as_ref(), ty, "data source configuration"))
            .map(|config| {
                self.server
                    .validate_data_source_config(&r.type_name, &config)
            })
            .unwrap_or_else(|d| d);
        ok(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Rpc<pb::upgrade_resource_state::Response> {
        let r = req.into_inner();
        let ty = match self.resource_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => {
                return ok(pb::upgrade_resource_state::Response {
                    upgraded_state: None,
                    diagnostics: convert::diagnostics(d),
                })
            }
        };
        let raw = r.raw_state.unwrap_or_default();
        if raw.json.is_empty() && !raw.flatmap.is_empty() {
            let d = Diagnostic::error(
                "Unsupported state format",
                "The stored state uses the flatmap format of Terraform 0.11, which this provider never wrote.",
            );
            return ok(pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: convert::diagnostics(d.into()),
            });
        }
        let (state, mut diags) = if raw.json.is_empty() {
            (Value::Null, Diagnostics::new())
        } else {
            self.server
                .upgrade_resource_state(&r.type_name, r.version, &raw.json)
        };
        let upgraded_state = match convert::encode(&state, ty, "upgraded state") {
            Ok(v) => Some(v),
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        ok(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Rpc<pb::get_resource_identity_schemas::Response> {
        ok(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .server
                .identity_schemas()
                .map(|(n, s)| (n.to_string(), convert::identity_schema(s)))
                .collect(),
            diagnostics: Vec::new(),
        })
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Rpc<pb::upgrade_resource_identity::Response> {
        let r = req.into_inner();
        let raw = r.raw_identity.unwrap_or_default();
        let (identity, mut diags) =
            self.server
                .upgrade_identity(&r.type_name, r.version, &raw.json);
        let upgraded_identity = if diags.has_errors() {
            None
        } else {
            self.identity_data(&r.type_name, Some(identity), &mut diags)
        };
        ok(pb::upgrade_resource_identity::Response {
            upgraded_identity,
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Rpc<pb::configure_provider::Response> {
        let r = req.into_inner();
        tracing::info!(terraform_version = %r.terraform_version, "configuring provider");
        let ty = self.server.provider_type();
        let diags = match convert::decode(r.config.as_ref(), ty, "provider configuration") {
            Ok(config) => self.server.configure(&config).await,
            Err(d) => d,
        };
        ok(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Rpc<pb::read_resource::Response> {
        let r = req.into_inner();
        let fail = |d: Diagnostics, state: Option<pb::DynamicValue>, private: Vec<u8>| {
            ok(pb::read_resource::Response {
                new_state: state,
                diagnostics: convert::diagnostics(d),
                private,
                ..Default::default()
            })
        };
        let ty = match self.resource_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => return fail(d, r.current_state, r.private),
        };
        let state = match convert::decode(r.current_state.as_ref(), ty, "state") {
            Ok(s) => s,
            Err(d) => return fail(d, r.current_state, r.private),
        };
        let out = self
            .server
            .read_resource(&r.type_name, state, r.private.clone())
            .await;
        let mut diags = out.diagnostics;
        let new_identity = self.identity_of(&r.type_name, &out.state, &mut diags);
        let new_state = match convert::encode(&out.state, ty, "state") {
            Ok(v) => Some(v),
            Err(d) => {
                diags.extend(d);
                r.current_state
            }
        };
        ok(pb::read_resource::Response {
            new_state,
            diagnostics: convert::diagnostics(diags),
            private: out.private,
            new_identity,
            ..Default::default()
        })
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        let r = req.into_inner();
        let fail = |d: Diagnostics| {
            ok(pb::plan_resource_change::Response {
                diagnostics: convert::diagnostics(d),
                ..Default::default()
            })
        };
        let ty = match self.resource_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => return fail(d),
        };
        let decoded =
            convert::decode(r.prior_state.as_ref(), ty, "prior state").and_then(|prior| {
                let proposed =
                    convert::decode(r.proposed_new_state.as_ref(), ty, "proposed new state")?;
                let config = convert::decode(r.config.as_ref(), ty, "configuration")?;
                Ok((prior, proposed, config))
            });
        let (prior, proposed, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d),
        };
        let out = self.server.plan_resource_change(
            &r.type_name,
            &prior,
            &proposed,
            &config,
            r.prior_private,
        );
        let mut diags = out.diagnostics;
        let planned_identity = self.identity_of(&r.type_name, &out.planned, &mut diags);
        let planned_state = match convert::encode(&out.planned, ty, "planned state") {
            Ok(v) => Some(v),
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        ok(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: out.requires_replace.iter().map(convert::path).collect(),
            planned_private: out.planned_private,
            diagnostics: convert::diagnostics(diags),
            legacy_type_system: false,
            planned_identity,
            ..Default::default()
        })
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        let r = req.into_inner();
        let fail = |d: Diagnostics, state: Option<pb::DynamicValue>| {
            ok(pb::apply_resource_change::Response {
                new_state: state,
                diagnostics: convert::diagnostics(d),
                ..Default::default()
            })
        };
        let ty = match self.resource_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => return fail(d, r.prior_state),
        };
        let decoded =
            convert::decode(r.prior_state.as_ref(), ty, "prior state").and_then(|prior| {
                let planned = convert::decode(r.planned_state.as_ref(), ty, "planned state")?;
                let config = convert::decode(r.config.as_ref(), ty, "configuration")?;
                Ok((prior, planned, config))
            });
        let (prior, planned, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d, r.prior_state),
        };
        let out = self
            .server
            .apply_resource_change(&r.type_name, prior, planned, config, r.planned_private)
            .await;
        let mut diags = out.diagnostics;
        let new_identity = self.identity_of(&r.type_name, &out.state, &mut diags);
        let new_state = match convert::encode(&out.state, ty, "new state") {
            Ok(v) => Some(v),
            Err(d) => {
                diags.extend(d);
                r.prior_state
            }
        };
        ok(pb::apply_resource_change::Response {
            new_state,
            private: out.private,
            diagnostics: convert::diagnostics(diags),
            legacy_type_system: false,
            new_identity,
        })
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        let r = req.into_inner();
        let by_identity = r.identity.as_ref().and_then(|i| i.identity_data.as_ref());
        let (imported, mut diags) = match (by_identity, self.server.identity_type(&r.type_name)) {
            (Some(data), Some(ty)) => match convert::decode(Some(data), ty, "identity") {
                Ok(identity) => {
                    self.server
                        .import_by_identity(&r.type_name, &identity)
                        .await
                }
                Err(d) => (Vec::new(), d),
            },
            _ => self.server.import_resource_state(&r.type_name, &r.id).await,
        };
        let mut imported_resources = Vec::new();
        for i in imported {
            let encoded = self
                .resource_type(&i.type_name)
                .and_then(|ty| convert::encode(&i.state, ty, "imported state"));
            match encoded {
                Ok(state) => {
                    let identity = self.identity_data(&i.type_name, i.identity, &mut diags);
                    imported_resources.push(pb::import_resource_state::ImportedResource {
                        type_name: i.type_name,
                        state: Some(state),
                        private: i.private,
                        identity,
                    })
                }
                Err(d) => diags.extend(d),
            }
        }
        ok(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        })
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Rpc<pb::move_resource_state::Response> {
        let r = req.into_inner();
        let fail = |d: Diagnostics| {
            ok(pb::move_resource_state::Response {
                diagnostics: convert::diagnostics(d),
                ..Default::default()
            })
        };
        let ty = match self.resource_type(&r.target_type_name) {
            Ok(t) => t,
            Err(d) => return fail(d),
        };
        let raw = r.source_state.map(|s| s.json).unwrap_or_default();
        let source_state: serde_json::Value = match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(e) => {
                return fail(
                    Diagnostic::error(
                        "Unreadable source state",
                        format!(
                            "The state of {} to move is not valid JSON: {e}.",
                            r.source_type_name
                        ),
                    )
                    .into(),
                )
            }
        };
        let source = crate::framework::MoveSource {
            provider_address: &r.source_provider_address,
            type_name: &r.source_type_name,
            schema_version: r.source_schema_version,
            state: &source_state,
        };
        let (state, identity, mut diags) = self
            .server
            .move_resource_state(&r.target_type_name, &source);
        if diags.has_errors() {
            return fail(diags);
        }
        let target_identity = self.identity_data(&r.target_type_name, identity, &mut diags);
        let target_state = match convert::encode(&state, ty, "moved state") {
            Ok(v) => Some(v),
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        ok(pb::move_resource_state::Response {
            target_state,
            diagnostics: convert::diagnostics(diags),
            target_private: Vec::new(),
            target_identity,
        })
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Rpc<pb::read_data_source::Response> {
        let r = req.into_inner();
        let ty = match self.data_source_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => {
                return ok(pb::read_data_source::Response {
                    diagnostics: convert::diagnostics(d),
                    ..Default::default()
                })
            }
        };
        let (state, mut diags) = match convert::decode(r.config.as_ref(), ty, "configuration") {
            Ok(config) => self.server.read_data_source(&r.type_name, config).await,
            Err(d) => (Value::Null, d),
        };
        let state = if diags.has_errors() {
            None
        } else {
            match convert::encode(&state, ty, "data source state") {
                Ok(v) => Some(v),
                Err(d) => {
                    diags.extend(d);
                    None
                }
            }
        };
        ok(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        })
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> Rpc<pb::generate_resource_config::Response> {
        let r = req.into_inner();
        let ty = match self.resource_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => {
                return ok(pb::generate_resource_config::Response {
                    config: None,
                    diagnostics: convert::diagnostics(d),
                })
            }
        };
        let (config, mut diags) = match convert::decode(r.state.as_ref(), ty, "state") {
            Ok(state) => self.server.generate_resource_config(&r.type_name, &state),
            Err(d) => (Value::Null, d),
        };
        let config = if diags.has_errors() {
            None
        } else {
            match convert::encode(&config, ty, "generated configuration") {
                Ok(v) => Some(v),
                Err(d) => {
                    diags.extend(d);
                    None
                }
            }
        };
        ok(pb::generate_resource_config::Response {
            config,
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<pb::validate_ephemeral_resource_config::Response> {
        let r = req.into_inner();
        let diags = self
            .ephemeral_resource_type(&r.type_name)
            .and_then(|ty| {
                convert::decode(r.config.as_ref(), ty, "ephemeral resource configuration")
            })
            .map(|config| {
                self.server
                    .validate_ephemeral_resource_config(&r.type_name, &config)
            })
            .unwrap_or_else(|d| d);
        ok(pb::validate_ephemeral_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Rpc<pb::open_ephemeral_resource::Response> {
        let r = req.into_inner();
        let ty = match self.ephemeral_resource_type(&r.type_name) {
            Ok(t) => t,
            Err(d) => {
                return ok(pb::open_ephemeral_resource::Response {
                    diagnostics: convert::diagnostics(d),
                    ..Default::default()
                })
            }
        };
        let (result, mut diags) = match convert::decode(r.config.as_ref(), ty, "configuration") {
            Ok(config) => {
                self.server
                    .open_ephemeral_resource(&r.type_name, config)
                    .await
            }
            Err(d) => (Value::Null, d),
        };
        let result = if diags.has_errors() {
            None
        } else {
            match convert::encode(&result, ty, "ephemeral resource result") {
                Ok(v) => Some(v),
                Err(d) => {
                    diags.extend(d);
                    None
                }
            }
        };
        ok(pb::open_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(diags),
            result,
            // Nothing to renew: the values stay valid for the length of a run.
            renew_at: None,
            private: None,
            deferred: None,
        })
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Rpc<pb::renew_ephemeral_resource::Response> {
        // Core renews only what asked for it (renew_at), which nothing here does.
        let name = &req.get_ref().type_name;
        let diagnostics = if self.server.ephemeral_resource_type(name).is_some() {
            Vec::new()
        } else {
            unsupported("ephemeral resource type", name)
        };
        ok(pb::renew_ephemeral_resource::Response {
            diagnostics,
            ..Default::default()
        })
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Rpc<pb::close_ephemeral_resource::Response> {
        // What was opened holds nothing that needs releasing.
        let name = &req.get_ref().type_name;
        let diagnostics = if self.server.ephemeral_resource_type(name).is_some() {
            Vec::new()
        } else {
            unsupported("ephemeral resource type", name)
        };
        ok(pb::close_ephemeral_resource::Response { diagnostics })
    }

    type ListResourceStream = BoxStream<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> Rpc<Self::ListResourceStream> {
        let r = req.into_inner();
        let Some(ty) = self.server.list_resource_type(&r.type_name) else {
            return ok(one(pb::list_resource::Event {
                diagnostic: unsupported("list resource type", &r.type_name),
                ..Default::default()
            }));
        };
        let (found, mut diags) = match convert::decode(r.config.as_ref(), ty, "list configuration")
        {
            Ok(config) => {
                let limit = usize::try_from(r.limit.max(0)).unwrap_or(usize::MAX);
                self.server
                    .list_resource(&r.type_name, config, r.include_resource_object, limit)
                    .await
            }
            Err(d) => (Vec::new(), d),
        };
        let mut events = Vec::new();
        for f in found {
            let identity = self.identity_data(&r.type_name, Some(f.identity), &mut diags);
            let resource_object = match (f.state, self.server.resource_type(&r.type_name)) {
                (Some(state), Some(rty)) => match convert::encode(&state, rty, "listed state") {
                    Ok(v) => Some(v),
                    Err(d) => {
                        diags.extend(d);
                        None
                    }
                },
                _ => None,
            };
            events.push(pb::list_resource::Event {
                identity,
                display_name: f.display_name,
                resource_object,
                diagnostic: Vec::new(),
            });
        }
        // Warnings and errors travel in an event of their own, after the objects found.
        if !diags.is_empty() {
            events.push(pb::list_resource::Event {
                diagnostic: convert::diagnostics(diags),
                ..Default::default()
            });
        }
        ok(Box::pin(futures::stream::iter(events.into_iter().map(Ok))))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> Rpc<pb::validate_list_resource_config::Response> {
        let r = req.into_inner();
        let diags = match self.server.list_resource_type(&r.type_name) {
            None => unknown("list resource", &r.type_name),
            Some(ty) => match convert::decode(r.config.as_ref(), ty, "list configuration") {
                Ok(config) => self
                    .server
                    .validate_list_resource_config(&r.type_name, &config),
                Err(d) => d,
            },
        };
        ok(pb::validate_list_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        })
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Rpc<pb::get_functions::Response> {
        ok(pb::get_functions::Response {
            functions: self.functions(),
            diagnostics: Vec::new(),
        })
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Rpc<pb::call_function::Response> {
        let r = req.into_inner();
        let failed = |e: FunctionError| pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: e.text,
                function_argument: e.argument.and_then(|i| i64::try_from(i).ok()),
            }),
        };
        let Some(f) = self.server.function(&r.name) else {
            return ok(failed(FunctionError {
                text: format!("This provider has no function named {:?}.", r.name),
                argument: None,
            }));
        };
        let params = f.parameters();
        if r.arguments.len() != params.len() {
            return ok(failed(FunctionError {
                text: format!(
                    "{} takes {} argument(s), got {}.",
                    r.name,
                    params.len(),
                    r.arguments.len()
                ),
                argument: None,
            }));
        }
        let mut args = Vec::with_capacity(params.len());
        for (i, (dv, p)) in r.arguments.iter().zip(params).enumerate() {
            match convert::decode(Some(dv), &p.ty, "function argument") {
                Ok(v) => args.push(v),
                Err(d) => {
                    let text = d
                        .into_iter()
                        .map(|d| d.detail)
                        .collect::<Vec<_>>()
                        .join(" ");
                    return ok(failed(FunctionError::argument(i, text)));
                }
            }
        }
        let ret = f.return_type();
        let response = match self.server.call_function(&r.name, &args) {
            Ok(v) => match convert::encode(&v, &ret, "function result") {
                Ok(dv) => pb::call_function::Response {
                    result: Some(dv),
                    error: None,
                },
                Err(d) => failed(FunctionError {
                    text: d
                        .into_iter()
                        .map(|d| d.detail)
                        .collect::<Vec<_>>()
                        .join(" "),
                    argument: None,
                }),
            },
            Err(e) => failed(e),
        };
        ok(response)
    }

    async fn validate_state_store_config(
        &self,
        req: Request<pb::validate_state_store::Request>,
    ) -> Rpc<pb::validate_state_store::Response> {
        ok(pb::validate_state_store::Response {
            diagnostics: unsupported("state store", &req.get_ref().type_name),
        })
    }

    async fn configure_state_store(
        &self,
        req: Request<pb::configure_state_store::Request>,
    ) -> Rpc<pb::configure_state_store::Response> {
        ok(pb::configure_state_store::Response {
            diagnostics: unsupported("state store", &req.get_ref().type_name),
            capabilities: None,
        })
    }

    type ReadStateBytesStream = BoxStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        req: Request<pb::read_state_bytes::Request>,
    ) -> Rpc<Self::ReadStateBytesStream> {
        ok(one(pb::read_state_bytes::Response {
            diagnostics: unsupported("state store", &req.get_ref().type_name),
            ..Default::default()
        }))
    }

    async fn write_state_bytes(
        &self,
        req: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Rpc<pb::write_state_bytes::Response> {
        let mut stream = req.into_inner();
        let mut name = String::new();
        // Drain what the client sends, bounded by the stream itself, then refuse.
        while let Ok(Some(chunk)) = stream.message().await {
            if let Some(meta) = chunk.meta {
                name = meta.type_name;
            }
        }
        ok(pb::write_state_bytes::Response {
            diagnostics: unsupported("state store", &name),
        })
    }

    async fn lock_state(
        &self,
        req: Request<pb::lock_state::Request>,
    ) -> Rpc<pb::lock_state::Response> {
        ok(pb::lock_state::Response {
            lock_id: String::new(),
            diagnostics: unsupported("state store", &req.get_ref().type_name),
        })
    }

    async fn unlock_state(
        &self,
        req: Request<pb::unlock_state::Request>,
    ) -> Rpc<pb::unlock_state::Response> {
        ok(pb::unlock_state::Response {
            diagnostics: unsupported("state store", &req.get_ref().type_name),
        })
    }

    async fn get_states(
        &self,
        req: Request<pb::get_states::Request>,
    ) -> Rpc<pb::get_states::Response> {
        ok(pb::get_states::Response {
            state_id: Vec::new(),
            diagnostics: unsupported("state store", &req.get_ref().type_name),
        })
    }

    async fn delete_state(
        &self,
        req: Request<pb::delete_state::Request>,
    ) -> Rpc<pb::delete_state::Response> {
        ok(pb::delete_state::Response {
            diagnostics: unsupported("state store", &req.get_ref().type_name),
        })
    }

    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> Rpc<pb::plan_action::Response> {
        ok(pb::plan_action::Response {
            diagnostics: unsupported("action", &req.get_ref().action_type),
            deferred: None,
        })
    }

    type InvokeActionStream = BoxStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> Rpc<Self::InvokeActionStream> {
        use pb::invoke_action::event;
        ok(one(pb::invoke_action::Event {
            r#type: Some(event::Type::Completed(event::Completed {
                diagnostics: unsupported("action", &req.get_ref().action_type),
            })),
        }))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> Rpc<pb::validate_action_config::Response> {
        ok(pb::validate_action_config::Response {
            diagnostics: unsupported("action", &req.get_ref().type_name),
        })
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Rpc<pb::stop_provider::Response> {
        tracing::info!("StopProvider: cancelling operations in flight");
        self.server.stop();
        ok(pb::stop_provider::Response {
            error: String::new(),
        })
    }
}
