//! An Ingress in front of a Service, for every resource that has one (BI services, a Spark
//! pool's history server): the `ingress` block ([`schema`]), its checks, the object
//! ([`render`]) and what its controller gives back ([`live`]).
//!
//! The AWS Load Balancer Controller serves the class `alb` (the default) and, by this
//! provider's convention, classes named `alb-*` (one IngressClass per scheme or group is a
//! common setup). Its arguments are annotations no other controller reads: given with another
//! class they would be silently ignored, so the plan refuses them, naming the argument. The
//! reverse holds for `tls_secret_name`: an ALB takes its certificate from ACM, never from a
//! Secret.

pub mod live;
pub mod render;
pub mod schema;

use std::collections::BTreeMap;

use crate::framework::{Diagnostics, Field, FromValue, SetOf};
use crate::value::{AttributePath, Value};

pub use schema::{block, HealthCheck};

/// The default `class`.
pub const DEFAULT_CLASS: &str = "alb";

/// Whether the AWS Load Balancer Controller serves an ingress class.
pub fn is_alb_class(class: &str) -> bool {
    class == DEFAULT_CLASS || class.starts_with("alb-")
}

crate::model! {
    /// The `ingress` arguments the configuration gives.
    struct Given {
        class: Field<String>,
        scheme: Field<Value>,
        group_name: Field<Value>,
        target_type: Field<Value>,
        certificate_arn: Field<Value>,
        ssl_redirect: Field<Value>,
        inbound_cidrs: Field<Value>,
        health_check_path: Field<Value>,
        wafv2_acl_arn: Field<Value>,
        tls_secret_name: Field<Value>,
    }
}

impl Given {
    /// The ALB-only arguments given, by name.
    fn alb_only(&self) -> Vec<&'static str> {
        [
            ("scheme", &self.scheme),
            ("group_name", &self.group_name),
            ("target_type", &self.target_type),
            ("certificate_arn", &self.certificate_arn),
            ("ssl_redirect", &self.ssl_redirect),
            ("inbound_cidrs", &self.inbound_cidrs),
            ("health_check_path", &self.health_check_path),
            ("wafv2_acl_arn", &self.wafv2_acl_arn),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_set())
        .map(|(name, _)| name)
        .collect()
    }
}

