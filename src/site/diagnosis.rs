//! Naming the cause of a lockout from what the web answered (as the caller) and what the files
//! say, with the evidence for it.
//!
//! The causes are a small, fixed set (see [`Cause::code`] for their stable names). 401 and
//! 403 mean different things, as in HTTP: 401 is "who are you?" (a password prompt, from
//! Apache or a plugin), 403 is "you may not" (a block by address).

use crate::http::Response;

use super::catalog::{Catalog, LockoutScope};
use super::inventory::{Inventory, PluginState, Presence};
use super::probe::{PathProbe, SentAway, is_logged_in};
use super::signature::{Answerer, basic_realm};

/// Why the admin cannot get in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The web server asks every visitor for a password: 401 with a realm (Apache's
    /// `.htaccess` + `.htpasswd`, or the server's own configuration, as nginx keeps it).
    ServerPassword {
        /// The realm the browser shows.
        realm: Option<String>,
    },
    /// A plugin's PHP password prompt (AIOS): 401 without a realm.
    PluginPassword {
        /// The plugin, when one that can do it is installed.
        plugin: Option<String>,
    },
    /// A security plugin blocks the caller (block page, lockout, refused login).
    PluginBlock {
        /// Catalog id.
        plugin: String,
    },
    /// A `Deny`/`Require not ip` rule in `.htaccess` answers Apache's plain 403.
    HtaccessDeny {
        /// The marker block holding the rule, if any.
        block: Option<String>,
    },
    /// `auto_prepend_file` names a file that is gone: every PHP request fails (500).
    BrokenPrepend {
        /// The missing file as configured.
        target: String,
    },
    /// A 500 for another reason (a broken `.htaccess`, a PHP fatal).
    ServerError,
    /// The right password leads to a plugin's prompt for a second factor (a code from an app
    /// on a lost phone).
    TwoFactor {
        /// Catalog id.
        plugin: String,
    },
    /// The site sends its pages elsewhere: WordPress's address (`home`, `siteurl`, or
    /// `WP_HOME`/`WP_SITEURL`) names an old domain, or `http` where the server forces `https`
    /// (a redirect loop).
    WrongSiteAddress {
        /// Where it sends them (the last redirect's target).
        sends_to: String,
        /// Whether the redirects go round instead of leaving.
        looping: bool,
    },
    /// WordPress answers every page with its 503 maintenance page: a `.maintenance` file in
    /// its root, left behind by an update that did not finish.
    Maintenance,
    /// `wp-login.php` answers 404 because a plugin moved the login page.
    HiddenLogin {
        /// Catalog id.
        plugin: String,
    },
    /// Nothing is in the way.
    Reachable,
    /// The answers fit none of the above.
    Unknown,
}

/// Every cause code, as [`Cause::code`] spells them.
pub const CAUSE_CODES: [&str; 12] = [
    "server-password",
    "plugin-password",
    "plugin-block",
    "htaccess-deny",
    "broken-prepend",
    "server-error",
    "two-factor",
    "wrong-site-address",
    "maintenance",
    "hidden-login",
    "reachable",
    "unknown",
];

impl Cause {
    /// The cause's stable name, used in `--json` output and documented in `--help`.
    pub fn code(&self) -> &'static str {
        match self {
            Cause::ServerPassword { .. } => "server-password",
            Cause::PluginPassword { .. } => "plugin-password",
            Cause::PluginBlock { .. } => "plugin-block",
            Cause::HtaccessDeny { .. } => "htaccess-deny",
            Cause::BrokenPrepend { .. } => "broken-prepend",
            Cause::ServerError => "server-error",
            Cause::TwoFactor { .. } => "two-factor",
            Cause::WrongSiteAddress { .. } => "wrong-site-address",
            Cause::Maintenance => "maintenance",
            Cause::HiddenLogin { .. } => "hidden-login",
            Cause::Reachable => "reachable",
            Cause::Unknown => "unknown",
        }
    }

    /// Whether this keeps the admin out.
    pub fn is_lockout(&self) -> bool {
        !matches!(self, Cause::Reachable)
    }

    /// The plugin involved, if any.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Cause::PluginBlock { plugin }
            | Cause::HiddenLogin { plugin }
            | Cause::TwoFactor { plugin } => Some(plugin),
            Cause::PluginPassword { plugin } => plugin.as_deref(),
            _ => None,
        }
    }
}

