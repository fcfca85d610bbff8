//! `dataplatform_bi_service` credentials that stay in Secrets made by someone else (External
//! Secrets, the RDS-managed master secret synced into the cluster) and write-only engine
//! secrets, with real Terraform against the Kubernetes stand-in: the Deployment references
//! the existing Secrets, the provider never reads them (the stand-in's request counts say
//! so), `secret_version` rolls the pods, and an import gives back the same configuration.

use serde_json::{json, Value as Json};

use crate::kube_sandbox::{env, workspace, ClusterEnv};
use crate::support::{
    apply, assert_no_changes, plan, reimport, required_providers, Workspace, TERRAFORM_VERSIONS,
};

const NS: &str = "bi-refs";
const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/bi-refs/deployments/metabase";
const OWN_SECRET: &str = "/api/v1/namespaces/bi-refs/secrets/metabase";
const RDS_SECRET: &str = "/api/v1/namespaces/bi-refs/secrets/rds-master";
const KEYS_SECRET: &str = "/api/v1/namespaces/bi-refs/secrets/metabase-keys";
const RDS_PASSWORD: &str = "rds-managed-Pa55word";
const ENCRYPTION_KEY: &str = "referenced-encryption-key-0001";

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The namespace and the Secrets something else made before the service exists.
fn existing_secrets(e: &ClusterEnv) {
    let kube = &e.kube;
    kube.apply(
        &format!("/api/v1/namespaces/{NS}"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        "external-secrets",
    );
    for (path, name, key, value) in [
        (RDS_SECRET, "rds-master", "password", RDS_PASSWORD),
        (
            KEYS_SECRET,
            "metabase-keys",
            "encryption.key",
            ENCRYPTION_KEY,
        ),
    ] {
        kube.apply(
            path,
            &json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": NS},
                "type": "Opaque",
                "data": {key: b64(value)},
            }),
            "external-secrets",
        );
    }
}

fn metabase(secret_version: &str) -> String {
    format!(
        r#"{rp}
provider "dataplatform" {{
  region       = "eu-central-1"
  cluster_name = "analytics"
}}

resource "dataplatform_bi_service" "metabase" {{
  name      = "metabase"
  namespace = "{NS}"
  engine    = "metabase"

  database {{
    type     = "mysql"
    host     = "metabase.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
    password_secret {{
      name = "rds-master"
      key  = "password"
    }}
  }}

  secrets {{
    encryption_key_secret {{
      name = "metabase-keys"
      key  = "encryption.key"
    }}
  }}

  secret_version = "{secret_version}"
}}
"#,
        rp = required_providers()
    )
}

fn env_var<'a>(d: &'a Json, name: &str) -> &'a Json {
    d.pointer("/spec/template/spec/containers/0/env")
        .and_then(Json::as_array)
        .and_then(|env| env.iter().find(|e| e["name"] == name))
        .unwrap_or(&Json::Null)
}

fn template_annotation(d: &Json, key: &str) -> Json {
    d["spec"]["template"]["metadata"]["annotations"][key].clone()
}

/// No request of the provider touched a referenced Secret or listed the namespace's
/// Secrets: the stand-in counts requests by method and path; the test's own applies are the
/// only ones allowed.
#[track_caller]
fn assert_referenced_secrets_never_read(e: &ClusterEnv) {
    let stats = e.kube.stats();
    let requests = stats["requests"].as_object().cloned().unwrap_or_default();
    assert!(
        !requests.is_empty(),
        "the stand-in counts requests: {stats}"
    );
    let touched: Vec<&String> = requests
        .keys()
        .filter(|k| {
            let referenced =
                k.ends_with("/secrets/rds-master") || k.ends_with("/secrets/metabase-keys");
            let own = k.starts_with("PATCH ") && referenced && requests[*k] == json!(1);
            let listed =
                k.ends_with(&format!("/namespaces/{NS}/secrets")) || k.ends_with("/api/v1/secrets");
            (referenced && !own) || listed
        })
        .collect();
    assert!(
        touched.is_empty(),
        "the provider read a referenced Secret: {touched:?}"
    );
}

fn import(ws: &Workspace, v: &str) {
    reimport(
        ws,
        &[(
            "dataplatform_bi_service.metabase",
            &format!("{NS}/metabase"),
        )],
    );
    let out = plan(ws);
    assert!(
        out.text().contains("No changes"),
        "terraform {v}: import left a difference:\n{}",
        out.text()
    );
}

