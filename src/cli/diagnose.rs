//! `wprescue diagnose`: the report, for people and for scripts.

use std::io::Write;

use serde::Serialize;

use crate::engine::{Examine, Outcome, Session};
use crate::parse::text::printable;
use crate::playbook::{Playbook, Playbooks};
use crate::site::catalog::Catalog;
use crate::site::diagnosis::Cause;
use crate::site::inventory::{PluginState, Presence};
use crate::site::{Report, UrlSource};

use super::args::DiagnoseArgs;
use super::color::Color;
use super::output::Out;

/// Runs the command.
pub fn run(args: &DiagnoseArgs, color: Color) -> anyhow::Result<Outcome> {
    let playbooks = Playbooks::builtin()?;
    let mut out = Out::new(args.json, color);
    let spec = args.site.session(Examine::Investigate, false)?;
    let session = Session::open(spec, playbooks.catalog(), &mut out)?;
    let report = session.report().expect("investigated");
    let catalog = session.catalog();
    let next = next_step(report, catalog);
    let answering = playbooks.answering(report);
    let unlock_first = unlock_first(&answering);
    // The same command line, turned into the unlock that would fix it, when a playbook can.
    let unlock = (!answering.is_empty()).then(|| {
        let mut line: Vec<String> = std::env::args().skip(1).collect();
        line.retain(|a| a != "--json");
        if let Some(sub) = line.iter_mut().find(|a| *a == "diagnose") {
            *sub = "unlock".into();
        }
        format!("wprescue {} --dry-run", line.join(" "))
    });
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let mut json = JsonReport::new(report, catalog, next.as_deref());
        json.unlock = unlock.as_deref();
        json.unlock_first = unlock_first.as_deref();
        serde_json::to_writer_pretty(&mut stdout, &json)?;
        writeln!(stdout)?;
    } else {
        let next = Next {
            unlock_first: unlock_first.as_deref(),
            by_hand: next.as_deref(),
        };
        write_human(&mut stdout, report, catalog, &next, color)?;
        if let Some(unlock) = &unlock {
            writeln!(
                stdout,
                "{} {} (review the plan, then run it again with --yes)",
                color.label(&format!("{:<9}", "or")),
                color.command(unlock)
            )?;
        }
    }
    let lockout = report.diagnosis.cause.is_lockout();
    out.finish(if lockout {
        Outcome::LockoutFound
    } else {
        Outcome::NoLockout
    })
}

/// Prints the diagnosed cause, one line.
pub fn say_cause(out: &Out, cause: &Cause, catalog: &Catalog) -> std::io::Result<()> {
    out.line(format_args!(
        "{} {}: {}",
        out.color.label("cause"),
        cause.code(),
        summary(cause, catalog)
    ))
}

/// One sentence naming the cause.
pub fn summary(cause: &Cause, catalog: &Catalog) -> String {
    let name = |id: &str| catalog.get(id).map_or(id.to_owned(), |p| p.name.clone());
    match cause {
        Cause::ServerPassword { realm } => format!(
            "the web server asks every visitor for a password{} before WordPress runs",
            realm
                .as_ref()
                .map(|r| format!(" (realm \"{r}\")"))
                .unwrap_or_default()
        ),
        Cause::PluginPassword { plugin } => format!(
            "{} asks for a password before WordPress runs",
            plugin.as_deref().map_or("a plugin".to_owned(), name)
        ),
        Cause::PluginBlock { plugin } => format!("{} blocks this address", name(plugin)),
        Cause::HtaccessDeny { block } => format!(
            "a deny rule in .htaccess{} refuses this address",
            block
                .as_ref()
                .map(|b| format!(" (block \"{b}\")"))
                .unwrap_or_default()
        ),
        Cause::BrokenPrepend { target } => {
            format!("auto_prepend_file names {target}, which is gone: every PHP request fails")
        }
        Cause::ServerError => "the server answers 500 (internal error)".into(),
        Cause::TwoFactor { plugin } => format!(
            "{} asks for a two-factor code after the right password (a lost phone or app?)",
            name(plugin)
        ),
        Cause::WrongSiteAddress {
            sends_to,
            looping: false,
        } => format!(
            "the site sends its pages to {sends_to}: WordPress's own address names another site"
        ),
        Cause::WrongSiteAddress {
            sends_to,
            looping: true,
        } => format!(
            "the site's pages redirect in a loop (last to {sends_to}): WordPress's address says http where the server forces https, or the reverse"
        ),
        Cause::Maintenance => {
            "WordPress is stuck in maintenance mode: every page answers 503 \"Briefly unavailable\""
                .into()
        }
        Cause::HiddenLogin { plugin } => {
            format!(
                "{} moved the login page: wp-login.php answers 404",
                name(plugin)
            )
        }
        Cause::Reachable => "nothing is in the way: the site and its login page answer".into(),
        Cause::Unknown => "the answers match no known lockout".into(),
    }
}

