//! kube-rs (the client the provider uses) against the sandbox over HTTPS: TLS with the written
//! CA, discovery, Namespaces, server-side apply of typed and dynamic objects, watches.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

struct Sandbox {
    child: Child,
    url: String,
    dir: std::path::PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start() -> Sandbox {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("kube-sandbox-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-sandbox"))
        .arg("--ca-out")
        .arg(dir.join("ca.pem"))
        .args(["--token", "t0ken", "--rollout-delay-ms", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start kube-sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("KUBE_SANDBOX_READY ")
        .expect("ready line")
        .trim()
        .to_string();
    Sandbox { child, url, dir }
}

async fn client(sb: &Sandbox) -> kube::Client {
    kube::Client::try_from(config(sb).await).unwrap()
}

async fn config(sb: &Sandbox) -> kube::Config {
    use base64::Engine;
    let ca = std::fs::read(sb.dir.join("ca.pem")).unwrap();
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "sandbox",
        "clusters": [{"name": "sandbox", "cluster": {"server": sb.url,
            "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(ca)}}],
        "users": [{"name": "u", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "u"}}],
    });
    let kc: kube::config::Kubeconfig = serde_json::from_value(kubeconfig).unwrap();
    kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_against_the_sandbox() {
    // Both rustls providers are compiled in (kube's ring, reqwest's aws-lc-rs): pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = start();
    let client = client(&sb).await;

    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.git_version, "v1.32.0");
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let gvk = GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule");
    let (ar, caps) = discovery
        .resolve_gvk(&gvk)
        .expect("PrometheusRule discovered");
    assert_eq!(ar.plural, "prometheusrules");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let (_, ns_caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
        .unwrap();
    assert_eq!(ns_caps.scope, kube::discovery::Scope::Cluster);

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let pp = PatchParams::apply("test").force();
    let ns = namespaces
        .patch("team", &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": {"a": "b"}}})))
        .await
        .unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));
    let ns = namespaces
        .patch(
            "team",
            &pp,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
            ),
        )
        .await
        .unwrap();
    assert!(
        !ns.metadata.labels.unwrap_or_default().contains_key("a"),
        "label a was removed"
    );
    let again = namespaces
        .patch(
            "team",
            &pp,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version, ns.metadata.resource_version,
        "an identical apply changes nothing"
    );
    let err = namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );

    // Custom resources through DynamicObject, no CRD installed.
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"),
        "servicemonitors",
    );
    let sms: Api<DynamicObject> = Api::namespaced_with(client.clone(), "team", &ar);
    let sm = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "m", "annotations": {"x": "1", "y": "2"}}, "spec": {"endpoints": [{"port": "http"}]}});
    sms.patch("m", &pp, &Patch::Apply(&sm)).await.unwrap();
    let mut sm2 = sm.clone();
    sm2["metadata"]["annotations"] = json!({"x": "1"});
    let live = sms.patch("m", &pp, &Patch::Apply(&sm2)).await.unwrap();
    assert_eq!(live.metadata.annotations.unwrap().len(), 1);
    let dry = sms
        .patch(
            "m",
            &PatchParams::apply("test").force().dry_run(),
            &Patch::Apply(&sm),
        )
        .await
        .unwrap();
    assert_eq!(dry.metadata.annotations.unwrap().len(), 2);
    assert_eq!(
        sms.get("m")
            .await
            .unwrap()
            .metadata
            .annotations
            .unwrap()
            .len(),
        1
    );

    // A Deployment rolls out; a watch sees its status change.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "team");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    let list = deployments.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = deployments
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    deployments
        .patch("web", &pp, &Patch::Apply(&d))
        .await
        .unwrap();
    let started = Instant::now();
    let mut available = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        if let WatchEvent::Modified(d) | WatchEvent::Added(d) = ev {
            if d.status.and_then(|s| s.available_replicas) == Some(2) {
                available = true;
                break;
            }
        }
    }
    assert!(available, "no watch event with 2 available replicas");
    assert!(started.elapsed() < Duration::from_secs(5));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "team");
    assert_eq!(
        pods.list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    namespaces
        .delete("team", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(namespaces.get_opt("team").await.unwrap().is_none());
    assert!(deployments.get_opt("web").await.unwrap().is_none());
    let e = deployments
        .patch("web", &pp, &Patch::Apply(&d))
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 404 && s.message == "namespaces \"team\" not found"),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_start_pending_and_dependents_are_garbage_collected() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = start();
    let client = client(&sb).await;
    let pp = PatchParams::apply("test").force();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            "gc",
            &pp,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gc"}}),
            ),
        )
        .await
        .unwrap();

    // A created Pod is Pending with its QoS class, whatever status the client sent (as
    // spark-submit's driver pod: it reads the status back).
    let pods: Api<Pod> = Api::namespaced(client.clone(), "gc");
    let driver: Pod = serde_json::from_value(json!({
        "metadata": {"name": "driver", "labels": {"spark-role": "driver"}},
        "spec": {"containers": [{"name": "c", "image": "apache/spark:4.0.0",
            "resources": {"requests": {"cpu": "1", "memory": "1408Mi"}, "limits": {"memory": "1408Mi"}}}]},
        "status": {"phase": "Running"},
    }))
    .unwrap();
    let driver = pods.create(&PostParams::default(), &driver).await.unwrap();
    let status = driver.status.clone().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.qos_class.as_deref(), Some("Burstable"));
    let applied = pods
        .patch(
            "applied",
            &pp,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "applied"},
                "spec": {"containers": [{"name": "c", "image": "x"}]}}),
            ),
        )
        .await
        .unwrap();
    let status = applied.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));

    // Deleting an owner deletes its dependents, and theirs (spark-submit's driver Service and
    // ConfigMaps are owned by the driver Pod); Orphan leaves them.
    let owner = |kind: &str, name: &str, uid: &str| json!([{"apiVersion": "v1", "kind": kind, "name": name, "uid": uid, "controller": true}]);
    let uid = driver.metadata.uid.clone().unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "gc");
    let svc = services
        .patch(
            "driver-svc",
            &pp,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "driver-svc", "ownerReferences": owner("Pod", "driver", &uid)},
                "spec": {"clusterIP": "None", "ports": [{"port": 7078}]}})),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gc");
    let svc_uid = svc.metadata.uid.unwrap();
    for (name, refs) in [
        ("driver-conf", owner("Pod", "driver", &uid)),
        ("svc-conf", owner("Service", "driver-svc", &svc_uid)),
        ("unowned", json!([])),
    ] {
        cms.patch(
            name,
            &pp,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "ownerReferences": refs}, "data": {"k": "v"}})),
        )
        .await
        .unwrap();
    }
    pods.delete("driver", &DeleteParams::background())
        .await
        .unwrap();
    assert!(services.get_opt("driver-svc").await.unwrap().is_none());
    assert!(cms.get_opt("driver-conf").await.unwrap().is_none());
    assert!(cms.get_opt("svc-conf").await.unwrap().is_none());
    assert!(cms.get_opt("unowned").await.unwrap().is_some());

    let applied_uid = pods.get("applied").await.unwrap().metadata.uid.unwrap();
    cms.patch(
        "kept",
        &pp,
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kept", "ownerReferences": owner("Pod", "applied", &applied_uid)}})),
    )
    .await
    .unwrap();
    pods.delete("applied", &DeleteParams::orphan())
        .await
        .unwrap();
    assert!(cms.get_opt("kept").await.unwrap().is_some());

    // A deleted Deployment takes its ReplicaSet and Pods with it.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "gc");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    deployments
        .patch("web", &pp, &Patch::Apply(&d))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the Deployment never got a Pod");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    deployments
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), "gc");
    assert!(replicasets
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .is_empty());
}

