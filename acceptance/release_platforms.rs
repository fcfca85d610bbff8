//! A release as published: `_SHA256SUMS` signed with the key given by environment, and the
//! binaries of every platform running where they can be run from this machine.
//!
//! The cross-built release takes the better part of an hour on a small machine, so its test is
//! ignored in `make test` and run by `make release-test`, which builds the release first and
//! points `RELEASE_ARTIFACTS` at it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::kube_sandbox::env;
use crate::release::run_bounded;
use crate::support::{
    hcl_list, repo_root, required_providers, terraform_client_cert_pem, Output, Workspace,
    PLUGIN_MAGIC_COOKIE,
};

const VERSION: &str = "0.1.0";
const NAME: &str = "terraform-provider-dataplatform";

/// Runs a command of the release or of its checks: the release packaging is the longest.
fn run(cmd: &mut Command) -> Output {
    run_bounded(cmd, Duration::from_secs(600))
}

/// A throwaway GPG home with one signing key; returns its fingerprint.
fn throwaway_key(home: &Path) -> String {
    std::fs::create_dir_all(home).expect("GNUPGHOME");
    run(Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--passphrase", "", "--quick-gen-key"])
        .args([
            "Release Test <release-test@example.com>",
            "rsa3072",
            "sign",
            "never",
        ]))
    .assert_success();
    let listed = run(Command::new("gpg").env("GNUPGHOME", home).args([
        "--batch",
        "--with-colons",
        "--list-secret-keys",
    ]));
    listed.assert_success();
    listed
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("fpr:")
                .map(|r| r.trim_matches(':').to_string())
        })
        .expect("a fingerprint")
}

/// `testbed/release.sh` packaging this run's provider build into `out` (or, with `from`, only
/// checksumming and signing the zips copied there from `from`).
fn package(out: &Path, from: Option<&Path>, gnupghome: &Path, key: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("testbed/release.sh"))
        .args(["--out", out.to_str().expect("UTF-8 path")]);
    match from {
        None => {
            cmd.arg("--binary").arg(crate::support::provider_binary());
        }
        Some(dir) => {
            std::fs::create_dir_all(out).expect("release dir");
            for entry in std::fs::read_dir(dir).expect("release dir").flatten() {
                if entry.path().extension().is_some_and(|e| e == "zip") {
                    std::fs::copy(entry.path(), out.join(entry.file_name())).expect("copy zip");
                }
            }
            cmd.arg("--no-build");
        }
    }
    cmd.arg(VERSION)
        .current_dir(repo_root())
        .env("GNUPGHOME", gnupghome)
        .env_remove("RELEASE_GPG_KEY");
    if let Some(k) = key {
        cmd.env("RELEASE_GPG_KEY", k);
    }
    run(&mut cmd)
}

#[test]
fn the_release_checksums_are_signed_with_the_key_given_by_environment() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let signer = tmp.path().join("signer");
    let fingerprint = throwaway_key(&signer);
    let out = tmp.path().join("artifacts");
    let built = package(&out, None, &signer, Some(&fingerprint));
    built.assert_success();
    let sums = out.join(format!("{NAME}_{VERSION}_SHA256SUMS"));
    let sig = out.join(format!("{NAME}_{VERSION}_SHA256SUMS.sig"));
    let key = out.join(format!("{NAME}_{VERSION}_signing-key.asc"));
    assert!(sig.is_file() && key.is_file(), "{}", built.text());
    assert!(
        std::fs::read_to_string(&key)
            .expect("public key")
            .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "the public part, armored, as the registry takes it"
    );
    assert!(
        !std::fs::read_to_string(&key)
            .expect("public key")
            .contains("PRIVATE"),
        "no secret key material beside the release"
    );

    // A user with nothing but the exported public key verifies the release.
    let verifier = tmp.path().join("verifier");
    std::fs::create_dir_all(&verifier).expect("GNUPGHOME");
    run(Command::new("gpg")
        .env("GNUPGHOME", &verifier)
        .args(["--batch", "--import"])
        .arg(&key))
    .assert_success();
    let verified = run(Command::new("gpg")
        .env("GNUPGHOME", &verifier)
        .args(["--batch", "--status-fd", "1", "--verify"])
        .arg(&sig)
        .arg(&sums));
    verified.assert_success();
    assert!(
        verified.stdout.contains(&format!("VALIDSIG {fingerprint}")),
        "{}",
        verified.text()
    );

    // One changed byte and the signature no longer holds.
    let mut text = std::fs::read(&sums).expect("SHA256SUMS");
    text[0] = if text[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&sums, text).expect("tamper");
    run(Command::new("gpg")
        .env("GNUPGHOME", &verifier)
        .args(["--batch", "--verify"])
        .arg(&sig)
        .arg(&sums))
    .assert_failure();

    // Without a key: written unsigned, and said so.
    let unsigned = tmp.path().join("unsigned");
    let built = package(&unsigned, Some(&out), &signer, None);
    built.assert_success();
    assert!(!unsigned
        .join(format!("{NAME}_{VERSION}_SHA256SUMS.sig"))
        .exists());
    assert!(built.stderr.contains("is not signed"), "{}", built.text());

    // A key that is not in the keyring fails the release instead of shipping it unsigned.
    let failed = package(
        &tmp.path().join("no-key"),
        Some(&out),
        &signer,
        Some("0000000000000000000000000000000000000000"),
    );
    failed.assert_failure();
}

