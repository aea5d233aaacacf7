//! The site: what is on the server (WordPress root, `wp-config.php`, `.htaccess`, security
//! plugins and their files) and what it answers over HTTP, put together into a diagnosis.
//!
//! [`investigate`] is the whole read-only pass: find WordPress under the target, read the few
//! files that matter ([`inventory`]), probe the site over HTTP as the caller ([`probe`]),
//! optionally try a real login, and name the cause ([`diagnosis`]).

pub mod catalog;
pub mod diagnosis;
pub mod discover;
pub mod inventory;
pub mod password;
pub mod probe;
pub mod signature;
pub mod stack;

use crate::http::{HttpClient, HttpOptions};
use crate::transport::{self, PathError, RemotePath, Transport};

use crate::parse::wp_config::ConfigValue;
use catalog::Catalog;
use diagnosis::{Diagnosis, LoginCheck};
use discover::WpRoot;
use inventory::Inventory;
use probe::PathProbe;

/// Why the site could not be examined.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// Reading the files failed.
    #[error(transparent)]
    Transport(#[from] transport::Error),
    /// A name on the server is not a usable path.
    #[error(transparent)]
    Path(#[from] PathError),
    /// No `wp-includes/version.php` anywhere wprescue looks.
    #[error("no WordPress found under {origin}")]
    NoWordPress {
        /// The target, for the message.
        origin: String,
    },
    /// More than one WordPress under the target, and none chosen.
    #[error("{} WordPress sites under {origin}: {}", sites.len(), sites.join(", "))]
    SeveralSites {
        /// The target.
        origin: String,
        /// Each site's folder, relative to the target.
        sites: Vec<String>,
    },
    /// `--site` names a folder that is not one of them.
    #[error("{wanted:?} is not a WordPress root under {origin}; found: {}", sites.join(", "))]
    NoSuchSite {
        /// The target.
        origin: String,
        /// What was asked for.
        wanted: String,
        /// What exists.
        sites: Vec<String>,
    },
    /// Neither `--url` nor a literal `WP_HOME`/`WP_SITEURL`.
    #[error("cannot tell the site's URL: wp-config.php sets no literal WP_HOME or WP_SITEURL")]
    NoUrl,
    /// A login was asked for but the HTTP exchange failed.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

impl SiteError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SiteError::Transport(e) => e.hint().map(str::to_owned),
            SiteError::NoWordPress { .. } => Some(
                "wprescue looks in the target folder, public_html, www, htdocs, httpdocs, domains/*/public_html and one level of subfolders; point the target at the folder holding wp-config.php or wp-includes/".into(),
            ),
            SiteError::SeveralSites { sites, .. } | SiteError::NoSuchSite { sites, .. } => {
                Some(format!("choose one with --site, e.g. --site {}", sites[0]))
            }
            SiteError::NoUrl => Some("give the address the admin uses, e.g. --url https://example.com".into()),
            SiteError::Path(_) | SiteError::Http(_) => None,
        }
    }
}

/// Where the site URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSource {
    /// `--url`.
    Flag,
    /// `WP_HOME` in wp-config.php.
    WpHome,
    /// `WP_SITEURL` in wp-config.php.
    WpSiteurl,
}

/// What [`investigate`] needs besides the connection.
#[derive(Debug, Clone, Default)]
pub struct InvestigateOptions {
    /// Which WordPress root, relative to the target, when there are several.
    pub site: Option<String>,
    /// The site's URL (`--url`); otherwise read from wp-config.php.
    pub url: Option<String>,
    /// How HTTP requests are made (local address, timeout).
    pub http: HttpOptions,
    /// A real login to try: `(user, password)`. Only ever the user's own credentials.
    pub login: Option<(String, String)>,
}

/// Everything one read-only pass found.
#[derive(Debug)]
pub struct Report {
    /// The target, for messages.
    pub origin: String,
    /// The site's URL and where it came from.
    pub url: (String, UrlSource),
    /// Files and settings.
    pub inventory: Inventory,
    /// HTTP probes as the caller.
    pub probes: Vec<PathProbe>,
    /// The real login, when asked for.
    pub login: Option<LoginCheck>,
    /// The verdict.
    pub diagnosis: Diagnosis,
}

