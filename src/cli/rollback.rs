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

/// Seconds since the epoch as `2026-11-29 15:14:58 UTC`.
fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Howard Hinnant's civil-from-days, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_958_013), "2026-11-29 13:13:33 UTC");
    }
}
