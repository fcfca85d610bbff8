//! `dataplatform_bi_service`: a BI tool deployed into the cluster and handed to its
//! controllers.
//!
//! Order: validation, plan, create/update (apply + rollout), read (drift), delete, import.
//! Engine wiring lives in [`engines`], object rendering in [`render`], drift in [`drift`].

pub mod engines;
pub mod model;
pub mod render;
pub mod schema;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::clients::kube::{Kube, KubeError, ObjectRef};
use crate::clients::rollout::{self, RolloutError};
use crate::conns::ProviderData;
use crate::framework::attr::{set, str_of};
use crate::framework::{
    timeouts, ApplyResult, Context, CreateRequest, DeleteRequest, Diagnostic, Diagnostics,
    ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResult, Resource, Schema,
    UpdateRequest, ValidateRequest,
};
use crate::resources::common::{LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN};
use crate::resources::kube_objects::{
    self, apply_all, fingerprints, kube_diag, prints_of, prints_value, read_all, with_prints, Live,
    Prints, ROLLOUT_FAILED,
};
use crate::value::{AttributePath, Value};

use engines::Engine;
use model::Spec;
use schema::DEFAULT_TIMEOUT;

pub struct BiService;

fn known_block(v: &Value, name: &str) -> Option<Value> {
    v.get_attr(name)
        .filter(|b| !b.is_null() && !b.is_unknown())
        .cloned()
}

/// The non-secret configuration, as JSON of the resource's own type, for the Deployment's
/// annotation (import reads it back).
fn config_annotation(planned: &Value) -> Option<String> {
    let mut v = planned.clone();
    if let Some(mut db) = known_block(&v, "database") {
        set(&mut db, "password", Value::Null);
        set(&mut db, "password_wo", Value::Null);
        set(&mut v, "database", db);
    }
    kube_objects::config_annotation(
        &v,
        &schema::schema(),
        &[
            "id",
            "effective_image",
            "url",
            "objects",
            "timeouts",
            "secrets",
        ],
    )
}

/// The objects to apply, or `None` while something is unknown.
fn desired(planned: &Value, password: Option<&str>) -> Option<(Spec, Vec<Json>)> {
    let spec = Spec::from_value(planned)?;
    let annotation = config_annotation(planned)?;
    let objects = render::objects(&spec, password, &annotation);
    Some((spec, objects))
}

