//! The ephemeral resource `dataplatform_cluster_auth` with real Terraform 1.15.5 against the
//! stand-ins: its endpoint, CA and token configure a second provider instance (as they would
//! the kubernetes or helm provider), whose Spark pool applies with that token; neither the
//! saved plan nor the state holds the token. Terraform 1.0.3 knows no ephemeral resources; the
//! data source serves it, and the rest of the suite shows the provider still works there.

use crate::kube_sandbox::{env, workspace};
use crate::support::{assert_no_changes, line_of, required_providers, TERRAFORM_VERSIONS};

const TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// Prints the name and the bytes of every member of a zip (a saved plan).
const UNZIP: &str = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for i in z.infolist():
        sys.stdout.write(i.filename + "\n")
        sys.stdout.write(z.read(i).decode("latin-1") + "\n")
"#;

fn config(name: &str) -> String {
    format!(
        r#"{rp}
provider "dataplatform" {{
  region = "eu-central-1"
}}

ephemeral "dataplatform_cluster_auth" "analytics" {{
  name = "{name}"
}}

# Configured from the ephemeral values only: no cluster_name, no AWS lookup of its own.
provider "dataplatform" {{
  alias  = "in_cluster"
  region = "eu-central-1"
  kubernetes {{
    host                   = ephemeral.dataplatform_cluster_auth.analytics.endpoint
    cluster_ca_certificate = ephemeral.dataplatform_cluster_auth.analytics.cluster_ca_certificate
    token                  = ephemeral.dataplatform_cluster_auth.analytics.token
  }}
}}

resource "dataplatform_spark_pool" "etl" {{
  provider         = dataplatform.in_cluster
  name             = "etl"
  namespace        = "spark-eph"
  create_namespace = true
  driver {{
    placement = {{
      node_selector = {{ purpose = "spark-driver" }}
      tolerations   = []
      labels        = {{ purpose = "spark-driver" }}
      taints        = []
      capacity_type = "ON_DEMAND"
      local_storage = false
    }}
  }}
  executor {{
    placement = {{
      node_selector = {{ purpose = "spark-executor" }}
      tolerations   = []
      labels        = {{ purpose = "spark-executor" }}
      taints        = []
      capacity_type = "ON_DEMAND"
      local_storage = false
    }}
  }}
}}

check "token_lifetime" {{
  assert {{
    condition     = timecmp(ephemeral.dataplatform_cluster_auth.analytics.expiration_timestamp, timestamp()) > 0
    error_message = "The token has expired already."
  }}
}}
"#,
        rp = required_providers()
    )
}

#[test]
fn cluster_auth_configures_a_provider_and_stays_out_of_plan_and_state() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    ws.write("main.tf", &config("analytics"));
    ws.init().assert_success();

    let planned = ws.run(&["plan", "-out=saved.tfplan", "-no-color", "-input=false"]);
    planned.assert_success();
    assert!(
        planned
            .text()
            .contains("1 to add, 0 to change, 0 to destroy"),
        "{}",
        planned.text()
    );
    let tokens_before = e.kube.stats()["eks_tokens"].as_u64().unwrap_or(0);
    let applied = ws.run(&["apply", "-no-color", "-input=false", "saved.tfplan"]);
    applied.assert_success();
    assert!(
        !applied.text().contains("assertion failed"),
        "{}",
        applied.text()
    );
    // The pool's objects were written with the ephemeral token.
    let sa = e
        .kube
        .get("/api/v1/namespaces/spark-eph/serviceaccounts/etl-spark-driver");
    assert!(
        sa.is_some(),
        "the pool's driver service account exists:\n{}\n{:?}",
        applied.text(),
        e.kube.get("/api/v1/namespaces/spark-eph/serviceaccounts")
    );
    assert!(
        e.kube.stats()["eks_tokens"].as_u64().unwrap_or(0) > tokens_before,
        "the API server saw EKS tokens"
    );

    // Neither the saved plan (every member of the zip) nor the state holds a token.
    let members = std::process::Command::new("python3")
        .args(["-c", UNZIP])
        .arg(ws.work_dir().join("saved.tfplan"))
        .output()
        .expect("python3");
    assert!(members.status.success(), "{members:?}");
    let plan_text = String::from_utf8_lossy(&members.stdout);
    assert!(
        plan_text.contains("tfplan") && plan_text.contains("dataplatform_spark_pool"),
        "the plan's members were read: {plan_text}"
    );
    assert!(
        !plan_text.contains(TOKEN_PREFIX),
        "the saved plan holds a token"
    );
    let state_text =
        std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).expect("state");
    assert!(
        !state_text.contains(TOKEN_PREFIX),
        "the state holds a token"
    );
    // The state records the pool (which names the ephemeral resource among its dependencies),
    // never the ephemeral resource itself.
    let state: serde_json::Value = serde_json::from_str(&state_text).expect("state JSON");
    let types: Vec<&str> = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(types, ["dataplatform_spark_pool"]);
    let shown = ws.run(&["show", "-json", "saved.tfplan"]);
    shown.assert_success();
    assert!(!shown.stdout.contains(TOKEN_PREFIX));

    // Every run opens it again with a new token: the next plan is empty.
    assert_no_changes(&ws);
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(e
        .kube
        .get("/api/v1/namespaces/spark-eph/serviceaccounts/etl-spark-driver")
        .is_none());
}

#[test]
fn a_bad_or_missing_cluster_is_reported_at_the_name() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    let bad = config("not a cluster!");
    ws.write("main.tf", &bad);
    ws.init().assert_success();
    let out = ws.run(&["validate", "-no-color"]);
    out.assert_failure();
    let text = out.text();
    assert!(
        text.contains(&format!(
            "on main.tf line {}",
            line_of(&bad, "not a cluster!")
        )) && text.contains("name must be an EKS cluster name"),
        "{text}"
    );

    let missing = config("nowhere");
    ws.write("main.tf", &missing);
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    out.assert_failure();
    let text = out.flat();
    assert!(text.contains("nowhere"), "{text}");
    assert!(!text.contains(TOKEN_PREFIX), "{text}");
}
