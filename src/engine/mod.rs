//! The engine owns the run.
//!
//! # Brief overview
//!
//! A [`Session`] is one connected, examined site, built the same way for every command
//! ([`SessionSpec`]): the target and its connection, what examining the site found, the way to
//! its database (the helper), and the caller's address, decided from data in [`caller`].
//! Playbooks arrive as [`RungSpec`]s; the session gives them this run's template values
//! ([`Session::rungs`]) and plans them against the live site, reading only ([`plan()`]): each
//! step becomes [`Action`]s, of which only [`Change`]s alter the site. [`Session::apply`]
//! climbs the ladder ([`ladder`]): under the site's lock, with every change journalled before
//! it is made ([`apply()`]), rung by rung, asking the site as the caller after each whether the
//! admin gets in; a rung that does not help is undone ([`rollback()`]) before the next.
//! [`Session::rollback`] undoes a run from its journal alone, in a fresh process. Everything
//! the user should see goes out through an [`Observer`], and a command ends with an
//! [`Outcome`].

pub mod access;
pub mod action;
pub mod allowlist;
pub mod apply;
pub mod caller;
pub mod change;
pub mod check;
pub mod digest;
pub mod fingerprint;
pub mod journal;
pub mod ladder;
pub mod lock;
pub mod meaning;
pub mod observer;
pub mod outcome;
pub mod password;
pub mod plan;
pub mod rollback;
pub mod saved_plan;
pub mod session;
pub mod step;
pub mod vars;
pub mod verify;
pub mod view;

use std::path::PathBuf;

pub use access::Access;
pub use action::Action;
pub use apply::{apply, pieces};
pub use change::Change;
pub use check::{HttpCheck, Web};
pub use fingerprint::Fingerprint;
pub use journal::{Journal, RunInfo, RunRecord};
pub use ladder::Climb;
pub use lock::SiteLock;
pub use observer::{Event, Observer, Quiet};
pub use outcome::{Outcome, Recap};
pub use plan::{Ladder, Planned, Rung, RungSpec, plan, plan_ladder};
pub use rollback::{Undone, rollback};
pub use session::{Examine, Session, SessionSpec};
pub use step::Step;
pub use vars::{Secret, Vars};
pub use view::View;

use crate::helper::db::DbError;
use crate::site::SiteError;
use crate::transport::{self, PathError, TargetError};

/// Why planning, applying or undoing failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The server refused or the connection failed.
    #[error(transparent)]
    Transport(#[from] transport::Error),
    /// The target is not one wprescue can connect to.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// `~/.ssh/config` could not be read.
    #[error("cannot read ~/.ssh/config: {0}")]
    SshConfig(#[source] std::io::Error),
    /// Examining the site failed.
    #[error(transparent)]
    Site(#[from] SiteError),
    /// Not one request to the site got an answer: nothing can be said about a lockout.
    #[error("no HTTP answer from {url}: {why}")]
    NoHttpAnswer {
        /// The site's address.
        url: String,
        /// The first request's error.
        why: String,
    },
    /// Ctrl-C: the run stopped between two changes; what was made stays, journaled.
    #[error("interrupted: {}", match run_id {
        Some(run) => format!("the {changed} change(s) made so far stay, journaled in run {run}"),
        None => "nothing was changed".to_owned(),
    })]
    Interrupted {
        /// Changes made before the stop.
        changed: usize,
        /// The run holding them, once one was started.
        run_id: Option<String>,
    },
    /// `rollback` without `--run` on a site with no recorded run.
    #[error("no run of wprescue on {place} in {}", state_dir.display())]
    NoRuns {
        /// The target and folder.
        place: String,
        /// Where runs are recorded.
        state_dir: PathBuf,
    },
    /// The run named was made on another site.
    #[error("run {run_id} changed {changed}, not {here}")]
    OtherSite {
        /// The run.
        run_id: String,
        /// The site it changed.
        changed: String,
        /// The site connected to.
        here: String,
    },
    /// A run id not of the form wprescue makes.
    #[error("{0:?} is not a run id (they look like 1795958013-a11013: see wprescue history)")]
    BadRunId(String),
    /// A saved plan that cannot be read, used or written.
    #[error("plan {path}: {why}")]
    BadPlan {
        /// The plan file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A rollback left changes that could not be undone safely.
    #[error(
        "run {run_id}: {left} change(s) could not be undone safely (listed above); the rest was rolled back"
    )]
    NotUndone {
        /// The run.
        run_id: String,
        /// How many changes are left.
        left: usize,
    },
    /// A step names a path that is not below the WordPress root.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A step names an absolute path.
    #[error("{0:?}: step paths are relative to the WordPress root")]
    AbsolutePath(String),
    /// A template value the step needs is not known for this site.
    #[error("{text:?} uses {{{missing}}}, which this run does not have")]
    Template {
        /// The text with the template.
        text: String,
        /// The missing value.
        missing: &'static str,
    },
    /// A step's regular expression does not compile.
    #[error("bad pattern {pattern:?}: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The regex crate's message.
        message: String,
    },
    /// A step cannot be planned as written, or the value it edits is not in the shape the
    /// playbook says.
    #[error("{0}")]
    Step(String),
    /// A step needs a path that is not there.
    #[error("{0} does not exist")]
    Missing(String),
    /// A rename would overwrite something.
    #[error("{0} already exists; wprescue does not overwrite")]
    Exists(String),
    /// A step's path goes through a symbolic link.
    #[error("{0} is a symbolic link: wprescue does not follow links out of the site")]
    Symlink(String),
    /// A file step names a folder.
    #[error("{0} is a folder, not a file")]
    NotAFile(String),
    /// The site changed between planning and applying.
    #[error("the plan is stale: {path}: {why}")]
    Stale {
        /// The path.
        path: String,
        /// What changed.
        why: String,
    },
    /// Undoing would destroy someone else's later change.
    #[error("cannot undo the change to {path}: {why}")]
    Conflict {
        /// The path.
        path: String,
        /// Why not.
        why: String,
    },
    /// An `http_check` step found the site answering otherwise.
    #[error("{url} {why}")]
    CheckFailed {
        /// The page.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// The database helper failed.
    #[error(transparent)]
    Helper(Box<crate::helper::HelperError>),
    /// A step needs the site's database, and this run cannot reach it.
    #[error("this step changes the site's database, and this run has no way to reach it")]
    NoDatabase,
    /// An `http_check` step in a run that has no site address.
    #[error("an http_check step needs the site's address, and this run has none")]
    NoWeb,
    /// Another run holds the site's lock.
    #[error("{holder} is changing this site (lock {path}, taken {} s ago)", age.as_secs())]
    Locked {
        /// The lock file.
        path: String,
        /// The run holding it.
        holder: String,
        /// How long it has been held.
        age: std::time::Duration,
    },
    /// The run ended as said above, but its lock could not be removed (the connection was
    /// lost, say): the journal keeps it.
    #[error("run {run_id} ended, but its lock {path} could not be removed: {source}")]
    LockLeft {
        /// The run.
        run_id: String,
        /// The lock file.
        path: String,
        /// Why it could not be removed.
        #[source]
        source: Box<EngineError>,
    },
    /// No home folder and no state folder set.
    #[error("no folder for the run journal: set WPRESCUE_STATE_DIR or HOME")]
    NoStateDir,
    /// The run asked for is not in the state folder.
    #[error("no run {run_id} in {}", state_dir.display())]
    NoSuchRun {
        /// The run.
        run_id: String,
        /// Where it was looked for.
        state_dir: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A journal blob does not match its hash.
    #[error("journal blob {0} is damaged")]
    CorruptBlob(String),
    /// Reading or writing the local journal failed.
    #[error("run journal: {0}")]
    Io(#[from] std::io::Error),
    /// The journal holds something that is not JSON.
    #[error("run journal: {0}")]
    Json(#[from] serde_json::Error),
}

/// A fresh run id (`1795958013-a11013`): it names the run's journal, and `rollback --run`.
pub fn new_run_id() -> String {
    Journal::new_run_id()
}

/// The runs recorded on this machine, oldest first, with how many changes each made and
/// undid; and the state folder they are recorded in.
pub fn history() -> Result<(PathBuf, Vec<RunRecord>), EngineError> {
    let state_dir = Journal::state_dir()?;
    let runs = Journal::history(&state_dir)?;
    Ok((state_dir, runs))
}

/// A row that is no longer as planned is a stale plan, like a file that changed.
impl From<DbError> for EngineError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Stale { table, why } => EngineError::Stale {
                path: format!("table {table}"),
                why,
            },
            DbError::Helper(e) => EngineError::Helper(Box::new(e)),
        }
    }
}

