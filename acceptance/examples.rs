//! Every example under `examples/` applied and destroyed in the sandbox by real Terraform:
//! the seed environment (through the reusable module), production and staging side by side,
//! and the per-resource examples the docs show.

use std::path::Path;

use serde_json::Value as Json;

use crate::kube_sandbox::{env, workspace, ClusterEnv};
use crate::support::{
    apply, assert_no_changes, repo_root, required_providers, Workspace, TERRAFORM_VERSIONS,
};

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from)
        .expect("read example dir")
        .map_while(Result::ok)
    {
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy example file");
        }
    }
}

/// Variables the examples take from the sandbox.
pub(crate) fn sandbox_vars(ws: &Workspace, e: &ClusterEnv) {
    let subnets: Vec<String> = e.aws.subnet_ids();
    let vars = serde_json::json!({
        "node_role_arn": e.aws.node_role_arn(),
        "subnet_ids": subnets,
        "metabase_database_password": "example-Pa55word",
    });
    ws.write("sandbox.auto.tfvars.json", &vars.to_string());
}

pub(crate) fn destroy(ws: &Workspace) {
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
}

/// Nothing the examples created is left: no node groups, no namespaces but the system ones.
#[track_caller]
pub(crate) fn assert_empty(e: &ClusterEnv) {
    let ns = e.kube.get("/api/v1/namespaces").expect("namespaces");
    let names: Vec<&str> = ns["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["metadata"]["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let extra: Vec<&&str> = names
        .iter()
        .filter(|n| !["default", "kube-system", "kube-public", "kube-node-lease"].contains(n))
        .filter(|n| !crate::kube_sandbox::CONTROLLER_NAMESPACES.contains(n))
        .collect();
    assert!(extra.is_empty(), "namespaces left behind: {extra:?}");
    let deployments = e
        .kube
        .get("/apis/apps/v1/namespaces/default/deployments")
        .expect("list");
    assert_eq!(
        deployments["items"].as_array().map_or(0, Vec::len),
        0,
        "{deployments}"
    );
}

pub(crate) fn seed_example(v: &str, e: &ClusterEnv, dir: &str) -> Workspace {
    e.install_controllers();
    let ws = workspace(v, e);
    let examples = repo_root().join("examples");
    // The example refers to the module by relative path: keep the layout.
    let root = ws.work_dir();
    copy_dir(&examples.join(dir), &root);
    copy_dir(
        &examples.join("modules/spark-on-eks"),
        &root
            .parent()
            .expect("workspace root")
            .join("modules/spark-on-eks"),
    );
    sandbox_vars(&ws, e);
    ws.init().assert_success();
    ws
}

#[test]
fn the_seed_environment_example_applies_and_destroys() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        let ws = seed_example(v, &e, "spark-on-eks");
        let out = apply(&ws);
        out.assert_success();
        assert!(
            out.text().contains("Apply complete! Resources: 5 added"),
            "terraform {v}:\n{}",
            out.text()
        );
        let url = ws.run(&["output", "-raw", "metabase_url"]);
        assert_eq!(url.stdout.trim(), "https://metabase.analytics.example.com/");
        let conf = ws.run(&["output", "-json", "spark_conf"]);
        let conf: Json = serde_json::from_str(&conf.stdout).expect("spark_conf");
        assert_eq!(conf["spark.kubernetes.namespace"], "prod-spark");
        assert_eq!(
            conf["spark.kubernetes.executor.node.selector.purpose"],
            "spark-executor"
        );
        let d = e
            .kube
            .get("/apis/apps/v1/namespaces/prod-bi/deployments/metabase")
            .expect("metabase");
        assert_eq!(
            d["spec"]["template"]["spec"]["nodeSelector"]["purpose"],
            "infra"
        );
        // Pod IAM: Metabase through a Pod Identity association, Spark and its History Server
        // through IRSA annotations.
        let associations = e.aws.pod_identities();
        assert_eq!(
            associations.get("prod-bi/metabase").map(|a| a.1.as_str()),
            Some("arn:aws:iam::123456789012:role/analytics-metabase"),
            "terraform {v}: {associations:?}"
        );
        for (account, role) in [
            ("spark-driver", "analytics-spark"),
            ("spark-executor", "analytics-spark"),
            ("spark-history", "analytics-spark-history"),
        ] {
            let sa = e
                .kube
                .get(&format!(
                    "/api/v1/namespaces/prod-spark/serviceaccounts/{account}"
                ))
                .unwrap_or_else(|| panic!("service account {account}"));
            assert_eq!(
                sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
                format!("arn:aws:iam::123456789012:role/{role}"),
                "terraform {v}: {sa}"
            );
        }
        // Local storage: the executor group runs a launch template it owns.
        assert_eq!(
            e.aws.launch_templates().len(),
            1,
            "terraform {v}: {:?}",
            e.aws.launch_templates()
        );
        // Event logs.
        assert_eq!(
            conf["spark.eventLog.dir"],
            "s3a://analytics-lake/spark-events"
        );
        assert_no_changes(&ws);
        destroy(&ws);
        assert_empty(&e);
        assert!(e.aws.pod_identities().is_empty(), "terraform {v}");
        assert!(e.aws.launch_templates().is_empty(), "terraform {v}");
    }
}

