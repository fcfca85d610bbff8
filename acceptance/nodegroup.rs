//! `dataplatform_nodegroup` with real Terraform against the EKS sandbox: the seed's three
//! groups, in-place updates versus replacement, drift, import, autoscaler ownership, faults,
//! timeouts and bad input.

use serde_json::{json, Value as Json};

use crate::sandbox::Sandbox;
use crate::support::{
    apply, assert_no_changes, block_on, hcl_list as list, line_of, plan, reimport,
    required_providers, state_resources, Workspace, TERRAFORM_VERSIONS,
};

/// A new sandbox and a workspace for Terraform `v` holding the seed's node groups, initialised.
fn seed_workspace(v: &str) -> (Sandbox, Workspace) {
    let sb = Sandbox::start();
    let ws = sb.workspace(v);
    ws.write("main.tf", &seed_config(&sb, "", ""));
    ws.init().assert_success();
    (sb, ws)
}

/// The seed's node groups; `executor_extra` is spliced into the executor block.
fn seed_config(sb: &Sandbox, infra_extra: &str, executor_extra: &str) -> String {
    let role = sb.node_role_arn();
    let subnets = list(&sb.subnet_ids());
    let cluster = sb.cluster();
    format!(
        r#"{rp}
provider "dataplatform" {{
  region = "eu-central-1"
}}

resource "dataplatform_nodegroup" "infra" {{
  cluster_name   = "{cluster}"
  name           = "infra"
  purpose        = "infra"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["m6i.2xlarge"]
  scaling_config {{
    min_size = 1
    max_size = 7
  }}
{infra_extra}}}

resource "dataplatform_nodegroup" "spark_driver" {{
  cluster_name  = "{cluster}"
  name          = "spark-drivers"
  purpose       = "spark-driver"
  node_role_arn = "{role}"
  subnet_ids    = {subnets}
  scaling_config {{
    min_size = 0
    max_size = 10
  }}
}}

resource "dataplatform_nodegroup" "spark_executor" {{
  cluster_name   = "{cluster}"
  name           = "spark-executors"
  purpose        = "spark-executor"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["r5d.2xlarge", "r5dn.2xlarge"]
  scaling_config {{
    min_size = 0
    max_size = 50
  }}
{executor_extra}}}

output "executor_placement" {{
  value = dataplatform_nodegroup.spark_executor.placement
}}
"#,
        rp = required_providers()
    )
}

fn state_of(ws: &Workspace, address: &str) -> Json {
    state_resources(ws)
        .into_iter()
        .find(|r| r["address"] == address)
        .map(|r| r["values"].clone())
        .unwrap_or(Json::Null)
}

