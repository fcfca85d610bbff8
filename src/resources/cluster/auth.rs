//! Ephemeral resource `dataplatform_cluster_auth` (Terraform 1.10+): an EKS cluster's
//! endpoint, CA certificate and a fresh IAM token, for configuring other providers (kubernetes,
//! helm) without the token ever reaching a plan or state file.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::{Context, Diagnostics, EphemeralResource, ToValue};
use crate::value::{Type, Value};

use super::connect;
use crate::conns::ProviderData;

/// How long a token is accepted after it is signed, as `aws eks get-token` reports it: EKS
/// takes tokens for 15 minutes, the last one left as margin for clock skew.
const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

pub struct ClusterAuth;

fn block() -> Block {
    Block::new()
        .description(
            "Opens a connection to an EKS cluster's Kubernetes API: endpoint, CA certificate and a \
             short-lived IAM authentication token, as `aws eks get-token` makes. Ephemeral (Terraform 1.10 \
             and later): Terraform opens it whenever a plan or apply needs the values and never writes them \
             to a plan or state file, so the kubernetes and helm providers can be configured without a token \
             in state. On older Terraform use the `dataplatform_cluster` data source, whose token is stored in \
             state. The provider's own resources connect by themselves and need neither.",
        )
        .attribute(super::name_attribute())
        .attribute(super::endpoint_attribute())
        .attribute(super::ca_attribute())
        .attribute(
            Attribute::computed("token", Type::String)
                .description(
                    "Bearer token for the Kubernetes API (`k8s-aws-v1.` + a presigned STS GetCallerIdentity URL), \
                     signed when Terraform opens the resource.",
                )
                .sensitive(),
        )
        .attribute(
            Attribute::computed("expiration_timestamp", Type::String)
                .description(
                    "When the token stops being accepted (RFC 3339, 14 minutes after signing). A run longer \
                     than that needs another way to authenticate, e.g. the kubernetes provider's `exec` block.",
                ),
        )
}

fn schema() -> Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(0, block())).clone()
}

#[async_trait]
impl EphemeralResource<ProviderData> for ClusterAuth {
    fn type_name(&self) -> &'static str {
        "dataplatform_cluster_auth"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn open(&self, ctx: &Context<ProviderData>, config: Value) -> (Value, Diagnostics) {
        let signed = SystemTime::now();
        let c = match connect(ctx, &config).await {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let out = ClusterAuthModel {
            name: c.name,
            endpoint: c.cluster.endpoint,
            cluster_ca_certificate: c.ca,
            token: c.token,
            expiration_timestamp: rfc3339(signed + TOKEN_LIFETIME),
        };
        (out.to_value(), Diagnostics::new())
    }
}

/// A time as RFC 3339 in UTC, to the second.
fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

crate::model! {
    /// What opening the resource gives.
    struct ClusterAuthModel {
        name: String,
        endpoint: Option<String>,
        cluster_ca_certificate: Option<String>,
        token: String,
        expiration_timestamp: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_writes_every_attribute_of_the_schema() {
        let out = ClusterAuthModel {
            name: "analytics".into(),
            endpoint: None,
            cluster_ca_certificate: None,
            token: "t".into(),
            expiration_timestamp: "2026-12-03T10:14:00Z".into(),
        }
        .to_value();
        let mut written: Vec<&String> =
            out.as_map().map(|m| m.keys().collect()).unwrap_or_default();
        written.sort();
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

    #[test]
    fn expiry_is_rfc3339_in_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(t + TOKEN_LIFETIME), "2023-11-14T22:27:20Z");
    }
}
