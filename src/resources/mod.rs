//! The provider's resources, one folder each.

pub mod bi_service;
pub mod cluster;
pub mod common;
pub mod ingress;
pub mod kube_objects;
pub mod nodegroup;
pub mod spark_pool;
