//! A WordPress user's password set to a new hash, undoable without the journal ever holding
//! a password hash: the old hash is kept on the server, in a `usermeta` row of the user's
//! named after the run, and the journal keeps only SHA-256 digests of the old and new hashes.
//! Neither the journal nor the site alone tells more than the site did before.

use crate::helper::db::{Database, Row, RowChange, cell};
use crate::transport::Transport;

use super::EngineError;
use super::digest::sha256_hex;

/// `users.user_pass` of one user, from `before` to `after`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordChange {
    /// `users.ID`.
    pub user_id: Vec<u8>,
    /// `users.user_login`, for messages.
    pub login: String,
    /// The hash now (kept on the server until a rollback, never journaled).
    pub before: Vec<u8>,
    /// The new hash.
    pub after: Vec<u8>,
    /// The `usermeta` key the old hash is kept under.
    pub stash: String,
}

// Hashes are secrets: never in logs or debug output.
impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange")
            .field("user_id", &String::from_utf8_lossy(&self.user_id))
            .field("login", &self.login)
            .field("stash", &self.stash)
            .finish_non_exhaustive()
    }
}

/// The `usermeta` key that keeps the old hash of run `run_id`.
pub fn stash_key(run_id: &str) -> String {
    format!("_wprescue_password_{run_id}")
}

impl PasswordChange {
    /// The row changes that make it, as one unit: the old hash kept, then the new one set.
    pub fn rows(&self) -> Vec<RowChange> {
        vec![
            RowChange {
                table: "usermeta".into(),
                key: ("meta_key".into(), self.stash.clone().into_bytes()),
                before: None,
                after: Some(stash_row(&self.user_id, &self.stash, &self.before)),
            },
            RowChange {
                table: "users".into(),
                key: ("ID".into(), self.user_id.clone()),
                before: Some(user_row(&self.user_id, &self.before)),
                after: Some(user_row(&self.user_id, &self.after)),
            },
        ]
    }

    /// One line for plans and recaps.
    pub fn describe(&self) -> String {
        format!(
            "set the password of user {} (ID {}); the old one stays on the site (usermeta {}) until a rollback puts it back",
            self.login,
            String::from_utf8_lossy(&self.user_id),
            self.stash
        )
    }

    /// What the journal keeps: digests, never the hashes.
    pub fn recorded(&self) -> RecordedPassword {
        RecordedPassword {
            user_id: String::from_utf8_lossy(&self.user_id).into_owned(),
            login: self.login.clone(),
            stash: self.stash.clone(),
            before: sha256_hex(&self.before),
            after: sha256_hex(&self.after),
        }
    }
}

fn user_row(id: &[u8], hash: &[u8]) -> Row {
    vec![
        ("ID".into(), Some(id.to_vec())),
        ("user_pass".into(), Some(hash.to_vec())),
    ]
}

fn stash_row(id: &[u8], stash: &str, hash: &[u8]) -> Row {
    vec![
        ("user_id".into(), Some(id.to_vec())),
        ("meta_key".into(), Some(stash.as_bytes().to_vec())),
        ("meta_value".into(), Some(hash.to_vec())),
    ]
}

/// A password change as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedPassword {
    /// `users.ID`.
    pub user_id: String,
    /// `users.user_login`.
    pub login: String,
    /// The `usermeta` key that keeps the old hash.
    pub stash: String,
    /// SHA-256 of the old hash.
    pub before: String,
    /// SHA-256 of the new hash.
    pub after: String,
}

impl RecordedPassword {
    /// What undoing it puts back.
    pub fn undo_description(&self) -> String {
        format!("put back the old password of user {}", self.login)
    }

