//! What an Ingress's controller gives back: the check that it is installed (its IngressClass),
//! the address, and waiting for it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{is_alb_class, Ingress};
use crate::clients::ingress::{self, IngressError};
use crate::clients::kube::{Kube, ObjectRef};
use crate::framework::Diagnostic;
use crate::resources::kube_objects::handover::Handover;
use crate::value::Value;

/// The Ingress `name` in `namespace`.
pub fn object(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: "Ingress",
        api_version: "networking.k8s.io/v1",
        namespace: Some(namespace.to_string()),
        name: name.to_string(),
    }
}

/// The IngressClass of `class` is what shows its controller is installed: the AWS Load
/// Balancer Controller's Helm chart creates `alb`, ingress-nginx's `nginx`. `url` is what
/// stays unreachable without it.
pub fn handover(ingress: &ObjectRef, i: &Ingress, url: &str) -> Handover {
    let controller = if is_alb_class(&i.class) {
        "the AWS Load Balancer Controller (its Helm chart creates the IngressClass `alb`; other \
         `alb-*` classes are created with an IngressClassParams)"
    } else {
        "the ingress controller serving it"
    };
    Handover {
        expects: ObjectRef {
            kind: "IngressClass",
            api_version: "networking.k8s.io/v1",
            namespace: None,
            name: i.class.clone(),
        },
        summary: format!("No IngressClass `{}` in the cluster", i.class),
        detail: format!(
            "The Ingress {ingress} names the class `{}`, which no IngressClass defines: no controller \
             will give it a load balancer, and {url} stays unreachable until {controller} is installed.",
            i.class,
        ),
    }
}

/// The Ingress's address as an attribute value: null while it has none.
///
/// # Errors
/// A warning when the Ingress cannot be read.
pub async fn hostname(kube: &Kube, ingress: &ObjectRef) -> Result<Value, Diagnostic> {
    match ingress::address(kube, ingress).await {
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
    ingress: &ObjectRef,
    i: &Ingress,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), (ObjectRef, Diagnostic)> {
    if !i.wait_for_load_balancer {
        return Ok(());
    }
    match ingress::wait_for_address(kube, ingress, timeout, cancel).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let summary = match e {
                IngressError::Timeout { .. } => "No load balancer address",
                _ => "Load balancer address not confirmed",
            };
            Err((ingress.clone(), Diagnostic::error(summary, e.to_string())))
        }
    }
}