/// What `unlock` would do first: the first rung's playbook, in its own words, and the rungs
/// that follow only if it does not let the admin in.
fn unlock_first(answering: &[&Playbook]) -> Option<String> {
    let (first, rest) = answering.split_first()?;
    let mut line = format!(
        "unlock first runs {}: {}",
        first.name,
        first.description.trim()
    );
    if !rest.is_empty() {
        let names: Vec<&str> = rest.iter().map(|p| p.name.as_str()).collect();
        line.push_str(&format!(
            " Only if that does not let you in: {}.",
            names.join(", then ")
        ));
    }
    Some(line)
}

/// The two ways forward a diagnosis shows.
struct Next<'a> {
    /// What `unlock` would do first.
    unlock_first: Option<&'a str>,
    /// The fix by hand, with the exact paths.
    by_hand: Option<&'a str>,
}

/// What to do about it, by hand, with the exact paths found.
pub fn next_step(report: &Report, catalog: &Catalog) -> Option<String> {
    let inv = &report.inventory;
    let installed_folder = |id: &str| {
        inv.plugins
            .iter()
            .find(|p| p.id == id && p.state == PluginState::Installed)
            .map(|p| p.folder.as_str().to_owned())
    };
    match &report.diagnosis.cause {
        Cause::ServerPassword { .. } => Some(match &inv.server_password {
            Some(p) => format!(
                "comment out lines {:?} (AuthType, AuthName, AuthUserFile, Require) of {}",
                p.auth.lines,
                p.file.as_str()
            ),
            // The prompt comes from somewhere this account cannot edit: nginx's auth_basic,
            // or Apache's own configuration.
            None => "no .htaccess here asks for it, so the server's own configuration does: \
                     turn it off under the hosting panel's password-protected directories, or \
                     ask the host (or log in through the prompt with its password)"
                .to_owned(),
        }),
        Cause::TwoFactor { plugin } => {
            let folder = installed_folder(plugin)?;
            Some(format!(
                "turn two-factor off for this one user in {}'s user settings (unlock does, and nobody else loses it); renaming {folder} to {folder}.off turns it off for everyone",
                catalog.get(plugin)?.name
            ))
        }
        Cause::HiddenLogin { plugin } => {
            let folder = installed_folder(plugin)?;
            Some(format!(
                "log in at the new address kept in {}'s settings (unlock reads it for you and changes nothing); to put wp-login.php back, rename {folder} to {folder}.off",
                catalog.get(plugin)?.name
            ))
        }
        Cause::PluginBlock { plugin } => {
            let folder = installed_folder(plugin)?;
            let spec = catalog.get(plugin)?;
            Some(format!(
                "rename {folder} to {folder}.off: WordPress skips a plugin whose folder is gone, and {} stops with it",
                spec.name
            ))
        }
        Cause::PluginPassword { plugin } => {
            let folder = installed_folder(plugin.as_deref()?)?;
            Some(format!("rename {folder} to {folder}.off"))
        }
        Cause::HtaccessDeny { block: Some(label) } => inv
            .blocks
            .iter()
            .find(|b| &b.label == label)
            .map(|b| format!("remove lines {}-{} (\"{label}\") from {}", b.lines.0, b.lines.1, b.file.as_str())),
        Cause::BrokenPrepend { target } => inv.prepends.iter().find(|p| &p.target == target).map(|p| {
            let in_block = inv
                .blocks
                .iter()
                .find(|b| b.file == p.file && (b.lines.0..=b.lines.1).contains(&p.line));
            let what = match in_block {
                Some(block) => format!("the block \"{}\" around it", block.label),
                None => "that one line".to_owned(),
            };
            format!(
                "remove the auto_prepend_file setting at {}:{} ({what}), or put a file back at {}",
                p.file.as_str(),
                p.line,
                p.target
            )
        }),
        Cause::ServerError => inv
            .htaccess_problems
            .iter()
            .find(|p| p.fatal)
            .or(inv.htaccess_problems.first())
            .map(|p| format!("fix {}/.htaccess line {}: {}", inv.root.path.as_str(), p.line, p.message)),
        Cause::WrongSiteAddress { .. } => Some(format!(
            "set WordPress's address to {}: the home and siteurl options (Settings > General), or WP_HOME and WP_SITEURL where wp-config.php defines them",
            report.url.0
        )),
        Cause::Maintenance => inv.maintenance.as_ref().map(|m| {
            format!(
                "rename {0} to {0}.off.php: WordPress only looks for .maintenance (and the new name keeps it from being served as text)",
                m.file.as_str()
            )
        }),
        Cause::HtaccessDeny { block: None } | Cause::Reachable | Cause::Unknown => None,
    }
}

