//! Data source `dataplatform_cluster`: what clients need to reach an EKS cluster's Kubernetes
//! API (endpoint, CA, an IAM token) and its version and OIDC issuer (for IAM roles for service
//! accounts); and the ephemeral resource `dataplatform_cluster_auth` ([`auth`]), the same
//! connection facts kept out of plan and state.

pub mod auth;

use async_trait::async_trait;

use crate::clients::eks::Cluster;
use crate::conns::{ProviderData, Setting};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::{Context, DataSource, Diagnostic, Diagnostics, FromValue, ToValue};
use crate::resources::common::eks_cluster_name;
use crate::value::{AttributePath, Type, Value};

pub struct ClusterDataSource;

/// `name`: the cluster, the provider's `cluster_name` when left out.
fn name_attribute() -> Attribute {
    eks_cluster_name(Attribute::optional_computed("name", Type::String))
        .description("Name of the cluster. Defaults to the provider's `cluster_name`.")
}

fn endpoint_attribute() -> Attribute {
    Attribute::computed("endpoint", Type::String).description("URL of the Kubernetes API server.")
}

fn ca_attribute() -> Attribute {
    Attribute::computed("cluster_ca_certificate", Type::String)
        .description("PEM-encoded CA certificate of the API server.")
}

fn block() -> Block {
    Block::new()
        .description(
            "Reads an EKS cluster: API endpoint, CA certificate, Kubernetes version, OIDC issuer, and a \
             short-lived IAM authentication token (sensitive) such as `aws eks get-token` makes. Use it to \
             configure other Kubernetes tooling; the provider's own resources connect by themselves.\n\n\
             A data source's values are written to the plan and the state, the token included. On Terraform \
             1.10 and later configure other providers from the ephemeral resource `dataplatform_cluster_auth` \
             instead, which gives the same endpoint, CA and token and stores none of them; this data source \
             stays for older Terraform and for the version and OIDC issuer.",
        )
        .attribute(name_attribute())
        .attribute(Attribute::computed("id", Type::String).description("The cluster name."))
        .attribute(Attribute::computed("arn", Type::String).description("ARN of the cluster."))
        .attribute(endpoint_attribute())
        .attribute(ca_attribute())
        .attribute(
            Attribute::computed("version", Type::String)
                .description("Kubernetes version, e.g. `1.29`."),
        )
        .attribute(Attribute::computed("status", Type::String).description("Cluster status, e.g. `ACTIVE`."))
        .attribute(
            Attribute::computed("oidc_issuer", Type::String)
                .description("OIDC issuer URL, for IAM roles for service accounts. Null when the cluster has none."),
        )
        .attribute(
            Attribute::computed("token", Type::String)
                .description(
                    "Bearer token for the Kubernetes API (`k8s-aws-v1.` + a presigned STS GetCallerIdentity URL). \
                     Valid for 15 minutes: read it again (every plan and apply does) rather than storing it.",
                )
                .sensitive(),
        )
}

fn schema() -> Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(0, block())).clone()
}

#[async_trait]
impl DataSource<ProviderData> for ClusterDataSource {
    fn type_name(&self) -> &'static str {
        "dataplatform_cluster"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(&self, ctx: &Context<ProviderData>, config: Value) -> (Value, Diagnostics) {
        let c = match connect(ctx, &config).await {
            Ok(c) => c,
            Err(d) => return (config, d),
        };
        let out = ClusterModel {
            name: c.name.clone(),
            id: c.name,
            arn: c.cluster.arn,
            endpoint: c.cluster.endpoint,
            cluster_ca_certificate: c.ca,
            version: c.cluster.version,
            status: c.cluster.status,
            oidc_issuer: c.cluster.oidc_issuer,
            token: c.token,
        };
        (out.to_value(), Diagnostics::new())
    }
}

/// What reaching a cluster takes: its EKS description, its CA in PEM, and a token signed now.
struct Connection {
    name: String,
    cluster: Cluster,
    ca: Option<String>,
    token: String,
}

/// Looks up the cluster the configuration names (`name`, else the provider's `cluster_name`)
/// and signs a token for it.
async fn connect(ctx: &Context<ProviderData>, config: &Value) -> Result<Connection, Diagnostics> {
    let data = ctx.data();
    let configured = ClusterConfig::from_value(config, &AttributePath::root())?.name;
    let name = match (configured, &data.config.cluster_name) {
        (Some(n), _) => n,
        (None, Setting::Set(n)) => n.clone(),
        _ => {
            return Err(Diagnostic::error(
                "Missing cluster name",
                "Set name, or cluster_name in the provider configuration.",
            )
            .at(AttributePath::root().attr("name"))
            .into())
        }
    };
    let cluster = data
        .eks_cluster(&name, &ctx.cancellation_token())
        .await
        .map_err(|d| d.at(AttributePath::root().attr("name")))?;
    let ca = cluster
        .ca_pem()
        .map_err(|e| Diagnostic::error("Invalid cluster CA", format!("Cluster {name:?}: {e}")))?;
    let token = data.eks_token(&name, &ctx.cancellation_token()).await?;
    Ok(Connection {
        name,
        cluster,
        ca,
        token,
    })
}

crate::model! {
    /// What the configuration says.
    struct ClusterConfig {
        name: Option<String>,
    }
}

crate::model! {
    /// What the data source reads.
    struct ClusterModel {
        name: String,
        id: String,
        arn: String,
        endpoint: Option<String>,
        cluster_ca_certificate: Option<String>,
        version: Option<String>,
        status: Option<String>,
        oidc_issuer: Option<String>,
        token: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_writes_every_attribute_of_the_schema() {
        let out = ClusterModel {
            name: "analytics".into(),
            id: "analytics".into(),
            arn: "arn".into(),
            endpoint: None,
            cluster_ca_certificate: None,
            version: None,
            status: None,
            oidc_issuer: None,
            token: "t".into(),
        }
        .to_value();
        let written: Vec<&String> = out.as_map().map(|m| m.keys().collect()).unwrap_or_default();
        let block = schema().block;
        let mut declared: Vec<&String> = block.attributes.iter().map(|a| &a.name).collect();
        declared.sort();
        assert_eq!(written, declared);
    }

    #[test]
    fn schema_is_well_formed_and_the_token_is_sensitive() {
        let s = schema();
        assert!(s.check().is_empty(), "{:?}", s.check());
        let token = s.block.attributes.iter().find(|a| a.name == "token");
        assert!(token.is_some_and(|a| a.sensitive));
    }
}