#[test]
fn seed_groups_apply_update_replace_destroy() {
    for v in TERRAFORM_VERSIONS {
        let (sb, ws) = seed_workspace(v);

        // Placement is known at plan time.
        ws.run(&["plan", "-out=tfplan", "-no-color", "-input=false"])
            .assert_success();
        let shown = ws.run(&["show", "-json", "tfplan"]);
        let doc: Json = serde_json::from_str(&shown.stdout).expect("plan JSON");
        let planned = doc["planned_values"]["root_module"]["resources"]
            .as_array()
            .and_then(|rs| {
                rs.iter()
                    .find(|r| r["address"] == "dataplatform_nodegroup.spark_executor")
            })
            .map(|r| r["values"].clone())
            .expect("executor planned");
        assert_eq!(
            planned["placement"]["node_selector"],
            json!({"purpose": "spark-executor"}),
            "terraform {v}"
        );
        assert_eq!(
            planned["placement"]["tolerations"],
            json!([{"key": "purpose", "operator": "Equal", "value": "spark-executor", "effect": "NoSchedule"}])
        );
        assert_eq!(planned["capacity_type"], "SPOT");
        assert_eq!(planned["effective_taints"][0]["effect"], "NO_SCHEDULE");

        apply(&ws).assert_success();
        assert_eq!(
            sb.nodegroups(),
            vec!["infra", "spark-drivers", "spark-executors"]
        );
        let exec = sb.describe_nodegroup("spark-executors");
        assert_eq!(exec.capacity_type().map(|c| c.as_str()), Some("SPOT"));
        assert_eq!(exec.instance_types(), ["r5d.2xlarge", "r5dn.2xlarge"]);
        assert_eq!(
            exec.labels()
                .and_then(|l| l.get("purpose"))
                .map(String::as_str),
            Some("spark-executor")
        );
        assert_eq!(exec.taints().len(), 1);
        let infra = sb.describe_nodegroup("infra");
        assert_eq!(infra.capacity_type().map(|c| c.as_str()), Some("ON_DEMAND"));
        assert!(infra.taints().is_empty(), "infra is not tainted");
        let tags = sb.asg_tags_for(&exec);
        assert_eq!(
            tags.get("k8s.io/cluster-autoscaler/enabled")
                .map(String::as_str),
            Some("true")
        );
        assert_eq!(
            tags.get(&format!("k8s.io/cluster-autoscaler/{}", sb.cluster()))
                .map(String::as_str),
            Some("owned")
        );
        assert_eq!(
            tags.get("k8s.io/cluster-autoscaler/node-template/taint/purpose")
                .map(String::as_str),
            Some("spark-executor:NoSchedule")
        );
        assert_eq!(
            tags.get("k8s.io/cluster-autoscaler/node-template/label/purpose")
                .map(String::as_str),
            Some("spark-executor")
        );
        assert_no_changes(&ws);

        // Labels, taints and scaling change in place.
        let extra = "  labels = {\n    team = \"data\"\n  }\n  taint {\n    key    = \"dedicated\"\n    value  = \"etl\"\n    effect = \"NO_EXECUTE\"\n  }\n";
        ws.write(
            "main.tf",
            &seed_config(&sb, "", extra).replace("max_size = 50", "max_size = 60"),
        );
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        let exec = sb.describe_nodegroup("spark-executors");
        assert_eq!(
            exec.labels()
                .and_then(|l| l.get("team"))
                .map(String::as_str),
            Some("data")
        );
        assert_eq!(exec.taints().len(), 2);
        assert_eq!(exec.scaling_config().and_then(|s| s.max_size()), Some(60));
        let tags = sb.asg_tags_for(&exec);
        assert_eq!(
            tags.get("k8s.io/cluster-autoscaler/node-template/taint/dedicated")
                .map(String::as_str),
            Some("etl:NoExecute")
        );
        assert_no_changes(&ws);

        // An instance type change replaces the group.
        ws.write(
            "main.tf",
            &seed_config(&sb, "", extra)
                .replace("max_size = 50", "max_size = 60")
                .replace("\"r5dn.2xlarge\"", "\"r5ad.2xlarge\""),
        );
        let p = plan(&ws);
        assert!(
            p.text().contains("1 to add, 0 to change, 1 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        assert!(p.text().contains("forces replacement"), "{}", p.text());
        apply(&ws).assert_success();
        assert_eq!(
            sb.describe_nodegroup("spark-executors").instance_types(),
            ["r5d.2xlarge", "r5ad.2xlarge"]
        );
        assert_no_changes(&ws);

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(
            sb.nodegroups().is_empty(),
            "destroy leaves the sandbox empty"
        );
    }
}

#[test]
fn drift_import_and_autoscaler_ownership() {
    for v in TERRAFORM_VERSIONS {
        let (sb, ws) = seed_workspace(v);
        apply(&ws).assert_success();

        // The autoscaler moves the live size: not drift.
        sb.control(
            "POST",
            "/_sandbox/autoscaler",
            &json!({"cluster": sb.cluster(), "nodegroup": "infra", "desired": 4}),
        );
        assert_no_changes(&ws);
        // Raising min_size above the live size works in one apply.
        ws.write(
            "main.tf",
            &seed_config(&sb, "", "").replacen("min_size = 1", "min_size = 5", 1),
        );
        apply(&ws).assert_success();
        let infra = sb.describe_nodegroup("infra");
        let s = infra.scaling_config().expect("scaling");
        assert_eq!(s.min_size(), Some(5));
        assert_eq!(
            s.desired_size(),
            Some(5),
            "live size raised to the new minimum"
        );
        assert_no_changes(&ws);

        // Changed outside Terraform: the plan puts it back.
        let conf = sb.sdk_config();
        let eks = aws_sdk_eks::Client::new(&conf);
        block_on(
            eks.update_nodegroup_config()
                .cluster_name(sb.cluster())
                .nodegroup_name("spark-executors")
                .labels(
                    aws_sdk_eks::types::UpdateLabelsPayload::builder()
                        .remove_labels("purpose")
                        .build(),
                )
                .send(),
        )
        .expect("change labels outside Terraform");
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        assert_eq!(
            sb.describe_nodegroup("spark-executors")
                .labels()
                .and_then(|l| l.get("purpose"))
                .map(String::as_str),
            Some("spark-executor")
        );

        // Deleted outside Terraform: the plan creates it again.
        block_on(
            eks.delete_nodegroup()
                .cluster_name(sb.cluster())
                .nodegroup_name("spark-drivers")
                .send(),
        )
        .expect("delete");
        // EKS reports DELETING for a while; wait until it is gone.
        for _ in 0..50 {
            let found = block_on(
                eks.describe_nodegroup()
                    .cluster_name(sb.cluster())
                    .nodegroup_name("spark-drivers")
                    .send(),
            );
            if found.is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let p = plan(&ws);
        assert!(
            p.text().contains("1 to add, 0 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();

        // Import gives the same state.
        let before = state_of(&ws, "dataplatform_nodegroup.spark_executor");
        ws.run(&["state", "rm", "dataplatform_nodegroup.spark_executor"])
            .assert_success();
        let id = format!("{}:spark-executors", sb.cluster());
        ws.run(&[
            "import",
            "-no-color",
            "-input=false",
            "dataplatform_nodegroup.spark_executor",
            &id,
        ])
        .assert_success();
        let after = state_of(&ws, "dataplatform_nodegroup.spark_executor");
        for key in [
            "id",
            "purpose",
            "effective_labels",
            "effective_taints",
            "placement",
            "autoscaler_tags",
            "instance_types",
            "capacity_type",
            "arn",
        ] {
            assert_eq!(after[key], before[key], "terraform {v}: imported {key}");
        }
        // Terraform 1.0 drops outputs with `state rm`; the resource itself needs no change.
        let a = apply(&ws);
        assert!(
            a.text().contains("0 added, 0 changed, 0 destroyed"),
            "terraform {v}:\n{}",
            a.text()
        );
        assert_no_changes(&ws);
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(sb.nodegroups().is_empty());
    }
}

#[test]
fn converges_under_throttling_and_reports_update_failures() {
    for v in TERRAFORM_VERSIONS {
        let (sb, ws) = seed_workspace(v);
        sb.control(
            "POST",
            "/_sandbox/faults",
            &json!({"throttle_rate": 0.3, "services": ["eks", "autoscaling"]}),
        );
        apply(&ws).assert_success();
        assert_no_changes(&ws);
        let stats = sb.control("GET", "/_sandbox/stats", &json!({}));
        assert!(
            stats.to_string().contains("hrottl"),
            "faults were injected: {stats}"
        );
        sb.control("DELETE", "/_sandbox/faults", &json!({}));
        assert_eq!(
            sb.nodegroups(),
            vec!["infra", "spark-drivers", "spark-executors"],
            "nothing duplicated"
        );

        // A failed update names what EKS names.
        sb.control(
            "POST",
            "/_sandbox/fail-next-update",
            &json!({"cluster": sb.cluster(), "nodegroup": "infra", "error_code": "PodEvictionFailure",
                    "message": "Reached max retries while trying to evict pods from nodes", "resource_ids": ["metabase-6d5f9c7b8-x2x7q"]}),
        );
        ws.write(
            "main.tf",
            &seed_config(&sb, "  labels = {\n    tier = \"platform\"\n  }\n", ""),
        );
        let out = apply(&ws);
        out.assert_failure();
        assert!(
            out.text().contains("PodEvictionFailure"),
            "terraform {v}:\n{}",
            out.text()
        );
        assert!(
            out.text().contains("metabase-6d5f9c7b8-x2x7q"),
            "{}",
            out.text()
        );
        // The next apply converges.
        apply(&ws).assert_success();
        assert_no_changes(&ws);

        // A Kubernetes version change goes through UpdateNodegroupVersion, in place.
        let before = sb.describe_nodegroup("infra");
        ws.write(
            "main.tf",
            &seed_config(
                &sb,
                "  labels = {\n    tier = \"platform\"\n  }\n  version = \"1.30\"\n",
                "",
            ),
        );
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        let after = sb.describe_nodegroup("infra");
        assert_eq!(after.version(), Some("1.30"));
        assert_ne!(
            after.release_version(),
            before.release_version(),
            "new AMI release"
        );
        assert_eq!(
            after.nodegroup_arn(),
            before.nodegroup_arn(),
            "not replaced"
        );
        assert_no_changes(&ws);
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(sb.nodegroups().is_empty());
    }
}

#[test]
fn timeouts_are_honoured_and_state_records_what_exists() {
    let v = TERRAFORM_VERSIONS[0];
    let sb = Sandbox::start();
    let ws = sb.workspace(v);
    sb.control("POST", "/_sandbox/lifecycle", &json!({"describes": 100000}));
    ws.write(
        "main.tf",
        &seed_config(&sb, "  timeouts {\n    create = \"3s\"\n  }\n", ""),
    );
    ws.init().assert_success();
    let out = ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-target=dataplatform_nodegroup.infra",
    ]);
    out.assert_failure();
    assert!(out.text().contains("timed out"), "{}", out.text());
    let listed = ws.run(&["state", "list"]);
    assert!(
        listed.stdout.contains("dataplatform_nodegroup.infra"),
        "the group is recorded: {}",
        listed.text()
    );
    let p = plan(&ws);
    assert!(
        p.text().contains("tainted") || p.text().contains("must be replaced"),
        "{}",
        p.text()
    );
    sb.control("POST", "/_sandbox/lifecycle", &json!({"describes": 1}));
    ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-target=dataplatform_nodegroup.infra",
    ])
    .assert_success();
    assert_eq!(
        sb.nodegroups(),
        vec!["infra"],
        "re-apply converges, nothing orphaned"
    );
}

#[test]
fn bad_input_fails_at_plan_with_the_attribute_and_creates_nothing() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "effect = \"NO_EXECUTE\"",
            "effect = \"NoSchedule\"",
            "effect = \"NoSchedule\"",
            "taint[0].effect must be one of",
        ),
        (
            "purpose        = \"spark-executor\"",
            "purpose        = \"gpu\"",
            "\"gpu\"",
            "purpose must be one of",
        ),
        (
            "instance_types = [\"r5d.2xlarge\", \"r5dn.2xlarge\"]",
            "instance_types = []",
            "instance_types = []",
            "instance_types must have between 1 and 20",
        ),
        (
            "min_size = 0\n    max_size = 50",
            "min_size = 9\n    max_size = 5",
            "min_size = 9",
            "must not be greater than max_size",
        ),
    ];
    let v = TERRAFORM_VERSIONS[0];
    let sb = Sandbox::start();
    let ws = sb.workspace(v);
    ws.init().assert_success();
    let base = seed_config(
        &sb,
        "",
        "  taint {\n    key    = \"dedicated\"\n    effect = \"NO_EXECUTE\"\n  }\n",
    );
    for (from, to, needle, message) in cases {
        let cfg = base.replace(from, to);
        assert_ne!(cfg, base, "case {to} applies");
        ws.write("main.tf", &cfg);
        let out = plan(&ws);
        out.assert_failure();
        let line = line_of(&cfg, needle);
        let text = out.text();
        assert!(
            text.contains(&format!("on main.tf line {line}")),
            "{needle}: line {line}:\n{text}"
        );
        assert!(text.contains(message), "{message:?} in:\n{text}");
    }
    // A malformed role ARN, and too many taints.
    let cfg = base.replacen(&sb.node_role_arn(), "arn:aws:iam::role/nodes", 1);
    ws.write("main.tf", &cfg);
    let out = plan(&ws);
    out.assert_failure();
    assert!(
        out.text().contains("node_role_arn must be an IAM role ARN"),
        "{}",
        out.text()
    );
    assert!(out.text().contains(&format!(
        "on main.tf line {}",
        line_of(&cfg, "arn:aws:iam::role/nodes")
    )));
    let many: String = (0..50)
        .map(|i| format!("  taint {{\n    key    = \"k{i}\"\n    effect = \"NO_SCHEDULE\"\n  }}\n"))
        .collect();
    let cfg = seed_config(&sb, "", &many);
    ws.write("main.tf", &cfg);
    let out = plan(&ws);
    out.assert_failure();
    assert!(out.text().contains("at most 50 taints"), "{}", out.text());
    assert!(sb.nodegroups().is_empty(), "nothing created");
}

