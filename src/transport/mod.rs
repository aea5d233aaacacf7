//! Remote files: one interface, four ways in.
//!
//! # Brief overview
//!
//! Everything above this layer (diagnose, unlock, playbooks, rollback) sees only
//! [`Transport`]: list, stat, read, atomic write, rename, mkdir, remove. Its implementations:
//!
//! | target | type | runs commands |
//! |---|---|---|
//! | `sftp://`, `ssh://`, `host:path`, `~/.ssh/config` alias | [`SshTransport`] | not `sftp://` |
//! | `ftp://`, `ftps://`, `ftps-implicit://` | [`FtpTransport`] | no |
//! | a local path (run on the server itself) | [`LocalTransport`] | yes |
//! | none: tests and dry runs | [`MemoryTransport`] | no |
//!
//! A run opens one connection per target with [`connect`] and keeps it to the end. Every
//! path is a [`RemotePath`], relative to the site folder named in the [`Target`]. Commands
//! run through [`Exec`], reached with [`Transport::as_exec`]. Conveniences
//! (`read_to_vec`, `exists`, `mkdir_all`, `remove_all`) live in [`TransportExt`], implemented
//! once for every transport so they cannot drift apart.
//!
//! # Contract
//!
//! - `list` returns entries sorted by name, without `.` and `..`. `stat` does not follow
//!   symbolic links (FTP cannot), and returns `None` for a missing path.
//! - `write` is atomic: the data goes to a hidden staging name in the same folder
//!   (`.ht.wprescue-<random>.<name>`), which is renamed over the real name only once complete.
//!   A reader sees the old file or the new one, never a part; a failed or interrupted upload
//!   leaves the old file as it was. A replaced file keeps its permission bits; a new file gets
//!   `0644`. [`WriteMode::Create`] refuses an existing file. A connection that dies mid-upload
//!   can leave the staging file behind (recognise it with [`is_staging_name`]), never a
//!   half-written real one. Writing over a symbolic link is refused.
//! - `rename` refuses an existing destination unless given [`RenameMode::Replace`].
//! - `remove` removes a file, a symbolic link or an *empty* folder.
//! - Errors are [`Error`]s: an [`ErrorKind`] the caller can match, plus the operation, the
//!   target, the path and a hint.
//!
//! Backends differ where their protocols do, and say so in their docs: FTP has no atomic
//! "create if absent" (it checks, then renames), reports modification times to the minute,
//! and cannot run commands. Transfers that run longer than a moment draw a progress bar on
//! stderr when it is a terminal ([`ConnectOptions::progress`]).
//!
//! # Example
//!
//! ```
//! use wprescue::transport::{MemoryTransport, RemotePath, TransportExt, WriteMode};
//!
//! let mut site = MemoryTransport::new();
//! let config = RemotePath::new("wp-config.php")?;
//! site.write_bytes(&config, b"<?php // settings", WriteMode::Create)?;
//! assert_eq!(site.read_to_vec(&config)?, b"<?php // settings");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// The calls every wrapper (here and in `cache.rs`) passes on unchanged: the ones that only describe the connection.
macro_rules! describe_as_inner {
    () => {
        fn origin(&self) -> &str {
            self.inner.origin()
        }
        fn root(&self) -> &str {
            self.inner.root()
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
    };
}

mod cache;
mod credentials;
mod error;
mod fan_out;
mod ftp;
mod gather;
mod known_hosts;
mod local;
mod memory;
mod net;
mod options;
mod path;
mod progress;
mod ssh;
mod ssh_config;
mod staging;
mod target;
mod wrap;

#[cfg(test)]
pub mod conformance;

use std::io::{Read, Write};
use std::time::SystemTime;

pub use cache::{Cached, StatBy, site_may_have_changed};
pub use credentials::{Credentials, Secret};
pub use error::{Error, ErrorKind, Op, PinBroken, Result};
pub use ftp::FtpTransport;
pub use gather::{Prefetch, Snapshot};
pub use known_hosts::fingerprint;
pub use local::LocalTransport;
pub use memory::{Access, MemoryTransport};
pub use options::{
    ACCEPT_HOST_KEY_FLAG, ConnectOptions, DEFAULT_FTP_CONNECTIONS, FTP_CONNECTIONS_FLAG,
    IDENTITY_FLAG, INSECURE_TLS_FLAG, KEY_PASSPHRASE_ENV, PASSWORD_ENV, TIMEOUT_FLAG, TLS_CA_FLAG,
    TlsTrust,
};
pub use path::{PathError, RemotePath};
pub use ssh::SshTransport;
pub use ssh_config::{SshConfig, SshHostConfig};
pub use staging::is_staging_name;
pub use target::{FtpTarget, FtpTls, LocalTarget, SshTarget, TARGET_HELP, Target, TargetError};
pub use wrap::{Counting, Faulty, Tally, Throttle, Traced};

/// What kind of thing a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A device, socket or pipe.
    Other,
}

