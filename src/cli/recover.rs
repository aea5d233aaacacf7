//! What every change-making command shares: open the site and examine it, apply a plan rung by
//! rung under the site lock with the journal written first, verify as the caller after each
//! rung, and roll back when the admin still cannot get in.

use std::net::IpAddr;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::engine::journal::SiteRef;
use crate::engine::{self, Access, Journal, Planned, SiteLock, Undone, Web};
use crate::helper::db::Database;
use crate::helper::{Helper, Mode};
use crate::http::{HttpClient, HttpOptions};
use crate::interrupt;
use crate::playbook::{Playbook, Playbooks};
use crate::site::catalog::Catalog;
use crate::site::diagnosis::{Cause, LoginCheck, diagnose};
use crate::site::discover::WpRoot;
use crate::site::probe::{is_logged_in, probe_site, try_login};
use crate::site::signature::recognise;
use crate::site::{InvestigateOptions, Report, investigate};
use crate::transport::{RemotePath, Transport};

use super::args::{HelperChoice, SiteArgs};
use super::caller;
use super::connect;
use super::diagnose::{investigate_options, summary};
use super::output::{Out, Outcome, Recap};

/// How long verification keeps asking: PHP may run a renamed file from opcache for ~2 s.
pub const VERIFY_FOR: Duration = Duration::from_secs(8);

/// A connected site, examined.
pub struct Session {
    /// The connection.
    pub transport: Box<dyn Transport>,
    /// The built-in playbooks.
    pub playbooks: Playbooks,
    /// The plugins they describe.
    pub catalog: Catalog,
    /// How the site was examined (and will be verified).
    pub options: InvestigateOptions,
    /// What examining it found.
    pub report: Report,
    /// The way to the site's database, when wp-config.php was found.
    pub helper: Option<Helper>,
    /// `--ip`.
    pub ip_flag: Option<IpAddr>,
}

impl Session {
    /// Connects to the site named on the command line and examines it, with a spinner.
    /// Helper files a killed run left behind are removed on the way.
    pub fn open(site: &SiteArgs, out: &Out) -> anyhow::Result<Session> {
        let playbooks = Playbooks::builtin()?;
        let catalog = playbooks.catalog();
        let options = investigate_options(site)?;
        let spinner = out.spinner(&format!("connecting to {}", site.target));
        let mut transport = connect::open(&site.target, &site.connect)?;
        spinner.set_message(format!("examining {}", transport.origin()));
        let report = investigate(transport.as_mut(), &catalog, &options)?;
        spinner.finish_and_clear();
        sweep_helpers(transport.as_mut(), &report.inventory.root.path, out)?;
        let mut session = Session {
            transport,
            playbooks,
            catalog,
            options,
            report,
            helper: None,
            ip_flag: site.ip,
        };
        if let Some(site_ref) = session.site_ref() {
            session.helper = Some(site_helper(
                session.transport.as_mut(),
                site_ref,
                &session.options.http,
                site.helper,
            )?);
        }
        Ok(session)
    }

    /// Prints the diagnosed cause, one line.
    pub fn say_cause(&self, out: &Out) -> std::io::Result<()> {
        let cause = &self.report.diagnosis.cause;
        out.line(format_args!(
            "{} {}: {}",
            out.color.label("cause"),
            cause.code(),
            summary(cause, &self.catalog)
        ))
    }

    /// How a fresh process reaches this site's database again (for the journal).
    pub fn site_ref(&self) -> Option<SiteRef> {
        site_ref(&self.report.inventory.root, &self.report.url.0)
    }

    /// The caller's address as the site sees it, said out loud with its source and notes;
    /// `None` when there is no way to ask and no `--ip`.
    pub fn caller_ip(&mut self, out: &Out) -> anyhow::Result<Option<caller::CallerIp>> {
        let Some(helper) = &self.helper else {
            return Ok(self.ip_flag.map(caller::CallerIp::from_flag));
        };
        let spinner = out.spinner("asking the site which address it sees");
        let found = caller::find(
            self.ip_flag,
            helper,
            self.transport.as_mut(),
            &self.report.url.0,
            self.options.http.bind,
        );
        spinner.finish_and_clear();
        say_caller(&found, out)?;
        Ok(Some(found))
    }

