//! [`SshTransport`]: SFTP over one SSH session (libssh2 through ssh2-rs), plus commands for
//! `ssh://` targets.

mod auth;
mod posix_rename;

use std::io::{self, ErrorKind as IoKind, Read, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime};

use ssh2::{ErrorCode, FileStat, FileType, MethodType, OpenFlags, OpenType, Session, Sftp};

use self::auth::Login;
use self::posix_rename::{PosixRename, RenameError};
use super::known_hosts::{self, KnownHosts, Verdict};
use super::progress::{CopyError, Progress};
use super::staging::{Staging, write_atomically};
use super::target::{SshTarget, origin};
use super::{
    ACCEPT_HOST_KEY_FLAG, Capabilities, ConnectOptions, Credentials, Entry, Error, ErrorKind, Exec,
    ExecOutput, Kind, Meta, Op, RemotePath, RenameMode, Result, Transport, Upload, WriteMode, net,
};

// SFTP v3 status codes (draft-ietf-secsh-filexfer-02) and later ones some servers send.
const FX_NO_SUCH_FILE: i32 = 2;
const FX_PERMISSION_DENIED: i32 = 3;
const FX_FAILURE: i32 = 4;
const FX_CONNECTION_LOST: i32 = 7;
const FX_OP_UNSUPPORTED: i32 = 8;
const FX_NO_SUCH_PATH: i32 = 10;
const FX_FILE_ALREADY_EXISTS: i32 = 11;
const FX_NO_SPACE_ON_FILESYSTEM: i32 = 14;
const FX_QUOTA_EXCEEDED: i32 = 15;
const FX_DIR_NOT_EMPTY: i32 = 18;
const FX_NOT_A_DIRECTORY: i32 = 19;
const FX_FILE_IS_A_DIRECTORY: i32 = 24;

// libssh2 session errors that mean the connection is gone or too slow.
const ERROR_SOCKET_SEND: i32 = -7;
const ERROR_TIMEOUT: i32 = -9;
const ERROR_SOCKET_DISCONNECT: i32 = -13;
const ERROR_SOCKET_TIMEOUT: i32 = -30;
const ERROR_SOCKET_RECV: i32 = -43;

/// How often libssh2 sends a keepalive while the session is in use.
const KEEPALIVE_SECS: u32 = 15;

