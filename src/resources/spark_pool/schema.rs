//! The `dataplatform_spark_pool` schema.

use std::time::Duration;

use crate::framework::plan_modifiers::RequiresReplace;
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::timeouts;
use crate::framework::validators::{int_between, matches, size_between};
use crate::resources::common::{
    namespace, placement_type, string_map, target_cluster_name, toleration_object,
    NAMESPACE_PATTERN, QUANTITY_PATTERN,
};
use crate::resources::kube_objects::{self, pod_iam};
use crate::value::{Type, Value};

pub const POOL_NAME: &str = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$";
pub const SPARK_MEMORY: &str = r"^[0-9]+[kmgtKMGT]?$";
pub const IMAGE: &str = r"^[a-z0-9]+([._/:-][a-zA-Z0-9]+)*(@sha256:[a-f0-9]{64})?$";
/// Event log locations Spark can write: S3 through S3A, GCS, ADLS, HDFS or a local path.
pub const EVENT_LOG_DIR: &str =
    r"^(s3a://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?|(gs|abfss|hdfs)://\S+|file:/\S*)$";
pub const HOST_PATH: &str = r"^/[A-Za-z0-9/_.-]*$";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub fn schema() -> Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(0, block())).clone()
}

fn role(kind: &str, defaults: (i64, &str)) -> Block {
    let (cores, memory) = defaults;
    let mut b = Block::new()
        .description(format!(
            "Where and how the Spark {kind} runs. `placement` takes a node group's `placement`; the pod template \
             gets its node selector and tolerations, so placement works without the Spark operator's webhook."
        ))
        .attribute(
            Attribute::required("placement", placement_type())
                .description(
                    "The node group to run on: pass `dataplatform_nodegroup.<group>.placement`. Its labels, taints \
                     and capacity type are checked against the node selector and tolerations at plan time. For a \
                     group this provider does not manage, write the object by hand with all of `node_selector`, \
                     `tolerations`, `labels`, `taints`, `capacity_type` and `local_storage` (`true` when its nodes' \
                     kubelet root is on instance-store NVMe, `false` when not, `null` when unknown).",
                ),
        )
        .attribute(
            Attribute::optional("node_selector", string_map())
                .description("Overrides the node selector taken from `placement`."),
        )
        .attribute(
            Attribute::optional("tolerations", Type::List(Box::new(toleration_object())))
                .description("Overrides the tolerations taken from `placement` (Kubernetes form)."),
        )
        .attribute(
            Attribute::optional_computed("service_account", Type::String)
                .description(format!(
                    "Service account of the {kind} pods. Default `spark-{kind}` in a namespace named after the pool, \
                     `<name>-spark-{kind}` in any other (so pools can share a namespace)."
                ))
                .validator(matches(NAMESPACE_PATTERN, "a service account name (lowercase DNS label)")),
        )
        .attribute(
            Attribute::optional_computed("cores", Type::Number)
                .description(format!("`spark.{kind}.cores`. Default {cores}."))
                .default_value(Value::number(cores))
                .validator(int_between(1, 96)),
        )
        .attribute(
            Attribute::optional_computed("memory", Type::String)
                .description(format!("`spark.{kind}.memory`, e.g. `8g`. Default `{memory}`."))
                .default_value(Value::string(memory))
                .validator(matches(SPARK_MEMORY, "a Spark memory size such as \"4g\" or \"512m\"")),
        )
        .attribute(
            Attribute::optional("memory_overhead", Type::String)
                .description(format!("`spark.{kind}.memoryOverhead`. Spark's default when left out."))
                .validator(matches(SPARK_MEMORY, "a Spark memory size such as \"1g\"")),
        );
    b = b.block(pod_iam::iam_block(&format!("Spark {kind}")));
    if kind == "executor" {
        b = b
            .attribute(
                Attribute::optional_computed("instances", Type::Number)
                    .description("`spark.executor.instances` when dynamic allocation is off. Default 2.")
                    .default_value(Value::number(2i64))
                    .validator(int_between(0, 10_000)),
            )
            .attribute(
                Attribute::optional("local_dirs", Type::List(Box::new(Type::String)))
                    .description(
                        "Spark's local directories for shuffle and spill, mounted at these paths as \
                         `spark-local-dir-<n>` volumes. On a node group with `local_storage` they are `emptyDir` \
                         volumes on the instance-store RAID0 array that backs the kubelet's root: removed with the \
                         pod, counted against its ephemeral storage, and as many directories as given (one is \
                         enough, the array already stripes the disks). On a group without local storage the plan \
                         fails, naming both resources; with a `placement` whose `local_storage` is null (not from \
                         a node group), they are host paths the nodes must provide.",
                    )
                    .validator(size_between(1, 8)),
            );
    }
    b
}