    /// Puts the old hash back from the site's own copy, if the new one is still set, and
    /// removes the copy; returns whether anything was done.
    pub fn undo(&self, t: &mut dyn Transport, db: &dyn Database) -> Result<bool, EngineError> {
        let id = self.user_id.as_bytes().to_vec();
        let conflict = |why: &str| EngineError::Conflict {
            path: format!("the password of user {}", self.login),
            why: why.to_owned(),
        };
        let users = db.select(t, "users", "ID", std::slice::from_ref(&id))?;
        let Some(now) = users.first().and_then(|u| cell(u, "user_pass")) else {
            return Err(conflict("the user is gone"));
        };
        let now = now.to_vec();
        let stashed = db.select(
            t,
            "usermeta",
            "meta_key",
            &[self.stash.clone().into_bytes()],
        )?;
        let copy = stashed.iter().find_map(|row| {
            let value = cell(row, "meta_value")?;
            (sha256_hex(value) == self.before).then(|| value.to_vec())
        });
        let state = sha256_hex(&now);
        if state == self.before {
            // Never set, or put back already: only the copy may be left.
            return match copy {
                Some(old) => {
                    db.delete(t, "usermeta", &stash_row(&id, &self.stash, &old))?;
                    Ok(false)
                }
                None => Ok(false),
            };
        }
        if state != self.after {
            return Err(conflict(
                "it was changed again since wprescue set it; the old one is still kept in usermeta, under the key the run named",
            ));
        }
        let Some(old) = copy else {
            return Err(conflict(
                "the site's copy of the old password is gone; reset it again with wprescue reset-password",
            ));
        };
        let rows = [
            RowChange {
                table: "users".into(),
                key: ("ID".into(), id.clone()),
                before: Some(user_row(&id, &now)),
                after: Some(user_row(&id, &old)),
            },
            RowChange {
                table: "usermeta".into(),
                key: ("meta_key".into(), self.stash.clone().into_bytes()),
                before: Some(stash_row(&id, &self.stash, &old)),
                after: None,
            },
        ];
        db.apply_rows(t, &rows.iter().collect::<Vec<_>>())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::db::memory::MemoryDatabase;
    use crate::transport::MemoryTransport;

    fn db() -> MemoryDatabase {
        let db = MemoryDatabase::default();
        db.tables.borrow_mut().extend([
            (
                "users".to_owned(),
                vec![vec![
                    ("ID".into(), Some(b"1".to_vec())),
                    ("user_login".into(), Some(b"admin".to_vec())),
                    ("user_pass".into(), Some(b"$P$Bold".to_vec())),
                ]],
            ),
            ("usermeta".to_owned(), vec![]),
        ]);
        db
    }

    fn change() -> PasswordChange {
        PasswordChange {
            user_id: b"1".to_vec(),
            login: "admin".into(),
            before: b"$P$Bold".to_vec(),
            after: b"$wp$2y$10$new".to_vec(),
            stash: stash_key("1-abcdef"),
        }
    }

    fn pass(db: &MemoryDatabase) -> Vec<u8> {
        cell(&db.tables.borrow()["users"][0], "user_pass")
            .unwrap()
            .to_vec()
    }

    #[test]
    fn the_old_hash_goes_back_from_the_sites_copy_and_the_journal_holds_digests_only() {
        let (db, mut t) = (db(), MemoryTransport::new());
        let change = change();
        let rows = change.rows();
        db.apply_rows(&mut t, &rows.iter().collect::<Vec<_>>())
            .unwrap();
        assert_eq!(pass(&db), b"$wp$2y$10$new");
        let record = change.recorded();
        let journal = serde_json::to_string(&record).unwrap();
        assert!(
            !journal.contains("$P$Bold") && !journal.contains("$wp$"),
            "{journal}"
        );
        assert!(format!("{change:?}").find("$P$").is_none());

        assert!(record.undo(&mut t, &db).unwrap());
        assert_eq!(pass(&db), b"$P$Bold");
        assert!(
            db.tables.borrow()["usermeta"].is_empty(),
            "the copy is gone"
        );
        assert!(!record.undo(&mut t, &db).unwrap(), "twice is harmless");
    }

    #[test]
    fn a_password_changed_again_since_is_left_alone() {
        let (db, mut t) = (db(), MemoryTransport::new());
        let change = change();
        db.apply_rows(&mut t, &change.rows().iter().collect::<Vec<_>>())
            .unwrap();
        db.tables.borrow_mut().get_mut("users").unwrap()[0][2].1 = Some(b"$wp$other".to_vec());
        let err = change.recorded().undo(&mut t, &db).unwrap_err();
        assert!(err.to_string().contains("changed again"), "{err}");
        assert_eq!(pass(&db), b"$wp$other");
        assert_eq!(db.tables.borrow()["usermeta"].len(), 1, "the copy stays");
    }
}
