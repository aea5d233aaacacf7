//! The command line: one clap definition, whose doc comments are the `--help` text.

use std::net::IpAddr;
use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::engine::{Examine, Journal, SessionSpec};
use crate::helper::Mode;
use crate::http::HttpOptions;
use crate::site::InvestigateOptions;
use crate::transport::{
    ConnectOptions, DEFAULT_FTP_CONNECTIONS, FTP_CONNECTIONS_FLAG, TARGET_HELP, TlsTrust,
};

use super::color::ColorChoice;
use super::input;

/// Get a locked-out WordPress administrator back in, from the terminal, over SSH/SFTP or
/// FTP/FTPS.
///
/// wprescue connects to the hosting account, finds out why wp-admin is unreachable (a server
/// password, a security plugin's block, a broken .htaccess, a firewall file loaded before
/// WordPress that is gone) from the files and from HTTP requests made from this machine,
/// then applies the least invasive fix with a local journal, checks that the admin gets in,
/// and can roll every change back.
#[derive(Debug, Parser)]
#[command(version, about, long_about, after_long_help = TARGET_HELP)]
pub struct Cli {
    /// When to colour the output.
    #[arg(
        long,
        value_enum,
        default_value_t,
        global = true,
        env = "WPRESCUE_COLOR"
    )]
    pub color: ColorChoice,

    /// Trace what wprescue does on stderr, for a bug report: -v the run's steps, -vv every
    /// file operation, HTTP request and helper call, -vvv everything. Secrets never appear.
    /// WPRESCUE_LOG (e.g. `wprescue=debug`) chooses the same in RUST_LOG's syntax.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print only results and errors: no progress, no step-by-step lines.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find out why the admin is locked out. Read-only: changes nothing on the site.
    ///
    /// Reads the few files that matter (wp-config.php, .htaccess, .user.ini, the plugin
    /// folders, the hosting logs) and requests /, /wp-login.php and /wp-admin/ from this
    /// machine, exactly as the locked-out browser does, then names the cause with its evidence.
    /// It never tries a login with made-up credentials (that would extend a lockout); give
    /// --login to try a real one.
    ///
    /// Causes: server-password (401 with a realm: .htaccess + .htpasswd), plugin-password
    /// (401 without a realm: a plugin's prompt), plugin-block (a security plugin blocks this
    /// address), htaccess-deny (Apache's 403 from a deny rule), broken-prepend
    /// (auto_prepend_file names a missing file: 500 for everyone), server-error (another 500),
    /// two-factor (the right password leads to a code prompt: a lost phone; needs --login),
    /// wrong-site-address (pages redirect to another host, or in a loop), maintenance (a
    /// .maintenance file left by an update: 503 for every page), hidden-login (wp-login.php
    /// moved by a plugin), reachable (nothing in the way), unknown.
    ///
    /// Exit status: 0 no lockout found, 2 a lockout found, 1 error (no HTTP answer at all
    /// included), 64 a usage error.
    #[command(after_long_help = TARGET_HELP)]
    Diagnose(DiagnoseArgs),

    /// Get the admin back in: diagnose, plan the least invasive fix, apply it, verify.
    ///
    /// Picks the playbooks that answer the diagnosed cause and shows every change, with a diff
    /// of each file and row (secrets redacted). For a security plugin the first rung keeps it
    /// running: the caller's address (as the web server sees it; --ip to override) goes into
    /// the plugin's own allow-list and its lockout is cleared, through a small PHP helper
    /// (run by `php` over SSH, or uploaded for one token-protected request over HTTP and
    /// deleted). Only if that does not let the admin in does the next rung rename the
    /// plugin's folder. Other rungs remove an orphaned firewall block, comment out a server
    /// password, or replace a broken .htaccess. After confirmation (or
    /// --yes) it applies them one rung at a time, from least to most invasive, writing each
    /// change and the original bytes to a local journal before touching the server, and
    /// re-checks over HTTP, as the caller, after each rung. A rung that does not let the admin
    /// in is undone before the next one is tried; after the last, nothing of the run stays.
    ///
    /// Exit status: 0 unlocked, or nothing to do; 2 --dry-run found changes to make; 3 no rung
    /// let the admin in, and all was undone; 130 interrupted by Ctrl-C (the changes made so far
    /// stay, journaled, for rollback); 1 error; 64 a usage error.
    #[command(after_long_help = TARGET_HELP)]
    Unlock(UnlockArgs),

    /// Plan what unlock would do and save it to a file, to review (or hand to someone) and
    /// apply later with `wprescue apply FILE`. Changes nothing.
    ///
    /// The plan file records the playbooks, the site and a fingerprint (size, modification
    /// time, SHA-256) of every path the plan touches; `apply` refuses it once any of them has
    /// changed. It holds no file contents and no passwords.
    ///
    /// Exit status: 0 nothing to change, 2 a plan with changes was saved, 1 error, 64 a usage
    /// error.
    #[command(after_long_help = TARGET_HELP)]
    Plan(PlanArgs),

    /// Apply a plan saved by `wprescue plan`, exactly as planned: refused if the site changed
    /// since. Then verifies as the caller after each rung and rolls back if the admin still
    /// cannot get in, like unlock.
    ///
    /// Exit status: 0 unlocked; 3 the fix did not let the admin in and was rolled back; 1
    /// error (including a stale plan); 64 a usage error.
    Apply(ApplyArgs),

    /// Run one playbook (a built-in by name, or a YAML file) on a site, whatever the
    /// diagnosis: --check only plans it (zero changes to the site), --diff shows each file's
    /// diff. Changes are journaled and undone with `wprescue rollback`.
    ///
    /// Exit status: 0 applied, nothing to change, or declined; 2 --check found changes to make;
    /// 1 error (a failed http_check step rolls the run back); 64 a usage error.
    #[command(after_long_help = TARGET_HELP)]
    Run(RunArgs),

    /// Set a WordPress user's password (a lost password). The new one comes from
    /// WPRESCUE_NEW_PASSWORD or a prompt (asked twice), never from the command line; it is
    /// hashed here the way the site's WordPress hashes it (bcrypt with the $wp prefix from
    /// 6.8, phpass before), so only the hash reaches the site. The old hash stays on the site
    /// until `wprescue rollback` puts it back. A real login with the new password proves it.
    ///
    /// Exit status: 0 set and a login succeeded, or declined; 2 --dry-run; 3 the login still
    /// failed, and all was undone; 1 error; 64 a usage error.
    #[command(after_long_help = TARGET_HELP)]
    ResetPassword(AccountArgs),

    /// Give a WordPress user the administrator role back (a role changed by mistake or by an
    /// intruder), as Users > Edit would: their capabilities and user level. Undone by
    /// `wprescue rollback`.
    ///
    /// Exit status: 0 done, nothing to change, or declined; 2 --dry-run found changes to
    /// make; 1 error; 64 a usage error.
    #[command(after_long_help = TARGET_HELP)]
    MakeAdmin(AccountArgs),

    /// Undo a run of unlock from its journal, in a fresh process if need be (after a crash or
    /// a dropped connection). It lists what it would put back and asks first (--yes to skip);
    /// where the plugin rewrote a file or setting since, what the change meant is undone in
    /// what is there now; a real conflict is left alone and reported.
    ///
    /// Exit status: 0 undone, or declined; 2 --dry-run found changes to undo; 1 error, or a
    /// change that could not be undone safely; 64 a usage error.
    #[command(after_long_help = TARGET_HELP)]
    Rollback(RollbackArgs),

    /// List the built-in playbooks, or show one (its YAML) by name.
    Playbooks {
        /// A playbook to show in full.
        name: Option<String>,
    },

    /// List the runs of unlock recorded on this machine, oldest first: id, site, playbooks,
    /// changes made and undone.
    History {
        /// Print one JSON document: the state folder and every run.
        #[arg(long)]
        json: bool,
    },

    /// Print a shell completion script, e.g.
    /// `wprescue completions bash > ~/.local/share/bash-completion/completions/wprescue`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff), e.g. `wprescue man | man -l -`.
    Man,
}

