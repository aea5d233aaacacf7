//! How a command ended, and Ansible's recap of a run's changes. The command line maps an
//! [`Outcome`] (or an error) to the exit status, in one place.

use serde::Serialize;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `diagnose`: nothing is in the admin's way.
    NoLockout,
    /// `diagnose`: a lockout was found.
    LockoutFound,
    /// Nothing to change: the site already lets the admin in, or the plan is empty.
    NothingToDo,
    /// Only planned (`--dry-run`, `--check`, `plan`), and there are changes to make.
    Planned,
    /// The user said no.
    Declined,
    /// Applied; the admin gets in.
    Unlocked,
    /// Applied, with nothing to verify (`run`).
    Applied,
    /// Applied, the site still refused, and everything was rolled back.
    RolledBack,
    /// `rollback`: the run was undone.
    Undone,
    /// A command that only shows something (`history`, `playbooks`).
    Shown,
}

/// Ansible's recap: how many changes went how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Recap {
    /// Done without altering the site: checks that passed, backups taken.
    pub ok: usize,
    /// Changes made to the site.
    pub changed: usize,
    /// Changes or checks that failed (at most one: a run stops at the first).
    pub failed: usize,
    /// Changes undone by a rollback.
    pub undone: usize,
}

impl std::fmt::Display for Recap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok={} changed={} failed={} undone={}",
            self.ok, self.changed, self.failed, self.undone
        )
    }
}
