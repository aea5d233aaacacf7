//! [`LocalTransport`]: the site on this machine, for running wprescue on the server itself.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use super::progress::{CopyError, Progress};
use super::staging::{Staging, write_atomically};
use super::{
    Capabilities, ConnectOptions, Entry, Error, ErrorKind, Exec, ExecOutput, Kind, Meta, Op,
    Prefetch, RemotePath, RenameMode, Result, Snapshot, Transport, Upload, WriteMode, gather,
};

const ORIGIN: &str = "file://localhost";

/// A site folder on the local file system.
///
/// Where it differs: `rename` without replace links the new name first and then unlinks the
/// old one (as OpenSSH's sftp-server does), which is atomic for files; folders are checked,
/// then renamed. Names that are not UTF-8 are listed lossily. Commands run with `sh -c`.
#[derive(Debug)]
pub struct LocalTransport {
    root: PathBuf,
    root_str: String,
    progress: bool,
}

impl LocalTransport {
    /// Opens the site folder `root`.
    pub fn open(root: &Path, options: &ConnectOptions) -> Result<Self> {
        let fail = |kind, e: Option<io::Error>| {
            let err = Error::new(kind, Op::OpenSite, ORIGIN).with_path(root.display().to_string());
            match e {
                Some(e) => err.with_source(e),
                None => err,
            }
        };
        // Canonical, so that `pwd` in a command prints exactly `root()`.
        let root = fs::canonicalize(root).map_err(|e| fail(io_kind(&e), Some(e)))?;
        if !root.is_dir() {
            return Err(fail(ErrorKind::NotADirectory, None));
        }
        Ok(Self {
            root_str: root.display().to_string(),
            root,
            progress: options.progress,
        })
    }

    fn abs(&self, path: &RemotePath) -> PathBuf {
        self.root.join(path.as_str())
    }

    fn err(&self, op: Op, path: &RemotePath, e: io::Error) -> Error {
        Error::new(io_kind(&e), op, ORIGIN)
            .with_path(path.under(&self.root_str))
            .with_source(e)
    }

    fn fail(&self, kind: ErrorKind, op: Op, path: &RemotePath) -> Error {
        Error::new(kind, op, ORIGIN).with_path(path.under(&self.root_str))
    }
}

/// The kind for a local I/O error.
fn io_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
        io::ErrorKind::DirectoryNotEmpty => ErrorKind::NotEmpty,
        io::ErrorKind::IsADirectory => ErrorKind::IsADirectory,
        io::ErrorKind::NotADirectory => ErrorKind::NotADirectory,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => ErrorKind::QuotaExceeded,
        _ => ErrorKind::Protocol {
            message: e.to_string(),
        },
    }
}

fn meta(m: &fs::Metadata) -> Meta {
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    Meta {
        kind,
        size: m.len(),
        mtime: m.modified().ok(),
        mode: Some(m.mode() & 0o7777),
    }
}

impl Transport for LocalTransport {
    fn origin(&self) -> &str {
        ORIGIN
    }

    fn root(&self) -> &str {
        &self.root_str
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exec: true,
            modes: true,
        }
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        let err = |e| self.err(Op::List, dir, e);
        let mut entries = Vec::new();
        for item in fs::read_dir(self.abs(dir)).map_err(err)? {
            let item = item.map_err(err)?;
            let m = item.path().symlink_metadata().map_err(err)?;
            entries.push(Entry {
                name: item.file_name().to_string_lossy().into_owned(),
                meta: meta(&m),
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        match self.abs(path).symlink_metadata() {
            Ok(m) => Ok(Some(meta(&m))),
            // Below a file is "nothing there" too, as over SFTP.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.err(Op::Stat, path, e)),
        }
    }

    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        let mut file = File::open(self.abs(path)).map_err(|e| self.err(Op::Read, path, e))?;
        let m = file.metadata().map_err(|e| self.err(Op::Read, path, e))?;
        if m.is_dir() {
            return Err(self.fail(ErrorKind::IsADirectory, Op::Read, path));
        }
        let mut progress = Progress::new(self.progress, format!("read {path}"), Some(m.len()));
        progress.copy(&mut file, sink).map_err(|e| match e {
            CopyError::Source(e) => self.err(Op::Read, path, e),
            CopyError::Sink(e) => self.fail(ErrorKind::LocalIo, Op::Read, path).with_source(e),
        })
    }

    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        write_atomically(self, path, data, mode)
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        let (src, dst) = (self.abs(from), self.abs(to));
        let err = |e| self.err(Op::Rename, from, e);
        let source = src.symlink_metadata().map_err(err)?;
        if mode == RenameMode::Replace {
            return fs::rename(&src, &dst).map_err(err);
        }
        if source.is_dir() {
            // No race-free way for folders without renameat2; check, then rename.
            if dst.symlink_metadata().is_ok() {
                return Err(self.fail(ErrorKind::AlreadyExists, Op::Rename, to));
            }
            return fs::rename(&src, &dst).map_err(err);
        }
        // link(2) refuses an existing destination atomically.
        fs::hard_link(&src, &dst).map_err(|e| self.err(Op::Rename, to, e))?;
        fs::remove_file(&src).map_err(err)
    }

    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        DirBuilder::new()
            .mode(0o755)
            .create(self.abs(path))
            .map_err(|e| self.err(Op::Mkdir, path, e))
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        let abs = self.abs(path);
        let err = |e| self.err(Op::Remove, path, e);
        if abs.symlink_metadata().map_err(err)?.is_dir() {
            fs::remove_dir(&abs).map_err(err)
        } else {
            fs::remove_file(&abs).map_err(err)
        }
    }

    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        Some(self)
    }

    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        gather::by_shell(self, wanted)
    }
}

