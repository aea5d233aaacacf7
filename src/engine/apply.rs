//! Applying planned changes with the journal written first: a crash at any point leaves a
//! journal from which [`super::rollback()`] restores the site.

use crate::helper::db::RowChange;
use crate::transport::{Kind, RemotePath, RenameMode, Transport, TransportExt, WriteMode};

use super::EngineError;
use super::access::Access;
use super::action::Action;
use super::change::Change;
use super::digest::sha256_hex;
use super::journal::Journal;

/// Does `actions` in order. Before each change: checks that the site still is as planned (a
/// stale plan is refused), then records the intent and the original bytes in the journal.
/// After each: records that it is done. A backup is journalled the same way, without touching
/// the site; checks are asked, not journalled; notes are only shown. Consecutive row changes
/// go to the database together, as one unit (see
/// [`crate::helper::db::Database::apply_rows`]), after all their intents are journalled.
/// Returns how many actions altered the site.
pub fn apply(
    access: &mut Access<'_>,
    journal: &mut Journal,
    actions: &[Action],
) -> Result<usize, EngineError> {
    let mut altered = 0;
    for piece in pieces(actions) {
        let action = &piece[0];
        match action {
            Action::Check(check) => {
                check.run(access.web.ok_or(EngineError::NoWeb)?)?;
                continue;
            }
            Action::Note(_) | Action::LoginAt(_) => continue,
            Action::Change(Change::Row { .. } | Change::Password(_)) => {
                altered += apply_rows(access, journal, piece)?;
                continue;
            }
            Action::Change(_) | Action::Backup { .. } => {}
        }
        let t = &mut *access.files;
        check_still_as_planned(t, action, journal)?;
        let Some(seq) = journal.intent(action)? else {
            continue;
        };
        match action {
            Action::Change(Change::Rename { from, to }) => {
                t.rename(from, to, RenameMode::NoReplace)?
            }
            Action::Change(Change::Write {
                path,
                before,
                after,
                ..
            }) => {
                let mode = if before.is_some() {
                    WriteMode::Replace
                } else {
                    WriteMode::Create
                };
                t.write_bytes(path, after, mode)?;
            }
            _ => {}
        }
        journal.done(seq)?;
        altered += usize::from(action.mutates());
        crate::fault::point(&format!("applied:{seq}"));
    }
    Ok(altered)
}

/// `actions` in the pieces [`apply`] does at once: each run of consecutive row changes
/// together, everything else one by one.
pub fn pieces(actions: &[Action]) -> Vec<&[Action]> {
    let is_row = |a: &Action| matches!(a, Action::Change(Change::Row { .. } | Change::Password(_)));
    let mut pieces = Vec::new();
    let mut rest = actions;
    while let Some(first) = rest.first() {
        let len = if is_row(first) {
            rest.iter().take_while(|a| is_row(a)).count()
        } else {
            1
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
    actions: &[Action],
) -> Result<usize, EngineError> {
    let db = access.db()?;
    let rows: Vec<RowChange> = actions
        .iter()
        .flat_map(|a| match a {
            Action::Change(Change::Row { row, .. }) => vec![row.clone()],
            Action::Change(Change::Password(change)) => change.rows(),
            _ => Vec::new(),
        })
        .collect();
    let rows: Vec<&RowChange> = rows.iter().collect();
    let mut seqs = Vec::new();
    for action in actions {
        seqs.extend(journal.intent(action)?);
    }
    db.apply_rows(access.files, &rows)?;
    for seq in seqs {
        journal.done(seq)?;
        crate::fault::point(&format!("applied:{seq}"));
    }
    Ok(actions.len())
}

/// A file this run wrote earlier (a plugin's allow-list, then its lockouts, say) is checked
/// against what the journal says was written there rather than read back: a stat and a read
/// saved.
fn check_still_as_planned(
    t: &mut dyn Transport,
    action: &Action,
    journal: &Journal,
) -> Result<(), EngineError> {
    let stale = |path: &RemotePath, why: &str| EngineError::Stale {
        path: path.as_str().to_owned(),
        why: why.to_owned(),
    };
    match action {
        Action::Change(Change::Rename { from, to }) => {
            if !t.exists(from)? {
                return Err(stale(from, "it is gone"));
            }
            if t.exists(to)? {
                return Err(stale(to, "something now has that name"));
            }
        }
        Action::Change(Change::Write { path, .. }) | Action::Backup { path, .. } => {
            let now = match journal.written(path.as_str())? {
                Some(hash) => Some(hash),
                None => read_file(t, path)?.as_deref().map(sha256_hex),
            };
            if now != action.original().map(sha256_hex) {
                return Err(stale(path, "it changed since the plan was made"));
            }
        }
        // Row changes are compare-and-swap: the database itself refuses a stale one.
        Action::Change(Change::Row { .. } | Change::Password(_))
        | Action::Check(_)
        | Action::Note(_)
        | Action::LoginAt(_) => {}
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
