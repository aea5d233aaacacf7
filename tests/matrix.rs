//! The hosting matrix: the hosts of `docker-compose.yml`, each a container with its own address
//! on a private network (the WordPress account's web host and its database host, vsftpd, Pure-FTPd,
//! ProFTPD, an SFTP host, a jump host and a target only it reaches), from one image, run by
//! `tests/docker/matrix-host`. The web host and the FTP and SSH hosts share the account's home,
//! as one hosting server's web and FTP servers do.
//!
//! These tests run on this machine, not in a container: Linux reaches a bridge network's
//! addresses directly, and only the Docker CLI here can take a host off the network for real
//! (`docker network disconnect`), which is the point of separate hosts. What they need from
//! inside (the shared passwords, the client key, the host keys, the CA; the site's files, which
//! live on the web host; a scenario set up there) they get through `docker exec`.
//!
//! Start the matrix first, from the repository (as root, `docker-compose` with Compose v1):
//! `tests/docker/base-image && docker compose up -d --build && tests/docker/matrix-ready`;
//! then `cargo test --test matrix`. Without it every test fails and says so; none is skipped.
//! It is a test target of its own, not part of `cargo test`'s default set (`test = false` in
//! Cargo.toml), so that the main suite needs no Docker; `.ci/run` runs both.

mod harness;
// The matrix uses part of the runner; the rest is the native suite's.
#[allow(dead_code)]
mod test;

use std::collections::{BTreeSet, HashMap};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use harness::Sandbox;
use test::{FTP_SCENARIOS, Outcome, Test, ftp_jobs_round};

/// How to bring the matrix up, for every failure that means it is not.
const START_HINT: &str = "start the compose matrix from the repository (as root): \
    `tests/docker/base-image && docker compose up -d --build && tests/docker/matrix-ready` \
    (`docker-compose` with Compose v1); see docker-compose.yml";

/// The hosts, by compose service, and their addresses as `docker-compose.yml` assigns them.
const WORDPRESS: &str = "172.30.60.10";
const DB: &str = "172.30.60.11";
const VSFTPD: &str = "172.30.60.21";
const PURE_FTPD: &str = "172.30.60.22";
const PROFTPD: &str = "172.30.60.23";
const SFTP: &str = "172.30.60.30";
const JUMP: &str = "172.30.60.40";
const TARGET: &str = "172.30.61.50";
/// This machine on the hosting network (its bridge's gateway): where the sites see the tests
/// come from, and what the plugin scenarios lock out.
const THIS_MACHINE: &str = "172.30.60.1";
const SERVICES: [&str; 8] = [
    "db",
    "wordpress",
    "vsftpd",
    "pure-ftpd",
    "proftpd",
    "sftp",
    "jump",
    "target",
];
/// The site's WordPress root on the web host (and on every host sharing the home).
const DOCROOT: &str = "/home/wpsite/public_html";
/// What the hosts share (tests/docker/matrix-host).
const SHARED: &str = "/var/lib/wprescue-matrix";

/// `docker compose -f docker-compose.yml`, or `docker-compose` (v1) where the plugin is missing,
/// as `.ci/run` chooses. The file's folder names the compose project, as for a user who runs
/// `docker compose up` in the repository.
fn compose() -> Command {
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = if v2 {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    } else {
        Command::new("docker-compose")
    };
    command.args([
        "-f",
        concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"),
    ]);
    command
}

/// Runs `command`; its stdout, or a panic with `what` failed and its stderr.
fn output(mut command: Command, what: &str) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it ({e}): {START_HINT}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The matrix's containers by service, each checked healthy (its servers answer: the compose
/// healthcheck, `matrix-host status`), once per test process.
fn containers() -> &'static HashMap<&'static str, String> {
    static IDS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    IDS.get_or_init(|| {
        SERVICES
            .iter()
            .map(|&service| {
                let mut ps = compose();
                ps.args(["ps", "-q", service]);
                let id = output(ps, &format!("`compose ps -q {service}`"))
                    .trim()
                    .to_owned();
                assert!(
                    !id.is_empty(),
                    "the matrix host `{service}` is not running: {START_HINT}"
                );
                let mut inspect = Command::new("docker");
                inspect.args(["inspect", "-f", "{{.State.Health.Status}}", &id]);
                let health = output(inspect, &format!("`docker inspect` of {service}"));
                assert_eq!(
                    health.trim(),
                    "healthy",
                    "the matrix host `{service}` is not healthy yet (`docker compose logs \
                     {service}` says why): {START_HINT}"
                );
                (service, id)
            })
            .collect()
    })
}

