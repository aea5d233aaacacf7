//! What one planned step does: a [`Change`] to the site, or something done beside it that
//! changes nothing there (a copy kept in the journal, a question asked of the site, a note
//! for the user).

use crate::transport::RemotePath;

use super::change::{Change, Recorded};
use super::check::HttpCheck;
use super::digest::sha256_hex;

/// What one planned step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A change to the site.
    Change(Change),
    /// A copy of `path` kept in the run's journal; the site is not touched.
    Backup {
        /// The file.
        path: RemotePath,
        /// What it holds.
        bytes: Vec<u8>,
    },
    /// Ask the site, as the caller, and stop the run if it does not answer as expected.
    Check(HttpCheck),
    /// Something the user must know about the plan (a `warn_if` step that matched).
    Note(String),
    /// The login page is at this path (a plugin moved it): the admin is told, and checked
    /// there; the site is not touched.
    LoginAt(String),
}

impl From<Change> for Action {
    fn from(change: Change) -> Self {
        Action::Change(change)
    }
}

impl Action {
    /// A write.
    pub fn write(path: RemotePath, before: Option<Vec<u8>>, after: Vec<u8>) -> Self {
        Action::Change(Change::write(path, before, after))
    }

    /// The change to the site, when it is one.
    pub fn change(&self) -> Option<&Change> {
        match self {
            Action::Change(change) => Some(change),
            _ => None,
        }
    }

    /// Whether it changes the site (backups, checks and notes do not).
    pub fn mutates(&self) -> bool {
        matches!(self, Action::Change(_))
    }

    /// Whether doing it would change nothing at all.
    pub fn is_noop(&self) -> bool {
        self.change().is_some_and(Change::is_noop)
    }

    /// One line for plans and recaps.
    pub fn describe(&self) -> String {
        match self {
            Action::Change(change) => change.describe(),
            Action::Backup { path, .. } => format!("back up {} into the journal", path.as_str()),
            Action::Check(check) => check.describe(),
            Action::Note(text) => format!("note: {text}"),
            Action::LoginAt(path) => {
                format!("the login page is at {path}: tell the admin, change nothing")
            }
        }
    }

    /// A digest that two plans share exactly when they would do the same: what a saved plan
    /// compares against a fresh one.
    pub fn digest(&self) -> String {
        match self {
            Action::Change(change) => change.digest(),
            Action::Backup { path, bytes } => {
                sha256_hex(format!("backup\0{}\0{}", path.as_str(), sha256_hex(bytes)).as_bytes())
            }
            Action::Check(check) => sha256_hex(format!("check\0{}", check.describe()).as_bytes()),
            Action::Note(text) => sha256_hex(format!("note\0{text}").as_bytes()),
            Action::LoginAt(path) => sha256_hex(format!("login_at\0{path}").as_bytes()),
        }
    }

    /// The bytes the journal must keep before it is done: a file's original, or the copy a
    /// backup keeps.
    pub fn original(&self) -> Option<&[u8]> {
        match self {
            Action::Change(change) => change.original(),
            Action::Backup { bytes, .. } => Some(bytes),
            Action::Check(_) | Action::Note(_) | Action::LoginAt(_) => None,
        }
    }

    /// What the journal records of it; `None` for a check or a note, which leave nothing to
    /// record.
    pub fn record(&self) -> Option<Recorded> {
        match self {
            Action::Change(change) => Some(Recorded::of(change)),
            Action::Backup { path, bytes } => Some(Recorded::Backup {
                path: path.as_str().to_owned(),
                sha256: sha256_hex(bytes),
            }),
            Action::Check(_) | Action::Note(_) | Action::LoginAt(_) => None,
        }
    }

    /// The diff of a change (see [`Change::diff`]); `None` for anything else.
    pub fn diff(&self) -> Option<String> {
        self.change().and_then(Change::diff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_change_the_site() {
        let path = RemotePath::new(".htaccess").unwrap();
        let write = Action::write(path.clone(), Some(b"a".to_vec()), b"b".to_vec());
        assert!(write.mutates() && !write.is_noop());
        assert_eq!(write.describe(), "edit .htaccess");
        let backup = Action::Backup {
            path,
            bytes: b"a".to_vec(),
        };
        assert!(!backup.mutates());
        assert_eq!(backup.original(), Some(&b"a"[..]));
        assert_eq!(backup.diff(), None);
        let note = Action::Note("cloud".into());
        assert_ne!(note.digest(), Action::Note("other".into()).digest());
        assert_eq!(note.describe(), "note: cloud");
    }
}
