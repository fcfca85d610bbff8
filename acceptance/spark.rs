//! A real Spark client against the Kubernetes stand-in: `spark-submit` of pyspark (installed by
//! `make testbed` as `.testbed/bin/spark-submit`) in cluster mode, over HTTPS with the
//! sandbox's CA and bearer token. With `waitAppCompletion=false` it returns once the driver pod,
//! its Service, NetworkPolicy and ConfigMaps exist; the pod stays Pending (there is no kubelet),
//! so the image is never pulled. `--status` and `--kill` work too ([`spark_client`]).

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::kube_sandbox::KubeSandbox;
use crate::support::{repo_root, Output};

/// How long one `spark-submit` may take before it is killed (with its process group).
pub const SUBMIT_LIMIT: Duration = Duration::from_secs(120);

/// The image the driver pod names (never pulled: nothing runs the pod).
pub const SPARK_IMAGE: &str = "apache/spark:4.0.0";

/// The application every submission runs: SparkPi from the image's examples jar.
pub const APPLICATION_JAR: &str = "local:///opt/spark/examples/jars/spark-examples.jar";
pub const APPLICATION_CLASS: &str = "org.apache.spark.examples.SparkPi";

/// The `spark-submit` wrapper of the test bed.
pub fn spark_submit_binary() -> PathBuf {
    let p = repo_root().join(".testbed/bin/spark-submit");
    assert!(
        p.exists(),
        "{} is missing: run `make testbed` (it installs pyspark) first",
        p.display()
    );
    p
}

/// SPARK_HOME: the installed pyspark package directory, as recorded by the installer.
pub fn spark_home() -> PathBuf {
    let record = repo_root().join(".testbed/spark-home");
    let text = std::fs::read_to_string(&record).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `make testbed` (it installs pyspark) first",
            record.display()
        )
    });
    PathBuf::from(text.trim())
}

