//! A private Kubernetes API server per test: kube-sandbox (testbed/kube-sandbox, built by
//! `make testbed`) on free loopback ports, HTTPS for the provider and plain HTTP (the same API)
//! for the test's own checks. It plays the deployment controller: Deployments become available
//! after a short delay, or fail (`fail_rollout`, or an image tag ending in `-broken`).
//! Stopped when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::support::repo_root;

pub struct KubeSandboxOptions {
    /// Verify the signature of EKS IAM tokens with this secret key (moto's is `testing`).
    pub aws_secret_key: Option<String>,
    /// The cluster name EKS tokens must be signed for.
    pub eks_cluster: String,
    /// How long the deployment controller stand-in waits before a rollout completes.
    pub rollout_delay_ms: u64,
    /// Custom API groups not served, as in a cluster without their CRDs.
    pub without_api_groups: Vec<String>,
}

impl Default for KubeSandboxOptions {
    fn default() -> Self {
        KubeSandboxOptions {
            aws_secret_key: None,
            eks_cluster: "analytics".into(),
            rollout_delay_ms: 300,
            without_api_groups: Vec::new(),
        }
    }
}

pub struct KubeSandbox {
    child: Child,
    /// The HTTPS endpoint (what a kubeconfig or an EKS cluster's endpoint points at).
    pub url: String,
    /// The same API over plain HTTP, for the test's own requests.
    pub http_url: String,
    pub ca_pem: String,
    pub ca_file: PathBuf,
    /// A static bearer token the server accepts (new for every start).
    pub token: String,
    pub log_file: PathBuf,
    dir: tempfile::TempDir,
}

pub fn binary() -> PathBuf {
    let p = repo_root().join("target/kube-sandbox/debug/kube-sandbox");
    assert!(
        p.exists(),
        "{} is missing: run `make testbed` (it builds testbed/kube-sandbox)",
        p.display()
    );
    p
}

fn fresh_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    let a = h.finish();
    h.write_u64(a);
    format!("sandbox-{a:016x}{:016x}", h.finish())
}

impl KubeSandbox {
    /// Starts a sandbox; panics (failing the test) if it is not ready in 30 s.
    pub fn start() -> KubeSandbox {
        KubeSandbox::start_with(&KubeSandboxOptions::default())
    }

