//! A site whose SSH server only a jump host reaches, as behind a bastion: the sandbox's network
//! namespaces put an sshd at 10.77.2.2 that this machine has no route to, and a jump host at
//! 10.77.1.2 that reaches it (`tests/sandbox/lib/jump-hosts.sh`). `--jump` and `ProxyJump`
//! carry the connection through the jump host's `direct-tcpip` channel; both host keys are
//! checked. The site account and files are the fixture site's, whose website this machine
//! reaches directly.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wprescue::transport::{
    Capabilities, ConnectOptions, Credentials, ErrorKind, Op, RemotePath, SshConfig, Target,
    Transport, TransportExt, connect,
};

use crate::conformance;
use crate::harness::{Sandbox, contents};
use crate::test::{Outcome, Test};

/// The docroot's files: mode and bytes by path ([`contents`]).
type Contents = BTreeMap<String, (u32, Vec<u8>)>;

/// `SCHEME://USER@10.77.2.2:22/~/PATH`: the site's sshd, as the user names it.
fn behind(sb: &Sandbox, scheme: &str, path: &str) -> String {
    format!(
        "{scheme}://{}@{}:{}/~/{path}",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_BEHIND_JUMP_HOST"),
        sb.env("SANDBOX_BEHIND_JUMP_PORT")
    )
}

/// `USER@10.77.1.2:22`.
fn jump(sb: &Sandbox) -> String {
    format!(
        "{}@{}:{}",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_JUMP_HOST"),
        sb.env("SANDBOX_JUMP_PORT")
    )
}

/// The sandbox key, and the known_hosts file that has both hosts' keys.
fn options(sb: &Sandbox, known_hosts: PathBuf) -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_secs(20),
        identity_files: vec![PathBuf::from(sb.env("SANDBOX_SSH_KEY"))],
        known_hosts: vec![known_hosts],
        use_agent: false,
        progress: false,
        ..ConnectOptions::default()
    }
}

fn through_jump(sb: &Sandbox, path: &str) -> Target {
    let config = SshConfig::default();
    Target::parse(&behind(sb, "sftp", path), &config)
        .unwrap()
        .with_jump(&jump(sb), &config)
        .unwrap()
}

fn known_hosts(sb: &Sandbox) -> PathBuf {
    PathBuf::from(sb.env("SANDBOX_JUMP_KNOWN_HOSTS"))
}

#[test]
fn without_the_jump_host_the_site_is_unreachable() {
    let sb = Sandbox::lock();
    let target = Target::parse(&behind(&sb, "sftp", ""), &SshConfig::default()).unwrap();
    let Err(e) = connect(
        &target,
        &options(&sb, known_hosts(&sb)),
        &mut Credentials::none(),
    ) else {
        panic!("connected without the jump host");
    };
    assert!(matches!(e.kind(), ErrorKind::Unreachable { .. }), "{e}");
}

fn open(sb: &Sandbox) -> Box<dyn Transport> {
    connect(
        &through_jump(sb, ""),
        &options(sb, known_hosts(sb)),
        &mut Credentials::none(),
    )
    .unwrap_or_else(|e| panic!("through the jump host: {e}"))
}

#[test]
fn every_transport_operation_passes_through_the_jump_host() {
    let sb = Sandbox::lock();
    let mut t = open(&sb);
    assert_eq!(t.root(), sb.env("SANDBOX_HOME"));
    let dir = RemotePath::new("transport-tests/jump-conformance").unwrap();
    if t.exists(&dir).unwrap() {
        t.remove_all(&dir).unwrap();
    }
    t.mkdir_all(&dir).unwrap();
    let mut observer = open(&sb);
    conformance::run_all(
        t.as_mut(),
        observer.as_mut(),
        &Capabilities {
            exec: false,
            modes: true,
        },
        &dir,
    );
    t.remove_all(&dir).unwrap();
}

