//! EKS Pod Identity associations: which IAM role the pods of one service account get. One
//! association per cluster, namespace and service account (EKS refuses a second with
//! `ResourceInUseException`); create, find, change the role, delete.

use std::collections::BTreeMap;

use aws_sdk_eks::types as t;

use super::{hashmap, Eks, EksError};

/// Where an association applies: the pods of `service_account` in `namespace`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}/{}",
            self.cluster, self.namespace, self.service_account
        )
    }
}

/// An association as EKS reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub subject: Subject,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

fn from_sdk(cluster: &str, a: &t::PodIdentityAssociation) -> Association {
    Association {
        id: a.association_id().unwrap_or_default().to_string(),
        subject: Subject {
            cluster: a.cluster_name().unwrap_or(cluster).to_string(),
            namespace: a.namespace().unwrap_or_default().to_string(),
            service_account: a.service_account().unwrap_or_default().to_string(),
        },
        role_arn: a.role_arn().unwrap_or_default().to_string(),
        tags: a
            .tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

impl Eks {
    /// Creates an association of `role_arn` with the subject's pods.
    ///
    /// # Errors
    /// [`EksError::Api`] with `ResourceInUseException` when the service account already has
    /// one, `ResourceNotFoundException` when the cluster does not exist.
    pub async fn create_pod_identity(
        &self,
        subject: &Subject,
        role_arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Association, EksError> {
        let out = self
            .call(
                "CreatePodIdentityAssociation",
                &subject.to_string(),
                self.client
                    .create_pod_identity_association()
                    .cluster_name(&subject.cluster)
                    .namespace(&subject.namespace)
                    .service_account(&subject.service_account)
                    .role_arn(role_arn)
                    .set_tags((!tags.is_empty()).then(|| hashmap(tags)))
                    .send(),
            )
            .await?;
        Ok(out
            .association()
            .map(|a| from_sdk(&subject.cluster, a))
            .unwrap_or_else(|| Association {
                id: String::new(),
                subject: subject.clone(),
                role_arn: role_arn.to_string(),
                tags: tags.clone(),
            }))
    }

    /// An association by ID; `None` when it (or its cluster) does not exist.
    ///
    /// # Errors
    /// [`EksError`] for any other failure.
    pub async fn find_pod_identity(
        &self,
        cluster: &str,
        id: &str,
    ) -> Result<Option<Association>, EksError> {
        let found = self
            .call(
                "DescribePodIdentityAssociation",
                &format!("{cluster}:{id}"),
                self.client
                    .describe_pod_identity_association()
                    .cluster_name(cluster)
                    .association_id(id)
                    .send(),
            )
            .await;
        match found {
            Ok(out) => Ok(out.association().map(|a| from_sdk(cluster, a))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The ID of the subject's association, whoever made it; `None` when it has none.
    ///
    /// # Errors
    /// [`EksError`], not-found included (a cluster that does not exist).
    pub async fn find_pod_identity_of(
        &self,
        subject: &Subject,
    ) -> Result<Option<String>, EksError> {
        let out = self
            .call(
                "ListPodIdentityAssociations",
                &subject.to_string(),
                self.client
                    .list_pod_identity_associations()
                    .cluster_name(&subject.cluster)
                    .namespace(&subject.namespace)
                    .service_account(&subject.service_account)
                    .send(),
            )
            .await?;
        Ok(out
            .associations()
            .iter()
            .find(|a| {
                a.namespace() == Some(subject.namespace.as_str())
                    && a.service_account() == Some(subject.service_account.as_str())
            })
            .and_then(|a| a.association_id())
            .map(str::to_string))
    }

    /// Points an association at another role.
    ///
    /// # Errors
    /// [`EksError`], not-found included.
    pub async fn update_pod_identity(
        &self,
        cluster: &str,
        id: &str,
        role_arn: &str,
    ) -> Result<Association, EksError> {
        let resource = format!("{cluster}:{id}");
        let out = self
            .call(
                "UpdatePodIdentityAssociation",
                &resource,
                self.client
                    .update_pod_identity_association()
                    .cluster_name(cluster)
                    .association_id(id)
                    .role_arn(role_arn)
                    .send(),
            )
            .await?;
        out.association()
            .map(|a| from_sdk(cluster, a))
            .ok_or(EksError::Gone { resource })
    }

    /// Deletes an association; one that is already gone is not an error.
    ///
    /// # Errors
    /// [`EksError`] for any other failure.
    pub async fn delete_pod_identity(&self, cluster: &str, id: &str) -> Result<(), EksError> {
        let deleted = self
            .call(
                "DeletePodIdentityAssociation",
                &format!("{cluster}:{id}"),
                self.client
                    .delete_pod_identity_association()
                    .cluster_name(cluster)
                    .association_id(id)
                    .send(),
            )
            .await;
        match deleted {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }
}
