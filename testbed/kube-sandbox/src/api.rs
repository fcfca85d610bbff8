//! The HTTP front: authentication, discovery, Namespaces, server-side apply with removals,
//! dry runs and watches, in front of kube-fake-client's in-memory API server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ownership::{self, Field};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::auth::{AuthConfig, Identity};
use crate::discovery::{self, NS_GROUP, NS_HOLDER, NS_KIND, NS_PLURAL, NS_VERSION};

pub type Body = BoxBody<Bytes, Infallible>;

/// Namespaces that exist from the start and survive a reset.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];
/// Namespaces a DELETE refuses, as a real API server does.
const UNDELETABLE_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

#[derive(Default)]
pub struct Stats {
    pub anonymous: u64,
    pub static_tokens: u64,
    pub eks_tokens: u64,
    pub rejected: u64,
    pub rejections: BTreeMap<String, u64>,
    pub eks_identities: BTreeMap<String, u64>,
    /// Requests by the caller STS named for their EKS token (when STS verifies tokens).
    pub eks_callers: BTreeMap<String, u64>,
    pub requests: BTreeMap<String, u64>,
    /// Answers by status code.
    pub responses: BTreeMap<u16, u64>,
    /// EKS tokens refused because they were older than the maximum age.
    pub expired_eks_tokens: u64,
    /// The distinct X-Amz-Date values of accepted EKS tokens (each renewal adds one).
    pub eks_token_dates: std::collections::BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub struct Failure {
    pub namespace: String,
    pub name: String,
    pub reason: String,
    pub message: String,
}

pub struct State {
    client: tokio::sync::RwLock<kube::Client>,
    /// Serializes every write (and read-modify-write) against the store.
    pub write: tokio::sync::Mutex<()>,
    /// Last applied configuration per (object key, field manager).
    applied: std::sync::Mutex<HashMap<(String, String), Value>>,
    /// Fields set by create, replace and patch, per (object key, field manager).
    updated: std::sync::Mutex<HashMap<(String, String), BTreeSet<Field>>>,
    pub failures: std::sync::Mutex<Vec<Failure>>,
    pub stats: std::sync::Mutex<Stats>,
    pub auth: AuthConfig,
    pub rollout_delay_ms: AtomicU64,
    /// Fault injection on API requests (`/_sandbox/faults`).
    pub faults: std::sync::Mutex<crate::faults::Faults>,
    fault_seed: u64,
    pub wake: tokio::sync::Notify,
    log: Option<std::sync::Mutex<std::fs::File>>,
    pub server_address: std::sync::Mutex<String>,
    latest_rv: AtomicU64,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

fn not_found_body(kind: &str, name: &str) -> Value {
    let mut s = status_body(404, "NotFound", &format!("{kind} \"{name}\" not found"));
    s["details"] = json!({"name": name, "kind": kind});
    s
}

fn reply(status: u16, body: Value) -> Reply {
    Reply { status, body }
}

fn err(code: u16, reason: &str, message: &str) -> Reply {
    reply(code, status_body(code, reason, message))
}

fn not_found_resource() -> Reply {
    err(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

async fn build_client() -> kube::Client {
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
    let client = kube_fake_client::ClientBuilder::new()
        .with_resource::<discovery::ServiceMonitor>()
        .with_resource::<discovery::PodMonitor>()
        .with_resource::<discovery::PrometheusRule>()
        .with_resource::<discovery::SparkApplication>()
        .with_resource::<discovery::ScheduledSparkApplication>()
        .with_resource::<discovery::SandboxNamespace>()
        .with_status_subresource::<apps::Deployment>()
        .with_status_subresource::<apps::ReplicaSet>()
        .with_status_subresource::<apps::StatefulSet>()
        .with_status_subresource::<apps::DaemonSet>()
        .with_status_subresource::<batch::Job>()
        .with_status_subresource::<core::Pod>()
        .with_status_subresource::<core::Service>()
        .build()
        .await
        .expect("build the in-memory API server");
    for ns in SYSTEM_NAMESPACES {
        let body = json!({
            "apiVersion": format!("{NS_GROUP}/{NS_VERSION}"),
            "kind": NS_KIND,
            "metadata": {"name": ns, "namespace": NS_HOLDER},
        });
        let req = Request::builder()
            .method(Method::POST)
            .uri(standin_path(None))
            .header("content-type", "application/json")
            .body(kube::client::Body::from(body.to_string().into_bytes()))
            .expect("request");
        client.send(req).await.expect("create a system namespace");
    }
    client
}

fn standin_path(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("/apis/{NS_GROUP}/{NS_VERSION}/namespaces/{NS_HOLDER}/{NS_PLURAL}/{n}"),
        None => format!("/apis/{NS_GROUP}/{NS_VERSION}/namespaces/{NS_HOLDER}/{NS_PLURAL}"),
    }
}

fn rv_of(v: &Value) -> u64 {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

impl State {
    pub async fn new(
        auth: AuthConfig,
        rollout_delay_ms: u64,
        fault_seed: u64,
        log: Option<std::fs::File>,
    ) -> State {
        State {
            client: tokio::sync::RwLock::new(build_client().await),
            write: tokio::sync::Mutex::new(()),
            applied: Default::default(),
            updated: Default::default(),
            failures: Default::default(),
            stats: Default::default(),
            auth,
            rollout_delay_ms: AtomicU64::new(rollout_delay_ms),
            faults: std::sync::Mutex::new(crate::faults::Faults::new(fault_seed)),
            fault_seed,
            wake: tokio::sync::Notify::new(),
            log: log.map(std::sync::Mutex::new),
            server_address: Default::default(),
            latest_rv: AtomicU64::new(1),
        }
    }

    /// Sends one request to the in-memory API server.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let client = self.client.read().await.clone();
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = match req.body(kube::client::Body::from(body)) {
            Ok(r) => r,
            Err(e) => return err(400, "BadRequest", &format!("bad request: {e}")),
        };
        match client.send(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let bytes = match resp.into_body().collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) => return err(500, "InternalError", &e.to_string()),
                };
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let rv = rv_of(&body);
                if rv > 0 {
                    self.latest_rv.fetch_max(rv, Ordering::SeqCst);
                }
                reply(status, body)
            }
            Err(kube::Error::Service(e)) => {
                let msg = e.to_string();
                if msg.contains("Invalid path") {
                    not_found_resource()
                } else {
                    err(400, "BadRequest", &msg)
                }
            }
            Err(e) => err(500, "InternalError", &e.to_string()),
        }
    }

