//! `wprescue reset-password` and `wprescue make-admin` against the sandbox, over SFTP and
//! FTP: a real login proves the new password, the journal never holds a password hash, and a
//! rollback puts the old hash (or role) back exactly, from the site's own copy.

use std::path::Path;

use wprescue::site::probe::{LOGIN_PATH, is_logged_in, try_login};

use crate::harness::{Protocol, Sandbox, tree};
use crate::test::Test;

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];
const NEW_PASSWORD: &str = "correct horse battery staple";

/// Whether `user` logs in with `password` from the free address.
fn logs_in(sb: &Sandbox, url: &str, user: &str, password: &str) -> bool {
    let mut client = sb.http_from(&sb.env("SANDBOX_FREE_IP"));
    try_login(&mut client, url, LOGIN_PATH, user, password).is_ok_and(|r| is_logged_in(&r))
}

/// Every file of the state folder, as text: no password hash may be in any of them.
fn assert_no_hash_in(state: &Path, hashes: &[&str]) {
    for (name, (_, _, bytes)) in tree(state) {
        let text = String::from_utf8_lossy(&bytes);
        for hash in hashes {
            assert!(!text.contains(hash), "{name} holds a password hash");
        }
    }
}

#[test]
fn a_new_password_is_proven_by_a_login_and_the_old_hash_comes_back_from_the_site() {
    let sb = Sandbox::lock();
    let url = sb.env("SANDBOX_HTTP_URL");
    let old_password = sb.env("SANDBOX_WP_PASSWORD");
    let hash = || sb.sql("SELECT user_pass FROM wp_users WHERE user_login = 'admin'");
    let stash = || {
        sb.sql("SELECT COUNT(*) FROM wp_usermeta WHERE meta_key LIKE '\\_wprescue\\_password\\_%'")
    };
    for protocol in PROTOCOLS {
        let what = format!("reset-password over {protocol:?}");
        sb.reset();
        let before = hash();
        let state = tempfile::tempdir().unwrap();
        let reset = |extra: &[&str]| {
            Test::new(&sb)
                .note(&what)
                .over(protocol)
                .args(["reset-password"])
                .target()
                .args(["admin", "--url", url.as_str()])
                .args(extra)
                .env("WPRESCUE_NEW_PASSWORD", NEW_PASSWORD)
                .state(state.path())
                .run()
        };
        reset(&["--dry-run"])
            .status(2)
            .stdout_has("set the password of user admin (ID 1)");
        assert_eq!(hash(), before, "{what}: the dry run changed nothing");

        reset(&["--yes"])
            .status(0)
            .stdout_has("(a real login succeeded)")
            .stdout_lacks(&before);
        let after = hash();
        // WordPress 6.1 on the fixture site: phpass, which every version accepts.
        assert!(
            after.starts_with("$P$B") && after != before,
            "{what}: {after}"
        );
        assert!(
            logs_in(&sb, &url, "admin", NEW_PASSWORD),
            "{what}: new password"
        );
        assert!(
            !logs_in(&sb, &url, "admin", &old_password),
            "{what}: old password"
        );
        assert_eq!(stash(), "1", "{what}: the old hash is kept on the site");
        assert_no_hash_in(state.path(), &[&before, &after]);

        Test::rollback(&sb, protocol, state.path())
            .note(&what)
            .run()
            .status(0)
            .stdout_has("put back the old password of user admin");
        assert_eq!(hash(), before, "{what}: the old hash is back");
        assert_eq!(stash(), "0", "{what}: and its copy gone");
        assert!(
            logs_in(&sb, &url, "admin", &old_password),
            "{what}: old password"
        );
    }
    sb.reset();
}

#[test]
fn the_administrator_role_comes_back_and_goes_again_on_rollback() {
    let sb = Sandbox::lock();
    let role = || {
        sb.sql(
            "SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = 1 \
             AND meta_key IN ('wp_capabilities', 'wp_user_level') ORDER BY meta_key",
        )
    };
    for protocol in PROTOCOLS {
        let what = format!("make-admin over {protocol:?}");
        sb.scenario("demoted-admin");
        let before = role();
        assert!(before.contains("subscriber"), "{what}: {before}");
        let state = tempfile::tempdir().unwrap();
        Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["make-admin"])
            .target()
            .args(["admin", "--yes", "--url", &sb.env("SANDBOX_HTTP_URL")])
            .state(state.path())
            .run()
            .status(0)
            .stdout_has("+meta_value: a:1:{s:13:\"administrator\";b:1;}");
        assert_eq!(
            role(),
            "wp_capabilities\ta:1:{s:13:\"administrator\";b:1;}\nwp_user_level\t10",
            "{what}"
        );
        Test::rollback(&sb, protocol, state.path())
            .note(&what)
            .run()
            .status(0);
        assert_eq!(role(), before, "{what}: rollback puts the role back");
    }
    sb.reset();
}
