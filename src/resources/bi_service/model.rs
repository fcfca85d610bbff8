//! The resource's values read into a typed spec. `None` means something is not known yet
//! (during plan); at apply time everything is known.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::framework::attr::{block, opt_bool, opt_int, opt_str, str_map, NotKnown};
use crate::value::Value;

use super::engines::Engine;

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
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineSecrets {
    pub secret_key: Option<String>,
    pub cookie_secret: Option<String>,
    pub redis_url: Option<String>,
}

impl EngineSecrets {
    pub fn get(&self, name: &str) -> Option<&String> {
        match name {
            "secret_key" => self.secret_key.as_ref(),
            "cookie_secret" => self.cookie_secret.as_ref(),
            "redis_url" => self.redis_url.as_ref(),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    pub host: String,
    pub path: String,
    pub class: String,
    pub scheme: String,
    pub group_name: Option<String>,
    pub target_type: String,
    pub certificate_arn: Option<String>,
    pub annotations: BTreeMap<String, String>,
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
}

impl Spec {
    /// Reads a planned or stored value. `None` when something it depends on is unknown.
    pub fn from_value(v: &Value) -> Option<Spec> {
        Self::read(v).ok()
    }

    fn read(v: &Value) -> Result<Spec, NotKnown> {
        let engine =
            Engine::parse(&opt_str(v.get_attr("engine"))?.ok_or(NotKnown)?).ok_or(NotKnown)?;
        let image = block(v, "image")?;
        let img = |n: &str| image.as_ref().map_or(Ok(None), |i| opt_str(i.get_attr(n)));
        let res = block(v, "resources")?;
        let r = |n: &str| res.as_ref().map_or(Ok(None), |b| opt_str(b.get_attr(n)));
        let (cpu, mem) = engine.default_resources();
        let memory_request = r("memory_request")?.unwrap_or_else(|| mem.to_string());
        let memory_limit = r("memory_limit")?.unwrap_or_else(|| memory_request.clone());

        let (node_selector, tolerations) = match v.get_attr("placement") {
            Some(p) if p.is_unknown() => return Err(NotKnown),
            Some(p) if !p.is_null() => {
                let sel = str_map(p.get_attr("node_selector"))?;
                let mut tols = Vec::new();
                if let Some(list) = p.get_attr("tolerations").filter(|t| !t.is_null()) {
                    for t in list.as_list().ok_or(NotKnown)? {
                        let mut o = serde_json::Map::new();
                        for f in ["key", "operator", "value", "effect"] {
                            if let Some(s) = opt_str(t.get_attr(f))? {
                                o.insert(f.to_string(), json!(s));
                            }
                        }
                        tols.push(Json::Object(o));
                    }
                }
                (sel, tols)
            }
            _ => (BTreeMap::new(), Vec::new()),
        };

        let database = match block(v, "database")? {
            None => None,
            Some(d) => {
                let kind = match opt_str(d.get_attr("type"))?.as_deref() {
                    Some("mysql") => DbKind::Mysql,
                    Some("postgres") => DbKind::Postgres,
                    _ => return Err(NotKnown),
                };
                let default_port = if kind == DbKind::Mysql { 3306 } else { 5432 };
                Some(Database {
                    kind,
                    host: opt_str(d.get_attr("host"))?.ok_or(NotKnown)?,
                    port: opt_int(d.get_attr("port"))?.unwrap_or(default_port),
                    name: opt_str(d.get_attr("name"))?.ok_or(NotKnown)?,
                    username: opt_str(d.get_attr("username"))?.ok_or(NotKnown)?,
                    password: opt_str(d.get_attr("password"))?,
                    password_wo_version: opt_int(d.get_attr("password_wo_version"))?,
                })
            }
        };
        let secrets = match block(v, "secrets")? {
            None => EngineSecrets::default(),
            Some(s) => EngineSecrets {
                secret_key: opt_str(s.get_attr("secret_key"))?,
                cookie_secret: opt_str(s.get_attr("cookie_secret"))?,
                redis_url: opt_str(s.get_attr("redis_url"))?,
            },
        };
        let ingress = match block(v, "ingress")? {
            None => None,
            Some(i) => Some(Ingress {
                host: opt_str(i.get_attr("host"))?.ok_or(NotKnown)?,
                path: opt_str(i.get_attr("path"))?.unwrap_or_else(|| "/".into()),
                class: opt_str(i.get_attr("class"))?.unwrap_or_else(|| "alb".into()),
                scheme: opt_str(i.get_attr("scheme"))?.unwrap_or_else(|| "internal".into()),
                group_name: opt_str(i.get_attr("group_name"))?,
                target_type: opt_str(i.get_attr("target_type"))?.unwrap_or_else(|| "ip".into()),
                certificate_arn: opt_str(i.get_attr("certificate_arn"))?,
                annotations: str_map(i.get_attr("annotations"))?,
            }),
        };
        let monitoring = match block(v, "monitoring")? {
            None => None,
            Some(m) if opt_bool(m.get_attr("enabled"))? == Some(false) => None,
            Some(m) => Some(Monitoring {
                metrics_path: opt_str(m.get_attr("metrics_path"))?
                    .unwrap_or_else(|| "/metrics".into()),
                restart_threshold: opt_int(m.get_attr("restart_threshold"))?.unwrap_or(3),
            }),
        };
        Ok(Spec {
            name: opt_str(v.get_attr("name"))?.ok_or(NotKnown)?,
            namespace: opt_str(v.get_attr("namespace"))?.unwrap_or_else(|| "default".into()),
            create_namespace: opt_bool(v.get_attr("create_namespace"))?.unwrap_or(false),
            engine,
            repository: img("repository")?.unwrap_or_else(|| engine.default_repository().into()),
            tag: img("tag")?.unwrap_or_else(|| engine.default_tag().into()),
            pull_policy: img("pull_policy")?.unwrap_or_else(|| "IfNotPresent".into()),
            replicas: opt_int(v.get_attr("replicas"))?.unwrap_or(1),
            cpu_request: r("cpu_request")?.unwrap_or_else(|| cpu.to_string()),
            memory_request,
            cpu_limit: r("cpu_limit")?,
            memory_limit,
            env: str_map(v.get_attr("env"))?,
            labels: str_map(v.get_attr("labels"))?,
            node_selector,
            tolerations,
            database,
            secrets,
            ingress,
            monitoring,
        })
    }

    pub fn image(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    pub fn url(&self) -> String {
        match &self.ingress {
            Some(i) => {
                let scheme = if i.certificate_arn.is_some() {
                    "https"
                } else {
                    "http"
                };
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

/// The write-only password from the configuration (null in plan and state).
pub fn password_wo(config: &Value) -> Option<String> {
    config
        .get_attr("database")
        .and_then(|d| d.get_attr("password_wo"))
        .and_then(Value::as_str)
        .map(str::to_string)
}
