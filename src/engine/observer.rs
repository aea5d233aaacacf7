//! What a run tells whoever watches it. The engine decides *what* happened; the command line
//! implements [`Observer`] and decides how it looks (words, colours, spinners, or nothing
//! under `--json`).

use std::path::Path;

use super::EngineError;
use super::caller::Caller;
use super::outcome::Recap;

/// Something the user should see, in the order it happens.
#[derive(Debug)]
pub enum Event<'a> {
    /// Helper folders a killed run left in the WordPress root were removed.
    HelpersSwept {
        /// How many.
        removed: usize,
        /// The WordPress root.
        wp_root: &'a str,
    },
    /// The caller's address was decided.
    Caller(&'a Caller),
    /// Something to know about the plan or the run, not an error.
    Note(&'a str),
    /// Something unsafe about the connection the user chose.
    Warning(&'a str),
    /// A rung that cannot be planned is left out of the ladder.
    RungSkipped {
        /// The playbook.
        rung: &'a str,
        /// Why.
        why: &'a EngineError,
    },
    /// The run's journal exists; nothing is changed before this.
    JournalOpened {
        /// The run.
        run_id: &'a str,
        /// Its folder.
        dir: &'a Path,
    },
    /// Every change of a rung was made.
    RungApplied {
        /// The playbook.
        rung: &'a str,
        /// How many changes it planned.
        changes: usize,
    },
    /// A change failed; what its rung made is rolled back next (with `run`, everything).
    ChangeFailed(&'a EngineError),
    /// Verification: the admin gets in.
    Unlocked {
        /// Whether a real login proved it (else GET requests only).
        real_login: bool,
        /// Where the admin logs in, when a plugin moved the login page and the rung only told
        /// where.
        login_url: Option<&'a str>,
        /// The next rung, which the ladder did not need: what `run` does instead, for a user
        /// who wants more than this rung did (the default login page back).
        instead: Option<&'a str>,
    },
    /// Verification: the site still refuses after this rung; it is undone, and the next one
    /// follows.
    NotYet {
        /// The playbook.
        rung: &'a str,
    },
    /// Verification: the site still refuses after the last rung; it is undone too.
    StillRefused,
    /// Verification: the site still refuses after a rung that changed `.user.ini`, which PHP
    /// may go on reading from its cache: asked again until the cache has surely expired.
    WaitingForIniCache {
        /// The file.
        file: &'a str,
        /// For how long, at most.
        seconds: u64,
    },
    /// A rollback ended.
    RolledBack {
        /// Changes undone.
        undone: usize,
        /// What was put back, one line each.
        restored: &'a [String],
        /// Changes left in place because undoing them would destroy a later change.
        conflicts: &'a [EngineError],
    },
    /// The counts of a run that made changes.
    Recap(Recap),
    /// The run's changes stay; this run id undoes them.
    Undoable {
        /// The run.
        run_id: &'a str,
    },
    /// `rollback --dry-run`: what a rollback would put back, newest change first.
    WouldUndo(&'a [String]),
    /// `rollback` chose this run.
    RunChosen {
        /// The run.
        run_id: &'a str,
    },
    /// A lock that a dead run left was removed.
    LockRemoved {
        /// The lock file.
        path: &'a str,
    },
}

/// Whoever watches a run: the command line, or nobody ([`Quiet`]).
pub trait Observer {
    /// Network work begins (a spinner on a terminal); ended by [`Observer::idle`].
    fn busy(&mut self, what: &str);
    /// The work [`Observer::busy`] announced is over.
    fn idle(&mut self);
    /// Applying `rung`: `done` of `len` changes made so far.
    fn progress(&mut self, rung: &str, done: usize, len: usize);
    /// Something happened.
    fn event(&mut self, event: Event<'_>);
}

/// An observer that shows nothing: for library callers and tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {
    fn busy(&mut self, _: &str) {}
    fn idle(&mut self) {}
    fn progress(&mut self, _: &str, _: usize, _: usize) {}
    fn event(&mut self, _: Event<'_>) {}
}
