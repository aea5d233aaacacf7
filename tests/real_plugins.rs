//! The real-plugin tier: unmodified releases of WordPress 6.8.8, Wordfence, Solid Security,
//! All-In-One Security and Limit Login Attempts Reloaded on a second hosting account
//! (`tests/sandbox/real-tier`), locked out by the plugins' own code: their block APIs and real
//! failed logins. Each scenario locks out 127.0.0.1 and 127.0.0.3; 127.0.0.2 still gets in.
//!
//! Per scenario: the lockout is real, as the plugin shows it; then, over SSH and over FTP,
//! `diagnose` names the cause and the plugin, `unlock` lets 127.0.0.1 in while the plugin stays
//! active and 127.0.0.3 stays out, with no helper left behind; and after the admin has logged in
//! and WordPress's cron has run, `rollback` locks 127.0.0.1 out again, with every file
//! byte-identical except where the plugin rewrote it itself.
//!
//! When the releases are missing, `sandbox up` records why in the env file and every test here
//! fails with that line: the tier is never skipped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wprescue::http::{HttpClient, HttpOptions, Response};
use wprescue::site::probe::{LOGIN_PATH, is_logged_in, try_login};

use crate::harness::{Protocol, Sandbox, contents, sandbox_tool};
use crate::test::{Outcome, Test};

/// How a plugin refuses a locked-out address, as the real plugin was seen to do it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    /// Every page answers `status` with `marker` in the body (an empty marker: an empty body).
    EveryPage { status: u16, marker: &'static str },
    /// Pages load; the login form answers `status` with `marker`.
    LoginForm { status: u16, marker: &'static str },
    /// Pages and the form load; a login with the right password answers 200 with the form and
    /// `marker` instead of logging in.
    Login { marker: &'static str },
}

/// One real-plugin scenario (`tests/sandbox/real-tier scenario NAME`).
pub(crate) struct Scenario {
    name: &'static str,
    /// How `diagnose` names the plugin.
    plugin: &'static str,
    /// The plugin's main file, as `active_plugins` lists it.
    main_file: &'static str,
    refusal: Refusal,
    /// Places under the docroot that the plugin (or WordPress) rewrites by itself while pages
    /// are viewed, the admin logs in and cron runs: not compared byte for byte after rollback.
    self_written: &'static [&'static str],
}

impl Scenario {
    /// Whether the lockout only shows on a real login: `diagnose` and `unlock` need `--login`.
    fn needs_login(&self) -> bool {
        matches!(self.refusal, Refusal::Login { .. })
    }

    fn folder(&self) -> &'static str {
        self.main_file.split('/').next().unwrap()
    }
}

/// Wordfence keeps its firewall's copy of its settings, blocks and lockouts in `wflogs/` and
/// rewrites it from the database whenever a page loads WordPress (`config-synced.php`), and logs
/// requests there (`attack-data.php`).
const WFLOGS: &str = "wp-content/wflogs/";

pub(crate) const WORDFENCE_BLOCK: Scenario = Scenario {
    name: "wordfence-block",
    plugin: "Wordfence",
    main_file: "wordfence/wordfence.php",
    refusal: Refusal::EveryPage {
        status: 503,
        marker: "Your access to this site has been limited",
    },
    self_written: &[WFLOGS],
};

const WORDFENCE_LOCKOUT: Scenario = Scenario {
    name: "wordfence-lockout",
    plugin: "Wordfence",
    main_file: "wordfence/wordfence.php",
    refusal: Refusal::LoginForm {
        status: 503,
        marker: "Your access to this site has been limited",
    },
    self_written: &[WFLOGS],
};

const SOLID_LOCKOUT: Scenario = Scenario {
    name: "solid-lockout",
    plugin: "Solid Security",
    main_file: "better-wp-security/better-wp-security.php",
    refusal: Refusal::EveryPage {
        status: 403,
        marker: "You have been locked out of this site",
    },
    self_written: &[],
};

const AIOS_BLACKLIST: Scenario = Scenario {
    name: "aios-blacklist",
    plugin: "All In One WP Security",
    main_file: "all-in-one-wp-security-and-firewall/wp-security.php",
    refusal: Refusal::EveryPage {
        status: 403,
        marker: "",
    },
    self_written: &[],
};