fn url_source(source: UrlSource) -> &'static str {
    match source {
        UrlSource::Flag => "from --url",
        UrlSource::WpHome => "WP_HOME in wp-config.php",
        UrlSource::WpSiteurl => "WP_SITEURL in wp-config.php",
    }
}

fn site_path(report: &Report) -> &str {
    match report.inventory.root.path.as_str() {
        "" => ".",
        path => path,
    }
}

fn write_human(
    out: &mut impl Write,
    report: &Report,
    catalog: &Catalog,
    next: &Next<'_>,
    color: Color,
) -> std::io::Result<()> {
    let d = &report.diagnosis;
    let inv = &report.inventory;
    let label = |text: &str| color.label(&format!("{text:<9}"));
    writeln!(
        out,
        "{} {} (WordPress {}) on {}",
        label("site"),
        site_path(report),
        inv.root.version.as_deref().unwrap_or("of unknown version"),
        report.origin
    )?;
    writeln!(
        out,
        "{} {} ({})",
        label("url"),
        report.url.0,
        url_source(report.url.1)
    )?;
    let verdict = format!("{}: {}", d.cause.code(), summary(&d.cause, catalog));
    let verdict = if d.cause.is_lockout() {
        color.warn(&verdict)
    } else {
        color.good(&verdict)
    };
    writeln!(out, "{} {verdict}", label("cause"))?;
    // Evidence quotes logs and pages the site served: printable, never obeyed.
    for (i, line) in d.evidence.iter().enumerate() {
        writeln!(
            out,
            "{} {}",
            label(if i == 0 { "evidence" } else { "" }),
            printable(line)
        )?;
    }
    for note in &d.notes {
        writeln!(out, "{} {}", label("note"), printable(note))?;
    }
    if let Some(first) = next.unlock_first {
        writeln!(out, "{} {first}", label("next"))?;
    }
    if let Some(by_hand) = next.by_hand {
        let name = if next.unlock_first.is_some() {
            "by hand"
        } else {
            "next"
        };
        writeln!(out, "{} {}", label(name), color.command(by_hand))?;
    }
    Ok(())
}

