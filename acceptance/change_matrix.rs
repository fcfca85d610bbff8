//! The change matrix with real Terraform (1.15.5 and 1.0.3) against the stand-ins: every
//! optional attribute and block of every resource added, changed and removed, set to its
//! default and left out (cases generated from the schemas by `change_matrix/cases.rs`), each
//! case in a resource instance of its own, all cases in one configuration moving phase by
//! phase. Each phase is planned (every instance must plan what its case expects: no change, an
//! update, or a replacement exactly when an attribute that forces one changed), applied, and
//! planned again, which must show no change. One test per Terraform version, each with its own
//! stand-ins, so the two run side by side.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::kube_sandbox::{env, workspace, ClusterEnv};
use crate::support::{Output, Workspace, PROVIDER_ADDRESS};

pub use dataplatform as dp;

mod cases;

use cases::{Case, Expect, Phase, PHASES};

/// The sandbox's values for the tokens of `values.json`.
fn tokens(e: &ClusterEnv) -> BTreeMap<String, Json> {
    let role = e.aws.node_role_arn();
    let other_role = match role.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/matrix-nodes"),
        None => role.clone(),
    };
    let subnets = e.aws.subnet_ids();
    [
        ("@node_role_arn@", Json::from(role)),
        ("@other_role_arn@", Json::from(other_role)),
        ("@subnet_ids@", json!(subnets)),
        ("@other_subnet_ids@", json!(subnets[..1])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The whole configuration in `phase` (`None`: the bases), in Terraform's JSON syntax.
fn configuration(cases: &[Case], phase: Option<Phase>, tokens: &BTreeMap<String, Json>) -> Json {
    let mut resources = serde_json::Map::new();
    for c in cases {
        let body = match phase {
            None => c.base.clone(),
            Some(p) => c.at(p).0,
        };
        let by_type = resources
            .entry(c.resource.clone())
            .or_insert_with(|| json!({}));
        by_type[&c.label] = cases::substitute(&body, tokens);
    }
    json!({
        "terraform": {"required_providers": {"dataplatform": {"source": PROVIDER_ADDRESS}}},
        "provider": {"dataplatform": {"region": "eu-central-1", "cluster_name": "analytics"}},
        "resource": resources,
    })
}

fn run(ws: &Workspace, args: &[&str]) -> Output {
    ws.run_with_limit(args, std::time::Duration::from_secs(600))
}

/// The instances a plan changes: address to actions.
fn planned_actions(ws: &Workspace) -> BTreeMap<String, (Vec<String>, Json)> {
    let shown = run(ws, &["show", "-json", "-no-color", "tfplan"]);
    shown.assert_success();
    let doc: Json = serde_json::from_str(&shown.stdout).expect("plan JSON");
    doc["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|rc| {
            let actions = rc["change"]["actions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (
                rc["address"].as_str().unwrap_or_default().to_string(),
                (actions, rc["change"].clone()),
            )
        })
        .collect()
}

/// What each instance's plan must be in `phase`; returns the failures.
fn check_plan(ws: &Workspace, cases: &[Case], phase: Phase) -> Vec<String> {
    let schemas = cases::schemas();
    let planned = planned_actions(ws);
    let mut failures = Vec::new();
    for c in cases {
        let address = format!("{}.{}", c.resource, c.label);
        let at = format!("terraform {} {phase:?} {address}", ws.version);
        let Some((actions, change)) = planned.get(&address) else {
            failures.push(format!("{at}: not in the plan"));
            continue;
        };
        let (_, expect) = c.at(phase);
        let noop = actions == &["no-op"];
        let replace =
            actions.iter().any(|a| a == "delete") && actions.iter().any(|a| a == "create");
        match expect {
            Expect::NoOp if !noop => {
                failures.push(format!("{at}: planned {actions:?}, expected no change"))
            }
            Expect::Change if noop => failures.push(format!("{at}: planned no change")),
            _ => {}
        }
        let Some((_, schema)) = schemas.iter().find(|(t, _)| *t == c.resource) else {
            continue;
        };
        let changes = cases::replacing_changes(
            &schema.block,
            &change["before"],
            &change["after"],
            &change["after_unknown"],
        );
        if !noop && replace == changes.is_empty() {
            failures.push(format!(
                "{at}: planned {actions:?}, but the attributes that force replacement {}",
                if changes.is_empty() {
                    "did not change".to_string()
                } else {
                    format!("changed: {}", changes.join(", "))
                }
            ));
        }
    }
    failures
}

/// The instances a plan of the current configuration would still change (none when the plan
/// is empty).
fn leftover_changes(ws: &Workspace) -> Vec<String> {
    let out = run(
        ws,
        &[
            "plan",
            "-detailed-exitcode",
            "-out=tfplan",
            "-no-color",
            "-input=false",
        ],
    );
    match out.code {
        Some(0) => return Vec::new(),
        Some(2) => {}
        _ => panic!("terraform {}: plan failed:\n{}", ws.version, out.text()),
    }
    planned_actions(ws)
        .into_iter()
        .filter(|(_, (actions, _))| actions != &["no-op"])
        .map(|(address, (actions, change))| {
            let before = &change["before"];
            let after = &change["after"];
            let differs: Vec<String> = after
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, v)| {
                            before.get(k.as_str()) != Some(v)
                                || change["after_unknown"][k.as_str()] == true
                        })
                        .map(|(k, v)| {
                            format!(
                                "{k}: {} -> {v}",
                                before.get(k.as_str()).unwrap_or(&Json::Null)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("{address} {actions:?}: {}", differs.join("; "))
        })
        .collect()
}

fn matrix(version: &str) {
    let e = env();
    let ws = workspace(version, &e);
    let tokens = tokens(&e);
    // Namespaces a team already has, for the cases that deploy into one.
    for ns in ["matrix-a", "matrix-b"] {
        e.kube.apply(
            &format!("/api/v1/namespaces/{ns}"),
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            "platform-team",
        );
    }
    let write_only = version != "1.0.3";
    let cases: Vec<Case> = cases::schemas()
        .iter()
        .flat_map(|(t, s)| cases::generate(t, s))
        .filter(|c| write_only || !c.write_only)
        .collect();
    let per_resource: BTreeMap<&str, usize> = cases.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.resource.as_str()).or_default() += 1;
        m
    });
    eprintln!(
        "terraform {version}: {} cases {per_resource:?}",
        cases.len()
    );
    let write = |config: &Json| {
        ws.write(
            "main.tf.json",
            &serde_json::to_string_pretty(config).expect("configuration"),
        )
    };
    write(&configuration(&cases, None, &tokens));
    ws.init().assert_success();
    let started = std::time::Instant::now();
    let apply = |what: &str| {
        let out = run(
            &ws,
            &[
                "apply",
                "-auto-approve",
                "-no-color",
                "-input=false",
                "-parallelism=20",
                "tfplan",
            ],
        );
        assert!(
            out.success(),
            "terraform {version} {what}: apply failed:\n{}",
            out.text()
        );
    };
    let settled = |what: &str| {
        let left = leftover_changes(&ws);
        assert!(
            left.is_empty(),
            "terraform {version} {what}: the second plan is not empty:\n{}",
            left.join("\n")
        );
    };
    run(&ws, &["plan", "-out=tfplan", "-no-color", "-input=false"]).assert_success();
    apply("create");
    settled("create");
    let mut failures = Vec::new();
    for phase in PHASES {
        write(&configuration(&cases, Some(phase), &tokens));
        let out = run(&ws, &["plan", "-out=tfplan", "-no-color", "-input=false"]);
        assert!(
            out.success(),
            "terraform {version} {phase:?}: plan failed:\n{}",
            out.text()
        );
        failures.extend(check_plan(&ws, &cases, phase));
        apply(&format!("{phase:?}"));
        settled(&format!("{phase:?}"));
        eprintln!(
            "terraform {version}: {phase:?} done at {:?}",
            started.elapsed()
        );
    }
    let out = run(
        &ws,
        &[
            "destroy",
            "-auto-approve",
            "-no-color",
            "-input=false",
            "-parallelism=20",
        ],
    );
    assert!(
        out.success(),
        "terraform {version}: destroy failed:\n{}",
        out.text()
    );
    assert!(
        e.aws.nodegroups().is_empty(),
        "node groups left after destroy"
    );
    eprintln!(
        "terraform {version}: matrix of {} cases in {:?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_attribute_and_block_added_changed_and_removed_terraform_1_15_5() {
    matrix("1.15.5");
}

#[test]
fn every_attribute_and_block_added_changed_and_removed_terraform_1_0_3() {
    matrix("1.0.3");
}
