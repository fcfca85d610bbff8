//! `dataplatform_bi_service`: a BI tool deployed into the cluster and handed to its
//! controllers.
//!
//! What the resource adds to the shared Kubernetes lifecycle ([`KubeResource`]): validation,
//! the database port default, rendering, the rollout wait, and an import that takes the
//! credentials back from the Secret. Engine wiring lives in [`engines`], object rendering in
//! [`render`].

pub mod checks;
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
use crate::framework::{Diagnostic, Diagnostics, Field, FromValue, Merge, Partial, Schema};
use crate::resources::kube_objects::{self, KubeResource, Stage};
use crate::value::Value;

use engines::Engine;
use model::{stored_password, Spec};

pub struct BiService;

crate::model! {
    /// What the plan, a failed apply and import fill in or take out.
    #[derive(Clone)]
    struct Planned {
        engine: Field<String>,
        database: Field<Partial<DatabaseParts>>,
        secrets: Field<SecretsModel>,
        ingress: Field<Partial<HealthCheck>>,
    }
}

crate::model! {
    #[derive(Clone)]
    struct HealthCheck {
        health_check_path: Field<String>,
    }
}

crate::model! {
    /// The ingress arguments the configuration gives (the plan fills in the others).
    struct Given {
        ingress: Field<HealthCheck>,
    }
}

crate::model! {
    #[derive(Clone)]
    struct DatabaseParts {
        r#type: Field<String>,
        port: Field<i64>,
        password: Field<String>,
        password_wo: Field<String>,
        password_wo_version: Field<i64>,
    }
}

crate::model! {
    /// The engine secrets, as import reads them back from the Secret.
    #[derive(Clone)]
    struct SecretsModel {
        secret_key: Option<String>,
        cookie_secret: Option<String>,
        redis_url: Option<String>,
        encryption_key: Option<String>,
    }
}

/// The non-secret configuration, as JSON of the resource's own type, for the Deployment's
/// annotation (import reads it back).
fn config_annotation(planned: &Value) -> Option<String> {
    let mut v = planned.clone();
    let before = Planned::read(&v).ok()?;
    let mut without = before.clone();
    if let Field::Known(db) = &mut without.database {
        db.password = Field::Null;
        db.password_wo = Field::Null;
        without.merge_changes(&before, &mut v);
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
        let before = Planned::read(&restored).map_err(|_| {
            KubeError::Malformed("a dataplatform.io/config annotation of this provider version")
        })?;
        let mut model = before.clone();
        if let Field::Known(db) = &mut model.database {
            if db.password_wo_version.is_null() {
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
                    db.password = Field::Known(p);
                }
            }
        }
        let secrets = SecretsModel {
            secret_key: get("secret-key"),
            cookie_secret: get("cookie-secret"),
            redis_url: get("redis-url"),
            encryption_key: get("encryption-key"),
        };
        if secrets.secret_key.is_some()
            || secrets.cookie_secret.is_some()
            || secrets.redis_url.is_some()
            || secrets.encryption_key.is_some()
        {
            model.secrets = Field::Known(secrets);
        }
        model.merge_changes(&before, &mut restored);
    }
    Ok(restored)
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
        checks::check(config, diags);
        ingress::check_config(config, diags);
    }

    /// The database port defaults by type, the ALB health check path by engine.
    fn plan_defaults(&self, config: &Value, planned: &mut Value) {
        let Ok(before) = Planned::read(planned) else {
            return;
        };
        let mut plan = before.clone();
        // `ingress.health_check_path` left out is the engine's health endpoint, also when it
        // was set before: leaving it out goes back to the default.
        let given = Given::read(config)
            .ok()
            .and_then(|g| g.ingress.into_known());
        if let (Field::Known(ingress), Some(given)) = (&mut plan.ingress, given) {
            if given.health_check_path.is_null() {
                ingress.health_check_path = match plan.engine.known().and_then(|e| Engine::parse(e))
                {
                    Some(engine) => Field::Known(engine.health_path().to_string()),
                    None => Field::Unknown,
                };
            }
        }
        if let Field::Known(db) = &mut plan.database {
            if !matches!(db.port, Field::Known(_)) {
                db.port = match db.r#type.known().map(String::as_str) {
                    Some("mysql") => Field::Known(3306),
                    Some("postgres") => Field::Known(5432),
                    _ => Field::Unknown,
                };
            }
        }
        plan.merge_changes(&before, planned);
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
        let Ok(before) = Planned::read(state) else {
            return;
        };
        let mut next = before.clone();
        let Field::Known(db) = &mut next.database else {
            return;
        };
        db.password_wo_version = Planned::read(prior)
            .ok()
            .and_then(|p| p.database.into_known())
            .map_or(Field::Null, |d| d.password_wo_version.clone());
        next.merge_changes(&before, state);
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
