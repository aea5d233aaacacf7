//! `wprescue rollback` and `wprescue history`: the journal's side of a run.

use crate::engine::{self, Outcome, Session};
use crate::parse::time::utc;
use crate::playbook::Playbooks;

use super::args::RollbackArgs;
use super::color::Color;
use super::input;
use super::output::Out;

/// Runs `rollback`: the engine says what it would put back, the user agrees (or gave
/// `--yes`), and the engine undoes it, on a fresh session.
pub fn run(args: &RollbackArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(args.json, color);
    out.target(&args.target, args.connect.as_given(args.helper));
    let outcome = undo(args, &mut out);
    if args.json {
        out.rollback.outcome = outcome.as_ref().ok().copied();
        say!("{}", serde_json::to_string_pretty(&out.rollback)?);
    }
    out.finish(outcome?)
}

fn undo(args: &RollbackArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let spec = args.connect.session(&args.target, args.helper)?;
    let mut session = Session::open(spec, Playbooks::builtin()?.catalog(), out)?;
    let run = args.run.as_deref();
    if args.dry_run {
        let planned = session.rollback(run, true, out)?;
        out.line("dry run: nothing undone")?;
        return Ok(planned);
    }
    // With nothing to undo there is nothing to ask; the rollback still removes a lock a dead
    // run left.
    if !args.yes
        && session.rollback(run, true, out)? == Outcome::Planned
        && !input::confirm("undo these change(s)? it locks the admin out again")?
    {
        out.line("nothing changed")?;
        return Ok(Outcome::Declined);
    }
    // The document tells what was put back, not what was asked about.
    out.rollback.restored.clear();
    Ok(session.rollback(run, false, out)?)
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
                "ran": run.ran.iter().map(|(rung, started)| serde_json::json!({
                    "playbook": rung,
                    "started": started,
                })).collect::<Vec<_>>(),
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
        let ran: Vec<String> = run
            .ran
            .iter()
            .map(|(rung, started)| format!("{rung} at {}", utc(*started)))
            .collect();
        let ran = if ran.is_empty() {
            "nothing ran".to_owned()
        } else {
            format!("ran {}", ran.join(", then "))
        };
        say!(
            "{}  {}  {}{}  {ran}  changed={} undone={}",
            info.run_id,
            utc(info.created),
            info.origin,
            info.root,
            run.changed,
            run.undone
        );
    }
    Ok(Outcome::Shown)
}
