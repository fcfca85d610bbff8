//! HCP Terraform's dynamic credentials: the run's environment holds no AWS keys and no shared
//! files, only a web identity token file and a role ARN. The provider exchanges the token for
//! the role's credentials (STS AssumeRoleWithWebIdentity) and the seed environment applies end
//! to end, its Kubernetes objects with EKS tokens signed by the assumed role's session. The
//! Kubernetes stand-in verifies EKS tokens as EKS does, by asking STS: a token signed with a
//! wrong secret, or signed too long ago, is refused.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use dataplatform::clients::eks_token;

use crate::examples::{assert_empty, copy_dir, destroy, sandbox_vars};
use crate::kube_sandbox::{ClusterEnv, KubeSandbox};
use crate::sandbox::Sandbox;
use crate::support::{apply, assert_no_changes, repo_root, Workspace, TERRAFORM_VERSIONS};

/// A workload identity token as HCP Terraform writes it for the run (a JWT; the AWS stand-in
/// does not check who issued it, AWS checks it against the OIDC provider).
const WORKLOAD_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJhd3Mud29ya2xvYWQuaWRlbnRpdHkiLCJzdWIiOiJvcmdhbml6YXRpb246ZXhhbXBsZTpwcm9qZWN0OmRhdGE6d29ya3NwYWNlOnByb2Q6cnVuX3BoYXNlOmFwcGx5In0.c2lnbmF0dXJl";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/tfc-dataplatform-run";
/// What the assumed role's session is called in STS's answers (the provider's default
/// session name, as HCP Terraform sets no AWS_ROLE_SESSION_NAME).
const CALLER: &str =
    "arn:aws:sts::123456789012:assumed-role/tfc-dataplatform-run/terraform-provider-dataplatform";

/// The stand-ins, with the Kubernetes one verifying EKS tokens through the AWS one's STS.
fn env() -> ClusterEnv {
    let kube = KubeSandbox::start();
    let aws = Sandbox::start_with_kube(&kube);
    kube.verify_tokens_with_sts(&aws.url);
    let e = ClusterEnv { kube, aws };
    e.install_controllers();
    e
}

/// How the run gets its dynamic credentials.
#[derive(Clone, Copy, Debug)]
enum Handover {
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (the default configuration).
    Environment,
    /// A shared config file whose default profile names the token file and the role, passed in
    /// the Terraform variable `tfc_aws_dynamic_credentials` and given to the provider's
    /// `shared_config_files`.
    SharedConfigFile,
}

/// A workspace with the seed environment whose runs see what an HCP Terraform run with AWS
/// dynamic credentials sees: a token file and a role ARN, no keys, no profile, no other shared
/// files.
fn dynamic_credentials_workspace(v: &str, e: &ClusterEnv, how: Handover) -> Workspace {
    let mut ws = Workspace::new(v);
    let root = ws.work_dir();
    let outside = root.parent().expect("workspace root").to_path_buf();
    copy_dir(&repo_root().join("examples/spark-on-eks"), &root);
    copy_dir(
        &repo_root().join("examples/modules/spark-on-eks"),
        &outside.join("modules/spark-on-eks"),
    );
    sandbox_vars(&ws, e);
    let token_file = outside.join("tfc-aws-token");
    std::fs::write(&token_file, format!("{WORKLOAD_TOKEN}\n")).expect("write the token file");
    let empty = outside.join("empty-aws-file");
    std::fs::write(&empty, "").expect("write an empty file");
    let empty = empty.display().to_string();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", e.aws.url.as_str()),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", empty.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", empty.as_str()),
    ] {
        ws.env(k, v);
    }
    match how {
        Handover::Environment => {
            ws.env(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                &token_file.display().to_string(),
            );
            ws.env("AWS_ROLE_ARN", ROLE_ARN);
        }
        Handover::SharedConfigFile => {
            let config = outside.join("tfc-aws-config");
            std::fs::write(
                &config,
                format!(
                    "[default]\nweb_identity_token_file = {}\nrole_arn = {ROLE_ARN}\n",
                    token_file.display()
                ),
            )
            .expect("write the shared config file");
            ws.write(
                "tfc.tf",
                "variable \"tfc_aws_dynamic_credentials\" {\n  type = object({\n    default = object({ shared_config_file = string })\n    aliases = map(object({ shared_config_file = string }))\n  })\n}\n",
            );
            ws.write(
                "override.tf",
                "provider \"dataplatform\" {\n  shared_config_files = [var.tfc_aws_dynamic_credentials.default.shared_config_file]\n}\n",
            );
            ws.write(
                "tfc.auto.tfvars.json",
                &serde_json::json!({
                    "tfc_aws_dynamic_credentials": {
                        "default": { "shared_config_file": config.display().to_string() },
                        "aliases": {}
                    }
                })
                .to_string(),
            );
        }
    }
    ws.init().assert_success();
    ws
}

