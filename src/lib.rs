//! terraform-provider-dataplatform: a Terraform/OpenTofu provider that declares a
//! Spark-on-EKS data platform (node groups by purpose, BI services, Spark pools).
//!
//! Layers, each depending only on those below it:
//! - [`protocol`]: the only code that sees generated protobuf types: the go-plugin handshake,
//!   mutual TLS, the gRPC services and the conversions to and from the framework.
//! - [`provider`]: the `dataplatform` provider: its schema, its configuration, and the list of
//!   resources, data sources and functions it serves.
//! - [`resources`]: one folder per resource (schema, plan, CRUD; expand/flatten in
//!   `model.rs`), the Kubernetes lifecycle they share ([`resources::kube_objects`]) and the
//!   schema pieces they share ([`resources::common`]).
//! - [`functions`]: the provider functions, pure, built on the resources' shared pieces.
//! - [`conns`]: what a configured provider hands every resource: its settings and the one
//!   holder of the clients built from them, lazily and once per configuration.
//! - [`framework`]: schemas, cross-field rules, typed models, plan pipeline, validation,
//!   diagnostics, and the server that routes each RPC to a resource.
//! - [`clients`]: EKS, Auto Scaling, EKS tokens and Kubernetes: finders, waiters, typed
//!   errors; nothing of Terraform.
//! - [`value`]: Terraform's type system and the msgpack/JSON wire codecs.
//!
//! Beside them: [`docs`] generates `docs/` from the schemas, [`logging`] writes go-hclog JSON
//! to stderr, [`pem`] reads PEM certificates.
//!
//! Where tests live:
//! - Unit tests sit at the end of the file they test, in `#[cfg(test)] mod tests { .. }`,
//!   named by behaviour.
//! - When they outgrow the file, they move next to it: `tests.rs` in a module's folder
//!   (`resources/spark_pool/tests.rs`), or `<file>_tests.rs` beside a single-file module
//!   (`value/json_tests.rs`, included with `#[path]`).
//! - Tests that drive the whole provider through gRPC (RPC level, the schema-driven change
//!   matrix) live in `protocol/tests/`; those that run real Terraform in `acceptance/`.

#![forbid(unsafe_code)]

pub mod clients;
pub mod conns;
pub mod docs;
pub mod framework;
pub mod functions;
pub mod logging;
pub mod pem;
pub mod protocol;
pub mod provider;
pub mod resources;
pub mod value;
