//! `moved { from = aws_eks_node_group.x  to = dataplatform_nodegroup.x }` (Terraform 1.8+):
//! the AWS provider's state of a node group, mapped to this resource's without calling AWS.
//! The next refresh reads the group as an import would; the plan then shows only what this
//! resource adds (the purpose's label and taint, the autoscaler tags) and never a replacement.
//!
//! The AWS provider's `aws_eks_node_group` (SDKv2, schema version 0 since it was added) stores
//! blocks as lists, zero for unset numbers, and its own `id` (`cluster:name`, the same form as
//! ours). `scaling_config.desired_size` is required there, and most configurations ignore its
//! changes because the cluster autoscaler owns it; here it is optional and left to the
//! autoscaler unless set, so it moves as `current_desired_size`. `node_repair_config` moves
//! when repair is on or tuned (the AWS provider records `enabled = false` for groups that never
//! had it, which is no configuration here), `remote_access` when it gives a key or groups.

use serde_json::Value as Json;

use crate::clients::eks::Taint;
use crate::framework::resource::MoveSource;
use crate::framework::{Diagnostic, Diagnostics};
use crate::value::Value;

/// The providers whose `aws_eks_node_group` state can be taken over (Terraform's and
/// OpenTofu's registry addresses of the AWS provider).
const AWS_PROVIDERS: [&str; 2] = [
    "registry.terraform.io/hashicorp/aws",
    "registry.opentofu.org/hashicorp/aws",
];
const SOURCE_TYPE: &str = "aws_eks_node_group";
/// The AWS provider's schema version of `aws_eks_node_group`.
const SOURCE_SCHEMA_VERSION: i64 = 0;

fn refused(summary: &str, detail: String) -> Diagnostics {
    Diagnostic::error(summary, detail).into()
}

/// A string attribute, `None` when absent, null or empty.
fn text<'a>(state: &'a Json, name: &str) -> Option<&'a str> {
    state
        .get(name)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
}

fn string(state: &Json, name: &str) -> Value {
    text(state, name).map_or(Value::Null, Value::string)
}

/// A whole number, with the SDK's zero for "unset" read as null.
fn positive(v: Option<&Json>) -> Value {
    v.and_then(Json::as_i64)
        .filter(|n| *n > 0)
        .map_or(Value::Null, Value::number)
}

/// The strings of a list attribute, or `None` when it is absent or null.
fn strings(state: &Json, name: &str) -> Option<Vec<Value>> {
    state.get(name).and_then(Json::as_array).map(|items| {
        items
            .iter()
            .filter_map(Json::as_str)
            .map(Value::string)
            .collect()
    })
}

fn string_list(state: &Json, name: &str) -> Value {
    strings(state, name).map_or(Value::Null, Value::list)
}

fn string_set(state: &Json, name: &str) -> Value {
    strings(state, name).map_or(Value::Null, Value::set)
}

fn string_map(state: &Json, name: &str) -> Value {
    match state.get(name).and_then(Json::as_object) {
        Some(m) => Value::map(
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), Value::string(v)))),
        ),
        None => Value::Null,
    }
}

/// The one element of a block the SDK stores as a list of at most one.
fn single<'a>(state: &'a Json, name: &str) -> Option<&'a Json> {
    state
        .get(name)
        .and_then(Json::as_array)
        .and_then(|l| l.first())
        .filter(|b| b.is_object())
}

/// A `node_repair_config` block of the AWS provider's state; null when repair is off and not
/// tuned (what the AWS provider records for a group that never had it).
fn node_repair(c: &Json) -> Value {
    let enabled = c.get("enabled").and_then(Json::as_bool).unwrap_or(false);
    let numbers = [
        "max_unhealthy_node_threshold_count",
        "max_unhealthy_node_threshold_percentage",
        "max_parallel_nodes_repaired_count",
        "max_parallel_nodes_repaired_percentage",
    ];
    let overrides: Vec<Value> = c
        .get("node_repair_config_overrides")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|o| {
            Value::object([
                (
                    "node_monitoring_condition",
                    string(o, "node_monitoring_condition"),
                ),
                ("node_unhealthy_reason", string(o, "node_unhealthy_reason")),
                (
                    "min_repair_wait_time_mins",
                    Value::number(
                        o.get("min_repair_wait_time_mins")
                            .and_then(Json::as_i64)
                            .unwrap_or(0),
                    ),
                ),
                ("repair_action", string(o, "repair_action")),
            ])
        })
        .collect();
    let tuned = numbers.iter().any(|n| !positive(c.get(*n)).is_null()) || !overrides.is_empty();
    if !enabled && !tuned {
        return Value::Null;
    }
    let mut fields = vec![("enabled", Value::bool(enabled))];
    fields.extend(numbers.iter().map(|n| (*n, positive(c.get(*n)))));
    fields.push(("node_repair_config_overrides", Value::list(overrides)));
    Value::object(fields)
}