/// `wprescue diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Print the report as JSON (shape documented in README.md).
    #[arg(long)]
    pub json: bool,

    // Last, so that the site's headed groups of flags come after this command's own.
    #[command(flatten)]
    pub site: SiteArgs,
}

/// `wprescue unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Show the plan, with a diff of every file, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print a JSON document at the end (plan, outcome, recap) on stdout; human lines go to
    /// stderr.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub site: SiteArgs,
}

/// `wprescue plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Where to save the plan (a JSON file, created with mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,

    #[command(flatten)]
    pub site: SiteArgs,
}

/// `wprescue apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file written by `wprescue plan -o FILE`.
    pub plan: PathBuf,

    /// How to run the database helper, for a plan that changes rows (see unlock --help).
    #[arg(long, value_enum, default_value_t, value_name = "HOW")]
    pub helper: HelperChoice,

    /// Print a JSON document at the end, as unlock --json does.
    #[arg(long)]
    pub json: bool,

    /// Connect and apply without asking first. A plan file is trusted like a script: it
    /// names the target to connect to with your credentials, and the changes to make.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `wprescue run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A built-in playbook's name (see `wprescue playbooks`) or a playbook file.
    pub playbook: String,

    /// Only plan: show what would change, change nothing.
    #[arg(long)]
    pub check: bool,

    /// Show a unified diff of every file change.
    #[arg(long)]
    pub diff: bool,

    /// Apply without asking (needed when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print a JSON document at the end, as unlock --json does.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub site: SiteArgs,
}

