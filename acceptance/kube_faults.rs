//! Faults on the Kubernetes side: throttling and server errors from the API server, and
//! credentials that expire mid-apply.
//!
//! - The seed environment (`examples/spark-on-eks`, through the module) is applied, updated in
//!   place (a new database password in the tfvars and a new Metabase image tag: the Secret and
//!   the Deployment change) and destroyed while the Kubernetes stand-in throttles 30 % of the
//!   API requests (429, `Retry-After: 1`) and answers bursts of 500/503, and the AWS stand-in
//!   throttles 30 % and fails 10 % of its requests. After each step the stand-ins hold exactly
//!   what the state records (no missing, duplicate or orphaned node groups or Kubernetes
//!   objects), a plan is empty, and after the destroy nothing is left. The counters of both
//!   stand-ins show the faults were served.
//! - The same environment is applied while the Kubernetes stand-in refuses EKS tokens older
//!   than 2 s and rollouts take 4 s: the provider's cached token expires mid-apply, the cluster
//!   answers 401, and the provider mints a new token and carries on; the stand-in's log shows
//!   a 401 followed by successful requests with the renewed token.
//! - Ctrl-C while the provider retries a throttled Kubernetes call (every request answered
//!   429): StopProvider cuts the wait between attempts short, Terraform exits within seconds
//!   (the retries left would take half a minute) and the provider sends no more requests.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::examples::{assert_empty, destroy, seed_example};
use crate::kube_sandbox::{env, ClusterEnv};
use crate::support::{
    apply, assert_no_changes, interrupt, state_resources, wait_while_running, Workspace,
    TERRAFORM_VERSIONS,
};

/// Faults on both stand-ins, seeded so a run is repeatable.
fn faults_on(e: &ClusterEnv) {
    e.kube.control(
        "POST",
        "/_sandbox/faults",
        &json!({"throttle_rate": 0.3, "error_rate": 0.05, "error_burst": 3,
                "error_codes": [500, 503], "seed": 7}),
    );
    e.aws.control(
        "POST",
        "/_sandbox/faults",
        &json!({"throttle_rate": 0.3, "error_rate": 0.1}),
    );
}

/// No more faults: the test's own checks must not meet them.
fn faults_off(e: &ClusterEnv) {
    e.kube.control("DELETE", "/_sandbox/faults", &Json::Null);
    e.aws.control("DELETE", "/_sandbox/faults", &Json::Null);
}

