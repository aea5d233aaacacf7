//! More security plugins' lockouts (Defender, WP Cerber, Shield Security), each a fixture built
//! from the plugin's source: diagnosed, unlocked over SFTP and FTP for the locked address only
//! (the other locked address stays out), and rolled back exactly.
//!
//! Defender and WP Cerber keep running: their first rung deletes the caller's lockout row, and
//! 127.0.0.3, locked out the same way, must still be refused. Shield's blocks cannot be cleared
//! for one address with a row step (see `playbooks/80-shield.yaml`), so its first rung takes
//! the plugin away, for everyone. WP Cerber's tables have no WordPress prefix: the database
//! helper reaches them by a `!` name, shown here end to end in both of its modes.

use wprescue::helper::{Answer, Helper, HelperError, Mode, Op};
use wprescue::http::HttpOptions;
use wprescue::transport::RemotePath;

use crate::harness::{Protocol, Sandbox, contents};
use crate::test::Test;

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];

/// One plugin's scenario and what unlocking it must look like.
struct Firewall {
    scenario: &'static str,
    /// The plugin's id in the catalog (`cause.plugin`).
    plugin: &'static str,
    /// Its folder under `wp-content/plugins/`.
    folder: &'static str,
    /// An evidence line diagnose must give from the locked address.
    evidence: &'static str,
    /// Whether its lockout only shows on a real login (then every check logs in).
    login: bool,
    /// The first rung `unlock` applies.
    rung: &'static str,
    /// Whether that rung keeps the plugin running, so the other locked address stays out.
    keeps_plugin: bool,
    /// The rows that are the lockout, one address per row, as `mariadb -B` prints them.
    lockout: &'static str,
}

const DEFENDER: Firewall = Firewall {
    scenario: "defender-lockout",
    plugin: "defender",
    folder: "defender-security",
    evidence: "GET / -> 403 (Defender block page)",
    login: false,
    rung: "defender-lockouts",
    keeps_plugin: true,
    // Only the blocked rows: Defender gives every address it sees a 'normal' row of its own
    // (the caller's comes back that way after its blocked row is deleted).
    lockout: "SELECT id, ip, status, lockout_message, release_time, lock_time, attempt, meta \
              FROM wp_defender_lockout WHERE status = 'blocked' ORDER BY id",
};

const CERBER: Firewall = Firewall {
    scenario: "cerber-lockout",
    plugin: "wp-cerber",
    folder: "wp-cerber",
    evidence: "login as the given user -> 403 (WP Cerber block page)",
    login: true,
    rung: "wp-cerber-lockouts",
    keeps_plugin: true,
    // No WordPress prefix: the plugin names its tables so.
    lockout: "SELECT ip, block_until, reason, reason_id FROM cerber_blocks ORDER BY ip",
};

const SHIELD: Firewall = Firewall {
    scenario: "shield-block",
    plugin: "shield",
    folder: "wp-simple-firewall",
    evidence: "GET / -> 503 (Shield Security block page)",
    login: false,
    rung: "shield",
    keeps_plugin: false,
    // The rule and the address it points at, joined as the plugin reads them; the address is
    // stored by INET6_ATON, 4 bytes for IPv4.
    lockout: "SELECT r.id, INET6_NTOA(ips.ip), HEX(ips.ip), r.type, r.offenses, r.blocked_at, \
              r.unblocked_at FROM wp_icwp_wpsf_ip_rules r \
              JOIN wp_icwp_wpsf_ips ips ON ips.id = r.ip_ref ORDER BY r.id",
};