/// The verdict and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The cause.
    pub cause: Cause,
    /// One line per fact that supports it.
    pub evidence: Vec<String>,
    /// Caveats: what could not be checked and why.
    pub notes: Vec<String>,
}

/// The outcome of a real login with the user's credentials.
#[derive(Debug, Clone)]
pub struct LoginCheck {
    /// The answer to the login POST.
    pub response: Response,
    /// Who answered.
    pub answerer: Answerer,
}

/// Names the cause from the HTTP probes, an optional real login and the file inventory.
pub fn diagnose(
    probes: &[PathProbe],
    login: Option<&LoginCheck>,
    inventory: Option<&Inventory>,
    catalog: &Catalog,
) -> Diagnosis {
    let mut d = Diagnosis {
        cause: Cause::Unknown,
        evidence: Vec::new(),
        notes: Vec::new(),
    };
    for probe in probes {
        match (probe.last(), &probe.error) {
            (Some(hop), _) => d.evidence.push(format!(
                "GET {} -> {} ({})",
                probe.path,
                hop.response.status,
                hop.answerer.describe(catalog)
            )),
            (None, Some(error)) => d
                .evidence
                .push(format!("GET {} failed: {error}", probe.path)),
            (None, None) => {}
        }
    }
    if let Some(login) = login {
        let answerer = match code_prompt_plugin(login, inventory, catalog) {
            Some(plugin) => Answerer::CodePrompt(plugin),
            None => login.answerer.clone(),
        };
        d.evidence.push(format!(
            "login as the given user -> {} ({})",
            login.response.status,
            if is_logged_in(&login.response) {
                "logged in".to_owned()
            } else {
                answerer.describe(catalog)
            }
        ));
    }
    d.cause = classify(probes, login, inventory, catalog, &mut d.evidence);
    if let Some(inventory) = inventory {
        add_file_evidence(&mut d, inventory, catalog);
    }
    if let Cause::WrongSiteAddress {
        sends_to,
        looping: false,
    } = &d.cause
    {
        let site = super::probe::origin(sends_to).unwrap_or(sends_to);
        d.notes.push(format!(
            "if the site now lives at {site}, run again with --url {site}: unlock sets WordPress's address to the --url given"
        ));
    }
    if d.cause == Cause::Reachable && login.is_none() {
        let login_only: Vec<&str> = catalog
            .plugins
            .iter()
            .filter(|p| p.lockout_shows_on == LockoutScope::Login)
            .filter(|p| inventory.is_none_or(|inv| inv.has_plugin(&p.id)))
            .map(|p| p.name.as_str())
            .collect();
        if !login_only.is_empty() {
            d.notes.push(format!(
                "pages load, but a lockout by {} only shows on a real login: run again with --login USER to check it",
                login_only.join(" or ")
            ));
        }
    }
    d
}