    pub async fn call_json(&self, method: Method, uri: &str, body: Option<&Value>) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let ct = body.map(|_| "application/json");
        self.call(method, uri, ct, bytes).await
    }

    pub async fn get(&self, uri: &str) -> Option<Value> {
        let r = self.call_json(Method::GET, uri, None).await;
        r.ok().then_some(r.body)
    }

    pub async fn list(&self, uri: &str) -> Vec<Value> {
        self.get(uri)
            .await
            .and_then(|v| v.get("items").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    }

    async fn namespace_exists(&self, name: &str) -> bool {
        self.get(&standin_path(Some(name))).await.is_some()
    }

    pub async fn reset(&self) {
        let _w = self.write.lock().await;
        *self.client.write().await = build_client().await;
        self.latest_rv.store(1, Ordering::SeqCst);
        self.applied.lock().unwrap().clear();
        self.updated.lock().unwrap().clear();
        self.failures.lock().unwrap().clear();
        *self.stats.lock().unwrap() = Stats::default();
        self.faults.lock().unwrap().reset(self.fault_seed);
    }

    fn forget_applied(&self, key_prefix: &str) {
        let gone = |k: &String| k == key_prefix || k.starts_with(&format!("{key_prefix}/"));
        self.applied.lock().unwrap().retain(|(k, _), _| !gone(k));
        self.updated.lock().unwrap().retain(|(k, _), _| !gone(k));
    }

    /// `manager` now owns `fields` of the object `key`; other managers lose them.
    fn take_fields(&self, key: &str, manager: &str, fields: &[Field], record: bool) {
        if fields.is_empty() {
            return;
        }
        let mut updated = self.updated.lock().unwrap();
        for ((k, m), owned) in updated.iter_mut() {
            if k == key && m != manager {
                owned.retain(|o| !fields.iter().any(|f| ownership::overlaps(o, f)));
            }
        }
        updated.retain(|_, owned| !owned.is_empty());
        if record {
            updated
                .entry((key.to_string(), manager.to_string()))
                .or_default()
                .extend(fields.iter().cloned());
        }
        drop(updated);
        let mut applied = self.applied.lock().unwrap();
        for ((k, m), body) in applied.iter_mut() {
            if k == key && m != manager {
                for f in fields {
                    remove_path(body, f);
                }
            }
        }
    }

    /// The managers other than `manager` owning fields of `key`, with what they own: applied
    /// configurations' fields and written fields.
    fn other_owners(&self, key: &str, manager: &str) -> Vec<(String, BTreeSet<Field>)> {
        let mut out: Vec<(String, BTreeSet<Field>)> = Vec::new();
        for ((k, m), body) in self.applied.lock().unwrap().iter() {
            if k == key && m != manager {
                out.push((m.clone(), ownership::fields(body).into_iter().collect()));
            }
        }
        for ((k, m), owned) in self.updated.lock().unwrap().iter() {
            if k == key && m != manager {
                match out.iter_mut().find(|(o, _)| o == m) {
                    Some((_, set)) => set.extend(owned.iter().cloned()),
                    None => out.push((m.clone(), owned.clone())),
                }
            }
        }
        out.sort();
        out
    }

    fn log_line(&self, line: &str) {
        if let Some(f) = &self.log {
            let mut f = f.lock().unwrap();
            let _ = writeln!(f, "{line}");
        }
    }

    pub fn stats_json(&self) -> Value {
        let s = self.stats.lock().unwrap();
        json!({
            "anonymous": s.anonymous,
            "static_tokens": s.static_tokens,
            "eks_tokens": s.eks_tokens,
            "rejected": s.rejected,
            "rejections": s.rejections,
            "eks_identities": s.eks_identities,
            "eks_callers": s.eks_callers,
            "requests": s.requests,
            "total_requests": s.requests.values().sum::<u64>(),
            "responses": s.responses.iter().map(|(c, n)| (c.to_string(), *n)).collect::<BTreeMap<String, u64>>(),
            "expired_eks_tokens": s.expired_eks_tokens,
            "eks_token_dates": s.eks_token_dates.len(),
            "faults": self.faults.lock().unwrap().stats_json(),
        })
    }
}

// ---------------------------------------------------------------- paths and queries

#[derive(Clone, Debug)]
struct ResPath {
    group: String,
    version: String,
    namespace: Option<String>,
    resource: String,
    name: Option<String>,
    sub: Option<String>,
}

