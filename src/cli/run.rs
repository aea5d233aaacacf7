//! `wprescue run PLAYBOOK TARGET`: one playbook, whatever the diagnosis, Ansible-style:
//! `--check` plans only, `--diff` shows every file's diff, the run ends with a recap.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::engine::{self, Climb, Examine, Outcome, Session};
use crate::playbook::{Playbook, Playbooks, Source};

use super::args::RunArgs;
use super::color::Color;
use super::input;
use super::output::{Out, RunDocument};

/// Runs `run`.
pub fn run(args: &RunArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(args.json, color);
    out.target(
        &args.site.target,
        args.site.connect.as_given(args.site.helper),
    );
    let builtin = Playbooks::builtin()?;
    let playbook = load(&args.playbook, &builtin)?;
    let spec = args.site.session(Examine::Survey, true)?;
    let mut session = Session::open(spec, builtin.catalog(), &mut out)?;
    let run_id = engine::new_run_id();
    let spec = playbook.rung(session.inventory());
    let rungs = session.rungs(vec![spec], &run_id, &mut out)?;
    let plan = session.plan(&rungs)?;
    out.plan(&plan, args.diff)?;
    let document = RunDocument {
        caller: rungs[0].vars.ip,
        ..RunDocument::planned("run", session.place().0, &plan)
    };
    let mutating = plan.iter().filter(|p| p.action.mutates()).count();
    if args.check {
        let outcome = if mutating > 0 {
            Outcome::Planned
        } else {
            Outcome::NothingToDo
        };
        let line = format!("check: {mutating} change(s) to make, none made");
        return out.stop(document, outcome, line);
    }
    if plan.is_empty() {
        return out.stop(document, Outcome::NothingToDo, "nothing to change");
    }
    if !input::confirmed(args.yes, &mut session, plan.len())? {
        return out.stop(document, Outcome::Declined, "nothing changed");
    }
    let names = [playbook.name.clone()];
    let (outcome, recap) = session.apply(&plan, &names, &run_id, Climb::Unverified, &mut out)?;
    out.document(&RunDocument {
        run_id: Some(run_id.clone()),
        outcome,
        recap,
        undo: Some(out.undo_command(&run_id)),
        ..document
    })?;
    out.finish(outcome)
}

/// The playbook `name` names: the user's file, if it looks like one, else a built-in.
fn load(name: &str, builtin: &Playbooks) -> anyhow::Result<Playbook> {
    let path = Path::new(name);
    let looks_like_file = name.ends_with(".yaml") || name.ends_with(".yml") || name.contains('/');
    if !looks_like_file {
        return Ok(builtin.named(name)?.0.clone());
    }
    let yaml = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the playbook {}", path.display()))?;
    Ok(Playbook::parse(&yaml, Source::File(PathBuf::from(name)))?)
}
