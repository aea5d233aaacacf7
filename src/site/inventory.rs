//! The security layer as the files show it: which known plugins are installed (or renamed
//! away), the files they keep outside their folder, the marker blocks in `.htaccess`,
//! `.user.ini` and `wp-config.php`, every `auto_prepend_file` and whether its target exists,
//! Apache password protection, and what the hosting logs say.
//!
//! Read-only, and it reads only the few files it needs.

use crate::transport::{Kind, Prefetch, RemotePath, Transport, TransportExt};

use super::SiteError;
use super::catalog::Catalog;
use super::discover::WpRoot;
use crate::parse::htaccess::{BasicAuth, Htaccess, Problem};
use crate::parse::markers::Markers;
use crate::parse::wp_config::{ConfigValue, WpConfig};

/// Logs larger than this are not downloaded whole just to read their last lines.
const MAX_LOG_BYTES: u64 = 8 * 1024 * 1024;
/// Lines kept from each log.
const LOG_LINES: usize = 8;

/// Where a plugin was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginState {
    /// Its folder is in place under its own name: WordPress loads it if it is active.
    Installed,
    /// Its folder is there under another name (`wordfence.off`, a wprescue rename):
    /// WordPress skips it.
    RenamedAway,
}

/// A known plugin's folder under `wp-content/plugins/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFound {
    /// Catalog id.
    pub id: String,
    /// The folder as it is named now.
    pub folder: RemotePath,
    /// Installed or renamed away.
    pub state: PluginState,
}

/// A file a plugin keeps outside its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideFile {
    /// Catalog id of the plugin.
    pub plugin: String,
    /// The path, relative to the target.
    pub path: RemotePath,
    /// Whether it is there.
    pub exists: bool,
}

/// A marker block in one of the files wprescue reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundBlock {
    /// The file.
    pub file: RemotePath,
    /// The block's label as written.
    pub label: String,
    /// Catalog id of the plugin that writes it, or `None` (WordPress core, a cache plugin…).
    pub plugin: Option<String>,
    /// First and last line (1-based, inclusive).
    pub lines: (usize, usize),
}

/// Whether a file named by an absolute server path exists, as far as the target can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Found at this path relative to the target.
    Present(RemotePath),
    /// Its folder is visible and the file is not in it.
    Missing(RemotePath),
    /// The path is outside what the target reaches.
    OutOfReach,
}

/// An `auto_prepend_file` setting: PHP runs the target before every script, and fails every
/// request when the target is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepend {
    /// The file that sets it (`.htaccess`, `.user.ini`, `php.ini`).
    pub file: RemotePath,
    /// 1-based line.
    pub line: usize,
    /// The target as written (an absolute server path).
    pub target: String,
    /// Whether the target exists.
    pub presence: Presence,
}

/// Apache password protection and its password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPassword {
    /// The `.htaccess` that sets it.
    pub file: RemotePath,
    /// Its directives.
    pub auth: BasicAuth,
    /// Whether the `AuthUserFile` exists (a missing one locks everyone out for good).
    pub user_file: Option<Presence>,
}

/// WordPress's `.maintenance` file. While it says an update started less than 10 minutes ago,
/// WordPress answers every request with its 503 maintenance page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// The file.
    pub file: RemotePath,
    /// The start time it holds (`$upgrading = 1764424800;`, as WordPress's updater writes
    /// it), or `None` when it computes one (`$upgrading = time();`), which never ages.
    pub started: Option<u64>,
}

/// The last interesting lines of a hosting log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogExcerpt {
    /// The log file.
    pub file: RemotePath,
    /// The lines, oldest first.
    pub lines: Vec<String>,
}