#[test]
fn both_host_keys_are_checked() {
    let sb = Sandbox::lock();
    let dir = tempfile::tempdir().unwrap();
    let all = fs::read_to_string(known_hosts(&sb)).unwrap();
    for (missing, host) in [
        ("jump", sb.env("SANDBOX_JUMP_HOST")),
        ("site", sb.env("SANDBOX_BEHIND_JUMP_HOST")),
    ] {
        let file = dir.path().join(format!("known_hosts_without_{missing}"));
        let kept: Vec<&str> = all
            .lines()
            .filter(|l| !l.starts_with(&format!("{host} ")))
            .collect();
        fs::write(&file, kept.join("\n") + "\n").unwrap();
        let e = connect(
            &through_jump(&sb, ""),
            &options(&sb, file),
            &mut Credentials::none(),
        )
        .err()
        .unwrap_or_else(|| panic!("the {missing} host's unknown key was accepted"));
        assert!(
            matches!(e.kind(), ErrorKind::HostKeyUnknown { .. }) && e.op() == Op::VerifyHostKey,
            "{missing}: {e}"
        );
        assert!(
            e.to_string().contains(&host),
            "{missing}: names {host}: {e}"
        );
    }
}

/// The jump host set up in `~/.ssh/config` (`ProxyJump`, with an alias for the site), as a
/// user behind a bastion has it: diagnose, unlock and rollback of a broken `.htaccess`, the
/// files byte-identical afterwards.
#[test]
fn unlock_and_rollback_through_proxy_jump_in_ssh_config() {
    let sb = Sandbox::lock();
    sb.scenario("broken-htaccess");
    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join(".ssh")).unwrap();
    fs::write(
        home.path().join(".ssh/config"),
        format!(
            "Host behind\n  HostName {}\n  User {}\n  ProxyJump {}\n\
             Host *\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
            sb.env("SANDBOX_BEHIND_JUMP_HOST"),
            sb.env("SANDBOX_USER"),
            jump(&sb),
            sb.env("SANDBOX_SSH_KEY"),
            sb.env("SANDBOX_JUMP_KNOWN_HOSTS"),
        ),
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let before = contents(&sb.docroot());
    let run = |words: &[&str]| {
        Outcome::wait(
            Test::new(&sb)
                .args(words)
                .args(["behind:public_html", "--no-agent"])
                .state(state.path())
                .note("through ProxyJump")
                .spawn(home.path()),
        )
    };
    run(&["diagnose", "--url", &sb.env("SANDBOX_HTTP_URL")])
        .status(2)
        .stdout_has("server-error")
        .stdout_has(format!(
            "on ssh://{}@{}:22",
            sb.env("SANDBOX_USER"),
            sb.env("SANDBOX_BEHIND_JUMP_HOST")
        ));
    run(&["unlock", "--yes", "--url", &sb.env("SANDBOX_HTTP_URL")])
        .status(0)
        .stdout_has("unlocked:");
    assert!(sb.gets_in(&sb.env("SANDBOX_LOCKED_IP"), false));
    run(&["rollback", "--yes"]).status(0);
    assert_eq!(
        before,
        contents(&sb.docroot()),
        "byte-identical after rollback"
    );
}

/// `--jump` on the command line, over `ssh://`: unlock and rollback go through the tunnel, and
/// the undo line it prints carries `--jump`, so that the copied command reaches the site too.
#[test]
fn jump_flag_over_ssh_unlocks_and_the_undo_line_carries_it() {
    let sb = Sandbox::lock();
    sb.scenario("broken-htaccess");
    let state = tempfile::tempdir().unwrap();
    let before = contents(&sb.docroot());
    let jump = jump(&sb);
    with_jump(
        Test::new(&sb)
            .args(["unlock", "--yes"])
            .target_at(&behind(&sb, "ssh", "public_html"))
            .locked_out(),
        &sb,
        &jump,
        state.path(),
    )
    .run()
    .status(0)
    .stdout_has("unlocked:")
    .stdout_has(format!("--jump {jump}"));
    rolled_back(&sb, "ssh", &jump, state.path(), &before);
}

