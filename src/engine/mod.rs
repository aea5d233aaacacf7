//! The engine: turns playbook steps into planned [`Change`]s against the live site (reading
//! only), applies them with a journal written first ([`apply`]), and undoes them from that
//! journal ([`rollback`]), from the same process or a fresh one.

pub mod change;
pub mod journal;
pub mod lock;
pub mod run;
pub mod step;

use std::path::PathBuf;

pub use change::Change;
pub use journal::Journal;
pub use lock::SiteLock;
pub use run::{apply, rollback};
pub use step::{Step, Vars, View};

use crate::transport::{self, PathError, Transport};

/// Why planning, applying or undoing failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The server refused or the connection failed.
    #[error(transparent)]
    Transport(#[from] transport::Error),
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

/// One change and the playbook it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The playbook's name.
    pub playbook: String,
    /// The change.
    pub change: Change,
}

/// Plans every step of each `(playbook name, steps)` in order, against the live site, reading
/// only. Steps with nothing to do produce no change.
pub fn plan(
    t: &mut dyn Transport,
    playbooks: &[(&str, &[Step])],
    vars: &Vars,
) -> Result<Vec<Planned>, EngineError> {
    let mut view = View::new(t);
    let mut planned = Vec::new();
    for (name, steps) in playbooks {
        for step in *steps {
            if let Some(change) = step.plan(&mut view, vars)? {
                planned.push(Planned {
                    playbook: (*name).to_owned(),
                    change,
                });
            }
        }
    }
    Ok(planned)
}
