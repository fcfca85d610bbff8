//! Discovery documents (`/version`, `/api`, `/apis`, `/apis/{group}/{version}`) built from
//! kube-fake-client's built-in resource table plus the custom resources this server knows.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_fake_client::discovery as builtin;
use serde_json::{json, Value};

/// A custom resource served without any CRD installed.
pub struct CustomKind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
}

pub const CUSTOM_KINDS: &[CustomKind] = &[
    CustomKind {
        group: "monitoring.coreos.com",
        version: "v1",
        kind: "ServiceMonitor",
        plural: "servicemonitors",
        singular: "servicemonitor",
        short_names: &["smon"],
    },
    CustomKind {
        group: "monitoring.coreos.com",
        version: "v1",
        kind: "PodMonitor",
        plural: "podmonitors",
        singular: "podmonitor",
        short_names: &["pmon"],
    },
    CustomKind {
        group: "monitoring.coreos.com",
        version: "v1",
        kind: "PrometheusRule",
        plural: "prometheusrules",
        singular: "prometheusrule",
        short_names: &["promrule"],
    },
    CustomKind {
        group: "sparkoperator.k8s.io",
        version: "v1beta2",
        kind: "SparkApplication",
        plural: "sparkapplications",
        singular: "sparkapplication",
        short_names: &["sparkapp"],
    },
    CustomKind {
        group: "sparkoperator.k8s.io",
        version: "v1beta2",
        kind: "ScheduledSparkApplication",
        plural: "scheduledsparkapplications",
        singular: "scheduledsparkapplication",
        short_names: &["scheduledsparkapp"],
    },
];

/// The stand-in type Namespaces are stored as (kube-fake-client cannot route
/// `/api/v1/namespaces[/name]`). It is namespaced, in [`NS_HOLDER`].
pub const NS_GROUP: &str = "internal.kube-sandbox.local";
pub const NS_VERSION: &str = "v1";
pub const NS_KIND: &str = "SandboxNamespace";
pub const NS_PLURAL: &str = "sandboxnamespaces";
pub const NS_HOLDER: &str = "kube-sandbox-namespaces";

