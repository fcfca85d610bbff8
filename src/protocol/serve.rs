//! Serving the provider: bind (mutual TLS on TCP 127.0.0.1 when Terraform gives a client
//! certificate, else plaintext on a unix socket in a private directory; never plaintext on
//! TCP), print the handshake line, accept connections, serve the gRPC services, and exit
//! promptly on GRPCController.Shutdown.

use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::transport::Server;

use crate::framework::{Provider, ProviderServer};

use super::generated::health::health_server::HealthServer;
use super::generated::plugin::grpc_broker_server::GrpcBrokerServer;
use super::generated::plugin::grpc_controller_server::GrpcControllerServer;
use super::generated::plugin::grpc_stdio_server::GrpcStdioServer;
use super::generated::tfplugin6::provider_server::ProviderServer as ProviderGrpcServer;
use super::handshake::{self, HandshakeError, ListenAddr, PluginEnv};
use super::plugin_services::{Broker, Controller, Health, Stdio};
use super::provider_service::ProviderService;
#[cfg(unix)]
use super::socket_dir;
use super::socket_dir::{SocketDir, SocketDirError};
use super::tls::{self, TlsSetupError};
use super::MAX_MESSAGE_SIZE;

/// Why serving failed.
#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("TLS setup failed: {0}")]
    Tls(#[from] TlsSetupError),
    #[error("could not listen on 127.0.0.1: {0}")]
    Listen(#[source] io::Error),
    #[error(transparent)]
    SocketDir(#[from] SocketDirError),
    #[error("could not listen on the unix socket {}: {source}", path.display())]
    ListenUnix {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Terraform offered no client certificate and the platform has no unix sockets.
    #[error(
        "Terraform started the provider without mutual TLS (is TF_DISABLE_PLUGIN_TLS set?), and \
         on this platform that would mean plaintext gRPC on a TCP port any local user can \
         connect to; the provider refuses. Unset TF_DISABLE_PLUGIN_TLS."
    )]
    PlaintextTcpRefused,
    /// `--debug` where the platform has no unix sockets.
    #[error(
        "debug mode serves on a unix socket in a private directory, which this platform's build \
         cannot do; it does not serve plaintext gRPC on TCP, where any local user could drive \
         the provider. Run it in debug mode on Linux or macOS (or WSL)."
    )]
    DebugNeedsUnixSocket,
    #[error("could not write the handshake: {0}")]
    Stdout(#[source] io::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// e.g. `registry.terraform.io/dataplatform/dataplatform`, used in debug mode.
    pub provider_address: String,
    /// `PLUGIN_UNIX_SOCKET_DIR`: where the socket's private directory goes instead of the
    /// temporary directory.
    pub unix_socket_dir: Option<PathBuf>,
}

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed accept (out of file descriptors, say), how long before the next one.
const ACCEPT_RETRY_PAUSE: Duration = Duration::from_millis(50);
/// After Shutdown, how long in-flight responses get before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// One accepted plugin connection: mutual TLS on TCP, or plaintext on the private unix socket.
/// There is no plaintext TCP connection.
pub enum PluginConn {
    Tls(Box<TlsStream<TcpStream>>),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Connected for PluginConn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            #[cfg(unix)]
            PluginConn::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            #[cfg(unix)]
            PluginConn::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(unix)]
            PluginConn::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            #[cfg(unix)]
            PluginConn::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            PluginConn::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            PluginConn::Tls(s) => s.is_write_vectored(),
            #[cfg(unix)]
            PluginConn::Unix(s) => s.is_write_vectored(),
        }
    }
}

/// What accepts connections: TLS is part of the TCP variant, so plaintext TCP cannot be
/// served.
enum Acceptor {
    Tls {
        listener: TcpListener,
        tls: TlsAcceptor,
    },
    #[cfg(unix)]
    Unix(UnixListener),
}

/// A bound listener with its TLS settings, ready to serve.
pub struct Listener {
    acceptor: Acceptor,
    addr: ListenAddr,
    server_cert_der: Option<Vec<u8>>,
    /// The unix socket's private directory, removed (with the socket) when serving ends.
    socket_dir: Option<SocketDir>,
}

impl Listener {
    /// With Terraform's client certificate: mutual TLS on 127.0.0.1, a free port. Without
    /// one: plaintext on a unix socket in a fresh directory of mode 0700 (see
    /// [`super::socket_dir`]). On platforms without unix sockets (Windows), serving without a
    /// client certificate is refused rather than done in plaintext on TCP.
    ///
    /// # Errors
    /// [`ServeError`] when TLS cannot be set up, the port or socket cannot be bound, or the
    /// mode would need plaintext on TCP.
    pub async fn bind(env: &PluginEnv) -> Result<Listener, ServeError> {
        match &env.client_cert_pem {
            Some(pem) => Listener::bind_tls(pem).await,
            None => Listener::bind_unix(env.unix_socket_dir.as_deref()),
        }
    }

