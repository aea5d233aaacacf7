//! [`SshTransport`]: SFTP over one SSH session (libssh2 through ssh2-rs), plus commands for
//! `ssh://` targets.

mod auth;
mod connect;
mod exec;
mod jump;
mod kinds;
mod posix_rename;
mod shell_write;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ssh2::{ErrorCode, FileStat, FileType, OpenFlags, OpenType, Session, Sftp};

use self::connect::{authenticate, handshake, site_folder};
use self::kinds::{
    FX_NO_SUCH_FILE, FX_NO_SUCH_PATH, generic, session_kind, sftp_kind, status_kind, transfer_kind,
};
use self::posix_rename::{PosixRename, RenameError};
use super::progress::{CopyError, Progress};
use super::staging::{Staging, write_atomically};
use super::target::{SshTarget, origin};
use super::{
    Capabilities, ConnectOptions, Credentials, Entry, Error, ErrorKind, Exec, Kind, Meta, Op,
    Prefetch, RemotePath, RenameMode, Result, Snapshot, Transport, Upload, WriteMode, gather, net,
};

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
    /// The session's socket (or, through a jump host, its end of the tunnel), to wait on
    /// while a command runs.
    socket: std::os::fd::OwnedFd,
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
        let (session, socket, watchdog) = handshake(target, options, credentials, &origin)?;
        let connected = Self::log_in(session, socket, target, options, credentials, &origin);
        watchdog.settle(connected, Op::Connect, &origin)
    }

    /// Login, SFTP and the site folder, on a session past its handshake.
    fn log_in(
        session: Session,
        socket: std::os::fd::OwnedFd,
        target: &SshTarget,
        options: &ConnectOptions,
        credentials: &mut Credentials,
        origin: &str,
    ) -> Result<Self> {
        let origin = origin.to_owned();
        session.set_keepalive(false, KEEPALIVE_SECS);
        authenticate(&session, target, options, credentials, &origin)?;
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
            socket,
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
        let failure = failure.unwrap_or_else(|| generic(&e));
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

    /// A second look after a call failed, to name the failure better: any error is "nothing
    /// to see", as the first error already stands.
    fn lstat(&self, path: &RemotePath) -> Option<FileStat> {
        self.sftp.lstat(&self.abs(path)).ok()
    }

    /// `path`'s own attributes (a link is not followed), `None` when it does not exist: a lost
    /// or slow connection is an error, never a missing file.
    fn look(&self, path: &RemotePath, op: Op) -> Result<Option<FileStat>> {
        match self.sftp.lstat(&self.abs(path)) {
            Ok(st) => Ok(Some(st)),
            Err(e) if matches!(e.code(), ErrorCode::SFTP(FX_NO_SUCH_FILE | FX_NO_SUCH_PATH)) => {
                Ok(None)
            }
            Err(e) => Err(self.err(e, op, path, None)),
        }
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
        Ok(self.look(path, Op::Stat)?.map(|st| meta(&st)))
    }

    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        let _ = self.session.keepalive_send();
        let mut file = self
            .sftp
            .open(self.abs(path))
            .map_err(|e| self.err(e, Op::Read, path, None))?;
        // The size is only for a progress bar: where none can show, a round trip saved.
        let size = match Progress::can_show(self.progress) {
            true => {
                let st = file.stat().map_err(|e| self.err(e, Op::Read, path, None))?;
                if st.is_dir() {
                    return Err(self.fail(ErrorKind::IsADirectory, Op::Read, path));
                }
                st.size
            }
            false => None,
        };
        let mut progress = Progress::new(self.progress, format!("download {path}"), size);
        progress.copy(&mut file, sink).map_err(|e| match e {
            // A folder opens; reading it is what fails.
            CopyError::Source(_) if self.lstat(path).is_some_and(|st| st.is_dir()) => {
                self.fail(ErrorKind::IsADirectory, Op::Read, path)
            }
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
        match self.write_by_shell(path, data, mode)? {
            None => Ok(()),
            Some(data) => write_atomically(self, path, data, mode),
        }
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        if mode == RenameMode::Replace {
            if self.look(from, Op::Rename)?.is_none() {
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
        let Some(st) = self.look(path, Op::Remove)? else {
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

    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        if !self.exec {
            return Ok(None);
        }
        gather::by_shell(self, wanted)
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
            WriteMode::Create | WriteMode::InPlace => self
                .sftp
                .rename(&self.abs(staging), &self.abs(target), None)
                .map_err(|e| self.err(e, Op::Write, target, Some(ErrorKind::AlreadyExists))),
        }
    }

    fn discard_staged(&mut self, staging: &RemotePath) {
        let _ = self.sftp.unlink(&self.abs(staging));
    }
}
