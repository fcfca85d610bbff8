//! The pod settings of a BI service beyond its engine wiring: how replicas spread over zones
//! and hosts (`topology_spread`, `affinity`), who the processes run as (`security_context`),
//! how long the engine may take to start (`startup_probe`), extra volumes (Metabase plugins,
//! certificates), and the JVM options, time zone and public URL the engines read from their
//! environment. Schema, typed settings, checks and rendering live together here; the engines'
//! defaults (user ids, start-up budgets, variable names) are in [`super::engines`].

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::framework::rules::Rule;
use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::validators::{each, int_between, matches, one_of, string_length};
use crate::framework::{Diagnostics, Field, FromValue};
use crate::resources::common::LABEL_KEY_PATTERN;
use crate::value::{AttributePath, Type, Value};

use super::engines::Engine;
use super::schema::{DNS_LABEL, SECRET_NAME_PATTERN};

/// The zone label every EKS node carries.
pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";
pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
/// An IANA time zone name (`Area/Location`, `Etc/GMT+3`) or `UTC`.
pub const TIMEZONE_PATTERN: &str = r"^(UTC|[A-Z][A-Za-z_+-]{1,30}(/[A-Za-z0-9_+-]{1,30}){1,2})$";
/// An absolute http(s) URL without spaces.
pub const SITE_URL_PATTERN: &str = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$";
/// An absolute path in the container.
pub const MOUNT_PATH_PATTERN: &str = r"^/[^\s:]*$";
const NODE_OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];

/// Adds the pod settings to the resource's block.
pub fn attributes(b: Block) -> Block {
    b.block(topology_spread())
        .block(affinity())
        .block(security_context())
        .block(startup_probe())
        .block(extra_volumes())
        .block(extra_volume_mounts())
        .block(autoscaling())
        .rule(Rule::conflicts_with("autoscaling", &["replicas"]).at("replicas").message(
            "Conflicting arguments",
            "With autoscaling the HorizontalPodAutoscaler sets the number of pods: remove replicas, or \
             the autoscaling block.",
        ))
        .attribute(
            Attribute::optional("java_opts", Type::String)
                .description(
                    "JVM options of the JVM engines: `JAVA_OPTS` for Metabase (its `run_metabase.sh` passes \
                     it to `java`), `ZEPPELIN_JAVA_OPTS` for Zeppelin (read by `zeppelin-env.sh`), e.g. \
                     `-XX:MaxRAMPercentage=75`. Refused for Superset and Redash, which have no JVM.",
                )
                .validator(string_length(1, 4096)),
        )
        .attribute(
            Attribute::optional("timezone", Type::String)
                .description(
                    "The engine's time zone, an IANA name such as `Europe/Berlin` (or `UTC`): `TZ` for every \
                     engine, and for Metabase also `JAVA_TIMEZONE`, which its `run_metabase.sh` turns into \
                     `-Duser.timezone`. Reports and schedules use it.",
                )
                .validator(matches(
                    TIMEZONE_PATTERN,
                    "an IANA time zone name such as \"Europe/Berlin\" or \"UTC\"",
                )),
        )
        .attribute(
            Attribute::optional("site_url", Type::String)
                .description(
                    "The address users reach the service at, for the links in e-mails and alerts: \
                     `MB_SITE_URL` for Metabase, `REDASH_HOST` for Redash. Superset (its \
                     `WEBDRIVER_BASEURL_USER_FRIENDLY` is set in `superset_config.py`, not the environment) \
                     and Zeppelin have no such variable: refused for them.",
                )
                .validator(matches(
                    SITE_URL_PATTERN,
                    "an http(s) URL such as \"https://metabase.example.com/\"",
                )),
        )
}

