//! `wprescue unlock` and `wprescue rollback` against every lockout scenario, over SFTP and
//! over FTP: the dry run changes nothing, unlock lets the locked address in (it could not get
//! in before), and a rollback from a fresh process restores the docroot byte for byte, lockout
//! included. A run killed mid-way (by the test-only fault hook) is rolled back by a fresh
//! process; the read-only plan is checked through the library with a counting transport.

use wprescue::engine::{self, Access, Journal, Rung, Vars};
use wprescue::playbook::{Playbook, Playbooks};
use wprescue::transport::RemotePath;

use crate::harness::{Counting, Protocol, Sandbox, contents};

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];

/// Limit Login Attempts Reloaded's options, as `mariadb -B` prints them.
const LLAR_STATE: &str = "SELECT option_name, HEX(option_value), autoload FROM wp_options \
                          WHERE option_name LIKE 'limit\\_login\\_%' ORDER BY option_name";

/// Scenarios `unlock` must fix, and whether the lockout only shows on a real login.
const SCENARIOS: [(&str, bool); 10] = [
    ("wordfence-block", false),
    ("solid-lockout", false),
    ("aios-blacklist", false),
    ("aios-login-lockdown", false),
    ("llar-lockout", true),
    // Its form answers 200 even while it refuses the address: only a login tells.
    ("loginizer-lockout", true),
    ("wps-hide-login", false),
    ("htaccess-basic-auth", false),
    ("broken-htaccess", false),
    ("orphan-prepend", false),
];

