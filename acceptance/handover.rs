//! What the resources hand over to controllers they do not install, with real Terraform: a
//! cluster without the Prometheus operator's CRDs, the AWS Load Balancer Controller or the
//! Spark operator gets its objects applied with warnings naming what is missing, never an error;
//! the monitoring objects follow once the CRDs are installed; `wait_for_load_balancer` reports
//! the ALB's address, or fails naming the Ingress's events.

use serde_json::{json, Value as Json};

use crate::kube_sandbox::{env_with, workspace, ClusterEnv, KubeSandboxOptions};
use crate::support::{
    apply, assert_no_changes, hcl_list, required_providers, state_resources, TERRAFORM_VERSIONS,
};

const MONITOR: &str = "/apis/monitoring.coreos.com/v1/namespaces/metabase/servicemonitors/metabase";
const INGRESS: &str = "/apis/networking.k8s.io/v1/namespaces/metabase/ingresses/metabase";

/// A Metabase with an ALB ingress and monitoring, and a Spark pool granting the Spark
/// operator its rights; `ingress_extra` goes into the ingress block.
fn config(e: &ClusterEnv, ingress_extra: &str, timeouts: &str) -> String {
    format!(
        r#"{rp}
provider "dataplatform" {{
  region       = "eu-central-1"
  cluster_name = "analytics"
}}

resource "dataplatform_bi_service" "metabase" {{
  name             = "metabase"
  namespace        = "metabase"
  create_namespace = true
  engine           = "metabase"

  database {{
    type     = "postgres"
    host     = "metabase.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
    password = "handover-Pa55"
  }}

  ingress {{
    host = "metabase.analytics.example.com"
{ingress_extra}  }}

  monitoring {{}}
{timeouts}}}

resource "dataplatform_nodegroup" "drivers" {{
  cluster_name  = "analytics"
  name          = "spark-drivers"
  purpose       = "spark-driver"
  node_role_arn = "{role}"
  subnet_ids    = {subnets}
  scaling_config {{
    min_size = 0
    max_size = 2
  }}
}}

resource "dataplatform_spark_pool" "etl" {{
  name             = "etl"
  create_namespace = true

  driver {{
    placement = dataplatform_nodegroup.drivers.placement
  }}

  executor {{
    placement = dataplatform_nodegroup.drivers.placement
  }}

  spark_operator {{}}
}}

output "load_balancer_hostname" {{
  value = dataplatform_bi_service.metabase.load_balancer_hostname
}}
"#,
        rp = required_providers(),
        role = e.aws.node_role_arn(),
        subnets = hcl_list(&e.aws.subnet_ids()),
    )
}

fn without_monitoring() -> ClusterEnv {
    env_with(&KubeSandboxOptions {
        without_api_groups: vec!["monitoring.coreos.com".into()],
        ..KubeSandboxOptions::default()
    })
}

fn objects_of(ws: &crate::support::Workspace, address: &str) -> Json {
    state_resources(ws)
        .into_iter()
        .find(|r| r["address"] == address)
        .map(|r| r["values"]["objects"].clone())
        .unwrap_or(Json::Null)
}

