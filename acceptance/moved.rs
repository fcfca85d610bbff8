//! `moved { from = aws_eks_node_group.x  to = dataplatform_nodegroup.x }` with real Terraform
//! 1.15.5: a state holding an `aws_eks_node_group` as the AWS provider writes it moves to this
//! provider without touching AWS; the plan shows no replacement, and after the apply the plan
//! is empty. A `moved` block from a type that cannot be mapped fails the plan naming the
//! expected form.
//!
//! What Terraform needs from the source provider: its schema only. It starts every provider
//! the prior state names to load schemas, but calls nothing else of the AWS provider for the
//! move (the target provider's MoveResourceState does it). The AWS provider cannot be
//! installed here, so a schema-only stand-in serves `hashicorp/aws` (examples/aws-schema-provider,
//! which fails any call that would touch AWS).

use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::sandbox::Sandbox;
use crate::support::{
    apply, assert_no_changes, aws_schema_binary, block_on, hcl_list, plan, required_providers,
    Workspace, TERRAFORM_VERSIONS,
};

const NAME: &str = "spark-executors";

/// A Spark executor group made with the AWS SDK, as the AWS provider would make it; waits for
/// it to become ACTIVE.
fn create_with_the_sdk(sb: &Sandbox) -> aws_sdk_eks::types::Nodegroup {
    use aws_sdk_eks::types::{CapacityTypes, NodegroupScalingConfig, Taint, TaintEffect};
    let eks = aws_sdk_eks::Client::new(&sb.sdk_config());
    block_on(
        eks.create_nodegroup()
            .cluster_name(sb.cluster())
            .nodegroup_name(NAME)
            .node_role(sb.node_role_arn())
            .set_subnets(Some(sb.subnet_ids()))
            .instance_types("r5d.2xlarge")
            .instance_types("r5dn.2xlarge")
            .capacity_type(CapacityTypes::Spot)
            .labels("purpose", "spark-executor")
            .taints(
                Taint::builder()
                    .key("purpose")
                    .value("spark-executor")
                    .effect(TaintEffect::NoSchedule)
                    .build(),
            )
            .tags("team", "data")
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(0)
                    .max_size(50)
                    .desired_size(0)
                    .build(),
            )
            .send(),
    )
    .expect("create a node group with the SDK");
    let started = Instant::now();
    loop {
        let g = sb.describe_nodegroup(NAME);
        if g.status().map(|s| s.as_str()) == Some("ACTIVE") {
            return g;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the group never became ACTIVE"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The state file the AWS provider (v6) writes for `aws_eks_node_group.<label>` of `g`.
fn aws_state(label: &str, g: &aws_sdk_eks::types::Nodegroup) -> String {
    let scaling = g.scaling_config();
    let attributes = json!({
        "ami_type": g.ami_type().map(|a| a.as_str()),
        "arn": g.nodegroup_arn(),
        "capacity_type": g.capacity_type().map(|c| c.as_str()),
        "cluster_name": g.cluster_name(),
        "disk_size": g.disk_size().unwrap_or(0),
        "force_update_version": null,
        "id": format!("{}:{}", g.cluster_name().unwrap_or_default(), NAME),
        "instance_types": g.instance_types(),
        "labels": g.labels(),
        "launch_template": [],
        "node_group_name": NAME,
        "node_group_name_prefix": "",
        "node_repair_config": [],
        "node_role_arn": g.node_role(),
        "region": "eu-central-1",
        "release_version": g.release_version(),
        "remote_access": [],
        "resources": [{
            "autoscaling_groups": g.resources().map(|r| r.auto_scaling_groups().iter()
                .map(|a| json!({"name": a.name()})).collect::<Vec<_>>()).unwrap_or_default(),
            "remote_access_security_group_id": ""
        }],
        "scaling_config": [{
            "desired_size": scaling.and_then(|s| s.desired_size()).unwrap_or(0),
            "max_size": scaling.and_then(|s| s.max_size()).unwrap_or(0),
            "min_size": scaling.and_then(|s| s.min_size()).unwrap_or(0)
        }],
        "status": "ACTIVE",
        "subnet_ids": g.subnets(),
        "tags": {"team": "data"},
        "tags_all": {"team": "data"},
        "taint": g.taints().iter().map(|t| json!({
            "effect": t.effect().map(|e| e.as_str()),
            "key": t.key(),
            "value": t.value()
        })).collect::<Vec<_>>(),
        "timeouts": null,
        "update_config": [{"max_unavailable": 1, "max_unavailable_percentage": 0}],
        "version": g.version()
    });
    state_file("aws_eks_node_group", label, &attributes)
}

fn state_file(type_name: &str, label: &str, attributes: &Json) -> String {
    json!({
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": 3,
        "lineage": "5e0d2c5e-8e8a-4c55-9a53-0b4b8f1f3a61",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": type_name,
            "name": label,
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": attributes,
                "sensitive_attributes": [],
                "private": "eyJlMmJmYjczMC1lY2FhLTExZTYtOGY4OC0zNDM2M2JjN2M0YzAiOnsiY3JlYXRlIjozNjAwMDAwMDAwMDAwLCJkZWxldGUiOjM2MDAwMDAwMDAwMDAsInVwZGF0ZSI6MzYwMDAwMDAwMDAwMH19"
            }]
        }],
        "check_results": null
    })
    .to_string()
}

