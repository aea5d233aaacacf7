//! Undoing a run from its journal alone: a fresh process, after a crash, is enough.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::helper::db::{Database, Row, Select, cell, row_matches, with_cell};
use crate::transport::{Prefetch, RemotePath, RenameMode, Transport, TransportExt, WriteMode};

use super::EngineError;
use super::access::Access;
use super::apply::read_file;
use super::change::{Recorded, decode_row};
use super::digest::sha256_hex;
use super::journal::{Event, Journal};
use super::meaning::Meaning;

/// What a rollback did.
#[derive(Debug, Default)]
pub struct Undone {
    /// Changes undone.
    pub undone: usize,
    /// Changes left in place because undoing them would destroy a later change; each one is
    /// still pending in the journal, so a later rollback tries again.
    pub conflicts: Vec<EngineError>,
    /// What was put back, one line each, newest change first.
    pub restored: Vec<String>,
}

/// The changes of the run not undone yet, newest first, with their sequence numbers: what a
/// rollback undoes (a change journalled but never made is among them; undoing it finds
/// nothing to do).
fn outstanding(journal: &Journal) -> Result<Vec<(usize, Recorded)>, EngineError> {
    let mut changes: BTreeMap<usize, (Recorded, bool)> = BTreeMap::new();
    for event in journal.events()? {
        match event {
            Event::Intent { seq, change } => {
                changes.insert(seq, (change, false));
            }
            Event::Done { .. }
            | Event::Rung { .. }
            | Event::Lock { .. }
            | Event::Unlock
            | Event::Site(_) => {}
            Event::Undone { seq } => {
                if let Some(entry) = changes.get_mut(&seq) {
                    entry.1 = true;
                }
            }
        }
    }
    Ok(changes
        .into_iter()
        .rev()
        .filter(|(_, (_, already))| !already)
        .map(|(seq, (change, _))| (seq, change))
        .collect())
}

/// What a rollback of `journal` would put back, one line each, newest first; nothing is
/// touched (`rollback --dry-run`).
pub fn pending(journal: &Journal) -> Result<Vec<String>, EngineError> {
    Ok(outstanding(journal)?
        .iter()
        .filter_map(|(_, change)| change.undo_description())
        .collect())
}

/// What undoing `journal` reads, for one [`Transport::prefetch`](crate::transport::Transport::prefetch)
/// where the transport can: the files it wrote, the folders of everything it wrote or
/// renamed, and the WordPress root (the helper's sweep lists it). The lock the run may hold
/// is in one of those folders too. Each is asked for directly ([`Prefetch::direct`]).
pub fn layout(journal: &Journal) -> Result<Prefetch, EngineError> {
    let mut folders = BTreeSet::from([".".to_owned()]);
    let mut files = BTreeSet::new();
    let mut add_folders_of = |path: &str| {
        if let Some((folder, _)) = path.rsplit_once('/') {
            folders.insert(folder.to_owned());
        }
    };
    for (_, change) in outstanding(journal)? {
        match change {
            Recorded::Write { path, .. } => {
                add_folders_of(&path);
                files.insert(path);
            }
            Recorded::Rename { from, to } => {
                add_folders_of(&from);
                add_folders_of(&to);
            }
            _ => {}
        }
    }
    if let Some(site) = journal.site_ref()?
        && !site.wp_root.is_empty()
    {
        folders.insert(site.wp_root);
    }
    // A `*` in a name would be taken for "every folder".
    let literal = |set: BTreeSet<String>| -> Vec<String> {
        set.into_iter().filter(|p| !p.contains('*')).collect()
    };
    Ok(Prefetch {
        folders: literal(folders),
        files: literal(files),
        max_file_bytes: 256 << 10,
        direct: true,
    })
}