const AIOS_LOGIN_LOCKDOWN: Scenario = Scenario {
    name: "aios-login-lockdown",
    plugin: "All In One WP Security",
    main_file: "all-in-one-wp-security-and-firewall/wp-security.php",
    refusal: Refusal::LoginForm {
        status: 503,
        marker: "Service temporarily unavailable",
    },
    self_written: &[],
};

const LLAR_LOCKOUT: Scenario = Scenario {
    name: "llar-lockout",
    plugin: "Limit Login Attempts Reloaded",
    main_file: "limit-login-attempts-reloaded/limit-login-attempts-reloaded.php",
    refusal: Refusal::Login {
        marker: "Too many failed login attempts",
    },
    self_written: &[],
};

const LOGINIZER_LOCKOUT: Scenario = Scenario {
    name: "loginizer-lockout",
    plugin: "Loginizer",
    main_file: "loginizer/loginizer.php",
    refusal: Refusal::Login {
        marker: "You have exceeded maximum login retries",
    },
    self_written: &[],
};

/// How a real-tier account's web server runs PHP (`real-tier --stack`): each stack is its own
/// account and site, with its own keys in the env file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stack {
    /// Apache with mod_php: `REAL_*`.
    ApacheModPhp,
    /// nginx + PHP-FPM: `NGINX_*`.
    NginxFpm,
    /// Apache + PHP-FPM through proxy_fcgi: `APACHE_FPM_*`.
    ApacheFpm,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::ApacheModPhp => "apache-mod_php",
            Stack::NginxFpm => "nginx-fpm",
            Stack::ApacheFpm => "apache-fpm",
        }
    }

    fn env_prefix(self) -> &'static str {
        match self {
            Stack::ApacheModPhp => "REAL_",
            Stack::NginxFpm => "NGINX_",
            Stack::ApacheFpm => "APACHE_FPM_",
        }
    }
}

/// The real-plugin site, through the locked sandbox.
pub(crate) struct Real<'a> {
    sb: &'a Sandbox,
    stack: Stack,
}

impl<'a> Real<'a> {
    /// The tier, or a failure with the line `sandbox up` wrote when it could not provision it.
    fn new(sb: &'a Sandbox) -> Self {
        Real::on(sb, Stack::ApacheModPhp)
    }

    /// The tier's account on `stack`, or a failure saying why `sandbox up` could not make it.
    pub(crate) fn on(sb: &'a Sandbox, stack: Stack) -> Self {
        let real = Real { sb, stack };
        let missing = real.env("REAL_TIER_MISSING");
        let missing = missing.trim_matches('\'');
        assert!(missing.is_empty(), "{missing}");
        real
    }

    /// `REAL_*` keys are read under the stack's own prefix; `SANDBOX_*` keys as they are.
    pub(crate) fn env(&self, key: &str) -> String {
        match key.strip_prefix("REAL_") {
            Some(rest) => self.sb.env(&format!("{}{rest}", self.stack.env_prefix())),
            None => self.sb.env(key),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.env("REAL_HTTP_URL"))
    }

    pub(crate) fn docroot(&self) -> PathBuf {
        PathBuf::from(self.env("REAL_DOCROOT"))
    }

    /// Restores the scenario's plugin set-up and makes its lockout.
    pub(crate) fn scenario(&self, scenario: &Scenario) {
        self.script(&["scenario", scenario.name]);
    }

    /// Runs `tests/sandbox/real-tier --stack STACK ARGS`; panics with its stderr if it fails.
    pub(crate) fn script(&self, args: &[&str]) {
        let mut all = vec!["--stack", self.stack.name()];
        all.extend_from_slice(args);
        sandbox_tool("real-tier", &all);
    }

    pub(crate) fn client(&self, from: &str) -> HttpClient {
        HttpClient::new(&HttpOptions {
            bind: Some(from.parse().expect("an IP address")),
            timeout: Duration::from_secs(30),
        })
    }

    pub(crate) fn get_from(&self, from: &str, path: &str) -> Response {
        let url = self.url(path);
        self.client(from)
            .get(&url)
            .unwrap_or_else(|e| panic!("GET {url} from {from}: {e}"))
    }

