//! Shared clusters: Spark pools and BI services touch only what they created. Objects that
//! exist are refused (with the import hint) or adopted on request, destroy leaves other
//! teams' objects and namespaces in place, field conflicts name the other manager, an
//! autoscaler keeps its replica count, a cluster deleted outside Terraform ends refresh and
//! destroy cleanly, and a failed write-only rotation is sent again. Every run is traced
//! (`TF_LOG=trace`) and its log holds no secret.

use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::kube_sandbox::{env, workspace, ClusterEnv, KubeSandbox};
use crate::support::{
    apply, assert_no_changes, plan, required_providers, state_resources, Output, Workspace,
    TERRAFORM_VERSIONS,
};

const PASSWORD: &str = "first-Pa55word-7Q";
const ROTATED: &str = "rotated-Pa55word-9Z";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A workspace on the environment whose Terraform and provider logs go, at trace level, to a
/// file [`assert_log_clean`] reads.
fn traced_workspace(version: &str, e: &ClusterEnv) -> Workspace {
    let mut ws = workspace(version, e);
    let log = ws.work_dir().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &log.display().to_string());
    ws
}

/// The trace log holds none of the test's passwords, in any form, nor an EKS token.
#[track_caller]
fn assert_log_clean(ws: &Workspace) {
    let log = std::fs::read_to_string(ws.work_dir().join("trace.log")).unwrap_or_default();
    assert!(
        log.contains("PlanResourceChange"),
        "no trace log was written"
    );
    for secret in [PASSWORD, ROTATED] {
        for form in [secret.to_string(), b64(secret)] {
            assert!(!log.contains(&form), "the trace log holds a password");
        }
    }
    assert!(
        !log.contains("k8s-aws-v1."),
        "the trace log holds an EKS token"
    );
}

#[track_caller]
fn assert_failed_with(out: &Output, needles: &[&str]) {
    let text = out.text();
    assert!(!out.success(), "expected a failure:\n{text}");
    let flat = out.flat();
    for n in needles {
        assert!(flat.contains(n), "expected {n:?} in:\n{text}");
    }
}

fn provider() -> String {
    format!(
        "{}\nprovider \"dataplatform\" {{\n  region       = \"eu-central-1\"\n  cluster_name = \"analytics\"\n}}\n",
        required_providers()
    )
}

/// A Spark pool on literal placements (no node groups needed); `extra` goes into the pool,
/// `driver_extra` into its driver block.
fn pool(label: &str, name: &str, namespace: &str, driver_extra: &str, extra: &str) -> String {
    let placement = |purpose: &str| {
        format!(
            "{{\n      node_selector = {{ purpose = \"{purpose}\" }}\n      tolerations   = []\n      \
             labels        = {{ purpose = \"{purpose}\" }}\n      taints        = []\n      \
             capacity_type = \"ON_DEMAND\"\n      local_storage = false\n    }}"
        )
    };
    format!(
        r#"
resource "dataplatform_spark_pool" "{label}" {{
  cluster_name = "analytics"
  name         = "{name}"
  namespace    = "{namespace}"
{extra}
  driver {{
    placement = {driver}
{driver_extra}
  }}
  executor {{
    placement = {executor}
  }}
}}
"#,
        driver = placement("spark-driver"),
        executor = placement("spark-executor"),
    )
}

/// A Zeppelin service (no database, no secrets).
fn zeppelin(label: &str, name: &str, namespace: &str, extra: &str) -> String {
    format!(
        r#"
resource "dataplatform_bi_service" "{label}" {{
  cluster_name     = "analytics"
  name             = "{name}"
  namespace        = "{namespace}"
  engine           = "zeppelin"
  wait_for_rollout = false
{extra}
}}
"#
    )
}

fn post(kube: &KubeSandbox, path: &str, obj: &Json) {
    let (code, v) = kube.request(
        "POST",
        &format!("{path}?fieldManager=kubectl-create"),
        Some("application/json"),
        Some(obj),
    );
    assert_eq!(code, 201, "POST {path}: {v}");
}