/// The state of an `aws_eks_node_group`, as this resource's state.
///
/// # Errors
/// When the source is another type or provider, a schema version this mapping does not know,
/// or holds settings this resource does not manage.
pub fn from_aws(source: &MoveSource<'_>) -> Result<Value, Diagnostics> {
    if source.type_name != SOURCE_TYPE || !AWS_PROVIDERS.contains(&source.provider_address) {
        return Err(refused(
            "Move not supported",
            format!(
                "dataplatform_nodegroup takes over the state of {SOURCE_TYPE} (hashicorp/aws) only, not of \
                 {} ({}). Use `moved {{ from = {SOURCE_TYPE}.<name>  to = dataplatform_nodegroup.<name> }}`, or \
                 import the object instead.",
                source.type_name, source.provider_address
            ),
        ));
    }
    if source.schema_version != SOURCE_SCHEMA_VERSION {
        return Err(refused(
            "Unknown aws_eks_node_group state version",
            format!(
                "The {SOURCE_TYPE} state was written with schema version {}; this provider maps version \
                 {SOURCE_SCHEMA_VERSION}. Import the node group instead: terraform import \
                 dataplatform_nodegroup.<name> <cluster>:<node group>.",
                source.schema_version
            ),
        ));
    }
    let s = source.state;
    let (Some(cluster), Some(name)) = (text(s, "cluster_name"), text(s, "node_group_name")) else {
        let missing = if text(s, "cluster_name").is_none() {
            "cluster_name"
        } else {
            "node_group_name"
        };
        return Err(refused(
            "Incomplete aws_eks_node_group state",
            format!("The {SOURCE_TYPE} state has no {missing}: there is nothing to take over."),
        ));
    };
    let remote_access = single(s, "remote_access")
        // EKS opens SSH only with a key pair.
        .filter(|a| text(a, "ec2_ssh_key").is_some())
        .map_or(Value::Null, |a| {
            Value::object([
                ("ec2_ssh_key", string(a, "ec2_ssh_key")),
                (
                    "source_security_group_ids",
                    strings(a, "source_security_group_ids")
                        .filter(|l| !l.is_empty())
                        .map_or(Value::Null, Value::set),
                ),
            ])
        });
    let node_repair_config = single(s, "node_repair_config").map_or(Value::Null, node_repair);
    let scaling = single(s, "scaling_config");
    let scaling_config = scaling.map_or(Value::Null, |c| {
        Value::object([
            (
                "min_size",
                c.get("min_size")
                    .and_then(Json::as_i64)
                    .map_or(Value::Null, Value::number),
            ),
            (
                "max_size",
                c.get("max_size")
                    .and_then(Json::as_i64)
                    .map_or(Value::Null, Value::number),
            ),
            // Left to the cluster autoscaler unless the configuration sets it.
            ("desired_size", Value::Null),
        ])
    });
    let current_desired_size = scaling
        .and_then(|c| c.get("desired_size"))
        .and_then(Json::as_i64)
        .map_or(Value::Null, Value::number);
    let update_config = single(s, "update_config").map_or(Value::Null, |u| {
        Value::object([
            ("max_unavailable", positive(u.get("max_unavailable"))),
            (
                "max_unavailable_percentage",
                positive(u.get("max_unavailable_percentage")),
            ),
            ("update_strategy", string(u, "update_strategy")),
        ])
    });
    let launch_template = single(s, "launch_template").map_or(Value::Null, |t| {
        Value::object([
            ("id", string(t, "id")),
            ("name", string(t, "name")),
            ("version", string(t, "version")),
        ])
    });
    // What the purpose implies (its label, and the taint of Spark groups) is not repeated in
    // `labels` and `taint`, as an import splits it.
    let live_labels: std::collections::BTreeMap<String, String> = s
        .get("labels")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect();
    let live_taints: Vec<Taint> = s
        .get("taint")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(Taint {
                key: text(t, "key")?.to_string(),
                value: text(t, "value").map(str::to_string),
                effect: text(t, "effect")?.to_string(),
            })
        })
        .collect();
    let (purpose, labels, taints) = super::purpose::split_live(&live_labels, &live_taints);
    let labels = if labels.is_empty() {
        Value::Null
    } else {
        Value::map(labels.into_iter().map(|(k, v)| (k, Value::string(v))))
    };
    let taint = if taints.is_empty() {
        Value::Null
    } else {
        Value::list(
            taints
                .into_iter()
                .map(|t| {
                    Value::object([
                        ("key", Value::string(t.key)),
                        ("value", t.value.map_or(Value::Null, Value::string)),
                        ("effect", Value::string(t.effect)),
                    ])
                })
                .collect(),
        )
    };
    let autoscaling_group_names = Value::list(
        single(s, "resources")
            .and_then(|r| r.get("autoscaling_groups"))
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| text(g, "name"))
            .map(Value::string)
            .collect(),
    );
    Ok(Value::object([
        ("id", Value::string(format!("{cluster}:{name}"))),
        ("cluster_name", Value::string(cluster)),
        ("name", Value::string(name)),
        ("purpose", Value::string(purpose)),
        ("node_role_arn", string(s, "node_role_arn")),
        ("subnet_ids", string_set(s, "subnet_ids")),
        ("instance_types", string_list(s, "instance_types")),
        ("capacity_type", string(s, "capacity_type")),
        ("disk_size", positive(s.get("disk_size"))),
        ("ami_type", string(s, "ami_type")),
        ("version", string(s, "version")),
        ("release_version", string(s, "release_version")),
        (
            "force_update_version",
            s.get("force_update_version")
                .and_then(Json::as_bool)
                .map_or(Value::Null, Value::bool),
        ),
        ("labels", labels),
        ("tags", string_map(s, "tags")),
        ("tags_all", string_map(s, "tags_all")),
        ("arn", string(s, "arn")),
        ("status", string(s, "status")),
        ("autoscaling_group_names", autoscaling_group_names),
        ("current_desired_size", current_desired_size),
        ("scaling_config", scaling_config),
        ("update_config", update_config),
        ("launch_template", launch_template),
        ("node_repair_config", node_repair_config),
        ("remote_access", remote_access),
        ("taint", taint),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An `aws_eks_node_group` as the AWS provider (v6, with its `region` attribute) stores it.
    fn aws_state() -> Json {
        json!({
            "ami_type": "AL2_x86_64",
            "arn": "arn:aws:eks:eu-central-1:123456789012:nodegroup/analytics/spark-executors/0c",
            "capacity_type": "SPOT",
            "cluster_name": "analytics",
            "disk_size": 0,
            "force_update_version": null,
            "id": "analytics:spark-executors",
            "instance_types": ["r5d.2xlarge", "r5dn.2xlarge"],
            "labels": {"purpose": "spark-executor"},
            "launch_template": [],
            "node_group_name": "spark-executors",
            "node_group_name_prefix": "",
            "node_repair_config": [{"enabled": false}],
            "node_role_arn": "arn:aws:iam::123456789012:role/eks-node",
            "region": "eu-central-1",
            "release_version": "1.29.3-20240531",
            "remote_access": [],
            "resources": [{
                "autoscaling_groups": [{"name": "eks-spark-executors-0c"}],
                "remote_access_security_group_id": ""
            }],
            "scaling_config": [{"desired_size": 3, "max_size": 50, "min_size": 0}],
            "status": "ACTIVE",
            "subnet_ids": ["subnet-b", "subnet-a"],
            "tags": {"team": "data"},
            "tags_all": {"team": "data"},
            "taint": [{"effect": "NO_SCHEDULE", "key": "purpose", "value": "spark-executor"}],
            "timeouts": null,
            "update_config": [{"max_unavailable": 0, "max_unavailable_percentage": 33}],
            "version": "1.29"
        })
    }

    fn source<'a>(state: &'a Json, type_name: &'a str, version: i64) -> MoveSource<'a> {
        MoveSource {
            provider_address: "registry.terraform.io/hashicorp/aws",
            type_name,
            schema_version: version,
            state,
        }
    }

    fn attr<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
        path.iter()
            .try_fold(v, |v, k| v.get_attr(k))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn an_aws_node_group_maps_attribute_by_attribute() {
        let state = aws_state();
        let v = from_aws(&source(&state, SOURCE_TYPE, 0)).expect("mapped");
        assert_eq!(
            attr(&v, &["id"]),
            &Value::string("analytics:spark-executors")
        );
        assert_eq!(attr(&v, &["name"]), &Value::string("spark-executors"));
        assert_eq!(attr(&v, &["purpose"]), &Value::string("spark-executor"));
        assert_eq!(
            attr(&v, &["disk_size"]),
            &Value::Null,
            "the SDK's zero is unset"
        );
        assert_eq!(
            attr(&v, &["scaling_config", "max_size"]),
            &Value::number(50)
        );
        assert_eq!(attr(&v, &["scaling_config", "desired_size"]), &Value::Null);
        assert_eq!(attr(&v, &["current_desired_size"]), &Value::number(3));
        assert_eq!(
            attr(&v, &["update_config", "max_unavailable"]),
            &Value::Null
        );
        assert_eq!(
            attr(&v, &["update_config", "max_unavailable_percentage"]),
            &Value::number(33)
        );
        assert_eq!(attr(&v, &["launch_template"]), &Value::Null);
        assert_eq!(
            attr(&v, &["subnet_ids"]),
            &Value::set(vec![Value::string("subnet-b"), Value::string("subnet-a")])
        );
        assert_eq!(
            attr(&v, &["autoscaling_group_names"]),
            &Value::list(vec![Value::string("eks-spark-executors-0c")])
        );
        // The purpose's label and taint are implied, not repeated.
        assert_eq!(attr(&v, &["labels"]), &Value::Null);
        assert_eq!(attr(&v, &["taint"]), &Value::Null);
        let mut custom = aws_state();
        custom["labels"] = json!({"purpose": "batch", "team": "data"});
        let v = from_aws(&source(&custom, SOURCE_TYPE, 0)).expect("mapped");
        assert_eq!(attr(&v, &["purpose"]), &Value::string("custom"));
        assert_eq!(
            attr(&v, &["labels"]),
            &Value::map([
                ("purpose", Value::string("batch")),
                ("team", Value::string("data"))
            ])
        );
        let taints = v
            .get_attr("taint")
            .and_then(Value::as_list)
            .map(<[Value]>::len);
        assert_eq!(taints, Some(1), "a custom group keeps its taint");
    }

    #[test]
    fn remote_access_node_repair_and_the_update_strategy_move() {
        let plain = from_aws(&source(&aws_state(), SOURCE_TYPE, 0)).expect("mapped");
        assert_eq!(attr(&plain, &["remote_access"]), &Value::Null);
        assert_eq!(
            attr(&plain, &["node_repair_config"]),
            &Value::Null,
            "repair off and untuned is no configuration"
        );
        let mut state = aws_state();
        state["remote_access"] =
            json!([{"ec2_ssh_key": "ops", "source_security_group_ids": ["sg-0123456789abcdef0"]}]);
        state["node_repair_config"] = json!([{
            "enabled": true,
            "max_parallel_nodes_repaired_count": 2,
            "node_repair_config_overrides": [{
                "node_monitoring_condition": "AcceleratedHardwareReady",
                "node_unhealthy_reason": "NvidiaXID13Error",
                "min_repair_wait_time_mins": 10,
                "repair_action": "Reboot"
            }]
        }]);
        state["update_config"] = json!([{"max_unavailable": 1, "max_unavailable_percentage": 0, "update_strategy": "MINIMAL"}]);
        let v = from_aws(&source(&state, SOURCE_TYPE, 0)).expect("mapped");
        assert_eq!(
            attr(&v, &["remote_access", "ec2_ssh_key"]),
            &Value::string("ops")
        );
        assert_eq!(
            attr(&v, &["remote_access", "source_security_group_ids"]),
            &Value::set(vec![Value::string("sg-0123456789abcdef0")])
        );
        assert_eq!(
            attr(&v, &["node_repair_config", "enabled"]),
            &Value::bool(true)
        );
        assert_eq!(
            attr(
                &v,
                &["node_repair_config", "max_parallel_nodes_repaired_count"]
            ),
            &Value::number(2)
        );
        assert_eq!(
            attr(&v, &["update_config", "update_strategy"]),
            &Value::string("MINIMAL")
        );
        let overrides = attr(&v, &["node_repair_config", "node_repair_config_overrides"]);
        assert_eq!(overrides.as_list().map(<[Value]>::len), Some(1));
    }

    #[test]
    fn other_types_versions_and_nameless_states_are_refused_by_name() {
        let state = aws_state();
        let text = |r: Result<Value, Diagnostics>| format!("{:?}", r.err().unwrap_or_default());
        let other = text(from_aws(&source(&state, "aws_eks_cluster", 0)));
        assert!(
            other.contains("aws_eks_node_group (hashicorp/aws) only")
                && other.contains("aws_eks_cluster"),
            "{other}"
        );
        let newer = text(from_aws(&source(&state, SOURCE_TYPE, 1)));
        assert!(newer.contains("schema version 1"), "{newer}");
        let mut nameless = aws_state();
        nameless["node_group_name"] = Json::Null;
        let nameless = text(from_aws(&source(&nameless, SOURCE_TYPE, 0)));
        assert!(nameless.contains("node_group_name"), "{nameless}");
    }
}
