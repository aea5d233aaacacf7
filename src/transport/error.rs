//! The transport error: a [`ErrorKind`] plus where it happened (operation, target, path) and
//! what to do next (a hint naming a flag or a command).
//!
//! Backends keep their raw errors (libssh2 codes, FTP replies, `io::Error`) to themselves and
//! map them onto kinds, so the layers above decide by kind and never by protocol. The raw
//! error stays attached as the `source` for "caused by" lines. Nothing here ever holds a
//! password or passphrase: they never reach an error value.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::options::{
    ACCEPT_HOST_KEY_FLAG, ACCEPT_TLS_CERT_FLAG, IDENTITY_FLAG, INSECURE_TLS_FLAG, PASSWORD_ENV,
    TIMEOUT_FLAG, TLS_CA_FLAG,
};

/// Shorthand for transport results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The path (or its parent folder) does not exist.
    NotFound,
    /// The destination exists and the call asked not to replace it.
    AlreadyExists,
    /// A folder to remove still has entries.
    NotEmpty,
    /// A file operation was given a folder.
    IsADirectory,
    /// A folder operation was given something else.
    NotADirectory,
    /// The account may not do this to this path.
    PermissionDenied,
    /// The upload did not fit: disk full or account quota reached.
    QuotaExceeded,
    /// No authentication method worked; `tried` lists them, e.g. `key ~/.ssh/id_ed25519`.
    AuthFailed {
        /// Each method tried, in order; empty when none could be tried.
        tried: Vec<String>,
    },
    /// The server's SSH host key is in no known_hosts file.
    HostKeyUnknown {
        /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...
        key_type: String,
        /// `SHA256:...`, as `ssh-keygen -l` prints it.
        fingerprint: String,
        /// Where an accepted key is recorded.
        known_hosts: PathBuf,
    },
    /// known_hosts has a different key (or a revoked one) for this server. Never overridable.
    HostKeyChanged {
        /// Type of the key the server presented.
        key_type: String,
        /// Fingerprint of the key the server presented.
        fingerprint: String,
        /// The known_hosts file holding the other key.
        known_hosts: PathBuf,
        /// 1-based line of that entry.
        line: usize,
    },
    /// The FTPS certificate did not verify against the trusted roots.
    CertUntrusted {
        /// What the TLS library said, e.g. `UnknownIssuer`.
        reason: String,
        /// `SHA256:…` of the certificate presented, to check with the host and accept.
        fingerprint: Option<String>,
        /// Its subject, issuer, validity and names.
        certificate: Option<String>,
    },
    /// The FTPS certificate is not the one pinned for this server, whatever its chain says.
    CertChanged(Box<PinBroken>),
    /// The host name does not resolve or the network has no route to it.
    Unreachable {
        /// The resolver's or the kernel's words.
        reason: String,
    },
    /// The host answered, but nothing listens on that port.
    ConnectionRefused,
    /// The server did not answer in time.
    Timeout {
        /// The limit that ran out.
        after: Duration,
    },
    /// The connection broke off (server closed it, network dropped).
    Disconnected,
    /// The protocol or server cannot do this.
    Unsupported {
        /// What was asked for, e.g. `running commands`.
        what: String,
    },
    /// Reading the data to upload, or storing downloaded data, failed on this machine.
    LocalIo,
    /// The file is larger than what is ever read of its kind
    /// ([`TransportExt::read_at_most`](super::TransportExt::read_at_most)).
    TooLarge {
        /// The most that is read, in bytes.
        limit: u64,
    },
    /// Anything else the server or library reported.
    Protocol {
        /// Its message.
        message: String,
    },
}

