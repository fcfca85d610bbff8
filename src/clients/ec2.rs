//! EC2: the launch templates a node group owns (their user data prepares the instance-store
//! disks) and the instance types' local storage (how much NVMe a node brings, which the
//! cluster autoscaler needs to scale a group from zero). Every call runs under the client's
//! [`Bounds`]: a cancellation or the operation's deadline ends it, whatever the SDK's retries
//! would still do.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    InstanceType, InstanceTypeInfo, LaunchTemplate as SdkLaunchTemplate,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType, Tag,
    TagSpecification,
};
use aws_sdk_ec2::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use thiserror::Error;

use super::bounds::Bounds;

/// What went wrong with EC2 (throttling and 5xx were already retried).
#[derive(Clone, Debug, Error)]
#[error("{operation} on {subject} {failure}")]
pub struct Ec2Error {
    pub operation: &'static str,
    /// The launch template or instance types the call was about.
    pub subject: String,
    pub failure: Failure,
}

pub use super::aws::CallFailure as Failure;

/// EC2's answer for a launch template that does not exist (by id or by name).
fn template_not_found(f: &Failure) -> bool {
    matches!(f, Failure::Api { code, .. }
        if code.starts_with("InvalidLaunchTemplateId.NotFound")
            || code.starts_with("InvalidLaunchTemplateName.NotFound"))
}

/// Sends one request under `bounds`.
async fn call<T, E, F>(bounds: &Bounds, send: F) -> Result<T, Failure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    super::aws::call(bounds, "EC2", send).await
}

/// A launch template as the node group sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: String,
    /// The newest version: the one a group is pointed at after a change.
    pub latest_version: i64,
    pub tags: BTreeMap<String, String>,
}

impl LaunchTemplate {
    fn from_sdk(t: &SdkLaunchTemplate) -> LaunchTemplate {
        LaunchTemplate {
            id: t.launch_template_id().unwrap_or_default().to_string(),
            name: t.launch_template_name().unwrap_or_default().to_string(),
            latest_version: t.latest_version_number().unwrap_or(1),
            tags: t
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        }
    }
}

/// What a launch template version carries: the node's user data (base64, as EC2 takes it)
/// and the tags its instances and their volumes are launched with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateData {
    pub user_data_base64: String,
    pub instance_tags: BTreeMap<String, String>,
}

impl TemplateData {
    fn to_sdk(&self) -> RequestLaunchTemplateData {
        let tags: Vec<Tag> = self
            .instance_tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let specs = (!tags.is_empty()).then(|| {
            [ResourceType::Instance, ResourceType::Volume]
                .into_iter()
                .map(|r| {
                    LaunchTemplateTagSpecificationRequest::builder()
                        .resource_type(r)
                        .set_tags(Some(tags.clone()))
                        .build()
                })
                .collect()
        });
        RequestLaunchTemplateData::builder()
            .user_data(&self.user_data_base64)
            .set_tag_specifications(specs)
            .build()
    }
}

/// An instance type's local (instance-store) disks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceStorage {
    pub instance_type: String,
    /// Total instance-store size in GB (decimal, as EC2 reports it); 0 without instance store.
    pub total_gb: i64,
    /// Number of instance-store disks.
    pub disks: i32,
    /// Whether the disks are NVMe (`required` or `supported`).
    pub nvme: bool,
}

impl InstanceStorage {
    fn from_sdk(i: &InstanceTypeInfo) -> InstanceStorage {
        let info = i.instance_storage_info();
        InstanceStorage {
            instance_type: i
                .instance_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            total_gb: info.and_then(|s| s.total_size_in_gb()).unwrap_or(0),
            disks: info
                .map(|s| s.disks().iter().filter_map(|d| d.count()).sum())
                .unwrap_or(0),
            nvme: info
                .and_then(|s| s.nvme_support())
                .is_some_and(|n| n.as_str() != "unsupported"),
        }
    }
}