fn classify(
    probes: &[PathProbe],
    login: Option<&LoginCheck>,
    inventory: Option<&Inventory>,
    catalog: &Catalog,
    evidence: &mut Vec<String>,
) -> Cause {
    let finals: Vec<(&str, &Response, &Answerer)> = probes
        .iter()
        .filter_map(|p| {
            p.last()
                .map(|h| (p.path.as_str(), &h.response, &h.answerer))
        })
        .collect();
    let all_answers = finals
        .iter()
        .map(|(_, r, a)| (*r, *a))
        .chain(login.map(|l| (&l.response, &l.answerer)));

    // A server password stops everything before WordPress runs.
    if let Some((_, response, _)) = finals
        .iter()
        .find(|(_, _, a)| **a == Answerer::ServerBasicAuth)
    {
        return Cause::ServerPassword {
            realm: basic_realm(response),
        };
    }
    if finals
        .iter()
        .any(|(_, _, a)| **a == Answerer::PluginPasswordPrompt)
    {
        let plugin = inventory.and_then(|inv| {
            catalog
                .plugins
                .iter()
                .find(|p| p.id.contains("all-in-one") && inv.has_plugin(&p.id))
                .map(|p| p.id.clone())
        });
        return Cause::PluginPassword { plugin };
    }
    // A plugin's own page may come with a 500 (Jetpack's blocked login): it is a block.
    if finals
        .iter()
        .any(|(_, r, a)| r.status == 500 && !matches!(a, Answerer::Plugin(_)))
    {
        return server_error_cause(inventory, evidence);
    }
    // A theme may replace the page (wp-content/maintenance.php): then the file and the 503
    // tell it.
    let maintenance_file = inventory.is_some_and(|inv| inv.maintenance.is_some());
    if finals.iter().any(|(_, r, a)| {
        **a == Answerer::WordPressMaintenance || (maintenance_file && r.status == 503)
    }) {
        return Cause::Maintenance;
    }
    for (response, answerer) in all_answers {
        if let Answerer::Plugin(id) = answerer
            && !is_logged_in(response)
        {
            return Cause::PluginBlock { plugin: id.clone() };
        }
    }
    if let Some(plugin) = login.and_then(|l| code_prompt_plugin(l, inventory, catalog)) {
        return Cause::TwoFactor { plugin };
    }
    // A plugin that moves the login page may forbid wp-admin as well (AIOS answers 403): the
    // missing login page says more than the 403.
    let login_page_missing = finals
        .iter()
        .any(|(path, r, _)| *path == "/wp-login.php" && r.status == 404);
    let hider = inventory.and_then(|inv| {
        catalog
            .plugins
            .iter()
            .find(|p| p.hides_login && inv.has_plugin(&p.id))
    });
    if let (true, Some(plugin)) = (login_page_missing, hider) {
        return Cause::HiddenLogin {
            plugin: plugin.id.clone(),
        };
    }
    if finals.iter().any(|(_, r, _)| r.status == 403) {
        let block = inventory.and_then(|inv| {
            inv.blocks
                .iter()
                .find(|b| b.file.file_name() == Some(".htaccess") && b.plugin.is_some())
                .map(|b| b.label.clone())
        });
        return Cause::HtaccessDeny { block };
    }
    // The front page and one of the admin's pages sent away is the site's address, not one
    // odd redirect.
    let sent_away: Vec<(&PathProbe, SentAway)> = probes
        .iter()
        .filter_map(|p| Some((p, p.sent_away()?)))
        .collect();
    if sent_away.len() >= 2 && sent_away.iter().any(|(p, _)| p.path == "/") {
        for (probe, away) in &sent_away {
            evidence.push(match away {
                SentAway::OtherHost(to) => {
                    format!("GET {} is sent to {to}, another host", probe.path)
                }
                SentAway::Loop(to) => format!(
                    "GET {} redirects round and round (last to {to})",
                    probe.path
                ),
            });
        }
        // wp-admin's redirect is built from WordPress's own address: the best witness.
        let (sends_to, looping) = match &sent_away[sent_away.len() - 1].1 {
            SentAway::OtherHost(to) => (to.clone(), false),
            SentAway::Loop(to) => (to.clone(), true),
        };
        return Cause::WrongSiteAddress { sends_to, looping };
    }
    if login_page_missing {
        return Cause::Unknown;
    }
    let pages_ok = !finals.is_empty() && finals.iter().all(|(_, r, _)| r.status == 200);
    match login {
        Some(login) if is_logged_in(&login.response) => Cause::Reachable,
        Some(_) => Cause::Unknown,
        None if pages_ok => Cause::Reachable,
        None => Cause::Unknown,
    }
}

/// The plugin whose code prompt answered the login, if one did. Plugins that grew from one
/// another share a code page: the installed one asked.
fn code_prompt_plugin(
    login: &LoginCheck,
    inventory: Option<&Inventory>,
    catalog: &Catalog,
) -> Option<String> {
    let Answerer::CodePrompt(first) = &login.answerer else {
        return None;
    };
    let installed = inventory.and_then(|inv| {
        catalog
            .plugins
            .iter()
            .filter(|p| p.code_prompts.iter().any(|s| s.matches(&login.response)))
            .find(|p| inv.has_plugin(&p.id))
    });
    Some(installed.map_or_else(|| first.clone(), |p| p.id.clone()))
}

