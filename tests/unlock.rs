//! `wprescue unlock` and `wprescue rollback` against every lockout scenario, over SFTP and
//! over FTP: the dry run changes nothing, unlock lets the locked address in (it could not get
//! in before), and a rollback from a fresh process restores the docroot byte for byte, lockout
//! included. A run killed mid-way (by the test-only fault hook) is rolled back by a fresh
//! process; the read-only plan is checked through the library with a counting transport.

use wprescue::engine::{
    self, Access, Climb, Examine, Journal, Quiet, Rung, Session, SessionSpec, Step, Vars,
};
use wprescue::playbook::{Playbook, Playbooks};
use wprescue::site::InvestigateOptions;
use wprescue::transport::RemotePath;
use wprescue::transport::{ConnectOptions, Faulty, Transport};

use crate::harness::{Protocol, Sandbox, contents};
use crate::test::Test;
use wprescue::transport::Counting;

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];

/// Limit Login Attempts Reloaded's options, as `mariadb -B` prints them.
const LLAR_STATE: &str = "SELECT option_name, HEX(option_value), autoload FROM wp_options \
                          WHERE option_name LIKE 'limit\\_login\\_%' ORDER BY option_name";

/// Whether a scenario's lockout only shows on a real login.
const LOGIN: bool = true;
const GET: bool = false;
/// Whether it refuses addresses one by one (a fix for the caller must leave the other locked
/// address out), or the whole site.
const PER_ADDRESS: bool = true;
const EVERYONE: bool = false;

/// Scenarios `unlock` must fix.
const SCENARIOS: [(&str, bool, bool); 15] = [
    ("wordfence-block", GET, PER_ADDRESS),
    ("solid-lockout", GET, PER_ADDRESS),
    ("aios-blacklist", GET, PER_ADDRESS),
    ("aios-login-lockdown", GET, PER_ADDRESS),
    ("llar-lockout", LOGIN, PER_ADDRESS),
    // Its form answers 200 even while it refuses the address: only a login tells.
    ("loginizer-lockout", LOGIN, PER_ADDRESS),
    ("jetpack-protect", GET, PER_ADDRESS),
    ("htaccess-basic-auth", GET, EVERYONE),
    ("broken-htaccess", GET, EVERYONE),
    ("orphan-prepend", GET, EVERYONE),
    ("orphan-prepend-line", GET, EVERYONE),
    ("stuck-maintenance", GET, EVERYONE),
    ("wrong-site-address", GET, EVERYONE),
    ("wrong-site-address-config", GET, EVERYONE),
    ("ninjafirewall-lockout", GET, EVERYONE),
];

/// A moved login page is answered by telling the admin where it is: nothing changes, so the
/// login page stays hidden from everyone else. Putting `wp-login.php` back is the next rung,
/// run on request (`run wps-hide-login`), and rolled back like any other.
#[test]
fn a_moved_login_page_is_told_and_nothing_changes() {
    let sb = Sandbox::lock();
    let docroot = sb.docroot();
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let login_url = sb.url("/secret-door/");
    for protocol in PROTOCOLS {
        let what = format!("wps-hide-login over {protocol:?}");
        sb.scenario("wps-hide-login");
        let state = tempfile::tempdir().unwrap();
        let before = contents(&docroot);
        let unlock = Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["unlock"])
            .target()
            .locked_out()
            .args(["--yes", "--json"])
            .login()
            .state(state.path())
            .run()
            .status(0)
            .stderr_has(format!("unlocked: the login page is at {login_url}: log in there (a real login succeeded); nothing was changed"))
            .stderr_has(format!(
                "to put the default login page back instead: wprescue run wps-hide-login {} --url {}",
                sb.target(protocol),
                sb.env("SANDBOX_HTTP_URL")
            ));
        let json = unlock.json();
        assert_eq!(json["login_url"], login_url.as_str(), "{what}: {json:#}");
        assert_eq!(json["recap"]["changed"], 0, "{what}: {json:#}");
        assert!(json["undo"].is_null(), "{what}: nothing to undo: {json:#}");
        assert!(contents(&docroot) == before, "{what}: the docroot changed");
        assert_eq!(
            sb.get_from(&locked, "/wp-login.php").status,
            404,
            "{what}: wp-login.php stays hidden"
        );

        // On request, the default comes back; a rollback hides it again, byte for byte.
        Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["run", "wps-hide-login"])
            .target()
            .args(["--yes"])
            .state(state.path())
            .run()
            .status(0);
        assert!(
            sb.comes_to(&locked, false, true),
            "{what}: wp-login.php is back"
        );
        Test::rollback(&sb, protocol, state.path())
            .note(&what)
            .run()
            .status(0);
        assert!(
            contents(&docroot) == before,
            "{what}: rollback is not byte-identical"
        );
        assert!(sb.comes_to(&locked, false, false), "{what}: hidden again");
    }
    sb.reset();
}

