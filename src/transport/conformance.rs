//! The contract of [`Transport`], as plain functions every implementation is run through.
//!
//! The memory and local transports call them from their unit tests; `tests/transport.rs`
//! calls the same list against the sandbox's sshd, FTP and FTPS servers. The file is compiled
//! only for tests: into the library's unit tests, and into the integration tests by path. Each function works
//! in a fresh subfolder of the `dir` it is given, asserts error *kinds* (never protocol
//! details), removes its subfolder at the end, and panics on the first broken promise.
//! Capabilities are passed in by the test, not read from the transport, so a transport that
//! under-reports cannot skip its own checks.

use std::io::{self, Read};
use std::mem::discriminant;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

// `crate::transport` is the library's transport module here, and in the integration tests
// (which compile this file through a `#[path]` module) a module that re-exports it.
use crate::transport::{
    Capabilities, Entry, Error, ErrorKind, Kind, Op, Prefetch, RemotePath, RenameMode, Result,
    Transport, TransportExt, Upload, WriteMode, is_staging_name,
};

/// Runs every check that needs nothing but an empty folder `dir` and a second connection
/// (`observer`) to the same site.
pub fn run_all(
    t: &mut dyn Transport,
    observer: &mut dyn Transport,
    caps: &Capabilities,
    dir: &RemotePath,
) {
    capabilities_match(t, caps);
    write_read_stat_list(t, caps, dir);
    write_and_remove_several(t, caps, dir);
    prefetch_agrees_with_list_and_read(t, dir);
    write_create_refuses_existing(t, dir);
    write_is_atomic(t, observer, dir);
    interrupted_write_leaves_original(t, observer, dir);
    rename_refuses_clobber(t, dir);
    mkdir_and_remove(t, dir);
    missing_path_is_not_found(t, dir);
    wrong_kind_is_refused(t, dir);
    names_with_spaces_and_unicode(t, dir);
    exec_runs_commands(t, caps);
    exec_feeds_stdin(t, caps);
}

/// The transport reports exactly the capabilities the test expects.
pub fn capabilities_match(t: &mut dyn Transport, caps: &Capabilities) {
    assert_eq!(t.capabilities(), *caps, "capabilities of {}", t.origin());
}

/// Writing, reading back, stat and listing agree (dotfiles and empty files included).
pub fn write_read_stat_list(t: &mut dyn Transport, caps: &Capabilities, dir: &RemotePath) {
    let sub = fresh(t, dir, "write-read-stat-list");
    let before = SystemTime::now() - Duration::from_secs(120);
    let hello = sub.join("hello.txt").unwrap();
    let dotfile = sub.join(".htaccess").unwrap();
    let empty = sub.join("empty").unwrap();
    let folder = sub.join("folder").unwrap();
    t.write(&hello, Upload::bytes(b"hello\n"), WriteMode::Create)
        .unwrap();
    t.write(
        &dotfile,
        Upload::bytes(b"# BEGIN WordPress\n"),
        WriteMode::Create,
    )
    .unwrap();
    t.write(&empty, Upload::bytes(b""), WriteMode::Create)
        .unwrap();
    t.mkdir(&folder).unwrap();

    assert_eq!(t.read_to_vec(&hello).unwrap(), b"hello\n");
    assert_eq!(t.read_to_vec(&empty).unwrap(), b"");
    let meta = t.stat(&hello).unwrap().expect("hello.txt exists");
    assert_eq!((meta.kind, meta.size), (Kind::File, 6));
    let mtime = meta.mtime.expect("an mtime");
    assert!(
        mtime > before && mtime < SystemTime::now() + Duration::from_secs(120),
        "mtime {mtime:?} is not about now"
    );
    if caps.modes {
        assert_eq!(meta.mode, Some(0o644), "a new file is 0644");
    }
    assert_eq!(t.stat(&folder).unwrap().map(|m| m.kind), Some(Kind::Dir));
    assert_eq!(t.stat(&sub.join("nothing").unwrap()).unwrap(), None);
    assert!(t.exists(&dotfile).unwrap());

    let entries = t.list(&sub).unwrap();
    assert_eq!(
        names(&entries),
        [".htaccess", "empty", "folder", "hello.txt"],
        "sorted, with dotfiles, without . and .."
    );
    let listed = entries.iter().find(|e| e.name == "hello.txt").unwrap();
    assert_eq!((listed.meta.kind, listed.meta.size), (Kind::File, 6));
    assert_eq!(entries[2].meta.kind, Kind::Dir);
    if caps.modes {
        assert_eq!(listed.meta.mode, Some(0o644));
    }

    t.write(&hello, Upload::bytes(b"replaced\n"), WriteMode::Replace)
        .unwrap();
    assert_eq!(t.read_to_vec(&hello).unwrap(), b"replaced\n");
    assert_eq!(t.stat(&hello).unwrap().unwrap().size, 9);

    // In place, in a new folder: the same bytes and mode, and nothing else left there.
    let in_place = folder.join("helper.php").unwrap();
    t.write(&in_place, Upload::bytes(b"<?php\n"), WriteMode::InPlace)
        .unwrap();
    assert_eq!(t.read_to_vec(&in_place).unwrap(), b"<?php\n");
    assert_eq!(names(&t.list(&folder).unwrap()), ["helper.php"]);
    if caps.modes {
        assert_eq!(t.stat(&in_place).unwrap().unwrap().mode, Some(0o644));
    }
    finish(t, &sub);
}