    /// A real login as the admin, with the right password, from `from`; the client keeps the
    /// session's cookies.
    pub(crate) fn login_from(&self, from: &str) -> (HttpClient, Response) {
        self.login_as(from, &self.env("REAL_WP_ADMIN"))
    }

    /// [`Real::login_from`] as another user with the same password (admin2).
    pub(crate) fn login_as(&self, from: &str, user: &str) -> (HttpClient, Response) {
        let mut client = self.client(from);
        let response = try_login(
            &mut client,
            &self.env("REAL_HTTP_URL"),
            LOGIN_PATH,
            user,
            &self.env("REAL_WP_PASSWORD"),
        )
        .unwrap_or_else(|e| panic!("login as {user} from {from}: {e}"));
        // Keep the session: every cookie the login set, as a browser would.
        for (name, value) in &response.headers {
            let pair = value.split(';').next().unwrap_or("");
            if name == "set-cookie"
                && let Some((cookie, value)) = pair.split_once('=')
            {
                client.set_cookie(cookie.trim(), value);
            }
        }
        (client, response)
    }

    /// Whether `from` is refused the way the scenario's plugin refuses; `Err` says what it got.
    pub(crate) fn refused(&self, from: &str, refusal: Refusal) -> Result<(), String> {
        let shows = |response: &Response, status: u16, marker: &str| {
            let body_ok = if marker.is_empty() {
                response.body.trim().is_empty()
            } else {
                response.contains(marker)
            };
            if response.status == status && body_ok {
                Ok(())
            } else {
                Err(format!(
                    "{from}: want {status} with {marker:?}, got {response:?}"
                ))
            }
        };
        match refusal {
            Refusal::EveryPage { status, marker } => {
                for path in ["/", "/wp-login.php", "/wp-admin/"] {
                    shows(&self.get_from(from, path), status, marker)?;
                }
                Ok(())
            }
            Refusal::LoginForm { status, marker } => {
                let front = self.get_from(from, "/");
                if front.status != 200 {
                    return Err(format!("{from}: GET / should load: {front:?}"));
                }
                shows(&self.get_from(from, "/wp-login.php"), status, marker)?;
                shows(&self.login_from(from).1, status, marker)
            }
            Refusal::Login { marker } => {
                for path in ["/", "/wp-login.php"] {
                    let r = self.get_from(from, path);
                    if r.status != 200 {
                        return Err(format!("{from}: GET {path} should load: {r:?}"));
                    }
                }
                shows(&self.login_from(from).1, 200, marker)
            }
        }
    }

    /// Whether `from` gets in: the front page and the login form load and a real login as the
    /// admin succeeds; `Err` says what it got.
    pub(crate) fn gets_in(&self, from: &str) -> Result<(), String> {
        for path in ["/", "/wp-login.php"] {
            let r = self.get_from(from, path);
            if r.status != 200 {
                return Err(format!("{from}: GET {path}: {r:?}"));
            }
        }
        let (_, login) = self.login_from(from);
        if is_logged_in(&login) {
            Ok(())
        } else {
            Err(format!(
                "{from}: the admin's login did not succeed: {login:?}"
            ))
        }
    }

