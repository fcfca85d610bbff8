//! The go-plugin handshake: what Terraform puts in the environment, and the one line the
//! plugin prints on stdout to say where it listens.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginEnv {
    /// PEM of Terraform's client certificate when AutoMTLS is on.
    pub client_cert_pem: Option<String>,
    /// `PLUGIN_UNIX_SOCKET_DIR`: where to make the unix socket's private directory instead of
    /// the temporary directory.
    pub unix_socket_dir: Option<PathBuf>,
}

/// Reads `PLUGIN_UNIX_SOCKET_DIR` (empty counts as unset).
pub fn unix_socket_dir(get: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    get(super::socket_dir::SOCKET_DIR_ENV)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

/// Where the plugin listens, as the handshake line and `TF_REATTACH_PROVIDERS` name it.
#[derive(Debug, Clone, PartialEq)]
pub enum ListenAddr {
    /// TCP on 127.0.0.1, always with mutual TLS.
    Tcp(SocketAddr),
    /// A unix socket in a private directory.
    Unix(PathBuf),
}

impl ListenAddr {
    /// go-plugin's network name: `tcp` or `unix`.
    pub fn network(&self) -> &'static str {
        match self {
            ListenAddr::Tcp(_) => "tcp",
            ListenAddr::Unix(_) => "unix",
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "{a}"),
            ListenAddr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
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
    let unix_socket_dir = unix_socket_dir(&get);
    Ok(PluginEnv {
        client_cert_pem,
        unix_socket_dir,
    })
}

/// The handshake line: `1|6|tcp|127.0.0.1:PORT|grpc|CERT` with the server certificate's DER
/// in unpadded standard base64, or `1|6|unix|/PATH|grpc|` (plaintext, empty last field).
pub fn handshake_line(addr: &ListenAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|d| STANDARD_NO_PAD.encode(d))
        .unwrap_or_default();
    let network = addr.network();
    format!("{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|{network}|{addr}|grpc|{cert}")
}

/// The `TF_REATTACH_PROVIDERS` value for debug mode.
pub fn reattach_config(provider_address: &str, addr: &ListenAddr, pid: u32) -> String {
    serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": {"Network": addr.network(), "String": addr.to_string()},
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
    fn reads_the_unix_socket_directory() {
        let base = [
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "6"),
        ];
        let r = read_env(env(&base), "p").unwrap();
        assert_eq!(r.unix_socket_dir, None);
        let mut with = base.to_vec();
        with.push(("PLUGIN_UNIX_SOCKET_DIR", "/run/user/1000/tf"));
        let r = read_env(env(&with), "p").unwrap();
        assert_eq!(r.unix_socket_dir, Some(PathBuf::from("/run/user/1000/tf")));
        let mut empty = base.to_vec();
        empty.push(("PLUGIN_UNIX_SOCKET_DIR", ""));
        assert_eq!(read_env(env(&empty), "p").unwrap().unix_socket_dir, None);
    }

    #[test]
    fn handshake_line_has_unpadded_certificate() {
        let addr = ListenAddr::Tcp("127.0.0.1:12345".parse().unwrap());
        // 4 bytes encode to 6 characters without padding ("AQIDBA" rather than "AQIDBA==").
        assert_eq!(
            handshake_line(&addr, Some(&[1, 2, 3, 4])),
            "1|6|tcp|127.0.0.1:12345|grpc|AQIDBA"
        );
    }

    #[test]
    fn handshake_line_names_a_unix_socket_with_an_empty_certificate() {
        let addr = ListenAddr::Unix(PathBuf::from("/tmp/tf-dataplatform-0123/plugin.sock"));
        assert_eq!(
            handshake_line(&addr, None),
            "1|6|unix|/tmp/tf-dataplatform-0123/plugin.sock|grpc|"
        );
    }

    #[test]
    fn reattach_config_is_test_mode() {
        let addr = ListenAddr::Unix(PathBuf::from("/tmp/tf-dataplatform-0123/plugin.sock"));
        let v: serde_json::Value = serde_json::from_str(&reattach_config(
            "registry.terraform.io/dataplatform/dataplatform",
            &addr,
            42,
        ))
        .unwrap();
        let p = &v["registry.terraform.io/dataplatform/dataplatform"];
        assert_eq!(p["Test"], true);
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["Pid"], 42);
        assert_eq!(p["Addr"]["Network"], "unix");
        assert_eq!(p["Addr"]["String"], "/tmp/tf-dataplatform-0123/plugin.sock");
    }
}
