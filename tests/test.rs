//! One way to run the real `wprescue` binary from a test: [`Test`] builds the command line and
//! its environment, [`Outcome`] checks what the run printed. A failed check prints the command
//! line, the exit status, stdout and stderr in full.
//!
//! ```ignore
//! Test::new(&sb)
//!     .over(Protocol::Ftp)
//!     .args(["unlock"])
//!     .target()
//!     .locked_out()
//!     .args(["--dry-run"])
//!     .state(&state)
//!     .run()
//!     .status(2)
//!     .stdout_has("none made")
//!     .stderr_empty();
//! ```

use std::fmt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::harness::{Protocol, Sandbox};

/// One argument of the command line.
enum Arg {
    Plain(String),
    /// The sandbox's target for the protocol given to [`Test::over`].
    Target,
}

/// A run of the binary, hermetic: a fresh `HOME`, none of the caller's agent, colour or
/// `WPRESCUE_*` settings; only `PATH` and what the test adds.
pub struct Test<'a> {
    sb: &'a Sandbox,
    protocol: Option<Protocol>,
    args: Vec<Arg>,
    env: Vec<(String, String)>,
    note: Option<String>,
}

impl<'a> Test<'a> {
    /// The binary with no arguments yet.
    pub fn new(sb: &'a Sandbox) -> Self {
        Test {
            sb,
            protocol: None,
            args: Vec::new(),
            env: Vec::new(),
            note: None,
        }
    }

    /// `wprescue rollback TARGET --yes` over `protocol`, with the journals in `state`: how
    /// every test undoes a run.
    pub fn rollback(sb: &'a Sandbox, protocol: Protocol, state: impl AsRef<Path>) -> Self {
        Test::new(sb)
            .over(protocol)
            .args(["rollback", "--yes"])
            .target()
            .state(state)
    }

    /// `wprescue unlock TARGET --url SITE --bind LOCKED` over `protocol`, as the locked-out
    /// caller, with the journals in `state`: what a test adds (`--yes`, `--dry-run`, a login)
    /// follows.
    pub fn unlock(sb: &'a Sandbox, protocol: Protocol, state: impl AsRef<Path>) -> Self {
        Test::new(sb)
            .over(protocol)
            .args(["unlock"])
            .target()
            .locked_out()
            .state(state)
    }

    /// Connects over `protocol`: the key and known_hosts for SSH and SFTP (appended to the
    /// command line), the password for FTP (`WPRESCUE_PASSWORD`).
    pub fn over(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Appends `args`.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| Arg::Plain(a.as_ref().to_owned())));
        self
    }

    /// Appends the sandbox's target for the protocol of [`Test::over`], as a user gives it.
    pub fn target(mut self) -> Self {
        self.args.push(Arg::Target);
        self
    }

    /// Appends `target` spelled out (e.g. a subfolder of the account).
    pub fn target_at(self, target: &str) -> Self {
        self.args([target])
    }

    /// Sets the environment variable `key`.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Keeps the run journals in `dir` (`WPRESCUE_STATE_DIR`).
    pub fn state(self, dir: impl AsRef<Path>) -> Self {
        let dir = dir
            .as_ref()
            .to_str()
            .expect("a UTF-8 state folder")
            .to_owned();
        self.env("WPRESCUE_STATE_DIR", dir)
    }

    /// Appends `--login ADMIN` and gives the admin's password (`WPRESCUE_LOGIN_PASSWORD`):
    /// a real login, for lockouts that only show on one.
    pub fn login(self) -> Self {
        let (admin, password) = (
            self.sb.env("SANDBOX_WP_ADMIN"),
            self.sb.env("SANDBOX_WP_PASSWORD"),
        );
        self.args(["--login", &admin])
            .env("WPRESCUE_LOGIN_PASSWORD", password)
    }

    /// [`Test::login`] when `login`, else nothing.
    pub fn login_if(self, login: bool) -> Self {
        if login { self.login() } else { self }
    }

    /// Appends `--url SITE --bind LOCKED`: the site, as seen from the locked-out address.
    pub fn locked_out(self) -> Self {
        let (url, locked) = (
            self.sb.env("SANDBOX_HTTP_URL"),
            self.sb.env("SANDBOX_LOCKED_IP"),
        );
        self.args(["--url", &url, "--bind", &locked])
    }

    /// Says what the run is about (e.g. the scenario) when a check fails.
    pub fn note(mut self, what: &str) -> Self {
        self.note = Some(what.to_owned());
        self
    }

    /// Runs the binary to the end, its output captured.
    pub fn run(self) -> Outcome {
        let home = tempfile::tempdir().expect("a temporary HOME");
        let (args, env) = self.resolve();
        let output = command(home.path(), &args, &env)
            .output()
            .expect("wprescue runs");
        Outcome::of(output, command_line(&args, &env), self.note)
    }

    /// Starts the binary without waiting, its output captured: for tests that signal it.
    /// `home` must outlive the process; [`Outcome::wait`] collects it.
    pub fn spawn(self, home: &Path) -> Child {
        let (args, env) = self.resolve();
        command(home, &args, &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wprescue starts")
    }

    /// The arguments with the target in place and the environment, plus what connecting
    /// needs.
    fn resolve(&self) -> (Vec<String>, Vec<(String, String)>) {
        let sb = self.sb;
        let protocol = || {
            self.protocol
                .expect("a test that gives the target says how to connect: call .over()")
        };
        let mut args: Vec<String> = self
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Plain(arg) => arg.clone(),
                Arg::Target => sb.target(protocol()),
            })
            .collect();
        let mut env = self.env.clone();
        match self.protocol {
            Some(Protocol::Sftp | Protocol::Ssh) => args.extend([
                "--identity".to_owned(),
                sb.env("SANDBOX_SSH_KEY"),
                "--known-hosts".to_owned(),
                sb.env("SANDBOX_SSH_KNOWN_HOSTS"),
            ]),
            Some(Protocol::Ftp) => {
                env.push(("WPRESCUE_PASSWORD".to_owned(), sb.env("SANDBOX_PASSWORD")))
            }
            None => {}
        }
        (args, env)
    }
}