/// A merge patch as `kubectl edit` or a controller makes it, under `manager`.
fn patch(kube: &KubeSandbox, path: &str, manager: &str, body: &Json) {
    let (code, v) = kube.request(
        "PATCH",
        &format!("{path}?fieldManager={manager}"),
        Some("application/merge-patch+json"),
        Some(body),
    );
    assert_eq!(code, 200, "PATCH {path}: {v}");
}

/// Another team's namespace, with a Deployment and a ServiceAccount of theirs.
fn other_team(kube: &KubeSandbox, ns: &str) {
    post(
        kube,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    );
    post(
        kube,
        &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "reports", "labels": {"app.kubernetes.io/managed-by": "team-x"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "reports"}},
                         "template": {"metadata": {"labels": {"app": "reports"}},
                                      "spec": {"containers": [{"name": "r", "image": "reports:1"}]}}}}),
    );
    post(
        kube,
        &format!("/api/v1/namespaces/{ns}/serviceaccounts"),
        &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "spark-driver", "labels": {"app.kubernetes.io/managed-by": "team-x"}}}),
    );
}

#[track_caller]
fn assert_other_team_intact(kube: &KubeSandbox, ns: &str) {
    assert!(
        kube.get(&format!("/api/v1/namespaces/{ns}")).is_some(),
        "namespace {ns} deleted"
    );
    assert!(
        kube.get(&format!(
            "/apis/apps/v1/namespaces/{ns}/deployments/reports"
        ))
        .is_some(),
        "the other team's Deployment was deleted"
    );
    let sa = kube
        .get(&format!(
            "/api/v1/namespaces/{ns}/serviceaccounts/spark-driver"
        ))
        .expect("the other team's ServiceAccount was deleted");
    assert!(
        sa["metadata"]["annotations"]["dataplatform.io/owner-id"].is_null(),
        "the other team's ServiceAccount was taken over: {sa}"
    );
}