#[derive(Clone)]
pub struct Ec2 {
    client: Client,
    bounds: Bounds,
}

impl std::fmt::Debug for Ec2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2").finish_non_exhaustive()
    }
}

impl Ec2 {
    pub fn new(client: Client) -> Self {
        Ec2 {
            client,
            bounds: Bounds::default(),
        }
    }

    /// The same client, whose calls end when `bounds` say so.
    #[must_use]
    pub fn bounded(&self, bounds: Bounds) -> Ec2 {
        Ec2 {
            bounds,
            ..self.clone()
        }
    }

    /// Creates a launch template with `data` as version 1, tagged with `tags`. `token` makes a
    /// retried create return the same template rather than a second one.
    ///
    /// # Errors
    /// [`Ec2Error`] when EC2 refuses or cannot be reached.
    pub async fn create_launch_template(
        &self,
        name: &str,
        data: &TemplateData,
        tags: &BTreeMap<String, String>,
        token: &str,
    ) -> Result<LaunchTemplate, Ec2Error> {
        let err = |failure| Ec2Error {
            operation: "CreateLaunchTemplate",
            subject: format!("launch template {name}"),
            failure,
        };
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::LaunchTemplate)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .build();
        let out = call(
            &self.bounds,
            self.client
                .create_launch_template()
                .launch_template_name(name)
                .launch_template_data(data.to_sdk())
                .tag_specifications(tags)
                .client_token(token)
                .send(),
        )
        .await
        .map_err(err)?;
        out.launch_template()
            .map(LaunchTemplate::from_sdk)
            .ok_or_else(|| {
                err(Failure::Unreadable {
                    status: 200,
                    detail: "no launch template in the answer".into(),
                })
            })
    }

    /// The launch template with this id; `None` when it does not exist.
    ///
    /// # Errors
    /// [`Ec2Error`] when EC2 cannot be asked.
    pub async fn find_launch_template(&self, id: &str) -> Result<Option<LaunchTemplate>, Ec2Error> {
        let out = call(
            &self.bounds,
            self.client
                .describe_launch_templates()
                .launch_template_ids(id)
                .send(),
        )
        .await;
        match out {
            Ok(o) => Ok(o.launch_templates().first().map(LaunchTemplate::from_sdk)),
            Err(f) if template_not_found(&f) => Ok(None),
            Err(failure) => Err(Ec2Error {
                operation: "DescribeLaunchTemplates",
                subject: format!("launch template {id}"),
                failure,
            }),
        }
    }

    /// The user data (base64) of a version of a launch template; `None` when the template,
    /// the version or its user data does not exist.
    ///
    /// # Errors
    /// [`Ec2Error`] when EC2 cannot be asked.
    pub async fn version_user_data(
        &self,
        id: &str,
        version: i64,
    ) -> Result<Option<String>, Ec2Error> {
        let out = call(
            &self.bounds,
            self.client
                .describe_launch_template_versions()
                .launch_template_id(id)
                .versions(version.to_string())
                .send(),
        )
        .await;
        match out {
            Ok(o) => Ok(o
                .launch_template_versions()
                .first()
                .and_then(|v| v.launch_template_data())
                .and_then(|d| d.user_data())
                .map(str::to_string)),
            Err(f) if template_not_found(&f) => Ok(None),
            Err(failure) => Err(Ec2Error {
                operation: "DescribeLaunchTemplateVersions",
                subject: format!("launch template {id} version {version}"),
                failure,
            }),
        }
    }

    /// Adds a version carrying `data`; returns its number.
    ///
    /// # Errors
    /// [`Ec2Error`] when EC2 refuses or cannot be reached.
    pub async fn create_version(&self, id: &str, data: &TemplateData) -> Result<i64, Ec2Error> {
        let err = |failure| Ec2Error {
            operation: "CreateLaunchTemplateVersion",
            subject: format!("launch template {id}"),
            failure,
        };
        let out = call(
            &self.bounds,
            self.client
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(data.to_sdk())
                .send(),
        )
        .await
        .map_err(err)?;
        out.launch_template_version()
            .and_then(|v| v.version_number())
            .ok_or_else(|| {
                err(Failure::Unreadable {
                    status: 200,
                    detail: "no version number in the answer".into(),
                })
            })
    }

    /// Deletes the launch template; one already gone is success.
    ///
    /// # Errors
    /// [`Ec2Error`] when EC2 refuses or cannot be reached.
    pub async fn delete_launch_template(&self, id: &str) -> Result<(), Ec2Error> {
        match call(
            &self.bounds,
            self.client
                .delete_launch_template()
                .launch_template_id(id)
                .send(),
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(f) if template_not_found(&f) => Ok(()),
            Err(failure) => Err(Ec2Error {
                operation: "DeleteLaunchTemplate",
                subject: format!("launch template {id}"),
                failure,
            }),
        }
    }

    /// The instance-store facts of `types`, in the order asked; a type EC2 does not know is
    /// left out.
    ///
    /// # Errors
    /// [`Ec2Error`] when EC2 refuses (an invalid type name included) or cannot be reached.
    pub async fn instance_storage(
        &self,
        types: &[String],
    ) -> Result<Vec<InstanceStorage>, Ec2Error> {
        let out = call(
            &self.bounds,
            self.client
                .describe_instance_types()
                .set_instance_types(Some(
                    types
                        .iter()
                        .map(|t| InstanceType::from(t.as_str()))
                        .collect(),
                ))
                .send(),
        )
        .await
        .map_err(|failure| Ec2Error {
            operation: "DescribeInstanceTypes",
            subject: format!("instance types {}", types.join(", ")),
            failure,
        })?;
        let found: BTreeMap<String, InstanceStorage> = out
            .instance_types()
            .iter()
            .map(InstanceStorage::from_sdk)
            .map(|s| (s.instance_type.clone(), s))
            .collect();
        Ok(types.iter().filter_map(|t| found.get(t).cloned()).collect())
    }
}

