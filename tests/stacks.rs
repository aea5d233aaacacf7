//! The web stacks hosts run besides Apache with mod_php (`real-tier --stack`): nginx + PHP-FPM,
//! which reads no `.htaccess`, and Apache + PHP-FPM, where `php_value` would be a 500. On both,
//! PHP reads `.user.ini` through a cache (one FPM worker, `user_ini.cache_ttl` at PHP's default
//! 300 s), and Wordfence 8.1.4 installs its firewall there as its own installer does.
//!
//! Per stack, over SSH and over FTP: a real Wordfence block, unlocked and rolled back; its
//! firewall file deleted by hand (500 for everyone), fixed at once although the workers hold
//! the old `.user.ini`, and rolled back byte for byte; a server-level password, removed from
//! `.htaccess` where Apache reads one, and named as out of reach under nginx.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{Protocol, Sandbox, contents};
use crate::real_plugins::{Real, Stack, WORDFENCE_BLOCK, differences, unlock_and_roll_back_on};
use crate::test::Test;

/// `wprescue WORDS… TARGET --url SITE --bind 127.0.0.1` on the stack's account.
fn as_locked_out<'a>(
    real: &Real<'a>,
    protocol: Protocol,
    words: &[&str],
    state: &Path,
    what: &str,
) -> Test<'a> {
    real.as_locked_out(real.wprescue_words(protocol, words, state, what), false)
}

/// The statuses of 16 requests for `/` from `ip` side by side: enough to reach every PHP
/// worker.
fn side_by_side(real: &Real<'_>, ip: &str) -> Vec<u16> {
    std::thread::scope(|side| {
        let asks: Vec<_> = (0..16)
            .map(|_| side.spawn(|| real.get_from(ip, "/").status))
            .collect();
        asks.into_iter().map(|ask| ask.join().unwrap()).collect()
    })
}

/// Every address gets `status` for `/`; `Err` says who got what.
fn everyone_gets(real: &Real<'_>, sb: &Sandbox, status: u16) -> Result<(), String> {
    let [locked, other] = sb.locked_ips();
    for ip in [locked, other, sb.env("SANDBOX_FREE_IP")] {
        let got = real.get_from(&ip, "/").status;
        if got != status {
            return Err(format!("{ip} got {got} for /, not {status}"));
        }
    }
    Ok(())
}

/// Makes `scenario`, checks that everyone gets `status`, and returns the docroot's files.
fn locked_out_by(
    real: &Real<'_>,
    sb: &Sandbox,
    scenario: &str,
    status: u16,
    what: &str,
) -> BTreeMap<String, (u32, Vec<u8>)> {
    real.script(&["scenario", scenario]);
    everyone_gets(real, sb, status).unwrap_or_else(|e| panic!("{what}: locked out first: {e}"));
    contents(&real.docroot())
}

/// `rollback` restores the docroot to `before` byte for byte, and everyone gets `status` again.
fn rolled_back(
    real: &Real<'_>,
    sb: &Sandbox,
    protocol: Protocol,
    state: &Path,
    before: &BTreeMap<String, (u32, Vec<u8>)>,
    status: u16,
    what: &str,
) {
    real.wprescue(protocol, "rollback", state, what)
        .args(["--yes"])
        .run()
        .status(0);
    let docroot = real.docroot();
    let changed = differences(before, &contents(&docroot), &docroot, &[]);
    assert!(
        changed.is_empty(),
        "{what}: after rollback:\n{}",
        changed.join("\n")
    );
    real.comes_to(&format!("{what}: {status} again after rollback"), || {
        everyone_gets(real, sb, status)
    });
}

