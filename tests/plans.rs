//! The other change-making commands against the sandbox: `plan -o FILE` / `apply FILE` (a
//! saved plan applies only to the site it fingerprinted), `run PLAYBOOK` with `--check` and
//! `--diff`, user playbooks with `backup` and `http_check` steps, and `unlock --json`.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{Protocol, Sandbox, contents};
use crate::test::Test;

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];

#[test]
fn a_saved_plan_applies_only_while_the_site_is_as_fingerprinted() {
    let sb = Sandbox::lock();
    let url = sb.env("SANDBOX_HTTP_URL");
    for protocol in PROTOCOLS {
        let what = format!("{protocol:?}");
        sb.scenario("htaccess-basic-auth");
        let before = contents(&sb.docroot());
        let state = tempfile::tempdir().unwrap();
        let file = state.path().join("unlock.plan");
        let file = file.to_str().unwrap();
        let plan = || {
            Test::new(&sb)
                .note(&what)
                .over(protocol)
                .args(["plan"])
                .target()
                .args(["--url", &url, "-o", file])
                .state(&state)
                .run()
        };
        let apply = || {
            Test::new(&sb)
                .note(&what)
                .over(protocol)
                .args(["apply", file, "--yes"])
                .state(&state)
                .run()
        };

        plan().status(2).stdout_has("wprescue apply").stderr_empty();
        assert!(
            contents(&sb.docroot()) == before,
            "{what}: plan changed files"
        );
        let saved = std::fs::read_to_string(file).unwrap();
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{what}");
        for secret in [
            "SANDBOX_DB_PASSWORD",
            "SANDBOX_PASSWORD",
            "SANDBOX_WP_PASSWORD",
        ] {
            assert!(
                !saved.contains(&sb.env(secret)),
                "{what}: {secret} in the plan"
            );
        }
        assert!(
            saved.contains("\"sha256\"") && saved.contains("\"mtime\""),
            "{saved}"
        );

        // A plan names where to connect with the user's credentials: without --yes (and no
        // terminal to ask on) apply says what the file holds and refuses before connecting,
        // even to a host that would never answer.
        let mut elsewhere: serde_json::Value = serde_json::from_str(&saved).unwrap();
        elsewhere["target"] = "ssh://nobody@192.0.2.1:22/site".into();
        let elsewhere_file = state.path().join("elsewhere.json");
        std::fs::write(&elsewhere_file, elsewhere.to_string()).unwrap();
        Test::new(&sb)
            .note(&what)
            .args(["apply", elsewhere_file.to_str().unwrap()])
            .state(&state)
            .run()
            .status(1)
            .stdout_has("change(s) in")
            .stderr_has("without confirmation")
            .stderr_has("--yes")
            .stderr_lacks("192.0.2.1:22: ");

        // Someone edits .htaccess between plan and apply: the plan is stale.
        let htaccess = sb.docroot().join(".htaccess");
        let mut text = std::fs::read(&htaccess).unwrap();
        text.extend_from_slice(b"# edited by hand\n");
        std::fs::write(&htaccess, &text).unwrap();
        let edited = contents(&sb.docroot());
        apply()
            .status(1)
            .stderr_has("the plan is stale: public_html/.htaccess")
            .stderr_has("make a new plan");
        assert!(
            contents(&sb.docroot()) == edited,
            "{what}: a stale apply wrote"
        );

        // A fresh plan applies, and lets the admin in.
        plan().status(2).stderr_empty();
        apply().status(0).stdout_has("unlocked:").stderr_empty();
        assert_eq!(sb.get_locked("/wp-login.php").status, 200, "{what}");

        Test::rollback(&sb, protocol, &state)
            .note(&what)
            .run()
            .status(0)
            .stderr_empty();
        assert!(
            contents(&sb.docroot()) == edited,
            "{what}: rollback not byte-identical"
        );
    }
    sb.reset();
}

