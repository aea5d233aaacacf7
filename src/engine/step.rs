//! Playbook steps, and how each one is planned against the live site without changing it.
//!
//! Every step becomes zero or more [`Change`]s: a rename, or a whole-file write whose before
//! and after bytes are known. Planning reads the site through a [`View`], which also remembers
//! what earlier steps of the same plan will have done, so two steps on one file compose.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use crate::helper::db::{Row, RowChange, cell, with_cell};
use crate::parse::htaccess::Htaccess;
use crate::parse::markers::Markers;
use crate::site::inventory::prepends_in;
use crate::site::password::hash_password;
use crate::transport::RemotePath;

use super::EngineError;
use super::action::Action;
use super::allowlist::{Cell, ClearLockouts, SetSetting, SettingAt, WhitelistIp};
use super::change::Change;
use super::check::HttpCheck;
use super::password::{PasswordChange, stash_key};
use super::vars::Vars;
use super::view::View;

/// One step of a playbook. Paths are relative to the WordPress root and may use the
/// templates `{run_id}` and `{plugin_folder}` (see [`Vars`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Rename a file or folder (e.g. a plugin folder, so WordPress skips the plugin).
    Rename {
        /// What to rename.
        path: String,
        /// The new name; it must not exist.
        to: String,
        /// Skip quietly when `path` is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Rename every entry of a folder whose name matches a regular expression: a lockout a
    /// plugin keeps as a file named after things only the server knows (NinjaFirewall's
    /// `bf_blocked-1-<server>-<random>`). `{name}` in `to` is the entry's name. Nothing to do
    /// when the folder is missing or nothing matches.
    RenameMatching {
        /// The folder.
        folder: String,
        /// The regular expression an entry's name must match.
        pattern: String,
        /// The new name, in the same folder.
        to: String,
    },
    /// Delete every marker-delimited block whose label starts with `marker` (case-insensitive)
    /// from a file such as `.htaccess` or `.user.ini`, marker lines included.
    RemoveBlock {
        /// The file.
        path: String,
        /// The block label, as after `BEGIN` (or Wordfence's `Wordfence WAF`).
        marker: String,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Replace every match of a regular expression (multi-line mode: `^`/`$` match at line
    /// ends) in a file; `$1` in `replace` is the first group.
    Edit {
        /// The file.
        path: String,
        /// The regular expression.
        pattern: String,
        /// The replacement.
        replace: String,
    },
    /// Add `define( 'NAME', 'value' );` to `wp-config.php`, before WordPress's "stop editing"
    /// line (else right after `<?php`): a constant a plugin reads, such as Jetpack's
    /// `JETPACK_IP_ADDRESS_OK`. Nothing to do when it is already defined with that value; a
    /// different value is refused, since PHP keeps the first definition.
    AddDefine {
        /// The constant.
        name: String,
        /// Its value, a template (`{ip}`).
        value: String,
    },
    /// Write a whole file (e.g. WordPress's default `.htaccess`).
    Write {
        /// The file.
        path: String,
        /// Its new contents.
        content: String,
    },
    /// Keep a copy of a file in the run's journal (on this machine), changing nothing on the
    /// site: for files a later manual fix may need.
    Backup {
        /// The file.
        path: String,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Comment out the lines of an `.htaccess` that Apache certainly refuses (a misspelled
    /// directive, a stray closing tag), each marked with the run id; the rest of the file stays
    /// byte for byte. Nothing to do when Apache refuses no line.
    CommentOutRefusedLines {
        /// The file.
        path: String,
    },
    /// Comment out the `auto_prepend_file` settings of a file (`.htaccess`'s `php_value`,
    /// `.user.ini`'s or `php.ini`'s line) that name a file which is gone, each marked with
    /// the run id; settings whose file exists, or cannot be seen, stay. Nothing to do when
    /// none is missing.
    CommentOutMissingPrepends {
        /// The file.
        path: String,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Put a no-op PHP file where an ini file's (`.user.ini`, `php.ini`) `auto_prepend_file`
    /// names one that is gone. PHP-FPM and CGI keep a `.user.ini` they read for
    /// `user_ini.cache_ttl` (5 minutes by default) and `php.ini` until they restart, so an edit
    /// that removes the line takes effect late; PHP only needs the file to exist, so the site
    /// answers at once. Comes before the step that removes the line in the same rung (it reads
    /// the file as planned so far). Rollback removes the stand-in with everything else.
    StandInForMissingPrepends {
        /// The ini file.
        path: String,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Say what a file about to be set aside holds beyond WordPress's own block (its marker
    /// blocks, and how many rule lines stand outside any block), so the user knows what a
    /// default written in its place drops; changes nothing.
    NoteSetAside {
        /// The file.
        path: String,
    },
    /// Delete the lines inside a marker block that contain any of the given texts (e.g. the
    /// caller's address in Solid Security's `.htaccess` ban block); the rest stays byte for
    /// byte.
    RemoveLines {
        /// The file.
        path: String,
        /// The block label, as in `remove_block`.
        block: String,
        /// Texts (templates allowed: `{ip}`) a line must contain to go.
        containing: Vec<String>,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Ask the site over HTTP, as the caller, and stop (and roll back) the run unless it
    /// answers as expected.
    HttpCheck(HttpCheck),
    /// Add the caller's address to a plugin's allow-list (a database setting or a firewall
    /// file), unless an entry already covers it.
    WhitelistIp(WhitelistIp),
    /// Remove the caller's address from a plugin's lockout list, or delete its lockout rows.
    ClearLockouts(ClearLockouts),
    /// Delete the rows of a plugin's table (or WordPress's `usermeta`) that hold every value
    /// of `where`: e.g. the `--login` user's two-factor settings (`{user_id}`), so that user
    /// alone logs in with the password. Each row is journaled whole and put back by rollback.
    DeleteRows(DeleteRows),
    /// Set columns of the rows that hold every value of `where`, journaling only the `key`,
    /// `where` and `set` columns: e.g. hand the `--login` user's two-factor secret to user 0,
    /// so the secret itself is never read into a journal or a diff.
    UpdateRows(UpdateRows),
    /// Set the `--login` user's password to the one `wprescue reset-password` asked for,
    /// hashed on this machine the way the site's WordPress version hashes it; the old hash
    /// stays on the site (never in the journal) until a rollback puts it back.
    SetPassword {},
    /// Where a plugin moved the login page, read from its setting; changes nothing. A rung of
    /// these lets the admin in by telling them the address, and is checked there.
    LoginPage(LoginPage),
    /// Set one of a plugin's settings to a value, as its settings page would.
    SetSetting(SetSetting),
    /// Tell the user something about the plan (what to do once logged in); changes nothing.
    Say(String),
    /// Tell the user something when a WordPress option has a value (LLAR's cloud mode, in
    /// which local edits change nothing); changes nothing.
    WarnIf {
        /// The option.
        option: String,
        /// The value that calls for the warning.
        equals: String,
        /// What to say.
        say: String,
    },
}

/// A `delete_rows` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRows {
    /// The table, without the WordPress prefix; every one of these that exists.
    pub table: Vec<String>,
    /// Column and value (a template: `{user_id}`, `{ip}`) every deleted row holds; rows are
    /// looked up by the first column, in name order.
    #[serde(rename = "where")]
    pub matching: BTreeMap<String, String>,
}

impl DeleteRows {
    fn plan(&self, view: &mut View<'_>, vars: &Vars) -> Result<Vec<Action>, EngineError> {
        let wanted = expand_all(view, vars, &self.matching)?;
        let rows = matching_rows(view, &self.table, &wanted)?;
        let (column, value) = &wanted[0];
        Ok(rows
            .into_iter()
            .map(|(table, row)| {
                Action::Change(Change::Row {
                    row: RowChange {
                        table,
                        key: (column.clone(), value.clone()),
                        before: Some(row),
                        after: None,
                    },
                    meaning: None,
                })
            })
            .collect())
    }
}

/// An `update_rows` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRows {
    /// The table, without the WordPress prefix; every one of these that exists.
    pub table: Vec<String>,
    /// The column that names each row (its primary key).
    pub key: String,
    /// Column and value (a template) every changed row holds.
    #[serde(rename = "where")]
    pub matching: BTreeMap<String, String>,
    /// Column and new value (a template).
    pub set: BTreeMap<String, String>,
}

impl UpdateRows {
    fn plan(&self, view: &mut View<'_>, vars: &Vars) -> Result<Vec<Action>, EngineError> {
        let wanted = expand_all(view, vars, &self.matching)?;
        let set = expand_all(view, vars, &self.set)?;
        let mut actions = Vec::new();
        for (table, row) in matching_rows(view, &self.table, &wanted)? {
            // Only the columns this step is about: the rest of the row (a secret) stays on
            // the server.
            let key = cell(&row, &self.key)
                .ok_or_else(|| {
                    EngineError::Step(format!("table {table} has no column {}", self.key))
                })?
                .to_vec();
            let mut before: Row = vec![(self.key.clone(), Some(key.clone()))];
            for (column, _) in wanted.iter().chain(&set) {
                if before.iter().all(|(c, _)| c != column) {
                    let value = cell(&row, column).map(<[u8]>::to_vec);
                    before.push((column.clone(), value));
                }
            }
            let mut after = before.clone();
            for (column, value) in &set {
                after = with_cell(&after, column, value.clone());
            }
            actions.push(Action::Change(Change::Row {
                row: RowChange {
                    table: table.clone(),
                    key: (self.key.clone(), key),
                    before: Some(before),
                    after: Some(after),
                },
                meaning: None,
            }));
        }
        Ok(actions)
    }
}

/// `columns` with their templates expanded (`{user_id}` looked up once).
fn expand_all(
    view: &mut View<'_>,
    vars: &Vars,
    columns: &BTreeMap<String, String>,
) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
    let mut out = Vec::new();
    for (column, template) in columns {
        let mut value = template.clone();
        if value.contains("{user_id}") {
            value = value.replace("{user_id}", &view.user_id(vars)?);
        }
        out.push((column.clone(), vars.expand(&value)?.into_bytes()));
    }
    Ok(out)
}

/// The rows, in every one of `tables` that exists, holding every `(column, value)` of
/// `wanted`; looked up by the first.
fn matching_rows(
    view: &mut View<'_>,
    tables: &[String],
    wanted: &[(String, Vec<u8>)],
) -> Result<Vec<(String, Row)>, EngineError> {
    let Some(((column, value), rest)) = wanted.split_first() else {
        return Err(EngineError::Step(
            "a delete_rows or update_rows step needs a `where:` naming at least one column".into(),
        ));
    };
    let mut found = Vec::new();
    for table in view.tables(tables)? {
        for row in view.rows(&table, column, value)? {
            if rest
                .iter()
                .all(|(c, v)| cell(&row, c) == Some(v.as_slice()))
            {
                found.push((table.clone(), row));
            }
        }
    }
    Ok(found)
}

/// A `login_page` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginPage {
    /// The plugin's setting holding the page's slug (WPS Hide Login's `whl_page`).
    pub at: SettingAt,
    /// The page's path under the site address; `{value}` is the setting's value.
    pub path: String,
    /// The path on a site without pretty permalinks (WordPress's `permalink_structure`
    /// empty), where plugins take the slug as a query (`/?{value}`).
    #[serde(default)]
    pub plain_path: Option<String>,
    /// Only when the plugin's switch for the feature is on: a setting and the value it has
    /// then (`"1"`; PHP's `true` reads as `1`).
    #[serde(default)]
    pub when: Option<SettingIs>,
}

/// A setting and a value it must have.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingIs {
    /// The setting.
    pub at: SettingAt,
    /// The value.
    pub equals: String,
}

impl Step {
    /// Whether planning it needs the caller's address: allow-lists and lockouts always do;
    /// other steps when one of their texts uses `{ip}`, `{ip_hex16}` or `{ip_escaped}`.
    pub fn needs_ip(&self) -> bool {
        matches!(self, Step::WhitelistIp(_) | Step::ClearLockouts(_))
            || self.texts().iter().any(|t| t.contains("{ip"))
    }

    /// Every text of the step that templates are expanded in.
    fn texts(&self) -> Vec<&String> {
        match self {
            Step::Rename { path, to, .. } => vec![path, to],
            Step::RenameMatching {
                folder,
                pattern,
                to,
            } => vec![folder, pattern, to],
            Step::RemoveBlock { path, marker, .. } => vec![path, marker],
            Step::Edit {
                path,
                pattern,
                replace,
            } => vec![path, pattern, replace],
            Step::Write { path, content } => vec![path, content],
            Step::AddDefine { name, value } => vec![name, value],
            Step::Backup { path, .. }
            | Step::CommentOutRefusedLines { path }
            | Step::CommentOutMissingPrepends { path, .. }
            | Step::StandInForMissingPrepends { path, .. }
            | Step::NoteSetAside { path } => vec![path],
            Step::RemoveLines {
                path,
                block,
                containing,
                ..
            } => [path, block].into_iter().chain(containing).collect(),
            Step::HttpCheck(check) => [&check.path]
                .into_iter()
                .chain(&check.contains)
                .chain(&check.absent)
                .collect(),
            Step::WarnIf {
                option,
                equals,
                say,
            } => vec![option, equals, say],
            Step::LoginPage(page) => [&page.path].into_iter().chain(&page.plain_path).collect(),
            Step::SetPassword {} => Vec::new(),
            Step::SetSetting(_) => Vec::new(),
            Step::Say(text) => vec![text],
            Step::DeleteRows(rows) => rows.matching.values().collect(),
            Step::UpdateRows(rows) => rows.matching.values().chain(rows.set.values()).collect(),
            // Their places may use templates too, but they need the address anyway.
            Step::WhitelistIp(_) | Step::ClearLockouts(_) => Vec::new(),
        }
    }

    /// What this step would do now; nothing when the site already is as the step wants it.
    /// Planning reads only.
    pub fn plan(&self, view: &mut View<'_>, vars: &Vars) -> Result<Vec<Action>, EngineError> {
        let actions = match self {
            Step::WhitelistIp(step) => step.plan(view, vars)?,
            Step::ClearLockouts(step) => step.plan(view, vars)?,
            Step::DeleteRows(step) => step.plan(view, vars)?,
            Step::UpdateRows(step) => step.plan(view, vars)?,
            Step::SetSetting(step) => step.plan(view)?,
            Step::RenameMatching {
                folder,
                pattern,
                to,
            } => rename_matching(view, vars, folder, pattern, to)?,
            Step::StandInForMissingPrepends { path, missing_ok } => {
                stand_in_for_missing_prepends(view, vars, path, *missing_ok)?
            }
            _ => self.plan_file_step(view, vars)?.into_iter().collect(),
        };
        let mut kept = Vec::new();
        for action in actions.into_iter().filter(|a| !a.is_noop()) {
            view.record(&action);
            kept.push(action);
        }
        Ok(kept)
    }

    /// The one thing a file step would do.
    fn plan_file_step(
        &self,
        view: &mut View<'_>,
        vars: &Vars,
    ) -> Result<Option<Action>, EngineError> {
        let action = match self {
            Step::Rename {
                path,
                to,
                missing_ok,
            } => {
                let from = view.resolve(vars, path)?;
                let to = view.resolve(vars, to)?;
                if !view.exists(&from)? {
                    return if *missing_ok {
                        Ok(None)
                    } else {
                        Err(EngineError::Missing(from.as_str().to_owned()))
                    };
                }
                if view.exists(&to)? {
                    return Err(EngineError::Exists(to.as_str().to_owned()));
                }
                Action::Change(Change::Rename { from, to })
            }
            Step::RemoveBlock {
                path,
                marker,
                missing_ok,
            } => {
                let path = view.resolve(vars, path)?;
                let Some(before) = view.read(&path)? else {
                    return missing(*missing_ok, &path);
                };
                let after = remove_blocks(&before, marker);
                Action::write(path, Some(before), after)
            }
            Step::Edit {
                path,
                pattern,
                replace,
            } => {
                let path = view.resolve(vars, path)?;
                let regex =
                    Regex::new(&format!("(?m){pattern}")).map_err(|e| EngineError::Pattern {
                        pattern: pattern.clone(),
                        message: e.to_string(),
                    })?;
                let Some(before) = view.read(&path)? else {
                    return missing(false, &path);
                };
                let text = String::from_utf8_lossy(&before);
                let after = regex
                    .replace_all(&text, vars.expand(replace)?.as_str())
                    .into_owned();
                Action::write(path, Some(before), after.into_bytes())
            }
            Step::AddDefine { name, value } => {
                let path = view.resolve(vars, "wp-config.php")?;
                let Some(before) = view.read(&path)? else {
                    return missing(false, &path);
                };
                let value = vars.expand(value)?;
                let after = add_define(&String::from_utf8_lossy(&before), name, &value)?;
                Action::write(path, Some(before), after.into_bytes())
            }
            Step::Write { path, content } => {
                let path = view.resolve(vars, path)?;
                let before = view.read(&path)?;
                Action::write(path, before, vars.expand(content)?.into_bytes())
            }
            Step::Backup { path, missing_ok } => {
                let path = view.resolve(vars, path)?;
                let Some(bytes) = view.read(&path)? else {
                    return missing(*missing_ok, &path);
                };
                Action::Backup { path, bytes }
            }
            Step::NoteSetAside { path } => {
                let path = view.resolve(vars, path)?;
                let Some(bytes) = view.read(&path)? else {
                    return Ok(None);
                };
                match set_aside_note(path.as_str(), &String::from_utf8_lossy(&bytes)) {
                    Some(note) => Action::Note(note),
                    None => return Ok(None),
                }
            }
            Step::CommentOutRefusedLines { path } => {
                let path = view.resolve(vars, path)?;
                let Some(before) = view.read(&path)? else {
                    return missing(false, &path);
                };
                let after = comment_out_refused(&before, &format!("wprescue-{}", vars.run_id));
                Action::write(path, Some(before), after)
            }
            Step::CommentOutMissingPrepends { path, missing_ok } => {
                let path = view.resolve(vars, path)?;
                let Some(before) = view.read(&path)? else {
                    return missing(*missing_ok, &path);
                };
                let name = path.file_name().unwrap_or_default();
                let mut gone = Vec::new();
                for (line, target) in prepends_in(name, &String::from_utf8_lossy(&before)) {
                    if view.missing_prepend(&target, &vars.wp_root)?.is_some() {
                        gone.push(line);
                    }
                }
                // `.htaccess` comments start with `#`, ini files' with `;`.
                let comment = if name == ".htaccess" { '#' } else { ';' };
                let prefix = format!("{comment} wprescue-{}: ", vars.run_id);
                Action::write(
                    path,
                    Some(before.clone()),
                    comment_out(&before, &gone, &prefix),
                )
            }
            Step::RemoveLines {
                path,
                block,
                containing,
                missing_ok,
            } => {
                let path = view.resolve(vars, path)?;
                let Some(before) = view.read(&path)? else {
                    return missing(*missing_ok, &path);
                };
                let needles = containing
                    .iter()
                    .map(|c| vars.expand(c))
                    .collect::<Result<Vec<_>, _>>()?;
                let after = remove_lines(&before, block, &needles);
                Action::write(path, Some(before), after)
            }
            Step::HttpCheck(check) => Action::Check(HttpCheck {
                path: vars.expand(&check.path)?,
                ..check.clone()
            }),
            Step::Say(text) => Action::Note(vars.expand(text)?),
            Step::SetPassword {} => {
                let password = vars.new_password.as_ref().ok_or_else(|| {
                    EngineError::Step(
                        "set_password sets the password wprescue reset-password asks for: run that"
                            .into(),
                    )
                })?;
                let id = view.user_id(vars)?;
                let login = vars.user.clone().unwrap_or_default();
                let users = view.rows("users", "ID", id.as_bytes())?;
                let before = users
                    .first()
                    .and_then(|u| cell(u, "user_pass"))
                    .unwrap_or_default()
                    .to_vec();
                let hash = hash_password(password.expose(), vars.wp_version.as_deref());
                Action::Change(Change::Password(PasswordChange {
                    user_id: id.into_bytes(),
                    login,
                    before,
                    after: hash.into_bytes(),
                    stash: stash_key(&vars.run_id),
                }))
            }
            Step::WarnIf {
                option,
                equals,
                say,
            } => {
                let rows = view.rows("options", "option_name", option.as_bytes())?;
                let matches = rows
                    .iter()
                    .any(|row| cell(row, "option_value") == Some(equals.as_bytes()));
                if !matches {
                    return Ok(None);
                }
                Action::Note(say.clone())
            }
            Step::LoginPage(page) => {
                if let Some(when) = &page.when
                    && when.at.read_in(view)?.as_deref() != Some(when.equals.as_str())
                {
                    return Ok(None);
                }
                let Some(slug) = page.at.read_in(view)?.filter(|v| !v.is_empty()) else {
                    return Ok(None);
                };
                // The value comes from the site: only a plain path segment makes an address.
                let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b);
                if !slug.bytes().all(plain) || slug.starts_with('.') {
                    return Err(EngineError::Step(format!(
                        "the login page setting holds {}, which is not a plain path segment",
                        crate::parse::text::printable(&format!("{slug:?}"))
                    )));
                }
                let permalinks = SettingAt {
                    cell: Cell::Option("permalink_structure".into()),
                    keys: Vec::new(),
                };
                let path = match &page.plain_path {
                    Some(plain) if permalinks.read_in(view)?.is_none_or(|p| p.is_empty()) => plain,
                    _ => &page.path,
                };
                Action::LoginAt(vars.expand(&path.replace("{value}", &slug))?)
            }
            Step::WhitelistIp(_)
            | Step::ClearLockouts(_)
            | Step::DeleteRows(_)
            | Step::UpdateRows(_)
            | Step::SetSetting(_)
            | Step::RenameMatching { .. }
            | Step::StandInForMissingPrepends { .. } => {
                return Ok(None);
            }
        };
        Ok(Some(action))
    }
}

/// The renames of a `rename_matching` step.
fn rename_matching(
    view: &mut View<'_>,
    vars: &Vars,
    folder: &str,
    pattern: &str,
    to: &str,
) -> Result<Vec<Action>, EngineError> {
    let folder = view.resolve(vars, folder)?;
    let regex = Regex::new(&vars.expand(pattern)?).map_err(|e| EngineError::Pattern {
        pattern: pattern.to_owned(),
        message: e.to_string(),
    })?;
    let mut actions = Vec::new();
    for name in view.names(&folder)? {
        if !regex.is_match(&name) {
            continue;
        }
        let from = folder.join(&name)?;
        // The name comes from the server: join refuses one that is not a plain name.
        let new_name = vars.expand(&to.replace("{name}", &name))?;
        let renamed = folder.join(&new_name)?;
        if view.exists(&renamed)? {
            return Err(EngineError::Exists(renamed.as_str().to_owned()));
        }
        actions.push(Action::Change(Change::Rename { from, to: renamed }));
    }
    Ok(actions)
}

/// The stand-ins of a `stand_in_for_missing_prepends` step, each with a note saying why it is
/// there and when it may go.
fn stand_in_for_missing_prepends(
    view: &mut View<'_>,
    vars: &Vars,
    path: &str,
    missing_ok: bool,
) -> Result<Vec<Action>, EngineError> {
    let path = view.resolve(vars, path)?;
    let Some(ini) = view.read(&path)? else {
        return Ok(missing(missing_ok, &path)?.into_iter().collect());
    };
    let name = path.file_name().unwrap_or_default();
    let (mut actions, mut placed) = (Vec::new(), Vec::new());
    for (_, target) in prepends_in(name, &String::from_utf8_lossy(&ini)) {
        let Some(stand_in) = view.missing_prepend(&target, &vars.wp_root)? else {
            continue;
        };
        // The same file named twice, or there after all: one stand-in at most.
        if placed.contains(&stand_in) || view.exists(&stand_in)? {
            continue;
        }
        placed.push(stand_in.clone());
        let content = format!(
            "<?php\n// wprescue {run}: stands in for {target}, which is gone,\n\
             // while PHP still reads the old {name} from its cache (user_ini.cache_ttl, 5 minutes\n\
             // by default; php.ini until PHP restarts). It does nothing. Safe to delete once the\n\
             // site answers without it.\n",
            run = vars.run_id,
        );
        let late = if name == ".user.ini" {
            "PHP-FPM and CGI re-read .user.ini only when their cached copy expires \
             (user_ini.cache_ttl, 5 minutes by default)"
        } else {
            "PHP reads php.ini again only when it restarts"
        };
        actions.push(Action::Note(format!(
            "{stand_in} is a no-op stand-in for the missing {target}: {late}, so removing the \
             line alone would take effect late; delete the stand-in after that, or leave it \
             (rollback removes it)",
        )));
        actions.push(Action::write(stand_in, None, content.into_bytes()));
    }
    Ok(actions)
}

/// `config` (wp-config.php) with `define( 'name', 'value' );` added where WordPress's own
/// sample puts custom values; unchanged when it is there already.
fn add_define(config: &str, name: &str, value: &str) -> Result<String, EngineError> {
    let plain = |s: &str| !s.contains(['\'', '\\', '\n', '\r']);
    if !plain(name) || !plain(value) {
        return Err(EngineError::Step(format!(
            "{name:?} = {value:?} cannot be written as a plain PHP string"
        )));
    }
    match crate::parse::wp_config::WpConfig::parse(config).get(name) {
        Some(existing) if existing.as_str() == Some(value) => return Ok(config.to_owned()),
        Some(_) => {
            return Err(EngineError::Step(format!(
                "wp-config.php defines {name} already, with another value: PHP keeps the first, so set it by hand"
            )));
        }
        None => {}
    }
    let line = format!("define( '{name}', '{value}' );\n");
    if let Some(at) = config.find("/* That's all, stop editing!") {
        let start = config[..at].rfind('\n').map_or(0, |i| i + 1);
        return Ok(format!("{}{line}{}", &config[..start], &config[start..]));
    }
    let Some(open) = config.find("<?php") else {
        return Err(EngineError::Step(
            "wp-config.php does not start PHP code".into(),
        ));
    };
    let end = config[open..]
        .find('\n')
        .map_or(config.len(), |i| open + i + 1);
    let newline = if config[..end].ends_with('\n') {
        ""
    } else {
        "\n"
    };
    Ok(format!(
        "{}{newline}{line}{}",
        &config[..end],
        &config[end..]
    ))
}

fn missing<T>(ok: bool, path: &RemotePath) -> Result<Option<T>, EngineError> {
    if ok {
        Ok(None)
    } else {
        Err(EngineError::Missing(path.as_str().to_owned()))
    }
}

/// The line spans (1-based, inclusive, marker lines included) of the blocks labelled
/// `marker…`, case-insensitively.
fn blocks_labelled(text: &str, marker: &str) -> Vec<(usize, usize)> {
    let wanted = marker.to_ascii_lowercase();
    Markers::find(text)
        .blocks
        .into_iter()
        .filter(|b| b.label.to_ascii_lowercase().starts_with(&wanted))
        .map(|b| (b.begin_line, b.end_line))
        .collect()
}

/// `text` without the lines (1-based) for which `drop` says so. Line endings are kept.
/// `text` with every line Apache refuses on its own (an unknown directive, also inside an
/// `<IfModule>` whose module may be loaded; a stray closing tag) commented out as
/// `# {marker}: line`, with the continuation lines of the same directive; line endings are
/// kept. Faults of whole sections are left for a rung that replaces the file.
fn comment_out_refused(text: &[u8], marker: &str) -> Vec<u8> {
    let refused: Vec<usize> = Htaccess::parse(&String::from_utf8_lossy(text))
        .problems
        .iter()
        .filter(|p| p.commentable)
        .map(|p| p.line)
        .collect();
    comment_out(text, &refused, &format!("# {marker}: "))
}

/// `text` with the given lines (1-based) behind `prefix`, and the continuation lines (a
/// trailing `\`) of each; line endings are kept.
fn comment_out(text: &[u8], lines: &[usize], prefix: &str) -> Vec<u8> {
    let mut continued = false;
    let mut out = Vec::with_capacity(text.len());
    // Bytes, not text: the lines not commented out stay exactly as they were.
    for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        let commented = continued || lines.contains(&(i + 1));
        if commented {
            out.extend_from_slice(prefix.as_bytes());
        }
        out.extend_from_slice(line);
        continued = commented && line.trim_ascii_end().ends_with(b"\\");
    }
    out
}