/// A group with what users of `aws_eks_node_group` also set: node auto repair, the update
/// strategy and SSH access; and a group on an EC2 Capacity Block through its launch template.
fn parity_config(sb: &Sandbox, repair: &str, template: &str) -> String {
    let role = sb.node_role_arn();
    let subnets = list(&sb.subnet_ids());
    let cluster = sb.cluster();
    format!(
        r#"{rp}
provider "dataplatform" {{
  region = "eu-central-1"
}}

resource "dataplatform_nodegroup" "gpu" {{
  cluster_name   = "{cluster}"
  name           = "gpu"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["g5.xlarge"]
  scaling_config {{
    min_size = 0
    max_size = 4
  }}
  update_config {{
    max_unavailable = 1
    update_strategy = "MINIMAL"
  }}
  remote_access {{
    ec2_ssh_key               = "ops"
    source_security_group_ids = ["sg-0123456789abcdef0"]
  }}
{repair}}}

resource "dataplatform_nodegroup" "reserved" {{
  cluster_name   = "{cluster}"
  name           = "reserved"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["p5.48xlarge"]
  capacity_type  = "CAPACITY_BLOCK"
  scaling_config {{
    min_size = 0
    max_size = 2
  }}
  launch_template {{
    name    = "{template}"
    version = "1"
  }}
}}
"#,
        rp = required_providers()
    )
}

