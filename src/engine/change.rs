//! A planned change to the site, and how it is shown: a rename, or a whole-file write with a
//! unified diff in which secrets are redacted.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::site::wp_config;
use crate::transport::RemotePath;

/// One change to the site. Every step of every playbook reduces to these two.
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
}

impl Recorded {
    /// The record for `change`.
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
            } => Recorded::Write {
                path: path.as_str().to_owned(),
                before: before.as_deref().map(sha256_hex),
                after: sha256_hex(after),
            },
        }
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
