//! Remembering what the server's folders hold, so a question asked twice costs one round trip.
//!
//! Discovery and planning ask "does this exist?" dozens of times, often of the same folders
//! (a site's root, `wp-content`, the plugins folder). Over FTP every such question is a
//! listing of the parent folder (CWD, EPSV, a data connection, LIST: four or five round
//! trips); over SFTP a stat is one. [`Cached`] keeps the listings and stats it has seen and
//! answers from them, including "missing" for anything below a folder known to be absent.
//!
//! It also remembers small files it read (at most [`REMEMBER_FILES_UP_TO`] bytes), and what a
//! [`Transport::prefetch`] brought back in one request. All of it is forgotten:
//! - around every change made through the cache (write, rename, mkdir, remove): the path, all
//!   below it and its folder's listing, since those are what the change touches; the rest of
//!   the site stays remembered (uploading the helper must not cost every listing again);
//! - entirely on every command run, since a command may change anything;
//! - whenever the site was asked something over HTTP ([`site_may_have_changed`]): PHP running
//!   on the server (a probe, the helper, a verification) may create or delete files itself.
//!
//! Changes themselves always check afresh: the inner transport's own existence checks (for
//! [`WriteMode::Create`], [`RenameMode::NoReplace`]) never go through the cache.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    Capabilities, Entry, Error, ErrorKind, Exec, Kind, Meta, Op, Prefetch, RemotePath, RenameMode,
    Result, Snapshot, Transport, Upload, WriteMode,
};

/// The largest file whose contents are remembered.
pub const REMEMBER_FILES_UP_TO: u64 = 1 << 20;

/// Bumped each time something outside the transport may have changed the site's files.
static OUTSIDE_CHANGES: AtomicU64 = AtomicU64::new(0);

/// Tells every [`Cached`] transport that the site's files may have changed by other hands
/// (the HTTP client calls it after each request), so none answers from memory again.
pub fn site_may_have_changed() {
    OUTSIDE_CHANGES.fetch_add(1, Ordering::Relaxed);
}

/// How a [`Cached`] transport answers a stat it has not seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatBy {
    /// Ask the server about the path alone (SFTP: one request).
    Path,
    /// List the parent folder and remember all of it (FTP, where a stat is a listing anyway).
    Listing,
}

/// A transport that remembers folder listings and stats (see the module docs).
#[derive(Debug)]
pub struct Cached<T> {
    inner: T,
    stat_by: StatBy,
    listings: HashMap<RemotePath, Vec<Entry>>,
    stats: HashMap<RemotePath, Option<Meta>>,
    contents: HashMap<RemotePath, Vec<u8>>,
    seen_changes: u64,
}

impl<T: Transport> Cached<T> {
    /// Remembers what `inner` answers; unseen stats are answered as `stat_by` says.
    pub fn new(inner: T, stat_by: StatBy) -> Self {
        Cached {
            inner,
            stat_by,
            listings: HashMap::new(),
            stats: HashMap::new(),
            contents: HashMap::new(),
            seen_changes: OUTSIDE_CHANGES.load(Ordering::Relaxed),
        }
    }

    fn forget(&mut self) {
        self.listings.clear();
        self.stats.clear();
        self.contents.clear();
    }

    /// Forgets everything if the site may have changed since it was learnt.
    fn catch_up(&mut self) {
        let now = OUTSIDE_CHANGES.load(Ordering::Relaxed);
        if now != self.seen_changes {
            self.seen_changes = now;
            self.forget();
        }
    }

    /// What memory says of `path`: `Some(answer)` when it knows, `None` when it must ask.
    fn recall(&self, path: &RemotePath) -> Option<Option<Meta>> {
        if let Some(known) = self.stats.get(path) {
            return Some(known.clone());
        }
        let (parent, name) = (path.parent()?, path.file_name()?);
        if let Some(entries) = self.listings.get(&parent) {
            return Some(
                entries
                    .iter()
                    .find(|e| e.name == name)
                    .map(|e| e.meta.clone()),
            );
        }
        // Nothing is below a folder that is missing, or that is not a folder.
        match self.recall(&parent) {
            Some(None) => Some(None),
            Some(Some(meta)) if meta.kind != Kind::Dir => Some(None),
            _ => None,
        }
    }

