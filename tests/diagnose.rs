//! `wprescue diagnose` against every sandbox scenario, over SFTP and over FTP: the cause, its
//! evidence and the suggested next step, as a user sees them (`--json`), and proof that it
//! changes nothing on the site.

use std::path::Path;

use serde_json::Value;
use wprescue::http::HttpOptions;
use wprescue::playbook::Playbooks;
use wprescue::site::{InvestigateOptions, investigate};

use crate::harness::{Protocol, Sandbox, tree};
use crate::test::{Outcome, Test};
use wprescue::transport::Counting;

const PROTOCOLS: [Protocol; 2] = [Protocol::Sftp, Protocol::Ftp];

/// What diagnose must say about a scenario.
struct Expect {
    scenario: &'static str,
    code: &'static str,
    plugin: Option<&'static str>,
    /// Each must appear in some evidence line.
    evidence: &'static [&'static str],
    /// Must appear in `next` (`None`: there is no next step).
    next: Option<&'static str>,
}

const EXPECTATIONS: &[Expect] = &[
    Expect {
        scenario: "clean",
        code: "reachable",
        plugin: None,
        evidence: &["GET / -> 200", "GET /wp-login.php -> 200"],
        next: None,
    },
    Expect {
        scenario: "htaccess-basic-auth",
        code: "server-password",
        plugin: None,
        evidence: &[
            "GET / -> 401 (server password prompt",
            "AuthType Basic, AuthUserFile /home/wpsite/.htpasswds/public_html/passwd",
        ],
        next: Some(
            "comment out lines [1, 2, 3, 4] (AuthType, AuthName, AuthUserFile, Require) of public_html/.htaccess",
        ),
    },
    Expect {
        scenario: "broken-htaccess",
        code: "server-error",
        plugin: None,
        evidence: &[
            "unknown directive ExpiresDefualt (did you mean ExpiresDefault?)",
            "Invalid command 'ExpiresDefualt'",
        ],
        next: Some("ExpiresDefualt"),
    },
    Expect {
        scenario: "orphan-prepend",
        code: "broken-prepend",
        plugin: None,
        evidence: &[
            "sets auto_prepend_file to /home/wpsite/public_html/wordfence-waf.php, which does not exist",
            "Failed opening required '/home/wpsite/public_html/wordfence-waf.php'",
        ],
        next: Some(
            "(the block \"Wordfence WAF\" around it), or put a file back at /home/wpsite/public_html/wordfence-waf.php",
        ),
    },
    Expect {
        scenario: "orphan-prepend-line",
        code: "broken-prepend",
        plugin: None,
        evidence: &[
            "public_html/.htaccess:1 sets auto_prepend_file to /home/wpsite/public_html/site-shield/loader.php, which does not exist",
            "Failed opening required '/home/wpsite/public_html/site-shield/loader.php'",
        ],
        next: Some(
            "remove the auto_prepend_file setting at public_html/.htaccess:1 (that one line)",
        ),
    },
    Expect {
        scenario: "stuck-maintenance",
        code: "maintenance",
        plugin: None,
        evidence: &[
            "GET / -> 503 (WordPress maintenance page)",
            "public_html/.maintenance computes its start time",
        ],
        next: Some("rename public_html/.maintenance to public_html/.maintenance.off.php"),
    },
    Expect {
        scenario: "wrong-site-address",
        code: "wrong-site-address",
        plugin: None,
        evidence: &[
            "GET / is sent to http://127.0.0.10/, another host",
            "GET /wp-admin/ is sent to http://old-domain.example/wp-login.php?redirect_to=",
        ],
        next: Some(
            "set WordPress's address to http://127.0.0.10:18080: the home and siteurl options",
        ),
    },
    Expect {
        scenario: "wrong-site-address-config",
        code: "wrong-site-address",
        plugin: None,
        evidence: &["GET /wp-admin/ is sent to http://old-domain.example/wp-login.php"],
        next: Some("or WP_HOME and WP_SITEURL where wp-config.php defines them"),
    },
    Expect {
        scenario: "ninjafirewall-lockout",
        code: "plugin-block",
        plugin: Some("ninjafirewall"),
        evidence: &[
            "GET /wp-login.php -> 401 (NinjaFirewall block page)",
            "its block \"NinjaFirewall\" in public_html/.htaccess",
        ],
        next: Some("rename public_html/wp-content/plugins/ninjafirewall to"),
    },
    Expect {
        scenario: "jetpack-protect",
        code: "plugin-block",
        plugin: Some("jetpack"),
        evidence: &["GET /wp-login.php -> 500 (Jetpack block page)"],
        next: Some("rename public_html/wp-content/plugins/jetpack to"),
    },
    Expect {
        scenario: "wordfence-block",
        code: "plugin-block",
        plugin: Some("wordfence"),
        evidence: &[
            "GET / -> 503 (Wordfence block page)",
            "plugin folder public_html/wp-content/plugins/wordfence (in place)",
            "its block \"Wordfence WAF\" in public_html/.htaccess",
        ],
        next: Some(
            "rename public_html/wp-content/plugins/wordfence to public_html/wp-content/plugins/wordfence.off",
        ),
    },
    Expect {
        scenario: "solid-lockout",
        code: "plugin-block",
        plugin: Some("solid-security"),
        evidence: &[
            "GET / -> 403 (Solid Security block page)",
            "plugins/better-wp-security (in place)",
        ],
        next: Some("plugins/better-wp-security.off"),
    },
    Expect {
        scenario: "aios-blacklist",
        code: "plugin-block",
        plugin: Some("all-in-one-wp-security"),
        evidence: &[
            "GET / -> 403 (All In One WP Security block page)",
            "public_html/aios-bootstrap.php",
        ],
        next: Some("plugins/all-in-one-wp-security-and-firewall.off"),
    },
    Expect {
        scenario: "loginizer-lockout",
        code: "plugin-block",
        plugin: Some("loginizer"),
        // Loginizer answers the bare login form too: no login needed to see it.
        evidence: &[
            "GET / -> 200",
            "GET /wp-login.php -> 200 (Loginizer block page)",
            "plugin folder public_html/wp-content/plugins/loginizer (in place)",
        ],
        next: Some(
            "rename public_html/wp-content/plugins/loginizer to public_html/wp-content/plugins/loginizer.off",
        ),
    },
    Expect {
        scenario: "wps-hide-login",
        code: "hidden-login",
        plugin: Some("wps-hide-login"),
        evidence: &[
            "GET / -> 200",
            "GET /wp-login.php -> 404 (no known block page)",
            "GET /wp-admin/ -> 404",
            "plugin folder public_html/wp-content/plugins/wps-hide-login (in place)",
        ],
        next: Some(
            "rename public_html/wp-content/plugins/wps-hide-login to public_html/wp-content/plugins/wps-hide-login.off",
        ),
    },
    Expect {
        scenario: "aios-login-lockdown",
        code: "plugin-block",
        plugin: Some("all-in-one-wp-security"),
        evidence: &[
            "GET / -> 200",
            "GET /wp-login.php -> 503 (All In One WP Security block page)",
        ],
        next: Some("plugins/all-in-one-wp-security-and-firewall.off"),
    },
];