#[test]
fn metabase_reads_its_password_and_encryption_key_from_existing_secrets_it_never_reads() {
    for v in TERRAFORM_VERSIONS {
        let e = env();
        existing_secrets(&e);
        let ws = workspace(v, &e);
        ws.write("main.tf", &metabase("1"));
        ws.init().assert_success();
        let out = apply(&ws);
        assert!(out.success(), "terraform {v}:\n{}", out.text());

        let d = e.kube.get(DEPLOYMENT).expect("deployment");
        assert_eq!(
            env_var(&d, "MB_DB_PASS")["valueFrom"]["secretKeyRef"],
            json!({"name": "rds-master", "key": "password"})
        );
        assert_eq!(
            env_var(&d, "MB_ENCRYPTION_SECRET_KEY")["valueFrom"]["secretKeyRef"],
            json!({"name": "metabase-keys", "key": "encryption.key"})
        );
        assert_eq!(
            template_annotation(&d, "dataplatform.io/secret-version"),
            json!("1")
        );
        // The service's own Secret holds the user name only.
        let own = e.kube.get(OWN_SECRET).expect("the service's Secret");
        let keys: Vec<&String> = own["data"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert!(
            keys.iter()
                .all(|k| *k == "database-username" || k.starts_with("dataplatform.io")),
            "{keys:?}"
        );
        let state =
            std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).expect("state");
        for secret in [RDS_PASSWORD, ENCRYPTION_KEY] {
            assert!(!state.contains(secret) && !state.contains(&b64(secret)));
            assert!(!out.text().contains(secret));
        }
        assert_no_changes(&ws);

        // The referenced Secret is rotated outside Terraform: nothing to see until the
        // version changes, which rolls the pods.
        let generation = d["metadata"]["generation"].clone();
        let out = plan(&ws);
        assert!(out.text().contains("No changes"), "{}", out.text());
        ws.write("main.tf", &metabase("2"));
        let out = apply(&ws);
        assert!(
            out.success() && out.text().contains("0 added, 1 changed, 0 destroyed"),
            "terraform {v}:\n{}",
            out.text()
        );
        let d = e.kube.get(DEPLOYMENT).expect("deployment");
        assert_eq!(
            template_annotation(&d, "dataplatform.io/secret-version"),
            json!("2")
        );
        assert_ne!(d["metadata"]["generation"], generation, "a new rollout");
        assert_no_changes(&ws);

        import(&ws, v);
        assert_referenced_secrets_never_read(&e);

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(e.kube.get(DEPLOYMENT).is_none());
        // Not the service's: destroy leaves them.
        assert!(e.kube.get(RDS_SECRET).is_some() && e.kube.get(KEYS_SECRET).is_some());
    }
}

/// Superset with its secret key and Redis URL write-only (Terraform 1.11 and later only).
fn superset(key: &str, version: i64) -> String {
    format!(
        r#"{rp}
provider "dataplatform" {{
  region       = "eu-central-1"
  cluster_name = "analytics"
}}

resource "dataplatform_bi_service" "superset" {{
  name             = "superset"
  namespace        = "bi-wo"
  create_namespace = true
  engine           = "superset"

  database {{
    type     = "postgres"
    host     = "superset.abc123.eu-central-1.rds.amazonaws.com"
    name     = "superset"
    username = "superset"
    password_secret {{
      name = "superset-db"
      key  = "password"
    }}
  }}

  secrets {{
    secret_key_wo         = "{key}"
    secret_key_wo_version = {version}
    redis_url_wo          = "redis://cache.example.com:6379/0"
    redis_url_wo_version  = 1
  }}
}}
"#,
        rp = required_providers()
    )
}

#[test]
fn write_only_engine_secrets_are_sent_never_stored_and_sent_again_on_a_new_version() {
    // Write-only attributes need Terraform 1.11 or later.
    let v = TERRAFORM_VERSIONS[0];
    let e = env();
    let ws = workspace(v, &e);
    const KEY_1: &str = "write-only-superset-key-0001";
    const KEY_2: &str = "write-only-superset-key-0002";
    let own = "/api/v1/namespaces/bi-wo/secrets/superset";
    let deployment = "/apis/apps/v1/namespaces/bi-wo/deployments/superset";
    ws.write("main.tf", &superset(KEY_1, 1));
    ws.init().assert_success();
    let out = apply(&ws);
    assert!(out.success(), "{}", out.text());
    let secret = e.kube.get(own).expect("secret");
    assert_eq!(secret["data"]["secret-key"], json!(b64(KEY_1)));
    assert_eq!(
        secret["data"]["redis-url"],
        json!(b64("redis://cache.example.com:6379/0"))
    );
    let d = e.kube.get(deployment).expect("deployment");
    assert_eq!(
        env_var(&d, "SQLALCHEMY_DATABASE_URI")["value"],
        json!("postgresql+psycopg2://superset:$(DATABASE_PASSWORD)@superset.abc123.eu-central-1.rds.amazonaws.com:5432/superset")
    );
    let state = std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).expect("state");
    assert!(!state.contains(KEY_1) && !state.contains("cache.example.com"));
    assert_no_changes(&ws);
    let checksum = template_annotation(&d, "dataplatform.io/secret-checksum");

    // A new value alone is not seen (write-only); with a new version it is sent, and the
    // pods roll with the Secret's checksum.
    ws.write("main.tf", &superset(KEY_2, 1));
    assert_no_changes(&ws);
    ws.write("main.tf", &superset(KEY_2, 2));
    let out = apply(&ws);
    assert!(out.success(), "{}", out.text());
    assert!(!out.text().contains(KEY_2));
    let secret = e.kube.get(own).expect("secret");
    assert_eq!(secret["data"]["secret-key"], json!(b64(KEY_2)));
    let d = e.kube.get(deployment).expect("deployment");
    assert_ne!(
        template_annotation(&d, "dataplatform.io/secret-checksum"),
        checksum
    );
    assert_no_changes(&ws);

    // Import restores the versions and the reference: no difference.
    reimport(
        &ws,
        &[("dataplatform_bi_service.superset", "bi-wo/superset")],
    );
    assert_no_changes(&ws);
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
}