/// A pinned FTPS certificate that the server no longer presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinBroken {
    /// `HOST:PORT`.
    pub host_port: String,
    /// The pinned fingerprint.
    pub pinned: String,
    /// The fingerprint presented.
    pub presented: String,
    /// The pins file.
    pub file: PathBuf,
    /// 1-based line of the pin.
    pub line: usize,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such file or folder"),
            Self::AlreadyExists => f.write_str("it already exists"),
            Self::NotEmpty => f.write_str("the folder is not empty"),
            Self::IsADirectory => f.write_str("it is a folder, not a file"),
            Self::NotADirectory => f.write_str("it is not a folder"),
            Self::PermissionDenied => f.write_str("permission denied"),
            Self::QuotaExceeded => f.write_str("disk full or quota exceeded"),
            Self::AuthFailed { tried } if tried.is_empty() => {
                f.write_str("authentication failed: no method could be tried")
            }
            Self::AuthFailed { tried } => {
                write!(f, "authentication failed (tried: {})", tried.join(", "))
            }
            Self::HostKeyUnknown {
                key_type,
                fingerprint,
                known_hosts,
            } => write!(
                f,
                "the server's host key is not known: {key_type} {fingerprint} is not in {}",
                known_hosts.display()
            ),
            Self::HostKeyChanged {
                key_type,
                fingerprint,
                known_hosts,
                line,
            } => write!(
                f,
                "WARNING: THE HOST KEY HAS CHANGED. The server now presents {key_type} \
                 {fingerprint}, but {}:{line} records another key for it. Someone may be \
                 intercepting the connection (man-in-the-middle), or the server was \
                 reinstalled. wprescue will not connect",
                known_hosts.display()
            ),
            Self::CertUntrusted {
                reason,
                fingerprint,
                certificate,
            } => {
                write!(f, "the server's TLS certificate is not trusted ({reason})")?;
                if let Some(fp) = fingerprint {
                    write!(f, "; its fingerprint is {fp}")?;
                }
                match certificate {
                    Some(details) => write!(f, " ({details})"),
                    None => Ok(()),
                }
            }
            Self::CertChanged(pin) => write!(
                f,
                "the TLS certificate of {} CHANGED: it is {}, but {}:{} pins {}. Someone may be \
                 intercepting the connection, or the host renewed its certificate. wprescue \
                 will not connect",
                pin.host_port,
                pin.presented,
                pin.file.display(),
                pin.line,
                pin.pinned
            ),
            Self::Unreachable { reason } => write!(f, "host unreachable ({reason})"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::Timeout { after } => {
                write!(f, "no answer within {} s", after.as_secs_f32())
            }
            Self::Disconnected => f.write_str("the connection was closed"),
            Self::Unsupported { what } => write!(f, "not supported: {what}"),
            Self::LocalIo => f.write_str("local I/O failed"),
            Self::TooLarge { limit } => write!(
                f,
                "it is larger than the {} MiB wprescue reads of such a file",
                limit.div_ceil(1 << 20)
            ),
            Self::Protocol { message } => f.write_str(message),
        }
    }
}

/// The operation that failed; part of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Opening the connection (resolve, TCP, TLS, SSH handshake, site root check).
    Connect,
    /// Checking the SSH host key.
    VerifyHostKey,
    /// Checking that the site folder named in the target exists, once connected.
    OpenSite,
    /// Logging in.
    Authenticate,
    /// [`Transport::list`](super::Transport::list).
    List,
    /// [`Transport::stat`](super::Transport::stat).
    Stat,
    /// [`Transport::read`](super::Transport::read).
    Read,
    /// [`Transport::write`](super::Transport::write).
    Write,
    /// [`Transport::rename`](super::Transport::rename).
    Rename,
    /// [`Transport::mkdir`](super::Transport::mkdir).
    Mkdir,
    /// [`Transport::remove`](super::Transport::remove).
    Remove,
    /// [`Exec::exec`](super::Exec::exec).
    Exec,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect to",
            Self::VerifyHostKey => "verify the host key of",
            Self::OpenSite => "open the site folder",
            Self::Authenticate => "log in to",
            Self::List => "list",
            Self::Stat => "look up",
            Self::Read => "read",
            Self::Write => "write",
            Self::Rename => "rename",
            Self::Mkdir => "create folder",
            Self::Remove => "remove",
            Self::Exec => "run",
        })
    }
}

/// A failed transport operation: kind, operation, target, path, hint and raw cause.
#[derive(Debug)]
pub struct Error(Box<Inner>);

