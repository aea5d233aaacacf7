//! Issue #6's promise, against the sandbox's plugins over SSH (the helper runs `php`) and over
//! FTP alone (the helper is uploaded and called over HTTP): `unlock` lets the locked address in
//! by whitelisting it and clearing its lockout in the plugin's own storage, while the plugin
//! stays active and still refuses another locked address; the helper leaves nothing behind;
//! rollback puts options, rows and files back exactly.

use std::time::{Duration, Instant};

use crate::harness::{Protocol, Sandbox, contents};
use crate::test::{Outcome, Test};

const PROTOCOLS: [Protocol; 2] = [Protocol::Ssh, Protocol::Ftp];

/// A plugin lockout scenario and what `unlock` does about it.
struct Case {
    scenario: &'static str,
    /// The first rung, which keeps the plugin running.
    rung: &'static str,
    /// The plugin's folder, which must stay where it is.
    folder: &'static str,
    /// Whether the lockout only shows on a real login.
    login: bool,
    /// The plugin's lockout and allow-list state, as `mariadb -B` prints it.
    state: &'static str,
}

const CASES: [Case; 6] = [
    Case {
        scenario: "wordfence-block",
        rung: "wordfence-allowlist",
        folder: "wordfence",
        login: false,
        state: "SELECT id, HEX(IP), type, reason FROM wp_wfblocks7 ORDER BY id; \
                SELECT val FROM wp_wfconfig WHERE name = 'whitelisted'",
    },
    Case {
        scenario: "solid-lockout",
        rung: "solid-security-allowlist",
        folder: "better-wp-security",
        login: false,
        state: "SELECT * FROM wp_itsec_lockouts ORDER BY lockout_id; \
                SELECT * FROM wp_itsec_temp ORDER BY temp_id; \
                SELECT HEX(option_value) FROM wp_options WHERE option_name = 'itsec-storage'",
    },
    Case {
        scenario: "aios-blacklist",
        rung: "all-in-one-wp-security-allowlist",
        folder: "all-in-one-wp-security-and-firewall",
        login: false,
        state: "SELECT HEX(option_value) FROM wp_options \
                WHERE option_name = 'aio_wp_security_configs'",
    },
    Case {
        scenario: "aios-login-lockdown",
        rung: "all-in-one-wp-security-allowlist",
        folder: "all-in-one-wp-security-and-firewall",
        login: false,
        state: "SELECT * FROM wp_aiowps_login_lockdown ORDER BY id; \
                SELECT HEX(option_value) FROM wp_options \
                WHERE option_name = 'aio_wp_security_configs'",
    },
    Case {
        scenario: "llar-lockout",
        rung: "limit-login-attempts-reloaded-allowlist",
        folder: "limit-login-attempts-reloaded",
        login: true,
        state: "SELECT option_name, HEX(option_value), autoload FROM wp_options \
                WHERE option_name LIKE 'limit\\_login\\_%' ORDER BY option_name",
    },
    Case {
        scenario: "loginizer-lockout",
        rung: "loginizer-lockouts",
        folder: "loginizer",
        login: true,
        state: "SELECT * FROM wp_loginizer_logs ORDER BY ip",
    },
];

#[test]
fn whitelisting_lets_the_caller_in_and_keeps_the_plugin_refusing_others() {
    let sb = Sandbox::lock();
    let [locked, other] = sb.locked_ips();
    for case in CASES {
        for protocol in PROTOCOLS {
            let what = format!("{} over {protocol:?}", case.scenario);
            sb.scenario(case.scenario);
            let files = contents(&sb.docroot());
            let rows = sb.sql(case.state);
            let plugin = sb.docroot().join("wp-content/plugins").join(case.folder);
            assert!(
                sb.comes_to(&locked, case.login, false),
                "{what}: locked to begin with"
            );

            let state = tempfile::tempdir().unwrap();
            let state = state.path().to_str().unwrap().to_owned();
            Test::unlock(&sb, protocol, &state)
                .note(&what)
                .args(["--yes"])
                .login_if(case.login)
                .run()
                .status(0)
                .stdout_has(format!("applied {} (", case.rung))
                .stdout_has(format!("caller {locked} (from the web server"))
                .stdout_has("unlocked:")
                .stderr_empty();
            assert!(plugin.is_dir(), "{what}: the plugin was renamed away");
            assert!(
                sb.comes_to(&locked, case.login, true),
                "{what}: still locked out"
            );
            assert!(
                sb.comes_to(&other, case.login, false),
                "{what}: the other locked address got in too"
            );
            assert!(
                sb.helper_leftovers().is_empty(),
                "{what}: {:?}",
                sb.helper_leftovers()
            );
            assert_ne!(
                sb.sql(case.state),
                rows,
                "{what}: the plugin's state is unchanged"
            );

            Test::rollback(&sb, protocol, &state)
                .note(&what)
                .run()
                .status(0)
                .stderr_empty();
            assert_eq!(
                sb.sql(case.state),
                rows,
                "{what}: rows not restored exactly"
            );
            assert!(
                contents(&sb.docroot()) == files,
                "{what}: files not byte-identical"
            );
            assert!(
                sb.comes_to(&locked, case.login, false),
                "{what}: the lockout is back"
            );
            assert!(sb.helper_leftovers().is_empty(), "{what}: after rollback");
        }
    }
    sb.reset();
}

