//! What scripts and people rely on from the command line: exit statuses of their own, flags
//! checked before anything connects, a question before the site changes, an undo line that
//! runs as printed, and a trace without secrets.

use std::path::Path;
use std::process::Command;

use crate::harness::{Protocol, Sandbox, contents};
use crate::test::Test;

#[test]
fn usage_errors_exit_64_and_bad_flags_are_caught_before_connecting() {
    let sb = Sandbox::lock();
    Test::new(&sb)
        .args(["unlock"])
        .run()
        .status(64)
        .stderr_has("<TARGET>");
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["diagnose"])
        .target()
        .args(["--timeout", "0"])
        .run()
        .status(64);
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["diagnose"])
        .target()
        .args(["--url", "example.com"])
        .run()
        .status(1)
        .stderr_has("--url example.com: not an http:// or https:// address")
        .stderr_has("hint: give the address the admin opens in a browser");
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["diagnose"])
        .target()
        .args(["--bind", "192.0.2.123"])
        .run()
        .status(1)
        .stderr_has("--bind 192.0.2.123: this machine cannot send from it");
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["diagnose"])
        .target()
        .args(["--identity", "/nonexistent/key"])
        .run()
        .status(1)
        .stderr_has("--identity /nonexistent/key: cannot read it");
    // ftp:// pointed at the SSH port.
    let ssh_port = format!(
        "ftp://{}@{}:{}/",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_SSH_HOST"),
        sb.env("SANDBOX_SSH_PORT")
    );
    Test::new(&sb)
        .args(["diagnose", &ssh_port])
        .env("WPRESCUE_PASSWORD", "not-asked")
        .run()
        .status(1)
        .stderr_has("this port speaks SSH, not FTP")
        .stderr_has("hint: use sftp://");
}

#[test]
fn run_and_rollback_ask_first_and_the_undo_line_runs_as_printed() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let before = contents(&sb.docroot());
    let state = tempfile::tempdir().unwrap();
    // No terminal, no --yes: run refuses and changes nothing.
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["run", "wordfence"])
        .target()
        .state(&state)
        .run()
        .status(1)
        .stderr_has("refusing to change the site without confirmation: run again with --yes");
    assert!(contents(&sb.docroot()) == before, "run changed the site");

    let unlocked = Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["unlock"])
        .target()
        .locked_out()
        .args(["--yes"])
        .state(&state)
        .run()
        .status(0);
    let undo = unlocked
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("undo with: "))
        .expect("an undo line")
        .to_owned();
    assert!(
        undo.contains("--identity") && undo.contains("--known-hosts"),
        "{undo}"
    );
    let unlocked_site = contents(&sb.docroot());

    // The same refusal for rollback; --dry-run says what it would put back and touches
    // nothing.
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["rollback"])
        .target()
        .state(&state)
        .run()
        .status(1)
        .stderr_has("refusing to change the site without confirmation");
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["rollback", "--dry-run"])
        .target()
        .state(&state)
        .run()
        .status(2)
        .stdout_has("change(s) to undo:")
        .stdout_has("put back the deleted row")
        .stdout_has("dry run: nothing undone")
        .stderr_empty();
    assert!(
        contents(&sb.docroot()) == unlocked_site,
        "a dry run changed the site"
    );

    // The undo line, copied from the output as a user would, runs in a shell.
    let binary = Path::new(env!("CARGO_BIN_EXE_wprescue"));
    let home = tempfile::tempdir().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{undo} --yes"))
        .env_clear()
        .env("HOME", home.path())
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", binary.parent().unwrap().display()),
        )
        .env("WPRESCUE_STATE_DIR", state.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`{undo} --yes`: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("rolled back:"), "{stdout}");
    assert!(
        contents(&sb.docroot()) == before,
        "not byte-identical after the undo line"
    );
    sb.reset();
}

#[test]
fn a_trace_shows_the_work_and_no_secret() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    let password = sb.env("SANDBOX_PASSWORD");
    let login_password = sb.env("SANDBOX_WP_PASSWORD");
    let state = tempfile::tempdir().unwrap();
    let run = Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["-vv", "unlock"])
        .target()
        .locked_out()
        .login()
        .args(["--dry-run"])
        .state(&state)
        .run()
        .status(2)
        .stderr_has("connected")
        .stderr_has("op=\"list\"")
        .stderr_has("http")
        .stderr_has("helper call")
        .stderr_lacks(&password)
        .stdout_lacks(&password)
        .stderr_lacks(&login_password)
        .stdout_lacks(&login_password);
    assert!(!run.stderr.contains("token"), "{}", run.stderr);
    sb.reset();
}

#[test]
fn what_the_site_sends_cannot_drive_the_terminal() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    // An error-log line crafted to retitle the terminal, clear it and print a fake verdict;
    // diagnose quotes the last such line as evidence.
    let log = std::path::Path::new(&sb.env("SANDBOX_HOME")).join("logs/error.log");
    let mut text = std::fs::read_to_string(&log).unwrap_or_default();
    text.push_str(
        "[Sun Nov 29 10:00:00 2026] [php:error] PHP Fatal error: \u{1b}]0;pwned\u{7}\u{1b}[2Jall changes applied\n",
    );
    std::fs::write(&log, text).unwrap();
    let diagnosed = Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["diagnose"])
        .target()
        .locked_out()
        .run()
        .status(2)
        .stdout_has("pwned");
    assert!(
        !diagnosed.stdout.contains('\u{1b}') && !diagnosed.stderr.contains('\u{1b}'),
        "{diagnosed:?}"
    );
    sb.reset();
}

#[test]
fn diagnose_says_what_unlock_would_do_first() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["diagnose"])
        .target()
        .locked_out()
        .run()
        .status(2)
        .stdout_has("next      unlock first runs wordfence-allowlist: Wordfence, kept running")
        .stdout_has("Only if that does not let you in: wordfence.")
        .stdout_has("by hand   rename public_html/wp-content/plugins/wordfence");
    let json = Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["diagnose", "--json"])
        .target()
        .locked_out()
        .run()
        .status(2)
        .json();
    assert!(
        json["unlock_first"]
            .as_str()
            .unwrap()
            .starts_with("unlock first runs wordfence-allowlist"),
        "{json:#}"
    );
    sb.reset();
}
