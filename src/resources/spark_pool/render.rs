//! A Spark pool read into a typed spec, and what it renders: Kubernetes objects, pod
//! templates, the Spark configuration and SparkApplication defaults. The same functions run
//! at plan, apply and refresh.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::framework::FromValue;
use crate::resources::common::{tolerations_json, PlacementModel, TolerationModel};
use crate::value::{AttributePath, Value};

use crate::resources::kube_objects::pod_iam::{self, Binding, Iam, IamModel, Mechanism};
use crate::resources::kube_objects::MANAGED_BY;

use super::history::{HistoryModel, HistoryServer};
pub const DRIVER_CONTAINER: &str = "spark-kubernetes-driver";
pub const EXECUTOR_CONTAINER: &str = "spark-kubernetes-executor";

pub use crate::resources::common::Taint;

/// Driver or executor.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub node_selector: BTreeMap<String, String>,
    /// Kubernetes toleration objects.
    pub tolerations: Vec<Json>,
    /// The node group's facts, from `placement`.
    pub group_labels: BTreeMap<String, String>,
    pub group_taints: Vec<Taint>,
    pub capacity_type: Option<String>,
    /// Whether the group's `emptyDir` volumes are on instance-store NVMe; `None` when the
    /// placement does not say (a placement written by hand).
    pub group_local_storage: Option<bool>,
    pub service_account: String,
    pub cores: i64,
    pub memory: String,
    pub memory_overhead: Option<String>,
    pub instances: i64,
    pub local_dirs: Vec<String>,
    pub iam: Option<Iam>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub name: String,
    pub namespace: String,
    pub create_namespace: bool,
    pub image: String,
    pub decommission: bool,
    pub template_dir: String,
    pub conf: BTreeMap<String, String>,
    pub driver: Role,
    pub executor: Role,
    /// (min, max) when dynamic allocation is on.
    pub dynamic: Option<(i64, i64)>,
    pub quota: Option<(Option<String>, Option<String>, Option<i64>)>,
    /// (namespace, service account) of the Spark operator.
    pub operator: Option<(String, String)>,
    pub event_log: Option<EventLog>,
    /// With `event_log` only: it reads the logs.
    pub history: Option<HistoryServer>,
}

/// Where and how Spark writes its event logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLog {
    pub dir: String,
    /// The rolling file size, when logs roll.
    pub rolling: Option<String>,
}

crate::model! {
    /// The pool as configured, planned or stored, before defaults.
    struct PoolModel {
        name: String,
        namespace: Option<String>,
        create_namespace: Option<bool>,
        image: Option<String>,
        decommission: Option<bool>,
        pod_template_dir: Option<String>,
        conf: Option<BTreeMap<String, String>>,
        driver: RoleModel,
        executor: RoleModel,
        dynamic_allocation: Option<DynamicModel>,
        quota: Option<QuotaModel>,
        spark_operator: Option<OperatorModel>,
        event_log: Option<EventLogModel>,
        history_server: Option<HistoryModel>,
    }
}

crate::model! {
    struct EventLogModel {
        dir: String,
        rolling: Option<bool>,
        max_file_size: Option<String>,
    }
}

crate::model! {
    struct ExecutorOnly {
        executor: RoleModel,
    }
}

crate::model! {
    struct RoleModel {
        placement: PlacementModel,
        node_selector: Option<BTreeMap<String, String>>,
        tolerations: Option<Vec<TolerationModel>>,
        service_account: Option<String>,
        cores: Option<i64>,
        memory: Option<String>,
        memory_overhead: Option<String>,
        instances: Option<i64>,
        local_dirs: Option<Vec<String>>,
        iam: Option<IamModel>,
    }
}

crate::model! {
    struct DynamicModel {
        enabled: Option<bool>,
        min_executors: Option<i64>,
        max_executors: Option<i64>,
    }
}

crate::model! {
    struct QuotaModel {
        cpu: Option<String>,
        memory: Option<String>,
        pods: Option<i64>,
    }
}

