//! `wprescue unlock`: diagnose, plan the playbooks that answer the cause, confirm, then climb
//! the ladder (see [`super::recover`]).

use std::io::{IsTerminal, Write};
use std::net::IpAddr;

use anyhow::bail;

use crate::engine::{self, Access, Journal, Planned, Rung, Step, Vars};
use crate::helper::db::Database;
use crate::playbook::Playbook;

use super::args::UnlockArgs;
use super::color::Color;
use super::exit;
use super::output::{JsonChange, Out, Outcome, Recap, RunDocument};
use super::recover::{Run, Session, Verifier};

/// Runs `unlock`; returns the exit status.
pub fn run(args: &UnlockArgs, color: Color) -> anyhow::Result<u8> {
    let out = Out {
        json: args.json,
        color,
    };
    let mut session = Session::open(&args.site, &out)?;
    let cause = session.report.diagnosis.cause.clone();
    session.say_cause(&out)?;
    let mut document = RunDocument {
        version: 1,
        command: "unlock",
        origin: session.report.origin.clone(),
        cause: Some(cause.code().to_owned()),
        caller: None,
        run_id: None,
        changes: Vec::new(),
        outcome: Outcome::NothingToDo,
        recap: Recap::default(),
        undo: None,
    };
    if !cause.is_lockout() {
        out.line("nothing to unlock")?;
        out.document(&document)?;
        return Ok(exit::OK);
    }
    let run_id = Journal::new_run_id();
    let LadderPlan {
        plan, rungs, ip, ..
    } = plan_ladder(&mut session, &run_id, &out)?;
    document.caller = ip;
    out.plan(&plan, true)?;
    document.changes = JsonChange::all(&plan);
    if plan.is_empty() {
        bail!(
            "the playbooks for {} find nothing to change; run `wprescue diagnose` for the evidence",
            cause.code()
        );
    }
    if args.dry_run {
        out.line(format_args!(
            "dry run: {} change(s) planned, none made",
            plan.len()
        ))?;
        document.outcome = Outcome::Planned;
        out.document(&document)?;
        return Ok(exit::CHANGES_PLANNED);
    }
    if !args.yes && !confirm(plan.len())? {
        out.line("nothing changed")?;
        document.outcome = Outcome::Declined;
        out.document(&document)?;
        return Ok(exit::OK);
    }
    let verifier = Verifier {
        url: &session.report.url.0,
        options: &session.options,
        catalog: &session.catalog,
    };
    let wp_root = session.report.inventory.root.path.clone();
    let site_ref = session.site_ref();
    let db = session
        .helper
        .as_ref()
        .zip(site_ref)
        .map(|(h, site)| (h as &dyn Database, site));
    let mut run = Run {
        t: session.transport.as_mut(),
        target: &args.site.target,
        run_id: &run_id,
        wp_root: &wp_root,
        db,
        verifier: Some(verifier),
        climb: true,
        out,
    };
    let (outcome, recap) = run.apply(&plan, &rungs)?;
    let undo = run.undo_command();
    document.run_id = Some(run_id.clone());
    document.outcome = outcome;
    document.recap = recap;
    document.undo = (outcome == Outcome::Unlocked).then_some(undo);
    out.document(&document)?;
    Ok(match outcome {
        Outcome::RolledBack => exit::VERIFY_FAILED,
        _ => exit::OK,
    })
}

/// The playbooks answering the diagnosis (the ladder's rungs, least invasive first) and their
/// plan against the live site, reading only. A rung that cannot be planned is skipped, with
/// the reason. A plan with no change is not an error here.
pub fn plan_ladder(session: &mut Session, run_id: &str, out: &Out) -> anyhow::Result<LadderPlan> {
    let chosen: Vec<String> = session
        .playbooks
        .answering(&session.report)
        .iter()
        .map(|p| p.name.clone())
        .collect();
    if chosen.is_empty() {
        bail!(
            "no playbook answers the cause {}; run `wprescue diagnose` for the evidence and fix it by hand",
            session.report.diagnosis.cause.code()
        );
    }
    // Owned, so that reading a plugin's settings can use the session's connection meanwhile.
    let chosen: Vec<Playbook> = chosen
        .iter()
        .map(|name| session.playbooks.get(name).expect("chosen above").0.clone())
        .collect();
    let needs_ip = chosen.iter().any(|p| p.steps.iter().any(Step::needs_ip));
    let caller = if needs_ip {
        session.caller_ip(out)?
    } else {
        None
    };
    let mut vars: Vec<Vars> = Vec::new();
    for playbook in &chosen {
        let ip = match &caller {
            Some(caller) => Some(session.address_for(playbook, caller, out)?),
            None => None,
        };
        vars.push(playbook.vars(&session.report.inventory, run_id, ip));
    }
    let rungs: Vec<Rung<'_>> = chosen
        .iter()
        .zip(&vars)
        .map(|(p, vars)| Rung {
            playbook: &p.name,
            steps: &p.steps,
            vars,
        })
        .collect();
    let mut access = Access {
        files: session.transport.as_mut(),
        db: session.helper.as_ref().map(|h| h as &dyn Database),
        web: None,
    };
    let engine::Ladder {
        planned: plan,
        skipped,
    } = engine::plan_ladder(&mut access, &rungs)?;
    for (rung, why) in &skipped {
        out.line(format_args!(
            "{} {rung}: {why}",
            out.color.warn("skipping rung")
        ))?;
    }
    if crate::interrupt::requested() {
        bail!("interrupted while planning: nothing was changed");
    }
    let rungs: Vec<String> = chosen
        .iter()
        .map(|p| p.name.clone())
        .filter(|name| !skipped.iter().any(|(s, _)| s == name))
        .collect();
    let ip = caller.map(|c| c.ip);
    let vars = chosen
        .iter()
        .map(|p| p.name.clone())
        .zip(vars)
        .filter(|(name, _)| rungs.contains(name))
        .collect();
    Ok(LadderPlan {
        plan,
        rungs,
        ip,
        vars,
    })
}

/// The plan of the escalation ladder.
pub struct LadderPlan {
    /// Every change, rung after rung.
    pub plan: Vec<Planned>,
    /// The rungs (playbook names) that could be planned, least invasive first.
    pub rungs: Vec<String>,
    /// The caller's address the plan was made for, when a rung needed it.
    pub ip: Option<IpAddr>,
    /// Each planned rung's template values (a plugin that reads a proxy header gets the
    /// address in it).
    pub vars: Vec<(String, Vars)>,
}

fn confirm(count: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to change the site without confirmation: run again with --yes (or --dry-run to only look)"
        );
    }
    write!(std::io::stdout(), "apply these {count} change(s)? [y/N] ")?;
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