fn autoscaling() -> NestedBlock {
    NestedBlock::single(
        "autoscaling",
        Block::new()
            .description(
                "A HorizontalPodAutoscaler (`autoscaling/v2`) owned by the service, scaling the Deployment on \
                 CPU utilization (of the CPU request). The Deployment's `replicas` is then left to it: not \
                 applied, so the autoscaler's changes are no drift, and `replicas` cannot be set. Removing \
                 the block deletes the autoscaler and applies `replicas` again. Needs the metrics server in \
                 the cluster.",
            )
            .attribute(
                Attribute::optional("min_replicas", Type::Number)
                    .description("The fewest pods. Default 1.")
                    .validator(int_between(1, 50)),
            )
            .attribute(
                Attribute::required("max_replicas", Type::Number)
                    .description("The most pods.")
                    .validator(int_between(1, 50)),
            )
            .attribute(
                Attribute::optional("target_cpu_utilization", Type::Number)
                    .description("The average CPU utilization to keep, in percent of the request. Default 70.")
                    .validator(int_between(1, 100)),
            ),
    )
}

fn topology_spread() -> NestedBlock {
    NestedBlock::list(
        "topology_spread",
        Block::new()
            .description(
                "How the pods spread over a topology (`topologySpreadConstraints`, matching the service's pods \
                 by its selector labels). Left out, a service with more than one replica spreads over zones \
                 (`topology.kubernetes.io/zone`) and hosts (`kubernetes.io/hostname`), each with a skew of 1 \
                 and `ScheduleAnyway`, so a lost zone or node leaves replicas running and a single zone \
                 still schedules them all; one replica gets no constraint.",
            )
            .attribute(
                Attribute::optional("topology_key", Type::String)
                    .description("The node label whose values are the domains. Default `topology.kubernetes.io/zone`.")
                    .validator(matches(LABEL_KEY_PATTERN, "a node label key such as \"topology.kubernetes.io/zone\"")),
            )
            .attribute(
                Attribute::optional("max_skew", Type::Number)
                    .description("How many more pods one domain may have than another. Default 1.")
                    .validator(int_between(1, 100)),
            )
            .attribute(
                Attribute::optional("when_unsatisfiable", Type::String)
                    .description(
                        "`ScheduleAnyway` (default: prefer spreading) or `DoNotSchedule` (leave pods pending \
                         rather than skew more).",
                    )
                    .validator(one_of(&["ScheduleAnyway", "DoNotSchedule"])),
            ),
    )
    .items(0, 4)
}

fn affinity() -> NestedBlock {
    NestedBlock::single(
        "affinity",
        Block::new()
            .description("Pod anti-affinity across hosts and the nodes the pods may run on, besides `placement`.")
            .attribute(
                Attribute::optional("pod_anti_affinity", Type::String)
                    .description(
                        "Keep the service's pods on different nodes (`kubernetes.io/hostname`): `preferred` (the \
                         scheduler tries) or `required` (a pod stays pending rather than share a node). None \
                         when left out.",
                    )
                    .validator(one_of(&["preferred", "required"])),
            )
            .block(
                NestedBlock::list(
                    "node_affinity",
                    Block::new()
                        .description(
                            "A node label requirement every node running the pods must meet \
                             (`requiredDuringSchedulingIgnoredDuringExecution`; all of them together), e.g. \
                             `karpenter.sh/capacity-type In [on-demand]`.",
                        )
                        .attribute(
                            Attribute::required("key", Type::String)
                                .description("Node label key.")
                                .validator(matches(LABEL_KEY_PATTERN, "a node label key such as \"karpenter.sh/capacity-type\"")),
                        )
                        .attribute(
                            Attribute::required("operator", Type::String)
                                .description("`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.")
                                .validator(one_of(NODE_OPERATORS)),
                        )
                        .attribute(
                            Attribute::optional("values", Type::List(Box::new(Type::String)))
                                .description(
                                    "The label values: one or more for `In` and `NotIn`, one integer for `Gt` \
                                     and `Lt`, none for `Exists` and `DoesNotExist`.",
                                )
                                .validator(each(string_length(1, 63))),
                        ),
                )
                .items(0, 16),
            ),
    )
}

