//! `wprescue reset-password TARGET USER` and `wprescue make-admin TARGET USER`: one built-in
//! playbook about one WordPress account, planned and shown like `run`, confirmed, applied with
//! the journal written first, and undone by `wprescue rollback`.

use anyhow::bail;

use crate::engine::{self, Climb, Examine, Outcome, Secret, Session};
use crate::playbook::Playbooks;

use super::args::AccountArgs;
use super::color::Color;
use super::input;
use super::output::{Out, RunDocument};

/// Runs `reset-password`: the new password is proven by a real login with it, or the change
/// is undone.
pub fn reset_password(args: &AccountArgs, color: Color) -> anyhow::Result<Outcome> {
    let password = input::new_password(&args.user)?;
    account(args, color, "reset-password", Some(password))
}

/// Runs `make-admin`.
pub fn make_admin(args: &AccountArgs, color: Color) -> anyhow::Result<Outcome> {
    account(args, color, "make-admin", None)
}

fn account(
    args: &AccountArgs,
    color: Color,
    name: &'static str,
    password: Option<String>,
) -> anyhow::Result<Outcome> {
    if args.site.http.login.is_some() {
        bail!("{name} takes the user as its argument: leave --login out");
    }
    let mut out = Out::new(args.json, color);
    out.target(
        &args.site.target,
        args.site.connect.as_given(args.site.helper),
    );
    let builtin = Playbooks::builtin()?;
    let playbook = builtin.named(name)?.0.clone();
    let mut spec = args.site.session(Examine::Survey, true)?;
    // The verifier proves a new password with a real login.
    spec.options.login = password.clone().map(|p| (args.user.clone(), p));
    let mut session = Session::open(spec, builtin.catalog(), &mut out)?;
    let run_id = engine::new_run_id();
    let mut rungs = session.rungs(vec![playbook.rung(session.inventory())], &run_id, &mut out)?;
    for rung in &mut rungs {
        rung.vars.user = Some(args.user.clone());
        rung.vars.new_password = password.clone().map(Secret::new);
    }
    let plan = session.plan(&rungs)?;
    out.plan(&plan, true)?;
    let document = RunDocument::planned(name, session.place().0, &plan);
    if plan.is_empty() {
        let line = format!("nothing to change for user {}", args.user);
        return out.stop(document, Outcome::NothingToDo, line);
    }
    if args.dry_run {
        let line = format!("dry run: {} change(s) planned, none made", plan.len());
        return out.stop(document, Outcome::Planned, line);
    }
    if !input::confirmed(args.yes, &mut session, plan.len())? {
        return out.stop(document, Outcome::Declined, "nothing changed");
    }
    let climb = match password {
        Some(_) => Climb::Verified,
        None => Climb::Unverified,
    };
    let names = [playbook.name.clone()];
    let (outcome, recap) = session.apply(&plan, &names, &run_id, climb, &mut out)?;
    out.document(&RunDocument {
        run_id: Some(run_id.clone()),
        outcome,
        recap,
        undo: (recap.changed > 0 && outcome != Outcome::RolledBack)
            .then(|| out.undo_command(&run_id)),
        ..document
    })?;
    out.finish(outcome)
}
