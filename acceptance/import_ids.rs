//! Import of Kubernetes-backed resources whose cluster is set on the resource, not on the
//! provider (as in the examples): the import ID names the cluster, `cluster:namespace/name`.
//! With Terraform 1.12+ every resource also has an identity (stored beside its state), and
//! `import` blocks may name the object by it.

use crate::kube_sandbox::{env, workspace};
use crate::support::{
    apply, assert_imports_clean, assert_no_changes, hcl_list, plan, provider_only, query_found,
    required_providers, TERRAFORM_VERSIONS,
};

fn placement(purpose: &str) -> String {
    format!(
        r#"{{
      node_selector = {{ purpose = "{purpose}" }}
      tolerations   = [{{ key = "purpose", operator = "Equal", value = "{purpose}", effect = "NoSchedule" }}]
      labels        = {{ purpose = "{purpose}" }}
      taints        = [{{ key = "purpose", value = "{purpose}", effect = "NO_SCHEDULE" }}]
      capacity_type = "ON_DEMAND"
      local_storage = false
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

/// A node group beside the two Kubernetes-backed resources.
fn nodegroup(e: &crate::kube_sandbox::ClusterEnv) -> String {
    format!(
        r#"
resource "dataplatform_nodegroup" "infra" {{
  cluster_name   = "{cluster}"
  name           = "infra"
  purpose        = "infra"
  node_role_arn  = "{role}"
  subnet_ids     = {subnets}
  instance_types = ["m6i.2xlarge"]
  scaling_config {{
    min_size = 1
    max_size = 3
  }}
}}
"#,
        cluster = e.aws.cluster(),
        role = e.aws.node_role_arn(),
        subnets = hcl_list(&e.aws.subnet_ids()),
    )
}

#[test]
fn every_resource_has_an_identity_and_imports_by_it() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    let main = format!("{}{}", config(), nodegroup(&e));
    ws.write("main.tf", &main);
    ws.init().assert_success();
    apply(&ws).assert_success();

    // The state holds each instance's identity.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).expect("state"),
    )
    .expect("state JSON");
    let identity = |ty: &str| -> serde_json::Value {
        state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == ty)
            .map(|r| r["instances"][0]["identity"].clone())
            .unwrap_or_default()
    };
    let cluster = e.aws.cluster();
    assert_eq!(
        identity("dataplatform_nodegroup"),
        serde_json::json!({"cluster_name": cluster, "name": "infra"})
    );
    assert_eq!(
        identity("dataplatform_bi_service"),
        serde_json::json!({"cluster_name": "analytics", "namespace": "hbi", "name": "metabase"})
    );
    assert_eq!(
        identity("dataplatform_spark_pool"),
        serde_json::json!({"cluster_name": "analytics", "namespace": "etl", "name": "etl"})
    );

    for address in [
        "dataplatform_nodegroup.infra",
        "dataplatform_bi_service.metabase",
        "dataplatform_spark_pool.etl",
    ] {
        ws.run(&["state", "rm", address]).assert_success();
    }
    let imports = format!(
        r#"
import {{
  to       = dataplatform_nodegroup.infra
  identity = {{ cluster_name = "{cluster}", name = "infra" }}
}}

import {{
  to       = dataplatform_bi_service.metabase
  identity = {{ cluster_name = "analytics", namespace = "hbi", name = "metabase" }}
}}

import {{
  to       = dataplatform_spark_pool.etl
  identity = {{ cluster_name = "analytics", namespace = "etl", name = "etl" }}
}}
"#
    );
    ws.write("imports.tf", &imports);
    assert_imports_clean(&ws, 3);
    std::fs::remove_file(ws.work_dir().join("imports.tf")).expect("imports.tf");
    assert_no_changes(&ws);

    // An identity naming nothing is refused, naming the object looked for.
    ws.run(&["state", "rm", "dataplatform_spark_pool.etl"])
        .assert_success();
    let missing = r#"
import {
  to       = dataplatform_spark_pool.etl
  identity = { cluster_name = "analytics", namespace = "nowhere", name = "etl" }
}
"#;
    ws.write("imports.tf", missing);
    let out = plan(&ws);
    out.assert_failure();
    let text = out.flat();
    assert!(
        text.contains("Cannot import non-existent remote object") && text.contains("nowhere/etl"),
        "{text}"
    );
    std::fs::remove_file(ws.work_dir().join("imports.tf")).expect("imports.tf");
    let out = ws.run(&[
        "import",
        "-no-color",
        "-input=false",
        "dataplatform_spark_pool.etl",
        "analytics:etl/etl",
    ]);
    assert!(out.success(), "{}", out.text());
    let out = ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    assert!(out.success(), "{}", out.text());
    assert!(e.aws.nodegroups().is_empty());
}

