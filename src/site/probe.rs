//! Looking at the site over HTTP as the caller: `/`, `/wp-login.php` and `/wp-admin/`, each
//! followed through a few same-host redirects, every answer named by [`recognise`].
//!
//! Probes only read. They never post a login with made-up credentials: every security plugin
//! counts failed logins per address, so a probe that failed a login would extend the very
//! lockout it is looking at. A real login is tried only with credentials the user supplies
//! ([`try_login`]).

use crate::http::{HttpClient, HttpError, Response};
use crate::site::catalog::Catalog;
use crate::site::signature::{Answerer, recognise};

/// The paths a locked-out admin cares about.
pub const PROBE_PATHS: [&str; 3] = ["/", LOGIN_PATH, "/wp-admin/"];

/// WordPress's own login page.
pub const LOGIN_PATH: &str = "/wp-login.php";

/// Redirects followed per path; WordPress needs two at most (`/wp-admin/` → login form).
const MAX_REDIRECTS: usize = 3;

/// One request and who answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// The answer.
    pub response: Response,
    /// Who produced it.
    pub answerer: Answerer,
}

/// A path and the chain of answers it led to.
#[derive(Debug)]
pub struct PathProbe {
    /// The path probed, e.g. `/wp-login.php`.
    pub path: String,
    /// Each request made, the first for `path`, then one per redirect followed.
    pub hops: Vec<Hop>,
    /// Why the chain stopped early, if a request failed.
    pub error: Option<HttpError>,
}

impl PathProbe {
    /// The last answer received.
    pub fn last(&self) -> Option<&Hop> {
        self.hops.last()
    }

    /// The status of the last answer.
    pub fn final_status(&self) -> Option<u16> {
        self.last().map(|h| h.response.status)
    }

    /// Where the site sends this path when it never answers it here: a redirect to another
    /// host (WordPress's home address set to an old domain), or one redirect after another
    /// on the same host (`http` and `https` sending to each other).
    pub fn sent_away(&self) -> Option<SentAway> {
        let first = self.hops.first()?;
        let last = self.last()?;
        let to = redirect_target(&last.response)?;
        if !same_host(&to, &first.response.url) {
            Some(SentAway::OtherHost(to))
        } else if self.hops.len() > MAX_REDIRECTS {
            Some(SentAway::Loop(to))
        } else {
            None
        }
    }
}

/// Where a path's redirects lead when they never reach a page: see [`PathProbe::sent_away`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentAway {
    /// To this address, on another host.
    OtherHost(String),
    /// Round and round; the last redirect pointed here.
    Loop(String),
}

