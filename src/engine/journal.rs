//! The run journal: what each change intends and the original bytes, written and fsynced on
//! this machine *before* the server is touched, so that a fresh process can undo a run after
//! a crash or a dropped connection.
//!
//! Layout, under the state folder (`$WPRESCUE_STATE_DIR`, else `$XDG_STATE_HOME/wprescue`,
//! else `~/.local/state/wprescue`):
//!
//! ```text
//! runs/<run id>/run.json         which site, when, which playbooks
//! runs/<run id>/journal.jsonl    one event per line: intent, done, undone
//! runs/<run id>/blobs/<sha256>   original bytes of every file a change rewrites
//! ```
//!
//! Folders are 0700 and files 0600: blobs may hold `wp-config.php` or a password file.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EngineError;
use super::action::Action;
use super::change::Recorded;
use super::digest::sha256_hex;

/// Environment variable naming the state folder.
pub const STATE_DIR_ENV: &str = "WPRESCUE_STATE_DIR";

/// Which run this is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Sortable id: unix seconds and a random suffix.
    pub run_id: String,
    /// The target, as `scheme://user@host:port` (never a password).
    pub origin: String,
    /// The target's site folder as the server spells it.
    pub root: String,
    /// Seconds since the epoch.
    pub created: u64,
    /// Nanoseconds since the epoch: which of two runs started in the same second is newer
    /// (0 in journals written before it was recorded).
    #[serde(default)]
    pub created_ns: u64,
    /// The playbooks applied.
    pub playbooks: Vec<String>,
}

/// One line of `journal.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// About to make change `seq`.
    Intent {
        /// Position in the run.
        seq: usize,
        /// The change.
        change: Recorded,
    },
    /// Change `seq` was made.
    Done {
        /// Position in the run.
        seq: usize,
    },
    /// Change `seq` was undone.
    Undone {
        /// Position in the run.
        seq: usize,
    },
    /// A rung (a playbook) began to be applied: what actually ran, and when.
    Rung {
        /// The playbook.
        playbook: String,
        /// Seconds since the epoch.
        started: u64,
    },
    /// About to take the site's lock file at `path` (relative to the target).
    Lock {
        /// The lock file.
        path: String,
    },
    /// The lock file was given back.
    Unlock,
    /// Where the site's database is reached, for a run whose changes include rows: what a
    /// fresh process needs to undo them.
    Site(SiteRef),
}

/// One run as `wprescue history` lists it.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Which run, where, when, with which playbooks.
    pub info: RunInfo,
    /// Changes it made.
    pub changed: usize,
    /// Changes undone since.
    pub undone: usize,
    /// The rungs that actually ran, with when each began (seconds since the epoch).
    pub ran: Vec<(String, u64)>,
}

/// How a run reaches a site's database through the helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    /// The WordPress root, relative to the target.
    pub wp_root: String,
    /// `wp-config.php`, relative to the target.
    pub wp_config: String,
    /// The site's address.
    pub url: String,
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    info: RunInfo,
    next_seq: usize,
}

