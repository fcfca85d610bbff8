//! The go-plugin handshake: what Terraform puts in the environment, and the one line the
//! plugin prints on stdout to say where it listens.

use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use thiserror::Error;

/// Terraform's magic cookie: its presence says Terraform started us.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The go-plugin core protocol version (first field of the handshake line).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol major version this provider speaks.
pub const PLUGIN_PROTOCOL_VERSION: u32 = 6;

/// Why the provider cannot start as a plugin.
#[derive(Debug, Error, PartialEq)]
pub enum HandshakeError {
    #[error(
        "This binary is a plugin for Terraform and OpenTofu and is not meant to be run directly.\n\
         Install it as a provider and run `terraform init`, or start it with `--debug` to attach \
         Terraform to it, or run `{0} docs` to write its documentation."
    )]
    NotStartedByTerraform(String),
    #[error(
        "Terraform offered plugin protocol versions {offered:?}, but this provider speaks only protocol 6 \
         (Terraform 1.0 or later, OpenTofu 1.6 or later)."
    )]
    UnsupportedProtocol { offered: String },
}

/// What Terraform told us through the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginEnv {
    /// PEM of Terraform's client certificate when AutoMTLS is on.
    pub client_cert_pem: Option<String>,
}

/// Reads and checks the handshake environment.
///
/// # Errors
/// [`HandshakeError`] when the magic cookie is missing or protocol 6 is not offered.
pub fn read_env(
    get: impl Fn(&str) -> Option<String>,
    program: &str,
) -> Result<PluginEnv, HandshakeError> {
    if get(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotStartedByTerraform(program.to_string()));
    }
    // An absent list means a client from before version negotiation: it speaks whatever the
    // handshake line says, so protocol 6 it is.
    if let Some(offered) = get("PLUGIN_PROTOCOL_VERSIONS") {
        let six = offered
            .split(',')
            .any(|v| v.trim() == PLUGIN_PROTOCOL_VERSION.to_string());
        if !six {
            return Err(HandshakeError::UnsupportedProtocol { offered });
        }
    }
    let client_cert_pem = get("PLUGIN_CLIENT_CERT").filter(|s| !s.trim().is_empty());
    Ok(PluginEnv { client_cert_pem })
}

/// The handshake line: `1|6|tcp|127.0.0.1:PORT|grpc|CERT`, with the server certificate's DER in
/// unpadded standard base64, or an empty last field for plaintext.
pub fn handshake_line(addr: SocketAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|d| STANDARD_NO_PAD.encode(d))
        .unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")
}

/// The `TF_REATTACH_PROVIDERS` value for debug mode.
pub fn reattach_config(provider_address: &str, addr: SocketAddr, pid: u32) -> String {
    serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": {"Network": "tcp", "String": addr.to_string()},
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn refuses_without_magic_cookie() {
        let e = read_env(env(&[]), "tfp").unwrap_err();
        assert!(matches!(e, HandshakeError::NotStartedByTerraform(_)));
        assert!(e.to_string().contains("not meant to be run directly"));
        let wrong = read_env(env(&[(MAGIC_COOKIE_KEY, "nope")]), "tfp");
        assert!(wrong.is_err());
    }

    #[test]
    fn negotiates_protocol_six() {
        for offered in ["5,6", "6,5", "6", " 5 , 6 "] {
            let r = read_env(
                env(&[
                    (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
                    ("PLUGIN_PROTOCOL_VERSIONS", offered),
                ]),
                "p",
            );
            assert!(r.is_ok(), "{offered}");
        }
        let r = read_env(
            env(&[
                (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
                ("PLUGIN_PROTOCOL_VERSIONS", "4,5"),
            ]),
            "p",
        );
        assert_eq!(
            r,
            Err(HandshakeError::UnsupportedProtocol {
                offered: "4,5".into()
            })
        );
    }

    #[test]
    fn reads_client_certificate() {
        let r = read_env(
            env(&[
                (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
                ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
            ]),
            "p",
        );
        assert_eq!(r.map(|e| e.client_cert_pem.is_some()), Ok(true));
    }

    #[test]
    fn handshake_line_has_unpadded_certificate() {
        let addr: SocketAddr = "127.0.0.1:12345".parse().unwrap();
        assert_eq!(handshake_line(addr, None), "1|6|tcp|127.0.0.1:12345|grpc|");
        // 4 bytes encode to 6 characters without padding ("AQIDBA" rather than "AQIDBA==").
        assert_eq!(
            handshake_line(addr, Some(&[1, 2, 3, 4])),
            "1|6|tcp|127.0.0.1:12345|grpc|AQIDBA"
        );
    }

    #[test]
    fn reattach_config_is_test_mode() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let v: serde_json::Value = serde_json::from_str(&reattach_config(
            "registry.terraform.io/dataplatform/dataplatform",
            addr,
            42,
        ))
        .unwrap();
        let p = &v["registry.terraform.io/dataplatform/dataplatform"];
        assert_eq!(p["Test"], true);
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Addr"]["String"], "127.0.0.1:9");
    }
}