fn password_of(planned: &Value, config: &Value) -> Option<String> {
    planned
        .get_attr("database")
        .and_then(|d| d.get_attr("password"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| model::password_wo(config))
}

fn check_engine(c: &Value, diags: &mut Diagnostics) {
    let Some(engine) = str_of(c, "engine").and_then(|e| Engine::parse(&e)) else {
        return;
    };
    let db = c.get_attr("database").filter(|d| !d.is_null());
    match db {
        None if engine.needs_database() => diags.attribute_error(
            AttributePath::root().attr("engine"),
            "Missing database",
            format!(
                "{} keeps its metadata in an external database: add a database block.",
                engine.name()
            ),
        ),
        Some(_) if !engine.supports_database() => diags.attribute_error(
            AttributePath::root().attr("database").attr("type"),
            "Unsupported database",
            format!(
                "{} has no application database: remove the database block.",
                engine.name()
            ),
        ),
        _ => {}
    }
    if let Some(d) = db.filter(|d| !d.is_unknown()) {
        if engine == Engine::Redash && str_of(d, "type").as_deref() == Some("mysql") {
            diags.attribute_error(
                AttributePath::root().attr("database").attr("type"),
                "Unsupported database type",
                "Redash stores its metadata in PostgreSQL only: use type = \"postgres\".",
            );
        }
        let given = |n: &str| d.get_attr(n).is_some_and(|v| !v.is_null());
        match (given("password"), given("password_wo")) {
            (true, true) => diags.attribute_error(
                AttributePath::root().attr("database").attr("password_wo"),
                "Conflicting arguments",
                "Set password or password_wo, not both.",
            ),
            (false, false) => diags.attribute_error(
                AttributePath::root().attr("database").attr("password"),
                "Missing database password",
                "Set password, or password_wo (with password_wo_version) on Terraform 1.11 and later.",
            ),
            _ => {}
        }
        if given("password_wo_version") && !given("password_wo") {
            diags.attribute_error(
                AttributePath::root()
                    .attr("database")
                    .attr("password_wo_version"),
                "Invalid argument",
                "password_wo_version only applies to password_wo.",
            );
        }
    }
    let (required, allowed) = engine.secret_keys();
    let secrets = c.get_attr("secrets").filter(|s| !s.is_null());
    if secrets.is_some_and(Value::is_unknown) {
        return;
    }
    let has = |n: &str| {
        secrets
            .and_then(|s| s.get_attr(n))
            .is_some_and(|v| !v.is_null())
    };
    for n in required {
        if !has(n) {
            diags.attribute_error(
                AttributePath::root().attr("secrets").attr(*n),
                "Missing engine secret",
                format!("{} needs secrets.{n}.", engine.name()),
            );
        }
    }
    for n in ["secret_key", "cookie_secret", "redis_url"] {
        if has(n) && !allowed.contains(&n) {
            diags.attribute_error(
                AttributePath::root().attr("secrets").attr(n),
                "Unused engine secret",
                format!("{} does not use secrets.{n}: remove it.", engine.name()),
            );
        }
    }
}

fn check_maps(c: &Value, diags: &mut Diagnostics) {
    if let Some(env) = c.get_attr("env").and_then(Value::as_map) {
        for bad in schema::env_names_valid(env.keys().cloned()) {
            diags.attribute_error(
                AttributePath::root().attr("env").key(&bad),
                "Invalid environment variable name",
                format!("{bad:?} is not a valid environment variable name (letters, digits, _, - and ., not starting with a digit)."),
            );
        }
    }
    let label_key = regex::Regex::new(LABEL_KEY_PATTERN).ok();
    let label_value = regex::Regex::new(LABEL_VALUE_PATTERN).ok();
    if let Some(labels) = c.get_attr("labels").and_then(Value::as_map) {
        for (k, v) in labels {
            if !label_key.as_ref().is_some_and(|r| r.is_match(k))
                || k.starts_with("app.kubernetes.io/")
            {
                diags.attribute_error(
                    AttributePath::root().attr("labels").key(k),
                    "Invalid label",
                    format!("{k:?} is not a label key this resource can set (a valid Kubernetes label key outside app.kubernetes.io/)."),
                );
            }
            if let Some(s) = v.as_str() {
                if !label_value.as_ref().is_some_and(|r| r.is_match(s)) {
                    diags.attribute_error(
                        AttributePath::root().attr("labels").key(k),
                        "Invalid label value",
                        format!("{s:?} is not a valid label value (up to 63 letters, digits, -, _ and ., starting and ending alphanumeric)."),
                    );
                }
            }
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for BiService {
    fn type_name(&self) -> &'static str {
        "dataplatform_bi_service"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        check_engine(req.config, diags);
        check_maps(req.config, diags);
    }

    fn modify_plan(
        &self,
        req: &ModifyPlanRequest<'_, ProviderData>,
        resp: &mut ModifyPlanResponse,
    ) {
        if req.config.is_null() {
            return;
        }
        let planned = &mut resp.planned;
        // The database port defaults by type.
        if let Some(mut db) = known_block(planned, "database") {
            if db
                .get_attr("port")
                .is_none_or(|p| p.is_null() || p.is_unknown())
            {
                let port = match str_of(&db, "type").as_deref() {
                    Some("mysql") => Value::number(3306i64),
                    Some("postgres") => Value::number(5432i64),
                    _ => Value::Unknown,
                };
                set(&mut db, "port", port);
                set(planned, "database", db);
            }
        }
        if let (Some(ns), Some(name)) = (str_of(planned, "namespace"), str_of(planned, "name")) {
            set(planned, "id", Value::string(format!("{ns}/{name}")));
        }
        match desired(planned, None) {
            Some((spec, objects)) => {
                set(planned, "effective_image", Value::string(spec.image()));
                set(planned, "url", Value::string(spec.url()));
                set(planned, "objects", prints_value(&fingerprints(&objects)));
            }
            None => {
                for a in ["effective_image", "url", "objects"] {
                    set(planned, a, Value::Unknown);
                }
            }
        }
    }

    async fn create(&self, ctx: &Context<ProviderData>, req: CreateRequest) -> ApplyResult {
        let timeout = timeouts::get(&req.planned, "create", DEFAULT_TIMEOUT);
        self.apply(
            ctx,
            &req.config,
            req.planned,
            &BTreeMap::new(),
            timeout,
            true,
        )
        .await
    }

    async fn update(&self, ctx: &Context<ProviderData>, req: UpdateRequest) -> ApplyResult {
        let timeout = timeouts::get(&req.planned, "update", DEFAULT_TIMEOUT);
        let prior = prints_of(&req.prior_state);
        self.apply(ctx, &req.config, req.planned, &prior, timeout, false)
            .await
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: ReadRequest) -> ReadResult {
        let data = ctx.data();
        let mut state = req.state;
        let cluster = str_of(&state, "cluster_name");
        let kube = match data
            .kube(cluster.as_deref(), &ctx.cancellation_token())
            .await
        {
            Ok(k) => k,
            Err(d) => {
                return ReadResult {
                    state: Some(state),
                    private: req.private,
                    diagnostics: d.into(),
                }
            }
        };
        if state.get_attr("engine").is_none_or(Value::is_null) {
            // Import: restore the configuration from the live objects.
            match imported_state(&kube, &state).await {
                Ok(Some(s)) => state = s,
                Ok(None) => return ReadResult::gone(),
                Err(e) => return failed_read(state, req.private, &e),
            }
        }
        let password = state
            .get_attr("database")
            .and_then(|d| d.get_attr("password"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some((spec, objects)) = desired(&state, password.as_deref()) else {
            return ReadResult::found(state, req.private);
        };
        let prints = match read_all(&kube, &objects, password.is_some(), &prints_of(&state)).await {
            Live::Found(p) => p,
            Live::Gone => {
                tracing::info!(namespace = %spec.namespace, name = %spec.name, "BI service is gone; removing it from state");
                return ReadResult::gone();
            }
            Live::Unreachable(d) | Live::Failed(d) => {
                return ReadResult {
                    state: Some(state),
                    private: req.private,
                    diagnostics: d.into(),
                }
            }
        };
        let mut state = with_prints(state, &prints);
        set(&mut state, "effective_image", Value::string(spec.image()));
        set(&mut state, "url", Value::string(spec.url()));
        ReadResult::found(state, req.private)
    }

    async fn delete(&self, ctx: &Context<ProviderData>, req: DeleteRequest) -> Diagnostics {
        kube_objects::delete_resource(ctx, &req.prior_state, DEFAULT_TIMEOUT).await
    }

    async fn import(&self, _: &Context<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        kube_objects::import_state(&schema::schema().block, id, "metabase/metabase")
    }
}

fn failed_read(state: Value, private: Vec<u8>, e: &KubeError) -> ReadResult {
    ReadResult {
        state: Some(state),
        private,
        diagnostics: kube_diag("Cannot read the BI service", e).into(),
    }
}

/// The state of an imported service, from the Deployment's configuration annotation and the
/// Secret. `None` when there is no such Deployment.
async fn imported_state(kube: &Kube, state: &Value) -> Result<Option<Value>, KubeError> {
    use base64::Engine as _;
    let (Some(ns), Some(name)) = (str_of(state, "namespace"), str_of(state, "name")) else {
        return Ok(None);
    };
    let deployment = ObjectRef {
        kind: "Deployment",
        api_version: "apps/v1",
        namespace: Some(ns.clone()),
        name: name.clone(),
    };
    let Some(live) = kube.get(&deployment).await? else {
        return Ok(None);
    };
    let mut restored = kube_objects::restore_config(&live, &schema::schema())?;
    // Credentials come back from the Secret.
    let secret = ObjectRef {
        kind: "Secret",
        api_version: "v1",
        namespace: Some(ns),
        name,
    };
    if let Some(s) = kube.get(&secret).await? {
        let get = |k: &str| {
            s.pointer(&format!("/data/{k}"))
                .and_then(Json::as_str)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
        };
        if let Some(mut db) = known_block(&restored, "database") {
            if db
                .get_attr("password_wo_version")
                .is_none_or(Value::is_null)
            {
                if let Some(p) = get("database-password").or_else(|| {
                    get("database-url")
                        .and_then(|u| url::Url::parse(&u).ok())
                        .and_then(|u| {
                            u.password().map(|p| {
                                url::form_urlencoded::parse(format!("p={p}").as_bytes())
                                    .next()
                                    .map(|(_, v)| v.into_owned())
                                    .unwrap_or_default()
                            })
                        })
                }) {
                    set(&mut db, "password", Value::string(p));
                }
            }
            set(&mut restored, "database", db);
        }
        let secrets: Vec<(&str, Option<String>)> = vec![
            ("secret_key", get("secret-key")),
            ("cookie_secret", get("cookie-secret")),
            ("redis_url", get("redis-url")),
        ];
        if secrets.iter().any(|(_, v)| v.is_some()) {
            set(
                &mut restored,
                "secrets",
                Value::object(
                    secrets
                        .into_iter()
                        .map(|(k, v)| (k, v.map_or(Value::Null, Value::string))),
                ),
            );
        }
    }
    set(
        &mut restored,
        "id",
        state.get_attr("id").cloned().unwrap_or(Value::Null),
    );
    Ok(Some(restored))
}

impl BiService {
    /// Applies the objects in order, deletes objects no longer wanted, and waits for the
    /// rollout. The returned state records what exists, whatever fails.
    async fn apply(
        &self,
        ctx: &Context<ProviderData>,
        config: &Value,
        planned: Value,
        prior_objects: &Prints,
        timeout: std::time::Duration,
        creating: bool,
    ) -> ApplyResult {
        let data = ctx.data();
        let password = password_of(&planned, config);
        let Some((spec, objects)) = desired(&planned, password.as_deref()) else {
            return ApplyResult::failed(
                if creating { Value::Null } else { planned },
                Diagnostic::error(
                    "Configuration not known",
                    "Some values are still unknown at apply time.",
                ),
            );
        };
        let kube = match data
            .kube(
                str_of(&planned, "cluster_name").as_deref(),
                &ctx.cancellation_token(),
            )
            .await
        {
            Ok(k) => k,
            Err(d) => {
                return ApplyResult::failed(
                    if creating {
                        Value::Null
                    } else {
                        with_prints(planned, prior_objects)
                    },
                    d,
                )
            }
        };
        tracing::info!(namespace = %spec.namespace, name = %spec.name, engine = spec.engine.name(), objects = objects.len(), "applying BI service");
        let mut recorded = match apply_all(&kube, &objects, prior_objects).await {
            Ok(r) => r,
            Err((recorded, d)) => {
                let state = if recorded.is_empty() {
                    Value::Null
                } else {
                    with_prints(planned, &recorded)
                };
                return ApplyResult::failed(state, d);
            }
        };
        let wait = planned
            .get_attr("wait_for_rollout")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if wait {
            let deployment = ObjectRef {
                kind: "Deployment",
                api_version: "apps/v1",
                namespace: Some(spec.namespace.clone()),
                name: spec.name.clone(),
            };
            if let Err(e) =
                rollout::wait(&kube, &deployment, timeout, &ctx.cancellation_token()).await
            {
                recorded.insert(deployment.key(), ROLLOUT_FAILED.to_string());
                let summary = match e {
                    RolloutError::Failed { .. } => "Rollout failed",
                    RolloutError::Timeout { .. } => "Rollout timed out",
                    _ => "Rollout not confirmed",
                };
                return ApplyResult::failed(
                    with_prints(planned, &recorded),
                    Diagnostic::error(summary, e.to_string()),
                );
            }
        }
        ApplyResult::ok(with_prints(planned, &recorded))
    }
}

#[cfg(test)]
mod tests;