fn server_error_cause(inventory: Option<&Inventory>, evidence: &mut Vec<String>) -> Cause {
    let Some(inventory) = inventory else {
        return Cause::ServerError;
    };
    if let Some(prepend) = inventory
        .prepends
        .iter()
        .find(|p| matches!(p.presence, Presence::Missing(_)))
    {
        evidence.push(format!(
            "{}:{} sets auto_prepend_file to {}, which does not exist: PHP fails every request",
            prepend.file.as_str(),
            prepend.line,
            prepend.target
        ));
        return Cause::BrokenPrepend {
            target: prepend.target.clone(),
        };
    }
    // With a 500 in hand, a problem Apache only *may* refuse is a likely culprit too.
    for problem in &inventory.htaccess_problems {
        evidence.push(format!(
            "{}/.htaccess:{}: {}",
            inventory.root.path.as_str(),
            problem.line,
            problem.message
        ));
    }
    Cause::ServerError
}

fn add_file_evidence(d: &mut Diagnosis, inventory: &Inventory, catalog: &Catalog) {
    if let Some(plugin) = d.cause.plugin() {
        for found in inventory.plugins.iter().filter(|p| p.id == plugin) {
            let state = match found.state {
                PluginState::Installed => "in place",
                PluginState::RenamedAway => "renamed away",
            };
            d.evidence
                .push(format!("plugin folder {} ({state})", found.folder.as_str()));
        }
        for file in inventory
            .outside_files
            .iter()
            .filter(|f| f.plugin == plugin && f.exists)
        {
            d.evidence.push(format!(
                "its file outside the plugin folder: {}",
                file.path.as_str()
            ));
        }
        for block in inventory
            .blocks
            .iter()
            .filter(|b| b.plugin.as_deref() == Some(plugin))
        {
            d.evidence.push(format!(
                "its block \"{}\" in {} (lines {}-{})",
                block.label,
                block.file.as_str(),
                block.lines.0,
                block.lines.1
            ));
        }
        if let Some(config) = &inventory.config
            && let Some(spec) = catalog.get(plugin)
        {
            for constant in config
                .constants
                .iter()
                .filter(|c| spec.constants.contains(&c.name))
            {
                d.evidence.push(format!(
                    "wp-config.php line {} defines {} = {}",
                    constant.line, constant.name, constant.value
                ));
            }
        }
        if let Some(spec) = catalog.get(plugin)
            && !inventory.has_plugin(plugin)
        {
            d.notes.push(format!(
                "{} answered, but its folder is not under {}",
                spec.name,
                inventory.plugins_dir.as_str()
            ));
        }
    }
    if let Cause::ServerPassword { .. } = d.cause
        && let Some(password) = &inventory.server_password
    {
        d.evidence.push(format!(
            "{} lines {:?}: AuthType {}, AuthUserFile {}",
            password.file.as_str(),
            password.auth.lines,
            password.auth.auth_type,
            password.auth.user_file.as_deref().unwrap_or("(none)")
        ));
        if let Some(Presence::Missing(path)) = &password.user_file {
            d.evidence.push(format!(
                "the password file {} is missing: nobody can log in",
                path.as_str()
            ));
        }
    }
    if d.cause == Cause::Maintenance
        && let Some(maintenance) = &inventory.maintenance
    {
        d.evidence.push(match maintenance.started {
            None => format!(
                "{} computes its start time (e.g. time()) instead of holding one: it never ages, so WordPress stays in maintenance mode until the file goes",
                maintenance.file.as_str()
            ),
            Some(at) => format!(
                "{} says an update started at {} (Unix time {at}): WordPress ignores it 10 minutes after that",
                maintenance.file.as_str(),
                crate::parse::time::utc(at)
            ),
        });
        if maintenance.started.is_some() {
            d.notes.push(
                "if an update is running right now, let it finish before setting .maintenance aside".into(),
            );
        }
    }
    if d.cause.is_lockout() {
        for log in &inventory.logs {
            if let Some(last) = log.lines.last() {
                d.evidence.push(format!("{}: {}", log.file.as_str(), last));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::catalog::tests::sample;
    use crate::site::probe::Hop;
    use crate::site::signature::recognise;

    /// A probe whose final answer is `status` + `body` (+ headers).
    fn probe(path: &str, status: u16, headers: &[(&str, &str)], body: &str) -> PathProbe {
        let url = format!("http://127.0.0.10:18080{path}");
        let response = crate::http::sample_response(&url, status, headers, body);
        PathProbe {
            path: path.into(),
            hops: vec![Hop {
                answerer: recognise(&response, &sample()),
                response,
            }],
            error: None,
        }
    }

    fn all(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<PathProbe> {
        ["/", "/wp-login.php", "/wp-admin/"]
            .iter()
            .map(|p| probe(p, status, headers, body))
            .collect()
    }

    fn cause(probes: &[PathProbe]) -> Cause {
        diagnose(probes, None, None, &sample()).cause
    }

    #[test]
    fn recorded_answers_name_their_causes() {
        assert_eq!(
            cause(&all(
                401,
                &[("www-authenticate", "Basic realm=\"Restricted Area\"")],
                ""
            )),
            Cause::ServerPassword {
                realm: Some("Restricted Area".into())
            }
        );
        assert_eq!(
            cause(&all(
                401,
                &[("www-authenticate", "Basic charset=\"UTF-8\"")],
                "<h1>Unauthorized</h1>"
            )),
            Cause::PluginPassword { plugin: None }
        );
        assert_eq!(
            cause(&all(
                503,
                &[("retry-after", "600")],
                "Generated by Wordfence"
            )),
            Cause::PluginBlock {
                plugin: "wordfence".into()
            }
        );
        assert_eq!(
            cause(&all(403, &[], "<body id=\"lockout_screen\">")),
            Cause::PluginBlock {
                plugin: "solid-security".into()
            }
        );
        assert_eq!(
            cause(&all(
                403,
                &[],
                "You don't have permission to access this resource."
            )),
            Cause::HtaccessDeny { block: None }
        );
        assert_eq!(cause(&all(500, &[], "")), Cause::ServerError);
        assert_eq!(cause(&all(200, &[], "<html>")), Cause::Reachable);
    }

    #[test]
    fn a_block_on_the_login_page_only_is_still_a_block() {
        let probes = vec![
            probe("/", 200, &[], "<html>"),
            probe("/wp-login.php", 503, &[], "Generated by Wordfence"),
            probe("/wp-admin/", 200, &[], "<form>"),
        ];
        assert_eq!(
            cause(&probes),
            Cause::PluginBlock {
                plugin: "wordfence".into()
            }
        );
    }

    #[test]
    fn a_refused_login_names_the_plugin_and_a_good_one_says_reachable() {
        let mut catalog = sample();
        catalog.plugins.push(crate::site::catalog::PluginSpec {
            id: "llar".into(),
            name: "Limit Login Attempts Reloaded".into(),
            folders: vec!["limit-login-attempts-reloaded".into()],
            files: vec![],
            markers: vec![],
            constants: vec![],
            block_pages: vec![crate::site::catalog::PageSignature {
                status: 200,
                any_of: vec!["Too many failed login attempts".into()],
                empty_body: false,
            }],
            lockout_shows_on: LockoutScope::Login,
            hides_login: false,
            code_prompts: vec![],
        });
        let probes = all(200, &[], "<html>");
        let refused = Response {
            url: "http://x/wp-login.php".into(),
            status: 200,
            headers: vec![],
            body: "<strong>ERROR</strong>: Too many failed login attempts.".into(),
        };
        let login = LoginCheck {
            answerer: recognise(&refused, &catalog),
            response: refused,
        };
        let d = diagnose(&probes, Some(&login), None, &catalog);
        assert_eq!(
            d.cause,
            Cause::PluginBlock {
                plugin: "llar".into()
            }
        );

        let ok = Response {
            url: "http://x/wp-login.php".into(),
            status: 302,
            headers: vec![
                ("location".into(), "http://x/wp-admin/".into()),
                (
                    "set-cookie".into(),
                    "wordpress_logged_in_x=y; path=/".into(),
                ),
            ],
            body: String::new(),
        };
        let login = LoginCheck {
            answerer: recognise(&ok, &catalog),
            response: ok,
        };
        assert_eq!(
            diagnose(&probes, Some(&login), None, &catalog).cause,
            Cause::Reachable
        );

        let without_login = diagnose(&probes, None, None, &catalog);
        assert_eq!(without_login.cause, Cause::Reachable);
        assert!(
            without_login.notes[0]
                .contains("Limit Login Attempts Reloaded only shows on a real login"),
            "{:?}",
            without_login.notes
        );
    }

    #[test]
    fn evidence_lists_each_probe() {
        let d = diagnose(
            &all(503, &[], "Generated by Wordfence"),
            None,
            None,
            &sample(),
        );
        assert_eq!(d.evidence[0], "GET / -> 503 (wordfence block page)");
        assert_eq!(d.evidence.len(), 3);
    }

    /// An inventory of a small site on a memory transport, with `files` added.
    fn inventory(files: &[(&str, &str)]) -> Inventory {
        use crate::transport::{MemoryTransport, RemotePath, TransportExt, WriteMode};
        let mut t = MemoryTransport::new();
        let base = [
            ("wp-includes/version.php", "<?php $wp_version = '6.1.9';"),
            (
                "wp-config.php",
                "<?php\ndefine( 'AIOS_DISABLE_LOGIN_LOCKOUT', false );\n",
            ),
        ];
        for (file, body) in base.iter().chain(files) {
            let path = RemotePath::new(file).unwrap();
            t.mkdir_all(&path.parent().unwrap()).unwrap();
            t.write_bytes(&path, body.as_bytes(), WriteMode::Replace)
                .unwrap();
        }
        let root = crate::site::discover::find_wordpress(&mut t)
            .unwrap()
            .remove(0);
        Inventory::read(&mut t, root, &sample()).unwrap()
    }

    #[test]
    fn files_turn_a_500_into_a_broken_prepend() {
        let inv = inventory(&[(
            ".htaccess",
            "# Wordfence WAF\nphp_value auto_prepend_file '/home/u/public_html/wordfence-waf.php'\n# END Wordfence WAF\n",
        )]);
        let d = diagnose(&all(500, &[], ""), None, Some(&inv), &sample());
        assert_eq!(
            d.cause,
            Cause::BrokenPrepend {
                target: "/home/u/public_html/wordfence-waf.php".into()
            }
        );
        assert!(
            d.evidence
                .iter()
                .any(|e| e.starts_with(".htaccess:2 sets auto_prepend_file")),
            "{:?}",
            d.evidence
        );
    }

    #[test]
    fn files_name_the_deny_block_and_the_login_hider() {
        let ban = "# BEGIN iThemes Security - Do not modify or remove this line\nSetEnvIF REMOTE_ADDR \"^127\\.0\\.0\\.1$\" DenyAccess\n# END iThemes Security - Do not modify or remove this line\n";
        let inv = inventory(&[(".htaccess", ban)]);
        let d = diagnose(
            &all(
                403,
                &[],
                "You don't have permission to access this resource.",
            ),
            None,
            Some(&inv),
            &sample(),
        );
        assert_eq!(
            d.cause,
            Cause::HtaccessDeny {
                block: Some("iThemes Security - Do not modify or remove this line".into())
            }
        );

        let inv = inventory(&[("wp-content/plugins/aios/wp-security.php", "<?php")]);
        let probes = vec![
            probe("/", 200, &[], "<html>"),
            probe("/wp-login.php", 404, &[], "Not Found"),
        ];
        let d = diagnose(&probes, None, Some(&inv), &sample());
        assert_eq!(
            d.cause,
            Cause::HiddenLogin {
                plugin: "aios".into()
            }
        );
        assert!(
            d.evidence
                .iter()
                .any(|e| e == "wp-config.php line 2 defines AIOS_DISABLE_LOGIN_LOCKOUT = false"),
            "{:?}",
            d.evidence
        );
    }

    #[test]
    fn a_maintenance_page_or_a_maintenance_file_with_a_503_is_maintenance() {
        let page = "<title>Maintenance</title>Briefly unavailable for scheduled maintenance.";
        let d = diagnose(
            &all(503, &[("retry-after", "600")], page),
            None,
            None,
            &sample(),
        );
        assert_eq!(d.cause, Cause::Maintenance);

        // A theme's own page (wp-content/maintenance.php) says anything: the file tells.
        let custom = all(503, &[], "<h1>Back soon</h1>");
        let inv = inventory(&[(".maintenance", "<?php $upgrading = time(); ?>")]);
        let d = diagnose(&custom, None, Some(&inv), &sample());
        assert_eq!(d.cause, Cause::Maintenance);
        assert!(
            d.evidence.iter().any(|e| e.contains("it never ages")),
            "{:?}",
            d.evidence
        );
        assert_eq!(cause(&custom), Cause::Unknown, "a bare 503 says nothing");
    }

    #[test]
    fn a_code_prompt_after_the_right_password_is_two_factor() {
        let mut catalog = sample();
        catalog.plugins.push(crate::site::catalog::PluginSpec {
            id: "two-factor".into(),
            name: "Two Factor".into(),
            folders: vec!["two-factor".into()],
            files: vec![],
            markers: vec![],
            constants: vec![],
            block_pages: vec![],
            lockout_shows_on: LockoutScope::Login,
            hides_login: false,
            code_prompts: vec![crate::site::catalog::PageSignature {
                status: 200,
                any_of: vec!["name=\"wp-auth-nonce\"".into()],
                empty_body: false,
            }],
        });
        let prompt = crate::http::sample_response(
            "http://127.0.0.10:18080/wp-login.php",
            200,
            &[],
            "<form><input type=\"hidden\" name=\"wp-auth-nonce\" value=\"x\"><input name=\"authcode\"></form>",
        );
        let login = LoginCheck {
            answerer: recognise(&prompt, &catalog),
            response: prompt,
        };
        let d = diagnose(&all(200, &[], "<html>"), Some(&login), None, &catalog);
        assert_eq!(
            d.cause,
            Cause::TwoFactor {
                plugin: "two-factor".into()
            }
        );
        assert!(
            d.evidence.iter().any(|e| e.contains(
                "login as the given user -> 200 (Two Factor asks for a two-factor code)"
            )),
            "{:?}",
            d.evidence
        );
    }

    #[test]
    fn the_front_page_and_the_admin_sent_to_another_host_is_a_wrong_site_address() {
        let away = |path: &str, to: &str| probe(path, 301, &[("location", to)], "");
        let probes = vec![
            away("/", "http://old.example/"),
            probe("/wp-login.php", 200, &[], "<form>"),
            away("/wp-admin/", "http://old.example/wp-login.php?reauth=1"),
        ];
        let d = diagnose(&probes, None, None, &sample());
        assert_eq!(
            d.cause,
            Cause::WrongSiteAddress {
                sends_to: "http://old.example/wp-login.php?reauth=1".into(),
                looping: false
            }
        );
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("run again with --url http://old.example:")),
            "{:?}",
            d.notes
        );
        // One odd redirect is not the site's address.
        let one = vec![
            away("/", "http://old.example/"),
            probe("/wp-login.php", 200, &[], "<form>"),
            probe("/wp-admin/", 200, &[], "<html>"),
        ];
        assert_eq!(cause(&one), Cause::Unknown);
    }

    #[test]
    fn codes_are_stable() {
        let codes: Vec<_> = [
            Cause::ServerPassword { realm: None },
            Cause::PluginPassword { plugin: None },
            Cause::PluginBlock { plugin: "x".into() },
            Cause::HtaccessDeny { block: None },
            Cause::BrokenPrepend { target: "x".into() },
            Cause::ServerError,
            Cause::TwoFactor { plugin: "x".into() },
            Cause::WrongSiteAddress {
                sends_to: "x".into(),
                looping: false,
            },
            Cause::Maintenance,
            Cause::HiddenLogin { plugin: "x".into() },
            Cause::Reachable,
            Cause::Unknown,
        ]
        .iter()
        .map(Cause::code)
        .collect();
        assert_eq!(codes, CAUSE_CODES);
    }
}