#[test]
fn missing_controllers_are_named_at_apply_and_monitoring_follows_its_crds() {
    for v in TERRAFORM_VERSIONS {
        let e = without_monitoring();
        let ws = workspace(v, &e);
        ws.write("main.tf", &config(&e, "", ""));
        ws.init().assert_success();

        let out = apply(&ws);
        out.assert_success();
        let text = out.flat();
        for expected in [
            "The cluster does not serve monitoring.coreos.com/v1/ServiceMonitor: not created",
            "the Prometheus operator",
            "No IngressClass `alb` in the cluster",
            "the AWS Load Balancer Controller",
            "No Spark operator service account spark-operator/spark-operator-controller",
        ] {
            assert!(text.contains(expected), "{v}: {expected:?} not in:\n{text}");
        }
        assert!(e.kube.get(MONITOR).is_none(), "{v}: ServiceMonitor created");
        // The refresh records what the apply left out.
        ws.run(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
            .assert_success();
        let objects = objects_of(&ws, "dataplatform_bi_service.metabase");
        let recorded = objects["ServiceMonitor/metabase/metabase"]
            .as_str()
            .unwrap_or_default();
        assert!(recorded.starts_with("absent:"), "{v}: {objects}");
        assert!(
            objects["Deployment/metabase/metabase"]
                .as_str()
                .is_some_and(|p| !p.starts_with("absent:")),
            "{v}: {objects}"
        );
        // Left out is a settled state, not a change waiting.
        assert_no_changes(&ws);

        // The operator is installed: the next refresh finds the monitor missing, the plan
        // creates it, and then nothing is left to do.
        e.kube
            .control("POST", "/_sandbox/api-groups", &json!({"without": []}));
        e.install_controllers();
        let out = apply(&ws);
        out.assert_success();
        let text = out.flat();
        assert!(
            e.kube.get(MONITOR).is_some(),
            "{v}: ServiceMonitor not created:\n{text}"
        );
        assert!(!text.contains("does not serve"), "{v}: {text}");
        assert_no_changes(&ws);

        ws.run(&["destroy", "-auto-approve", "-no-color"])
            .assert_success();
        assert!(
            e.kube.get(MONITOR).is_none(),
            "{v}: ServiceMonitor left behind"
        );
    }
}

#[test]
fn wait_for_load_balancer_reports_the_albs_address_or_names_the_ingress_events() {
    let v = TERRAFORM_VERSIONS[0];
    let e = without_monitoring();
    let ws = workspace(v, &e);
    let waiting = "    wait_for_load_balancer = true\n";
    let short = "\n  timeouts {\n    create = \"4s\"\n    update = \"4s\"\n  }\n";

    // No controller: the wait ends in an error saying nothing looked at the Ingress, and the
    // state keeps what exists, marked so the next apply tries again.
    ws.write("main.tf", &config(&e, waiting, short));
    ws.init().assert_success();
    let out = apply(&ws);
    out.assert_failure();
    let text = out.flat();
    assert!(text.contains("No load balancer address"), "{text}");
    assert!(
        text.contains("no ingress controller has looked at it"),
        "{text}"
    );
    assert!(e.kube.get(INGRESS).is_some());
    assert!(
        !objects_of(&ws, "dataplatform_bi_service.metabase").is_null(),
        "the state forgot what was applied"
    );

    // The controller arrives but cannot build the load balancer: the error gives its reason,
    // from the Ingress's events.
    e.install_controllers();
    let why = "Failed build model due to couldn't auto-discover subnets: unable to resolve at least one subnet";
    e.kube.control(
        "POST",
        "/_sandbox/fail-load-balancers",
        &json!({"reason": "FailedBuildModel", "message": why}),
    );
    let out = apply(&ws);
    out.assert_failure();
    let text = out.flat();
    assert!(text.contains(&format!("FailedBuildModel: {why}")), "{text}");

    // Fixed: the next apply waits for the address and reports it.
    e.kube
        .control("POST", "/_sandbox/fail-load-balancers", &json!({}));
    let out = apply(&ws);
    out.assert_success();
    let text = out.flat();
    let hostname = ws.run(&["output", "-raw", "load_balancer_hostname"]).text();
    assert!(
        hostname.starts_with("internal-k8s-metabase-metabase-")
            && hostname.ends_with(".elb.amazonaws.com"),
        "{hostname}\n{text}"
    );
    let live = e.kube.get(INGRESS).unwrap_or_default();
    assert_eq!(
        live.pointer("/status/loadBalancer/ingress/0/hostname")
            .and_then(Json::as_str),
        Some(hostname.trim())
    );
    assert_no_changes(&ws);

    // Without waiting, a refresh still reports the address.
    ws.write("main.tf", &config(&e, "", short));
    apply(&ws).assert_success();
    assert_eq!(
        ws.run(&["output", "-raw", "load_balancer_hostname"]).text(),
        hostname
    );
    assert_no_changes(&ws);
}