/// The lines of `rows` that do not hold `ip` in a column of their own.
fn without(rows: &str, ip: &str) -> String {
    rows.lines()
        .filter(|line| !line.split('\t').any(|field| field == ip))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether some line of `rows` holds `ip` in a column of its own.
fn holds(rows: &str, ip: &str) -> bool {
    rows.lines()
        .any(|line| line.split('\t').any(|field| field == ip))
}

/// Both addresses locked out; diagnose names the plugin; a dry run changes nothing; unlock lets
/// the locked address in (and, where the plugin keeps running, only it); a rollback puts the
/// docroot back byte for byte and the lockout rows exactly as they were.
fn unlocks_the_caller_and_rolls_back(fw: &Firewall) {
    let sb = Sandbox::lock();
    let docroot = sb.docroot();
    let [locked, other] = sb.locked_ips();
    let free = sb.env("SANDBOX_FREE_IP");
    for protocol in PROTOCOLS {
        let what = format!("{} over {protocol:?}", fw.scenario);
        sb.scenario(fw.scenario);
        // Kept for the whole round: unlock writes the journal that rollback reads.
        let state_dir = tempfile::tempdir().unwrap();
        let state = state_dir.path().to_str().unwrap().to_owned();
        let before = contents(&docroot);
        let lockout = sb.sql(fw.lockout);
        // The block is per address: the free one browses (and logs in) throughout.
        assert!(
            sb.comes_to(&free, fw.login, true),
            "{what}: the free address is refused too"
        );
        for ip in [&locked, &other] {
            assert!(
                holds(&lockout, ip),
                "{what}: no lockout row for {ip}:\n{lockout}"
            );
            assert!(
                sb.comes_to(ip, fw.login, false),
                "{what}: {ip} locked out to begin with"
            );
        }

        let diagnose = Test::new(&sb)
            .note(&what)
            .over(protocol)
            .args(["diagnose"])
            .target()
            .args(["--json"])
            .locked_out()
            .login_if(fw.login)
            .run()
            .status(2);
        let json = diagnose.json();
        assert_eq!(json["cause"]["code"], "plugin-block", "{what}: {json:#}");
        assert_eq!(json["cause"]["plugin"], fw.plugin, "{what}: {json:#}");
        let evidence = json["evidence"].to_string();
        assert!(evidence.contains(fw.evidence), "{what}: {json:#}");
        let folder = format!(
            "plugin folder public_html/wp-content/plugins/{} (in place)",
            fw.folder
        );
        assert!(evidence.contains(&folder), "{what}: {json:#}");
        let first = json["unlock_first"].as_str().unwrap_or_default();
        assert!(
            first.starts_with(&format!("unlock first runs {}: ", fw.rung)),
            "{what}: {json:#}"
        );
        assert!(json["unlock"].is_string(), "{what}: {json:#}");

        let unlock = |extra: &str| {
            Test::unlock(&sb, protocol, &state)
                .note(&what)
                .args([extra])
                .login_if(fw.login)
                .run()
        };
        let dry = unlock("--dry-run")
            .status(2)
            .stdout_has("none made")
            .stderr_empty();
        // A ladder numbers its rungs; a plan of one names it alone.
        let first = [format!("rung 1: {}", fw.rung), format!("{}:", fw.rung)];
        assert!(
            dry.stdout
                .lines()
                .any(|l| first.contains(&l.trim().to_owned())),
            "{what}: the plan does not start with {}\n{dry}",
            fw.rung
        );
        assert!(
            contents(&docroot) == before,
            "{what}: the dry run changed the docroot"
        );
        assert_eq!(
            sb.sql(fw.lockout),
            lockout,
            "{what}: the dry run changed rows"
        );

        unlock("--yes")
            .status(0)
            .stdout_has(format!("applied {} ", fw.rung))
            .stdout_has("unlocked:")
            .stderr_empty();
        assert!(
            sb.comes_to(&locked, fw.login, true),
            "{what}: {locked} still locked out after unlock"
        );
        if fw.keeps_plugin {
            assert!(
                sb.comes_to(&other, fw.login, false),
                "{what}: {other} got in too, but only the caller was to be let in"
            );
            assert_eq!(
                sb.sql(fw.lockout),
                without(&lockout, &locked),
                "{what}: only the caller's lockout row goes"
            );
        } else {
            // Without the plugin nobody is blocked; its rows stay for when it comes back.
            assert!(
                sb.comes_to(&other, fw.login, true),
                "{what}: {other} still locked out with the plugin set aside"
            );
            assert_eq!(sb.sql(fw.lockout), lockout, "{what}: rows changed");
        }

        let rollback = || Test::rollback(&sb, protocol, &state).note(&what).run();
        rollback().status(0).stderr_empty();
        assert!(
            contents(&docroot) == before,
            "{what}: rollback is not byte-identical"
        );
        assert_eq!(
            sb.sql(fw.lockout),
            lockout,
            "{what}: rollback did not restore the lockout rows"
        );
        for ip in [&locked, &other] {
            assert!(
                sb.comes_to(ip, fw.login, false),
                "{what}: {ip} is not locked out again after rollback"
            );
        }
        rollback().stdout_has("0 change(s) undone").stderr_empty();
        assert!(
            sb.helper_leftovers().is_empty(),
            "{what}: helper left behind"
        );
    }
    sb.reset();
}

#[test]
fn defender_lockout_is_cleared_for_the_caller_only_and_rolled_back() {
    unlocks_the_caller_and_rolls_back(&DEFENDER);
}

#[test]
fn cerber_lockout_is_cleared_for_the_caller_only_and_rolled_back() {
    unlocks_the_caller_and_rolls_back(&CERBER);
}

#[test]
fn shield_block_is_lifted_by_setting_the_plugin_aside_and_rolled_back() {
    unlocks_the_caller_and_rolls_back(&SHIELD);
}

/// The database helper reaches a table its plugin made without the WordPress prefix only by
/// its `!` name, and holds that name to a plain identifier: over `php` by SSH (Exec) and
/// uploaded and called over HTTP (Http).
#[test]
fn a_table_without_the_prefix_is_reached_by_its_bang_name_only() {
    let sb = Sandbox::lock();
    sb.scenario(CERBER.scenario);
    let locked = sb.env("SANDBOX_LOCKED_IP");
    let path = |p: &str| RemotePath::new(p).unwrap();
    for (mode, protocol) in [(Mode::Exec, Protocol::Ssh), (Mode::Http, Protocol::Ftp)] {
        let mut t = sb.connect(protocol);
        let helper = Helper::new(
            t.as_mut(),
            path("public_html"),
            path("public_html/wp-config.php"),
            &sb.env("SANDBOX_HTTP_URL"),
            HttpOptions {
                bind: Some(sb.env("SANDBOX_FREE_IP").parse().unwrap()),
                ..HttpOptions::default()
            },
        )
        .with_mode(mode);
        let names = ["!cerber_blocks", "cerber_blocks", "!options", "!wp_options"];
        let answers = helper
            .call(
                t.as_mut(),
                &[
                    Op::Tables {
                        names: names.iter().map(|n| n.to_string()).collect(),
                    },
                    Op::Select {
                        table: "!cerber_blocks".into(),
                        column: "ip".into(),
                        values: vec![locked.as_bytes().to_vec()],
                    },
                ],
            )
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(
            answers[0],
            Answer::Tables(vec!["!cerber_blocks".into(), "!wp_options".into()]),
            "{mode:?}: `cerber_blocks` would be wp_cerber_blocks, `!options` has no prefix"
        );
        let Answer::Rows(rows) = &answers[1] else {
            panic!("{mode:?}: {answers:?}");
        };
        assert_eq!(rows.len(), 1, "{mode:?}: {rows:?}");
        assert_eq!(
            rows[0][0],
            ("ip".to_owned(), Some(locked.as_bytes().to_vec())),
            "{mode:?}"
        );

        for (table, says) in [
            ("!cerber blocks", "not a table or column name"),
            ("!!cerber_blocks", "not a table or column name"),
            ("!", "not a table or column name"),
            (
                "!cerber_blocks`; DROP TABLE wp_users; --",
                "not a table or column name",
            ),
            ("!no_such_table", "no table no_such_table"),
        ] {
            let select = Op::Select {
                table: table.into(),
                column: "ip".into(),
                values: vec![locked.as_bytes().to_vec()],
            };
            match helper.call(t.as_mut(), &[select]) {
                Err(HelperError::Refused { op: 0, why }) => {
                    assert!(why.contains(says), "{mode:?} {table:?}: {why}")
                }
                other => panic!("{mode:?} {table:?}: {other:?}"),
            }
        }
    }
    assert_eq!(sb.sql("SELECT COUNT(*) FROM wp_users"), "1");
    assert_eq!(sb.sql("SELECT COUNT(*) FROM cerber_blocks"), "2");
    assert!(sb.helper_leftovers().is_empty());
    sb.reset();
}