const REPAIR: &str = r#"  node_repair_config {
    enabled                           = true
    max_parallel_nodes_repaired_count = 1
    node_repair_config_overrides {
      node_monitoring_condition = "AcceleratedHardwareReady"
      node_unhealthy_reason     = "NvidiaXID13Error"
      min_repair_wait_time_mins = 10
      repair_action             = "Reboot"
    }
  }
"#;

#[test]
fn repair_update_strategy_remote_access_and_capacity_blocks_round_trip() {
    for v in TERRAFORM_VERSIONS {
        let sb = Sandbox::start();
        let template = sb.control("POST", "/_sandbox/launch-template", &json!({}))["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ws = sb.workspace(v);
        ws.write("main.tf", &parity_config(&sb, REPAIR, &template));
        ws.init().assert_success();
        apply(&ws).assert_success();
        let gpu = sb.describe_nodegroup("gpu");
        let repair = gpu.node_repair_config().expect("repair configured");
        assert_eq!(repair.enabled(), Some(true), "terraform {v}");
        assert_eq!(repair.max_parallel_nodes_repaired_count(), Some(1));
        let o = &repair.node_repair_config_overrides()[0];
        assert_eq!(o.node_unhealthy_reason(), Some("NvidiaXID13Error"));
        assert_eq!(o.repair_action().map(|a| a.as_str()), Some("Reboot"));
        let update = gpu.update_config().expect("update config");
        assert_eq!(
            update.update_strategy().map(|s| s.as_str()),
            Some("MINIMAL")
        );
        let access = gpu.remote_access().expect("remote access");
        assert_eq!(access.ec2_ssh_key(), Some("ops"));
        assert_eq!(access.source_security_groups(), ["sg-0123456789abcdef0"]);
        let reserved = sb.describe_nodegroup("reserved");
        assert_eq!(
            reserved.capacity_type().map(|c| c.as_str()),
            Some("CAPACITY_BLOCK")
        );
        assert_no_changes(&ws);

        // Repair is changed in place; SSH access replaces the group.
        let tuned = REPAIR.replace("Reboot", "Replace");
        ws.write("main.tf", &parity_config(&sb, &tuned, &template));
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        let repair = sb.describe_nodegroup("gpu").node_repair_config().cloned();
        let action = repair.as_ref().map(|r| {
            r.node_repair_config_overrides()[0]
                .repair_action()
                .map(|a| a.as_str().to_string())
        });
        assert_eq!(action, Some(Some("Replace".to_string())), "terraform {v}");
        let ssh = parity_config(&sb, &tuned, &template).replace("\"ops\"", "\"ops-2\"");
        ws.write("main.tf", &ssh);
        let p = plan(&ws);
        assert!(
            p.text().contains("must be replaced") && p.text().contains("ec2_ssh_key"),
            "terraform {v}:\n{}",
            p.text()
        );
        ws.write("main.tf", &parity_config(&sb, &tuned, &template));

        // Removing the block turns repair off.
        ws.write("main.tf", &parity_config(&sb, "", &template));
        apply(&ws).assert_success();
        let off = sb.describe_nodegroup("gpu").node_repair_config().cloned();
        assert_eq!(off.and_then(|r| r.enabled()), Some(false), "terraform {v}");
        assert_no_changes(&ws);

        // Import reads it all back.
        ws.write("main.tf", &parity_config(&sb, &tuned, &template));
        apply(&ws).assert_success();
        for (address, name) in [
            ("dataplatform_nodegroup.gpu", "gpu"),
            ("dataplatform_nodegroup.reserved", "reserved"),
        ] {
            let before = state_of(&ws, address);
            reimport(&ws, &[(address, &format!("{}:{name}", sb.cluster()))]);
            let after = state_of(&ws, address);
            for key in [
                "node_repair_config",
                "update_config",
                "remote_access",
                "capacity_type",
                "launch_template",
            ] {
                assert_eq!(
                    after[key], before[key],
                    "terraform {v}: imported {address} {key}"
                );
            }
        }
        assert_no_changes(&ws);
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(sb.nodegroups().is_empty());
    }
}

#[test]
fn local_storage_owns_a_launch_template_that_prepares_the_nvme() {
    for v in TERRAFORM_VERSIONS {
        let (sb, ws) = seed_workspace(v);
        apply(&ws).assert_success();

        // Only the executors (instance-store types) get a template of their own.
        let name = format!("eks-{}-spark-executors-local-storage", sb.cluster());
        let templates = sb.launch_templates();
        assert_eq!(
            templates.keys().collect::<Vec<_>>(),
            [&name],
            "terraform {v}"
        );
        let (id, version, tags) = &templates[&name];
        assert_eq!(
            tags.get("terraform-provider-dataplatform:nodegroup"),
            Some(&format!("{}:spark-executors", sb.cluster()))
        );
        let user_data = sb.launch_template_user_data(id, *version);
        assert!(
            user_data.contains("Content-Type: multipart/mixed")
                && user_data.contains("Content-Type: application/node.eks.aws")
                && user_data.contains("\"strategy\":\"RAID0\""),
            "{user_data}"
        );
        let exec = sb.describe_nodegroup("spark-executors");
        let lt = exec.launch_template().expect("the group runs its template");
        assert_eq!(lt.id(), Some(id.as_str()));
        assert_eq!(exec.disk_size(), None);
        // 300 GB of NVMe on r5d.2xlarge and r5dn.2xlarge: 279 GiB, not the 20 GiB root volume.
        assert_eq!(
            sb.asg_tags_for(&exec)
                .get("k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage")
                .map(String::as_str),
            Some("279Gi")
        );

        let state = state_of(&ws, "dataplatform_nodegroup.spark_executor");
        assert_eq!(state["local_storage"], json!(true));
        assert_eq!(state["local_storage_gib"], json!(279));
        assert_eq!(state["placement"]["local_storage"], json!(true));
        assert_eq!(state["managed_launch_template"]["id"], json!(id));
        assert!(
            state["launch_template"].is_null() || state["launch_template"] == json!([]),
            "not the user's block: {}",
            state["launch_template"]
        );
        let infra = state_of(&ws, "dataplatform_nodegroup.infra");
        assert_eq!(infra["local_storage"], json!(false));
        assert_eq!(infra["placement"]["local_storage"], json!(false));
        assert_no_changes(&ws);
        let arn = exec.nodegroup_arn().unwrap_or_default().to_string();

        // New tags: a new version carrying them to the instances, the group rolled onto it
        // in place (same group, same template).
        ws.write(
            "main.tf",
            &seed_config(&sb, "", "  tags = { cost-center = \"lake\" }\n"),
        );
        let p = plan(&ws);
        assert!(
            p.text().contains("managed_launch_template")
                && p.text().contains("1 to change")
                && !p.text().contains("must be replaced"),
            "terraform {v}: {}",
            p.text()
        );
        apply(&ws).assert_success();
        let templates = sb.launch_templates();
        let (same_id, latest, _) = &templates[&name];
        assert_eq!(same_id, id, "terraform {v}: the same template");
        assert_eq!(*latest, version + 1, "terraform {v}: a new version");
        let exec = sb.describe_nodegroup("spark-executors");
        assert_eq!(exec.nodegroup_arn(), Some(arn.as_str()), "not replaced");
        let lt = exec.launch_template().expect("the group runs its template");
        assert_eq!(lt.version(), Some(latest.to_string().as_str()));
        assert_eq!(
            sb.launch_template_instance_tags(id, *latest)
                .get("cost-center")
                .map(String::as_str),
            Some("lake"),
            "terraform {v}: the instances get the group's tags"
        );
        assert_eq!(
            sb.launch_template_user_data(id, *latest),
            user_data,
            "terraform {v}: the same node setup"
        );
        let state = state_of(&ws, "dataplatform_nodegroup.spark_executor");
        assert_eq!(state["managed_launch_template"]["version"], json!(latest));
        assert_no_changes(&ws);

        // Deleted with its group.
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(sb.nodegroups().is_empty());
        assert!(
            sb.launch_templates().is_empty(),
            "the group's template goes with it"
        );
    }
}