/// The zip of `platform` in the release, unpacked into `dir`; returns the binary.
fn unpack(artifacts: &Path, platform: &str, dir: &Path) -> PathBuf {
    let zip = artifacts.join(format!("{NAME}_{VERSION}_{platform}.zip"));
    assert!(zip.is_file(), "{} is missing", zip.display());
    let target = dir.join(platform);
    run(Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        ])
        .arg(&zip)
        .arg(&target))
    .assert_success();
    let exe = if platform.starts_with("windows") {
        ".exe"
    } else {
        ""
    };
    let binary = target.join(format!("{NAME}_v{VERSION}{exe}"));
    let mut perms = std::fs::metadata(&binary).expect("binary").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&binary, perms).expect("chmod");
    binary
}

fn file_kind(binary: &Path) -> String {
    let out = run(Command::new("file").arg("-b").arg(binary));
    out.assert_success();
    out.stdout.trim().to_string()
}

/// A node group planned (and applied) with real Terraform 1.15.5 through `provider`.
fn plan_and_apply_with(provider: &Path) {
    let e = env();
    let mut ws = Workspace::with_binary("1.15.5", provider);
    e.aws.apply_env(&mut ws);
    let subnets = hcl_list(&e.aws.subnet_ids());
    ws.write(
        "main.tf",
        &format!(
            "{}\nprovider \"dataplatform\" {{\n  region = \"eu-central-1\"\n}}\n\n\
             resource \"dataplatform_nodegroup\" \"infra\" {{\n  cluster_name  = \"analytics\"\n  \
             name          = \"infra\"\n  purpose       = \"infra\"\n  node_role_arn = \"{}\"\n  \
             subnet_ids    = {subnets}\n  scaling_config {{\n    min_size = 1\n    max_size = 3\n  }}\n}}\n",
            required_providers(),
            e.aws.node_role_arn()
        ),
    );
    let out = ws.run_with_limit(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        Duration::from_secs(600),
    );
    assert!(out.success(), "{}", out.text());
    assert!(e.aws.nodegroups().contains(&"infra".to_string()));
}

/// The release under test (`make release-test` builds it and points `RELEASE_ARTIFACTS` at it).
fn artifacts() -> PathBuf {
    PathBuf::from(
        std::env::var("RELEASE_ARTIFACTS").expect("RELEASE_ARTIFACTS: the release to test"),
    )
}

#[test]
#[ignore = "needs a cross-built release: make release-test"]
fn the_static_linux_binaries_need_no_glibc_and_apply_with_terraform() {
    let artifacts = artifacts();
    let tmp = tempfile::tempdir().expect("temporary directory");

    // Static Linux binaries: no loader, no shared library, so no glibc.
    for (platform, arch) in [("linux_amd64", "x86-64"), ("linux_arm64", "ARM aarch64")] {
        let binary = unpack(&artifacts, platform, tmp.path());
        let kind = file_kind(&binary);
        assert!(
            kind.starts_with("ELF 64-bit") && kind.contains(arch),
            "{platform}: {kind}"
        );
        assert!(
            kind.contains("statically linked") || kind.contains("static-pie linked"),
            "{platform}: {kind}"
        );
        assert!(!kind.contains("interpreter"), "{platform}: {kind}");
        let dynamic = run(Command::new("objdump").arg("-p").arg(&binary));
        assert!(
            !dynamic.stdout.contains("NEEDED"),
            "{platform} needs shared libraries:\n{}",
            dynamic.stdout
        );
    }

    // linux_amd64 natively, linux_arm64 under qemu: handshake, plan and apply with Terraform.
    plan_and_apply_with(&unpack(&artifacts, "linux_amd64", tmp.path()));
    let arm = unpack(&artifacts, "linux_arm64", tmp.path());
    let wrapper = tmp.path().join("arm64-under-qemu").join(NAME);
    std::fs::create_dir_all(wrapper.parent().expect("dir")).expect("wrapper dir");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec qemu-aarch64-static {} \"$@\"\n",
            arm.display()
        ),
    )
    .expect("wrapper");
    let mut perms = std::fs::metadata(&wrapper).expect("wrapper").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&wrapper, perms).expect("chmod");
    plan_and_apply_with(&wrapper);
}