/// What `text` (the file `name`) holds beyond WordPress's own block; `None` when nothing.
fn set_aside_note(name: &str, text: &str) -> Option<String> {
    let markers = Markers::find(text);
    let blocks: Vec<&str> = markers
        .blocks
        .iter()
        .map(|b| b.label.as_str())
        .filter(|label| !label.eq_ignore_ascii_case("WordPress"))
        .collect();
    let outside = text
        .lines()
        .enumerate()
        .filter(|(i, line)| {
            let line = line.trim();
            !line.is_empty()
                && !line.starts_with('#')
                && !markers
                    .blocks
                    .iter()
                    .any(|b| (b.begin_line..=b.end_line).contains(&(i + 1)))
        })
        .count();
    if blocks.is_empty() && outside == 0 {
        return None;
    }
    let mut held = Vec::new();
    if !blocks.is_empty() {
        held.push(format!("the blocks {}", blocks.join(", ")));
    }
    if outside > 0 {
        held.push(format!("{outside} rule line(s) outside any block"));
    }
    Some(format!(
        "{name} is set aside whole, with {}: the default written in its place drops them (copy back what you need from the file set aside)",
        held.join(" and ")
    ))
}

fn drop_lines(text: &str, drop: impl Fn(usize, &str) -> bool) -> Vec<u8> {
    text.split_inclusive('\n')
        .enumerate()
        .filter(|(i, line)| !drop(i + 1, line))
        .map(|(_, line)| line)
        .collect::<String>()
        .into_bytes()
}

