//! The `dataplatform` provider: its schema, its configuration and the resources it serves.

pub mod schema;

use async_trait::async_trait;

use std::sync::Arc;

use crate::framework::{
    DataSourceList, Diagnostics, EphemeralResourceList, FunctionList, ListResourceList, Provider,
    ResourceList, Schema,
};
use crate::value::Value;

pub use crate::conns::{config, ProviderConfig, ProviderData, Setting};

/// Where users find the provider: `source = "dataplatform/dataplatform"`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/dataplatform/dataplatform";

/// The provider.
pub struct DataplatformProvider;

#[async_trait]
impl Provider for DataplatformProvider {
    type Data = ProviderData;

    fn type_name(&self) -> &'static str {
        "dataplatform"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let (c, d) = ProviderConfig::from_value(config);
        diags.extend(d);
        c.check(diags);
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        let (c, d) = ProviderConfig::from_value(config);
        diags.extend(d);
        c.check(diags);
        if diags.has_errors() {
            return None;
        }
        tracing::debug!(
            region = c
                .region
                .as_option()
                .map(String::as_str)
                .unwrap_or("(from environment)"),
            "provider configured"
        );
        Some(ProviderData::new(c))
    }

    fn resources(&self) -> ResourceList<ProviderData> {
        vec![
            Arc::new(crate::resources::nodegroup::Nodegroup),
            Arc::new(crate::resources::bi_service::BiService),
            Arc::new(crate::resources::spark_pool::SparkPool),
        ]
    }

    fn data_sources(&self) -> DataSourceList<ProviderData> {
        vec![Arc::new(crate::resources::cluster::ClusterDataSource)]
    }

    fn list_resources(&self) -> ListResourceList<ProviderData> {
        use crate::resources::kube_objects::list::KubeList;
        vec![
            Arc::new(crate::resources::nodegroup::list::NodegroupList),
            Arc::new(KubeList(crate::resources::bi_service::BiService)),
            Arc::new(KubeList(crate::resources::spark_pool::SparkPool)),
        ]
    }

    fn ephemeral_resources(&self) -> EphemeralResourceList<ProviderData> {
        vec![Arc::new(crate::resources::cluster::auth::ClusterAuth)]
    }

    fn functions(&self) -> FunctionList {
        crate::functions::all()
    }
}