/// `wprescue reset-password` and `wprescue make-admin`.
#[derive(Debug, Args)]
pub struct AccountArgs {
    #[command(flatten)]
    pub site: SiteArgs,

    /// The WordPress user (their login name).
    pub user: String,

    /// Only plan: show what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply without asking (needed when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print a JSON document at the end, as unlock --json does.
    #[arg(long)]
    pub json: bool,
}

/// `wprescue rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The site the run changed (the same target as for unlock).
    pub target: String,

    /// The run to undo (default: the newest run on this target). Run ids are the folder
    /// names under the state folder's runs/.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,

    /// How to run the database helper, for a run that changed rows (see unlock --help).
    #[arg(long, value_enum, default_value_t, value_name = "HOW")]
    pub helper: HelperChoice,

    /// Only show what would be put back; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print one JSON document at the end (the run, what was put back, what was left); the
    /// human lines go to stderr.
    #[arg(long)]
    pub json: bool,

    /// Undo without asking (needed when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    pub yes: bool,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Which site, and how to reach it over files and over HTTP.
#[derive(Debug, Args)]
#[command(next_help_heading = "Site")]
pub struct SiteArgs {
    /// Where the site is: sftp://, ssh://, ftp://, ftps://, USER@HOST:PATH, an ~/.ssh/config
    /// alias, or a local folder (see TARGETS below).
    pub target: String,

    /// The WordPress folder to examine, relative to the target, when the target holds
    /// several sites.
    #[arg(long, value_name = "PATH")]
    pub site: Option<String>,

    /// The site's address as the admin types it (default: WP_HOME or WP_SITEURL from
    /// wp-config.php).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// The address the site sees for this machine, for allow-lists and lockouts (default: ask
    /// the web server, as the caller). Give it when a proxy or CDN sits in front of the site
    /// and the security plugin reads the address from its header.
    #[arg(long, value_name = "ADDRESS")]
    pub ip: Option<IpAddr>,

    /// How to run the database helper that whitelists the caller and clears lockouts: auto
    /// (`php` over SSH when the target runs commands, else upload it for one request over
    /// HTTP), ssh, or http.
    #[arg(long, value_enum, default_value_t, value_name = "HOW")]
    pub helper: HelperChoice,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `--helper`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HelperChoice {
    /// Over SSH when the target can run commands, else over HTTP.
    #[default]
    Auto,
    /// `php` over SSH; nothing is written to the site.
    Ssh,
    /// Uploaded for one request, called over HTTP, deleted.
    Http,
}

/// How HTTP requests to the site are made.
#[derive(Debug, Args)]
#[command(next_help_heading = "HTTP, as the locked-out browser")]
pub struct HttpArgs {
    /// Send HTTP requests from this local address (like curl --interface): the address a
    /// security plugin sees, for machines with several addresses or a VPN.
    #[arg(long, value_name = "ADDRESS")]
    pub bind: Option<IpAddr>,

