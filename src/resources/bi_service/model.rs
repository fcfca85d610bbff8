//! The resource's values read into a typed spec. `None` means something is not known yet
//! (during plan); at apply time everything is known.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::framework::{FromValue, IfKnown};
use crate::resources::common::{tolerations_json, PlacementModel};
use crate::resources::kube_objects::pod_iam::{Iam, IamModel};
use crate::value::{AttributePath, Value};

use super::engines::Engine;
use super::pod::PodSettings;
use crate::resources::ingress::{Ingress, IngressModel};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Mysql,
    Postgres,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub kind: DbKind,
    pub host: String,
    pub port: i64,
    pub name: String,
    pub username: String,
    /// `password` from state/plan (write-only passwords come from the configuration).
    pub password: Option<String>,
    pub password_wo_version: Option<i64>,
    /// `password_secret`: the password is a key of an existing Secret.
    pub password_secret: Option<SecretRef>,
    /// PostgreSQL's `sslmode`.
    pub ssl: Option<String>,
    /// Extra connection parameters.
    pub options: BTreeMap<String, String>,
}

crate::model! {
    /// A key of an existing Secret in the service's namespace, which the Deployment reads and
    /// the provider never does.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SecretRef {
        pub name: String,
        pub key: String,
    }
}

/// Where an engine secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The value, written to the service's Secret: stored in state, or write-only (empty
    /// until apply fills it in from the configuration).
    Value(String),
    /// A key of an existing Secret.
    Secret(SecretRef),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineSecrets {
    pub secret_key: Option<Source>,
    pub cookie_secret: Option<Source>,
    pub redis_url: Option<Source>,
    pub encryption_key: Option<Source>,
}

impl EngineSecrets {
    pub fn get(&self, name: &str) -> Option<&Source> {
        match name {
            "secret_key" => self.secret_key.as_ref(),
            "cookie_secret" => self.cookie_secret.as_ref(),
            "redis_url" => self.redis_url.as_ref(),
            "encryption_key" => self.encryption_key.as_ref(),
            _ => None,
        }
    }

    /// Puts the configuration's write-only values in place of the empty values a plan or
    /// state holds for them (apply only: they exist nowhere else).
    pub fn fill_write_only(&mut self, config: &Value) {
        let Some(wo) = WriteOnlyConfig::read(config).ok().and_then(|c| c.secrets.0) else {
            return;
        };
        for (slot, value) in [
            (&mut self.secret_key, wo.secret_key_wo.0),
            (&mut self.cookie_secret, wo.cookie_secret_wo.0),
            (&mut self.redis_url, wo.redis_url_wo.0),
            (&mut self.encryption_key, wo.encryption_key_wo.0),
        ] {
            if let (Some(Source::Value(v)), Some(given)) = (slot.as_mut(), value) {
                *v = given;
            }
        }
    }
}

crate::model! {
    /// The write-only engine secrets of a configuration.
    struct WriteOnlyConfig {
        secrets: IfKnown<WriteOnlySecrets>,
    }
}

