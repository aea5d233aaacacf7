//! The part `unlock` and `plan` share: the playbooks that answer the diagnosis, as the
//! ladder's rungs, planned against the live site.

use anyhow::bail;

use crate::engine::{Ladder, Rung, Session};
use crate::playbook::Playbooks;

use super::output::Out;

/// The rungs answering the session's diagnosis, least invasive first, with this run's values,
/// and their plan; a rung that cannot be planned is left out, with the reason.
pub fn plan(
    session: &mut Session,
    playbooks: &Playbooks,
    run_id: &str,
    out: &mut Out,
) -> anyhow::Result<(Vec<Rung>, Ladder)> {
    let report = session.report().expect("unlock and plan investigate");
    let specs: Vec<_> = playbooks
        .answering(report)
        .iter()
        .map(|p| p.rung(Some(&report.inventory)))
        .collect();
    if specs.is_empty() {
        bail!(
            "no playbook answers the cause {}; run `wprescue diagnose` for the evidence and fix it by hand",
            report.diagnosis.cause.code()
        );
    }
    let rungs = session.rungs(specs, run_id, out)?;
    let ladder = session.plan_ladder(&rungs, out)?;
    let planned: Vec<Rung> = rungs
        .into_iter()
        .filter(|r| !ladder.skipped.iter().any(|(s, _)| *s == r.playbook))
        .collect();
    Ok((planned, ladder))
}