fn block() -> Block {
    kube_objects::lifecycle_attributes(Block::new())
        .description(
            "Where a team's Spark jobs run: a namespace with service accounts, a Role that lets the driver manage \
             its executors' pods, services, config maps and volume claims, a ConfigMap with the driver and \
             executor pod templates (node selector, tolerations, local-dir volumes), an optional ResourceQuota, \
             and RBAC for the Spark operator. Its outputs, known at plan time, are what spark-submit, Airflow or a \
             SparkApplication need: `spark_conf`, the pod templates, and `spark_application_defaults`.\n\n\
             Spark has no toleration setting and the Spark operator adds tolerations only through a webhook that \
             drops them silently when it is off; the pod templates carry them instead. At plan time the pool \
             checks that the node selectors match the node groups' labels, that the tolerations cover their \
             taints, and that executors on spot capacity decommission gracefully.",
        )
        .attribute(
            target_cluster_name("EKS cluster to deploy into. Defaults to the provider's `kubernetes` block, then to its `cluster_name`."),
        )
        .attribute(
            Attribute::required("name", Type::String)
                .description("Name of the pool: a DNS label of up to 40 characters.")
                .validator(matches(POOL_NAME, "a lowercase DNS label (a-z, 0-9 and -, up to 40 characters)"))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            namespace("Namespace of the pool's jobs. Defaults to the pool's name."),
        )
        .attribute(
            Attribute::optional_computed("create_namespace", Type::Bool)
                .description(
                    "Create the namespace, owned by the pool: destroy deletes it when nothing the pool did not create \
                     lives in it. Default `false`: the pool deploys into an existing namespace, which it never \
                     deletes, next to other pools and workloads. (Pools created by versions whose default was `true` \
                     keep `true` while the argument is left out.)",
                )
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("image", Type::String)
                .description("`spark.kubernetes.container.image`. Default `apache/spark:3.5.3`.")
                .default_value(Value::string("apache/spark:3.5.3"))
                .validator(matches(IMAGE, "a container image such as \"apache/spark:3.5.3\"")),
        )
        .attribute(
            Attribute::optional_computed("decommission", Type::Bool)
                .description(
                    "Graceful executor decommissioning (`spark.decommission.enabled` with shuffle and RDD block \
                     migration), so a spot interruption loses no work. Defaults to `true` when the executors' node \
                     group runs on spot; turning it off there is an error.",
                ),
        )
        .attribute(
            Attribute::optional_computed("pod_template_dir", Type::String)
                .description(
                    "Where spark-submit finds the pod templates: mount the pool's ConfigMap `<name>-pod-templates` \
                     there (or write `driver_pod_template` and `executor_pod_template` to files there). Default \
                     `/opt/spark/pod-templates/<name>`.",
                )
                .validator(matches(HOST_PATH, "an absolute path")),
        )
        .attribute(
            Attribute::optional("conf", string_map())
                .description("Extra Spark configuration merged into `spark_conf` (it wins over the pool's own keys)."),
        )
        .attribute(
            Attribute::computed("spark_conf", string_map()).description(
                "Spark configuration for spark-submit or Airflow's SparkSubmitOperator: namespace, image, service \
                 accounts, node selectors, pod template files, resources, dynamic allocation and decommissioning.\n\n\
                 With an `iam` block, also the S3A settings for the pods' role, chosen by the image's Spark version \
                 (the tag's leading `3.` or `4.`; other tags are taken as Spark 4). Spark 3.5 is built on Hadoop \
                 3.3.4, whose `hadoop-aws` uses the AWS SDK for Java v1 (`aws-java-sdk-bundle` 1.12.262): IRSA \
                 through `com.amazonaws.auth.WebIdentityTokenCredentialsProvider`, Pod Identity through \
                 `org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider` (the SDK's container credentials, \
                 which read Pod Identity from SDK 1.12.746 on: the image needs that bundle or a newer one). Spark 4.0 \
                 is built on Hadoop 3.4.1, whose `hadoop-aws` uses the AWS SDK v2: \
                 `software.amazon.awssdk.auth.credentials.WebIdentityTokenFileCredentialsProvider` for IRSA, \
                 `software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider` for Pod Identity (SDK 2.21.30 \
                 on). Output goes through the S3A magic committer (`fs.s3a.committer.name = magic`), bound to Spark \
                 SQL by `spark.sql.sources.commitProtocolClass` and `spark.sql.parquet.output.committer.class`, \
                 classes of the `spark-hadoop-cloud` module: the image needs it next to `hadoop-aws` and the SDK \
                 bundle (the `apache/spark` images have none of them). Keys in `conf` win.",
            ),
        )
        .attribute(pod_iam::associations_attribute())
        .attribute(Attribute::computed("driver_pod_template", Type::String).description("The driver pod template (YAML)."))
        .attribute(Attribute::computed("executor_pod_template", Type::String).description("The executor pod template (YAML)."))
        .attribute(
            Attribute::computed("spark_application_defaults", Type::String).description(
                "JSON of a SparkApplication (`sparkoperator.k8s.io/v1beta2`) spec fragment: image, sparkConf, and \
                 driver and executor with cores, memory, service account and the pod `template` (tolerations \
                 inside it, so they apply without the operator's webhook). Use with `jsondecode()`.",
            ),
        )
        .attribute(
            Attribute::computed("history_server_url", Type::String).description(
                "Where users reach the History Server: `https://<ingress host>/` (`http://` without a certificate \
                 or TLS Secret), or the in-cluster Service URL without an ingress; null without `history_server`.",
            ),
        )
        .attribute(
            Attribute::computed("history_server_load_balancer_hostname", Type::String).description(
                "The address the ingress controller gave the History Server's Ingress (the ALB's DNS name), for a \
                 Route 53 alias of its host; null until it has one, and without an ingress.",
            ),
        )
        .block(super::history::block())
        .block(NestedBlock::single("driver", role("driver", (1, "2g"))).items(1, 1))
        .block(NestedBlock::single("executor", role("executor", (4, "8g"))).items(1, 1))
        .block(NestedBlock::single(
            "dynamic_allocation",
            Block::new()
                .description("Dynamic allocation with shuffle tracking. On (0 to 50 executors) when the block is left out.")
                .attribute(
                    Attribute::optional_computed("enabled", Type::Bool)
                        .description("Default `true`.")
                        .default_value(Value::bool(true)),
                )
                .attribute(
                    Attribute::optional_computed("min_executors", Type::Number)
                        .description("Default 0.")
                        .default_value(Value::number(0i64))
                        .validator(int_between(0, 10_000)),
                )
                .attribute(
                    Attribute::optional_computed("max_executors", Type::Number)
                        .description("Default 50.")
                        .default_value(Value::number(50i64))
                        .validator(int_between(1, 10_000)),
                ),
        ))
        .block(NestedBlock::single(
            "quota",
            Block::new()
                .description("A ResourceQuota on the namespace.")
                .attribute(
                    Attribute::optional("cpu", Type::String)
                        .description("`requests.cpu`, e.g. `400`.")
                        .validator(matches(QUANTITY_PATTERN, "a Kubernetes quantity such as \"400\" or \"500m\"")),
                )
                .attribute(
                    Attribute::optional("memory", Type::String)
                        .description("`requests.memory`, e.g. `3Ti`.")
                        .validator(matches(QUANTITY_PATTERN, "a Kubernetes quantity such as \"3Ti\"")),
                )
                .attribute(
                    Attribute::optional("pods", Type::Number)
                        .description("Maximum number of pods.")
                        .validator(int_between(1, 100_000)),
                ),
        ))
        .block(NestedBlock::single(
            "event_log",
            Block::new()
                .description(
                    "Spark event logs, so a finished or failed application can still be inspected (Spark History \
                     Server, or any tool reading the logs) after its pods are gone: `spark.eventLog.enabled`, \
                     `spark.eventLog.dir` and rolling logs for long-running jobs. The driver needs write access to \
                     `dir` (for S3, through the pool's IAM identity).",
                )
                .attribute(
                    Attribute::required("dir", Type::String)
                        .description(
                            "Where the logs go: `s3a://bucket/prefix` (Spark reads S3 through the S3A connector, not \
                             `s3://`), `gs://`, `abfss://`, `hdfs://` or `file:/`.",
                        )
                        .validator(matches(
                            EVENT_LOG_DIR,
                            "an event log location such as \"s3a://my-bucket/spark-events\" (s3a, gs, abfss, hdfs or \
                             file; S3 is written through s3a://, not s3://)",
                        )),
                )
                .attribute(
                    Attribute::optional_computed("rolling", Type::Bool)
                        .description(
                            "`spark.eventLog.rolling.enabled`: the log is written as files of `max_file_size` instead \
                             of one file that grows for the application's whole life. Default `true`.",
                        )
                        .default_value(Value::bool(true)),
                )
                .attribute(
                    Attribute::optional_computed("max_file_size", Type::String)
                        .description("`spark.eventLog.rolling.maxFileSize` (at least `10m`). Default `128m`.")
                        .default_value(Value::string("128m"))
                        .validator(matches(
                            r"^([1-9][0-9]{2,}k|[1-9][0-9]+m|[1-9][0-9]*[gt])$",
                            "a size of at least 10m such as \"128m\" or \"1g\"",
                        )),
                ),
        ))
        .block(NestedBlock::single(
            "spark_operator",
            Block::new()
                .description(
                    "RBAC for the Spark operator in the pool's namespace: a Role and RoleBinding for the operator's \
                     service account to run SparkApplications here.",
                )
                .attribute(
                    Attribute::optional_computed("enabled", Type::Bool)
                        .description("Default `true` when the block is present.")
                        .default_value(Value::bool(true)),
                )
                .attribute(
                    Attribute::optional_computed("namespace", Type::String)
                        .description("The operator's namespace. Default `spark-operator`.")
                        .default_value(Value::string("spark-operator"))
                        .validator(matches(NAMESPACE_PATTERN, "a namespace name")),
                )
                .attribute(
                    Attribute::optional_computed("service_account", Type::String)
                        .description("The operator controller's service account. Default `spark-operator-controller`.")
                        .default_value(Value::string("spark-operator-controller"))
                        .validator(matches(NAMESPACE_PATTERN, "a service account name")),
                ),
        ))
        .block(timeouts::block(&[("create", DEFAULT_TIMEOUT), ("update", DEFAULT_TIMEOUT), ("delete", DEFAULT_TIMEOUT)]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_is_well_formed() {
        let problems = super::schema().check();
        assert!(problems.is_empty(), "{problems:?}");
    }
}
