//! The pool's Spark History Server: the UI of finished and failed applications, read from the
//! event logs the pool's applications write (`event_log.dir`), after their pods are gone.
//!
//! One Deployment of the pool's Spark image running `HistoryServer` (port 18080), a Service,
//! and optionally an Ingress like a BI service's. It reads the logs with the same Hadoop
//! settings the pool's applications write them with (every `spark.hadoop.*` entry of the
//! pool's Spark configuration), under its own service account, `spark-history`, with its own
//! IAM role for the bucket (`iam`): reading the logs needs only read access to their prefix,
//! not the applications' rights.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::validators::matches;
use crate::resources::common::{scheduling_type, tolerations_json, PlacementModel};
use crate::resources::ingress::{self, HealthCheck, Ingress, IngressModel};
use crate::resources::kube_objects::pod_iam::{self, Iam, IamModel};
use crate::value::Type;

/// The History Server's UI and REST port.
pub const PORT: u16 = 18080;
/// Its REST API's version endpoint: up once the server answers.
pub const HEALTH_PATH: &str = "/api/v1/version";
/// The service account it runs as.
pub const SERVICE_ACCOUNT: &str = "spark-history";
/// A JVM heap size, as `SPARK_DAEMON_MEMORY` takes it.
const MEMORY_PATTERN: &str = r"^[1-9][0-9]*[mg]$";

/// The `history_server` block.
pub fn block() -> NestedBlock {
    NestedBlock::single(
        "history_server",
        Block::new()
            .description(
                "A Spark History Server reading the pool's event logs (`event_log` is required): a Deployment \
                 of the pool's image (`image` here to use another) running \
                 `org.apache.spark.deploy.history.HistoryServer` on port 18080 as the service account \
                 `spark-history`, a Service, and with `ingress` an Ingress like a BI service's. It reads the \
                 logs with the pool's `spark.hadoop.*` settings; for `s3a://` the image needs the hadoop-aws \
                 connector, as the pool's applications do. With `iam` it reads them under its own IAM role \
                 (read access to the `event_log.dir` prefix is enough), with the S3A credentials provider for \
                 that role's mechanism; without, under the nodes' instance profile. The apply waits for its \
                 rollout.",
            )
            .attribute(
                Attribute::optional("placement", scheduling_type()).description(
                    "Where it runs: `node_selector` and `tolerations`. Pass the infrastructure node group's \
                     `placement`, e.g. `dataplatform_nodegroup.infra.placement`, to keep it off the Spark nodes.",
                ),
            )
            .attribute(
                Attribute::optional("image", Type::String)
                    .description("The image. Default: the pool's `image`."),
            )
            .attribute(
                Attribute::optional_computed("memory", Type::String)
                    .description(
                        "The server's heap (`SPARK_DAEMON_MEMORY`); the container requests it plus 512Mi. \
                         Default `2g`: the History Server keeps listings of every application in memory.",
                    )
                    .default_value(crate::value::Value::string("2g"))
                    .validator(matches(MEMORY_PATTERN, "a heap size such as \"2g\" or \"1536m\"")),
            )
            .block(NestedBlock::single(
                "ingress",
                ingress::block(HealthCheck::Fixed(HEALTH_PATH)),
            ))
            .block(pod_iam::iam_block("Spark History Server")),
    )
}

crate::model! {
    /// The `history_server` block.
    pub struct HistoryModel {
        placement: Option<PlacementModel>,
        image: Option<String>,
        memory: Option<String>,
        ingress: Option<IngressModel>,
        iam: Option<IamModel>,
    }
}

/// The History Server of a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryServer {
    pub name: String,
    pub namespace: String,
    pub image: String,
    pub memory: String,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Json>,
    pub ingress: Option<Ingress>,
    /// The role of its service account.
    pub iam: Option<Iam>,
    /// `spark.history.fs.logDirectory`.
    pub log_dir: String,
    /// The `spark.hadoop.*` settings it reads the logs with.
    pub hadoop: BTreeMap<String, String>,
}

impl HistoryModel {
    /// The server of the pool `pool` in `namespace`, reading `log_dir`.
    pub fn into_server(
        self,
        pool: &str,
        namespace: &str,
        pool_image: &str,
        log_dir: &str,
    ) -> HistoryServer {
        let placement = self.placement;
        HistoryServer {
            name: format!("{pool}-history"),
            namespace: namespace.to_string(),
            image: self.image.unwrap_or_else(|| pool_image.to_string()),
            memory: self.memory.unwrap_or_else(|| "2g".into()),
            node_selector: placement
                .as_ref()
                .and_then(|p| p.node_selector.clone())
                .unwrap_or_default(),
            tolerations: tolerations_json(
                &placement.and_then(|p| p.tolerations).unwrap_or_default(),
            ),
            ingress: self.ingress.map(|i| i.into_ingress(HEALTH_PATH)),
            iam: self.iam.map(IamModel::into_iam),
            log_dir: log_dir.to_string(),
            hadoop: BTreeMap::new(),
        }
    }
}

impl HistoryServer {
    /// Where users reach it: the ingress host, or the in-cluster Service.
    pub fn url(&self) -> String {
        match &self.ingress {
            Some(i) => {
                let scheme = if i.https() { "https" } else { "http" };
                format!("{scheme}://{}/", i.host)
            }
            None => format!(
                "http://{}.{}.svc.cluster.local:{PORT}/",
                self.name, self.namespace
            ),
        }
    }

