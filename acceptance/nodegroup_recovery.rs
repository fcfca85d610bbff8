//! `dataplatform_nodegroup` when a create does not end as planned, with real Terraform
//! (1.15.5 and 1.0.3) against the AWS stand-in, one stand-in per test:
//!
//! - `an_unreadable_describe_answer_is_reported_as_such`: a DescribeNodegroup answer of the
//!   wrong shape is reported as unreadable, not as an unreachable endpoint.
//! - `ctrl_c_and_timeouts_end_a_slow_aws_call`: Ctrl-C while one AWS call goes unanswered
//!   ends it at once; a `timeouts` value ends it in time.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::sandbox::Sandbox;
use crate::support::{
    self, assert_no_crash, hcl_list as list, required_providers, state_resources,
    wait_while_running, Workspace, TERRAFORM_VERSIONS,
};

fn workspace(v: &str, sb: &Sandbox) -> Workspace {
    let mut ws = Workspace::new(v);
    sb.apply_env(&mut ws);
    ws
}

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

#[test]
fn an_unreadable_describe_answer_is_reported_as_such() {
    let sb = Sandbox::start();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ws = workspace(v, &sb);
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
        let mut ws = workspace(v, &sb);
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
    let ws = workspace(TERRAFORM_VERSIONS[0], &sb);
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
