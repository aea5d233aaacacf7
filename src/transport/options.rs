//! How to connect: limits, trust settings and key files, plus the names of the flags and
//! environment variables that set them.
//!
//! The CLI defines the flags; the names live here so that every hint in an error message
//! names exactly the flag the CLI has.

use std::path::PathBuf;
use std::time::Duration;

/// Flag that accepts an unknown SSH host key with this fingerprint and records it.
pub const ACCEPT_HOST_KEY_FLAG: &str = "--accept-host-key";
/// Flag naming a CA certificate (PEM) to verify an FTPS server with, instead of the system
/// roots.
pub const TLS_CA_FLAG: &str = "--tls-ca";
/// Accept an FTPS certificate by its fingerprint, and pin it.
pub const ACCEPT_TLS_CERT_FLAG: &str = "--accept-tls-cert";
/// Flag that turns FTPS certificate verification off.
pub const INSECURE_TLS_FLAG: &str = "--insecure-tls";
/// Flag naming an SSH private key file.
pub const IDENTITY_FLAG: &str = "--identity";
/// Flag setting the network timeout in seconds.
pub const TIMEOUT_FLAG: &str = "--timeout";
/// Environment variable holding the SSH or FTP password.
pub const PASSWORD_ENV: &str = "WPRESCUE_PASSWORD";
/// Environment variable holding the passphrase of an encrypted SSH key.
pub const KEY_PASSPHRASE_ENV: &str = "WPRESCUE_KEY_PASSPHRASE";

/// Everything about a connection that is not in the target itself. Secrets are not here:
/// they come from [`Credentials`](super::Credentials), only when a server asks.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Limit for every network wait: connect, handshake, each reply, each read or write.
    pub timeout: Duration,
    /// Extra SSH private keys ([`IDENTITY_FLAG`]), tried before those from `~/.ssh/config`
    /// and the default `~/.ssh/id_*` files.
    pub identity_files: Vec<PathBuf>,
    /// known_hosts files to check; empty means `UserKnownHostsFile` from `~/.ssh/config` or
    /// `~/.ssh/known_hosts`. A newly accepted key is written to the first one.
    pub known_hosts: Vec<PathBuf>,
    /// [`ACCEPT_HOST_KEY_FLAG`]: accept and record an *unknown* host key, but only if its
    /// fingerprint is exactly this (`SHA256:...`). A changed key is refused regardless.
    pub accept_host_key: Option<String>,
    /// Use keys held by ssh-agent (its socket comes with the [`Credentials`](super::Credentials)).
    pub use_agent: bool,
    /// How FTPS certificates are checked.
    pub tls: TlsTrust,
    /// [`ACCEPT_TLS_CERT_FLAG`]: accept the FTPS certificate whose fingerprint is exactly
    /// this (`SHA256:...`) and pin it in `known_certs`.
    pub accept_tls_cert: Option<String>,
    /// Pinned FTPS certificates, one `HOST:PORT SHA256:...` line each: a pinned host's
    /// certificate must match its pin, whatever its chain says.
    pub known_certs: Option<PathBuf>,
    /// Show progress bars for long transfers (only ever drawn when stderr is a terminal).
    pub progress: bool,
    /// FTP control connections a run may open ([`FTP_CONNECTIONS_FLAG`]): the first, and
    /// spares for reads and writes side by side. 1 keeps to one.
    pub ftp_connections: usize,
}

/// The flag that caps the FTP connections a run opens.
pub const FTP_CONNECTIONS_FLAG: &str = "--ftp-connections";

/// [`ConnectOptions::ftp_connections`]' default.
pub const DEFAULT_FTP_CONNECTIONS: usize = 4;

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            identity_files: Vec::new(),
            known_hosts: Vec::new(),
            accept_host_key: None,
            use_agent: true,
            tls: TlsTrust::SystemRoots,
            accept_tls_cert: None,
            known_certs: None,
            progress: true,
            ftp_connections: DEFAULT_FTP_CONNECTIONS,
        }
    }
}

/// Which certificates an FTPS server may present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// Those signed by a root in the operating system's store.
    SystemRoots,
    /// Those signed by the CA in this PEM file ([`TLS_CA_FLAG`]).
    CaFile(PathBuf),
    /// Any ([`INSECURE_TLS_FLAG`]): encrypted, but anyone on the path can impersonate the
    /// server and read the password.
    Insecure,
}
