//! Which ingress controller serves a BI service's Ingress, and the arguments that only mean
//! something to one of them.
//!
//! The AWS Load Balancer Controller serves the class `alb` (the default) and, by this
//! resource's convention, classes named `alb-*` (one IngressClass per scheme or group is a
//! common setup). Its arguments are annotations no other controller reads: given with another
//! class they would be silently ignored, so the plan refuses them, naming the argument. The
//! reverse holds for `tls_secret_name`: an ALB takes its certificate from ACM, never from a
//! Secret.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::model::Spec;
use crate::clients::ingress::{self, IngressError};
use crate::clients::kube::{Kube, ObjectRef};
use crate::framework::{Diagnostic, Diagnostics, Field, FromValue};
use crate::resources::kube_objects::handover::Handover;
use crate::value::{AttributePath, Value};

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

crate::model! {
    struct Config {
        ingress: Field<Given>,
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
/// class. Only arguments the configuration gives are checked (defaults are never refused);
/// a class not known yet is checked when it is.
pub fn check_config(config: &Value, diags: &mut Diagnostics) {
    let ingress = match Config::read(config).map(|c| c.ingress) {
        Ok(Field::Known(i)) => i,
        Ok(_) => return,
        Err(d) => return diags.push(d),
    };
    let class = match &ingress.class {
        Field::Unknown => return,
        Field::Known(c) => c.clone(),
        Field::Null => DEFAULT_CLASS.to_string(),
    };
    let at = |name: &str| AttributePath::root().attr("ingress").attr(name);
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
        diags.attribute_error(
            at(name),
            "Argument for the AWS Load Balancer Controller only",
            format!(
                "ingress.{name} is written as an annotation of the AWS Load Balancer Controller, which \
                 serves the class \"alb\" and classes named alb-*; class {class:?} belongs to another \
                 controller, which would ignore it. Remove {name}, or use an ALB class."
            ),
        );
    }
}

/// The service's Ingress.
pub fn object(spec: &Spec) -> ObjectRef {
    ObjectRef {
        kind: "Ingress",
        api_version: "networking.k8s.io/v1",
        namespace: Some(spec.namespace.clone()),
        name: spec.name.clone(),
    }
}

/// The IngressClass of `class` is what shows its controller is installed: the AWS Load
/// Balancer Controller's Helm chart creates `alb`, ingress-nginx's `nginx`.
pub fn handover(spec: &Spec) -> Option<Handover> {
    let i = spec.ingress.as_ref()?;
    let controller = if is_alb_class(&i.class) {
        "the AWS Load Balancer Controller (its Helm chart creates the IngressClass `alb`; other \
         `alb-*` classes are created with an IngressClassParams)"
    } else {
        "the ingress controller serving it"
    };
    Some(Handover {
        expects: ObjectRef {
            kind: "IngressClass",
            api_version: "networking.k8s.io/v1",
            namespace: None,
            name: i.class.clone(),
        },
        summary: format!("No IngressClass `{}` in the cluster", i.class),
        detail: format!(
            "The Ingress {} names the class `{}`, which no IngressClass defines: no controller will \
             give it a load balancer, and {} stays unreachable until {} is installed.",
            object(spec),
            i.class,
            spec.url(),
            controller
        ),
    })
}

/// `load_balancer_hostname`: the Ingress's address, null without an ingress or an address.
///
/// # Errors
/// A warning when the Ingress cannot be read.
pub async fn hostname(kube: &Kube, spec: &Spec) -> Result<Value, Diagnostic> {
    if spec.ingress.is_none() {
        return Ok(Value::Null);
    }
    let ingress = object(spec);
    match ingress::address(kube, &ingress).await {
        Ok(a) => Ok(a.map_or(Value::Null, Value::string)),
        Err(e) => Err(Diagnostic::warning(
            format!("Cannot read the address of {ingress}"),
            e.to_string(),
        )),
    }
}

/// With `wait_for_load_balancer`, waits until the controller has given the Ingress an address.
///
/// # Errors
/// The Ingress and the diagnostic when the address never comes.
pub async fn wait_for_address(
    kube: &Kube,
    spec: &Spec,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), (ObjectRef, Diagnostic)> {
    if !spec
        .ingress
        .as_ref()
        .is_some_and(|i| i.wait_for_load_balancer)
    {
        return Ok(());
    }
    let ingress = object(spec);
    match ingress::wait_for_address(kube, &ingress, timeout, cancel).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let summary = match e {
                IngressError::Timeout { .. } => "No load balancer address",
                _ => "Load balancer address not confirmed",
            };
            Err((ingress, Diagnostic::error(summary, e.to_string())))
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
        check_config(v, &mut d);
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