/// The size the cluster autoscaler may assume for a node of the group: the smallest
/// instance store among its types (a node of any of them may come up), in GiB, rounded down.
/// `None` when a type has no instance store or none is known.
pub fn smallest_instance_store_gib(storage: &[InstanceStorage]) -> Option<i64> {
    const GB: i128 = 1_000_000_000;
    const GIB: i128 = 1 << 30;
    let smallest = storage.iter().map(|s| s.total_gb).min()?;
    if smallest <= 0 {
        return None;
    }
    i64::try_from(i128::from(smallest) * GB / GIB).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(t: &str, gb: i64) -> InstanceStorage {
        InstanceStorage {
            instance_type: t.into(),
            total_gb: gb,
            disks: 1,
            nvme: true,
        }
    }

    #[test]
    fn the_autoscaler_is_told_the_smallest_store_in_gib() {
        let s = [store("r5d.2xlarge", 300), store("r5dn.2xlarge", 300)];
        assert_eq!(smallest_instance_store_gib(&s), Some(279));
        let s = [store("r5d.4xlarge", 600), store("r5d.2xlarge", 300)];
        assert_eq!(smallest_instance_store_gib(&s), Some(279));
    }

    #[test]
    fn a_type_without_instance_store_means_no_store_size() {
        let s = [store("r5d.2xlarge", 300), store("r5.2xlarge", 0)];
        assert_eq!(smallest_instance_store_gib(&s), None);
        assert_eq!(smallest_instance_store_gib(&[]), None);
    }

    #[test]
    fn missing_launch_templates_are_recognised_by_code() {
        let f = |code: &str| Failure::Api {
            code: code.into(),
            message: String::new(),
        };
        assert!(template_not_found(&f("InvalidLaunchTemplateId.NotFound")));
        assert!(template_not_found(&f(
            "InvalidLaunchTemplateName.NotFoundException"
        )));
        assert!(!template_not_found(&f("UnauthorizedOperation")));
    }
}