impl From<crate::helper::HelperError> for EngineError {
    fn from(e: crate::helper::HelperError) -> Self {
        EngineError::Helper(Box::new(e))
    }
}

impl EngineError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            EngineError::Transport(e) => e.hint().map(str::to_owned),
            EngineError::Site(e) => e.hint(),
            EngineError::Helper(e) => e.hint(),
            EngineError::Stale { .. } => Some(
                "the site changed since the plan was made: make a new plan (wprescue plan, or unlock --dry-run) and review it".into(),
            ),
            EngineError::Conflict { .. } => Some(
                "the journal keeps the original bytes (see wprescue history for the run's folder); restore by hand, then run rollback again".into(),
            ),
            EngineError::Locked { .. } => Some(format!(
                "wait for that run to finish; a lock older than {} minutes is taken over",
                lock::STALE_AFTER.as_secs() / 60
            )),
            EngineError::LockLeft { run_id, .. } => Some(format!(
                "what the run changed stays as reported; until the lock goes, other runs on this \
                 site wait for it: `wprescue rollback --run {run_id}` removes it (undoing the \
                 run), or it is taken over after {} minutes",
                lock::STALE_AFTER.as_secs() / 60
            )),
            EngineError::Symlink(_) | EngineError::AbsolutePath(_) | EngineError::Path(_) => {
                Some("playbook paths are relative to the WordPress root and stay inside it".into())
            }
            EngineError::NoWeb => Some("give the site's address with --url".into()),
            EngineError::NoHttpAnswer { url, .. } => Some(format!(
                "check the address (--url) and that this machine reaches it (curl -sI {url}); with --bind, that the site accepts requests from that address"
            )),
            EngineError::NoDatabase => Some(
                "steps that change the database need the site's address (--url) to reach it"
                    .into(),
            ),
            EngineError::Interrupted { run_id: Some(_), .. } => Some(
                "undo what was made with the `undo with:` line above, or run unlock again to go on".into(),
            ),
            EngineError::NoRuns { .. } => Some(
                "use the same target as the run (its origin and folder must match), or name the run with --run; `wprescue history` lists the runs recorded here".into(),
            ),
            EngineError::OtherSite { .. } | EngineError::BadRunId(_) => Some(
                "`wprescue history` lists each run with the site it changed".into(),
            ),
            EngineError::NotUndone { .. } => Some(
                "each `left:` line names what is in the way; put it right by hand, then run rollback again: what was undone stays undone".into(),
            ),
            EngineError::BadPlan { .. } => Some(
                "make a new plan with `wprescue plan TARGET -o FILE` (or run unlock --dry-run)".into(),
            ),
            EngineError::SshConfig(_) => {
                Some("fix the line ~/.ssh/config complains about, or move the file aside".into())
            }
            _ => None,
        }
    }
}
