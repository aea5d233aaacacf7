//! The test sandbox, serialised: one test at a time may change it.
//!
//! `Sandbox::lock()` is the only way in. It reads the env file that `tests/sandbox/sandbox up`
//! writes, checks that the services answer, and holds two locks for the test's lifetime: a
//! process-wide mutex (cargo runs tests as threads) and an exclusive lock on a file in the
//! sandbox state folder (nextest and parallel `cargo test` invocations run separate processes).
//! When the sandbox is not up, the test fails and says how to start it: a skipped integration
//! test never counts as passing.

#![allow(dead_code)] // Each test module uses its own part of the harness.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use wprescue::http::{HttpClient, HttpOptions, Response};
use wprescue::site::probe::{is_logged_in, try_login};
use wprescue::transport::{
    self, Capabilities, ConnectOptions, Credentials, Entry, Meta, RemotePath, RenameMode,
    Result as TResult, Secret, SshConfig, Target, Transport, Upload, WriteMode,
};

const DEFAULT_STATE: &str = "/var/lib/wprescue-sandbox";
const START_HINT: &str = "start it with `sudo tests/sandbox/sandbox up` (see README.md)";

static IN_PROCESS: Mutex<()> = Mutex::new(());

/// Exclusive use of the sandbox for one test.
pub struct Sandbox {
    env: HashMap<String, String>,
    _file_lock: File,
    _in_process: MutexGuard<'static, ()>,
}

impl Sandbox {
    /// Waits for exclusive use of the sandbox; panics with instructions if it is not up.
    pub fn lock() -> Sandbox {
        // A test that panicked while holding the lock poisons it; the sandbox is still usable
        // because every test starts from `reset` or a scenario.
        let in_process = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        let env = read_env_file(&env_file_path());
        let lock_path = Path::new(&env["SANDBOX_STATE"]).join("tests.lock");
        let file_lock = File::create(&lock_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
        file_lock
            .lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
        let sandbox = Sandbox {
            env,
            _file_lock: file_lock,
            _in_process: in_process,
        };
        sandbox.assert_services_answer();
        sandbox
    }

    /// A value from the sandbox env file, e.g. `SANDBOX_SSH_PORT`.
    pub fn env(&self, key: &str) -> String {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("the sandbox env file has no {key}: re-run `sandbox up`"))
            .clone()
    }

    /// The WordPress root on this machine (the sandbox runs locally).
    pub fn docroot(&self) -> PathBuf {
        PathBuf::from(self.env("SANDBOX_DOCROOT"))
    }

    /// Back to the clean post-install state.
    pub fn reset(&self) {
        self.run_script(&["reset"]);
    }

    /// Reset, then lock the site out as `tests/sandbox/scenarios/NAME.sh` describes.
    pub fn scenario(&self, name: &str) {
        self.run_script(&["scenario", name]);
    }

    /// Runs SQL as root against the site's database; `mariadb -N -B` output (rows by `\n`,
    /// columns by `\t`), trailing newline removed.
    pub fn sql(&self, query: &str) -> String {
        let output = Command::new("mariadb")
            .arg(format!("--socket={}", self.env("SANDBOX_DB_SOCKET")))
            .args(["-uroot", "-N", "-B", "-e", query])
            .arg(self.env("SANDBOX_DB_NAME"))
            .output()
            .expect("mariadb client runs");
        assert!(
            output.status.success(),
            "SQL failed: {query}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("UTF-8 from mariadb")
            .trim_end_matches('\n')
            .to_owned()
    }

    /// The site URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.env("SANDBOX_HTTP_URL"))
    }

    /// An HTTP client sending from `from` (one of the loopback addresses in the env file).
    pub fn http_from(&self, from: &str) -> HttpClient {
        let bind: IpAddr = from.parse().expect("an IP address");
        HttpClient::new(&HttpOptions {
            bind: Some(bind),
            timeout: Duration::from_secs(15),
        })
    }

    /// `GET path` from the locked-out address.
    pub fn get_locked(&self, path: &str) -> Response {
        self.get_from(&self.env("SANDBOX_LOCKED_IP"), path)
    }

    /// `GET path` from the address no plugin has blocked.
    pub fn get_free(&self, path: &str) -> Response {
        self.get_from(&self.env("SANDBOX_FREE_IP"), path)
    }

