//! `dataplatform_spark_pool` with real Terraform on the seed's node groups, and the proof with
//! a real Spark client: spark-submit with the pool's `spark_conf` and pod templates creates its
//! driver pod where the pool says.

use serde_json::{json, Value as Json};

use crate::kube_sandbox::{env, workspace};
use crate::sandbox::Sandbox;
use crate::spark::{driver_pod, spark_submit};
use crate::support::{
    apply, assert_no_changes, line_of, plan, required_providers, TERRAFORM_VERSIONS,
};

/// A setting of the pool's own `conf`, as the update step writes it.
const SHUFFLE_CONF: &str = "  conf = {\n    \"spark.sql.shuffle.partitions\" = \"400\"\n  }\n";

/// The seed's Spark node groups and a pool on them; `executor_extra` and `pool_extra` are
/// spliced into the pool.
fn config(sb: &Sandbox, template_dir: &str, executor_extra: &str, pool_extra: &str) -> String {
    let role = sb.node_role_arn();
    let subnets = sb
        .subnet_ids()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"{rp}
provider "dataplatform" {{
  region       = "eu-central-1"
  cluster_name = "analytics"
}}

resource "dataplatform_nodegroup" "spark_driver" {{
  cluster_name  = "analytics"
  name          = "spark-drivers"
  purpose       = "spark-driver"
  node_role_arn = "{role}"
  subnet_ids    = [{subnets}]
  scaling_config {{
    min_size = 0
    max_size = 10
  }}
}}

resource "dataplatform_nodegroup" "spark_executor" {{
  cluster_name   = "analytics"
  name           = "spark-executors"
  purpose        = "spark-executor"
  node_role_arn  = "{role}"
  subnet_ids     = [{subnets}]
  instance_types = ["r5d.2xlarge", "r5dn.2xlarge"]
  scaling_config {{
    min_size = 0
    max_size = 50
  }}
}}

resource "dataplatform_spark_pool" "etl" {{
  name             = "etl"
  create_namespace = true
  pod_template_dir = "{template_dir}"

  driver {{
    placement = dataplatform_nodegroup.spark_driver.placement
  }}

  executor {{
    placement  = dataplatform_nodegroup.spark_executor.placement
    cores      = 4
    memory     = "24g"
    local_dirs = ["/mnt/nvme0", "/mnt/nvme1"]
{executor_extra}  }}

  quota {{
    cpu    = "400"
    memory = "3Ti"
  }}

  spark_operator {{}}
{pool_extra}}}

output "spark_conf" {{
  value = dataplatform_spark_pool.etl.spark_conf
}}

output "driver_pod_template" {{
  value = dataplatform_spark_pool.etl.driver_pod_template
}}

output "executor_pod_template" {{
  value = dataplatform_spark_pool.etl.executor_pod_template
}}
"#,
        rp = required_providers()
    )
}

fn has_toleration(spec: &Json, value: &str) -> bool {
    spec["tolerations"].as_array().is_some_and(|ts| {
        ts.iter()
            .any(|t| t["key"] == "purpose" && t["value"] == value && t["effect"] == "NoSchedule")
    })
}

