//! `wprescue apply FILE`: a saved plan, re-planned and refused unless the site and the changes
//! are exactly as they were, then applied and verified like `unlock`.

use std::path::PathBuf;

use crate::engine::saved_plan::SavedPlan;
use crate::engine::{Climb, Outcome, Rung, Session};
use crate::parse::text::printable;
use crate::playbook::{Playbook, Playbooks, Source};

use super::args::ApplyArgs;
use super::color::Color;
use super::input;
use super::output::{JsonChange, Out, RunDocument};

/// Runs `apply`.
pub fn run(args: &ApplyArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(args.json, color);
    let saved = SavedPlan::read(&args.plan)?;
    out.target(&saved.target, args.connect.as_given(args.helper));
    // The file names where to connect, with this user's credentials: say what it holds and
    // ask before anything connects.
    let rungs: Vec<&str> = saved.rungs.iter().map(|r| r.playbook.as_str()).collect();
    out.line(format_args!(
        "plan {}: cause {}, {} change(s) in {} ({})",
        args.plan.display(),
        printable(&saved.cause),
        saved.change_count(),
        rungs.join(", "),
        saved
            .ip
            .map_or_else(|| "no caller address".to_owned(), |ip| format!("for {ip}")),
    ))?;
    if !args.yes
        && !input::confirm(&format!(
            "connect to {} and apply this plan? (a plan file is trusted like a script)",
            printable(&saved.target)
        ))?
    {
        out.line("nothing changed")?;
        return out.finish(Outcome::Declined);
    }
    let login = match &saved.login {
        Some(user) => Some((user.clone(), input::login_password(user)?)),
        None => None,
    };
    let spec = saved.session_spec(args.connect.session(&saved.target, args.helper)?, login);
    let catalog = Playbooks::builtin()?.catalog();
    let mut session = Session::open(spec, catalog, &mut out)?;
    saved.reattach(&mut session, &mut out)?;
    let mut rungs = Vec::new();
    for rung in &saved.rungs {
        let source = Source::File(PathBuf::from(format!(
            "{} (playbook {})",
            args.plan.display(),
            rung.playbook
        )));
        let playbook = Playbook::parse(&rung.yaml, source)?;
        rungs.push(Rung {
            vars: saved.vars(rung)?,
            playbook: playbook.name,
            steps: playbook.steps,
        });
    }
    let plan = session.plan(&rungs)?;
    saved.check_changes(&plan)?;
    out.plan(&plan, false)?;
    let names: Vec<String> = rungs.iter().map(|r| r.playbook.clone()).collect();
    let (outcome, recap) =
        session.apply(&plan, &names, &saved.run_id, Climb::Verified, &mut out)?;
    out.document(&RunDocument {
        version: 1,
        command: "apply",
        origin: session.place().0,
        cause: Some(saved.cause.clone()),
        caller: saved.ip,
        run_id: Some(saved.run_id.clone()),
        changes: JsonChange::all(&plan),
        outcome,
        recap,
        undo: (outcome == Outcome::Unlocked && recap.changed > 0)
            .then(|| out.undo_command(&saved.run_id)),
        login_url: out.login_url.clone(),
    })?;
    out.finish(outcome)
}
