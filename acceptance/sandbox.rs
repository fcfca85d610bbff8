//! A private AWS sandbox per test: the project's moto launcher on a free loopback port, seeded
//! with the `analytics` cluster, its subnets and node role. Stopped when dropped.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value as Json;

use crate::kube_sandbox::KubeSandbox;
use crate::support::{repo_root, Workspace};

pub struct Sandbox {
    child: Child,
    pub url: String,
    pub facts: Json,
    _dir: tempfile::TempDir,
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
        let mut child = Command::new(python())
            .arg(repo_root().join("testbed/aws_sandbox/moto_sandbox.py"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--lifecycle-describes",
                "1",
                "--seed",
                "7",
            ])
            .arg("--log")
            .arg(dir.path().join("moto.log"))
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
        let url = loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("SANDBOX_READY ") {
                        break u.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the moto sandbox did not become ready within 30 s");
                }
            }
        };
        let facts_file = dir.path().join("sandbox.json");
        let seeded = Command::new(python())
            .arg(repo_root().join("testbed/aws_sandbox/seed.py"))
            .args(["--endpoint", &url, "--json-out"])
            .arg(&facts_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .expect("seed sandbox");
        if !seeded.status.success() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "seeding the sandbox failed: {}",
                String::from_utf8_lossy(&seeded.stderr)
            );
        }
        let facts: Json = serde_json::from_slice(&std::fs::read(&facts_file).expect("facts"))
            .expect("facts JSON");
        Sandbox {
            child,
            url,
            facts,
            _dir: dir,
        }
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
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
