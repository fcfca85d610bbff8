//! Faults on the AWS and Terraform side, with real Terraform 1.15.5 against the AWS stand-in:
//!
//! - `stand_in_killed_and_restarted_mid_apply`: the stand-in is killed while one node group is
//!   still CREATING and restarted on the same port with its data lost; the apply fails with a
//!   clear error, the state keeps what was created (the in-flight group tainted or absent), and
//!   the next apply sees what is gone, recreates it and converges.
//! - `stand_in_down_longer_than_the_retries`: the same, with the stand-in back only after the
//!   apply gave up: the error says EKS could not be reached and the in-flight group is tainted.
//! - `ctrl_c_while_waiting_on_a_node_group`: SIGINT while the provider sleeps between polls of a
//!   CREATING group; Terraform's StopProvider ends the wait at once (SIGINT to exit is bounded
//!   and printed, StopProvider to the end of the wait taken from the provider's log), the group
//!   is in the state as it is (CREATING, not tainted), and the next apply resumes it: an
//!   in-place update that waits for it and writes its Auto Scaling group tags, no second create.
//! - `ctrl_c_during_an_update_and_a_destroy_then_both_resume`: the same while the provider
//!   waits on an update in progress and on a deletion: the group stays in the state (untainted),
//!   the next apply waits for the update without sending it again, the next destroy waits for
//!   the deletion; a destroy right after an interrupted create waits for the group to settle.
//! - `a_stand_in_restarted_under_polling_keeps_its_ids`: what the tests above rely on: a
//!   stand-in restarted while clients keep polling it gets the same VPC, subnet and role IDs.
//! - `hundred_node_groups_with_parallelism_20`: 100 node groups created, updated in place
//!   (labels and scaling on all) and destroyed with `-parallelism=20`: one API call per group
//!   and step, nothing lost or duplicated, empty plans, an empty stand-in at the end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::sandbox::Sandbox;
use crate::support::{
    self, assert_no_changes, assert_no_crash, hcl_list as list, required_providers, wait_until,
    wait_while_running, Output, Running, Workspace, TERRAFORM_VERSIONS,
};

fn provider_block() -> String {
    format!(
        "{}\nprovider \"dataplatform\" {{\n  region = \"eu-central-1\"\n}}\n",
        required_providers()
    )
}

/// One node group resource block.
fn nodegroup(sb: &Sandbox, label: &str, name: &str, purpose: &str, max: u32) -> String {
    format!(
        r#"
resource "dataplatform_nodegroup" "{label}" {{
  cluster_name  = "{cluster}"
  name          = "{name}"
  purpose       = "{purpose}"
  node_role_arn = "{role}"
  subnet_ids    = {subnets}
  scaling_config {{
    min_size = 0
    max_size = {max}
  }}
}}
"#,
        cluster = sb.cluster(),
        role = sb.node_role_arn(),
        subnets = list(&sb.subnet_ids()),
    )
}

/// The state's resources: address to (node group name, tainted).
fn state_resources(ws: &Workspace) -> BTreeMap<String, (String, bool)> {
    support::state_resources(ws)
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap_or_default().to_string(),
                (
                    r["values"]["name"].as_str().unwrap_or_default().to_string(),
                    r["tainted"].as_bool().unwrap_or(false),
                ),
            )
        })
        .collect()
}

/// Node group names the state lists, sorted.
fn state_names(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = state_resources(ws).into_values().map(|(n, _)| n).collect();
    names.sort();
    names
}

fn apply_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec!["apply", "-auto-approve", "-no-color", "-input=false"];
    args.extend_from_slice(extra);
    args
}

/// How long the stand-in stays down.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Outage {
    /// Back (empty) after a few seconds, while the provider still retries its poll.
    Brief,
    /// Back only after the apply gave up (the SDK's retries exhausted).
    PastTheRetries,
}

#[test]
fn stand_in_killed_and_restarted_mid_apply() {
    stand_in_lost_mid_apply(Outage::Brief);
}

#[test]
fn stand_in_down_longer_than_the_retries() {
    stand_in_lost_mid_apply(Outage::PastTheRetries);
}

