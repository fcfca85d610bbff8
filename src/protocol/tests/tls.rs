//! AutoMTLS: only the exact client certificate from PLUGIN_CLIENT_CERT gets through, and the
//! connection speaks h2.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::fixture::{TestProvider, World};
use crate::protocol::handshake::{ListenAddr, PluginEnv};
use crate::protocol::serve::{run, Listener};

/// Terraform's kind of client certificate: ECDSA P-521, self-signed, CA:TRUE, SAN localhost.
pub(super) fn terraform_like_cert() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        pem,
    )
}

#[derive(Debug)]
struct PinnedServer {
    der: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects, sends the HTTP/2 preface and reads: Ok(bytes) when the server answered with h2
/// frames, Err when the connection was refused.
async fn try_connect(
    addr: std::net::SocketAddr,
    server_der: &[u8],
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer {
            der: server_der.to_vec(),
            provider,
        }));
    let mut config = match client {
        Some((c, k)) => builder.with_client_auth_cert(vec![c], k).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf))
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("closed".into());
    }
    buf.truncate(n);
    Ok((buf, alpn))
}

#[tokio::test]
async fn only_terraforms_certificate_is_accepted() {
    let (cert, key, pem) = terraform_like_cert();
    let (other_cert, other_key, _) = terraform_like_cert();
    let listener = Listener::bind(&PluginEnv {
        client_cert_pem: Some(pem),
        ..PluginEnv::default()
    })
    .await
    .unwrap();
    let ListenAddr::Tcp(addr) = listener.addr().clone() else {
        panic!("mutual TLS is served on TCP, not {}", listener.addr());
    };
    let server_der = listener.server_cert_der().unwrap().to_vec();
    let stop = CancellationToken::new();
    let server = tokio::spawn(run(
        TestProvider {
            world: Arc::new(World::default()),
        },
        listener,
        stop.clone(),
        false,
    ));

    let (frames, alpn) = try_connect(addr, &server_der, Some((cert, key)))
        .await
        .expect("Terraform's certificate is accepted");
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN h2 negotiated");
    assert_eq!(
        frames[3], 0x04,
        "the server's first frame is HTTP/2 SETTINGS"
    );

    let refused = try_connect(addr, &server_der, Some((other_cert, other_key))).await;
    assert!(
        refused.is_err(),
        "another certificate must be refused: {refused:?}"
    );
    let refused = try_connect(addr, &server_der, None).await;
    assert!(
        refused.is_err(),
        "no certificate must be refused: {refused:?}"
    );

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
}

#[test]
fn garbage_client_certificate_is_a_setup_error() {
    assert!(crate::protocol::tls::server_config("not a pem").is_err());
}
