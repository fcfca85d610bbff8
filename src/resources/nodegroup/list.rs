//! List resource `dataplatform_nodegroup` (Terraform 1.14+, `terraform query`): the node groups
//! of a cluster, filtered by purpose, name prefix and labels, each read as an import and a
//! refresh would read it, so `terraform query -generate-config-out` writes `import` blocks (by
//! identity) and configuration that plans clean. This is how groups made with eksctl or the
//! console come under Terraform in one step.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::conns::ProviderData;
use crate::framework::resource::read_imported;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{one_of, string_length};
use crate::framework::{Context, Diagnostic, Diagnostics, Field, FromValue, ListResource, Listed};
use crate::resources::common::{eks_cluster_name, string_map};
use crate::value::{AttributePath, Type, Value};

use super::schema::PURPOSES;
use super::{clients, eks_diag, Nodegroup, READ_TIMEOUT};

/// What a `list "dataplatform_nodegroup"` block's `config` may hold.
pub struct NodegroupList;

fn block() -> Block {
    Block::new()
        .description(
            "Finds the node groups of an EKS cluster, for `terraform query`. Every filter given must match.",
        )
        .attribute(
            eks_cluster_name(Attribute::required("cluster_name", Type::String))
                .description("EKS cluster whose node groups are listed."),
        )
        .attribute(
            Attribute::optional("purpose", Type::String)
                .description(
                    "Only groups of this purpose, as an import reads it from the `purpose` label: `infra`, \
                     `spark-driver`, `spark-executor`, or `custom` for groups without one of those.",
                )
                .validator(one_of(PURPOSES)),
        )
        .attribute(
            Attribute::optional("name_prefix", Type::String)
                .description("Only groups whose name starts with this.")
                .validator(string_length(1, 63)),
        )
        .attribute(
            Attribute::optional("labels", string_map())
                .description("Only groups whose nodes carry all of these Kubernetes labels."),
        )
}

crate::model! {
    struct ListConfig {
        cluster_name: String,
        purpose: Option<String>,
        name_prefix: Option<String>,
        labels: Option<BTreeMap<String, String>>,
    }
}

crate::model! {
    /// What the filters compare in a group's state.
    struct Found {
        purpose: Field<String>,
        effective_labels: Field<BTreeMap<String, String>>,
    }
}

#[async_trait]
impl ListResource<ProviderData> for NodegroupList {
    fn type_name(&self) -> &'static str {
        "dataplatform_nodegroup"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, block())
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
        let cluster = cfg.cluster_name.as_str();
        let clients = match clients(ctx, READ_TIMEOUT).await {
            Ok(c) => c,
            Err(d) => return (Vec::new(), d.into()),
        };
        let mut names = match clients.eks.list_nodegroups(cluster).await {
            Ok(n) => n,
            Err(e) => {
                return (
                    Vec::new(),
                    eks_diag(&format!("Cannot list the node groups of {cluster:?}"), &e)
                        .at(AttributePath::root().attr("cluster_name"))
                        .into(),
                )
            }
        };
        names.sort();
        let mut found = Vec::new();
        let mut diags = Diagnostics::new();
        for name in names {
            if found.len() >= limit {
                break;
            }
            if cfg
                .name_prefix
                .as_deref()
                .is_some_and(|p| !name.starts_with(p))
            {
                continue;
            }
            let (state, read) = read_imported(&Nodegroup, ctx, &format!("{cluster}:{name}")).await;
            diags.extend(read);
            let Some(state) = state else {
                continue;
            };
            let got = Found::read(&state).unwrap_or(Found {
                purpose: Field::Null,
                effective_labels: Field::Null,
            });
            let purpose = got.purpose.into_known().unwrap_or_else(|| "custom".into());
            if cfg.purpose.as_deref().is_some_and(|p| p != purpose) {
                continue;
            }
            if let Some(wanted) = &cfg.labels {
                let live = got.effective_labels.into_known().unwrap_or_default();
                if !wanted.iter().all(|(k, v)| live.get(k) == Some(v)) {
                    continue;
                }
            }
            found.push(Listed {
                display_name: format!("{cluster}:{name} ({purpose})"),
                state,
            });
        }
        if diags.has_errors() {
            diags.push(Diagnostic::warning(
                "Some node groups could not be read",
                format!("The listing of {cluster:?} leaves out the node groups the errors name."),
            ));
        }
        (found, diags)
    }
}
