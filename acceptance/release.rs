//! `make release`: the artifacts of `testbed/release.sh`, and real Terraform installing the
//! release from its filesystem mirror, offline, with and without a committed lock file.
//!
//! Terraform records only an `h1:` checksum (of the unpacked package, for the platform that ran
//! `init`) when it installs from a filesystem mirror: the mirror is not signed, so nothing vouches
//! for checksums of other packages. The release therefore ships a lock file entry with the `zh:`
//! checksums of SHA256SUMS and the `h1:` checksums of every zip; committed as
//! `.terraform.lock.hcl`, `init` accepts only the packages of that release.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::support::{repo_root, terraform_binary, Output, PROVIDER_ADDRESS, TERRAFORM_VERSIONS};

const VERSION: &str = "0.1.0";
const NAME: &str = "terraform-provider-dataplatform";

/// A release-profile build from scratch takes minutes on a small machine.
const RELEASE_LIMIT: Duration = Duration::from_secs(30 * 60);
const TERRAFORM_LIMIT: Duration = Duration::from_secs(180);

/// Rewrites a provider zip with one byte appended to every member.
const TAMPER: &str = r#"
import sys, zipfile
src, dst = sys.argv[1:3]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as o:
    for i in z.infolist():
        o.writestr(i, z.read(i) + b"\0")
"#;

/// Terraform's name for this machine's platform.
fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// Runs `cmd` in its own process group, killing the group after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let code = loop {
        match child.try_wait().expect("wait") {
            Some(status) => break status.code(),
            None if start.elapsed() > limit => {
                let _ = Command::new("kill")
                    .args(["-KILL", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} did not finish within {limit:?}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    Output {
        code,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    hex::encode(Sha256::digest(&bytes))
}

/// One provider entry of a dependency lock file.
#[derive(Debug, PartialEq)]
struct LockEntry {
    version: String,
    hashes: Vec<String>,
}

fn parse_lock(text: &str) -> LockEntry {
    let header = format!("provider \"{PROVIDER_ADDRESS}\" {{");
    let start = text
        .find(&header)
        .unwrap_or_else(|| panic!("no {PROVIDER_ADDRESS} entry in the lock file:\n{text}"));
    let block = &text[start..];
    let block = &block[..block.find("\n}").expect("end of the provider block")];
    let mut version = String::new();
    let mut hashes = Vec::new();
    for line in block.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("version") {
            version = v
                .trim_start_matches([' ', '='])
                .trim_matches('"')
                .to_string();
        } else if line.starts_with("\"h1:") || line.starts_with("\"zh:") {
            hashes.push(line.trim_end_matches(',').trim_matches('"').to_string());
        }
    }
    hashes.sort();
    LockEntry { version, hashes }
}

/// A Terraform working directory whose CLI configuration has only the given filesystem mirror.
struct Terraform {
    binary: PathBuf,
    root: PathBuf,
}

impl Terraform {
    fn new(version: &str, root: PathBuf, mirror: &Path) -> Terraform {
        std::fs::create_dir_all(root.join("work")).expect("work dir");
        std::fs::create_dir_all(root.join("home")).expect("home dir");
        std::fs::write(
            root.join("terraform.rc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    \
                 include = [\"{PROVIDER_ADDRESS}\"]\n  }}\n}}\n",
                mirror.display()
            ),
        )
        .expect("CLI configuration");
        std::fs::write(
            root.join("work/main.tf"),
            format!(
                r#"terraform {{
  required_providers {{
    dataplatform = {{
      source  = "dataplatform/dataplatform"
      version = "= {VERSION}"
    }}
  }}
}}

provider "dataplatform" {{
  region = "eu-central-1"
}}

resource "dataplatform_nodegroup" "infra" {{
  cluster_name   = "analytics"
  name           = "infra"
  purpose        = "infra"
  node_role_arn  = "arn:aws:iam::123456789012:role/eks-nodes"
  subnet_ids     = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  instance_types = ["m6i.2xlarge"]

  scaling_config {{
    min_size = 1
    max_size = 7
  }}
}}
"#
            ),
        )
        .expect("main.tf");
        Terraform {
            binary: terraform_binary(version),
            root,
        }
    }

    fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    fn lock_path(&self) -> PathBuf {
        self.work().join(".terraform.lock.hcl")
    }

    fn lock_text(&self) -> String {
        std::fs::read_to_string(self.lock_path()).expect("read .terraform.lock.hcl")
    }

    fn lock(&self) -> LockEntry {
        parse_lock(&self.lock_text())
    }

    /// The provider binary `init` unpacked from the zip.
    fn installed(&self) -> PathBuf {
        self.work()
            .join(".terraform/providers")
            .join(PROVIDER_ADDRESS)
            .join(VERSION)
            .join(host_platform())
            .join(format!("{NAME}_v{VERSION}"))
    }

    /// `terraform ARGS` with a clean environment: no plugin cache, no dev_overrides, no network
    /// checks; HOME is private to the test.
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args)
            .current_dir(self.work())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.root.join("home"))
            .env("TF_CLI_CONFIG_FILE", self.root.join("terraform.rc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0");
        run_bounded(&mut cmd, TERRAFORM_LIMIT)
    }

    fn init(&self) -> Output {
        self.run(&["init", "-input=false", "-no-color"])
    }
}

