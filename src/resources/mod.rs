//! The provider's resources, one folder each.

pub mod nodegroup;
