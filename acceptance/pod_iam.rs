//! IAM roles for the pods of Spark pools and BI services, with real Terraform against the
//! stand-ins: EKS Pod Identity associations made, changed, put back after drift and deleted
//! through the AWS stand-in; IRSA annotations on the service accounts in the Kubernetes one;
//! and a real spark-submit whose driver runs under the pool's IAM-bound service account.

use serde_json::Value as Json;

use crate::kube_sandbox::{env, workspace};
use crate::spark::{driver_pod, spark_submit};
use crate::support::{
    apply, assert_no_changes, assert_reimported_clean, line_of, plan, reimport, required_providers,
    TERRAFORM_VERSIONS,
};

const DRIVER_ROLE: &str = "arn:aws:iam::123456789012:role/spark-etl-driver";
const EXECUTOR_ROLE: &str = "arn:aws:iam::123456789012:role/spark-etl-executor";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/someone-else";

/// A pool whose driver gets `driver_role` through Pod Identity and whose executors get
/// [`EXECUTOR_ROLE`] through IRSA, on placements given as values (no node groups needed).
fn pool(provider: &str, driver_role: &str, pool_extra: &str) -> String {
    format!(
        r#"{rp}
{provider}

locals {{
  driver = {{
    node_selector = {{ purpose = "spark-driver" }}
    tolerations   = [{{ key = "purpose", operator = "Equal", value = "spark-driver", effect = "NoSchedule" }}]
    labels        = {{ purpose = "spark-driver" }}
    taints        = [{{ key = "purpose", value = "spark-driver", effect = "NO_SCHEDULE" }}]
    capacity_type = "ON_DEMAND"
    local_storage = false
  }}
  executor = {{
    node_selector = {{ purpose = "spark-executor" }}
    tolerations   = [{{ key = "purpose", operator = "Equal", value = "spark-executor", effect = "NoSchedule" }}]
    labels        = {{ purpose = "spark-executor" }}
    taints        = [{{ key = "purpose", value = "spark-executor", effect = "NO_SCHEDULE" }}]
    capacity_type = "ON_DEMAND"
    local_storage = false
  }}
}}

resource "dataplatform_spark_pool" "etl" {{
  name             = "etl"
  create_namespace = true
{pool_extra}
  driver {{
    placement = local.driver
    iam {{
      role_arn = "{driver_role}"
    }}
  }}

  executor {{
    placement = local.executor
    iam {{
      role_arn  = "{EXECUTOR_ROLE}"
      mechanism = "irsa"
    }}
  }}
}}

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

const EKS_PROVIDER: &str =
    "provider \"dataplatform\" {\n  region       = \"eu-central-1\"\n  cluster_name = \"analytics\"\n}";

/// The association of the pool's driver service account: (ID, role).
fn driver_association(e: &crate::kube_sandbox::ClusterEnv) -> Option<(String, String)> {
    e.aws
        .pod_identities()
        .remove("etl/spark-driver")
        .map(|(id, role, _)| (id, role))
}

/// Runs spark-submit with the pool's outputs; the driver pod it made.
fn submit(
    e: &crate::kube_sandbox::ClusterEnv,
    ws: &crate::support::Workspace,
    dir: &std::path::Path,
) -> Json {
    for (name, file) in [
        ("driver_pod_template", "driver.yaml"),
        ("executor_pod_template", "executor.yaml"),
    ] {
        let out = ws.run(&["output", "-raw", name]);
        out.assert_success();
        std::fs::write(dir.join(file), &out.stdout).expect("write template");
    }
    let out = ws.run(&["output", "-json", "spark_conf"]);
    let conf: Json = serde_json::from_str(&out.stdout).expect("spark_conf JSON");
    let pairs: Vec<(String, String)> = conf
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    k.as_str() != "spark.kubernetes.driver.podTemplateFile"
                        && k.as_str() != "spark.kubernetes.executor.podTemplateFile"
                })
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .chain([
                    (
                        "spark.kubernetes.driver.podTemplateFile".to_string(),
                        dir.join("driver.yaml").display().to_string(),
                    ),
                    (
                        "spark.kubernetes.executor.podTemplateFile".to_string(),
                        dir.join("executor.yaml").display().to_string(),
                    ),
                ])
                .collect()
        })
        .unwrap_or_default();
    let submitted = spark_submit(&e.kube, &pairs, &[]);
    assert!(
        submitted.success(),
        "spark-submit failed:\n{}",
        submitted.stderr
    );
    driver_pod(&e.kube, "etl").expect("driver pod in the pool's namespace")
}

