//! The provider configuration read into typed settings. Reading it does no I/O; values that
//! are not known yet (during plan, e.g. a cluster endpoint created in the same apply) are
//! kept as [`Setting::Unknown`] and resolved when core configures the provider for apply.

use std::collections::BTreeMap;

use crate::framework::{Diagnostic, Diagnostics, FromValue, Obj};
use crate::value::Value;

/// A configuration value: left out, not known until apply, or set.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Setting<T> {
    #[default]
    Unset,
    Unknown,
    Set(T),
}

impl<T> Setting<T> {
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Setting::Set(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Setting::Unknown)
    }
}

fn setting<T: FromValue>(obj: &Obj<'_>, name: &str, diags: &mut Diagnostics) -> Setting<T> {
    let v = obj.value(name);
    if v.is_null() {
        return Setting::Unset;
    }
    if v.is_unknown() {
        return Setting::Unknown;
    }
    match obj.get::<T>(name) {
        Ok(t) => Setting::Set(t),
        Err(d) => {
            diags.push(d);
            Setting::Unset
        }
    }
}

/// `assume_role { ... }`.
#[derive(Clone, PartialEq, Default)]
pub struct AssumeRole {
    pub role_arn: Setting<String>,
    pub session_name: Setting<String>,
    /// Sensitive: never logged.
    pub external_id: Setting<String>,
}

/// `endpoints { ... }`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Endpoints {
    pub eks: Setting<String>,
    pub autoscaling: Setting<String>,
    pub ec2: Setting<String>,
    pub sts: Setting<String>,
}

/// `kubernetes { ... }`.
#[derive(Clone, PartialEq, Default)]
pub struct KubernetesSettings {
    pub host: Setting<String>,
    /// Sensitive: never logged.
    pub token: Setting<String>,
    pub cluster_ca_certificate: Setting<String>,
    pub config_path: Setting<String>,
    pub config_context: Setting<String>,
    pub insecure: Setting<bool>,
}

fn redacted(s: &Setting<String>) -> &'static str {
    match s {
        Setting::Unset => "Unset",
        Setting::Unknown => "Unknown",
        Setting::Set(_) => "Set(<redacted>)",
    }
}

impl std::fmt::Debug for AssumeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRole")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("external_id", &redacted(&self.external_id))
            .finish()
    }
}

impl std::fmt::Debug for KubernetesSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesSettings")
            .field("host", &self.host)
            .field("token", &redacted(&self.token))
            .field(
                "cluster_ca_certificate",
                &self.cluster_ca_certificate.as_option().map(|_| "<pem>"),
            )
            .field("config_path", &self.config_path)
            .field("config_context", &self.config_context)
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// Everything the provider block says.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ProviderConfig {
    pub region: Setting<String>,
    pub profile: Setting<String>,
    pub shared_config_files: Setting<Vec<String>>,
    pub cluster_name: Setting<String>,
    pub max_retries: Setting<i64>,
    pub assume_role: Option<AssumeRole>,
    pub endpoints: Endpoints,
    pub default_tags: Setting<BTreeMap<String, String>>,
    pub kubernetes: Option<KubernetesSettings>,
}

impl ProviderConfig {
    /// Reads the configuration object.
    pub fn from_value(config: &Value) -> (ProviderConfig, Diagnostics) {
        let mut d = Diagnostics::new();
        let root = Obj::new(config);
        let mut c = ProviderConfig {
            region: setting(&root, "region", &mut d),
            profile: setting(&root, "profile", &mut d),
            shared_config_files: setting(&root, "shared_config_files", &mut d),
            cluster_name: setting(&root, "cluster_name", &mut d),
            max_retries: setting(&root, "max_retries", &mut d),
            ..ProviderConfig::default()
        };
        let ar = root.obj("assume_role");
        if !ar.is_null() {
            c.assume_role = Some(AssumeRole {
                role_arn: setting(&ar, "role_arn", &mut d),
                session_name: setting(&ar, "session_name", &mut d),
                external_id: setting(&ar, "external_id", &mut d),
            });
        }
        let ep = root.obj("endpoints");
        if !ep.is_null() {
            c.endpoints = Endpoints {
                eks: setting(&ep, "eks", &mut d),
                autoscaling: setting(&ep, "autoscaling", &mut d),
                ec2: setting(&ep, "ec2", &mut d),
                sts: setting(&ep, "sts", &mut d),
            };
        }
        let dt = root.obj("default_tags");
        if !dt.is_null() {
            c.default_tags = setting(&dt, "tags", &mut d);
        }
        let k = root.obj("kubernetes");
        if !k.is_null() {
            c.kubernetes = Some(KubernetesSettings {
                host: setting(&k, "host", &mut d),
                token: setting(&k, "token", &mut d),
                cluster_ca_certificate: setting(&k, "cluster_ca_certificate", &mut d),
                config_path: setting(&k, "config_path", &mut d),
                config_context: setting(&k, "config_context", &mut d),
                insecure: setting(&k, "insecure", &mut d),
            });
        }
        (c, d)
    }

