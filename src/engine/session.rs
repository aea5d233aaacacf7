//! One connected site, set up the same way for every command: the target and its connection,
//! what examining the site found, the way to its database (the helper), and the caller's
//! address. Planning, applying with the journal and the lock, verifying, climbing or rolling
//! back are methods on it (see [`super::ladder`]), so a command is a few calls.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::helper::db::Database;
use crate::helper::{Helper, Mode};
use crate::site::catalog::Catalog;
use crate::site::inventory::Inventory;
use crate::site::{InvestigateOptions, Report, UrlSource, investigate, site_url, survey};
use crate::transport::{
    self, Cached, ConnectOptions, Credentials, RemotePath, SshConfig, StatBy, Target, TlsTrust,
    Traced, Transport,
};

use super::access::Access;
use super::caller::{self, Caller, Clues, host_and_port};
use super::fingerprint::{self, Fingerprint};
use super::journal::SiteRef;
use super::observer::{Event, Observer};
use super::plan::{Ladder, Planned, Rung, RungSpec, plan, plan_ladder};
use super::vars::Vars;
use super::verify::Verifier;
use super::{Action, EngineError};

/// How much of the site to examine when the session opens.
#[derive(Debug, Clone)]
pub enum Examine {
    /// Files, HTTP probes as the caller, and the verdict (`diagnose`, `unlock`, `plan`).
    Investigate,
    /// Files only; the site's address when one is known (`run`).
    Survey,
    /// Nothing: the site is known from a saved plan or a journal (`apply`, `rollback`).
    Nothing,
}

/// Everything a command gives to open a session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The target as the user typed it (`sftp://…`, an `~/.ssh/config` alias, a folder).
    pub target: String,
    /// `--jump [USER@]HOST[:PORT]`: the SSH host to reach the target through.
    pub jump: Option<String>,
    /// How to connect.
    pub connect: ConnectOptions,
    /// Whether secrets may be asked for on the terminal.
    pub interactive: bool,
    /// How much to examine.
    pub examine: Examine,
    /// Which site, its address, how requests are made, and the login to verify with.
    pub options: InvestigateOptions,
    /// Whether this session will change the site: then helper files a killed run left are
    /// removed, and the helper is set up. `diagnose` changes nothing, not even that.
    pub changes: bool,
    /// How the helper runs; `None` chooses (SSH when the target runs commands).
    pub helper: Option<Mode>,
    /// `--ip`: the caller's address, overriding what the web server says.
    pub ip: Option<IpAddr>,
    /// Where runs are journalled (see [`super::Journal::state_dir`]).
    pub state_dir: PathBuf,
}

/// What examining the site found.
#[derive(Debug)]
enum Examined {
    Nothing,
    Surveyed {
        inventory: Box<Inventory>,
        url: Option<(String, UrlSource)>,
    },
    Investigated(Box<Report>),
}

/// A connected site.
pub struct Session {
    spec: SessionSpec,
    transport: Box<dyn Transport>,
    catalog: Catalog,
    examined: Examined,
    site: Option<SiteRef>,
    helper: Option<Helper>,
    caller: Option<Caller>,
}

impl Session {
    /// Connects to the target and examines the site as `spec` asks, with `catalog`'s plugins
    /// in mind. For a session that changes the site, helper files a killed run left are
    /// removed and the helper is set up.
    pub fn open(
        spec: SessionSpec,
        catalog: Catalog,
        obs: &mut dyn Observer,
    ) -> Result<Session, EngineError> {
        obs.busy(&format!("connecting to {}", spec.target));
        let opened = Self::connect(&spec);
        obs.idle();
        let transport = opened?;
        tracing::info!(
            origin = transport.origin(),
            root = transport.root(),
            "connected"
        );
        for warning in connection_warnings(transport.origin(), &spec.connect) {
            obs.event(Event::Warning(warning));
        }
        Self::over(transport, spec, catalog, obs)
    }

