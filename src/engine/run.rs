//! Applying planned changes with the journal written first, and undoing them from the
//! journal alone (a fresh process is enough).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::transport::{Kind, RemotePath, RenameMode, Transport, TransportExt, WriteMode};

use super::EngineError;
use super::change::{Change, Recorded, decode_row, sha256_hex};
use super::check::Web;
use super::journal::{Event, Journal};
use crate::helper::db::RowChange;
use crate::helper::db::{Database, Row, row_matches};

/// What a run reaches: the site's files, its database, and the site over HTTP.
pub struct Access<'a> {
    /// The files.
    pub files: &'a mut dyn Transport,
    /// The database; steps that need it fail without it.
    pub db: Option<&'a dyn Database>,
    /// The site over HTTP, as the caller; checks fail without it.
    pub web: Option<&'a Web>,
}

impl<'a> Access<'a> {
    /// Files only.
    pub fn files(files: &'a mut dyn Transport) -> Self {
        Access {
            files,
            db: None,
            web: None,
        }
    }

    /// The database, or the error saying a step needs it.
    pub fn db(&self) -> Result<&'a dyn Database, EngineError> {
        self.db.ok_or(EngineError::NoDatabase)
    }
}

/// Makes `changes` in order. Before each one: checks that the site still is as planned
/// (a stale plan is refused), then records the intent and the original bytes in the journal.
/// After each: records that it is done. Checks are asked, not journalled. Consecutive row
/// changes go to the database together, as one unit (see [`Database::apply_rows`]), after
/// all their intents are journalled. Returns how many changes altered the site.
pub fn apply(
    access: &mut Access<'_>,
    journal: &mut Journal,
    changes: &[Change],
) -> Result<usize, EngineError> {
    let mut altered = 0;
    for piece in pieces(changes) {
        let change = &piece[0];
        match change {
            Change::Check(check) => {
                check.run(access.web.ok_or(EngineError::NoWeb)?)?;
                continue;
            }
            Change::Note(_) => continue,
            Change::Row(_) => {
                altered += apply_rows(access, journal, piece)?;
                continue;
            }
            _ => {}
        }
        let t = &mut *access.files;
        check_still_as_planned(t, change)?;
        let Some(seq) = journal.intent(change)? else {
            continue;
        };
        match change {
            Change::Rename { from, to } => t.rename(from, to, RenameMode::NoReplace)?,
            Change::Write {
                path,
                before,
                after,
            } => {
                let mode = if before.is_some() {
                    WriteMode::Replace
                } else {
                    WriteMode::Create
                };
                t.write_bytes(path, after, mode)?;
            }
            Change::Backup { .. } | Change::Check(_) | Change::Note(_) | Change::Row(_) => {}
        }
        journal.done(seq)?;
        altered += usize::from(change.mutates());
        crate::fault::point(&format!("applied:{seq}"));
    }
    Ok(altered)
}

/// `changes` in the pieces [`apply`] makes at once: each run of consecutive row changes
/// together, everything else one by one.
pub fn pieces(changes: &[Change]) -> Vec<&[Change]> {
    let mut pieces = Vec::new();
    let mut rest = changes;
    while !rest.is_empty() {
        let len = match rest[0] {
            Change::Row(_) => rest
                .iter()
                .take_while(|c| matches!(c, Change::Row(_)))
                .count(),
            _ => 1,
        };
        let (piece, tail) = rest.split_at(len);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Row changes, every intent journalled first, then sent as one unit.
fn apply_rows(
    access: &mut Access<'_>,
    journal: &mut Journal,
    changes: &[Change],
) -> Result<usize, EngineError> {
    let db = access.db()?;
    let rows: Vec<&RowChange> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Row(row) => Some(row),
            _ => None,
        })
        .collect();
    let mut seqs = Vec::new();
    for change in changes {
        seqs.extend(journal.intent(change)?);
    }
    db.apply_rows(access.files, &rows)?;
    for seq in seqs {
        journal.done(seq)?;
        crate::fault::point(&format!("applied:{seq}"));
    }
    Ok(rows.len())
}