/// Everything the files say about the security layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The WordPress root this is about.
    pub root: WpRoot,
    /// `wp-config.php`, parsed (secrets dropped), when found.
    pub config: Option<WpConfig>,
    /// The plugins folder used (`WP_PLUGIN_DIR`/`WP_CONTENT_DIR` when they are literal paths
    /// inside the target, else `wp-content/plugins`).
    pub plugins_dir: RemotePath,
    /// Known plugins found.
    pub plugins: Vec<PluginFound>,
    /// Must-use plugins (`wp-content/mu-plugins/*.php`), by name.
    pub mu_plugins: Vec<String>,
    /// Known plugins' files outside their folders.
    pub outside_files: Vec<OutsideFile>,
    /// Marker blocks in `.htaccess`, `.user.ini` and `wp-config.php`.
    pub blocks: Vec<FoundBlock>,
    /// Every `auto_prepend_file`.
    pub prepends: Vec<Prepend>,
    /// Apache password protection in the root `.htaccess`.
    pub server_password: Option<ServerPassword>,
    /// What Apache would refuse in the root `.htaccess`.
    pub htaccess_problems: Vec<Problem>,
    /// A `.maintenance` file in the WordPress root.
    pub maintenance: Option<Maintenance>,
    /// Whether the WordPress root has a `.htaccess` (nginx reads none; Apache and LiteSpeed do).
    pub has_htaccess: bool,
    /// Whether the WordPress root has a `.user.ini` (read by PHP-FPM and CGI, from a cache).
    pub has_user_ini: bool,
    /// Hosting logs that were readable; filled by [`Inventory::read_logs`].
    pub logs: Vec<LogExcerpt>,
}

impl Inventory {
    /// Reads the files of the site at `root`.
    pub fn read(
        t: &mut dyn Transport,
        root: WpRoot,
        catalog: &Catalog,
    ) -> Result<Inventory, SiteError> {
        let config = match &root.config {
            Some(path) => Some(WpConfig::parse(&read_text(t, path)?.unwrap_or_default())),
            None => None,
        };
        let content_dir = literal_dir(t, config.as_ref(), "WP_CONTENT_DIR")?
            .unwrap_or(root.path.join("wp-content")?);
        let plugins_dir = literal_dir(t, config.as_ref(), "WP_PLUGIN_DIR")?
            .unwrap_or(content_dir.join("plugins")?);
        let mut inventory = Inventory {
            plugins: find_plugins(t, &plugins_dir, catalog)?,
            mu_plugins: list_names(t, &content_dir.join("mu-plugins")?)?
                .into_iter()
                .filter(|n| n.ends_with(".php"))
                .collect(),
            outside_files: Vec::new(),
            blocks: Vec::new(),
            prepends: Vec::new(),
            server_password: None,
            htaccess_problems: Vec::new(),
            maintenance: None,
            has_htaccess: false,
            has_user_ini: false,
            logs: Vec::new(),
            plugins_dir,
            config,
            root,
        };
        for plugin in &catalog.plugins {
            for file in &plugin.files {
                let path = join_all(&inventory.root.path, file)?;
                let exists = t.exists(&path)?;
                inventory.outside_files.push(OutsideFile {
                    plugin: plugin.id.clone(),
                    path,
                    exists,
                });
            }
        }
        inventory.read_htaccess(t, catalog)?;
        inventory.read_ini_files(t, catalog)?;
        let maintenance = inventory.root.path.join(".maintenance")?;
        if let Some(text) = read_text(t, &maintenance)? {
            inventory.maintenance = Some(Maintenance {
                file: maintenance,
                started: upgrading_since(&text),
            });
        }
        if let Some(config_path) = inventory.root.config.clone() {
            let text = read_text(t, &config_path)?.unwrap_or_default();
            inventory.add_blocks(&config_path, &text, catalog);
        }
        Ok(inventory)
    }

    /// Reads the hosting logs. Separate from [`Inventory::read`] so that it can run after the
    /// HTTP probes, whose own refusals then show in the access log.
    pub fn read_logs(&mut self, t: &mut dyn Transport) -> Result<(), SiteError> {
        self.logs = read_logs(t, &self.root.path)?;
        Ok(())
    }

    /// Whether the WordPress root was seen without `name`, one of the files the survey reads
    /// there (`.htaccess`, `.user.ini`); false for any other name, which it did not look for.
    pub fn lacks(&self, name: &str) -> bool {
        match name {
            ".htaccess" => !self.has_htaccess,
            ".user.ini" => !self.has_user_ini,
            _ => false,
        }
    }