#[test]
fn run_check_changes_nothing_and_run_applies_one_playbook() {
    let sb = Sandbox::lock();
    for protocol in PROTOCOLS {
        let what = format!("{protocol:?}");
        sb.scenario("wordfence-block");
        let before = contents(&sb.docroot());
        let state = tempfile::tempdir().unwrap();

        Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["run", "wordfence"])
            .target()
            .args(["--check", "--diff"])
            .state(&state)
            .run()
            .status(2)
            .stdout_has("rename public_html/wp-content/plugins/wordfence -> ")
            .stdout_has("none made")
            .stderr_empty();
        assert!(
            contents(&sb.docroot()) == before,
            "{what}: --check changed files"
        );
        assert!(
            !state.path().join("runs").exists(),
            "{what}: --check journals nothing"
        );

        Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["run", "wordfence", "--yes"])
            .target()
            .state(&state)
            .run()
            .status(0)
            .stdout_has("recap: ok=0 changed=1 failed=0")
            .stderr_empty();
        assert_ne!(sb.get_locked("/").status, 503, "{what}: still blocked");

        Test::rollback(&sb, protocol, &state)
            .note(&what)
            .run()
            .status(0)
            .stderr_empty();
        assert!(
            contents(&sb.docroot()) == before,
            "{what}: not byte-identical"
        );
    }
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["run", "wordfense"])
        .target()
        .run()
        .status(1)
        .stderr_has("no built-in playbook \"wordfense\"")
        .stderr_has("wordfence");
    sb.reset();
}

/// A user playbook: back up wp-config.php, mark .htaccess, then check the login page.
fn user_playbook(dir: &std::path::Path, expect: &str) -> String {
    let path = dir.join("mine.yaml");
    std::fs::write(
        &path,
        format!(
            "name: mine\ndescription: a test playbook\nsteps:\n  - backup: {{path: wp-config.php}}\n  - edit: {{path: .htaccess, pattern: '\\A', replace: \"# touched by {{run_id}}\\n\"}}\n  - http_check: {{path: /wp-login.php, status: 200, contains: [{expect:?}]}}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_user_playbook_backs_up_into_the_journal_and_a_failed_http_check_rolls_back() {
    let sb = Sandbox::lock();
    sb.scenario("clean");
    let url = sb.env("SANDBOX_HTTP_URL");
    let before = contents(&sb.docroot());
    let state = tempfile::tempdir().unwrap();

    let failing = user_playbook(state.path(), "text that is not on the page");
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["run", "--yes", &failing])
        .target()
        .args(["--url", &url])
        .state(&state)
        .run()
        .status(1)
        .stdout_has("does not show \"text that is not on the page\"")
        .stdout_has("rolled back: 1 change(s) undone")
        .stdout_has("failed=1")
        .stderr_has("does not show \"text that is not on the page\"");
    assert!(
        contents(&sb.docroot()) == before,
        "not byte-identical after the failed check"
    );

    let passing = user_playbook(state.path(), "user_login");
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["run", "--yes", &passing])
        .target()
        .args(["--url", &url, "--diff"])
        .state(&state)
        .run()
        .status(0)
        .stdout_has("+# touched by ")
        .stdout_has("recap: ok=2 changed=1 failed=0")
        .stderr_empty();
    // The backup is in the journal, private, and byte-identical to wp-config.php.
    let config = std::fs::read(sb.docroot().join("wp-config.php")).unwrap();
    let blobs: Vec<_> = std::fs::read_dir(state.path().join("runs"))
        .unwrap()
        .flat_map(|run| std::fs::read_dir(run.unwrap().path().join("blobs")).unwrap())
        .map(|b| b.unwrap().path())
        .collect();
    let backup = blobs
        .iter()
        .find(|b| std::fs::read(b).unwrap() == config)
        .expect("wp-config.php backed up into the journal");
    assert_eq!(
        std::fs::metadata(backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["rollback", "--yes"])
        .target()
        .state(&state)
        .run()
        .status(0)
        .stderr_empty();
    assert!(
        contents(&sb.docroot()) == before,
        "rollback not byte-identical"
    );
    sb.reset();
}

#[test]
fn unlock_json_is_one_document_on_stdout() {
    let sb = Sandbox::lock();
    sb.scenario("broken-htaccess");
    let url = sb.env("SANDBOX_HTTP_URL");
    let state = tempfile::tempdir().unwrap();
    let unlock = |args: [&str; 2]| {
        Test::new(&sb)
            .over(Protocol::Ftp)
            .args(["unlock"])
            .target()
            .args(["--url", &url])
            .args(args)
            .state(&state)
            .run()
    };

    // Human lines go to stderr.
    let doc = unlock(["--dry-run", "--json"])
        .status(2)
        .stderr_has("plan:")
        .json();
    assert_eq!(doc["outcome"], "planned");
    assert_eq!(doc["cause"], "server-error");
    // Rung 1 comments out the refused line; rung 2 (set the file aside, write the default,
    // and say what that drops) runs only if rung 1 does not help.
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 4, "{doc}");
    assert_eq!(changes[0]["playbook"], "broken-htaccess-lines", "{doc}");
    assert_eq!(changes[3]["playbook"], "broken-htaccess", "{doc}");

    let doc = unlock(["--yes", "--json"])
        .status(0)
        .stderr_has("unlocked:")
        .json();
    assert_eq!(doc["outcome"], "unlocked", "{doc}");
    assert_eq!(doc["recap"]["changed"], 1, "rung 1 is enough: {doc}");
    let run_id = doc["run_id"].as_str().unwrap();
    assert!(
        doc["undo"]
            .as_str()
            .unwrap()
            .contains(&format!("--run {run_id}")),
        "{doc}"
    );
    sb.reset();
}

