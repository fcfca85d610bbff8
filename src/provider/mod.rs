//! The `dataplatform` provider: its configuration and the resources it serves.

pub mod config;
pub mod schema;

use async_trait::async_trait;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::clients::autoscaling::Autoscaling;
use crate::clients::aws::{AssumeRole, AwsSettings};
use crate::clients::eks::Eks;
use crate::framework::{DataSourceList, Diagnostic, Diagnostics, Provider, ResourceList, Schema};
use crate::value::Value;

pub use config::{ProviderConfig, Setting};

/// Where users find the provider: `source = "dataplatform/dataplatform"`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/dataplatform/dataplatform";

/// What every resource receives once the provider is configured. Building it does no network
/// I/O; the AWS clients are built from it when first used.
#[derive(Debug)]
pub struct ProviderData {
    pub config: ProviderConfig,
    aws: tokio::sync::OnceCell<aws_config::SdkConfig>,
}

impl ProviderData {
    pub fn new(config: ProviderConfig) -> Self {
        ProviderData {
            config,
            aws: tokio::sync::OnceCell::new(),
        }
    }

    fn aws_settings(&self) -> Result<AwsSettings, Diagnostic> {
        let c = &self.config;
        let known = |s: &Setting<String>, what: &str| -> Result<Option<String>, Diagnostic> {
            match s {
                Setting::Unknown => Err(Diagnostic::error(
                    "Provider configuration not known",
                    format!("The provider's {what} is not known yet; it must be known when resources are applied."),
                )),
                Setting::Set(v) => Ok(Some(v.clone())),
                Setting::Unset => Ok(None),
            }
        };
        let assume_role = match &c.assume_role {
            None => None,
            Some(a) => Some(AssumeRole {
                role_arn: known(&a.role_arn, "assume_role.role_arn")?.unwrap_or_default(),
                session_name: known(&a.session_name, "assume_role.session_name")?,
                external_id: known(&a.external_id, "assume_role.external_id")?,
            }),
        };
        Ok(AwsSettings {
            region: known(&c.region, "region")?,
            profile: known(&c.profile, "profile")?,
            assume_role,
            eks_endpoint: known(&c.endpoints.eks, "endpoints.eks")?,
            autoscaling_endpoint: known(&c.endpoints.autoscaling, "endpoints.autoscaling")?,
            sts_endpoint: known(&c.endpoints.sts, "endpoints.sts")?,
        })
    }

    async fn sdk_config(&self) -> Result<&aws_config::SdkConfig, Diagnostic> {
        let settings = self.aws_settings()?;
        Ok(self
            .aws
            .get_or_init(|| crate::clients::aws::load(&settings))
            .await)
    }

    /// The EKS client, built on first use.
    ///
    /// # Errors
    /// A diagnostic when the provider configuration is not known yet.
    pub async fn eks(&self) -> Result<Eks, Diagnostic> {
        let endpoint = self.aws_settings()?.eks_endpoint;
        let conf = self.sdk_config().await?;
        let mut b = aws_sdk_eks::config::Builder::from(conf);
        if let Some(ep) = endpoint {
            b = b.endpoint_url(ep);
        }
        Ok(Eks::new(aws_sdk_eks::Client::from_conf(b.build())))
    }

    /// The Auto Scaling client, built on first use.
    ///
    /// # Errors
    /// A diagnostic when the provider configuration is not known yet.
    pub async fn autoscaling(&self) -> Result<Autoscaling, Diagnostic> {
        let endpoint = self.aws_settings()?.autoscaling_endpoint;
        let conf = self.sdk_config().await?;
        let mut b = aws_sdk_autoscaling::config::Builder::from(conf);
        if let Some(ep) = endpoint {
            b = b.endpoint_url(ep);
        }
        Ok(Autoscaling::new(aws_sdk_autoscaling::Client::from_conf(
            b.build(),
        )))
    }

    /// The provider's `default_tags`, when known.
    pub fn default_tags(&self) -> BTreeMap<String, String> {
        self.config
            .default_tags
            .as_option()
            .cloned()
            .unwrap_or_default()
    }
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
        Some(ProviderData::new(c))
    }

    fn resources(&self) -> ResourceList<ProviderData> {
        vec![Arc::new(crate::resources::nodegroup::Nodegroup)]
    }

    fn data_sources(&self) -> DataSourceList<ProviderData> {
        Vec::new()
    }
}