    /// Known plugins whose folder is in place.
    pub fn installed(&self) -> impl Iterator<Item = &PluginFound> {
        self.plugins
            .iter()
            .filter(|p| p.state == PluginState::Installed)
    }

    /// Whether the plugin with this catalog id has anything on disk: its folder (under its
    /// name) or files outside it.
    pub fn has_plugin(&self, id: &str) -> bool {
        self.installed().any(|p| p.id == id)
            || self
                .outside_files
                .iter()
                .any(|f| f.plugin == id && f.exists)
    }

    fn read_htaccess(&mut self, t: &mut dyn Transport, catalog: &Catalog) -> Result<(), SiteError> {
        let path = self.root.path.join(".htaccess")?;
        let Some(text) = read_text(t, &path)? else {
            return Ok(());
        };
        self.has_htaccess = true;
        self.add_blocks(&path, &text, catalog);
        let htaccess = Htaccess::parse(&text);
        for (line, target) in htaccess.prepend_files() {
            let presence = locate_prepend(t, &target, &self.root.path)?;
            self.prepends.push(Prepend {
                file: path.clone(),
                line,
                target,
                presence,
            });
        }
        if let Some(auth) = htaccess.basic_auth() {
            let user_file = match &auth.user_file {
                Some(file) => Some(locate(t, file)?),
                None => None,
            };
            self.server_password = Some(ServerPassword {
                file: path.clone(),
                auth,
                user_file,
            });
        }
        self.htaccess_problems = htaccess.problems;
        Ok(())
    }

    fn read_ini_files(
        &mut self,
        t: &mut dyn Transport,
        catalog: &Catalog,
    ) -> Result<(), SiteError> {
        for name in [".user.ini", "php.ini"] {
            let path = self.root.path.join(name)?;
            let Some(text) = read_text(t, &path)? else {
                continue;
            };
            self.has_user_ini |= name == ".user.ini";
            self.add_blocks(&path, &text, catalog);
            for (line, target) in ini_prepends(&text) {
                let presence = locate_prepend(t, &target, &self.root.path)?;
                self.prepends.push(Prepend {
                    file: path.clone(),
                    line,
                    target,
                    presence,
                });
            }
        }
        Ok(())
    }

    fn add_blocks(&mut self, file: &RemotePath, text: &str, catalog: &Catalog) {
        for block in Markers::find(text).blocks {
            self.blocks.push(FoundBlock {
                file: file.clone(),
                plugin: catalog.owner_of_marker(&block.label).map(|p| p.id.clone()),
                label: block.label,
                lines: (block.begin_line, block.end_line),
            });
        }
    }
}

/// The most read of a configuration file (wp-config.php, version.php, .htaccess, .user.ini):
/// the largest real ones are a few hundred KiB.
const MAX_TEXT_BYTES: u64 = 8 << 20;

/// A file's text, or `None` when it does not exist (or is not a plain file).
fn read_text(t: &mut dyn Transport, path: &RemotePath) -> Result<Option<String>, SiteError> {
    match t.stat(path)? {
        Some(meta) if meta.kind == Kind::File => Ok(Some(
            String::from_utf8_lossy(&t.read_at_most(path, MAX_TEXT_BYTES)?).into_owned(),
        )),
        _ => Ok(None),
    }
}

