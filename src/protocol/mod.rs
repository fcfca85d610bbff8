//! The plugin protocol layer: the only code that sees generated protobuf types.
//!
//! - [`handshake`]: the go-plugin environment and handshake line.
//! - [`tls`]: AutoMTLS pinned to Terraform's client certificate.
//! - [`serve`]: listening, serving and shutting down.
//! - [`socket_dir`]: the private directory of the unix socket served without mutual TLS.
//! - `provider_service`: tfplugin6 RPC handlers (decode, call the framework, encode).
//! - `plugin_services`: go-plugin's controller, stdio and broker, and gRPC health.

mod convert;
pub mod handshake;
mod plugin_services;
mod provider_service;
pub mod serve;
pub mod socket_dir;
pub mod tls;

#[cfg(test)]
mod tests;

/// Generated code, private to this layer.
#[allow(clippy::all, clippy::pedantic, missing_docs, dead_code)]
mod generated {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
    pub mod health {
        tonic::include_proto!("grpc.health.v1");
    }
}

pub use serve::{serve, serve_debug, ServeError, ServeOptions};

/// gRPC message limit: what the Go plugin libraries use; large states exceed tonic's 4 MiB.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;