#[test]
fn the_seed_pool_applies_and_spark_submit_lands_where_it_says() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        let ws = workspace(v, &e);
        let templates = tempfile::tempdir().expect("template dir");
        let dir = templates.path().display().to_string();
        ws.write("main.tf", &config(&e.aws, &dir, "", ""));
        ws.init().assert_success();

        // The Spark configuration is known at plan time.
        ws.run(&["plan", "-out=tfplan", "-no-color", "-input=false"])
            .assert_success();
        let shown = ws.run(&["show", "-json", "tfplan"]);
        let doc: Json = serde_json::from_str(&shown.stdout).expect("plan JSON");
        let planned_conf = &doc["planned_values"]["outputs"]["spark_conf"]["value"];
        assert_eq!(
            planned_conf["spark.kubernetes.namespace"], "etl",
            "terraform {v}: {planned_conf}"
        );
        assert_eq!(
            planned_conf["spark.kubernetes.executor.node.selector.purpose"],
            "spark-executor"
        );
        assert_eq!(
            planned_conf["spark.decommission.enabled"], "true",
            "executors run on spot"
        );

        apply(&ws).assert_success();
        let cm = e
            .kube
            .get("/api/v1/namespaces/etl/configmaps/etl-pod-templates")
            .expect("configmap");
        let executor_yaml = cm["data"]["executor.yaml"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            executor_yaml.contains("\"spark-local-dir-2\""),
            "{executor_yaml}"
        );
        assert!(executor_yaml.contains("\"/mnt/nvme1\""), "{executor_yaml}");
        // The executor group has local storage (r5d/r5dn): the local dirs are emptyDir volumes
        // on the NVMe-backed kubelet root, not host paths on the root volume.
        assert!(
            executor_yaml.contains("\"emptyDir\": {}") && !executor_yaml.contains("hostPath"),
            "{executor_yaml}"
        );
        for path in [
            "/api/v1/namespaces/etl",
            "/api/v1/namespaces/etl/serviceaccounts/spark-driver",
            "/api/v1/namespaces/etl/serviceaccounts/spark-executor",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/etl/roles/etl-driver",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/etl/rolebindings/etl-driver",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/etl/rolebindings/etl-spark-operator",
            "/api/v1/namespaces/etl/resourcequotas/etl",
        ] {
            assert!(e.kube.get(path).is_some(), "terraform {v}: {path} missing");
        }
        let role = e
            .kube
            .get("/apis/rbac.authorization.k8s.io/v1/namespaces/etl/roles/etl-driver")
            .expect("role");
        assert_eq!(
            role["rules"][0]["resources"],
            json!(["pods", "services", "configmaps", "persistentvolumeclaims"])
        );
        assert_no_changes(&ws);

        if v == TERRAFORM_VERSIONS[0] {
            // A real spark-submit with the pool's configuration and pod templates.
            for name in ["driver_pod_template", "executor_pod_template"] {
                let out = ws.run(&["output", "-raw", name]);
                out.assert_success();
                let file = if name.starts_with("driver") {
                    "driver.yaml"
                } else {
                    "executor.yaml"
                };
                std::fs::write(templates.path().join(file), &out.stdout).expect("write template");
            }
            let out = ws.run(&["output", "-json", "spark_conf"]);
            let conf: Json = serde_json::from_str(&out.stdout).expect("spark_conf JSON");
            let pairs: Vec<(String, String)> = conf
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let submitted = spark_submit(&e.kube, &pairs, &[]);
            assert!(
                submitted.success(),
                "spark-submit failed:\n{}",
                submitted.stderr
            );
            let pod = driver_pod(&e.kube, "etl").expect("driver pod in the pool's namespace");
            let spec = &pod["spec"];
            assert_eq!(spec["serviceAccountName"], "spark-driver", "{pod}");
            assert_eq!(spec["nodeSelector"]["purpose"], "spark-driver", "{pod}");
            assert!(
                has_toleration(spec, "spark-driver"),
                "driver toleration missing: {pod}"
            );
            // Clean the driver up so destroy leaves nothing behind.
            let name = pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            e.kube.request(
                "DELETE",
                &format!("/api/v1/namespaces/etl/pods/{name}"),
                None,
                None,
            );
        }

        // Configuration changes update in place.
        ws.write("main.tf", &config(&e.aws, &dir, "", SHUFFLE_CONF));
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        assert_no_changes(&ws);

        // Drift: the RoleBinding deleted and a template edited by hand.
        let (code, _) = e.kube.request(
            "DELETE",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/etl/rolebindings/etl-driver",
            None,
            None,
        );
        assert_eq!(code, 200);
        let (code, _) = e.kube.request(
            "PATCH",
            "/api/v1/namespaces/etl/configmaps/etl-pod-templates",
            Some("application/merge-patch+json"),
            Some(&json!({"data": {"driver.yaml": "edited"}})),
        );
        assert_eq!(code, 200);
        let p = plan(&ws);
        let text = p.text();
        assert!(
            text.contains("RoleBinding/etl/etl-driver") && text.contains("\"deleted\""),
            "terraform {v}:\n{text}"
        );
        assert!(text.contains("ConfigMap/etl/etl-pod-templates"), "{text}");
        // The edited template is a field another manager now owns: a conflict until forced.
        let out = apply(&ws);
        let flat = out.flat();
        assert!(
            !out.success() && flat.contains(".data.driver.yaml"),
            "terraform {v}:\n{}",
            out.text()
        );
        ws.write(
            "main.tf",
            &config(
                &e.aws,
                &dir,
                "",
                &format!("{SHUFFLE_CONF}  force_conflicts = true\n"),
            ),
        );
        apply(&ws).assert_success();
        assert!(e
            .kube
            .get("/apis/rbac.authorization.k8s.io/v1/namespaces/etl/rolebindings/etl-driver")
            .is_some());
        assert_no_changes(&ws);

        // Import gives the same state.
        ws.run(&["state", "rm", "dataplatform_spark_pool.etl"])
            .assert_success();
        ws.run(&[
            "import",
            "-no-color",
            "-input=false",
            "dataplatform_spark_pool.etl",
            "etl/etl",
        ])
        .assert_success();
        let out = apply(&ws);
        out.assert_success();
        assert!(
            out.text().contains("0 added, 0 changed, 0 destroyed"),
            "terraform {v}: import left a difference:\n{}",
            out.text()
        );
        assert_no_changes(&ws);

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(
            e.kube.get("/api/v1/namespaces/etl").is_none(),
            "terraform {v}: namespace left behind"
        );
    }
}