/// `docker exec` on `service`'s container; its stdout.
fn exec(service: &str, args: &[&str]) -> String {
    let mut command = Command::new("docker");
    command.arg("exec").arg(&containers()[service]).args(args);
    output(command, &format!("`{}` on {service}", args.join(" ")))
}

/// The matrix, for one test at a time, as a [`Sandbox`] whose env-file keys name its hosts, so
/// that [`Test`] runs against it as against the native sandbox. `SANDBOX_FTP_*` name vsftpd;
/// `SANDBOX_SSH_*` the SFTP host.
struct Matrix {
    sb: Sandbox,
    /// The client key, the known hosts and the CA, copied out of the shared volume.
    _files: tempfile::TempDir,
}

impl Matrix {
    fn open() -> Matrix {
        containers();
        let files = tempfile::tempdir().unwrap();
        let copy = |name: &str, from: &str| {
            let path = files.path().join(name);
            std::fs::write(
                &path,
                exec("wordpress", &["sh", "-c", &format!("cat {from}")]),
            )
            .unwrap();
            // ssh refuses a private key others may read.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let key = copy("id_ed25519", &format!("{SHARED}/client/id_ed25519"));
        let known_hosts = copy("known_hosts", &format!("{SHARED}/known_hosts.d/*"));
        let ca = copy("ca.pem", &format!("{SHARED}/tls/ca.pem"));
        let secrets: HashMap<String, String> =
            exec("wordpress", &["cat", &format!("{SHARED}/secrets.env")])
                .lines()
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let env = [
            ("SANDBOX_HTTP_URL", format!("http://{WORDPRESS}")),
            ("SANDBOX_LOCKED_IP", THIS_MACHINE.to_owned()),
            ("SANDBOX_USER", "wpsite".to_owned()),
            ("SANDBOX_PASSWORD", secrets["SITE_PASSWORD"].clone()),
            ("SANDBOX_HOME", "/home/wpsite".to_owned()),
            ("SANDBOX_SFTP_ONLY_USER", "wpjail".to_owned()),
            ("SANDBOX_SSH_HOST", SFTP.to_owned()),
            ("SANDBOX_SSH_PORT", "2222".to_owned()),
            ("SANDBOX_SSH_KEY", key),
            ("SANDBOX_SSH_KNOWN_HOSTS", known_hosts),
            ("SANDBOX_FTP_HOST", VSFTPD.to_owned()),
            ("SANDBOX_FTP_PORT", "2121".to_owned()),
            ("SANDBOX_TLS_CA", ca),
            ("SANDBOX_WP_ADMIN", "admin".to_owned()),
            ("SANDBOX_WP_PASSWORD", secrets["WP_ADMIN_PASSWORD"].clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let lock = std::env::temp_dir().join("wprescue-matrix-tests.lock");
        Matrix {
            sb: Sandbox::with_env(env, &lock),
            _files: files,
        }
    }

    /// Resets the site on the web host, then locks it out as the sandbox's scenario `name` does.
    fn scenario(&self, name: &str) {
        exec("wordpress", &["wprescue-matrix-host", "scenario", name]);
    }

    /// Every file and folder of the site, read on the web host: type, permission bits and path,
    /// then each file's SHA-256. Equal listings are the same files byte for byte (modification
    /// times may differ, and folder sizes, which do not shrink when an entry goes).
    fn site_files(&self) -> BTreeSet<String> {
        let script = format!(
            "cd {DOCROOT} && find . -printf '%y %m %p\\n' && \
             find . -type f -print0 | xargs -0 sha256sum"
        );
        exec("wordpress", &["sh", "-c", &script])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A file of the site, read on the web host.
    fn site_file(&self, path: &str) -> String {
        exec("wordpress", &["cat", &format!("{DOCROOT}/{path}")])
    }
}

/// Panics, with the lines that differ, unless `after` is `before`.
fn assert_same_files(before: &BTreeSet<String>, after: &BTreeSet<String>, what: &str) {
    let gone: Vec<_> = before.difference(after).collect();
    let new: Vec<_> = after.difference(before).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "{what}: the site's files differ\nbefore only: {gone:#?}\nafter only: {new:#?}"
    );
}

/// Every host answers on its own address, from this machine: the website, each FTP server's
/// greeting, each SSH server's, except the target's, which this machine cannot reach.
#[test]
fn every_host_answers_on_its_own_address() {
    let m = Matrix::open();
    assert_eq!(m.sb.get_from(THIS_MACHINE, "/wp-login.php").status, 200);
    for (host, addr, port, greeting) in [
        ("vsftpd", VSFTPD, 2121, "220"),
        ("vsftpd (FTPS)", VSFTPD, 2990, "220"),
        ("Pure-FTPd", PURE_FTPD, 2131, "220"),
        ("ProFTPD", PROFTPD, 2141, "220"),
        ("SFTP host", SFTP, 2222, "SSH-"),
        ("jump host", JUMP, 2222, "SSH-"),
    ] {
        assert!(
            greeting_of(addr, port).starts_with(greeting),
            "{host} at {addr}:{port}"
        );
    }
    // WordPress's database is on the db host, which answers.
    let config = m.site_file("wp-config.php");
    assert!(
        config.contains(&format!("'{DB}:13306'")),
        "wp-config.php does not name the db host"
    );
    let db: SocketAddr = format!("{DB}:13306").parse().unwrap();
    TcpStream::connect_timeout(&db, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("the db host at {db}: {e}"));
    // The target answers the jump host, on the network this machine is not on.
    let answer = exec(
        "jump",
        &[
            "timeout",
            "3",
            "bash",
            "-c",
            &format!("exec 3<>/dev/tcp/{TARGET}/2222; head -c 4 <&3"),
        ],
    );
    assert_eq!(answer, "SSH-", "the target, from the jump host");
}

/// The first bytes a server sends on connecting.
fn greeting_of(addr: &str, port: u16) -> String {
    use std::io::Read;
    let at: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    let mut stream = TcpStream::connect_timeout(&at, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{at} does not answer ({e}): {START_HINT}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0; 4];
    stream
        .read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("no greeting from {at}: {e}"));
    String::from_utf8_lossy(&buf).into_owned()
}

/// Whether a server greets this machine at `addr:port` with `greeting` within a few seconds. Not
/// whether a connection opens: with no route of its own to an address, this machine sends it to
/// its default gateway, where a proxy may accept any connection (and then say nothing).
fn greets(addr: &str, port: u16, greeting: &[u8; 4]) -> bool {
    use std::io::Read;
    let at: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    let Ok(mut stream) = TcpStream::connect_timeout(&at, Duration::from_secs(3)) else {
        return false;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut buf = [0; 4];
    stream.read_exact(&mut buf).is_ok() && &buf == greeting
}

/// Waits until this machine has no TCP connection to `addr:port` left (`/proc/net/tcp`), at most
/// a minute.
fn connections_end(addr: &str, port: u16, what: &str) {
    let ip: std::net::Ipv4Addr = addr.parse().unwrap();
    let open = || {
        std::fs::read_to_string("/proc/net/tcp")
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().nth(2))
            .filter_map(|remote| remote.split_once(':'))
            .any(|(host, p)| {
                // The address as the kernel prints it: the bytes in memory order, as one hex u32.
                let host = u32::from_str_radix(host, 16).map(|h| h.to_ne_bytes());
                host.is_ok_and(|h| h == ip.octets())
                    && u16::from_str_radix(p, 16).is_ok_and(|p| p == port)
            })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while open() {
        assert!(
            Instant::now() < deadline,
            "{what}: the connection from before the cut is still open after a minute"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `(server, scheme, address, port)`: each FTP host, over plain FTP and explicit FTPS (vsftpd
/// on a port of its own that requires TLS, the others with TLS optional on one port).
const FTP_HOSTS: [(&str, &str, &str, u16); 6] = [
    ("vsftpd", "ftp", VSFTPD, 2121),
    ("vsftpd", "ftps", VSFTPD, 2990),
    ("Pure-FTPd", "ftp", PURE_FTPD, 2131),
    ("Pure-FTPd", "ftps", PURE_FTPD, 2131),
    ("ProFTPD", "ftp", PROFTPD, 2141),
    ("ProFTPD", "ftps", PROFTPD, 2141),
];

/// On each FTP host, whose files are the web host's: every scenario is diagnosed, planned
/// without a change, unlocked (the website on the other host lets this machine in) and rolled
/// back byte for byte (the lockout back).
#[test]
fn every_ftp_host_unlocks_the_web_host_and_rolls_back_byte_for_byte() {
    let m = Matrix::open();
    let sb = &m.sb;
    for (server, scheme, addr, port) in FTP_HOSTS {
        let target = format!("{scheme}://wpsite@{addr}:{port}/");
        for (scenario, cause) in FTP_SCENARIOS {
            let what = format!("{scenario} on the {server} host over {scheme}://");
            m.scenario(scenario);
            let before = m.site_files();
            ftp_jobs_round(sb, &what, &target, cause, THIS_MACHINE, |when| {
                assert_same_files(&before, &m.site_files(), &format!("{what}: {when}"));
            });
        }
    }
    m.scenario("clean");
}

/// A host taken off the hosting network (`docker network disconnect`), and put back on it at its
/// address when dropped, whatever the test does in between.
struct OffTheNetwork {
    network: String,
    container: String,
    addr: &'static str,
}

impl OffTheNetwork {
    fn cut(service: &str, addr: &'static str) -> Self {
        let container = containers()[service].clone();
        let mut inspect = Command::new("docker");
        inspect.args([
            "inspect",
            "-f",
            "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}\n{{end}}",
            &container,
        ]);
        let networks = output(inspect, &format!("`docker inspect` of {service}"));
        let network = networks
            .lines()
            .find(|n| n.ends_with("_hosting"))
            .unwrap_or_else(|| panic!("{service} is on no hosting network: {networks}"))
            .to_owned();
        let mut disconnect = Command::new("docker");
        disconnect.args(["network", "disconnect", &network, &container]);
        output(
            disconnect,
            &format!("disconnecting {service} from {network}"),
        );
        OffTheNetwork {
            network,
            container,
            addr,
        }
    }
}

impl Drop for OffTheNetwork {
    fn drop(&mut self) {
        let status = Command::new("docker")
            .args(["network", "connect", "--ip", self.addr])
            .args([&self.network, &self.container])
            .status();
        // Not a panic while unwinding: the test's own failure says more.
        if !status.is_ok_and(|s| s.success()) {
            eprintln!(
                "cannot put {} back on {} at {}: `docker compose up -d` (or down and up) restores it",
                self.container, self.network, self.addr
            );
        }
    }
}

/// The FTP connection cut for real in the middle of an unlock, on each FTP host: after the run's
/// first change (the refused `.htaccess` line commented out on the shared files), the FTP host
/// is taken off the network. The fix works (the web host is still reached), but the run's lock
/// cannot be removed over the dead connection: the run says so and how to clear it. Once the
/// host is back, with the same address, `rollback` from the journal restores every file byte
/// for byte.
#[test]
fn an_ftp_host_cut_off_mid_unlock_leaves_a_journal_rollback_restores_from() {
    let m = Matrix::open();
    let sb = &m.sb;
    for (service, addr, port) in [
        ("vsftpd", VSFTPD, 2121),
        ("pure-ftpd", PURE_FTPD, 2131),
        ("proftpd", PROFTPD, 2141),
    ] {
        let what = format!("the {service} host cut off mid-unlock");
        let target = format!("ftp://wpsite@{addr}:{port}/");
        m.scenario("broken-htaccess");
        let state = tempfile::tempdir().unwrap();
        let wprescue = |words: &[&str]| {
            Test::new(sb)
                .note(&what)
                .args(words)
                .target_at(&target)
                .env("WPRESCUE_PASSWORD", sb.env("SANDBOX_PASSWORD"))
                .state(state.path())
        };
        let release = state.path().join("release");
        let before = m.site_files();
        let home = tempfile::tempdir().unwrap();
        let unlock = wprescue(&["unlock", "--yes", "--timeout", "3"])
            .locked_out()
            .env("WPRESCUE_TEST_FAULT", "applied:0:hold")
            .env("WPRESCUE_TEST_FAULT_RELEASE", release.to_str().unwrap())
            .spawn(home.path());
        let held = state.path().join("release.held");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !held.exists() {
            assert!(
                Instant::now() < deadline,
                "{what}: the unlock never applied its change"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let htaccess = m.site_file(".htaccess");
        assert!(htaccess.contains("# wprescue-"), "{what}: {htaccess}");
        let (outcome, cut_off) = {
            let _cut = OffTheNetwork::cut(service, addr);
            // Off the network indeed: this machine no longer reaches it.
            assert!(
                !greets(addr, port, b"220 "),
                "{what}: it still answers off the network"
            );
            std::fs::write(&release, "").unwrap();
            let outcome = Outcome::wait(unlock);
            (outcome, m.site_files())
        };
        outcome
            .fails()
            .stdout_has("unlocked:")
            .stderr_has("its lock public_html/.ht.wprescue.lock could not be removed")
            .stderr_has(format!(
                "on {}: no answer within 3 s",
                target.trim_end_matches('/')
            ))
            .stderr_has("wprescue rollback --run");
        assert!(
            cut_off != before,
            "{what}: the cut left the change in place"
        );
        // Back on the network: the greeting again. What the run sent into the cut (its lock's
        // removal) is still retransmitted by this machine's TCP, and may land now: the rollback
        // must restore the site either way, once that connection is over.
        assert!(greeting_of(addr, port).starts_with("220"), "{what}");
        connections_end(addr, port, &what);
        wprescue(&["rollback", "--yes"]).run().status(0);
        assert_same_files(&before, &m.site_files(), &format!("{what}: rollback"));
        assert_eq!(
            sb.get_from(THIS_MACHINE, "/").status,
            500,
            "{what}: the broken .htaccess is not back"
        );
    }
    m.scenario("clean");
}

/// The SFTP-only account (`internal-sftp`, chrooted, no shell) on the SFTP host, behind an
/// `ssh://` target: unlock notices it runs no commands and reaches the database through the
/// helper over HTTP on the web host, which serves the files the SFTP host wrote; a rollback
/// from a fresh process does the same, byte for byte.
#[test]
fn the_sftp_only_account_gets_the_helper_over_http_from_the_web_host() {
    let m = Matrix::open();
    let sb = &m.sb;
    m.scenario("wordfence-block");
    let before = m.site_files();
    // The account is chrooted to /home, where the site's home is /wpsite.
    let target = format!("ssh://wpjail@{SFTP}:2222/wpsite");
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Test::new(sb)
            .args(args)
            .args([
                target.as_str(),
                "--identity",
                &sb.env("SANDBOX_SSH_KEY"),
                "--known-hosts",
                &sb.env("SANDBOX_SSH_KNOWN_HOSTS"),
                "--no-agent",
            ])
            .state(state.path())
            .note("the SFTP-only account on the SFTP host")
            .run()
    };
    run(&["unlock", "--yes", "--url", &sb.env("SANDBOX_HTTP_URL")])
        .status(0)
        .stdout_has("this SSH account runs no commands (SFTP only)")
        .stdout_has("applied wordfence-allowlist");
    assert!(sb.comes_to(THIS_MACHINE, false, true), "still locked out");
    run(&["rollback", "--yes"]).status(0);
    assert_same_files(&before, &m.site_files(), "rollback over SFTP only");
    assert!(
        sb.comes_to(THIS_MACHINE, false, false),
        "the lockout is not back"
    );
    m.scenario("clean");
}

/// The target's SSH server is on the backend network only, which this machine has no route
/// to: a direct connection fails, while `--jump` through the jump host (both host keys
/// checked) unlocks a broken `.htaccess` on it, and rolls it back byte for byte.
#[test]
fn the_target_is_reached_only_through_the_jump_host() {
    let m = Matrix::open();
    let sb = &m.sb;
    assert!(greets(JUMP, 2222, b"SSH-"), "the jump host does not answer");
    assert!(
        !greets(TARGET, 2222, b"SSH-"),
        "this machine reaches the target's sshd directly"
    );
    m.scenario("broken-htaccess");
    let before = m.site_files();
    let state = tempfile::tempdir().unwrap();
    let target = format!("sftp://wpsite@{TARGET}:2222/~/public_html");
    let jump = format!("wpsite@{JUMP}:2222");
    let run = |args: &[&str]| {
        Test::new(sb)
            .args(args)
            .args([
                target.as_str(),
                "--jump",
                &jump,
                "--identity",
                &sb.env("SANDBOX_SSH_KEY"),
                "--known-hosts",
                &sb.env("SANDBOX_SSH_KNOWN_HOSTS"),
                "--no-agent",
            ])
            .state(state.path())
            .note("through the jump host")
            .run()
    };
    run(&["unlock", "--yes", "--url", &sb.env("SANDBOX_HTTP_URL")])
        .status(0)
        .stdout_has("unlocked:")
        .stdout_has(format!("--jump {jump}"));
    assert_eq!(sb.get_from(THIS_MACHINE, "/").status, 200, "still a 500");
    run(&["rollback", "--yes"]).status(0);
    assert_same_files(&before, &m.site_files(), "rollback through the jump host");
    m.scenario("clean");
}
