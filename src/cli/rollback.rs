//! `wprescue rollback` and `wprescue history`: the journal's side of a run.

use crate::engine::{self, Outcome, Session};
use crate::playbook::Playbooks;

use super::args::RollbackArgs;
use super::color::Color;
use super::input;
use super::output::Out;

/// Runs `rollback`: the engine says what it would put back, the user agrees (or gave
/// `--yes`), and the engine undoes it, on a fresh session.
pub fn run(args: &RollbackArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(false, color);
    out.target(&args.target, args.connect.as_given(args.helper));
    let spec = args.connect.session(&args.target, args.helper)?;
    let mut session = Session::open(spec, Playbooks::builtin()?.catalog(), &mut out)?;
    let run = args.run.as_deref();
    if args.dry_run {
        let planned = session.rollback(run, true, &mut out)?;
        out.line("dry run: nothing undone")?;
        return out.finish(planned);
    }
    // With nothing to undo there is nothing to ask; the rollback still removes a lock a dead
    // run left.
    if !args.yes
        && session.rollback(run, true, &mut out)? == Outcome::Planned
        && !input::confirm("undo these change(s)? it locks the admin out again")?
    {
        out.line("nothing changed")?;
        return out.finish(Outcome::Declined);
    }
    let outcome = session.rollback(run, false, &mut out)?;
    out.finish(outcome)
}

/// Runs `history`.
pub fn history(json: bool) -> anyhow::Result<Outcome> {
    let (state_dir, runs) = engine::history()?;
    if json {
        let document = serde_json::json!({
            "version": 1,
            "state_dir": state_dir,
            "runs": runs.iter().map(|run| serde_json::json!({
                "run_id": run.info.run_id,
                "origin": run.info.origin,
                "root": run.info.root,
                "created": run.info.created,
                "playbooks": run.info.playbooks,
                "changed": run.changed,
                "undone": run.undone,
            })).collect::<Vec<_>>(),
        });
        say!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(Outcome::Shown);
    }
    if runs.is_empty() {
        say!("no runs recorded in {}", state_dir.display());
    }
    for run in runs {
        let info = &run.info;
        say!(
            "{}  {}{}  [{}]  changed={} undone={}",
            info.run_id,
            info.origin,
            info.root,
            info.playbooks.join(", "),
            run.changed,
            run.undone
        );
    }
    Ok(Outcome::Shown)
}