    async fn bind_tls(client_cert_pem: &str) -> Result<Listener, ServeError> {
        let t = tls::server_config(client_cert_pem)?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(ServeError::Listen)?;
        let addr = ListenAddr::Tcp(listener.local_addr().map_err(ServeError::Listen)?);
        Ok(Listener {
            acceptor: Acceptor::Tls {
                listener,
                tls: TlsAcceptor::from(t.config),
            },
            addr,
            server_cert_der: Some(t.server_cert_der),
            socket_dir: None,
        })
    }

    #[cfg(unix)]
    fn bind_unix(configured_dir: Option<&Path>) -> Result<Listener, ServeError> {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = SocketDir::create(&socket_dir::base_dir(configured_dir))?;
        let path = dir.socket_path().to_path_buf();
        let listen_err = |source| ServeError::ListenUnix {
            path: path.clone(),
            source,
        };
        let listener = UnixListener::bind(&path).map_err(listen_err)?;
        std::fs::set_permissions(
            &path,
            std::fs::Permissions::from_mode(socket_dir::SOCKET_MODE),
        )
        .map_err(listen_err)?;
        Ok(Listener {
            acceptor: Acceptor::Unix(listener),
            addr: ListenAddr::Unix(path),
            server_cert_der: None,
            socket_dir: Some(dir),
        })
    }

    /// Windows: tokio has no unix sockets there, and plaintext on TCP loopback would let any
    /// local user drive the provider, so there is no plaintext listener at all.
    #[cfg(not(unix))]
    fn bind_unix(_configured_dir: Option<&Path>) -> Result<Listener, ServeError> {
        Err(ServeError::PlaintextTcpRefused)
    }

    /// DER of the server certificate when serving TLS.
    pub fn server_cert_der(&self) -> Option<&[u8]> {
        self.server_cert_der.as_deref()
    }

    /// Where this listener listens.
    pub fn addr(&self) -> &ListenAddr {
        &self.addr
    }

    /// The go-plugin handshake line for this listener.
    pub fn handshake_line(&self) -> String {
        handshake::handshake_line(&self.addr, self.server_cert_der.as_deref())
    }
}

impl Acceptor {
    /// Accepts connections until `stop`, completing TLS handshakes off the accept loop.
    fn incoming(self, stop: CancellationToken) -> ReceiverStream<Result<PluginConn, io::Error>> {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            match self {
                Acceptor::Tls { listener, tls } => accept_tls(listener, tls, tx, stop).await,
                #[cfg(unix)]
                Acceptor::Unix(listener) => accept_unix(listener, tx, stop).await,
            }
        });
        ReceiverStream::new(rx)
    }
}

type ConnSender = mpsc::Sender<Result<PluginConn, io::Error>>;

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: ConnSender,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY_PAUSE).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send(Ok(PluginConn::Tls(Box::new(tls)))).await;
                }
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "refused a plugin connection")
                }
                Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

#[cfg(unix)]
async fn accept_unix(listener: UnixListener, tx: ConnSender, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) => {
                if tx.send(Ok(PluginConn::Unix(stream))).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY_PAUSE).await;
            }
        }
    }
}

/// Serves `provider` on `listener` until Shutdown (or, in debug mode, until `stop`), then
/// removes the unix socket and its directory, if any.
///
/// # Errors
/// [`ServeError::Transport`] when the gRPC server fails.
pub async fn run<P: Provider>(
    provider: P,
    listener: Listener,
    stop: CancellationToken,
    debug: bool,
) -> Result<(), ServeError> {
    // Held until serving ends, however it ends: dropping it removes the socket and directory.
    let Listener {
        acceptor,
        socket_dir: _socket_dir,
        ..
    } = listener;
    let server = Arc::new(ProviderServer::new(provider));
    let provider_svc = ProviderGrpcServer::new(ProviderService::new(server))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let incoming = acceptor.incoming(stop.clone());
    let router = Server::builder()
        .add_service(provider_svc)
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: stop.clone(),
            debug,
        }))
        .add_service(GrpcStdioServer::new(Stdio {
            shutdown: stop.clone(),
        }))
        .add_service(GrpcBrokerServer::new(Broker))
        .add_service(HealthServer::new(Health));
    let graceful = router.serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    tokio::select! {
        r = graceful => r?,
        _ = async { stop.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {}
    }
    Ok(())
}

