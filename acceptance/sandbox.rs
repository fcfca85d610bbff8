//! A private AWS sandbox per test: the project's moto launcher on a free loopback port, seeded
//! with the `analytics` cluster, its subnets and node role. Stopped when dropped; it can be
//! killed and restarted on the same port (see [`Sandbox::restart`]).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value as Json;

use crate::kube_sandbox::KubeSandbox;
use crate::support::{block_on, repo_root, Workspace};

pub struct Sandbox {
    child: Child,
    pub url: String,
    pub facts: Json,
    extra_args: Vec<OsString>,
    dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let p = repo_root().join(".testbed/venv-tools/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `make testbed` first",
        p.display()
    );
    p
}

/// Why a sandbox process did not come up.
enum Launch {
    /// It exited before printing its address (e.g. the port was taken).
    Exited,
    /// Not ready within the limit.
    TimedOut,
}

/// Starts the moto launcher on `port` (0: any free port) and waits for its address.
fn spawn(dir: &Path, port: u16, extra_args: &[OsString]) -> Result<(Child, String), Launch> {
    let mut child = Command::new(python())
        .arg(repo_root().join("testbed/aws_sandbox/moto_sandbox.py"))
        .args(["--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        // The same seed on every start: a restarted sandbox seeded again gets the same IDs.
        .args(["--lifecycle-describes", "1", "--seed", "7"])
        .arg("--log")
        .arg(dir.join("moto.log"))
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                if let Some(u) = line.strip_prefix("SANDBOX_READY ") {
                    return Ok((child, u.trim().to_string()));
                }
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(match e {
                    mpsc::RecvTimeoutError::Disconnected => Launch::Exited,
                    mpsc::RecvTimeoutError::Timeout => Launch::TimedOut,
                });
            }
        }
    }
}