/// `diagnose --json` from the locked address over `protocol`, with a real login as the admin
/// when `login`; `scenario` names the run in failures.
fn diagnose_json(
    sb: &Sandbox,
    scenario: &str,
    protocol: Protocol,
    login: bool,
) -> (Outcome, Value) {
    let run = Test::new(sb)
        .note(&format!("{scenario} over {protocol:?}"))
        .over(protocol)
        .args(["diagnose"])
        .target()
        .args(["--json"])
        .locked_out()
        .login_if(login)
        .run();
    let json = run.json();
    (run, json)
}

fn check(expect: &Expect, protocol: Protocol, run: Outcome, json: &Value) -> Outcome {
    let what = format!("{} over {protocol:?}", expect.scenario);
    assert_eq!(json["cause"]["code"], expect.code, "{what}: {json:#}");
    assert_eq!(
        json["cause"]["plugin"].as_str(),
        expect.plugin,
        "{what}: {json:#}"
    );
    let lockout = expect.code != "reachable";
    assert_eq!(json["lockout"], lockout, "{what}");
    let run = run.status(if lockout { 2 } else { 0 });
    let evidence: Vec<&str> = json["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for needle in expect.evidence {
        assert!(
            evidence.iter().any(|e| e.contains(needle)),
            "{what}: no evidence with {needle:?} in {evidence:#?}"
        );
    }
    match expect.next {
        Some(needle) => {
            let next = json["next"].as_str().unwrap_or_default();
            assert!(
                next.contains(needle),
                "{what}: next is {next:?}, want {needle:?}"
            );
        }
        None => assert!(json["next"].is_null(), "{what}: {json:#}"),
    }
    // Every lockout the sandbox models has a playbook, so diagnose offers the unlock.
    match json["unlock"].as_str() {
        Some(unlock) => assert!(
            lockout && unlock.starts_with("wprescue unlock ") && unlock.ends_with(" --dry-run"),
            "{what}: {unlock}"
        ),
        None => assert!(!lockout, "{what}: no unlock offered: {json:#}"),
    }
    assert_eq!(json["site"]["path"], "public_html", "{what}");
    assert_eq!(json["site"]["wordpress_version"], "6.1.9", "{what}");
    run
}