crate::model! {
    struct OperatorModel {
        enabled: Option<bool>,
        namespace: Option<String>,
        service_account: Option<String>,
    }
}

impl RoleModel {
    /// The role's own selector and tolerations win over those of its node group.
    fn into_role(self, kind: &str) -> Role {
        let p = self.placement;
        let group_taints = p
            .taints
            .unwrap_or_default()
            .into_iter()
            .map(|t| Taint {
                key: t.key.unwrap_or_default(),
                value: t.value,
                effect: t.effect.unwrap_or_default(),
            })
            .collect();
        let driver = kind == "driver";
        Role {
            node_selector: self.node_selector.or(p.node_selector).unwrap_or_default(),
            tolerations: tolerations_json(&self.tolerations.or(p.tolerations).unwrap_or_default()),
            group_labels: p.labels.unwrap_or_default(),
            group_taints,
            capacity_type: p.capacity_type,
            group_local_storage: p.local_storage,
            service_account: self
                .service_account
                .unwrap_or_else(|| format!("spark-{kind}")),
            cores: self.cores.unwrap_or(if driver { 1 } else { 4 }),
            memory: self
                .memory
                .unwrap_or_else(|| if driver { "2g" } else { "8g" }.into()),
            memory_overhead: self.memory_overhead,
            instances: self.instances.unwrap_or(2),
            local_dirs: self.local_dirs.unwrap_or_default(),
            iam: self.iam.map(IamModel::into_iam),
        }
    }
}

impl Role {
    pub fn on_spot(&self) -> bool {
        self.capacity_type.as_deref() == Some("SPOT")
    }
}

/// Whether decommissioning defaults on: executors on spot.
pub fn default_decommission(v: &Value) -> Option<bool> {
    let m = ExecutorOnly::from_value(v, &AttributePath::root()).ok()?;
    Some(m.executor.into_role("executor").on_spot())
}

pub fn default_template_dir(name: &str) -> String {
    format!("/opt/spark/pod-templates/{name}")
}

impl Pool {
    /// Reads a planned or stored value; `None` while something is unknown.
    pub fn from_value(v: &Value) -> Option<Pool> {
        let m = PoolModel::from_value(v, &AttributePath::root()).ok()?;
        let name = m.name;
        let driver = m.driver.into_role("driver");
        let executor = m.executor.into_role("executor");
        let dynamic = match m.dynamic_allocation {
            None => Some((0, 50)),
            Some(d) if d.enabled == Some(false) => None,
            Some(d) => Some((d.min_executors.unwrap_or(0), d.max_executors.unwrap_or(50))),
        };
        let quota = m.quota.map(|q| (q.cpu, q.memory, q.pods));
        let operator = match m.spark_operator {
            Some(o) if o.enabled != Some(false) => Some((
                o.namespace.unwrap_or_else(|| "spark-operator".into()),
                o.service_account
                    .unwrap_or_else(|| "spark-operator-controller".into()),
            )),
            _ => None,
        };
        let on_spot = executor.on_spot();
        let namespace = m.namespace.unwrap_or_else(|| name.clone());
        let image = m.image.unwrap_or_else(|| "apache/spark:3.5.3".into());
        let history = match (m.history_server, &m.event_log) {
            (Some(h), Some(e)) => Some(h.into_server(&name, &namespace, &image, &e.dir)),
            _ => None,
        };
        let mut pool = Pool {
            namespace,
            create_namespace: m.create_namespace.unwrap_or(false),
            image,
            decommission: m.decommission.unwrap_or(on_spot),
            template_dir: m
                .pod_template_dir
                .unwrap_or_else(|| default_template_dir(&name)),
            conf: m.conf.unwrap_or_default(),
            driver,
            executor,
            dynamic,
            quota,
            operator,
            event_log: m.event_log.map(|e| EventLog {
                dir: e.dir,
                rolling: match e.rolling {
                    Some(false) => None,
                    _ => Some(e.max_file_size.unwrap_or_else(|| "128m".into())),
                },
            }),
            history,
            name,
        };
        // The server reads the logs with the settings the applications write them with, but
        // under its own role: the credentials provider follows its mechanism (or, without a
        // role, the default chain), unless the configuration names one.
        let mut hadoop: BTreeMap<String, String> = pool
            .spark_conf()
            .into_iter()
            .filter(|(k, _)| k.starts_with("spark.hadoop."))
            .collect();
        if let Some(h) = &mut pool.history {
            if !pool.conf.contains_key(CREDENTIALS_PROVIDER) {
                match &h.iam {
                    Some(iam) => {
                        hadoop.insert(
                            CREDENTIALS_PROVIDER.to_string(),
                            credentials_provider(iam.mechanism, &h.image).to_string(),
                        );
                    }
                    None => {
                        hadoop.remove(CREDENTIALS_PROVIDER);
                    }
                }
            }
            h.hadoop = hadoop;
        }
        Some(pool)
    }

