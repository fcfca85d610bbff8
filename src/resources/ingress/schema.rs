//! The `ingress` block: one schema for every resource with an Ingress in front of its Service.

use crate::framework::rules::Rule;
use crate::framework::schema::{Attribute, Block};
use crate::framework::validators::{each, matches, one_of, string_length, Cidr};
use crate::resources::common::{
    string_map, CERTIFICATE_ARN_PATTERN, HOSTNAME_PATTERN, NAMESPACE_PATTERN, SECRET_NAME_PATTERN,
};
use crate::value::{Type, Value};

/// An ALB health check path: no wildcards, at most 1024 characters.
pub const HEALTH_CHECK_PATH_PATTERN: &str = r"^/[A-Za-z0-9/_.~-]{0,1023}$";
/// An Ingress path: `/` and more; `*` for the ALB's wildcard form.
pub const PATH_PATTERN: &str = r"^/[A-Za-z0-9/_.*~-]*$";
/// A regional WAFv2 web ACL (the kind an ALB takes; CloudFront's are global).
pub const WAFV2_ACL_ARN_PATTERN: &str = r"^arn:aws[-a-z]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/[A-Za-z0-9_-]{1,128}/[A-Za-z0-9-]{1,128}$";

/// Where `health_check_path`'s default comes from.
pub enum HealthCheck {
    /// Filled in by the resource's plan (described here), e.g. from an engine.
    Derived(&'static str),
    /// A fixed path.
    Fixed(&'static str),
}

impl HealthCheck {
    fn attribute(&self) -> Attribute {
        const WHAT: &str =
            "ALB only: the target group's health check (`alb.ingress.kubernetes.io/healthcheck-path`).";
        let a = Attribute::optional_computed("health_check_path", Type::String).validator(matches(
            HEALTH_CHECK_PATH_PATTERN,
            "a path starting with / without wildcards, up to 1024 characters",
        ));
        match self {
            HealthCheck::Derived(how) => a.description(format!("{WHAT} {how}")),
            HealthCheck::Fixed(path) => a
                .description(format!("{WHAT} Default `{path}`."))
                .default_value(Value::string(*path)),
        }
    }
}

/// The block, with its rules.
pub fn block(health_check: HealthCheck) -> Block {
    Block::new()
        .description(
            "External access through an Ingress. With the class `alb` (the default) or a class named \
             `alb-*`, the AWS Load Balancer Controller serves it and the resource writes its annotations \
             from the arguments marked *ALB only*; services sharing a `group_name` share one load \
             balancer. With another class (nginx, traefik, ...) no ALB annotation is written, the ALB-only \
             arguments are refused at plan time, and `tls_secret_name` gives TLS.",
        )
        .attribute(
            Attribute::required("host", Type::String)
                .description("Host name, e.g. `metabase.analytics.example.com`.")
                .validator(matches(HOSTNAME_PATTERN, "a host name such as \"metabase.example.com\"")),
        )
        .attribute(
            Attribute::optional_computed("path", Type::String)
                .description("Path. Default `/` (prefix match); `/*` is accepted as the ALB wildcard form.")
                .default_value(Value::string("/"))
                .validator(matches(PATH_PATTERN, "a path starting with /")),
        )
        .attribute(
            Attribute::optional_computed("class", Type::String)
                .description("`ingressClassName`. Default `alb`; `alb` and classes named `alb-*` are taken as the AWS Load Balancer Controller's.")
                .default_value(Value::string("alb"))
                .validator(matches(NAMESPACE_PATTERN, "an ingress class name")),
        )
        .attribute(
            Attribute::optional_computed("scheme", Type::String)
                .description("ALB only: `internal` (default) or `internet-facing`.")
                .default_value(Value::string("internal"))
                .validator(one_of(&["internal", "internet-facing"])),
        )
        .attribute(
            Attribute::optional("group_name", Type::String)
                .description("ALB only: `alb.ingress.kubernetes.io/group.name`: share one ALB between services.")
                .validator(matches(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$", "an ALB group name (lowercase letters, digits, - and ., up to 63)")),
        )
        .attribute(
            Attribute::optional_computed("target_type", Type::String)
                .description("ALB only: `ip` (default: pods are targets) or `instance`.")
                .default_value(Value::string("ip"))
                .validator(one_of(&["ip", "instance"])),
        )
        .attribute(
            Attribute::optional("certificate_arn", Type::String)
                .description("ALB only: the ACM certificate for HTTPS on 443. Without it the ALB listens on HTTP 80 only.")
                .validator(matches(CERTIFICATE_ARN_PATTERN, "an ACM certificate ARN such as \"arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-...\"")),
        )
        .attribute(
            Attribute::optional_computed("ssl_redirect", Type::Bool)
                .description(
                    "ALB only, with `certificate_arn`: redirect HTTP (80) to HTTPS (443) \
                     (`alb.ingress.kubernetes.io/ssl-redirect`). Default `true`: a certificate \
                     given means HTTPS is wanted, and the redirect keeps credentials off plain HTTP \
                     (the controller itself does not redirect unless told). `false` keeps both \
                     listeners serving the service.",
                )
                .default_value(Value::bool(true)),
        )
        .attribute(
            Attribute::optional("inbound_cidrs", Type::Set(Box::new(Type::String)))
                .description(
                    "ALB only: the client networks the load balancer's security group lets in \
                     (`alb.ingress.kubernetes.io/inbound-cidrs`), IPv4 or IPv6. Left out or empty: the \
                     controller's default (everyone for `internet-facing`, the VPC for `internal`).",
                )
                .validator(each(Cidr)),
        )
        .attribute(health_check.attribute())
        .attribute(
            Attribute::optional("wafv2_acl_arn", Type::String)
                .description("ALB only: the regional AWS WAFv2 web ACL that filters the load balancer's requests (`alb.ingress.kubernetes.io/wafv2-acl-arn`).")
                .validator(matches(
                    WAFV2_ACL_ARN_PATTERN,
                    "a regional WAFv2 web ACL ARN such as \"arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/analytics/0a1b2c3d-...\"",
                )),
        )
        .attribute(
            Attribute::optional("tls_secret_name", Type::String)
                .description(
                    "Not with ALB classes: the Secret (in the service's namespace) holding the TLS \
                     certificate and key for `host`, e.g. one cert-manager issues; the Ingress gets \
                     `spec.tls` with it, for nginx, traefik and other controllers that terminate TLS \
                     themselves. An ALB takes its certificate from ACM: use `certificate_arn` there.",
                )
                .validator(matches(SECRET_NAME_PATTERN, "a Secret name (lowercase letters, digits, - and .)"))
                .validator(string_length(1, 253)),
        )
        .attribute(
            Attribute::optional("annotations", string_map())
                .description("Extra Ingress annotations; they override the ones this resource sets."),
        )
        .attribute(
            Attribute::optional("wait_for_load_balancer", Type::Bool).description(
                "Wait, within the create or update timeout, until the ingress controller has given the \
                 Ingress an address (the ALB's DNS name), and fail naming the Ingress's events when it \
                 never comes. Default false: the address is reported in `load_balancer_hostname` as \
                 soon as a refresh sees it.",
            ),
        )
        .rule(Rule::conflicts_with("tls_secret_name", &["certificate_arn"]).message(
            "Conflicting arguments",
            "certificate_arn has the ALB terminate TLS with an ACM certificate, tls_secret_name has \
             the ingress controller terminate it with a Secret: set one of them.",
        ))
        .rule(Rule::required_with("ssl_redirect", &["certificate_arn"]).message(
            "Missing certificate",
            "ssl_redirect redirects to the HTTPS listener that certificate_arn gives the ALB: set \
             certificate_arn, or leave ssl_redirect out.",
        ))
}