/// `rollback` through the jump host restores the docroot to `before`, byte for byte.
fn rolled_back(sb: &Sandbox, scheme: &str, jump: &str, state: &Path, before: &Contents) {
    with_jump(
        Test::new(sb)
            .args(["rollback", "--yes"])
            .target_at(&behind(sb, scheme, "public_html")),
        sb,
        jump,
        state,
    )
    .run()
    .status(0);
    assert_eq!(
        *before,
        contents(&sb.docroot()),
        "byte-identical after rollback"
    );
}

/// `--jump JUMP` and the key and known_hosts both hosts need, journals in `state`.
fn with_jump<'a>(test: Test<'a>, sb: &Sandbox, jump: &str, state: &Path) -> Test<'a> {
    test.args([
        "--jump",
        jump,
        "--identity",
        &sb.env("SANDBOX_SSH_KEY"),
        "--known-hosts",
        &sb.env("SANDBOX_JUMP_KNOWN_HOSTS"),
        "--no-agent",
    ])
    .state(state)
    .note("--jump over ssh://")
}

/// `--jump` goes with SSH targets only.
#[test]
fn jump_flag_with_an_ftp_target_is_refused() {
    let sb = Sandbox::lock();
    Test::new(&sb)
        .args(["diagnose", "ftp://wp@127.0.0.1/", "--jump", "bastion"])
        .run()
        .fails()
        .stderr_has("--jump goes with sftp:// and ssh:// targets");
}

/// Takes the link between this machine and the jump host down, and up again when dropped
/// (whatever the test does in between).
struct CutLink(&'static str);

impl CutLink {
    fn cut(link: &'static str) -> Self {
        set_link(link, "down");
        CutLink(link)
    }
}

impl Drop for CutLink {
    fn drop(&mut self) {
        set_link(self.0, "up");
    }
}

fn set_link(link: &str, state: &str) {
    let status = std::process::Command::new("ip")
        .args(["link", "set", link, state])
        .status()
        .expect("ip runs");
    assert!(status.success(), "ip link set {link} {state}");
}

/// The network cut for real in the middle of an unlock: after its first change, the link to
/// the jump host goes down. The fix works (the website is reached directly), but the lock
/// cannot be removed over the dead connection: the run says so, and how to clear it. Once the
/// link is back, `rollback` from the journal restores every file byte for byte and removes
/// the lock.
#[test]
fn a_network_cut_mid_unlock_leaves_a_journal_rollback_restores_from() {
    let sb = Sandbox::lock();
    sb.scenario("broken-htaccess");
    let state = tempfile::tempdir().unwrap();
    let release = state.path().join("release");
    let before = contents(&sb.docroot());
    let jump = jump(&sb);
    let home = tempfile::tempdir().unwrap();
    let unlock = with_jump(
        Test::new(&sb)
            .args(["unlock", "--yes", "--timeout", "3"])
            .target_at(&behind(&sb, "sftp", "public_html"))
            .locked_out(),
        &sb,
        &jump,
        state.path(),
    )
    .env("WPRESCUE_TEST_FAULT", "applied:0:hold")
    .env("WPRESCUE_TEST_FAULT_RELEASE", release.to_str().unwrap())
    .spawn(home.path());
    // The first change is made (the refused line commented out) and the run holds there.
    let held = state.path().join("release.held");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !held.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the unlock never applied its change"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let htaccess = fs::read_to_string(sb.docroot().join(".htaccess")).unwrap();
    assert!(htaccess.contains("# wprescue-"), "{htaccess}");
    let outcome = {
        let _cut = CutLink::cut("wprj0");
        fs::write(&release, "").unwrap();
        Outcome::wait(unlock)
    };
    outcome
        .fails()
        .stdout_has("unlocked:")
        .stderr_has("its lock .ht.wprescue.lock could not be removed")
        .stderr_has("no answer within 3 s")
        .stderr_has("wprescue rollback --run");
    assert_ne!(
        before,
        contents(&sb.docroot()),
        "the cut left the change in place"
    );
    rolled_back(&sb, "sftp", &jump, state.path(), &before);
}