/// What [`Transport::stat`] and [`Transport::list`] report about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// File, folder, link or other.
    pub kind: Kind,
    /// Size in bytes (for folders, whatever the server says).
    pub size: u64,
    /// Last modification, when the server tells (FTP: to the minute).
    pub mtime: Option<SystemTime>,
    /// Permission bits (`0o644`), when the server tells.
    pub mode: Option<u32>,
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name within the folder.
    pub name: String,
    /// Its metadata.
    pub meta: Meta,
}

/// Whether [`Transport::write`] may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Fail with [`ErrorKind::AlreadyExists`] if the file exists.
    Create,
    /// Create the file, or replace it atomically, keeping its permission bits.
    Replace,
    /// Create the file where it goes, without a staging copy and a rename (over FTP three
    /// round trips fewer): only for a file that cannot exist yet, in a folder this run has just
    /// made under a random name and that nothing reads until the write is done (the helper's
    /// own files). A write cut short leaves part of the file there.
    InPlace,
}

/// Whether [`Transport::rename`] may replace an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameMode {
    /// Fail with [`ErrorKind::AlreadyExists`] if the destination exists.
    NoReplace,
    /// Replace an existing destination file.
    Replace,
}

/// What a transport can do beyond the contract every transport keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// [`Transport::as_exec`] returns `Some`.
    pub exec: bool,
    /// [`Meta::mode`] is reported and a replaced file keeps its permission bits.
    pub modes: bool,
}

/// The data for [`Transport::write`]: a reader, and its length if known (for the progress
/// bar).
pub struct Upload<'a> {
    reader: Box<dyn Read + 'a>,
    len: Option<u64>,
}

impl<'a> Upload<'a> {
    /// Data read from `reader`; `len` is its length if known. A read error aborts the upload
    /// and leaves the destination as it was.
    pub fn new(reader: impl Read + 'a, len: Option<u64>) -> Self {
        Self {
            reader: Box::new(reader),
            len,
        }
    }

    /// Data already in memory.
    pub fn bytes(data: &'a [u8]) -> Self {
        Self::new(data, Some(data.len() as u64))
    }
}

impl<'a> From<&'a [u8]> for Upload<'a> {
    fn from(data: &'a [u8]) -> Self {
        Self::bytes(data)
    }
}

/// Output of a command run with [`Exec::exec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Everything the command wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the command wrote to stderr.
    pub stderr: Vec<u8>,
    /// Exit status; `None` if it was killed by a signal.
    pub status: Option<i32>,
}

/// Remote files, the same over every protocol. See the [module docs](self) for the contract.
///
/// Methods take `&mut self`: each transport holds one connection, and FTP can only do one
/// thing at a time on it. `Send`, so a run may hand its connection to another thread.
pub trait Transport: std::fmt::Debug + Send {
    /// The target as `scheme://user@host:port` (never with a password), for messages.
    fn origin(&self) -> &str;

    /// The site folder as the server spells it (e.g. `/home/user/public_html`).
    fn root(&self) -> &str;

    /// What this transport can do beyond the common contract.
    fn capabilities(&self) -> Capabilities;

    /// The entries of folder `dir`, sorted by name, without `.` and `..`.
    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>>;

    /// Metadata of `path` (links not followed), or `None` if nothing is there.
    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>>;

    /// Copies file `path` into `sink`; returns the number of bytes.
    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64>;

    /// Writes file `path` atomically (see the module docs).
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()>;