impl ResPath {
    fn parse(path: &str) -> Option<ResPath> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, rest) = match parts.first() {
            Some(&"api") if parts.len() >= 2 => ("", parts[1], &parts[2..]),
            Some(&"apis") if parts.len() >= 3 => (parts[1], parts[2], &parts[3..]),
            _ => return None,
        };
        if rest.is_empty() || rest.len() > 5 {
            return None;
        }
        let s = |i: usize| rest.get(i).map(|s| s.to_string());
        let core_ns_sub = group.is_empty()
            && rest[0] == "namespaces"
            && rest.len() == 3
            && matches!(rest[2], "status" | "finalize");
        let (namespace, resource, name, sub) =
            if rest[0] == "namespaces" && rest.len() >= 3 && !core_ns_sub {
                (s(1), rest[2].to_string(), s(3), s(4))
            } else {
                if rest.len() > 3 {
                    return None;
                }
                (None, rest[0].to_string(), s(1), s(2))
            };
        Some(ResPath {
            group: group.to_string(),
            version: version.to_string(),
            namespace,
            resource,
            name,
            sub,
        })
    }

    fn is_core_namespaces(&self) -> bool {
        self.group.is_empty()
            && self.version == "v1"
            && self.resource == "namespaces"
            && self.namespace.is_none()
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    fn collection_path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/namespaces/{ns}/{}", self.prefix(), self.resource),
            None => format!("{}/{}", self.prefix(), self.resource),
        }
    }

    /// The object's path (no subresource): also the key of its applied configurations.
    fn object_path(&self) -> Option<String> {
        self.name
            .as_ref()
            .map(|n| format!("{}/{n}", self.collection_path()))
    }

    fn full_path(&self) -> String {
        match (&self.name, &self.sub) {
            (Some(n), Some(s)) => format!("{}/{n}/{s}", self.collection_path()),
            (Some(n), None) => format!("{}/{n}", self.collection_path()),
            _ => self.collection_path(),
        }
    }
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(q: &str) -> Query {
        Query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    let d = |s: &str| {
                        urlencoding::decode(&s.replace('+', " "))
                            .map(|c| c.into_owned())
                            .unwrap_or_else(|_| s.to_string())
                    };
                    (d(k), d(v))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | ""))
    }

    fn dry_run(&self) -> bool {
        self.0.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    /// The query without the given keys, re-encoded.
    fn without(&self, keys: &[&str]) -> String {
        self.0
            .iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
            .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

// ---------------------------------------------------------------- namespaces stand-in mapping

fn to_standin(v: &mut Value, set_namespace: bool) {
    let Some(o) = v.as_object_mut() else { return };
    if o.contains_key("apiVersion") {
        o.insert(
            "apiVersion".into(),
            json!(format!("{NS_GROUP}/{NS_VERSION}")),
        );
    }
    if o.contains_key("kind") {
        o.insert("kind".into(), json!(NS_KIND));
    }
    if set_namespace {
        let meta = o.entry("metadata").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.insert("namespace".into(), json!(NS_HOLDER));
        }
    }
}

fn from_standin(mut v: Value) -> Value {
    if v.get("kind").and_then(Value::as_str) == Some("Status") {
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            v["message"] = json!(m.replace(NS_PLURAL, "namespaces"));
        }
        return v;
    }
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            *item = from_standin(item.take());
        }
        v["kind"] = json!("NamespaceList");
        v["apiVersion"] = json!("v1");
        return v;
    }
    let Some(o) = v.as_object_mut() else { return v };
    o.insert("apiVersion".into(), json!("v1"));
    o.insert("kind".into(), json!("Namespace"));
    let name = o
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("namespace");
        m.remove("generation");
        let labels = m.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
        if let Some(mf) = m.get_mut("managedFields").and_then(Value::as_array_mut) {
            for e in mf {
                e["apiVersion"] = json!("v1");
            }
        }
    }
    let spec = o.entry("spec").or_insert_with(|| json!({}));
    if spec.get("finalizers").is_none() {
        spec["finalizers"] = json!(["kubernetes"]);
    }
    let status = o.entry("status").or_insert_with(|| json!({}));
    if status.get("phase").is_none() {
        status["phase"] = json!("Active");
    }
    v
}

// ---------------------------------------------------------------- server-side apply helpers

/// Paths (object keys only; lists are replaced whole by the merge) present in `prev` and
/// missing from `next`.
fn removed_paths(prev: &Value, next: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let (Some(p), Some(n)) = (prev.as_object(), next.as_object()) else {
        return;
    };
    for (k, pv) in p {
        if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "status") {
            continue;
        }
        if path.len() == 1
            && path[0] == "metadata"
            && matches!(
                k.as_str(),
                "name" | "namespace" | "resourceVersion" | "uid" | "managedFields"
            )
        {
            continue;
        }
        path.push(k.clone());
        match n.get(k) {
            None => out.push(path.clone()),
            Some(nv) => removed_paths(pv, nv, path, out),
        }
        path.pop();
    }
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for seg in parents {
        match cur.get_mut(seg) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(last);
    }
}

fn strip_volatile(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

fn parse_body(bytes: &[u8], content_type: &str) -> Result<Value, Reply> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => Ok(v),
        Err(e) => {
            if content_type.contains("yaml") {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    if let Ok(v) = serde_saphyr::from_str::<Value>(text) {
                        return Ok(v);
                    }
                }
            }
            Err(err(
                400,
                "BadRequest",
                &format!("the request body is not valid JSON: {e}"),
            ))
        }
    }
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::SeqCst));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let mut n = h.finish();
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn synthesize_created(mut obj: Value, namespace: Option<&str>) -> Value {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(ns) = namespace {
            m.insert("namespace".into(), json!(ns));
        }
        m.insert("uid".into(), json!(format!("dryrun-{}", random_suffix())));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        m.insert("generation".into(), json!(1));
        m.remove("resourceVersion");
    }
    obj
}

// ---------------------------------------------------------------- responses

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(full(body.to_string()))
        .expect("response")
}

/// A streaming body fed by a channel (watch responses).
struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|o| o.map(|b| Ok(http_body::Frame::data(b))))
    }
}

// ---------------------------------------------------------------- entry point

pub async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let (resp, who) = route(&state, req).await;
    {
        let mut s = state.stats.lock().unwrap();
        *s.requests.entry(format!("{method} {path}")).or_default() += 1;
        *s.responses.entry(resp.status().as_u16()).or_default() += 1;
    }
    state.log_line(&format!(
        "{} {method} {} {} {}ms auth={who}",
        jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        with_query(&path, &query),
        resp.status().as_u16(),
        started.elapsed().as_millis()
    ));
    Ok(resp)
}

