//! Transports that wrap another one, for tests and benchmarks: [`Counting`] counts the calls
//! that reach the server (each one at least a round trip), [`Faulty`] drops the connection
//! after a chosen number of changes, and [`Throttle`] adds a fixed delay to every call, as a
//! distant server does. Each is itself a [`Transport`], so it can stand wherever one does,
//! a whole session included.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::Duration;

use super::{
    Capabilities, Entry, Error, ErrorKind, Exec, Meta, Op, Prefetch, RemotePath, RenameMode,
    Result, Snapshot, Transport, Upload, WriteMode,
};

/// How many calls went through a [`Counting`] transport, readable while it is in use
/// elsewhere (it is shared).
#[derive(Debug, Default)]
pub struct Tally {
    reads: AtomicUsize,
    mutations: AtomicUsize,
    execs: AtomicUsize,
}

impl Tally {
    /// Calls that only read: list, stat, read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Calls that change the server: write, rename, mkdir, remove.
    pub fn mutations(&self) -> usize {
        self.mutations.load(Ordering::Relaxed)
    }

    /// Commands run over SSH.
    pub fn execs(&self) -> usize {
        self.execs.load(Ordering::Relaxed)
    }

    fn count(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts the calls made through it to `inner`.
#[derive(Debug)]
pub struct Counting<T> {
    inner: T,
    tally: Arc<Tally>,
}

impl<T: Transport> Counting<T> {
    /// Counts the calls made through it to `inner`.
    pub fn new(inner: T) -> Self {
        Counting {
            inner,
            tally: Arc::default(),
        }
    }

    /// The counts so far, and from now on.
    pub fn tally(&self) -> Arc<Tally> {
        Arc::clone(&self.tally)
    }

    /// Calls that only read.
    pub fn reads(&self) -> usize {
        self.tally.reads()
    }

    /// Calls that changed the server.
    pub fn mutations(&self) -> usize {
        self.tally.mutations()
    }

    /// Commands run.
    pub fn execs(&self) -> usize {
        self.tally.execs()
    }
}

impl<T: Transport> Transport for Counting<T> {
    describe_as_inner!();
    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        Tally::count(&self.tally.reads);
        self.inner.list(dir)
    }
    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        Tally::count(&self.tally.reads);
        self.inner.stat(path)
    }
    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        Tally::count(&self.tally.reads);
        self.inner.read(path, sink)
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        Tally::count(&self.tally.mutations);
        self.inner.write(path, data, mode)
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        Tally::count(&self.tally.mutations);
        self.inner.rename(from, to, mode)
    }
    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        Tally::count(&self.tally.mutations);
        self.inner.mkdir(path)
    }
    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        Tally::count(&self.tally.mutations);
        self.inner.remove(path)
    }
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        Tally::count(&self.tally.execs);
        self.inner.as_exec()
    }
    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        Tally::count(&self.tally.execs);
        self.inner.prefetch(wanted)
    }
}

/// Drops the connection on purpose: the first `changes` mutating calls go through, and from
/// the next one on every call fails as a broken connection does
/// ([`ErrorKind::Disconnected`]), before reaching the server.
#[derive(Debug)]
pub struct Faulty<T> {
    inner: T,
    changes_left: usize,
    dropped: bool,
}

impl<T: Transport> Faulty<T> {
    /// Lets `changes` mutating calls through to `inner`, then fails.
    pub fn new(inner: T, changes: usize) -> Self {
        Faulty {
            inner,
            changes_left: changes,
            dropped: false,
        }
    }

    fn alive(&self, op: Op) -> Result<()> {
        if self.dropped {
            return Err(Error::new(ErrorKind::Disconnected, op, self.inner.origin()));
        }
        Ok(())
    }

    fn change(&mut self, op: Op) -> Result<()> {
        self.alive(op)?;
        if self.changes_left == 0 {
            self.dropped = true;
            return self.alive(op);
        }
        self.changes_left -= 1;
        Ok(())
    }
}