fn check_still_as_planned(t: &mut dyn Transport, change: &Change) -> Result<(), EngineError> {
    let stale = |path: &RemotePath, why: &str| EngineError::Stale {
        path: path.as_str().to_owned(),
        why: why.to_owned(),
    };
    match change {
        Change::Rename { from, to } => {
            if !t.exists(from)? {
                return Err(stale(from, "it is gone"));
            }
            if t.exists(to)? {
                return Err(stale(to, "something now has that name"));
            }
        }
        Change::Write { path, .. } | Change::Backup { path, .. } => {
            let now = read_file(t, path)?;
            if now.as_deref().map(sha256_hex) != change.original().map(sha256_hex) {
                return Err(stale(path, "it changed since the plan was made"));
            }
        }
        // Row changes are compare-and-swap: the database itself refuses a stale one.
        Change::Check(_) | Change::Row(_) | Change::Note(_) => {}
    }
    Ok(())
}

fn read_file(t: &mut dyn Transport, path: &RemotePath) -> Result<Option<Vec<u8>>, EngineError> {
    match t.stat(path)? {
        Some(meta) if meta.kind == Kind::File => Ok(Some(t.read_to_vec(path)?)),
        Some(_) => Err(EngineError::NotAFile(path.as_str().to_owned())),
        None => Ok(None),
    }
}

/// What a rollback did.
#[derive(Debug, Default)]
pub struct Undone {
    /// Changes undone.
    pub undone: usize,
    /// Changes left in place because undoing them would destroy a later change; each one is
    /// still pending in the journal, so a later rollback tries again.
    pub conflicts: Vec<EngineError>,
}

/// Undoes every change of the run that was made, newest first. A change whose intent is
/// journalled but not its completion (a crash in between) is undone if the site shows it
/// happened. A file that changed since wprescue wrote it is not overwritten: it is reported and
/// the rollback goes on with the rest. Running it again does nothing more.
pub fn rollback(access: &mut Access<'_>, journal: &mut Journal) -> Result<Undone, EngineError> {
    let mut changes: BTreeMap<usize, (Recorded, bool)> = BTreeMap::new();
    for event in journal.events()? {
        match event {
            Event::Intent { seq, change } => {
                changes.insert(seq, (change, false));
            }
            Event::Done { .. } | Event::Lock { .. } | Event::Unlock | Event::Site(_) => {}
            Event::Undone { seq } => {
                if let Some(entry) = changes.get_mut(&seq) {
                    entry.1 = true;
                }
            }
        }
    }
    let mut report = Undone::default();
    for (seq, (change, already)) in changes.into_iter().rev() {
        if already {
            continue;
        }
        match undo(access, journal, &change) {
            Ok(did) => report.undone += usize::from(did),
            Err(conflict @ EngineError::Conflict { .. }) => {
                report.conflicts.push(conflict);
                continue;
            }
            Err(e) => return Err(e),
        }
        journal.undone(seq)?;
    }
    Ok(report)
}