    fn labels(&self) -> Json {
        json!({
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "app.kubernetes.io/part-of": "spark",
            "dataplatform.io/spark-pool": self.name,
        })
    }

    fn meta(&self, name: &str) -> Json {
        json!({"name": name, "namespace": self.namespace, "labels": self.labels()})
    }

    pub fn configmap_name(&self) -> String {
        format!("{}-pod-templates", self.name)
    }

    fn pod_template(&self, role: &Role, container: &str, spark_role: &str) -> Json {
        let mut spec = json!({
            "serviceAccountName": role.service_account,
            "containers": [{"name": container}],
        });
        if !role.node_selector.is_empty() {
            spec["nodeSelector"] = json!(role.node_selector);
        }
        if !role.tolerations.is_empty() {
            spec["tolerations"] = json!(role.tolerations);
        }
        if !role.local_dirs.is_empty() {
            let volumes: Vec<Json> = role
                .local_dirs
                .iter()
                .enumerate()
                .map(|(i, path)| {
                    let name = format!("spark-local-dir-{}", i + 1);
                    // On a group with local storage the kubelet's root is the instance-store
                    // array: an emptyDir is on NVMe, counted against the pod's ephemeral
                    // storage and removed with the pod.
                    if role.group_local_storage == Some(true) {
                        json!({"name": name, "emptyDir": {}})
                    } else {
                        json!({"name": name, "hostPath": {"path": path, "type": "DirectoryOrCreate"}})
                    }
                })
                .collect();
            let mounts: Vec<Json> = role
                .local_dirs
                .iter()
                .enumerate()
                .map(|(i, path)| json!({"name": format!("spark-local-dir-{}", i + 1), "mountPath": path}))
                .collect();
            spec["volumes"] = json!(volumes);
            spec["containers"][0]["volumeMounts"] = json!(mounts);
        }
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"labels": {"dataplatform.io/spark-pool": self.name, "dataplatform.io/spark-role": spark_role}},
            "spec": spec,
        })
    }

    pub fn driver_template(&self) -> Json {
        self.pod_template(&self.driver, DRIVER_CONTAINER, "driver")
    }

    pub fn executor_template(&self) -> Json {
        self.pod_template(&self.executor, EXECUTOR_CONTAINER, "executor")
    }

    /// The Spark configuration for spark-submit.
    pub fn spark_conf(&self) -> BTreeMap<String, String> {
        let mut c = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            c.insert(k.to_string(), v);
        };
        put("spark.kubernetes.namespace", self.namespace.clone());
        put("spark.kubernetes.container.image", self.image.clone());
        put(
            "spark.kubernetes.authenticate.driver.serviceAccountName",
            self.driver.service_account.clone(),
        );
        put(
            "spark.kubernetes.authenticate.executor.serviceAccountName",
            self.executor.service_account.clone(),
        );
        put(
            "spark.kubernetes.driver.podTemplateFile",
            format!("{}/driver.yaml", self.template_dir),
        );
        put(
            "spark.kubernetes.executor.podTemplateFile",
            format!("{}/executor.yaml", self.template_dir),
        );
        put(
            "spark.kubernetes.driver.podTemplateContainerName",
            DRIVER_CONTAINER.into(),
        );
        put(
            "spark.kubernetes.executor.podTemplateContainerName",
            EXECUTOR_CONTAINER.into(),
        );
        for (k, v) in &self.driver.node_selector {
            put(
                &format!("spark.kubernetes.driver.node.selector.{k}"),
                v.clone(),
            );
        }
        for (k, v) in &self.executor.node_selector {
            put(
                &format!("spark.kubernetes.executor.node.selector.{k}"),
                v.clone(),
            );
        }
        put("spark.driver.cores", self.driver.cores.to_string());
        put("spark.driver.memory", self.driver.memory.clone());
        put("spark.executor.cores", self.executor.cores.to_string());
        put("spark.executor.memory", self.executor.memory.clone());
        if let Some(o) = &self.driver.memory_overhead {
            put("spark.driver.memoryOverhead", o.clone());
        }
        if let Some(o) = &self.executor.memory_overhead {
            put("spark.executor.memoryOverhead", o.clone());
        }
        match self.dynamic {
            Some((min, max)) => {
                put("spark.dynamicAllocation.enabled", "true".into());
                put(
                    "spark.dynamicAllocation.shuffleTracking.enabled",
                    "true".into(),
                );
                put("spark.dynamicAllocation.minExecutors", min.to_string());
                put("spark.dynamicAllocation.maxExecutors", max.to_string());
            }
            None => {
                put("spark.dynamicAllocation.enabled", "false".into());
                put(
                    "spark.executor.instances",
                    self.executor.instances.to_string(),
                );
            }
        }
        if self.decommission {
            put("spark.decommission.enabled", "true".into());
            put("spark.storage.decommission.enabled", "true".into());
            put(
                "spark.storage.decommission.shuffleBlocks.enabled",
                "true".into(),
            );
            put(
                "spark.storage.decommission.rddBlocks.enabled",
                "true".into(),
            );
        }
        if let Some(log) = &self.event_log {
            put("spark.eventLog.enabled", "true".into());
            put("spark.eventLog.dir", log.dir.clone());
            match &log.rolling {
                Some(size) => {
                    put("spark.eventLog.rolling.enabled", "true".into());
                    put("spark.eventLog.rolling.maxFileSize", size.clone());
                }
                None => put("spark.eventLog.rolling.enabled", "false".into()),
            }
        }
        for (k, v) in self.s3a_conf() {
            c.insert(k.to_string(), v.to_string());
        }
        for (k, v) in &self.conf {
            c.insert(k.clone(), v.clone());
        }
        c
    }

    /// The role of a service account's pods: the driver's, else the executors' (a shared
    /// service account has one role, checked at plan time).
    fn iam_of(&self, service_account: &str) -> Option<&Iam> {
        [&self.driver, &self.executor]
            .into_iter()
            .filter(|r| r.service_account == service_account)
            .find_map(|r| r.iam.as_ref())
    }

    /// The service accounts bound to a role through EKS Pod Identity: the driver's, the
    /// executors', the History Server's.
    pub fn pod_identities(&self) -> Vec<Binding> {
        let history = self
            .history
            .iter()
            .map(|h| (super::history::SERVICE_ACCOUNT, h.iam.as_ref()));
        let roles = [&self.driver, &self.executor]
            .into_iter()
            .map(|r| (r.service_account.as_str(), r.iam.as_ref()));
        let mut out: Vec<Binding> = Vec::new();
        for (service_account, iam) in roles.chain(history) {
            if let Some(b) = Binding::of(&self.namespace, service_account, iam) {
                if !out.contains(&b) {
                    out.push(b);
                }
            }
        }
        out
    }

    /// The Spark major version of the image, from its tag (`apache/spark:3.5.3-java17`).
    pub fn spark_major(&self) -> Option<u32> {
        spark_major(&self.image)
    }

    /// S3A credentials and committer for the pods' role: one setting for both roles (Spark's
    /// `spark.hadoop.*` reaches driver and executors alike), from the driver's mechanism, else
    /// the executors'. The provider classes follow the AWS SDK the image's Hadoop uses (see
    /// the `spark_conf` description).
    fn s3a_conf(&self) -> Vec<(&'static str, &'static str)> {
        let Some(iam) = self.driver.iam.as_ref().or(self.executor.iam.as_ref()) else {
            return Vec::new();
        };
        vec![
            (
                CREDENTIALS_PROVIDER,
                credentials_provider(iam.mechanism, &self.image),
            ),
            ("spark.hadoop.fs.s3a.committer.name", "magic"),
            ("spark.hadoop.fs.s3a.committer.magic.enabled", "true"),
            (
                "spark.sql.sources.commitProtocolClass",
                "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
            ),
            (
                "spark.sql.parquet.output.committer.class",
                "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
            ),
        ]
    }

    /// A SparkApplication spec fragment (`sparkoperator.k8s.io/v1beta2`).
    pub fn spark_application_defaults(&self) -> Json {
        let conf = self.spark_conf();
        // The operator sets namespace, image, service accounts and templates from the spec.
        let spark_conf: BTreeMap<&String, &String> = conf
            .iter()
            .filter(|(k, _)| {
                !k.starts_with("spark.kubernetes.")
                    && !matches!(
                        k.as_str(),
                        "spark.driver.cores"
                            | "spark.driver.memory"
                            | "spark.executor.cores"
                            | "spark.executor.memory"
                            | "spark.executor.instances"
                    )
            })
            .collect();
        let mut executor = json!({
            "cores": self.executor.cores,
            "memory": self.executor.memory,
            "serviceAccount": self.executor.service_account,
            "template": self.executor_template(),
        });
        if self.dynamic.is_none() {
            executor["instances"] = json!(self.executor.instances);
        }
        let mut spec = json!({
            "image": self.image,
            "sparkConf": spark_conf,
            "driver": {
                "cores": self.driver.cores,
                "memory": self.driver.memory,
                "serviceAccount": self.driver.service_account,
                "template": self.driver_template(),
            },
            "executor": executor,
        });
        if let Some((min, max)) = self.dynamic {
            spec["dynamicAllocation"] =
                json!({"enabled": true, "minExecutors": min, "maxExecutors": max});
        }
        spec
    }

    /// Every object, in the order they are applied.
    pub fn objects(&self) -> Vec<Json> {
        let mut out = Vec::new();
        if self.create_namespace {
            out.push(json!({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": self.namespace, "labels": self.labels()}}));
        }
        let mut accounts = vec![self.driver.service_account.clone()];
        if self.executor.service_account != self.driver.service_account {
            accounts.push(self.executor.service_account.clone());
        }
        for sa in &accounts {
            let mut meta = self.meta(sa);
            if let Some(a) = pod_iam::service_account_annotations(self.iam_of(sa)) {
                meta["annotations"] = a;
            }
            out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}));
        }
        let role_name = format!("{}-driver", self.name);
        let verbs = [
            "create",
            "get",
            "list",
            "watch",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ];
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": self.meta(&role_name),
            "rules": [{"apiGroups": [""], "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"], "verbs": verbs}],
        }));
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": self.meta(&role_name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "name": self.driver.service_account, "namespace": self.namespace}],
        }));
        out.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": self.meta(&self.configmap_name()),
            "data": {
                "driver.yaml": to_yaml(&self.driver_template()),
                "executor.yaml": to_yaml(&self.executor_template()),
            },
        }));
        if let Some((cpu, memory, pods)) = &self.quota {
            let mut hard = Map::new();
            if let Some(c) = cpu {
                hard.insert("requests.cpu".into(), json!(c));
            }
            if let Some(m) = memory {
                hard.insert("requests.memory".into(), json!(m));
            }
            if let Some(p) = pods {
                hard.insert("pods".into(), json!(p.to_string()));
            }
            out.push(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": self.meta(&self.name),
                            "spec": {"hard": hard}}));
        }
        if let Some((ns, sa)) = &self.operator {
            let name = format!("{}-spark-operator", self.name);
            out.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": self.meta(&name),
                "rules": [
                    {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "persistentvolumeclaims", "events"], "verbs": verbs},
                    {"apiGroups": ["sparkoperator.k8s.io"], "resources": ["sparkapplications", "sparkapplications/status", "scheduledsparkapplications", "scheduledsparkapplications/status"], "verbs": verbs},
                ],
            }));
            out.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": self.meta(&name),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
            }));
        }
        if let Some(h) = &self.history {
            out.extend(h.objects(&self.labels()));
        }
        out
    }
}

