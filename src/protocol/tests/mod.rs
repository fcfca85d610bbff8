//! RPC-level tests: the gRPC services driven the way Terraform core drives them, with
//! test-only resources that live here.

mod change_matrix;
mod core_model;
mod fixture;
mod rpc;
mod sensitive;
#[cfg(unix)]
mod socket;
mod tls;
