//! `wprescue unlock`: diagnose, plan the playbooks that answer the cause, confirm, then climb
//! the ladder (the engine's [`Session::apply`]).

use anyhow::bail;

use crate::engine::{self, Climb, Outcome};

use super::args::UnlockArgs;
use super::color::Color;
use super::output::{self, JsonChange, Out, RunDocument};
use super::{input, ladder};

/// Runs `unlock`.
pub fn run(args: &UnlockArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(args.json, color);
    let (playbooks, mut session, cause) = ladder::open(&args.site, &mut out)?;
    let report = session.report().expect("investigated");
    let mut document = RunDocument {
        cause: Some(cause.code().to_owned()),
        ..RunDocument::planned("unlock", report.origin.clone(), &[])
    };
    if !cause.is_lockout() {
        return out.stop(document, Outcome::NothingToDo, "nothing to unlock");
    }
    let run_id = engine::new_run_id();
    let (rungs, ladder) = ladder::plan(&mut session, &playbooks, &run_id, &mut out)?;
    let plan = ladder.planned;
    document.caller = rungs.iter().find_map(|r| r.vars.ip);
    out.plan(&plan, true)?;
    document.changes = JsonChange::all(&plan);
    if plan.is_empty() {
        bail!(
            "the playbooks for {} find nothing to change; run `wprescue diagnose` for the evidence",
            cause.code()
        );
    }
    let shown = output::rungs(&plan);
    let first = shown.first().map_or(0, |(_, actions)| actions.len());
    if args.dry_run {
        let line = format!(
            "dry run: {} change(s) planned in {} rung(s), none made",
            plan.len(),
            shown.len()
        );
        return out.stop(document, Outcome::Planned, line);
    }
    let question = match shown.len() {
        1 => format!("apply these {first} change(s)?"),
        n => format!(
            "apply rung 1 ({first} change(s)) now, and rungs 2-{n} only if it does not let you in?"
        ),
    };
    if !args.yes && !input::confirm_in(&mut session, &question)? {
        return out.stop(document, Outcome::Declined, "nothing changed");
    }
    let names: Vec<String> = rungs.iter().map(|r| r.playbook.clone()).collect();
    let (outcome, recap) = session.apply(&plan, &names, &run_id, Climb::Verified, &mut out)?;
    document.run_id = Some(run_id.clone());
    document.outcome = outcome;
    document.recap = recap;
    document.undo =
        (outcome == Outcome::Unlocked && recap.changed > 0).then(|| out.undo_command(&run_id));
    document.login_url = out.login_url.clone();
    out.document(&document)?;
    out.finish(outcome)
}
