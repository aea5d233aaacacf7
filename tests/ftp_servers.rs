//! The FTP servers hosts run, end to end: Pure-FTPd (cPanel's) and ProFTPD (Plesk's), each over
//! plain FTP and explicit FTPS, serve the fixture account beside vsftpd (the sandbox's
//! `lib/ftp-servers.sh`). On each: a plugin block, a server password and an orphaned firewall
//! are diagnosed, planned without a change, unlocked, and rolled back byte for byte.

use crate::harness::{Sandbox, contents};
use crate::test::Test;

/// `(name, scheme, port key)`.
const SERVERS: [(&str, &str, &str); 4] = [
    ("Pure-FTPd", "ftp", "SANDBOX_PUREFTPD_PORT"),
    ("Pure-FTPd", "ftps", "SANDBOX_PUREFTPD_PORT"),
    ("ProFTPD", "ftp", "SANDBOX_PROFTPD_PORT"),
    ("ProFTPD", "ftps", "SANDBOX_PROFTPD_PORT"),
];

/// `(scenario, cause diagnose names)`: one per kind of fix (a plugin's allow-list through the
/// helper, an `.htaccess` edit, a firewall block removed).
const SCENARIOS: [(&str, &str); 3] = [
    ("wordfence-block", "plugin-block"),
    ("htaccess-basic-auth", "server-password"),
    ("orphan-prepend", "broken-prepend"),
];

#[test]
fn every_ftp_server_unlocks_and_rolls_back_byte_for_byte() {
    let sb = Sandbox::lock();
    let docroot = sb.docroot();
    let locked = sb.env("SANDBOX_LOCKED_IP");
    for (server, scheme, port) in SERVERS {
        let target = format!(
            "{scheme}://{}@{}:{}/",
            sb.env("SANDBOX_USER"),
            sb.env("SANDBOX_FTP_HOST"),
            sb.env(port)
        );
        for (scenario, cause) in SCENARIOS {
            let what = format!("{scenario} on {server} over {scheme}://");
            sb.scenario(scenario);
            let state = tempfile::tempdir().unwrap();
            let before = contents(&docroot);
            let wprescue = |words: &[&str]| {
                Test::new(&sb)
                    .note(&what)
                    .args(words)
                    .target_at(&target)
                    .args(["--tls-ca", &sb.env("SANDBOX_TLS_CA")])
                    .env("WPRESCUE_PASSWORD", sb.env("SANDBOX_PASSWORD"))
                    .state(state.path())
            };
            wprescue(&["diagnose"])
                .locked_out()
                .run()
                .status(2)
                .stdout_has(cause);
            wprescue(&["unlock", "--dry-run"])
                .locked_out()
                .run()
                .status(2)
                .stdout_has("none made");
            assert!(
                contents(&docroot) == before,
                "{what}: the dry run changed files"
            );
            wprescue(&["unlock", "--yes"])
                .locked_out()
                .run()
                .status(0)
                .stdout_has("unlocked:");
            assert!(
                sb.comes_to(&locked, false, true),
                "{what}: still locked out"
            );
            wprescue(&["rollback", "--yes"]).run().status(0);
            assert!(
                contents(&docroot) == before,
                "{what}: rollback is not byte-identical"
            );
            assert!(
                sb.comes_to(&locked, false, false),
                "{what}: the lockout is not back"
            );
        }
    }
    sb.reset();
}
