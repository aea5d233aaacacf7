//! A run of changes: under the site's lock, with the journal written first, rung by rung;
//! after each rung, asks the site as the caller whether the admin gets in, and climbs to the
//! next rung or, after the last one, rolls everything back. And the other way: undoing a run
//! from its journal, in a fresh process.

use crate::interrupt;
use crate::transport::RemotePath;

use super::access::Access;
use super::check::Web;
use super::journal::Journal;
use super::lock::SiteLock;
use super::observer::{Event, Observer};
use super::outcome::{Outcome, Recap};
use super::plan::Planned;
use super::rollback::{Undone, rollback};
use super::session::Session;
use super::verify::Verifier;
use super::{EngineError, apply, pieces};

/// How a run applies its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Climb {
    /// `unlock`, `apply`: verify after each rung; climb on, or roll back after the last.
    Verified,
    /// `run`: apply every rung, verify nothing (its own `http_check` steps aside).
    Unverified,
}

impl Session {
    /// Applies `plan`, one rung at a time in `rungs` order, as run `run_id`: the journal is
    /// created and the site locked first. On an error, everything applied so far is rolled
    /// back before the error is returned; on Ctrl-C, what was made stays, journaled.
    pub fn apply(
        &mut self,
        plan: &[Planned],
        rungs: &[String],
        run_id: &str,
        climb: Climb,
        obs: &mut dyn Observer,
    ) -> Result<(Outcome, Recap), EngineError> {
        let wp_root = match self.inventory() {
            Some(inventory) => inventory.root.path.clone(),
            None => match self.site_ref() {
                Some(site) => RemotePath::new(&site.wp_root)?,
                None => RemotePath::new("")?,
            },
        };
        let state_dir = Journal::state_dir()?;
        let (origin, root) = self.place();
        let mut journal = Journal::create(&state_dir, run_id, &origin, &root, rungs.to_vec())?;
        obs.event(Event::JournalOpened {
            run_id,
            dir: &state_dir.join("runs").join(run_id),
        });
        if let Some(site) = self.site_ref().filter(|_| self.has_database()) {
            journal.site(site)?;
        }
        let lock_path = SiteLock::path(&wp_root)?;
        journal.lock(lock_path.as_str())?;
        let lock = match SiteLock::acquire(self.transport(), &wp_root, run_id) {
            Ok(lock) => lock,
            Err(e) => {
                journal.unlock()?;
                return Err(e);
            }
        };
        crate::fault::point("locked");
        let verifier = self.verifier();
        let web = verifier.as_ref().map(|v| v.web());
        let verify = verifier.as_ref().filter(|_| climb == Climb::Verified);
        let mut run = Run {
            access: self.access(),
            web: web.as_ref(),
            journal: &mut journal,
            obs,
            run_id,
            recap: Recap::default(),
        };
        let result = run.climb(plan, rungs, verify);
        lock.release(self.transport())?;
        journal.unlock()?;
        result
    }

    /// Undoes run `run_id` (the newest on this site when `None`) from its journal alone, and
    /// removes a lock the run left behind. A change that cannot be undone safely is reported
    /// and left; the result is then an error, once the rest is undone.
    pub fn rollback(
        &mut self,
        run_id: Option<&str>,
        obs: &mut dyn Observer,
    ) -> Result<Outcome, EngineError> {
        let state_dir = Journal::state_dir()?;
        let (origin, root) = self.place();
        let run_id = match run_id {
            Some(run) => run.to_owned(),
            None => {
                Journal::latest(&state_dir, &origin, &root)?.ok_or_else(|| EngineError::NoRuns {
                    place: format!("{origin}{root}"),
                    state_dir: state_dir.clone(),
                })?
            }
        };
        let mut journal = Journal::open(&state_dir, &run_id)?;
        let info = journal.info();
        if info.origin != origin || info.root != root {
            return Err(EngineError::OtherSite {
                run_id,
                changed: format!("{}{}", info.origin, info.root),
                here: format!("{origin}{root}"),
            });
        }
        obs.event(Event::RunChosen { run_id: &run_id });
        // A run that changed rows recorded how to reach the database; the helper runs the way
        // this session allows.
        if let Some(site) = journal.site_ref()? {
            self.attach(site, obs)?;
        }
        let undone = undo(&mut self.access(), &mut journal, obs);
        // A run that died holding the site's lock would block the next one for half an hour.
        if let Some(lock) = journal.held_lock()? {
            if SiteLock::clear_if_held_by(self.transport(), &RemotePath::new(&lock)?, &run_id)? {
                obs.event(Event::LockRemoved { path: &lock });
            }
            journal.unlock()?;
        }
        undone.map(|_| Outcome::Undone)
    }
}

