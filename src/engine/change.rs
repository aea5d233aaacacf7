//! A change to the site, and how it is shown and journaled: a rename, a whole-file write with
//! a unified diff in which secrets are redacted, or a database row.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::parse::wp_config;

use super::digest::sha256_hex;
use super::meaning::Meaning;
use crate::transport::RemotePath;

use crate::helper::Row;
use crate::helper::db::RowChange;

use super::password::{PasswordChange, RecordedPassword};

/// One change to the site: every step that changes something reduces to these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `from` becomes `to`; `to` must not exist.
    Rename {
        /// The current name.
        from: RemotePath,
        /// The new name.
        to: RemotePath,
    },
    /// `path` goes from `before` (`None`: no file) to `after`.
    Write {
        /// The file.
        path: RemotePath,
        /// What it holds now.
        before: Option<Vec<u8>>,
        /// What it will hold.
        after: Vec<u8>,
        /// What the edit means, when it is one a rollback can undo on its own (a plugin's
        /// file, which the plugin may rewrite before the rollback).
        meaning: Option<Meaning>,
    },
    /// One database row inserted (`before` is `None`), changed, or deleted (`after` is
    /// `None`).
    Row {
        /// The row, before and after.
        row: RowChange,
        /// What the edit means, when a rollback can undo it in a row changed since (the
        /// plugin saving its settings again).
        meaning: Option<Meaning>,
    },
    /// A user's password hash replaced, the old one kept on the site for a rollback.
    Password(PasswordChange),
}

impl Change {
    /// A write.
    pub fn write(path: RemotePath, before: Option<Vec<u8>>, after: Vec<u8>) -> Self {
        Change::Write {
            path,
            before,
            after,
            meaning: None,
        }
    }

    /// A write that also records what it `meaning`s, for a rollback after the plugin has
    /// rewritten the file.
    pub fn meaning(self, meaning: Option<Meaning>) -> Self {
        match self {
            Change::Write {
                path,
                before,
                after,
                ..
            } => Change::Write {
                path,
                before,
                after,
                meaning,
            },
            other => other,
        }
    }

    /// Whether applying it would change nothing.
    pub fn is_noop(&self) -> bool {
        match self {
            Change::Write {
                before: Some(b),
                after,
                ..
            } => b == after,
            Change::Row { row, .. } => row.before.is_some() && row.before == row.after,
            Change::Rename { .. } | Change::Write { .. } | Change::Password(_) => false,
        }
    }

    /// One line for plans and recaps.
    pub fn describe(&self) -> String {
        match self {
            Change::Rename { from, to } => format!("rename {} -> {}", from.as_str(), to.as_str()),
            Change::Write {
                path, before: None, ..
            } => format!("create {}", path.as_str()),
            Change::Write { path, .. } => format!("edit {}", path.as_str()),
            Change::Row { row, .. } => {
                let verb = match (&row.before, &row.after) {
                    (None, _) => "insert into",
                    (_, None) => "delete from",
                    _ => "update",
                };
                format!(
                    "{verb} table {} the row {}={}",
                    table_name(&row.table),
                    row.key.0,
                    printable(&row.key.1)
                )
            }
            Change::Password(change) => change.describe(),
        }
    }

    /// A digest that two plans share exactly when they would make the same change: what a
    /// saved plan compares against a fresh one.
    pub fn digest(&self) -> String {
        let hash = |bytes: Option<&[u8]>| bytes.map_or("-".to_owned(), sha256_hex);
        let text = match self {
            Change::Rename { from, to } => format!("rename\0{}\0{}", from.as_str(), to.as_str()),
            Change::Write {
                path,
                before,
                after,
                ..
            } => format!(
                "write\0{}\0{}\0{}",
                path.as_str(),
                hash(before.as_deref()),
                hash(Some(after))
            ),
            Change::Row { row, .. } => format!(
                "row\0{}\0{}\0{}",
                row.table,
                row_text(row.before.as_ref(), Secrets::Kept),
                row_text(row.after.as_ref(), Secrets::Kept)
            ),
            Change::Password(change) => {
                let record = change.recorded();
                format!(
                    "password\0{}\0{}\0{}",
                    record.user_id, record.before, record.after
                )
            }
        };
        sha256_hex(text.as_bytes())
    }