/// Undoes every change of the run that was made, newest first. A change whose intent is
/// journalled but not its completion (a crash in between) is undone if the site shows it
/// happened. A file that changed since wprescue wrote it is not overwritten: it is reported and
/// the rollback goes on with the rest. Running it again does nothing more.
pub fn rollback(access: &mut Access<'_>, journal: &mut Journal) -> Result<Undone, EngineError> {
    let mut report = Undone::default();
    let outstanding = outstanding(journal)?;
    let mut rows = RowsAhead::read(access, &outstanding);
    for (seq, change) in outstanding {
        match undo(access, journal, &change, &mut rows) {
            Ok(true) => {
                report.undone += 1;
                report.restored.extend(change.undo_description());
            }
            Ok(false) => {}
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

/// The rows the journalled row changes are about, as the database holds them before the
/// rollback starts: asked in one request, where each was one request of its own. Only rows
/// that one change alone touches (none after an earlier undo could have changed them), and
/// none when a password change is among the undone (it rewrites rows of its own).
#[derive(Default)]
struct RowsAhead(HashMap<(String, String, Vec<u8>), Vec<Row>>);

impl RowsAhead {
    fn read(access: &mut Access<'_>, outstanding: &[(usize, Recorded)]) -> RowsAhead {
        let Some(db) = access.db else {
            return RowsAhead::default();
        };
        let mut keys: HashMap<(String, String, Vec<u8>), usize> = HashMap::new();
        for (_, change) in outstanding {
            match change {
                Recorded::Password(_) => return RowsAhead::default(),
                Recorded::Row { table, key, .. } => {
                    if let Ok(value) = BASE64.decode(&key.1) {
                        *keys
                            .entry((table.clone(), key.0.clone(), value))
                            .or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        let wanted: Vec<(String, String, Vec<u8>)> = keys
            .into_iter()
            .filter_map(|(key, changes)| (changes == 1).then_some(key))
            .collect();
        if wanted.len() < 2 {
            return RowsAhead::default();
        }
        let selects: Vec<Select> = wanted
            .iter()
            .map(|(table, column, value)| Select {
                table: table.clone(),
                column: column.clone(),
                value: value.clone(),
            })
            .collect();
        match db.select_many(&mut *access.files, &selects) {
            Ok(answers) => RowsAhead(wanted.into_iter().zip(answers).collect()),
            Err(e) => {
                // Each row is asked for on its own then, and fails there if it must.
                tracing::debug!(error = %e, "rows not read ahead");
                RowsAhead::default()
            }
        }
    }

    /// The rows read ahead for this key (only once: after that, the database has moved on).
    fn take(&mut self, table: &str, column: &str, value: &[u8]) -> Option<Vec<Row>> {
        self.0
            .remove(&(table.to_owned(), column.to_owned(), value.to_vec()))
    }
}

/// Undoes one change if the site shows it; returns whether anything was done.
fn undo(
    access: &mut Access<'_>,
    journal: &Journal,
    change: &Recorded,
    rows: &mut RowsAhead,
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
            meaning,
        } => {
            let path = RemotePath::new(path)?;
            let current = read_file(t, &path)?;
            let now = current.as_deref().map(sha256_hex);
            if now.as_deref() == Some(after.as_str()) {
                match before {
                    Some(hash) => t.write_bytes(&path, &journal.blob(hash)?, WriteMode::Replace)?,
                    None => t.remove(&path)?,
                }
                return Ok(true);
            }
            if now == *before {
                return Ok(false);
            }
            // Someone rewrote the file since: the plugin itself, often. What the change meant
            // can still be undone in what is there now; the rest of their edit stays.
            let undone = match (meaning, &current) {
                (Some(meaning), Some(current)) => meaning.undo(current),
                _ => Err("nothing says what the change meant".to_owned()),
            };
            match undone {
                Ok(Some(bytes)) => {
                    t.write_bytes(&path, &bytes, WriteMode::Replace)?;
                    Ok(true)
                }
                Ok(None) => Ok(false),
                Err(why) => Err(EngineError::Conflict {
                    path: path.as_str().to_owned(),
                    why: match before {
                        Some(hash) => format!(
                            "it changed since wprescue wrote it ({why}); its original is {}: copy it back by hand if the change still matters",
                            journal.blob_path(hash).display()
                        ),
                        None => format!(
                            "it changed since wprescue created it ({why}); remove it by hand if it is not needed"
                        ),
                    },
                }),
            }
        }
        // The copy stays in the journal; the site was never touched.
        Recorded::Backup { .. } => Ok(false),
        Recorded::Password(change) => change.undo(t, db.ok_or(EngineError::NoDatabase)?),
        Recorded::Row {
            table,
            key,
            before,
            after,
            meaning,
        } => {
            let corrupt = |_| EngineError::CorruptBlob(format!("the journalled row of {table}"));
            let decode = |row: &Option<Vec<(String, Option<String>)>>| {
                row.as_deref().map(decode_row).transpose().map_err(corrupt)
            };
            let (before, after) = (decode(before)?, decode(after)?);
            let key_value = BASE64.decode(&key.1).map_err(corrupt)?;
            let db = db.ok_or(EngineError::NoDatabase)?;
            let now = match rows.take(table, &key.0, &key_value) {
                Some(now) => now,
                None => db.select(t, table, &key.0, std::slice::from_ref(&key_value))?,
            };
            let row = RowUndo {
                table,
                key: &key.0,
                now,
                before,
                after,
                meaning: meaning.as_ref(),
            };
            undo_row(t, db, row)
        }
    }
}

/// A journalled row change to undo.
struct RowUndo<'a> {
    table: &'a str,
    /// The key column.
    key: &'a str,
    /// The rows with the key's value, as the database holds them now.
    now: Vec<Row>,
    before: Option<Row>,
    after: Option<Row>,
    meaning: Option<&'a Meaning>,
}

/// Puts a row back as it was, if the database shows the change happened and nothing changed
/// the row since; when something did (the plugin saving its settings again), undoes what the
/// change meant in the row as it is now, where that is well defined.
fn undo_row(
    t: &mut dyn Transport,
    db: &dyn Database,
    row: RowUndo<'_>,
) -> Result<bool, EngineError> {
    let RowUndo {
        table,
        key: column,
        now,
        before,
        after,
        meaning,
    } = row;
    let present = |pattern: &Option<Row>| match pattern {
        Some(pattern) => now.iter().any(|row| row_matches(row, pattern)),
        None => false,
    };
    let conflict = |why: String| EngineError::Conflict {
        path: format!("table {table} ({column})"),
        why: format!(
            "the row changed since wprescue wrote it ({why}); its original is in the journal (wprescue history names the run's folder)"
        ),
    };
    match (&before, &after) {
        (Some(b), Some(a)) if present(&after) => Ok(db.update(t, table, a, b).map(|()| true)?),
        (Some(_), Some(_)) if present(&before) => Ok(false),
        (Some(_), Some(_)) => {
            let (Some(meaning), [current]) = (meaning, now.as_slice()) else {
                return Err(conflict("nothing says what the change meant".into()));
            };
            let column = meaning.column().unwrap_or_default();
            let cell_now = cell(current, column).unwrap_or_default();
            match meaning.undo(cell_now).map_err(conflict)? {
                Some(undone) => {
                    let fresh = with_cell(current, column, undone);
                    db.update(t, table, current, &fresh)?;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        (Some(_), None) if present(&before) => Ok(false),
        (Some(b), None) => Ok(db.insert(t, table, b).map(|()| true)?),
        (None, Some(a)) if present(&after) => Ok(db.delete(t, table, a).map(|()| true)?),
        (None, _) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::action::Action;
    use crate::engine::apply::{apply, pieces};
    use crate::engine::change::Change;
    use crate::helper::db::RowChange;
    use crate::transport::Kind;
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

    fn changes() -> Vec<Action> {
        vec![
            Action::Change(Change::Rename {
                from: RemotePath::new("plugins/wordfence").unwrap(),
                to: RemotePath::new("plugins/wordfence.off").unwrap(),
            }),
            Action::write(
                RemotePath::new(".htaccess").unwrap(),
                Some(b"old\r\n".to_vec()),
                b"new\n".to_vec(),
            ),
            Action::write(RemotePath::new("new.txt").unwrap(), None, b"x".to_vec()),
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
    fn a_firewall_file_the_plugin_rewrote_gets_its_meaning_undone() {
        use crate::engine::meaning::Meaning;
        use crate::parse::firewall_files::WordfenceWafConfig;
        const SYNCED: &[u8] = include_bytes!("../parse/testdata/wflogs-config-synced.php");
        let path = RemotePath::new("wflogs/config-synced.php").unwrap();
        let mut t = MemoryTransport::new();
        t.mkdir_all(&path.parent().unwrap()).unwrap();
        t.write_bytes(&path, SYNCED, WriteMode::Create).unwrap();
        let ip = "127.0.0.1".parse().unwrap();
        let mut config = WordfenceWafConfig::parse(SYNCED).unwrap();
        assert!(config.allow(ip).unwrap());
        let allowed = config.to_bytes();
        let change = Change::write(path.clone(), Some(SYNCED.to_vec()), allowed)
            .meaning(Some(Meaning::WordfenceAllowed { ip }));
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        apply(&mut files(&mut t), &mut journal, &[Action::Change(change)]).unwrap();

        // The plugin syncs: it writes the file anew, our address still in it, another
        // setting changed.
        config.data.set_str("attackDataKey", "resynced").unwrap();
        let resynced = config.to_bytes();
        t.write_bytes(&path, &resynced, WriteMode::Replace).unwrap();

        let mut reopened = Journal::open(state.path(), "1-abcdef").unwrap();
        let undone = rollback(&mut files(&mut t), &mut reopened).unwrap();
        assert_eq!((undone.undone, undone.conflicts.len()), (1, 0));
        let now = WordfenceWafConfig::parse(&t.read_to_vec(&path).unwrap()).unwrap();
        assert_eq!(
            now.allowlist().unwrap(),
            Vec::<&str>::new(),
            "our address is gone"
        );
        assert_eq!(
            now.data.get_str("attackDataKey"),
            Some("resynced"),
            "the plugin's own edit stays"
        );
    }

    #[test]
    fn a_file_changed_without_a_meaning_names_the_journal_copy() {
        let mut t = site();
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        apply(&mut files(&mut t), &mut journal, &changes()[1..2]).unwrap();
        let htaccess = RemotePath::new(".htaccess").unwrap();
        t.write_bytes(&htaccess, b"someone else's", WriteMode::Replace)
            .unwrap();
        let undone = rollback(&mut files(&mut t), &mut journal).unwrap();
        let why = undone.conflicts[0].to_string();
        assert!(
            why.contains(
                &state
                    .path()
                    .join("runs/1-abcdef/blobs")
                    .display()
                    .to_string()
            ),
            "{why}"
        );
    }

    #[test]
    fn apply_then_rollback_from_a_reopened_journal_is_byte_identical_and_idempotent() {
        let state = tempfile::tempdir().unwrap();
        let mut t = site();
        let before = snapshot(&mut t);
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
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
    fn a_second_edit_of_a_file_is_checked_against_what_was_written_not_read_back() {
        use crate::transport::Counting;
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        let htaccess = RemotePath::new(".htaccess").unwrap();
        let edit = |from: &[u8], to: &[u8]| {
            Action::write(htaccess.clone(), Some(from.to_vec()), to.to_vec())
        };
        let mut t = Counting::new(site());
        let tally = t.tally();
        let first = [edit(b"old\r\n", b"one\n")];
        apply(&mut Access::files(&mut t), &mut journal, &first).unwrap();
        let reads = tally.reads();
        let second = [edit(b"one\n", b"two\n")];
        apply(&mut Access::files(&mut t), &mut journal, &second).unwrap();
        assert_eq!(tally.reads(), reads, "nothing read back");
        assert_eq!(t.read_to_vec(&htaccess).unwrap(), b"two\n");
        // A stale plan is still refused: the check is against what is there.
        let stale = [edit(b"one\n", b"three\n")];
        let err = apply(&mut Access::files(&mut t), &mut journal, &stale);
        assert!(matches!(err, Err(EngineError::Stale { .. })), "{err:?}");
    }

    #[test]
    fn the_layout_names_what_the_rollback_reads_each_directly() {
        let state = tempfile::tempdir().unwrap();
        let mut t = site();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        apply(&mut files(&mut t), &mut journal, &changes()).unwrap();
        let wanted = layout(&journal).unwrap();
        assert_eq!(wanted.folders, [".", "plugins"]);
        assert_eq!(wanted.files, [".htaccess", "new.txt"]);
        assert!(wanted.direct);
    }

    #[test]
    fn rows_are_read_in_one_request_and_put_back() {
        use crate::helper::db::memory::{MemoryDatabase, row};
        let db = MemoryDatabase::default();
        let original = vec![
            row(&[("id", "1"), ("v", "a")]),
            row(&[("id", "2"), ("v", "b")]),
        ];
        db.tables.borrow_mut().insert("t".into(), original.clone());
        let delete = |n: &str, v: &str| {
            Action::Change(Change::Row {
                row: RowChange {
                    table: "t".into(),
                    key: ("id".into(), n.as_bytes().to_vec()),
                    before: Some(row(&[("id", n), ("v", v)])),
                    after: None,
                },
                meaning: None,
            })
        };
        let state = tempfile::tempdir().unwrap();
        let mut t = MemoryTransport::new();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        apply(
            &mut access,
            &mut journal,
            &[delete("1", "a"), delete("2", "b")],
        )
        .unwrap();
        assert!(db.tables.borrow()["t"].is_empty());
        db.reads.set(0);
        assert_eq!(rollback(&mut access, &mut journal).unwrap().undone, 2);
        assert_eq!(db.reads.get(), 1, "both rows asked for at once");
        let mut now = db.tables.borrow()["t"].clone();
        now.sort();
        assert_eq!(now, original);
    }

    #[test]
    fn consecutive_row_changes_go_together() {
        let row = |n: u8| {
            Action::Change(Change::Row {
                row: RowChange {
                    table: "t".into(),
                    key: ("id".into(), vec![n]),
                    before: Some(vec![("id".into(), Some(vec![n]))]),
                    after: None,
                },
                meaning: None,
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
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
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
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
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