/// Seeds the `analytics` cluster, its subnets and roles; returns the facts.
fn seed(dir: &Path, url: &str) -> Result<Json, String> {
    let facts_file = dir.join("sandbox.json");
    let seeded = Command::new(python())
        .arg(repo_root().join("testbed/aws_sandbox/seed.py"))
        .args(["--endpoint", url, "--json-out"])
        .arg(&facts_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("seed sandbox");
    if !seeded.status.success() {
        return Err(String::from_utf8_lossy(&seeded.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&std::fs::read(&facts_file).expect("facts")).expect("facts JSON"))
}

impl Sandbox {
    /// Starts and seeds a sandbox; panics (failing the test) if it is not ready in 30 s.
    pub fn start() -> Sandbox {
        Sandbox::launch(&[])
    }

    /// Like [`Sandbox::start`], with the clusters' endpoint and certificate authority those of
    /// `kube` (so the provider reaches the Kubernetes stand-in through EKS).
    pub fn start_with_kube(kube: &KubeSandbox) -> Sandbox {
        Sandbox::launch(&[
            OsString::from("--cluster-endpoint"),
            OsString::from(&kube.url),
            OsString::from("--cluster-ca-file"),
            kube.ca_file.clone().into_os_string(),
        ])
    }

    fn launch(extra_args: &[OsString]) -> Sandbox {
        let dir = tempfile::tempdir().expect("sandbox dir");
        let (mut child, url) = match spawn(dir.path(), 0, extra_args) {
            Ok(started) => started,
            Err(_) => panic!("the moto sandbox did not become ready within 30 s"),
        };
        let facts = match seed(dir.path(), &url) {
            Ok(f) => f,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("seeding the sandbox failed: {e}");
            }
        };
        Sandbox {
            child,
            url,
            facts,
            extra_args: extra_args.to_vec(),
            dir,
        }
    }

    /// The loopback port the sandbox listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .expect("sandbox URL has a port")
    }

    /// Kills the sandbox process (SIGKILL: no chance to clean up), as a crashed AWS endpoint.
    /// Its state, kept in memory, is lost. Idempotent.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the sandbox if it still runs and starts it again on the same port, then seeds it
    /// the same way: the cluster, VPC, subnets and role get the same IDs as before (the launcher's
    /// seed makes moto's IDs deterministic; this panics if they differ). Everything else the
    /// old process held is gone, as after an endpoint that lost its data. Retries for up to
    /// 15 s while the port is briefly held by another socket.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let (child, url) = loop {
            match spawn(self.dir.path(), port, &self.extra_args) {
                Ok(started) => break started,
                Err(Launch::Exited) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(Launch::Exited) => {
                    panic!("the moto sandbox could not listen on port {port} again within 15 s")
                }
                Err(Launch::TimedOut) => {
                    panic!("the restarted moto sandbox did not become ready within 30 s")
                }
            }
        };
        self.child = child;
        assert_eq!(url, self.url, "restarted on the same address");
        let facts = seed(self.dir.path(), &self.url)
            .unwrap_or_else(|e| panic!("seeding the restarted sandbox failed: {e}"));
        // moto draws a cluster's endpoint host from an unseeded generator: not compared (the
        // node groups' subnets and role are what must still match; with a Kubernetes stand-in
        // the endpoint is its URL anyway).
        let mut before = self.facts.clone();
        let mut after = facts.clone();
        for f in [&mut before, &mut after] {
            if let Some(o) = f.as_object_mut() {
                o.remove("cluster_endpoint");
            }
        }
        assert_eq!(
            after, before,
            "the restarted sandbox has the same cluster, VPC, subnets and role"
        );
        self.facts = facts;
    }

    pub fn fact(&self, key: &str) -> String {
        match &self.facts[key] {
            Json::String(s) => s.clone(),
            Json::Array(a) => a
                .iter()
                .filter_map(Json::as_str)
                .collect::<Vec<_>>()
                .join(","),
            other => panic!("sandbox fact {key} missing: {other} in {}", self.facts),
        }
    }

    pub fn cluster(&self) -> String {
        self.fact("cluster_name")
    }

    pub fn node_role_arn(&self) -> String {
        self.fact("node_role_arn")
    }

    pub fn subnet_ids(&self) -> Vec<String> {
        self.fact("subnet_ids")
            .split(',')
            .map(str::to_string)
            .collect()
    }

    /// The environment that points the provider (and the AWS SDK) at this sandbox.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub fn apply_env(&self, ws: &mut Workspace) {
        for (k, v) in self.env() {
            ws.env(&k, &v);
        }
    }

    /// A Terraform `version` workspace pointed at this sandbox.
    pub fn workspace(&self, version: &str) -> Workspace {
        let mut ws = Workspace::new(version);
        self.apply_env(&mut ws);
        ws
    }

    /// Calls the sandbox's control API.
    pub fn control(&self, method: &str, path: &str, body: &Json) -> Json {
        let hostport = self
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut stream = TcpStream::connect(&hostport).expect("connect sandbox");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let payload = body.to_string();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            payload.len()
        );
        stream
            .write_all(req.as_bytes())
            .expect("send control request");
        let mut resp = String::new();
        stream
            .read_to_string(&mut resp)
            .expect("read control response");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        assert!(
            head.starts_with("HTTP/1.1 2") || head.starts_with("HTTP/1.0 2"),
            "control {path}: {head}\n{body}"
        );
        serde_json::from_str(body.trim()).unwrap_or(Json::Null)
    }

    /// An AWS SDK configuration for checks made by the test itself.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("eu-central-1"))
                .endpoint_url(&self.url)
                .credentials_provider(aws_credential_types::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        )
    }

    /// How many requests of `key` (e.g. `eks.DescribeNodegroup`) the stand-in has served.
    pub fn stat(&self, key: &str) -> u64 {
        self.control("GET", "/_sandbox/stats", &serde_json::json!({}))[key]
            .as_u64()
            .unwrap_or(0)
    }

    /// The node group names of the cluster, sorted (ListNodegroups does not move lifecycles
    /// along).
    pub fn nodegroups(&self) -> Vec<String> {
        let eks = aws_sdk_eks::Client::new(&self.sdk_config());
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = block_on(
                eks.list_nodegroups()
                    .cluster_name(self.cluster())
                    .set_next_token(token)
                    .send(),
            )
            .expect("list node groups");
            names.extend(out.nodegroups().iter().cloned());
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        names.sort();
        names
    }

    /// DescribeNodegroup (which moves a CREATING, UPDATING or DELETING group along).
    pub fn describe_nodegroup(&self, name: &str) -> aws_sdk_eks::types::Nodegroup {
        let eks = aws_sdk_eks::Client::new(&self.sdk_config());
        block_on(
            eks.describe_nodegroup()
                .cluster_name(self.cluster())
                .nodegroup_name(name)
                .send(),
        )
        .expect("describe node group")
        .nodegroup()
        .cloned()
        .expect("node group")
    }

    /// The cluster's EKS Pod Identity associations as `namespace/service_account` to
    /// (association ID, role ARN, tags).
    pub fn pod_identities(&self) -> BTreeMap<String, (String, String, BTreeMap<String, String>)> {
        let eks = aws_sdk_eks::Client::new(&self.sdk_config());
        let listed = block_on(
            eks.list_pod_identity_associations()
                .cluster_name(self.cluster())
                .send(),
        )
        .expect("list pod identity associations");
        let mut out = BTreeMap::new();
        for summary in listed.associations() {
            let id = summary.association_id().unwrap_or_default();
            let a = block_on(
                eks.describe_pod_identity_association()
                    .cluster_name(self.cluster())
                    .association_id(id)
                    .send(),
            )
            .expect("describe pod identity association");
            let a = a.association().cloned().expect("association");
            let tags = a
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            out.insert(
                format!(
                    "{}/{}",
                    a.namespace().unwrap_or_default(),
                    a.service_account().unwrap_or_default()
                ),
                (
                    id.to_string(),
                    a.role_arn().unwrap_or_default().to_string(),
                    tags,
                ),
            );
        }
        out
    }

    /// Points an association at another role, as someone outside Terraform would.
    pub fn update_pod_identity(&self, id: &str, role_arn: &str) {
        let eks = aws_sdk_eks::Client::new(&self.sdk_config());
        block_on(
            eks.update_pod_identity_association()
                .cluster_name(self.cluster())
                .association_id(id)
                .role_arn(role_arn)
                .send(),
        )
        .expect("update pod identity association");
    }

    /// Deletes an association, as someone outside Terraform would.
    pub fn delete_pod_identity(&self, id: &str) {
        let eks = aws_sdk_eks::Client::new(&self.sdk_config());
        block_on(
            eks.delete_pod_identity_association()
                .cluster_name(self.cluster())
                .association_id(id)
                .send(),
        )
        .expect("delete pod identity association");
    }

    /// Creates an association, as someone outside Terraform would; its ID.
    pub fn create_pod_identity(
        &self,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
    ) -> String {
        let eks = aws_sdk_eks::Client::new(&self.sdk_config());
        block_on(
            eks.create_pod_identity_association()
                .cluster_name(self.cluster())
                .namespace(namespace)
                .service_account(service_account)
                .role_arn(role_arn)
                .send(),
        )
        .expect("create pod identity association")
        .association()
        .and_then(|a| a.association_id())
        .unwrap_or_default()
        .to_string()
    }

    /// The launch templates (but the stand-in's own, which every group's Auto Scaling group
    /// names), by name: id, latest version, tags.
    pub fn launch_templates(&self) -> BTreeMap<String, (String, i64, BTreeMap<String, String>)> {
        let ec2 = aws_sdk_ec2::Client::new(&self.sdk_config());
        let out = block_on(ec2.describe_launch_templates().send()).expect("launch templates");
        out.launch_templates()
            .iter()
            .filter(|t| t.launch_template_name() != Some("eks-sandbox-nodes"))
            .map(|t| {
                let tags = t
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                (
                    t.launch_template_name().unwrap_or_default().to_string(),
                    (
                        t.launch_template_id().unwrap_or_default().to_string(),
                        t.latest_version_number().unwrap_or(0),
                        tags,
                    ),
                )
            })
            .collect()
    }

    /// What a launch template's version holds.
    fn launch_template_data(
        &self,
        id: &str,
        version: i64,
    ) -> Option<aws_sdk_ec2::types::ResponseLaunchTemplateData> {
        let ec2 = aws_sdk_ec2::Client::new(&self.sdk_config());
        let out = block_on(
            ec2.describe_launch_template_versions()
                .launch_template_id(id)
                .versions(version.to_string())
                .send(),
        )
        .expect("launch template versions");
        out.launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .cloned()
    }

    /// The user data (decoded) of a launch template's version.
    pub fn launch_template_user_data(&self, id: &str, version: i64) -> String {
        use base64::Engine;
        let data = self
            .launch_template_data(id, version)
            .and_then(|d| d.user_data().map(str::to_string))
            .unwrap_or_default();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64 user data"),
        )
        .expect("utf-8 user data")
    }

    /// The tags a launch template's version gives the instances it launches.
    pub fn launch_template_instance_tags(
        &self,
        id: &str,
        version: i64,
    ) -> BTreeMap<String, String> {
        let data = self.launch_template_data(id, version);
        data.iter()
            .flat_map(|d| d.tag_specifications())
            .filter(|s| s.resource_type() == Some(&aws_sdk_ec2::types::ResourceType::Instance))
            .flat_map(|s| s.tags())
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect()
    }

    /// The Auto Scaling group names, sorted.
    pub fn autoscaling_groups(&self) -> Vec<String> {
        let asg = aws_sdk_autoscaling::Client::new(&self.sdk_config());
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = block_on(
                asg.describe_auto_scaling_groups()
                    .set_next_token(token)
                    .send(),
            )
            .expect("describe auto scaling groups");
            names.extend(
                out.auto_scaling_groups()
                    .iter()
                    .filter_map(|g| g.auto_scaling_group_name().map(str::to_string)),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        names.sort();
        names
    }

    /// The tags of an Auto Scaling group.
    pub fn asg_tags(&self, group: &str) -> BTreeMap<String, String> {
        let asg = aws_sdk_autoscaling::Client::new(&self.sdk_config());
        let out = block_on(
            asg.describe_tags()
                .filters(
                    aws_sdk_autoscaling::types::Filter::builder()
                        .name("auto-scaling-group")
                        .values(group)
                        .build(),
                )
                .send(),
        )
        .expect("describe tags");
        out.tags()
            .iter()
            .filter(|t| t.resource_id() == Some(group))
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect()
    }

    /// The tags of the Auto Scaling group behind a node group (as DescribeNodegroup returned it).
    pub fn asg_tags_for(&self, ng: &aws_sdk_eks::types::Nodegroup) -> BTreeMap<String, String> {
        let group = ng
            .resources()
            .and_then(|r| r.auto_scaling_groups().first())
            .and_then(|g| g.name())
            .expect("the node group's Auto Scaling group");
        self.asg_tags(group)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
