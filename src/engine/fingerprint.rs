//! Fingerprints of what a plan touches (size, modification time, SHA-256), so a plan saved
//! to a file can refuse to apply once the site has moved on.

use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::transport::{Kind, RemotePath, Transport, TransportExt};

use super::EngineError;
use super::action::Action;
use super::change::Change;
use super::digest::sha256_hex;

/// What was at one path when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The path, relative to the target.
    pub path: String,
    /// What was there.
    pub state: PathState,
}

/// A path's state, as far as a plan depends on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PathState {
    /// Nothing.
    Missing,
    /// A folder. Its contents and times may change (caches, logs) without making the plan
    /// stale: only a rename of the folder itself depends on it.
    Folder,
    /// A file.
    File {
        /// Size in bytes.
        size: u64,
        /// Modification time in seconds since 1970, when the server tells.
        mtime: Option<u64>,
        /// SHA-256 of the contents.
        sha256: String,
    },
    /// A link or something else that is not a plain file or folder.
    Other,
}

/// The fingerprints of every path `changes` read or write, in first-seen order.
pub fn take(t: &mut dyn Transport, changes: &[Action]) -> Result<Vec<Fingerprint>, EngineError> {
    let mut paths: Vec<&RemotePath> = Vec::new();
    for change in changes {
        let touched: Vec<&RemotePath> = match change {
            Action::Change(Change::Rename { from, to }) => vec![from, to],
            Action::Change(Change::Write { path, .. }) | Action::Backup { path, .. } => vec![path],
            // Rows are compared by value when a saved plan is applied (see `Change::digest`).
            Action::Check(_)
            | Action::Change(Change::Row { .. } | Change::Password(_))
            | Action::Note(_)
            | Action::LoginAt(_) => vec![],
        };
        for path in touched {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
        .into_iter()
        .map(|path| {
            Ok(Fingerprint {
                path: path.as_str().to_owned(),
                state: state_of(t, path)?,
            })
        })
        .collect()
}

/// Checks that every path is as fingerprinted; the error names the first that is not.
pub fn verify(t: &mut dyn Transport, fingerprints: &[Fingerprint]) -> Result<(), EngineError> {
    for print in fingerprints {
        let now = state_of(t, &RemotePath::new(&print.path)?)?;
        if now != print.state {
            return Err(EngineError::Stale {
                path: print.path.clone(),
                why: format!(
                    "it was {} when the plan was made and is {} now",
                    print.state.describe(),
                    now.describe()
                ),
            });
        }
    }
    Ok(())
}

fn state_of(t: &mut dyn Transport, path: &RemotePath) -> Result<PathState, EngineError> {
    Ok(match t.stat(path)? {
        None => PathState::Missing,
        Some(meta) => match meta.kind {
            Kind::Dir => PathState::Folder,
            Kind::File => PathState::File {
                size: meta.size,
                mtime: meta
                    .mtime
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
                sha256: sha256_hex(&t.read_to_vec(path)?),
            },
            _ => PathState::Other,
        },
    })
}

impl PathState {
    fn describe(&self) -> String {
        match self {
            PathState::Missing => "absent".into(),
            PathState::Folder => "a folder".into(),
            PathState::File {
                size,
                mtime,
                sha256,
            } => format!(
                "a file of {size} bytes, modified {}, SHA-256 {}…",
                mtime.map_or("at an unknown time".to_owned(), |m| format!("at {m}")),
                &sha256[..12]
            ),
            PathState::Other => "a link or special file".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{MemoryTransport, WriteMode};

    #[test]
    fn any_change_to_a_touched_path_makes_the_plan_stale() {
        let mut t = MemoryTransport::new();
        let file = RemotePath::new(".htaccess").unwrap();
        let folder = RemotePath::new("plugins/wordfence").unwrap();
        t.write_bytes(&file, b"old", WriteMode::Create).unwrap();
        t.mkdir_all(&folder).unwrap();
        let changes = [
            Action::write(file.clone(), Some(b"old".to_vec()), b"new".to_vec()),
            Action::Change(Change::Rename {
                from: folder.clone(),
                to: RemotePath::new("plugins/wordfence.off").unwrap(),
            }),
        ];
        let prints = take(&mut t, &changes).unwrap();
        assert_eq!(prints.len(), 3);
        verify(&mut t, &prints).unwrap();

        // A file inside the folder is not the plan's business.
        t.write_bytes(&folder.join("log.txt").unwrap(), b"x", WriteMode::Create)
            .unwrap();
        verify(&mut t, &prints).unwrap();

        t.write_bytes(&file, b"ol", WriteMode::Replace).unwrap();
        let err = verify(&mut t, &prints).unwrap_err().to_string();
        assert!(
            err.contains(".htaccess") && err.contains("2 bytes"),
            "{err}"
        );

        t.write_bytes(&file, b"old", WriteMode::Replace).unwrap();
        t.mkdir_all(&RemotePath::new("plugins/wordfence.off").unwrap())
            .unwrap();
        let err = verify(&mut t, &prints).unwrap_err().to_string();
        assert!(
            err.contains("wordfence.off") && err.contains("absent"),
            "{err}"
        );
    }
}