#[test]
fn release_installs_from_a_filesystem_mirror_with_a_lock_file() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let out = tmp.path().join("artifacts");

    // The release, with a fresh output directory (target/release-artifacts is left alone).
    eprintln!("release: packaging {VERSION}");
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("testbed/release.sh"))
        // The provider cargo built for this test run: packaging and installing are what is
        // tested here, not a second, release-profile compile.
        .args(["--out", out.to_str().expect("UTF-8 path"), "--binary"])
        .arg(crate::support::provider_binary())
        .arg(VERSION)
        .current_dir(repo_root())
        // The script's own bound on the build stays below ours.
        .env(
            "RELEASE_BUILD_TIMEOUT",
            (RELEASE_LIMIT.as_secs() - 60).to_string(),
        );
    let built = run_bounded(&mut cmd, RELEASE_LIMIT);
    built.assert_success();
    eprintln!("release: built in {:.0?}", built.elapsed);

    // The registry layout.
    let platform = host_platform();
    let zip_name = format!("{NAME}_{VERSION}_{platform}.zip");
    let manifest_name = format!("{NAME}_{VERSION}_manifest.json");
    let sums_name = format!("{NAME}_{VERSION}_SHA256SUMS");
    let lock_name = format!("{NAME}_{VERSION}_lock.hcl");
    let mirror_zip = out.join("mirror").join(PROVIDER_ADDRESS).join(format!(
        "terraform-provider-dataplatform_{VERSION}_{platform}.zip"
    ));
    for f in [
        out.join(&zip_name),
        out.join(&manifest_name),
        out.join("terraform-registry-manifest.json"),
        out.join(&sums_name),
        out.join(&lock_name),
        mirror_zip.clone(),
    ] {
        assert!(f.is_file(), "{} is missing:\n{}", f.display(), built.text());
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(&manifest_name)).expect("read the manifest"),
    )
    .expect("the manifest is JSON");
    assert_eq!(
        manifest,
        serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
    );
    assert_eq!(
        std::fs::read(out.join(&manifest_name)).unwrap(),
        std::fs::read(out.join("terraform-registry-manifest.json")).unwrap()
    );
    let sums: BTreeMap<String, String> = std::fs::read_to_string(out.join(&sums_name))
        .expect("read SHA256SUMS")
        .lines()
        .map(|l| {
            let (hash, name) = l.split_once("  ").expect("sha256sum format: HASH  NAME");
            (name.to_string(), hash.to_string())
        })
        .collect();
    assert_eq!(
        sums.keys().cloned().collect::<Vec<_>>(),
        vec![zip_name.clone(), manifest_name.clone()],
        "SHA256SUMS lists the zips and the manifest"
    );
    for (name, hash) in &sums {
        assert_eq!(
            &sha256_hex(&out.join(name)),
            hash,
            "SHA256SUMS entry of {name}"
        );
    }
    assert_eq!(
        std::fs::read(&mirror_zip).unwrap(),
        std::fs::read(out.join(&zip_name)).unwrap(),
        "the mirror holds the released zip"
    );
    let zh = format!("zh:{}", sums[&zip_name]);
    let release_lock_text = std::fs::read_to_string(out.join(&lock_name)).expect("read lock");
    let release_lock = parse_lock(&release_lock_text);
    assert_eq!(release_lock.version, VERSION);
    assert_eq!(release_lock.hashes.len(), 2, "{release_lock:?}");
    assert!(release_lock.hashes.contains(&zh), "{release_lock:?}");
    let h1 = release_lock
        .hashes
        .iter()
        .find(|h| h.starts_with("h1:"))
        .expect("an h1: hash")
        .clone();

    // Different bytes under the released name: the binary with one byte more.
    let bad_mirror = tmp.path().join("tampered-mirror");
    let bad_zip = bad_mirror.join(PROVIDER_ADDRESS).join(format!(
        "terraform-provider-dataplatform_{VERSION}_{platform}.zip"
    ));
    std::fs::create_dir_all(bad_zip.parent().unwrap()).unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", TAMPER]);
    cmd.arg(&mirror_zip).arg(&bad_zip);
    run_bounded(&mut cmd, Duration::from_secs(120)).assert_success();
    assert_ne!(sha256_hex(&bad_zip), sums[&zip_name]);

    let mirror = out.join("mirror");
    for v in TERRAFORM_VERSIONS {
        let case = tmp.path().join(v);

        // No lock file yet: installed from the mirror, Terraform records the h1: checksum it
        // computes from the package (the one in the release's lock entry), and no zh:.
        let tf = Terraform::new(v, case.join("first-use"), &mirror);
        let init = tf.init();
        init.assert_success();
        assert_eq!(
            tf.lock(),
            LockEntry {
                version: VERSION.into(),
                hashes: vec![h1.clone()]
            },
            "terraform {v}:\n{}",
            tf.lock_text()
        );
        let installed = tf.installed();
        assert!(
            installed.is_file(),
            "terraform {v}: {} not installed:\n{}",
            installed.display(),
            init.text()
        );
        let mut cmd = Command::new(&installed);
        cmd.arg("--version");
        let reported = run_bounded(&mut cmd, Duration::from_secs(30));
        reported.assert_success();
        assert!(
            reported.text().contains(&format!("{NAME} {VERSION}")),
            "{}",
            reported.text()
        );

        // The release's lock entry committed as .terraform.lock.hcl.
        let tf = Terraform::new(v, case.join("locked"), &mirror);
        std::fs::write(tf.lock_path(), &release_lock_text).unwrap();
        let init = tf.init();
        init.assert_success();
        assert!(
            init.flat().contains(
                "Reusing previous version of dataplatform/dataplatform from the dependency lock file"
            ),
            "terraform {v}:\n{}",
            init.text()
        );
        let lock = tf.lock();
        assert_eq!(lock.version, VERSION, "terraform {v}");
        assert!(
            lock.hashes.contains(&zh) && lock.hashes.contains(&h1),
            "terraform {v}: {lock:?}"
        );
        let locked = tf.lock_text();
        tf.run(&["validate", "-no-color"]).assert_success();
        // A fresh checkout (no .terraform): the lock file decides, and stays as it was.
        std::fs::remove_dir_all(tf.work().join(".terraform")).unwrap();
        let init = tf.init();
        init.assert_success();
        assert!(tf.installed().is_file(), "terraform {v}");
        assert_eq!(tf.lock_text(), locked, "terraform {v}: lock file rewritten");
        tf.run(&["validate", "-no-color"]).assert_success();

        // Only SHA256SUMS' zh: checksum: init verifies the zip against it and adds the h1:.
        let tf = Terraform::new(v, case.join("sha256sums"), &mirror);
        std::fs::write(
            tf.lock_path(),
            format!(
                "provider \"{PROVIDER_ADDRESS}\" {{\n  version = \"{VERSION}\"\n  hashes = [\n    \"{zh}\",\n  ]\n}}\n"
            ),
        )
        .unwrap();
        tf.init().assert_success();
        assert_eq!(
            tf.lock(),
            LockEntry {
                version: VERSION.into(),
                hashes: vec![h1.clone(), zh.clone()]
            },
            "terraform {v}"
        );

        // A mirror serving other bytes under the released name is refused.
        let tf = Terraform::new(v, case.join("tampered"), &bad_mirror);
        std::fs::write(tf.lock_path(), &release_lock_text).unwrap();
        let init = tf.init();
        init.assert_failure();
        assert!(
            init.flat().contains(&format!(
                "the current package for {PROVIDER_ADDRESS} {VERSION} doesn't match any of the \
                 checksums previously recorded in the dependency lock file"
            )),
            "terraform {v}:\n{}",
            init.text()
        );
        assert!(!tf.installed().exists(), "terraform {v}: installed anyway");
        assert_eq!(tf.lock_text(), release_lock_text, "terraform {v}");
    }
}