    /// Try a real login as USER (password from WPRESCUE_LOGIN_PASSWORD or a prompt): the only
    /// way to see a lockout that shows on login alone (Limit Login Attempts, AIOS lockdown).
    #[arg(long, value_name = "USER")]
    pub login: Option<String>,

    /// Seconds to wait for each HTTP request.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub http_timeout: u64,
}

/// How to reach the hosting account.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection (SSH, FTP, FTPS)")]
pub struct ConnectArgs {
    /// SSH private key to try first (repeatable). Its passphrase comes from
    /// WPRESCUE_KEY_PASSPHRASE or a prompt.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,

    /// known_hosts file to check the SSH host key against (default: ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,

    /// Accept an SSH host key seen for the first time, if its fingerprint is exactly this
    /// (SHA256:...), and record it in known_hosts. A changed key is always refused.
    #[arg(long, value_name = "FINGERPRINT")]
    pub accept_host_key: Option<String>,

    /// Reach the SSH host through this jump host, as `ssh -J` does: SSH to it, then a tunnel
    /// from it to the target, with both host keys checked against known_hosts. Wins over
    /// ProxyJump in ~/.ssh/config. The jump host gets keys and the agent, never the target's
    /// password.
    #[arg(long, value_name = "[USER@]HOST[:PORT]")]
    pub jump: Option<String>,

    /// Do not use keys from ssh-agent.
    #[arg(long)]
    pub no_agent: bool,

    /// Trust the FTPS server's certificate if its fingerprint is exactly this (SHA256:...,
    /// as an untrusted certificate's error shows it), and pin it in
    /// ~/.config/wprescue/known_certificates: later runs check the pin without this flag, and
    /// a changed certificate is refused even when its chain is valid.
    #[arg(long, value_name = "FINGERPRINT", conflicts_with = "insecure_tls")]
    pub accept_tls_cert: Option<String>,

    /// Verify the FTPS server's certificate against this CA file (PEM) instead of the
    /// system's roots.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure_tls")]
    pub tls_ca: Option<PathBuf>,

    /// Do not verify the FTPS certificate: the connection is encrypted, but anyone on the
    /// way can pose as the server and read the password.
    #[arg(long)]
    pub insecure_tls: bool,

    /// Seconds to wait for the server at each step (connect, each reply).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// FTP control connections to open, at most (1 to 8): the first logs in, the others only
    /// once its password has worked, to read and write side by side. Give 1 where the host
    /// counts connections against you.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_FTP_CONNECTIONS as u8,
          value_parser = clap::value_parser!(u8).range(1..=8))]
    pub ftp_connections: u8,
}

/// `--timeout`'s default, in seconds.
const DEFAULT_TIMEOUT: u64 = 30;

/// A flag whose value cannot work, found before anything connects.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {value}: {why}")]
pub struct BadArgument {
    /// The flag.
    pub flag: &'static str,
    /// What was given.
    pub value: String,
    /// Why it cannot work.
    pub why: String,
    /// What to give instead.
    pub hint: String,
}

