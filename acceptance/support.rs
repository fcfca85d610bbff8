//! The harness: locates the Terraform binaries of the test bed, installs the freshly built
//! provider into a filesystem mirror (so `init` works offline) and a `dev_overrides` CLI
//! configuration, and runs Terraform commands with a bounded wait (or starts them, to watch
//! their output and signal them while they run).

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

pub const PROVIDER_NAMESPACE: &str = "dataplatform";
pub const PROVIDER_TYPE: &str = "dataplatform";
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/dataplatform/dataplatform";
pub const MIRROR_VERSION: &str = "0.1.0";

/// The Terraform versions every acceptance test runs against.
pub const TERRAFORM_VERSIONS: [&str; 2] = ["1.15.5", "1.0.3"];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The go-plugin magic cookie Terraform sets for its providers (`TF_PLUGIN_MAGIC_COOKIE`).
pub const PLUGIN_MAGIC_COOKIE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A client certificate of the kind Terraform puts in `PLUGIN_CLIENT_CERT` (auto mTLS): ECDSA
/// P-521, self-signed, a CA for `localhost`. Returns its PEM.
pub fn terraform_client_cert_pem() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).expect("client certificate").pem()
}

/// The environment variable naming another build of the provider to test: a cargo output
/// directory such as `target/x86_64-unknown-linux-musl/release` holding the provider and its
/// `examples/` (`make acceptance-static` runs the suite against the static release build).
pub const PROVIDER_DIR_VAR: &str = "ACCEPTANCE_PROVIDER_DIR";

/// The provider under test: this run's build, or the one in `ACCEPTANCE_PROVIDER_DIR`.
pub fn provider_binary() -> PathBuf {
    match std::env::var_os(PROVIDER_DIR_VAR).filter(|d| !d.is_empty()) {
        Some(dir) => {
            let p = PathBuf::from(dir).join("terraform-provider-dataplatform");
            assert!(
                p.exists(),
                "{PROVIDER_DIR_VAR} holds no provider: {} is missing",
                p.display()
            );
            p
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-dataplatform")),
    }
}

/// The test-only provider built from `acceptance/acctest_provider.rs` (`cargo build --examples`).
pub fn acctest_binary() -> PathBuf {
    let p = provider_binary()
        .parent()
        .map(|d| d.join("examples").join("acctest-provider"))
        .unwrap_or_default();
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --examples` first",
        p.display()
    );
    p
}

/// The schema-only stand-in for the AWS provider (`examples/aws-schema-provider`).
pub fn aws_schema_binary() -> PathBuf {
    let p = provider_binary()
        .parent()
        .map(|d| d.join("examples").join("aws-schema-provider"))
        .unwrap_or_default();
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --examples` first",
        p.display()
    );
    p
}

pub fn terraform_binary(version: &str) -> PathBuf {
    let p = repo_root()
        .join(".testbed/bin")
        .join(format!("terraform-{version}"));
    assert!(
        p.exists(),
        "{} is missing: run `make testbed` (or `make test`, which installs it) first",
        p.display()
    );
    p
}