    /// Retries `check` for a few seconds (PHP may serve stale code briefly after a rename);
    /// panics with `what` and the last answer if it never holds.
    pub(crate) fn comes_to(&self, what: &str, check: impl Fn() -> Result<(), String>) {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            match check() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => panic!("{what}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// The admin logs in from `from` and opens the dashboard, as after a recovery, following
    /// the redirects a plugin makes on the first visit (AIOS sends the admin to its own page).
    pub(crate) fn admin_visits(&self, from: &str) {
        let (client, login) = self.login_from(from);
        assert!(
            is_logged_in(&login),
            "the admin logs in from {from}: {login:?}"
        );
        let mut url = self.url("/wp-admin/");
        for _ in 0..5 {
            let page = client
                .get(&url)
                .unwrap_or_else(|e| panic!("GET {url}: {e}"));
            match (page.status, page.header("location")) {
                (200, _) => return,
                (300..400, Some(next)) if next.starts_with(&self.url("/wp-admin/")) => {
                    url = next.to_owned();
                }
                _ => panic!("the admin's dashboard from {from}: {page:?}"),
            }
        }
        panic!("the admin's dashboard from {from}: too many redirects, last {url}");
    }

    /// WordPress's cron as a day of it would run: every scheduled event made due, then
    /// wp-cron.php requested from the server's own address, as WordPress spawns it (plugins
    /// schedule their first jobs minutes after activation; a plain request would run them or
    /// not depending on the clock).
    pub(crate) fn run_cron(&self) {
        self.script(&["cron"]);
    }

    /// SQL as root against the real site's database (`mariadb -N -B` output).
    pub(crate) fn sql(&self, query: &str) -> String {
        let output = Command::new("mariadb")
            .arg(format!("--socket={}", self.env("SANDBOX_DB_SOCKET")))
            .args(["-uroot", "-N", "-B", "-e", query])
            .arg(self.env("REAL_DB_NAME"))
            .output()
            .expect("mariadb client runs");
        assert!(
            output.status.success(),
            "SQL failed: {query}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned()
    }

    /// The plugin is where it was installed and WordPress lists it as active.
    pub(crate) fn assert_plugin_active(&self, scenario: &Scenario) {
        let folder = self
            .docroot()
            .join("wp-content/plugins")
            .join(scenario.folder());
        assert!(
            folder
                .join(scenario.main_file.split('/').nth(1).unwrap())
                .is_file(),
            "{}: the plugin's folder {} is gone",
            scenario.name,
            folder.display()
        );
        let active = self.sql(&format!(
            "SELECT option_value FROM {}options WHERE option_name = 'active_plugins'",
            self.env("REAL_DB_PREFIX")
        ));
        assert!(
            active.contains(&format!("\"{}\"", scenario.main_file)),
            "{}: {} is not active: {active}",
            scenario.name,
            scenario.main_file
        );
    }

    /// Names in the docroot that a database helper would leave behind.
    pub(crate) fn helper_leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.docroot())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("wprescue-"))
            .collect()
    }

    /// The target for `protocol`: the account's home, as a user gives it.
    pub(crate) fn target(&self, protocol: Protocol) -> String {
        match protocol {
            Protocol::Ssh | Protocol::Sftp => format!(
                "{}://{}@{}:{}{}",
                if protocol == Protocol::Ssh {
                    "ssh"
                } else {
                    "sftp"
                },
                self.env("REAL_USER"),
                self.env("SANDBOX_SSH_HOST"),
                self.env("SANDBOX_SSH_PORT"),
                self.env("REAL_HOME")
            ),
            Protocol::Ftp => format!(
                "ftp://{}@{}:{}/",
                self.env("REAL_USER"),
                self.env("SANDBOX_FTP_HOST"),
                self.env("SANDBOX_FTP_PORT")
            ),
        }
    }

    /// `wprescue COMMAND TARGET` over `protocol`, journals in `state`.
    pub(crate) fn wprescue(
        &self,
        protocol: Protocol,
        command: &str,
        state: &Path,
        note: &str,
    ) -> Test<'a> {
        self.wprescue_words(protocol, &[command], state, note)
    }

    /// `wprescue WORDS… TARGET` (`run PLAYBOOK`) over `protocol`, journals in `state`.
    pub(crate) fn wprescue_words(
        &self,
        protocol: Protocol,
        words: &[&str],
        state: &Path,
        note: &str,
    ) -> Test<'a> {
        let test = Test::new(self.sb)
            .note(note)
            .args(words)
            .args([self.target(protocol)])
            .state(state);
        match protocol {
            Protocol::Ssh | Protocol::Sftp => test.args([
                "--identity".to_owned(),
                self.env("SANDBOX_SSH_KEY"),
                "--known-hosts".to_owned(),
                self.env("SANDBOX_SSH_KNOWN_HOSTS"),
            ]),
            Protocol::Ftp => test.env("WPRESCUE_PASSWORD", self.env("REAL_PASSWORD")),
        }
    }

    /// `--url SITE --bind 127.0.0.1`: the site as the locked-out caller sees it; with `login`,
    /// also a real login as the admin (`--login`), where only a login shows the lockout.
    pub(crate) fn as_locked_out(&self, test: Test<'a>, login: bool) -> Test<'a> {
        let test = test.args([
            "--url".to_owned(),
            self.env("REAL_HTTP_URL"),
            "--bind".to_owned(),
            self.env("SANDBOX_LOCKED_IP"),
        ]);
        if login {
            test.args(["--login".to_owned(), self.env("REAL_WP_ADMIN")])
                .env("WPRESCUE_LOGIN_PASSWORD", self.env("REAL_WP_PASSWORD"))
        } else {
            test
        }
    }
}

