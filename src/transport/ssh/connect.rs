//! Opening the SSH session: TCP, key exchange, the host key checked against known_hosts,
//! and the site folder found.

use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2::{MethodType, Session, Sftp};

use super::super::known_hosts::{self, KnownHosts, Verdict};
use super::super::net::{self, Watchdog};
use super::super::target::SshTarget;
use super::super::{
    ACCEPT_HOST_KEY_FLAG, ConnectOptions, Credentials, Error, ErrorKind, Op, Result,
};
use super::auth::{self, Login};
use super::jump;
use super::kinds::{session_kind, sftp_kind};

/// TCP (through the jump host, if the target has one), key exchange and host key check: a
/// session ready to log in, a handle on its socket to wait on, and the deadline of the whole
/// connection phase, running (settle it once logged in).
pub(super) fn handshake(
    target: &SshTarget,
    options: &ConnectOptions,
    credentials: &mut Credentials,
    origin: &str,
) -> Result<(Session, OwnedFd, Watchdog)> {
    let Some(jump) = &target.jump else {
        let (tcp, watchdog) = net::dial(&target.host, target.port, options.timeout, origin)?;
        return match negotiate(tcp, target, options, origin) {
            Ok((session, socket)) => Ok((session, socket, watchdog)),
            Err(e) => watchdog.settle(Err(e), Op::Connect, origin),
        };
    };
    // The jump host's connection phase bounds the whole: when it fires, the tunnel closes
    // and every call on the target's session fails with it.
    let jump_origin = super::super::target::origin("ssh", Some(&jump.user), &jump.host, jump.port);
    let (jump_session, jump_socket, watchdog) =
        handshake(jump, options, credentials, &jump_origin)?;
    let through = through_jump(
        jump_session,
        jump_socket,
        jump,
        target,
        options,
        credentials,
        &jump_origin,
    )
    .and_then(|tunnel| negotiate(tunnel, target, options, origin));
    match through {
        Ok((session, socket)) => Ok((session, socket, watchdog)),
        Err(e) => watchdog.settle(Err(e), Op::Connect, origin),
    }
}

/// Logs in to the jump host and opens a `direct-tcpip` channel from it to the target: the
/// stream the target's session runs over. The target's password is never offered to the
/// jump host.
fn through_jump(
    session: Session,
    socket: OwnedFd,
    jump: &SshTarget,
    target: &SshTarget,
    options: &ConnectOptions,
    credentials: &Credentials,
    jump_origin: &str,
) -> Result<UnixStream> {
    let mut jump_credentials = credentials.without_password();
    authenticate(&session, jump, options, &mut jump_credentials, jump_origin)?;
    let channel = session
        .channel_direct_tcpip(&target.host, target.port, None)
        .map_err(|e| {
            Error::new(
                ErrorKind::Unreachable {
                    reason: format!(
                        "the jump host could not open a connection to {}:{}: {}",
                        target.host,
                        target.port,
                        e.message()
                    ),
                },
                Op::Connect,
                jump_origin,
            )
            .with_hint(format!(
                "check that {}:{} is the address the jump host reaches the site by, and that \
                 the jump host allows forwarding (sshd's AllowTcpForwarding)",
                target.host, target.port
            ))
        })?;
    let local_io =
        |e: std::io::Error| Error::new(ErrorKind::LocalIo, Op::Connect, jump_origin).with_source(e);
    jump::tunnel(session, channel, TcpStream::from(socket)).map_err(local_io)
}

/// Logs in as the target's user: ssh-agent, key files, then a password, as OpenSSH does.
pub(super) fn authenticate(
    session: &Session,
    target: &SshTarget,
    options: &ConnectOptions,
    credentials: &mut Credentials,
    origin: &str,
) -> Result<()> {
    let mut keys = options.identity_files.clone();
    keys.extend(target.identity_files.iter().cloned());
    if keys.is_empty() {
        keys = default_keys();
    }
    let login = Login {
        user: &target.user,
        display: &format!("{}@{}", target.user, target.host),
        keys,
        // `IdentitiesOnly yes` means the configured key files and nothing else.
        agent: (options.use_agent && !target.identities_only)
            .then(|| credentials.agent_socket())
            .flatten(),
    };
    auth::authenticate(session, &login, credentials)
        .map_err(|tried| Error::new(ErrorKind::AuthFailed { tried }, Op::Authenticate, origin))
}

