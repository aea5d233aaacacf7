//! `wprescue run PLAYBOOK TARGET`: one playbook, whatever the diagnosis, Ansible-style:
//! `--check` plans only, `--diff` shows every file's diff, the run ends with a recap.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::engine::{self, Access, Journal, Rung, Step};
use crate::helper::db::Database;
use crate::playbook::{Playbook, Playbooks, Source};
use crate::site::{site_url, survey};

use super::args::RunArgs;
use super::color::Color;
use super::diagnose::investigate_options;
use super::output::{JsonChange, Out, Outcome, Recap, RunDocument};
use super::recover::{Run, Verifier, say_caller, site_helper, site_ref, sweep_helpers};
use super::{caller, connect, exit};

/// Runs `run`; returns the exit status.
pub fn run(args: &RunArgs, color: Color) -> anyhow::Result<u8> {
    let out = Out {
        json: args.json,
        color,
    };
    let builtin = Playbooks::builtin()?;
    let mine = load(&args.playbook, &builtin)?;
    let playbook: &Playbook = match &mine {
        Some(set) => set.iter().next().expect("one playbook loaded"),
        None => builtin.get(&args.playbook).expect("checked by load").0,
    };
    let catalog = builtin.catalog();
    let options = investigate_options(&args.site)?;
    let mut transport = connect::open(&args.site.target, &args.site.connect)?;
    let t = transport.as_mut();
    let inventory = survey(t, &catalog, args.site.site.as_deref())?;
    sweep_helpers(t, &inventory.root.path, &out)?;
    // Only http_check and database steps need the address; a site without one can still run
    // the rest.
    let url = site_url(args.site.url.as_deref(), &inventory).ok();
    let site = url
        .as_ref()
        .and_then(|(url, _)| site_ref(&inventory.root, url));
    let helper = match &site {
        Some(site) => Some(site_helper(
            t,
            site.clone(),
            &options.http,
            args.site.helper,
        )?),
        None => None,
    };
    let ip = match (&helper, &url) {
        (Some(helper), Some((url, _))) if playbook.steps.iter().any(Step::needs_ip) => {
            let found = caller::find(args.site.ip, helper, t, url, options.http.bind);
            say_caller(&found, &out)?;
            Some(found.ip)
        }
        _ => args.site.ip,
    };

    let run_id = Journal::new_run_id();
    let vars = playbook.vars(&inventory, &run_id, ip);
    let rung = Rung {
        playbook: &playbook.name,
        steps: &playbook.steps,
        vars: &vars,
    };
    let db = helper.as_ref().map(|h| h as &dyn Database);
    let mut access = Access {
        files: &mut *t,
        db,
        web: None,
    };
    let plan = engine::plan(&mut access, &[rung])?;
    if crate::interrupt::requested() {
        bail!("interrupted while planning: nothing was changed");
    }
    out.plan(&plan, args.diff)?;
    let mut document = RunDocument {
        version: 1,
        command: "run",
        origin: t.origin().to_owned(),
        cause: None,
        caller: ip,
        run_id: None,
        changes: JsonChange::all(&plan),
        outcome: Outcome::Planned,
        recap: Recap::default(),
        undo: None,
    };
    let mutating = plan.iter().filter(|p| p.change.mutates()).count();
    if args.check {
        out.line(format_args!(
            "check: {mutating} change(s) to make, none made"
        ))?;
        out.document(&document)?;
        return Ok(if mutating > 0 {
            exit::CHANGES_PLANNED
        } else {
            exit::OK
        });
    }
    if plan.is_empty() {
        out.line("nothing to change")?;
        document.outcome = Outcome::NothingToDo;
        out.document(&document)?;
        return Ok(exit::OK);
    }
    let verifier = url.as_ref().map(|(url, _)| Verifier {
        url,
        options: &options,
        catalog: &catalog,
    });
    let mut run = Run {
        t,
        target: &args.site.target,
        run_id: &run_id,
        wp_root: &vars.wp_root,
        db: db.zip(site),
        verifier,
        climb: false,
        out,
    };
    let (outcome, recap) = run.apply(&plan, std::slice::from_ref(&playbook.name))?;
    let undo = run.undo_command();
    out.document(&RunDocument {
        run_id: Some(run_id.clone()),
        outcome,
        recap,
        undo: Some(undo),
        ..document
    })?;
    Ok(exit::OK)
}

/// The user's playbook file, if `name` is one; `None` for a built-in (checked to exist).
fn load(name: &str, builtin: &Playbooks) -> anyhow::Result<Option<Playbooks>> {
    let path = Path::new(name);
    let looks_like_file = name.ends_with(".yaml") || name.ends_with(".yml") || name.contains('/');
    if !looks_like_file {
        if builtin.get(name).is_some() {
            return Ok(None);
        }
        let names: Vec<&str> = builtin.iter().map(|p| p.name.as_str()).collect();
        bail!(
            "no built-in playbook {name:?} (there are: {}); to run your own, give its file, e.g. ./{name}.yaml",
            names.join(", ")
        );
    }
    let yaml = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the playbook {}", path.display()))?;
    let mut set = Playbooks::default();
    set.load(Source::File(PathBuf::from(name)), &yaml)?;
    Ok(Some(set))
}