/// A control request through the client's connection (control paths need no token).
async fn control(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .unwrap();
    let text = client.request_text(req).await.unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_throttling_and_server_errors_are_kubernetes_statuses() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = start();
    // Without kube-rs's own retries, to see every injected answer.
    let mut config = config(&sb).await;
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());

    control(
        &client,
        "POST",
        "/_sandbox/faults",
        json!({"throttle_rate": 1.0}),
    )
    .await;
    let e = namespaces.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 429 && s.reason == "TooManyRequests"
            && s.details.as_ref().is_some_and(|d| d.retry_after_seconds == 1)),
        "{e:?}"
    );
    // The answer carries Retry-After, as a real API server's.
    let req = http::Request::get("/api/v1/namespaces")
        .body(Vec::new())
        .unwrap();
    let resp = client.send(req.map(Into::into)).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");

    control(
        &client,
        "POST",
        "/_sandbox/faults",
        json!({"error_rate": 1.0, "error_codes": [503], "seed": 3}),
    )
    .await;
    let e = namespaces.get("default").await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 503 && s.reason == "ServiceUnavailable"),
        "{e:?}"
    );

    // 30 % throttling and bursts of two 500s or 503s: about half the requests fail, and the
    // same seed fails the same requests.
    let run = |seed: u64| {
        let client = client.clone();
        let namespaces = namespaces.clone();
        async move {
            control(
                &client,
                "POST",
                "/_sandbox/faults",
                json!({"throttle_rate": 0.3, "error_rate": 0.1, "error_burst": 2, "seed": seed}),
            )
            .await;
            let mut codes = Vec::new();
            for _ in 0..60 {
                codes.push(match namespaces.get("default").await {
                    Ok(_) => 200,
                    Err(kube::Error::Api(s)) => s.code,
                    Err(e) => panic!("{e:?}"),
                });
            }
            codes
        }
    };
    let a = run(11).await;
    assert_eq!(a, run(11).await);
    assert!(a.iter().all(|c| [200, 429, 500, 503].contains(c)), "{a:?}");
    let failed = a.iter().filter(|c| **c != 200).count();
    assert!((15..=45).contains(&failed), "{a:?}");

    let stats = control(&client, "GET", "/_sandbox/stats", json!({})).await;
    assert!(
        stats["faults"]["throttled"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(
        stats["faults"]["server_errors"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(stats["responses"]["429"].as_u64().unwrap() >= 2, "{stats}");

    // Control paths are never faulted; DELETE ends the faults.
    control(
        &client,
        "POST",
        "/_sandbox/faults",
        json!({"throttle_rate": 1.0}),
    )
    .await;
    control(&client, "DELETE", "/_sandbox/faults", json!({})).await;
    assert!(namespaces.get("default").await.is_ok());
}