impl Staging for LocalTransport {
    fn upload_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mut data: Upload<'_>,
        mode: u32,
    ) -> Result<()> {
        let err = |e| self.err(Op::Write, target, e);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(self.abs(staging))
            .map_err(err)?;
        let mut progress = Progress::new(self.progress, format!("write {target}"), data.len);
        progress
            .copy(&mut data.reader, &mut file)
            .map_err(|e| match e {
                CopyError::Source(e) => self
                    .fail(ErrorKind::LocalIo, Op::Write, target)
                    .with_source(e),
                CopyError::Sink(e) => err(e),
            })?;
        // The umask may have narrowed `mode` at creation.
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(err)?;
        // Durable before it becomes visible under the real name.
        file.sync_all().map_err(err)
    }

    fn commit_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mode: WriteMode,
    ) -> Result<()> {
        let (src, dst) = (self.abs(staging), self.abs(target));
        let err = |e| self.err(Op::Write, target, e);
        match mode {
            WriteMode::Replace => fs::rename(&src, &dst).map_err(err),
            WriteMode::Create | WriteMode::InPlace => {
                fs::hard_link(&src, &dst).map_err(err)?;
                fs::remove_file(&src).map_err(err)
            }
        }
    }

    fn discard_staged(&mut self, staging: &RemotePath) {
        let _ = fs::remove_file(self.abs(staging));
    }
}

impl Exec for LocalTransport {
    fn exec_with_input(&mut self, command: &str, input: &[u8]) -> Result<ExecOutput> {
        let err = |e: io::Error| {
            Error::new(io_kind(&e), Op::Exec, ORIGIN)
                .with_path(command)
                .with_source(e)
        };
        let mut sh = Command::new("sh");
        // The command is the site's to run (`php` for the helper): none of wprescue's secrets
        // go with it.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("WPRESCUE_") {
                sh.env_remove(&name);
            }
        }
        let mut child = sh
            .arg("-c")
            .arg(command)
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(err)?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let out = thread::scope(|scope| {
            // Fed from a second thread while this one collects the output: a command that
            // writes before it has read everything would otherwise block both of us.
            scope.spawn(move || {
                // A command that exits early closes its stdin: not our failure.
                let _ = stdin.write_all(input);
            });
            child.wait_with_output()
        })
        .map_err(err)?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            status: out.status.code(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TransportExt, conformance};
    use super::*;

    const CAPS: Capabilities = Capabilities {
        exec: true,
        modes: true,
    };

    fn open(dir: &Path) -> LocalTransport {
        LocalTransport::open(dir, &ConnectOptions::default()).unwrap()
    }

    #[test]
    fn conformance() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut t, mut observer) = (open(tmp.path()), open(tmp.path()));
        conformance::run_all(&mut t, &mut observer, &CAPS, &RemotePath::root());
    }

    #[test]
    fn replace_keeps_mode() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("wp-config.php"), "<?php").unwrap();
        fs::set_permissions(
            tmp.path().join("wp-config.php"),
            Permissions::from_mode(0o640),
        )
        .unwrap();
        let file = RemotePath::new("wp-config.php").unwrap();
        conformance::write_replace_keeps_mode(&mut open(tmp.path()), &file, 0o640);
    }

    #[test]
    fn refuses_to_replace_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("real.php"), "<?php").unwrap();
        std::os::unix::fs::symlink("real.php", tmp.path().join("link.php")).unwrap();
        let mut t = open(tmp.path());
        let link = RemotePath::new("link.php").unwrap();
        assert_eq!(t.stat(&link).unwrap().unwrap().kind, Kind::Symlink);
        let e = t.write_bytes(&link, b"x", WriteMode::Replace).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Unsupported { .. }), "{e}");
        assert_eq!(fs::read(tmp.path().join("real.php")).unwrap(), b"<?php");
    }

    #[test]
    fn missing_root_is_not_found() {
        let e = LocalTransport::open(Path::new("/no/such/site"), &ConnectOptions::default())
            .unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::NotFound);
        assert_eq!(e.op(), Op::OpenSite);
        assert_eq!(e.path(), Some("/no/such/site"));
        assert_eq!(
            e.to_string(),
            "cannot open the site folder /no/such/site on file://localhost: no such file or folder"
        );
    }
}