fn security_context() -> NestedBlock {
    let id = |name: &str, what: &str| {
        Attribute::optional(name, Type::Number)
            .description(what)
            .validator(int_between(0, i64::from(i32::MAX)))
    };
    NestedBlock::single(
        "security_context",
        Block::new()
            .description(
                "Who the engine runs as. Left out (or for each attribute left out), the user of the engine's \
                 image, not root: Metabase uid and gid 2000 (the `metabase` user its `run_metabase.sh` \
                 creates, `MUID`/`MGID`), Superset 1000/1000 (the `superset` user of its Dockerfile, `USER \
                 superset`), Redash 1000/1000 (the `redash` user of its Dockerfile, `USER redash`), Zeppelin \
                 uid 1000 with group 0 (its Dockerfile's `USER 1000`, its directories group-writable by \
                 root's group). `fs_group` defaults to the group, so volumes are writable; privilege \
                 escalation is always off.",
            )
            .attribute(id("run_as_user", "The user id of the processes."))
            .attribute(id("run_as_group", "The primary group id of the processes."))
            .attribute(id("fs_group", "The group that owns mounted volumes."))
            .attribute(
                Attribute::optional("run_as_non_root", Type::Bool)
                    .description("Refuse to start a container as uid 0. Default `true`."),
            )
            .attribute(
                Attribute::optional("read_only_root_filesystem", Type::Bool)
                    .description(
                        "Mount the image read-only. Default `false`: the engines write to their home and \
                         temporary directories; with `true`, mount `empty_dir` volumes where they write.",
                    ),
            ),
    )
}

fn startup_probe() -> NestedBlock {
    NestedBlock::single(
        "startup_probe",
        Block::new()
            .description(
                "How long the engine may take to start before it is restarted (the liveness and readiness \
                 probes wait for it). The budget is `initial_delay_seconds + period_seconds * \
                 failure_threshold` and must cover the engine's start: at least 300 seconds for Metabase \
                 (it runs its database migrations before serving, minutes on a first start or an upgrade), \
                 120 for Zeppelin (JVM and interpreter set-up), 60 for Superset and Redash (gunicorn start). \
                 Defaults per engine: Metabase a period of 10 seconds and 60 failures (10 minutes), Zeppelin \
                 10 and 30, Superset and Redash 10 and 18. The probe asks the engine's health endpoint.",
            )
            .attribute(
                Attribute::optional("path", Type::String)
                    .description("The HTTP path asked. Defaults to the engine's health endpoint.")
                    .validator(matches(crate::resources::ingress::schema::PATH_PATTERN, "a path starting with /")),
            )
            .attribute(
                Attribute::optional("initial_delay_seconds", Type::Number)
                    .description("Seconds before the first probe. Default 0.")
                    .validator(int_between(0, 3600)),
            )
            .attribute(
                Attribute::optional("period_seconds", Type::Number)
                    .description("Seconds between probes. Default 10.")
                    .validator(int_between(1, 300)),
            )
            .attribute(
                Attribute::optional("failure_threshold", Type::Number)
                    .description("Failed probes before the container is restarted. Default per engine (above).")
                    .validator(int_between(1, 1000)),
            ),
    )
}

