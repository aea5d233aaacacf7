//! The site as a plan sees it: what is on the server, as the changes planned so far will
//! have left it.

use std::collections::HashMap;

use crate::helper::db::{Database, Row, Select, row_matches};
use crate::site::inventory::{Presence, locate_prepend};
use crate::transport::{Kind, RemotePath, Transport, TransportExt};

use super::EngineError;
use super::access::Access;
use super::action::Action;
use super::change::Change;
use super::vars::Vars;

/// The site as it will be after the changes planned so far: reads go to the server (files)
/// or the database (rows) unless an earlier change already decided the answer.
pub struct View<'a> {
    t: &'a mut dyn Transport,
    db: Option<&'a dyn Database>,
    /// `Some(bytes)`: the file will hold these; `None`: nothing will be there.
    overlay: HashMap<RemotePath, Option<Vec<u8>>>,
    /// The rows found by `(table, column, value)`, as they will be.
    rows: HashMap<(String, String, Vec<u8>), Vec<Row>>,
    /// Whether each table asked about exists: one question per table and plan (each one is
    /// an upload and a request over FTP).
    tables: HashMap<String, bool>,
    /// While [`View::read_ahead`] runs the plan dry: the database reads it wanted.
    wanted: Option<Wanted>,
}

/// The database reads a dry run of the plan wanted ([`View::read_ahead`]).
#[derive(Debug, Default)]
struct Wanted {
    tables: Vec<String>,
    rows: Vec<(String, String, Vec<u8>)>,
}

/// A [`View`]'s plans at one moment.
pub(super) struct Checkpoint {
    overlay: HashMap<RemotePath, Option<Vec<u8>>>,
    rows: HashMap<(String, String, Vec<u8>), Vec<Row>>,
}

impl<'a> View<'a> {
    /// A view of the site through `access`, with nothing planned yet.
    pub fn new(access: &'a mut Access<'_>) -> Self {
        Self {
            t: &mut *access.files,
            db: access.db,
            overlay: HashMap::new(),
            rows: HashMap::new(),
            tables: HashMap::new(),
            wanted: None,
        }
    }

    /// Runs `plan` dry to learn which database reads it makes, then asks them all at once:
    /// the tables in one request, the rows in one more, where a plan would otherwise send one
    /// request per read (each a round trip, 20–300 ms away). The dry run is answered as if
    /// every table existed and held no matching row, so it may not reach every read; the real
    /// plan asks what is left as it goes. Best effort: when the batch cannot be asked, the
    /// real plan asks one by one and reports the error itself. Plans nothing.
    pub(super) fn read_ahead(&mut self, plan: impl FnOnce(&mut Self)) {
        if self.db.is_none() {
            return;
        }
        let base = self.checkpoint();
        self.wanted = Some(Wanted::default());
        plan(self);
        let wanted = self.wanted.take().unwrap_or_default();
        self.restore(base);
        if let Err(e) = self.fetch(wanted) {
            tracing::debug!(error = %e, "reading ahead failed: the plan asks one by one");
        }
    }

    /// Asks the database for `wanted` in two requests at most, remembering the answers.
    fn fetch(&mut self, wanted: Wanted) -> Result<(), EngineError> {
        self.tables(&wanted.tables)?;
        let mut selects: Vec<Select> = Vec::new();
        for (table, column, value) in wanted.rows {
            let key = (table, column, value);
            // A table a step names without asking whether it exists is a WordPress one.
            let exists = self.tables.get(&key.0).copied().unwrap_or(true);
            let new = selects
                .iter()
                .all(|s| (&s.table, &s.column, &s.value) != (&key.0, &key.1, &key.2));
            if exists && new && !self.rows.contains_key(&key) {
                let (table, column, value) = key;
                selects.push(Select {
                    table,
                    column,
                    value,
                });
            }
        }
        if selects.is_empty() {
            return Ok(());
        }
        let answers = self.db()?.select_many(self.t, &selects)?;
        for (select, rows) in selects.into_iter().zip(answers) {
            self.rows
                .insert((select.table, select.column, select.value), rows);
        }
        Ok(())
    }