#[test]
fn every_scenario_over_sftp_and_ftp() {
    let sb = Sandbox::lock();
    for expect in EXPECTATIONS {
        sb.scenario(expect.scenario);
        for protocol in PROTOCOLS {
            let (run, json) = diagnose_json(&sb, expect.scenario, protocol, false);
            check(expect, protocol, run, &json);
        }
    }
    sb.reset();
}

#[test]
fn a_login_only_lockout_needs_a_real_login_to_show() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    for protocol in PROTOCOLS {
        let (run, json) = diagnose_json(&sb, "llar-lockout", protocol, false);
        assert_eq!(json["cause"]["code"], "reachable", "{run}");
        let note = json["notes"][0].as_str().unwrap_or_default();
        assert!(
            note.contains("Limit Login Attempts Reloaded only shows on a real login"),
            "{note}"
        );

        let (run, json) = diagnose_json(&sb, "llar-lockout", protocol, true);
        let expect = Expect {
            scenario: "llar-lockout",
            code: "plugin-block",
            plugin: Some("limit-login-attempts-reloaded"),
            evidence: &[
                "login as the given user -> 200 (Limit Login Attempts Reloaded block page)",
            ],
            next: Some("plugins/limit-login-attempts-reloaded.off"),
        };
        // The password must not leak into the report.
        check(&expect, protocol, run, &json).stdout_lacks(sb.env("SANDBOX_WP_PASSWORD"));
    }
    sb.reset();
}

#[test]
fn the_free_address_is_not_locked_out() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let url = sb.env("SANDBOX_HTTP_URL");
    let free = sb.env("SANDBOX_FREE_IP");
    Test::new(&sb)
        .over(Protocol::Sftp)
        .args(["diagnose"])
        .target()
        .args(["--url", &url, "--bind", &free])
        .run()
        .status(0)
        .stdout_has("cause     reachable")
        .stderr_empty();
    sb.reset();
}

#[test]
fn diagnose_writes_nothing() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let home = Path::new(&sb.env("SANDBOX_HOME")).to_path_buf();
    let docroot = sb.docroot();
    let before = tree(&docroot);
    for protocol in PROTOCOLS {
        let (run, _) = diagnose_json(&sb, "wordfence-block", protocol, false);
        run.status(2);
    }
    let after = tree(&docroot);
    assert_eq!(before.len(), after.len(), "files appeared or vanished");
    for (name, entry) in &before {
        assert!(after.get(name) == Some(entry), "{name} changed");
    }
    let staging: Vec<_> = tree(&home)
        .into_keys()
        .filter(|n| n.contains(".ht.wprescue-"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
    sb.reset();
}

#[test]
fn a_target_at_the_wordpress_folder_itself_still_finds_the_missing_prepend() {
    let sb = Sandbox::lock();
    sb.scenario("orphan-prepend");
    let url = sb.env("SANDBOX_HTTP_URL");
    for protocol in PROTOCOLS {
        let target = format!("{}/public_html", sb.target(protocol).trim_end_matches('/'));
        let json = Test::new(&sb)
            .over(protocol)
            .args(["diagnose"])
            .target_at(&target)
            .args(["--json", "--url", &url])
            .run()
            .json();
        assert_eq!(
            json["cause"]["code"], "broken-prepend",
            "{protocol:?}: {json:#}"
        );
        assert_eq!(json["site"]["path"], ".", "{protocol:?} {target}: {json:#}");
        assert_eq!(
            json["prepends"][0]["exists"], false,
            "{protocol:?}: {json:#}"
        );
    }
    sb.reset();
}

/// Diagnose makes no mutating call at all, over either protocol; the number of file calls it
/// needs is printed for the record (run with `--nocapture`).
#[test]
fn diagnose_makes_no_mutating_calls() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let catalog = Playbooks::builtin().unwrap().catalog();
    let options = InvestigateOptions {
        url: Some(sb.env("SANDBOX_HTTP_URL")),
        http: HttpOptions {
            bind: Some(sb.env("SANDBOX_LOCKED_IP").parse().unwrap()),
            ..HttpOptions::default()
        },
        ..InvestigateOptions::default()
    };
    for protocol in PROTOCOLS {
        let mut transport = sb.connect(protocol);
        let mut counting = Counting::new(transport.as_mut());
        let started = std::time::Instant::now();
        let report = investigate(&mut counting, &catalog, &options).unwrap();
        assert_eq!(report.diagnosis.cause.code(), "plugin-block");
        assert_eq!(counting.mutations(), 0, "{protocol:?}");
        eprintln!(
            "diagnose over {protocol:?}: {} file calls, 0 mutating, {:?}",
            counting.reads(),
            started.elapsed()
        );
    }
    sb.reset();
}
