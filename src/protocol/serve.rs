//! Serving the provider: bind loopback, print the handshake line, accept (mutual-TLS)
//! connections, serve the gRPC services, and exit promptly on GRPCController.Shutdown.

use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
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
use super::handshake::{self, HandshakeError, PluginEnv};
use super::plugin_services::{Broker, Controller, Health, Stdio};
use super::provider_service::ProviderService;
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
}

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// After Shutdown, how long in-flight responses get before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// One accepted plugin connection.
pub enum PluginConn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
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
            PluginConn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
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
            PluginConn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_flush(cx),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            PluginConn::Plain(s) => s.is_write_vectored(),
            PluginConn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// A bound listener with its TLS settings, ready to serve.
pub struct Listener {
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    server_cert_der: Option<Vec<u8>>,
}

impl Listener {
    /// Binds 127.0.0.1 on a free port and prepares TLS when Terraform gave a client certificate.
    ///
    /// # Errors
    /// [`ServeError`] when TLS cannot be set up or the port cannot be bound.
    pub async fn bind(env: &PluginEnv) -> Result<Listener, ServeError> {
        let (acceptor, server_cert_der) = match &env.client_cert_pem {
            Some(pem) => {
                let t = tls::server_config(pem)?;
                (Some(TlsAcceptor::from(t.config)), Some(t.server_cert_der))
            }
            None => (None, None),
        };
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(ServeError::Listen)?;
        Ok(Listener {
            listener,
            acceptor,
            server_cert_der,
        })
    }

    /// DER of the server certificate when serving TLS.
    pub fn server_cert_der(&self) -> Option<&[u8]> {
        self.server_cert_der.as_deref()
    }

    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.listener.local_addr().map_err(ServeError::Listen)
    }

    /// The go-plugin handshake line for this listener.
    pub fn handshake_line(&self) -> Result<String, ServeError> {
        Ok(handshake::handshake_line(
            self.local_addr()?,
            self.server_cert_der.as_deref(),
        ))
    }

    /// Accepts connections until `stop`, completing TLS handshakes off the accept loop.
    fn incoming(self, stop: CancellationToken) -> ReceiverStream<Result<PluginConn, io::Error>> {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop.cancelled() => break,
                    a = self.listener.accept() => a,
                };
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                match &self.acceptor {
                    None => {
                        if tx.send(Ok(PluginConn::Plain(tcp))).await.is_err() {
                            break;
                        }
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                                .await
                            {
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
            }
        });
        ReceiverStream::new(rx)
    }
}

/// Serves `provider` on `listener` until Shutdown (or, in debug mode, until `stop`).
///
/// # Errors
/// [`ServeError::Transport`] when the gRPC server fails.
pub async fn run<P: Provider>(
    provider: P,
    listener: Listener,
    stop: CancellationToken,
    debug: bool,
) -> Result<(), ServeError> {
    let server = Arc::new(ProviderServer::new(provider));
    let provider_svc = ProviderGrpcServer::new(ProviderService::new(server))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let incoming = listener.incoming(stop.clone());
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
///
/// # Errors
/// [`ServeError`] when the environment is not Terraform's or serving fails.
pub async fn serve<P: Provider>(provider: P, env: PluginEnv) -> Result<(), ServeError> {
    let listener = Listener::bind(&env).await?;
    let line = listener.handshake_line()?;
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(ServeError::Stdout)?;
    drop(out);
    tracing::debug!(handshake = %line.rsplit('|').nth(2).unwrap_or(""), tls = env.client_cert_pem.is_some(), "serving");
    tokio::spawn(ignore_interrupts());
    run(provider, listener, CancellationToken::new(), false).await
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

/// Debug mode: serves plaintext for Terraform to attach to, printing `TF_REATTACH_PROVIDERS`,
/// until Ctrl-C.
///
/// # Errors
/// [`ServeError`] when the port cannot be bound or serving fails.
pub async fn serve_debug<P: Provider>(provider: P, opts: ServeOptions) -> Result<(), ServeError> {
    let listener = Listener::bind(&PluginEnv {
        client_cert_pem: None,
    })
    .await?;
    let addr = listener.local_addr()?;
    let reattach = handshake::reattach_config(&opts.provider_address, addr, std::process::id());
    println!(
        "Provider started in debug mode. To attach Terraform, run in another shell:\n\n\
         \texport TF_REATTACH_PROVIDERS='{reattach}'\n\n\
         then run terraform commands as usual. Press Ctrl-C to stop."
    );
    let stop = CancellationToken::new();
    let on_ctrl_c = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_ctrl_c.cancel();
    });
    run(provider, listener, stop, true).await
}