    /// Writes each of `files` with [`WriteMode::InPlace`], in a folder this run has just made
    /// under a name nobody else knows; stops at the first failure. A transport with several
    /// connections (FTP) writes them side by side.
    fn write_new_files(&mut self, files: &[(RemotePath, &[u8])]) -> Result<()> {
        for (path, data) in files {
            self.write(path, Upload::bytes(data), WriteMode::InPlace)?;
        }
        Ok(())
    }

    /// [`Transport::remove`] on each of `paths`, each result in order. A transport with
    /// several connections (FTP) removes them side by side.
    fn remove_each(&mut self, paths: &[RemotePath]) -> Vec<Result<()>> {
        paths.iter().map(|path| self.remove(path)).collect()
    }

    /// Renames `from` to `to`, both below the site root.
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()>;

    /// Creates folder `path`; its parent must exist.
    fn mkdir(&mut self, path: &RemotePath) -> Result<()>;

    /// Removes a file, a symbolic link or an empty folder.
    fn remove(&mut self, path: &RemotePath) -> Result<()>;

    /// Command execution, for transports that have it (see [`Capabilities::exec`]).
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        None
    }

    /// [`Transport::as_exec`], for commands that change none of the site's files (they read,
    /// or work on the database, or write only a folder of wprescue's own that nothing looks
    /// up): a [`Cached`] transport keeps what it knows of the files across them.
    fn as_exec_leaving_files(&mut self) -> Option<&mut dyn Exec> {
        self.as_exec()
    }

    /// Fetches the folders and files `wanted` names in one request where the transport can
    /// (a shell over SSH), so that a [`Cached`] transport answers later calls about them from
    /// memory. `None` where the transport can do no better than one call per path; what the
    /// snapshot lacks is simply asked for later.
    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        let _ = wanted;
        Ok(None)
    }
}

/// Running commands on the server, in the site folder.
pub trait Exec {
    /// Runs `command` through the account's shell, in the site folder, with an empty stdin,
    /// and waits for it. A non-zero exit status is not an error: it is in
    /// [`ExecOutput::status`].
    fn exec(&mut self, command: &str) -> Result<ExecOutput> {
        self.exec_with_input(command, &[])
    }

    /// [`Exec::exec`] with `input` on the command's stdin, then end-of-file. The input is
    /// fed while the output is read, so neither side can stall the other; a command that
    /// exits without reading all of it is not an error. Data that must stay out of the
    /// command line (where `ps` and shell histories show it) goes here.
    fn exec_with_input(&mut self, command: &str, input: &[u8]) -> Result<ExecOutput>;

    /// Starts `command` in the site folder with `preamble` on its stdin, and keeps it running
    /// for [`Conversation::ask`]: each request then costs one round trip instead of a new
    /// command's four or five. `None` where a command cannot be kept running (then run one
    /// per request). The command's stdin is closed when the conversation is dropped.
    fn converse(
        &mut self,
        command: &str,
        preamble: &[u8],
    ) -> Result<Option<Box<dyn Conversation>>> {
        let _ = (command, preamble);
        Ok(None)
    }
}

/// A command kept running by [`Exec::converse`]: one line in, one line out.
pub trait Conversation {
    /// Writes `line` and a newline to the command's stdin, and returns the next line it
    /// prints on stdout, without its newline. `line` must hold no newline.
    fn ask(&mut self, line: &[u8]) -> Result<Vec<u8>>;
}

/// The most [`TransportExt::read_to_vec`] reads of any file: far above any file wprescue
/// edits, far below what would exhaust this machine.
pub const READ_LIMIT: u64 = 64 << 20;

