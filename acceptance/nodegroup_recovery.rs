//! `dataplatform_nodegroup` when a create does not end as planned, with real Terraform
//! (1.15.5 and 1.0.3) against the AWS stand-in, one stand-in per test:
//!
//! - `provider_killed_while_creating_then_reapplied_records_each_group_once`: the provider is
//!   SIGKILLed while it waits for two groups to become ACTIVE (one named, one with a generated
//!   name); the next apply records both instead of creating them again.
//! - `a_foreign_group_of_the_planned_name_is_refused_then_imported`: a group made by another
//!   client (the AWS SDK, with EKS's defaults) is not taken over; the error gives the import
//!   command, and the imported group reads and converges.
//! - `an_unreadable_describe_answer_is_reported_as_such`: a DescribeNodegroup answer of the
//!   wrong shape is reported as unreadable, not as an unreachable endpoint.
//! - `max_retries_bounds_the_attempts_of_a_failing_call`: with `max_retries = 2` a call that
//!   keeps failing is sent three times, then reported.
//! - `ctrl_c_and_timeouts_end_a_slow_aws_call`: Ctrl-C while one AWS call goes unanswered
//!   ends it at once; a `timeouts` value ends it in time.
//! - `another_clients_update_in_flight_is_no_change`: while another client's resize keeps a
//!   group UPDATING, the plan is empty; a real change then waits for the group to settle.

use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::sandbox::Sandbox;
use crate::support::{
    self, assert_no_changes, assert_no_crash, block_on, hcl_list as list, required_providers,
    state_resources, wait_while_running, Workspace, TERRAFORM_VERSIONS,
};

const PENDING_TAG: &str = "terraform-provider-dataplatform:pending-create";

/// A node group resource; `naming` is its `name = ...` or `name_prefix = ...` line.
fn nodegroup(sb: &Sandbox, label: &str, naming: &str, extra: &str) -> String {
    format!(
        r#"
resource "dataplatform_nodegroup" "{label}" {{
  cluster_name   = "{cluster}"
  {naming}
  purpose        = "infra"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["m6i.2xlarge"]
  scaling_config {{
    min_size = 1
    max_size = 3
  }}
{extra}}}
"#,
        cluster = sb.cluster(),
        role = sb.node_role_arn(),
        subnets = list(&sb.subnet_ids()),
    )
}

fn config(blocks: &[String]) -> String {
    format!(
        "{}\nprovider \"dataplatform\" {{\n  region = \"eu-central-1\"\n}}\n{}",
        required_providers(),
        blocks.concat()
    )
}

fn apply_args() -> [&'static str; 4] {
    ["apply", "-auto-approve", "-no-color", "-input=false"]
}