/// Files (not folders) under `root`, outside the `ignored` prefixes, whose bytes or permission
/// bits differ between `before` and `after`, or that exist on one side only.
pub(crate) fn differences(
    before: &BTreeMap<String, (u32, Vec<u8>)>,
    after: &BTreeMap<String, (u32, Vec<u8>)>,
    root: &Path,
    ignored: &[&str],
) -> Vec<String> {
    let is_dir = |name: &str, side: &BTreeMap<String, (u32, Vec<u8>)>| {
        side.get(name)
            .is_some_and(|(mode, _)| mode & 0o170000 == 0o040000)
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| !ignored.iter().any(|prefix| name.starts_with(prefix)))
        .filter(|name| !is_dir(name, before) && !is_dir(name, after))
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| {
            let what = match (before.get(name), after.get(name)) {
                (Some(_), None) => "gone",
                (None, Some(_)) => "new",
                _ => "changed",
            };
            format!("{what}: {}", root.join(name).display())
        })
        .collect()
}

/// The lockout is real: both locked addresses are refused as the plugin refuses, the free one
/// gets in.
fn lockout_is_real(scenario: &Scenario) {
    let sb = Sandbox::lock();
    let real = Real::new(&sb);
    real.scenario(scenario);
    for ip in sb.locked_ips() {
        if let Err(e) = real.refused(&ip, scenario.refusal) {
            panic!("{}: {ip} should be locked out: {e}", scenario.name);
        }
    }
    let free = sb.env("SANDBOX_FREE_IP");
    if let Err(e) = real.gets_in(&free) {
        panic!("{}: {free} should get in: {e}", scenario.name);
    }
    real.assert_plugin_active(scenario);
}

/// Diagnose, unlock, admin login and cron, rollback, over `protocol`.
fn unlock_and_roll_back(scenario: &Scenario, protocol: Protocol) {
    unlock_and_roll_back_on(Stack::ApacheModPhp, scenario, protocol);
}

/// [`unlock_and_roll_back`] on the account whose web server is `stack`.
pub(crate) fn unlock_and_roll_back_on(stack: Stack, scenario: &Scenario, protocol: Protocol) {
    let sb = Sandbox::lock();
    let real = Real::on(&sb, stack);
    let what = format!("real {} on {stack:?} over {protocol:?}", scenario.name);
    let [locked, other] = sb.locked_ips();
    let docroot = real.docroot();
    let state = tempfile::tempdir().unwrap();

    real.scenario(scenario);
    let before = contents(&docroot);
    if let Err(e) = real.refused(&locked, scenario.refusal) {
        panic!("{what}: locked out to begin with: {e}");
    }

    // diagnose names the cause and the plugin.
    let diagnose = real
        .as_locked_out(
            real.wprescue(protocol, "diagnose", state.path(), &what),
            scenario.needs_login(),
        )
        .run();
    diagnose
        .status(2)
        .stdout_has("plugin-block")
        .stdout_has(scenario.plugin);

    // unlock lets 127.0.0.1 in; the plugin stays; 127.0.0.3 stays out; no helper is left.
    real.as_locked_out(
        real.wprescue(protocol, "unlock", state.path(), &what),
        scenario.needs_login(),
    )
    .args(["--yes"])
    .run()
    .status(0)
    .stdout_has("unlocked:");
    real.comes_to(&format!("{what}: {locked} gets in after unlock"), || {
        real.gets_in(&locked)
    });
    real.assert_plugin_active(scenario);
    real.comes_to(
        &format!("{what}: {other} is still locked out after unlock"),
        || real.refused(&other, scenario.refusal),
    );
    assert_eq!(
        real.helper_leftovers(),
        Vec::<String>::new(),
        "{what}: helper left in the docroot"
    );

    // The admin is back: logs in, opens the dashboard; WordPress's cron runs.
    real.admin_visits(&locked);
    real.run_cron();

    // rollback locks 127.0.0.1 out again, the files as they were.
    let rollback: Outcome = real
        .wprescue(protocol, "rollback", state.path(), &what)
        .args(["--yes"])
        .run();
    rollback.status(0);
    real.comes_to(
        &format!("{what}: {locked} is locked out again after rollback"),
        || real.refused(&locked, scenario.refusal),
    );
    let changed = differences(
        &before,
        &contents(&docroot),
        &docroot,
        scenario.self_written,
    );
    assert!(
        changed.is_empty(),
        "{what}: after rollback, files differ from before unlock (outside {:?}):\n{}",
        scenario.self_written,
        changed.join("\n")
    );
    assert_eq!(
        real.helper_leftovers(),
        Vec::<String>::new(),
        "{what}: helper left in the docroot after rollback"
    );
}