/// Wordfence's firewall file and folder deleted by hand while `.user.ini` still prepends it:
/// diagnose names the `.user.ini` line; a dry run changes nothing; unlock answers at once (a
/// no-op file where the line points, as the workers still hold the old `.user.ini`) without
/// waiting for the cache; rollback puts every file back as it was, and the 500 with it.
fn orphaned_firewall(stack: Stack, protocol: Protocol) {
    let sb = Sandbox::lock();
    let real = Real::on(&sb, stack);
    let what = format!("orphaned Wordfence firewall on {stack:?} over {protocol:?}");
    let docroot = real.docroot();
    let state = tempfile::tempdir().unwrap();
    let before = locked_out_by(&real, &sb, "orphaned-waf", 500, &what);
    // Every worker reads .user.ini now, and holds it for user_ini.cache_ttl: what the end of
    // this test counts on (a worker left idle so far could read the edited one later).
    let free = sb.env("SANDBOX_FREE_IP");
    assert!(
        side_by_side(&real, &free)
            .iter()
            .all(|status| *status == 500),
        "{what}: not every worker fails"
    );

    let diagnose = as_locked_out(&real, protocol, &["diagnose"], state.path(), &what)
        .run()
        .status(2)
        .stdout_has("broken-prepend")
        .stdout_has("public_html/.user.ini:2")
        .stdout_has("user_ini.cache_ttl");
    if stack == Stack::NginxFpm {
        diagnose.stdout_has("reads no .htaccess");
    }

    as_locked_out(
        &real,
        protocol,
        &["unlock", "--dry-run"],
        state.path(),
        &what,
    )
    .run()
    .status(2)
    .stdout_has("create public_html/wordfence-waf.php")
    .stdout_has("no-op stand-in");
    assert!(
        differences(&before, &contents(&docroot), &docroot, &[]).is_empty(),
        "{what}: the dry run changed files"
    );

    as_locked_out(&real, protocol, &["unlock", "--yes"], state.path(), &what)
        .run()
        .status(0)
        .stdout_has("unlocked:")
        .stdout_lacks("waiting:");
    real.comes_to(&format!("{what}: everyone gets in after unlock"), || {
        everyone_gets(&real, &sb, 200)
    });
    let ini = std::fs::read_to_string(docroot.join(".user.ini")).unwrap();
    assert!(!ini.contains("auto_prepend_file"), "{what}: {ini}");
    let stand_in = std::fs::read_to_string(docroot.join("wordfence-waf.php")).unwrap();
    assert!(
        stand_in.starts_with("<?php\n") && stand_in.lines().skip(1).all(|l| l.starts_with("//")),
        "{what}: the stand-in runs nothing: {stand_in}"
    );
    assert_eq!(real.helper_leftovers(), Vec::<String>::new(), "{what}");
    // The stand-in is what lets the site answer now: without it a worker that still holds the
    // old .user.ini fails again. Requests side by side reach every worker (one that read
    // .user.ini only after the edit answers 200). Put back as it was for the rollback.
    // opcache may go on running the deleted stand-in from memory for opcache.revalidate_freq
    // (2 s): asked again until that has surely passed, far inside user_ini.cache_ttl.
    std::fs::remove_file(docroot.join("wordfence-waf.php")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let cached = loop {
        if side_by_side(&real, &free).contains(&500) {
            break true;
        }
        if std::time::Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    std::fs::write(docroot.join("wordfence-waf.php"), &stand_in).unwrap();
    assert!(
        cached,
        "{what}: PHP read the new .user.ini at once: the cache was not tested"
    );

    rolled_back(&real, &sb, protocol, state.path(), &before, 500, &what);
}

/// A server-level password: Apache reads it from `.htaccess`, which unlock edits and rollback
/// restores; nginx keeps it in the host's configuration, which unlock says it cannot reach,
/// changing nothing.
fn server_password(stack: Stack, protocol: Protocol) {
    let sb = Sandbox::lock();
    let real = Real::on(&sb, stack);
    let what = format!("server password on {stack:?} over {protocol:?}");
    let docroot = real.docroot();
    let state = tempfile::tempdir().unwrap();
    let before = locked_out_by(&real, &sb, "server-password", 401, &what);

    let diagnose = as_locked_out(&real, protocol, &["diagnose"], state.path(), &what)
        .run()
        .status(2)
        .stdout_has("server-password");
    let unlock = as_locked_out(&real, protocol, &["unlock", "--yes"], state.path(), &what).run();
    if stack == Stack::NginxFpm {
        diagnose
            .stdout_has("reads no .htaccess")
            .stdout_has("hosting panel")
            .stdout_lacks("wprescue unlock");
        unlock
            .status(1)
            .stderr_has("by hand")
            .stderr_has("hosting panel");
        assert!(
            differences(&before, &contents(&docroot), &docroot, &[]).is_empty(),
            "{what}: files changed"
        );
        return;
    }
    unlock.status(0).stdout_has("unlocked:");
    real.comes_to(&format!("{what}: everyone gets in after unlock"), || {
        everyone_gets(&real, &sb, 200)
    });
    rolled_back(&real, &sb, protocol, state.path(), &before, 401, &what);
}

macro_rules! on_every_stack {
    ($($module:ident => $stack:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            #[test]
            fn wordfence_block_unlocked_and_rolled_back_over_ssh() {
                unlock_and_roll_back_on($stack, &WORDFENCE_BLOCK, Protocol::Ssh);
            }

            #[test]
            fn wordfence_block_unlocked_and_rolled_back_over_ftp() {
                unlock_and_roll_back_on($stack, &WORDFENCE_BLOCK, Protocol::Ftp);
            }

            #[test]
            fn orphaned_firewall_fixed_at_once_and_rolled_back_over_ssh() {
                orphaned_firewall($stack, Protocol::Ssh);
            }

            #[test]
            fn orphaned_firewall_fixed_at_once_and_rolled_back_over_ftp() {
                orphaned_firewall($stack, Protocol::Ftp);
            }

            #[test]
            fn server_password_over_sftp() {
                server_password($stack, Protocol::Sftp);
            }

            #[test]
            fn server_password_over_ftp() {
                server_password($stack, Protocol::Ftp);
            }
        }
    )*};
}

on_every_stack! {
    nginx_fpm => Stack::NginxFpm,
    apache_fpm => Stack::ApacheFpm,
}