/// Node group names in the state, sorted.
fn state_names(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = state_resources(ws)
        .iter()
        .filter_map(|r| r["values"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn with_prefix(names: Vec<String>, prefix: &str) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn provider_killed_while_creating_then_reapplied_records_each_group_once() {
    let sb = Sandbox::start();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ws = sb.workspace(v);
        let (named, prefix) = (format!("killed{i}"), format!("gen{i}-"));
        ws.write(
            "main.tf",
            &config(&[
                nodegroup(&sb, "named", &format!("name = \"{named}\""), ""),
                nodegroup(&sb, "generated", &format!("name_prefix = \"{prefix}\""), ""),
            ]),
        );
        ws.init().assert_success();
        // Both stay CREATING until the provider is killed.
        sb.control(
            "POST",
            "/_sandbox/lifecycle",
            &json!({"describes": 1_000_000}),
        );
        let creates = sb.stat("eks.CreateNodegroup");
        let mut run = ws.spawn(&apply_args());
        let mut describes = u64::MAX;
        wait_while_running(
            &mut run,
            Duration::from_secs(120),
            "both creates sent and the provider polling",
            || {
                if describes == u64::MAX && sb.stat("eks.CreateNodegroup") == creates + 2 {
                    describes = sb.stat("eks.DescribeNodegroup");
                }
                describes != u64::MAX && sb.stat("eks.DescribeNodegroup") >= describes + 2
            },
        );
        assert_eq!(with_prefix(sb.nodegroups(), &prefix).len(), 1);
        assert_eq!(
            run.kill_provider(),
            1,
            "terraform {v}: one provider process"
        );
        let out = run.wait_with_limit(Duration::from_secs(120));
        out.assert_failure();
        eprintln!(
            "terraform {v} after the provider was killed:\n{}",
            out.text()
                .lines()
                .filter(|l| l.contains("Error") || l.contains("plugin"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let left: Vec<String> = sb
            .nodegroups()
            .into_iter()
            .filter(|n| *n == named || n.starts_with(&prefix))
            .collect();
        assert_eq!(
            left.len(),
            2,
            "terraform {v}: the two groups exist: {left:?}"
        );
        assert!(
            state_names(&ws).is_empty(),
            "terraform {v}: nothing was recorded"
        );
        for name in &left {
            let tags = sb
                .describe_nodegroup(name)
                .tags()
                .cloned()
                .unwrap_or_default();
            assert!(tags.contains_key(PENDING_TAG), "{name} is marked: {tags:?}");
        }

        // The next apply records them: no second create, one group each.
        sb.control("POST", "/_sandbox/lifecycle", &json!({"describes": 1}));
        let out = ws.run(&apply_args());
        out.assert_success();
        assert!(
            out.text().contains("2 added, 0 changed, 0 destroyed"),
            "terraform {v}:\n{}",
            out.text()
        );
        assert_eq!(
            sb.stat("eks.CreateNodegroup"),
            creates + 2,
            "terraform {v}: no group created twice"
        );
        let now: Vec<String> = sb
            .nodegroups()
            .into_iter()
            .filter(|n| *n == named || n.starts_with(&prefix))
            .collect();
        assert_eq!(
            now, left,
            "terraform {v}: exactly the groups the first apply made"
        );
        assert_eq!(
            state_names(&ws),
            left,
            "terraform {v}: the state records them"
        );
        for name in &now {
            let ng = sb.describe_nodegroup(name);
            assert!(
                !ng.tags().is_some_and(|t| t.contains_key(PENDING_TAG)),
                "{name}: the pending-create tag is gone once recorded"
            );
            let asg = sb.asg_tags_for(&ng);
            assert!(
                asg.contains_key("k8s.io/cluster-autoscaler/enabled"),
                "{name}: autoscaler tags written: {asg:?}"
            );
        }
        assert_no_changes(&ws);
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(
            sb.nodegroups()
                .iter()
                .all(|n| *n != named && !n.starts_with(&prefix)),
            "terraform {v}: destroyed"
        );
    }
}

/// Creates a node group with the test's own AWS SDK client, leaving EKS's defaults (disk size,
/// AMI type, update configuration) to the stand-in.
fn create_elsewhere(sb: &Sandbox, name: &str) {
    let eks = aws_sdk_eks::Client::new(&sb.sdk_config());
    block_on(
        eks.create_nodegroup()
            .cluster_name(sb.cluster())
            .nodegroup_name(name)
            .node_role(sb.node_role_arn())
            .set_subnets(Some(sb.subnet_ids()))
            .instance_types("m6i.2xlarge")
            .labels("purpose", "infra")
            .scaling_config(
                aws_sdk_eks::types::NodegroupScalingConfig::builder()
                    .min_size(1)
                    .max_size(3)
                    .desired_size(1)
                    .build(),
            )
            .send(),
    )
    .expect("create a node group outside Terraform");
}

#[test]
fn a_foreign_group_of_the_planned_name_is_refused_then_imported() {
    let sb = Sandbox::start();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ws = sb.workspace(v);
        let name = format!("foreign{i}");
        create_elsewhere(&sb, &name);
        // Read back by the SDK as EKS would answer it: the disk size is a number.
        let ng = sb.describe_nodegroup(&name);
        assert_eq!(ng.disk_size(), Some(20), "terraform {v}");
        ws.write(
            "main.tf",
            &config(&[nodegroup(&sb, "infra", &format!("name = \"{name}\""), "")]),
        );
        ws.init().assert_success();
        let creates = sb.stat("eks.CreateNodegroup");
        let out = ws.run(&apply_args());
        out.assert_failure();
        assert_no_crash(&out);
        let text = out.text();
        let id = format!("{}:{name}", sb.cluster());
        for needle in [
            "Node group already exists",
            &format!("node group named \"{name}\""),
            &format!("terraform import <resource address> {id}"),
        ] {
            assert!(
                text.contains(needle),
                "terraform {v}: {needle:?} in:\n{text}"
            );
        }
        assert_eq!(sb.stat("eks.CreateNodegroup"), creates, "nothing created");
        assert!(state_names(&ws).is_empty());

        // As the error says.
        ws.run(&[
            "import",
            "-no-color",
            "-input=false",
            "dataplatform_nodegroup.infra",
            &id,
        ])
        .assert_success();
        let state: Vec<Json> = state_resources(&ws);
        assert_eq!(state.len(), 1);
        assert_eq!(state[0]["values"]["disk_size"], json!(20), "terraform {v}");
        assert_eq!(state[0]["values"]["purpose"], "infra");
        // Only the autoscaler tags, which another client did not write, are to change.
        let out = ws.run(&apply_args());
        out.assert_success();
        assert!(
            out.text().contains("0 added, 1 changed, 0 destroyed"),
            "terraform {v}:\n{}",
            out.text()
        );
        assert_no_changes(&ws);
        assert_eq!(sb.stat("eks.CreateNodegroup"), creates);
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
    }
    assert!(sb.nodegroups().is_empty());
}

#[test]
fn an_unreadable_describe_answer_is_reported_as_such() {
    let sb = Sandbox::start();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ws = sb.workspace(v);
        let name = format!("unreadable{i}");
        ws.write(
            "main.tf",
            &config(&[nodegroup(&sb, "infra", &format!("name = \"{name}\""), "")]),
        );
        ws.init().assert_success();
        sb.control(
            "POST",
            "/_sandbox/malformed",
            &json!({"operation": "DescribeNodegroup", "count": 100}),
        );
        let out = ws.run(&apply_args());
        sb.control("DELETE", "/_sandbox/faults", &json!({}));
        out.assert_failure();
        assert_no_crash(&out);
        let text = out.text().replace('\n', " ");
        assert!(
            text.contains("EKS sent a DescribeNodegroup response that could not be read")
                && text.contains(&name),
            "terraform {v}:\n{text}"
        );
        assert!(!text.contains("could not reach EKS"), "{text}");
        eprintln!(
            "terraform {v}: {}",
            out.text()
                .lines()
                .find(|l| l.contains("EKS sent"))
                .unwrap_or_default()
        );
        assert!(sb.stat("eks.DescribeNodegroup.malformed") >= 1);
        // The group was created before its answers became unreadable: the state keeps it
        // (nothing orphaned), and a destroy removes it.
        assert_eq!(state_names(&ws), vec![name.clone()], "terraform {v}");
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
    }
    assert!(sb.nodegroups().is_empty());
}

#[test]
fn max_retries_bounds_the_attempts_of_a_failing_call() {
    let sb = Sandbox::start();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ws = sb.workspace(v);
        let name = format!("retried{i}");
        let group = nodegroup(&sb, "infra", &format!("name = \"{name}\""), "");
        ws.write("main.tf", &config(std::slice::from_ref(&group)));
        ws.init().assert_success();
        ws.run(&apply_args()).assert_success();
        // Every DescribeNodegroup now fails with a server error; two retries, then the plan
        // reports it.
        ws.write(
            "main.tf",
            &config(std::slice::from_ref(&group)).replace(
                "region = \"eu-central-1\"\n",
                "region = \"eu-central-1\"\n  max_retries = 2\n",
            ),
        );
        sb.control(
            "POST",
            "/_sandbox/faults",
            &json!({"error_rate": 1.0, "operations": ["DescribeNodegroup"]}),
        );
        let before = sb.stat("eks.DescribeNodegroup");
        let out = ws.run(&["plan", "-no-color", "-input=false"]);
        let after = sb.stat("eks.DescribeNodegroup");
        sb.control("DELETE", "/_sandbox/faults", &json!({}));
        out.assert_failure();
        assert_no_crash(&out);
        let text = out.text();
        assert!(
            text.contains("ServiceUnavailable") && text.contains(&name),
            "terraform {v}:\n{text}"
        );
        assert_eq!(
            after - before,
            3,
            "terraform {v}: one attempt and two retries"
        );
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
    }
    assert!(sb.nodegroups().is_empty());
}

#[test]
fn ctrl_c_and_timeouts_end_a_slow_aws_call() {
    let sb = Sandbox::start();
    // Every DescribeNodegroup takes two minutes: longer than an attempt's timeout, so the SDK
    // alone would retry it for many minutes.
    sb.control(
        "POST",
        "/_sandbox/faults",
        &json!({"latency_ms": 120_000, "services": ["eks"], "operations": ["DescribeNodegroup"]}),
    );
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let mut ws = sb.workspace(v);
        ws.env("TF_LOG_PROVIDER", "INFO");
        ws.write(
            "main.tf",
            &config(&[nodegroup(&sb, "infra", &format!("name = \"slow{i}\""), "")]),
        );
        ws.init().assert_success();
        let describes = sb.stat("eks.DescribeNodegroup");
        let mut run = ws.spawn(&apply_args());
        wait_while_running(
            &mut run,
            Duration::from_secs(120),
            "the DescribeNodegroup before the create",
            || sb.stat("eks.DescribeNodegroup") > describes,
        );
        std::thread::sleep(Duration::from_millis(500));
        // Exits within 5 s of SIGINT, with an error and no crash.
        let out = support::interrupt(run);
        assert!(
            out.text().replace('\n', " ").contains(&format!(
                "cancelled while waiting for EKS to answer DescribeNodegroup of {}:slow{i}",
                sb.cluster()
            )),
            "terraform {v}: the provider says what it stopped:\n{}",
            out.text()
        );
        assert!(state_names(&ws).is_empty());
        assert_eq!(sb.stat("eks.CreateNodegroup"), 0);
    }

    // A create timeout bounds the calls as well as the waits.
    let ws = sb.workspace(TERRAFORM_VERSIONS[0]);
    ws.write(
        "main.tf",
        &config(&[nodegroup(
            &sb,
            "infra",
            "name = \"bounded\"",
            "  timeouts {\n    create = \"4s\"\n  }\n",
        )]),
    );
    ws.init().assert_success();
    let started = Instant::now();
    let out = ws.run(&apply_args());
    let took = started.elapsed();
    eprintln!("apply with create = \"4s\" against a 120 s call: {took:?}");
    out.assert_failure();
    assert_no_crash(&out);
    let text = out.text();
    assert!(
        text.contains("timed out after")
            && text.contains("waiting for EKS to answer DescribeNodegroup"),
        "{text}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(state_names(&ws).is_empty());
    sb.control("DELETE", "/_sandbox/faults", &json!({}));
    assert!(sb.nodegroups().is_empty());
}

#[test]
fn another_clients_update_in_flight_is_no_change() {
    let sb = Sandbox::start();
    let conf = sb.sdk_config();
    let eks = aws_sdk_eks::Client::new(&conf);
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ws = sb.workspace(v);
        let name = format!("resized{i}");
        let naming = format!("name = \"{name}\"");
        ws.write("main.tf", &config(&[nodegroup(&sb, "infra", &naming, "")]));
        ws.init().assert_success();
        ws.run(&apply_args()).assert_success();

        // Someone resizes the group; EKS reports UPDATING for as long as the update runs.
        sb.control(
            "POST",
            "/_sandbox/lifecycle",
            &json!({"cluster": sb.cluster(), "nodegroup": name, "describes": 100000}),
        );
        block_on(
            eks.update_nodegroup_config()
                .cluster_name(sb.cluster())
                .nodegroup_name(&name)
                .scaling_config(
                    aws_sdk_eks::types::NodegroupScalingConfig::builder()
                        .min_size(1)
                        .max_size(3)
                        .desired_size(2)
                        .build(),
                )
                .send(),
        )
        .expect("resize outside Terraform");
        assert_eq!(
            sb.describe_nodegroup(&name).status().map(|s| s.as_str()),
            Some("UPDATING")
        );
        assert_no_changes(&ws);
        assert_eq!(
            sb.describe_nodegroup(&name).status().map(|s| s.as_str()),
            Some("UPDATING"),
            "terraform {v}: still updating after the plan"
        );

        // A real change while it still updates: the apply waits for it, then changes it.
        ws.write(
            "main.tf",
            &config(&[nodegroup(&sb, "infra", &naming, "")])
                .replace("max_size = 3", "max_size = 4"),
        );
        sb.control(
            "POST",
            "/_sandbox/lifecycle",
            &json!({"cluster": sb.cluster(), "nodegroup": name, "describes": 3}),
        );
        let out = ws.run(&apply_args());
        out.assert_success();
        assert!(
            out.text().contains("0 added, 1 changed, 0 destroyed"),
            "terraform {v}: {}",
            out.text()
        );
        let ng = sb.describe_nodegroup(&name);
        let scaling = ng.scaling_config().expect("scaling");
        assert_eq!(scaling.max_size(), Some(4), "terraform {v}");
        assert_eq!(
            scaling.desired_size(),
            Some(2),
            "terraform {v}: the resize stays"
        );
        assert_no_changes(&ws);
    }
}