#[test]
fn every_lockout_is_unlocked_and_rolled_back_byte_for_byte() {
    let sb = Sandbox::lock();
    let docroot = sb.docroot();
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let other = sb.env("SANDBOX_OTHER_LOCKED_IP");
    for protocol in PROTOCOLS {
        for (scenario, login, per_address) in SCENARIOS {
            let what = format!("{scenario} over {protocol:?}");
            sb.scenario(scenario);
            let state = tempfile::tempdir().unwrap();
            let state = state.path().to_str().unwrap().to_owned();
            let before = contents(&docroot);
            assert!(
                sb.comes_to(&locked, login, false),
                "{what}: locked out to begin with"
            );

            // From the locked address, with a real login as the admin where the lockout only
            // shows on one.
            let unlock = |extra: &str| {
                Test::unlock(&sb, protocol, &state)
                    .note(&what)
                    .args([extra])
                    .login_if(login)
                    .run()
            };
            let rollback = || Test::rollback(&sb, protocol, &state).note(&what).run();

            unlock("--dry-run")
                .status(2)
                .stdout_has("plan:")
                .stdout_has("none made")
                .stderr_empty();
            assert!(
                contents(&docroot) == before,
                "{what}: the dry run changed the docroot"
            );

            unlock("--yes")
                .status(0)
                .stdout_has("unlocked:")
                // SFTP and FTP run the helper through the web server, here over plain http.
                .stdout_has("the site is plain http://")
                .stderr_empty();
            assert!(
                sb.comes_to(&locked, login, true),
                "{what}: still locked out after unlock"
            );
            if per_address {
                assert!(
                    sb.comes_to(&other, login, false),
                    "{what}: the other locked address got in too"
                );
            }

            rollback().status(0).stderr_empty();
            assert!(
                contents(&docroot) == before,
                "{what}: rollback is not byte-identical"
            );
            assert!(
                sb.comes_to(&locked, login, false),
                "{what}: the lockout is back after rollback"
            );

            let history = Test::new(&sb)
                .note(&what)
                .args(["history"])
                .state(&state)
                .run()
                .stderr_empty();
            let counts = |key: &str| {
                let at = history
                    .stdout
                    .find(key)
                    .unwrap_or_else(|| panic!("expected {key:?} on stdout\n{history}"));
                history.stdout[at + key.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            };
            assert_eq!(history.stdout.lines().count(), 1, "one run:\n{history}");
            assert!(
                counts("changed=") > 0 && counts("changed=") == counts("undone="),
                "{history}"
            );

            // Rollback is idempotent.
            rollback().stdout_has("0 change(s) undone").stderr_empty();
        }
    }
    sb.reset();
}

/// A built-in playbook by name.
fn builtin(name: &str) -> Playbook {
    let playbooks = Playbooks::builtin().unwrap();
    playbooks.iter().find(|p| p.name == name).unwrap().clone()
}

/// Template values for a fresh run on the sandbox site.
fn site_vars() -> Vars {
    Vars {
        run_id: Journal::new_run_id(),
        wp_root: RemotePath::new("public_html").unwrap(),
        ..Vars::default()
    }
}

#[test]
fn a_run_killed_after_any_step_is_rolled_back_by_a_fresh_process() {
    let sb = Sandbox::lock();
    // The set-aside rung, run on its own: a rename and a write, each journalled (its note
    // changes nothing).
    let steps = builtin("broken-htaccess")
        .steps
        .iter()
        .filter(|s| !matches!(s, Step::NoteSetAside { .. }))
        .count();
    assert_eq!(steps, 2);
    for protocol in PROTOCOLS {
        for killed_after in 0..=steps {
            let what = format!("{protocol:?}, killed after step {killed_after}");
            sb.scenario("broken-htaccess");
            let before = contents(&sb.docroot());
            let state = tempfile::tempdir().unwrap();
            let state_dir = state.path().to_str().unwrap().to_owned();
            // The test-only hook kills the real binary: after it took the site lock, or right
            // after journalling change k as done.
            let fault = match killed_after {
                0 => "locked:abort".to_owned(),
                k => format!("applied:{}:abort", k - 1),
            };
            let url = sb.env("SANDBOX_HTTP_URL");
            Test::new(&sb)
                .note(&what)
                .over(protocol)
                .args(["run", "broken-htaccess"])
                .target()
                .args(["--url", &url, "--yes"])
                .state(&state_dir)
                .env("WPRESCUE_TEST_FAULT", fault)
                .run()
                .fails()
                .stderr_has("wprescue: test fault at ");
            assert!(
                sb.docroot().join(".ht.wprescue.lock").exists(),
                "{what}: the dead run left its lock"
            );

            Test::rollback(&sb, protocol, &state_dir)
                .note(&what)
                .run()
                .status(0)
                .stdout_has(format!("{killed_after} change(s) undone"))
                .stdout_has("removed the lock")
                .stderr_empty();
            assert!(
                contents(&sb.docroot()) == before,
                "{what}: not byte-identical (lock file included)"
            );
        }
    }
    sb.reset();
}

#[test]
fn planning_makes_no_mutating_calls_and_a_stale_plan_is_refused() {
    let sb = Sandbox::lock();
    let playbook = builtin("apache-basic-auth");
    sb.scenario("htaccess-basic-auth");
    for protocol in PROTOCOLS {
        let mut t = sb.connect(protocol);
        let vars = site_vars();
        let mut counting = Counting::new(t.as_mut());
        let rung = Rung {
            playbook: playbook.name.clone(),
            steps: playbook.steps.clone(),
            vars: vars.clone(),
        };
        let plan = engine::plan(&mut Access::files(&mut counting), &[rung]).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(counting.mutations(), 0, "{protocol:?}");
        assert!(
            counting.reads() > 0,
            "{protocol:?}: planning reads the live site"
        );

        // Someone edits the file between plan and apply.
        let htaccess = sb.docroot().join(".htaccess");
        let mut text = std::fs::read_to_string(&htaccess).unwrap();
        text.push_str("# edited by hand\n");
        std::fs::write(&htaccess, &text).unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut journal =
            Journal::create(state.path(), &vars.run_id, t.origin(), t.root(), vec![]).unwrap();
        let changes: Vec<_> = plan.iter().map(|p| p.action.clone()).collect();
        let mut access = Access::files(t.as_mut());
        let err = engine::apply(&mut access, &mut journal, &changes).unwrap_err();
        assert!(
            err.to_string().contains("the plan is stale"),
            "{protocol:?}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&htaccess).unwrap(),
            text,
            "nothing written"
        );
        sb.scenario("htaccess-basic-auth");
    }
    sb.reset();
}

#[test]
fn nothing_to_unlock_on_a_clean_site() {
    let sb = Sandbox::lock();
    sb.scenario("clean");
    let state = tempfile::tempdir().unwrap();
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["unlock"])
        .target()
        .locked_out()
        .args(["--yes"])
        .state(&state)
        .run()
        .status(0)
        .stdout_has("nothing to unlock")
        .stderr_empty();
    assert!(
        !state.path().join("runs").exists(),
        "no run journal for a run that changes nothing"
    );
}

