//! Issue #6's promise, against the sandbox's plugins over SSH (the helper runs `php`) and over
//! FTP alone (the helper is uploaded and called over HTTP): `unlock` lets the locked address in
//! by whitelisting it and clearing its lockout in the plugin's own storage, while the plugin
//! stays active and still refuses another locked address; the helper leaves nothing behind;
//! rollback puts options, rows and files back exactly.

use crate::harness::{Protocol, Sandbox, contents};

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

/// Names in the docroot that a helper would leave.
fn helper_leftovers(sb: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sb.docroot())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("wprescue-"))
        .collect()
}

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
            let run = sb.unlock(protocol, &state, case.login, "--yes");
            assert_eq!(run.status, 0, "{what}: {run:?}");
            assert!(
                run.stdout.contains(&format!("applied {} (", case.rung))
                    && run
                        .stdout
                        .contains(&format!("caller {locked} (from the web server"))
                    && run.stdout.contains("unlocked:"),
                "{what}: {run:?}"
            );
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
                helper_leftovers(&sb).is_empty(),
                "{what}: {:?}",
                helper_leftovers(&sb)
            );
            assert_ne!(
                sb.sql(case.state),
                rows,
                "{what}: the plugin's state is unchanged"
            );

            let env = [("WPRESCUE_STATE_DIR", state)];
            let back = sb.wprescue_with_env(protocol, &["rollback"], &env);
            assert_eq!(back.status, 0, "{what}: {back:?}");
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
            assert!(helper_leftovers(&sb).is_empty(), "{what}: after rollback");
        }
    }
    sb.reset();
}