    /// What has been planned so far, to go back to when a playbook cannot be planned.
    pub(super) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            overlay: self.overlay.clone(),
            rows: self.rows.clone(),
        }
    }

    /// Forgets what was planned since `checkpoint`.
    pub(super) fn restore(&mut self, checkpoint: Checkpoint) {
        self.overlay = checkpoint.overlay;
        self.rows = checkpoint.rows;
    }

    /// The database, or the error saying this run cannot reach it.
    pub(super) fn db(&self) -> Result<&'a dyn Database, EngineError> {
        self.db.ok_or(EngineError::NoDatabase)
    }

    /// The rows of `table` whose `column` is `value`, as they will be.
    pub(super) fn rows(
        &mut self,
        table: &str,
        column: &str,
        value: &[u8],
    ) -> Result<Vec<Row>, EngineError> {
        let key = (table.to_owned(), column.to_owned(), value.to_vec());
        if let Some(rows) = self.rows.get(&key) {
            return Ok(rows.clone());
        }
        if let Some(wanted) = &mut self.wanted {
            wanted.rows.push(key);
            return Ok(Vec::new());
        }
        let rows = self
            .db()?
            .select(self.t, table, column, &[value.to_vec()])?;
        self.rows.insert(key, rows.clone());
        Ok(rows)
    }

    /// The ID of the WordPress user given with `--login` (`{user_id}`).
    pub(super) fn user_id(&mut self, vars: &Vars) -> Result<String, EngineError> {
        let user = vars.user.as_deref().ok_or_else(|| {
            EngineError::Step(
                "this changes one user's settings only: give --login USER to say whose".into(),
            )
        })?;
        let rows = self.rows("users", "user_login", user.as_bytes())?;
        let id = rows
            .first()
            .and_then(|row| crate::helper::db::cell(row, "ID"))
            .ok_or_else(|| {
                EngineError::Step(format!(
                    "the site has no user named {user:?}: give the login name, as on the \
                     Users page (not the e-mail address or display name)"
                ))
            })?;
        Ok(String::from_utf8_lossy(id).into_owned())
    }

    /// Those of `candidates` that exist, in the same order (plugins spell some tables two
    /// ways).
    pub(super) fn tables(&mut self, candidates: &[String]) -> Result<Vec<String>, EngineError> {
        let unknown: Vec<String> = candidates
            .iter()
            .filter(|c| !self.tables.contains_key(*c))
            .cloned()
            .collect();
        if let Some(wanted) = &mut self.wanted {
            wanted.tables.extend(unknown);
            return Ok(candidates
                .iter()
                .filter(|c| self.tables.get(*c) != Some(&false))
                .cloned()
                .collect());
        }
        if !unknown.is_empty() {
            let existing = self.db()?.existing_tables(self.t, &unknown)?;
            for name in unknown {
                let exists = existing.contains(&name);
                self.tables.insert(name, exists);
            }
        }
        Ok(candidates
            .iter()
            .filter(|c| self.tables[*c])
            .cloned()
            .collect())
    }

    pub(super) fn exists(&mut self, path: &RemotePath) -> Result<bool, EngineError> {
        match self.overlay.get(path) {
            Some(planned) => Ok(planned.is_some()),
            None => Ok(self.t.exists(path)?),
        }
    }

    /// Where an `auto_prepend_file` target (an absolute server path) is certainly gone: its
    /// folder is in sight and the file is not in it. Asks the site as it is before this plan.
    pub(super) fn missing_prepend(
        &mut self,
        absolute: &str,
        wp_root: &RemotePath,
    ) -> Result<Option<RemotePath>, EngineError> {
        Ok(match locate_prepend(self.t, absolute, wp_root)? {
            Presence::Missing(path) => Some(path),
            _ => None,
        })
    }

    /// The names in `dir` (none when it is not a folder), as the server lists them.
    pub(super) fn names(&mut self, dir: &RemotePath) -> Result<Vec<String>, EngineError> {
        match self.t.stat(dir)? {
            Some(meta) if meta.kind == Kind::Dir => {
                Ok(self.t.list(dir)?.into_iter().map(|e| e.name).collect())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The file's bytes, or `None` when there is no file.
    pub(super) fn read(&mut self, path: &RemotePath) -> Result<Option<Vec<u8>>, EngineError> {
        if let Some(planned) = self.overlay.get(path) {
            return Ok(planned.clone());
        }
        match self.t.stat(path)? {
            Some(meta) if meta.kind == Kind::File => Ok(Some(self.t.read_to_vec(path)?)),
            Some(_) => Err(EngineError::NotAFile(path.as_str().to_owned())),
            None => Ok(None),
        }
    }

    /// A step path, expanded and confined ([`Vars`]), with no symbolic link anywhere below the
    /// WordPress root: a link could lead a rename or a write out of the site, and where it
    /// points cannot be checked from here.
    pub(super) fn resolve(&mut self, vars: &Vars, text: &str) -> Result<RemotePath, EngineError> {
        let path = vars.path(text)?;
        let mut current = Some(path.clone());
        while let Some(here) = current {
            if here == vars.wp_root || here.is_root() {
                break;
            }
            let planned = self.overlay.contains_key(&here);
            if !planned && self.t.stat(&here)?.is_some_and(|m| m.kind == Kind::Symlink) {
                return Err(EngineError::Symlink(here.as_str().to_owned()));
            }
            current = here.parent();
        }
        Ok(path)
    }

    pub(super) fn record(&mut self, action: &Action) {
        let Some(change) = action.change() else {
            return;
        };
        match change {
            Change::Rename { from, to } => {
                self.overlay.insert(from.clone(), None);
                // A renamed folder's contents are not tracked; the name is what later steps see.
                self.overlay.insert(to.clone(), Some(Vec::new()));
            }
            Change::Write { path, after, .. } => {
                self.overlay.insert(path.clone(), Some(after.clone()));
            }
            Change::Row { row, .. } => {
                let key = (row.table.clone(), row.key.0.clone(), row.key.1.clone());
                let rows = self.rows.entry(key).or_default();
                if let Some(before) = &row.before {
                    rows.retain(|r| !row_matches(r, before));
                }
                rows.extend(row.after.clone());
            }
            // No later step reads a password.
            Change::Password(_) => {}
        }
    }
}
