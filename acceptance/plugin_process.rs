//! The plugin process as Terraform and people start it: by hand, with the handshake
//! environment, and in debug mode with Terraform attaching through `TF_REATTACH_PROVIDERS`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;

use crate::support::{provider_binary, required_providers, Workspace, TERRAFORM_VERSIONS};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Kills the child when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn first_line(child: &mut Child, limit: Duration) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    lines.push(line.clone());
                    let _ = tx.send(line);
                }
            }
        }
    });
    rx.recv_timeout(limit).expect("no line on stdout in time")
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
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let client = params.self_signed(&key).expect("client certificate");
    let mut child = Command::new(provider_binary())
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", client.pem())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start provider");
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

#[test]
fn debug_mode_serves_terraform_through_reattach() {
    let mut child = Command::new(provider_binary())
        .arg("--debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start provider in debug mode");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let reattach = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("TF_REATTACH_PROVIDERS printed");
        if let Some(rest) = line.trim().strip_prefix("export TF_REATTACH_PROVIDERS='") {
            break rest.trim_end_matches('\'').to_string();
        }
    };
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
    }
    drop(guard);
}