/// The scenario of a shared cluster: two pools and a BI service in another team's namespace.
#[test]
fn pools_and_services_in_a_shared_namespace_leave_what_they_did_not_create() {
    let e = env();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let ns = format!("team-x{i}");
        other_team(&e.kube, &ns);
        let ws = traced_workspace(v, &e);
        let pools = |etl_driver: &str| {
            format!(
                "{}{}",
                pool("etl", "etl", &ns, etl_driver, ""),
                pool("ml", "ml", &ns, "", "")
            )
        };

        // The pool would create a ServiceAccount the other team has: refused, nothing written.
        ws.write(
            "main.tf",
            &format!(
                "{}{}",
                provider(),
                pools("    service_account = \"spark-driver\"")
            ),
        );
        let out = apply(&ws);
        assert_failed_with(
            &out,
            &[
                &format!("ServiceAccount/{ns}/spark-driver already exists"),
                "app.kubernetes.io/managed-by=team-x",
                "terraform import",
                "adopt_existing = true",
            ],
        );
        assert!(
            e.kube
                .get(&format!(
                    "/api/v1/namespaces/{ns}/configmaps/etl-pod-templates"
                ))
                .is_none(),
            "terraform {v}: the refused pool wrote objects"
        );
        assert_other_team_intact(&e.kube, &ns);

        // A BI service that would create the namespace: refused too.
        let service = |extra: &str| zeppelin("notebooks", "notebooks", &ns, extra);
        ws.write(
            "main.tf",
            &format!(
                "{}{}{}",
                provider(),
                pools(""),
                service("  create_namespace = true")
            ),
        );
        let out = apply(&ws);
        assert_failed_with(
            &out,
            &[
                &format!("Namespace/{ns} already exists"),
                "set create_namespace = false",
            ],
        );

        // With their own service accounts, both pools and the service live side by side.
        ws.write(
            "main.tf",
            &format!("{}{}{}", provider(), pools(""), service("")),
        );
        let out = apply(&ws);
        assert!(out.success(), "terraform {v}: {}", out.text());
        for sa in ["etl-spark-driver", "ml-spark-driver", "etl-spark-executor"] {
            let live = e
                .kube
                .get(&format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}"))
                .expect("the pool's service account");
            let owner = live["metadata"]["annotations"]["dataplatform.io/owner"].as_str();
            assert!(
                owner.is_some_and(|o| o.starts_with("dataplatform_spark_pool analytics:")),
                "{live}"
            );
        }
        assert_no_changes(&ws);

        // An autoscaler takes the service's replicas: not drift, and left alone by applies.
        let deployment = format!("/apis/apps/v1/namespaces/{ns}/deployments/notebooks");
        post(
            &e.kube,
            &format!("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"),
            &json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "notebooks"},
                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "notebooks"},
                             "minReplicas": 1, "maxReplicas": 6}}),
        );
        patch(
            &e.kube,
            &deployment,
            "horizontal-pod-autoscaler",
            &json!({"spec": {"replicas": 4}}),
        );
        assert_no_changes(&ws);
        ws.write(
            "main.tf",
            &format!(
                "{}{}{}",
                provider(),
                pools(""),
                service("  env = { ZEPPELIN_NOTEBOOK_DIR = \"/notebooks\" }")
            ),
        );
        let out = apply(&ws);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let live = e.kube.get(&deployment).expect("the service's Deployment");
        assert_eq!(
            live["spec"]["replicas"], 4,
            "terraform {v}: the apply reset the autoscaler's replicas"
        );
        assert_no_changes(&ws);

        // Someone edits a field the service sets: drift, and a conflict naming them.
        patch(
            &e.kube,
            &deployment,
            "kubectl-edit",
            &json!({"spec": {"revisionHistoryLimit": 9}}),
        );
        let out = apply(&ws);
        assert_failed_with(
            &out,
            &[
                &format!("Conflicting field managers on Deployment/{ns}/notebooks"),
                "kubectl-edit",
                ".spec.revisionHistoryLimit",
                "force_conflicts = true",
            ],
        );
        ws.write(
            "main.tf",
            &format!(
                "{}{}{}",
                provider(),
                pools(""),
                service(
                    "  env = { ZEPPELIN_NOTEBOOK_DIR = \"/notebooks\" }\n  force_conflicts = true"
                )
            ),
        );
        let out = apply(&ws);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let live = e.kube.get(&deployment).expect("the service's Deployment");
        assert_eq!(live["spec"]["revisionHistoryLimit"], 5);

        // Destroying one pool leaves the other whole.
        let out = ws.run(&[
            "destroy",
            "-auto-approve",
            "-no-color",
            "-target=dataplatform_spark_pool.ml",
        ]);
        assert!(out.success(), "terraform {v}: {}", out.text());
        assert!(e
            .kube
            .get(&format!(
                "/api/v1/namespaces/{ns}/serviceaccounts/ml-spark-driver"
            ))
            .is_none());
        assert!(e
            .kube
            .get(&format!(
                "/api/v1/namespaces/{ns}/configmaps/etl-pod-templates"
            ))
            .is_some());

        // Destroying everything leaves the namespace and the other team's objects.
        let out = ws.run(&["destroy", "-auto-approve", "-no-color"]);
        assert!(out.success(), "terraform {v}: {}", out.text());
        assert!(e.kube.get(&deployment).is_none());
        assert!(e
            .kube
            .get(&format!(
                "/api/v1/namespaces/{ns}/configmaps/etl-pod-templates"
            ))
            .is_none());
        assert_other_team_intact(&e.kube, &ns);
        assert_log_clean(&ws);
    }
}