    /// [`Session::open`] over a connection already made: `spec.target` and `spec.connect`
    /// only name it. Tests and benchmarks pass a wrapped transport here (counting, failing).
    pub fn over(
        transport: Box<dyn Transport>,
        spec: SessionSpec,
        catalog: Catalog,
        obs: &mut dyn Observer,
    ) -> Result<Session, EngineError> {
        let mut session = Session {
            spec,
            transport,
            catalog,
            examined: Examined::Nothing,
            site: None,
            helper: None,
            caller: None,
        };
        session.examine(obs)?;
        if let (true, Some(site)) = (session.spec.changes, session.site_ref()) {
            session.attach(site, obs)?;
        }
        Ok(session)
    }

    fn connect(spec: &SessionSpec) -> Result<Box<dyn Transport>, EngineError> {
        let ssh_config = SshConfig::load_user().map_err(EngineError::SshConfig)?;
        let target = Target::parse(&spec.target, &ssh_config)?;
        let target = match &spec.jump {
            Some(jump) => target.with_jump(jump, &ssh_config)?,
            None => target,
        };
        let mut credentials = Credentials::from_env(spec.interactive);
        let connected = transport::connect(&target, &spec.connect, &mut credentials)?;
        // Over FTP, a stat is a listing of the parent anyway: keep the whole listing.
        let stat_by = match target {
            Target::Ftp(_) => StatBy::Listing,
            Target::Ssh(_) | Target::Local(_) => StatBy::Path,
        };
        // Traced inside the cache, so the trace shows only what reaches the server.
        Ok(Box::new(Cached::new(Traced::new(connected), stat_by)))
    }

    fn examine(&mut self, obs: &mut dyn Observer) -> Result<(), EngineError> {
        if let Examine::Nothing = self.spec.examine {
            return Ok(());
        }
        obs.busy(&format!("examining {}", self.transport.origin()));
        let t = self.transport.as_mut();
        let options = &self.spec.options;
        let examined = match self.spec.examine {
            Examine::Nothing => Ok(Examined::Nothing),
            Examine::Investigate => investigate(t, &self.catalog, options)
                .map(|report| Examined::Investigated(Box::new(report))),
            Examine::Survey => survey(t, &self.catalog, options.site.as_deref()).map(|inventory| {
                // Only http_check and database steps need the address; a site without one
                // can still run the rest.
                let url = site_url(options.url.as_deref(), &inventory).ok();
                Examined::Surveyed {
                    inventory: Box::new(inventory),
                    url,
                }
            }),
        };
        obs.idle();
        let examined = examined?;
        if let Examined::Investigated(report) = &examined {
            no_answer_is_an_error(report)?;
        }
        self.examined = examined;
        Ok(())
    }

    /// Makes the database of the site `site` describes reachable (the helper, run the way the
    /// session asks), after removing what a killed run's helper left in its WordPress root.
    pub fn attach(&mut self, site: SiteRef, obs: &mut dyn Observer) -> Result<(), EngineError> {
        let wp_root = RemotePath::new(&site.wp_root)?;
        let removed = Helper::sweep(self.transport.as_mut(), &wp_root)?;
        if removed > 0 {
            obs.event(Event::HelpersSwept {
                removed,
                wp_root: wp_root.as_str(),
            });
        }
        let helper = Helper::new(
            self.transport.as_mut(),
            wp_root,
            RemotePath::new(&site.wp_config)?,
            &site.url,
            self.spec.options.http.clone(),
        );
        let helper = match self.spec.helper {
            Some(mode) => helper.with_mode(mode),
            None => helper,
        };
        // An ssh:// account that turned out to run no commands (the prefetch found out), not
        // one where --helper http was asked for.
        if self.spec.helper.is_none()
            && !self.transport.capabilities().exec
            && self.transport.origin().starts_with("ssh://")
        {
            obs.event(Event::Note(
                "this SSH account runs no commands (SFTP only): the database helper is \
                 uploaded and called over HTTP instead",
            ));
        }
        if helper.mode() == Mode::Http && site.url.starts_with("http://") {
            obs.event(Event::Warning(
                "the site is plain http://: the helper's requests and answers are signed, so \
                 nobody on the way can alter them unseen, but they can read the rows it \
                 reads and writes; give --url https://… where the site has it, or use an \
                 ssh:// target",
            ));
        }
        self.helper = Some(helper.kept());
        self.site = Some(site);
        Ok(())
    }