#[test]
fn real_wordfence_block_is_a_real_lockout() {
    lockout_is_real(&WORDFENCE_BLOCK);
}

#[test]
fn real_wordfence_block_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&WORDFENCE_BLOCK, Protocol::Ssh);
}

#[test]
fn real_wordfence_block_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&WORDFENCE_BLOCK, Protocol::Ftp);
}

#[test]
fn real_wordfence_lockout_is_a_real_lockout() {
    lockout_is_real(&WORDFENCE_LOCKOUT);
}

#[test]
fn real_wordfence_lockout_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&WORDFENCE_LOCKOUT, Protocol::Ssh);
}

#[test]
fn real_wordfence_lockout_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&WORDFENCE_LOCKOUT, Protocol::Ftp);
}

#[test]
fn real_solid_lockout_is_a_real_lockout() {
    lockout_is_real(&SOLID_LOCKOUT);
}

#[test]
fn real_solid_lockout_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&SOLID_LOCKOUT, Protocol::Ssh);
}

#[test]
fn real_solid_lockout_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&SOLID_LOCKOUT, Protocol::Ftp);
}

#[test]
fn real_aios_blacklist_is_a_real_lockout() {
    lockout_is_real(&AIOS_BLACKLIST);
}

#[test]
fn real_aios_blacklist_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&AIOS_BLACKLIST, Protocol::Ssh);
}

#[test]
fn real_aios_blacklist_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&AIOS_BLACKLIST, Protocol::Ftp);
}

#[test]
fn real_aios_login_lockdown_is_a_real_lockout() {
    lockout_is_real(&AIOS_LOGIN_LOCKDOWN);
}

#[test]
fn real_aios_login_lockdown_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&AIOS_LOGIN_LOCKDOWN, Protocol::Ssh);
}

#[test]
fn real_aios_login_lockdown_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&AIOS_LOGIN_LOCKDOWN, Protocol::Ftp);
}

#[test]
fn real_llar_lockout_is_a_real_lockout() {
    lockout_is_real(&LLAR_LOCKOUT);
}

#[test]
fn real_llar_lockout_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&LLAR_LOCKOUT, Protocol::Ssh);
}

#[test]
fn real_llar_lockout_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&LLAR_LOCKOUT, Protocol::Ftp);
}

#[test]
fn real_loginizer_lockout_is_a_real_lockout() {
    lockout_is_real(&LOGINIZER_LOCKOUT);
}

#[test]
fn real_loginizer_lockout_unlocked_and_rolled_back_over_ssh() {
    unlock_and_roll_back(&LOGINIZER_LOCKOUT, Protocol::Ssh);
}

#[test]
fn real_loginizer_lockout_unlocked_and_rolled_back_over_ftp() {
    unlock_and_roll_back(&LOGINIZER_LOCKOUT, Protocol::Ftp);
}