#[test]
fn a_second_run_on_the_same_site_is_refused_while_the_first_holds_the_lock() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    // Another run took the lock a moment ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lock = sb.docroot().join(".ht.wprescue.lock");
    std::fs::write(&lock, format!("1795000000-other {now}\n")).unwrap();
    let before = contents(&sb.docroot());
    let state = tempfile::tempdir().unwrap();
    let unlock = |protocol| {
        Test::new(&sb)
            .over(protocol)
            .args(["unlock"])
            .target()
            .locked_out()
            .args(["--yes"])
            .state(&state)
            .run()
    };
    for protocol in PROTOCOLS {
        unlock(protocol)
            .status(1)
            .stderr_has("1795000000-other is changing this site");
        assert!(
            contents(&sb.docroot()) == before,
            "{protocol:?}: the refused run changed files"
        );
    }
    // An abandoned lock (its run died long ago) is taken over, and released at the end.
    std::fs::write(&lock, "1795000000-dead 1795000000\n").unwrap();
    unlock(Protocol::Ftp).status(0).stderr_empty();
    assert!(!lock.exists(), "the lock is released");
    sb.reset();
}

#[test]
fn a_fix_that_does_not_let_the_admin_in_is_rolled_back() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    let before = contents(&sb.docroot());
    let options = sb.sql(LLAR_STATE);
    let state = tempfile::tempdir().unwrap();
    // The lockout answers every login alike, so diagnose names it; but with a wrong
    // password no fix can log the admin in, and verification must say so.
    let run = Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["unlock"])
        .target()
        .locked_out()
        .args(["--login", "admin", "--yes"])
        .state(&state)
        .env("WPRESCUE_LOGIN_PASSWORD", "not-the-password")
        .run()
        .status(3)
        // Both rungs were tried (the allow-list, then the rename), each undone before what
        // came next.
        .stdout_has("applied limit-login-attempts-reloaded-allowlist")
        .stdout_has(
            "not yet: the site still refuses after limit-login-attempts-reloaded-allowlist; undoing it",
        )
        .stdout_has("rolled back: 4 change(s) undone")
        .stdout_has("applied limit-login-attempts-reloaded (")
        .stdout_has("not unlocked: the site still refuses; rolling back")
        .stdout_has("rolled back: 1 change(s) undone")
        .stdout_has("changed=5 failed=2 undone=5");
    assert!(
        contents(&sb.docroot()) == before,
        "not byte-identical after the automatic rollback"
    );
    assert_eq!(sb.sql(LLAR_STATE), options, "options not restored exactly");
    assert!(
        sb.helper_leftovers().is_empty(),
        "the helper outlived a failed run"
    );
    run.stdout_lacks("not-the-password")
        .stderr_lacks("not-the-password");
    sb.reset();
}

