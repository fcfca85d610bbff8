//! Acceptance tests: real Terraform (1.15.5 and 1.0.3, installed by `make testbed`) drives
//! the provider binary built by cargo, offline, in temporary directories.

mod support;

mod aws_faults;
mod bi_secrets;
mod bi_service;
mod change_matrix;
mod cluster_auth;
mod examples;
mod framework;
mod functions;
mod handover;
mod import_ids;
mod invalid_configs;
mod kube_faults;
mod kube_sandbox;
mod moved;
mod nodegroup;
mod nodegroup_recovery;
mod ownership;
mod plugin_process;
mod pod_iam;
mod provider_core;
mod query;
mod release;
mod release_platforms;
mod sandbox;
mod secrets;
mod spark;
mod spark_pool;
mod web_identity;
