//! AutoMTLS as Terraform speaks it: a fresh self-signed server certificate per process, and a
//! client verifier that accepts exactly the certificate Terraform put in `PLUGIN_CLIENT_CERT`
//! (ECDSA P-521, self-signed, CA:TRUE — which stock WebPKI verifiers refuse as an end entity),
//! checking the handshake signature with the aws-lc-rs provider. ALPN is `h2`, which
//! Terraform 1.12+ requires.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error as TlsError, ServerConfig,
    SignatureScheme,
};
use thiserror::Error;

/// Why TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsSetupError {
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    #[error("PLUGIN_CLIENT_CERT is not valid PEM: {0}")]
    BadPem(#[source] crate::pem::PemError),
    #[error("could not generate the server certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("could not build the TLS configuration: {0}")]
    Config(#[from] TlsError),
}

/// The server's side of the plugin channel's TLS.
pub struct PluginTls {
    pub config: Arc<ServerConfig>,
    /// DER of the server certificate, announced in the handshake line.
    pub server_cert_der: Vec<u8>,
}

/// Builds the TLS configuration that accepts only the client certificate in `client_pem`.
///
/// # Errors
/// [`TlsSetupError`] when the PEM holds no certificate or key generation fails.
pub fn server_config(client_pem: &str) -> Result<PluginTls, TlsSetupError> {
    let client = crate::pem::certificates(client_pem)
        .next()
        .ok_or(TlsSetupError::NoClientCertificate)?
        .map_err(TlsSetupError::BadPem)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (cert_der, key_der) = self_signed_server_certificate()?;
    let verifier = Arc::new(PinnedClientCert {
        expected: client.into_owned(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key_der)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(PluginTls {
        config: Arc::new(config),
        server_cert_der: cert_der,
    })
}

/// A P-256 self-signed certificate for `localhost`, valid from a minute ago for ten years.
fn self_signed_server_certificate() -> Result<(Vec<u8>, PrivateKeyDer<'static>), TlsSetupError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::days(3650);
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "terraform-provider-dataplatform",
    );
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.self_signed(&key)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().to_vec(), key_der))
}

/// Accepts exactly one client certificate, byte for byte.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(
                "refused a plugin client presenting a certificate other than Terraform's"
            );
            Err(TlsError::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

/// The crypto provider used for the plugin channel, chosen explicitly rather than taken from
/// the process default.
pub fn crypto_provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}