/// Serves as a plugin started by Terraform: checks the handshake environment, prints the
/// handshake line and serves until Shutdown. SIGINT is ignored, as go-plugin does: Terraform
/// forwards Ctrl-C as StopProvider, which cancels operations without killing the plugin.
/// SIGTERM and SIGHUP stop serving (removing the unix socket, if any) and end the process.
///
/// # Errors
/// [`ServeError`] when the environment is not Terraform's or serving fails.
pub async fn serve<P: Provider>(provider: P, env: PluginEnv) -> Result<(), ServeError> {
    let listener = Listener::bind(&env).await?;
    let line = listener.handshake_line();
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(ServeError::Stdout)?;
    drop(out);
    tracing::debug!(
        network = listener.addr().network(),
        address = %listener.addr(),
        tls = listener.server_cert_der().is_some(),
        "serving"
    );
    let stop = CancellationToken::new();
    tokio::spawn(ignore_interrupts());
    tokio::spawn(stop_on_termination(stop.clone()));
    run(provider, listener, stop, false).await
}

/// Ctrl-C reaches the plugin too (its terminal's process group; on Windows, its console). It is
/// ignored, as go-plugin does: Terraform stops the provider through StopProvider.
async fn ignore_interrupts() {
    #[cfg(unix)]
    if let Ok(mut sigint) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    {
        while sigint.recv().await.is_some() {
            tracing::debug!("SIGINT ignored: Terraform stops the provider through StopProvider");
        }
    }
    #[cfg(windows)]
    if let Ok(mut ctrl_c) = tokio::signal::windows::ctrl_c() {
        while ctrl_c.recv().await.is_some() {
            tracing::debug!("Ctrl-C ignored: Terraform stops the provider through StopProvider");
        }
    }
}

/// SIGTERM and SIGHUP end serving the orderly way, so the unix socket and its directory are
/// removed rather than left behind by a killed process. (Windows serves no unix socket.)
async fn stop_on_termination(stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = signal(SignalKind::hangup()).ok();
        tokio::select! {
            _ = next_signal(&mut term) => tracing::debug!("SIGTERM: stopping"),
            _ = next_signal(&mut hup) => tracing::debug!("SIGHUP: stopping"),
        }
        stop.cancel();
    }
    #[cfg(not(unix))]
    drop(stop);
}

/// The next delivery of `signal`; never, when it could not be registered.
#[cfg(unix)]
async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Debug mode: serves plaintext on a unix socket in a private directory (mode 0700) for
/// Terraform to attach to, printing `TF_REATTACH_PROVIDERS`, until Ctrl-C, SIGTERM or SIGHUP;
/// then removes the socket and the directory.
///
/// Windows builds refuse debug mode ([`ServeError::DebugNeedsUnixSocket`]): tokio has no unix
/// sockets there, Terraform cannot present a client certificate when it reattaches, and
/// plaintext on TCP loopback would let any local user drive the provider.
///
/// # Errors
/// [`ServeError`] when the socket cannot be made or serving fails.
pub async fn serve_debug<P: Provider>(provider: P, opts: ServeOptions) -> Result<(), ServeError> {
    if !cfg!(unix) {
        return Err(ServeError::DebugNeedsUnixSocket);
    }
    let listener = Listener::bind(&PluginEnv {
        client_cert_pem: None,
        unix_socket_dir: opts.unix_socket_dir.clone(),
    })
    .await?;
    let reattach =
        handshake::reattach_config(&opts.provider_address, listener.addr(), std::process::id());
    println!(
        "Provider started in debug mode, serving on the unix socket {} (in a directory only \
         you can open; both are removed when the provider stops). To attach Terraform, run in \
         another shell:\n\n\texport TF_REATTACH_PROVIDERS='{}'\n\n\
         then run terraform commands as usual. Press Ctrl-C to stop.",
        listener.addr(),
        shell_single_quoted(&reattach)
    );
    let stop = CancellationToken::new();
    let on_ctrl_c = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_ctrl_c.cancel();
    });
    tokio::spawn(stop_on_termination(stop.clone()));
    run(provider, listener, stop, true).await
}

/// `s` for use between single quotes in a POSIX shell.
fn shell_single_quoted(s: &str) -> String {
    s.replace('\'', "'\\''")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_survive_the_shell() {
        assert_eq!(shell_single_quoted("a'b"), "a'\\''b");
        assert_eq!(shell_single_quoted("{\"a\":1}"), "{\"a\":1}");
    }
}