/// A site reached over SSH: files through SFTP and, for `ssh://` targets, commands.
///
/// Where it differs: atomic replace uses OpenSSH's `posix-rename@openssh.com` extension (a
/// server without it gets [`ErrorKind::Unsupported`] rather than a non-atomic replace);
/// create-only writes and no-replace renames use plain SFTP RENAME, which OpenSSH implements
/// with link(2) and which therefore never overwrites. SFTP v3 reports "disk full" and "quota
/// exceeded" as a generic failure; a failure while upload data is being written is reported
/// as [`ErrorKind::QuotaExceeded`], its usual cause.
pub struct SshTransport {
    sftp: Sftp,
    renamer: Option<PosixRename>,
    session: Session,
    origin: String,
    root: String,
    exec: bool,
    progress: bool,
    timeout: Duration,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTransport")
            .field("origin", &self.origin)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl SshTransport {
    /// Connects, checks the host key, logs in and opens SFTP; fails unless the site folder
    /// exists.
    pub fn connect(
        target: &SshTarget,
        options: &ConnectOptions,
        credentials: &mut Credentials,
    ) -> Result<Self> {
        let scheme = if target.exec { "ssh" } else { "sftp" };
        let origin = origin(scheme, Some(&target.user), &target.host, target.port);
        let session = handshake(target, options, &origin)?;
        session.set_keepalive(false, KEEPALIVE_SECS);
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
        auth::authenticate(&session, &login, credentials).map_err(|tried| {
            Error::new(ErrorKind::AuthFailed { tried }, Op::Authenticate, &origin)
        })?;
        let sftp = session.sftp().map_err(|e| {
            Error::new(
                ErrorKind::Unsupported {
                    what: "SFTP (the server has no sftp subsystem)".into(),
                },
                Op::Connect,
                &origin,
            )
            .with_source(e)
        })?;
        let root = site_folder(&sftp, &target.root, options.timeout, &origin)?;
        Ok(Self {
            sftp,
            renamer: None,
            session,
            origin,
            root,
            exec: target.exec,
            progress: options.progress,
            timeout: options.timeout,
        })
    }

    fn abs(&self, path: &RemotePath) -> PathBuf {
        PathBuf::from(path.under(&self.root))
    }

    /// An error for `op` on `path`; an SFTP "failure" is taken to mean `failure` where the
    /// caller knows better than the protocol can say.
    fn err(&self, e: ssh2::Error, op: Op, path: &RemotePath, failure: Option<ErrorKind>) -> Error {
        let failure = failure.unwrap_or_else(|| Self::generic(&e));
        Error::new(
            sftp_kind(&e, failure, self.timeout),
            op,
            self.origin.as_str(),
        )
        .with_path(path.under(&self.root))
        .with_source(e)
    }

    fn fail(&self, kind: ErrorKind, op: Op, path: &RemotePath) -> Error {
        Error::new(kind, op, self.origin.as_str()).with_path(path.under(&self.root))
    }

    fn generic(e: &ssh2::Error) -> ErrorKind {
        ErrorKind::Protocol {
            message: e.message().to_owned(),
        }
    }

    fn lstat(&self, path: &RemotePath) -> Option<FileStat> {
        self.sftp.lstat(&self.abs(path)).ok()
    }

    fn posix_rename(
        &mut self,
        from: &RemotePath,
        to: &RemotePath,
        op: Op,
        report: &RemotePath,
    ) -> Result<()> {
        if self.renamer.is_none() {
            self.renamer =
                Some(PosixRename::open(&self.session).map_err(|e| self.rename_err(e, op, report))?);
        }
        let (src, dst) = (from.under(&self.root), to.under(&self.root));
        let renamer = self.renamer.as_mut().expect("opened above");
        renamer
            .rename(&src, &dst)
            .map_err(|e| self.rename_err(e, op, report))
    }

    fn rename_err(&self, e: RenameError, op: Op, path: &RemotePath) -> Error {
        let kind = match &e {
            RenameError::Ssh(e) => session_kind(e, self.timeout),
            RenameError::Io(e) => net::io_kind(e, self.timeout),
            RenameError::Unsupported => ErrorKind::Unsupported {
                what: "atomic replace (the server lacks posix-rename@openssh.com)".into(),
            },
            RenameError::Status(code, message) => status_kind(
                *code as i32,
                ErrorKind::Protocol {
                    message: message.clone(),
                },
            ),
        };
        let err = self.fail(kind, op, path);
        match e {
            RenameError::Ssh(e) => err.with_source(e),
            RenameError::Io(e) => err.with_source(e),
            _ => err,
        }
    }
}

/// TCP, key exchange and host key check: a session ready to log in.
fn handshake(target: &SshTarget, options: &ConnectOptions, origin: &str) -> Result<Session> {
    let fail = |kind, e: Option<ssh2::Error>| {
        let err = Error::new(kind, Op::Connect, origin);
        match e {
            Some(e) => err.with_source(e),
            None => err,
        }
    };
    let ssh_fail = |e: ssh2::Error| fail(session_kind(&e, options.timeout), Some(e));
    let tcp = net::connect(&target.host, target.port, options.timeout).map_err(|(kind, e)| {
        let err = Error::new(kind, Op::Connect, origin);
        match e {
            Some(e) => err.with_source(e),
            None => err,
        }
    })?;
    let mut session = Session::new().map_err(ssh_fail)?;
    session.set_timeout(options.timeout.as_millis().try_into().unwrap_or(u32::MAX));
    session.set_tcp_stream(tcp);

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
    Ok(session)
}

/// The site folder, absolute and checked to be a folder.
fn site_folder(sftp: &Sftp, root: &str, timeout: Duration, origin: &str) -> Result<String> {
    let fail = |kind, path: &str| Error::new(kind, Op::OpenSite, origin).with_path(path);
    let wanted = if root.is_empty() { "." } else { root };
    let absolute = sftp
        .realpath(Path::new(wanted))
        .map_err(|e| fail(sftp_kind(&e, ErrorKind::NotFound, timeout), wanted).with_source(e))?;
    let absolute = absolute.to_string_lossy().into_owned();
    match sftp.stat(Path::new(&absolute)) {
        Ok(st) if st.is_dir() => Ok(absolute),
        Ok(_) => Err(fail(ErrorKind::NotADirectory, &absolute)),
        Err(e) => Err(fail(sftp_kind(&e, ErrorKind::NotFound, timeout), &absolute).with_source(e)),
    }
}

/// known_hosts files: from the options, else `UserKnownHostsFile`, else `~/.ssh/known_hosts`
/// plus the system-wide file. New keys go into the first.
fn known_hosts_files(target: &SshTarget, options: &ConnectOptions) -> Vec<PathBuf> {
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
fn default_keys() -> Vec<PathBuf> {
    let ssh = std::env::home_dir().unwrap_or_default().join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| ssh.join(name))
        .filter(|p| p.exists())
        .collect()
}

/// The host key algorithms to offer: those whose keys known_hosts has for this host first,
/// then the rest in libssh2's order. `None` when nothing is known (libssh2's default).
fn host_key_preference(known_types: &[&str], supported: &[&str]) -> Option<String> {
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
fn verify_host_key(
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

/// The kind for a libssh2 session-level error.
fn session_kind(e: &ssh2::Error, timeout: Duration) -> ErrorKind {
    match e.code() {
        ErrorCode::Session(ERROR_TIMEOUT | ERROR_SOCKET_TIMEOUT) => {
            ErrorKind::Timeout { after: timeout }
        }
        ErrorCode::Session(ERROR_SOCKET_SEND | ERROR_SOCKET_RECV | ERROR_SOCKET_DISCONNECT) => {
            ErrorKind::Disconnected
        }
        ErrorCode::SFTP(code) => status_kind(code, SshTransport::generic(e)),
        ErrorCode::Session(_) => SshTransport::generic(e),
    }
}

/// The kind for an SFTP-level error; `failure` stands in for the generic FX_FAILURE.
fn sftp_kind(e: &ssh2::Error, failure: ErrorKind, timeout: Duration) -> ErrorKind {
    match e.code() {
        ErrorCode::SFTP(FX_FAILURE) => failure,
        _ => session_kind(e, timeout),
    }
}

/// The kind for an SFTP status code; `other` for codes without a kind of their own.
fn status_kind(code: i32, other: ErrorKind) -> ErrorKind {
    match code {
        FX_NO_SUCH_FILE | FX_NO_SUCH_PATH => ErrorKind::NotFound,
        FX_PERMISSION_DENIED => ErrorKind::PermissionDenied,
        FX_FILE_ALREADY_EXISTS => ErrorKind::AlreadyExists,
        FX_NO_SPACE_ON_FILESYSTEM | FX_QUOTA_EXCEEDED => ErrorKind::QuotaExceeded,
        FX_DIR_NOT_EMPTY => ErrorKind::NotEmpty,
        FX_NOT_A_DIRECTORY => ErrorKind::NotADirectory,
        FX_FILE_IS_A_DIRECTORY => ErrorKind::IsADirectory,
        FX_CONNECTION_LOST => ErrorKind::Disconnected,
        FX_OP_UNSUPPORTED => ErrorKind::Unsupported {
            what: "this operation (the server said so)".into(),
        },
        _ => other,
    }
}

/// ssh2-rs turns transfer errors into `io::Error`s that keep only libssh2's message; find the
/// SFTP status code again by that message.
fn io_status(e: &io::Error) -> Option<i32> {
    let message = e.get_ref()?.to_string();
    (1..=31).find(|&code| ssh2::Error::from_errno(ErrorCode::SFTP(code)).message() == message)
}

/// The kind for an `io::Error` from an SFTP transfer; `failure` as in [`sftp_kind`].
fn transfer_kind(e: &io::Error, failure: ErrorKind, timeout: Duration) -> ErrorKind {
    match io_status(e) {
        Some(FX_FAILURE) => failure,
        Some(code) => status_kind(code, net::io_kind(e, timeout)),
        None if e.kind() == IoKind::Other => ErrorKind::Disconnected,
        None => net::io_kind(e, timeout),
    }
}

fn meta(st: &FileStat) -> Meta {
    let kind = match st.file_type() {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    };
    Meta {
        kind,
        size: st.size.unwrap_or(0),
        mtime: st
            .mtime
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
        mode: st.perm.map(|p| p & 0o7777),
    }
}

impl Transport for SshTransport {
    fn origin(&self) -> &str {
        &self.origin
    }

    fn root(&self) -> &str {
        &self.root
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exec: self.exec,
            modes: true,
        }
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        let listing = self.sftp.readdir(self.abs(dir)).map_err(|e| {
            // OpenSSH answers "no such file" for opendir on a file (ENOTDIR).
            if self.lstat(dir).is_some_and(|st| !st.is_dir()) {
                self.fail(ErrorKind::NotADirectory, Op::List, dir)
            } else {
                self.err(e, Op::List, dir, None)
            }
        })?;
        let mut entries: Vec<Entry> = listing
            .iter()
            .map(|(path, st)| Entry {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                meta: meta(st),
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        match self.sftp.lstat(&self.abs(path)) {
            Ok(st) => Ok(Some(meta(&st))),
            Err(e) if matches!(e.code(), ErrorCode::SFTP(FX_NO_SUCH_FILE | FX_NO_SUCH_PATH)) => {
                Ok(None)
            }
            Err(e) => Err(self.err(e, Op::Stat, path, None)),
        }
    }

    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        let _ = self.session.keepalive_send();
        let mut file = self
            .sftp
            .open(self.abs(path))
            .map_err(|e| self.err(e, Op::Read, path, None))?;
        let st = file.stat().map_err(|e| self.err(e, Op::Read, path, None))?;
        if st.is_dir() {
            return Err(self.fail(ErrorKind::IsADirectory, Op::Read, path));
        }
        let mut progress = Progress::new(self.progress, format!("download {path}"), st.size);
        progress.copy(&mut file, sink).map_err(|e| match e {
            CopyError::Source(e) => {
                let kind = transfer_kind(
                    &e,
                    ErrorKind::Protocol {
                        message: e.to_string(),
                    },
                    self.timeout,
                );
                self.fail(kind, Op::Read, path).with_source(e)
            }
            CopyError::Sink(e) => self.fail(ErrorKind::LocalIo, Op::Read, path).with_source(e),
        })
    }

    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        let _ = self.session.keepalive_send();
        write_atomically(self, path, data, mode)
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        if mode == RenameMode::Replace {
            if self.lstat(from).is_none() {
                return Err(self.fail(ErrorKind::NotFound, Op::Rename, from));
            }
            return self.posix_rename(from, to, Op::Rename, from);
        }
        // SFTP v3 RENAME never replaces (OpenSSH links, then unlinks); its "failure" is most
        // likely an existing destination, so look.
        self.sftp
            .rename(&self.abs(from), &self.abs(to), None)
            .map_err(|e| {
                if self.lstat(to).is_some() {
                    self.err(e, Op::Rename, to, Some(ErrorKind::AlreadyExists))
                } else {
                    self.err(e, Op::Rename, from, None)
                }
            })
    }

    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        self.sftp.mkdir(&self.abs(path), 0o755).map_err(|e| {
            // OpenSSH maps EEXIST to a plain failure.
            let exists = self.lstat(path).is_some();
            self.err(
                e,
                Op::Mkdir,
                path,
                exists.then_some(ErrorKind::AlreadyExists),
            )
        })
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        let Some(st) = self.lstat(path) else {
            return Err(self.fail(ErrorKind::NotFound, Op::Remove, path));
        };
        let abs = self.abs(path);
        if st.is_dir() {
            // ENOTEMPTY arrives as a plain failure.
            self.sftp
                .rmdir(&abs)
                .map_err(|e| self.err(e, Op::Remove, path, Some(ErrorKind::NotEmpty)))
        } else {
            self.sftp
                .unlink(&abs)
                .map_err(|e| self.err(e, Op::Remove, path, None))
        }
    }

    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        if self.exec { Some(self) } else { None }
    }
}