/// A real plugin moved the login page (`tests/sandbox/real-tier scenario NAME`): diagnose
/// names it, and unlock reads the address from the plugin's own settings, proves a real login
/// there and changes nothing, over each protocol; wp-login.php stays hidden from everyone.
/// Unlock names the playbook that puts the default back (`default_back`); run, it brings
/// wp-login.php back, and a rollback hides it again.
fn told_where_the_login_page_went(scenario: &str, plugin: &str, path: &str, default_back: &str) {
    let sb = Sandbox::lock();
    let real = Real::new(&sb);
    let login_url = real.url(path);
    for protocol in [Protocol::Ssh, Protocol::Ftp] {
        let what = format!("real {scenario} over {protocol:?}");
        real.script(&["scenario", scenario]);
        let docroot = real.docroot();
        let before = contents(&docroot);
        let state = tempfile::tempdir().unwrap();
        let with_login = |command: &str| {
            real.as_locked_out(real.wprescue(protocol, command, state.path(), &what), true)
        };
        with_login("diagnose")
            .run()
            .status(2)
            .stdout_has("hidden-login")
            .stdout_has(plugin);
        with_login("unlock")
            .args(["--yes"])
            .run()
            .status(0)
            .stdout_has(format!(
                "unlocked: the login page is at {login_url}: log in there (a real login succeeded); nothing was changed"
            ))
            .stdout_has(format!(
                "to put the default login page back instead: wprescue run {default_back} "
            ));
        let changed = differences(&before, &contents(&docroot), &docroot, &[]);
        assert!(changed.is_empty(), "{what}: {}", changed.join("\n"));
        let hidden = real.get_from(&sb.env("SANDBOX_OTHER_LOCKED_IP"), "/wp-login.php");
        assert_ne!(
            hidden.status, 200,
            "{what}: the login page stays hidden from everyone else"
        );
        assert_eq!(real.helper_leftovers(), Vec::<String>::new(), "{what}");

        let free = sb.env("SANDBOX_FREE_IP");
        real.wprescue_words(protocol, &["run", default_back], state.path(), &what)
            .args(["--yes", "--url", &real.env("REAL_HTTP_URL")])
            .run()
            .status(0);
        real.comes_to(&format!("{what}: wp-login.php is back"), || {
            real.gets_in(&free)
        });
        real.wprescue(protocol, "rollback", state.path(), &what)
            .args(["--yes"])
            .run()
            .status(0);
        real.comes_to(
            &format!("{what}: hidden again after rollback"),
            || match real.get_from(&free, "/wp-login.php").status {
                200 => Err("wp-login.php answers 200".to_owned()),
                _ => Ok(()),
            },
        );
        let changed = differences(&before, &contents(&docroot), &docroot, &[]);
        assert!(changed.is_empty(), "{what}: {}", changed.join("\n"));
    }
}

#[test]
fn real_wps_hide_login_is_told_where_the_login_page_went() {
    told_where_the_login_page_went(
        "wps-hide-login",
        "WPS Hide Login",
        "/secret-door/",
        "wps-hide-login",
    );
}

#[test]
fn real_aios_renamed_login_is_told_where_the_login_page_went() {
    told_where_the_login_page_went(
        "aios-renamed-login",
        "All In One WP Security",
        "/secret-door",
        "aios-renamed-login-off",
    );
}

#[test]
fn real_solid_hide_backend_is_told_where_the_login_page_went() {
    told_where_the_login_page_went(
        "solid-hide-backend",
        "Solid Security",
        "/secret-door",
        "solid-hide-backend-off",
    );
}

/// A two-factor plugin's state, the admin's phone lost (`tests/sandbox/real-tier scenario
/// NAME`).
struct TwoFactor {
    scenario: &'static str,
    /// How diagnose names the plugin.
    plugin: &'static str,
    /// Text only the code prompt has.
    prompt: &'static str,
    /// The plugin's folder, which must stay in place.
    folder: &'static str,
    /// SQL (`{prefix}` for the table prefix) reading the rows that decide who has two-factor:
    /// rollback must put them back exactly.
    state: &'static str,
    /// Where files change by themselves (Wordfence's firewall data).
    self_written: &'static [&'static str],
}