fn extra_volumes() -> NestedBlock {
    let name = |attr: &str, what: &str| {
        Attribute::optional(attr, Type::String)
            .description(what)
            .validator(matches(
                SECRET_NAME_PATTERN,
                "an object name (a DNS subdomain: lowercase letters, digits, - and .)",
            ))
    };
    NestedBlock::list(
        "extra_volumes",
        Block::new()
            .description(
                "Volumes for the pods, mounted with `extra_volume_mounts`, each from exactly one source. For \
                 Metabase drivers: a volume holding the driver jars mounted at `/plugins` (or set \
                 `MB_PLUGINS_DIR` in `env` to where it is mounted).",
            )
            .attribute(
                Attribute::required("name", Type::String)
                    .description("The volume's name, which mounts refer to.")
                    .validator(matches(DNS_LABEL, "a lowercase DNS label (a-z, 0-9 and -)")),
            )
            .attribute(name("config_map", "A ConfigMap in the service's namespace."))
            .attribute(name("secret", "A Secret in the service's namespace (referenced, never read)."))
            .attribute(name("persistent_volume_claim", "A PersistentVolumeClaim in the service's namespace."))
            .attribute(
                Attribute::optional("empty_dir", Type::Bool)
                    .description("`true`: an empty directory that lives as long as the pod."),
            ),
    )
    .items(0, 20)
}

fn extra_volume_mounts() -> NestedBlock {
    NestedBlock::list(
        "extra_volume_mounts",
        Block::new()
            .description("Where the engine's container mounts `extra_volumes`.")
            .attribute(
                Attribute::required("name", Type::String)
                    .description("The name of a volume of `extra_volumes`.")
                    .validator(matches(DNS_LABEL, "a lowercase DNS label (a-z, 0-9 and -)")),
            )
            .attribute(
                Attribute::required("mount_path", Type::String)
                    .description("Absolute path in the container, e.g. `/plugins`.")
                    .validator(matches(
                        MOUNT_PATH_PATTERN,
                        "an absolute path such as \"/plugins\"",
                    )),
            )
            .attribute(
                Attribute::optional("sub_path", Type::String)
                    .description("A path inside the volume to mount instead of its root.")
                    .validator(matches(r"^[^/\s][^\s]*$", "a relative path")),
            )
            .attribute(
                Attribute::optional("read_only", Type::Bool)
                    .description("Mount read-only. Default `false`."),
            ),
    )
    .items(0, 20)
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Spread {
        pub topology_key: Option<String>,
        pub max_skew: Option<i64>,
        pub when_unsatisfiable: Option<String>,
    }
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct NodeRequirement {
        pub key: String,
        pub operator: String,
        pub values: Option<Vec<String>>,
    }
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Affinity {
        pub pod_anti_affinity: Option<String>,
        pub node_affinity: Option<Vec<NodeRequirement>>,
    }
}

crate::model! {
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct SecurityContext {
        pub run_as_user: Option<i64>,
        pub run_as_group: Option<i64>,
        pub fs_group: Option<i64>,
        pub run_as_non_root: Option<bool>,
        pub read_only_root_filesystem: Option<bool>,
    }
}

crate::model! {
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct StartupProbe {
        pub path: Option<String>,
        pub initial_delay_seconds: Option<i64>,
        pub period_seconds: Option<i64>,
        pub failure_threshold: Option<i64>,
    }
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Volume {
        pub name: String,
        pub config_map: Option<String>,
        pub secret: Option<String>,
        pub persistent_volume_claim: Option<String>,
        pub empty_dir: Option<bool>,
    }
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Mount {
        pub name: String,
        pub mount_path: String,
        pub sub_path: Option<String>,
        pub read_only: Option<bool>,
    }
}

crate::model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Autoscaling {
        pub min_replicas: Option<i64>,
        pub max_replicas: i64,
        pub target_cpu_utilization: Option<i64>,
    }
}

crate::model! {
    /// The pod settings of a planned or stored value.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct PodSettings {
        pub topology_spread: Option<Vec<Spread>>,
        pub affinity: Option<Affinity>,
        pub security_context: Option<SecurityContext>,
        pub startup_probe: Option<StartupProbe>,
        pub extra_volumes: Option<Vec<Volume>>,
        pub extra_volume_mounts: Option<Vec<Mount>>,
        pub java_opts: Option<String>,
        pub timezone: Option<String>,
        pub site_url: Option<String>,
        pub autoscaling: Option<Autoscaling>,
    }
}