#[test]
fn spark_pool_pod_identity_is_created_changed_put_back_after_drift_and_destroyed() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        let ws = workspace(v, &e);
        ws.write("main.tf", &pool(EKS_PROVIDER, DRIVER_ROLE, ""));
        ws.init().assert_success();
        apply(&ws).assert_success();

        // Pod Identity for the driver: an association owned by the pool (its owner tag).
        let all = e.aws.pod_identities();
        let (id, role, tags) = all
            .get("etl/spark-driver")
            .cloned()
            .expect("driver association");
        assert_eq!(role, DRIVER_ROLE, "terraform {v}");
        assert!(tags.contains_key("dataplatform.io/owner-id"), "{tags:?}");
        assert!(
            !all.contains_key("etl/spark-executor"),
            "IRSA makes no association: {all:?}"
        );
        // IRSA for the executors: the annotation on their service account, none on the driver's.
        let sa = e
            .kube
            .get("/api/v1/namespaces/etl/serviceaccounts/spark-executor")
            .expect("executor SA");
        assert_eq!(
            sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], EXECUTOR_ROLE,
            "{sa}"
        );
        let sa = e
            .kube
            .get("/api/v1/namespaces/etl/serviceaccounts/spark-driver")
            .expect("driver SA");
        assert!(
            sa["metadata"]["annotations"]
                .get("eks.amazonaws.com/role-arn")
                .is_none(),
            "{sa}"
        );
        // S3A reads the driver's mechanism on the Spark 3.5 image (SDK v1).
        let out = ws.run(&["output", "-json", "spark_conf"]);
        let conf: Json = serde_json::from_str(&out.stdout).expect("spark_conf JSON");
        assert_eq!(
            conf["spark.hadoop.fs.s3a.aws.credentials.provider"],
            "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider"
        );
        assert_eq!(conf["spark.hadoop.fs.s3a.committer.name"], "magic");
        assert_no_changes(&ws);

        if v == TERRAFORM_VERSIONS[0] {
            // A real spark-submit: the driver pod runs as the IAM-bound service account.
            let templates = tempfile::tempdir().expect("template dir");
            let pod = submit(&e, &ws, templates.path());
            assert_eq!(pod["spec"]["serviceAccountName"], "spark-driver", "{pod}");
            let (_, role) = driver_association(&e).expect("association");
            assert_eq!(role, DRIVER_ROLE);
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

        // Another role: the same association, changed in place.
        let changed_role = "arn:aws:iam::123456789012:role/spark-etl-driver-v2";
        ws.write("main.tf", &pool(EKS_PROVIDER, changed_role, ""));
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        assert_eq!(
            driver_association(&e),
            Some((id.clone(), changed_role.to_string()))
        );
        assert_no_changes(&ws);

        // Drift: pointed at another role outside Terraform, shown and put back.
        e.aws.update_pod_identity(&id, OTHER_ROLE);
        let p = plan(&ws);
        assert!(
            p.text().contains("role changed outside Terraform") && p.text().contains(OTHER_ROLE),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        assert_eq!(
            driver_association(&e),
            Some((id.clone(), changed_role.to_string()))
        );
        assert_no_changes(&ws);

        // Drift: deleted outside Terraform, shown and made again.
        e.aws.delete_pod_identity(&id);
        let p = plan(&ws);
        assert!(
            p.text().contains("\"etl/spark-driver\" = \"deleted\""),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        let (new_id, role) = driver_association(&e).expect("association made again");
        assert_eq!(role, changed_role);
        assert_ne!(new_id, id);
        assert_no_changes(&ws);

        // Import finds the pool's own association by its owner tag.
        reimport(&ws, &[("dataplatform_spark_pool.etl", "etl/etl")]);
        assert_reimported_clean(&ws, v);

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(
            e.aws.pod_identities().is_empty(),
            "terraform {v}: association left behind"
        );
    }
}

#[test]
fn an_association_the_pool_did_not_make_is_refused_unless_adopted() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let foreign = e.aws.create_pod_identity("etl", "spark-driver", OTHER_ROLE);
    let ws = workspace(v, &e);
    ws.write("main.tf", &pool(EKS_PROVIDER, DRIVER_ROLE, ""));
    ws.init().assert_success();
    let out = apply(&ws);
    out.assert_failure();
    let flat = out.flat();
    assert!(
        flat.contains(&foreign)
            && flat.contains("adopt_existing")
            && flat.contains("\"analytics\""),
        "{}",
        out.text()
    );
    assert_eq!(
        driver_association(&e),
        Some((foreign.clone(), OTHER_ROLE.to_string())),
        "left alone"
    );

    ws.write(
        "main.tf",
        &pool(EKS_PROVIDER, DRIVER_ROLE, "  adopt_existing = true\n"),
    );
    apply(&ws).assert_success();
    assert_eq!(
        driver_association(&e),
        Some((foreign, DRIVER_ROLE.to_string())),
        "adopted, role set"
    );
    assert_no_changes(&ws);
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(
        e.aws.pod_identities().is_empty(),
        "an adopted association is the pool's to delete"
    );
}