/// The `--json` shape. Field names and cause codes are stable; new fields may be added.
#[derive(Serialize)]
struct JsonReport<'a> {
    /// Bumped only if a field changes meaning or goes away.
    version: u32,
    target: &'a str,
    site: JsonSite<'a>,
    lockout: bool,
    cause: JsonCause<'a>,
    evidence: &'a [String],
    notes: &'a [String],
    probes: Vec<JsonProbe<'a>>,
    login: Option<JsonLogin>,
    plugins: Vec<JsonPlugin<'a>>,
    prepends: Vec<JsonPrepend<'a>>,
    next: Option<&'a str>,
    /// The `wprescue unlock` command that would fix it, when a playbook answers the cause.
    unlock: Option<&'a str>,
    /// What that command would do first, in one paragraph.
    unlock_first: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSite<'a> {
    path: &'a str,
    wordpress_version: Option<&'a str>,
    url: &'a str,
    url_source: &'static str,
}

#[derive(Serialize)]
struct JsonCause<'a> {
    code: &'static str,
    summary: String,
    plugin: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonProbe<'a> {
    path: &'a str,
    status: Option<u16>,
    answered_by: Option<String>,
    redirects: usize,
    www_authenticate: Option<&'a str>,
    retry_after: Option<&'a str>,
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonLogin {
    status: u16,
    logged_in: bool,
}

#[derive(Serialize)]
struct JsonPlugin<'a> {
    id: &'a str,
    folder: &'a str,
    renamed_away: bool,
}

#[derive(Serialize)]
struct JsonPrepend<'a> {
    file: &'a str,
    line: usize,
    target: &'a str,
    /// `null` when the target is outside what the connection reaches.
    exists: Option<bool>,
}

impl<'a> JsonReport<'a> {
    fn new(report: &'a Report, catalog: &Catalog, next: Option<&'a str>) -> Self {
        let d = &report.diagnosis;
        let inv = &report.inventory;
        JsonReport {
            version: 1,
            target: &report.origin,
            site: JsonSite {
                path: site_path(report),
                wordpress_version: inv.root.version.as_deref(),
                url: &report.url.0,
                url_source: match report.url.1 {
                    UrlSource::Flag => "flag",
                    UrlSource::WpHome => "wp_home",
                    UrlSource::WpSiteurl => "wp_siteurl",
                },
            },
            lockout: d.cause.is_lockout(),
            cause: JsonCause {
                code: d.cause.code(),
                summary: summary(&d.cause, catalog),
                plugin: d.cause.plugin(),
            },
            evidence: &d.evidence,
            notes: &d.notes,
            probes: report
                .probes
                .iter()
                .map(|p| {
                    let last = p.last();
                    let header = |name| last.and_then(|h| h.response.header(name));
                    JsonProbe {
                        path: &p.path,
                        status: p.final_status(),
                        answered_by: last.map(|h| h.answerer.describe(catalog)),
                        redirects: p.hops.len().saturating_sub(1),
                        www_authenticate: header("www-authenticate"),
                        retry_after: header("retry-after"),
                        error: p.error.as_ref().map(ToString::to_string),
                    }
                })
                .collect(),
            login: report.login.as_ref().map(|l| JsonLogin {
                status: l.response.status,
                logged_in: crate::site::probe::is_logged_in(&l.response),
            }),
            plugins: inv
                .plugins
                .iter()
                .map(|p| JsonPlugin {
                    id: &p.id,
                    folder: p.folder.as_str(),
                    renamed_away: p.state == PluginState::RenamedAway,
                })
                .collect(),
            prepends: inv
                .prepends
                .iter()
                .map(|p| JsonPrepend {
                    file: p.file.as_str(),
                    line: p.line,
                    target: &p.target,
                    exists: match p.presence {
                        Presence::Present(_) => Some(true),
                        Presence::Missing(_) => Some(false),
                        Presence::OutOfReach => None,
                    },
                })
                .collect(),
            next,
            unlock: None,
            unlock_first: None,
        }
    }
}