/// Three node groups applied; two are created, the third is CREATING when the stand-in is
/// killed. It comes back on the same port, re-seeded, with the node groups lost.
fn stand_in_lost_mid_apply(outage: Outage) {
    let mut sb = Sandbox::start();
    let ws = sb.workspace(TERRAFORM_VERSIONS[0]);
    // Nine retries (ten attempts), not the default 25: an outage outlasts them within the
    // test's wait.
    let config = format!(
        "{}{}{}{}",
        provider_block().replace(
            "region = \"eu-central-1\"\n",
            "region = \"eu-central-1\"\n  max_retries = 9\n"
        ),
        nodegroup(&sb, "infra", "infra", "infra", 7),
        nodegroup(&sb, "spark_driver", "spark-drivers", "spark-driver", 10),
        nodegroup(
            &sb,
            "spark_executor",
            "spark-executors",
            "spark-executor",
            50
        ),
    );
    ws.write("main.tf", &config);
    ws.init().assert_success();
    // The executors stay CREATING for as long as the test needs.
    sb.control(
        "POST",
        "/_sandbox/lifecycle",
        &json!({"cluster": sb.cluster(), "nodegroup": "spark-executors", "describes": 1_000_000}),
    );
    let mut run = ws.spawn(&apply_args(&[]));
    run.wait_for_output(
        Duration::from_secs(120),
        "two groups created and the executors creating",
        |t| {
            t.contains("dataplatform_nodegroup.infra: Creation complete")
                && t.contains("dataplatform_nodegroup.spark_driver: Creation complete")
                && t.contains("dataplatform_nodegroup.spark_executor: Creating...")
        },
    );
    // The executors' create reached the stand-in and the provider polls it.
    let describes = sb.stat("eks.DescribeNodegroup");
    wait_until(
        Duration::from_secs(60),
        "poll of the CREATING group",
        || sb.stat("eks.CreateNodegroup") == 3 && sb.stat("eks.DescribeNodegroup") > describes,
    );
    assert_eq!(
        sb.nodegroups(),
        ["infra", "spark-drivers", "spark-executors"]
    );

    // The endpoint dies, and comes back without its data.
    sb.kill();
    let killed = Instant::now();
    let restart = |sb: &mut Sandbox| {
        let restart = Instant::now();
        sb.restart();
        eprintln!(
            "stand-in restarted on port {} in {:?}",
            sb.port(),
            restart.elapsed()
        );
        assert!(
            sb.nodegroups().is_empty(),
            "the restart lost the node groups"
        );
    };
    let out = match outage {
        Outage::Brief => {
            std::thread::sleep(Duration::from_secs(3));
            restart(&mut sb);
            run.wait_with_limit(Duration::from_secs(300))
        }
        Outage::PastTheRetries => {
            let out = run.wait_with_limit(Duration::from_secs(300));
            restart(&mut sb);
            out
        }
    };
    eprintln!(
        "{outage:?} outage: the apply failed {:?} after the kill",
        killed.elapsed()
    );
    out.assert_failure();
    assert_no_crash(&out);
    let text = out.text();
    assert!(
        text.contains("Node group did not become ready") && text.contains("spark-executors"),
        "a clear error naming the group:\n{text}"
    );
    let says_why = match outage {
        Outage::Brief => text.contains("no longer exists") || text.contains("could not reach EKS"),
        Outage::PastTheRetries => text.contains("could not reach EKS"),
    };
    assert!(says_why, "the error says what happened:\n{text}");
    eprintln!("its errors:\n{}", &text[text.find("Error:").unwrap_or(0)..]);

    // The state records what was created; the in-flight group is tainted or absent.
    let state = state_resources(&ws);
    for (address, name) in [
        ("dataplatform_nodegroup.infra", "infra"),
        ("dataplatform_nodegroup.spark_driver", "spark-drivers"),
    ] {
        assert_eq!(
            state.get(address),
            Some(&(name.to_string(), false)),
            "{address} recorded: {state:?}"
        );
    }
    eprintln!(
        "in-flight group in the state: {:?}",
        state.get("dataplatform_nodegroup.spark_executor")
    );
    match state.get("dataplatform_nodegroup.spark_executor") {
        // It could not be read back: what was created is kept, tainted.
        None if outage == Outage::PastTheRetries => {
            panic!("the in-flight group is recorded: {state:?}")
        }
        None => {}
        Some((name, tainted)) => {
            assert_eq!(name, "spark-executors");
            assert!(tainted, "the in-flight group is tainted: {state:?}");
        }
    }

    // Refresh sees that they are gone, and the plan creates them again.
    let refreshed = ws.run(&["plan", "-refresh-only", "-no-color", "-input=false"]);
    refreshed.assert_success();
    let text = refreshed.text();
    for address in [
        "dataplatform_nodegroup.infra",
        "dataplatform_nodegroup.spark_driver",
    ] {
        assert!(
            text.contains(&format!("{address} has been deleted")),
            "refresh notices that {address} is gone:\n{text}"
        );
    }
    let p = ws.run(&["plan", "-no-color", "-input=false"]);
    p.assert_success();
    let text = p.text();
    for address in [
        "dataplatform_nodegroup.infra",
        "dataplatform_nodegroup.spark_driver",
        "dataplatform_nodegroup.spark_executor",
    ] {
        assert!(
            text.contains(&format!("{address} will be created")),
            "{address} is created again:\n{text}"
        );
    }
    assert!(
        text.contains("3 to add, 0 to change, 0 to destroy"),
        "{text}"
    );
    ws.run(&apply_args(&[])).assert_success();
    assert_no_changes(&ws);
    assert_eq!(
        sb.nodegroups(),
        state_names(&ws),
        "the stand-in holds exactly what the state lists"
    );
    assert_eq!(
        sb.nodegroups(),
        ["infra", "spark-drivers", "spark-executors"]
    );

    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(sb.nodegroups().is_empty());
}