    /// The bytes the journal must keep before the change is made: a file's original.
    pub fn original(&self) -> Option<&[u8]> {
        match self {
            Change::Write { before, .. } => before.as_deref(),
            Change::Rename { .. } | Change::Row { .. } | Change::Password(_) => None,
        }
    }

    /// A unified diff of a write (`None` for a rename), with secrets redacted: wp-config.php
    /// keys, salts and passwords, and password hashes in `.htpasswd`-style files.
    pub fn diff(&self) -> Option<String> {
        if let Change::Row { row, .. } = self {
            let name = format!(
                "table {} row {}={}",
                table_name(&row.table),
                row.key.0,
                printable(&row.key.1)
            );
            return Some(unified(
                &name,
                &row_text(row.before.as_ref(), Secrets::Redacted),
                &row_text(row.after.as_ref(), Secrets::Changed(row.before.as_ref())),
            ));
        }
        let Change::Write {
            path,
            before,
            after,
            ..
        } = self
        else {
            return None;
        };
        let name = path.as_str();
        let old = redact(
            name,
            &String::from_utf8_lossy(before.as_deref().unwrap_or_default()),
        );
        let new = redact(name, &String::from_utf8_lossy(after));
        Some(unified(name, &old, &new))
    }
}

fn unified(name: &str, old: &str, new: &str) -> String {
    let (old, new) = (readable(old), readable(new));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Lines longer than this are cut for display.
const LONG_LINE: usize = 160;

/// `text` with its very long lines (a PHP-serialized array on one line, as options and
/// Wordfence's firewall file hold them) cut after each `;` and `{` and before each `}`, so a
/// diff points at the entry that changed rather than at kilobytes of one line. For display
/// only: what is written is the real bytes.
fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.len() <= LONG_LINE {
            out.push_str(line);
            continue;
        }
        let body = line.trim_end_matches('\n');
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if matches!(c, ';' | '{') || chars.peek() == Some(&'}') {
                out.push('\n');
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// A table's name as people read it: `!cerber_blocks` (a table without the WordPress prefix)
/// as `cerber_blocks (no prefix)`.
fn table_name(table: &str) -> String {
    match table.strip_prefix('!') {
        Some(bare) => format!("{bare} (no prefix)"),
        None => table.to_owned(),
    }
}

/// A value as text: itself when it is printable UTF-8, else `0x` and hex (binary IPs).
fn printable(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            text.to_owned()
        }
        _ => format!(
            "0x{}",
            value.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

/// A row as `column: value` lines, for diffs and digests.
/// Whether a row's text keeps secret values (for its identity) or hides them (to be shown).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secrets<'a> {
    Kept,
    Redacted,
    /// Hidden, but marked where they differ from this row's (the row before a change).
    Changed(Option<&'a Row>),
}

/// A row as `column: value` lines.
fn row_text(row: Option<&Row>, secrets: Secrets<'_>) -> String {
    // A row named like a secret (AIOS's `aiowps_unlock_request_secret_key`, an API key
    // option) shows its name, never its value.
    let secret = secrets != Secrets::Kept
        && row.into_iter().flatten().any(|(column, value)| {
            matches!(column.as_str(), "option_name" | "meta_key" | "name")
                && value
                    .as_deref()
                    .is_some_and(|v| wp_config::is_secret_name(&String::from_utf8_lossy(v)))
        });
    row.into_iter()
        .flatten()
        .map(|(column, value)| match value {
            Some(value) if secret && is_value_column(column) => {
                let was = match secrets {
                    Secrets::Changed(before) => before
                        .into_iter()
                        .flatten()
                        .find(|(c, _)| c == column)
                        .and_then(|(_, v)| v.as_deref()),
                    _ => Some(&value[..]),
                };
                match was == Some(&value[..]) {
                    true => format!("{column}: [redacted]\n"),
                    false => format!("{column}: [redacted, changed]\n"),
                }
            }
            Some(value) => format!("{column}: {}\n", printable(value)),
            None => format!("{column}: NULL\n"),
        })
        .collect()
}

/// The columns that hold a row's value in WordPress's key-value tables (and Wordfence's).
fn is_value_column(column: &str) -> bool {
    matches!(column, "option_value" | "meta_value" | "val" | "value")
}

fn redact(name: &str, text: &str) -> String {
    if name.ends_with("wp-config.php") || name.ends_with(".php") {
        wp_config::redact(text)
    } else if name.contains("htpasswd") || name.ends_with("passwd") {
        text.lines()
            .map(|line| match line.split_once(':') {
                Some((user, _)) => format!("{user}:[redacted]\n"),
                None => format!("{line}\n"),
            })
            .collect()
    } else {
        text.to_owned()
    }
}

/// What a journal says a change was, without the bytes (those are stored as blobs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recorded {
    /// A rename.
    Rename {
        /// The original name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A write: the hashes before (`None`: no file) and after; the before bytes are in the
    /// journal's blob store under their hash.
    Write {
        /// The file.
        path: String,
        /// SHA-256 of the original, or `None` if there was no file.
        before: Option<String>,
        /// SHA-256 of what was written.
        after: String,
        /// What the edit meant, when a rollback can undo it in a file rewritten since.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        meaning: Option<Meaning>,
    },
    /// A backup: the file's bytes are in the blob store under this hash.
    Backup {
        /// The file.
        path: String,
        /// SHA-256 of its bytes.
        sha256: String,
    },
    /// A password change: digests only; the old hash is kept on the site.
    Password(RecordedPassword),
    /// A database row, with its values before and after (base64), so rollback can put the
    /// row back exactly.
    Row {
        /// The table, without the prefix.
        table: String,
        /// The column and value (base64) that find the row.
        key: (String, String),
        /// The row before, if there was one.
        before: Option<Vec<(String, Option<String>)>>,
        /// The row after, if there is one.
        after: Option<Vec<(String, Option<String>)>>,
        /// What the edit meant, when a rollback can undo it in a row changed since.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        meaning: Option<Meaning>,
    },
}

impl Recorded {
    /// The record of `change`.
    pub fn of(change: &Change) -> Self {
        match change {
            Change::Rename { from, to } => Recorded::Rename {
                from: from.as_str().to_owned(),
                to: to.as_str().to_owned(),
            },
            Change::Write {
                path,
                before,
                after,
                meaning,
            } => Recorded::Write {
                path: path.as_str().to_owned(),
                before: before.as_deref().map(sha256_hex),
                after: sha256_hex(after),
                meaning: meaning.clone(),
            },
            Change::Row { row, meaning } => Recorded::Row {
                table: row.table.clone(),
                key: (row.key.0.clone(), BASE64.encode(&row.key.1)),
                before: row.before.as_ref().map(encode_row),
                after: row.after.as_ref().map(encode_row),
                meaning: meaning.clone(),
            },
            Change::Password(change) => Recorded::Password(change.recorded()),
        }
    }
}

impl Recorded {
    /// What undoing it puts back, in one line; `None` for a backup, which put nothing on the
    /// site to take back.
    pub fn undo_description(&self) -> Option<String> {
        Some(match self {
            Recorded::Rename { from, to } => format!("rename {to} back to {from}"),
            Recorded::Write {
                path,
                before: Some(_),
                ..
            } => format!("restore {path}"),
            Recorded::Write {
                path, before: None, ..
            } => format!("remove {path}, which did not exist"),
            Recorded::Backup { .. } => return None,
            Recorded::Password(change) => change.undo_description(),
            Recorded::Row {
                table,
                key,
                before,
                after,
                ..
            } => {
                let (column, value) = key;
                let value = BASE64
                    .decode(value)
                    .map_or_else(|_| value.clone(), |v| printable(&v));
                let which = match (before, after) {
                    (None, _) => "delete the inserted row",
                    (_, None) => "put back the deleted row",
                    _ => "put back the row",
                };
                format!("{which} {column}={value} of table {}", table_name(table))
            }
        })
    }
}

fn encode_row(row: &Row) -> Vec<(String, Option<String>)> {
    row.iter()
        .map(|(c, v)| (c.clone(), v.as_ref().map(|v| BASE64.encode(v))))
        .collect()
}

/// The row a journal recorded, decoded.
pub fn decode_row(row: &[(String, Option<String>)]) -> Result<Row, base64::DecodeError> {
    row.iter()
        .map(|(c, v)| Ok((c.clone(), v.as_ref().map(|v| BASE64.decode(v)).transpose()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_never_show_secrets() {
        let change = Change::write(
            RemotePath::new("wp-config.php").unwrap(),
            Some(b"<?php\ndefine('DB_PASSWORD', 'hunter2');\n".to_vec()),
            b"<?php\ndefine('DB_PASSWORD', 'hunter2');\ndefine('AIOS_DISABLE_LOGIN_LOCKOUT', true);\n".to_vec(),
        );
        let diff = change.diff().unwrap();
        assert!(!diff.contains("hunter2"), "{diff}");
        assert!(
            diff.contains("+define('AIOS_DISABLE_LOGIN_LOCKOUT', true);"),
            "{diff}"
        );
        let htpasswd = Change::write(
            RemotePath::new(".htpasswds/passwd").unwrap(),
            Some(b"admin:$2y$05$abcdef\n".to_vec()),
            b"".to_vec(),
        );
        let diff = htpasswd.diff().unwrap();
        assert!(
            diff.contains("-admin:[redacted]") && !diff.contains("$2y$"),
            "{diff}"
        );
    }

    #[test]
    fn a_secret_named_row_shows_its_name_never_its_value() {
        let row = |value: &str| -> Row {
            vec![
                (
                    "option_name".into(),
                    Some(b"aiowps_unlock_request_secret_key".to_vec()),
                ),
                ("option_value".into(), Some(value.as_bytes().to_vec())),
            ]
        };
        let change = |before: &str, after: &str| Change::Row {
            row: RowChange {
                table: "options".into(),
                key: (
                    "option_name".into(),
                    b"aiowps_unlock_request_secret_key".to_vec(),
                ),
                before: Some(row(before)),
                after: Some(row(after)),
            },
            meaning: None,
        };
        let diff = change("s3cr3t-one", "s3cr3t-two").diff().unwrap();
        assert!(!diff.contains("s3cr3t"), "{diff}");
        assert!(diff.contains("-option_value: [redacted]"), "{diff}");
        assert!(
            diff.contains("+option_value: [redacted, changed]"),
            "{diff}"
        );
        // Hidden from people, not from the check that the plan still holds.
        assert_ne!(
            change("s3cr3t-one", "x").digest(),
            change("s3cr3t-two", "x").digest()
        );
    }

    #[test]
    fn long_serialized_lines_are_diffed_entry_by_entry() {
        let pad = "x".repeat(200);
        let old = format!("a:2:{{s:4:\"list\";s:0:\"\";s:3:\"pad\";s:200:\"{pad}\";}}");
        let new = old.replace("s:0:\"\"", "s:9:\"127.0.0.1\"");
        let path = RemotePath::new("f").unwrap();
        let diff = Change::write(path, Some(old.into_bytes()), new.into_bytes())
            .diff()
            .unwrap();
        assert!(
            diff.contains("\n-s:0:\"\";\n+s:9:\"127.0.0.1\";\n"),
            "{diff}"
        );
        assert!(
            !diff.contains("-a:2:{"),
            "unchanged entries are context: {diff}"
        );
        assert_eq!(readable("short;line\n"), "short;line\n");
    }

    #[test]
    fn descriptions_and_noops() {
        let p = RemotePath::new(".htaccess").unwrap();
        assert!(Change::write(p.clone(), Some(b"x".to_vec()), b"x".to_vec()).is_noop());
        assert!(!Change::write(p.clone(), None, b"x".to_vec()).is_noop());
        let row = |before: Option<&str>, after: Option<&str>| {
            let cells = |v: &str| vec![("option_value".to_owned(), Some(v.as_bytes().to_vec()))];
            Change::Row {
                row: RowChange {
                    table: "options".into(),
                    key: ("option_id".into(), b"1".to_vec()),
                    before: before.map(cells),
                    after: after.map(cells),
                },
                meaning: None,
            }
        };
        assert!(row(Some("a"), Some("a")).is_noop());
        assert!(!row(Some("a"), Some("b")).is_noop());
        assert!(!row(Some("a"), None).is_noop());
        assert!(!row(None, Some("a")).is_noop());
        assert_eq!(
            Change::write(p, None, vec![]).describe(),
            "create .htaccess"
        );
        let mut bare = row(Some("a"), None);
        if let Change::Row { row, .. } = &mut bare {
            row.table = "!cerber_blocks".into();
        }
        assert_eq!(
            bare.describe(),
            "delete from table cerber_blocks (no prefix) the row option_id=1"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
