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
use wprescue::site::probe::{LOGIN_PATH, is_logged_in, try_login};
use wprescue::transport::{
    self, ConnectOptions, Credentials, Secret, SshConfig, Target, Transport,
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

    /// Exclusive use of a sandbox described by `env` (the env file's keys) rather than by the
    /// native env file: a host of the compose matrix (`tests/matrix.rs`), so that [`Test`]
    /// runs against it as against the native sandbox. `lock_path` is the file locked across
    /// processes; the caller has checked that the servers answer.
    ///
    /// [`Test`]: crate::test::Test
    pub fn with_env(env: HashMap<String, String>, lock_path: &Path) -> Sandbox {
        let in_process = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        let file_lock = File::create(lock_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
        file_lock
            .lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
        Sandbox {
            env,
            _file_lock: file_lock,
            _in_process: in_process,
        }
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
        self.login_at(from, LOGIN_PATH)
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
        sandbox_tool("sandbox", args);
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

    /// [`Sandbox::login_from`] posted to `path` instead of `/wp-login.php`: the login page a
    /// plugin moved (WPS Hide Login's slug).
    pub fn login_at(&self, from: &str, path: &str) -> Response {
        let mut client = self.http_from(from);
        try_login(
            &mut client,
            &self.env("SANDBOX_HTTP_URL"),
            path,
            &self.env("SANDBOX_WP_ADMIN"),
            &self.env("SANDBOX_WP_PASSWORD"),
        )
        .unwrap_or_else(|e| panic!("login at {path} from {from}: {e}"))
    }
}

/// Runs `tests/sandbox/TOOL ARGS` (`sandbox`, `real-tier`); panics with its stderr if it fails.
pub fn sandbox_tool(tool: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sandbox")
        .join(tool);
    let output = Command::new(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`{tool} {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}
