//! Terraform's saved plan: what `plan -o FILE` writes and `apply FILE` reads. The file holds
//! what to run (each rung's playbook YAML and template values) and fingerprints of every path
//! the plan touches, but no file contents and no secrets; applying re-plans and refuses unless
//! the site and the resulting changes are exactly as they were.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::http::HttpOptions;
use crate::site::InvestigateOptions;
use crate::transport::RemotePath;

use super::EngineError;
use super::fingerprint::Fingerprint;
use super::journal::{Journal, SiteRef};
use super::plan::{Planned, Rung};
use super::session::{Examine, Session, SessionSpec};
use super::vars::Vars;

/// The version of the plan file's shape.
const PLAN_VERSION: u32 = 1;

/// A saved plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    wprescue_plan: u32,
    created: u64,
    /// The target as typed.
    pub target: String,
    origin: String,
    root: String,
    /// The diagnosed cause's code.
    pub cause: String,
    /// The run the plan will be applied as.
    pub run_id: String,
    wp_root: String,
    url: String,
    bind: Option<IpAddr>,
    http_timeout: u64,
    /// The WordPress user to log in as when verifying; the password is asked again.
    pub login: Option<String>,
    /// The caller's address the allow-list changes were planned for.
    pub ip: Option<IpAddr>,
    /// How the database was reached, when it was.
    site: Option<SiteRef>,
    /// The site's WordPress version, which decides how new rows are written.
    #[serde(default)]
    wp_version: Option<String>,
    /// The site's table prefix (`{table_prefix}`).
    #[serde(default)]
    table_prefix: Option<String>,
    /// The rungs, least invasive first.
    pub rungs: Vec<SavedRung>,
    fingerprints: Vec<Fingerprint>,
    changes: Vec<SavedChange>,
}

/// One rung of a saved plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRung {
    /// The playbook's name.
    pub playbook: String,
    /// The playbook as it was when the plan was made.
    pub yaml: String,
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

impl SavedPlan {
    /// How many changes the plan makes.
    pub fn change_count(&self) -> usize {
        self.changes.len()
    }

    /// The plan `planned` of `rungs`, made in `session` for the cause `cause`; `yaml_of` gives
    /// each rung's playbook text. Takes the fingerprints of every path it touches.
    pub fn new(
        session: &mut Session,
        cause: &str,
        rungs: &[Rung],
        planned: &[Planned],
        caller: Option<IpAddr>,
        yaml_of: impl Fn(&str) -> String,
    ) -> Result<SavedPlan, EngineError> {
        let changes: Vec<_> = planned.iter().map(|p| p.action.clone()).collect();
        let fingerprints = session.fingerprints(&changes)?;
        let (origin, root) = session.place();
        let options = session.options().clone();
        let wp_root = rungs
            .first()
            .map_or(String::new(), |r| r.vars.wp_root.as_str().to_owned());
        Ok(SavedPlan {
            wprescue_plan: PLAN_VERSION,
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            target: session.target().to_owned(),
            origin,
            root,
            cause: cause.to_owned(),
            run_id: rungs
                .first()
                .map_or(String::new(), |r| r.vars.run_id.clone()),
            wp_root,
            url: session.url().unwrap_or_default().to_owned(),
            bind: options.http.bind,
            http_timeout: options.http.timeout.as_secs(),
            login: options.login.as_ref().map(|(user, _)| user.clone()),
            ip: caller,
            site: session.site_ref(),
            wp_version: rungs.first().and_then(|r| r.vars.wp_version.clone()),
            table_prefix: rungs.first().and_then(|r| r.vars.table_prefix.clone()),
            rungs: rungs
                .iter()
                .map(|rung| SavedRung {
                    yaml: yaml_of(&rung.playbook),
                    playbook: rung.playbook.clone(),
                    plugin_folder: rung.vars.plugin_folder.clone(),
                    ip: rung.vars.ip,
                })
                .collect(),
            fingerprints,
            changes: planned
                .iter()
                .map(|p| SavedChange {
                    playbook: p.playbook.clone(),
                    action: p.action.describe(),
                    digest: p.action.digest(),
                })
                .collect(),
        })
    }