#[test]
fn a_broken_htaccess_keeps_the_users_other_rules() {
    let sb = Sandbox::lock();
    let htaccess = sb.docroot().join(".htaccess");
    for protocol in PROTOCOLS {
        let what = format!("{protocol:?}");
        sb.scenario("broken-htaccess");
        let before = std::fs::read_to_string(&htaccess).unwrap();
        let site = contents(&sb.docroot());
        let state = tempfile::tempdir().unwrap();
        Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["unlock"])
            .target()
            .locked_out()
            .args(["--yes"])
            .state(&state)
            .run()
            .status(0)
            .stdout_has("rung 1: broken-htaccess-lines")
            .stdout_has("rung 2, only if rung 1 does not let you in: broken-htaccess")
            .stdout_has(
                "note: public_html/.htaccess is set aside whole, with the blocks Browser caching",
            )
            .stdout_has("unlocked:");
        // Only the refused line is commented out; caching and WordPress's rules stay.
        let after = std::fs::read_to_string(&htaccess).unwrap();
        let changed: Vec<(&str, &str)> = before
            .lines()
            .zip(after.lines())
            .filter(|(b, a)| b != a)
            .collect();
        assert_eq!(changed.len(), 1, "{what}: {after}");
        assert!(
            changed[0].1.starts_with("# wprescue-")
                && changed[0]
                    .1
                    .ends_with(": ExpiresDefualt \"access plus 1 month\""),
            "{what}: {changed:?}"
        );
        assert_eq!(before.lines().count(), after.lines().count(), "{what}");
        Test::rollback(&sb, protocol, &state)
            .note(&what)
            .run()
            .status(0)
            .stdout_has("restore public_html/.htaccess");
        assert!(
            contents(&sb.docroot()) == site,
            "{what}: not byte-identical"
        );
    }
    sb.reset();
}