/// `--url` must be an http(s) address with a host.
fn check_url(url: &str) -> Result<(), BadArgument> {
    let bad = |why: &str| BadArgument {
        flag: "--url",
        value: url.to_owned(),
        why: why.to_owned(),
        hint: "give the address the admin opens in a browser, e.g. --url https://example.com"
            .into(),
    };
    let lower = url.to_ascii_lowercase();
    let Some(rest) = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
    else {
        return Err(bad("not an http:// or https:// address"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.chars().any(char::is_whitespace) {
        return Err(bad("no host name in it"));
    }
    Ok(())
}

/// `--bind` must be an address of this machine, or every request from it fails.
fn check_bind(ip: IpAddr) -> Result<(), BadArgument> {
    std::net::TcpListener::bind((ip, 0))
        .map(drop)
        .map_err(|e| BadArgument {
            flag: "--bind",
            value: ip.to_string(),
            why: format!("this machine cannot send from it ({e})"),
            hint: "give one of this machine's own addresses (`ip -brief address` lists them), \
                   or leave --bind out"
                .into(),
        })
}

impl SiteArgs {
    /// The session these flags ask for; asks for the `--login` password now, before anything
    /// connects. `--url` and `--bind` are checked first.
    pub fn session(&self, examine: Examine, changes: bool) -> anyhow::Result<SessionSpec> {
        if let Some(url) = &self.url {
            check_url(url)?;
        }
        if let Some(bind) = self.http.bind {
            check_bind(bind)?;
        }
        self.connect.check()?;
        let login = match &self.http.login {
            Some(user) => Some((user.clone(), input::login_password(user)?)),
            None => None,
        };
        Ok(SessionSpec {
            target: self.target.clone(),
            jump: self.connect.jump.clone(),
            connect: self.connect.options(),
            interactive: input::interactive(),
            examine,
            options: InvestigateOptions {
                site: self.site.clone(),
                url: self.url.clone(),
                http: HttpOptions {
                    bind: self.http.bind,
                    timeout: Duration::from_secs(self.http.http_timeout),
                },
                login,
            },
            changes,
            helper: self.helper.mode(),
            ip: self.ip,
            state_dir: Journal::state_dir()?,
        })
    }
}

impl ConnectArgs {
    /// A session on `target` that examines nothing (`apply`, `rollback`).
    pub fn session(&self, target: &str, helper: HelperChoice) -> anyhow::Result<SessionSpec> {
        self.check()?;
        Ok(SessionSpec {
            target: target.to_owned(),
            jump: self.jump.clone(),
            connect: self.options(),
            interactive: input::interactive(),
            examine: Examine::Nothing,
            options: InvestigateOptions::default(),
            changes: true,
            helper: helper.mode(),
            ip: None,
            state_dir: Journal::state_dir()?,
        })
    }

    /// Files named by flags must exist: a key silently skipped would end as "authentication
    /// failed" with the wrong reason.
    fn check(&self) -> Result<(), BadArgument> {
        let files = self
            .identity
            .iter()
            .map(|f| ("--identity", f))
            .chain(self.known_hosts.iter().map(|f| ("--known-hosts", f)))
            .chain(self.tls_ca.iter().map(|f| ("--tls-ca", f)));
        for (flag, file) in files {
            if let Err(e) = std::fs::metadata(file) {
                return Err(BadArgument {
                    flag,
                    value: file.display().to_string(),
                    why: format!("cannot read it ({e})"),
                    hint: format!("check the path given to {flag}"),
                });
            }
        }
        Ok(())
    }

    /// These flags as they were given, for a command printed to run later (the undo line):
    /// without them a copied command fails where this one got in.
    pub fn as_given(&self, helper: HelperChoice) -> Vec<String> {
        let mut flags = Vec::new();
        let path = |p: &PathBuf| p.display().to_string();
        for identity in &self.identity {
            flags.extend(["--identity".to_owned(), path(identity)]);
        }
        if let Some(file) = &self.known_hosts {
            flags.extend(["--known-hosts".to_owned(), path(file)]);
        }
        if let Some(jump) = &self.jump {
            flags.extend(["--jump".to_owned(), jump.clone()]);
        }
        if self.no_agent {
            flags.push("--no-agent".into());
        }
        if let Some(ca) = &self.tls_ca {
            flags.extend(["--tls-ca".to_owned(), path(ca)]);
        }
        if self.insecure_tls {
            flags.push("--insecure-tls".into());
        }
        if self.timeout != DEFAULT_TIMEOUT {
            flags.extend(["--timeout".to_owned(), self.timeout.to_string()]);
        }
        if usize::from(self.ftp_connections) != DEFAULT_FTP_CONNECTIONS {
            flags.extend([
                FTP_CONNECTIONS_FLAG.to_owned(),
                self.ftp_connections.to_string(),
            ]);
        }
        match helper {
            HelperChoice::Auto => {}
            HelperChoice::Ssh => flags.extend(["--helper".to_owned(), "ssh".to_owned()]),
            HelperChoice::Http => flags.extend(["--helper".to_owned(), "http".to_owned()]),
        }
        flags
    }

    /// The connection options these flags ask for.
    fn options(&self) -> ConnectOptions {
        let tls = match (&self.tls_ca, self.insecure_tls) {
            (_, true) => TlsTrust::Insecure,
            (Some(ca), false) => TlsTrust::CaFile(ca.clone()),
            (None, false) => TlsTrust::SystemRoots,
        };
        ConnectOptions {
            timeout: Duration::from_secs(self.timeout),
            identity_files: self.identity.clone(),
            known_hosts: self.known_hosts.iter().cloned().collect(),
            accept_host_key: self.accept_host_key.clone(),
            use_agent: !self.no_agent,
            tls,
            accept_tls_cert: self.accept_tls_cert.clone(),
            known_certs: known_certs_file(),
            progress: true,
            ftp_connections: usize::from(self.ftp_connections),
        }
    }
}

/// Where pinned FTPS certificates are kept: `$XDG_CONFIG_HOME/wprescue/known_certificates`,
/// else under `~/.config`.
fn known_certs_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".config")))?;
    Some(config.join("wprescue").join("known_certificates"))
}

