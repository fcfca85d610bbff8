//! The provider's resources, one folder each.

pub mod bi_service;
pub mod cluster;
pub mod nodegroup;