/// Several new files written at once, and removed at once, each as alone.
pub fn write_and_remove_several(t: &mut dyn Transport, caps: &Capabilities, dir: &RemotePath) {
    let sub = fresh(t, dir, "several");
    let names = ["a.php", ".htaccess", ".user.ini", "d", "e"];
    let files: Vec<(RemotePath, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (sub.join(name).unwrap(), pattern(100 + i, i as u64)))
        .collect();
    let borrowed: Vec<(RemotePath, &[u8])> = files
        .iter()
        .map(|(p, d)| (p.clone(), d.as_slice()))
        .collect();
    t.write_new_files(&borrowed).unwrap();
    for (path, data) in &files {
        assert_eq!(&t.read_to_vec(path).unwrap(), data, "{path}");
        if caps.modes {
            assert_eq!(t.stat(path).unwrap().unwrap().mode, Some(0o644), "{path}");
        }
    }
    let mut paths: Vec<RemotePath> = files.into_iter().map(|(p, _)| p).collect();
    paths.insert(2, sub.join("never-there").unwrap());
    let removed = t.remove_each(&paths);
    assert_eq!(removed.len(), paths.len(), "one result per path");
    for (path, result) in paths.iter().zip(removed) {
        match path.file_name() {
            Some("never-there") => {
                expect_kind(result, ErrorKind::NotFound, "removing a missing file");
            }
            _ => result.unwrap(),
        }
    }
    assert!(t.list(&sub).unwrap().is_empty());
    finish(t, &sub);
}

/// What a prefetch brings back is what `list` and `read` say; `*` skips dot folders and
/// files over the size limit are left out. Transports that cannot prefetch say so (`None`).
pub fn prefetch_agrees_with_list_and_read(t: &mut dyn Transport, dir: &RemotePath) {
    const FOLDERS: [&str; 6] = [".", "*", "*/*", "*/*/*", "*/*/*/*", "*/*/*/*/*"];
    let sub = fresh(t, dir, "prefetch");
    let (small, big) = (sub.join("small.txt").unwrap(), sub.join("big.txt").unwrap());
    let (inner, hidden) = (sub.join("inner").unwrap(), sub.join(".hidden").unwrap());
    t.write_bytes(&small, b"small", WriteMode::Create).unwrap();
    t.write_bytes(&big, &[b'x'; 65], WriteMode::Create).unwrap();
    t.mkdir(&inner).unwrap();
    t.mkdir(&hidden).unwrap();
    // `sub` and the folders in it, and the files in `sub`: patterns as deep as it is.
    let depth = sub.as_str().split('/').count();
    assert!(depth < FOLDERS.len() - 1, "the test folder is too deep");
    let wanted = Prefetch::new(&FOLDERS[..depth + 2], &[FOLDERS[depth + 1]], 64);
    let Some(snapshot) = t.prefetch(&wanted).unwrap() else {
        return finish(t, &sub);
    };
    let listed: Vec<&RemotePath> = snapshot
        .listings
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.as_str().starts_with(sub.as_str()))
        .collect();
    assert_eq!(listed, [&sub, &inner], "no dot folder for `*`");
    for (folder, entries) in snapshot
        .listings
        .iter()
        .filter(|(p, _)| listed.contains(&p))
    {
        let kinds = |e: &[Entry]| {
            e.iter()
                .map(|e| (e.name.clone(), e.meta.kind))
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(entries), kinds(&t.list(folder).unwrap()), "{folder}");
    }
    let fetched: Vec<_> = snapshot
        .files
        .iter()
        .filter(|(p, _)| p.as_str().starts_with(sub.as_str()))
        .collect();
    assert_eq!(
        fetched,
        [&(small, b"small".to_vec())],
        "big.txt is over the limit"
    );
    finish(t, &sub);
}