#[test]
fn a_role_arn_that_is_not_a_role_fails_at_plan_with_its_line_and_creates_nothing() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    let text = pool(EKS_PROVIDER, "arn:aws:iam::123456789012:user/spark", "");
    ws.write("main.tf", &text);
    ws.init().assert_success();
    let out = plan(&ws);
    out.assert_failure();
    let line = line_of(&text, "user/spark");
    assert!(
        out.text().contains("an IAM role ARN")
            && out.text().contains(&format!("main.tf line {line}")),
        "{}",
        out.text()
    );
    assert_eq!(
        e.kube.stats()["total_requests"].as_u64().unwrap_or(0),
        0,
        "nothing sent to the cluster"
    );
    assert!(e.aws.pod_identities().is_empty());
}

#[test]
fn pod_identity_without_an_eks_cluster_name_fails_at_apply_saying_why() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let dir = tempfile::tempdir().expect("dir");
    let kubeconfig = e.kube.kubeconfig(dir.path());
    let raw = format!(
        "provider \"dataplatform\" {{\n  kubernetes {{\n    config_path    = \"{}\"\n    config_context = \"sandbox\"\n  }}\n}}",
        kubeconfig.display()
    );
    let ws = workspace(v, &e);
    ws.write("main.tf", &pool(&raw, DRIVER_ROLE, ""));
    ws.init().assert_success();
    let out = apply(&ws);
    out.assert_failure();
    assert!(
        out.flat().contains("EKS Pod Identity needs an EKS cluster") && out.flat().contains("irsa"),
        "{}",
        out.text()
    );
    assert!(e.aws.pod_identities().is_empty());
    assert!(
        e.kube.get("/api/v1/namespaces/etl").is_none(),
        "nothing applied before the association"
    );
}

const BI_ROLE: &str = "arn:aws:iam::123456789012:role/bi-notebooks";

/// A Zeppelin service in its own namespace with `identity` (its `iam` and `service_account`
/// blocks) spliced in.
fn bi_service(identity: &str) -> String {
    format!(
        r#"{rp}
{EKS_PROVIDER}

resource "dataplatform_bi_service" "notebooks" {{
  name             = "notebooks"
  namespace        = "bi-iam"
  create_namespace = true
  engine           = "zeppelin"
{identity}}}
"#,
        rp = required_providers()
    )
}

/// The service's own service account.
fn bi_account(e: &crate::kube_sandbox::ClusterEnv) -> Json {
    e.kube
        .get("/api/v1/namespaces/bi-iam/serviceaccounts/notebooks")
        .expect("service account")
}