/// One run in progress.
struct Run<'s, 'o> {
    access: Access<'s>,
    web: Option<&'s Web>,
    journal: &'s mut Journal,
    obs: &'o mut dyn Observer,
    run_id: &'s str,
    recap: Recap,
}

impl Run<'_, '_> {
    /// Applies the rungs in order. With a verifier, asks after each whether the admin gets in,
    /// stops at the first that lets them in, and rolls everything back when none does.
    fn climb(
        &mut self,
        plan: &[Planned],
        rungs: &[String],
        verifier: Option<&Verifier>,
    ) -> Result<(Outcome, Recap), EngineError> {
        for rung in rungs {
            let changes: Vec<_> = plan
                .iter()
                .filter(|p| &p.playbook == rung)
                .map(|p| p.action.clone())
                .collect();
            if changes.is_empty() {
                continue;
            }
            self.apply_rung(rung, &changes)?;
            let Some(verifier) = verifier else {
                continue;
            };
            self.obs.busy("checking as the caller");
            let admin_gets_in = verifier.admin_gets_in();
            self.obs.idle();
            if admin_gets_in {
                self.obs.event(Event::Unlocked {
                    real_login: verifier.logs_in(),
                });
                return Ok(self.finish(Outcome::Unlocked));
            }
            self.obs.event(Event::NotYet { rung });
        }
        if verifier.is_none() {
            return Ok(self.finish(Outcome::Applied));
        }
        self.obs.event(Event::StillRefused);
        self.recap.failed += 1;
        self.recap.undone = undo(&mut self.access, self.journal, self.obs)?.undone;
        self.obs.event(Event::Recap(self.recap));
        Ok((Outcome::RolledBack, self.recap))
    }

    /// The run ends with its changes in place: the recap, and how to undo them.
    fn finish(&mut self, outcome: Outcome) -> (Outcome, Recap) {
        self.obs.event(Event::Recap(self.recap));
        self.obs.event(Event::Undoable {
            run_id: self.run_id,
        });
        (outcome, self.recap)
    }

    /// One rung's changes, in the pieces [`apply`] makes at once, with progress between them.
    fn apply_rung(&mut self, rung: &str, changes: &[super::Action]) -> Result<(), EngineError> {
        let mut done = 0;
        for chunk in pieces(changes) {
            if interrupt::requested() {
                return Err(self.interrupted());
            }
            self.obs.progress(rung, done, changes.len());
            let mut access = Access {
                files: &mut *self.access.files,
                db: self.access.db,
                web: self.web,
            };
            match apply(&mut access, self.journal, chunk) {
                Ok(altered) => {
                    self.recap.changed += altered;
                    self.recap.ok += chunk.len() - altered;
                }
                Err(_) if interrupt::requested() => return Err(self.interrupted()),
                Err(e) => {
                    self.recap.failed += 1;
                    self.obs.event(Event::ChangeFailed(&e));
                    self.recap.undone = undo(&mut self.access, self.journal, self.obs)?.undone;
                    self.obs.event(Event::Recap(self.recap));
                    return Err(e);
                }
            }
            done += chunk.len();
        }
        self.obs.progress(rung, done, changes.len());
        self.obs.event(Event::RungApplied {
            rung,
            changes: changes.len(),
        });
        Ok(())
    }

    /// Ctrl-C: stop between changes, leave what was made (journaled) and say how to undo it.
    fn interrupted(&mut self) -> EngineError {
        self.obs.event(Event::Recap(self.recap));
        self.obs.event(Event::Undoable {
            run_id: self.run_id,
        });
        EngineError::Interrupted {
            changed: self.recap.changed,
            run_id: Some(self.run_id.to_owned()),
        }
    }
}

/// Rolls `journal` back and says what happened; a change that cannot be undone safely is
/// reported and left, and makes the result an error once the rest is undone.
fn undo(
    access: &mut Access<'_>,
    journal: &mut Journal,
    obs: &mut dyn Observer,
) -> Result<Undone, EngineError> {
    let report = rollback(access, journal)?;
    obs.event(Event::RolledBack {
        undone: report.undone,
        conflicts: &report.conflicts,
    });
    if report.conflicts.is_empty() {
        return Ok(report);
    }
    Err(EngineError::NotUndone {
        run_id: journal.info().run_id.clone(),
        left: report.conflicts.len(),
    })
}