async fn route(
    state: &Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> (Response<Body>, &'static str) {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sandbox/") {
        let method = req.method().clone();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return (
            crate::control::handle(state, &method, &path, &body).await,
            "control",
        );
    }
    if req.method() == Method::GET {
        match path.trim_end_matches('/') {
            "/version" => return (json_response(200, &discovery::version()), "none"),
            "/healthz" | "/livez" | "/readyz" => {
                let resp = Response::builder()
                    .status(200)
                    .header("content-type", "text/plain; charset=utf-8")
                    .body(full("ok"))
                    .expect("response");
                return (resp, "none");
            }
            _ => {}
        }
    }
    let auth_header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let checked = match state
        .auth
        .authenticate(auth_header.as_deref(), jiff::Timestamp::now())
        .await
    {
        Ok(Identity::EksPending(_)) => Err("EKS token: not verified".to_string()),
        other => other,
    };
    let who = match checked {
        Ok(Identity::Anonymous) => {
            state.stats.lock().unwrap().anonymous += 1;
            "anonymous"
        }
        Ok(Identity::Static) => {
            state.stats.lock().unwrap().static_tokens += 1;
            "static"
        }
        Ok(Identity::EksPending(_)) => "unverified",
        Ok(Identity::Eks {
            access_key_id,
            cluster,
            signed_at,
            arn,
        }) => {
            let mut s = state.stats.lock().unwrap();
            s.eks_tokens += 1;
            s.eks_token_dates.insert(signed_at);
            if let Some(arn) = arn {
                *s.eks_callers.entry(arn).or_default() += 1;
            }
            let id = match cluster {
                Some(c) => format!("{access_key_id}@{c}"),
                None => access_key_id,
            };
            *s.eks_identities.entry(id).or_default() += 1;
            "eks"
        }
        Err(why) => {
            {
                let mut s = state.stats.lock().unwrap();
                s.rejected += 1;
                if why.starts_with(crate::auth::EXPIRED) {
                    s.expired_eks_tokens += 1;
                }
                *s.rejections.entry(why.clone()).or_default() += 1;
            }
            state.log_line(&format!("rejected {} {path}: {why}", req.method()));
            let body = status_body(401, "Unauthorized", &format!("Unauthorized: {why}"));
            return (json_response(401, &body), "rejected");
        }
    };
    if let Some(resp) = injected_fault(state).await {
        return (resp, who);
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        let body = status_body(
            415,
            "UnsupportedMediaType",
            &format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml (got {content_type})"),
        );
        return (json_response(415, &body), who);
    }
    let method = req.method().clone();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return (
                json_response(400, &status_body(400, "BadRequest", &e.to_string())),
                who,
            )
        }
    };
    (
        dispatch(state, &method, &path, &query, &content_type, &body).await,
        who,
    )
}

