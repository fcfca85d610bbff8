//! PEM certificates: reading the `CERTIFICATE` sections of PEM text (Terraform's client
//! certificate, a cluster CA bundle, a `cluster_ca_certificate` argument), skipping sections
//! of any other kind (keys, CRLs) and text between sections.

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::CertificateDer;
use thiserror::Error;

/// Why PEM text could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum PemError {
    /// A section has a BEGIN line but no matching END line.
    #[error("section end {0:?} missing")]
    MissingSectionEnd(String),
    /// A line that starts a section is malformed.
    #[error("illegal section start: {0:?}")]
    IllegalSectionStart(String),
    /// A section's body is not base64.
    #[error("{0}")]
    Base64(String),
    /// Anything else the PEM reader refuses (an oversized section, say).
    #[error("{0}")]
    Other(String),
}

impl From<pem::Error> for PemError {
    fn from(e: pem::Error) -> Self {
        match e {
            pem::Error::MissingSectionEnd { end_marker } => {
                PemError::MissingSectionEnd(String::from_utf8_lossy(&end_marker).into_owned())
            }
            pem::Error::IllegalSectionStart { line } => {
                PemError::IllegalSectionStart(String::from_utf8_lossy(&line).into_owned())
            }
            pem::Error::Base64Decode(msg) => PemError::Base64(msg),
            other => PemError::Other(other.to_string()),
        }
    }
}

/// The certificates in `text`, in order; an error item for a malformed section.
pub fn certificates(
    text: &str,
) -> impl Iterator<Item = Result<CertificateDer<'static>, PemError>> + '_ {
    CertificateDer::pem_slice_iter(text.as_bytes()).map(|r| r.map_err(PemError::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        (cert.pem(), cert.der().to_vec())
    }

    #[test]
    fn reads_every_certificate_and_skips_other_sections() {
        let (pem_a, der_a) = sample();
        let (pem_b, der_b) = sample();
        let text = format!(
            "a bundle\n{pem_a}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem_b}"
        );
        let certs: Vec<Vec<u8>> = certificates(&text)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<_, _>>()
            .expect("certificates");
        assert_eq!(certs, vec![der_a, der_b]);
    }

    #[test]
    fn text_without_certificates_yields_nothing() {
        assert_eq!(certificates("not pem").count(), 0);
        assert_eq!(certificates("").count(), 0);
    }

    #[test]
    fn malformed_sections_are_errors_that_name_the_problem() {
        let (pem, _) = sample();
        let truncated = &pem[..pem.find("-----END").expect("END line")];
        let e = certificates(truncated)
            .next()
            .expect("an item")
            .expect_err("missing END");
        assert_eq!(e.to_string(), "section end \"CERTIFICATE\" missing");

        let e = certificates("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
            .next()
            .expect("an item")
            .expect_err("not base64");
        assert!(matches!(e, PemError::Base64(_)), "{e:?}");
    }
}
