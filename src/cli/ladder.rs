//! The part `unlock` and `plan` share: the investigated session, and the playbooks that
//! answer the diagnosis, as the ladder's rungs, planned against the live site.

use anyhow::bail;

use crate::engine::{Examine, Ladder, Rung, Session};
use crate::playbook::Playbooks;
use crate::site::diagnosis::Cause;

use super::args::SiteArgs;
use super::diagnose::{next_step, say_cause};
use super::output::Out;

/// The session `unlock` and `plan` share: connected, investigated, ready to change the site;
/// the cause is said as soon as it is known.
pub fn open(site: &SiteArgs, out: &mut Out) -> anyhow::Result<(Playbooks, Session, Cause)> {
    out.target(&site.target, site.connect.as_given(site.helper));
    out.site_url(site.url.as_deref());
    let playbooks = Playbooks::builtin()?;
    let spec = site.session(Examine::Investigate, true)?;
    let session = Session::open(spec, playbooks.catalog(), out)?;
    let cause = session
        .report()
        .expect("the session investigated")
        .diagnosis
        .cause
        .clone();
    say_cause(out, &cause, session.catalog())?;
    Ok((playbooks, session, cause))
}

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
        let cause = report.diagnosis.cause.code();
        match next_step(report, session.catalog()) {
            Some(by_hand) => {
                bail!("no playbook answers the cause {cause} here; by hand: {by_hand}")
            }
            None => bail!(
                "no playbook answers the cause {cause}; run `wprescue diagnose` for the evidence and fix it by hand"
            ),
        }
    }
    let rungs = session.rungs(specs, run_id, out)?;
    let ladder = session.plan_ladder(&rungs, out)?;
    let planned: Vec<Rung> = rungs
        .into_iter()
        .filter(|r| !ladder.skipped.iter().any(|(s, _)| *s == r.playbook))
        .collect();
    Ok((planned, ladder))
}