impl<T: Transport> Transport for Faulty<T> {
    describe_as_inner!();
    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        self.alive(Op::List)?;
        self.inner.list(dir)
    }
    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        self.alive(Op::Stat)?;
        self.inner.stat(path)
    }
    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        self.alive(Op::Read)?;
        self.inner.read(path, sink)
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        self.change(Op::Write)?;
        self.inner.write(path, data, mode)
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        self.change(Op::Rename)?;
        self.inner.rename(from, to, mode)
    }
    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        self.change(Op::Mkdir)?;
        self.inner.mkdir(path)
    }
    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        self.change(Op::Remove)?;
        self.inner.remove(path)
    }
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        // Commands may change the server too; a dropped connection runs none.
        if self.dropped {
            return None;
        }
        self.inner.as_exec()
    }
    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        self.alive(Op::Exec)?;
        self.inner.prefetch(wanted)
    }
}

/// Waits `delay` before every call, as a server `delay` away (one round trip) makes it wait:
/// repeatable latency for benchmarks, without touching the network.
#[derive(Debug)]
pub struct Throttle<T> {
    inner: T,
    delay: Duration,
}

impl<T: Transport> Throttle<T> {
    /// Every call through it to `inner` waits `delay` first.
    pub fn new(inner: T, delay: Duration) -> Self {
        Throttle { inner, delay }
    }
}

impl<T: Transport> Transport for Throttle<T> {
    describe_as_inner!();
    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        sleep(self.delay);
        self.inner.list(dir)
    }
    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        sleep(self.delay);
        self.inner.stat(path)
    }
    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        sleep(self.delay);
        self.inner.read(path, sink)
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        sleep(self.delay);
        self.inner.write(path, data, mode)
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        sleep(self.delay);
        self.inner.rename(from, to, mode)
    }
    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        sleep(self.delay);
        self.inner.mkdir(path)
    }
    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        sleep(self.delay);
        self.inner.remove(path)
    }
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        sleep(self.delay);
        self.inner.as_exec()
    }
    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        sleep(self.delay);
        self.inner.prefetch(wanted)
    }
}

/// Every call passed on to `**self`: a pointer to a transport is one.
macro_rules! forward_to_pointee {
    () => {
        fn origin(&self) -> &str {
            (**self).origin()
        }
        fn root(&self) -> &str {
            (**self).root()
        }
        fn capabilities(&self) -> Capabilities {
            (**self).capabilities()
        }
        fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
            (**self).list(dir)
        }
        fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
            (**self).stat(path)
        }
        fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
            (**self).read(path, sink)
        }
        fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
            (**self).write(path, data, mode)
        }
        fn write_new_files(&mut self, files: &[(RemotePath, &[u8])]) -> Result<()> {
            (**self).write_new_files(files)
        }
        fn remove_each(&mut self, paths: &[RemotePath]) -> Vec<Result<()>> {
            (**self).remove_each(paths)
        }
        fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
            (**self).rename(from, to, mode)
        }
        fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
            (**self).mkdir(path)
        }
        fn remove(&mut self, path: &RemotePath) -> Result<()> {
            (**self).remove(path)
        }
        fn as_exec(&mut self) -> Option<&mut dyn Exec> {
            (**self).as_exec()
        }
        fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
            (**self).prefetch(wanted)
        }
    };
}

/// Traces every call on the way to another transport at debug level: the operation, the path,
/// how it ended and how long it took (never the data).
#[derive(Debug)]
pub struct Traced<T> {
    inner: T,
}

impl<T: Transport> Traced<T> {
    /// Traces the calls made through it to `inner`.
    pub fn new(inner: T) -> Self {
        Traced { inner }
    }
}

/// Runs `call` and traces `op` on `path` with its result and duration.
/// `call`, with the debug line [`Traced`] writes for operation `op` on `path`: for requests
/// sent below the wrapper (a walk over several connections).
pub(super) fn traced<R>(
    op: &str,
    path: &RemotePath,
    call: impl FnOnce() -> Result<R>,
) -> Result<R> {
    let start = std::time::Instant::now();
    let result = call();
    log_op(op, path, start, result.as_ref().err());
    result
}

fn log_op(op: &str, path: &RemotePath, start: std::time::Instant, error: Option<&Error>) {
    let ms = start.elapsed().as_millis();
    match error {
        None => tracing::debug!(op, path = path.as_str(), ms, "ok"),
        Some(e) => tracing::debug!(op, path = path.as_str(), ms, error = %e.kind(), "failed"),
    }
}