/// `text` without the marker blocks labelled `marker…`.
fn remove_blocks(text: &[u8], marker: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let spans = blocks_labelled(&text, marker);
    drop_lines(&text, |n, _| {
        spans.iter().any(|(a, b)| (*a..=*b).contains(&n))
    })
}

/// `text` without the lines strictly inside a `block…` block that contain any of `needles`
/// as a whole token (the block's own marker lines stay).
fn remove_lines(text: &[u8], block: &str, needles: &[String]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let spans = blocks_labelled(&text, block);
    drop_lines(&text, |n, line| {
        spans.iter().any(|(a, b)| *a < n && n < *b)
            && needles.iter().any(|x| contains_token(line, x))
    })
}

/// Whether `needle` occurs in `line` with no letter, digit or dot right before or after it:
/// `1.2.3.4` is in `Deny from 1.2.3.4` but not in `Deny from 11.2.3.45`.
fn contains_token(line: &str, needle: &str) -> bool {
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
    line.match_indices(needle).any(|(at, _)| {
        !joins(line[..at].chars().next_back()) && !joins(line[at + needle.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::access::Access;
    use crate::helper::db::memory::{MemoryDatabase, row};
    use crate::transport::{MemoryTransport, TransportExt, WriteMode};

    #[test]
    fn what_a_file_set_aside_holds_is_named() {
        let text = "# BEGIN WordPress\nRewriteEngine On\n# END WordPress\n# BEGIN Cache\nExpiresActive On\n# END Cache\nHeader set X-Frame-Options DENY\n\n# a comment\n";
        assert_eq!(
            set_aside_note(".htaccess", text).unwrap(),
            ".htaccess is set aside whole, with the blocks Cache and 1 rule line(s) outside any block: the default written in its place drops them (copy back what you need from the file set aside)"
        );
        assert_eq!(
            set_aside_note(
                ".htaccess",
                "# BEGIN WordPress\nRewriteEngine On\n# END WordPress\n"
            ),
            None
        );
    }

    #[test]
    fn only_the_refused_lines_are_commented_out() {
        let text = "# BEGIN WordPress\r\nRewriteEngine On\r\n# END WordPress\r\n<IfModule mod_expires.c>\nExpiresActive On\nExpiresDefualt \"access plus 1 month\" \\\n  extra\n</IfModule>\nHeader set X-Frame-Options SAMEORIGIN\n</Files>\n";
        let after = comment_out_refused(text.as_bytes(), "wprescue-1-abcdef");
        let after = String::from_utf8(after).unwrap();
        assert_eq!(
            after,
            text.replace("ExpiresDefualt", "# wprescue-1-abcdef: ExpiresDefualt")
                .replace("  extra", "# wprescue-1-abcdef:   extra")
                .replace("</Files>", "# wprescue-1-abcdef: </Files>")
        );
        assert!(Htaccess::parse(&after).problems.is_empty());
        let again = comment_out_refused(after.as_bytes(), "wprescue-2-abcdef");
        assert_eq!(again, after.as_bytes(), "nothing left to comment out");
        let latin1 = b"Header set X-Name \"caf\xe9\"\nExpiresDefualt x\n";
        assert_eq!(
            comment_out_refused(latin1, "m"),
            b"Header set X-Name \"caf\xe9\"\n# m: ExpiresDefualt x\n",
            "bytes that are not UTF-8 stay as they are"
        );
    }

    #[test]
    fn a_step_needs_the_address_where_a_text_of_it_uses_one() {
        let step = |yaml: &str| -> Step { serde_saphyr::from_str(yaml).unwrap() };
        for (yaml, needs) in [
            ("rename: {path: a, to: a.off}", false),
            ("rename: {path: a, to: \"a.{ip}\"}", true),
            ("write: {path: a, content: \"allow {ip_escaped}\"}", true),
            ("http_check: {path: /, absent: [\"{ip}\"]}", true),
            ("http_check: {path: /, status: 200}", false),
            (
                "remove_lines: {path: .htaccess, block: b, containing: [\"x\", \"{ip_hex16}\"]}",
                true,
            ),
            ("clear_lockouts: {rows: {table: [t], column: c}}", true),
            ("warn_if: {option: o, equals: \"1\", say: s}", false),
        ] {
            assert_eq!(step(yaml).needs_ip(), needs, "{yaml}");
        }
    }

    fn site(files: &[(&str, &str)]) -> MemoryTransport {
        let mut t = MemoryTransport::new();
        for (file, body) in files {
            let path = RemotePath::new(file).unwrap();
            if let Some(parent) = path.parent() {
                t.mkdir_all(&parent).unwrap();
            }
            t.write_bytes(&path, body.as_bytes(), WriteMode::Create)
                .unwrap();
        }
        t
    }

    fn vars() -> Vars {
        Vars {
            plugin_folder: Some("wp-content/plugins/wordfence".into()),
            ..Vars::for_tests()
        }
    }

    const HTACCESS: &str = "# BEGIN WordPress\r\nRewriteEngine On\r\n# END WordPress\r\n# Wordfence WAF\r\nphp_value auto_prepend_file '/x/wordfence-waf.php'\r\n# END Wordfence WAF\r\n";

    #[test]
    fn remove_block_keeps_everything_else_byte_for_byte() {
        let after = remove_blocks(HTACCESS.as_bytes(), "wordfence waf");
        assert_eq!(
            after,
            b"# BEGIN WordPress\r\nRewriteEngine On\r\n# END WordPress\r\n"
        );
        assert_eq!(
            remove_blocks(HTACCESS.as_bytes(), "Solid Security"),
            HTACCESS.as_bytes()
        );
    }

    #[test]
    fn steps_compose_on_the_same_file_and_are_idempotent() {
        let mut t = site(&[("public_html/.htaccess", HTACCESS)]);
        let steps = [
            Step::RemoveBlock {
                path: ".htaccess".into(),
                marker: "Wordfence WAF".into(),
                missing_ok: false,
            },
            Step::Edit {
                path: ".htaccess".into(),
                pattern: r"^RewriteEngine On".into(),
                replace: "# {run_id}: RewriteEngine On".into(),
            },
            // Already gone: nothing to do.
            Step::RemoveBlock {
                path: ".htaccess".into(),
                marker: "Wordfence WAF".into(),
                missing_ok: false,
            },
        ];
        let mut access = Access::files(&mut t);
        let mut view = View::new(&mut access);
        let changes: Vec<_> = steps
            .iter()
            .flat_map(|s| s.plan(&mut view, &vars()).unwrap())
            .collect();
        assert_eq!(changes.len(), 2);
        let Some(Change::Write { after, .. }) = changes[1].change() else {
            panic!()
        };
        assert_eq!(
            String::from_utf8_lossy(after),
            "# BEGIN WordPress\r\n# r1: RewriteEngine On\r\n# END WordPress\r\n"
        );
    }

    #[test]
    fn rename_checks_both_ends_and_expands_templates() {
        let mut t = site(&[(
            "public_html/wp-content/plugins/wordfence/wordfence.php",
            "<?php",
        )]);
        let step = Step::Rename {
            path: "{plugin_folder}".into(),
            to: "{plugin_folder}.wprescue-{run_id}".into(),
            missing_ok: false,
        };
        let mut access = Access::files(&mut t);
        let mut view = View::new(&mut access);
        let change = step.plan(&mut view, &vars()).unwrap().remove(0);
        assert_eq!(
            change,
            Action::Change(Change::Rename {
                from: RemotePath::new("public_html/wp-content/plugins/wordfence").unwrap(),
                to: RemotePath::new("public_html/wp-content/plugins/wordfence.wprescue-r1")
                    .unwrap(),
            })
        );
        // The same step again, after the first: its source is gone.
        assert!(matches!(
            step.plan(&mut view, &vars()),
            Err(EngineError::Missing(_))
        ));
    }

    #[test]
    fn a_define_goes_before_the_stop_editing_line_once() {
        let config = "<?php\ndefine( 'DB_NAME', 'wp' );\n\n/* That's all, stop editing! Happy publishing. */\nrequire_once ABSPATH . 'wp-settings.php';\n";
        let after = add_define(config, "JETPACK_IP_ADDRESS_OK", "127.0.0.1").unwrap();
        assert_eq!(
            after,
            config.replace(
                "/* That's all",
                "define( 'JETPACK_IP_ADDRESS_OK', '127.0.0.1' );\n/* That's all"
            )
        );
        assert_eq!(
            add_define(&after, "JETPACK_IP_ADDRESS_OK", "127.0.0.1").unwrap(),
            after
        );
        let other = add_define(&after, "JETPACK_IP_ADDRESS_OK", "10.0.0.1").unwrap_err();
        assert!(other.to_string().contains("another value"), "{other}");
        assert_eq!(
            add_define("<?php\n$x = 1;\n", "A", "b").unwrap(),
            "<?php\ndefine( 'A', 'b' );\n$x = 1;\n"
        );
        assert!(
            add_define(config, "A", "it's").is_err(),
            "a quote would end the string"
        );
    }

    #[test]
    fn rename_matching_takes_the_matching_names_only() {
        let cache = "public_html/wp-content/nfwlog/cache";
        let mut t = site(&[
            (&format!("{cache}/bf_blocked-1-site-4041711") as &str, ""),
            (&format!("{cache}/bf_1-site-4041711"), "123\n"),
            (&format!("{cache}/login_protection.php"), "<?php exit; ?>"),
        ]);
        let step: Step = serde_saphyr::from_str(
            "rename_matching: {folder: wp-content/nfwlog/cache, pattern: '^bf_blocked-', to: \"wprescue-{run_id}-{name}\"}",
        )
        .unwrap();
        let actions = step
            .plan(&mut View::new(&mut Access::files(&mut t)), &vars())
            .unwrap();
        assert_eq!(
            actions,
            [Action::Change(Change::Rename {
                from: RemotePath::new(&format!("{cache}/bf_blocked-1-site-4041711")).unwrap(),
                to: RemotePath::new(&format!("{cache}/wprescue-r1-bf_blocked-1-site-4041711"))
                    .unwrap(),
            })]
        );
        let mut empty = site(&[]);
        let none = step
            .plan(&mut View::new(&mut Access::files(&mut empty)), &vars())
            .unwrap();
        assert!(none.is_empty(), "no folder, nothing to do");
    }

    #[test]
    fn paths_stay_below_the_wordpress_root() {
        let mut t = site(&[]);
        for path in ["../wp-config.php", "/etc/passwd", "a/../../b"] {
            let step = Step::Write {
                path: path.into(),
                content: "x".into(),
            };
            let err = step
                .plan(&mut View::new(&mut Access::files(&mut t)), &vars())
                .unwrap_err();
            assert!(
                matches!(err, EngineError::AbsolutePath(_) | EngineError::Path(_)),
                "{path}: {err}"
            );
        }
    }

    #[test]
    fn a_symbolic_link_on_the_way_is_refused() {
        use crate::transport::{ConnectOptions, LocalTransport};
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("public_html/wp-content")).unwrap();
        std::fs::write(outside.path().join("secret.txt"), "x").unwrap();
        let link = dir.path().join("public_html/wp-content/plugins");
        std::os::unix::fs::symlink(outside.path(), link).unwrap();
        let mut t = LocalTransport::open(dir.path(), &ConnectOptions::default()).unwrap();
        let step = Step::Write {
            path: "wp-content/plugins/secret.txt".into(),
            content: "overwritten".into(),
        };
        let err = step
            .plan(&mut View::new(&mut Access::files(&mut t)), &vars())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("public_html/wp-content/plugins is a symbolic link"),
            "{err}"
        );
        let secret = std::fs::read_to_string(outside.path().join("secret.txt")).unwrap();
        assert_eq!(secret, "x");
    }

    #[test]
    fn remove_lines_takes_only_the_address_inside_the_block() {
        let htaccess = "# BEGIN iThemes Security - Do not modify or remove this line\n# Ban Hosts\nSetEnvIF REMOTE_ADDR \"^127\\.0\\.0\\.1$\" DenyAccess\nSetEnvIF REMOTE_ADDR \"^127\\.0\\.0\\.10$\" DenyAccess\nRequire not ip 127.0.0.1\nRequire not ip 127.0.0.13\n# END iThemes Security - Do not modify or remove this line\nDeny from 127.0.0.1\n";
        let mut vars = vars();
        vars.ip = Some("127.0.0.1".parse().unwrap());
        let needles = [
            vars.expand("{ip}").unwrap(),
            vars.expand("{ip_escaped}").unwrap(),
        ];
        let after = remove_lines(htaccess.as_bytes(), "iThemes Security", &needles);
        assert_eq!(
            String::from_utf8(after).unwrap(),
            "# BEGIN iThemes Security - Do not modify or remove this line\n# Ban Hosts\nSetEnvIF REMOTE_ADDR \"^127\\.0\\.0\\.10$\" DenyAccess\nRequire not ip 127.0.0.13\n# END iThemes Security - Do not modify or remove this line\nDeny from 127.0.0.1\n"
        );
    }

    #[test]
    fn a_missing_prepend_named_in_an_ini_file_gets_one_no_op_stand_in() {
        let ini = "auto_prepend_file = '/public_html/gone.php'\nauto_prepend_file = /public_html/gone.php\nauto_prepend_file = /public_html/here.php\n";
        let mut t = site(&[
            ("public_html/.user.ini", ini),
            ("public_html/here.php", "<?php"),
        ]);
        let step = Step::StandInForMissingPrepends {
            path: ".user.ini".into(),
            missing_ok: true,
        };
        let actions = step
            .plan(&mut View::new(&mut Access::files(&mut t)), &vars())
            .unwrap();
        let [
            Action::Note(note),
            Action::Change(Change::Write {
                path,
                before,
                after,
                ..
            }),
        ] = &actions[..]
        else {
            panic!("one note and one new file: {actions:?}");
        };
        assert_eq!(path.as_str(), "public_html/gone.php");
        assert_eq!(*before, None, "a new file, removed by rollback");
        let php = String::from_utf8(after.clone()).unwrap();
        assert!(
            php.starts_with("<?php\n//") && php.lines().skip(1).all(|l| l.starts_with("//")),
            "{php}"
        );
        assert!(note.contains("rollback removes it"), "{note}");
        let step = Step::StandInForMissingPrepends {
            path: "php.ini".into(),
            missing_ok: true,
        };
        assert!(
            step.plan(&mut View::new(&mut Access::files(&mut t)), &vars())
                .unwrap()
                .is_empty(),
            "no file, nothing to do"
        );
    }

    #[test]
    fn only_prepends_whose_file_is_gone_are_commented_out() {
        // The memory transport's root is `/`, so server paths map straight onto it.
        let htaccess = "php_value auto_prepend_file \"/public_html/gone.php\"\nphp_value auto_prepend_file /public_html/here.php\n# BEGIN WordPress\n# END WordPress\n";
        let ini = "auto_prepend_file = '/public_html/gone.php'\r\nmemory_limit = 256M\r\n";
        let mut t = site(&[
            ("public_html/.htaccess", htaccess),
            ("public_html/.user.ini", ini),
            ("public_html/here.php", "<?php"),
        ]);
        let plan = |t: &mut MemoryTransport, path: &str| {
            let step = Step::CommentOutMissingPrepends {
                path: path.into(),
                missing_ok: true,
            };
            step.plan(&mut View::new(&mut Access::files(t)), &vars())
                .unwrap()
        };
        let after = |actions: Vec<Action>| match actions.into_iter().next() {
            Some(Action::Change(Change::Write { after, .. })) => String::from_utf8(after).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            after(plan(&mut t, ".htaccess")),
            htaccess.replacen("php_value", "# wprescue-r1: php_value", 1)
        );
        assert_eq!(
            after(plan(&mut t, ".user.ini")),
            ini.replace("auto_prepend", "; wprescue-r1: auto_prepend")
        );
        assert!(plan(&mut t, "php.ini").is_empty(), "no file, nothing to do");
        t.write_bytes(
            &RemotePath::new("public_html/gone.php").unwrap(),
            b"<?php",
            WriteMode::Create,
        )
        .unwrap();
        assert!(
            plan(&mut t, ".htaccess").is_empty(),
            "nothing is missing now"
        );
    }

    /// The plan of the step in `yaml` against `db`, as the `--login` user `user`.
    fn plan_rows(
        db: &MemoryDatabase,
        yaml: &str,
        user: Option<&str>,
    ) -> Result<Vec<Action>, EngineError> {
        let step: Step = serde_saphyr::from_str(yaml).unwrap();
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(db),
            web: None,
        };
        let mut vars = vars();
        vars.user = user.map(str::to_owned);
        step.plan(&mut View::new(&mut access), &vars)
    }

    #[test]
    fn update_rows_never_reads_the_other_columns_into_the_plan() {
        let db = MemoryDatabase::default();
        let secret = |id: &str, user: &str| {
            row(&[
                ("id", id),
                ("user_id", user),
                ("secret", "SEED"),
                ("recovery", "CODES"),
            ])
        };
        db.tables.borrow_mut().extend([
            (
                "users".to_owned(),
                vec![row(&[("ID", "1"), ("user_login", "admin")])],
            ),
            (
                "wfls_2fa_secrets".to_owned(),
                vec![secret("1", "1"), secret("2", "2")],
            ),
        ]);
        let actions = plan_rows(
            &db,
            "update_rows: {table: [wfls_2fa_secrets], key: id, where: {user_id: \"{user_id}\"}, set: {user_id: \"0\"}}",
            Some("admin"),
        )
        .unwrap();
        let [Action::Change(Change::Row { row: change, .. })] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        assert_eq!(change.before, Some(row(&[("id", "1"), ("user_id", "1")])));
        assert_eq!(change.after, Some(row(&[("id", "1"), ("user_id", "0")])));
        assert_eq!(change.key, ("id".to_owned(), b"1".to_vec()));
    }

    #[test]
    fn delete_rows_takes_only_the_login_users_rows() {
        let meta = |id: &str, user: &str, key: &str| {
            row(&[
                ("umeta_id", id),
                ("user_id", user),
                ("meta_key", key),
                ("meta_value", "x"),
            ])
        };
        let db = MemoryDatabase::default();
        db.tables.borrow_mut().extend([
            (
                "users".to_owned(),
                vec![
                    row(&[("ID", "1"), ("user_login", "admin")]),
                    row(&[("ID", "2"), ("user_login", "admin2")]),
                ],
            ),
            (
                "usermeta".to_owned(),
                vec![
                    meta("30", "1", "_two_factor_enabled_providers"),
                    meta("31", "1", "_two_factor_totp_key"),
                    meta("32", "2", "_two_factor_enabled_providers"),
                ],
            ),
        ]);
        let yaml = "delete_rows: {table: [usermeta], where: {user_id: \"{user_id}\", meta_key: _two_factor_enabled_providers}}";
        let err = plan_rows(&db, yaml, None).unwrap_err();
        assert!(err.to_string().contains("give --login USER"), "{err}");
        let actions = plan_rows(&db, yaml, Some("admin")).unwrap();
        let deleted: Vec<_> = actions
            .iter()
            .map(|a| match a {
                Action::Change(Change::Row { row, .. }) => {
                    assert_eq!(row.after, None);
                    cell(row.before.as_ref().unwrap(), "umeta_id").unwrap()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(deleted, [b"30"]);
        let err = plan_rows(&db, yaml, Some("nobody")).unwrap_err();
        assert!(
            err.to_string().contains("no user named \"nobody\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_step_keys_are_refused() {
        let err = serde_saphyr::from_str::<Vec<Step>>("- rename: {path: a, too: b}\n").unwrap_err();
        assert!(err.to_string().contains("too"), "{err}");
    }
}
