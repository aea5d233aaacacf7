//! The FTP servers hosts run, end to end: Pure-FTPd (cPanel's) and ProFTPD (Plesk's), each over
//! plain FTP and explicit FTPS, serve the fixture account beside vsftpd (the sandbox's
//! `lib/ftp-servers.sh`). On each: a plugin block, a server password and an orphaned firewall
//! are diagnosed, planned without a change, unlocked, and rolled back byte for byte.

use crate::harness::{Sandbox, contents};
use crate::test::{FTP_SCENARIOS, ftp_jobs_round};

/// `(name, scheme, port key)`.
const SERVERS: [(&str, &str, &str); 4] = [
    ("Pure-FTPd", "ftp", "SANDBOX_PUREFTPD_PORT"),
    ("Pure-FTPd", "ftps", "SANDBOX_PUREFTPD_PORT"),
    ("ProFTPD", "ftp", "SANDBOX_PROFTPD_PORT"),
    ("ProFTPD", "ftps", "SANDBOX_PROFTPD_PORT"),
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
        for (scenario, cause) in FTP_SCENARIOS {
            let what = format!("{scenario} on {server} over {scheme}://");
            sb.scenario(scenario);
            let before = contents(&docroot);
            ftp_jobs_round(&sb, &what, &target, cause, &locked, |when| {
                assert!(
                    contents(&docroot) == before,
                    "{what}: not byte-identical after {when}"
                );
            });
        }
    }
    sb.reset();
}
