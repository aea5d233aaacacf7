//! Each sandbox scenario is a real lockout: both locked addresses see the exact status and block
//! marker that security-plugins.md records for the real plugin, the free address still gets in
//! wherever the real block is IP-specific, and `reset` gives every address its site back.

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

const OK: Expect = Expect::page(200, &[]);

impl Expect {
    /// A page with `status` whose body contains every marker.
    const fn page(status: u16, markers: &'static [&'static str]) -> Expect {
        Expect {
            status,
            markers,
            header: None,
            empty_body: false,
        }
    }
}

/// `scenario` refuses the locked addresses as `refuses` checks with `expect`, lets the free
/// address in, and a reset undoes it: a plugin's lockout of some addresses.
fn locks_out_the_locked_addresses(scenario: &str, refuses: fn(&Sandbox, &Expect), expect: &Expect) {
    let sb = Sandbox::lock();
    sb.scenario(scenario);
    refuses(&sb, expect);
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

/// `scenario` answers 500 to everyone for each of `paths`, and the error log holds every one
/// of `logged`: a server-level failure, before any plugin.
fn a_500_for_everyone_logged(scenario: &str, paths: &[&str], logged: &[&str]) {
    let sb = Sandbox::lock();
    sb.scenario(scenario);
    let expect = Expect { status: 500, ..OK };
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        for path in paths {
            check(
                &format!("GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                &expect,
            );
        }
    }
    let log = std::fs::read_to_string(format!("{}/error.log", sb.env("SANDBOX_LOGS"))).unwrap();
    assert!(
        logged.iter().all(|text| log.contains(text)),
        "error log: {log}"
    );
    assert_reset_recovers(&sb);
}

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

/// After `reset`, every address browses and logs in again.
fn assert_reset_recovers(sb: &Sandbox) {
    sb.reset();
    let [locked, other] = sb.locked_ips();
    for ip in [locked, other, sb.env("SANDBOX_FREE_IP")] {
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
    assert_every_path_from_everyone(&sb, &expect);
    assert_reset_recovers(&sb);
}

#[test]
fn broken_htaccess_is_a_500_for_everyone_and_the_error_log_names_the_directive() {
    a_500_for_everyone_logged(
        "broken-htaccess",
        &["/"],
        &[".htaccess: Invalid command 'ExpiresDefualt', perhaps misspelled"],
    );
}

#[test]
fn orphan_prepend_is_a_500_for_everyone_and_the_error_log_names_the_missing_file() {
    a_500_for_everyone_logged(
        "orphan-prepend",
        &["/", "/wp-login.php"],
        &["Failed opening required", "wordfence-waf.php"],
    );
}

#[test]
fn wordfence_block_limits_both_locked_addresses_everywhere() {
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
    // wp-admin scripts are skipped by the firewall; the plugin blocks them with its own page.
    let plugin_page = Expect {
        markers: &["Generated by Wordfence"],
        ..limited
    };
    for ip in sb.locked_ips() {
        for path in ["/", "/wp-login.php"] {
            check(
                &format!("GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                &limited,
            );
        }
        check(
            &format!("GET /wp-admin/ from {ip}"),
            &sb.get_from(&ip, "/wp-admin/"),
            &plugin_page,
        );
        check(
            &format!("a correct login from {ip}"),
            &sb.login_from(&ip),
            &limited,
        );
    }
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn solid_lockout_forbids_both_locked_addresses_everywhere() {
    locks_out_the_locked_addresses(
        "solid-lockout",
        assert_every_path_from_the_locked_addresses,
        &Expect::page(
            403,
            &[
                "<title>Forbidden</title>",
                "You have been locked out of this site",
                "lockout_screen",
            ],
        ),
    );
}

#[test]
fn aios_blacklist_answers_both_locked_addresses_with_an_empty_403() {
    locks_out_the_locked_addresses(
        "aios-blacklist",
        assert_every_path_from_the_locked_addresses,
        &Expect {
            empty_body: true,
            ..Expect::page(403, &[])
        },
    );
}

#[test]
fn aios_login_lockdown_shows_only_on_the_login_page() {
    locks_out_the_locked_addresses(
        "aios-login-lockdown",
        assert_only_the_login_page_refuses_the_locked_addresses,
        &Expect::page(
            503,
            &["Access from your IP address has been blocked for security reasons"],
        ),
    );
}

#[test]
fn llar_lockout_refuses_even_a_correct_password_but_every_get_is_200() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");
    let refused = Expect::page(200, &["Too many failed login attempts"]);
    for ip in sb.locked_ips() {
        for path in ["/", "/wp-login.php"] {
            let page = sb.get_from(&ip, path);
            check(&format!("GET {path} from {ip}"), &page, &OK);
            assert!(
                !page.contains(refused.markers[0]),
                "GET {path} from {ip}: {page:?}"
            );
        }
        check(
            &format!("a correct login from {ip}"),
            &sb.login_from(&ip),
            &refused,
        );
    }
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn loginizer_lockout_shows_on_the_login_form_and_refuses_a_correct_password() {
    let sb = Sandbox::lock();
    sb.scenario("loginizer-lockout");
    // WordPress runs the 'authenticate' filters for the bare form too, so a GET shows it.
    let refused = Expect::page(
        200,
        &[
            "You have exceeded maximum login retries",
            "Please try after 15 minute(s)",
            "id=\"loginform\"",
        ],
    );
    assert_only_the_login_page_refuses_the_locked_addresses(&sb, &refused);
    let form = sb.get_free("/wp-login.php");
    assert!(
        !form.contains(refused.markers[0]),
        "the free address: {form:?}"
    );
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn wps_hide_login_hides_the_login_page_from_everyone_but_serves_it_at_the_slug() {
    let sb = Sandbox::lock();
    sb.scenario("wps-hide-login");
    let not_found = Expect::page(404, &["Page not found"]);
    let to_not_found = Expect {
        status: 302,
        header: Some(("location", "/404/")),
        ..OK
    };
    let login_form = Expect {
        markers: &["id=\"loginform\""],
        ..OK
    };
    let form_action = format!("action=\"{}\"", sb.url("/secret-door/"));
    let [locked, other] = sb.locked_ips();
    // Not an address block: every address is in the same position.
    for ip in [locked, other, sb.env("SANDBOX_FREE_IP")] {
        check(&format!("GET / from {ip}"), &sb.get_from(&ip, "/"), &OK);
        check(
            &format!("GET /wp-login.php from {ip}"),
            &sb.get_from(&ip, "/wp-login.php"),
            &not_found,
        );
        check(
            &format!("a correct login at /wp-login.php from {ip}"),
            &sb.login_from(&ip),
            &not_found,
        );
        check(
            &format!("GET /wp-admin/ from {ip}"),
            &sb.get_from(&ip, "/wp-admin/"),
            &to_not_found,
        );
        check(
            &format!("GET /404/ from {ip}"),
            &sb.get_from(&ip, "/404/"),
            &not_found,
        );
        let form = sb.get_from(&ip, "/secret-door/");
        check(&format!("GET /secret-door/ from {ip}"), &form, &login_form);
        assert!(form.contains(&form_action), "no {form_action} in {form:?}");
        assert_logged_in(
            &format!("login at /secret-door/ from {ip}"),
            &sb.login_at(&ip, "/secret-door/"),
        );
    }
    assert_reset_recovers(&sb);
}

/// Both locked addresses browse `/`, but the login page and a correct login answer `expect`.
fn assert_only_the_login_page_refuses_the_locked_addresses(sb: &Sandbox, expect: &Expect) {
    for ip in sb.locked_ips() {
        check(&format!("GET / from {ip}"), &sb.get_from(&ip, "/"), &OK);
        check(
            &format!("GET /wp-login.php from {ip}"),
            &sb.get_from(&ip, "/wp-login.php"),
            expect,
        );
        check(
            &format!("a correct login from {ip}"),
            &sb.login_from(&ip),
            expect,
        );
    }
}

/// What every address gets, locked or not, for every path: a lockout of the whole site.
fn assert_every_path_from_everyone(sb: &Sandbox, expect: &Expect) {
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        for path in ["/", "/wp-login.php", "/wp-admin/"] {
            check(
                &format!("GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                expect,
            );
        }
    }
}

/// Both locked addresses get `expect` on every probe path.
fn assert_every_path_from_the_locked_addresses(sb: &Sandbox, expect: &Expect) {
    for ip in sb.locked_ips() {
        for path in ["/", "/wp-login.php", "/wp-admin/"] {
            check(
                &format!("GET {path} from {ip}"),
                &sb.get_from(&ip, path),
                expect,
            );
        }
    }
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

#[test]
fn a_hand_made_prepend_line_is_a_500_for_everyone_and_the_log_names_its_file() {
    a_500_for_everyone_logged(
        "orphan-prepend-line",
        &["/"],
        &["Failed opening required", "site-shield/loader.php"],
    );
}

#[test]
fn ninjafirewall_locks_the_login_page_for_everyone_behind_its_own_password_page() {
    let sb = Sandbox::lock();
    sb.scenario("ninjafirewall-lockout");
    let locked = Expect::page(401, &["Brute-force protection by NinjaFirewall"]);
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        check(&format!("GET / from {ip}"), &sb.get_from(&ip, "/"), &OK);
        let login = sb.get_from(&ip, "/wp-login.php");
        check(&format!("GET /wp-login.php from {ip}"), &login, &locked);
        assert_eq!(
            login.header("www-authenticate"),
            None,
            "its own page, no challenge"
        );
    }
    assert_reset_recovers(&sb);
}

#[test]
fn jetpack_locks_the_login_page_for_the_flagged_addresses_only() {
    locks_out_the_locked_addresses(
        "jetpack-protect",
        assert_only_the_login_page_refuses_the_locked_addresses,
        &Expect::page(
            500,
            &[
                "Jetpack has locked your site",
                "flagged for potential security violations",
            ],
        ),
    );
}

#[test]
fn defender_locks_out_both_addresses_everywhere() {
    locks_out_the_locked_addresses(
        "defender-lockout",
        assert_every_path_from_the_locked_addresses,
        &Expect::page(
            403,
            &["You have been locked out due to too many invalid login attempts"],
        ),
    );
}

#[test]
fn cerber_refuses_the_login_of_both_addresses_but_every_get_is_200() {
    let sb = Sandbox::lock();
    sb.scenario("cerber-lockout");
    const MARKER: [&str; 1] = ["You have exceeded the number of allowed login attempts"];
    for ip in sb.locked_ips() {
        check(&format!("GET / from {ip}"), &sb.get_from(&ip, "/"), &OK);
        let form = Expect {
            markers: &MARKER,
            ..OK
        };
        check(
            &format!("GET /wp-login.php from {ip}"),
            &sb.get_from(&ip, "/wp-login.php"),
            &form,
        );
        let refused = Expect::page(403, &MARKER);
        check(
            &format!("a correct login from {ip}"),
            &sb.login_from(&ip),
            &refused,
        );
    }
    assert_free_address_gets_in(&sb);
    assert_reset_recovers(&sb);
}

#[test]
fn shield_blocks_both_addresses_everywhere() {
    locks_out_the_locked_addresses(
        "shield-block",
        assert_every_path_from_the_locked_addresses,
        &Expect::page(
            503,
            &["Access from your IP address has been temporarily restricted"],
        ),
    );
}

#[test]
fn stuck_maintenance_is_a_503_with_retry_after_for_everyone() {
    let sb = Sandbox::lock();
    sb.scenario("stuck-maintenance");
    let expect = Expect {
        status: 503,
        markers: &["Briefly unavailable for scheduled maintenance"],
        header: Some(("retry-after", "600")),
        empty_body: false,
    };
    assert_every_path_from_everyone(&sb, &expect);
    assert_reset_recovers(&sb);
}

#[test]
fn a_wrong_site_address_sends_everyone_away() {
    let sb = Sandbox::lock();
    sb.scenario("wrong-site-address");
    for ip in [sb.env("SANDBOX_LOCKED_IP"), sb.env("SANDBOX_FREE_IP")] {
        let admin = sb.get_from(&ip, "/wp-admin/");
        assert_eq!(admin.status, 302, "{ip}: {admin:?}");
        assert!(
            admin
                .header("location")
                .is_some_and(|l| l.starts_with("http://old-domain.example/wp-login.php")),
            "{ip}: {admin:?}"
        );
        let front = sb.get_from(&ip, "/");
        assert_eq!(front.status, 301, "{ip}: {front:?}");
    }
    assert_reset_recovers(&sb);
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
