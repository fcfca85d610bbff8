//! terraform-provider-dataplatform: a Terraform/OpenTofu provider that declares a
//! Spark-on-EKS data platform (node groups by purpose, BI services, Spark pools).
//!
//! Layers, each depending only on those below it:
//! - [`protocol`]: the only code that sees generated protobuf types: the go-plugin handshake,
//!   mutual TLS, the gRPC services and the conversions to and from the framework.
//! - [`framework`]: schemas, typed models, plan pipeline, validation, diagnostics.
//! - [`value`]: Terraform's type system and the msgpack/JSON wire codecs.
//! - [`provider`]: the `dataplatform` provider, its configuration and resources.

#![forbid(unsafe_code)]

pub mod clients;
pub mod conns;
pub mod docs;
pub mod framework;
pub mod logging;
pub mod protocol;
pub mod provider;
pub mod resources;
pub mod value;