/// The output of one Terraform command.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.success(),
            "command failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.success(),
            "command unexpectedly succeeded:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout and stderr together, with Terraform's box-drawing margins removed.
    pub fn text(&self) -> String {
        let joined = format!("{}\n{}", self.stdout, self.stderr);
        joined
            .lines()
            .map(|l| l.trim_start_matches(['│', '╷', '╵', ' ']).trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// [`Self::text`] on one line: Terraform wraps long messages at 78 columns.
    pub fn flat(&self) -> String {
        self.text().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A temporary Terraform working directory wired to the provider under test.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub version: String,
    terraform: PathBuf,
    cli_config: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl Workspace {
    /// A workspace using the shipped provider binary.
    pub fn new(version: &str) -> Workspace {
        Workspace::with_binary(version, &provider_binary())
    }

    /// A workspace using the test-only provider (the shipped provider plus test resources).
    pub fn acctest(version: &str) -> Workspace {
        Workspace::with_binary(version, &acctest_binary())
    }

    pub fn with_binary(version: &str, binary: &Path) -> Workspace {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path();
        let work = root.join("work");
        let mirror = root.join("mirror");
        let home = root.join("home");
        std::fs::create_dir_all(&work).expect("work dir");
        std::fs::create_dir_all(&home).expect("home dir");
        let target = mirror
            .join("registry.terraform.io")
            .join(PROVIDER_NAMESPACE)
            .join(PROVIDER_TYPE)
            .join(MIRROR_VERSION)
            .join("linux_amd64");
        std::fs::create_dir_all(&target).expect("mirror dir");
        let installed = target.join(format!(
            "terraform-provider-{PROVIDER_TYPE}_v{MIRROR_VERSION}"
        ));
        std::fs::copy(binary, &installed).expect("copy provider into mirror");
        let overrides = root.join("overrides");
        std::fs::create_dir_all(&overrides).expect("overrides dir");
        std::fs::copy(
            binary,
            overrides.join(format!("terraform-provider-{PROVIDER_TYPE}")),
        )
        .expect("copy provider");
        let cli_config = root.join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  \
                 filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{PROVIDER_ADDRESS}\"]\n  }}\n}}\n",
                overrides.display(),
                mirror.display()
            ),
        )
        .expect("write CLI config");
        Workspace {
            terraform: terraform_binary(version),
            version: version.to_string(),
            dir,
            cli_config,
            extra_env: Vec::new(),
        }
    }

    /// A workspace without dev_overrides: only the filesystem mirror, as an air-gapped user has.
    pub fn mirror_only(version: &str) -> Workspace {
        let ws = Workspace::new(version);
        let text = std::fs::read_to_string(&ws.cli_config).expect("read CLI config");
        let start = text.find("  dev_overrides").unwrap_or(0);
        let end = text[start..]
            .find("  }\n")
            .map(|i| start + i + 4)
            .unwrap_or(start);
        std::fs::write(
            &ws.cli_config,
            format!("{}{}", &text[..start], &text[end..]),
        )
        .expect("rewrite CLI config");
        ws
    }

    /// Adds a dev override for another provider (`namespace/type`), served by `binary`.
    pub fn override_provider(&self, address: &str, binary: &Path) {
        let type_name = address.rsplit('/').next().unwrap_or(address);
        let dir = self.dir.path().join("other-providers").join(type_name);
        std::fs::create_dir_all(&dir).expect("create folder");
        std::fs::copy(binary, dir.join(format!("terraform-provider-{type_name}")))
            .expect("copy provider");
        let text = std::fs::read_to_string(&self.cli_config).expect("read CLI config");
        let text = text.replacen(
            "  dev_overrides {\n",
            &format!(
                "  dev_overrides {{\n    \"{address}\" = \"{}\"\n",
                dir.display()
            ),
            1,
        );
        std::fs::write(&self.cli_config, text).expect("rewrite CLI config");
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.work_dir().join(name), content).expect("write configuration");
    }

    pub fn env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_string(), value.to_string()));
    }

    /// Starts `terraform ARGS` in the working directory without waiting for it, in its own
    /// process group (with the provider processes it starts).
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut cmd = Command::new(&self.terraform);
        cmd.args(args)
            .current_dir(self.work_dir())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        // Its own process group, so a timeout also stops the provider processes it started.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let started = Instant::now();
        let mut child = cmd.spawn().expect("start terraform");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), stdout.clone()),
            collect(child.stderr.take().expect("stderr"), stderr.clone()),
        ];
        Running {
            child: Some(child),
            args: args.iter().map(|a| a.to_string()).collect(),
            started,
            stdout,
            stderr,
            readers,
        }
    }

    /// Runs `terraform ARGS` in the working directory, killing it after `limit`.
    pub fn run_with_limit(&self, args: &[&str], limit: Duration) -> Output {
        self.spawn(args).wait_with_limit(limit)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_limit(args, Duration::from_secs(180))
    }

    pub fn init(&self) -> Output {
        self.run(&["init", "-input=false", "-no-color"])
    }
}

/// Appends what `from` produces to `into` as it arrives.
fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut pending = Vec::new();
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    pending.extend_from_slice(&buf[..n]);
                    // Only whole UTF-8 sequences; a split character waits for its rest.
                    let valid = match std::str::from_utf8(&pending) {
                        Ok(_) => pending.len(),
                        Err(e) => e.valid_up_to(),
                    };
                    let text = String::from_utf8_lossy(&pending[..valid]).into_owned();
                    into.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_str(&text);
                    pending.drain(..valid);
                }
            }
        }
        if !pending.is_empty() {
            into.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&String::from_utf8_lossy(&pending));
        }
    })
}

