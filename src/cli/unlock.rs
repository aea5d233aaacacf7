//! `wprescue unlock` and `wprescue rollback`.

use std::io::{IsTerminal, Write};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::engine::{self, Journal, Planned, SiteLock, Vars};
use crate::http::HttpClient;
use crate::playbook::{Playbook, Playbooks};
use crate::site::catalog::Catalog;
use crate::site::diagnosis::{Cause, LoginCheck, diagnose};
use crate::site::inventory::{PluginState, Presence};
use crate::site::probe::{is_logged_in, probe_site, try_login};
use crate::site::signature::recognise;
use crate::site::{InvestigateOptions, Report, investigate};
use crate::transport::Transport;

use super::args::{RollbackArgs, UnlockArgs};
use super::color::Color;
use super::diagnose::{investigate_options, summary};
use super::{connect, exit};

/// How long verification keeps asking: PHP may run a renamed file from opcache for ~2 s.
const VERIFY_FOR: Duration = Duration::from_secs(8);

/// Runs `unlock`; returns the exit status.
pub fn run(args: &UnlockArgs, color: Color) -> anyhow::Result<u8> {
    let playbooks = Playbooks::builtin()?;
    let catalog = playbooks.catalog();
    let options = investigate_options(&args.site)?;
    let mut transport = connect::open(&args.site.target, &args.site.connect)?;
    let t = transport.as_mut();
    let report = investigate(t, &catalog, &options)?;
    let cause = &report.diagnosis.cause;
    say!(
        "{} {}: {}",
        color.label("cause"),
        cause.code(),
        summary(cause, &catalog)
    );
    if !cause.is_lockout() {
        say!("nothing to unlock");
        return Ok(exit::OK);
    }
    let rungs = choose(&playbooks, &report);
    if rungs.is_empty() {
        bail!(
            "no playbook answers the cause {}; run `wprescue diagnose` for the evidence and fix it by hand",
            cause.code()
        );
    }
    let run_id = Journal::new_run_id();
    let vars = Vars {
        run_id: run_id.clone(),
        wp_root: report.inventory.root.path.clone(),
        plugin_folder: plugin_folder(&report),
    };
    let steps: Vec<(&str, &[engine::Step])> = rungs
        .iter()
        .map(|p| (p.name.as_str(), p.steps.as_slice()))
        .collect();
    let plan = engine::plan(t, &steps, &vars)?;
    print_plan(&plan, color)?;
    if plan.is_empty() {
        say!("the playbooks find nothing to change; see `wprescue diagnose` for the evidence");
        return Ok(exit::ERROR);
    }
    if args.dry_run {
        say!("dry run: {} change(s) planned, none made", plan.len());
        return Ok(exit::CHANGES_PLANNED);
    }
    if !args.yes && !confirm(plan.len())? {
        say!("nothing changed");
        return Ok(exit::OK);
    }
    let lock = SiteLock::acquire(t, &vars.wp_root, &run_id)?;
    let outcome = climb(
        t,
        &rungs,
        &plan,
        &report,
        &options,
        &catalog,
        &args.site.target,
        &run_id,
        color,
    );
    lock.release(t)?;
    outcome
}

/// Applies the plan one rung (playbook) at a time, journaled, verifying after each; rolls
/// everything back if the admin still cannot get in.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
fn climb(
    t: &mut dyn Transport,
    rungs: &[&Playbook],
    plan: &[Planned],
    report: &Report,
    options: &InvestigateOptions,
    catalog: &Catalog,
    target: &str,
    run_id: &str,
    color: Color,
) -> anyhow::Result<u8> {
    let state_dir = Journal::state_dir()?;
    let names = rungs.iter().map(|p| p.name.clone()).collect();
    let mut journal = Journal::create(&state_dir, run_id, t.origin(), t.root(), names)?;
    say!(
        "run {run_id}: journal in {}",
        state_dir.join("runs").join(run_id).display()
    );
    let mut changed = 0;
    for rung in rungs {
        let changes: Vec<_> = plan
            .iter()
            .filter(|p| p.playbook == rung.name)
            .map(|p| p.change.clone())
            .collect();
        if changes.is_empty() {
            continue;
        }
        match engine::apply(t, &mut journal, &changes) {
            Ok(n) => changed += n,
            Err(e) => {
                eprintln!("{} {e}; rolling back", color.error("error:"));
                undo(t, &mut journal, color)?;
                return Err(e.into());
            }
        }
        say!(
            "{} {} ({} change(s)); checking as the caller…",
            color.label("applied"),
            rung.name,
            changes.len()
        );
        if verify(report, options, catalog) {
            say!(
                "{} the admin can get in again. recap: changed={changed} failed=0. Undo with: wprescue rollback {target} --run {run_id}",
                color.good("unlocked:"),
            );
            return Ok(exit::OK);
        }
    }
    say!(
        "{} the site still refuses; rolling back",
        color.warn("not unlocked:")
    );
    undo(t, &mut journal, color)?;
    Ok(exit::VERIFY_FAILED)
}

