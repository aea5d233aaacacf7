//! `wprescue rollback` and `wprescue history`: the journal's side of a run.

use anyhow::{Context, bail};

use crate::engine::{Access, Journal, SiteLock};
use crate::helper::db::Database;
use crate::http::HttpOptions;
use crate::transport::RemotePath;

use super::args::RollbackArgs;
use super::color::Color;
use super::output::Out;
use super::recover::{site_helper, sweep_helpers, undo};
use super::{connect, exit};

/// Runs `rollback`; returns the exit status.
pub fn run(args: &RollbackArgs, color: Color) -> anyhow::Result<u8> {
    let out = Out { json: false, color };
    let mut transport = connect::open(&args.target, &args.connect)?;
    let t = transport.as_mut();
    let state_dir = Journal::state_dir()?;
    let run_id = match &args.run {
        Some(run) => run.clone(),
        None => Journal::latest(&state_dir, t.origin(), t.root())?.with_context(|| {
            format!(
                "no run of wprescue on {}{} in {}",
                t.origin(),
                t.root(),
                state_dir.display()
            )
        })?,
    };
    let mut journal = Journal::open(&state_dir, &run_id)?;
    if journal.info().origin != t.origin() || journal.info().root != t.root() {
        bail!(
            "run {run_id} changed {}{}, not {}{}",
            journal.info().origin,
            journal.info().root,
            t.origin(),
            t.root()
        );
    }
    out.line(format_args!("run {run_id}"))?;
    // A run that changed rows recorded how to reach the database; the helper runs the way
    // this command's connection allows (the address does not matter: no allow-list is read).
    let site = journal.site_ref()?;
    let helper = match &site {
        Some(site) => {
            sweep_helpers(t, &RemotePath::new(&site.wp_root)?, &out)?;
            Some(site_helper(
                t,
                site.clone(),
                &HttpOptions::default(),
                args.helper,
            )?)
        }
        None => None,
    };
    let mut access = Access {
        files: &mut *t,
        db: helper.as_ref().map(|h| h as &dyn Database),
        web: None,
    };
    let undone = undo(&mut access, &mut journal, out);
    // A run that died holding the site's lock would block the next one for half an hour.
    if let Some(lock) = journal.held_lock()? {
        if SiteLock::clear_if_held_by(t, &RemotePath::new(&lock)?, &run_id)? {
            out.line(format_args!("removed the lock {lock} the run left behind"))?;
        }
        journal.unlock()?;
    }
    undone?;
    Ok(exit::OK)
}

/// Runs `history`.
pub fn history() -> anyhow::Result<u8> {
    let state_dir = Journal::state_dir()?;
    let runs = Journal::history(&state_dir)?;
    if runs.is_empty() {
        say!("no runs recorded in {}", state_dir.display());
    }
    for (info, done, undone) in runs {
        say!(
            "{}  {}{}  [{}]  changed={done} undone={undone}",
            info.run_id,
            info.origin,
            info.root,
            info.playbooks.join(", ")
        );
    }
    Ok(exit::OK)
}