/// [`WriteMode::Create`] never replaces.
pub fn write_create_refuses_existing(t: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "write-create");
    let file = sub.join("wp-config.php").unwrap();
    t.write_bytes(&file, b"original", WriteMode::Create)
        .unwrap();
    let e = expect_kind(
        t.write_bytes(&file, b"other", WriteMode::Create),
        ErrorKind::AlreadyExists,
        "Create over an existing file",
    );
    assert_eq!(e.op(), Op::Write);
    assert_eq!(t.read_to_vec(&file).unwrap(), b"original");
    assert_no_staging_left(t, &sub);
    finish(t, &sub);
}

/// A replaced file keeps its permission bits. `file` must exist with mode `mode` (set up by
/// the caller: this interface has no chmod).
pub fn write_replace_keeps_mode(t: &mut dyn Transport, file: &RemotePath, mode: u32) {
    assert_eq!(
        t.stat(file).unwrap().unwrap().mode,
        Some(mode),
        "test setup"
    );
    t.write_bytes(file, b"new contents\n", WriteMode::Replace)
        .unwrap();
    assert_eq!(t.read_to_vec(file).unwrap(), b"new contents\n");
    assert_eq!(t.stat(file).unwrap().unwrap().mode, Some(mode), "mode kept");
}

/// While an upload is running, another connection sees the old file under the real name,
/// whole; afterwards it sees the new one, and no staging file is left.
pub fn write_is_atomic(t: &mut dyn Transport, observer: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "write-atomic");
    let file = sub.join("index.php").unwrap();
    let old = b"<?php // old\n".to_vec();
    t.write_bytes(&file, &old, WriteMode::Create).unwrap();
    let new = pattern(3 * 1024 * 1024 + 17, 1);
    let mut seen = None;
    let reader = Watching {
        data: &new,
        pos: 0,
        fail_at: None,
        observer: &mut *observer,
        file: &file,
        seen: &mut seen,
    };
    t.write(
        &file,
        Upload::new(reader, Some(new.len() as u64)),
        WriteMode::Replace,
    )
    .unwrap();
    let (during, size_during) = seen.expect("the observer looked during the upload");
    assert_eq!(
        during, old,
        "mid-upload, the real name still holds the old file"
    );
    assert_eq!(size_during, old.len() as u64);
    assert!(t.read_to_vec(&file).unwrap() == new, "after: the new file");
    assert!(
        observer.read_to_vec(&file).unwrap() == new,
        "after, seen from the other connection"
    );
    assert_no_staging_left(t, &sub);
    finish(t, &sub);
}

