//! A [`Prefetch`] over several connections at once, for transports that cannot run a command
//! (FTP): folder listings and small files, each one request, shared among the connections as
//! they come free.
//!
//! One connection costs a round trip or more per request, one after another; discovery asks
//! a few dozen. Several connections, each taking the next request as soon as it is free, wait
//! only for the chain of folders (a folder is listed once its parent's listing shows it). A
//! connection that arrives while the walk is under way joins it.
//!
//! What is fetched is what [`Prefetch::script`](super::gather) fetches through a shell, with
//! one difference: a folder is reached only through listed folders, so a pattern's parent
//! folder must itself be among the folders (the site folder is always listed). With
//! [`Prefetch::direct`], paths without `*` are asked for at once instead.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::wrap::traced;
use super::{Entry, ErrorKind, Kind, Prefetch, RemotePath, Snapshot, Transport, TransportExt};

/// How a walk went: requests sent in all, and by the busiest connection (the chain that
/// set its length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walked {
    pub connections: usize,
    pub requests: usize,
    pub longest: usize,
}

/// Fetches `wanted` with `first` in this thread and, in a thread each, every connection that
/// `arriving` hands over while there is work left (it is asked between requests and must not
/// block). Returns what was fetched, how, and the connections that joined, for next time. A
/// connection whose session may be broken (anything but a refusal about one path) leaves
/// the walk and is dropped; what it was asking for is left out of the snapshot, to be asked
/// the usual way later.
pub(crate) fn fan_out<T: Transport + Send>(
    first: &mut T,
    arriving: &mut dyn FnMut() -> Option<T>,
    wanted: &Prefetch,
) -> (Snapshot, Walked, Vec<T>) {
    let (patterns, direct) = Patterns::new(wanted);
    let walk = Walk {
        wanted: patterns,
        max_file_bytes: wanted.max_file_bytes,
        state: Mutex::new(State {
            todo: std::iter::once(Task::List(RemotePath::root()))
                .chain(direct)
                .collect(),
            running: 0,
            snapshot: Snapshot::default(),
        }),
        changed: Condvar::new(),
    };
    let mut counts = Vec::new();
    let mut joined = Vec::new();
    std::thread::scope(|scope| {
        let walk = &walk;
        let mut helpers = Vec::new();
        let mut sent = 0;
        loop {
            while let Some(mut other) = arriving() {
                helpers.push(scope.spawn(move || {
                    let mut sent = 0;
                    while let Some(healthy) = walk.step(&mut other) {
                        sent += 1;
                        if !healthy {
                            return (sent, None);
                        }
                    }
                    (sent, Some(other))
                }));
            }
            match walk.step(first) {
                Some(healthy) => {
                    sent += 1;
                    if !healthy {
                        break;
                    }
                }
                None => break,
            }
        }
        counts.push(sent);
        for helper in helpers {
            let (sent, other) = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            counts.push(sent);
            joined.extend(other);
        }
    });
    let mut snapshot = walk
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .snapshot;
    snapshot.listings.sort_by(|a, b| a.0.cmp(&b.0));
    snapshot.files.sort_by(|a, b| a.0.cmp(&b.0));
    let walked = Walked {
        connections: counts.len(),
        requests: counts.iter().sum(),
        longest: counts.iter().copied().max().unwrap_or(0),
    };
    (snapshot, walked, joined)
}

enum Task {
    List(RemotePath),
    Read(RemotePath),
}

struct State {
    todo: VecDeque<Task>,
    /// Requests under way: their answers may add tasks.
    running: usize,
    snapshot: Snapshot,
}

struct Walk {
    wanted: Patterns,
    max_file_bytes: u64,
    state: Mutex<State>,
    changed: Condvar,
}