/// Undoes one change if the site shows it; returns whether anything was done.
fn undo(
    access: &mut Access<'_>,
    journal: &Journal,
    change: &Recorded,
) -> Result<bool, EngineError> {
    let db = access.db;
    let t = &mut *access.files;
    match change {
        Recorded::Rename { from, to } => {
            let (from, to) = (RemotePath::new(from)?, RemotePath::new(to)?);
            match (t.exists(&from)?, t.exists(&to)?) {
                (false, true) => {
                    t.rename(&to, &from, RenameMode::NoReplace)?;
                    Ok(true)
                }
                // Never happened (crash before the rename).
                (true, false) => Ok(false),
                _ => Err(EngineError::Conflict {
                    path: from.as_str().to_owned(),
                    why: format!(
                        "both {} and {} exist, or neither",
                        from.as_str(),
                        to.as_str()
                    ),
                }),
            }
        }
        Recorded::Write {
            path,
            before,
            after,
        } => {
            let path = RemotePath::new(path)?;
            let now = read_file(t, &path)?.map(|bytes| sha256_hex(&bytes));
            if now.as_deref() == Some(after.as_str()) {
                match before {
                    Some(hash) => t.write_bytes(&path, &journal.blob(hash)?, WriteMode::Replace)?,
                    None => t.remove(&path)?,
                }
                Ok(true)
            } else if now == *before {
                Ok(false)
            } else {
                Err(EngineError::Conflict {
                    path: path.as_str().to_owned(),
                    why: "it changed since wprescue wrote it; restore it by hand from the journal"
                        .into(),
                })
            }
        }
        // The copy stays in the journal; the site was never touched.
        Recorded::Backup { .. } => Ok(false),
        Recorded::Row {
            table,
            key,
            before,
            after,
        } => {
            let corrupt = |_| EngineError::CorruptBlob(format!("the journalled row of {table}"));
            let decode = |row: &Option<Vec<(String, Option<String>)>>| {
                row.as_deref().map(decode_row).transpose().map_err(corrupt)
            };
            let (before, after) = (decode(before)?, decode(after)?);
            let key_value = BASE64.decode(&key.1).map_err(corrupt)?;
            let db = db.ok_or(EngineError::NoDatabase)?;
            undo_row(t, db, table, (&key.0, key_value), before, after)
        }
    }
}