/// An upload that breaks off (here: its data source fails half-way) leaves the old file
/// intact, no staging file behind, and the connection usable.
pub fn interrupted_write_leaves_original(
    t: &mut dyn Transport,
    observer: &mut dyn Transport,
    dir: &RemotePath,
) {
    let sub = fresh(t, dir, "write-interrupted");
    let file = sub.join(".htaccess").unwrap();
    let old = b"# BEGIN WordPress\n".to_vec();
    t.write_bytes(&file, &old, WriteMode::Create).unwrap();
    let new = pattern(2 * 1024 * 1024, 2);
    let mut seen = None;
    let reader = Watching {
        data: &new,
        pos: 0,
        fail_at: Some(new.len() / 2),
        observer: &mut *observer,
        file: &file,
        seen: &mut seen,
    };
    let e = expect_kind(
        t.write(
            &file,
            Upload::new(reader, Some(new.len() as u64)),
            WriteMode::Replace,
        ),
        ErrorKind::LocalIo,
        "upload whose source fails",
    );
    assert!(e.path().unwrap().ends_with(".htaccess"), "{e}");
    assert_eq!(t.read_to_vec(&file).unwrap(), old, "original intact");
    assert_eq!(
        observer.read_to_vec(&file).unwrap(),
        old,
        "intact for others"
    );

    let fresh_file = sub.join("new.txt").unwrap();
    let mut failing = Watching {
        data: &new,
        pos: 0,
        fail_at: Some(1000),
        observer: &mut *observer,
        file: &file,
        seen: &mut None,
    };
    expect_kind(
        t.write(
            &fresh_file,
            Upload::new(&mut failing, None),
            WriteMode::Create,
        ),
        ErrorKind::LocalIo,
        "new file whose source fails",
    );
    assert_eq!(
        t.stat(&fresh_file).unwrap(),
        None,
        "no half-written new file"
    );
    assert_no_staging_left(t, &sub);
    finish(t, &sub);
}

/// Rename refuses to overwrite unless asked, moves folders with their contents, and reports
/// a missing source or destination folder.
pub fn rename_refuses_clobber(t: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "rename");
    let a = sub.join("a.txt").unwrap();
    let b = sub.join("b.txt").unwrap();
    t.write_bytes(&a, b"A", WriteMode::Create).unwrap();
    t.write_bytes(&b, b"B", WriteMode::Create).unwrap();
    let e = expect_kind(
        t.rename(&a, &b, RenameMode::NoReplace),
        ErrorKind::AlreadyExists,
        "rename over an existing file",
    );
    assert_eq!(e.op(), Op::Rename);
    assert_eq!(t.read_to_vec(&a).unwrap(), b"A");
    assert_eq!(t.read_to_vec(&b).unwrap(), b"B");

    t.rename(&a, &b, RenameMode::Replace).unwrap();
    assert_eq!(t.read_to_vec(&b).unwrap(), b"A");
    assert_eq!(t.stat(&a).unwrap(), None);

    let plugin = sub.join("wordfence").unwrap();
    t.mkdir(&plugin).unwrap();
    t.write_bytes(
        &plugin.join("wordfence.php").unwrap(),
        b"<?php",
        WriteMode::Create,
    )
    .unwrap();
    let parked = sub.join("wordfence.off").unwrap();
    t.rename(&plugin, &parked, RenameMode::NoReplace).unwrap();
    assert_eq!(t.stat(&plugin).unwrap(), None);
    assert_eq!(
        t.read_to_vec(&parked.join("wordfence.php").unwrap())
            .unwrap(),
        b"<?php"
    );

    expect_kind(
        t.rename(&a, &sub.join("c.txt").unwrap(), RenameMode::NoReplace),
        ErrorKind::NotFound,
        "rename a missing file",
    );
    expect_kind(
        t.rename(
            &b,
            &sub.join("no-such-dir").unwrap().join("b.txt").unwrap(),
            RenameMode::NoReplace,
        ),
        ErrorKind::NotFound,
        "rename into a missing folder",
    );
    assert_eq!(t.read_to_vec(&b).unwrap(), b"A");
    finish(t, &sub);
}

