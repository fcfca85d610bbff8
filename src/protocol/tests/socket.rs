//! Without mutual TLS the provider serves on a unix socket in a private directory: owner-only,
//! announced as `unix` in the handshake line, and gone once serving ends, however it ends.

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

use super::fixture::{TestProvider, World};
use crate::protocol::generated::plugin::grpc_controller_client::GrpcControllerClient;
use crate::protocol::generated::plugin::Empty;
use crate::protocol::generated::tfplugin6 as pb;
use crate::protocol::handshake::{ListenAddr, PluginEnv};
use crate::protocol::serve::{run, Listener};
use crate::protocol::socket_dir::{DIR_PREFIX, SOCKET_NAME};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .collect()
}

fn provider() -> TestProvider {
    TestProvider {
        world: Arc::new(World::default()),
    }
}

/// Binds without a client certificate, with `PLUGIN_UNIX_SOCKET_DIR` set to `base`.
async fn bind_in(base: &Path) -> (Listener, PathBuf) {
    let listener = Listener::bind(&PluginEnv {
        unix_socket_dir: Some(base.to_path_buf()),
        ..PluginEnv::default()
    })
    .await
    .expect("bind");
    let ListenAddr::Unix(path) = listener.addr().clone() else {
        panic!(
            "plaintext is served on a unix socket, not {}",
            listener.addr()
        );
    };
    (listener, path)
}

#[tokio::test]
async fn serves_on_an_owner_only_socket_and_removes_it_after_shutdown() {
    let base = tempfile::tempdir().expect("base");
    let (listener, socket) = bind_in(base.path()).await;
    let dir = socket.parent().expect("socket directory").to_path_buf();
    assert_eq!(dir.parent(), Some(base.path()));
    let name = dir.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.starts_with(DIR_PREFIX), "{name}");
    assert_eq!(socket.file_name(), Some(SOCKET_NAME.as_ref()));
    assert_eq!(mode(&dir), 0o700, "directory is owner-only");
    assert!(
        std::fs::symlink_metadata(&socket)
            .expect("socket")
            .file_type()
            .is_socket(),
        "{} is a socket",
        socket.display()
    );
    assert_eq!(mode(&socket), 0o600, "socket is owner-only");
    assert_eq!(
        listener.handshake_line(),
        format!("1|6|unix|{}|grpc|", socket.display())
    );

    let stop = CancellationToken::new();
    let done = tokio::spawn(run(provider(), listener, stop.clone(), false));
    let channel = Endpoint::from_shared(format!("unix:{}", socket.display()))
        .expect("uri")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the socket");
    let schema = pb::provider_client::ProviderClient::new(channel.clone())
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("schema over the socket")
        .into_inner();
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("shutdown answered");
    let result = tokio::time::timeout(Duration::from_secs(3), done)
        .await
        .expect("server ended promptly");
    assert!(result.expect("server task").is_ok());
    assert!(!socket.exists(), "socket removed");
    assert!(!dir.exists(), "directory removed");
    assert_eq!(entries(base.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn serving_stopped_from_outside_removes_the_socket() {
    // Debug mode's Ctrl-C, and SIGTERM or SIGHUP in either mode, cancel `stop`.
    let base = tempfile::tempdir().expect("base");
    let (listener, socket) = bind_in(base.path()).await;
    let stop = CancellationToken::new();
    let done = tokio::spawn(run(provider(), listener, stop.clone(), true));
    assert!(socket.exists());
    stop.cancel();
    let result = tokio::time::timeout(Duration::from_secs(3), done)
        .await
        .expect("server ended promptly");
    assert!(result.expect("server task").is_ok());
    assert_eq!(entries(base.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_listener_dropped_before_serving_leaves_nothing_behind() {
    // As when the handshake line cannot be written.
    let base = tempfile::tempdir().expect("base");
    let (listener, socket) = bind_in(base.path()).await;
    assert!(socket.exists());
    drop(listener);
    assert_eq!(entries(base.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_socket_directory_that_cannot_be_made_is_a_clear_error() {
    let base = tempfile::tempdir().expect("base");
    let missing = base.path().join("missing");
    let e = Listener::bind(&PluginEnv {
        unix_socket_dir: Some(missing),
        ..PluginEnv::default()
    })
    .await
    .err()
    .expect("no directory to make the socket in");
    let text = e.to_string();
    assert!(text.contains("private directory"), "{text}");
    assert!(text.contains("PLUGIN_UNIX_SOCKET_DIR"), "{text}");
}

#[tokio::test]
async fn plaintext_is_never_announced_on_tcp() {
    let plain = Listener::bind(&PluginEnv::default()).await.expect("bind");
    let line = plain.handshake_line();
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(fields[2], "unix", "{line}");
    assert_eq!(fields[5], "", "{line}");
    drop(plain);

    let (_, _, client_pem) = super::tls::terraform_like_cert();
    let tls = Listener::bind(&PluginEnv {
        client_cert_pem: Some(client_pem),
        ..PluginEnv::default()
    })
    .await
    .expect("bind");
    let line = tls.handshake_line();
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields[2], "tcp", "{line}");
    assert!(fields[3].starts_with("127.0.0.1:"), "{line}");
    assert!(
        !fields[5].is_empty(),
        "TCP always carries a certificate: {line}"
    );
}