fn list_names(t: &mut dyn Transport, dir: &RemotePath) -> Result<Vec<String>, SiteError> {
    match t.stat(dir)? {
        Some(meta) if meta.kind == Kind::Dir => {
            Ok(t.list(dir)?.into_iter().map(|e| e.name).collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// A `WP_CONTENT_DIR`-style constant, when it is a literal absolute path that the target
/// reaches.
fn literal_dir(
    t: &mut dyn Transport,
    config: Option<&WpConfig>,
    name: &str,
) -> Result<Option<RemotePath>, SiteError> {
    let Some(ConfigValue::Str(path)) = config.and_then(|c| c.get(name)) else {
        return Ok(None);
    };
    Ok(match locate(t, path)? {
        Presence::Present(found) => Some(found),
        Presence::Missing(_) | Presence::OutOfReach => None,
    })
}

/// `base/rel`, where `rel` may have several segments (`wp-content/wflogs`).
fn join_all(base: &RemotePath, rel: &str) -> Result<RemotePath, SiteError> {
    Ok(RemotePath::new(&format!("{}/{rel}", base.as_str()))?)
}

fn find_plugins(
    t: &mut dyn Transport,
    plugins_dir: &RemotePath,
    catalog: &Catalog,
) -> Result<Vec<PluginFound>, SiteError> {
    let names = list_names(t, plugins_dir)?;
    let mut found = Vec::new();
    for plugin in &catalog.plugins {
        for folder in &plugin.folders {
            for name in &names {
                let state = if name == folder {
                    PluginState::Installed
                } else if is_renamed_from(name, folder) {
                    PluginState::RenamedAway
                } else {
                    continue;
                };
                found.push(PluginFound {
                    id: plugin.id.clone(),
                    folder: plugins_dir.join(name)?,
                    state,
                });
            }
        }
    }
    Ok(found)
}

/// `wordfence.off`, `wordfence-disabled`, `wordfence_old`, `wordfence.wprescue-…`: the usual
/// ways people and tools rename a plugin away. `wordfence-assistant` (another plugin) is not.
fn is_renamed_from(name: &str, folder: &str) -> bool {
    let Some(rest) = name.strip_prefix(folder) else {
        return false;
    };
    let Some(separator) = rest.chars().next() else {
        return false;
    };
    let suffix = rest[separator.len_utf8()..].to_ascii_lowercase();
    matches!(separator, '.' | '-' | '_')
        && [
            "off",
            "disabled",
            "disable",
            "old",
            "bak",
            "backup",
            "wprescue",
            "renamed",
            "deactivated",
        ]
        .iter()
        .any(|word| suffix.starts_with(word))
}

/// `auto_prepend_file = …` lines of a `.user.ini` or `php.ini` (not commented out with `;`).
/// The literal number `$upgrading` is set to, as in `<?php $upgrading = 1764424800; ?>`;
/// `None` for anything computed.
fn upgrading_since(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once("$upgrading")?;
    let value = rest.trim_start().strip_prefix('=')?.trim_start();
    let digits = value.len() - value.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let after = value[digits..].trim_start();
    if digits == 0 || !after.starts_with(';') {
        return None;
    }
    value[..digits].parse().ok()
}

/// The `auto_prepend_file` settings in a file, by its name: `.htaccess`'s `php_value` lines,
/// or an ini file's (`.user.ini`, `php.ini`): `(1-based line, target as written)`.
pub fn prepends_in(file_name: &str, text: &str) -> Vec<(usize, String)> {
    if file_name == ".htaccess" {
        Htaccess::parse(text).prepend_files()
    } else {
        ini_prepends(text)
    }
}

fn ini_prepends(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (key, value) = line.trim().split_once('=')?;
            if key.trim() != "auto_prepend_file" {
                return None;
            }
            let value = value
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_owned();
            (!value.is_empty() && !value.eq_ignore_ascii_case("none")).then_some((i + 1, value))
        })
        .collect()
}

/// Maps an absolute server path (as PHP and Apache see it) to the target.
///
/// Over SFTP the target's root is the real path, so a prefix match does it. Over FTP the
/// account is usually chrooted (`/public_html` is really `/home/user/public_html`), so the
/// longest tail of the path whose folder exists under the target is taken instead.
fn locate(t: &mut dyn Transport, absolute: &str) -> Result<Presence, SiteError> {
    let root = t.root().trim_end_matches('/').to_owned();
    // A target at `/` may be a chroot, where the prefix says nothing: the tails below decide.
    if let Some(inside) = absolute
        .strip_prefix(&format!("{root}/"))
        .filter(|_| !root.is_empty())
    {
        let Ok(path) = RemotePath::new(inside) else {
            return Ok(Presence::OutOfReach);
        };
        return presence(t, path);
    }
    let parts: Vec<&str> = absolute.split('/').filter(|p| !p.is_empty()).collect();
    for start in 0..parts.len() {
        let Ok(path) = RemotePath::new(&parts[start..].join("/")) else {
            continue;
        };
        let folder_visible = match path.parent() {
            Some(parent) if !parent.is_root() => {
                t.stat(&parent)?.is_some_and(|m| m.kind == Kind::Dir)
            }
            _ => false,
        };
        if folder_visible {
            return presence(t, path);
        }
    }
    Ok(Presence::OutOfReach)
}

/// [`locate`] for a prepend target. When the path maps to nothing the target can see (the
/// target is the WordPress root itself, so the folders above it are out of reach), the file is
/// looked for in the WordPress root: that is where Wordfence, AIOS and hand-made firewalls put
/// theirs, and a missing one there is exactly the 500-for-everyone case.
pub fn locate_prepend(
    t: &mut dyn Transport,
    absolute: &str,
    wp_root: &RemotePath,
) -> Result<Presence, SiteError> {
    match locate(t, absolute)? {
        Presence::OutOfReach => match absolute.rsplit('/').next().filter(|n| !n.is_empty()) {
            Some(name) => presence(t, wp_root.join(name)?),
            None => Ok(Presence::OutOfReach),
        },
        found => Ok(found),
    }
}

fn presence(t: &mut dyn Transport, path: RemotePath) -> Result<Presence, SiteError> {
    Ok(if t.exists(&path)? {
        Presence::Present(path)
    } else {
        Presence::Missing(path)
    })
}

/// Where hosts keep per-account logs, relative to the WordPress root's folder and the target.
fn log_candidates(root: &RemotePath) -> Vec<RemotePath> {
    let mut bases = vec![RemotePath::root()];
    let mut dir = root.parent();
    while let Some(d) = dir {
        if !bases.contains(&d) {
            bases.push(d.clone());
        }
        dir = d.parent();
    }
    let mut out = Vec::new();
    for base in bases {
        for folder in ["logs", "log", "access-logs", "statistics/logs"] {
            if let Ok(path) = join_all(&base, folder) {
                out.push(path);
            }
        }
    }
    out
}

/// The usual log folders below the account's root and what is in them, for one
/// [`Transport::prefetch`], with what discovery read once more: logs are read after the HTTP
/// probes, which make the transport forget what it knew, and planning reads the same folders
/// and files next (the WordPress root, the plugins folder, a firewall's files). The same one
/// request either way.
fn logs_layout() -> Prefetch {
    let mut layout = Prefetch::new(
        &[
            "logs",
            "log",
            "access-logs",
            "statistics",
            "statistics/logs",
        ],
        &["logs/*", "log/*", "access-logs/*", "statistics/logs/*"],
        256 << 10,
    );
    let again = super::discover::layout();
    layout.folders.extend(again.folders);
    layout.files.extend(again.files);
    layout.max_file_bytes = layout.max_file_bytes.max(again.max_file_bytes);
    layout
}

fn read_logs(t: &mut dyn Transport, root: &RemotePath) -> Result<Vec<LogExcerpt>, SiteError> {
    if let Err(e) = t.prefetch(&logs_layout()) {
        tracing::debug!(error = %e, "prefetch of the logs failed; reading them one by one");
    }
    let mut excerpts = Vec::new();
    for dir in log_candidates(root) {
        for name in list_names(t, &dir)? {
            let interesting: fn(&str) -> bool = if name.contains("error") {
                is_error_evidence
            } else if name.contains("access") {
                is_refusal
            } else {
                continue;
            };
            let path = dir.join(&name)?;
            let Some(meta) = t.stat(&path)? else { continue };
            if meta.kind != Kind::File || meta.size > MAX_LOG_BYTES {
                continue;
            }
            // The size was checked, but a log grows (and a server may say anything).
            let text = String::from_utf8_lossy(&t.read_at_most(&path, MAX_LOG_BYTES)?).into_owned();
            let mut lines: Vec<String> = text
                .lines()
                .filter(|l| interesting(l))
                .map(str::to_owned)
                .collect();
            let keep_from = lines.len().saturating_sub(LOG_LINES);
            lines.drain(..keep_from);
            if !lines.is_empty() {
                excerpts.push(LogExcerpt { file: path, lines });
            }
        }
    }
    Ok(excerpts)
}

/// Error-log lines that explain a lockout or a 500.
fn is_error_evidence(line: &str) -> bool {
    [
        ".htaccess:",
        "Failed opening required",
        "auto_prepend_file",
        "PHP Fatal error",
        "AH01630",
        "AH01797",
        "AH01618",
        "AH01617",
    ]
    .iter()
    .any(|needle| line.contains(needle))
}

/// Access-log lines with a refusing status (combined log format: status after the request).
fn is_refusal(line: &str) -> bool {
    line.split("\" ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|status| matches!(status, "401" | "403" | "500" | "503"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::catalog::tests::sample;
    use crate::site::discover::find_wordpress;
    use crate::transport::{MemoryTransport, WriteMode};

    fn put(t: &mut MemoryTransport, file: &str, body: &str) {
        let path = RemotePath::new(file).unwrap();
        if let Some(parent) = path.parent() {
            t.mkdir_all(&parent).unwrap();
        }
        t.write_bytes(&path, body.as_bytes(), WriteMode::Replace)
            .unwrap();
    }

    fn wordpress() -> MemoryTransport {
        let mut t = MemoryTransport::new();
        put(
            &mut t,
            "public_html/wp-includes/version.php",
            "<?php $wp_version = '6.1.9';",
        );
        put(
            &mut t,
            "public_html/wp-config.php",
            "<?php\n// Begin AIOWPSEC Firewall\n// End AIOWPSEC Firewall\ndefine('DB_PASSWORD', 'hunter2');\n$table_prefix = 'wp_';\n",
        );
        put(&mut t, "public_html/wp-content/plugins/index.php", "<?php");
        t
    }

    fn inventory(t: &mut MemoryTransport) -> Inventory {
        let root = find_wordpress(t).unwrap().remove(0);
        let mut inventory = Inventory::read(t, root, &sample()).unwrap();
        inventory.read_logs(t).unwrap();
        inventory
    }

    #[test]
    fn plugins_installed_and_renamed_away() {
        let mut t = wordpress();
        put(
            &mut t,
            "public_html/wp-content/plugins/wordfence/wordfence.php",
            "<?php",
        );
        put(
            &mut t,
            "public_html/wp-content/plugins/solid-security.off/x.php",
            "<?php",
        );
        put(
            &mut t,
            "public_html/wp-content/plugins/wordfence-assistant/x.php",
            "<?php",
        );
        put(
            &mut t,
            "public_html/wp-content/mu-plugins/aios-firewall-loader.php",
            "<?php",
        );
        let inv = inventory(&mut t);
        let found: Vec<_> = inv
            .plugins
            .iter()
            .map(|p| (p.id.as_str(), p.folder.as_str(), p.state.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "wordfence",
                    "public_html/wp-content/plugins/wordfence",
                    PluginState::Installed
                ),
                (
                    "solid-security",
                    "public_html/wp-content/plugins/solid-security.off",
                    PluginState::RenamedAway
                ),
            ]
        );
        assert_eq!(inv.mu_plugins, ["aios-firewall-loader.php"]);
        assert!(inv.has_plugin("wordfence") && !inv.has_plugin("solid-security"));
        assert_eq!(
            inv.config.as_ref().unwrap().get("DB_PASSWORD"),
            Some(&ConfigValue::Redacted)
        );
    }

    #[test]
    fn a_maintenance_file_that_computes_its_time_never_ages() {
        let mut t = wordpress();
        assert_eq!(inventory(&mut t).maintenance, None);
        let cases = [
            ("<?php $upgrading = 1764424800; ?>", Some(1_764_424_800)),
            ("<?php\n$upgrading =1764424800 ;", Some(1_764_424_800)),
            ("<?php $upgrading = time(); ?>", None),
            ("<?php $upgrading = 1764424800 + 600; ?>", None),
            ("<?php $upgrading = ; ?>", None),
            ("", None),
        ];
        for (text, started) in cases {
            put(&mut t, "public_html/.maintenance", text);
            let found = inventory(&mut t).maintenance.expect(text);
            assert_eq!(found.file.as_str(), "public_html/.maintenance");
            assert_eq!(found.started, started, "{text}");
        }
    }

    #[test]
    fn a_prepend_whose_target_is_gone_is_missing() {
        let mut t = wordpress();
        // Over FTP the account is chrooted: the server path is longer than the target's.
        put(
            &mut t,
            "public_html/.htaccess",
            "# Wordfence WAF\n<IfModule mod_php.c>\nphp_value auto_prepend_file '/home/u/public_html/wordfence-waf.php'\n</IfModule>\n# END Wordfence WAF\n",
        );
        put(
            &mut t,
            "public_html/.user.ini",
            "; Wordfence WAF\nauto_prepend_file = '/home/u/public_html/wp-content/x.php'\n;auto_prepend_file = '/gone.php'\n; END Wordfence WAF\n",
        );
        put(&mut t, "public_html/wp-content/x.php", "<?php");
        let inv = inventory(&mut t);
        assert_eq!(
            inv.prepends,
            [
                Prepend {
                    file: RemotePath::new("public_html/.htaccess").unwrap(),
                    line: 3,
                    target: "/home/u/public_html/wordfence-waf.php".into(),
                    presence: Presence::Missing(
                        RemotePath::new("public_html/wordfence-waf.php").unwrap()
                    ),
                },
                Prepend {
                    file: RemotePath::new("public_html/.user.ini").unwrap(),
                    line: 2,
                    target: "/home/u/public_html/wp-content/x.php".into(),
                    presence: Presence::Present(
                        RemotePath::new("public_html/wp-content/x.php").unwrap()
                    ),
                },
            ]
        );
        let labels: Vec<_> = inv
            .blocks
            .iter()
            .map(|b| (b.file.as_str(), b.plugin.as_deref(), b.lines))
            .collect();
        assert_eq!(
            labels,
            [
                ("public_html/.htaccess", Some("wordfence"), (1, 5)),
                ("public_html/.user.ini", Some("wordfence"), (1, 4)),
                ("public_html/wp-config.php", Some("aios"), (2, 3)),
            ]
        );
    }

    #[test]
    fn server_password_and_its_file() {
        let mut t = wordpress();
        put(
            &mut t,
            "public_html/.htaccess",
            "AuthType Basic\nAuthName \"Members\"\nAuthUserFile /home/u/.htpasswds/public_html/passwd\nRequire valid-user\n",
        );
        put(&mut t, ".htpasswds/public_html/passwd", "u:$2y$05$abc");
        let inv = inventory(&mut t);
        let password = inv.server_password.unwrap();
        assert_eq!(password.auth.realm.as_deref(), Some("Members"));
        assert_eq!(
            password.user_file,
            Some(Presence::Present(
                RemotePath::new(".htpasswds/public_html/passwd").unwrap()
            ))
        );
    }

    #[test]
    fn logs_keep_the_lines_that_explain() {
        let mut t = wordpress();
        put(
            &mut t,
            "logs/error.log",
            "[x] [core:alert] /home/u/public_html/.htaccess: Invalid command 'ExpiresDefualt'\n[x] [mpm_prefork:notice] started\n",
        );
        put(
            &mut t,
            "logs/access.log",
            "127.0.0.1 - - [t] \"GET / HTTP/1.1\" 200 10 \"-\" \"x\"\n127.0.0.1 - - [t] \"GET /wp-login.php HTTP/1.1\" 503 10 \"-\" \"x\"\n",
        );
        let inv = inventory(&mut t);
        let logs: Vec<_> = inv
            .logs
            .iter()
            .map(|l| (l.file.as_str(), l.lines.len()))
            .collect();
        assert_eq!(logs, [("logs/access.log", 1), ("logs/error.log", 1)]);
        assert!(inv.logs[0].lines[0].contains("503"));
    }

    #[test]
    fn rename_suffixes() {
        for renamed in [
            "wordfence.off",
            "wordfence-disabled",
            "wordfence_old",
            "wordfence.wprescue-20261127",
        ] {
            assert!(is_renamed_from(renamed, "wordfence"), "{renamed}");
        }
        for other in [
            "wordfence",
            "wordfence-assistant",
            "wordfencex",
            "wordfence.",
        ] {
            assert!(!is_renamed_from(other, "wordfence"), "{other}");
        }
    }
}
