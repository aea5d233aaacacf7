//! Applying planned changes with the journal written first: a crash at any point leaves a
//! journal from which [`super::rollback`] restores the site.

use crate::helper::db::RowChange;
use crate::transport::{Kind, RemotePath, RenameMode, Transport, TransportExt, WriteMode};

use super::EngineError;
use super::access::Access;
use super::change::{Change, sha256_hex};
use super::journal::Journal;

/// Makes `changes` in order. Before each one: checks that the site still is as planned
/// (a stale plan is refused), then records the intent and the original bytes in the journal.
/// After each: records that it is done. Checks are asked, not journalled. Consecutive row
/// changes go to the database together, as one unit (see
/// [`crate::helper::db::Database::apply_rows`]), after all their intents are journalled. Returns how many changes altered the site.
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

pub(super) fn read_file(
    t: &mut dyn Transport,
    path: &RemotePath,
) -> Result<Option<Vec<u8>>, EngineError> {
    match t.stat(path)? {
        Some(meta) if meta.kind == Kind::File => Ok(Some(t.read_to_vec(path)?)),
        Some(_) => Err(EngineError::NotAFile(path.as_str().to_owned())),
        None => Ok(None),
    }
}