/// Puts a row back as it was, if the database shows the change happened and nothing changed
/// the row since.
fn undo_row(
    t: &mut dyn Transport,
    db: &dyn Database,
    table: &str,
    (column, value): (&str, Vec<u8>),
    before: Option<Row>,
    after: Option<Row>,
) -> Result<bool, EngineError> {
    let now = db.select(t, table, column, &[value])?;
    let present = |pattern: &Option<Row>| match pattern {
        Some(pattern) => now.iter().any(|row| row_matches(row, pattern)),
        None => false,
    };
    let conflict = || EngineError::Conflict {
        path: format!("table {table} ({column})"),
        why: "the row changed since wprescue wrote it; its original is in the journal".into(),
    };
    match (&before, &after) {
        (Some(b), Some(a)) if present(&after) => Ok(db.update(t, table, a, b).map(|()| true)?),
        (Some(_), Some(_)) if present(&before) => Ok(false),
        (Some(_), Some(_)) => Err(conflict()),
        (Some(_), None) if present(&before) => Ok(false),
        (Some(b), None) => Ok(db.insert(t, table, b).map(|()| true)?),
        (None, Some(a)) if present(&after) => Ok(db.delete(t, table, a).map(|()| true)?),
        (None, _) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MemoryTransport;

    fn files(t: &mut MemoryTransport) -> Access<'_> {
        Access::files(t)
    }

    fn site() -> MemoryTransport {
        let mut t = MemoryTransport::new();
        t.mkdir_all(&RemotePath::new("plugins/wordfence").unwrap())
            .unwrap();
        t.write_bytes(
            &RemotePath::new(".htaccess").unwrap(),
            b"old\r\n",
            WriteMode::Create,
        )
        .unwrap();
        t
    }

    fn changes() -> Vec<Change> {
        vec![
            Change::Rename {
                from: RemotePath::new("plugins/wordfence").unwrap(),
                to: RemotePath::new("plugins/wordfence.off").unwrap(),
            },
            Change::write(
                RemotePath::new(".htaccess").unwrap(),
                Some(b"old\r\n".to_vec()),
                b"new\n".to_vec(),
            ),
            Change::write(RemotePath::new("new.txt").unwrap(), None, b"x".to_vec()),
        ]
    }

    fn snapshot(t: &mut MemoryTransport) -> Vec<(String, Option<Vec<u8>>)> {
        [
            "plugins/wordfence",
            "plugins/wordfence.off",
            ".htaccess",
            "new.txt",
        ]
        .iter()
        .map(|p| {
            let path = RemotePath::new(p).unwrap();
            let state = match t.stat(&path).unwrap() {
                Some(m) if m.kind == Kind::File => Some(t.read_to_vec(&path).unwrap()),
                Some(_) => Some(b"<dir>".to_vec()),
                None => None,
            };
            (p.to_string(), state)
        })
        .collect()
    }

    #[test]
    fn apply_then_rollback_from_a_reopened_journal_is_byte_identical_and_idempotent() {
        let state = tempfile::tempdir().unwrap();
        let mut t = site();
        let before = snapshot(&mut t);
        let mut journal = Journal::create(state.path(), "1-a", "mem", "/", vec![]).unwrap();
        assert_eq!(
            apply(&mut files(&mut t), &mut journal, &changes()).unwrap(),
            3
        );
        assert_ne!(snapshot(&mut t), before);
        let run_id = journal.info().run_id.clone();
        drop(journal);

        let mut reopened = Journal::open(state.path(), &run_id).unwrap();
        assert_eq!(
            rollback(&mut files(&mut t), &mut reopened).unwrap().undone,
            3
        );
        assert_eq!(snapshot(&mut t), before);
        assert_eq!(
            rollback(&mut files(&mut t), &mut reopened).unwrap().undone,
            0,
            "idempotent"
        );
    }

    #[test]
    fn consecutive_row_changes_go_together() {
        let row = |n: u8| {
            Change::Row(RowChange {
                table: "t".into(),
                key: ("id".into(), vec![n]),
                before: Some(vec![("id".into(), Some(vec![n]))]),
                after: None,
            })
        };
        let all = [row(1), row(2), changes().remove(0), row(3)];
        let sizes: Vec<usize> = pieces(&all).iter().map(|p| p.len()).collect();
        assert_eq!(sizes, [2, 1, 1]);
        assert!(pieces(&[]).is_empty());
    }

    #[test]
    fn a_crash_between_intent_and_done_is_judged_by_the_site() {
        let state = tempfile::tempdir().unwrap();
        let mut t = site();
        let before = snapshot(&mut t);
        let mut journal = Journal::create(state.path(), "1-a", "mem", "/", vec![]).unwrap();
        let all = changes();
        apply(&mut files(&mut t), &mut journal, &all[..1]).unwrap();
        // The second change: intent journalled, the write made, the process dies before `done`.
        journal.intent(&all[1]).unwrap().unwrap();
        t.write_bytes(
            &RemotePath::new(".htaccess").unwrap(),
            b"new\n",
            WriteMode::Replace,
        )
        .unwrap();
        // The third: intent journalled, then the process dies before the write.
        journal.intent(&all[2]).unwrap();
        assert_eq!(
            rollback(&mut files(&mut t), &mut journal).unwrap().undone,
            2
        );
        assert_eq!(snapshot(&mut t), before);
    }

    #[test]
    fn stale_plans_and_later_edits_are_refused() {
        let state = tempfile::tempdir().unwrap();
        let mut t = site();
        let htaccess = RemotePath::new(".htaccess").unwrap();
        t.write_bytes(&htaccess, b"someone else\n", WriteMode::Replace)
            .unwrap();
        let mut journal = Journal::create(state.path(), "1-a", "mem", "/", vec![]).unwrap();
        let err = apply(&mut files(&mut t), &mut journal, &changes()[1..2]).unwrap_err();
        assert!(matches!(err, EngineError::Stale { .. }), "{err}");

        t.write_bytes(&htaccess, b"old\r\n", WriteMode::Replace)
            .unwrap();
        apply(&mut files(&mut t), &mut journal, &changes()[1..2]).unwrap();
        t.write_bytes(&htaccess, b"edited after wprescue\n", WriteMode::Replace)
            .unwrap();
        let report = rollback(&mut files(&mut t), &mut journal).unwrap();
        assert!(
            matches!(report.conflicts[..], [EngineError::Conflict { .. }]),
            "{report:?}"
        );
        assert_eq!(
            t.read_to_vec(&htaccess).unwrap(),
            b"edited after wprescue\n"
        );
    }
}