/// JAVA_HOME: the environment's if it holds a `bin/java`, else the one of `java` on PATH.
pub fn java_home() -> PathBuf {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let home = PathBuf::from(home);
        if home.join("bin/java").exists() {
            return home;
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let java = std::env::split_paths(&path)
        .map(|d| d.join("java"))
        .find(|p| p.is_file())
        .expect("no `java` on PATH and no JAVA_HOME: spark-submit needs Java 17 or newer");
    let real = std::fs::canonicalize(&java).unwrap_or(java);
    real.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("JAVA_HOME from the java binary")
}

/// The connection settings every client call gets: the sandbox's HTTPS endpoint is verified
/// against its CA, and the static bearer token authenticates.
pub fn connection_conf(kube: &KubeSandbox) -> Vec<(String, String)> {
    vec![
        (
            "spark.kubernetes.authenticate.submission.caCertFile".into(),
            kube.ca_file.display().to_string(),
        ),
        (
            "spark.kubernetes.authenticate.submission.oauthToken".into(),
            kube.token.clone(),
        ),
    ]
}

/// The settings every submission gets besides the connection (`conf` given to
/// [`spark_submit`] comes after them, and the last setting of a key wins).
pub fn base_conf() -> Vec<(String, String)> {
    [
        ("spark.kubernetes.submission.waitAppCompletion", "false"),
        ("spark.kubernetes.container.image", SPARK_IMAGE),
        ("spark.ui.enabled", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Submits SparkPi: `spark-submit --master k8s://<kube.url> --deploy-mode cluster --name spark-pi
/// --class org.apache.spark.examples.SparkPi`, the connection and base settings, then `conf` (as
/// `--conf k=v`), then `extra_args` (further spark-submit options), then the application jar.
pub fn spark_submit(kube: &KubeSandbox, conf: &[(String, String)], extra_args: &[&str]) -> Output {
    let mut args: Vec<String> = vec![
        "--deploy-mode".into(),
        "cluster".into(),
        "--name".into(),
        "spark-pi".into(),
        "--class".into(),
        APPLICATION_CLASS.into(),
    ];
    for (k, v) in base_conf().iter().chain(conf) {
        args.push("--conf".into());
        args.push(format!("{k}={v}"));
    }
    args.extend(extra_args.iter().map(|a| a.to_string()));
    args.push(APPLICATION_JAR.into());
    spark_client(kube, &args)
}

/// Runs `spark-submit --master k8s://<kube.url>` with the connection settings and `args` (e.g.
/// `--status spark:spark-pi-*` or `--kill ...`). Killed with its process group after
/// [`SUBMIT_LIMIT`] (the test fails). The client runs in a private temporary directory: HOME,
/// TMPDIR and `java.io.tmpdir` (where the client's `spark.local.dir` falls back to), the Ivy
/// cache (`spark.jars.ivy`) and an empty SPARK_CONF_DIR. `spark.local.dir` itself is not set: the
/// submission copies it into the driver pod (`SPARK_LOCAL_DIRS` and a volume mounted there).
pub fn spark_client(kube: &KubeSandbox, args: &[String]) -> Output {
    let scratch = tempfile::tempdir().expect("spark-submit scratch dir");
    let dir = scratch.path();
    for sub in ["home", "tmp", "ivy", "conf"] {
        std::fs::create_dir_all(dir.join(sub)).expect("scratch subdir");
    }
    let mut all: Vec<String> = vec!["--master".into(), format!("k8s://{}", kube.url)];
    let ivy = (
        "spark.jars.ivy".to_string(),
        dir.join("ivy").display().to_string(),
    );
    for (k, v) in connection_conf(kube).iter().chain([&ivy]) {
        all.push("--conf".into());
        all.push(format!("{k}={v}"));
    }
    all.extend(args.iter().cloned());

    let tmp = dir.join("tmp");
    let mut cmd = Command::new(spark_submit_binary());
    cmd.args(&all)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("TMPDIR", &tmp)
        .env("SPARK_HOME", spark_home())
        .env("JAVA_HOME", java_home())
        .env("SPARK_CONF_DIR", dir.join("conf"))
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        // A short-lived client: the C1 compiler alone and the serial collector halve its time
        // on a small machine.
        .env(
            "SPARK_SUBMIT_OPTS",
            format!(
                "-Djava.io.tmpdir={} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
                tmp.display()
            ),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(user) = std::env::var("USER") {
        cmd.env("USER", user);
    }
    // Its own process group, so a timeout also stops the JVM the wrapper scripts start.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start spark-submit");
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
        match child.try_wait().expect("wait for spark-submit") {
            Some(status) => break status.code(),
            None if start.elapsed() > SUBMIT_LIMIT => {
                let _ = Command::new("kill")
                    .args(["-KILL", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "spark-submit {args:?} did not finish within {SUBMIT_LIMIT:?}; kube-sandbox \
                     log:\n{}",
                    kube.log()
                );
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

/// The driver pods (label `spark-role=driver`) in `namespace`, oldest first.
pub fn driver_pods(kube: &KubeSandbox, namespace: &str) -> Vec<Json> {
    let Some(pods) = kube.get(&format!(
        "/api/v1/namespaces/{namespace}/pods?labelSelector=spark-role%3Ddriver"
    )) else {
        return Vec::new();
    };
    let mut items = pods["items"].as_array().cloned().unwrap_or_default();
    let rv = |p: &Json| {
        p["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    items.sort_by_key(|p| (p["metadata"]["creationTimestamp"].to_string(), rv(p)));
    items
}

/// The driver pod (label `spark-role=driver`) in `namespace`: the newest if there are several.
pub fn driver_pod(kube: &KubeSandbox, namespace: &str) -> Option<Json> {
    driver_pods(kube, namespace).pop()
}

/// Creates `namespace` and the service account `name` in it, through the API.
pub fn create_namespace_and_service_account(kube: &KubeSandbox, namespace: &str, name: &str) {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    let (code, v) = kube.request(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        Some(&ns),
    );
    assert_eq!(code, 201, "create namespace {namespace}: {v}");
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}});
    let (code, v) = kube.request(
        "POST",
        &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
        Some("application/json"),
        Some(&sa),
    );
    assert_eq!(code, 201, "create service account {namespace}/{name}: {v}");
}

/// `(&str, &str)` pairs as the owned settings [`spark_submit`] takes.
pub fn conf(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A pod template that puts a pod on nodes labelled `purpose=<purpose>` and tolerates their
/// `purpose=<purpose>:NoSchedule` taint.
pub fn pod_template(purpose: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nspec:\n  nodeSelector:\n    purpose: {purpose}\n  tolerations:\n  \
         - key: purpose\n    operator: Equal\n    value: {purpose}\n    effect: NoSchedule\n"
    )
}

fn has_toleration(pod_spec: &Json, purpose: &str) -> bool {
    pod_spec["tolerations"].as_array().is_some_and(|ts| {
        ts.iter().any(|t| {
            t["key"] == "purpose"
                && t["operator"] == "Equal"
                && t["value"] == purpose
                && t["effect"] == "NoSchedule"
        })
    })
}

#[test]
fn spark_submit_creates_a_driver_pod_with_the_pod_template() {
    let kube = KubeSandbox::start();
    create_namespace_and_service_account(&kube, "spark", "spark-driver");
    let templates = tempfile::tempdir().expect("template dir");
    let driver_template = templates.path().join("driver.yaml");
    let executor_template = templates.path().join("executor.yaml");
    std::fs::write(&driver_template, pod_template("spark-driver")).expect("driver template");
    std::fs::write(&executor_template, pod_template("spark-executor")).expect("executor template");

    let out = spark_submit(
        &kube,
        &conf(&[
            ("spark.kubernetes.namespace", "spark"),
            (
                "spark.kubernetes.authenticate.driver.serviceAccountName",
                "spark-driver",
            ),
            (
                "spark.kubernetes.driver.podTemplateFile",
                &driver_template.display().to_string(),
            ),
            (
                "spark.kubernetes.executor.podTemplateFile",
                &executor_template.display().to_string(),
            ),
            ("spark.kubernetes.node.selector.pool", "analytics"),
        ]),
        &[],
    );
    assert!(
        out.success(),
        "spark-submit failed ({:?}) after {:?}:\nstderr:\n{}\nkube-sandbox log:\n{}",
        out.code,
        out.elapsed,
        out.stderr,
        kube.log()
    );
    assert!(
        out.stderr.contains("Deployed Spark application spark-pi"),
        "{}",
        out.stderr
    );

    let pod = driver_pod(&kube, "spark").unwrap_or_else(|| {
        panic!(
            "no driver pod in namespace spark; kube-sandbox log:\n{}",
            kube.log()
        )
    });
    let spec = &pod["spec"];
    assert_eq!(pod["metadata"]["namespace"], "spark", "{pod}");
    assert_eq!(spec["serviceAccountName"], "spark-driver", "{pod}");
    // The template's selector, and spark.kubernetes.node.selector.* on top of it.
    assert_eq!(
        spec["nodeSelector"],
        json!({"purpose": "spark-driver", "pool": "analytics"}),
        "{pod}"
    );
    assert!(
        has_toleration(spec, "spark-driver"),
        "toleration purpose=spark-driver:NoSchedule missing: {pod}"
    );
    assert_eq!(spec["containers"][0]["image"], SPARK_IMAGE, "{pod}");
    assert_eq!(pod["status"]["phase"], "Pending", "{pod}");
    assert_eq!(driver_pods(&kube, "spark").len(), 1);
    assert!(driver_pod(&kube, "default").is_none());

    // The executor template travels to the driver in a ConfigMap it mounts; the submission's
    // credentials do not.
    let config_maps = kube
        .get("/api/v1/namespaces/spark/configmaps")
        .expect("config maps");
    let podspec = config_maps["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|cm| cm["data"].get("podspec-configmap-key").is_some())
        })
        .unwrap_or_else(|| panic!("no executor pod template ConfigMap: {config_maps}"));
    let executor = podspec["data"]["podspec-configmap-key"]
        .as_str()
        .unwrap_or_default();
    assert!(
        executor.contains("purpose: spark-executor"),
        "executor template: {executor}"
    );
    let mounted = spec["volumes"].as_array().is_some_and(|vs| {
        vs.iter()
            .any(|v| v["configMap"]["name"] == podspec["metadata"]["name"])
    });
    assert!(mounted, "the driver does not mount {podspec}: {pod}");
    assert!(
        !config_maps.to_string().contains(&kube.token),
        "the bearer token reached a ConfigMap: {config_maps}"
    );
}
