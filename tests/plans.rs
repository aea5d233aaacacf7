//! The other change-making commands against the sandbox: `plan -o FILE` / `apply FILE` (a
//! saved plan applies only to the site it fingerprinted), `run PLAYBOOK` with `--check` and
//! `--diff`, user playbooks with `backup` and `http_check` steps, and `unlock --json`.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{Protocol, Sandbox, contents};

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];

fn state_env(state: &tempfile::TempDir) -> Vec<(&'static str, String)> {
    vec![(
        "WPRESCUE_STATE_DIR",
        state.path().to_str().unwrap().to_owned(),
    )]
}

#[test]
fn a_saved_plan_applies_only_while_the_site_is_as_fingerprinted() {
    let sb = Sandbox::lock();
    let url = sb.env("SANDBOX_HTTP_URL");
    for protocol in PROTOCOLS {
        let what = format!("{protocol:?}");
        sb.scenario("htaccess-basic-auth");
        let before = contents(&sb.docroot());
        let state = tempfile::tempdir().unwrap();
        let env = state_env(&state);
        let file = state.path().join("unlock.plan");
        let file = file.to_str().unwrap();

        let plan = sb.wprescue_with_env(protocol, &["plan", "--url", &url, "-o", file], &env);
        assert_eq!(plan.status, 2, "{what}: {plan:?}");
        assert!(plan.stdout.contains("wprescue apply"), "{what}: {plan:?}");
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

        // Someone edits .htaccess between plan and apply: the plan is stale.
        let htaccess = sb.docroot().join(".htaccess");
        let mut text = std::fs::read(&htaccess).unwrap();
        text.extend_from_slice(b"# edited by hand\n");
        std::fs::write(&htaccess, &text).unwrap();
        let edited = contents(&sb.docroot());
        let stale = sb.wprescue_connecting(protocol, &["apply", file], &env);
        assert_eq!(stale.status, 1, "{what}: {stale:?}");
        assert!(
            stale
                .stderr
                .contains("the plan is stale: public_html/.htaccess")
                && stale.stderr.contains("make a new plan"),
            "{what}: {stale:?}"
        );
        assert!(
            contents(&sb.docroot()) == edited,
            "{what}: a stale apply wrote"
        );

        // A fresh plan applies, and lets the admin in.
        let plan = sb.wprescue_with_env(protocol, &["plan", "--url", &url, "-o", file], &env);
        assert_eq!(plan.status, 2, "{what}: {plan:?}");
        let apply = sb.wprescue_connecting(protocol, &["apply", file], &env);
        assert_eq!(apply.status, 0, "{what}: {apply:?}");
        assert!(apply.stdout.contains("unlocked:"), "{what}: {apply:?}");
        assert_eq!(sb.get_locked("/wp-login.php").status, 200, "{what}");

        let back = sb.wprescue_with_env(protocol, &["rollback"], &env);
        assert_eq!(back.status, 0, "{what}: {back:?}");
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
        let env = state_env(&state);

        let target = sb.target(protocol);
        let check = sb.wprescue_connecting(
            protocol,
            &["run", "wordfence", &target, "--check", "--diff"],
            &env,
        );
        assert_eq!(check.status, 2, "{what}: {check:?}");
        assert!(
            check
                .stdout
                .contains("rename public_html/wp-content/plugins/wordfence -> ")
                && check.stdout.contains("none made"),
            "{what}: {check:?}"
        );
        assert!(
            contents(&sb.docroot()) == before,
            "{what}: --check changed files"
        );
        assert!(
            !state.path().join("runs").exists(),
            "{what}: --check journals nothing"
        );

        let run = sb.wprescue_connecting(protocol, &["run", "wordfence", &target], &env);
        assert_eq!(run.status, 0, "{what}: {run:?}");
        assert!(
            run.stdout.contains("recap: ok=0 changed=1 failed=0"),
            "{what}: {run:?}"
        );
        assert_ne!(sb.get_locked("/").status, 503, "{what}: still blocked");

        let back = sb.wprescue_with_env(protocol, &["rollback"], &env);
        assert_eq!(back.status, 0, "{what}: {back:?}");
        assert!(
            contents(&sb.docroot()) == before,
            "{what}: not byte-identical"
        );
    }
    let target = sb.target(Protocol::Ftp);
    let unknown = sb.wprescue_connecting(Protocol::Ftp, &["run", "wordfense", &target], &[]);
    assert_eq!(unknown.status, 1);
    assert!(
        unknown
            .stderr
            .contains("no built-in playbook \"wordfense\"")
            && unknown.stderr.contains("wordfence"),
        "{unknown:?}"
    );
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
    let env = state_env(&state);

    let failing = user_playbook(state.path(), "text that is not on the page");
    let ftp = sb.target(Protocol::Ftp);
    let run = sb.wprescue_connecting(Protocol::Ftp, &["run", &failing, &ftp, "--url", &url], &env);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("does not show \"text that is not on the page\"")
            && run.stdout.contains("rolled back: 1 change(s) undone")
            && run.stdout.contains("failed=1"),
        "{run:?}"
    );
    assert!(
        contents(&sb.docroot()) == before,
        "not byte-identical after the failed check"
    );

    let passing = user_playbook(state.path(), "user_login");
    let sftp = sb.target(Protocol::Sftp);
    let run = sb.wprescue_connecting(
        Protocol::Sftp,
        &["run", &passing, &sftp, "--url", &url, "--diff"],
        &env,
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert!(
        run.stdout.contains("+# touched by ")
            && run.stdout.contains("recap: ok=2 changed=1 failed=0"),
        "{run:?}"
    );
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
    let back = sb.wprescue_with_env(Protocol::Sftp, &["rollback"], &env);
    assert_eq!(back.status, 0, "{back:?}");
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
    let env = state_env(&state);
    let parse = |stdout: &str| -> serde_json::Value {
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };

    let dry = sb.wprescue_with_env(
        Protocol::Ftp,
        &["unlock", "--url", &url, "--dry-run", "--json"],
        &env,
    );
    assert_eq!(dry.status, 2, "{dry:?}");
    let doc = parse(&dry.stdout);
    assert_eq!(doc["outcome"], "planned");
    assert_eq!(doc["cause"], "server-error");
    assert_eq!(doc["changes"].as_array().unwrap().len(), 2, "{doc}");
    assert!(
        dry.stderr.contains("plan:"),
        "human lines go to stderr: {dry:?}"
    );

    let run = sb.wprescue_with_env(
        Protocol::Ftp,
        &["unlock", "--url", &url, "--yes", "--json"],
        &env,
    );
    assert_eq!(run.status, 0, "{run:?}");
    let doc = parse(&run.stdout);
    assert_eq!(doc["outcome"], "unlocked", "{doc}");
    assert_eq!(doc["recap"]["changed"], 2, "{doc}");
    let run_id = doc["run_id"].as_str().unwrap();
    assert!(
        doc["undo"]
            .as_str()
            .unwrap()
            .ends_with(&format!("--run {run_id}")),
        "{doc}"
    );
    sb.reset();
}

