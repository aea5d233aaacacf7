//! Lost two-factor devices on the fixture site (WP 2FA, Really Simple Security), over SFTP
//! and FTP: a real login names the cause and the plugin; unlock turns two-factor off for the
//! admin alone (admin2, who has it too, still gets the code page); rollback puts the admin's
//! rows back exactly. The real Two Factor and Wordfence Login Security are in
//! `real_plugins.rs`.

use wprescue::site::probe::{LOGIN_PATH, try_login};

use crate::harness::{Protocol, Sandbox, contents};
use crate::test::Test;

/// One fixture scenario: its name, how diagnose names the plugin, text only its code page
/// has, and the usermeta keys that decide who has two-factor.
struct Case {
    scenario: &'static str,
    plugin: &'static str,
    prompt: &'static str,
    keys: &'static str,
}

const CASES: [Case; 2] = [
    Case {
        scenario: "wp-2fa",
        plugin: "WP 2FA",
        prompt: "name=\"validate_2fa_form\"",
        keys: "'wp_2fa_enabled_methods', 'wp_2fa_totp_key'",
    },
    Case {
        scenario: "rsssl-2fa",
        plugin: "Really Simple Security",
        prompt: "name=\"rsssl_validate_2fa_form\"",
        keys: "'rsssl_two_fa_status_email', 'rsssl_two_fa_status_totp'",
    },
];

#[test]
fn a_lost_device_is_turned_off_for_that_user_only_and_rolled_back_exactly() {
    let sb = Sandbox::lock();
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let asks_for_a_code = |user: &str, prompt: &str| {
        let mut client = sb.http_from(&locked);
        let answer = try_login(
            &mut client,
            &sb.env("SANDBOX_HTTP_URL"),
            LOGIN_PATH,
            user,
            &sb.env("SANDBOX_WP_PASSWORD"),
        )
        .unwrap();
        answer.status == 200 && answer.contains(prompt)
    };
    for case in &CASES {
        let rows = || {
            sb.sql(&format!(
                "SELECT umeta_id, user_id, meta_key, meta_value FROM wp_usermeta \
                 WHERE meta_key IN ({}) ORDER BY umeta_id",
                case.keys
            ))
        };
        for protocol in [Protocol::Sftp, Protocol::Ftp] {
            let what = format!("{} over {protocol:?}", case.scenario);
            sb.scenario(case.scenario);
            let before = (contents(&sb.docroot()), rows());
            assert!(
                asks_for_a_code("admin", case.prompt),
                "{what}: locked out first"
            );
            let state = tempfile::tempdir().unwrap();
            let run = |command: &str, extra: &[&str]| {
                Test::new(&sb)
                    .note(&what)
                    .over(protocol)
                    .args([command])
                    .target()
                    .locked_out()
                    .login()
                    .args(extra)
                    .state(state.path())
                    .run()
            };
            run("diagnose", &[]).status(2).stdout_has(format!(
                "two-factor: {} asks for a two-factor code",
                case.plugin
            ));
            run("unlock", &["--yes"])
                .status(0)
                .stdout_has("set two-factor up again for this user")
                .stdout_has("(a real login succeeded)");
            assert!(
                !asks_for_a_code("admin", case.prompt),
                "{what}: admin gets in"
            );
            assert!(
                asks_for_a_code("admin2", case.prompt),
                "{what}: admin2 keeps two-factor"
            );
            Test::rollback(&sb, protocol, state.path())
                .note(&what)
                .run()
                .status(0);
            assert!(
                asks_for_a_code("admin", case.prompt),
                "{what}: back after rollback"
            );
            assert_eq!(rows(), before.1, "{what}: the rows are as they were");
            assert!(
                contents(&sb.docroot()) == before.0,
                "{what}: the files are as they were"
            );
        }
    }
    sb.reset();
}