    pub fn start_with(opts: &KubeSandboxOptions) -> KubeSandbox {
        let dir = tempfile::tempdir().expect("kube sandbox dir");
        let ca_file = dir.path().join("ca.pem");
        let log_file = dir.path().join("kube-sandbox.log");
        let token = fresh_token();
        let mut cmd = Command::new(binary());
        cmd.args(["--port", "0", "--http-port", "0", "--token", &token])
            .arg("--ca-out")
            .arg(&ca_file)
            .arg("--log")
            .arg(&log_file)
            .args(["--eks-cluster", &opts.eks_cluster])
            .args(["--rollout-delay-ms", &opts.rollout_delay_ms.to_string()]);
        for g in &opts.without_api_groups {
            cmd.args(["--without-api-group", g]);
        }
        if let Some(secret) = &opts.aws_secret_key {
            cmd.args(["--aws-secret-key", secret]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kube-sandbox");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut http_url = String::new();
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("KUBE_SANDBOX_HTTP ") {
                        http_url = u.trim().to_string();
                    } else if let Some(u) = line.strip_prefix("KUBE_SANDBOX_READY ") {
                        break u.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "kube-sandbox did not become ready within 30 s; log:\n{}",
                        std::fs::read_to_string(&log_file).unwrap_or_default()
                    );
                }
            }
        };
        let ca_pem = std::fs::read_to_string(&ca_file).expect("kube-sandbox CA");
        KubeSandbox {
            child,
            url,
            http_url,
            ca_pem,
            ca_file,
            token,
            log_file,
            dir,
        }
    }

    /// One request with the static token; returns the status and the JSON body (Null if none).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&Json>,
    ) -> (u16, Json) {
        let auth = format!("Bearer {}", self.token);
        self.request_as(Some(&auth), method, path, content_type, body)
    }

    /// One request with the given `Authorization` header (or none).
    pub fn request_as(
        &self,
        authorization: Option<&str>,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&Json>,
    ) -> (u16, Json) {
        let hostport = self
            .http_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut stream = TcpStream::connect(&hostport).expect("connect kube-sandbox");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let payload = body.map(Json::to_string).unwrap_or_default();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n", payload.len());
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if let Some(a) = authorization {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(format!("{head}{payload}").as_bytes())
            .expect("send request to kube-sandbox");
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("{method} {path}: reading the response failed: {e}"));
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{method} {path}: no HTTP status in {head:?}"));
        let chunked = head.lines().any(|l| {
            l.to_ascii_lowercase()
                .starts_with("transfer-encoding: chunked")
        });
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        let json = serde_json::from_str(body.trim()).unwrap_or(Json::Null);
        (status, json)
    }

    /// The object at `path`, or `None` if it does not exist; panics on any other failure.
    pub fn get(&self, path: &str) -> Option<Json> {
        match self.request("GET", path, None, None) {
            (200, v) => Some(v),
            (404, _) => None,
            (code, v) => panic!("GET {path}: HTTP {code}: {v}"),
        }
    }

    /// Server-side applies `obj` at its object path under `field_manager` (forced), as
    /// kube-rs's `Patch::Apply` does, and returns the live object.
    pub fn apply(&self, path: &str, obj: &Json, field_manager: &str) -> Json {
        let uri = format!("{path}?fieldManager={field_manager}&force=true");
        match self.request(
            "PATCH",
            &uri,
            Some("application/apply-patch+yaml"),
            Some(obj),
        ) {
            (200 | 201, v) => v,
            (code, v) => panic!("apply {path}: HTTP {code}: {v}"),
        }
    }

    /// Calls the control API (`/_sandbox/...`); panics unless it answers 2xx.
    pub fn control(&self, method: &str, path: &str, body: &Json) -> Json {
        let (code, v) = self.request_as(None, method, path, Some("application/json"), Some(body));
        assert!(
            (200..300).contains(&code),
            "control {path}: HTTP {code}: {v}"
        );
        v
    }

    pub fn stats(&self) -> Json {
        self.control("GET", "/_sandbox/stats", &Json::Null)
    }

    /// From now on EKS tokens are verified as EKS does: by sending their presigned
    /// GetCallerIdentity to the STS at `sts_url` (the AWS stand-in).
    pub fn verify_tokens_with_sts(&self, sts_url: &str) {
        self.control("POST", "/_sandbox/sts-endpoint", &json!({ "url": sts_url }));
    }

    /// Makes the Deployment's rollouts fail (`name` may be `*`) until `clear_failures`.
    pub fn fail_rollout(&self, namespace: &str, name: &str, reason: &str, message: &str) {
        self.control(
            "POST",
            "/_sandbox/fail-rollout",
            &json!({"namespace": namespace, "name": name, "reason": reason, "message": message}),
        );
    }

    pub fn clear_failures(&self) {
        self.control("POST", "/_sandbox/clear-failures", &json!({}));
    }

    /// Drops every object (the system namespaces stay), failures and counters.
    pub fn reset(&self) {
        self.control("POST", "/_sandbox/reset", &json!({}));
    }

    /// Writes a kubeconfig (cluster `sandbox`, the static token, context `sandbox`) into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: sandbox\n  user:\n    token: {}\ncontexts:\n- name: sandbox\n  context:\n    cluster: sandbox\n    user: sandbox\n    namespace: default\ncurrent-context: sandbox\n",
            self.url, self.token
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// Polls `path` until `predicate` holds for the object; returns it. Panics after `timeout`
    /// with the last object seen.
    pub fn wait_for(
        &self,
        path: &str,
        predicate: impl Fn(&Json) -> bool,
        timeout: Duration,
    ) -> Json {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.get(path);
            if let Some(v) = &seen {
                if predicate(v) {
                    return v.clone();
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "{path}: condition not met within {timeout:?}; last seen: {}",
                    seen.map(|v| v.to_string())
                        .unwrap_or_else(|| "(not found)".into())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The request log (method, path, status per line), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for KubeSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An EKS IAM token in the aws-iam-authenticator format, signed at `signed_at` (the signature
/// itself is a placeholder: for sandboxes that do not verify signatures).
fn unsigned_eks_token(signed_at: time::OffsetDateTime) -> String {
    use base64::Engine;
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let date = signed_at.format(&fmt).expect("format X-Amz-Date");
    let url = format!(
        "https://sts.eu-central-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15\
         &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDSANDBOX%2F{}%2Feu-central-1%2Fsts%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id\
         &X-Amz-Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    )
}

#[test]
fn kube_sandbox_serves_the_api() {
    let kube = KubeSandbox::start_with(&KubeSandboxOptions {
        rollout_delay_ms: 200,
        ..Default::default()
    });
    assert!(kube.url.starts_with("https://127.0.0.1:"), "{}", kube.url);
    assert!(kube.ca_pem.contains("BEGIN CERTIFICATE"));

    // Discovery and authentication.
    let (code, version) = kube.request_as(None, "GET", "/version", None, None);
    assert_eq!(
        (code, version["gitVersion"].as_str()),
        (200, Some("v1.32.0"))
    );
    let (code, denied) = kube.request_as(None, "GET", "/api/v1/namespaces", None, None);
    assert_eq!(code, 401, "{denied}");
    assert_eq!(denied["reason"], "Unauthorized");
    assert_eq!(denied["kind"], "Status");
    let apps = kube.get("/apis/apps/v1").expect("apps/v1 discovery");
    assert!(apps.to_string().contains("\"deployments\""), "{apps}");

    // Namespaces.
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "acc"}});
    let (code, created) = kube.request(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        Some(&ns),
    );
    assert_eq!(code, 201, "{created}");
    let live = kube.get("/api/v1/namespaces/acc").expect("namespace acc");
    assert_eq!(live["kind"], "Namespace");
    assert_eq!(live["status"]["phase"], "Active");

    // A Deployment applied server-side becomes available.
    let path = "/apis/apps/v1/namespaces/acc/deployments/web";
    let mut deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "acc", "annotations": {"team": "bi", "owner": "x"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    });
    let applied = kube.apply(path, &deployment, "acceptance");
    assert_eq!(applied["metadata"]["annotations"]["owner"], "x");
    let available = |d: &Json| {
        d["status"]["observedGeneration"] == d["metadata"]["generation"]
            && d["status"]["availableReplicas"] == 2
    };
    kube.wait_for(path, available, Duration::from_secs(5));
    let pods = kube
        .get("/api/v1/namespaces/acc/pods?labelSelector=app%3Dweb")
        .expect("pods");
    assert_eq!(pods["items"].as_array().map(Vec::len), Some(2), "{pods}");

    // Applying again without an annotation removes it.
    deployment["metadata"]["annotations"] = json!({"team": "bi"});
    let applied = kube.apply(path, &deployment, "acceptance");
    assert_eq!(applied["metadata"]["annotations"], json!({"team": "bi"}));

    // A `-broken` image fails the rollout with ImagePullBackOff in the pod status.
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27-broken");
    kube.apply(path, &deployment, "acceptance");
    let failed = kube.wait_for(
        path,
        |d| {
            d["status"]["observedGeneration"] == d["metadata"]["generation"]
                && d["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["reason"] == "ProgressDeadlineExceeded"))
        },
        Duration::from_secs(5),
    );
    assert!(
        failed["status"].get("availableReplicas").is_none(),
        "{failed}"
    );
    let pods = kube
        .get("/api/v1/namespaces/acc/pods?labelSelector=app%3Dweb")
        .expect("pods");
    let waiting = &pods["items"][0]["status"]["containerStatuses"][0]["state"]["waiting"];
    assert_eq!(waiting["reason"], "ImagePullBackOff", "{pods}");
    assert_eq!(pods["items"][0]["status"]["phase"], "Pending");

    // EKS IAM tokens: the structure and the times are checked (signatures are not here).
    let now = time::OffsetDateTime::now_utc();
    let token = format!("Bearer {}", unsigned_eks_token(now));
    let (code, v) = kube.request_as(Some(&token), "GET", "/api/v1/namespaces", None, None);
    assert_eq!(code, 200, "{v}");
    let old = format!(
        "Bearer {}",
        unsigned_eks_token(now - time::Duration::minutes(20))
    );
    let (code, v) = kube.request_as(Some(&old), "GET", "/api/v1/namespaces", None, None);
    assert_eq!(code, 401, "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("expired"),
        "{v}"
    );

    // Deleting the namespace deletes what is in it.
    let (code, v) = kube.request("DELETE", "/api/v1/namespaces/acc", None, None);
    assert_eq!(code, 200, "{v}");
    assert!(kube.get("/api/v1/namespaces/acc").is_none());
    assert!(kube.get(path).is_none());
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let (code, v) = kube.request(
        "POST",
        "/api/v1/namespaces/acc/configmaps",
        Some("application/json"),
        Some(&cm),
    );
    assert_eq!(code, 404, "{v}");
    assert_eq!(v["message"], "namespaces \"acc\" not found");

    let stats = kube.stats();
    assert_eq!(stats["eks_tokens"], 1, "{stats}");
    assert!(stats["rejected"].as_u64() >= Some(2), "{stats}");
    assert!(stats["static_tokens"].as_u64() >= Some(10), "{stats}");
    assert!(
        stats["requests"]["PATCH /apis/apps/v1/namespaces/acc/deployments/web"].as_u64() == Some(3),
        "{stats}"
    );
    assert!(kube.log().contains("DELETE /api/v1/namespaces/acc 200"));
}

#[test]
fn the_aws_sandbox_points_the_cluster_at_the_kube_sandbox() {
    let kube = KubeSandbox::start();
    let aws = crate::sandbox::Sandbox::start_with_kube(&kube);
    assert_eq!(aws.fact("cluster_endpoint"), kube.url);
}

/// The AWS sandbox whose `analytics` cluster is served by a Kubernetes sandbox: resources
/// connect through EKS (DescribeCluster and an IAM token) end to end.
pub struct ClusterEnv {
    pub kube: KubeSandbox,
    pub aws: crate::sandbox::Sandbox,
}

/// The namespaces [`ClusterEnv::install_controllers`] creates: not the provider's.
pub const CONTROLLER_NAMESPACES: [&str; 1] = ["spark-operator"];

impl ClusterEnv {
    /// The controllers the seed installs with Helm before applying the platform, as far as
    /// what their charts create shows them installed: the AWS Load Balancer Controller's
    /// IngressClass `alb` (the stand-in then gives Ingresses an ALB address) and the Spark
    /// operator's service account.
    pub fn install_controllers(&self) {
        self.kube.apply(
            "/apis/networking.k8s.io/v1/ingressclasses/alb",
            &json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                    "metadata": {"name": "alb"}, "spec": {"controller": "ingress.k8s.aws/alb"}}),
            "helm",
        );
        self.kube.apply(
            "/api/v1/namespaces/spark-operator",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "spark-operator"}}),
            "helm",
        );
        self.kube.apply(
            "/api/v1/namespaces/spark-operator/serviceaccounts/spark-operator-controller",
            &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "spark-operator-controller", "namespace": "spark-operator"}}),
            "helm",
        );
    }
}