impl Staging for SshTransport {
    fn upload_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mut data: Upload<'_>,
        mode: u32,
    ) -> Result<()> {
        let flags = OpenFlags::WRITE | OpenFlags::EXCLUSIVE | OpenFlags::TRUNCATE;
        let mut file = self
            .sftp
            .open_mode(self.abs(staging), flags, mode as i32, OpenType::File)
            .map_err(|e| self.err(e, Op::Write, target, None))?;
        let mut progress = Progress::new(self.progress, format!("upload {target}"), data.len);
        progress
            .copy(&mut data.reader, &mut file)
            .map_err(|e| match e {
                CopyError::Source(e) => self
                    .fail(ErrorKind::LocalIo, Op::Write, target)
                    .with_source(e),
                // SFTP v3 has no "disk full": ENOSPC and EDQUOT arrive as a plain failure.
                CopyError::Sink(e) => {
                    let kind = transfer_kind(&e, ErrorKind::QuotaExceeded, self.timeout);
                    self.fail(kind, Op::Write, target).with_source(e)
                }
            })?;
        // The server's umask narrowed the mode given at open; set it exactly.
        let exact = FileStat {
            size: None,
            uid: None,
            gid: None,
            perm: Some(mode),
            atime: None,
            mtime: None,
        };
        file.setstat(exact)
            .map_err(|e| self.err(e, Op::Write, target, None))?;
        // Durable before it becomes visible; servers without fsync@openssh.com just skip it.
        let _ = file.fsync();
        // A failed close can mean the last bytes did not land (e.g. quota on NFS).
        file.close()
            .map_err(|e| self.err(e, Op::Write, target, Some(ErrorKind::QuotaExceeded)))
    }

    fn commit_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mode: WriteMode,
    ) -> Result<()> {
        match mode {
            WriteMode::Replace => self.posix_rename(staging, target, Op::Write, target),
            WriteMode::Create => self
                .sftp
                .rename(&self.abs(staging), &self.abs(target), None)
                .map_err(|e| self.err(e, Op::Write, target, Some(ErrorKind::AlreadyExists))),
        }
    }

    fn discard_staged(&mut self, staging: &RemotePath) {
        let _ = self.sftp.unlink(&self.abs(staging));
    }
}