crate::model! {
    struct WriteOnlySecrets {
        secret_key_wo: IfKnown<String>,
        cookie_secret_wo: IfKnown<String>,
        redis_url_wo: IfKnown<String>,
        encryption_key_wo: IfKnown<String>,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitoring {
    pub metrics_path: String,
    pub restart_threshold: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub name: String,
    pub namespace: String,
    pub create_namespace: bool,
    pub engine: Engine,
    pub repository: String,
    pub tag: String,
    pub pull_policy: String,
    pub replicas: i64,
    pub cpu_request: String,
    pub memory_request: String,
    pub cpu_limit: Option<String>,
    pub memory_limit: String,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    /// Kubernetes toleration objects.
    pub tolerations: Vec<Json>,
    pub database: Option<Database>,
    pub secrets: EngineSecrets,
    pub ingress: Option<Ingress>,
    pub monitoring: Option<Monitoring>,
    /// `secret_version`: a pod template annotation that rolls the pods when changed.
    pub secret_version: Option<String>,
    /// Apply waits for the Deployment's rollout.
    pub wait_for_rollout: bool,
    pub pod_labels: BTreeMap<String, String>,
    pub pod_annotations: BTreeMap<String, String>,
    pub image_pull_secrets: Vec<String>,
    pub priority_class_name: Option<String>,
    /// Spreading, affinity, security context, startup probe, volumes, JVM and locale.
    pub pod: PodSettings,
    /// The pods' service account; `None` runs them as the namespace's `default`.
    pub service_account: Option<ServiceAccount>,
    pub iam: Option<Iam>,
}

/// The service account the pods run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    pub name: String,
    /// Created and owned by the resource; otherwise an existing one, only referenced.
    pub create: bool,
    pub annotations: BTreeMap<String, String>,
}

crate::model! {
    /// The resource as configured, planned or stored, before defaults.
    struct BiModel {
        name: String,
        namespace: Option<String>,
        create_namespace: Option<bool>,
        engine: String,
        image: Option<ImageModel>,
        replicas: Option<i64>,
        resources: Option<ResourcesModel>,
        env: Option<BTreeMap<String, String>>,
        labels: Option<BTreeMap<String, String>>,
        placement: Option<PlacementModel>,
        database: Option<DatabaseModel>,
        secrets: Option<SecretsModel>,
        ingress: Option<IngressModel>,
        monitoring: Option<MonitoringModel>,
        secret_version: Option<String>,
        wait_for_rollout: IfKnown<bool>,
        pod_labels: Option<BTreeMap<String, String>>,
        pod_annotations: Option<BTreeMap<String, String>>,
        image_pull_secrets: Option<Vec<String>>,
        priority_class_name: Option<String>,
        service_account: Option<ServiceAccountModel>,
        iam: Option<IamModel>,
    }
}

crate::model! {
    struct ServiceAccountModel {
        name: Option<String>,
        create: Option<bool>,
        annotations: Option<BTreeMap<String, String>>,
    }
}

crate::model! {
    struct ImageModel {
        repository: Option<String>,
        tag: Option<String>,
        pull_policy: Option<String>,
    }
}

crate::model! {
    struct ResourcesModel {
        cpu_request: Option<String>,
        memory_request: Option<String>,
        cpu_limit: Option<String>,
        memory_limit: Option<String>,
    }
}

crate::model! {
    struct DatabaseModel {
        r#type: String,
        host: String,
        port: Option<i64>,
        name: String,
        username: String,
        password: Option<String>,
        password_wo_version: Option<i64>,
        password_secret: Option<SecretRef>,
        ssl: Option<String>,
        options: Option<BTreeMap<String, String>>,
    }
}

crate::model! {
    struct SecretsModel {
        secret_key: Option<String>,
        secret_key_wo_version: Option<i64>,
        secret_key_secret: Option<SecretRef>,
        cookie_secret: Option<String>,
        cookie_secret_wo_version: Option<i64>,
        cookie_secret_secret: Option<SecretRef>,
        redis_url: Option<String>,
        redis_url_wo_version: Option<i64>,
        redis_url_secret: Option<SecretRef>,
        encryption_key: Option<String>,
        encryption_key_wo_version: Option<i64>,
        encryption_key_secret: Option<SecretRef>,
    }
}

/// One engine secret's source, from its three forms (the schema allows one).
fn source(
    value: Option<String>,
    wo_version: Option<i64>,
    secret: Option<SecretRef>,
) -> Option<Source> {
    match (value, wo_version, secret) {
        (_, _, Some(r)) => Some(Source::Secret(r)),
        (Some(v), _, None) => Some(Source::Value(v)),
        (None, Some(_), None) => Some(Source::Value(String::new())),
        (None, None, None) => None,
    }
}

impl SecretsModel {
    fn into_secrets(self) -> EngineSecrets {
        EngineSecrets {
            secret_key: source(
                self.secret_key,
                self.secret_key_wo_version,
                self.secret_key_secret,
            ),
            cookie_secret: source(
                self.cookie_secret,
                self.cookie_secret_wo_version,
                self.cookie_secret_secret,
            ),
            redis_url: source(
                self.redis_url,
                self.redis_url_wo_version,
                self.redis_url_secret,
            ),
            encryption_key: source(
                self.encryption_key,
                self.encryption_key_wo_version,
                self.encryption_key_secret,
            ),
        }
    }
}

crate::model! {
    struct MonitoringModel {
        enabled: Option<bool>,
        metrics_path: Option<String>,
        restart_threshold: Option<i64>,
    }
}

impl DatabaseModel {
    fn into_database(self) -> Option<Database> {
        let kind = match self.r#type.as_str() {
            "mysql" => DbKind::Mysql,
            "postgres" => DbKind::Postgres,
            _ => return None,
        };
        let default_port = if kind == DbKind::Mysql { 3306 } else { 5432 };
        Some(Database {
            kind,
            host: self.host,
            port: self.port.unwrap_or(default_port),
            name: self.name,
            username: self.username,
            password: self.password,
            password_wo_version: self.password_wo_version,
            password_secret: self.password_secret,
            ssl: self.ssl,
            options: self.options.unwrap_or_default(),
        })
    }
}