/// Examines the site behind `t`: files, HTTP as the caller, and the verdict. Writes nothing.
pub fn investigate(
    t: &mut dyn Transport,
    catalog: &Catalog,
    options: &InvestigateOptions,
) -> Result<Report, SiteError> {
    let Surveyed {
        mut inventory,
        url,
        probes,
    } = survey_and_probe(t, catalog, options)?;
    let mut client = HttpClient::new(&options.http);
    inventory.read_logs(t)?;
    let login = match &options.login {
        Some((user, password)) => {
            let response =
                probe::try_login(&mut client, &url.0, probe::LOGIN_PATH, user, password)?;
            Some(LoginCheck {
                answerer: signature::recognise(&response, catalog),
                response,
            })
        }
        None => None,
    };
    let diagnosis = diagnosis::diagnose(&probes, login.as_ref(), Some(&inventory), catalog);
    let mut report = Report {
        origin: t.origin().to_owned(),
        url,
        inventory,
        probes,
        login,
        diagnosis,
    };
    // What the web stack hides from a fix made through the account (nginx, .user.ini caches).
    let stack_notes = stack::Stack::of(&report).notes();
    report.diagnosis.notes.extend(stack_notes);
    Ok(report)
}

/// What [`survey_and_probe`] found.
struct Surveyed {
    inventory: Inventory,
    url: (String, UrlSource),
    probes: Vec<PathProbe>,
}

/// The inventory, the site's URL and the HTTP probes. Given the URL, the probes go while
/// the files are read, each waiting on its own server; transports are told the site may have
/// changed once both are done, so what the survey read stays until then.
fn survey_and_probe(
    t: &mut dyn Transport,
    catalog: &Catalog,
    options: &InvestigateOptions,
) -> Result<Surveyed, SiteError> {
    let site = options.site.as_deref();
    let Some(flag) = options.url.as_deref() else {
        let inventory = survey(t, catalog, site)?;
        let url = site_url(None, &inventory)?;
        let probes = probe::probe_site(&HttpClient::new(&options.http), &url.0, catalog);
        return Ok(Surveyed {
            inventory,
            url,
            probes,
        });
    };
    let url = url_from_flag(flag);
    let client = HttpClient::new(&options.http).telling_nobody();
    let (inventory, probes) = std::thread::scope(|scope| {
        let probes = scope.spawn(|| probe::probe_site(&client, &url.0, catalog));
        let inventory = survey(t, catalog, site);
        let probes = probes
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (inventory, probes)
    });
    transport::site_may_have_changed();
    Ok(Surveyed {
        inventory: inventory?,
        url,
        probes,
    })
}

/// The files-only part of [`investigate`]: finds the WordPress root (`site` picks one of
/// several) and reads its inventory. No HTTP.
pub fn survey(
    t: &mut dyn Transport,
    catalog: &Catalog,
    site: Option<&str>,
) -> Result<Inventory, SiteError> {
    // One request for what discovery reads where the account has a shell; whatever it does
    // not bring is asked for below, one call at a time.
    if let Err(e) = t.prefetch(&discover::layout()) {
        tracing::debug!(error = %e, "prefetch failed; asking one path at a time");
    }
    let root = choose_root(t, site)?;
    Inventory::read(t, root, catalog)
}

fn choose_root(t: &mut dyn Transport, wanted: Option<&str>) -> Result<WpRoot, SiteError> {
    let mut roots = discover::find_wordpress(t)?;
    let origin = format!("{}{}", t.origin(), t.root());
    let names = |roots: &[WpRoot]| -> Vec<String> {
        roots
            .iter()
            .map(|r| {
                if r.path.is_root() {
                    ".".to_owned()
                } else {
                    r.path.as_str().to_owned()
                }
            })
            .collect()
    };
    match (wanted, roots.len()) {
        (_, 0) => Err(SiteError::NoWordPress { origin }),
        (None, 1) => Ok(roots.remove(0)),
        (None, _) => Err(SiteError::SeveralSites {
            origin,
            sites: names(&roots),
        }),
        (Some(wanted), _) => {
            let path = RemotePath::new(if wanted == "." { "" } else { wanted })?;
            match roots.iter().position(|r| r.path == path) {
                Some(i) => Ok(roots.remove(i)),
                None => Err(SiteError::NoSuchSite {
                    origin,
                    wanted: wanted.to_owned(),
                    sites: names(&roots),
                }),
            }
        }
    }
}

/// The site's address as `--url` gives it.
fn url_from_flag(flag: &str) -> (String, UrlSource) {
    (flag.trim_end_matches('/').to_owned(), UrlSource::Flag)
}

/// The site's address: `flag` (`--url`) if given, else a literal `WP_HOME` or `WP_SITEURL`
/// from wp-config.php.
pub fn site_url(
    flag: Option<&str>,
    inventory: &Inventory,
) -> Result<(String, UrlSource), SiteError> {
    if let Some(url) = flag {
        return Ok(url_from_flag(url));
    }
    let from_config = |name: &str| match inventory.config.as_ref()?.get(name)? {
        ConfigValue::Str(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Some(url.trim_end_matches('/').to_owned())
        }
        _ => None,
    };
    from_config("WP_HOME")
        .map(|u| (u, UrlSource::WpHome))
        .or_else(|| from_config("WP_SITEURL").map(|u| (u, UrlSource::WpSiteurl)))
        .ok_or(SiteError::NoUrl)
}