    /// The address `playbook`'s plugin sees for the caller: `found`'s, unless the plugin is
    /// set to read a proxy header (its `ip_source`) that the request carried with another
    /// address. Says which, and why.
    pub fn address_for(
        &mut self,
        playbook: &Playbook,
        found: &caller::CallerIp,
        out: &Out,
    ) -> anyhow::Result<IpAddr> {
        // With --ip, or no answer from the web server, there are no headers to judge by.
        let (Some(source), Some(_)) = (&playbook.ip_source, &found.seen) else {
            return Ok(found.ip);
        };
        let mut access = Access {
            files: self.transport.as_mut(),
            db: self.helper.as_ref().map(|h| h as &dyn Database),
            web: None,
        };
        let value = match source.at.read(&mut access) {
            Ok(value) => value.unwrap_or_default(),
            Err(e) => {
                out.line(format_args!(
                    "{} {}: cannot read its visitor-address setting ({e}); using {}",
                    out.color.warn("note:"),
                    playbook.name,
                    found.ip
                ))?;
                return Ok(found.ip);
            }
        };
        let Some(header) = source.headers.get(&value) else {
            return Ok(found.ip);
        };
        let read = found.as_read_from(header);
        let ip = match read {
            Some(ip) if ip != found.ip => {
                out.line(format_args!(
                    "{} {} reads the visitor's address from {header} (setting {value:?}), which says {ip}: that is the address it gets, not {}",
                    out.color.warn("note:"),
                    playbook.name,
                    found.ip
                ))?;
                ip
            }
            Some(ip) => ip,
            None => {
                out.line(format_args!(
                    "{} {} reads the visitor's address from {header} (setting {value:?}); requests from here carry none, so it falls back to {}",
                    out.color.warn("note:"),
                    playbook.name,
                    found.ip
                ))?;
                found.ip
            }
        };
        Ok(ip)
    }
}

/// How the helper reaches the database of the WordPress at `root`, served at `url`; `None`
/// without a wp-config.php.
pub fn site_ref(root: &WpRoot, url: &str) -> Option<SiteRef> {
    Some(SiteRef {
        wp_root: root.path.as_str().to_owned(),
        wp_config: root.config.as_ref()?.as_str().to_owned(),
        url: url.to_owned(),
    })
}

/// Prints the caller's address, where it came from, and what to know about it.
pub fn say_caller(found: &caller::CallerIp, out: &Out) -> std::io::Result<()> {
    out.line(format_args!(
        "{} {} (from {})",
        out.color.label("caller"),
        found.ip,
        found.source
    ))?;
    for note in &found.notes {
        out.line(format_args!("{} {note}", out.color.warn("note:")))?;
    }
    Ok(())
}

/// The helper for the site `site` describes, run the way `--helper` asks.
pub fn site_helper(
    t: &mut dyn Transport,
    site: SiteRef,
    http: &HttpOptions,
    choice: HelperChoice,
) -> anyhow::Result<Helper> {
    let helper = Helper::new(
        t,
        RemotePath::new(&site.wp_root)?,
        RemotePath::new(&site.wp_config)?,
        &site.url,
        http.clone(),
    );
    Ok(match choice {
        HelperChoice::Auto => helper,
        HelperChoice::Ssh => helper.with_mode(Mode::Exec),
        HelperChoice::Http => helper.with_mode(Mode::Http),
    })
}

/// Removes what a killed run's helper left in the WordPress root, and says so.
pub fn sweep_helpers(t: &mut dyn Transport, wp_root: &RemotePath, out: &Out) -> anyhow::Result<()> {
    let removed = Helper::sweep(t, wp_root)?;
    if removed > 0 {
        out.line(format_args!(
            "removed {removed} helper folder(s) an interrupted run left in {}",
            wp_root.as_str()
        ))?;
    }
    Ok(())
}

/// Asks the site, as the caller, whether the admin gets in.
#[derive(Clone, Copy)]
pub struct Verifier<'a> {
    /// The site's address.
    pub url: &'a str,
    /// How requests are made, and the login to try.
    pub options: &'a InvestigateOptions,
    /// What block pages look like.
    pub catalog: &'a Catalog,
}