impl Spec {
    /// Reads a planned or stored value. `None` when something it depends on is unknown.
    pub fn from_value(v: &Value) -> Option<Spec> {
        let m = BiModel::from_value(v, &AttributePath::root()).ok()?;
        let engine = Engine::parse(&m.engine)?;
        let image = m.image.unwrap_or(ImageModel {
            repository: None,
            tag: None,
            pull_policy: None,
        });
        let res = m.resources.unwrap_or(ResourcesModel {
            cpu_request: None,
            memory_request: None,
            cpu_limit: None,
            memory_limit: None,
        });
        let (cpu, mem) = engine.default_resources();
        let memory_request = res.memory_request.unwrap_or_else(|| mem.to_string());
        let memory_limit = res.memory_limit.unwrap_or_else(|| memory_request.clone());
        let (node_selector, tolerations) = match m.placement {
            Some(p) => (
                p.node_selector.unwrap_or_default(),
                tolerations_json(&p.tolerations.unwrap_or_default()),
            ),
            None => (BTreeMap::new(), Vec::new()),
        };
        let database = match m.database {
            None => None,
            Some(d) => Some(d.into_database()?),
        };
        let secrets = m
            .secrets
            .map_or_else(EngineSecrets::default, SecretsModel::into_secrets);
        let monitoring = match m.monitoring {
            Some(mon) if mon.enabled != Some(false) => Some(Monitoring {
                metrics_path: mon.metrics_path.unwrap_or_else(|| "/metrics".into()),
                restart_threshold: mon.restart_threshold.unwrap_or(3),
            }),
            _ => None,
        };
        let iam = m.iam.map(IamModel::into_iam);
        // A role needs a service account of the service's own: one named after it, made
        // when the block is left out.
        let service_account = match m.service_account {
            Some(sa) => Some(ServiceAccount {
                name: sa.name.unwrap_or_else(|| m.name.clone()),
                create: sa.create.unwrap_or(true),
                annotations: sa.annotations.unwrap_or_default(),
            }),
            None if iam.is_some() => Some(ServiceAccount {
                name: m.name.clone(),
                create: true,
                annotations: BTreeMap::new(),
            }),
            None => None,
        };
        Some(Spec {
            name: m.name,
            namespace: m.namespace.unwrap_or_else(|| "default".into()),
            create_namespace: m.create_namespace.unwrap_or(false),
            engine,
            repository: image
                .repository
                .unwrap_or_else(|| engine.default_repository().into()),
            tag: image.tag.unwrap_or_else(|| engine.default_tag().into()),
            pull_policy: image.pull_policy.unwrap_or_else(|| "IfNotPresent".into()),
            replicas: m.replicas.unwrap_or(1),
            cpu_request: res.cpu_request.unwrap_or_else(|| cpu.to_string()),
            memory_request,
            cpu_limit: res.cpu_limit,
            memory_limit,
            env: m.env.unwrap_or_default(),
            labels: m.labels.unwrap_or_default(),
            node_selector,
            tolerations,
            database,
            secrets,
            ingress: m.ingress.map(|i| i.into_ingress(engine.health_path())),
            monitoring,
            secret_version: m.secret_version,
            wait_for_rollout: m.wait_for_rollout.0.unwrap_or(true),
            pod_labels: m.pod_labels.unwrap_or_default(),
            pod_annotations: m.pod_annotations.unwrap_or_default(),
            image_pull_secrets: m.image_pull_secrets.unwrap_or_default(),
            priority_class_name: m.priority_class_name,
            pod: PodSettings::from_value(v)?,
            service_account,
            iam,
        })
    }

    pub fn image(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    pub fn url(&self) -> String {
        match &self.ingress {
            Some(i) => {
                let scheme = if i.https() { "https" } else { "http" };
                let path = i.path.trim_end_matches('*');
                let path = if path.is_empty() { "/" } else { path };
                format!("{scheme}://{}{path}", i.host)
            }
            None => format!(
                "http://{}.{}.svc.cluster.local:{}/",
                self.name,
                self.namespace,
                self.engine.port()
            ),
        }
    }
}

crate::model! {
    /// The database credentials of a configuration, plan or state.
    struct Credentials {
        database: IfKnown<Passwords>,
    }
}

crate::model! {
    struct Passwords {
        password: IfKnown<String>,
        password_wo: IfKnown<String>,
    }
}

fn passwords(v: &Value) -> Option<Passwords> {
    Credentials::from_value(v, &AttributePath::root())
        .ok()?
        .database
        .0
}

/// The password kept in a plan or state (null when it is write-only).
pub fn stored_password(v: &Value) -> Option<String> {
    passwords(v)?.password.0
}

/// The write-only password from the configuration (null in plan and state).
pub fn password_wo(config: &Value) -> Option<String> {
    passwords(config)?.password_wo.0
}
