//! kube-sandbox: a Kubernetes API server stand-in for tests, on loopback.
//!
//! kube-fake-client's in-memory API server behind HTTPS (or plain HTTP), with what it lacks:
//! Namespaces, discovery, watches, server-side apply removals, dry runs, authentication with
//! static and EKS IAM tokens, and a stand-in for the deployment controller. See `--help`.

mod api;
mod auth;
mod control;
mod controller;
mod discovery;
mod faults;
mod ownership;
mod pods;
mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: kube-sandbox [options]

  --port N               HTTPS port on 127.0.0.1 (0: pick a free one; default 0)
  --ca-out FILE          write the generated CA certificate (PEM) here (required unless --http)
  --token TOKEN          accept this static bearer token (repeatable)
  --anonymous            also accept requests without a token
  --aws-secret-key KEY   also verify the SigV4 signature of EKS IAM tokens with this secret key
  --sts-endpoint URL     verify EKS IAM tokens as EKS does: send their presigned GetCallerIdentity
                         to this STS (http://host:port, the AWS stand-in); overrides --aws-secret-key
  --eks-cluster NAME     cluster name EKS tokens are signed for (repeatable; default analytics)
  --eks-token-max-age S  seconds after X-Amz-Date an EKS token is accepted (default 900, as EKS)
  --rollout-delay-ms N   how long the deployment controller stand-in waits (default 300)
  --fault-seed N         seed of the fault injector (default 0; see POST /_sandbox/faults)
  --log FILE             append one line per request to FILE
  --http                 serve plain HTTP instead of HTTPS on --port
  --http-port N          also serve the same API over plain HTTP on this port (0: pick one)
  --without-api-group G  do not serve the custom kinds of API group G, as a cluster without
                         their CRDs (repeatable; e.g. monitoring.coreos.com)

Prints `KUBE_SANDBOX_HTTP http://127.0.0.1:PORT` (with --http-port) and then
`KUBE_SANDBOX_READY https://127.0.0.1:PORT` on stdout once it accepts connections.
Control API (no authentication): POST /_sandbox/fail-rollout, /_sandbox/clear-failures,
/_sandbox/reset, /_sandbox/rollout-delay, /_sandbox/eks-token-max-age, /_sandbox/faults,
/_sandbox/api-groups, /_sandbox/fail-load-balancers, /_sandbox/sts-endpoint;
DELETE /_sandbox/faults; GET /_sandbox/stats.
";

struct Options {
    port: u16,
    ca_out: Option<String>,
    tokens: Vec<String>,
    anonymous: bool,
    aws_secret_key: Option<String>,
    sts_endpoint: Option<String>,
    eks_clusters: Vec<String>,
    eks_token_max_age: i64,
    rollout_delay_ms: u64,
    fault_seed: u64,
    log: Option<String>,
    http: bool,
    http_port: Option<u16>,
    without_groups: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        port: 0,
        ca_out: None,
        tokens: Vec::new(),
        anonymous: false,
        aws_secret_key: None,
        sts_endpoint: None,
        eks_clusters: Vec::new(),
        eks_token_max_age: auth::DEFAULT_TOKEN_MAX_AGE_SECS,
        rollout_delay_ms: 300,
        fault_seed: 0,
        log: None,
        http: false,
        http_port: None,
        without_groups: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| -> Result<u64, String> {
            v.parse().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match flag.as_str() {
            "--port" => o.port = number("--port", value("--port")?)? as u16,
            "--ca-out" => o.ca_out = Some(value("--ca-out")?),
            "--token" => o.tokens.push(value("--token")?),
            "--aws-secret-key" => o.aws_secret_key = Some(value("--aws-secret-key")?),
            "--sts-endpoint" => {
                o.sts_endpoint = Some(control::sts_endpoint(&value("--sts-endpoint")?)?)
            }
            "--eks-cluster" => o.eks_clusters.push(value("--eks-cluster")?),
            "--eks-token-max-age" => {
                o.eks_token_max_age =
                    number("--eks-token-max-age", value("--eks-token-max-age")?)? as i64
            }
            "--rollout-delay-ms" => {
                o.rollout_delay_ms = number("--rollout-delay-ms", value("--rollout-delay-ms")?)?
            }
            "--fault-seed" => o.fault_seed = number("--fault-seed", value("--fault-seed")?)?,
            "--log" => o.log = Some(value("--log")?),
            "--without-api-group" => o.without_groups.push(value("--without-api-group")?),
            "--http" => o.http = true,
            "--anonymous" => o.anonymous = true,
            "--http-port" => {
                o.http_port = Some(number("--http-port", value("--http-port")?)? as u16)
            }
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.ca_out.is_none() && !o.http {
        return Err("--ca-out FILE is required (or --http)".into());
    }
    if o.eks_clusters.is_empty() {
        o.eks_clusters.push("analytics".into());
    }
    Ok(o)
}

async fn serve(
    listener: TcpListener,
    state: Arc<api::State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| api::handle(state.clone(), req));
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                }
            }
        });
    }
}

async fn bind(port: u16) -> Result<(TcpListener, SocketAddr), String> {
    let l = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    Ok((l, addr))
}

async fn run(o: Options) -> Result<(), String> {
    discovery::set_without_groups(o.without_groups.clone());
    let log = match &o.log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("open log {p}: {e}"))?,
        ),
        None => None,
    };
    let auth = auth::AuthConfig {
        tokens: o.tokens.clone(),
        aws_secret_key: o.aws_secret_key.clone(),
        eks_clusters: o.eks_clusters.clone(),
        eks_token_max_age_secs: std::sync::atomic::AtomicI64::new(o.eks_token_max_age),
        allow_anonymous: o.anonymous,
        sts_endpoint: std::sync::RwLock::new(o.sts_endpoint.clone()),
    };
    let state = Arc::new(api::State::new(auth, o.rollout_delay_ms, o.fault_seed, log).await);
    let (main_listener, main_addr) = bind(o.port).await?;
    let tls = if o.http {
        None
    } else {
        let certs = tls::generate()?;
        let ca_out = o.ca_out.as_deref().expect("checked");
        std::fs::write(ca_out, &certs.ca_pem).map_err(|e| format!("write {ca_out}: {e}"))?;
        Some(tokio_rustls::TlsAcceptor::from(certs.server_config))
    };
    *state.server_address.lock().unwrap() = main_addr.to_string();
    tokio::spawn(controller::run(state.clone()));
    let mut out = std::io::stdout().lock();
    if let Some(port) = o.http_port {
        let (l, addr) = bind(port).await?;
        tokio::spawn(serve(l, state.clone(), None));
        writeln!(out, "KUBE_SANDBOX_HTTP http://{addr}").map_err(|e| e.to_string())?;
    }
    let scheme = if o.http { "http" } else { "https" };
    tokio::spawn(serve(main_listener, state.clone(), tls));
    writeln!(out, "KUBE_SANDBOX_READY {scheme}://{main_addr}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kube-sandbox: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(run(o)) {
        eprintln!("kube-sandbox: {e}");
        std::process::exit(1);
    }
    rt.shutdown_timeout(Duration::from_millis(200));
}