    fn not_found(&self, dir: &RemotePath) -> Error {
        Error::new(ErrorKind::NotFound, Op::List, self.inner.origin())
            .with_path(dir.under(self.inner.root()))
    }

    /// Runs a change on the server at `paths`: nothing remembered of them, of what is below
    /// them or of their folders' listings survives it, whether it worked or not (a failed write
    /// may leave its staging copy in the folder).
    fn change<R>(
        &mut self,
        paths: &[&RemotePath],
        call: impl FnOnce(&mut T) -> Result<R>,
    ) -> Result<R> {
        self.catch_up();
        let result = call(&mut self.inner);
        let touched = |known: &RemotePath| {
            paths.iter().any(|changed| {
                known == *changed
                    || is_below(known, changed)
                    || changed.parent().as_ref() == Some(known)
            })
        };
        self.listings.retain(|known, _| !touched(known));
        self.stats.retain(|known, _| !touched(known));
        self.contents.retain(|known, _| !touched(known));
        result
    }
}

impl<T: Transport> Transport for Cached<T> {
    describe_as_inner!();

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        self.catch_up();
        if let Some(entries) = self.listings.get(dir) {
            return Ok(entries.clone());
        }
        if let Some(None) = self.recall(dir) {
            return Err(self.not_found(dir));
        }
        match self.inner.list(dir) {
            Ok(entries) => {
                self.listings.insert(dir.clone(), entries.clone());
                Ok(entries)
            }
            Err(e) => {
                if *e.kind() == ErrorKind::NotFound {
                    self.stats.insert(dir.clone(), None);
                }
                Err(e)
            }
        }
    }

    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        self.catch_up();
        if let Some(known) = self.recall(path) {
            return Ok(known);
        }
        if let (StatBy::Listing, Some(parent)) = (self.stat_by, path.parent()) {
            // A folder known to be there lists in a round trip or two and says whether the
            // parent is; a missing parent costs a failed listing, twice that over FTP. So when
            // the parent is unknown but its own folder is known, that one goes first.
            if let Some(grand) = parent.parent()
                && !self.listings.contains_key(&grand)
                && matches!(self.recall(&grand), Some(Some(meta)) if meta.kind == Kind::Dir)
                && self.list(&grand).is_ok()
                && let Some(known) = self.recall(path)
            {
                return Ok(known);
            }
            // The parent alone, not its ancestors first: after the site was asked something
            // over HTTP nothing is remembered, and a walk from the top would cost a listing
            // per level.
            match self.list(&parent) {
                Ok(_) => {
                    return Ok(self
                        .recall(path)
                        .expect("the parent's listing is remembered"));
                }
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    self.stats.insert(path.clone(), None);
                    return Ok(None);
                }
                // A folder we may not list: ask about the path itself, which says why.
                Err(_) => {}
            }
        }
        let meta = self.inner.stat(path)?;
        self.stats.insert(path.clone(), meta.clone());
        Ok(meta)
    }

    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        self.catch_up();
        if let Some(contents) = self.contents.get(path) {
            sink.write_all(contents).map_err(|e| {
                Error::new(ErrorKind::LocalIo, Op::Read, self.inner.origin())
                    .with_path(path.under(self.inner.root()))
                    .with_source(e)
            })?;
            return Ok(contents.len() as u64);
        }
        let mut tee = Tee {
            sink,
            copy: Some(Vec::new()),
        };
        let read = self.inner.read(path, &mut tee)?;
        if let Some(copy) = tee.copy {
            self.contents.insert(path.clone(), copy);
        }
        Ok(read)
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        self.change(&[path], |t| t.write(path, data, mode))
    }
    fn write_new_files(&mut self, files: &[(RemotePath, &[u8])]) -> Result<()> {
        let paths: Vec<&RemotePath> = files.iter().map(|(p, _)| p).collect();
        self.change(&paths, |t| t.write_new_files(files))
    }
    fn remove_each(&mut self, paths: &[RemotePath]) -> Vec<Result<()>> {
        let touched: Vec<&RemotePath> = paths.iter().collect();
        self.change(&touched, |t| Ok(t.remove_each(paths)))
            .unwrap_or_default()
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        self.change(&[from, to], |t| t.rename(from, to, mode))
    }
    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        self.change(&[path], |t| t.mkdir(path))
    }
    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        self.change(&[path], |t| t.remove(path))
    }
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        // A command may change anything.
        self.forget();
        self.inner.as_exec()
    }
    fn as_exec_leaving_files(&mut self) -> Option<&mut dyn Exec> {
        self.inner.as_exec()
    }
    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        self.catch_up();
        let snapshot = self.inner.prefetch(wanted)?;
        for (folder, entries) in snapshot.iter().flat_map(|s| &s.listings) {
            self.listings.insert(folder.clone(), entries.clone());
        }
        for (file, contents) in snapshot.iter().flat_map(|s| &s.files) {
            self.contents.insert(file.clone(), contents.clone());
        }
        Ok(snapshot)
    }
}