#[test]
fn production_and_staging_side_by_side_apply_and_destroy() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = seed_example(v, &e, "spark-on-eks-environments");
    let out = apply(&ws);
    out.assert_success();
    assert!(out.text().contains("Resources: 10 added"), "{}", out.text());
    for ns in ["prod-bi", "stage-bi", "prod-spark", "stage-spark"] {
        assert!(
            e.kube.get(&format!("/api/v1/namespaces/{ns}")).is_some(),
            "{ns} missing"
        );
    }
    assert!(e
        .kube
        .get("/apis/monitoring.coreos.com/v1/namespaces/stage-bi/prometheusrules/metabase")
        .is_none());
    assert_no_changes(&ws);
    destroy(&ws);
    assert_empty(&e);
}

#[test]
fn the_resource_and_data_source_examples_apply_and_destroy() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let examples = repo_root().join("examples");
    let subnets = e
        .aws
        .subnet_ids()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    for dir in [
        "resources/dataplatform_nodegroup",
        "resources/dataplatform_bi_service",
        "resources/dataplatform_spark_pool",
        "data-sources/dataplatform_cluster",
    ] {
        let ws = workspace(v, &e);
        copy_dir(&examples.join(dir), &ws.work_dir());
        // The docs' placeholder subnets become the sandbox's.
        let path = ws.work_dir().join("resource.tf");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let text = text.replace(
                "[\"subnet-0a1b2c3d4e5f60001\", \"subnet-0a1b2c3d4e5f60002\"]",
                &format!("[{subnets}]"),
            );
            std::fs::write(&path, text).expect("rewrite example");
        }
        ws.write(
            "providers.tf",
            &format!(
                "{}\nprovider \"dataplatform\" {{\n  region = \"eu-central-1\"\n}}\n",
                required_providers()
            ),
        );
        let vars = serde_json::json!({
            "node_role_arn": e.aws.node_role_arn(),
            "subnet_ids": e.aws.subnet_ids(),
            "metabase_db_password": "example-Pa55word",
            "superset_db_password": "example-Pa55word",
        });
        let declared = std::fs::read_to_string(ws.work_dir().join(if dir.starts_with("data") {
            "data-source.tf"
        } else {
            "resource.tf"
        }))
        .unwrap_or_default();
        let vars: serde_json::Map<String, Json> = vars
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| declared.contains(&format!("variable \"{k}\"")))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        ws.write("sandbox.auto.tfvars.json", &Json::Object(vars).to_string());
        ws.init().assert_success();
        // The import-by-identity example is for after the apply: it names what the example made.
        let by_identity = ws.work_dir().join("import-by-identity.tf");
        let import_example = std::fs::read_to_string(&by_identity).ok();
        if import_example.is_some() {
            std::fs::remove_file(&by_identity).expect("set the import example aside");
        }
        let out = apply(&ws);
        assert!(out.success(), "{dir}:\n{}", out.text());
        assert_no_changes(&ws);
        if let Some(example) = import_example {
            let address = example
                .lines()
                .find_map(|l| l.trim().strip_prefix("to"))
                .map(|rest| rest.trim_start_matches([' ', '=']).trim().to_string())
                .expect("the example's `to`");
            ws.run(&["state", "rm", &address]).assert_success();
            ws.write("import-by-identity.tf", &example);
            let out = apply(&ws);
            assert!(
                out.text()
                    .contains("1 imported, 0 added, 0 changed, 0 destroyed"),
                "{dir}: import by identity:\n{}",
                out.text()
            );
            std::fs::remove_file(&by_identity).expect("remove the import example");
            assert_no_changes(&ws);
        }
        destroy(&ws);
    }
    assert_empty(&e);
}