impl Journal {
    /// The state folder for this user.
    pub fn state_dir() -> Result<PathBuf, EngineError> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var(STATE_DIR_ENV)
            .or_else(|| var("XDG_STATE_HOME").map(|d| d.join("wprescue")))
            .or_else(|| std::env::home_dir().map(|h| h.join(".local/state/wprescue")))
            .ok_or(EngineError::NoStateDir)
    }

    /// A fresh, sortable run id: unix seconds and a random suffix.
    pub fn new_run_id() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let seed = format!(
            "{now:?}{}{:?}",
            std::process::id(),
            std::time::Instant::now()
        );
        format!("{}-{}", now.as_secs(), &sha256_hex(seed.as_bytes())[..6])
    }

    /// Refuses a run id that is not of the form [`Journal::new_run_id`] makes (`1795958013-a11013`):
    /// it names a folder under the state folder, and comes from a command line or a plan file.
    pub fn check_run_id(run_id: &str) -> Result<(), EngineError> {
        let well_formed = run_id.split_once('-').is_some_and(|(secs, suffix)| {
            !secs.is_empty()
                && secs.len() <= 20
                && secs.bytes().all(|b| b.is_ascii_digit())
                && suffix.len() == 6
                && suffix
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if well_formed {
            return Ok(());
        }
        Err(EngineError::BadRunId(run_id.to_owned()))
    }

    /// A new run `run_id` under `state_dir`.
    pub fn create(
        state_dir: &Path,
        run_id: &str,
        origin: &str,
        root: &str,
        playbooks: Vec<String>,
    ) -> Result<Journal, EngineError> {
        Self::check_run_id(run_id)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let info = RunInfo {
            run_id: run_id.to_owned(),
            origin: origin.to_owned(),
            root: root.to_owned(),
            created: now.as_secs(),
            created_ns: u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            playbooks,
        };
        let dir = state_dir.join("runs").join(&info.run_id);
        private_dir(&dir.join("blobs"))?;
        write_synced(&dir.join("run.json"), &serde_json::to_vec_pretty(&info)?)?;
        sync_dir(&dir)?;
        Ok(Journal {
            dir,
            info,
            next_seq: 0,
        })
    }

    /// An existing run.
    pub fn open(state_dir: &Path, run_id: &str) -> Result<Journal, EngineError> {
        Self::check_run_id(run_id)?;
        let dir = state_dir.join("runs").join(run_id);
        let info: RunInfo =
            serde_json::from_slice(&fs::read(dir.join("run.json")).map_err(|e| {
                EngineError::NoSuchRun {
                    run_id: run_id.to_owned(),
                    state_dir: state_dir.to_owned(),
                    source: e,
                }
            })?)?;
        let mut journal = Journal {
            dir,
            info,
            next_seq: 0,
        };
        journal.next_seq = journal.events()?.len();
        Ok(journal)
    }

    /// Every run in `state_dir`, oldest first, with how many changes each made and undid.
    pub fn history(state_dir: &Path) -> Result<Vec<RunRecord>, EngineError> {
        let Ok(entries) = fs::read_dir(state_dir.join("runs")) else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        ids.sort();
        let mut runs = Vec::new();
        for id in ids {
            // A folder that is not a run (or a damaged one) is not history.
            let Ok(journal) = Journal::open(state_dir, &id) else {
                continue;
            };
            let events = journal.events()?;
            let count = |want: fn(&Event) -> bool| events.iter().filter(|e| want(e)).count();
            let done = count(|e| matches!(e, Event::Done { .. }));
            let undone = count(|e| matches!(e, Event::Undone { .. }));
            let ran = events
                .iter()
                .filter_map(|e| match e {
                    Event::Rung { playbook, started } => Some((playbook.clone(), *started)),
                    _ => None,
                })
                .collect();
            runs.push(RunRecord {
                info: journal.info,
                changed: done,
                undone,
                ran,
            });
        }
        Ok(runs)
    }

    /// The newest run on `origin` with site folder `root`, if any: by when each run's
    /// journal says it started, not by its id (two ids of the same second sort by their
    /// random part).
    pub fn latest(
        state_dir: &Path,
        origin: &str,
        root: &str,
    ) -> Result<Option<String>, EngineError> {
        let runs = state_dir.join("runs");
        let Ok(entries) = fs::read_dir(&runs) else {
            return Ok(None);
        };
        let newest = entries
            .filter_map(|e| {
                let bytes = fs::read(e.ok()?.path().join("run.json")).ok()?;
                serde_json::from_slice::<RunInfo>(&bytes).ok()
            })
            .filter(|info| info.origin == origin && info.root == root)
            .max_by_key(|info| (info.created, info.created_ns, info.run_id.clone()));
        Ok(newest.map(|info| info.run_id))
    }

    /// Which run this is.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Records that `change` is about to be made, with the original bytes; returns its seq,
    /// or `None` for a change that leaves nothing to record (a check). Everything is on disk
    /// when this returns.
    pub fn intent(&mut self, change: &Action) -> Result<Option<usize>, EngineError> {
        let Some(record) = change.record() else {
            return Ok(None);
        };
        if let Some(original) = change.original() {
            let blob = self.dir.join("blobs").join(sha256_hex(original));
            if !blob.exists() {
                write_synced(&blob, original)?;
                sync_dir(&self.dir.join("blobs"))?;
            }
        }
        let seq = self.next_seq;
        self.append(&Event::Intent {
            seq,
            change: record,
        })?;
        Ok(Some(seq))
    }

    /// Records that the rung `playbook` begins.
    pub fn rung(&mut self, playbook: &str) -> Result<(), EngineError> {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.append(&Event::Rung {
            playbook: playbook.to_owned(),
            started,
        })
    }

    /// Records that change `seq` was made.
    pub fn done(&mut self, seq: usize) -> Result<(), EngineError> {
        self.append(&Event::Done { seq })
    }

    /// Records, before taking it, that this run is about to hold the lock file at `path`,
    /// so a fresh process can give it back after a crash.
    pub fn lock(&mut self, path: &str) -> Result<(), EngineError> {
        self.append(&Event::Lock {
            path: path.to_owned(),
        })
    }

    /// Records that the lock was given back.
    pub fn unlock(&mut self) -> Result<(), EngineError> {
        self.append(&Event::Unlock)
    }

    /// Records how this run reaches the site's database.
    pub fn site(&mut self, site: SiteRef) -> Result<(), EngineError> {
        self.append(&Event::Site(site))
    }

    /// How this run reached the site's database, if it did.
    pub fn site_ref(&self) -> Result<Option<SiteRef>, EngineError> {
        Ok(self.events()?.into_iter().rev().find_map(|e| match e {
            Event::Site(site) => Some(site),
            _ => None,
        }))
    }

    /// The lock file this run may still hold: taken and not given back.
    pub fn held_lock(&self) -> Result<Option<String>, EngineError> {
        let mut held = None;
        for event in self.events()? {
            match event {
                Event::Lock { path } => held = Some(path),
                Event::Unlock => held = None,
                _ => {}
            }
        }
        Ok(held)
    }

    /// What this run last wrote to `path` and still stands by the journal: the SHA-256 of the
    /// bytes of its last write made there and not undone. `None` when it wrote nothing there,
    /// or a rename since may have moved the file.
    pub fn written(&self, path: &str) -> Result<Option<String>, EngineError> {
        let mut intents = std::collections::HashMap::new();
        let mut written = None;
        for event in self.events()? {
            match event {
                Event::Intent { seq, change } => {
                    intents.insert(seq, change);
                }
                Event::Done { seq } => match intents.get(&seq) {
                    Some(Recorded::Write { path: p, after, .. }) if p == path => {
                        written = Some(after.clone());
                    }
                    Some(Recorded::Rename { .. }) => written = None,
                    _ => {}
                },
                Event::Undone { seq } => {
                    if matches!(intents.get(&seq), Some(Recorded::Write { path: p, .. }) if p == path)
                    {
                        written = None;
                    }
                }
                _ => {}
            }
        }
        Ok(written)
    }

    /// Records that change `seq` was undone.
    pub fn undone(&mut self, seq: usize) -> Result<(), EngineError> {
        self.append(&Event::Undone { seq })
    }

    /// Every event, in order. A torn last line (a crash mid-write) is ignored.
    pub fn events(&self) -> Result<Vec<Event>, EngineError> {
        let file = match File::open(self.dir.join("journal.jsonl")) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut events = Vec::new();
        for line in BufReader::new(file).lines() {
            match serde_json::from_str(&line?) {
                Ok(event) => events.push(event),
                Err(_) => break,
            }
        }
        Ok(events)
    }

    /// Where the journal keeps the bytes with this hash: for a person restoring by hand.
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("blobs").join(sha256)
    }

    /// The original bytes stored under `sha256`, checked against it.
    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>, EngineError> {
        let bytes = fs::read(self.blob_path(sha256))?;
        if sha256_hex(&bytes) != sha256 {
            return Err(EngineError::CorruptBlob(sha256.to_owned()));
        }
        Ok(bytes)
    }

    fn append(&mut self, event: &Event) -> Result<(), EngineError> {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(self.dir.join("journal.jsonl"))?;
        file.write_all(&line)?;
        file.sync_all()?;
        self.next_seq += usize::from(matches!(event, Event::Intent { .. }));
        Ok(())
    }
}