impl Exec for SshTransport {
    fn exec_with_input(&mut self, command: &str, input: &[u8]) -> Result<ExecOutput> {
        let fail = |e: ssh2::Error| {
            Error::new(
                session_kind(&e, self.timeout),
                Op::Exec,
                self.origin.as_str(),
            )
            .with_path(command)
            .with_source(e)
        };
        let mut channel = self.session.channel_session().map_err(fail)?;
        channel
            .exec(&format!("cd {} && {command}", shell_quote(&self.root)))
            .map_err(fail)?;
        // Feed stdin and read stdout and stderr in turn without blocking: waiting on one
        // while another fills the channel window would stall both ends for good.
        self.session.set_blocking(false);
        let drained = drain(&mut channel, &self.session, input);
        self.session.set_blocking(true);
        let (stdout, stderr) = drained.map_err(|e| {
            Error::new(
                net::io_kind(&e, self.timeout),
                Op::Exec,
                self.origin.as_str(),
            )
            .with_path(command)
            .with_source(e)
        })?;
        channel.wait_close().map_err(fail)?;
        let signal = channel.exit_signal().map_err(fail)?.exit_signal;
        let status = match signal {
            Some(_) => None,
            None => Some(channel.exit_status().map_err(fail)?),
        };
        Ok(ExecOutput {
            stdout,
            stderr,
            status,
        })
    }
}