/// `import` blocks with `terraform plan -generate-config-out`: for each resource, the generated
/// configuration is minimal (GenerateResourceConfig leaves out computed values, defaults, what
/// the purpose implies and the autoscaler's size) and imports with no change.
#[test]
fn generated_configuration_for_every_resource_imports_clean() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    let main = format!("{}{}", config(), nodegroup(&e));
    ws.write("main.tf", &main);
    ws.init().assert_success();
    apply(&ws).assert_success();
    for address in [
        "dataplatform_nodegroup.infra",
        "dataplatform_bi_service.metabase",
        "dataplatform_spark_pool.etl",
    ] {
        ws.run(&["state", "rm", address]).assert_success();
    }
    let cluster = e.aws.cluster();
    ws.write("main.tf", &provider_only());
    ws.write(
        "imports.tf",
        &format!(
            r#"
import {{
  to = dataplatform_nodegroup.infra
  id = "{cluster}:infra"
}}

import {{
  to = dataplatform_bi_service.metabase
  id = "analytics:hbi/metabase"
}}

import {{
  to = dataplatform_spark_pool.etl
  id = "analytics:etl/etl"
}}
"#
        ),
    );
    let out = ws.run(&[
        "plan",
        "-no-color",
        "-input=false",
        "-generate-config-out=generated.tf",
    ]);
    let generated = std::fs::read_to_string(ws.work_dir().join("generated.tf")).unwrap_or_default();
    assert!(out.success(), "generated:\n{generated}\n{}", out.text());
    // Minimal: no computed values, defaults, purpose-implied values or the autoscaler's size.
    for left_out in [
        "desired_size",
        "release_version",
        "instance_types",
        "replicas",
        "adopt_existing",
        "force_conflicts",
        "wait_for_rollout",
        "pod_template_dir",
        "owner_id",
        "objects",
    ] {
        assert!(
            !generated.contains(&format!("{left_out} ")),
            "{left_out} in:\n{generated}"
        );
    }
    for resource in [
        "resource \"dataplatform_nodegroup\" \"infra\"",
        "resource \"dataplatform_bi_service\" \"metabase\"",
        "resource \"dataplatform_spark_pool\" \"etl\"",
    ] {
        assert!(generated.contains(resource), "{resource}:\n{generated}");
    }
    let p = plan(&ws);
    assert!(
        p.text()
            .contains("3 to import, 0 to add, 0 to change, 0 to destroy"),
        "generated:\n{generated}\nplan:\n{}",
        p.text()
    );
}

/// `terraform query` over BI services and Spark pools: found by their owner marks (objects
/// this provider did not write are not listed), and the generated configuration imports with
/// no change.
#[test]
fn query_finds_services_and_pools_by_their_owner_marks() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    ws.write("main.tf", &config());
    ws.init().assert_success();
    apply(&ws).assert_success();
    // Another team's Deployment with the managed-by label but no owner mark of ours.
    e.kube.apply(
        "/apis/apps/v1/namespaces/hbi/deployments/lookalike",
        &serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "lookalike",
                "namespace": "hbi",
                "labels": {"app.kubernetes.io/managed-by": "terraform-provider-dataplatform"}
            },
            "spec": {
                "selector": {"matchLabels": {"app": "lookalike"}},
                "template": {
                    "metadata": {"labels": {"app": "lookalike"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx"}]}
                }
            }
        }),
        "another-team",
    );
    for address in [
        "dataplatform_bi_service.metabase",
        "dataplatform_spark_pool.etl",
    ] {
        ws.run(&["state", "rm", address]).assert_success();
    }
    ws.write("main.tf", &provider_only());
    ws.write(
        "found.tfquery.hcl",
        r#"
list "dataplatform_bi_service" "bi" {
  provider = dataplatform
  config {
    cluster_name = "analytics"
  }
}

list "dataplatform_spark_pool" "pools" {
  provider = dataplatform
  config {
    cluster_name = "analytics"
    namespace    = "etl"
  }
}
"#,
    );
    let out = ws.run(&["query", "-no-color", "-json"]);
    out.assert_success();
    let found: Vec<String> = query_found(&out)
        .iter()
        .filter_map(|f| f["display_name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}\n{}", out.text());
    assert!(
        found.iter().any(|f| f.ends_with("hbi/metabase"))
            && found.iter().any(|f| f.ends_with("etl/etl")),
        "{found:?}"
    );
    let out = ws.run(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    out.assert_success();
    std::fs::remove_file(ws.work_dir().join("found.tfquery.hcl")).expect("query file");
    assert_imports_clean(&ws, 2);
    assert_no_changes(&ws);
}