/// The latency and the fault `/_sandbox/faults` asks for, if any, for one API request.
async fn injected_fault(state: &State) -> Option<Response<Body>> {
    let latency = state.faults.lock().unwrap().latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = state.faults.lock().unwrap().decide()?;
    let (code, headers, body) = crate::faults::response(fault);
    let mut resp = json_response(code, &body);
    for (k, v) in headers {
        if let Ok(v) = http::HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    Some(resp)
}

async fn dispatch(
    state: &Arc<State>,
    method: &Method,
    path: &str,
    query: &Query,
    content_type: &str,
    body: &[u8],
) -> Response<Body> {
    let trimmed = path.trim_end_matches('/');
    if method == Method::GET {
        let parts: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
        let doc = match parts.as_slice() {
            ["api"] => Some(discovery::api_versions(
                &state.server_address.lock().unwrap(),
            )),
            ["api", v] => {
                Some(discovery::resource_list("", v).unwrap_or_else(|| not_found_resource().body))
            }
            ["apis"] => Some(discovery::api_group_list()),
            ["apis", g] => {
                Some(discovery::api_group_doc(g).unwrap_or_else(|| not_found_resource().body))
            }
            ["apis", g, v] => {
                Some(discovery::resource_list(g, v).unwrap_or_else(|| not_found_resource().body))
            }
            _ => None,
        };
        if let Some(doc) = doc {
            let code = if doc.get("kind") == Some(&json!("Status")) {
                404
            } else {
                200
            };
            return json_response(code, &doc);
        }
    }
    let Some(rp) = ResPath::parse(path) else {
        let r = not_found_resource();
        return json_response(r.status, &r.body);
    };
    if rp.group == NS_GROUP {
        let r = not_found_resource();
        return json_response(r.status, &r.body);
    }
    if method == Method::GET && rp.name.is_none() && query.flag("watch") {
        return watch(state.clone(), rp, query).await;
    }
    let r = if rp.is_core_namespaces() {
        namespaces(state, method, &rp, query, content_type, body).await
    } else {
        resources(state, method, &rp, query, content_type, body).await
    };
    json_response(r.status, &r.body)
}

// ---------------------------------------------------------------- namespaced and cluster resources

async fn resources(
    state: &Arc<State>,
    method: &Method,
    rp: &ResPath,
    query: &Query,
    content_type: &str,
    body: &[u8],
) -> Reply {
    if discovery::lookup(&rp.group, &rp.version, &rp.resource).is_none() {
        return not_found_resource();
    }
    if let Some(sub) = &rp.sub {
        if sub != "status" {
            return not_found_resource();
        }
    }
    if *method == Method::GET {
        let mut r = state
            .call_json(
                Method::GET,
                &with_query(&rp.full_path(), &query.without(&["watch"])),
                None,
            )
            .await;
        if r.ok() && rp.name.is_none() {
            fix_list_rv(state, &mut r.body);
        }
        return r;
    }
    let is_write = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if !is_write && *method != Method::DELETE {
        return err(
            405,
            "MethodNotAllowed",
            &format!("the server does not allow this method on the requested resource ({method})"),
        );
    }
    let _w = state.write.lock().await;
    if is_write {
        if let Some(ns) = &rp.namespace {
            if !state.namespace_exists(ns).await {
                return reply(404, not_found_body("namespaces", ns));
            }
        }
    }
    let is_apply = content_type.contains("apply-patch");
    let before = match (method, rp.object_path()) {
        (&Method::PUT | &Method::PATCH, Some(path)) if !is_apply && rp.sub.is_none() => {
            state.get(&path).await
        }
        _ => None,
    };
    let r = match *method {
        Method::POST => create(state, rp, query, content_type, body, |v| v).await,
        Method::PUT => replace(state, rp, query, content_type, body, |v| v).await,
        Method::PATCH => patch(state, rp, query, content_type, body, |v| v).await,
        _ => delete(state, rp, query, body).await,
    };
    if r.ok() && is_write && !is_apply && rp.sub.is_none() && !query.dry_run() {
        // Writers own what they set: all of a created object, the changed fields otherwise.
        let manager = query.get("fieldManager").unwrap_or("unknown");
        let name = r.body.pointer("/metadata/name").and_then(Value::as_str);
        if let Some(name) = name {
            let key = format!("{}/{name}", rp.collection_path());
            let fields = match &before {
                Some(old) => ownership::changed(old, &r.body),
                None => ownership::fields(&r.body),
            };
            state.take_fields(&key, manager, &fields, true);
        }
    }
    if r.ok() && rp.group == "apps" {
        state.wake.notify_one();
    }
    r
}

/// Lists come back sorted by namespace and name (as from a real API server) and carry a
/// resourceVersion a watch can start from.
fn fix_list_rv(state: &State, list: &mut Value) {
    if let Some(items) = list.get_mut("items").and_then(Value::as_array_mut) {
        let key = |v: &Value| {
            (
                v.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                v.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        items.sort_by_key(key);
    }
    let max_item = list
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(rv_of).max().unwrap_or(0))
        .unwrap_or(0);
    let rv = max_item.max(state.latest_rv.load(Ordering::SeqCst));
    if let Some(m) = list.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("resourceVersion".into(), json!(rv.to_string()));
    }
}

fn check_object(
    obj: &Value,
    rp: &ResPath,
    expected_api_version: &str,
    require_types: bool,
) -> Result<(), Reply> {
    if !obj.is_object() {
        return Err(err(
            400,
            "BadRequest",
            "the request body is not a JSON object",
        ));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str);
    let kind = obj.get("kind").and_then(Value::as_str);
    if require_types && (api_version.is_none() || kind.is_none()) {
        return Err(err(
            400,
            "BadRequest",
            &format!(
                "invalid object type: {}, Kind={}",
                api_version.unwrap_or("/"),
                kind.unwrap_or("")
            ),
        ));
    }
    if let Some(av) = api_version {
        if av != expected_api_version {
            return Err(err(
                400,
                "BadRequest",
                &format!("the API version in the data ({av}) does not match the expected API version ({expected_api_version})"),
            ));
        }
    }
    if let (Some(url_name), Some(body_name)) = (
        rp.name.as_deref(),
        obj.pointer("/metadata/name").and_then(Value::as_str),
    ) {
        if url_name != body_name {
            return Err(err(
                400,
                "BadRequest",
                &format!("the name of the object ({body_name}) does not match the name on the URL ({url_name})"),
            ));
        }
    }
    if let (Some(url_ns), Some(body_ns)) = (
        rp.namespace.as_deref(),
        obj.pointer("/metadata/namespace").and_then(Value::as_str),
    ) {
        if url_ns != body_ns && !body_ns.is_empty() {
            return Err(err(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

/// `fake_rp` is the path the in-memory store uses (the stand-in for Namespaces); `to_store`
/// maps the client's object onto it.
async fn create(
    state: &State,
    rp: &ResPath,
    query: &Query,
    content_type: &str,
    body: &[u8],
    to_store: impl Fn(Value) -> Value,
) -> Reply {
    let mut obj = match parse_body(body, content_type) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if rp.name.is_some() {
        return err(
            405,
            "MethodNotAllowed",
            "POST is not allowed on a named object",
        );
    }
    if let Err(r) = check_object(&obj, rp, &rp.api_version(), false) {
        return r;
    }
    let meta = obj
        .as_object_mut()
        .expect("checked")
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                meta["name"] = json!(format!("{prefix}{}", random_suffix()));
            }
            _ => {
                return err(
                    422,
                    "Invalid",
                    "metadata.name: Required value: name or generateName is required",
                );
            }
        }
    }
    if is_pods(rp) {
        let status = crate::pods::initial_status(&obj);
        obj["status"] = status;
    }
    let store_rp = store_path(rp);
    let obj = to_store(obj);
    if query.dry_run() {
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if state
            .get(&format!("{}/{name}", store_rp.collection_path()))
            .await
            .is_some()
        {
            return err(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", rp.resource),
            );
        }
        return reply(201, synthesize_created(obj, rp.namespace.as_deref()));
    }
    state
        .call_json(Method::POST, &store_rp.collection_path(), Some(&obj))
        .await
}

async fn replace(
    state: &State,
    rp: &ResPath,
    query: &Query,
    content_type: &str,
    body: &[u8],
    to_store: impl Fn(Value) -> Value,
) -> Reply {
    let obj = match parse_body(body, content_type) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if rp.name.is_none() {
        return err(405, "MethodNotAllowed", "PUT needs an object name");
    }
    if let Err(r) = check_object(&obj, rp, &rp.api_version(), false) {
        return r;
    }
    let mut obj = obj;
    if obj.pointer("/metadata/name").is_none() {
        let name = rp.name.clone().unwrap_or_default();
        obj.as_object_mut()
            .expect("checked")
            .entry("metadata")
            .or_insert_with(|| json!({}))["name"] = json!(name);
    }
    let store_rp = store_path(rp);
    let obj = to_store(obj);
    if query.dry_run() {
        return match state.get(&store_rp.object_path().unwrap_or_default()).await {
            Some(_) => reply(200, obj),
            None => reply(
                404,
                not_found_body(&rp.resource, rp.name.as_deref().unwrap_or("")),
            ),
        };
    }
    state
        .call_json(Method::PUT, &store_rp.full_path(), Some(&obj))
        .await
}

fn store_path(rp: &ResPath) -> ResPath {
    if rp.is_core_namespaces() {
        ResPath {
            group: NS_GROUP.into(),
            version: NS_VERSION.into(),
            namespace: Some(NS_HOLDER.into()),
            resource: NS_PLURAL.into(),
            name: rp.name.clone(),
            sub: rp.sub.clone().filter(|s| s == "status"),
        }
    } else {
        rp.clone()
    }
}

async fn patch(
    state: &State,
    rp: &ResPath,
    query: &Query,
    content_type: &str,
    body: &[u8],
    to_store: impl Fn(Value) -> Value,
) -> Reply {
    let Some(client_key) = rp.object_path() else {
        return err(405, "MethodNotAllowed", "PATCH needs an object name");
    };
    let patch_body = match parse_body(body, content_type) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let store_rp = store_path(rp);
    let obj_path = store_rp.object_path().expect("named");
    let is_apply = content_type.contains("apply-patch");
    if is_apply {
        if let Err(r) = check_object(&patch_body, rp, &rp.api_version(), true) {
            return r;
        }
        let manager = query.get("fieldManager").unwrap_or("").to_string();
        if manager.is_empty() {
            return err(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
        }
        let key = match &rp.sub {
            Some(s) => format!("{client_key}/{s}"),
            None => client_key.clone(),
        };
        let patch_body = to_store(patch_body);
        return server_side_apply(
            state, &store_rp, &obj_path, &key, &manager, query, patch_body,
        )
        .await;
    }
    let patch_body = if content_type.contains("json-patch") {
        patch_body
    } else {
        to_store(patch_body)
    };
    if query.dry_run() {
        let Some(mut live) = state.get(&obj_path).await else {
            return reply(
                404,
                not_found_body(&rp.resource, rp.name.as_deref().unwrap_or("")),
            );
        };
        if content_type.contains("json-patch") {
            let p: json_patch::Patch = match serde_json::from_value(patch_body) {
                Ok(p) => p,
                Err(e) => return err(400, "BadRequest", &e.to_string()),
            };
            if let Err(e) = json_patch::patch(&mut live, &p) {
                return err(422, "Invalid", &e.to_string());
            }
        } else {
            json_patch::merge(&mut live, &patch_body);
        }
        return reply(200, live);
    }
    state
        .call(
            Method::PATCH,
            &with_query(&store_rp.full_path(), &query.without(&["dryRun"])),
            Some(content_type),
            patch_body.to_string().into_bytes(),
        )
        .await
}

/// Server-side apply as a real API server does it for one manager: fields the manager applied
/// before and no longer applies are removed (unless another manager's applied configuration
/// still has them); a repeated identical apply changes nothing.
async fn server_side_apply(
    state: &State,
    store_rp: &ResPath,
    obj_path: &str,
    key: &str,
    manager: &str,
    query: &Query,
    patch_body: Value,
) -> Reply {
    let live = state.get(obj_path).await;
    let prev = state
        .applied
        .lock()
        .unwrap()
        .get(&(key.to_string(), manager.to_string()))
        .cloned();
    let others = state.other_owners(key, manager);
    // Fields this apply changes; without force, those another manager owns are conflicts.
    let taken: Vec<Field> = match &live {
        Some(l) => ownership::changed(l, &patch_body),
        None => Vec::new(),
    };
    if !query.flag("force") {
        let conflicts: Vec<(String, Field)> = others
            .iter()
            .flat_map(|(m, owned)| {
                taken
                    .iter()
                    .filter(|f| ownership::owns_any(owned, f))
                    .map(|f| (m.clone(), f.clone()))
            })
            .collect();
        if !conflicts.is_empty() {
            let api_version = patch_body
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return reply(409, ownership::conflict_body(api_version, &conflicts));
        }
    }
    let mut removals = Vec::new();
    if let (Some(_), Some(prev)) = (&live, &prev) {
        removed_paths(prev, &patch_body, &mut Vec::new(), &mut removals);
        removals.retain(|p| {
            !others
                .iter()
                .any(|(_, owned)| ownership::owns_any(owned, p))
        });
    }
    let pruned = live.clone().map(|mut l| {
        for p in &removals {
            remove_path(&mut l, p);
        }
        l
    });
    let merged = pruned.clone().map(|mut l| {
        json_patch::merge(&mut l, &patch_body);
        l
    });
    if query.dry_run() {
        return match merged {
            Some(m) => reply(200, m),
            None => reply(
                201,
                synthesize_created(patch_body, store_rp.namespace.as_deref()),
            ),
        };
    }
    if let (Some(live), Some(merged)) = (&live, &merged) {
        if prev.as_ref() == Some(&patch_body) && strip_volatile(merged) == strip_volatile(live) {
            return reply(200, live.clone());
        }
    }
    if !removals.is_empty() {
        if let Some(pruned) = &pruned {
            let put_path = match &store_rp.sub {
                Some(s) => format!("{obj_path}/{s}"),
                None => obj_path.to_string(),
            };
            let r = state.call_json(Method::PUT, &put_path, Some(pruned)).await;
            if !r.ok() {
                return r;
            }
        }
    }
    let mut r = state
        .call(
            Method::PATCH,
            &with_query(&store_rp.full_path(), &query.without(&["dryRun"])),
            Some("application/apply-patch+yaml"),
            patch_body.to_string().into_bytes(),
        )
        .await;
    if r.ok() {
        state.take_fields(key, manager, &taken, false);
        state
            .applied
            .lock()
            .unwrap()
            .insert((key.to_string(), manager.to_string()), patch_body);
        if live.is_none() {
            r.status = 201;
            if is_pods(store_rp) {
                let mut created = r.body.clone();
                created["status"] = crate::pods::initial_status(&created);
                let s = state
                    .call_json(Method::PUT, &format!("{obj_path}/status"), Some(&created))
                    .await;
                if s.ok() {
                    r.body = s.body;
                }
            }
        }
    }
    r
}

/// A Pod itself (not its status): what gets the Pod strategy's defaults on create.
fn is_pods(rp: &ResPath) -> bool {
    rp.group.is_empty() && rp.version == "v1" && rp.resource == "pods" && rp.sub.is_none()
}

async fn delete(state: &State, rp: &ResPath, query: &Query, body: &[u8]) -> Reply {
    let options = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let body_dry_run = options
        .get("dryRun")
        .is_some_and(|d| d.as_array().is_some_and(|a| a.iter().any(|x| x == "All")));
    let orphan = query.get("propagationPolicy") == Some("Orphan")
        || options.get("propagationPolicy") == Some(&json!("Orphan"))
        || options.get("orphanDependents") == Some(&json!(true));
    let store_rp = store_path(rp);
    match store_rp.object_path() {
        Some(obj_path) => {
            if query.dry_run() || body_dry_run {
                return match state.get(&obj_path).await {
                    Some(v) => reply(200, v),
                    None => reply(
                        404,
                        not_found_body(&rp.resource, rp.name.as_deref().unwrap_or("")),
                    ),
                };
            }
            let live = state.get(&obj_path).await;
            let r = state
                .call(
                    Method::DELETE,
                    &with_query(&obj_path, &query.without(&["dryRun"])),
                    Some("application/json"),
                    body.to_vec(),
                )
                .await;
            if r.ok() {
                state.forget_applied(&rp.object_path().unwrap_or_default());
                let uid = live
                    .as_ref()
                    .and_then(|l| l.pointer("/metadata/uid"))
                    .and_then(Value::as_str);
                if let (Some(ns), Some(uid), false) = (&rp.namespace, uid, orphan) {
                    collect_garbage(state, ns, uid).await;
                }
            }
            r
        }
        None => {
            if query.dry_run() || body_dry_run {
                return reply(
                    200,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                );
            }
            let r = state
                .call(
                    Method::DELETE,
                    &with_query(&store_rp.collection_path(), &query.without(&["dryRun"])),
                    Some("application/json"),
                    body.to_vec(),
                )
                .await;
            if r.ok() {
                state.forget_applied(&rp.collection_path());
            }
            r
        }
    }
}

/// The garbage collector with background propagation: deletes the objects in `ns` whose
/// `ownerReferences` name `owner_uid`, then their dependents in turn (a Spark driver Pod owns its
/// Service, ConfigMaps and NetworkPolicy; a Deployment its ReplicaSets, which own Pods).
async fn collect_garbage(state: &State, ns: &str, owner_uid: &str) {
    let resources = discovery::namespaced_resources();
    let mut owners = vec![owner_uid.to_string()];
    while let Some(owner) = owners.pop() {
        for r in &resources {
            let prefix = if r.group.is_empty() {
                format!("/api/{}", r.version)
            } else {
                format!("/apis/{}/{}", r.group, r.version)
            };
            let path = format!("{prefix}/namespaces/{ns}/{}", r.plural);
            for obj in state.list(&path).await {
                if !crate::controller::owned_by(&obj, &owner) {
                    continue;
                }
                let Some(name) = obj.pointer("/metadata/name").and_then(Value::as_str) else {
                    continue;
                };
                let obj_path = format!("{path}/{name}");
                if state.call_json(Method::DELETE, &obj_path, None).await.ok() {
                    state.forget_applied(&obj_path);
                    if let Some(uid) = obj.pointer("/metadata/uid").and_then(Value::as_str) {
                        owners.push(uid.to_string());
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Namespaces

fn ns_to_store(mut v: Value) -> Value {
    to_standin(&mut v, true);
    v
}

fn ns_patch_to_store(mut v: Value) -> Value {
    to_standin(&mut v, false);
    v
}

async fn namespaces(
    state: &Arc<State>,
    method: &Method,
    rp: &ResPath,
    query: &Query,
    content_type: &str,
    body: &[u8],
) -> Reply {
    if let Some(sub) = &rp.sub {
        if !matches!(sub.as_str(), "status" | "finalize") {
            return not_found_resource();
        }
    }
    let store_rp = store_path(rp);
    let out = |r: Reply| Reply {
        status: r.status,
        body: from_standin(r.body),
    };
    match *method {
        Method::GET => {
            let mut r = state
                .call_json(
                    Method::GET,
                    &with_query(
                        &store_rp
                            .object_path()
                            .unwrap_or_else(|| store_rp.collection_path()),
                        &query.without(&["watch"]),
                    ),
                    None,
                )
                .await;
            if r.ok() && rp.name.is_none() {
                fix_list_rv(state, &mut r.body);
            }
            if r.status == 404 {
                if let Some(name) = &rp.name {
                    return reply(404, not_found_body("namespaces", name));
                }
            }
            out(r)
        }
        Method::POST => {
            let _w = state.write.lock().await;
            out(create(state, rp, query, content_type, body, ns_to_store).await)
        }
        Method::PUT => {
            let _w = state.write.lock().await;
            let r = replace(state, rp, query, content_type, body, ns_to_store).await;
            if r.status == 404 {
                return reply(
                    404,
                    not_found_body("namespaces", rp.name.as_deref().unwrap_or("")),
                );
            }
            out(r)
        }
        Method::PATCH => {
            let _w = state.write.lock().await;
            let r = patch(state, rp, query, content_type, body, ns_patch_to_store).await;
            if r.status == 404 {
                return reply(
                    404,
                    not_found_body("namespaces", rp.name.as_deref().unwrap_or("")),
                );
            }
            out(r)
        }
        Method::DELETE => {
            let Some(name) = rp.name.clone() else {
                return err(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                );
            };
            let _w = state.write.lock().await;
            let Some(live) = state
                .get(&store_path(rp).object_path().unwrap_or_default())
                .await
            else {
                return reply(404, not_found_body("namespaces", &name));
            };
            if UNDELETABLE_NAMESPACES.contains(&name.as_str()) {
                let mut s = status_body(
                    403,
                    "Forbidden",
                    &format!(
                        "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
                    ),
                );
                s["details"] = json!({"name": name, "kind": "namespaces"});
                return reply(403, s);
            }
            let body_dry_run = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("dryRun").cloned())
                .is_some_and(|d| d.as_array().is_some_and(|a| a.iter().any(|x| x == "All")));
            let mut gone = from_standin(live);
            gone["status"]["phase"] = json!("Terminating");
            gone["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            if query.dry_run() || body_dry_run {
                return reply(200, gone);
            }
            delete_namespace_contents(state, &name).await;
            let r = state
                .call_json(
                    Method::DELETE,
                    &store_path(rp).object_path().unwrap_or_default(),
                    None,
                )
                .await;
            if !r.ok() {
                return out(r);
            }
            state.forget_applied(&format!("/api/v1/namespaces/{name}"));
            state
                .applied
                .lock()
                .unwrap()
                .retain(|(k, _), _| !k.contains(&format!("/namespaces/{name}/")));
            state.wake.notify_one();
            reply(200, gone)
        }
        _ => err(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ),
    }
}

/// Deletes every object of every namespaced resource in the namespace.
async fn delete_namespace_contents(state: &State, ns: &str) {
    for r in discovery::namespaced_resources() {
        let prefix = if r.group.is_empty() {
            format!("/api/{}", r.version)
        } else {
            format!("/apis/{}/{}", r.group, r.version)
        };
        let path = format!("{prefix}/namespaces/{ns}/{}", r.plural);
        if state.list(&path).await.is_empty() {
            continue;
        }
        let _ = state.call_json(Method::DELETE, &path, None).await;
    }
}

// ---------------------------------------------------------------- watch

/// A watch: events for objects that change after the requested resourceVersion, found by
/// polling the store, until timeoutSeconds (at most 60 s) pass or the client goes away.
async fn watch(state: Arc<State>, rp: ResPath, query: &Query) -> Response<Body> {
    if discovery::lookup(&rp.group, &rp.version, &rp.resource).is_none() {
        let r = not_found_resource();
        return json_response(r.status, &r.body);
    }
    let namespaces = rp.is_core_namespaces();
    let list_path = if namespaces {
        store_path(&rp).collection_path()
    } else {
        rp.collection_path()
    };
    let list_query = query.without(&[
        "watch",
        "resourceVersion",
        "resourceVersionMatch",
        "timeoutSeconds",
        "allowWatchBookmarks",
        "sendInitialEvents",
        "limit",
        "continue",
    ]);
    let list_uri = with_query(&list_path, &list_query);
    let from_rv: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let initial_events = query.flag("sendInitialEvents") || from_rv == 0;
    let bookmark_after_initial = query.flag("sendInitialEvents");
    let timeout = Duration::from_secs(
        query
            .get("timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(60)
            .clamp(1, 60),
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let deadline = Instant::now() + timeout;
        let event = |kind: &str, obj: &Value| {
            Bytes::from(format!("{}\n", json!({"type": kind, "object": obj})))
        };
        let mapped = |items: Vec<Value>| -> Vec<Value> {
            if namespaces {
                items.into_iter().map(from_standin).collect()
            } else {
                items
            }
        };
        let mut known: HashMap<String, (u64, Value)> = HashMap::new();
        let mut first = true;
        let mut max_rv = from_rv;
        loop {
            let items = mapped(state.list(&list_uri).await);
            let mut seen = std::collections::HashSet::new();
            for obj in items {
                let uid = obj
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let rv = rv_of(&obj);
                seen.insert(uid.clone());
                let prior = known.get(&uid).map(|(r, _)| *r);
                let emit = match prior {
                    Some(p) => rv > p,
                    None => (first && initial_events) || rv > from_rv,
                };
                if emit {
                    let kind = if prior.is_none() && (first || rv > from_rv) {
                        "ADDED"
                    } else {
                        "MODIFIED"
                    };
                    if tx.send(event(kind, &obj)).await.is_err() {
                        return;
                    }
                }
                max_rv = max_rv.max(rv);
                known.insert(uid, (rv, obj));
            }
            let gone: Vec<String> = known
                .keys()
                .filter(|k| !seen.contains(*k))
                .cloned()
                .collect();
            for uid in gone {
                if let Some((_, mut obj)) = known.remove(&uid) {
                    max_rv = max_rv.max(state.latest_rv.load(Ordering::SeqCst));
                    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.insert("resourceVersion".into(), json!(max_rv.to_string()));
                    }
                    if tx.send(event("DELETED", &obj)).await.is_err() {
                        return;
                    }
                }
            }
            if first && bookmark_after_initial {
                let bookmark = json!({
                    "kind": if namespaces { "Namespace".to_string() } else { discovery::lookup(&rp.group, &rp.version, &rp.resource).map(|r| r.kind).unwrap_or_default() },
                    "apiVersion": rp.api_version(),
                    "metadata": {
                        "resourceVersion": max_rv.max(state.latest_rv.load(Ordering::SeqCst)).to_string(),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                });
                if tx.send(event("BOOKMARK", &bookmark)).await.is_err() {
                    return;
                }
            }
            first = false;
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = tx.closed() => return,
            }
        }
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(ChannelBody { rx }.boxed())
        .expect("response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = ResPath::parse("/apis/apps/v1/namespaces/x/deployments/d/status").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("x"));
        assert_eq!(p.resource, "deployments");
        assert_eq!(p.name.as_deref(), Some("d"));
        assert_eq!(p.sub.as_deref(), Some("status"));
        let n = ResPath::parse("/api/v1/namespaces/x").unwrap();
        assert!(n.is_core_namespaces());
        assert_eq!(n.name.as_deref(), Some("x"));
        let s = ResPath::parse("/api/v1/namespaces/x/status").unwrap();
        assert!(s.is_core_namespaces());
        assert_eq!(s.sub.as_deref(), Some("status"));
        let l = ResPath::parse("/api/v1/namespaces/x/pods").unwrap();
        assert_eq!(l.namespace.as_deref(), Some("x"));
        assert!(l.name.is_none());
        let c = ResPath::parse("/apis/rbac.authorization.k8s.io/v1/clusterroles/r").unwrap();
        assert!(c.namespace.is_none());
        assert_eq!(c.name.as_deref(), Some("r"));
        assert!(ResPath::parse("/version").is_none());
    }

    #[test]
    fn removals() {
        let prev = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "annotations": {"a": "1", "b": "2"}, "labels": {"x": "y"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "env": [{"name": "E"}]}]}}}});
        let next = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "annotations": {"a": "1"}},
            "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}});
        let mut out = Vec::new();
        removed_paths(&prev, &next, &mut Vec::new(), &mut out);
        let out: Vec<String> = out.iter().map(|p| p.join(".")).collect();
        assert_eq!(
            out,
            vec!["metadata.annotations.b", "metadata.labels", "spec.replicas"]
        );
    }

    #[test]
    fn namespace_mapping() {
        let mut v = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
        to_standin(&mut v, true);
        assert_eq!(v["kind"], NS_KIND);
        assert_eq!(v["metadata"]["namespace"], NS_HOLDER);
        let back = from_standin(v);
        assert_eq!(back["kind"], "Namespace");
        assert_eq!(back["apiVersion"], "v1");
        assert!(back["metadata"].get("namespace").is_none());
        assert_eq!(back["status"]["phase"], "Active");
        assert_eq!(
            back["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team"
        );
    }
}