/// A Terraform command started by [`Workspace::spawn`]; killed (with its process group) when
/// dropped unfinished.
pub struct Running {
    child: Option<Child>,
    args: Vec<String>,
    started: Instant,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// When the command was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// stdout and stderr so far.
    pub fn output_so_far(&self) -> String {
        let out = self
            .stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let err = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        format!("{out}\n{err}")
    }

    /// True once the command has exited.
    pub fn finished(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Waits until `ready` holds for the output so far, the command exits or `limit` passes;
    /// panics (with the output) unless `ready` held.
    #[track_caller]
    pub fn wait_for_output(&mut self, limit: Duration, what: &str, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let text = self.output_so_far();
            if ready(&text) {
                return;
            }
            if self.finished() {
                let text = self.output_so_far();
                if ready(&text) {
                    return;
                }
                panic!("terraform {:?} exited before {what}:\n{text}", self.args);
            }
            if start.elapsed() > limit {
                panic!(
                    "no {what} within {limit:?} from terraform {:?}:\n{text}",
                    self.args
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (`INT`, `TERM`, ...) to the command's process group, as a terminal does
    /// on Ctrl-C.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), "--", &format!("-{}", self.pid())])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} -{}", self.pid());
    }

    /// The provider processes the command started (in its process group, running the
    /// provider binary).
    pub fn provider_pids(&self) -> Vec<u32> {
        let group = self.pid();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                // `pid (comm) state ppid pgrp ...`: the fields after the command's name.
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let pgrp = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                    .and_then(|g| g.parse::<u32>().ok());
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
                pgrp == Some(group)
                    && exe
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("terraform-provider-dataplatform"))
            })
            .collect()
    }

    /// SIGKILLs the provider processes the command started (as the OOM killer or a crash
    /// would end them); returns how many there were.
    pub fn kill_provider(&self) -> usize {
        let pids = self.provider_pids();
        for pid in &pids {
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -KILL {pid}");
        }
        pids.len()
    }