#[test]
fn bad_placement_and_bad_input_fail_at_plan_with_the_attribute() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        (
            "executors not tolerating the group's taint",
            "    tolerations = []\n",
            "",
            "tolerations = []",
            "purpose=spark-executor:NoSchedule",
        ),
        (
            "a selector no node of the group has",
            "    node_selector = { purpose = \"spark-driver\" }\n",
            "",
            "node_selector = {",
            "matches no node",
        ),
        (
            "spot executors without decommissioning",
            "",
            "  decommission = false\n",
            "decommission = false",
            "Spot executors without decommissioning",
        ),
        (
            "a configuration key that is not Spark's",
            "",
            "  conf = {\n    \"sql.shuffle.partitions\" = \"4\"\n  }\n",
            "\"sql.shuffle.partitions\"",
            "does not start with",
        ),
        (
            "a malformed memory size",
            "",
            "  driver {\n    placement = dataplatform_nodegroup.spark_driver.placement\n    memory    = \"2 GB\"\n  }\n",
            "memory    = \"2 GB\"",
            "Spark memory size",
        ),
    ];
    for (what, executor_extra, pool_extra, needle, message) in cases {
        let ws = workspace(v, &e);
        let mut text = config(&e.aws, "/tmp/templates", executor_extra, pool_extra);
        if pool_extra.contains("  driver {") {
            // Replace the pool's own driver block with the one under test.
            text = text.replacen(
                "  driver {\n    placement = dataplatform_nodegroup.spark_driver.placement\n  }\n\n",
                "",
                1,
            );
        }
        ws.write("main.tf", &text);
        ws.init().assert_success();
        let out = plan(&ws);
        out.assert_failure();
        let shown = out.text();
        assert!(
            shown.contains(message),
            "{what}: expected {message:?} in:\n{shown}"
        );
        let line = line_of(&text, needle);
        assert!(
            shown.contains(&format!("main.tf line {line}")),
            "{what}: expected the diagnostic at main.tf line {line}:\n{shown}"
        );
    }
    assert_eq!(
        e.kube.stats()["total_requests"].as_u64().unwrap_or(0),
        0,
        "nothing was sent to the cluster"
    );
}

const HISTORY: &str = "/apis/apps/v1/namespaces/etl/deployments/etl-history";

