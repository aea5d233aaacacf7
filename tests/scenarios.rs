//! Each sandbox scenario is a real lockout: the locked address sees the exact status and block
//! marker that security-plugins.md records for the real plugin, the free address still gets in
//! wherever the real block is IP-specific, and `reset` gives both their site back.

use crate::harness::Sandbox;
use wprescue::http::Response;
use wprescue::site::probe::is_logged_in;

/// What one request must show.
struct Expect {
    status: u16,
    /// Text the body must contain.
    markers: &'static [&'static str],
    /// `(header, text its value must contain)`.
    header: Option<(&'static str, &'static str)>,
    empty_body: bool,
}

const OK: Expect = Expect {
    status: 200,
    markers: &[],
    header: None,
    empty_body: false,
};

fn check(what: &str, response: &Response, expect: &Expect) {
    assert_eq!(response.status, expect.status, "{what}: {response:?}");
    for marker in expect.markers {
        assert!(
            response.contains(marker),
            "{what}: no {marker:?} in {response:?}"
        );
    }
    if let Some((name, value)) = expect.header {
        let got = response.header(name);
        assert!(
            got.is_some_and(|got| got.contains(value)),
            "{what}: header {name} is {got:?}, want it to contain {value:?}: {response:?}"
        );
    }
    if expect.empty_body {
        assert!(
            response.body.is_empty(),
            "{what}: body should be empty: {response:?}"
        );
    }
}

/// A successful WordPress login: a redirect into wp-admin with the auth cookie set.
fn assert_logged_in(what: &str, response: &Response) {
    assert!(
        is_logged_in(response),
        "{what}: not logged in: {response:?}"
    );
}

/// After `reset`, both addresses browse and log in again.
fn assert_reset_recovers(sb: &Sandbox) {
    sb.reset();
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        for path in ["/", "/wp-login.php"] {
            check(
                &format!("after reset, GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                &OK,
            );
        }
        assert_logged_in(
            &format!("after reset, login from {ip}"),
            &sb.login_from(&ip),
        );
    }
}

#[test]
fn clean_site_lets_both_addresses_in() {
    let sb = Sandbox::lock();
    sb.scenario("clean");
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        let home = sb.get_from(&ip, "/");
        check(&format!("GET / from {ip}"), &home, &OK);
        assert!(
            home.contains("wprescue sandbox"),
            "the front page is WordPress: {home:?}"
        );
        assert_logged_in(&format!("login from {ip}"), &sb.login_from(&ip));
    }
}

#[test]
fn htaccess_basic_auth_asks_everyone_for_a_server_password() {
    let sb = Sandbox::lock();
    sb.scenario("htaccess-basic-auth");
    let expect = Expect {
        status: 401,
        markers: &[],
        header: Some(("www-authenticate", "Basic realm=\"Restricted Area\"")),
        empty_body: false,
    };
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        for path in ["/", "/wp-login.php", "/wp-admin/"] {
            check(
                &format!("GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                &expect,
            );
        }
    }
    assert_reset_recovers(&sb);
}

#[test]
fn broken_htaccess_is_a_500_for_everyone_and_the_error_log_names_the_directive() {
    let sb = Sandbox::lock();
    sb.scenario("broken-htaccess");
    let expect = Expect { status: 500, ..OK };
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        check(&format!("GET / from {ip}"), &sb.get_from(&ip, "/"), &expect);
    }
    let log = std::fs::read_to_string(format!("{}/error.log", sb.env("SANDBOX_LOGS"))).unwrap();
    assert!(
        log.contains(".htaccess: Invalid command 'ExpiresDefualt', perhaps misspelled"),
        "error log: {log}"
    );
    assert_reset_recovers(&sb);
}

#[test]
fn orphan_prepend_is_a_500_for_everyone_and_the_error_log_names_the_missing_file() {
    let sb = Sandbox::lock();
    sb.scenario("orphan-prepend");
    let expect = Expect { status: 500, ..OK };
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        for path in ["/", "/wp-login.php"] {
            check(
                &format!("GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                &expect,
            );
        }
    }
    let log = std::fs::read_to_string(format!("{}/error.log", sb.env("SANDBOX_LOGS"))).unwrap();
    assert!(
        log.contains("Failed opening required") && log.contains("wordfence-waf.php"),
        "error log: {log}"
    );
    assert_reset_recovers(&sb);
}