    /// `SPARK_HISTORY_OPTS`: where the logs are, the port, and the pool's Hadoop settings.
    pub fn options(&self) -> String {
        let mut opts = vec![
            format!("-Dspark.history.fs.logDirectory={}", self.log_dir),
            format!("-Dspark.history.ui.port={PORT}"),
        ];
        opts.extend(self.hadoop.iter().map(|(k, v)| format!("-D{k}={v}")));
        opts.join(" ")
    }

    /// The container's memory: the heap plus 512Mi for the JVM's other memory.
    fn container_memory(&self) -> String {
        let n: u64 = self
            .memory
            .trim_end_matches(['m', 'g'])
            .parse()
            .unwrap_or(2);
        let mib = if self.memory.ends_with('g') {
            n * 1024
        } else {
            n
        };
        format!("{}Mi", mib + 512)
    }

    fn labels(&self, pool_labels: &Json) -> Json {
        let mut l = pool_labels.clone();
        l["app.kubernetes.io/name"] = json!("spark-history-server");
        l["app.kubernetes.io/instance"] = json!(self.name);
        l
    }

    fn meta(&self, name: &str, pool_labels: &Json) -> Json {
        json!({"name": name, "namespace": self.namespace, "labels": self.labels(pool_labels)})
    }

    /// The objects, in apply order.
    pub fn objects(&self, pool_labels: &Json) -> Vec<Json> {
        let selector = json!({
            "app.kubernetes.io/name": "spark-history-server",
            "app.kubernetes.io/instance": self.name,
        });
        let mut pod_spec = json!({
            "serviceAccountName": SERVICE_ACCOUNT,
            "containers": [{
                "name": "spark-history-server",
                "image": self.image,
                "command": ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.history.HistoryServer"],
                "env": [
                    {"name": "SPARK_HISTORY_OPTS", "value": self.options()},
                    {"name": "SPARK_DAEMON_MEMORY", "value": self.memory},
                    {"name": "SPARK_NO_DAEMONIZE", "value": "true"},
                ],
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": HEALTH_PATH, "port": "http"},
                                   "initialDelaySeconds": 10, "periodSeconds": 10},
                "livenessProbe": {"httpGet": {"path": HEALTH_PATH, "port": "http"},
                                  "initialDelaySeconds": 60, "periodSeconds": 30, "failureThreshold": 5},
                "resources": {"requests": {"cpu": "250m", "memory": self.container_memory()},
                              "limits": {"memory": self.container_memory()}},
            }],
        });
        if !self.node_selector.is_empty() {
            pod_spec["nodeSelector"] = json!(self.node_selector);
        }
        if !self.tolerations.is_empty() {
            pod_spec["tolerations"] = json!(self.tolerations);
        }
        let mut pod_labels = self.labels(pool_labels);
        if let (Some(l), Some(s)) = (pod_labels.as_object_mut(), selector.as_object()) {
            l.extend(s.clone());
        }
        let mut account = self.meta(SERVICE_ACCOUNT, pool_labels);
        if let Some(a) = pod_iam::service_account_annotations(self.iam.as_ref()) {
            account["annotations"] = a;
        }
        let mut out = vec![
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account}),
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": self.meta(&self.name, pool_labels),
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": selector},
                    "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
                },
            }),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": self.meta(&self.name, pool_labels),
                "spec": {"selector": selector,
                         "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}]},
            }),
        ];
        if let Some(i) = &self.ingress {
            out.push(ingress::render::object(
                self.meta(&self.name, pool_labels),
                &self.name,
                i,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> HistoryServer {
        HistoryModel {
            placement: None,
            image: None,
            memory: Some("3g".into()),
            ingress: None,
            iam: None,
        }
        .into_server(
            "etl",
            "etl",
            "apache/spark:3.5.3",
            "s3a://lake/spark-events",
        )
    }

    #[test]
    fn it_reads_the_pools_logs_with_the_pools_hadoop_settings() {
        let mut s = server();
        s.hadoop.insert(
            "spark.hadoop.fs.s3a.aws.credentials.provider".into(),
            "com.amazonaws.auth.WebIdentityTokenCredentialsProvider".into(),
        );
        assert_eq!(
            s.options(),
            "-Dspark.history.fs.logDirectory=s3a://lake/spark-events -Dspark.history.ui.port=18080 \
             -Dspark.hadoop.fs.s3a.aws.credentials.provider=com.amazonaws.auth.WebIdentityTokenCredentialsProvider"
        );
    }

    #[test]
    fn objects_run_the_server_under_its_account_behind_a_service() {
        let objects = server().objects(&json!({"dataplatform.io/spark-pool": "etl"}));
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert_eq!(kinds, ["ServiceAccount", "Deployment", "Service"]);
        let d = &objects[1];
        assert_eq!(d["metadata"]["name"], "etl-history");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], SERVICE_ACCOUNT);
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "apache/spark:3.5.3");
        assert_eq!(c["resources"]["requests"]["memory"], "3584Mi");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], HEALTH_PATH);
        // The selector selects the pods.
        let sel = d["spec"]["selector"]["matchLabels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in &sel {
            assert_eq!(&d["spec"]["template"]["metadata"]["labels"][k], v);
        }
        assert_eq!(objects[2]["spec"]["selector"], json!(sel));
    }

    #[test]
    fn the_url_is_the_ingress_host_or_the_service() {
        assert_eq!(
            server().url(),
            "http://etl-history.etl.svc.cluster.local:18080/"
        );
    }
}