    /// Cross-attribute rules, checked at validate time with paths.
    pub fn check(&self, diags: &mut Diagnostics) {
        let root = crate::value::AttributePath::root();
        if let Some(tags) = self.default_tags.as_option() {
            for key in tags.keys() {
                if key.to_ascii_lowercase().starts_with("aws:") {
                    diags.push(
                        Diagnostic::error(
                            "Reserved tag key",
                            format!("Tag keys starting with \"aws:\" are reserved by AWS; {key:?} cannot be set."),
                        )
                        .at(root.clone().attr("default_tags").attr("tags").key(key)),
                    );
                }
            }
        }
        // The other Kubernetes combinations are rules of the schema's `kubernetes` block.
        let Some(k) = &self.kubernetes else { return };
        let kpath = root.attr("kubernetes");
        let set = |s: &Setting<String>| !matches!(s, Setting::Unset);
        if k.insecure == Setting::Set(true) && set(&k.cluster_ca_certificate) {
            diags.push(
                Diagnostic::error(
                    "Conflicting TLS settings",
                    "insecure = true skips certificate verification, so cluster_ca_certificate would be ignored: \
                     remove one of them.",
                )
                .at(kpath.attr("insecure")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Provider;
    use crate::value::Value;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let base = crate::provider::DataplatformProvider
            .schema()
            .block
            .null_object();
        let mut m = base.as_map().cloned().unwrap_or_default();
        for (k, v) in pairs {
            m.insert(k.to_string(), v);
        }
        Value::object(m)
    }

    #[test]
    fn reads_known_unknown_and_unset() {
        let v = config(vec![
            ("region", Value::string("eu-central-1")),
            ("profile", Value::Unknown),
        ]);
        let (c, d) = ProviderConfig::from_value(&v);
        assert!(d.is_empty());
        assert_eq!(c.region, Setting::Set("eu-central-1".to_string()));
        assert_eq!(c.profile, Setting::Unknown);
        assert!(c.kubernetes.is_none());
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let k = KubernetesSettings {
            token: Setting::Set("s3cr3t-token".into()),
            ..Default::default()
        };
        let a = AssumeRole {
            external_id: Setting::Set("ext-s3cr3t".into()),
            ..Default::default()
        };
        let text = format!("{k:?} {a:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    /// A rule of the schema's `kubernetes` block.
    #[test]
    fn host_and_config_path_conflict() {
        let k = Value::object(vec![
            ("host", Value::string("https://k8s.example.com")),
            ("token", Value::Null),
            ("cluster_ca_certificate", Value::Null),
            ("config_path", Value::string("~/.kube/config")),
            ("config_context", Value::Null),
            ("insecure", Value::Null),
        ]);
        let schema = crate::provider::DataplatformProvider.schema();
        let d = crate::framework::validate::validate_config(
            &schema.block,
            &config(vec![("kubernetes", k)]),
            Default::default(),
        );
        assert!(d.has_errors());
        let path = d
            .iter()
            .next()
            .and_then(|x| x.attribute.clone())
            .map(|p| p.to_string());
        assert_eq!(path.as_deref(), Some("kubernetes.config_path"));
    }
}
