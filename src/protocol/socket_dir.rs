//! The private directory that holds the plugin's unix socket.
//!
//! Without Terraform's mutual TLS (`TF_DISABLE_PLUGIN_TLS`, and `--debug` mode, where
//! Terraform attaches through `TF_REATTACH_PROVIDERS` and can present no certificate) the
//! gRPC channel is plaintext. On TCP loopback any local user could then drive the provider and
//! read what its RPCs return (a BI service's password, an EKS token), so plaintext is served
//! only on a unix socket, as go-plugin does wherever the platform has them, and one level
//! deeper than go-plugin puts it: in a directory created fresh for this process with mode
//! 0700, so that only the user running the provider (and root) can reach the socket.
//!
//! The directory is made under `PLUGIN_UNIX_SOCKET_DIR` when set (go-plugin's variable for
//! where plugins put their sockets), else under the temporary directory (`TMPDIR`, or `/tmp`).
//! [`SocketDir`] removes the socket and the directory when dropped: on Shutdown, on SIGTERM,
//! SIGHUP or (in debug mode) Ctrl-C, and on errors after it was created. A process killed with
//! SIGKILL leaves an empty-but-for-the-socket `tf-dataplatform-*` directory behind.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// go-plugin's variable naming the directory plugins create their unix sockets in.
pub const SOCKET_DIR_ENV: &str = "PLUGIN_UNIX_SOCKET_DIR";
/// How the per-process directories are named: the prefix, then 16 random hex digits.
pub const DIR_PREFIX: &str = "tf-dataplatform-";
/// The socket's name inside the directory.
pub const SOCKET_NAME: &str = "plugin.sock";
/// The directory's mode: its owner only.
pub const DIR_MODE: u32 = 0o700;
/// The socket's mode: its owner only (the directory already keeps everyone else out).
pub const SOCKET_MODE: u32 = 0o600;
/// Random names tried before giving up (a clash is astronomically unlikely).
#[cfg(unix)]
const ATTEMPTS: usize = 8;

/// Why the socket directory could not be made.
#[derive(Debug, Error)]
pub enum SocketDirError {
    #[error(
        "cannot put the plugin socket under {0:?}: the handshake needs a UTF-8 path without '|' \
         or control characters; set TMPDIR or {SOCKET_DIR_ENV} to another directory"
    )]
    UnusablePath(PathBuf),
    #[error(
        "could not create a private directory for the plugin socket under {}: {source}; \
         set TMPDIR or {SOCKET_DIR_ENV} to a writable directory",
        base.display()
    )]
    Create {
        base: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no random name for the plugin socket directory: the system's random source failed")]
    Random,
}

/// Where the socket directory is made: `PLUGIN_UNIX_SOCKET_DIR` when set and not empty, else
/// the temporary directory.
pub fn base_dir(configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

/// A freshly created private directory holding (once bound) the plugin's socket; both are
/// removed when this is dropped.
#[derive(Debug)]
pub struct SocketDir {
    dir: PathBuf,
    socket: PathBuf,
}

impl SocketDir {
    /// Creates a new directory with mode 0700 under `base` (made absolute, since Terraform
    /// may attach from another working directory).
    ///
    /// # Errors
    /// [`SocketDirError`] when `base` cannot appear in the handshake, or the directory cannot
    /// be created.
    #[cfg(unix)]
    pub fn create(base: &Path) -> Result<SocketDir, SocketDirError> {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};

        let base = std::path::absolute(base).map_err(|source| SocketDirError::Create {
            base: base.to_path_buf(),
            source,
        })?;
        if !usable_in_handshake(&base) {
            return Err(SocketDirError::UnusablePath(base));
        }
        for _ in 0..ATTEMPTS {
            let dir = base.join(format!("{DIR_PREFIX}{}", random_suffix()?));
            match fs::DirBuilder::new().mode(DIR_MODE).create(&dir) {
                Ok(()) => {
                    let created = SocketDir {
                        socket: dir.join(SOCKET_NAME),
                        dir,
                    };
                    // The umask may have taken bits from the owner; set exactly 0700.
                    fs::set_permissions(&created.dir, fs::Permissions::from_mode(DIR_MODE))
                        .map_err(|source| SocketDirError::Create {
                            base: base.clone(),
                            source,
                        })?;
                    return Ok(created);
                }
                // Something already has that name (ours from an earlier process, or planted):
                // never reuse it, take another.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(SocketDirError::Create { base, source }),
            }
        }
        Err(SocketDirError::Create {
            base,
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "every random name tried was taken",
            ),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the socket is (or will be) bound.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.socket) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(socket = %self.socket.display(), error = %e, "could not remove the plugin socket");
            }
        }
        if let Err(e) = fs::remove_dir(&self.dir) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove the plugin socket directory");
            }
        }
    }
}

