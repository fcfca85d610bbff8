//! The `dataplatform_nodegroup` schema: everything `aws_eks_node_group` users rely on, plus
//! `purpose`, the plan-time `placement`, and the autoscaler tags.

use std::time::Duration;

use crate::clients::eks;
use crate::framework::plan_modifiers::{RequiresReplace, UseStateForUnknown};
use crate::framework::rules::Rule;
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::timeouts;
use crate::framework::validators::{
    each, int_between, matches, one_of, size_between, string_length,
};
use crate::resources::common::{
    eks_cluster_name, labels, placement_type, string_list, string_map, taint_object,
    LABEL_KEY_PATTERN,
};
use crate::value::{Type, Value};

pub const PURPOSES: &[&str] = &["infra", "spark-driver", "spark-executor", "custom"];
pub const TAINT_EFFECTS: &[&str] = &["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"];
pub const NODEGROUP_NAME_PATTERN: &str = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,62}$";
pub const NAME_PREFIX_PATTERN: &str = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,36}$";
pub const ROLE_ARN_PATTERN: &str =
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$";
pub const MAX_TAINTS: usize = 50;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The schema, built once per process (it compiles the validators' patterns).
pub fn schema() -> Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(0, block())).clone()
}

fn block() -> Block {
    Block::new()
        .description(
            "An EKS managed node group with a purpose: `infra` for platform services, `spark-driver` for \
             Spark drivers, `spark-executor` for Spark executors on spot instances with local NVMe. The purpose \
             expands to a `purpose` node label, a `purpose=<value>:NO_SCHEDULE` taint for Spark groups so nothing \
             else lands there, capacity defaults, and the Auto Scaling group tags the cluster autoscaler needs to \
             scale the group from zero. Everything the purpose implies is shown in the plan and can be overridden.\n\n\
             The desired size is set at creation and then left to the cluster autoscaler: changes it makes are \
             not drift, and raising `min_size` above the live size works in one apply.\n\n\
             A group is created once: until its create is recorded in the state it carries the tag \
             `terraform-provider-dataplatform:pending-create` (the digest of the planned group), so an apply \
             that ended before recording it (the provider killed, an answer lost) is followed by one that \
             records that group instead of creating a second. A group of the configured name without that \
             tag is never taken over: the apply fails and names the `terraform import` command.",
        )
        .attribute(
            Attribute::computed("id", Type::String)
                .description("`cluster_name:name`.")
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(
            eks_cluster_name(Attribute::required("cluster_name", Type::String))
                .description("Name of the EKS cluster.")
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("name", Type::String)
                .description("Name of the node group. Generated from `name_prefix` (or the purpose) when left out.")
                .validator(matches(NODEGROUP_NAME_PATTERN, "a node group name (letters, digits, - and _, up to 63)"))
                .plan_modifier(UseStateForUnknown)
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional("name_prefix", Type::String)
                .description(
                    "Creates a unique name beginning with this prefix; use it with `create_before_destroy` so a \
                     replacement never clashes with the group it replaces.",
                )
                .validator(matches(NAME_PREFIX_PATTERN, "a name prefix of up to 37 letters, digits, - and _"))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("purpose", Type::String)
                .description(
                    "What the nodes are for. `infra`, `spark-driver` and `spark-executor` add the label \
                     `purpose=<value>`; the Spark purposes also add the taint `purpose=<value>:NO_SCHEDULE`; \
                     `spark-executor` defaults to spot capacity on `r5d.2xlarge`/`r5dn.2xlarge`. `custom` adds nothing.",
                )
                .default_value(Value::string("custom"))
                .validator(one_of(PURPOSES)),
        )
        .attribute(
            Attribute::required("node_role_arn", Type::String)
                .description("ARN of the IAM role the nodes run as.")
                .validator(matches(ROLE_ARN_PATTERN, "an IAM role ARN such as \"arn:aws:iam::123456789012:role/eks-nodes\""))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::required("subnet_ids", Type::Set(Box::new(Type::String)))
                .description("Subnets to launch nodes in.")
                .validator(size_between(1, 16))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("instance_types", string_list())
                .description(
                    "Instance types, all of the same CPU and memory size so the autoscaler can plan. Defaults by \
                     purpose: `m6i.2xlarge` for `infra` and `spark-driver`, `r5d.2xlarge` and `r5dn.2xlarge` for \
                     `spark-executor`, `t3.medium` for `custom`.",
                )
                .validator(size_between(1, 20))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("capacity_type", Type::String)
                .description(
                    "`ON_DEMAND`, `SPOT` or `CAPACITY_BLOCK` (EC2 Capacity Blocks for ML: needs a `launch_template` \
                     that targets the reservation). Defaults to `SPOT` for `spark-executor`, `ON_DEMAND` otherwise.",
                )
                .validator(one_of(eks::capacity_types()))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("disk_size", Type::Number)
                .description("Root volume size in GiB. Default 20 (not allowed with a launch template).")
                .validator(int_between(1, 16384))
                .plan_modifier(UseStateForUnknown)
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("local_storage", Type::Bool)
                .description(
                    "Stripe the instance-store NVMe disks into one RAID0 array that backs the kubelet's and \
                     containerd's roots, so `emptyDir` volumes (Spark's local dirs) and image layers are on NVMe. The \
                     group then owns a launch template whose user data does it (Amazon Linux 2023: nodeadm's \
                     `spec.instance.localStorage`; Bottlerocket: `apiclient ephemeral-storage`). Defaults to on for a \
                     new `spark-executor` group whose instance types all have instance store and that has no \
                     `launch_template` or `remote_access`; off otherwise. Not allowed with a `launch_template` (its \
                     user data is yours), `remote_access` or `disk_size`. Changing it replaces the group.",
                )
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::computed("local_storage_gib", Type::Number).description(
                "With `local_storage`: the instance-store size of a node in GiB (the smallest among the instance \
                 types, from DescribeInstanceTypes), advertised to the cluster autoscaler as the nodes' \
                 ephemeral storage. Known after the first apply.",
            ),
        )
        .attribute(
            Attribute::computed(
                "managed_launch_template",
                Type::object(vec![
                    ("id", Type::String),
                    ("name", Type::String),
                    ("version", Type::Number),
                ]),
            )
            .description(
                "With `local_storage`: the launch template the group owns (id, name, the version the group \
                 runs). Its versions carry the user data and the group's `tags_all` as the tags of the instances \
                 and their volumes (EKS does not pass a group's tags on to its instances). A change of the tags \
                 adds a version and rolls the nodes onto it in place (UpdateNodegroupVersion, honouring \
                 `update_config` and `force_update_version`), so the plan shows the version as known after apply. \
                 It is deleted with the group.",
            ),
        )
        .attribute(
            Attribute::optional_computed("ami_type", Type::String)
                .description("AMI type. EKS picks one from the instance types when left out.")
                .validator(one_of(eks::ami_types()))
                .plan_modifier(UseStateForUnknown)
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("version", Type::String)
                .description("Kubernetes version of the nodes. Defaults to the cluster's. Changed in place.")
                .validator(matches(r"^[0-9]+\.[0-9]+$", "a Kubernetes minor version such as \"1.29\""))
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(
            Attribute::optional_computed("release_version", Type::String)
                .description("AMI release version. Defaults to the latest for `version`. Changed in place.")
                .validator(string_length(1, 64))
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(
            Attribute::optional("force_update_version", Type::Bool)
                .description("Replace nodes even when pods cannot be drained (PodDisruptionBudgets) during a version update."),
        )
        .attribute(
            labels("Kubernetes labels for the nodes, added to (and overriding) the purpose label."),
        )
        .attribute(
            Attribute::optional("tags", string_map())
                .description("Tags for the node group; merged over the provider's `default_tags`."),
        )
        .attribute(
            Attribute::computed("tags_all", string_map())
                .description("All tags of the node group, provider `default_tags` included."),
        )
        .attribute(
            Attribute::computed("arn", Type::String)
                .description("ARN of the node group.")
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(Attribute::computed("status", Type::String).description("Status reported by EKS."))
        .attribute(
            Attribute::computed("autoscaling_group_names", string_list())
                .description("The Auto Scaling groups behind the node group.")
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(
            Attribute::computed("current_desired_size", Type::Number)
                .description("The desired size right now, as the cluster autoscaler left it. Informational."),
        )
        .attribute(
            Attribute::computed("effective_labels", string_map())
                .description("The labels the nodes get: the purpose label and `labels`."),
        )
        .attribute(
            Attribute::computed("effective_taints", Type::List(Box::new(taint_object())))
                .description("The taints the nodes get: the purpose taint and `taint` blocks, sorted."),
        )
        .attribute(
            Attribute::computed("autoscaler_tags", string_map()).description(
                "Tags written on the Auto Scaling groups for the cluster autoscaler: discovery \
                 (`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>`) and scale-from-zero \
                 templates (`k8s.io/cluster-autoscaler/node-template/label/...`, `.../taint/...`, \
                 `.../resources/ephemeral-storage`). Reconciled on every apply.",
            ),
        )
        .attribute(
            Attribute::computed("placement", placement_type()).description(
                "How to schedule onto this group, known at plan time: `node_selector` (map) and `tolerations` \
                 (Kubernetes form), plus the group's node `labels`, `taints` (Kubernetes effect names) and \
                 `capacity_type`, which Spark pools check their placement against, and `local_storage` (whether \
                 `emptyDir` volumes are on instance-store NVMe: Spark pools put their local dirs there). Pass it \
                 to BI services and Spark pools.",
            ),
        )
        .block(
            NestedBlock::single(
                "scaling_config",
                Block::new()
                    .description("Size bounds for the cluster autoscaler.")
                    .attribute(
                        Attribute::required("min_size", Type::Number)
                            .description("Minimum number of nodes.")
                            .validator(int_between(0, 1000)),
                    )
                    .attribute(
                        Attribute::required("max_size", Type::Number)
                            .description("Maximum number of nodes.")
                            .validator(int_between(1, 1000)),
                    )
                    .attribute(
                        Attribute::optional_computed("desired_size", Type::Number)
                            .description(
                                "Nodes at creation (default `min_size`). Afterwards the cluster autoscaler owns the \
                                 live size; changing this value asks for that size once.",
                            )
                            .validator(int_between(0, 1000))
                            .plan_modifier(UseStateForUnknown),
                    ),
            )
            .items(1, 1),
        )
        .block(
            NestedBlock::list(
                "taint",
                Block::new()
                    .description("A Kubernetes taint for the nodes, added to (or overriding by key) the purpose taint.")
                    .attribute(
                        Attribute::required("key", Type::String)
                            .description("Taint key.")
                            .validator(matches(LABEL_KEY_PATTERN, "a Kubernetes label key such as \"dedicated\"")),
                    )
                    .attribute(
                        Attribute::optional("value", Type::String)
                            .description("Taint value.")
                            .validator(string_length(0, 63)),
                    )
                    .attribute(
                        Attribute::required("effect", Type::String)
                            .description("`NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`.")
                            .validator(one_of(TAINT_EFFECTS)),
                    ),
            )
            .items(0, MAX_TAINTS as i64),
        )
        .block(
            NestedBlock::single(
                "update_config",
                Block::new()
                    .description("How many nodes may be unavailable during an update: set exactly one.")
                    .attribute(
                        Attribute::optional("max_unavailable", Type::Number)
                            .description("Number of nodes.")
                            .validator(int_between(1, 100)),
                    )
                    .attribute(
                        Attribute::optional("max_unavailable_percentage", Type::Number)
                            .description("Percentage of nodes.")
                            .validator(int_between(1, 100)),
                    )
                    .attribute(
                        Attribute::optional_computed("update_strategy", Type::String)
                            .description(
                                "`DEFAULT` (new nodes before old ones are drained) or `MINIMAL` (old nodes are \
                                 drained first: no extra capacity, e.g. for scarce GPU or capacity-block instances). \
                                 EKS's choice when left out.",
                            )
                            .validator(one_of(eks::update_strategies()))
                            .plan_modifier(UseStateForUnknown),
                    )
                    .rule(
                        Rule::exactly_one_of(&["max_unavailable", "max_unavailable_percentage"]).message(
                            "Invalid update_config",
                            "Set exactly one of max_unavailable and max_unavailable_percentage.",
                        ),
                    ),
            ),
        )
        .block(NestedBlock::single("node_repair_config", node_repair_block()))
        .block(NestedBlock::single("remote_access", remote_access_block()))
        .block(
            NestedBlock::single(
                "launch_template",
                Block::new()
                    .description("An EC2 launch template for the nodes: set `id` or `name`.")
                    .attribute(
                        Attribute::optional_computed("id", Type::String)
                            .description("Launch template id. Known after apply when the template is given by `name`.")
                            .validator(matches(r"^lt-[0-9a-f]{8,17}$", "a launch template id such as \"lt-0123456789abcdef0\""))
                            .plan_modifier(RequiresReplace),
                    )
                    .attribute(
                        Attribute::optional_computed("name", Type::String)
                            .description("Launch template name. Known after apply when the template is given by `id`.")
                            .validator(string_length(3, 128))
                            .plan_modifier(RequiresReplace),
                    )
                    .attribute(
                        Attribute::required("version", Type::String)
                            .description("Launch template version; changed in place through a version update.")
                            .validator(string_length(1, 64)),
                    )
                    .rule(
                        Rule::exactly_one_of(&["id", "name"])
                            .message("Invalid launch_template", "Set exactly one of id and name."),
                    ),
            ),
        )
        .block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
            ("delete", DEFAULT_TIMEOUT),
        ]))
        .rule(
            Rule::conflicts_with("name_prefix", &["name"])
                .message("Conflicting arguments", "Set name or name_prefix, not both."),
        )
        .rule(Rule::conflicts_with("disk_size", &["launch_template"]).message(
            "Conflicting arguments",
            "disk_size cannot be set with a launch_template: set the volume size in the launch template.",
        ))
        .rule(Rule::conflicts_with("remote_access", &["launch_template"]).at("remote_access.ec2_ssh_key").message(
            "Conflicting arguments",
            "remote_access cannot be set with a launch_template (EKS refuses the group): give the key pair and \
             security groups in the launch template.",
        ))
}

/// `node_repair_config`: EKS node auto repair, changed in place.
fn node_repair_block() -> Block {
    Block::new()
        .description(
            "Node auto repair: EKS replaces or reboots nodes its node monitoring agent reports unhealthy. Changed \
             in place; removing the block turns repair off.",
        )
        .attribute(
            Attribute::required("enabled", Type::Bool).description("Whether EKS repairs unhealthy nodes."),
        )
        .attribute(
            Attribute::optional("max_unhealthy_node_threshold_count", Type::Number)
                .description("Repair stops while more nodes than this are unhealthy.")
                .validator(int_between(1, 1000)),
        )
        .attribute(
            Attribute::optional("max_unhealthy_node_threshold_percentage", Type::Number)
                .description("Repair stops while more than this percentage of nodes is unhealthy.")
                .validator(int_between(1, 100)),
        )
        .attribute(
            Attribute::optional("max_parallel_nodes_repaired_count", Type::Number)
                .description("At most this many nodes are repaired at once.")
                .validator(int_between(1, 1000)),
        )
        .attribute(
            Attribute::optional("max_parallel_nodes_repaired_percentage", Type::Number)
                .description("At most this percentage of the unhealthy nodes is repaired at once.")
                .validator(int_between(1, 100)),
        )
        .block(
            NestedBlock::list(
                "node_repair_config_overrides",
                Block::new()
                    .description("The repair action for one monitoring condition and reason, instead of EKS's.")
                    .attribute(
                        Attribute::required("node_monitoring_condition", Type::String)
                            .description("The condition the node monitoring agent reports, e.g. `AcceleratedHardwareReady`.")
                            .validator(matches(r"^[A-Za-z][A-Za-z0-9]{0,127}$", "a condition name such as \"AcceleratedHardwareReady\"")),
                    )
                    .attribute(
                        Attribute::required("node_unhealthy_reason", Type::String)
                            .description("The reason the agent gives, e.g. `NvidiaXID13Error`.")
                            .validator(matches(r"^[A-Za-z][A-Za-z0-9]{0,127}$", "a reason such as \"NvidiaXID13Error\"")),
                    )
                    .attribute(
                        Attribute::required("min_repair_wait_time_mins", Type::Number)
                            .description("Minutes the condition must last before the action is taken.")
                            .validator(int_between(0, 10_080)),
                    )
                    .attribute(
                        Attribute::required("repair_action", Type::String)
                            .description("`Replace`, `Reboot` or `NoAction`.")
                            .validator(one_of(eks::repair_actions())),
                    ),
            )
            .items(0, 100),
        )
        .rule(Rule::conflicts_with(
            "max_unhealthy_node_threshold_count",
            &["max_unhealthy_node_threshold_percentage"],
        ))
        .rule(Rule::conflicts_with(
            "max_parallel_nodes_repaired_count",
            &["max_parallel_nodes_repaired_percentage"],
        ))
}

/// `remote_access`: SSH to the nodes; EKS sets it at creation only.
fn remote_access_block() -> Block {
    Block::new()
        .description(
            "SSH access to the nodes, for groups without a launch template. Set at creation: a change replaces \
             the group.",
        )
        .attribute(
            Attribute::required("ec2_ssh_key", Type::String)
                .description("EC2 key pair name.")
                .validator(string_length(1, 255))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional("source_security_group_ids", Type::Set(Box::new(Type::String)))
                .description(
                    "Security groups allowed to reach port 22. Without them, port 22 is open to the internet \
                     (0.0.0.0/0).",
                )
                .validator(size_between(1, 32))
                .validator(each(matches(r"^sg-[0-9a-f]{8,17}$", "a security group id such as \"sg-0123456789abcdef0\"")))
                .plan_modifier(RequiresReplace),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(schema().check(), Vec::<String>::new());
    }

    #[test]
    fn name_patterns() {
        let ng = regex::Regex::new(NODEGROUP_NAME_PATTERN).unwrap();
        assert!(ng.is_match("spark-executors"));
        assert!(!ng.is_match("-bad"));
        assert!(!ng.is_match(&"a".repeat(64)));
        let key = regex::Regex::new(LABEL_KEY_PATTERN).unwrap();
        assert!(key.is_match("purpose"));
        assert!(key.is_match("node.kubernetes.io/lifecycle"));
        assert!(!key.is_match("bad key"));
    }
}
