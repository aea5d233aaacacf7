//! A planned change to the site, and how it is shown: a rename, a whole-file write with a
//! unified diff in which secrets are redacted, a copy of a file kept in the journal, or a
//! check of what the site answers.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::site::wp_config;
use crate::transport::RemotePath;

use super::check::HttpCheck;

/// One change to the site. Every step of every playbook reduces to these.
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
    },
    /// A copy of `path` kept in the run's journal; the site is not touched.
    Backup {
        /// The file.
        path: RemotePath,
        /// What it holds.
        bytes: Vec<u8>,
    },
    /// Ask the site, as the caller, and stop the run if it does not answer as expected.
    Check(HttpCheck),
}

impl Change {
    /// A write.
    pub fn write(path: RemotePath, before: Option<Vec<u8>>, after: Vec<u8>) -> Self {
        Change::Write {
            path,
            before,
            after,
        }
    }

    /// Whether applying it would change nothing.
    pub fn is_noop(&self) -> bool {
        matches!(self, Change::Write { before: Some(b), after, .. } if b == after)
    }

    /// One line for plans and recaps.
    pub fn describe(&self) -> String {
        match self {
            Change::Rename { from, to } => format!("rename {} -> {}", from.as_str(), to.as_str()),
            Change::Write {
                path, before: None, ..
            } => format!("create {}", path.as_str()),
            Change::Write { path, .. } => format!("edit {}", path.as_str()),
            Change::Backup { path, .. } => format!("back up {} into the journal", path.as_str()),
            Change::Check(check) => check.describe(),
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
            } => format!(
                "write\0{}\0{}\0{}",
                path.as_str(),
                hash(before.as_deref()),
                hash(Some(after))
            ),
            Change::Backup { path, bytes } => {
                format!("backup\0{}\0{}", path.as_str(), hash(Some(bytes)))
            }
            Change::Check(check) => format!("check\0{}", check.describe()),
        };
        sha256_hex(text.as_bytes())
    }

    /// Whether applying it changes the site (backups and checks do not).
    pub fn mutates(&self) -> bool {
        matches!(self, Change::Rename { .. } | Change::Write { .. })
    }

    /// The bytes the journal must keep before the change is made: a file's original.
    pub fn original(&self) -> Option<&[u8]> {
        match self {
            Change::Write { before, .. } => before.as_deref(),
            Change::Backup { bytes, .. } => Some(bytes),
            Change::Rename { .. } | Change::Check(_) => None,
        }
    }

    /// A unified diff of a write (`None` for a rename), with secrets redacted: wp-config.php
    /// keys, salts and passwords, and password hashes in `.htpasswd`-style files.
    pub fn diff(&self) -> Option<String> {
        let Change::Write {
            path,
            before,
            after,
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
        Some(
            similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string(),
        )
    }
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

/// The SHA-256 of `data`, in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
    },
    /// A backup: the file's bytes are in the blob store under this hash.
    Backup {
        /// The file.
        path: String,
        /// SHA-256 of its bytes.
        sha256: String,
    },
}

impl Recorded {
    /// The record for `change`; `None` for a check, which changes nothing to record.
    pub fn of(change: &Change) -> Option<Self> {
        Some(match change {
            Change::Rename { from, to } => Recorded::Rename {
                from: from.as_str().to_owned(),
                to: to.as_str().to_owned(),
            },
            Change::Write {
                path,
                before,
                after,
            } => Recorded::Write {
                path: path.as_str().to_owned(),
                before: before.as_deref().map(sha256_hex),
                after: sha256_hex(after),
            },
            Change::Backup { path, bytes } => Recorded::Backup {
                path: path.as_str().to_owned(),
                sha256: sha256_hex(bytes),
            },
            Change::Check(_) => return None,
        })
    }
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
    fn descriptions_and_noops() {
        let p = RemotePath::new(".htaccess").unwrap();
        assert!(Change::write(p.clone(), Some(b"x".to_vec()), b"x".to_vec()).is_noop());
        assert!(!Change::write(p.clone(), None, b"x".to_vec()).is_noop());
        assert_eq!(
            Change::write(p, None, vec![]).describe(),
            "create .htaccess"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
