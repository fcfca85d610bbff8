//! The `dataplatform` provider: its configuration and the resources it serves.

pub mod config;
pub mod schema;

use async_trait::async_trait;

use crate::framework::{DataSourceList, Diagnostics, Provider, ResourceList, Schema};
use crate::value::Value;

pub use config::{ProviderConfig, Setting};

/// Where users find the provider: `source = "dataplatform/dataplatform"`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/dataplatform/dataplatform";

/// What every resource receives once the provider is configured. Building it does no network
/// I/O; the AWS and Kubernetes clients are built from it when first used.
#[derive(Debug)]
pub struct ProviderData {
    pub config: ProviderConfig,
}

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
        Some(ProviderData { config: c })
    }

    fn resources(&self) -> ResourceList<ProviderData> {
        Vec::new()
    }

    fn data_sources(&self) -> DataSourceList<ProviderData> {
        Vec::new()
    }
}
