//! The schema of `dataplatform_example_settings`.

use std::time::Duration;

use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::timeouts;
use crate::resources::common::{namespace, string_map, target_cluster_name};
use crate::resources::kube_objects::lifecycle_attributes;
use crate::value::{Type, Value};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub fn schema() -> Schema {
    let block = lifecycle_attributes(Block::new())
        .description("Settings kept in a ConfigMap.")
        .attribute(target_cluster_name("EKS cluster to deploy into."))
        .attribute(Attribute::required("name", Type::String).description("ConfigMap name."))
        .attribute(
            namespace("Namespace. Default `default`.").default_value(Value::string("default")),
        )
        .attribute(Attribute::optional("data", string_map()).description("The settings."))
        .attribute(Attribute::computed("keys", Type::Number).description("How many settings."))
        .block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
            ("delete", DEFAULT_TIMEOUT),
        ]));
    Schema::new(0, block)
}