pub fn env() -> ClusterEnv {
    env_with(&KubeSandboxOptions::default())
}

pub fn env_with(opts: &KubeSandboxOptions) -> ClusterEnv {
    let kube = KubeSandbox::start_with(opts);
    let aws = crate::sandbox::Sandbox::start_with_kube(&kube);
    ClusterEnv { kube, aws }
}

/// A workspace pointed at the environment's AWS sandbox.
pub fn workspace(version: &str, e: &ClusterEnv) -> crate::support::Workspace {
    e.aws.workspace(version)
}

/// kubectl, as a user of `make sandbox` runs it: reads (tables, `-o yaml`, `describe`) and, with
/// `--validate=false` (the stand-in serves no OpenAPI), writes.
#[test]
fn kubectl_reads_and_writes_through_the_sandbox_kubeconfig() {
    let Ok(found) = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
    else {
        eprintln!("kubectl is not installed: nothing to check");
        return;
    };
    assert!(found.status.success(), "kubectl version --client failed");
    let kube = KubeSandbox::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = kube.kubeconfig(dir.path());
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .args(args)
            .args(["--request-timeout=20s"])
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", dir.path())
            .output()
            .expect("run kubectl");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "kubectl {args:?}:\n{text}");
        text
    };
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n  namespace: default\ndata:\n  a: b\n",
    )
    .expect("manifest");
    let m = manifest.to_str().expect("UTF-8 path");

    assert!(kubectl(&["get", "namespaces"]).contains("kube-system"));
    kubectl(&["create", "--validate=false", "-f", m]);
    assert!(kubectl(&["get", "configmaps", "-A"]).contains("probe"));
    let yaml = kubectl(&["get", "configmap", "probe", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: ConfigMap") && yaml.contains("a: b"),
        "{yaml}"
    );
    assert!(kubectl(&["describe", "configmap", "probe"]).contains("Name:         probe"));
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n  namespace: default\ndata:\n  a: c\n",
    )
    .expect("manifest");
    // `kubectl create` owns the value: changing it with a server-side apply is a conflict,
    // as on a real API server, until kubectl is told to force.
    let conflict = std::process::Command::new("kubectl")
        .args(["apply", "--server-side", "--validate=false", "-f", m])
        .args(["--request-timeout=20s"])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .output()
        .expect("run kubectl");
    let text = String::from_utf8_lossy(&conflict.stderr);
    assert!(
        !conflict.status.success() && text.contains("conflict") && text.contains(".data.a"),
        "{text}"
    );
    kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "--validate=false",
        "-f",
        m,
    ]);
    assert_eq!(
        kubectl(&["get", "configmap", "probe", "-o", "jsonpath={.data.a}"]).trim(),
        "c"
    );
    kubectl(&["label", "configmap", "probe", "team=data"]);
    assert!(kubectl(&["get", "configmaps", "-l", "team=data"]).contains("probe"));
    kubectl(&["delete", "configmap", "probe"]);
    assert!(kube
        .get("/api/v1/namespaces/default/configmaps/probe")
        .is_none());
}