/// mkdir refuses an existing path; remove takes files and empty folders only.
pub fn mkdir_and_remove(t: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "mkdir-remove");
    let folder = sub.join("uploads").unwrap();
    let file = folder.join("photo.jpg").unwrap();
    t.mkdir(&folder).unwrap();
    expect_kind(t.mkdir(&folder), ErrorKind::AlreadyExists, "mkdir twice");
    t.write_bytes(&file, b"jpeg", WriteMode::Create).unwrap();
    expect_kind(
        t.mkdir(&file),
        ErrorKind::AlreadyExists,
        "mkdir over a file",
    );
    expect_kind(
        t.remove(&folder),
        ErrorKind::NotEmpty,
        "remove a full folder",
    );
    t.remove(&file).unwrap();
    assert_eq!(t.stat(&file).unwrap(), None);
    t.remove(&folder).unwrap();
    assert_eq!(t.stat(&folder).unwrap(), None);
    let deep = sub.join("a").unwrap().join("b").unwrap().join("c").unwrap();
    t.mkdir_all(&deep).unwrap();
    t.mkdir_all(&deep).unwrap();
    assert_eq!(t.stat(&deep).unwrap().map(|m| m.kind), Some(Kind::Dir));
    finish(t, &sub);
}

/// Every operation on a missing path says NotFound and names the path.
pub fn missing_path_is_not_found(t: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "missing");
    let missing = sub.join("missing.txt").unwrap();
    let in_missing = sub.join("no-such-dir").unwrap().join("x.txt").unwrap();
    assert_eq!(t.stat(&missing).unwrap(), None);
    assert_eq!(t.stat(&in_missing).unwrap(), None);
    let e = expect_kind(t.read_to_vec(&missing), ErrorKind::NotFound, "read");
    assert_eq!(e.op(), Op::Read);
    assert!(e.path().unwrap().ends_with("missing.txt"), "{e}");
    assert!(e.to_string().contains(t.origin()), "{e}");
    expect_kind(t.list(&missing), ErrorKind::NotFound, "list");
    expect_kind(t.remove(&missing), ErrorKind::NotFound, "remove");
    expect_kind(
        t.write_bytes(&in_missing, b"x", WriteMode::Create),
        ErrorKind::NotFound,
        "write into a missing folder",
    );
    expect_kind(
        t.mkdir(&in_missing),
        ErrorKind::NotFound,
        "mkdir in a missing folder",
    );
    finish(t, &sub);
}

/// File operations refuse folders and folder operations refuse files.
pub fn wrong_kind_is_refused(t: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "wrong-kind");
    let file = sub.join("file.txt").unwrap();
    let folder = sub.join("folder").unwrap();
    t.write_bytes(&file, b"x", WriteMode::Create).unwrap();
    t.mkdir(&folder).unwrap();
    expect_kind(
        t.read_to_vec(&folder),
        ErrorKind::IsADirectory,
        "read a folder",
    );
    expect_kind(
        t.write_bytes(&folder, b"x", WriteMode::Replace),
        ErrorKind::IsADirectory,
        "write over a folder",
    );
    expect_kind(t.list(&file), ErrorKind::NotADirectory, "list a file");
    assert_eq!(t.stat(&folder).unwrap().map(|m| m.kind), Some(Kind::Dir));
    finish(t, &sub);
}

/// Names with spaces (even two in a row) and non-ASCII characters survive every operation.
pub fn names_with_spaces_and_unicode(t: &mut dyn Transport, dir: &RemotePath) {
    let sub = fresh(t, dir, "names");
    let folder = sub.join("dir with space").unwrap();
    let spaced = folder.join("two  spaces.txt").unwrap();
    let unicode = folder.join("ünïcødé – 日本語.txt").unwrap();
    let renamed = folder.join("Ελληνικά ok.php").unwrap();
    t.mkdir(&folder).unwrap();
    t.write_bytes(&spaced, b"spaces", WriteMode::Create)
        .unwrap();
    t.write_bytes(&unicode, "ünï".as_bytes(), WriteMode::Create)
        .unwrap();
    assert_eq!(
        names(&t.list(&folder).unwrap()),
        ["two  spaces.txt", "ünïcødé – 日本語.txt"]
    );
    assert_eq!(t.read_to_vec(&spaced).unwrap(), b"spaces");
    assert_eq!(t.stat(&unicode).unwrap().unwrap().size, "ünï".len() as u64);
    t.rename(&unicode, &renamed, RenameMode::NoReplace).unwrap();
    assert_eq!(t.read_to_vec(&renamed).unwrap(), "ünï".as_bytes());
    t.write_bytes(&renamed, b"again", WriteMode::Replace)
        .unwrap();
    assert_eq!(t.read_to_vec(&renamed).unwrap(), b"again");
    t.remove(&spaced).unwrap();
    t.remove(&renamed).unwrap();
    assert!(t.list(&folder).unwrap().is_empty());
    finish(t, &sub);
}