fn config(sb: &Sandbox, from: &str) -> String {
    format!(
        r#"{rp}
provider "dataplatform" {{
  region = "eu-central-1"
}}

moved {{
  from = {from}
  to   = dataplatform_nodegroup.spark_executor
}}

resource "dataplatform_nodegroup" "spark_executor" {{
  cluster_name   = "{cluster}"
  name           = "{NAME}"
  purpose        = "spark-executor"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["r5d.2xlarge", "r5dn.2xlarge"]
  capacity_type  = "SPOT"
  tags = {{
    team = "data"
  }}
  scaling_config {{
    min_size = 0
    max_size = 50
  }}
}}
"#,
        rp = required_providers(),
        cluster = sb.cluster(),
        role = sb.node_role_arn(),
        subnets = hcl_list(&sb.subnet_ids()),
    )
}

/// A workspace where both providers are dev overrides, so no `init` is needed: `init` would
/// look up the AWS provider the state names in the registry, which these machines cannot
/// reach. A user migrating has it installed already.
fn workspace(sb: &Sandbox) -> Workspace {
    let ws = sb.workspace(TERRAFORM_VERSIONS[0]);
    ws.override_provider("hashicorp/aws", &aws_schema_binary());
    ws
}

#[test]
fn an_aws_eks_node_group_moves_without_replacement() {
    let sb = Sandbox::start();
    let group = create_with_the_sdk(&sb);
    let ws = workspace(&sb);
    ws.write("terraform.tfstate", &aws_state("spark_executor", &group));
    ws.write("main.tf", &config(&sb, "aws_eks_node_group.spark_executor"));

    let p = plan(&ws);
    p.assert_success();
    let text = p.text();
    assert!(
        text.contains("(moved from aws_eks_node_group.spark_executor)")
            || text.contains(
                "aws_eks_node_group.spark_executor has moved to dataplatform_nodegroup.spark_executor"
            ),
        "{text}"
    );
    assert!(!text.contains("must be replaced"), "{text}");
    assert!(
        text.contains("0 to add") && text.contains("0 to destroy") || text.contains("No changes"),
        "{text}"
    );
    let out = apply(&ws);
    out.assert_success();
    assert_no_changes(&ws);

    // AWS saw no create beyond the SDK's and no delete: the group was taken over as it was.
    assert_eq!(sb.stat("eks.CreateNodegroup"), 1);
    assert_eq!(sb.stat("eks.DeleteNodegroup"), 0);
    let state: Json = serde_json::from_str(
        &std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).expect("state"),
    )
    .expect("state JSON");
    let resources = state["resources"].as_array().cloned().unwrap_or_default();
    assert_eq!(resources.len(), 1, "{state}");
    assert_eq!(resources[0]["type"], "dataplatform_nodegroup");
    assert_eq!(
        resources[0]["instances"][0]["identity"],
        json!({"cluster_name": sb.cluster(), "name": NAME})
    );

    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(sb.nodegroups().is_empty());
}

#[test]
fn a_move_from_a_type_that_cannot_be_mapped_names_the_expected_form() {
    let sb = Sandbox::start();
    let ws = workspace(&sb);
    let asg = json!({
        "id": "eks-spark-executors-0c",
        "name": "eks-spark-executors-0c",
        "max_size": 50,
        "min_size": 0
    });
    ws.write(
        "terraform.tfstate",
        &state_file("aws_autoscaling_group", "executors", &asg),
    );
    ws.write("main.tf", &config(&sb, "aws_autoscaling_group.executors"));
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    out.assert_failure();
    let text = out.flat();
    assert!(
        text.contains("aws_eks_node_group (hashicorp/aws) only")
            && text.contains("aws_autoscaling_group")
            && text.contains("moved { from = aws_eks_node_group.<name>"),
        "{text}"
    );
    // Nothing was created.
    assert!(sb.nodegroups().is_empty());
}