impl Verifier<'_> {
    /// Asks until the site lets the admin in or [`VERIFY_FOR`] passes. With a login to try,
    /// success means a real login; without, the pages answering.
    pub fn admin_gets_in(&self) -> bool {
        let deadline = Instant::now() + VERIFY_FOR;
        loop {
            let mut client = HttpClient::new(&self.options.http);
            let probes = probe_site(&client, self.url, self.catalog);
            let login = self.options.login.as_ref().and_then(|(user, password)| {
                let response = try_login(&mut client, self.url, user, password).ok()?;
                Some(LoginCheck {
                    answerer: recognise(&response, self.catalog),
                    response,
                })
            });
            let recovered = match &login {
                Some(login) => is_logged_in(&login.response),
                None => diagnose(&probes, None, None, self.catalog).cause == Cause::Reachable,
            };
            if recovered || Instant::now() >= deadline {
                return recovered;
            }
            sleep(Duration::from_millis(700));
        }
    }

    /// The site over HTTP for `http_check` steps.
    pub fn web(&self) -> Web {
        Web {
            base_url: self.url.to_owned(),
            http: self.options.http.clone(),
            patience: VERIFY_FOR,
        }
    }
}

/// One run of changes: where, under which id, checked how.
pub struct Run<'a> {
    /// The connection.
    pub t: &'a mut dyn Transport,
    /// The target as typed, for the undo command shown at the end.
    pub target: &'a str,
    /// This run's id.
    pub run_id: &'a str,
    /// The WordPress root, where the site lock lives.
    pub wp_root: &'a RemotePath,
    /// The site's database, for steps that change it, and how a fresh process reaches it
    /// again (recorded in the journal for rollback).
    pub db: Option<(&'a dyn Database, SiteRef)>,
    /// The site over HTTP, for checks and verification.
    pub verifier: Option<Verifier<'a>>,
    /// Whether to verify after each rung (`unlock`, `apply`) or only apply (`run`).
    pub climb: bool,
    /// Where to print.
    pub out: Out,
}