// Boxed: results pass through many layers, and the error path should not make every
// `Result` as large as its rarely-used contents.
#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    op: Op,
    origin: String,
    path: Option<String>,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` while doing `op` on `origin` (e.g. `sftp://user@host:2222`), with the
    /// kind's default hint.
    pub fn new(kind: ErrorKind, op: Op, origin: impl Into<String>) -> Self {
        let hint = default_hint(&kind, op);
        Self(Box::new(Inner {
            kind,
            op,
            origin: origin.into(),
            path: None,
            hint,
            source: None,
        }))
    }

    /// Names the path (as the server spells it) the operation was about.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.0.path = Some(path.into());
        self
    }

    /// Replaces the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Attaches the raw cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The operation that failed.
    pub fn op(&self) -> Op {
        self.0.op
    }

    /// The target, as `scheme://user@host:port` (never with a password).
    pub fn origin(&self) -> &str {
        &self.0.origin
    }

    /// The path concerned, as the server spells it.
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }

    /// What to do next: a flag, a command, a place to look.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        match &e.path {
            Some(path) => write!(f, "cannot {} {path} on {}: {}", e.op, e.origin, e.kind),
            None => write!(f, "cannot {} {}: {}", e.op, e.origin, e.kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

fn default_hint(kind: &ErrorKind, op: Op) -> Option<String> {
    Some(match kind {
        ErrorKind::NotFound if op == Op::OpenSite => {
            "check the site folder in the target (e.g. sftp://user@host/home/user/public_html; \
             over FTP paths start at the folder you see after logging in)"
                .to_owned()
        }
        ErrorKind::NotFound => {
            "check the path: it is relative to the site folder of the target".to_owned()
        }
        ErrorKind::AlreadyExists => {
            "choose another name, or remove or rename the existing one first".to_owned()
        }
        ErrorKind::NotEmpty => "remove what is inside first".to_owned(),
        ErrorKind::TooLarge { .. } => {
            "no file of this kind is that large on a working site: look at it by hand (it may \
             be a device, a pipe or something the server made up)"
                .to_owned()
        }
        ErrorKind::PermissionDenied => {
            "the login account may not do this here: check owner and mode (`ls -l`), or log in \
             as the account that owns the site files"
                .to_owned()
        }
        ErrorKind::QuotaExceeded => {
            "free some space (old backups, cache folders) or raise the quota in the hosting \
             panel; the original file was left as it was"
                .to_owned()
        }
        ErrorKind::AuthFailed { .. } => format!(
            "check the user name in the target; give the password in {PASSWORD_ENV} or at the \
             prompt, or a key with {IDENTITY_FLAG} FILE"
        ),
        ErrorKind::HostKeyUnknown { fingerprint, .. } => format!(
            "compare {fingerprint} with the key your host publishes (or `ssh-keyscan HOST | \
             ssh-keygen -lf -` from a trusted network); if it matches, run again with \
             {ACCEPT_HOST_KEY_FLAG} {fingerprint} to record it"
        ),
        ErrorKind::HostKeyChanged { known_hosts, .. } => format!(
            "ask your host whether the server was reinstalled; only then remove the old entry \
             with `ssh-keygen -R HOST -f {}` and connect again",
            known_hosts.display()
        ),
        ErrorKind::CertUntrusted {
            fingerprint: Some(fp),
            ..
        } => format!(
            "a self-signed certificate is common on shared hosting: ask your host (or its \
             control panel) for the certificate's SHA-256 fingerprint and compare it with {fp}; \
             if they match, run again with {ACCEPT_TLS_CERT_FLAG} {fp} to trust it and pin it \
             for later runs. Or pass the server's certificate or CA with {TLS_CA_FLAG} FILE"
        ),
        ErrorKind::CertUntrusted { .. } => format!(
            "if the server uses a private CA, pass its certificate with {TLS_CA_FLAG} FILE; \
             {INSECURE_TLS_FLAG} skips the check, and then anyone on the path can read the \
             password"
        ),
        ErrorKind::CertChanged(pin) => format!(
            "ask your host whether the certificate was renewed; only then delete line {} of {} \
             and connect again",
            pin.line,
            pin.file.display()
        ),
        ErrorKind::Unreachable { .. } => {
            "check the host name and your network connection; an SSH server reached only \
             through a bastion needs --jump [USER@]HOST[:PORT] (or ProxyJump in ~/.ssh/config)"
                .to_owned()
        }
        ErrorKind::ConnectionRefused => {
            "check the port (SSH/SFTP 22, FTP and explicit FTPS 21, implicit FTPS 990) and that \
             the service is enabled in the hosting panel"
                .to_owned()
        }
        ErrorKind::Timeout { .. } => {
            format!("retry, or allow more time with {TIMEOUT_FLAG} SECONDS")
        }
        ErrorKind::Disconnected => {
            "run the command again; nothing was left half-written".to_owned()
        }
        ErrorKind::Unsupported { .. } if op == Op::Exec => {
            "use an ssh:// target: sftp:// and FTP accounts cannot run commands".to_owned()
        }
        ErrorKind::IsADirectory
        | ErrorKind::NotADirectory
        | ErrorKind::Unsupported { .. }
        | ErrorKind::LocalIo
        | ErrorKind::Protocol { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_path_and_target() {
        let e = Error::new(
            ErrorKind::PermissionDenied,
            Op::Read,
            "sftp://wp@example.com:22",
        )
        .with_path("/home/wp/protected/secret.txt");
        assert_eq!(
            e.to_string(),
            "cannot read /home/wp/protected/secret.txt on sftp://wp@example.com:22: \
             permission denied"
        );
        assert!(e.hint().unwrap().contains("ls -l"));
    }

    #[test]
    fn connect_errors_have_no_path() {
        let e = Error::new(
            ErrorKind::ConnectionRefused,
            Op::Connect,
            "ftp://wp@example.com:21",
        );
        assert_eq!(
            e.to_string(),
            "cannot connect to ftp://wp@example.com:21: connection refused"
        );
    }

    #[test]
    fn auth_failure_lists_methods() {
        let tried = vec!["ssh-agent".to_owned(), "password".to_owned()];
        let e = Error::new(
            ErrorKind::AuthFailed { tried },
            Op::Authenticate,
            "ssh://x@h:22",
        );
        assert!(
            e.to_string()
                .ends_with("authentication failed (tried: ssh-agent, password)")
        );
        assert!(e.hint().unwrap().contains(PASSWORD_ENV));
    }

    #[test]
    fn unknown_host_key_hint_names_the_flag_and_fingerprint() {
        let e = Error::new(
            ErrorKind::HostKeyUnknown {
                key_type: "ssh-ed25519".into(),
                fingerprint: "SHA256:abc".into(),
                known_hosts: "/root/.ssh/known_hosts".into(),
            },
            Op::VerifyHostKey,
            "sftp://u@h:22",
        );
        assert!(e.hint().unwrap().contains("--accept-host-key SHA256:abc"));
    }
}