/// The Kubernetes objects the state records (`Kind/namespace/name` or `Kind/name`).
fn recorded_objects(resources: &[Json]) -> BTreeSet<String> {
    resources
        .iter()
        .filter_map(|r| r["values"]["objects"].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// The node groups the state records.
fn recorded_nodegroups(resources: &[Json]) -> BTreeSet<String> {
    resources
        .iter()
        .filter(|r| r["type"] == "dataplatform_nodegroup")
        .filter_map(|r| r["values"]["name"].as_str().map(str::to_string))
        .collect()
}

const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Every object of the kinds the provider knows in the stand-in, outside the system
/// namespaces, but those owned by another object (the deployment controller's ReplicaSets and
/// Pods).
fn live_objects(e: &ClusterEnv) -> BTreeSet<String> {
    let names = |list: &Json| -> Vec<String> {
        list["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|o| {
                        o["metadata"]["ownerReferences"]
                            .as_array()
                            .is_none_or(Vec::is_empty)
                    })
                    .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaces: Vec<String> = names(&e.kube.get("/api/v1/namespaces").expect("namespaces"))
        .into_iter()
        .filter(|n| !SYSTEM_NAMESPACES.contains(&n.as_str()))
        .filter(|n| !crate::kube_sandbox::CONTROLLER_NAMESPACES.contains(&n.as_str()))
        .collect();
    let mut live: BTreeSet<String> = namespaces
        .iter()
        .map(|n| format!("Namespace/{n}"))
        .collect();
    for ns in &namespaces {
        for k in dataplatform::clients::kube::KINDS {
            if !k.namespaced {
                continue;
            }
            let prefix = if k.api_version.contains('/') {
                format!("/apis/{}", k.api_version)
            } else {
                format!("/api/{}", k.api_version)
            };
            let path = format!("{prefix}/namespaces/{ns}/{}", k.plural);
            let list = e.kube.get(&path).unwrap_or_else(|| panic!("{path}"));
            live.extend(
                names(&list)
                    .into_iter()
                    .map(|n| format!("{}/{ns}/{n}", k.kind)),
            );
        }
    }
    live
}

/// The stand-ins hold exactly what the state records.
#[track_caller]
fn assert_matches_state(ws: &Workspace, e: &ClusterEnv, step: &str) {
    let resources = state_resources(ws);
    let recorded = recorded_objects(&resources);
    assert!(!recorded.is_empty(), "{step}: no objects in the state");
    let live = live_objects(e);
    let missing: Vec<&String> = recorded.difference(&live).collect();
    let orphaned: Vec<&String> = live.difference(&recorded).collect();
    assert!(
        missing.is_empty() && orphaned.is_empty(),
        "{step}: in the state but not in the cluster: {missing:?}; in the cluster but not in the state: {orphaned:?}"
    );
    let nodegroups = recorded_nodegroups(&resources);
    assert_eq!(nodegroups.len(), 3, "{step}: {nodegroups:?}");
    assert_eq!(
        e.aws.nodegroups().into_iter().collect::<BTreeSet<_>>(),
        nodegroups,
        "{step}: node groups"
    );
}

fn count(v: &Json) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn the_seed_environment_converges_under_throttling_and_server_errors() {
    let started = Instant::now();
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = seed_example(v, &e, "spark-on-eks");

    faults_on(&e);
    let out = apply(&ws);
    out.assert_success();
    assert!(
        out.text().contains("Apply complete! Resources: 5 added"),
        "{}",
        out.text()
    );
    faults_off(&e);
    assert_matches_state(&ws, &e, "after the apply");
    let kube_after_apply = e.kube.stats();

    // In place: a new password (tfvars) and a new image tag change the Secret and the
    // Deployment of Metabase.
    let main = ws.work_dir().join("main.tf");
    let text = std::fs::read_to_string(&main).expect("main.tf");
    assert!(text.contains("0.40.1-joom-1"));
    std::fs::write(&main, text.replace("0.40.1-joom-1", "0.40.2-joom-1")).expect("main.tf");
    let vars_file = ws.work_dir().join("sandbox.auto.tfvars.json");
    let mut vars: Json =
        serde_json::from_str(&std::fs::read_to_string(&vars_file).expect("tfvars")).expect("JSON");
    vars["metabase_database_password"] = json!("rotated-Pa55word");
    ws.write("sandbox.auto.tfvars.json", &vars.to_string());
    let secret_path = "/api/v1/namespaces/prod-bi/secrets/metabase";
    let secret_before = e.kube.get(secret_path).expect("metabase secret");

    faults_on(&e);
    let out = apply(&ws);
    out.assert_success();
    assert!(
        out.text()
            .contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed"),
        "{}",
        out.text()
    );
    faults_off(&e);
    let d = e
        .kube
        .get("/apis/apps/v1/namespaces/prod-bi/deployments/metabase")
        .expect("metabase");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/analytics/metabase:0.40.2-joom-1",
        "{d}"
    );
    assert_eq!(
        d["status"]["observedGeneration"], d["metadata"]["generation"],
        "rolled out: {d}"
    );
    let secret_after = e.kube.get(secret_path).expect("metabase secret");
    assert_ne!(secret_before["data"], secret_after["data"]);
    assert_matches_state(&ws, &e, "after the update");

    // Refresh and plan under faults: nothing to change.
    faults_on(&e);
    assert_no_changes(&ws);
    destroy(&ws);
    faults_off(&e);
    assert_empty(&e);
    assert_eq!(live_objects(&e), BTreeSet::new(), "left after the destroy");
    assert_eq!(e.aws.nodegroups(), Vec::<String>::new(), "node groups left");

    // The faults were served: throttling and server errors on both stand-ins, in each step.
    let kube = e.kube.stats();
    let faults = &kube["faults"];
    eprintln!(
        "kube-sandbox: {} requests, {} throttled, {} server errors ({}) in {} bursts; answers {}",
        kube["total_requests"],
        faults["throttled"],
        faults["server_errors"],
        faults["server_errors_by_code"],
        faults["bursts"],
        kube["responses"]
    );
    // The generator restarts with the same seed at each step, so each step meets the same
    // faults in the same order: the apply's 30-odd requests draw 8 throttles and a burst.
    assert!(
        count(&kube_after_apply["faults"]["throttled"]) >= 3,
        "{kube_after_apply}"
    );
    assert!(
        count(&kube_after_apply["faults"]["server_errors"]) >= 1,
        "{kube_after_apply}"
    );
    assert!(
        count(&faults["throttled"]) > count(&kube_after_apply["faults"]["throttled"]) + 10,
        "{kube}"
    );
    assert!(
        count(&faults["server_errors_by_code"]["500"]) >= 1,
        "{kube}"
    );
    assert!(
        count(&faults["server_errors_by_code"]["503"]) >= 1,
        "{kube}"
    );
    assert_eq!(
        count(&kube["responses"]["429"]),
        count(&faults["throttled"]),
        "{kube}"
    );
    let aws = e.aws.control("GET", "/_sandbox/stats", &Json::Null);
    eprintln!("aws sandbox: {aws}");
    let aws_total = |suffix: &str| -> u64 {
        aws.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.ends_with(suffix))
                    .map(|(_, v)| count(v))
                    .sum()
            })
            .unwrap_or(0)
    };
    assert!(aws_total(".throttled") >= 3, "{aws}");
    assert!(aws_total(".server_error") >= 1, "{aws}");
    eprintln!("took {:?}", started.elapsed());
}

