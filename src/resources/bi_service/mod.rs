//! `dataplatform_bi_service`: a BI tool deployed into the cluster and handed to its
//! controllers.
//!
//! What the resource adds to the shared Kubernetes lifecycle ([`KubeResource`]): validation,
//! the database port default, rendering, the rollout wait, and an import that takes the
//! credentials back from the Secret. Engine wiring lives in [`engines`], object rendering in
//! [`render`].

pub mod checks;
pub mod engines;
pub mod model;
pub mod pod;
pub mod render;
pub mod schema;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::clients::kube::{Kube, KubeError, ObjectRef};
use crate::clients::rollout::{self, RolloutError};
use crate::framework::{Diagnostic, Diagnostics, Field, FromValue, Merge, Partial, Schema};
use crate::resources::ingress;
use crate::resources::kube_objects::handover::Handover;
use crate::resources::kube_objects::pod_iam::Binding;
use crate::resources::kube_objects::{self, KubeResource, Stage};
use crate::value::{AttributePath, Value};

use engines::Engine;
use model::{stored_password, Spec};

pub struct BiService;

crate::model! {
    /// What the plan, a failed apply and import fill in or take out.
    #[derive(Clone)]
    struct Planned {
        engine: Field<String>,
        database: Field<Partial<DatabaseParts>>,
        secrets: Field<Partial<SecretParts>>,
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
        password_secret: Field<Value>,
    }
}

crate::model! {
    /// The engine secrets' values, write-only values, versions and references.
    #[derive(Clone)]
    struct SecretParts {
        secret_key: Field<String>,
        secret_key_wo: Field<String>,
        secret_key_wo_version: Field<i64>,
        secret_key_secret: Field<Value>,
        cookie_secret: Field<String>,
        cookie_secret_wo: Field<String>,
        cookie_secret_wo_version: Field<i64>,
        cookie_secret_secret: Field<Value>,
        redis_url: Field<String>,
        redis_url_wo: Field<String>,
        redis_url_wo_version: Field<i64>,
        redis_url_secret: Field<Value>,
        encryption_key: Field<String>,
        encryption_key_wo: Field<String>,
        encryption_key_wo_version: Field<i64>,
        encryption_key_secret: Field<Value>,
    }
}

/// One engine secret's attributes in [`SecretParts`], with its key in the service's Secret.
struct SecretSlot<'a> {
    key: &'static str,
    value: &'a mut Field<String>,
    wo: &'a mut Field<String>,
    wo_version: &'a mut Field<i64>,
    reference: &'a mut Field<Value>,
}

impl SecretParts {
    fn slots(&mut self) -> [SecretSlot<'_>; 4] {
        [
            SecretSlot {
                key: "secret-key",
                value: &mut self.secret_key,
                wo: &mut self.secret_key_wo,
                wo_version: &mut self.secret_key_wo_version,
                reference: &mut self.secret_key_secret,
            },
            SecretSlot {
                key: "cookie-secret",
                value: &mut self.cookie_secret,
                wo: &mut self.cookie_secret_wo,
                wo_version: &mut self.cookie_secret_wo_version,
                reference: &mut self.cookie_secret_secret,
            },
            SecretSlot {
                key: "redis-url",
                value: &mut self.redis_url,
                wo: &mut self.redis_url_wo,
                wo_version: &mut self.redis_url_wo_version,
                reference: &mut self.redis_url_secret,
            },
            SecretSlot {
                key: "encryption-key",
                value: &mut self.encryption_key,
                wo: &mut self.encryption_key_wo,
                wo_version: &mut self.encryption_key_wo_version,
                reference: &mut self.encryption_key_secret,
            },
        ]
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
    }
    // References and write-only versions are not secret and come back with an import; the
    // values do not (an import reads them from the service's Secret).
    if let Field::Known(secrets) = &mut without.secrets {
        let mut kept = false;
        for slot in secrets.slots() {
            *slot.value = Field::Null;
            *slot.wo = Field::Null;
            kept |= slot.wo_version.is_set() || slot.reference.is_set();
        }
        if !kept {
            without.secrets = Field::Null;
        }
    }
    without.merge_changes(&before, &mut v);
    kube_objects::config_annotation(
        &v,
        &schema::schema(),
        &[
            "id",
            "effective_image",
            "url",
            "load_balancer_hostname",
            "objects",
            "objects",
            "pod_identity_associations",
            "timeouts",
        ],
    )
}