impl PodSettings {
    /// `None` while something is unknown.
    pub fn from_value(v: &Value) -> Option<PodSettings> {
        <PodSettings as FromValue>::from_value(v, &AttributePath::root()).ok()
    }
}

/// The HorizontalPodAutoscaler of the service's Deployment, with `meta` as its metadata.
pub fn autoscaler_json(a: &Autoscaling, deployment: &str, meta: Json) -> Json {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": a.min_replicas.unwrap_or(1),
            "maxReplicas": a.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": a.target_cpu_utilization.unwrap_or(70),
            }}}],
        },
    })
}

/// The most pods the service runs: its replicas, or the autoscaler's maximum.
pub fn most_replicas(replicas: i64, pod: &PodSettings) -> i64 {
    pod.autoscaling
        .as_ref()
        .map_or(replicas, |a| a.max_replicas)
}

/// The engine's variables for these settings (the user's `env` still overrides them).
pub fn engine_env(engine: Engine, pod: &PodSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let (Some(opts), Some(var)) = (&pod.java_opts, engine.java_opts_var()) {
        out.push((var, opts.clone()));
    }
    if let Some(tz) = &pod.timezone {
        out.push(("TZ", tz.clone()));
        if engine == Engine::Metabase {
            out.push(("JAVA_TIMEZONE", tz.clone()));
        }
    }
    if let (Some(url), Some(var)) = (&pod.site_url, engine.site_url_var()) {
        out.push((var, url.clone()));
    }
    out
}

/// The startup probe with the engine's defaults.
pub fn startup_probe_json(engine: Engine, p: Option<&StartupProbe>) -> Json {
    let p = p.cloned().unwrap_or_default();
    let (period, failures) = engine.startup_defaults();
    json!({
        "httpGet": {"path": p.path.unwrap_or_else(|| engine.health_path().into()), "port": "http"},
        "initialDelaySeconds": p.initial_delay_seconds.unwrap_or(0),
        "periodSeconds": p.period_seconds.unwrap_or(period),
        "failureThreshold": p.failure_threshold.unwrap_or(failures),
        "timeoutSeconds": 5,
    })
}

/// The container's security context.
pub fn container_security_json(pod: &PodSettings) -> Json {
    let mut c = json!({"allowPrivilegeEscalation": false});
    if pod
        .security_context
        .as_ref()
        .and_then(|s| s.read_only_root_filesystem)
        == Some(true)
    {
        c["readOnlyRootFilesystem"] = json!(true);
    }
    c
}

/// The container's mounts, or `None` without any.
pub fn mounts_json(pod: &PodSettings) -> Option<Json> {
    let mounts = pod.extra_volume_mounts.as_ref().filter(|m| !m.is_empty())?;
    Some(Json::Array(
        mounts
            .iter()
            .map(|m| {
                let mut j = json!({"name": m.name, "mountPath": m.mount_path});
                if let Some(s) = &m.sub_path {
                    j["subPath"] = json!(s);
                }
                if m.read_only == Some(true) {
                    j["readOnly"] = json!(true);
                }
                j
            })
            .collect(),
    ))
}

/// Adds the pod-level settings to a pod spec. `selector` matches the service's pods.
pub fn apply_to_pod(
    engine: Engine,
    replicas: i64,
    pod: &PodSettings,
    selector: &BTreeMap<String, String>,
    pod_spec: &mut Json,
) {
    pod_spec["securityContext"] = pod_security_json(engine, pod.security_context.as_ref());
    let spreads = spreads_json(
        most_replicas(replicas, pod),
        pod.topology_spread.as_deref(),
        selector,
    );
    if !spreads.is_empty() {
        pod_spec["topologySpreadConstraints"] = Json::Array(spreads);
    }
    if let Some(a) = pod
        .affinity
        .as_ref()
        .and_then(|a| affinity_json(a, selector))
    {
        pod_spec["affinity"] = a;
    }
    if let Some(volumes) = pod.extra_volumes.as_ref().filter(|v| !v.is_empty()) {
        pod_spec["volumes"] = Json::Array(volumes.iter().map(volume_json).collect());
    }
}

