//! The objects of `dataplatform_example_settings`.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::resources::kube_objects::MANAGED_BY;

crate::model! {
    /// The resource as planned or stored.
    pub struct Settings {
        pub name: String,
        pub namespace: String,
        pub data: Option<BTreeMap<String, String>>,
    }
}

pub fn configmap(s: &Settings) -> Json {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": s.name, "namespace": s.namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "data": s.data.clone().unwrap_or_default(),
    })
}
