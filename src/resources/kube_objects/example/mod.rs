//! The smallest Kubernetes-backed resource, compiled for tests: what a new resource needs is
//! its schema ([`schema`]), its objects ([`render`]) and the glue below; create, read with
//! drift, update, delete, import, ownership and identity come from the shared lifecycle.

mod render;
mod schema;

use std::time::Duration;

use serde_json::Value as Json;

use crate::clients::kube::ObjectRef;
use crate::framework::{FromValue, Schema, ToValue};
use crate::resources::kube_objects::{KubeResource, Stage};
use crate::value::Value;

use render::Settings;

pub struct ExampleSettings;

impl KubeResource for ExampleSettings {
    type Spec = Settings;

    const TYPE_NAME: &'static str = "dataplatform_example_settings";
    const NOUN: &'static str = "settings";
    const REQUIRED_ATTRIBUTE: &'static str = "name";
    const IMPORT_EXAMPLE: &'static str = "default/settings";
    const IMPORT_FAILED: &'static str = "Cannot read the settings";
    const OUTPUTS: &'static [&'static str] = &["keys"];
    const DEFAULT_TIMEOUT: Duration = schema::DEFAULT_TIMEOUT;

    fn resource_schema(&self) -> Schema {
        schema::schema()
    }

    fn render(&self, value: &Value, _: Stage<'_>) -> Option<(Settings, Vec<Json>)> {
        let s = Settings::read(value).ok()?;
        let objects = vec![render::configmap(&s)];
        Some((s, objects))
    }

    fn outputs(&self, s: &Settings) -> Vec<(&'static str, Value)> {
        let keys = s.data.as_ref().map_or(0, |d| d.len() as i64);
        vec![("keys", keys.to_value())]
    }

    fn import_anchor(&self, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: "ConfigMap",
            api_version: "v1",
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
