//! Cloud clients: EKS and Auto Scaling through the AWS SDK, Kubernetes through kube, with finders, waiters and typed
//! errors. Nothing here knows about Terraform; resources translate to and from these types.

pub mod autoscaling;
pub mod aws;
pub mod bounds;
pub mod ec2;
pub mod eks;
pub mod eks_token;
pub mod ingress;
pub mod kube;
pub mod rollout;
#[cfg(test)]
mod test_http;
pub mod wait;