impl Walk {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request with `t`, waiting while none is left to send but some are under way:
    /// `None` once the walk is over, else whether `t` is still fit to go on.
    fn step<T: Transport>(&self, t: &mut T) -> Option<bool> {
        let task = {
            let mut state = self.lock();
            loop {
                if let Some(task) = state.todo.pop_front() {
                    state.running += 1;
                    break task;
                }
                if state.running == 0 {
                    return None;
                }
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // Each request is traced as the session's own are: they go below its wrapper.
        let found = match task {
            Task::List(folder) => traced("list", &folder, || t.list(&folder))
                .map(|entries| Found::Listing(folder, entries)),
            Task::Read(file) => {
                traced("read", &file, || t.read_at_most(&file, self.max_file_bytes))
                    .map(|contents| Found::Contents(file, contents))
            }
        };
        let mut state = self.lock();
        state.running -= 1;
        let healthy = match found {
            Ok(Found::Listing(folder, entries)) => {
                for next in entries
                    .iter()
                    .filter_map(|e| self.wanted.next(&folder, e, self.max_file_bytes))
                {
                    // Folders first, the deepest first: what is found below them is what
                    // the walk waits for, while reads can fill the gaps at any time.
                    match next {
                        Task::List(_) => state.todo.push_front(next),
                        Task::Read(_) => state.todo.push_back(next),
                    }
                }
                state.snapshot.listings.push((folder, entries));
                true
            }
            Ok(Found::Contents(file, contents)) => {
                state.snapshot.files.push((file, contents));
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "left out of the prefetch");
                refuses_only_the_path(e.kind())
            }
        };
        drop(state);
        self.changed.notify_all();
        Some(healthy)
    }
}

enum Found {
    Listing(RemotePath, Vec<Entry>),
    Contents(RemotePath, Vec<u8>),
}

/// Whether an error leaves the session as it was: a refusal about one path. Anything else (a
/// dropped connection, a timeout, a transfer cut short) may leave it mid-reply.
pub(crate) fn refuses_only_the_path(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::IsADirectory
            | ErrorKind::NotADirectory
    )
}

/// The patterns of a [`Prefetch`], split into segments (`.` is none).
struct Patterns {
    folders: Vec<Vec<String>>,
    files: Vec<Vec<String>>,
}