fn pod_security_json(engine: Engine, s: Option<&SecurityContext>) -> Json {
    let s = s.cloned().unwrap_or_default();
    let (uid, gid) = engine.run_as();
    let group = s.run_as_group.unwrap_or(gid);
    json!({
        "runAsUser": s.run_as_user.unwrap_or(uid),
        "runAsGroup": group,
        "fsGroup": s.fs_group.unwrap_or(group),
        "runAsNonRoot": s.run_as_non_root.unwrap_or(true),
    })
}

fn spreads_json(
    replicas: i64,
    given: Option<&[Spread]>,
    selector: &BTreeMap<String, String>,
) -> Vec<Json> {
    let one = |key: &str, skew: i64, when: &str| {
        json!({
            "maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": selector},
        })
    };
    match given {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|s| {
                one(
                    s.topology_key.as_deref().unwrap_or(ZONE_KEY),
                    s.max_skew.unwrap_or(1),
                    s.when_unsatisfiable.as_deref().unwrap_or("ScheduleAnyway"),
                )
            })
            .collect(),
        _ if replicas > 1 => vec![
            one(ZONE_KEY, 1, "ScheduleAnyway"),
            one(HOSTNAME_KEY, 1, "ScheduleAnyway"),
        ],
        _ => Vec::new(),
    }
}

fn affinity_json(a: &Affinity, selector: &BTreeMap<String, String>) -> Option<Json> {
    let mut out = Map::new();
    let term = json!({"labelSelector": {"matchLabels": selector}, "topologyKey": HOSTNAME_KEY});
    match a.pod_anti_affinity.as_deref() {
        Some("preferred") => {
            out.insert(
                "podAntiAffinity".into(),
                json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}),
            );
        }
        Some("required") => {
            out.insert(
                "podAntiAffinity".into(),
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [term]}),
            );
        }
        _ => {}
    }
    if let Some(reqs) = a.node_affinity.as_ref().filter(|r| !r.is_empty()) {
        let expressions: Vec<Json> = reqs
            .iter()
            .map(|r| {
                let mut e = json!({"key": r.key, "operator": r.operator});
                if let Some(v) = r.values.as_ref().filter(|v| !v.is_empty()) {
                    e["values"] = json!(v);
                }
                e
            })
            .collect();
        out.insert(
            "nodeAffinity".into(),
            json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": expressions}]}}),
        );
    }
    (!out.is_empty()).then_some(Json::Object(out))
}

fn volume_json(v: &Volume) -> Json {
    let mut j = json!({"name": v.name});
    if let Some(c) = &v.config_map {
        j["configMap"] = json!({"name": c});
    } else if let Some(s) = &v.secret {
        j["secret"] = json!({"secretName": s});
    } else if let Some(c) = &v.persistent_volume_claim {
        j["persistentVolumeClaim"] = json!({"claimName": c});
    } else {
        j["emptyDir"] = json!({});
    }
    j
}

crate::model! {
    /// What the checks read of a configuration (any of it may not be known yet).
    struct Checked {
        engine: Field<String>,
        java_opts: Field<Value>,
        site_url: Field<Value>,
        security_context: Field<SecurityChecked>,
        startup_probe: Field<ProbeChecked>,
        affinity: Field<AffinityChecked>,
        extra_volumes: Field<Vec<VolumeChecked>>,
        extra_volume_mounts: Field<Vec<MountChecked>>,
        autoscaling: Field<AutoscalingChecked>,
    }
}

crate::model! {
    struct AutoscalingChecked {
        min_replicas: Field<i64>,
        max_replicas: Field<i64>,
    }
}