fn private_dir(path: &Path) -> Result<(), EngineError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    Ok(())
}

fn write_synced(path: &Path, data: &[u8]) -> Result<(), EngineError> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(data)?;
    file.sync_all()?;
    Ok(())
}

/// Makes a new name in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), EngineError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::RemotePath;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn run_ids_are_checked_before_they_name_a_folder() {
        let state = tempfile::tempdir().unwrap();
        assert!(Journal::check_run_id(&Journal::new_run_id()).is_ok());
        assert!(Journal::check_run_id("1795958013-a11013").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../1795958013-a11013",
            "1795958013-a11013/..",
            "1795958013-A11013",
            "1795958013-a1101",
            "x-a11013",
            "1795000000-other",
        ] {
            assert!(
                matches!(
                    Journal::open(state.path(), bad),
                    Err(EngineError::BadRunId(_))
                ),
                "{bad:?}"
            );
            assert!(
                Journal::create(state.path(), bad, "o", "/", vec![]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_newest_run_is_the_one_started_last_whatever_its_id() {
        let state = tempfile::tempdir().unwrap();
        for id in ["1795958013-f00000", "1795958013-000000"] {
            Journal::create(state.path(), id, "ftp://u@h:21", "/", vec![]).unwrap();
        }
        Journal::create(
            state.path(),
            "1795958014-aaaaaa",
            "ftp://u@other:21",
            "/",
            vec![],
        )
        .unwrap();
        assert_eq!(
            Journal::latest(state.path(), "ftp://u@h:21", "/").unwrap(),
            Some("1795958013-000000".into())
        );
    }

    #[test]
    fn a_run_survives_a_fresh_process() {
        let state = tempfile::tempdir().unwrap();
        let change = Action::write(
            RemotePath::new("wp-config.php").unwrap(),
            Some(b"<?php define('DB_PASSWORD', 'x');".to_vec()),
            b"<?php".to_vec(),
        );
        let mut journal = Journal::create(
            state.path(),
            &Journal::new_run_id(),
            "sftp://u@h:22",
            "/home/u",
            vec!["p".into()],
        )
        .unwrap();
        let seq = journal.intent(&change).unwrap().unwrap();
        journal.done(seq).unwrap();
        let run_id = journal.info().run_id.clone();
        drop(journal);

        let reopened = Journal::open(state.path(), &run_id).unwrap();
        assert_eq!(reopened.events().unwrap().len(), 2);
        let Event::Intent {
            change: Recorded::Write {
                before: Some(hash), ..
            },
            ..
        } = &reopened.events().unwrap()[0]
        else {
            panic!()
        };
        assert_eq!(
            reopened.blob(hash).unwrap(),
            b"<?php define('DB_PASSWORD', 'x');"
        );
        assert_eq!(
            Journal::latest(state.path(), "sftp://u@h:22", "/home/u").unwrap(),
            Some(run_id.clone())
        );
        assert_eq!(
            Journal::latest(state.path(), "ftp://u@h:21", "/home/u").unwrap(),
            None
        );
        let history = Journal::history(state.path()).unwrap();
        assert_eq!(history.len(), 1);
        let run = &history[0];
        assert_eq!(
            (run.info.run_id.as_str(), run.changed, run.undone),
            (run_id.as_str(), 1, 0)
        );

        let dir = state.path().join("runs").join(&run_id);
        for file in ["run.json", "journal.jsonl", &format!("blobs/{hash}")] {
            let mode = fs::metadata(dir.join(file)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "o", "/", vec![]).unwrap();
        let change = Action::Change(crate::engine::change::Change::Rename {
            from: RemotePath::new("a").unwrap(),
            to: RemotePath::new("b").unwrap(),
        });
        journal.intent(&change).unwrap();
        let path = state
            .path()
            .join("runs")
            .join(&journal.info().run_id)
            .join("journal.jsonl");
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"event\":\"do")
            .unwrap();
        assert_eq!(journal.events().unwrap().len(), 1);
    }
}