    /// Reads a plan written by [`SavedPlan::write`].
    pub fn read(path: &Path) -> Result<SavedPlan, EngineError> {
        let unusable = |why: String| EngineError::BadPlan {
            path: path.display().to_string(),
            why,
        };
        let bytes = fs::read(path).map_err(|e| unusable(format!("cannot read it: {e}")))?;
        let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|e| {
            unusable(format!(
                "not a plan written by `wprescue plan -o FILE` ({e})"
            ))
        })?;
        Journal::check_run_id(&saved.run_id)?;
        if saved.wprescue_plan != PLAN_VERSION {
            return Err(unusable(format!(
                "a version {} plan; this wprescue reads version {PLAN_VERSION}: make a new plan",
                saved.wprescue_plan
            )));
        }
        Ok(saved)
    }

    /// Writes the plan to `path` through a temporary file in the same folder (mode 0600,
    /// synced, then renamed), so a crash leaves the old file or the new one, never half.
    pub fn write(&self, path: &Path) -> Result<(), EngineError> {
        let data = serde_json::to_vec_pretty(self)?;
        write_private(path, &data).map_err(|e| EngineError::BadPlan {
            path: path.display().to_string(),
            why: format!("cannot save it: {e}"),
        })
    }

    /// The session that applies the plan: the same target, site and HTTP settings, examining
    /// nothing (the fingerprints say whether the site is still as it was).
    pub fn session_spec(
        &self,
        mut spec: SessionSpec,
        login: Option<(String, String)>,
    ) -> SessionSpec {
        spec.target = self.target.clone();
        spec.examine = Examine::Nothing;
        spec.changes = true;
        spec.options = InvestigateOptions {
            site: None,
            url: Some(self.url.clone()),
            http: HttpOptions {
                bind: self.bind,
                timeout: Duration::from_secs(self.http_timeout),
            },
            login,
        };
        spec
    }

    /// Checks that `session` reaches the site the plan was made for, still as it was, and
    /// makes its database reachable the way it was.
    pub fn reattach(
        &self,
        session: &mut Session,
        obs: &mut dyn super::Observer,
    ) -> Result<(), EngineError> {
        let (origin, root) = session.place();
        if origin != self.origin || root != self.root {
            return Err(EngineError::Stale {
                path: format!("{origin}{root}"),
                why: format!(
                    "the plan is for {}{}, but {} now reaches {origin}{root}",
                    self.origin, self.root, self.target
                ),
            });
        }
        session.check_fingerprints(&self.fingerprints)?;
        if let Some(site) = &self.site {
            session.attach(site.clone(), obs)?;
        }
        Ok(())
    }

    /// The template values of `rung`, as they were when the plan was made.
    pub fn vars(&self, rung: &SavedRung) -> Result<Vars, EngineError> {
        Ok(Vars {
            run_id: self.run_id.clone(),
            wp_root: RemotePath::new(&self.wp_root)?,
            plugin_folder: rung.plugin_folder.clone(),
            ip: rung.ip,
            wp_version: self.wp_version.clone(),
            user: self.login.clone(),
            site_url: Some(self.url.trim_end_matches('/').to_owned()),
            table_prefix: self.table_prefix.clone(),
            new_password: None,
        })
    }

    /// Refuses a fresh plan that would make other changes than the saved one.
    pub fn check_changes(&self, fresh: &[Planned]) -> Result<(), EngineError> {
        let then = self.changes.iter().map(|c| c.digest.as_str());
        if fresh
            .iter()
            .map(|p| p.action.digest())
            .eq(then.map(str::to_owned))
        {
            return Ok(());
        }
        Err(EngineError::Stale {
            path: self.wp_root.clone(),
            why: "the playbooks would now make other changes than the saved plan shows".into(),
        })
    }
}

/// Writes `data` to `path` through a temporary file in the same folder (mode 0600, synced,
/// then renamed).
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