/// A restarted stand-in is seeded while the provider may still poll it. Every response draws a
/// request ID; if those came from the seeded generator, the polls in between would shift the
/// VPC and subnet IDs and the node groups' configuration would point at subnets that no longer
/// exist. Three pollers keep asking for a node group through the kill, the restart and the
/// seeding; `restart` asserts the IDs are the same.
#[test]
fn a_stand_in_restarted_under_polling_keeps_its_ids() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let mut sb = Sandbox::start();
    let addr = format!("127.0.0.1:{}", sb.port());
    let path = format!("/clusters/{}/node-groups/spark-executors", sb.cluster());
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let pollers: Vec<_> = (0..3)
        .map(|_| {
            let (stop, answered, addr, path) =
                (stop.clone(), answered.clone(), addr.clone(), path.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = TcpStream::connect(&addr) else {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                    let req =
                        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                    let mut resp = String::new();
                    if s.write_all(req.as_bytes()).is_ok() && s.read_to_string(&mut resp).is_ok() {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    wait_until(Duration::from_secs(30), "the pollers are answered", || {
        answered.load(Ordering::Relaxed) > 10
    });
    let before = answered.load(Ordering::Relaxed);
    sb.restart();
    let during = answered.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for p in pollers {
        p.join().expect("poller");
    }
    eprintln!("{during} polls answered between the kill and the end of the seeding");
    assert!(
        during > 0,
        "the pollers reached the restarted stand-in while it was seeded"
    );
}

#[test]
fn ctrl_c_while_waiting_on_a_node_group() {
    let sb = Sandbox::start();
    let mut ws = sb.workspace(TERRAFORM_VERSIONS[0]);
    let log = ws.dir.path().join("terraform.log");
    ws.env("TF_LOG_PROVIDER", "INFO");
    ws.env("TF_LOG_PATH", &log.to_string_lossy());
    ws.write(
        "main.tf",
        &format!(
            "{}{}",
            provider_block(),
            nodegroup(&sb, "infra", "infra", "infra", 7)
        ),
    );
    ws.init().assert_success();
    sb.control(
        "POST",
        "/_sandbox/lifecycle",
        &json!({"cluster": sb.cluster(), "nodegroup": "infra", "describes": 1_000_000}),
    );
    let mut run = ws.spawn(&apply_args(&[]));
    // The provider polls with a growing backoff (0.5 s, x1.6): after the 7th poll, 13 s in,
    // it sleeps 8.4 s. Interrupting then shows whether the sleep is cut short.
    wait_while_running(
        &mut run,
        Duration::from_secs(120),
        "7 polls of the CREATING group",
        || sb.stat("eks.DescribeNodegroup") >= 7,
    );
    std::thread::sleep(Duration::from_millis(300));
    let polls_before = sb.stat("eks.DescribeNodegroup");
    let out = interrupt(run, &log);
    assert!(
        out.text()
            .contains("cancelled while waiting for node group analytics:infra"),
        "the provider says why it stopped:\n{}",
        out.text()
    );
    // The waiting stopped: after StopProvider at most the read that records the group (the
    // provider records it as CreateNodegroup returned it, without that read).
    let polls_after = sb.stat("eks.DescribeNodegroup");
    eprintln!("polls after the interrupt: {}", polls_after - polls_before);
    assert!(
        polls_after <= polls_before + 1,
        "the provider kept polling after the interrupt: {polls_before} -> {polls_after}"
    );

    // The group was saved before waiting.
    let state = state_resources(&ws);
    assert_eq!(
        state
            .get("dataplatform_nodegroup.infra")
            .map(|(n, _)| n.as_str()),
        Some("infra"),
        "recorded: {state:?}"
    );
    // A later apply converges.
    sb.control(
        "POST",
        "/_sandbox/lifecycle",
        &json!({"cluster": sb.cluster(), "nodegroup": "infra", "describes": 1}),
    );
    // Interrupted while creating, it is recorded untainted, as it is (CREATING): the next plan
    // updates it in place, waiting for it instead of replacing it, and the apply converges.
    assert_eq!(
        state.get("dataplatform_nodegroup.infra").map(|(_, t)| *t),
        Some(false),
        "{state:?}"
    );
    let creates = sb.stat("eks.CreateNodegroup");
    let plan = ws.run(&["plan", "-no-color", "-input=false"]);
    plan.assert_success();
    assert!(
        plan.stdout.contains("1 to change, 0 to destroy") && plan.stdout.contains("0 to add"),
        "{}",
        plan.stdout
    );
    let out = ws.run(&apply_args(&[]));
    out.assert_success();
    assert!(
        out.text().contains("0 added, 1 changed, 0 destroyed"),
        "{}",
        out.text()
    );
    assert_eq!(
        sb.stat("eks.CreateNodegroup"),
        creates,
        "the group was resumed, not created again"
    );
    let tags = sb.asg_tags_for(&sb.describe_nodegroup("infra"));
    assert!(
        tags.keys()
            .any(|k| k.starts_with("k8s.io/cluster-autoscaler/node-template/label/")),
        "the resumed apply wrote the Auto Scaling group tags: {tags:?}"
    );
    assert_no_changes(&ws);
    assert_eq!(sb.nodegroups(), ["infra"]);
    assert_eq!(state_names(&ws), ["infra"]);
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(sb.nodegroups().is_empty());
}

/// Ctrl-C while the provider waits on an update, and later while it waits on a delete: each
/// time Terraform stops at once, the state keeps the group as it is, and the next command
/// finishes the work without doing it twice.
#[test]
fn ctrl_c_during_an_update_and_a_destroy_then_both_resume() {
    let sb = Sandbox::start();
    let mut ws = sb.workspace(TERRAFORM_VERSIONS[0]);
    ws.env("TF_LOG_PROVIDER", "INFO");
    let config = |max| {
        format!(
            "{}{}",
            provider_block(),
            nodegroup(&sb, "infra", "infra", "infra", max)
        )
    };
    let slow = |describes: u64| {
        sb.control(
            "POST",
            "/_sandbox/lifecycle",
            &json!({"cluster": sb.cluster(), "nodegroup": "infra", "describes": describes}),
        );
    };
    ws.write("main.tf", &config(7));
    ws.init().assert_success();
    ws.run(&apply_args(&[])).assert_success();

    // An update that stays in progress, interrupted while the provider polls it.
    slow(1_000_000);
    ws.write("main.tf", &config(9));
    let log = ws.dir.path().join("update.log");
    ws.env("TF_LOG_PATH", &log.to_string_lossy());
    let mut run = ws.spawn(&apply_args(&[]));
    wait_while_running(
        &mut run,
        Duration::from_secs(120),
        "polls of the update",
        || sb.stat("eks.UpdateNodegroupConfig") == 1 && sb.stat("eks.DescribeUpdate") >= 4,
    );
    let out = interrupt(run, &log);
    let text = out.text();
    assert!(
        text.contains("cancelled while waiting for update") && text.contains("analytics:infra"),
        "the provider says why it stopped:\n{text}"
    );
    assert_eq!(
        state_resources(&ws).get("dataplatform_nodegroup.infra"),
        Some(&("infra".to_string(), false)),
        "the group stays in the state, untainted"
    );
    // The next apply waits for the update under way and converges, without sending it again.
    slow(1);
    let out = ws.run(&apply_args(&[]));
    out.assert_success();
    eprintln!(
        "the resumed apply: {}",
        out.text()
            .lines()
            .find(|l| l.contains("Apply complete"))
            .unwrap_or("")
    );
    assert_no_changes(&ws);
    assert_eq!(
        sb.stat("eks.UpdateNodegroupConfig"),
        1,
        "the update was not sent twice"
    );
    let live = sb.describe_nodegroup("infra");
    let scaling = live.scaling_config();
    assert_eq!(scaling.and_then(|s| s.max_size()), Some(9), "{live:?}");

    // A destroy interrupted while the group is DELETING.
    slow(1_000_000);
    let log = ws.dir.path().join("destroy.log");
    ws.env("TF_LOG_PATH", &log.to_string_lossy());
    let polls = sb.stat("eks.DescribeNodegroup");
    let mut run = ws.spawn(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    wait_while_running(
        &mut run,
        Duration::from_secs(120),
        "polls of the DELETING group",
        || sb.stat("eks.DeleteNodegroup") == 1 && sb.stat("eks.DescribeNodegroup") >= polls + 4,
    );
    let out = interrupt(run, &log);
    let text = out.text();
    assert!(
        text.contains("cancelled while waiting for node group analytics:infra to be deleted"),
        "the provider says why it stopped:\n{text}"
    );
    assert_eq!(
        state_names(&ws),
        ["infra"],
        "the group being deleted stays in the state"
    );
    assert_eq!(sb.nodegroups(), ["infra"], "EKS goes on deleting it");
    // The next destroy waits for the deletion under way.
    slow(1);
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(sb.nodegroups().is_empty());
    assert!(state_names(&ws).is_empty());
    assert!(sb.autoscaling_groups().is_empty());

    // A create interrupted, then destroyed: EKS refuses to delete a group still CREATING
    // (ResourceInUseException); the destroy waits for it to settle and deletes it.
    slow(1_000_000);
    let log = ws.dir.path().join("create.log");
    ws.env("TF_LOG_PATH", &log.to_string_lossy());
    let polls = sb.stat("eks.DescribeNodegroup");
    let mut run = ws.spawn(&apply_args(&[]));
    wait_while_running(
        &mut run,
        Duration::from_secs(120),
        "polls of the CREATING group",
        || sb.stat("eks.DescribeNodegroup") >= polls + 3,
    );
    interrupt(run, &log);
    assert_eq!(state_names(&ws), ["infra"]);
    slow(3);
    let deletes = sb.stat("eks.DeleteNodegroup");
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert_eq!(
        sb.stat("eks.DeleteNodegroup"),
        deletes + 2,
        "one DeleteNodegroup refused while CREATING, one after it settled"
    );
    assert!(sb.nodegroups().is_empty());
    assert!(state_names(&ws).is_empty());
}

/// Ctrl-C (`support::interrupt`), and the provider's wait ended less than 1 s after
/// StopProvider (from the provider's own log timestamps in `log`, this command's TF_LOG_PATH).
fn interrupt(run: Running, log: &std::path::Path) -> Output {
    let out = support::interrupt(run);
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    match stop_to_wait_end(&logged) {
        Some(gap) => {
            eprintln!("StopProvider -> wait ended (provider log): {gap:?}");
            assert!(
                gap < Duration::from_secs(1),
                "wait ended {gap:?} after StopProvider"
            );
        }
        None => panic!("no StopProvider and cancelled wait in the provider log:\n{logged}"),
    }
    out
}

/// The time between the provider logging StopProvider and logging the end of a cancelled
/// wait, from the provider's own timestamps in Terraform's log (`timestamp=...`).
fn stop_to_wait_end(log: &str) -> Option<Duration> {
    let stamp = |needle: &str| {
        log.lines().filter(|l| l.contains(needle)).find_map(|l| {
            let at = l.find(" timestamp=")? + " timestamp=".len();
            parse_timestamp(l[at..].split_whitespace().next()?)
        })
    };
    let stop = stamp("StopProvider: cancelling operations in flight")?;
    let ended = stamp("wait cancelled")?;
    Some(Duration::from_secs_f64((ended - stop).max(0.0)))
}

/// Seconds since midnight (enough to subtract two stamps of one short test) of an RFC 3339
/// timestamp such as `2026-01-01T12:34:56.789012Z`.
fn parse_timestamp(s: &str) -> Option<f64> {
    let time = s.split('T').nth(1)?;
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '-']).next()?;
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// 100 node groups from one `count`, with `labels` and scaling bounds.
fn hundred(sb: &Sandbox, team: &str, min: u32, max: u32) -> String {
    format!(
        r#"{provider}
locals {{
  purposes = ["infra", "spark-driver", "spark-executor"]
}}

resource "dataplatform_nodegroup" "ng" {{
  count         = 100
  cluster_name  = "{cluster}"
  name          = format("ng-%03d", count.index)
  purpose       = local.purposes[count.index % 3]
  node_role_arn = "{role}"
  subnet_ids    = {subnets}
  labels = {{
    team = "{team}"
  }}
  scaling_config {{
    min_size = {min}
    max_size = {max}
  }}
}}
"#,
        provider = provider_block(),
        cluster = sb.cluster(),
        role = sb.node_role_arn(),
        subnets = list(&sb.subnet_ids()),
    )
}

/// Every one of the 100 groups has `team` as a label, the scaling bounds, and matching
/// autoscaler tags on its Auto Scaling group.
fn check_hundred(sb: &Sandbox, team: &str, min: i32, max: i32) {
    let expected: Vec<String> = (0..100).map(|i| format!("ng-{i:03}")).collect();
    assert_eq!(sb.nodegroups(), expected, "exactly the 100 groups");
    assert_eq!(
        sb.autoscaling_groups().len(),
        100,
        "one Auto Scaling group each, none orphaned"
    );
    for name in &expected {
        let ng = sb.describe_nodegroup(name);
        assert_eq!(ng.status().map(|s| s.as_str()), Some("ACTIVE"), "{name}");
        assert_eq!(
            ng.labels().and_then(|l| l.get("team")).map(String::as_str),
            Some(team),
            "{name}: labels"
        );
        let s = ng.scaling_config().expect("scaling");
        assert_eq!(
            (s.min_size(), s.max_size()),
            (Some(min), Some(max)),
            "{name}: scaling"
        );
        let tags = sb.asg_tags_for(&ng);
        assert_eq!(
            tags.get("k8s.io/cluster-autoscaler/node-template/label/team")
                .map(String::as_str),
            Some(team),
            "{name}: autoscaler tags {tags:?}"
        );
        assert_eq!(
            tags.get("k8s.io/cluster-autoscaler/enabled")
                .map(String::as_str),
            Some("true"),
            "{name}"
        );
    }
}

#[test]
fn hundred_node_groups_with_parallelism_20() {
    let sb = Sandbox::start();
    let ws = sb.workspace(TERRAFORM_VERSIONS[0]);
    ws.write("main.tf", &hundred(&sb, "data", 0, 5));
    ws.init().assert_success();
    let limit = Duration::from_secs(600);
    let started = Instant::now();

    let out = ws.run_with_limit(&apply_args(&["-parallelism=20"]), limit);
    out.assert_success();
    assert!(
        out.text().contains("100 added, 0 changed, 0 destroyed"),
        "{}",
        out.text()
    );
    eprintln!("create 100 (-parallelism=20): {:?}", out.elapsed);
    assert_eq!(sb.stat("eks.CreateNodegroup"), 100, "one create call each");
    check_hundred(&sb, "data", 0, 5);
    assert_no_changes(&ws);

    // Labels and scaling change on all of them, in place.
    ws.write("main.tf", &hundred(&sb, "platform", 1, 9));
    let out = ws.run_with_limit(&apply_args(&["-parallelism=20"]), limit);
    out.assert_success();
    assert!(
        out.text().contains("0 added, 100 changed, 0 destroyed"),
        "{}",
        out.text()
    );
    eprintln!("update 100 (-parallelism=20): {:?}", out.elapsed);
    assert_eq!(
        sb.stat("eks.UpdateNodegroupConfig"),
        100,
        "one update call each"
    );
    check_hundred(&sb, "platform", 1, 9);
    assert_no_changes(&ws);

    let out = ws.run_with_limit(
        &[
            "destroy",
            "-auto-approve",
            "-no-color",
            "-input=false",
            "-parallelism=20",
        ],
        limit,
    );
    out.assert_success();
    assert!(out.text().contains("100 destroyed"), "{}", out.text());
    eprintln!("destroy 100 (-parallelism=20): {:?}", out.elapsed);
    assert_eq!(sb.stat("eks.DeleteNodegroup"), 100, "one delete call each");
    assert!(sb.nodegroups().is_empty(), "no node group left");
    assert!(
        sb.autoscaling_groups().is_empty(),
        "no Auto Scaling group left"
    );
    assert!(state_names(&ws).is_empty());
    eprintln!("100 node groups, whole test: {:?}", started.elapsed());
}