/// Diagnose names two-factor from a real login; unlock turns it off for the admin alone
/// (admin2 still gets the code prompt); rollback puts the state back exactly, over each
/// protocol.
fn two_factor_off_for_one_user_only(plugin: &TwoFactor) {
    let sb = Sandbox::lock();
    let real = Real::new(&sb);
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let asks_for_a_code = |user: &str| {
        let (_, answer) = real.login_as(&locked, user);
        answer.status == 200 && answer.contains(plugin.prompt)
    };
    let state_rows = || {
        real.sql(
            &plugin
                .state
                .replace("{prefix}", &real.env("REAL_DB_PREFIX")),
        )
    };
    for protocol in [Protocol::Ssh, Protocol::Ftp] {
        let what = format!("real {} over {protocol:?}", plugin.scenario);
        real.script(&["scenario", plugin.scenario]);
        let docroot = real.docroot();
        let before = (contents(&docroot), state_rows());
        assert!(asks_for_a_code("admin"), "{what}: locked out to begin with");
        let state = tempfile::tempdir().unwrap();
        let as_admin = |command: &str| {
            real.as_locked_out(real.wprescue(protocol, command, state.path(), &what), true)
        };
        as_admin("diagnose").run().status(2).stdout_has(format!(
            "two-factor: {} asks for a two-factor code",
            plugin.plugin
        ));
        as_admin("unlock")
            .args(["--yes"])
            .run()
            .status(0)
            .stdout_has("set two-factor up again for this user")
            .stdout_has("unlocked: the admin can get in again (a real login succeeded)");
        assert!(
            is_logged_in(&real.login_from(&locked).1),
            "{what}: admin gets in"
        );
        assert!(asks_for_a_code("admin2"), "{what}: admin2 keeps two-factor");
        assert!(
            docroot
                .join("wp-content/plugins")
                .join(plugin.folder)
                .is_dir(),
            "{what}: the plugin stays"
        );

        real.wprescue(protocol, "rollback", state.path(), &what)
            .args(["--yes"])
            .run()
            .status(0);
        assert!(
            asks_for_a_code("admin"),
            "{what}: two-factor is back after rollback"
        );
        assert_eq!(
            state_rows(),
            before.1,
            "{what}: rollback puts the rows back exactly"
        );
        let changed = differences(
            &before.0,
            &contents(&docroot),
            &docroot,
            plugin.self_written,
        );
        assert!(changed.is_empty(), "{what}: {}", changed.join("\n"));
    }
}

#[test]
fn real_two_factor_is_turned_off_for_one_user_only() {
    two_factor_off_for_one_user_only(&TwoFactor {
        scenario: "two-factor",
        plugin: "Two Factor",
        prompt: "name=\"wp-auth-nonce\"",
        folder: "two-factor",
        // The prompt's nonce and the login timestamps are the plugin's own bookkeeping.
        state: "SELECT umeta_id, user_id, meta_key, HEX(meta_value) FROM {prefix}usermeta \
                WHERE meta_key IN ('_two_factor_enabled_providers', '_two_factor_provider', \
                '_two_factor_totp_key') ORDER BY umeta_id",
        self_written: &[],
    });
}

#[test]
fn real_wordfence_login_security_is_turned_off_for_one_user_only() {
    two_factor_off_for_one_user_only(&TwoFactor {
        scenario: "wordfence-2fa",
        plugin: "Wordfence",
        prompt: "CODE REQUIRED",
        folder: "wordfence",
        state: "SELECT id, user_id, HEX(secret), HEX(recovery), ctime, mode \
                FROM {prefix}wfls_2fa_secrets ORDER BY id",
        self_written: &[WFLOGS],
    });
}

/// WordPress 6.8.8 hashes with bcrypt (`$wp$2y$`): the hash made here logs in through the real
/// `wp_check_password`, and rollback puts the old hash back.
#[test]
fn real_wordpress_takes_the_bcrypt_hash_of_a_reset_password() {
    let sb = Sandbox::lock();
    let real = Real::new(&sb);
    real.script(&["reset"]);
    let hash = || {
        real.sql(&format!(
            "SELECT user_pass FROM {}users WHERE user_login = 'admin'",
            real.env("REAL_DB_PREFIX")
        ))
    };
    let before = hash();
    let state = tempfile::tempdir().unwrap();
    real.wprescue(
        Protocol::Ssh,
        "reset-password",
        state.path(),
        "real reset-password",
    )
    .args(["admin", "--yes", "--url", &real.env("REAL_HTTP_URL")])
    .env("WPRESCUE_NEW_PASSWORD", "correct horse battery staple")
    .run()
    .status(0)
    .stdout_has("(a real login succeeded)");
    assert!(hash().starts_with("$wp$2y$10$"), "{}", hash());
    real.wprescue(
        Protocol::Ssh,
        "rollback",
        state.path(),
        "real reset-password",
    )
    .args(["--yes"])
    .run()
    .status(0);
    assert_eq!(hash(), before);
    assert!(is_logged_in(&real.login_from(&sb.env("SANDBOX_FREE_IP")).1));
}