impl<T: Transport> Transport for Traced<T> {
    describe_as_inner!();
    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        traced("list", dir, || self.inner.list(dir))
    }
    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        traced("stat", path, || self.inner.stat(path))
    }
    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        traced("read", path, || self.inner.read(path, sink))
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        traced("write", path, || self.inner.write(path, data, mode))
    }
    fn write_new_files(&mut self, files: &[(RemotePath, &[u8])]) -> Result<()> {
        let start = std::time::Instant::now();
        let result = self.inner.write_new_files(files);
        // A line per file, each with the time of them all: they may go side by side.
        for (path, _) in files {
            log_op("write", path, start, result.as_ref().err());
        }
        result
    }
    fn remove_each(&mut self, paths: &[RemotePath]) -> Vec<Result<()>> {
        let start = std::time::Instant::now();
        let results = self.inner.remove_each(paths);
        for (path, result) in paths.iter().zip(&results) {
            log_op("remove", path, start, result.as_ref().err());
        }
        results
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        tracing::debug!(to = to.as_str(), "rename");
        traced("rename", from, || self.inner.rename(from, to, mode))
    }
    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        traced("mkdir", path, || self.inner.mkdir(path))
    }
    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        traced("remove", path, || self.inner.remove(path))
    }
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        tracing::debug!("exec");
        self.inner.as_exec()
    }
    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        // Through a shell a prefetch is one request, traced here. Without one it is either
        // nothing or a walk of many requests over several connections, each traced where it
        // is sent.
        if !self.inner.capabilities().exec {
            return self.inner.prefetch(wanted);
        }
        traced("prefetch", &RemotePath::root(), || {
            self.inner.prefetch(wanted)
        })
    }
}

/// A borrowed transport is a transport, so a wrapper can hold `&mut dyn Transport`.
impl<T: Transport + ?Sized> Transport for &mut T {
    forward_to_pointee!();
}

/// An owned, boxed transport is a transport, so a wrapper can hold `Box<dyn Transport>`.
impl<T: Transport + ?Sized> Transport for Box<T> {
    forward_to_pointee!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{MemoryTransport, TransportExt};

    fn file(name: &str) -> RemotePath {
        RemotePath::new(name).unwrap()
    }

    #[test]
    fn counting_counts_reads_and_changes_apart() {
        let mut t = Counting::new(MemoryTransport::new());
        let tally = t.tally();
        t.write_bytes(&file("a"), b"x", WriteMode::Create).unwrap();
        assert!(t.exists(&file("a")).unwrap());
        t.read_to_vec(&file("a")).unwrap();
        t.rename(&file("a"), &file("b"), RenameMode::NoReplace)
            .unwrap();
        assert_eq!((tally.mutations(), tally.reads()), (2, 2));
        assert_eq!(t.mutations(), 2);
    }

    #[test]
    fn faulty_drops_the_connection_after_its_changes() {
        let mut t = Faulty::new(MemoryTransport::new(), 1);
        t.write_bytes(&file("a"), b"x", WriteMode::Create).unwrap();
        let err = t
            .write_bytes(&file("b"), b"y", WriteMode::Create)
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Disconnected);
        assert_eq!(
            t.stat(&file("a")).unwrap_err().kind(),
            &ErrorKind::Disconnected,
            "once dropped, reads fail too"
        );
        assert!(t.as_exec().is_none());
    }

    #[test]
    fn wrappers_hold_borrowed_and_boxed_transports() {
        let mut inner = MemoryTransport::new();
        let mut borrowed = Counting::new(&mut inner as &mut dyn Transport);
        borrowed
            .write_bytes(&file("a"), b"x", WriteMode::Create)
            .unwrap();
        assert_eq!(borrowed.mutations(), 1);
        let boxed: Box<dyn Transport> = Box::new(MemoryTransport::new());
        let mut slow = Throttle::new(boxed, Duration::from_millis(1));
        slow.write_bytes(&file("a"), b"x", WriteMode::Create)
            .unwrap();
        assert!(slow.exists(&file("a")).unwrap());
    }
}