/// Objects another state manages are refused with the import hint, then imported; objects
/// someone else made are adopted only on request; a namespace a resource created is left when
/// others moved in.
#[test]
fn existing_objects_are_refused_imported_or_adopted() {
    let e = env();
    for (i, v) in TERRAFORM_VERSIONS.iter().enumerate() {
        let (ns, lab) = (format!("notes{i}"), format!("lab{i}"));
        let config = format!(
            "{}{}",
            provider(),
            zeppelin("z", "notebooks", &ns, "  create_namespace = true")
        );
        let first = traced_workspace(v, &e);
        first.write("main.tf", &config);
        let out = apply(&first);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let owner_id = |ws: &Workspace| {
            state_resources(ws)
                .iter()
                .find(|r| r["type"] == "dataplatform_bi_service")
                .and_then(|r| r["values"]["owner_id"].as_str().map(str::to_string))
        };
        let first_id = owner_id(&first).expect("owner_id in state");

        // A second state with the same configuration: refused, nothing changed.
        let second = traced_workspace(v, &e);
        second.write("main.tf", &config);
        let out = apply(&second);
        assert_failed_with(
            &out,
            &[
                &format!("Namespace/{ns} already exists"),
                &format!("dataplatform_bi_service analytics:{ns}/notebooks"),
            ],
        );
        let live = e
            .kube
            .get(&format!(
                "/apis/apps/v1/namespaces/{ns}/deployments/notebooks"
            ))
            .expect("the Deployment");
        assert_eq!(
            live["metadata"]["annotations"]["dataplatform.io/owner-id"],
            json!(first_id)
        );

        // Imported, the second state manages the same objects.
        let out = second.run(&[
            "import",
            "-no-color",
            "dataplatform_bi_service.z",
            &format!("analytics:{ns}/notebooks"),
        ]);
        assert!(out.success(), "terraform {v}: {}", out.text());
        assert_eq!(owner_id(&second).as_deref(), Some(first_id.as_str()));
        assert_no_changes(&second);

        // Another team moves into the namespace: destroy leaves it, with a warning.
        post(
            &e.kube,
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}}),
        );
        let out = second.run(&["destroy", "-auto-approve", "-no-color"]);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let flat = out.flat();
        assert!(
            flat.contains(&format!("Namespace/{ns} left in place"))
                && flat.contains("ConfigMap/theirs"),
            "terraform {v}: {}",
            out.text()
        );
        assert!(e.kube.get(&format!("/api/v1/namespaces/{ns}")).is_some());
        assert!(e
            .kube
            .get(&format!(
                "/apis/apps/v1/namespaces/{ns}/deployments/notebooks"
            ))
            .is_none());
        assert_log_clean(&second);

        // Objects someone made by hand: refused, then adopted on request.
        post(
            &e.kube,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": lab}}),
        );
        post(
            &e.kube,
            &format!("/api/v1/namespaces/{lab}/services"),
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "notebooks"},
                    "spec": {"ports": [{"name": "web", "port": 80}]}}),
        );
        let third = traced_workspace(v, &e);
        third.write(
            "main.tf",
            &format!("{}{}", provider(), zeppelin("z", "notebooks", &lab, "")),
        );
        let out = apply(&third);
        assert_failed_with(
            &out,
            &[
                &format!("Service/{lab}/notebooks already exists"),
                "it was not created by this resource",
            ],
        );
        third.write(
            "main.tf",
            &format!(
                "{}{}",
                provider(),
                zeppelin(
                    "z",
                    "notebooks",
                    &lab,
                    "  adopt_existing  = true\n  force_conflicts = true"
                )
            ),
        );
        let out = apply(&third);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let service = e
            .kube
            .get(&format!("/api/v1/namespaces/{lab}/services/notebooks"))
            .expect("the adopted Service");
        assert!(!service["metadata"]["annotations"]["dataplatform.io/owner-id"].is_null());
        let out = third.run(&["destroy", "-auto-approve", "-no-color"]);
        assert!(out.success(), "terraform {v}: {}", out.text());
        assert!(e
            .kube
            .get(&format!("/api/v1/namespaces/{lab}/services/notebooks"))
            .is_none());
        assert!(e.kube.get(&format!("/api/v1/namespaces/{lab}")).is_some());
        assert_log_clean(&third);
    }
}

