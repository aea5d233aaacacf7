//! A run of changes: under the site's lock, with the journal written first, rung by rung;
//! after each rung, asks the site as the caller whether the admin gets in, and climbs to the
//! next rung or, after the last one, rolls everything back. And the other way: undoing a run
//! from its journal, in a fresh process.

use std::time::Duration;

use crate::interrupt;
use crate::transport::{self, RemotePath};

use super::access::Access;
use super::check::Web;
use super::journal::Journal;
use super::lock::SiteLock;
use super::observer::{Event, Observer};
use super::outcome::{Outcome, Recap};
use super::plan::Planned;
use super::rollback::{Undone, pending, rollback};
use super::session::Session;
use super::verify::{USER_INI_CACHE, VERIFY_FOR, Verifier};
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
        // The plan may have waited on the user for minutes while the site went on: nothing
        // learnt before this point is taken for granted.
        transport::site_may_have_changed();
        let wp_root = match self.inventory() {
            Some(inventory) => inventory.root.path.clone(),
            None => match self.site_ref() {
                Some(site) => RemotePath::new(&site.wp_root)?,
                None => RemotePath::new("")?,
            },
        };
        let state_dir = self.state_dir().to_owned();
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
        let verify = verifier
            .as_ref()
            .filter(|_| climb == Climb::Verified)
            .map(|v| v as &dyn Gate);
        let mut run = Run {
            access: self.access(),
            web: web.as_ref(),
            journal: &mut journal,
            obs,
            run_id,
            recap: Recap::default(),
        };
        let result = run.climb(plan, rungs, verify);
        self.finish_helper_or_warn(obs);
        // A lock that cannot be removed stays in the journal: rollback removes it, from a
        // fresh process.
        match lock.release(self.transport()) {
            Ok(()) => journal.unlock()?,
            Err(e) if result.is_ok() => {
                return Err(EngineError::LockLeft {
                    run_id: run_id.to_owned(),
                    path: lock_path.as_str().to_owned(),
                    source: Box::new(e),
                });
            }
            // The run's own error says more.
            Err(e) => tracing::debug!(error = %e, "the site's lock could not be removed"),
        }
        result
    }

    /// Undoes run `run_id` (the newest on this site when `None`) from its journal alone, and
    /// removes a lock the run left behind. A change that cannot be undone safely is reported
    /// and left; the result is then an error, once the rest is undone. With `dry_run`, only
    /// says what would be put back.
    pub fn rollback(
        &mut self,
        run_id: Option<&str>,
        dry_run: bool,
        obs: &mut dyn Observer,
    ) -> Result<Outcome, EngineError> {
        let state_dir = self.state_dir().to_owned();
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
        if dry_run {
            let pending = pending(&journal)?;
            obs.event(Event::WouldUndo(&pending));
            return Ok(if pending.is_empty() {
                Outcome::NothingToDo
            } else {
                Outcome::Planned
            });
        }
        // What the undoing reads, in one request where the transport can.
        let layout = super::rollback::layout(&journal)?;
        if let Err(e) = self.transport().prefetch(&layout) {
            tracing::debug!(error = %e, "prefetch failed; asking one path at a time");
        }
        // A run that changed rows recorded how to reach the database; the helper runs the way
        // this session allows.
        if let Some(site) = journal.site_ref()? {
            self.attach(site, obs)?;
        }
        obs.busy(&format!("undoing run {run_id}"));
        let undone = undo(&mut self.access(), &mut journal, obs);
        obs.idle();
        self.finish_helper_or_warn(obs);
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

/// What the ladder asks after each rung: does the admin get in now? The [`Verifier`] asks
/// the site over HTTP; tests script the answers.
pub trait Gate {
    /// Whether the admin gets in (asked until `patience` passes), through the login page at
    /// `login_at` when a plugin moved it there, else through `wp-login.php`.
    fn admin_gets_in(&self, login_at: Option<&str>, patience: Duration) -> bool;
    /// The address of `path` on the site, as the admin would open it.
    fn address_of(&self, path: &str) -> String;
    /// Whether a yes is proven by a real login (else by pages answering).
    fn logs_in(&self) -> bool;
}

impl Gate for Verifier {
    fn admin_gets_in(&self, login_at: Option<&str>, patience: Duration) -> bool {
        Verifier::admin_gets_in(self, login_at, patience)
    }
    fn address_of(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }
    fn logs_in(&self) -> bool {
        Verifier::logs_in(self)
    }
}

/// The `.user.ini` a rung writes, if it writes one: PHP-FPM and CGI go on using their cached
/// copy for up to `user_ini.cache_ttl`.
fn cached_ini(actions: &[super::Action]) -> Option<&RemotePath> {
    actions.iter().find_map(|a| match a.change()? {
        super::change::Change::Write { path, .. } if path.file_name() == Some(".user.ini") => {
            Some(path)
        }
        _ => None,
    })
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
    /// Applies the rungs in order. Without a verifier (`run`), every rung is applied and an
    /// error rolls everything back and ends the run. With one, the site is asked after each
    /// rung whether the admin gets in; a rung that fails half way or does not let the admin in
    /// is undone before the next one is tried, so nothing of it stays, and when the last rung
    /// fails too the run ends rolled back.
    fn climb(
        &mut self,
        plan: &[Planned],
        rungs: &[String],
        verifier: Option<&dyn Gate>,
    ) -> Result<(Outcome, Recap), EngineError> {
        let rungs: Vec<(&String, Vec<_>)> = rungs
            .iter()
            .map(|rung| {
                let actions = plan
                    .iter()
                    .filter(|p| &p.playbook == rung)
                    .map(|p| p.action.clone())
                    .collect();
                (rung, actions)
            })
            .filter(|(_, actions): &(_, Vec<_>)| !actions.is_empty())
            .collect();
        let Some(verifier) = verifier else {
            for (rung, actions) in &rungs {
                if let Err(e) = self.apply_rung(rung, actions) {
                    return Err(self.abandon(e)?);
                }
            }
            return Ok(self.finish(Outcome::Applied));
        };
        for (i, (rung, actions)) in rungs.iter().enumerate() {
            let last = i + 1 == rungs.len();
            match self.apply_rung(rung, actions) {
                Err(e @ EngineError::Interrupted { .. }) => return Err(e),
                Err(e) => {
                    self.recap.failed += 1;
                    self.obs.event(Event::ChangeFailed(&e));
                }
                Ok(()) => {
                    self.obs.busy("checking as the caller");
                    let login_at = actions.iter().find_map(|a| match a {
                        super::Action::LoginAt(path) => Some(path.as_str()),
                        _ => None,
                    });
                    let mut admin_gets_in = verifier.admin_gets_in(login_at, VERIFY_FOR);
                    self.obs.idle();
                    // A documented cache is no reason to undo a fix: PHP-FPM and CGI read a
                    // changed .user.ini only when their copy expires.
                    if let Some(ini) = cached_ini(actions).filter(|_| !admin_gets_in) {
                        self.obs.event(Event::WaitingForIniCache {
                            file: ini.as_str(),
                            seconds: USER_INI_CACHE.as_secs(),
                        });
                        self.obs
                            .busy("waiting for PHP's .user.ini cache (Ctrl-C keeps the change)");
                        admin_gets_in = verifier.admin_gets_in(login_at, USER_INI_CACHE);
                        self.obs.idle();
                    }
                    if !admin_gets_in && interrupt::requested() {
                        return Err(self.interrupted());
                    }
                    tracing::info!(rung, admin_gets_in, "verified");
                    if admin_gets_in {
                        let login_url = login_at.map(|path| verifier.address_of(path));
                        self.obs.event(Event::Unlocked {
                            real_login: verifier.logs_in(),
                            login_url: login_url.as_deref(),
                            instead: rungs.get(i + 1).map(|(next, _)| next.as_str()),
                        });
                        return Ok(self.finish(Outcome::Unlocked));
                    }
                    self.recap.failed += 1;
                    self.obs.event(if last {
                        Event::StillRefused
                    } else {
                        Event::NotYet { rung }
                    });
                }
            }
            // Nothing of a rung that did not help stays: the next one starts from the site as
            // it was.
            self.recap.undone += undo(&mut self.access, self.journal, self.obs)?.undone;
        }
        self.obs.event(Event::Recap(self.recap));
        Ok((Outcome::RolledBack, self.recap))
    }

    /// A run without verification failed with `error`: everything is rolled back, and the
    /// error is what ends the run (unless rolling back fails too).
    fn abandon(&mut self, error: EngineError) -> Result<EngineError, EngineError> {
        if matches!(error, EngineError::Interrupted { .. }) {
            return Ok(error);
        }
        self.recap.failed += 1;
        self.obs.event(Event::ChangeFailed(&error));
        self.recap.undone += undo(&mut self.access, self.journal, self.obs)?.undone;
        self.obs.event(Event::Recap(self.recap));
        Ok(error)
    }

    /// The run ends with its changes in place: the recap, and how to undo them.
    fn finish(&mut self, outcome: Outcome) -> (Outcome, Recap) {
        self.obs.event(Event::Recap(self.recap));
        if self.recap.changed > 0 {
            self.obs.event(Event::Undoable {
                run_id: self.run_id,
            });
        }
        (outcome, self.recap)
    }

    /// One rung's actions, in the pieces [`apply`] makes at once, with progress between them.
    /// An error leaves what was made so far in place, journaled, for the caller to undo.
    fn apply_rung(&mut self, rung: &str, changes: &[super::Action]) -> Result<(), EngineError> {
        tracing::info!(rung, changes = changes.len(), "applying rung");
        self.journal.rung(rung)?;
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
                Err(e) => return Err(e),
            }
            done += chunk.len();
        }
        self.obs.progress(rung, done, changes.len());
        self.obs.event(Event::RungApplied {
            rung,
            changes: changes.iter().filter(|a| a.mutates()).count(),
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
        restored: &report.restored,
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;
    use crate::engine::action::Action;
    use crate::engine::change::Change;
    use crate::transport::{MemoryTransport, TransportExt, WriteMode};

    /// Answers the ladder's questions from a script.
    struct Script(RefCell<VecDeque<bool>>);

    impl Gate for Script {
        fn address_of(&self, path: &str) -> String {
            format!("http://site.test{path}")
        }
        fn admin_gets_in(&self, _: Option<&str>, _: Duration) -> bool {
            self.0
                .borrow_mut()
                .pop_front()
                .expect("asked once per rung")
        }
        fn logs_in(&self) -> bool {
            true
        }
    }

    /// Keeps the events' names, in order.
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl Observer for Seen {
        fn busy(&mut self, _: &str) {}
        fn idle(&mut self) {}
        fn progress(&mut self, _: &str, _: usize, _: usize) {}
        fn event(&mut self, event: Event<'_>) {
            let name = format!("{event:?}");
            let name = name.split([' ', '(', '{']).next().unwrap_or_default();
            self.0.push(match event {
                Event::RolledBack { undone, .. } => format!("{name}:{undone}"),
                Event::NotYet { rung } | Event::RungApplied { rung, .. } => {
                    format!("{name}:{rung}")
                }
                _ => name.to_owned(),
            });
        }
    }

    fn path(p: &str) -> RemotePath {
        RemotePath::new(p).unwrap()
    }

    fn site() -> MemoryTransport {
        let mut t = MemoryTransport::new();
        t.write_bytes(&path(".htaccess"), b"old", WriteMode::Create)
            .unwrap();
        t.mkdir_all(&path("plugins/wordfence")).unwrap();
        t
    }

    /// Rung `allow` edits .htaccess; rung `rename` renames the plugin's folder. `broken`
    /// makes the first rung's second change stale, so it fails half way.
    fn plan(broken: bool) -> Vec<Planned> {
        let planned = |playbook: &str, action: Action| Planned {
            playbook: playbook.into(),
            action,
        };
        let stale_before = if broken {
            b"gone".to_vec()
        } else {
            b"mid".to_vec()
        };
        vec![
            planned(
                "allow",
                Action::write(path(".htaccess"), Some(b"old".to_vec()), b"mid".to_vec()),
            ),
            planned(
                "allow",
                Action::write(path(".htaccess"), Some(stale_before), b"new".to_vec()),
            ),
            planned(
                "rename",
                Action::Change(Change::Rename {
                    from: path("plugins/wordfence"),
                    to: path("plugins/wordfence.off"),
                }),
            ),
        ]
    }

    fn climb(
        t: &mut MemoryTransport,
        plan: &[Planned],
        answers: Option<&[bool]>,
    ) -> (Result<(Outcome, Recap), EngineError>, Vec<String>) {
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        let mut seen = Seen::default();
        let script = answers.map(|a| Script(RefCell::new(a.iter().copied().collect())));
        let mut run = Run {
            access: Access::files(t),
            web: None,
            journal: &mut journal,
            obs: &mut seen,
            run_id: "1-abcdef",
            recap: Recap::default(),
        };
        let rungs = ["allow".to_owned(), "rename".to_owned()];
        let result = run.climb(plan, &rungs, script.as_ref().map(|s| s as &dyn Gate));
        (result, seen.0)
    }

    fn htaccess(t: &mut MemoryTransport) -> Vec<u8> {
        t.read_to_vec(&path(".htaccess")).unwrap()
    }

    #[test]
    fn a_rung_that_does_not_let_the_admin_in_is_undone_before_the_next() {
        let mut t = site();
        let (result, events) = climb(&mut t, &plan(false), Some(&[false, true]));
        let (outcome, recap) = result.unwrap();
        assert_eq!(outcome, Outcome::Unlocked);
        assert_eq!(htaccess(&mut t), b"old", "the first rung left nothing");
        assert!(t.exists(&path("plugins/wordfence.off")).unwrap());
        assert_eq!((recap.changed, recap.failed, recap.undone), (3, 1, 2));
        assert_eq!(
            events,
            [
                "RungApplied:allow",
                "NotYet:allow",
                "RolledBack:2",
                "RungApplied:rename",
                "Unlocked",
                "Recap",
                "Undoable"
            ]
        );
    }

    #[test]
    fn a_rung_that_only_tells_where_to_log_in_changes_nothing_and_leaves_nothing_to_undo() {
        let mut t = site();
        let mut plan = plan(false);
        plan.drain(..2);
        plan.insert(
            0,
            Planned {
                playbook: "allow".into(),
                action: Action::LoginAt("/secret-door/".into()),
            },
        );
        let (result, events) = climb(&mut t, &plan, Some(&[true]));
        let (outcome, recap) = result.unwrap();
        assert_eq!(outcome, Outcome::Unlocked);
        assert_eq!((recap.changed, recap.ok), (0, 1));
        assert!(
            t.exists(&path("plugins/wordfence")).unwrap(),
            "rung 2 unused"
        );
        assert_eq!(events, ["RungApplied:allow", "Unlocked", "Recap"]);
    }

    #[test]
    fn a_rung_that_fails_half_way_is_undone_and_the_next_is_tried() {
        let mut t = site();
        let (result, events) = climb(&mut t, &plan(true), Some(&[true]));
        assert_eq!(result.unwrap().0, Outcome::Unlocked);
        assert_eq!(htaccess(&mut t), b"old");
        assert!(t.exists(&path("plugins/wordfence.off")).unwrap());
        assert_eq!(&events[..2], ["ChangeFailed", "RolledBack:1"]);
    }

    #[test]
    fn a_rung_that_changed_user_ini_is_given_the_cache_time_before_it_is_undone() {
        let mut t = site();
        t.write_bytes(
            &path(".user.ini"),
            b"auto_prepend_file = /x/gone.php\n",
            WriteMode::Create,
        )
        .unwrap();
        let mut ini_rung = plan(false);
        ini_rung[0].action = Action::write(
            path(".user.ini"),
            Some(b"auto_prepend_file = /x/gone.php\n".to_vec()),
            Vec::new(),
        );
        ini_rung.remove(1);
        let (result, events) = climb(&mut t, &ini_rung, Some(&[false, true]));
        assert_eq!(result.unwrap().0, Outcome::Unlocked);
        assert_eq!(t.read_to_vec(&path(".user.ini")).unwrap(), b"", "kept");
        assert_eq!(
            events,
            [
                "RungApplied:allow",
                "WaitingForIniCache",
                "Unlocked",
                "Recap",
                "Undoable"
            ]
        );
        // A rung that changed no .user.ini gets no second chance.
        let mut t = site();
        let (_, events) = climb(&mut t, &plan(false), Some(&[false, true]));
        assert!(
            !events.contains(&"WaitingForIniCache".to_owned()),
            "{events:?}"
        );
    }

    #[test]
    fn when_no_rung_helps_the_site_is_as_it_was() {
        let mut t = site();
        let (result, events) = climb(&mut t, &plan(false), Some(&[false, false]));
        let (outcome, recap) = result.unwrap();
        assert_eq!(outcome, Outcome::RolledBack);
        assert_eq!((recap.failed, recap.undone), (2, 3));
        assert_eq!(htaccess(&mut t), b"old");
        assert!(t.exists(&path("plugins/wordfence")).unwrap());
        assert!(events.contains(&"StillRefused".to_owned()), "{events:?}");
    }

    #[test]
    fn without_verification_an_error_rolls_everything_back_and_ends_the_run() {
        let mut t = site();
        let (result, _) = climb(&mut t, &plan(true), None);
        assert!(
            matches!(result, Err(EngineError::Stale { .. })),
            "{result:?}"
        );
        assert_eq!(htaccess(&mut t), b"old");
        let (result, events) = climb(&mut t, &plan(false), None);
        assert_eq!(result.unwrap().0, Outcome::Applied);
        assert_eq!(htaccess(&mut t), b"new");
        assert!(events.ends_with(&["Recap".to_owned(), "Undoable".to_owned()]));
    }
}