/// Commands run in the site folder and report stdout, stderr and status separately, even
/// when stderr is larger than any SSH window; transports without exec say so.
pub fn exec_runs_commands(t: &mut dyn Transport, caps: &Capabilities) {
    let root = t.root().to_owned();
    let Some(exec) = t.as_exec() else {
        assert!(
            !caps.exec,
            "capabilities promise exec, but as_exec() is None"
        );
        return;
    };
    assert!(caps.exec, "as_exec() is Some, but capabilities deny exec");
    let out = exec
        .exec("printf 'out\\n'; printf 'err\\n' >&2; pwd; exit 3")
        .unwrap();
    assert_eq!(out.stdout, format!("out\n{root}\n").into_bytes());
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status, Some(3));
    // 3 MB on stderr before anything on stdout: more than an SSH channel window holds.
    let out = exec
        .exec("head -c 3000000 /dev/zero | tr '\\0' e >&2; echo done")
        .unwrap();
    assert_eq!(out.stdout, b"done\n");
    assert_eq!(out.stderr.len(), 3_000_000);
    assert_eq!(out.status, Some(0));
}

/// Input reaches the command's stdin, then end-of-file: more than an SSH channel window holds,
/// echoed back while it is still arriving; a command that never reads it still finishes; and
/// plain `exec` gives an empty stdin.
pub fn exec_feeds_stdin(t: &mut dyn Transport, caps: &Capabilities) {
    let Some(exec) = t.as_exec() else {
        assert!(
            !caps.exec,
            "capabilities promise exec, but as_exec() is None"
        );
        return;
    };
    let input: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = exec.exec_with_input("cat; echo end >&2", &input).unwrap();
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input, "stdin came back altered");
    assert_eq!(out.stderr, b"end\n");
    assert_eq!(out.status, Some(0));
    let out = exec.exec_with_input("echo ignored", &input).unwrap();
    assert_eq!((out.stdout, out.status), (b"ignored\n".to_vec(), Some(0)));
    let out = exec.exec("wc -c").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

/// Permission checks: `unreadable` cannot be read; `readonly_file` can be read but neither
/// replaced, renamed nor removed; nothing can be created in `readonly_dir`. All fail with
/// PermissionDenied and change nothing.
pub fn permission_denied(
    t: &mut dyn Transport,
    readonly_dir: &RemotePath,
    readonly_file: &RemotePath,
    unreadable: &RemotePath,
) {
    let e = expect_kind(
        t.read_to_vec(unreadable),
        ErrorKind::PermissionDenied,
        "read",
    );
    assert!(e.path().is_some() && e.hint().is_some(), "{e}");
    let before = t.read_to_vec(readonly_file).expect("readable");
    let new_file = readonly_dir.join("new.txt").unwrap();
    let denied = ErrorKind::PermissionDenied;
    expect_kind(
        t.write_bytes(readonly_file, b"x", WriteMode::Replace),
        denied.clone(),
        "replace a read-only file",
    );
    expect_kind(
        t.write_bytes(&new_file, b"x", WriteMode::Create),
        denied.clone(),
        "create in a read-only folder",
    );
    expect_kind(
        t.mkdir(&readonly_dir.join("sub").unwrap()),
        denied.clone(),
        "mkdir in a read-only folder",
    );
    expect_kind(
        t.remove(readonly_file),
        denied.clone(),
        "remove a read-only file",
    );
    expect_kind(
        t.rename(readonly_file, &new_file, RenameMode::NoReplace),
        denied,
        "rename in a read-only folder",
    );
    assert_eq!(t.read_to_vec(readonly_file).unwrap(), before, "unchanged");
    assert_eq!(t.stat(&new_file).unwrap(), None);
    assert_no_staging_left(t, readonly_dir);
}

/// Times for one upload and download of the same data.
#[derive(Debug, Clone, Copy)]
pub struct RoundTrip {
    /// Bytes each way.
    pub bytes: u64,
    /// Upload time.
    pub upload: Duration,
    /// Download time.
    pub download: Duration,
}