/// The handshake line separates fields with '|' and ends with a newline, and Terraform reads
/// the address as text.
#[cfg(unix)]
fn usable_in_handshake(p: &Path) -> bool {
    p.to_str()
        .is_some_and(|s| !s.chars().any(|c| c == '|' || c.is_control()))
}

/// 16 hex digits from the system's secure random source.
#[cfg(unix)]
fn random_suffix() -> Result<String, SocketDirError> {
    let mut bytes = [0u8; 8];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| SocketDirError::Random)?;
    Ok(hex::encode(bytes))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn creates_a_fresh_owner_only_directory_and_removes_it_on_drop() {
        let base = tempfile::tempdir().expect("base");
        let a = SocketDir::create(base.path()).expect("create");
        let b = SocketDir::create(base.path()).expect("create another");
        assert_ne!(a.dir(), b.dir(), "each process gets its own directory");
        assert_eq!(a.dir().parent(), Some(base.path()));
        let name = a.dir().file_name().and_then(|n| n.to_str()).expect("name");
        assert!(name.starts_with(DIR_PREFIX), "{name}");
        assert_eq!(name.len(), DIR_PREFIX.len() + 16, "{name}");
        assert_eq!(mode(a.dir()), 0o700);
        assert_eq!(a.socket_path(), a.dir().join(SOCKET_NAME));

        // A stand-in for the socket: dropping removes it and the directory.
        fs::write(a.socket_path(), b"").expect("socket stand-in");
        let dir = a.dir().to_path_buf();
        drop(a);
        assert!(!dir.exists(), "directory removed");
        drop(b);
        assert_eq!(fs::read_dir(base.path()).expect("list").count(), 0);
    }

    #[test]
    fn exactly_0700_whatever_the_base_directory_allows() {
        let base = tempfile::tempdir().expect("base");
        fs::set_permissions(base.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let d = SocketDir::create(base.path()).expect("create");
        assert_eq!(mode(d.dir()), 0o700);
    }

    #[test]
    fn refuses_bases_the_handshake_cannot_carry() {
        let base = tempfile::tempdir().expect("base");
        let odd = base.path().join("a|b");
        fs::create_dir(&odd).expect("odd dir");
        let e = SocketDir::create(&odd).expect_err("'|' refused");
        assert!(matches!(e, SocketDirError::UnusablePath(_)), "{e}");
        assert!(e.to_string().contains("TMPDIR"), "{e}");
    }

    #[test]
    fn a_missing_base_is_a_clear_error() {
        let base = tempfile::tempdir().expect("base");
        let e = SocketDir::create(&base.path().join("missing")).expect_err("missing base");
        assert!(matches!(e, SocketDirError::Create { .. }), "{e}");
        assert!(e.to_string().contains("private directory"), "{e}");
    }

    #[test]
    fn plugin_unix_socket_dir_wins_over_the_temporary_directory() {
        assert_eq!(
            base_dir(Some(Path::new("/srv/sock"))),
            PathBuf::from("/srv/sock")
        );
        assert_eq!(base_dir(Some(Path::new(""))), std::env::temp_dir());
        assert_eq!(base_dir(None), std::env::temp_dir());
    }
}