    /// Waits for the command to exit, killing it (and its process group) after `limit` from
    /// its start.
    pub fn wait_with_limit(mut self, limit: Duration) -> Output {
        let mut child = self.child.take().expect("a running command");
        let code = loop {
            match child.try_wait().expect("wait for terraform") {
                Some(status) => break status.code(),
                None if self.started.elapsed() > limit => {
                    let _ = Command::new("kill")
                        .args(["-KILL", &format!("-{}", child.id())])
                        .status();
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "terraform {:?} did not finish within {limit:?}:\n{}",
                        self.args,
                        self.output_so_far()
                    );
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let elapsed = self.started.elapsed();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Output {
            code,
            stdout: std::mem::take(&mut *self.stdout.lock().unwrap_or_else(|p| p.into_inner())),
            stderr: std::mem::take(&mut *self.stderr.lock().unwrap_or_else(|p| p.into_inner())),
            elapsed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a future (an AWS SDK call of the test's own) to completion.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// An HCL list of strings.
pub fn hcl_list(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The `terraform { required_providers }` block every configuration starts with.
pub fn required_providers() -> String {
    format!(
        "terraform {{\n  required_providers {{\n    dataplatform = {{\n      source = \"{PROVIDER_ADDRESS}\"\n    }}\n  }}\n}}\n"
    )
}

/// `required_providers` and a provider block naming only the region: the configuration of a
/// workspace that imports or queries what exists.
pub fn provider_only() -> String {
    format!(
        "{}\nprovider \"dataplatform\" {{\n  region = \"eu-central-1\"\n}}\n",
        required_providers()
    )
}

/// The `list_resource_found` messages of `terraform query -json`.
pub fn query_found(out: &Output) -> Vec<Json> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter(|m| m["type"] == "list_resource_found")
        .map(|m| m["list_resource_found"].clone())
        .collect()
}

/// A plan that imports `n` objects and changes nothing, its apply, then an empty plan.
#[track_caller]
pub fn assert_imports_clean(ws: &Workspace, n: usize) {
    let p = plan(ws);
    assert!(
        p.text().contains(&format!(
            "{n} to import, 0 to add, 0 to change, 0 to destroy"
        )),
        "{}",
        p.text()
    );
    let out = apply(ws);
    assert!(
        out.text()
            .contains(&format!("{n} imported, 0 added, 0 changed, 0 destroyed")),
        "{}",
        out.text()
    );
}

/// Forgets each resource (`terraform state rm`) and imports it again by its ID.
pub fn reimport(ws: &Workspace, resources: &[(&str, &str)]) {
    for (address, id) in resources {
        ws.run(&["state", "rm", address]).assert_success();
        ws.run(&["import", "-no-color", "-input=false", address, id])
            .assert_success();
    }
}

/// After [`reimport`]: an apply changes nothing (Terraform 1.0 drops root outputs on
/// `state rm`, and the apply restores them) and the next plan is empty.
pub fn assert_reimported_clean(ws: &Workspace, v: &str) {
    let out = apply(ws);
    out.assert_success();
    assert!(
        out.text().contains("0 added, 0 changed, 0 destroyed"),
        "terraform {v}: import left a difference:\n{}",
        out.text()
    );
    assert_no_changes(ws);
}

/// The 1-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in configuration"))
}

/// `terraform apply -auto-approve`.
pub fn apply(ws: &Workspace) -> Output {
    ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
}

/// `terraform plan`.
pub fn plan(ws: &Workspace) -> Output {
    ws.run(&["plan", "-no-color", "-input=false"])
}

/// A plan with `-detailed-exitcode` must show no changes.
#[track_caller]
pub fn assert_no_changes(ws: &Workspace) {
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(
        out.code,
        Some(0),
        "terraform {}: expected an empty plan:\n{}",
        ws.version,
        out.text()
    );
}

/// The resources of the state (`terraform show -json`), root module and child modules alike.
pub fn state_resources(ws: &Workspace) -> Vec<Json> {
    fn walk(module: &Json, out: &mut Vec<Json>) {
        if let Some(rs) = module["resources"].as_array() {
            out.extend(rs.iter().cloned());
        }
        if let Some(children) = module["child_modules"].as_array() {
            for c in children {
                walk(c, out);
            }
        }
    }
    let out = ws.run(&["show", "-json", "-no-color"]);
    out.assert_success();
    let state: Json = serde_json::from_str(&out.stdout).expect("show -json");
    let mut resources = Vec::new();
    walk(&state["values"]["root_module"], &mut resources);
    resources
}

/// Polls `cond` every 100 ms until it holds; panics after `limit`.
#[track_caller]
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "no {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Like `wait_until`, for a condition reached while `run` goes on: fails at once, with its
/// output, if the command ends first.
#[track_caller]
pub fn wait_while_running(
    run: &mut Running,
    limit: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
) {
    wait_until(limit, what, || {
        assert!(
            !run.finished(),
            "the command ended before {what}:\n{}",
            run.output_so_far()
        );
        cond()
    });
}

/// No crash, no internal error: what a provider failure must never look like.
#[track_caller]
pub fn assert_no_crash(out: &Output) {
    let text = out.text();
    for bad in [
        "panic",
        "internal error",
        "Plugin did not respond",
        "plugin exited",
        "crashed",
    ] {
        assert!(!text.contains(bad), "{bad:?} in:\n{text}");
    }
}

/// Sends SIGINT to a running Terraform command as Ctrl-C does, and checks what every
/// interruption must show: Terraform exits within 5 s, with an error but no crash, having
/// said "Interrupt received".
#[track_caller]
pub fn interrupt(run: Running) -> Output {
    let interrupted = Instant::now();
    run.signal("INT");
    let out = run.wait_with_limit(Duration::from_secs(180));
    let to_exit = interrupted.elapsed();
    eprintln!("SIGINT -> terraform exit: {to_exit:?}");
    eprintln!(
        "the interrupted command said:\n{}",
        out.text()
            .lines()
            .filter(|l| l.contains("nterrupt")
                || l.contains("ancel")
                || l.contains("Error")
                || l.contains("Stopping"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out.assert_failure();
    assert_no_crash(&out);
    let text = out.text();
    assert!(text.contains("Interrupt received"), "{text}");
    assert!(
        to_exit < Duration::from_secs(5),
        "terraform exited {to_exit:?} after SIGINT: the provider did not stop at StopProvider"
    );
    out
}
