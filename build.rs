//! Compiles the plugin protocol definitions under `proto/` with a pure-Rust protobuf
//! compiler (protox), so building the provider needs no system `protoc`.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "tfplugin6.proto",
    "grpc_controller.proto",
    "grpc_stdio.proto",
    "grpc_broker.proto",
    "health.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from("proto");
    for p in PROTOS {
        println!("cargo:rerun-if-changed={}", dir.join(p).display());
    }
    let descriptors = protox::compile(PROTOS, [&dir])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