/// Whether `path` is somewhere below `folder`.
fn is_below(path: &RemotePath, folder: &RemotePath) -> bool {
    folder.is_root() && !path.is_root()
        || path
            .as_str()
            .strip_prefix(folder.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Passes a read on to its sink, keeping a copy while it is small enough to remember.
struct Tee<'a> {
    sink: &'a mut dyn Write,
    copy: Option<Vec<u8>>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.sink.write(buf)?;
        if let Some(copy) = &mut self.copy {
            if (copy.len() + n) as u64 > REMEMBER_FILES_UP_TO {
                self.copy = None;
            } else {
                copy.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Counting, MemoryTransport, TransportExt};

    fn path(p: &str) -> RemotePath {
        RemotePath::new(p).unwrap()
    }

    fn site() -> MemoryTransport {
        let mut t = MemoryTransport::new();
        t.mkdir_all(&path("public_html/wp-content/plugins"))
            .unwrap();
        t.write_bytes(
            &path("public_html/wp-config.php"),
            b"<?php",
            WriteMode::Create,
        )
        .unwrap();
        t
    }

    #[test]
    fn a_folder_is_listed_once_for_every_stat_in_it() {
        let counted = Counting::new(site());
        let tally = counted.tally();
        let mut t = Cached::new(counted, StatBy::Listing);
        assert!(t.exists(&path("public_html/wp-config.php")).unwrap());
        assert!(!t.exists(&path("public_html/wordfence-waf.php")).unwrap());
        assert!(t.exists(&path("public_html/wp-content")).unwrap());
        assert_eq!(t.list(&path("public_html")).unwrap().len(), 2);
        assert_eq!(tally.reads(), 1, "one listing of public_html");
    }

    #[test]
    fn a_change_forgets_only_what_it_touches() {
        let counted = Counting::new(site());
        let tally = counted.tally();
        let mut t = Cached::new(counted, StatBy::Listing);
        t.list(&path("public_html/wp-content")).unwrap();
        t.list(&path("public_html/wp-content/plugins")).unwrap();
        assert!(!t.exists(&path("public_html/helper")).unwrap());
        let before = tally.reads();
        t.mkdir(&path("public_html/helper")).unwrap();
        t.write_bytes(
            &path("public_html/helper/a.php"),
            b"<?php",
            WriteMode::Create,
        )
        .unwrap();
        t.list(&path("public_html/wp-content")).unwrap();
        assert!(!t.exists(&path("public_html/wp-content/plugins/x")).unwrap());
        assert_eq!(tally.reads(), before, "the rest of the site is still known");
        assert!(t.exists(&path("public_html/helper/a.php")).unwrap());
        assert!(t.exists(&path("public_html/helper")).unwrap());
        assert_eq!(tally.reads(), before + 2, "what changed is asked again");
        t.rename(
            &path("public_html/wp-content/plugins"),
            &path("public_html/wp-content/plugins.off"),
            RenameMode::NoReplace,
        )
        .unwrap();
        assert!(!t.exists(&path("public_html/wp-content/plugins")).unwrap());
        assert!(
            t.exists(&path("public_html/wp-content/plugins.off"))
                .unwrap()
        );
        assert!(!t.exists(&path("public_html/wp-content/plugins/x")).unwrap());
    }

    #[test]
    fn a_missing_folder_is_learnt_from_its_own_folder_when_that_is_known() {
        let counted = Counting::new(site());
        let tally = counted.tally();
        let mut t = Cached::new(counted, StatBy::Listing);
        t.list(&RemotePath::root()).unwrap();
        let before = tally.reads();
        assert!(
            !t.exists(&path("public_html/wp-includes/version.php"))
                .unwrap()
        );
        assert!(!t.exists(&path("public_html/wp-includes")).unwrap());
        assert!(t.exists(&path("public_html/wp-config.php")).unwrap());
        assert_eq!(
            tally.reads(),
            before + 1,
            "one listing, of public_html, and no failed one of wp-includes"
        );
        assert!(t.exists(&path("public_html/wp-content/plugins")).unwrap());
        assert_eq!(tally.reads(), before + 2, "and one of wp-content");
    }

    #[test]
    fn nothing_is_asked_below_a_missing_folder() {
        let counted = Counting::new(site());
        let tally = counted.tally();
        let mut t = Cached::new(counted, StatBy::Listing);
        assert!(!t.exists(&path("home/wpsite/public_html")).unwrap());
        assert!(
            !t.exists(&path("home/wpsite/public_html/wp-config.php"))
                .unwrap()
        );
        assert_eq!(
            t.list(&path("home/x")).unwrap_err().kind(),
            &ErrorKind::NotFound
        );
        assert!(!t.exists(&path("public_html/wp-config.php/x")).unwrap());
        assert_eq!(tally.reads(), 3, "each missing folder is asked for once");
    }

    #[test]
    fn stats_by_path_are_remembered_one_by_one() {
        let counted = Counting::new(site());
        let tally = counted.tally();
        let mut t = Cached::new(counted, StatBy::Path);
        for _ in 0..3 {
            assert!(t.exists(&path("public_html/wp-config.php")).unwrap());
            assert!(!t.exists(&path("public_html/.htaccess")).unwrap());
        }
        assert_eq!(tally.reads(), 2);
    }

    #[test]
    fn changes_and_the_site_itself_make_it_ask_again() {
        let counted = Counting::new(site());
        let tally = counted.tally();
        let mut t = Cached::new(counted, StatBy::Listing);
        let htaccess = path("public_html/.htaccess");
        assert!(!t.exists(&htaccess).unwrap());
        t.write_bytes(&htaccess, b"# BEGIN", WriteMode::Create)
            .unwrap();
        assert!(t.exists(&htaccess).unwrap(), "a write is seen at once");
        t.rename(&htaccess, &path("public_html/x"), RenameMode::NoReplace)
            .unwrap();
        assert!(!t.exists(&htaccess).unwrap(), "so is a rename");

        let before = tally.reads();
        site_may_have_changed();
        assert!(!t.exists(&htaccess).unwrap());
        assert_eq!(tally.reads(), before + 1, "asked again after HTTP");
        t.as_exec();
        assert!(!t.exists(&htaccess).unwrap());
        assert_eq!(tally.reads(), before + 2, "and after a command");
        t.as_exec_leaving_files();
        assert!(!t.exists(&htaccess).unwrap());
        assert_eq!(
            tally.reads(),
            before + 2,
            "but not one that leaves the files be"
        );
    }

    #[test]
    fn the_cache_passes_the_conformance_suite() {
        let caps = Capabilities {
            exec: false,
            modes: true,
        };
        let mut inner = MemoryTransport::new();
        let dir = path("scratch");
        inner.mkdir(&dir).unwrap();
        let mut observer = inner.clone();
        for stat_by in [StatBy::Listing, StatBy::Path] {
            let mut t = Cached::new(inner.clone(), stat_by);
            crate::transport::conformance::run_all(&mut t, &mut observer, &caps, &dir);
        }
    }
}
