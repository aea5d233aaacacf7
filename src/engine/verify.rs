//! After a rung: does the admin get in? Asked over HTTP as the caller, with patience, since
//! PHP may run a renamed file from opcache for a couple of seconds.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::http::HttpClient;
use crate::site::InvestigateOptions;
use crate::site::catalog::Catalog;
use crate::site::diagnosis::{Cause, diagnose};
use crate::site::probe::{
    LOGIN_PATH, is_logged_in, probe_site, shows_login_form, try_login, try_login_at_form,
};

use super::check::Web;

/// How long verification keeps asking: PHP may run a renamed file from opcache for ~2 s.
pub const VERIFY_FOR: Duration = Duration::from_secs(8);

/// How long PHP-FPM and CGI may go on using a `.user.ini` they read before: PHP's default
/// `user_ini.cache_ttl` (300 s), plus the usual patience.
pub const USER_INI_CACHE: Duration = Duration::from_secs(300 + 8);

/// Asks the site, as the caller, whether the admin gets in.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The site's address.
    pub url: String,
    /// How requests are made, and the login to try.
    pub options: InvestigateOptions,
    /// What block pages look like.
    pub catalog: Catalog,
}

impl Verifier {
    /// Whether success is proven by a real login (else by the pages answering).
    pub fn logs_in(&self) -> bool {
        self.options.login.is_some()
    }

    /// Asks until the site lets the admin in or `patience` passes ([`VERIFY_FOR`], or
    /// [`USER_INI_CACHE`] for a change PHP caches), or the user presses Ctrl-C. With a login
    /// to try, success means a real login; without, the pages answering. `login_at` is where
    /// a plugin moved the login page, when it did: the login form must answer there.
    pub fn admin_gets_in(&self, login_at: Option<&str>, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        // Most fixes show at once; opcache may hold an old file for a second or two.
        let mut pause = Duration::from_millis(200);
        loop {
            let mut client = HttpClient::new(&self.options.http);
            let recovered = match (&self.options.login, login_at) {
                (Some((user, password)), Some(path)) => {
                    try_login_at_form(&mut client, &self.url, path, user, password)
                        .is_ok_and(|response| response.is_some_and(|r| is_logged_in(&r)))
                }
                (Some((user, password)), None) => {
                    try_login(&mut client, &self.url, LOGIN_PATH, user, password)
                        .is_ok_and(|response| is_logged_in(&response))
                }
                (None, Some(path)) => shows_login_form(&client, &self.url, path),
                (None, None) => {
                    let probes = probe_site(&client, &self.url, &self.catalog);
                    diagnose(&probes, None, None, &self.catalog).cause == Cause::Reachable
                }
            };
            if recovered || Instant::now() >= deadline || crate::interrupt::requested() {
                return recovered;
            }
            sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_millis(1600));
        }
    }

    /// The site over HTTP for `http_check` steps.
    pub fn web(&self) -> Web {
        Web {
            base_url: self.url.clone(),
            http: self.options.http.clone(),
            patience: VERIFY_FOR,
        }
    }
}