/// Key exchange and host key check on a connected stream.
fn negotiate<S>(
    stream: S,
    target: &SshTarget,
    options: &ConnectOptions,
    origin: &str,
) -> Result<(Session, OwnedFd)>
where
    S: AsFd + AsRawFd + 'static,
{
    let fail = |kind, e: Option<ssh2::Error>| {
        let err = Error::new(kind, Op::Connect, origin);
        match e {
            Some(e) => err.with_source(e),
            None => err,
        }
    };
    let ssh_fail = |e: ssh2::Error| fail(session_kind(&e, options.timeout), Some(e));
    let socket = stream
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| fail(net::io_kind(&e, options.timeout), None))?;
    let mut session = Session::new().map_err(ssh_fail)?;
    session.set_timeout(options.timeout.as_millis().try_into().unwrap_or(u32::MAX));
    session.set_tcp_stream(stream);

    let files = known_hosts_files(target, options);
    let known = KnownHosts::load(&files).map_err(|e| {
        Error::new(
            ErrorKind::Protocol {
                message: format!("cannot read known_hosts: {e}"),
            },
            Op::VerifyHostKey,
            origin,
        )
        .with_source(e)
    })?;
    // Ask for a host key type we have on file, as ssh does; otherwise a server with several
    // keys could present one we have never seen and look "unknown".
    if let Some(prefs) = host_key_preference(
        &known.key_types(&target.host, target.port),
        &session
            .supported_algs(MethodType::HostKey)
            .unwrap_or_default(),
    ) {
        session
            .method_pref(MethodType::HostKey, &prefs)
            .map_err(ssh_fail)?;
    }
    session.handshake().map_err(ssh_fail)?;
    verify_host_key(&session, target, options, &known, &files)
        .map_err(|(kind, hint)| Error::new(kind, Op::VerifyHostKey, origin).with_hint(hint))?;
    Ok((session, socket))
}

/// The site folder, absolute and checked to be a folder.
pub(super) fn site_folder(
    sftp: &Sftp,
    root: &str,
    timeout: Duration,
    origin: &str,
) -> Result<String> {
    let fail = |kind, path: &str| Error::new(kind, Op::OpenSite, origin).with_path(path);
    let wanted = if root.is_empty() { "." } else { root };
    let absolute = sftp
        .realpath(Path::new(wanted))
        .map_err(|e| fail(sftp_kind(&e, ErrorKind::NotFound, timeout), wanted).with_source(e))?;
    let absolute = absolute.to_string_lossy().into_owned();
    if wanted == "." {
        // The login folder: there, and a folder, or the login would have failed.
        return Ok(absolute);
    }
    match sftp.stat(Path::new(&absolute)) {
        Ok(st) if st.is_dir() => Ok(absolute),
        Ok(_) => Err(fail(ErrorKind::NotADirectory, &absolute)),
        Err(e) => Err(fail(sftp_kind(&e, ErrorKind::NotFound, timeout), &absolute).with_source(e)),
    }
}

/// known_hosts files: from the options, else `UserKnownHostsFile`, else `~/.ssh/known_hosts`
/// plus the system-wide file. New keys go into the first.
pub(super) fn known_hosts_files(target: &SshTarget, options: &ConnectOptions) -> Vec<PathBuf> {
    if !options.known_hosts.is_empty() {
        return options.known_hosts.clone();
    }
    if !target.known_hosts.is_empty() {
        return target.known_hosts.clone();
    }
    let home = std::env::home_dir().unwrap_or_default();
    vec![
        home.join(".ssh/known_hosts"),
        PathBuf::from("/etc/ssh/ssh_known_hosts"),
    ]
}

/// The keys ssh tries when no `IdentityFile` is configured.
pub(super) fn default_keys() -> Vec<PathBuf> {
    let ssh = std::env::home_dir().unwrap_or_default().join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| ssh.join(name))
        .filter(|p| p.exists())
        .collect()
}

/// The host key algorithms to offer: those whose keys known_hosts has for this host first,
/// then the rest in libssh2's order. `None` when nothing is known (libssh2's default).
pub(super) fn host_key_preference(known_types: &[&str], supported: &[&str]) -> Option<String> {
    let mut prefs: Vec<&str> = Vec::new();
    for key_type in known_types {
        let algorithms: &[&str] = match *key_type {
            // One RSA key serves three signature algorithms; prefer the SHA-2 ones.
            "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            _ => std::slice::from_ref(key_type),
        };
        for algorithm in algorithms {
            if supported.contains(algorithm) && !prefs.contains(algorithm) {
                prefs.push(algorithm);
            }
        }
    }
    if prefs.is_empty() {
        return None;
    }
    for algorithm in supported {
        if !prefs.contains(algorithm) {
            prefs.push(algorithm);
        }
    }
    Some(prefs.join(","))
}