crate::model! {
    struct SecurityChecked {
        run_as_user: Field<i64>,
        run_as_non_root: Field<bool>,
    }
}

crate::model! {
    struct ProbeChecked {
        initial_delay_seconds: Field<i64>,
        period_seconds: Field<i64>,
        failure_threshold: Field<i64>,
    }
}

crate::model! {
    struct AffinityChecked {
        node_affinity: Field<Vec<NodeChecked>>,
    }
}

crate::model! {
    struct NodeChecked {
        operator: Field<String>,
        values: Field<Vec<Value>>,
    }
}

crate::model! {
    struct VolumeChecked {
        name: Field<String>,
        config_map: Field<Value>,
        secret: Field<Value>,
        persistent_volume_claim: Field<Value>,
        empty_dir: Field<Value>,
    }
}

crate::model! {
    struct MountChecked {
        name: Field<String>,
    }
}

/// The pod settings' checks, each at the attribute it is about.
pub fn check(config: &Value, diags: &mut Diagnostics) {
    let c = match Checked::read(config) {
        Ok(c) => c,
        Err(d) => return diags.push(d),
    };
    let engine = c.engine.known().and_then(|e| Engine::parse(e));
    if let Some(engine) = engine {
        check_engine_env(engine, &c, diags);
        check_startup(engine, &c, diags);
    }
    check_security(&c, diags);
    check_node_affinity(&c, diags);
    check_volumes(&c, diags);
    if let Field::Known(a) = &c.autoscaling {
        if let (Field::Known(min), Field::Known(max)) = (&a.min_replicas, &a.max_replicas) {
            if min > max {
                diags.attribute_error(
                    AttributePath::root()
                        .attr("autoscaling")
                        .attr("min_replicas"),
                    "Invalid autoscaling range",
                    format!("min_replicas ({min}) is above max_replicas ({max})."),
                );
            }
        }
    }
}

fn check_engine_env(engine: Engine, c: &Checked, diags: &mut Diagnostics) {
    if c.java_opts.is_set() && engine.java_opts_var().is_none() {
        diags.attribute_error(
            AttributePath::root().attr("java_opts"),
            "Not supported by the engine",
            format!(
                "{} runs no JVM: java_opts applies to metabase and zeppelin.",
                engine.name()
            ),
        );
    }
    if c.site_url.is_set() && engine.site_url_var().is_none() {
        diags.attribute_error(
            AttributePath::root().attr("site_url"),
            "Not supported by the engine",
            format!(
                "{} reads no site URL from its environment: site_url applies to metabase (MB_SITE_URL) and redash (REDASH_HOST).",
                engine.name()
            ),
        );
    }
}

fn check_startup(engine: Engine, c: &Checked, diags: &mut Diagnostics) {
    let Field::Known(p) = &c.startup_probe else {
        return;
    };
    let (period, failures) = engine.startup_defaults();
    let value = |f: &Field<i64>, default: i64| match f {
        Field::Known(v) => Some(*v),
        Field::Null => Some(default),
        Field::Unknown => None,
    };
    let (Some(delay), Some(period), Some(failures)) = (
        value(&p.initial_delay_seconds, 0),
        value(&p.period_seconds, period),
        value(&p.failure_threshold, failures),
    ) else {
        return;
    };
    let budget = delay + period * failures;
    let minimum = engine.startup_minimum();
    if budget < minimum {
        // At the attribute that was set, the threshold first: it is what users shorten.
        let at = [
            ("failure_threshold", &p.failure_threshold),
            ("period_seconds", &p.period_seconds),
            ("initial_delay_seconds", &p.initial_delay_seconds),
        ]
        .into_iter()
        .find(|(_, f)| f.is_set())
        .map_or("failure_threshold", |(n, _)| n);
        diags.attribute_error(
            AttributePath::root().attr("startup_probe").attr(at),
            "Startup probe too short",
            format!(
                "The startup budget (initial_delay_seconds + period_seconds * failure_threshold) is {budget} \
                 seconds: {} needs at least {minimum} to start, or it is restarted before it serves.",
                engine.name()
            ),
        );
    }
}

