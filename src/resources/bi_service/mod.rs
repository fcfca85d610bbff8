//! `dataplatform_bi_service`: a BI tool deployed into the cluster and handed to its
//! controllers.
//!
//! What the resource adds to the shared Kubernetes lifecycle ([`KubeResource`]): validation,
//! the database port default, rendering, the rollout wait, and an import that takes the
//! credentials back from the Secret. Engine wiring lives in [`engines`], object rendering in
//! [`render`].

pub mod engines;
pub mod ingress;
pub mod model;
pub mod render;
pub mod schema;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::clients::kube::{Kube, KubeError, ObjectRef};
use crate::clients::rollout::{self, RolloutError};
use crate::framework::attr::{known_attr, set, str_of};
use crate::framework::{Diagnostic, Diagnostics, Schema};
use crate::resources::common::{LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN};
use crate::resources::kube_objects::{self, KubeResource, Stage};
use crate::value::{AttributePath, Value};

use engines::{Engine, Metrics};
use model::{stored_password, Spec};

pub struct BiService;

/// The non-secret configuration, as JSON of the resource's own type, for the Deployment's
/// annotation (import reads it back).
fn config_annotation(planned: &Value) -> Option<String> {
    let mut v = planned.clone();
    if let Some(mut db) = known_attr(&v, "database") {
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
    stored_password(planned).or_else(|| model::password_wo(config))
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
    }
    let monitored = c.get_attr("monitoring").is_some_and(|m| {
        !m.is_null() && m.get_attr("enabled").and_then(Value::as_bool) != Some(false)
    });
    if monitored && engine.metrics() == Metrics::NotServed {
        diags.push(
            Diagnostic::warning(
                "No metrics endpoint to scrape",
                format!(
                    "{} serves no Prometheus metrics: monitoring creates the PrometheusRule only \
                     (restarts, memory and CPU throttling, from kube-state-metrics and cAdvisor), \
                     and no ServiceMonitor.",
                    engine.name()
                ),
            )
            .at(AttributePath::root().attr("monitoring")),
        );
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
    for n in ["secret_key", "cookie_secret", "redis_url", "encryption_key"] {
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

/// The configuration of an imported service, from the Deployment's configuration annotation
/// and the Secret.
async fn restored(kube: &Kube, live: &Json, ns: &str, name: &str) -> Result<Value, KubeError> {
    use base64::Engine as _;
    let mut restored = kube_objects::restore_config(live, &schema::schema())?;
    // Credentials come back from the Secret.
    let secret = ObjectRef {
        kind: "Secret",
        api_version: "v1",
        namespace: Some(ns.to_string()),
        name: name.to_string(),
    };
    if let Some(s) = kube.get(&secret).await? {
        let get = |k: &str| {
            s.pointer(&format!("/data/{k}"))
                .and_then(Json::as_str)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
        };
        if let Some(mut db) = known_attr(&restored, "database") {
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
            ("encryption_key", get("encryption-key")),
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
    Ok(restored)
}

/// `ingress.health_check_path` left out is the engine's health endpoint, also when it was set
/// before: leaving it out goes back to the default.
fn health_check_default(config: &Value, planned: &mut Value) {
    let (Some(mut ingress), Some(configured)) = (
        known_attr(planned, "ingress"),
        known_attr(config, "ingress"),
    ) else {
        return;
    };
    if configured
        .get_attr("health_check_path")
        .is_some_and(|p| !p.is_null())
    {
        return;
    }
    let path = match str_of(planned, "engine").and_then(|e| Engine::parse(&e)) {
        Some(engine) => Value::string(engine.health_path()),
        None => Value::Unknown,
    };
    set(&mut ingress, "health_check_path", path);
    set(planned, "ingress", ingress);
}

fn deployment(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: "Deployment",
        api_version: "apps/v1",
        namespace: Some(namespace.to_string()),
        name: name.to_string(),
    }
}

#[async_trait]
impl KubeResource for BiService {
    type Spec = Spec;

    const TYPE_NAME: &'static str = "dataplatform_bi_service";
    const NOUN: &'static str = "BI service";
    const REQUIRED_ATTRIBUTE: &'static str = "engine";
    const IMPORT_EXAMPLE: &'static str = "metabase/metabase";
    const IMPORT_FAILED: &'static str = "Cannot read the BI service";
    const OUTPUTS: &'static [&'static str] = &["effective_image", "url"];
    const DEFAULT_TIMEOUT: Duration = schema::DEFAULT_TIMEOUT;

    fn resource_schema(&self) -> Schema {
        schema::schema()
    }

    fn check_config(&self, config: &Value, diags: &mut Diagnostics) {
        check_engine(config, diags);
        check_maps(config, diags);
        ingress::check_config(config, diags);
    }

    /// The database port defaults by type, the ALB health check path by engine.
    fn plan_defaults(&self, config: &Value, planned: &mut Value) {
        health_check_default(config, planned);
        let Some(mut db) = known_attr(planned, "database") else {
            return;
        };
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

    /// The plan renders without the password: fingerprints never depend on secrets.
    fn render(&self, value: &Value, stage: Stage<'_>) -> Option<(Spec, Vec<Json>)> {
        let password = match stage {
            Stage::Plan => None,
            Stage::Apply { config } => password_of(value, config),
            Stage::Read => stored_password(value),
        };
        desired(value, password.as_deref())
    }

    fn outputs(&self, spec: &Spec) -> Vec<(&'static str, Value)> {
        vec![
            ("effective_image", Value::string(spec.image())),
            ("url", Value::string(spec.url())),
        ]
    }

    /// A write-only password is not in state: the Secret keys made from it cannot be
    /// compared; the others still show drift.
    fn unknown_secret_keys(&self, state: &Value) -> &'static [&'static str] {
        if stored_password(state).is_some() {
            &[]
        } else {
            &["database-password", "database-url"]
        }
    }

    /// A new `password_wo` that may not have reached the cluster is sent again by the next
    /// apply: the state keeps the version last applied.
    fn after_failed_apply(&self, prior: &Value, state: &mut Value) {
        let Some(mut db) = known_attr(state, "database") else {
            return;
        };
        let version = known_attr(prior, "database")
            .and_then(|d| d.get_attr("password_wo_version").cloned())
            .unwrap_or(Value::Null);
        set(&mut db, "password_wo_version", version);
        set(state, "database", db);
    }

    fn import_anchor(&self, namespace: &str, name: &str) -> ObjectRef {
        deployment(namespace, name)
    }

    async fn restore(
        &self,
        kube: &Kube,
        anchor: &Json,
        namespace: &str,
        name: &str,
    ) -> Result<Value, KubeError> {
        restored(kube, anchor, namespace, name).await
    }

    async fn settle(
        &self,
        kube: &Kube,
        spec: &Spec,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), (ObjectRef, Diagnostic)> {
        if !spec.wait_for_rollout {
            return Ok(());
        }
        let deployment = deployment(&spec.namespace, &spec.name);
        rollout::wait(kube, &deployment, timeout, cancel)
            .await
            .map_err(|e| {
                let summary = match e {
                    RolloutError::Failed { .. } => "Rollout failed",
                    RolloutError::Timeout { .. } => "Rollout timed out",
                    _ => "Rollout not confirmed",
                };
                (
                    deployment.clone(),
                    Diagnostic::error(summary, e.to_string()),
                )
            })
    }
}

// What the tests use besides the resource itself.
#[cfg(test)]
use crate::resources::kube_objects::fingerprints;

#[cfg(test)]
mod tests;