/// What `GET /api/v1/namespaces` answers with this EKS token.
fn status_with(kube: &KubeSandbox, token: &str) -> (u16, String) {
    let auth = format!("Bearer {token}");
    let (code, body) = kube.request_as(Some(&auth), "GET", "/api/v1/namespaces", None, None);
    (
        code,
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Credentials of a session the AWS stand-in's STS issued for the role, as the provider got.
fn assumed_session(aws: &Sandbox) -> Credentials {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sts = aws_sdk_sts::Client::new(&aws.sdk_config());
    let answer = rt
        .block_on(
            sts.assume_role_with_web_identity()
                .role_arn(ROLE_ARN)
                .role_session_name("test-session")
                .web_identity_token("header.payload.signature")
                .send(),
        )
        .expect("AssumeRoleWithWebIdentity");
    let c = answer.credentials().expect("credentials");
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "test",
    )
}

fn token(creds: &Credentials, signed: SystemTime) -> String {
    eks_token::token(creds, "eu-central-1", "analytics", signed).expect("sign an EKS token")
}

#[test]
fn the_seed_environment_applies_with_only_a_web_identity_token_file_and_a_role() {
    for v in TERRAFORM_VERSIONS {
        applies_and_destroys(v, Handover::Environment, CALLER);
    }
}

#[test]
fn the_seed_environment_applies_with_dynamic_credentials_in_a_shared_config_file() {
    // The SDK's profile names the session itself.
    applies_and_destroys(
        TERRAFORM_VERSIONS[0],
        Handover::SharedConfigFile,
        "arn:aws:sts::123456789012:assumed-role/tfc-dataplatform-run/",
    );
}

/// The seed environment applies, plans empty and destroys; every EKS token the cluster
/// accepted was verified by STS as the session of the role (its caller ARN starts `caller`).
fn applies_and_destroys(v: &str, how: Handover, caller: &str) {
    let e = env();
    let mut ws = dynamic_credentials_workspace(v, &e, how);
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &log.display().to_string());
    let out = apply(&ws);
    out.assert_success();
    // Neither the workload identity token nor an EKS token shows in the output or the logs.
    let trace = std::fs::read_to_string(&log).unwrap_or_default();
    for (what, text) in [("output", out.text()), ("trace log", trace.clone())] {
        for secret in [
            WORKLOAD_TOKEN.split('.').nth(1).unwrap_or(WORKLOAD_TOKEN),
            "k8s-aws-v1.",
        ] {
            assert!(
                !text.contains(secret),
                "terraform {v}: the {what} holds a secret"
            );
        }
    }
    assert!(!trace.is_empty(), "terraform {v}: TF_LOG_PATH was written");
    assert!(
        out.text().contains("Apply complete! Resources: 5 added"),
        "terraform {v}:\n{}",
        out.text()
    );
    assert!(
        e.aws.stat("sts.AssumeRoleWithWebIdentity") >= 1,
        "terraform {v}: the provider exchanged the web identity token with STS"
    );
    let stats = e.kube.stats();
    let callers = stats["eks_callers"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(
        !callers.is_empty() && callers.keys().all(|k| k.starts_with(caller)),
        "terraform {v}, {how:?}: {stats}"
    );
    assert_eq!(stats["rejected"], 0, "terraform {v}: {stats}");
    assert!(e.aws.stat("sts.presigned.verified") >= 1);
    assert!(
        e.kube
            .get("/apis/apps/v1/namespaces/prod-bi/deployments/metabase")
            .is_some(),
        "the BI service's Deployment"
    );
    assert!(
        e.kube.get("/api/v1/namespaces/prod-spark").is_some(),
        "the Spark pool's namespace"
    );
    assert_eq!(e.aws.nodegroups().len(), 3, "terraform {v}: node groups");
    assert_no_changes(&ws);
    destroy(&ws);
    assert_empty(&e);
}

#[test]
fn the_kubernetes_stand_in_accepts_sts_sessions_and_refuses_forged_and_expired_tokens() {
    let e = env();
    let session = assumed_session(&e.aws);
    let now = SystemTime::now();

    // A session STS issued, signed now or ten minutes ago (EKS accepts a token for 15 minutes,
    // whatever its 60-second presign says): accepted as the assumed role.
    assert_eq!(status_with(&e.kube, &token(&session, now)).0, 200);
    let ten_minutes_ago = now - Duration::from_secs(10 * 60);
    assert_eq!(
        status_with(&e.kube, &token(&session, ten_minutes_ago)).0,
        200
    );
    let callers = e.kube.stats()["eks_callers"].clone();
    assert!(
        callers.as_object().is_some_and(|c| c
            .keys()
            .any(|k| k.ends_with("assumed-role/tfc-dataplatform-run/test-session"))),
        "{callers}"
    );
    // The sandbox's static keys still work (the other tests and the demo use them).
    let static_keys = Credentials::new("testing", "testing", None, None, "test");
    assert_eq!(status_with(&e.kube, &token(&static_keys, now)).0, 200);

    // Forged: the session's key ID and token with another secret; a key STS never issued.
    let forged = Credentials::new(
        session.access_key_id(),
        "forged-secret",
        session.session_token().map(str::to_string),
        None,
        "test",
    );
    let (code, why) = status_with(&e.kube, &token(&forged, now));
    assert_eq!(code, 401, "{why}");
    assert!(
        why.contains("bad signature") && why.contains("SignatureDoesNotMatch"),
        "{why}"
    );
    let unknown = Credentials::new("AKIAUNKNOWNKEY000000", "secret", None, None, "test");
    let (code, why) = status_with(&e.kube, &token(&unknown, now));
    assert_eq!(code, 401, "{why}");
    assert!(why.contains("InvalidClientTokenId"), "{why}");
    // The session's real secret without its session token: STS does not know it.
    let tokenless = Credentials::new(
        session.access_key_id(),
        session.secret_access_key(),
        None,
        None,
        "test",
    );
    assert_eq!(status_with(&e.kube, &token(&tokenless, now)).0, 401);

    // Expired: signed 16 minutes ago.
    let (code, why) = status_with(
        &e.kube,
        &token(&session, now - Duration::from_secs(16 * 60)),
    );
    assert_eq!(code, 401, "{why}");
    assert!(why.contains("EKS token: expired"), "{why}");
}
