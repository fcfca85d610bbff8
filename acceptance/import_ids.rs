//! Import of Kubernetes-backed resources whose cluster is set on the resource, not on the
//! provider (as in the examples): the import ID names the cluster, `cluster:namespace/name`.

use crate::kube_sandbox::{env, workspace};
use crate::support::{apply, assert_no_changes, required_providers, TERRAFORM_VERSIONS};

fn placement(purpose: &str) -> String {
    format!(
        r#"{{
      node_selector = {{ purpose = "{purpose}" }}
      tolerations   = [{{ key = "purpose", operator = "Equal", value = "{purpose}", effect = "NoSchedule" }}]
      labels        = {{ purpose = "{purpose}" }}
      taints        = [{{ key = "purpose", value = "{purpose}", effect = "NO_SCHEDULE" }}]
      capacity_type = "ON_DEMAND"
    }}"#
    )
}

fn config() -> String {
    format!(
        r#"{rp}
provider "dataplatform" {{
  region = "eu-central-1"
}}

resource "dataplatform_bi_service" "metabase" {{
  cluster_name = "analytics"
  name         = "metabase"
  namespace    = "hbi"
  create_namespace = true
  engine       = "metabase"
}}

resource "dataplatform_spark_pool" "etl" {{
  cluster_name     = "analytics"
  name             = "etl"
  create_namespace = true
  driver {{
    placement = {driver}
  }}
  executor {{
    placement = {executor}
  }}
}}
"#,
        rp = required_providers(),
        driver = placement("spark-driver"),
        executor = placement("spark-executor"),
    )
}

#[test]
fn resources_whose_cluster_is_on_the_resource_import_by_cluster_namespace_and_name() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        let ws = workspace(v, &e);
        ws.write("main.tf", &config());
        ws.init().assert_success();
        apply(&ws).assert_success();
        for address in [
            "dataplatform_bi_service.metabase",
            "dataplatform_spark_pool.etl",
        ] {
            ws.run(&["state", "rm", address]).assert_success();
        }

        // Without a cluster, the import says how to name one.
        let out = ws.run(&[
            "import",
            "-no-color",
            "-input=false",
            "dataplatform_bi_service.metabase",
            "hbi/metabase",
        ]);
        out.assert_failure();
        let text = out.text();
        assert!(
            text.contains("No cluster to deploy into") || text.contains("cluster:namespace/name"),
            "terraform {v}:\n{text}"
        );

        for (address, id) in [
            ("dataplatform_bi_service.metabase", "analytics:hbi/metabase"),
            ("dataplatform_spark_pool.etl", "analytics:etl/etl"),
        ] {
            let out = ws.run(&["import", "-no-color", "-input=false", address, id]);
            assert!(out.success(), "terraform {v} import {id}:\n{}", out.text());
        }
        assert_no_changes(&ws);
        let out = ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
        assert!(out.success(), "terraform {v}:\n{}", out.text());
        assert!(e.kube.get("/api/v1/namespaces/etl").is_none());
    }
}
