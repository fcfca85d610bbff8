//! Auto Scaling group tags: what the cluster autoscaler reads to discover a node group's
//! groups and to scale them from zero.

use std::collections::BTreeMap;

use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::types::{Filter, Tag};
use aws_sdk_autoscaling::Client;
use thiserror::Error;

/// What went wrong with Auto Scaling (throttling and 5xx were already retried).
#[derive(Debug, Error)]
#[error("{operation} on Auto Scaling group {group} failed: {message}")]
pub struct AutoscalingError {
    pub operation: &'static str,
    pub group: String,
    pub message: String,
}

fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    operation: &'static str,
    group: &str,
    e: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> AutoscalingError {
    let message = match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => match e.raw_response() {
            Some(r) => format!("unexpected HTTP {} response", r.status().as_u16()),
            None => super::aws::error_chain(&e),
        },
    };
    AutoscalingError {
        operation,
        group: group.to_string(),
        message,
    }
}

#[derive(Clone, Debug)]
pub struct Autoscaling {
    client: Client,
}

impl Autoscaling {
    pub fn new(client: Client) -> Self {
        Autoscaling { client }
    }

    /// The tags of one group whose keys start with `prefix`.
    ///
    /// # Errors
    /// [`AutoscalingError`] when the tags cannot be read.
    pub async fn tags(
        &self,
        group: &str,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, AutoscalingError> {
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let resp = self
                .client
                .describe_tags()
                .filters(
                    Filter::builder()
                        .name("auto-scaling-group")
                        .values(group)
                        .build(),
                )
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| error("DescribeTags", group, e))?;
            for t in resp.tags() {
                if let (Some(k), Some(v)) = (t.key(), t.value()) {
                    if k.starts_with(prefix) && t.resource_id() == Some(group) {
                        out.insert(k.to_string(), v.to_string());
                    }
                }
            }
            token = resp.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Makes the group's tags under `prefix` exactly `wanted`.
    ///
    /// # Errors
    /// [`AutoscalingError`] when tags cannot be read or written.
    pub async fn sync_tags(
        &self,
        group: &str,
        prefix: &str,
        wanted: &BTreeMap<String, String>,
    ) -> Result<(), AutoscalingError> {
        let current = self.tags(group, prefix).await?;
        let tag = |k: &str, v: Option<&str>| {
            Tag::builder()
                .resource_id(group)
                .resource_type("auto-scaling-group")
                .key(k)
                .set_value(v.map(str::to_string))
                .propagate_at_launch(false)
                .build()
        };
        let stale: Vec<Tag> = current
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(|k| tag(k, None))
            .collect();
        if !stale.is_empty() {
            self.client
                .delete_tags()
                .set_tags(Some(stale))
                .send()
                .await
                .map_err(|e| error("DeleteTags", group, e))?;
        }
        let changed: Vec<Tag> = wanted
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| tag(k, Some(v)))
            .collect();
        if !changed.is_empty() {
            self.client
                .create_or_update_tags()
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| error("CreateOrUpdateTags", group, e))?;
        }
        Ok(())
    }
}