    /// Where this session's runs are journalled.
    pub fn state_dir(&self) -> &std::path::Path {
        &self.spec.state_dir
    }

    /// The target as the user typed it.
    pub fn target(&self) -> &str {
        &self.spec.target
    }

    /// The connection.
    pub fn transport(&mut self) -> &mut dyn Transport {
        self.transport.as_mut()
    }

    /// The plugins the session knows.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// How the site is examined and verified.
    pub fn options(&self) -> &InvestigateOptions {
        &self.spec.options
    }

    /// The whole examination, for sessions that investigated.
    pub fn report(&self) -> Option<&Report> {
        match &self.examined {
            Examined::Investigated(report) => Some(report),
            _ => None,
        }
    }

    /// What is on the server, for sessions that examined it.
    pub fn inventory(&self) -> Option<&Inventory> {
        match &self.examined {
            Examined::Nothing => None,
            Examined::Surveyed { inventory, .. } => Some(inventory),
            Examined::Investigated(report) => Some(&report.inventory),
        }
    }

    /// The site's address, when known.
    pub fn url(&self) -> Option<&str> {
        match &self.examined {
            Examined::Nothing => match &self.site {
                Some(site) => Some(&site.url),
                None => self.spec.options.url.as_deref(),
            },
            Examined::Surveyed { url, .. } => url.as_ref().map(|(u, _)| u.as_str()),
            Examined::Investigated(report) => Some(&report.url.0),
        }
    }

    /// How a fresh process reaches this site's database again (for the journal); `None`
    /// without a wp-config.php or an address.
    pub fn site_ref(&self) -> Option<SiteRef> {
        if let Some(site) = &self.site {
            return Some(site.clone());
        }
        let inventory = self.inventory()?;
        Some(SiteRef {
            wp_root: inventory.root.path.as_str().to_owned(),
            wp_config: inventory.root.config.as_ref()?.as_str().to_owned(),
            url: self.url()?.to_owned(),
        })
    }

    /// To be called before asking the user anything (the confirmation before applying): no
    /// helper waits on the site while a person thinks. The next helper call uploads a fresh
    /// one.
    pub fn before_asking(&mut self) -> Result<(), EngineError> {
        self.finish_helper()
    }

    /// Removes the helper kept for the calls of one phase, if one is uploaded: before
    /// anything that may wait on a person, and when the session ends.
    pub(super) fn finish_helper(&mut self) -> Result<(), EngineError> {
        match &self.helper {
            Some(helper) => Ok(helper.finish(self.transport.as_mut())?),
            None => Ok(()),
        }
    }

    /// Like [`Session::finish_helper`] at the end of a run, where a helper left behind must
    /// not hide how the run went: a failure is a warning.
    pub(super) fn finish_helper_or_warn(&mut self, obs: &mut dyn Observer) {
        if let Err(e) = self.finish_helper() {
            obs.event(Event::Warning(&format!(
                "the helper's folder (wprescue-…) may still be in the WordPress root: the next \
                 unlock, run or rollback removes it, or delete it by hand ({e})"
            )));
        }
    }

    /// Whether the site's database is reachable (through the helper).
    pub fn has_database(&self) -> bool {
        self.helper.is_some()
    }

