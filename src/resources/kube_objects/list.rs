//! List resources of the Kubernetes-backed resources (Terraform 1.14+, `terraform query`):
//! the BI services or Spark pools a cluster holds, found by their owner marks, each read as an
//! import and a refresh would read it. Objects without this provider's mark are never listed.

use async_trait::async_trait;

use crate::conns::ProviderData;
use crate::framework::resource::read_imported;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::{Context, Diagnostic, Diagnostics, FromValue, ListResource, Listed};
use crate::resources::common::eks_cluster_name;
use crate::value::{AttributePath, Type, Value};

use super::ownership::OWNER_ANNOTATION;
use super::{KubeResource, MANAGED_BY};

/// The list resource of a Kubernetes-backed resource type.
pub struct KubeList<R>(pub R);

crate::model! {
    struct ListConfig {
        cluster_name: Option<String>,
        namespace: Option<String>,
    }
}

/// `namespace` and `name` from an owner mark of `type_name`
/// (`dataplatform_spark_pool analytics:spark/etl`; the cluster part may itself hold colons).
fn owned_by<'a>(mark: &'a str, type_name: &str) -> Option<(&'a str, &'a str)> {
    let rest = mark.strip_prefix(type_name)?.strip_prefix(' ')?;
    let (_, at) = rest.rsplit_once(':')?;
    let (namespace, name) = at.split_once('/')?;
    (!namespace.is_empty() && !name.is_empty()).then_some((namespace, name))
}

#[async_trait]
impl<R: KubeResource> ListResource<ProviderData> for KubeList<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new()
                .description(format!(
                    "Finds the {}s of a cluster that this provider manages (by their owner marks), for \
                     `terraform query`.",
                    R::NOUN
                ))
                .attribute(
                    eks_cluster_name(Attribute::optional("cluster_name", Type::String)).description(
                        "EKS cluster to look in. Defaults to the provider's `cluster_name` or `kubernetes` block.",
                    ),
                )
                .attribute(
                    Attribute::optional("namespace", Type::String)
                        .description("Only this namespace. Defaults to every namespace."),
                ),
        )
    }

    async fn list(
        &self,
        ctx: &Context<ProviderData>,
        config: Value,
        limit: usize,
    ) -> (Vec<Listed>, Diagnostics) {
        let cfg = match ListConfig::from_value(&config, &AttributePath::root()) {
            Ok(c) => c,
            Err(d) => return (Vec::new(), d.into()),
        };
        let kube = match ctx
            .data()
            .kube(cfg.cluster_name.as_deref(), &ctx.cancellation_token())
            .await
        {
            Ok(k) => k,
            Err(d) => return (Vec::new(), d.into()),
        };
        let anchor = self.0.import_anchor("", "");
        let objects = match kube
            .list_all(
                anchor.api_version,
                anchor.kind,
                &format!("app.kubernetes.io/managed-by={MANAGED_BY}"),
            )
            .await
        {
            Ok(o) => o,
            Err(e) => {
                return (
                    Vec::new(),
                    Diagnostic::error(
                        format!("Cannot list {}s", R::NOUN),
                        format!("Listing {}s failed: {e}", anchor.kind),
                    )
                    .into(),
                )
            }
        };
        let mut keys: Vec<(String, String)> = objects
            .iter()
            .filter_map(|o| {
                let mark = o["metadata"]["annotations"][OWNER_ANNOTATION].as_str()?;
                let (namespace, name) = owned_by(mark, R::TYPE_NAME)?;
                // The anchor of that resource, not another object it owns.
                let is_anchor = o["metadata"]["name"].as_str()
                    == Some(self.0.import_anchor(namespace, name).name.as_str())
                    && o["metadata"]["namespace"].as_str() == Some(namespace);
                let wanted = cfg.namespace.as_deref().is_none_or(|n| n == namespace);
                (is_anchor && wanted).then(|| (namespace.to_string(), name.to_string()))
            })
            .collect();
        keys.sort();
        keys.dedup();
        let mut found = Vec::new();
        let mut diags = Diagnostics::new();
        for (namespace, name) in keys.into_iter().take(limit) {
            let id = match &cfg.cluster_name {
                Some(c) => format!("{c}:{namespace}/{name}"),
                None => format!("{namespace}/{name}"),
            };
            let (state, read) = read_imported(&self.0, ctx, &id).await;
            diags.extend(read);
            if let Some(state) = state {
                found.push(Listed {
                    display_name: format!("{namespace}/{name}"),
                    state,
                });
            }
        }
        (found, diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_marks_name_namespace_and_name() {
        assert_eq!(
            owned_by(
                "dataplatform_spark_pool analytics:spark/etl",
                "dataplatform_spark_pool"
            ),
            Some(("spark", "etl"))
        );
        assert_eq!(
            owned_by(
                "dataplatform_spark_pool https://127.0.0.1:46677:spark-eph/etl",
                "dataplatform_spark_pool"
            ),
            Some(("spark-eph", "etl"))
        );
        assert_eq!(
            owned_by(
                "dataplatform_bi_service analytics:hbi/metabase",
                "dataplatform_spark_pool"
            ),
            None
        );
        assert_eq!(
            owned_by(
                "dataplatform_spark_pool analytics:/",
                "dataplatform_spark_pool"
            ),
            None
        );
    }
}
