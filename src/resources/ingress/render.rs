//! The Ingress object.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::Ingress;

/// The AWS Load Balancer Controller's annotations, for an ALB class (no other controller
/// reads them).
fn alb_annotations(i: &Ingress) -> BTreeMap<String, String> {
    let alb = |k: &str| format!("alb.ingress.kubernetes.io/{k}");
    let mut ann = BTreeMap::new();
    ann.insert(alb("scheme"), i.scheme.clone());
    ann.insert(alb("target-type"), i.target_type.clone());
    ann.insert(alb("healthcheck-path"), i.health_check_path.clone());
    if let Some(g) = &i.group_name {
        ann.insert(alb("group.name"), g.clone());
    }
    match &i.certificate_arn {
        Some(arn) => {
            ann.insert(alb("certificate-arn"), arn.clone());
            ann.insert(
                alb("listen-ports"),
                r#"[{"HTTP":80},{"HTTPS":443}]"#.to_string(),
            );
            if i.ssl_redirect {
                ann.insert(alb("ssl-redirect"), "443".to_string());
            }
        }
        None => {
            ann.insert(alb("listen-ports"), r#"[{"HTTP":80}]"#.to_string());
        }
    }
    if !i.inbound_cidrs.is_empty() {
        ann.insert(alb("inbound-cidrs"), i.inbound_cidrs.join(","));
    }
    if let Some(arn) = &i.wafv2_acl_arn {
        ann.insert(alb("wafv2-acl-arn"), arn.clone());
    }
    ann
}

/// The Ingress's annotations: the ALB's for an ALB class, then the user's, which win.
fn annotations(i: &Ingress) -> BTreeMap<String, String> {
    let mut ann = if i.is_alb() {
        alb_annotations(i)
    } else {
        BTreeMap::new()
    };
    ann.extend(i.annotations.clone());
    ann
}

/// The Ingress with `meta` (name, namespace, labels), routing `host` and `path` to the
/// Service `service`'s port named `http`.
pub fn object(mut meta: Json, service: &str, i: &Ingress) -> Json {
    let path_type = if i.path.contains('*') {
        "ImplementationSpecific"
    } else {
        "Prefix"
    };
    let annotations = annotations(i);
    if !annotations.is_empty() {
        meta["annotations"] = json!(annotations);
    }
    let mut ingress_spec = json!({
        "ingressClassName": i.class,
        "rules": [{"host": i.host, "http": {"paths": [{
            "path": i.path, "pathType": path_type,
            "backend": {"service": {"name": service, "port": {"name": "http"}}},
        }]}}],
    });
    // For controllers that terminate TLS themselves (cert-manager fills the Secret).
    if let Some(secret) = &i.tls_secret_name {
        ingress_spec["tls"] = json!([{"hosts": [i.host], "secretName": secret}]);
    }
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": meta,
        "spec": ingress_spec,
    })
}