/// Trusted, accepted-and-recorded, or an error kind with its hint.
pub(super) fn verify_host_key(
    session: &Session,
    target: &SshTarget,
    options: &ConnectOptions,
    known: &KnownHosts,
    files: &[PathBuf],
) -> std::result::Result<(), (ErrorKind, String)> {
    let (key, _) = session.host_key().ok_or_else(|| {
        (
            ErrorKind::Protocol {
                message: "the server sent no host key".into(),
            },
            "report this to your host: the SSH server did not identify itself".to_owned(),
        )
    })?;
    let key_type = known_hosts::key_type(key).unwrap_or("unknown").to_owned();
    let fingerprint = known_hosts::fingerprint(key);
    let pattern = known_hosts::host_pattern(&target.host, target.port);
    match known.check(&target.host, target.port, key) {
        Verdict::Trusted => Ok(()),
        Verdict::Changed { file, line } => {
            let hint = format!(
                "if your host confirms the server was reinstalled, remove the old key with \
                 `ssh-keygen -R '{pattern}' -f {}` and connect again; {ACCEPT_HOST_KEY_FLAG} \
                 does not override this",
                file.display()
            );
            Err((
                ErrorKind::HostKeyChanged {
                    key_type,
                    fingerprint,
                    known_hosts: file,
                    line,
                },
                hint,
            ))
        }
        Verdict::Unknown => {
            let record_in = files[0].clone();
            if options.accept_host_key.as_deref() == Some(fingerprint.as_str()) {
                return known_hosts::append(&record_in, &target.host, target.port, key).map_err(
                    |e| {
                        (
                            ErrorKind::Protocol {
                                message: format!(
                                    "cannot record the host key in {}: {e}",
                                    record_in.display()
                                ),
                            },
                            "check that the folder exists and is writable, or add the line \
                             with `ssh-keyscan` yourself"
                                .to_owned(),
                        )
                    },
                );
            }
            let mut hint = format!(
                "check that {fingerprint} is the server's key (your host's documentation, or \
                 `ssh-keyscan -p {} {} | ssh-keygen -lf -` from a trusted network); if it is, \
                 run again with {ACCEPT_HOST_KEY_FLAG} {fingerprint} to record it",
                target.port, target.host
            );
            if let Some(other) = &options.accept_host_key {
                hint = format!(
                    "{ACCEPT_HOST_KEY_FLAG} {other} does not match this server's key; {hint}"
                );
            }
            Err((
                ErrorKind::HostKeyUnknown {
                    key_type,
                    fingerprint,
                    known_hosts: record_in,
                },
                hint,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_drips_its_banner_meets_the_connection_deadline() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            // A byte every 200 ms: no single read waits a whole second.
            for byte in b"SSH-2.0-slow".iter().cycle() {
                if socket.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let target = SshTarget {
            host: "127.0.0.1".into(),
            port,
            user: "wp".into(),
            root: String::new(),
            exec: false,
            identity_files: Vec::new(),
            identities_only: false,
            known_hosts: Vec::new(),
            jump: None,
        };
        let options = ConnectOptions {
            timeout: Duration::from_secs(1),
            ..ConnectOptions::default()
        };
        let err = handshake(
            &target,
            &options,
            &mut Credentials::none(),
            "sftp://wp@127.0.0.1",
        )
        .err()
        .expect("no handshake");
        // libssh2 bounds each call as a whole (here the banner, after 1 s); the deadline
        // bounds the sum of them.
        assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err}");
    }

    #[test]
    fn host_key_preference_puts_known_types_first() {
        let supported = [
            "ecdsa-sha2-nistp256",
            "ssh-ed25519",
            "rsa-sha2-512",
            "rsa-sha2-256",
            "ssh-rsa",
        ];
        assert_eq!(host_key_preference(&[], &supported), None);
        assert_eq!(
            host_key_preference(&["ssh-rsa"], &supported).unwrap(),
            "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519"
        );
        assert_eq!(
            host_key_preference(&["ssh-ed25519", "sk-unknown"], &supported).unwrap(),
            "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa"
        );
    }
}
