//! The plugin process as Terraform and people start it: by hand, with the handshake
//! environment, and in debug mode with Terraform attaching through `TF_REATTACH_PROVIDERS`.
//! Plaintext is served only on a unix socket in a private directory, never on TCP.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::support::{
    provider_binary, required_providers, terraform_client_cert_pem, Workspace,
    PLUGIN_MAGIC_COOKIE as COOKIE, TERRAFORM_VERSIONS,
};

/// Kills the child when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn first_line(child: &mut Child, limit: Duration) -> String {
    stdout_lines(child)
        .recv_timeout(limit)
        .expect("no line on stdout in time")
}

/// The provider started as Terraform starts it with auto mTLS: a P-521 client certificate
/// (a CA for `localhost`) in `PLUGIN_CLIENT_CERT`, and `protocols` offered.
fn spawn_with_client_cert(protocols: &str, extra_env: &[(&str, &str)]) -> Child {
    Command::new(provider_binary())
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", protocols)
        .envs(extra_env.iter().copied())
        .env("PLUGIN_CLIENT_CERT", terraform_client_cert_pem())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start provider")
}

#[test]
fn started_by_hand_it_explains_and_exits_1() {
    let out = Command::new(provider_binary())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .stdin(Stdio::null())
        .output()
        .expect("run provider");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plugin for Terraform"), "{err}");
    assert!(err.contains("--debug"), "{err}");
}

#[test]
fn refuses_clients_without_protocol_6() {
    let out = Command::new(provider_binary())
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .stdin(Stdio::null())
        .output()
        .expect("run provider");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("speaks only protocol 6"));
}

#[test]
fn handshake_line_announces_a_localhost_certificate_without_padding() {
    let mut child = spawn_with_client_cert(
        "5,6",
        &[("PLUGIN_MIN_PORT", "10000"), ("PLUGIN_MAX_PORT", "25000")],
    );
    let line = first_line(&mut child, Duration::from_secs(10));
    let _guard = Running(child);
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(&fields[..3], &["1", "6", "tcp"]);
    assert!(fields[3].starts_with("127.0.0.1:"), "{line}");
    assert_eq!(fields[4], "grpc");
    assert!(!fields[5].ends_with('='), "padding in {line}");
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fields[5])
        .expect("certificate is unpadded standard base64");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("a DER certificate");
    let san = cert
        .subject_alternative_name()
        .expect("SAN extension")
        .expect("SAN present");
    let names = format!("{:?}", san.value.general_names);
    assert!(names.contains("localhost"), "{names}");
    assert!(cert.validity().is_valid(), "valid now");
}

/// Lines the child prints on stdout, as they come.
fn stdout_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// Waits up to `limit` for the child to exit; its exit code.
fn exit_code_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait for the provider") {
            Some(status) => return status.code(),
            None if start.elapsed() > limit => panic!("the provider did not exit within {limit:?}"),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .collect()
}

/// The socket is `BASE/tf-dataplatform-*/plugin.sock`, in a directory only its owner can open.
fn assert_private_socket(socket: &Path, base: &Path) {
    let dir = socket.parent().expect("socket directory");
    assert_eq!(dir.parent(), Some(base), "{}", socket.display());
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(name.starts_with("tf-dataplatform-"), "{}", socket.display());
    assert_eq!(mode(dir), 0o700, "{} is owner-only", dir.display());
    let meta = std::fs::symlink_metadata(socket).expect("the socket exists");
    assert!(
        meta.file_type().is_socket(),
        "{} is a socket",
        socket.display()
    );
}

/// Inodes of the TCP sockets `pid` listens on (from /proc).
fn tcp_listeners_of(pid: u32) -> Vec<String> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the provider's descriptors");
    let inodes: Vec<String> = fds
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut listening = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // st 0A is LISTEN; column 9 is the inode.
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                listening.push(format!("{table} {}", cols[1]));
            }
        }
    }
    listening
}