macro_rules! marker_resource {
    ($ty:ident, $group:expr, $version:expr, $kind:expr, $plural:expr) => {
        #[derive(Clone, Debug, Default)]
        pub struct $ty {
            metadata: ObjectMeta,
        }
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;
            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($version)
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

marker_resource!(
    ServiceMonitor,
    "monitoring.coreos.com",
    "v1",
    "ServiceMonitor",
    "servicemonitors"
);
marker_resource!(
    PodMonitor,
    "monitoring.coreos.com",
    "v1",
    "PodMonitor",
    "podmonitors"
);
marker_resource!(
    PrometheusRule,
    "monitoring.coreos.com",
    "v1",
    "PrometheusRule",
    "prometheusrules"
);
marker_resource!(
    SparkApplication,
    "sparkoperator.k8s.io",
    "v1beta2",
    "SparkApplication",
    "sparkapplications"
);
marker_resource!(
    ScheduledSparkApplication,
    "sparkoperator.k8s.io",
    "v1beta2",
    "ScheduledSparkApplication",
    "scheduledsparkapplications"
);
marker_resource!(SandboxNamespace, NS_GROUP, NS_VERSION, NS_KIND, NS_PLURAL);

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0",
        "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T17:59:15Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// One resource of the server: (group, version, kind, plural, namespaced).
#[derive(Clone, Debug)]
pub struct Res {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

/// Custom API groups left out, as in a cluster where their CRDs are not installed
/// (`--without-api-group`, `POST /_sandbox/api-groups`).
static WITHOUT_GROUPS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Leaves the custom kinds of `groups` out of discovery and the API (404, as an API server
/// answers for a kind whose CRD is not installed); an empty list serves them all again, as
/// once the CRDs are installed.
pub fn set_without_groups(groups: Vec<String>) {
    if let Ok(mut g) = WITHOUT_GROUPS.write() {
        *g = groups;
    }
}

fn served(c: &CustomKind) -> bool {
    WITHOUT_GROUPS
        .read()
        .map_or(true, |g| !g.iter().any(|g| g == c.group))
}

/// Every resource served, built-in and custom (Namespaces included, the stand-in excluded).
pub fn resources() -> Vec<Res> {
    let mut out: Vec<Res> = builtin::list_resources()
        .iter()
        .map(|(g, v, k, p)| Res {
            group: g.to_string(),
            version: v.to_string(),
            kind: k.to_string(),
            plural: p.to_string(),
            namespaced: builtin::is_namespaced(g, v, k).unwrap_or(true),
        })
        .collect();
    out.extend(CUSTOM_KINDS.iter().filter(|c| served(c)).map(|c| Res {
        group: c.group.into(),
        version: c.version.into(),
        kind: c.kind.into(),
        plural: c.plural.into(),
        namespaced: true,
    }));
    out
}

/// Namespaced resources: what deleting a namespace has to delete.
pub fn namespaced_resources() -> Vec<Res> {
    resources().into_iter().filter(|r| r.namespaced).collect()
}

pub fn lookup(group: &str, version: &str, plural: &str) -> Option<Res> {
    resources()
        .into_iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

fn custom(group: &str, version: &str, kind: &str) -> Option<&'static CustomKind> {
    CUSTOM_KINDS
        .iter()
        .find(|c| c.group == group && c.version == version && c.kind == kind)
}

fn api_resource(r: &Res) -> Vec<Value> {
    let (singular, short, verbs, status): (String, Vec<&str>, Vec<&str>, bool) =
        match custom(&r.group, &r.version, &r.kind) {
            Some(c) => (
                c.singular.to_string(),
                c.short_names.to_vec(),
                VERBS.to_vec(),
                true,
            ),
            None => (
                builtin::get_singular(&r.group, &r.version, &r.kind)
                    .unwrap_or_default()
                    .to_string(),
                builtin::get_short_names(&r.group, &r.version, &r.kind).to_vec(),
                VERBS
                    .iter()
                    .copied()
                    .filter(|v| builtin::supports_verb(&r.group, &r.version, &r.kind, v))
                    .collect(),
                builtin::has_subresource(&r.group, &r.version, &r.kind, "status"),
            ),
        };
    let mut main = json!({
        "name": r.plural,
        "singularName": singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": verbs,
    });
    if !short.is_empty() {
        main["shortNames"] = json!(short);
    }
    let mut out = vec![main];
    if status {
        out.push(json!({
            "name": format!("{}/status", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    out
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `/api/v1` or `/apis/{group}/{version}`; `None` for an unknown group version.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let items: Vec<Value> = resources()
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .flat_map(api_resource)
        .collect();
    if items.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": items,
    }))
}

pub fn api_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

/// Orders versions as Kubernetes does: GA before beta before alpha, higher numbers first.
fn version_rank(v: &str) -> (u8, i64, i64) {
    let rest = v.trim_start_matches('v');
    let (major, tail) = rest
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| (&rest[..i], &rest[i..]))
        .unwrap_or((rest, ""));
    let major: i64 = major.parse().unwrap_or(0);
    let (stage, minor) = if let Some(n) = tail.strip_prefix("beta") {
        (1, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (0, n.parse().unwrap_or(0))
    } else {
        (2, 0)
    };
    (stage, major, minor)
}

fn groups() -> BTreeMap<String, Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in resources().into_iter().filter(|r| !r.group.is_empty()) {
        let versions = groups.entry(r.group).or_default();
        if !versions.contains(&r.version) {
            versions.push(r.version);
        }
    }
    for versions in groups.values_mut() {
        versions.sort_by_key(|v| std::cmp::Reverse(version_rank(v)));
    }
    groups
}

fn api_group(name: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": gvs,
        "preferredVersion": gvs[0],
    })
}

pub fn api_group_list() -> Value {
    let groups: Vec<Value> = groups()
        .iter()
        .map(|(name, versions)| api_group(name, versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group_doc(name: &str) -> Option<Value> {
    let groups = groups();
    let versions = groups.get(name)?;
    let mut g = api_group(name, versions);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        let core = resource_list("", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        for n in [
            "namespaces",
            "pods",
            "services",
            "secrets",
            "configmaps",
            "serviceaccounts",
            "events",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        let ns = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "namespaces")
            .unwrap();
        assert_eq!(ns["namespaced"], false);
        let apps = resource_list("apps", "v1").unwrap();
        assert!(apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "deployments" && r["namespaced"] == true));
        let mon = resource_list("monitoring.coreos.com", "v1").unwrap();
        assert!(mon.to_string().contains("prometheusrules"));
        assert!(resource_list("sparkoperator.k8s.io", "v1beta2").is_some());
        assert!(resource_list(NS_GROUP, NS_VERSION).is_none());
        let list = api_group_list();
        let autoscaling = list["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "autoscaling")
            .unwrap();
        assert_eq!(autoscaling["preferredVersion"]["version"], "v2");
        for g in [
            "apps",
            "networking.k8s.io",
            "policy",
            "rbac.authorization.k8s.io",
        ] {
            assert!(api_group_doc(g).is_some(), "{g}");
        }
    }
}