/// The cluster is deleted outside Terraform: refresh drops the resources with a warning, and
/// a destroy without refresh finishes.
#[test]
fn resources_on_a_cluster_deleted_outside_terraform_are_gone() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        let ws = traced_workspace(v, &e);
        ws.write(
            "main.tf",
            &format!(
                "{}{}{}",
                provider(),
                zeppelin("z", "notebooks", "default", ""),
                pool("etl", "etl", "etl", "", "  create_namespace = true")
            ),
        );
        let out = apply(&ws);
        assert!(out.success(), "terraform {v}: {}", out.text());

        let eks = aws_sdk_eks::Client::new(&e.aws.sdk_config());
        crate::support::block_on(eks.delete_cluster().name("analytics").send())
            .expect("delete the cluster");

        // Refresh drops the resources, with a warning; the plan creates them again.
        let out = plan(&ws);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let flat = out.flat();
        assert!(flat.contains("cluster no longer exists"), "{}", out.text());
        assert!(
            flat.contains("The EKS cluster \"analytics\" of"),
            "{}",
            out.text()
        );
        assert!(flat.contains("2 to add"), "{}", out.text());

        // A destroy that does not refresh finishes, with the same warning.
        let out = ws.run(&["destroy", "-auto-approve", "-no-color", "-refresh=false"]);
        assert!(out.success(), "terraform {v}: {}", out.text());
        let flat = out.flat();
        assert!(flat.contains("cluster no longer exists"), "{}", out.text());
        assert!(state_resources(&ws).is_empty());
        assert_log_clean(&ws);
    }
}

/// A write-only password rotation that fails is sent again by the next apply; the Secret's
/// other keys still show drift. (Write-only attributes need Terraform 1.11.)
#[test]
fn a_failed_write_only_rotation_is_applied_again() {
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = traced_workspace(v, &e);
    let config = |password: &str, version: u32, extra: &str| {
        format!(
            r#"{provider}
resource "dataplatform_bi_service" "metabase" {{
  cluster_name     = "analytics"
  name             = "metabase"
  engine           = "metabase"
  wait_for_rollout = false
{extra}
  database {{
    type                = "postgres"
    host                = "metabase.db.example.com"
    name                = "metabase"
    username            = "metabase"
    password_wo         = "{password}"
    password_wo_version = {version}
  }}
}}
"#,
            provider = provider()
        )
    };
    let secret = "/api/v1/namespaces/default/secrets/metabase";
    let password_in_cluster = || {
        let s = e.kube.get(secret).expect("the Secret");
        let b = s["data"]["database-password"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .unwrap_or_default(),
        )
        .unwrap_or_default()
    };
    ws.write("main.tf", &config(PASSWORD, 1, ""));
    let out = apply(&ws);
    assert!(out.success(), "{}", out.text());
    assert!(
        password_in_cluster() == PASSWORD,
        "the first password was not applied"
    );

    // Someone else took the password key: the rotation's apply fails on the conflict.
    patch(
        &e.kube,
        secret,
        "kubectl-edit",
        &json!({"data": {"database-password": b64("hand-edited")}}),
    );
    ws.write("main.tf", &config(ROTATED, 2, ""));
    let out = apply(&ws);
    assert_failed_with(&out, &["kubectl-edit", ".data.database-password"]);
    let version = state_resources(&ws)[0]["values"]["database"].clone();
    let version = if version.is_array() {
        version[0].clone()
    } else {
        version
    };
    let version = version["password_wo_version"].clone();
    assert_eq!(
        version,
        json!(1),
        "the failed rotation's version was recorded"
    );
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        out.code,
        Some(2),
        "the next plan must send the password again:\n{}",
        out.text()
    );

    ws.write("main.tf", &config(ROTATED, 2, "  force_conflicts = true"));
    let out = apply(&ws);
    assert!(out.success(), "{}", out.text());
    assert!(
        password_in_cluster() == ROTATED,
        "the rotated password was not applied"
    );
    assert_no_changes(&ws);

    // A key that does not come from the write-only password still shows drift.
    patch(
        &e.kube,
        secret,
        "kubectl-edit",
        &json!({"data": {"database-username": b64("intruder")}}),
    );
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, Some(2), "{}", out.text());
    let out = apply(&ws);
    assert!(out.success(), "{}", out.text());
    assert_no_changes(&ws);
    assert_log_clean(&ws);
}
