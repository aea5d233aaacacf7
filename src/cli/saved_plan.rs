//! `wprescue plan -o FILE` and `wprescue apply FILE`: Terraform's saved plan. The file holds
//! what to run (each playbook's YAML and template values) and fingerprints of every path the
//! plan touches, but no file contents and no secrets; `apply` re-plans and refuses unless the
//! site and the resulting changes are exactly as they were.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::engine::journal::SiteRef;
use crate::engine::{
    self, Access, EngineError, Fingerprint, Journal, Planned, Rung, Vars, fingerprint,
};
use crate::helper::db::Database;
use crate::http::HttpOptions;
use crate::playbook::{Playbooks, Source};
use crate::site::InvestigateOptions;
use crate::transport::RemotePath;

use super::args::{ApplyArgs, PlanArgs};
use super::color::Color;
use super::diagnose::LOGIN_PASSWORD_ENV;
use super::output::{JsonChange, Out, Outcome, RunDocument};
use super::recover::{Run, Session, Verifier, site_helper};
use super::unlock::{LadderPlan, plan_ladder};
use super::{connect, exit, secret_from_env_or_prompt};

/// The version of the plan file's shape.
const PLAN_VERSION: u32 = 1;

/// A saved plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    wprescue_plan: u32,
    created: u64,
    /// The target as typed.
    target: String,
    origin: String,
    root: String,
    cause: String,
    run_id: String,
    wp_root: String,
    url: String,
    bind: Option<IpAddr>,
    http_timeout: u64,
    /// The WordPress user to log in as when verifying; the password is asked again.
    login: Option<String>,
    /// The caller's address the allow-list changes were planned for.
    ip: Option<IpAddr>,
    /// How the database was reached, when it was.
    site: Option<SiteRef>,
    rungs: Vec<SavedRung>,
    fingerprints: Vec<Fingerprint>,
    changes: Vec<SavedChange>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedRung {
    playbook: String,
    yaml: String,
    plugin_folder: Option<String>,
    ip: Option<IpAddr>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedChange {
    playbook: String,
    action: String,
    digest: String,
}

/// Runs `plan`; returns the exit status.
pub fn plan(args: &PlanArgs, color: Color) -> anyhow::Result<u8> {
    let out = Out { json: false, color };
    let mut session = Session::open(&args.site, &out)?;
    let cause = session.report.diagnosis.cause.clone();
    session.say_cause(&out)?;
    if !cause.is_lockout() {
        out.line("nothing to unlock; no plan saved")?;
        return Ok(exit::OK);
    }
    let run_id = Journal::new_run_id();
    let LadderPlan { plan, ip, vars, .. } = plan_ladder(&mut session, &run_id, &out)?;
    out.plan(&plan, true)?;
    if plan.is_empty() {
        out.line("nothing to change; no plan saved")?;
        return Ok(exit::OK);
    }
    let changes: Vec<_> = plan.iter().map(|p| p.change.clone()).collect();
    let fingerprints = fingerprint::take(session.transport.as_mut(), &changes)?;
    let inventory = &session.report.inventory;
    let saved = PlanFile {
        wprescue_plan: PLAN_VERSION,
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        target: args.site.target.clone(),
        origin: session.transport.origin().to_owned(),
        root: session.transport.root().to_owned(),
        cause: cause.code().to_owned(),
        run_id: run_id.clone(),
        wp_root: inventory.root.path.as_str().to_owned(),
        url: session.report.url.0.clone(),
        bind: session.options.http.bind,
        http_timeout: session.options.http.timeout.as_secs(),
        login: session.options.login.as_ref().map(|(user, _)| user.clone()),
        ip,
        site: session.site_ref(),
        rungs: vars
            .into_iter()
            .map(|(name, vars)| SavedRung {
                yaml: session
                    .playbooks
                    .get(&name)
                    .expect("a chosen playbook")
                    .1
                    .to_owned(),
                playbook: name,
                plugin_folder: vars.plugin_folder,
                ip: vars.ip,
            })
            .collect(),
        fingerprints,
        changes: saved_changes(&plan),
    };
    write_private(&args.out, &serde_json::to_vec_pretty(&saved)?)
        .with_context(|| format!("cannot save the plan to {}", args.out.display()))?;
    out.line(format_args!(
        "saved {} change(s) to {}; apply with: wprescue apply {}",
        plan.len(),
        args.out.display(),
        args.out.display()
    ))?;
    Ok(exit::CHANGES_PLANNED)
}

/// Runs `apply`; returns the exit status.
pub fn apply(args: &ApplyArgs, color: Color) -> anyhow::Result<u8> {
    let out = Out {
        json: args.json,
        color,
    };
    let saved = read_plan(&args.plan)?;
    let mut transport = connect::open(&saved.target, &args.connect)?;
    if transport.origin() != saved.origin || transport.root() != saved.root {
        bail!(
            "{} is a plan for {}{}, but {} now reaches {}{}",
            args.plan.display(),
            saved.origin,
            saved.root,
            saved.target,
            transport.origin(),
            transport.root()
        );
    }
    let t = transport.as_mut();
    fingerprint::verify(t, &saved.fingerprints)?;

    let wp_root = RemotePath::new(&saved.wp_root)?;
    let mut playbooks = Playbooks::default();
    let mut vars = Vec::new();
    for rung in &saved.rungs {
        let source = Source::File(PathBuf::from(format!(
            "{} (playbook {})",
            args.plan.display(),
            rung.playbook
        )));
        playbooks.load(source, &rung.yaml)?;
        vars.push(Vars {
            run_id: saved.run_id.clone(),
            wp_root: wp_root.clone(),
            plugin_folder: rung.plugin_folder.clone(),
            ip: rung.ip,
        });
    }
    let rungs: Vec<Rung<'_>> = saved
        .rungs
        .iter()
        .zip(&vars)
        .map(|(rung, vars)| {
            let (playbook, _) = playbooks.get(&rung.playbook).expect("loaded above");
            Rung {
                playbook: &playbook.name,
                steps: &playbook.steps,
                vars,
            }
        })
        .collect();
    let http = HttpOptions {
        bind: saved.bind,
        timeout: Duration::from_secs(saved.http_timeout),
    };
    let helper = match &saved.site {
        Some(site) => Some(site_helper(t, site.clone(), &http, args.helper)?),
        None => None,
    };
    let db = helper.as_ref().map(|h| h as &dyn Database);
    let plan = engine::plan(
        &mut Access {
            files: &mut *t,
            db,
            web: None,
        },
        &rungs,
    )?;
    let then = saved.changes.iter().map(|c| &c.digest);
    if !plan.iter().map(|p| p.change.digest()).eq(then.cloned()) {
        return Err(EngineError::Stale {
            path: saved.wp_root.clone(),
            why: "the playbooks would now make other changes than the saved plan shows".into(),
        }
        .into());
    }
    out.plan(&plan, false)?;

    let catalog = Playbooks::builtin()?.catalog();
    let login = match &saved.login {
        Some(user) => Some((
            user.clone(),
            secret_from_env_or_prompt(
                LOGIN_PASSWORD_ENV,
                &format!("WordPress password for {user}: "),
            )?,
        )),
        None => None,
    };
    let options = InvestigateOptions {
        site: None,
        url: Some(saved.url.clone()),
        http,
        login,
    };
    let verifier = Verifier {
        url: &saved.url,
        options: &options,
        catalog: &catalog,
    };
    let rung_names: Vec<String> = saved.rungs.iter().map(|r| r.playbook.clone()).collect();
    let mut run = Run {
        t,
        target: &saved.target,
        run_id: &saved.run_id,
        wp_root: &wp_root,
        db: db.zip(saved.site.clone()),
        verifier: Some(verifier),
        climb: true,
        out,
    };
    let (outcome, recap) = run.apply(&plan, &rung_names)?;
    let undo = run.undo_command();
    out.document(&RunDocument {
        version: 1,
        command: "apply",
        origin: saved.origin.clone(),
        cause: Some(saved.cause.clone()),
        caller: saved.ip,
        run_id: Some(saved.run_id.clone()),
        changes: JsonChange::all(&plan),
        outcome,
        recap,
        undo: (outcome == Outcome::Unlocked).then_some(undo),
    })?;
    Ok(match outcome {
        Outcome::RolledBack => exit::VERIFY_FAILED,
        _ => exit::OK,
    })
}

fn saved_changes(plan: &[Planned]) -> Vec<SavedChange> {
    plan.iter()
        .map(|p| SavedChange {
            playbook: p.playbook.clone(),
            action: p.change.describe(),
            digest: p.change.digest(),
        })
        .collect()
}

fn read_plan(path: &Path) -> anyhow::Result<PlanFile> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    let saved: PlanFile = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a plan written by `wprescue plan -o FILE`",
            path.display()
        )
    })?;
    if saved.wprescue_plan != PLAN_VERSION {
        bail!(
            "{} is a version {} plan; this wprescue reads version {PLAN_VERSION}: make a new plan",
            path.display(),
            saved.wprescue_plan
        );
    }
    Ok(saved)
}

/// Writes `data` to `path` through a temporary file in the same folder (mode 0600, synced,
/// then renamed), so a crash leaves the old file or the new one, never half of one.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    let written = file.write_all(data).and_then(|()| file.sync_all());
    drop(file);
    match written.and_then(|()| fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}