impl HelperChoice {
    /// The helper mode asked for; `None` lets the session choose.
    fn mode(self) -> Option<Mode> {
        match self {
            HelperChoice::Auto => None,
            HelperChoice::Ssh => Some(Mode::Exec),
            HelperChoice::Http => Some(Mode::Http),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{
        ACCEPT_HOST_KEY_FLAG, IDENTITY_FLAG, INSECURE_TLS_FLAG, TIMEOUT_FLAG, TLS_CA_FLAG,
    };
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_teaches_targets_and_causes() {
        let help = Cli::command()
            .find_subcommand_mut("diagnose")
            .unwrap()
            .render_long_help()
            .to_string();
        for needle in [
            "sftp://USER@HOST",
            "ftps-implicit://",
            "broken-prepend",
            "Exit status: 0 no lockout found",
        ] {
            assert!(help.contains(needle), "{needle} missing from:\n{help}");
        }
    }

    #[test]
    fn tls_flags_conflict() {
        let parsed = Cli::try_parse_from([
            "wprescue",
            "diagnose",
            "ftps://u@h/",
            "--tls-ca",
            "ca.pem",
            "--insecure-tls",
        ]);
        assert!(parsed.is_err());
    }

    #[test]
    fn urls_and_local_addresses_are_checked_before_connecting() {
        for good in [
            "http://127.0.0.10:18080",
            "HTTPS://example.com/blog",
            "https://[::1]/",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "example.com",
            "ftp://example.com",
            "http://",
            "http:///x",
            "https://:80",
        ] {
            let err = check_url(bad).unwrap_err();
            assert!(err.to_string().starts_with("--url "), "{err}");
        }
        assert!(check_bind("127.0.0.1".parse().unwrap()).is_ok());
        let err = check_bind("192.0.2.123".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("cannot send from it"), "{err}");
    }

    /// Transport errors name flags in their hints; each must be a flag the CLI really has.
    #[test]
    fn every_flag_named_in_hints_exists() {
        let mut cli = Cli::command();
        let diagnose = cli.find_subcommand_mut("diagnose").unwrap();
        let longs: Vec<String> = diagnose
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for flag in [
            ACCEPT_HOST_KEY_FLAG,
            IDENTITY_FLAG,
            INSECURE_TLS_FLAG,
            TIMEOUT_FLAG,
            TLS_CA_FLAG,
        ] {
            assert!(
                longs.iter().any(|l| l == flag),
                "{flag} is not a flag of diagnose: {longs:?}"
            );
        }
    }
}
