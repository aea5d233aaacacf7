//! `wprescue plan -o FILE`: what `unlock` would do, saved for `wprescue apply`.

use crate::engine::saved_plan::SavedPlan;
use crate::engine::{self, Outcome};

use super::args::PlanArgs;
use super::color::Color;
use super::ladder;
use super::output::Out;

/// Runs `plan`.
pub fn run(args: &PlanArgs, color: Color) -> anyhow::Result<Outcome> {
    let mut out = Out::new(false, color);
    let (playbooks, mut session, cause) = ladder::open(&args.site, &mut out)?;
    if !cause.is_lockout() {
        out.line("nothing to unlock; no plan saved")?;
        return out.finish(Outcome::NothingToDo);
    }
    let run_id = engine::new_run_id();
    let (rungs, ladder) = ladder::plan(&mut session, &playbooks, &run_id, &mut out)?;
    let plan = ladder.planned;
    out.plan(&plan, true)?;
    if plan.is_empty() {
        out.line("nothing to change; no plan saved")?;
        return out.finish(Outcome::NothingToDo);
    }
    let caller = rungs.iter().find_map(|r| r.vars.ip);
    let yaml_of = |name: &str| {
        playbooks
            .get(name)
            .map(|(_, yaml)| yaml.to_owned())
            .unwrap_or_default()
    };
    let saved = SavedPlan::new(&mut session, cause.code(), &rungs, &plan, caller, yaml_of)?;
    saved.write(&args.out)?;
    out.line(format_args!(
        "saved {} change(s) to {}; apply with: wprescue apply {}",
        plan.len(),
        args.out.display(),
        args.out.display()
    ))?;
    out.finish(Outcome::Planned)
}