/// Refuses ALB-only arguments with another controller's class, and a TLS Secret with an ALB
/// class, in the `ingress` block at `at` of a configuration. Only arguments the configuration
/// gives are checked (defaults are never refused); a class not known yet is checked when it is.
pub fn check_config(config: &Value, at: &AttributePath, diags: &mut Diagnostics) {
    let Some(block) = config.walk(at) else { return };
    let ingress = match Field::<Given>::from_value(block, at) {
        Ok(Field::Known(i)) => i,
        Ok(_) => return,
        Err(d) => return diags.push(d),
    };
    let block_path = at;
    let class = match &ingress.class {
        Field::Unknown => return,
        Field::Known(c) => c.clone(),
        Field::Null => DEFAULT_CLASS.to_string(),
    };
    let at = |name: &str| block_path.clone().attr(name);
    if is_alb_class(&class) {
        // With certificate_arn too, the block's conflicts_with rule already says it.
        if ingress.tls_secret_name.is_set() && !ingress.certificate_arn.is_set() {
            diags.attribute_error(
                at("tls_secret_name"),
                "TLS Secret with an ALB",
                format!(
                    "The AWS Load Balancer Controller serves class {class:?} and takes certificates \
                     from ACM, never from a Secret: use certificate_arn, or set class to the ingress \
                     class of the controller that reads the Secret."
                ),
            );
        }
        return;
    }
    for name in ingress.alb_only() {
        let path = at(name);
        diags.attribute_error(
            path.clone(),
            "Argument for the AWS Load Balancer Controller only",
            format!(
                "{path} is written as an annotation of the AWS Load Balancer Controller, which \
                 serves the class \"alb\" and classes named alb-*; class {class:?} belongs to another \
                 controller, which would ignore it. Remove {name}, or use an ALB class."
            ),
        );
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    pub host: String,
    pub path: String,
    pub class: String,
    pub scheme: String,
    pub group_name: Option<String>,
    pub target_type: String,
    pub certificate_arn: Option<String>,
    /// Redirect HTTP to HTTPS (with a certificate).
    pub ssl_redirect: bool,
    /// Sorted.
    pub inbound_cidrs: Vec<String>,
    pub health_check_path: String,
    pub wafv2_acl_arn: Option<String>,
    pub tls_secret_name: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// Wait at apply until the controller gives the Ingress an address.
    pub wait_for_load_balancer: bool,
}

impl Ingress {
    /// Served by the AWS Load Balancer Controller: its annotations apply.
    pub fn is_alb(&self) -> bool {
        is_alb_class(&self.class)
    }

    /// Served over HTTPS: an ACM certificate on the ALB, or a TLS Secret.
    pub fn https(&self) -> bool {
        self.certificate_arn.is_some() || self.tls_secret_name.is_some()
    }
}

crate::model! {
    /// The `ingress` block.
    pub struct IngressModel {
        host: String,
        path: Option<String>,
        class: Option<String>,
        scheme: Option<String>,
        group_name: Option<String>,
        target_type: Option<String>,
        certificate_arn: Option<String>,
        ssl_redirect: Option<bool>,
        inbound_cidrs: Option<SetOf<String>>,
        health_check_path: Option<String>,
        wafv2_acl_arn: Option<String>,
        tls_secret_name: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
        wait_for_load_balancer: Option<bool>,
    }
}

impl IngressModel {
    /// The Ingress, with the defaults the schema declares; `health_check_path` left out is
    /// `default_health_path`.
    pub fn into_ingress(self, default_health_path: &str) -> Ingress {
        let mut inbound_cidrs = self.inbound_cidrs.map(|s| s.0).unwrap_or_default();
        inbound_cidrs.sort();
        inbound_cidrs.dedup();
        Ingress {
            host: self.host,
            path: self.path.unwrap_or_else(|| "/".into()),
            class: self.class.unwrap_or_else(|| DEFAULT_CLASS.into()),
            scheme: self.scheme.unwrap_or_else(|| "internal".into()),
            group_name: self.group_name,
            target_type: self.target_type.unwrap_or_else(|| "ip".into()),
            certificate_arn: self.certificate_arn,
            ssl_redirect: self.ssl_redirect.unwrap_or(true),
            inbound_cidrs,
            health_check_path: self
                .health_check_path
                .unwrap_or_else(|| default_health_path.into()),
            wafv2_acl_arn: self.wafv2_acl_arn,
            tls_secret_name: self.tls_secret_name,
            annotations: self.annotations.unwrap_or_default(),
            wait_for_load_balancer: self.wait_for_load_balancer.unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ingress: Vec<(&str, Value)>) -> Value {
        let mut fields = vec![("host", Value::string("m.example.com"))];
        fields.extend(ingress);
        Value::object(vec![("ingress", Value::object(fields))])
    }

    fn paths(v: &Value) -> Vec<String> {
        let mut d = Diagnostics::new();
        check_config(v, &AttributePath::root().attr("ingress"), &mut d);
        d.iter()
            .map(|x| {
                x.attribute
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn alb_classes_are_the_default_and_alb_prefixed_ones() {
        assert!(is_alb_class("alb"));
        assert!(is_alb_class("alb-internal"));
        assert!(!is_alb_class("nginx"));
        assert!(!is_alb_class("albatross"));
    }

    #[test]
    fn alb_only_arguments_with_another_class_are_refused_by_name() {
        let c = config(vec![
            ("class", Value::string("nginx")),
            ("scheme", Value::string("internal")),
            (
                "inbound_cidrs",
                Value::set(vec![Value::string("10.0.0.0/8")]),
            ),
            ("wafv2_acl_arn", Value::Unknown),
            ("tls_secret_name", Value::string("metabase-tls")),
            ("group_name", Value::Null),
        ]);
        assert_eq!(
            paths(&c),
            vec![
                "ingress.scheme",
                "ingress.inbound_cidrs",
                "ingress.wafv2_acl_arn"
            ]
        );
    }

    #[test]
    fn alb_arguments_with_an_alb_class_and_a_class_not_known_yet_pass() {
        let alb = config(vec![
            ("class", Value::string("alb-internal")),
            ("ssl_redirect", Value::bool(false)),
            ("health_check_path", Value::string("/ready")),
        ]);
        assert!(paths(&alb).is_empty());
        let pending = config(vec![
            ("class", Value::Unknown),
            ("tls_secret_name", Value::string("metabase-tls")),
        ]);
        assert!(paths(&pending).is_empty());
        assert!(paths(&Value::object(vec![("ingress", Value::Null)])).is_empty());
    }

    #[test]
    fn a_tls_secret_with_an_alb_class_is_refused() {
        let default_class = config(vec![("tls_secret_name", Value::string("metabase-tls"))]);
        assert_eq!(paths(&default_class), vec!["ingress.tls_secret_name"]);
        // Together with certificate_arn the conflicts_with rule reports it, once.
        let both = config(vec![
            ("tls_secret_name", Value::string("metabase-tls")),
            (
                "certificate_arn",
                Value::string("arn:aws:acm:eu-central-1:123456789012:certificate/x"),
            ),
        ]);
        assert!(paths(&both).is_empty());
    }
}