#[test]
fn a_saved_plan_of_database_changes_is_refused_once_a_row_changed() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    let (url, locked, admin) = (
        sb.env("SANDBOX_HTTP_URL"),
        sb.env("SANDBOX_LOCKED_IP"),
        sb.env("SANDBOX_WP_ADMIN"),
    );
    let options = "SELECT option_name, HEX(option_value) FROM wp_options \
                   WHERE option_name LIKE 'limit\\_login\\_%' ORDER BY option_name";
    let state = tempfile::tempdir().unwrap();
    let mut env = state_env(&state);
    env.push(("WPRESCUE_LOGIN_PASSWORD", sb.env("SANDBOX_WP_PASSWORD")));
    let file = state.path().join("llar.plan");
    let file = file.to_str().unwrap();
    let plan_args = [
        "plan", "--url", &url, "--bind", &locked, "--login", &admin, "-o", file,
    ];

    let plan = sb.wprescue_with_env(Protocol::Ftp, &plan_args, &env);
    assert_eq!(plan.status, 2, "{plan:?}");
    let saved = std::fs::read_to_string(file).unwrap();
    assert!(saved.contains(&format!("\"ip\": \"{locked}\"")), "{saved}");

    // Another failed login from the other address changes a counter the plan rewrites.
    sb.sql(
        "UPDATE wp_options SET option_value = REPLACE(option_value, 'i:4;', 'i:5;') \
         WHERE option_name = 'limit_login_retries'",
    );
    let before = sb.sql(options);
    let stale = sb.wprescue_connecting(Protocol::Ftp, &["apply", file], &env);
    assert_eq!(stale.status, 1, "{stale:?}");
    assert!(
        stale.stderr.contains("the plan is stale")
            && stale.stderr.contains("other changes than the saved plan"),
        "{stale:?}"
    );
    assert_eq!(sb.sql(options), before, "a stale plan changed rows");

    let plan = sb.wprescue_with_env(Protocol::Ftp, &plan_args, &env);
    assert_eq!(plan.status, 2, "{plan:?}");
    let apply = sb.wprescue_connecting(Protocol::Ftp, &["apply", file], &env);
    assert_eq!(apply.status, 0, "{apply:?}");
    assert!(
        sb.comes_to(&locked, true, true),
        "still locked out after apply"
    );
    let back = sb.wprescue_with_env(Protocol::Ftp, &["rollback"], &env);
    assert_eq!(back.status, 0, "{back:?}");
    assert_eq!(
        sb.sql(options),
        before,
        "rollback did not restore the rows exactly"
    );
    sb.reset();
}