/// Probes each of [`PROBE_PATHS`] under `base_url` (the site URL, no trailing slash needed),
/// naming block pages from `catalog`. The paths are probed side by side: each costs at least
/// two round trips (connect, request), and none depends on another.
pub fn probe_site(client: &HttpClient, base_url: &str, catalog: &Catalog) -> Vec<PathProbe> {
    let base = base_url.trim_end_matches('/');
    std::thread::scope(|scope| {
        let probes: Vec<_> = PROBE_PATHS
            .iter()
            .map(|path| scope.spawn(move || follow(client, base, path, catalog)))
            .collect();
        probes
            .into_iter()
            .map(|probe| {
                probe
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    })
}

fn follow(client: &HttpClient, base: &str, path: &str, catalog: &Catalog) -> PathProbe {
    let mut probe = PathProbe {
        path: path.to_owned(),
        hops: Vec::new(),
        error: None,
    };
    let mut url = format!("{base}{path}");
    loop {
        let response = match client.get(&url) {
            Ok(response) => response,
            Err(e) => {
                probe.error = Some(e);
                return probe;
            }
        };
        let next = redirect_target(&response).filter(|next| same_host(next, base));
        probe.hops.push(Hop {
            answerer: recognise(&response, catalog),
            response,
        });
        match next {
            Some(next) if probe.hops.len() <= MAX_REDIRECTS => url = next,
            _ => return probe,
        }
    }
}

/// A real login with the user's own credentials. The answer tells recovery apart from a
/// lockout that only shows on login (Limit Login Attempts, AIOS lockdown): see
/// [`is_logged_in`].
pub fn try_login(
    client: &mut HttpClient,
    base_url: &str,
    login_path: &str,
    user: &str,
    password: &str,
) -> Result<Response, HttpError> {
    let base = base_url.trim_end_matches('/');
    let url = format!("{base}{login_path}");
    post_login(client, base, &url, user, password)
}

/// [`try_login`] on a login page a plugin moved, as a browser does it: the page is opened
/// (through the plugin's same-host redirects) and its form posted where it says; `Ok(None)`
/// when no login form answers at `path`.
pub fn try_login_at_form(
    client: &mut HttpClient,
    base_url: &str,
    path: &str,
    user: &str,
    password: &str,
) -> Result<Option<Response>, HttpError> {
    let base = base_url.trim_end_matches('/');
    let Some(action) = login_form(client, base, path)? else {
        return Ok(None);
    };
    post_login(client, base, &action, user, password).map(Some)
}

/// Where the login form at `path` posts to, when `path` (after same-host redirects) shows
/// WordPress's login form: its `loginform`'s action, if on the same host, else the page.
pub fn login_form(
    client: &HttpClient,
    base: &str,
    path: &str,
) -> Result<Option<String>, HttpError> {
    let mut probe = follow(client, base, path, &Catalog::default());
    let Some(hop) = probe.hops.pop() else {
        return match probe.error {
            Some(e) => Err(e),
            None => Ok(None),
        };
    };
    let page = hop.response;
    let is_form =
        page.status == 200 && page.contains("name=\"log\"") && page.contains("name=\"pwd\"");
    if !is_form {
        return Ok(None);
    }
    let action = form_action(&page.body, "loginform")
        .map(|a| resolve(&page.url, &a))
        .filter(|a| same_host(a, base));
    Ok(Some(action.unwrap_or(page.url)))
}

/// The `action` of the form whose id is `id`, with HTML's `&amp;` undone.
fn form_action(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind("<form")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let value = tag.split("action=\"").nth(1)?.split('"').next()?;
    Some(value.replace("&amp;", "&").replace("&#038;", "&"))
}

/// `link` as an absolute address, relative to the page at `page_url`.
fn resolve(page_url: &str, link: &str) -> String {
    if link.starts_with("http://") || link.starts_with("https://") {
        link.to_owned()
    } else if link.starts_with('/') {
        format!("{}{link}", origin(page_url).unwrap_or_default())
    } else {
        let dir = page_url.rsplit_once('/').map_or(page_url, |(d, _)| d);
        format!("{dir}/{link}")
    }
}

/// The login form's fields, posted to `url`; `base` is the site, for the redirect back in.
fn post_login(
    client: &mut HttpClient,
    base: &str,
    url: &str,
    user: &str,
    password: &str,
) -> Result<Response, HttpError> {
    // WordPress refuses a login without its test cookie ("cookies are blocked").
    client.set_cookie("wordpress_test_cookie", "WP%20Cookie%20check");
    let admin = format!("{base}/wp-admin/");
    let form = [
        ("log", user),
        ("pwd", password),
        ("wp-submit", "Log In"),
        ("redirect_to", admin.as_str()),
        ("testcookie", "1"),
    ];
    client.post_form(url, &form)
}

/// Whether `path` answers WordPress's login form (a moved login page, where the admin is
/// told to log in).
pub fn shows_login_form(client: &HttpClient, base_url: &str, path: &str) -> bool {
    login_form(client, base_url.trim_end_matches('/'), path).is_ok_and(|form| form.is_some())
}

/// Whether a login answer is a successful WordPress login.
pub fn is_logged_in(response: &Response) -> bool {
    let into_admin = (300..400).contains(&response.status)
        && response
            .header("location")
            .is_some_and(|l| l.contains("/wp-admin"));
    let cookie = response
        .headers
        .iter()
        .any(|(n, v)| n == "set-cookie" && v.starts_with("wordpress_logged_in_"));
    into_admin && cookie
}

/// The absolute URL a redirect points to.
fn redirect_target(response: &Response) -> Option<String> {
    if !(300..400).contains(&response.status) {
        return None;
    }
    Some(resolve(&response.url, response.header("location")?))
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

/// The same site: the same host name, and the same port unless the scheme changes
/// (`http://x:8080` → `https://x` is followed, `http://x:8080` → `http://x` is not: that is
/// another server). Hosts are compared as the HTTP client parses them, so a `Location` that
/// only looks like the site (`http://other:81#@site/`, another IPv6 literal) is another host;
/// one that does not parse is never followed.
fn same_host(a: &str, b: &str) -> bool {
    let parts = |url: &str| {
        let uri = ureq::http::Uri::try_from(url).ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        });
        Some((uri.host()?.to_ascii_lowercase(), scheme, port))
    };
    match (parts(a), parts(b)) {
        (Some((host_a, scheme_a, port_a)), Some((host_b, scheme_b, port_b))) => {
            host_a == host_b && (scheme_a != scheme_b || port_a == port_b)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(url: &str, location: &str) -> Response {
        Response {
            url: url.into(),
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: String::new(),
        }
    }

    #[test]
    fn a_login_form_posts_where_its_action_says() {
        let html = r#"<form name="other" action="/search"></form><form name="loginform" id="loginform" action="http://x/wp-login.php?itsec-hb-token=door&amp;a=1" method="post">"#;
        assert_eq!(
            form_action(html, "loginform").as_deref(),
            Some("http://x/wp-login.php?itsec-hb-token=door&a=1")
        );
        assert_eq!(form_action("<form id=\"loginform\">", "loginform"), None);
        assert_eq!(resolve("http://x:8/a/b", "/c"), "http://x:8/c");
        assert_eq!(resolve("http://x:8/a/b", "c"), "http://x:8/a/c");
        assert_eq!(resolve("http://x:8/a/b", "https://y/"), "https://y/");
    }

    #[test]
    fn redirect_targets_resolve_against_the_request() {
        let base = "http://127.0.0.10:18080/wp-admin/";
        assert_eq!(
            redirect_target(&redirect(
                base,
                "http://127.0.0.10:18080/wp-login.php?reauth=1"
            ))
            .as_deref(),
            Some("http://127.0.0.10:18080/wp-login.php?reauth=1")
        );
        assert_eq!(
            redirect_target(&redirect(base, "/wp-login.php")).as_deref(),
            Some("http://127.0.0.10:18080/wp-login.php")
        );
        assert_eq!(
            redirect_target(&redirect(base, "index.php")).as_deref(),
            Some("http://127.0.0.10:18080/wp-admin/index.php")
        );
        let mut ok = redirect(base, "/x");
        ok.status = 200;
        assert_eq!(redirect_target(&ok), None);
    }

    #[test]
    fn only_the_same_host_is_followed() {
        assert!(same_host(
            "https://example.com/wp-login.php",
            "http://example.com:8080"
        ));
        assert!(same_host("http://example.com:80/", "http://example.com"));
        assert!(same_host("http://user@Example.com/", "http://example.com"));
        assert!(!same_host("https://evil.example/", "http://example.com"));
        assert!(!same_host("not a url", "http://example.com"));
        // Looks like the site to a naive reading; is not.
        assert!(!same_host(
            "http://evil.example:81#@example.com/",
            "http://example.com"
        ));
        assert!(!same_host(
            "http://evil.example\\@example.com/",
            "http://example.com"
        ));
        assert!(same_host("https://[::1]/x", "http://[::1]:8080/"));
        assert!(
            !same_host("http://[::1]/x", "http://[::1]:8080/"),
            "another server"
        );
        assert!(!same_host("http://[::2]/x", "http://[::1]/"));
    }

    #[test]
    fn a_chain_that_leaves_the_host_or_goes_round_is_sent_away() {
        let hop = |response: Response| Hop {
            answerer: Answerer::Unrecognised,
            response,
        };
        let probe = |hops: Vec<Response>| PathProbe {
            path: "/".into(),
            hops: hops.into_iter().map(hop).collect(),
            error: None,
        };
        let away = probe(vec![redirect("http://site/", "http://old.example/")]);
        assert_eq!(
            away.sent_away(),
            Some(SentAway::OtherHost("http://old.example/".into()))
        );
        let mut page = redirect("https://site/wp-login.php", "");
        page.status = 200;
        let upgraded = probe(vec![
            redirect("http://site/wp-login.php", "https://site/wp-login.php"),
            page,
        ]);
        assert_eq!(
            upgraded.sent_away(),
            None,
            "http to https on the same host is fine"
        );
        let round: Vec<_> = (0..=MAX_REDIRECTS)
            .map(|i| {
                let (from, to) = if i % 2 == 0 {
                    ("http", "https")
                } else {
                    ("https", "http")
                };
                redirect(&format!("{from}://site/"), &format!("{to}://site/"))
            })
            .collect();
        assert!(matches!(probe(round).sent_away(), Some(SentAway::Loop(_))));
    }

    #[test]
    fn a_login_is_a_redirect_into_wp_admin_with_the_cookie() {
        let mut response = redirect("http://x/wp-login.php", "http://x/wp-admin/");
        assert!(!is_logged_in(&response), "no cookie yet");
        response.headers.push((
            "set-cookie".into(),
            "wordpress_logged_in_abc=admin%7C1; path=/".into(),
        ));
        assert!(is_logged_in(&response));
        response.status = 200;
        assert!(!is_logged_in(&response));
    }
}