/// A sink that takes at most `limit` bytes, and says when more came.
struct Bounded {
    data: Vec<u8>,
    limit: u64,
    over: bool,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.data.len() as u64 + buf.len() as u64 > self.limit {
            self.over = true;
            return Err(std::io::Error::other("the file is larger than its limit"));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Conveniences built on [`Transport`], for every transport alike.
pub trait TransportExt: Transport {
    /// The whole file `path`, up to [`READ_LIMIT`] bytes.
    fn read_to_vec(&mut self, path: &RemotePath) -> Result<Vec<u8>> {
        self.read_at_most(path, READ_LIMIT)
    }

    /// The whole file `path`, if it holds at most `limit` bytes; else
    /// [`ErrorKind::TooLarge`], having read no more than that: a file that never ends (a
    /// device, a pipe, a hostile server) costs nothing but the limit.
    fn read_at_most(&mut self, path: &RemotePath, limit: u64) -> Result<Vec<u8>> {
        let mut sink = Bounded {
            data: Vec::new(),
            limit,
            over: false,
        };
        let read = self.read(path, &mut sink);
        if sink.over {
            return Err(
                Error::new(ErrorKind::TooLarge { limit }, Op::Read, self.origin())
                    .with_path(path.under(self.root())),
            );
        }
        read?;
        Ok(sink.data)
    }

    /// [`Transport::write`] from memory.
    fn write_bytes(&mut self, path: &RemotePath, data: &[u8], mode: WriteMode) -> Result<()> {
        self.write(path, Upload::bytes(data), mode)
    }

    /// Whether anything is at `path`.
    fn exists(&mut self, path: &RemotePath) -> Result<bool> {
        Ok(self.stat(path)?.is_some())
    }

    /// Creates folder `path` and any missing parents; fine if it exists already.
    fn mkdir_all(&mut self, path: &RemotePath) -> Result<()> {
        if path.is_root() {
            return Ok(());
        }
        match self.stat(path)? {
            Some(Meta {
                kind: Kind::Dir, ..
            }) => return Ok(()),
            Some(_) => {
                return Err(
                    Error::new(ErrorKind::NotADirectory, Op::Mkdir, self.origin())
                        .with_path(path.under(self.root())),
                );
            }
            None => {}
        }
        if let Some(parent) = path.parent() {
            self.mkdir_all(&parent)?;
        }
        match self.mkdir(path) {
            // Someone else created it in between: that is what we wanted.
            Err(e) if *e.kind() == ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }

    /// Runs `command` in the site folder; [`ErrorKind::Unsupported`] where the transport
    /// cannot run commands.
    fn run(&mut self, command: &str) -> Result<ExecOutput> {
        let origin = self.origin().to_owned();
        match self.as_exec() {
            Some(exec) => exec.exec(command),
            None => Err(Error::new(
                ErrorKind::Unsupported {
                    what: "running commands".into(),
                },
                Op::Exec,
                origin,
            )
            .with_path(command)),
        }
    }

    /// Removes `path` and, if it is a folder, everything in it.
    fn remove_all(&mut self, path: &RemotePath) -> Result<()> {
        if let Some(Meta {
            kind: Kind::Dir, ..
        }) = self.stat(path)?
        {
            for entry in self.list(path)? {
                let child = path.join(&entry.name).map_err(|e| {
                    Error::new(
                        ErrorKind::Protocol {
                            message: e.to_string(),
                        },
                        Op::Remove,
                        self.origin(),
                    )
                })?;
                self.remove_all(&child)?;
            }
        }
        self.remove(path)
    }
}

impl<T: Transport + ?Sized> TransportExt for T {}

/// Opens one connection to `target`, to be kept for the whole run. Secrets are asked of
/// `credentials` only when a server wants them.
pub fn connect(
    target: &Target,
    options: &ConnectOptions,
    credentials: &mut Credentials,
) -> Result<Box<dyn Transport>> {
    Ok(match target {
        Target::Ssh(ssh) => Box::new(SshTransport::connect(ssh, options, credentials)?),
        Target::Ftp(ftp) => Box::new(FtpTransport::connect(ftp, options, credentials)?),
        Target::Local(local) => Box::new(LocalTransport::open(&local.root, options)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_stops_at_its_limit() {
        let mut t = MemoryTransport::new();
        let file = RemotePath::new("version.php").unwrap();
        t.write_bytes(&file, &[b'x'; 100], WriteMode::Create)
            .unwrap();
        assert_eq!(t.read_at_most(&file, 100).unwrap().len(), 100);
        let err = t.read_at_most(&file, 99).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TooLarge { limit: 99 });
        assert!(err.to_string().contains("version.php"), "{err}");
        assert!(err.hint().is_some());
    }
}