impl Run<'_> {
    /// Applies `plan`, one playbook (rung) at a time in `rungs` order. Returns how it ended;
    /// on an error, everything applied so far is rolled back first.
    pub fn apply(
        &mut self,
        plan: &[Planned],
        rungs: &[String],
    ) -> anyhow::Result<(Outcome, Recap)> {
        let state_dir = Journal::state_dir()?;
        let mut journal = Journal::create(
            &state_dir,
            self.run_id,
            self.t.origin(),
            self.t.root(),
            rungs.to_vec(),
        )?;
        self.out.line(format_args!(
            "run {}: journal in {}",
            self.run_id,
            state_dir.join("runs").join(self.run_id).display()
        ))?;
        if let Some((_, site)) = &self.db {
            journal.site(site.clone())?;
        }
        let lock_path = SiteLock::path(self.wp_root)?;
        journal.lock(lock_path.as_str())?;
        let lock = match SiteLock::acquire(self.t, self.wp_root, self.run_id) {
            Ok(lock) => lock,
            Err(e) => {
                journal.unlock()?;
                return Err(e.into());
            }
        };
        crate::fault::point("locked");
        let result = self.climb(&mut journal, plan, rungs);
        lock.release(self.t)?;
        journal.unlock()?;
        result
    }

    fn climb(
        &mut self,
        journal: &mut Journal,
        plan: &[Planned],
        rungs: &[String],
    ) -> anyhow::Result<(Outcome, Recap)> {
        let color = self.out.color;
        let web = self.verifier.map(|v| v.web());
        let mut recap = Recap::default();
        for rung in rungs {
            let changes: Vec<_> = plan
                .iter()
                .filter(|p| &p.playbook == rung)
                .map(|p| p.change.clone())
                .collect();
            if changes.is_empty() {
                continue;
            }
            let bar = self.out.counter(changes.len(), rung);
            // Pieces: Ctrl-C and the bar act between them; rows go to the database together.
            for chunk in engine::pieces(&changes) {
                if interrupt::requested() {
                    bar.abandon();
                    return self.interrupted(recap);
                }
                let mut access = Access {
                    files: &mut *self.t,
                    db: self.db.as_ref().map(|(db, _)| *db),
                    web: web.as_ref(),
                };
                match engine::apply(&mut access, journal, chunk) {
                    Ok(altered) => {
                        recap.changed += altered;
                        recap.ok += chunk.len() - altered;
                    }
                    Err(_) if interrupt::requested() => {
                        bar.abandon();
                        return self.interrupted(recap);
                    }
                    Err(e) => {
                        bar.abandon();
                        recap.failed += 1;
                        self.out
                            .line(format_args!("{} {e}; rolling back", color.error("failed:")))?;
                        recap.undone = self.undo(journal)?.undone;
                        self.out.line(format_args!("recap: {recap}"))?;
                        return Err(e.into());
                    }
                }
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            self.out.line(format_args!(
                "{} {rung} ({} change(s))",
                color.label("applied"),
                changes.len()
            ))?;
            if !self.climb {
                continue;
            }
            let Some(verifier) = self.verifier else {
                continue;
            };
            let spinner = self.out.spinner("checking as the caller");
            let admin_gets_in = verifier.admin_gets_in();
            spinner.finish_and_clear();
            if admin_gets_in {
                self.out.line(format_args!(
                    "{} the admin can get in again{}",
                    color.good("unlocked:"),
                    if verifier.options.login.is_some() {
                        " (a real login succeeded)"
                    } else {
                        " (checked with GET requests only: give --login to prove a real login)"
                    }
                ))?;
                self.out.line(format_args!("recap: {recap}"))?;
                self.out
                    .line(format_args!("undo with: {}", self.undo_command()))?;
                return Ok((Outcome::Unlocked, recap));
            }
            self.out.line(format_args!(
                "{} the site still refuses after {rung}",
                color.warn("not yet:")
            ))?;
        }
        if self.climb && self.verifier.is_some() {
            self.out.line(format_args!(
                "{} the site still refuses; rolling back",
                color.warn("not unlocked:")
            ))?;
            recap.failed += 1;
            recap.undone = self.undo(journal)?.undone;
            self.out.line(format_args!("recap: {recap}"))?;
            return Ok((Outcome::RolledBack, recap));
        }
        self.out.line(format_args!("recap: {recap}"))?;
        self.out
            .line(format_args!("undo with: {}", self.undo_command()))?;
        Ok((Outcome::Applied, recap))
    }

    fn undo(&mut self, journal: &mut Journal) -> anyhow::Result<Undone> {
        let mut access = Access {
            files: &mut *self.t,
            db: self.db.as_ref().map(|(db, _)| *db),
            web: None,
        };
        undo(&mut access, journal, self.out)
    }

    /// Ctrl-C: stop between changes, leave what was made (journaled) and say how to undo it.
    fn interrupted(&self, recap: Recap) -> anyhow::Result<(Outcome, Recap)> {
        self.out.line(format_args!("recap: {recap}"))?;
        anyhow::bail!(
            "interrupted: the {} change(s) made so far stay, journaled; undo them with: {}",
            recap.changed,
            self.undo_command()
        )
    }

    /// The command that rolls this run back.
    pub fn undo_command(&self) -> String {
        format!("wprescue rollback {} --run {}", self.target, self.run_id)
    }
}

/// Rolls `journal` back and says what happened; a change that cannot be undone safely is
/// reported and left, and makes the result an error once the rest is undone.
pub fn undo(access: &mut Access<'_>, journal: &mut Journal, out: Out) -> anyhow::Result<Undone> {
    let report = engine::rollback(access, journal)?;
    out.line(format_args!(
        "{} {} change(s) undone",
        out.color.label("rolled back:"),
        report.undone
    ))?;
    if report.conflicts.is_empty() {
        return Ok(report);
    }
    for conflict in &report.conflicts {
        out.line(format_args!("{} {conflict}", out.color.error("left:")))?;
    }
    anyhow::bail!(
        "run {}: {} change(s) could not be undone safely (listed above); the rest was rolled back",
        journal.info().run_id,
        report.conflicts.len()
    )
}