impl RoundTrip {
    /// Upload throughput in MB/s (10^6 bytes).
    pub fn upload_mb_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.upload.as_secs_f64()
    }

    /// Download throughput in MB/s (10^6 bytes).
    pub fn download_mb_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.download.as_secs_f64()
    }

    /// Whole round trip in MB/s: twice the bytes over the sum of both times.
    pub fn round_trip_mb_s(&self) -> f64 {
        2.0 * self.bytes as f64 / 1e6 / (self.upload + self.download).as_secs_f64()
    }
}

/// Uploads `size` bytes of binary data (every byte value, no line structure to "fix"),
/// downloads them again and compares SHA-256 digests.
pub fn round_trip_sha256(t: &mut dyn Transport, dir: &RemotePath, size: usize) -> RoundTrip {
    let sub = fresh(t, dir, "round-trip");
    let file = sub.join("big file.bin").unwrap();
    let data = pattern(size, 3);
    let sent = Sha256::digest(&data);
    let start = Instant::now();
    t.write_bytes(&file, &data, WriteMode::Create).unwrap();
    let upload = start.elapsed();
    drop(data);
    assert_eq!(t.stat(&file).unwrap().unwrap().size, size as u64);
    // Into memory, and hashed afterwards: the digest must not slow the measured download.
    let mut copy = Vec::with_capacity(size);
    let start = Instant::now();
    let got = t.read(&file, &mut copy).unwrap();
    let download = start.elapsed();
    assert_eq!(got, size as u64);
    assert_eq!(
        Sha256::digest(&copy),
        sent,
        "SHA-256 of the downloaded copy"
    );
    finish(t, &sub);
    RoundTrip {
        bytes: size as u64,
        upload,
        download,
    }
}

/// An upload source that, once the upload is under way, looks at the destination through
/// another connection, and can fail part-way to simulate a broken-off upload.
struct Watching<'a> {
    data: &'a [u8],
    pos: usize,
    fail_at: Option<usize>,
    observer: &'a mut dyn Transport,
    file: &'a RemotePath,
    seen: &'a mut Option<(Vec<u8>, u64)>,
}

impl Read for Watching<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos > 0 && self.seen.is_none() {
            let bytes = self
                .observer
                .read_to_vec(self.file)
                .map_err(io::Error::other)?;
            let size = self
                .observer
                .stat(self.file)
                .map_err(io::Error::other)?
                .map_or(0, |m| m.size);
            *self.seen = Some((bytes, size));
        }
        if self.fail_at.is_some_and(|at| self.pos >= at) {
            return Err(io::Error::other("upload source failed (simulated)"));
        }
        let end = self.data.len().min(self.pos + buf.len().min(64 * 1024));
        let n = end - self.pos;
        buf[..n].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(n)
    }
}

/// Deterministic bytes covering every value, different per `seed`.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    (0..len)
        .map(|_| {
            // xorshift64: cheap, and not compressible by the SSH layer.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

fn expect_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected {kind:?}, got Ok({value:?})"),
        Err(e) => {
            assert_eq!(
                discriminant(e.kind()),
                discriminant(&kind),
                "{what}: expected {kind:?}, got {:?} ({e})",
                e.kind()
            );
            e
        }
    }
}

fn assert_no_staging_left(t: &mut dyn Transport, dir: &RemotePath) {
    let left: Vec<String> = t
        .list(dir)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .filter(|n| is_staging_name(n))
        .collect();
    assert!(left.is_empty(), "staging files left in {dir}: {left:?}");
}

/// A new, empty subfolder `name` of `dir` (whatever an earlier failed run left is removed).
fn fresh(t: &mut dyn Transport, dir: &RemotePath, name: &str) -> RemotePath {
    let sub = dir.join(name).unwrap();
    if t.exists(&sub).unwrap() {
        t.remove_all(&sub).unwrap();
    }
    t.mkdir(&sub).unwrap();
    sub
}

fn finish(t: &mut dyn Transport, sub: &RemotePath) {
    t.remove_all(sub).unwrap();
}