    /// What a run reaches, without the site over HTTP.
    pub(super) fn access(&mut self) -> Access<'_> {
        Access {
            files: self.transport.as_mut(),
            db: self.helper.as_ref().map(|h| h as &dyn Database),
            web: None,
        }
    }

    /// How verification asks the site, when its address is known.
    pub fn verifier(&self) -> Option<Verifier> {
        Some(Verifier {
            url: self.url()?.to_owned(),
            options: self.spec.options.clone(),
            catalog: self.catalog.clone(),
        })
    }

    /// The caller's address as the site sees it, decided once per session and announced;
    /// `None` when there is no way to ask and no `--ip`.
    pub fn caller(&mut self, obs: &mut dyn Observer) -> Option<Caller> {
        if self.caller.is_none() {
            self.caller = self.find_caller(obs);
            if let Some(caller) = &self.caller {
                obs.event(Event::Caller(caller));
            }
        }
        self.caller.clone()
    }

    fn find_caller(&mut self, obs: &mut dyn Observer) -> Option<Caller> {
        let flag = self.spec.ip;
        let (Some(helper), Some(url)) = (&self.helper, self.url().map(str::to_owned)) else {
            return flag.map(Caller::from_flag);
        };
        obs.busy("asking the site which address it sees");
        let t = self.transport.as_mut();
        // sshd's view goes while the web server answers.
        let (seen, sshd) = match flag {
            Some(_) => (Err("not asked: --ip given".to_owned()), ssh_client(t)),
            None => {
                let (seen, sshd) = helper.whoami_beside(t, ssh_client);
                (seen.map_err(|e| e.to_string()), sshd)
            }
        };
        let bind = self.spec.options.http.bind;
        let clues = Clues {
            flag,
            local: bind
                .or_else(|| local_address_towards(&url))
                .unwrap_or(IpAddr::from([127, 0, 0, 1])),
            sshd,
            seen,
        };
        obs.idle();
        Some(caller::decide(clues))
    }

    /// Each of `specs` with its template values for this site and run: when a step needs the
    /// caller's address, the address that rung's plugin sees (its `ip_source`).
    pub fn rungs(
        &mut self,
        specs: Vec<RungSpec>,
        run_id: &str,
        obs: &mut dyn Observer,
    ) -> Result<Vec<Rung>, EngineError> {
        let wp_root = match self.inventory() {
            Some(inventory) => inventory.root.path.clone(),
            None => RemotePath::new("")?,
        };
        let wp_version = self.inventory().and_then(|i| i.root.version.clone());
        let table_prefix = match self
            .inventory()
            .and_then(|i| i.config.as_ref()?.table_prefix.clone())
        {
            Some(crate::parse::wp_config::ConfigValue::Str(prefix)) => Some(prefix),
            _ => None,
        };
        let caller = if specs.iter().any(RungSpec::needs_ip) {
            self.caller(obs)
        } else {
            None
        };
        let mut rungs = Vec::new();
        for spec in specs {
            let ip = match (&caller, &spec.ip_source) {
                (Some(caller), Some(source)) if caller.has_headers() => {
                    let setting = source
                        .at
                        .read(&mut self.access())
                        .map_err(|e| e.to_string());
                    let address = caller.for_plugin(&spec.playbook, source, setting);
                    if let Some(note) = &address.note {
                        obs.event(Event::Note(note));
                    }
                    Some(address.ip)
                }
                (Some(caller), _) => Some(caller.ip),
                (None, _) => None,
            };
            rungs.push(Rung {
                vars: Vars {
                    run_id: run_id.to_owned(),
                    wp_root: wp_root.clone(),
                    plugin_folder: spec.plugin_folder,
                    ip,
                    wp_version: wp_version.clone(),
                    user: self.options().login.as_ref().map(|(user, _)| user.clone()),
                    site_url: self.url().map(|u| u.trim_end_matches('/').to_owned()),
                    table_prefix: table_prefix.clone(),
                    new_password: None,
                },
                playbook: spec.playbook,
                steps: spec.steps,
            });
        }
        Ok(rungs)
    }

    /// The escalation ladder's plan against the live site, reading only: a rung that cannot
    /// be planned is left out, with the reason.
    pub fn plan_ladder(
        &mut self,
        rungs: &[Rung],
        obs: &mut dyn Observer,
    ) -> Result<Ladder, EngineError> {
        let ladder = plan_ladder(&mut self.access(), rungs)?;
        for (rung, why) in &ladder.skipped {
            obs.event(Event::RungSkipped { rung, why });
        }
        stop_if_interrupted()?;
        Ok(ladder)
    }

    /// Every rung's plan against the live site, reading only; any rung that cannot be
    /// planned is an error.
    pub fn plan(&mut self, rungs: &[Rung]) -> Result<Vec<Planned>, EngineError> {
        let planned = plan(&mut self.access(), rungs)?;
        stop_if_interrupted()?;
        Ok(planned)
    }

    /// Fingerprints of every path `changes` touch, for a saved plan.
    pub fn fingerprints(&mut self, changes: &[Action]) -> Result<Vec<Fingerprint>, EngineError> {
        fingerprint::take(self.transport.as_mut(), changes)
    }

    /// Refuses unless every path is as `fingerprints` recorded.
    pub fn check_fingerprints(&mut self, fingerprints: &[Fingerprint]) -> Result<(), EngineError> {
        fingerprint::verify(self.transport.as_mut(), fingerprints)
    }

    /// Where the session's connection lands: origin and folder.
    pub fn place(&self) -> (String, String) {
        (
            self.transport.origin().to_owned(),
            self.transport.root().to_owned(),
        )
    }
}