/// The binary with `args` and only `env` (plus `HOME` and `PATH`).
fn command(home: &Path, args: &[String], env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wprescue"));
    command
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args);
    command
}

/// The run as a shell would show it, passwords hidden.
fn command_line(args: &[String], env: &[(String, String)]) -> String {
    let quote = |word: &str| {
        let plain = !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:@=,+%".contains(c));
        if plain {
            word.to_owned()
        } else {
            format!("'{}'", word.replace('\'', r"'\''"))
        }
    };
    let env = env.iter().map(|(k, v)| {
        let v = if k.contains("PASSWORD") { "***" } else { v };
        format!("{k}={}", quote(v))
    });
    let args = args.iter().map(|a| quote(a));
    env.chain(["wprescue".to_owned()])
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a run of the binary produced. The checks take and give it back, so they chain; each
/// panics with the whole run when it fails.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status; killed by a signal (the fault hook aborts): 128 + the signal, as a shell
    /// reports it.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The command line, for the failure message.
    command: String,
    /// What the test said the run is about.
    note: Option<String>,
}

impl Outcome {
    fn of(output: Output, command: String, note: Option<String>) -> Outcome {
        let status = output.status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + output.status.signal().unwrap_or(0)
        });
        Outcome {
            status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            command,
            note,
        }
    }

    /// Waits for a process [`Test::spawn`] started, and collects its status and output.
    pub fn wait(child: Child) -> Outcome {
        let pid = child.id();
        let output = child.wait_with_output().expect("wprescue ends");
        Outcome::of(output, format!("wprescue (spawned, pid {pid})"), None)
    }

    /// Exited with `code`.
    pub fn status(self, code: i32) -> Self {
        let ok = self.status == code;
        self.check(ok, format_args!("exit status {code}"))
    }

    /// Exited with anything but 0.
    pub fn fails(self) -> Self {
        let ok = self.status != 0;
        self.check(ok, format_args!("a non-zero exit status"))
    }

    /// Stdout contains `text`.
    pub fn stdout_has(self, text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        let ok = self.stdout.contains(text);
        self.check(ok, format_args!("stdout with {text:?}"))
    }

    /// Stdout does not contain `text`.
    pub fn stdout_lacks(self, text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        let ok = !self.stdout.contains(text);
        self.check(ok, format_args!("stdout without {text:?}"))
    }

    /// Stderr contains `text`.
    pub fn stderr_has(self, text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        let ok = self.stderr.contains(text);
        self.check(ok, format_args!("stderr with {text:?}"))
    }

    /// Stderr does not contain `text`.
    pub fn stderr_lacks(self, text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        let ok = !self.stderr.contains(text);
        self.check(ok, format_args!("stderr without {text:?}"))
    }

    /// Nothing at all on stderr.
    pub fn stderr_empty(self) -> Self {
        let ok = self.stderr.is_empty();
        self.check(ok, format_args!("an empty stderr"))
    }

    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("expected JSON on stdout ({e})\n{self}"))
    }

    fn check(self, ok: bool, expected: fmt::Arguments<'_>) -> Self {
        if !ok {
            panic!("expected {expected}\n{self}");
        }
        self
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(note) = &self.note {
            writeln!(f, "note:    {note}")?;
        }
        writeln!(f, "command: {}", self.command)?;
        writeln!(f, "status:  {}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// `(scenario, cause diagnose names)` that [`ftp_jobs_round`] takes on each FTP server: one per
/// kind of fix (a plugin's allow-list through the helper, an `.htaccess` edit, a firewall's
/// prepend removed).
pub const FTP_SCENARIOS: [(&str, &str); 3] = [
    ("wordfence-block", "plugin-block"),
    ("htaccess-basic-auth", "server-password"),
    ("orphan-prepend", "broken-prepend"),
];

/// The four jobs on a site locked out from `locked`, through the FTP or FTPS `target` (trusted
/// by the sandbox's CA): diagnose names `cause`, the dry run changes nothing, unlock lets
/// `locked` in, and rollback puts every file back and the lockout with it. `unchanged(when)`
/// asserts the site's files are as they were before the diagnose.
pub fn ftp_jobs_round(
    sb: &Sandbox,
    what: &str,
    target: &str,
    cause: &str,
    locked: &str,
    unchanged: impl Fn(&str),
) {
    let state = tempfile::tempdir().unwrap();
    let wprescue = |words: &[&str]| {
        Test::new(sb)
            .note(what)
            .args(words)
            .target_at(target)
            .args(["--tls-ca", &sb.env("SANDBOX_TLS_CA")])
            .env("WPRESCUE_PASSWORD", sb.env("SANDBOX_PASSWORD"))
            .state(state.path())
    };
    wprescue(&["diagnose"])
        .locked_out()
        .run()
        .status(2)
        .stdout_has(cause);
    wprescue(&["unlock", "--dry-run"])
        .locked_out()
        .run()
        .status(2)
        .stdout_has("none made");
    unchanged("the dry run");
    wprescue(&["unlock", "--yes"])
        .locked_out()
        .run()
        .status(0)
        .stdout_has("unlocked:");
    assert!(sb.comes_to(locked, false, true), "{what}: still locked out");
    wprescue(&["rollback", "--yes"]).run().status(0);
    unchanged("rollback");
    assert!(
        sb.comes_to(locked, false, false),
        "{what}: the lockout is not back"
    );
}