#[test]
fn every_lockout_is_unlocked_and_rolled_back_byte_for_byte() {
    let sb = Sandbox::lock();
    let docroot = sb.docroot();
    let locked = sb.env("SANDBOX_LOCKED_IP");
    for protocol in PROTOCOLS {
        for (scenario, login) in SCENARIOS {
            let what = format!("{scenario} over {protocol:?}");
            sb.scenario(scenario);
            let state = tempfile::tempdir().unwrap();
            let state = state.path().to_str().unwrap().to_owned();
            let before = contents(&docroot);
            assert!(
                sb.comes_to(&locked, login, false),
                "{what}: locked out to begin with"
            );

            let dry = sb.unlock(protocol, &state, login, "--dry-run");
            assert_eq!(dry.status, 2, "{what}: {dry:?}");
            assert!(
                dry.stdout.contains("plan:") && dry.stdout.contains("none made"),
                "{what}: {dry:?}"
            );
            assert!(
                contents(&docroot) == before,
                "{what}: the dry run changed the docroot"
            );

            let run = sb.unlock(protocol, &state, login, "--yes");
            assert_eq!(run.status, 0, "{what}: {run:?}");
            assert!(run.stdout.contains("unlocked:"), "{what}: {run:?}");
            assert!(
                sb.comes_to(&locked, login, true),
                "{what}: still locked out after unlock"
            );

            let env = [("WPRESCUE_STATE_DIR", state.clone())];
            let back = sb.wprescue_with_env(protocol, &["rollback"], &env);
            assert_eq!(back.status, 0, "{what}: {back:?}");
            assert!(
                contents(&docroot) == before,
                "{what}: rollback is not byte-identical"
            );
            assert!(
                sb.comes_to(&locked, login, false),
                "{what}: the lockout is back after rollback"
            );

            let history = sb.wprescue_plain(&["history"], &env);
            let counts = |key: &str| {
                let at = history
                    .stdout
                    .find(key)
                    .unwrap_or_else(|| panic!("{what}: {history:?}"));
                history.stdout[at + key.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            };
            assert_eq!(
                history.stdout.lines().count(),
                1,
                "{what}: one run: {history:?}"
            );
            assert!(
                counts("changed=") > 0 && counts("changed=") == counts("undone="),
                "{what}: {history:?}"
            );

            let again = sb.wprescue_with_env(protocol, &["rollback"], &env);
            assert!(
                again.stdout.contains("0 change(s) undone"),
                "{what}: rollback is idempotent: {again:?}"
            );
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
        plugin_folder: None,
        ip: None,
    }
}

#[test]
fn a_run_killed_after_any_step_is_rolled_back_by_a_fresh_process() {
    let sb = Sandbox::lock();
    let steps = builtin("broken-htaccess").steps.len();
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
            let env = [
                ("WPRESCUE_STATE_DIR", state_dir.clone()),
                ("WPRESCUE_TEST_FAULT", fault),
            ];
            let died = sb.wprescue_with_env(protocol, &["unlock", "--url", &url, "--yes"], &env);
            assert_ne!(died.status, 0, "{what}: the fault hook killed it: {died:?}");
            assert!(
                sb.docroot().join(".ht.wprescue.lock").exists(),
                "{what}: the dead run left its lock"
            );

            let env = [("WPRESCUE_STATE_DIR", state_dir)];
            let back = sb.wprescue_with_env(protocol, &["rollback"], &env);
            assert_eq!(back.status, 0, "{what}: {back:?}");
            assert!(
                back.stdout
                    .contains(&format!("{killed_after} change(s) undone"))
                    && back.stdout.contains("removed the lock"),
                "{what}: {back:?}"
            );
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
        assert_eq!(counting.mutations, 0, "{protocol:?}");
        assert!(
            counting.reads > 0,
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
        let changes: Vec<_> = plan.iter().map(|p| p.change.clone()).collect();
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
    let run = sb.unlock(
        Protocol::Ftp,
        state.path().to_str().unwrap(),
        false,
        "--yes",
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.contains("nothing to unlock"), "{run:?}");
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
    for protocol in PROTOCOLS {
        let run = sb.unlock(protocol, state.path().to_str().unwrap(), false, "--yes");
        assert_eq!(run.status, 1, "{protocol:?}: {run:?}");
        assert!(
            run.stderr
                .contains("1795000000-other is changing this site"),
            "{run:?}"
        );
        assert!(
            contents(&sb.docroot()) == before,
            "{protocol:?}: the refused run changed files"
        );
    }
    // An abandoned lock (its run died long ago) is taken over, and released at the end.
    std::fs::write(&lock, "1795000000-dead 1795000000\n").unwrap();
    let run = sb.unlock(
        Protocol::Ftp,
        state.path().to_str().unwrap(),
        false,
        "--yes",
    );
    assert_eq!(run.status, 0, "{run:?}");
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
    let url = sb.env("SANDBOX_HTTP_URL");
    let locked = sb.env("SANDBOX_LOCKED_IP");
    // The lockout answers every login alike, so diagnose names it; but with a wrong
    // password no fix can log the admin in, and verification must say so.
    let env = [
        (
            "WPRESCUE_STATE_DIR",
            state.path().to_str().unwrap().to_owned(),
        ),
        ("WPRESCUE_LOGIN_PASSWORD", "not-the-password".to_owned()),
    ];
    let args = [
        "unlock", "--url", &url, "--bind", &locked, "--login", "admin", "--yes",
    ];
    let run = sb.wprescue_with_env(Protocol::Ftp, &args, &env);
    assert_eq!(run.status, 3, "{run:?}");
    assert!(
        run.stdout
            .contains("not unlocked: the site still refuses; rolling back"),
        "{run:?}"
    );
    // Both rungs were tried (the allow-list, then the rename), and both undone.
    assert!(
        run.stdout
            .contains("applied limit-login-attempts-reloaded-allowlist")
            && run
                .stdout
                .contains("applied limit-login-attempts-reloaded (")
            && run.stdout.contains("rolled back: 5 change(s) undone"),
        "{run:?}"
    );
    assert!(
        contents(&sb.docroot()) == before,
        "not byte-identical after the automatic rollback"
    );
    assert_eq!(sb.sql(LLAR_STATE), options, "options not restored exactly");
    assert!(
        sb.helper_leftovers().is_empty(),
        "the helper outlived a failed run"
    );
    assert!(!run.stdout.contains("not-the-password") && !run.stderr.contains("not-the-password"));
    sb.reset();
}