    /// `GET path` from `from`.
    pub fn get_from(&self, from: &str, path: &str) -> Response {
        let url = self.url(path);
        self.http_from(from)
            .get(&url)
            .unwrap_or_else(|e| panic!("GET {url} from {from}: {e}"))
    }

    /// A real login to wp-login.php from `from` with the sandbox admin's credentials, as a
    /// browser sends it.
    pub fn login_from(&self, from: &str) -> Response {
        let mut client = self.http_from(from);
        try_login(
            &mut client,
            &self.env("SANDBOX_HTTP_URL"),
            &self.env("SANDBOX_WP_ADMIN"),
            &self.env("SANDBOX_WP_PASSWORD"),
        )
        .unwrap_or_else(|e| panic!("login from {from}: {e}"))
    }

    /// Runs the real `wprescue` binary against the sandbox over `protocol`, hermetically: a
    /// fresh `HOME`, none of the caller's agent, colour or `WPRESCUE_*` settings; the
    /// connection flags and the FTP password come from the env file.
    pub fn wprescue(&self, protocol: Protocol, args: &[&str]) -> Run {
        self.wprescue_with_env(protocol, args, &[])
    }

    /// [`Sandbox::wprescue`] with extra environment variables (e.g. a login password).
    pub fn wprescue_with_env(
        &self,
        protocol: Protocol,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Run {
        self.wprescue_at(protocol, &self.target(protocol), args, env)
    }

    /// [`Sandbox::wprescue_with_env`] with the target spelled out (e.g. a subfolder).
    pub fn wprescue_at(
        &self,
        protocol: Protocol,
        target: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Run {
        let (subcommand, rest) = args.split_first().expect("a subcommand");
        let mut full = vec![*subcommand, target];
        full.extend_from_slice(rest);
        self.wprescue_connecting(protocol, &full, env)
    }

    /// The binary with `args` as given (the test places the target) plus what connecting
    /// over `protocol` needs: the key and known_hosts for SSH, the password for FTP.
    pub fn wprescue_connecting(
        &self,
        protocol: Protocol,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Run {
        let (args, env) = self.connecting(protocol, args, env);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.wprescue_plain(&args, &env)
    }

    /// `args` and `env` plus what connecting over `protocol` needs.
    fn connecting<'e>(
        &self,
        protocol: Protocol,
        args: &[&str],
        env: &[(&'e str, String)],
    ) -> (Vec<String>, Vec<(&'e str, String)>) {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut env = env.to_vec();
        match protocol {
            Protocol::Sftp | Protocol::Ssh => args.extend([
                "--identity".to_owned(),
                self.env("SANDBOX_SSH_KEY"),
                "--known-hosts".to_owned(),
                self.env("SANDBOX_SSH_KNOWN_HOSTS"),
            ]),
            Protocol::Ftp => env.push(("WPRESCUE_PASSWORD", self.env("SANDBOX_PASSWORD"))),
        }
        (args, env)
    }

    /// The binary with exactly `args`, hermetically: a fresh `HOME`, none of the caller's
    /// agent, colour or `WPRESCUE_*` settings, only `env` added.
    pub fn wprescue_plain(&self, args: &[&str], env: &[(&str, String)]) -> Run {
        let home = tempfile::tempdir().expect("a temporary HOME");
        let output = hermetic(home.path(), args, env)
            .output()
            .expect("wprescue runs");
        Run::of(output)
    }

    /// Starts the binary as [`Sandbox::wprescue_connecting`] runs it, without waiting, with
    /// its output captured: for tests that signal it. `home` must outlive the process.
    pub fn spawn_wprescue(
        &self,
        protocol: Protocol,
        args: &[&str],
        env: &[(&str, String)],
        home: &Path,
    ) -> std::process::Child {
        let (args, env) = self.connecting(protocol, args, env);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hermetic(home, &args, &env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("wprescue starts")
    }

    /// The target URL for `protocol`: the hosting account's home, as a user would give it.
    pub fn target(&self, protocol: Protocol) -> String {
        match protocol {
            Protocol::Sftp | Protocol::Ssh => format!(
                "{}://{}@{}:{}{}",
                if protocol == Protocol::Ssh {
                    "ssh"
                } else {
                    "sftp"
                },
                self.env("SANDBOX_USER"),
                self.env("SANDBOX_SSH_HOST"),
                self.env("SANDBOX_SSH_PORT"),
                self.env("SANDBOX_HOME")
            ),
            // vsftpd chroots the account to its home.
            Protocol::Ftp => format!(
                "ftp://{}@{}:{}/",
                self.env("SANDBOX_USER"),
                self.env("SANDBOX_FTP_HOST"),
                self.env("SANDBOX_FTP_PORT")
            ),
        }
    }

    /// A library-level connection to the account over `protocol`, as the binary would open it.
    pub fn connect(&self, protocol: Protocol) -> Box<dyn Transport> {
        let options = ConnectOptions {
            identity_files: vec![self.env("SANDBOX_SSH_KEY").into()],
            known_hosts: vec![self.env("SANDBOX_SSH_KNOWN_HOSTS").into()],
            use_agent: false,
            progress: false,
            ..ConnectOptions::default()
        };
        let mut credentials = match protocol {
            Protocol::Sftp | Protocol::Ssh => Credentials::none(),
            Protocol::Ftp => {
                Credentials::none().with_password(Secret::new(self.env("SANDBOX_PASSWORD")))
            }
        };
        let target =
            Target::parse(&self.target(protocol), &SshConfig::default()).expect("a target");
        transport::connect(&target, &options, &mut credentials)
            .unwrap_or_else(|e| panic!("connect over {protocol:?}: {e}"))
    }

    fn run_script(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox/sandbox");
        let output = Command::new(&script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "`sandbox {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn assert_services_answer(&self) {
        let endpoints = [
            ("HTTP", "SANDBOX_HTTP_HOST", "SANDBOX_HTTP_PORT"),
            ("SSH", "SANDBOX_SSH_HOST", "SANDBOX_SSH_PORT"),
            ("FTP", "SANDBOX_FTP_HOST", "SANDBOX_FTP_PORT"),
            ("FTPS", "SANDBOX_FTP_HOST", "SANDBOX_FTPS_PORT"),
        ];
        for (name, host, port) in endpoints {
            let addr: SocketAddr = format!("{}:{}", self.env(host), self.env(port))
                .parse()
                .expect("host:port in the env file");
            if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                panic!("the sandbox's {name} server at {addr} does not answer ({e}): {START_HINT}");
            }
        }
    }
}

fn env_file_path() -> PathBuf {
    let state = std::env::var_os("SANDBOX_STATE").unwrap_or_else(|| DEFAULT_STATE.into());
    Path::new(&state).join("sandbox.env")
}

fn read_env_file(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "the wprescue sandbox is not provisioned ({}: {e}): {START_HINT}",
            path.display()
        )
    });
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// How the binary reaches the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SFTP with the sandbox's client key and known_hosts.
    Sftp,
    /// The same over `ssh://`: SFTP plus commands (the database helper runs `php`).
    Ssh,
    /// Plain FTP with the account's password.
    Ftp,
}

/// The binary with `args` and only `env` (plus `HOME` and `PATH`).
fn hermetic(home: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wprescue"));
    command
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args);
    command
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// A finished process's status and output. Killed by a signal (the fault hook aborts):
    /// 128 + the signal, as a shell reports it.
    pub fn of(output: std::process::Output) -> Run {
        let status = output.status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + output.status.signal().unwrap_or(0)
        });
        Run {
            status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Counts calls on the way to a real transport: every call is one round trip or more.
#[derive(Debug)]
pub struct Counting<'a> {
    inner: &'a mut dyn Transport,
    /// Calls that only read.
    pub reads: usize,
    /// Calls that change the server.
    pub mutations: usize,
    /// Commands run (each through [`Transport::as_exec`]).
    pub execs: usize,
}

impl<'a> Counting<'a> {
    /// Counts the calls made through it to `inner`.
    pub fn new(inner: &'a mut dyn Transport) -> Self {
        Self {
            inner,
            reads: 0,
            mutations: 0,
            execs: 0,
        }
    }
}

impl Transport for Counting<'_> {
    fn origin(&self) -> &str {
        self.inner.origin()
    }
    fn root(&self) -> &str {
        self.inner.root()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn list(&mut self, dir: &RemotePath) -> TResult<Vec<Entry>> {
        self.reads += 1;
        self.inner.list(dir)
    }
    fn stat(&mut self, path: &RemotePath) -> TResult<Option<Meta>> {
        self.reads += 1;
        self.inner.stat(path)
    }
    fn read(&mut self, path: &RemotePath, sink: &mut dyn std::io::Write) -> TResult<u64> {
        self.reads += 1;
        self.inner.read(path, sink)
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> TResult<()> {
        self.mutations += 1;
        self.inner.write(path, data, mode)
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> TResult<()> {
        self.mutations += 1;
        self.inner.rename(from, to, mode)
    }
    fn mkdir(&mut self, path: &RemotePath) -> TResult<()> {
        self.mutations += 1;
        self.inner.mkdir(path)
    }
    fn remove(&mut self, path: &RemotePath) -> TResult<()> {
        self.mutations += 1;
        self.inner.remove(path)
    }
    fn as_exec(&mut self) -> Option<&mut dyn transport::Exec> {
        self.execs += 1;
        self.inner.as_exec()
    }
}

/// Every file and folder under `root`: size, modification time and contents.
pub fn tree(root: &Path) -> BTreeMap<String, (u64, SystemTime, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let path = entry.path();
            let contents = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let name = path.strip_prefix(root).unwrap().display().to_string();
            out.insert(name, (meta.len(), meta.modified().unwrap(), contents));
        }
    }
    out
}

/// Every file and folder under `root` with its permission bits and contents: what a rollback
/// must restore byte for byte (modification times are allowed to differ).
pub fn contents(root: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    tree(root)
        .into_iter()
        .map(|(name, (_, _, bytes))| {
            let mode = std::fs::symlink_metadata(root.join(&name))
                .unwrap()
                .permissions()
                .mode();
            (name, (mode, bytes))
        })
        .collect()
}

impl Sandbox {
    /// The addresses every plugin scenario locks out: `SANDBOX_LOCKED_IP` first, then
    /// `SANDBOX_OTHER_LOCKED_IP`, which must stay locked when only the first is let in.
    pub fn locked_ips(&self) -> [String; 2] {
        [
            self.env("SANDBOX_LOCKED_IP"),
            self.env("SANDBOX_OTHER_LOCKED_IP"),
        ]
    }

    /// Names in the docroot that a database helper would leave behind.
    pub fn helper_leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.docroot())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("wprescue-"))
            .collect()
    }

    /// Whether `from` gets in: `/` and `/wp-login.php` answer 200 and, where the lockout only
    /// shows on a login (`login`), a real login succeeds.
    pub fn gets_in(&self, from: &str, login: bool) -> bool {
        let pages = ["/", "/wp-login.php"]
            .iter()
            .all(|p| self.get_from(from, p).status == 200);
        pages && (!login || is_logged_in(&self.login_from(from)))
    }

    /// Whether `from` comes to get in (`want` true) or to be refused (false) within a few
    /// seconds: PHP may run stale code briefly after a rename.
    pub fn comes_to(&self, from: &str, login: bool, want: bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(6);
        loop {
            if self.gets_in(from, login) == want {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `wprescue unlock` from the locked address, journal in `state`, with `extra` (`--yes`,
    /// `--dry-run`) and, with `login`, a real login as the admin.
    pub fn unlock(&self, protocol: Protocol, state: &str, login: bool, extra: &str) -> Run {
        let url = self.env("SANDBOX_HTTP_URL");
        let locked = self.env("SANDBOX_LOCKED_IP");
        let admin = self.env("SANDBOX_WP_ADMIN");
        let mut args = vec!["unlock", "--url", &url, "--bind", &locked, extra];
        if login {
            args.extend(["--login", &admin]);
        }
        let env = [
            ("WPRESCUE_STATE_DIR", state.to_owned()),
            ("WPRESCUE_LOGIN_PASSWORD", self.env("SANDBOX_WP_PASSWORD")),
        ];
        self.wprescue_with_env(protocol, &args, &env)
    }

    /// [`Sandbox::login_from`] posted to `path` instead of `/wp-login.php`: the login page a
    /// plugin moved (WPS Hide Login's slug). The form is the one `try_login` sends.
    pub fn login_at(&self, from: &str, path: &str) -> Response {
        let mut client = self.http_from(from);
        client.set_cookie("wordpress_test_cookie", "WP%20Cookie%20check");
        let admin = self.url("/wp-admin/");
        let form = [
            ("log", self.env("SANDBOX_WP_ADMIN")),
            ("pwd", self.env("SANDBOX_WP_PASSWORD")),
            ("wp-submit", "Log In".to_owned()),
            ("redirect_to", admin),
            ("testcookie", "1".to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = self.url(path);
        client
            .post_form(&url, &form)
            .unwrap_or_else(|e| panic!("login at {url} from {from}: {e}"))
    }
}