/// The objects to apply, or `None` while something is unknown. `config` (at apply) holds the
/// write-only engine secrets.
fn desired(
    planned: &Value,
    password: Option<&str>,
    config: Option<&Value>,
) -> Option<(Spec, Vec<Json>)> {
    let mut spec = Spec::from_value(planned)?;
    if let Some(config) = config {
        spec.secrets.fill_write_only(config);
    }
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
            if db.password_wo_version.is_null() && db.password_secret.is_null() {
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
        // Values come back from the Secret, for the engine secrets neither write-only nor
        // referenced (those the annotation restored).
        let mut secrets = match model.secrets.clone() {
            Field::Known(s) => s,
            _ => Partial::<SecretParts>::read(&secrets_block_null()).map_err(|_| {
                KubeError::Malformed("a dataplatform.io/config annotation of this provider version")
            })?,
        };
        let mut found = false;
        for slot in secrets.slots() {
            if slot.wo_version.is_null() && slot.reference.is_null() {
                if let Some(v) = get(slot.key) {
                    *slot.value = Field::Known(v);
                    found = true;
                }
            }
        }
        if found {
            model.secrets = Field::Known(secrets);
        }
        model.merge_changes(&before, &mut restored);
    }
    Ok(restored)
}

/// A `secrets` block with every attribute null.
fn secrets_block_null() -> Value {
    schema::schema()
        .block
        .find_block("secrets")
        .map_or(Value::Null, |b| b.block.null_object())
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
    const POD_IDENTITY: bool = true;

    fn resource_schema(&self) -> Schema {
        schema::schema()
    }

    fn check_config(&self, config: &Value, diags: &mut Diagnostics) {
        checks::check(config, diags);
        ingress::check_config(config, &AttributePath::root().attr("ingress"), diags);
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

    fn pod_identities(&self, spec: &Spec) -> Vec<Binding> {
        spec.service_account
            .as_ref()
            .and_then(|sa| Binding::of(&spec.namespace, &sa.name, spec.iam.as_ref()))
            .into_iter()
            .collect()
    }

    /// The plan renders without the password: fingerprints never depend on secrets.
    fn render(&self, value: &Value, stage: Stage<'_>) -> Option<(Spec, Vec<Json>)> {
        let (password, config) = match stage {
            Stage::Plan => (None, None),
            Stage::Apply { config } => (password_of(value, config), Some(config)),
            Stage::Read => (stored_password(value), None),
        };
        desired(value, password.as_deref(), config)
    }

    fn outputs(&self, spec: &Spec) -> Vec<(&'static str, Value)> {
        vec![
            ("effective_image", Value::string(spec.image())),
            ("url", Value::string(spec.url())),
        ]
    }

    /// Write-only values are not in state: the Secret keys made from them cannot be
    /// compared; the others still show drift.
    fn unknown_secret_keys(&self, state: &Value) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if stored_password(state).is_none() {
            keys.extend(["database-password", "database-url"]);
        }
        if let Some(Field::Known(mut secrets)) = Planned::read(state).ok().map(|p| p.secrets) {
            for slot in secrets.slots() {
                if slot.wo_version.is_set() {
                    keys.push(slot.key);
                }
            }
        }
        keys
    }

    /// A new `password_wo` that may not have reached the cluster is sent again by the next
    /// apply: the state keeps the version last applied.
    fn after_failed_apply(&self, prior: &Value, state: &mut Value) {
        let Ok(before) = Planned::read(state) else {
            return;
        };
        let mut next = before.clone();
        let prior = Planned::read(prior).ok();
        if let Field::Known(db) = &mut next.database {
            db.password_wo_version = prior
                .as_ref()
                .and_then(|p| p.database.known())
                .map_or(Field::Null, |d| d.password_wo_version.clone());
        }
        if let Field::Known(secrets) = &mut next.secrets {
            let prior_versions: [Field<i64>; 4] = prior
                .and_then(|p| p.secrets.into_known())
                .map_or_else(Default::default, |mut s| {
                    s.slots().map(|slot| slot.wo_version.clone())
                });
            for (slot, version) in secrets.slots().into_iter().zip(prior_versions) {
                *slot.wo_version = version;
            }
        }
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
        let started = std::time::Instant::now();
        if spec.wait_for_rollout {
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
                })?;
        }
        let Some(i) = &spec.ingress else {
            return Ok(());
        };
        let left = timeout.saturating_sub(started.elapsed());
        let object = ingress::live::object(&spec.namespace, &spec.name);
        ingress::live::wait_for_address(kube, &object, i, left, cancel).await
    }

    fn handovers(&self, spec: &Spec) -> Vec<Handover> {
        let object = ingress::live::object(&spec.namespace, &spec.name);
        spec.ingress
            .iter()
            .map(|i| ingress::live::handover(&object, i, &spec.url()))
            .collect()
    }

    const LIVE_OUTPUTS: &'static [&'static str] = &["load_balancer_hostname"];

    async fn live_outputs(
        &self,
        kube: &Kube,
        spec: &Spec,
    ) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        let hostname = match spec.ingress {
            Some(_) => {
                let object = ingress::live::object(&spec.namespace, &spec.name);
                ingress::live::hostname(kube, &object).await?
            }
            None => Value::Null,
        };
        Ok(vec![("load_balancer_hostname", hostname)])
    }
}

// What the tests use besides the resource itself.
#[cfg(test)]
use crate::resources::kube_objects::fingerprints;

#[cfg(test)]
mod tests;