#[test]
fn a_connection_dropped_mid_run_leaves_a_journal_that_rollback_restores() {
    let sb = Sandbox::lock();
    let playbooks = Playbooks::builtin().unwrap();
    let rung = builtin("broken-htaccess");
    for protocol in PROTOCOLS {
        let what = format!("{protocol:?}");
        sb.scenario("broken-htaccess");
        let site = contents(&sb.docroot());
        let state = tempfile::tempdir().unwrap();
        let spec = SessionSpec {
            target: sb.target(protocol),
            jump: None,
            connect: ConnectOptions::default(),
            interactive: false,
            examine: Examine::Survey,
            options: InvestigateOptions::default(),
            changes: false,
            helper: None,
            ip: None,
            // The journal goes where the binary's rollback below looks.
            state_dir: state.path().to_owned(),
        };
        // The connection drops after two changes: the lock and the rename go through, the
        // write of the default .htaccess does not.
        let faulty: Box<dyn Transport> = Box::new(Faulty::new(sb.connect(protocol), 2));
        let mut session = Session::over(faulty, spec, playbooks.catalog(), &mut Quiet).unwrap();
        let run_id = engine::new_run_id();
        let rungs = session
            .rungs(vec![rung.rung(session.inventory())], &run_id, &mut Quiet)
            .unwrap();
        let plan = session.plan(&rungs).unwrap();
        let names = [rung.name.clone()];
        let err = session
            .apply(&plan, &names, &run_id, Climb::Unverified, &mut Quiet)
            .unwrap_err();
        assert!(
            err.to_string().contains("the connection was closed"),
            "{what}: {err}"
        );
        assert!(
            contents(&sb.docroot()) != site,
            "{what}: the rename went through before the drop"
        );

        // A fresh process, on a fresh connection, puts everything back.
        Test::rollback(&sb, protocol, &state)
            .note(&what)
            .run()
            .status(0)
            .stdout_has(format!(
                "rename public_html/.htaccess.wprescue-{run_id} back"
            ))
            .stdout_has("removed the lock");
        assert!(
            contents(&sb.docroot()) == site,
            "{what}: not byte-identical"
        );
    }
    sb.reset();
}

/// An SFTP-only account (sshd's `ForceCommand internal-sftp`, chrooted) behind an `ssh://`
/// target: unlock notices that it runs no commands, says so, and reaches the database through
/// the helper over HTTP instead; a rollback from a fresh process does the same, byte for byte.
#[test]
fn an_sftp_only_account_gets_the_helper_over_http() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let docroot = sb.docroot();
    let before = contents(&docroot);
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let target = format!(
        "ssh://{}@{}:{}{}",
        sb.env("SANDBOX_SFTP_ONLY_USER"),
        sb.env("SANDBOX_SSH_HOST"),
        sb.env("SANDBOX_SSH_PORT"),
        sb.env("SANDBOX_SFTP_ONLY_HOME")
    );
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Test::new(&sb)
            .args(args)
            .args([
                target.as_str(),
                "--identity",
                &sb.env("SANDBOX_SSH_KEY"),
                "--known-hosts",
                &sb.env("SANDBOX_SSH_KNOWN_HOSTS"),
            ])
            .state(state.path())
            .run()
    };
    run(&[
        "unlock",
        "--yes",
        "--url",
        &sb.env("SANDBOX_HTTP_URL"),
        "--bind",
        &locked,
    ])
    .status(0)
    .stdout_has("this SSH account runs no commands (SFTP only)")
    .stdout_has("applied wordfence-allowlist");
    assert!(sb.comes_to(&locked, false, true), "still locked out");
    run(&["rollback", "--yes"]).status(0);
    assert!(
        contents(&docroot) == before,
        "rollback is not byte-identical"
    );
    assert!(sb.comes_to(&locked, false, false), "the lockout is back");
    sb.reset();
}