/// The service accounts the service's pods run as.
fn pod_service_accounts(e: &crate::kube_sandbox::ClusterEnv) -> Vec<String> {
    let pods = e.kube.get("/api/v1/namespaces/bi-iam/pods").expect("pods");
    pods["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|p| {
                    p["spec"]["serviceAccountName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bi_service_pods_run_as_its_service_account_with_pod_identity_then_irsa_and_import_round_trips() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        let ws = workspace(v, &e);
        let pod_identity = format!(
            "  iam {{\n    role_arn = \"{BI_ROLE}\"\n  }}\n  service_account {{\n    annotations = {{ team = \"bi\" }}\n  }}\n"
        );
        ws.write("main.tf", &bi_service(&pod_identity));
        ws.init().assert_success();
        apply(&ws).assert_success();

        // The service account is the service's, annotated; the pods run as it; the role comes
        // through an association.
        let sa = bi_account(&e);
        assert_eq!(
            sa["metadata"]["annotations"]["team"], "bi",
            "terraform {v}: {sa}"
        );
        let pods = pod_service_accounts(&e);
        assert!(
            !pods.is_empty() && pods.iter().all(|s| s == "notebooks"),
            "terraform {v}: {pods:?}"
        );
        let associations = e.aws.pod_identities();
        let (id, role, _) = associations
            .get("bi-iam/notebooks")
            .cloned()
            .expect("association");
        assert_eq!(role, BI_ROLE);
        assert_no_changes(&ws);

        // Drift: the association deleted outside Terraform is shown and made again.
        e.aws.delete_pod_identity(&id);
        let p = plan(&ws);
        assert!(
            p.text().contains("\"bi-iam/notebooks\" = \"deleted\""),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        assert!(e.aws.pod_identities().contains_key("bi-iam/notebooks"));
        assert_no_changes(&ws);

        // IRSA instead: the association goes, the annotation comes, in place.
        let irsa = pod_identity.replace(
            &format!("role_arn = \"{BI_ROLE}\"\n"),
            &format!("role_arn  = \"{BI_ROLE}\"\n    mechanism = \"irsa\"\n"),
        );
        ws.write("main.tf", &bi_service(&irsa));
        let p = plan(&ws);
        assert!(
            p.text().contains("0 to add, 1 to change, 0 to destroy"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        assert!(
            e.aws.pod_identities().is_empty(),
            "terraform {v}: association left after switching to IRSA"
        );
        let sa = bi_account(&e);
        assert_eq!(
            sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], BI_ROLE,
            "{sa}"
        );
        assert_no_changes(&ws);

        // Drift: the role annotation removed by hand, shown and put back.
        let (code, _) = e.kube.request(
            "PATCH",
            "/api/v1/namespaces/bi-iam/serviceaccounts/notebooks",
            Some("application/merge-patch+json"),
            Some(&serde_json::json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": null}}})),
        );
        assert_eq!(code, 200);
        let p = plan(&ws);
        assert!(
            p.text().contains("ServiceAccount/bi-iam/notebooks"),
            "terraform {v}:\n{}",
            p.text()
        );
        apply(&ws).assert_success();
        let sa = bi_account(&e);
        assert_eq!(
            sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], BI_ROLE,
            "{sa}"
        );
        assert_no_changes(&ws);

        reimport(
            &ws,
            &[("dataplatform_bi_service.notebooks", "bi-iam/notebooks")],
        );
        assert_reimported_clean(&ws, v);

        // An existing service account, only referenced, bound through Pod Identity.
        let existing = format!(
            "  iam {{\n    role_arn = \"{BI_ROLE}\"\n  }}\n  service_account {{\n    name   = \"shared\"\n    create = false\n  }}\n"
        );
        ws.write("main.tf", &bi_service(&existing));
        apply(&ws).assert_success();
        assert!(
            e.kube
                .get("/api/v1/namespaces/bi-iam/serviceaccounts/notebooks")
                .is_none(),
            "its own account deleted"
        );
        let pods = pod_service_accounts(&e);
        assert!(
            !pods.is_empty() && pods.iter().all(|s| s == "shared"),
            "terraform {v}: {pods:?}"
        );
        assert!(e.aws.pod_identities().contains_key("bi-iam/shared"));
        assert_no_changes(&ws);

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(
            e.aws.pod_identities().is_empty(),
            "terraform {v}: association left behind"
        );
    }
}