/// What the user should know about a connection that is not private.
impl Drop for Session {
    /// A session that ends on an error or a panic removes its kept helper all the same.
    fn drop(&mut self) {
        let _ = self.finish_helper();
    }
}

fn connection_warnings(origin: &str, connect: &ConnectOptions) -> Vec<&'static str> {
    let mut warnings = Vec::new();
    if origin.starts_with("ftp://") {
        warnings.push(
            "plain FTP: the password and every file cross the network unencrypted; use ftps:// or sftp:// where the host offers it",
        );
    }
    if matches!(connect.tls, TlsTrust::Insecure) && origin.starts_with("ftps") {
        warnings.push(
            "--insecure-tls: the FTPS certificate is not checked, so anyone on the way can pose as the server and read the password",
        );
    }
    warnings
}

/// A site that answered no request at all has told nothing: that is an error, not a verdict
/// of "cause unknown".
fn no_answer_is_an_error(report: &Report) -> Result<(), EngineError> {
    if report.probes.is_empty() || report.probes.iter().any(|p| !p.hops.is_empty()) {
        return Ok(());
    }
    let why = report.probes[0]
        .error
        .as_ref()
        .map_or_else(|| "no answer".to_owned(), ToString::to_string);
    Err(EngineError::NoHttpAnswer {
        url: report.url.0.clone(),
        why,
    })
}

/// Planning reads for a while; Ctrl-C then stops before anything is changed.
fn stop_if_interrupted() -> Result<(), EngineError> {
    if crate::interrupt::requested() {
        return Err(EngineError::Interrupted {
            changed: 0,
            run_id: None,
        });
    }
    Ok(())
}

fn local_address_towards(url: &str) -> Option<IpAddr> {
    let target = host_and_port(url)?;
    let addr: SocketAddr = target.to_socket_addrs().ok()?.next()?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    Some(stream.local_addr().ok()?.ip())
}

/// The address sshd sees for this machine (`$SSH_CLIENT`), when the target runs commands.
fn ssh_client(t: &mut dyn Transport) -> Option<IpAddr> {
    if !t.capabilities().exec {
        return None;
    }
    let exec = t.as_exec_leaving_files()?;
    let out = exec.exec("printf %s \"${SSH_CLIENT%% *}\"").ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}
