//! Secrets never leak: with `TF_LOG=trace`, a full apply, a failing update and a destroy of
//! the seed environment print no database password, Kubernetes token or AWS secret key, in
//! Terraform's and the provider's logs, in plan output or in errors.

use base64::Engine as _;

use crate::examples::{assert_empty, destroy, seed_example};
use crate::kube_sandbox::{ClusterEnv, KubeSandbox, KubeSandboxOptions};
use crate::sandbox::Sandbox;
use crate::support::{Output, TERRAFORM_VERSIONS};

/// The AWS secret key of this test: the AWS stand-in accepts any, the Kubernetes stand-in
/// verifies the EKS tokens' signatures with it, so the provider must have used it.
const AWS_SECRET_KEY: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY-4f1c";
const PASSWORD: &str = "example-Pa55word";
const ROTATED_PASSWORD: &str = "rotated-Pa55word-2";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every form in which one of the test's secrets could show up.
fn secrets() -> Vec<String> {
    let mut s = Vec::new();
    for p in [PASSWORD, ROTATED_PASSWORD] {
        s.push(p.to_string());
        s.push(b64(p));
    }
    s.push(AWS_SECRET_KEY.to_string());
    // Any EKS bearer token: the provider mints them, so their value is not known here, but
    // they all start this way (and their base64 payload holds a presigned STS URL).
    s.push("k8s-aws-v1.".to_string());
    s.push(b64("https://sts."));
    s.push("X-Amz-Signature".to_string());
    s
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for secret in secrets() {
        if let Some(at) = text.find(&secret) {
            let from = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let to = text[at..].find('\n').map_or(text.len(), |i| at + i);
            // Name what leaked without printing the secret itself.
            panic!(
                "{what} holds a secret ({} characters at byte {at}) in a line of {} characters \
                 starting {:?}",
                secret.len(),
                to - from,
                &text[from..at.min(from + 60)]
            );
        }
    }
}

#[track_caller]
fn checked(what: &str, out: Output) -> Output {
    assert_clean(&format!("{what} stdout"), &out.stdout);
    assert_clean(&format!("{what} stderr"), &out.stderr);
    out
}

#[test]
fn a_traced_apply_update_and_destroy_of_the_seed_environment_prints_no_secret() {
    let v = TERRAFORM_VERSIONS[0];
    let kube = KubeSandbox::start_with(&KubeSandboxOptions {
        aws_secret_key: Some(AWS_SECRET_KEY.to_string()),
        ..KubeSandboxOptions::default()
    });
    let aws = Sandbox::start_with_kube(&kube);
    let e = ClusterEnv { kube, aws };
    let mut ws = seed_example(v, &e, "spark-on-eks");
    ws.env("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY);
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &log.display().to_string());

    // Create everything.
    let out = checked(
        "apply",
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]),
    );
    out.assert_success();
    assert!(out.text().contains("Resources: 5 added"), "{}", out.text());
    let stats = e.kube.stats();
    assert!(
        stats["eks_tokens"].as_u64().unwrap_or(0) > 0,
        "the provider reached the cluster with EKS tokens signed with the test's key: {stats}"
    );
    let secret = e
        .kube
        .get("/api/v1/namespaces/prod-bi/secrets/metabase")
        .expect("the database password's Secret");
    assert_eq!(
        secret["data"]["database-password"],
        serde_json::json!(b64(PASSWORD))
    );

    // A plan that changes the password, and an update that fails on a rollout: the plan and
    // the error say what happened without the values.
    let vars =
        std::fs::read_to_string(ws.work_dir().join("sandbox.auto.tfvars.json")).expect("tfvars");
    ws.write(
        "sandbox.auto.tfvars.json",
        &vars.replace(PASSWORD, ROTATED_PASSWORD),
    );
    let main = std::fs::read_to_string(ws.work_dir().join("main.tf")).expect("main.tf");
    ws.write(
        "main.tf",
        &main.replace("0.40.1-joom-1", "0.40.1-joom-1-broken"),
    );
    let plan = checked("plan", ws.run(&["plan", "-no-color", "-input=false"]));
    plan.assert_success();
    assert!(
        plan.stdout.contains("sensitive value") || plan.stdout.contains("(sensitive"),
        "the plan shows the password as sensitive:\n{}",
        plan.stdout
    );
    let failed = checked(
        "failing apply",
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]),
    );
    failed.assert_failure();
    assert!(
        failed.text().contains("Rollout failed"),
        "the error names the failed rollout:\n{}",
        failed.text()
    );

    // Back to a working image; then destroy.
    ws.write("main.tf", &main);
    checked(
        "recovering apply",
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]),
    )
    .assert_success();
    checked("plan", ws.run(&["plan", "-no-color", "-input=false"])).assert_success();
    destroy(&ws);
    assert_empty(&e);

    let text = std::fs::read(&log).expect("trace log");
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.lines()
            .filter(|l| l.contains("terraform-provider-dataplatform"))
            .count()
            > 100,
        "the provider's trace logs were captured"
    );
    assert_clean("the trace log", &text);
}