impl Patterns {
    /// The patterns to match listings against, and the tasks to start with: with
    /// [`Prefetch::direct`], one for each path without `*` (taken out of the patterns).
    fn new(wanted: &Prefetch) -> (Self, Vec<Task>) {
        let split = |p: &String| -> Vec<String> {
            p.split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_owned)
                .collect()
        };
        let mut direct = Vec::new();
        let mut keep = |patterns: &[String], task: fn(RemotePath) -> Task| -> Vec<Vec<String>> {
            let mut kept = Vec::new();
            for pattern in patterns.iter().map(split) {
                let literal = wanted.direct && !pattern.iter().any(|s| s == "*");
                match RemotePath::new(&pattern.join("/")) {
                    Ok(path) if literal && !path.is_root() => direct.push(task(path)),
                    _ => kept.push(pattern),
                }
            }
            kept
        };
        let patterns = Patterns {
            folders: keep(&wanted.folders, Task::List),
            files: keep(&wanted.files, Task::Read),
        };
        (patterns, direct)
    }

    /// What to ask next about `entry` of the listed folder `folder`.
    fn next(&self, folder: &RemotePath, entry: &Entry, max_file_bytes: u64) -> Option<Task> {
        let path = folder.join(&entry.name).ok()?;
        let matches = |patterns: &[Vec<String>]| {
            let segments: Vec<&str> = path.as_str().split('/').collect();
            patterns.iter().any(|p| {
                p.len() == segments.len()
                    && p.iter()
                        .zip(&segments)
                        .all(|(want, got)| *want == *got || (*want == "*" && !got.starts_with('.')))
            })
        };
        match entry.meta.kind {
            Kind::Dir if matches(&self.folders) => Some(Task::List(path)),
            Kind::File if entry.meta.size <= max_file_bytes && matches(&self.files) => {
                Some(Task::Read(path))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::transport::{Access, MemoryTransport, Throttle, WriteMode};

    /// A hosting account: WordPress in `public_html`, logs, and folders to be left alone.
    fn site() -> MemoryTransport {
        let mut t = MemoryTransport::new();
        for (file, contents) in [
            ("public_html/wp-config.php", "<?php // config"),
            (
                "public_html/wp-content/plugins/wordfence/wordfence.php",
                "<?php",
            ),
            ("public_html/.htaccess", "# far more than twenty bytes"),
            ("logs/error.log", "PHP Fatal error"),
            (".hidden/wp-config.php", "<?php // not a site"),
            ("tmp/wp-content/x", ""),
        ] {
            let file = RemotePath::new(file).unwrap();
            t.mkdir_all(&file.parent().unwrap()).unwrap();
            t.write_bytes(&file, contents.as_bytes(), WriteMode::Create)
                .unwrap();
        }
        t
    }

    fn wanted() -> Prefetch {
        Prefetch::new(
            &[".", "*", "*/wp-content", "*/wp-content/plugins"],
            &["*/wp-config.php", "*/.htaccess", "logs/*"],
            20,
        )
    }

    fn names<'a>(items: impl IntoIterator<Item = &'a RemotePath>) -> Vec<&'a str> {
        items.into_iter().map(RemotePath::as_str).collect()
    }

    #[test]
    fn the_walk_lists_and_reads_what_the_patterns_name() {
        let (snapshot, walked, _) = fan_out(&mut site(), &mut || None, &wanted());
        assert_eq!(
            names(snapshot.listings.iter().map(|(p, _)| p)),
            [
                "",
                "logs",
                "public_html",
                "public_html/wp-content",
                "public_html/wp-content/plugins",
                "tmp",
                "tmp/wp-content"
            ],
            "no dot folder for `*`, nothing below the patterns"
        );
        assert_eq!(
            names(snapshot.files.iter().map(|(p, _)| p)),
            ["logs/error.log", "public_html/wp-config.php"],
            "the .htaccess is over the size limit"
        );
        assert_eq!(snapshot.files[1].1, b"<?php // config");
        assert_eq!(
            walked,
            Walked {
                connections: 1,
                requests: 9,
                longest: 9
            }
        );
    }

    #[test]
    fn connections_that_arrive_share_the_work_and_are_handed_back() {
        let site = site();
        let slow = |t: &MemoryTransport| Throttle::new(t.clone(), Duration::from_millis(25));
        let mut spares = vec![slow(&site), slow(&site)];
        let (snapshot, walked, back) = fan_out(&mut slow(&site), &mut || spares.pop(), &wanted());
        let (alone, ..) = fan_out(&mut site.clone(), &mut || None, &wanted());
        assert_eq!(snapshot, alone);
        assert_eq!((walked.connections, walked.requests), (3, 9));
        assert!(walked.longest < walked.requests, "{walked:?}");
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn direct_paths_are_asked_for_at_once_not_through_their_folders() {
        let mut wanted = Prefetch::new(
            &[".", "public_html/wp-content/plugins", "missing/folder"],
            &["public_html/wp-config.php", "*/.htaccess"],
            100,
        );
        wanted.direct = true;
        let (snapshot, walked, _) = fan_out(&mut site(), &mut || None, &wanted);
        assert_eq!(
            names(snapshot.listings.iter().map(|(p, _)| p)),
            ["", "public_html/wp-content/plugins"]
        );
        assert_eq!(
            names(snapshot.files.iter().map(|(p, _)| p)),
            ["public_html/wp-config.php"],
            "`*` still goes through the listings, and `public_html` is not listed"
        );
        assert_eq!(walked.requests, 4, "the root, two folders and a file");
    }

    #[test]
    fn a_refused_path_is_left_out_and_the_walk_goes_on() {
        let site = site();
        let content = RemotePath::new("public_html/wp-content").unwrap();
        site.protect(&content, Access::None);
        let (snapshot, walked, _) = fan_out(&mut site.clone(), &mut || None, &wanted());
        assert!(
            !snapshot
                .listings
                .iter()
                .any(|(p, _)| p.as_str().starts_with("public_html/wp-content"))
        );
        assert!(names(snapshot.files.iter().map(|(p, _)| p)).contains(&"logs/error.log"));
        assert_eq!(walked.connections, 1);
    }
}