#[test]
fn without_mutual_tls_the_plugin_serves_a_private_unix_socket_and_no_tcp_port() {
    let tmp = tempfile::tempdir().expect("TMPDIR");
    let mut child = Command::new(provider_binary())
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env_remove("PLUGIN_CLIENT_CERT")
        .env_remove("PLUGIN_UNIX_SOCKET_DIR")
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start provider");
    let line = first_line(&mut child, Duration::from_secs(10));
    let mut guard = Running(child);
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(&fields[..3], &["1", "6", "unix"], "{line}");
    assert_eq!(fields[4], "grpc");
    assert_eq!(fields[5], "", "plaintext: no certificate");
    let socket = PathBuf::from(fields[3]);
    assert_private_socket(&socket, tmp.path());
    assert_eq!(
        tcp_listeners_of(guard.0.id()),
        Vec::<String>::new(),
        "no TCP port without mutual TLS"
    );

    // SIGTERM: an orderly exit that removes the socket and its directory.
    signal(&guard.0, "TERM");
    let code = exit_code_within(&mut guard.0, Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert_eq!(entries(tmp.path()), Vec::<PathBuf>::new());
}

#[test]
fn with_mutual_tls_the_plugin_listens_on_loopback_only() {
    let mut child = spawn_with_client_cert("6", &[]);
    let line = first_line(&mut child, Duration::from_secs(10));
    let guard = Running(child);
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    let listening = tcp_listeners_of(guard.0.id());
    assert_eq!(listening.len(), 1, "one listener: {listening:?}");
    // 0100007F is 127.0.0.1 in /proc's byte order.
    assert!(listening[0].starts_with("tcp 0100007F:"), "{listening:?}");
    assert_eq!(fields[2], "tcp", "{line}");
    assert!(!fields[5].is_empty(), "TCP only with a certificate: {line}");
}

#[test]
fn terraform_without_plugin_tls_drives_the_provider_over_the_socket() {
    for v in TERRAFORM_VERSIONS {
        let tmp = tempfile::tempdir().expect("TMPDIR");
        let mut ws = Workspace::new(v);
        ws.env("TF_DISABLE_PLUGIN_TLS", "1");
        ws.env("TMPDIR", &tmp.path().display().to_string());
        let log = ws.dir.path().join("terraform.log");
        ws.env("TF_LOG", "TRACE");
        ws.env("TF_LOG_PATH", &log.display().to_string());
        ws.write(
            "main.tf",
            &format!(
                "{}\nprovider \"dataplatform\" {{\n  region = \"eu-west-1\"\n}}\n",
                required_providers()
            ),
        );
        ws.run_with_limit(&["validate", "-no-color"], Duration::from_secs(60))
            .assert_success();
        let text = std::fs::read_to_string(&log).expect("terraform log");
        assert!(
            text.contains("network=unix"),
            "terraform {v}: the handshake did not name a unix socket"
        );
        assert!(
            !text.contains("killing plugin") && !text.contains("plugin failed to exit gracefully"),
            "terraform {v}: the provider did not exit on Shutdown"
        );
        let left: Vec<PathBuf> = entries(tmp.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("tf-dataplatform-"))
            .collect();
        assert_eq!(
            left,
            Vec::<PathBuf>::new(),
            "terraform {v}: socket directories left"
        );
    }
}

#[test]
fn debug_mode_serves_terraform_through_reattach_on_a_unix_socket() {
    let tmp = tempfile::tempdir().expect("TMPDIR");
    let mut child = Command::new(provider_binary())
        .arg("--debug")
        .env("TMPDIR", tmp.path())
        .env_remove("PLUGIN_UNIX_SOCKET_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start provider in debug mode");
    let rx = stdout_lines(&mut child);
    let mut guard = Running(child);
    let reattach = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("TF_REATTACH_PROVIDERS printed");
        if let Some(rest) = line.trim().strip_prefix("export TF_REATTACH_PROVIDERS='") {
            break rest.trim_end_matches('\'').to_string();
        }
    };
    let config: serde_json::Value = serde_json::from_str(&reattach).expect("reattach JSON");
    let p = &config[crate::support::PROVIDER_ADDRESS];
    assert_eq!(p["Addr"]["Network"], "unix", "{reattach}");
    assert_eq!(p["Test"], true, "{reattach}");
    assert_eq!(p["Pid"], guard.0.id(), "{reattach}");
    let socket = PathBuf::from(p["Addr"]["String"].as_str().expect("socket path"));
    assert_private_socket(&socket, tmp.path());
    assert_eq!(
        tcp_listeners_of(guard.0.id()),
        Vec::<String>::new(),
        "no TCP port in debug mode"
    );

    for v in TERRAFORM_VERSIONS {
        let mut ws = Workspace::new(v);
        ws.env("TF_REATTACH_PROVIDERS", &reattach);
        ws.write(
            "main.tf",
            &format!(
                "{}\nprovider \"dataplatform\" {{\n  region = \"eu-west-1\"\n}}\n",
                required_providers()
            ),
        );
        // Twice: the provider outlives each Terraform command in debug mode.
        ws.run(&["validate", "-no-color"]).assert_success();
        ws.run(&["validate", "-no-color"]).assert_success();
        assert!(
            socket.exists(),
            "terraform {v}: the socket outlives the command"
        );
    }

    // Ctrl-C stops it and removes the socket and its directory.
    signal(&guard.0, "INT");
    let code = exit_code_within(&mut guard.0, Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert_eq!(entries(tmp.path()), Vec::<PathBuf>::new());
}