#[test]
fn wordfence_block_limits_the_locked_address_everywhere() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let limited = Expect {
        status: 503,
        markers: &[
            "Your access to this site has been limited by the site owner",
            "Generated by Wordfence",
        ],
        header: Some(("retry-after", "")),
        empty_body: false,
    };
    for path in ["/", "/wp-login.php"] {
        check(
            &format!("GET {path} from the locked address"),
            &sb.get_locked(path),
            &limited,
        );
    }
    // wp-admin scripts are skipped by the firewall; the plugin blocks them with its own page.
    let plugin_page = Expect {
        markers: &["Generated by Wordfence"],
        ..limited
    };
    check(
        "GET /wp-admin/ from the locked address",
        &sb.get_locked("/wp-admin/"),
        &plugin_page,
    );
    let locked = sb.env("SANDBOX_LOCKED_IP");
    check(
        "a correct login from the locked address",
        &sb.login_from(&locked),
        &limited,
    );
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn solid_lockout_forbids_the_locked_address_everywhere() {
    let sb = Sandbox::lock();
    sb.scenario("solid-lockout");
    let locked_out = Expect {
        status: 403,
        markers: &[
            "<title>Forbidden</title>",
            "You have been locked out of this site",
            "lockout_screen",
        ],
        header: None,
        empty_body: false,
    };
    for path in ["/", "/wp-login.php", "/wp-admin/"] {
        check(
            &format!("GET {path} from the locked address"),
            &sb.get_locked(path),
            &locked_out,
        );
    }
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn aios_blacklist_answers_the_locked_address_with_an_empty_403() {
    let sb = Sandbox::lock();
    sb.scenario("aios-blacklist");
    let blacklisted = Expect {
        status: 403,
        markers: &[],
        header: None,
        empty_body: true,
    };
    for path in ["/", "/wp-login.php", "/wp-admin/"] {
        check(
            &format!("GET {path} from the locked address"),
            &sb.get_locked(path),
            &blacklisted,
        );
    }
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn aios_login_lockdown_shows_only_on_the_login_page() {
    let sb = Sandbox::lock();
    sb.scenario("aios-login-lockdown");
    check("GET / from the locked address", &sb.get_locked("/"), &OK);
    let lockdown = Expect {
        status: 503,
        markers: &["Access from your IP address has been blocked for security reasons"],
        header: None,
        empty_body: false,
    };
    check(
        "GET /wp-login.php from the locked address",
        &sb.get_locked("/wp-login.php"),
        &lockdown,
    );
    let locked = sb.env("SANDBOX_LOCKED_IP");
    check(
        "a correct login from the locked address",
        &sb.login_from(&locked),
        &lockdown,
    );
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn llar_lockout_refuses_even_a_correct_password_but_every_get_is_200() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    for path in ["/", "/wp-login.php"] {
        check(
            &format!("GET {path} from the locked address"),
            &sb.get_locked(path),
            &OK,
        );
    }
    let refused = Expect {
        status: 200,
        markers: &["Too many failed login attempts"],
        header: None,
        empty_body: false,
    };
    let locked = sb.env("SANDBOX_LOCKED_IP");
    check(
        "a correct login from the locked address",
        &sb.login_from(&locked),
        &refused,
    );
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

/// The address no plugin blocked browses every probe path and logs in.
fn assert_free_address_gets_in(sb: &Sandbox) {
    for path in ["/", "/wp-login.php", "/wp-admin/"] {
        check(
            &format!("GET {path} from the free address"),
            &sb.get_free(path),
            &unblocked(path),
        );
    }
    assert_logged_in(
        "login from the free address",
        &sb.login_from(&sb.env("SANDBOX_FREE_IP")),
    );
}

/// What a logged-out visitor who is not blocked gets: pages are 200, `/wp-admin/` sends them
/// to the login form.
fn unblocked(path: &str) -> Expect {
    if path == "/wp-admin/" {
        Expect {
            status: 302,
            header: Some(("location", "/wp-login.php")),
            ..OK
        }
    } else {
        OK
    }
}