/// Feeds `input` to the command's stdin, then end-of-file, and collects everything on
/// stdout and stderr until the command closes both.
fn drain(
    channel: &mut ssh2::Channel,
    session: &Session,
    mut input: &[u8],
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 64 * 1024];
    let mut idle = Duration::from_millis(1);
    let mut stdin_open = true;
    loop {
        let mut progressed = false;
        if stdin_open {
            let sent = if input.is_empty() {
                channel.send_eof().map(|()| None).map_err(io::Error::from)
            } else {
                channel.write(input).map(Some)
            };
            match sent {
                Ok(Some(n)) => {
                    input = &input[n..];
                    progressed = true;
                }
                Ok(None) => {
                    stdin_open = false;
                    progressed = true;
                }
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                // The command exited without reading all of it: its output tells the rest.
                Err(_) => stdin_open = false,
            }
        }
        let mut open = 2;
        for (stream, out) in [(0, &mut stdout), (1, &mut stderr)] {
            match channel.stream(stream).read(&mut buf) {
                Ok(0) => open -= 1,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if open == 0 && channel.eof() {
            return Ok((stdout, stderr));
        }
        if progressed {
            idle = Duration::from_millis(1);
        } else {
            // A long-running command: stay connected, and back off up to 50 ms per poll.
            let _ = session.keepalive_send();
            thread::sleep(idle);
            idle = (idle * 2).min(Duration::from_millis(50));
        }
    }
}

/// `'text'` for sh, with embedded single quotes closed, escaped and reopened.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn status_codes_map_to_kinds() {
        let other = ErrorKind::Protocol {
            message: "x".into(),
        };
        assert_eq!(
            status_kind(FX_NO_SUCH_FILE, other.clone()),
            ErrorKind::NotFound
        );
        assert_eq!(
            status_kind(FX_PERMISSION_DENIED, other.clone()),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            status_kind(FX_QUOTA_EXCEEDED, other.clone()),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(status_kind(99, other.clone()), other);
        let e: io::Error = ssh2::Error::from_errno(ErrorCode::SFTP(FX_PERMISSION_DENIED)).into();
        assert_eq!(io_status(&e), Some(FX_PERMISSION_DENIED));
        assert_eq!(
            transfer_kind(
                &ssh2::Error::from_errno(ErrorCode::SFTP(FX_FAILURE)).into(),
                ErrorKind::QuotaExceeded,
                Duration::ZERO
            ),
            ErrorKind::QuotaExceeded
        );
    }

    #[test]
    fn quoting_for_sh() {
        assert_eq!(
            shell_quote("/home/o'brien/site"),
            r"'/home/o'\''brien/site'"
        );
    }
}