/// The History Server next to the pool: rolled out on its placement, reading the pool's event
/// logs, behind an ALB whose address it waits for; drift on it is shown and put back, and an
/// import restores it.
#[test]
fn the_history_server_rolls_out_reads_the_event_logs_and_is_restored() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        e.install_controllers();
        let ws = workspace(v, &e);
        let templates = tempfile::tempdir().expect("template dir");
        let dir = templates.path().display().to_string();
        let history = r#"
  event_log {
    dir = "s3a://lake/spark-events"
  }

  history_server {
    placement = dataplatform_nodegroup.spark_driver.placement
    memory    = "3g"
    iam {
      role_arn = "arn:aws:iam::123456789012:role/spark-history"
    }
    ingress {
      host                   = "spark-history.analytics.example.com"
      group_name             = "analytics"
      wait_for_load_balancer = true
    }
  }
"#;
        let mut main = config(&e.aws, &dir, "", history);
        main.push_str(
            "\noutput \"history_server_url\" {\n  value = dataplatform_spark_pool.etl.history_server_url\n}\n\
             \noutput \"history_lb\" {\n  value = dataplatform_spark_pool.etl.history_server_load_balancer_hostname\n}\n",
        );
        ws.write("main.tf", &main);
        ws.init().assert_success();

        let out = apply(&ws);
        out.assert_success();
        assert!(
            !out.flat().contains("No IngressClass"),
            "terraform {v}: {}",
            out.flat()
        );
        let d = e.kube.get(HISTORY).expect("history server deployment");
        assert_eq!(
            d.pointer("/status/readyReplicas").and_then(Json::as_i64),
            Some(1),
            "terraform {v}: not rolled out: {d}"
        );
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "spark-history");
        // Its own role, through an EKS Pod Identity association of its account.
        let associations = e.aws.pod_identities();
        assert_eq!(
            associations.get("etl/spark-history").map(|a| a.1.as_str()),
            Some("arn:aws:iam::123456789012:role/spark-history"),
            "terraform {v}: {associations:?}"
        );
        assert_eq!(pod["nodeSelector"]["purpose"], "spark-driver");
        assert!(has_toleration(pod, "spark-driver"), "{pod}");
        let env = pod["containers"][0]["env"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let opts = env
            .iter()
            .find(|e| e["name"] == "SPARK_HISTORY_OPTS")
            .and_then(|e| e["value"].as_str())
            .unwrap_or_default();
        assert!(
            opts.contains("-Dspark.history.fs.logDirectory=s3a://lake/spark-events"),
            "{opts}"
        );
        assert!(
            opts.contains(
                "-Dspark.hadoop.fs.s3a.aws.credentials.provider=org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider"
            ),
            "{opts}"
        );
        let svc = e
            .kube
            .get("/api/v1/namespaces/etl/services/etl-history")
            .expect("history service");
        assert_eq!(svc["spec"]["ports"][0]["port"], 18080);
        let ingress = e
            .kube
            .get("/apis/networking.k8s.io/v1/namespaces/etl/ingresses/etl-history")
            .expect("history ingress");
        assert_eq!(
            ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"],
            "/api/v1/version"
        );
        assert_eq!(
            ws.run(&["output", "-raw", "history_server_url"]).stdout,
            "http://spark-history.analytics.example.com/"
        );
        assert!(ws
            .run(&["output", "-raw", "history_lb"])
            .stdout
            .starts_with("internal-k8s-analytics-"));
        assert_no_changes(&ws);

        // Deleted outside Terraform: the plan shows it, the apply puts it back.
        let (code, _) = e.kube.request("DELETE", HISTORY, None, None);
        assert!((200..300).contains(&code), "delete: {code}");
        let p = plan(&ws);
        assert!(
            p.text().contains("Deployment/etl/etl-history"),
            "terraform {v}: {}",
            p.text()
        );
        apply(&ws).assert_success();
        assert!(e.kube.get(HISTORY).is_some());
        assert_no_changes(&ws);

        crate::support::reimport(&ws, &[("dataplatform_spark_pool.etl", "etl/etl")]);
        crate::support::assert_reimported_clean(&ws, v);

        ws.run(&["destroy", "-auto-approve", "-no-color"])
            .assert_success();
        assert!(e.kube.get(HISTORY).is_none());
        assert!(
            e.aws.pod_identities().is_empty(),
            "terraform {v}: association left behind"
        );
    }
}