/// Block-style YAML for JSON values (strings double-quoted, which YAML reads as JSON does).
pub fn to_yaml(v: &Json) -> String {
    let mut out = String::new();
    yaml_value(v, 0, &mut out, false);
    out
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => Json::String(s.clone()).to_string(),
        other => other.to_string(),
    }
}

fn is_empty_collection(v: &Json) -> bool {
    matches!(v, Json::Object(m) if m.is_empty()) || matches!(v, Json::Array(a) if a.is_empty())
}

fn yaml_value(v: &Json, indent: usize, out: &mut String, in_list: bool) {
    let pad = " ".repeat(indent);
    match v {
        Json::Object(m) => {
            for (i, (k, val)) in m.iter().enumerate() {
                if !(in_list && i == 0) {
                    out.push_str(&pad);
                }
                let key = scalar(&Json::String(k.clone()));
                match val {
                    Json::Object(_) | Json::Array(_) if !is_empty_collection(val) => {
                        out.push_str(&format!("{key}:\n"));
                        yaml_value(val, indent + 2, out, false);
                    }
                    Json::Object(_) => out.push_str(&format!("{key}: {{}}\n")),
                    Json::Array(_) => out.push_str(&format!("{key}: []\n")),
                    _ => out.push_str(&format!("{key}: {}\n", scalar(val))),
                }
            }
        }
        Json::Array(a) => {
            for item in a {
                out.push_str(&pad);
                out.push_str("- ");
                match item {
                    Json::Object(m) if !m.is_empty() => yaml_value(item, indent + 2, out, true),
                    Json::Array(_) if !is_empty_collection(item) => {
                        out.push('\n');
                        yaml_value(item, indent + 2, out, false);
                    }
                    _ => out.push_str(&format!("{}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// The S3A setting naming the AWS credentials provider.
pub const CREDENTIALS_PROVIDER: &str = "spark.hadoop.fs.s3a.aws.credentials.provider";

/// The Spark major version of an image, from its tag (`apache/spark:3.5.3-java17`).
pub fn spark_major(image: &str) -> Option<u32> {
    let tag = image.split('@').next()?.rsplit_once(':')?.1;
    tag.split('.').next()?.parse().ok()
}

/// The S3A credentials provider for a role's mechanism, by the AWS SDK the image's Hadoop
/// uses: SDK v1 (Spark 3.x, hadoop-aws 3.3.4) or v2 (Spark 4.x, hadoop-aws 3.4). See the
/// `spark_conf` description.
pub fn credentials_provider(mechanism: Mechanism, image: &str) -> &'static str {
    let sdk_v1 = spark_major(image).is_some_and(|m| m < 4);
    match (mechanism, sdk_v1) {
        (Mechanism::Irsa, true) => "com.amazonaws.auth.WebIdentityTokenCredentialsProvider",
        (Mechanism::PodIdentity, true) => {
            "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider"
        }
        (Mechanism::Irsa, false) => {
            "software.amazon.awssdk.auth.credentials.WebIdentityTokenFileCredentialsProvider"
        }
        (Mechanism::PodIdentity, false) => {
            "software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider"
        }
    }
}