#[test]
fn expired_eks_tokens_are_renewed_mid_apply() {
    let started = Instant::now();
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = seed_example(v, &e, "spark-on-eks");
    // Tokens live 2 s; Metabase's rollout takes 4 s, so the apply outlives its first token.
    e.kube.control(
        "POST",
        "/_sandbox/eks-token-max-age",
        &json!({"seconds": 2}),
    );
    e.kube
        .control("POST", "/_sandbox/rollout-delay", &json!({"ms": 4000}));

    let out = apply(&ws);
    out.assert_success();
    assert!(
        out.text().contains("Apply complete! Resources: 5 added"),
        "{}",
        out.text()
    );
    let stats = e.kube.stats();
    eprintln!(
        "kube-sandbox: {} EKS requests, {} expired tokens refused, {} distinct tokens; answers {}",
        stats["eks_tokens"],
        stats["expired_eks_tokens"],
        stats["eks_token_dates"],
        stats["responses"]
    );
    assert!(count(&stats["expired_eks_tokens"]) >= 1, "{stats}");
    assert!(count(&stats["eks_token_dates"]) >= 2, "{stats}");

    // The log: a request refused with 401, then requests that succeed with an EKS token.
    let log = e.kube.log();
    let lines: Vec<Vec<&str>> = log
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 6 && f[0].ends_with('Z'))
        .collect();
    let refused = lines
        .iter()
        .position(|f| f[3] == "401" && f[5] == "auth=rejected")
        .unwrap_or_else(|| panic!("no 401 in the log:\n{log}"));
    let after = lines[refused + 1..]
        .iter()
        .filter(|f| f[3].starts_with('2') && f[5] == "auth=eks")
        .count();
    assert!(after >= 1, "no success after the 401:\n{log}");
    assert!(
        !log.contains("k8s-aws-v1."),
        "tokens never appear in the log"
    );

    let d = e
        .kube
        .get("/apis/apps/v1/namespaces/prod-bi/deployments/metabase")
        .expect("metabase");
    assert_eq!(
        d["status"]["availableReplicas"], d["spec"]["replicas"],
        "{d}"
    );
    assert_matches_state(&ws, &e, "after the apply");
    e.kube
        .control("POST", "/_sandbox/rollout-delay", &json!({"ms": 300}));
    assert_no_changes(&ws);
    destroy(&ws);
    assert_empty(&e);
    eprintln!("took {:?}", started.elapsed());
}

#[test]
fn ctrl_c_stops_the_retries_of_a_throttled_call() {
    let started = Instant::now();
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = seed_example(v, &e, "spark-on-eks");
    e.kube
        .control("POST", "/_sandbox/faults", &json!({"throttle_rate": 1.0}));
    let throttled = || count(&e.kube.stats()["faults"]["throttled"]);
    let mut run = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    // Each call waits longer between attempts (at least Retry-After, 1 s, up to 8 s): by the
    // eighth refusal the calls sleep for seconds.
    wait_while_running(
        &mut run,
        Duration::from_secs(120),
        "eight throttled retries",
        || throttled() >= 8,
    );
    std::thread::sleep(Duration::from_millis(300));
    let before = e.kube.stats();
    eprintln!(
        "SIGINT after {} throttled requests",
        before["faults"]["throttled"]
    );
    let out = interrupt(run);
    let text = out.text();
    assert!(
        text.contains("cancelled before the Kubernetes API at"),
        "the provider says why it stopped:\n{text}"
    );
    // At most the requests already on their way when Terraform stopped the provider.
    let after = e.kube.stats();
    let sent = |s: &Json| -> u64 {
        s["requests"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.contains(" /_sandbox/"))
                    .map(|(_, n)| count(n))
                    .sum()
            })
            .unwrap_or(0)
    };
    assert!(
        sent(&after) <= sent(&before) + 2,
        "the provider kept calling: {} -> {} requests",
        sent(&before),
        sent(&after)
    );
    assert_eq!(
        count(&after["responses"]["429"]),
        count(&after["faults"]["throttled"])
    );
    eprintln!("took {:?}", started.elapsed());
}