/// Starts `unlock --yes` on solid-lockout over FTP, paused by the fault hook right after its
/// first helper upload; returns once the helper is on the server.
fn paused_unlock(sb: &Sandbox, state: &str, home: &std::path::Path) -> std::process::Child {
    let child = Test::new(sb)
        .over(Protocol::Ftp)
        .args(["unlock"])
        .target()
        .locked_out()
        .args(["--yes"])
        .state(state)
        .env("WPRESCUE_TEST_FAULT", "helper-uploaded:pause")
        .spawn(home);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.helper_leftovers().is_empty() {
        assert!(Instant::now() < deadline, "the helper never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn ctrl_c_while_the_helper_is_on_the_server_removes_it_and_changes_nothing() {
    let sb = Sandbox::lock();
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    sb.scenario("solid-lockout");
    let files = contents(&sb.docroot());
    let rows = sb.sql(CASES[1].state);
    let child = paused_unlock(&sb, state.path().to_str().unwrap(), home.path());
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    Outcome::wait(child).status(130).stderr_has("interrupted");
    assert!(
        sb.helper_leftovers().is_empty(),
        "{:?}",
        sb.helper_leftovers()
    );
    assert_eq!(sb.sql(CASES[1].state), rows);
    assert!(
        contents(&sb.docroot()) == files,
        "the interrupted run changed files"
    );
    sb.reset();
}

#[test]
fn a_helper_left_by_a_killed_run_is_removed_by_the_next_one() {
    let sb = Sandbox::lock();
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    sb.scenario("solid-lockout");
    let mut child = paused_unlock(&sb, state.path().to_str().unwrap(), home.path());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sb.helper_leftovers().len(), 1, "kill -9 cleans nothing up");

    let url = sb.env("SANDBOX_HTTP_URL");
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["unlock"])
        .target()
        .args(["--url", &url, "--dry-run"])
        .state(&state)
        .run()
        .status(2)
        .stdout_has("removed 1 helper folder(s)")
        .stderr_empty();
    assert!(sb.helper_leftovers().is_empty());
    sb.reset();
}

#[test]
fn the_plugins_own_visitor_address_setting_is_read_and_said() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    // Wordfence set to trust X-Forwarded-For, which requests from here do not carry: it falls
    // back to REMOTE_ADDR, and unlock says so.
    sb.sql("UPDATE wp_wfconfig SET val = 'HTTP_X_FORWARDED_FOR' WHERE name = 'howGetIPs'");
    let state = tempfile::tempdir().unwrap();
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["unlock"])
        .target()
        .locked_out()
        .args(["--dry-run"])
        .state(&state)
        .run()
        .status(2)
        .stdout_has(
            "wordfence-allowlist reads the visitor's address from X-Forwarded-For (setting \"HTTP_X_FORWARDED_FOR\"); requests from here carry none, so it falls back to 127.0.0.1",
        )
        .stdout_has("127.0.0.1")
        .stderr_empty();
    sb.reset();
}

#[test]
fn run_reads_the_plugins_visitor_address_setting_too() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    sb.sql("UPDATE wp_wfconfig SET val = 'HTTP_X_FORWARDED_FOR' WHERE name = 'howGetIPs'");
    let state = tempfile::tempdir().unwrap();
    // `run` plans one playbook through the same session as unlock: the plugin's own setting
    // decides the address, and the run says so.
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["run", "wordfence-allowlist"])
        .target()
        .locked_out()
        .args(["--check"])
        .state(&state)
        .run()
        .status(2)
        .stdout_has(
            "wordfence-allowlist reads the visitor's address from X-Forwarded-For (setting \"HTTP_X_FORWARDED_FOR\"); requests from here carry none, so it falls back to 127.0.0.1",
        )
        .stdout_has("none made")
        .stderr_empty();
    sb.reset();
}

#[test]
fn an_allow_list_option_never_saved_is_created_and_rollback_removes_it() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    // A site whose admin never saved LLAR's settings has no allow-list option at all.
    sb.sql("DELETE FROM wp_options WHERE option_name = 'limit_login_whitelist'");
    let llar = "SELECT option_name, HEX(option_value), autoload FROM wp_options \
                WHERE option_name LIKE 'limit\\_login\\_%' ORDER BY option_name";
    let before = sb.sql(llar);
    let state = tempfile::tempdir().unwrap();
    for protocol in PROTOCOLS {
        let what = format!("{protocol:?}");
        Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["unlock"])
            .target()
            .locked_out()
            .login()
            .args(["--yes"])
            .state(&state)
            .run()
            .status(0)
            .stdout_has("insert into table options the row option_name=limit_login_whitelist")
            .stdout_has("unlocked:");
        let allowed = sb
            .sql("SELECT option_value FROM wp_options WHERE option_name = 'limit_login_whitelist'");
        assert!(allowed.contains("127.0.0.1"), "{what}: {allowed}");
        Test::rollback(&sb, protocol, &state)
            .note(&what)
            .run()
            .status(0)
            .stdout_has(
                "delete the inserted row option_name=limit_login_whitelist of table options",
            );
        assert_eq!(sb.sql(llar), before, "{what}: the options are as they were");
    }
    sb.reset();
}