#[test]
fn a_saved_plan_of_database_changes_is_refused_once_a_row_changed() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let options = "SELECT option_name, HEX(option_value) FROM wp_options \
                   WHERE option_name LIKE 'limit\\_login\\_%' ORDER BY option_name";
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("llar.plan");
    let file = file.to_str().unwrap();
    let plan = || {
        Test::new(&sb)
            .over(Protocol::Ftp)
            .args(["plan"])
            .target()
            .locked_out()
            .login()
            .args(["-o", file])
            .state(&state)
            .run()
    };
    let apply = || {
        Test::new(&sb)
            .over(Protocol::Ftp)
            .args(["apply", file, "--yes"])
            .state(&state)
            .env("WPRESCUE_LOGIN_PASSWORD", sb.env("SANDBOX_WP_PASSWORD"))
            .run()
    };

    plan().status(2).stderr_empty();
    let saved = std::fs::read_to_string(file).unwrap();
    assert!(saved.contains(&format!("\"ip\": \"{locked}\"")), "{saved}");

    // Another failed login from the other address changes a counter the plan rewrites.
    sb.sql(
        "UPDATE wp_options SET option_value = REPLACE(option_value, 'i:4;', 'i:5;') \
         WHERE option_name = 'limit_login_retries'",
    );
    let before = sb.sql(options);
    apply()
        .status(1)
        .stderr_has("the plan is stale")
        .stderr_has("other changes than the saved plan");
    assert_eq!(sb.sql(options), before, "a stale plan changed rows");

    plan().status(2).stderr_empty();
    apply().status(0).stderr_empty();
    assert!(
        sb.comes_to(&locked, true, true),
        "still locked out after apply"
    );
    Test::new(&sb)
        .over(Protocol::Ftp)
        .args(["rollback", "--yes"])
        .target()
        .state(&state)
        .env("WPRESCUE_LOGIN_PASSWORD", sb.env("SANDBOX_WP_PASSWORD"))
        .run()
        .status(0)
        .stderr_empty();
    assert_eq!(
        sb.sql(options),
        before,
        "rollback did not restore the rows exactly"
    );
    sb.reset();
}