/// macOS: Mach-O executables of the right architecture. They are in the release when it was
/// built with a macOS SDK (SDKROOT) or their builds from a Mac were added (publishing guide).
#[test]
#[ignore = "needs a cross-built release: make release-test"]
fn the_macos_binaries_are_mach_o_of_their_architecture() {
    let artifacts = artifacts();
    let tmp = tempfile::tempdir().expect("temporary directory");
    for (platform, arch) in [("darwin_amd64", "x86_64"), ("darwin_arm64", "arm64")] {
        if !artifacts
            .join(format!("{NAME}_{VERSION}_{platform}.zip"))
            .exists()
        {
            eprintln!("{platform}: not in this release (built with a macOS SDK or on a Mac)");
            continue;
        }
        let kind = file_kind(&unpack(&artifacts, platform, tmp.path()));
        assert!(
            kind.starts_with("Mach-O 64-bit") && kind.contains(arch),
            "{platform}: {kind}"
        );
    }
}

/// Windows: under wine, the handshake line go-plugin expects there (mutual TLS over TCP on
/// loopback).
#[test]
#[ignore = "needs a cross-built release: make release-test"]
fn the_windows_binary_answers_the_plugin_handshake_under_wine() {
    let artifacts = artifacts();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let exe = unpack(&artifacts, "windows_amd64", tmp.path());
    let kind = file_kind(&exe);
    assert!(
        kind.starts_with("PE32+ executable") && kind.contains("x86-64"),
        "{kind}"
    );
    // Wine 8.0 has no bcryptprimitives.dll (Windows 10 and later do), whose ProcessPrng Rust's
    // standard library loads: the test bed's stand-in goes beside the binary, where Windows
    // looks first.
    let dll = repo_root().join(".testbed/wine/bcryptprimitives.dll");
    assert!(
        dll.is_file(),
        "{} is missing: testbed/release-tools.sh --emulators builds it",
        dll.display()
    );
    std::fs::copy(
        &dll,
        exe.parent().expect("unpacked").join("bcryptprimitives.dll"),
    )
    .expect("copy bcryptprimitives.dll");
    let line = windows_handshake(&exe, &tmp.path().join("wine"));
    let fields: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(fields.len(), 6, "{line:?}");
    assert_eq!(&fields[..3], &["1", "6", "tcp"], "{line:?}");
    assert!(fields[3].starts_with("127.0.0.1:"), "{line:?}");
    assert_eq!(fields[4], "grpc", "{line:?}");
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD_NO_PAD, fields[5])
        .expect("the server certificate is unpadded standard base64");
    assert_eq!(der.first(), Some(&0x30), "a DER certificate: {line:?}");
}

/// Starts the Windows binary under wine as Terraform starts a plugin (auto mTLS: a P-521
/// client certificate in `PLUGIN_CLIENT_CERT`, without which the provider refuses to serve on
/// Windows, where it would have to be plaintext TCP) and returns the first line it prints.
fn windows_handshake(exe: &Path, prefix: &Path) -> String {
    use std::io::{BufRead, BufReader};
    let stderr_path = prefix.with_extension("stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let wine = ["wine64", "wine"]
        .into_iter()
        .find(|w| {
            Command::new("which")
                .arg(w)
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("wine (make release-test installs it)");
    let mut child = Command::new(wine)
        .arg(exe)
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("TF_PLUGIN_MAGIC_COOKIE", PLUGIN_MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", terraform_client_cert_pem())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start wine");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    // The first start of wine creates its prefix: allow for it.
    let line = rx.recv_timeout(Duration::from_secs(180));
    // While it runs, the announced port takes connections from this (Linux) side.
    let listening = line
        .as_ref()
        .ok()
        .and_then(|l| l.split('|').nth(3))
        .map(|addr| {
            addr.parse::<std::net::SocketAddr>().is_ok_and(|a| {
                std::net::TcpStream::connect_timeout(&a, Duration::from_secs(10)).is_ok()
            })
        });
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("wineserver")
        .env("WINEPREFIX", prefix)
        .arg("-k")
        .status();
    match line {
        Ok(line) if !line.is_empty() => {
            assert_eq!(
                listening,
                Some(true),
                "nothing listens at the address of {line:?}"
            );
            line
        }
        _ => panic!(
            "no handshake line within 180 s; stderr:\n{}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        ),
    }
}