/// Runs `rollback`; returns the exit status.
pub fn rollback(args: &RollbackArgs, color: Color) -> anyhow::Result<u8> {
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
    say!("run {run_id}");
    undo(t, &mut journal, color)?;
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

fn undo(t: &mut dyn Transport, journal: &mut Journal, color: Color) -> anyhow::Result<()> {
    let undone = engine::rollback(t, journal)?;
    say!("{} {undone} change(s) undone", color.label("rolled back:"));
    Ok(())
}

/// The playbooks that answer the diagnosis, in file order: the ladder's rungs.
fn choose<'a>(playbooks: &'a Playbooks, report: &Report) -> Vec<&'a Playbook> {
    let missing_prepend = report
        .inventory
        .prepends
        .iter()
        .find(|p| matches!(p.presence, Presence::Missing(_)))
        .map(|p| p.target.as_str());
    playbooks
        .iter()
        .filter(|p| p.applies_to(&report.diagnosis.cause, missing_prepend))
        .collect()
}

/// The blocking plugin's folder, relative to the WordPress root.
fn plugin_folder(report: &Report) -> Option<String> {
    let plugin = report.diagnosis.cause.plugin()?;
    let root = report.inventory.root.path.as_str();
    let found = report
        .inventory
        .plugins
        .iter()
        .find(|p| p.id == plugin && p.state == PluginState::Installed)?;
    let folder = found.folder.as_str();
    Some(match folder.strip_prefix(root) {
        Some(rest) if !root.is_empty() => rest.trim_start_matches('/').to_owned(),
        _ => folder.to_owned(),
    })
}

fn print_plan(plan: &[Planned], color: Color) -> std::io::Result<()> {
    say!("{}", color.label("plan:"));
    for planned in plan {
        say!("  [{}] {}", planned.playbook, planned.change.describe());
        if let Some(diff) = planned.change.diff() {
            for line in diff.lines() {
                let painted = match line.as_bytes().first() {
                    Some(b'+') if !line.starts_with("+++") => color.good(line),
                    Some(b'-') if !line.starts_with("---") => color.error(line),
                    _ => line.to_owned(),
                };
                say!("    {painted}");
            }
        }
    }
    Ok(())
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

/// Asks the site again, as the caller, until it lets the admin in or [`VERIFY_FOR`] passes.
/// With a login to try, success means a real login; without, the pages answering.
fn verify(report: &Report, options: &InvestigateOptions, catalog: &Catalog) -> bool {
    let deadline = Instant::now() + VERIFY_FOR;
    loop {
        let mut client = HttpClient::new(&options.http);
        let probes = probe_site(&client, &report.url.0, catalog);
        let login = options.login.as_ref().and_then(|(user, password)| {
            let response = try_login(&mut client, &report.url.0, user, password).ok()?;
            Some(LoginCheck {
                answerer: recognise(&response, catalog),
                response,
            })
        });
        let recovered = match &login {
            Some(login) => is_logged_in(&login.response),
            None => diagnose(&probes, None, None, catalog).cause == Cause::Reachable,
        };
        if recovered || Instant::now() >= deadline {
            return recovered;
        }
        sleep(Duration::from_millis(700));
    }
}
