//! `wprescue rollback` and `wprescue history`: the journal's side of a run.

use crate::engine::{self, Outcome, Session};
use crate::playbook::Playbooks;

use super::args::RollbackArgs;
use super::color::Color;
use super::output::Out;

/// Runs `rollback`: one engine call on a fresh session.
pub fn run(args: &RollbackArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(false, color);
    out.target(&args.target, args.connect.as_given(args.helper));
    let spec = args.connect.session(&args.target, args.helper);
    let mut session = Session::open(spec, Playbooks::builtin()?.catalog(), &mut out)?;
    let outcome = session.rollback(args.run.as_deref(), &mut out)?;
    out.finish(outcome)
}

/// Runs `history`.
pub fn history() -> anyhow::Result<Outcome> {
    let (state_dir, runs) = engine::history()?;
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