fn check_security(c: &Checked, diags: &mut Diagnostics) {
    let Field::Known(s) = &c.security_context else {
        return;
    };
    if matches!(s.run_as_user, Field::Known(0)) && !matches!(s.run_as_non_root, Field::Known(false))
    {
        diags.attribute_error(
            AttributePath::root().attr("security_context").attr("run_as_user"),
            "Root with run_as_non_root",
            "run_as_user 0 is root, which run_as_non_root (default true) refuses: set run_as_non_root = false \
             to run as root.",
        );
    }
}

fn check_node_affinity(c: &Checked, diags: &mut Diagnostics) {
    let Field::Known(a) = &c.affinity else {
        return;
    };
    let Field::Known(reqs) = &a.node_affinity else {
        return;
    };
    for (i, r) in reqs.iter().enumerate() {
        let (Field::Known(op), values) = (&r.operator, &r.values) else {
            continue;
        };
        let count = match values {
            Field::Known(v) => Some(v.len()),
            Field::Null => Some(0),
            Field::Unknown => None,
        };
        let Some(count) = count else { continue };
        let wrong = match op.as_str() {
            "In" | "NotIn" => (count == 0).then_some("needs at least one value"),
            "Exists" | "DoesNotExist" => (count > 0).then_some("takes no values"),
            "Gt" | "Lt" => (count != 1).then_some("takes exactly one integer value"),
            _ => None,
        };
        if let Some(wrong) = wrong {
            diags.attribute_error(
                AttributePath::root()
                    .attr("affinity")
                    .attr("node_affinity")
                    .index(i as i64)
                    .attr("values"),
                "Invalid node requirement",
                format!("The operator {op} {wrong}."),
            );
        }
    }
}

fn check_volumes(c: &Checked, diags: &mut Diagnostics) {
    let mut declared = Vec::new();
    let mut all_known = true;
    if let Field::Known(volumes) = &c.extra_volumes {
        for (i, v) in volumes.iter().enumerate() {
            let sources = [
                &v.config_map,
                &v.secret,
                &v.persistent_volume_claim,
                &v.empty_dir,
            ];
            let given = sources.iter().filter(|f| f.is_set()).count();
            let unknown = sources.iter().any(|f| f.is_unknown());
            if given != 1 && !(given == 0 && unknown) {
                diags.attribute_error(
                    AttributePath::root()
                        .attr("extra_volumes")
                        .index(i as i64)
                        .attr("name"),
                    "Invalid volume",
                    "Set exactly one of config_map, secret, persistent_volume_claim and empty_dir.",
                );
            }
            match &v.name {
                Field::Known(n) => {
                    if declared.contains(n) {
                        diags.attribute_error(
                            AttributePath::root()
                                .attr("extra_volumes")
                                .index(i as i64)
                                .attr("name"),
                            "Duplicate volume",
                            format!("Another volume is already named {n:?}."),
                        );
                    }
                    declared.push(n.clone());
                }
                _ => all_known = false,
            }
        }
    } else if c.extra_volumes.is_unknown() {
        all_known = false;
    }
    let Field::Known(mounts) = &c.extra_volume_mounts else {
        return;
    };
    for (i, m) in mounts.iter().enumerate() {
        if let Field::Known(n) = &m.name {
            if all_known && !declared.contains(n) {
                diags.attribute_error(
                    AttributePath::root()
                        .attr("extra_volume_mounts")
                        .index(i as i64)
                        .attr("name"),
                    "Unknown volume",
                    format!("No volume of extra_volumes is named {n:?}: declare it there."),
                );
            }
        }
    }
}
