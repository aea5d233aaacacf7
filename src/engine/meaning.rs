//! What a change to a plugin's own file meant (this address added to its allow-list, these
//! blocks taken out), recorded beside the bytes so that a rollback can still undo it after the
//! plugin has rewritten the file itself (Wordfence rewrites its firewall's copy of its settings
//! whenever it syncs). Pure: bytes in, bytes out.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::parse::firewall_files::{AiosAllowlist, RemovedBlock, WordfenceWafConfig};
use crate::parse::serialized::{self, Value};

use super::allowlist::place::ListFormat;

/// What a change to a firewall file meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "meant", rename_all = "snake_case")]
pub enum Meaning {
    /// `ip` was added to the allow-list of Wordfence's firewall file.
    WordfenceAllowed {
        /// The address.
        ip: IpAddr,
    },
    /// These blocks and lockouts were taken out of Wordfence's firewall file.
    WordfenceCleared {
        /// The entries, to put back.
        removed: Vec<RemovedBlock>,
    },
    /// `ip` was added to AIOS's firewall allow-list.
    AiosAllowed {
        /// The address.
        ip: IpAddr,
    },
    /// `entry` was added to a list a plugin keeps in a database cell or a file: `keys` deep
    /// into a serialized array, written as `list`.
    ListEntryAdded {
        /// The cell's column, for a list in a database row.
        column: Option<String>,
        /// Keys into the serialized array holding the list.
        keys: Vec<String>,
        /// How the list is written.
        list: ListFormat,
        /// The entry added.
        entry: String,
    },
    /// Several edits of one file made as one write, in the order made.
    Several {
        /// What each meant.
        meanings: Vec<Meaning>,
    },
}

impl Meaning {
    /// `first`, then `then`, as one meaning.
    pub fn both(first: Meaning, then: Meaning) -> Meaning {
        let parts = |m: Meaning| match m {
            Meaning::Several { meanings } => meanings,
            one => vec![one],
        };
        let mut meanings = parts(first);
        meanings.extend(parts(then));
        Meaning::Several { meanings }
    }

    /// `current` (the file as it is now) with this meaning undone; `None` when nothing in it
    /// is left to undo. An error when the file is no longer one this meaning applies to.
    pub fn undo(&self, current: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let bad = |e: crate::parse::firewall_files::FirewallFileError| e.to_string();
        match self {
            Meaning::WordfenceAllowed { ip } => {
                let mut config = WordfenceWafConfig::parse(current).map_err(bad)?;
                Ok(config
                    .disallow(*ip)
                    .map_err(bad)?
                    .then(|| config.to_bytes()))
            }
            Meaning::WordfenceCleared { removed } => {
                let mut config = WordfenceWafConfig::parse(current).map_err(bad)?;
                Ok((config.restore_blocks(removed).map_err(bad)? > 0).then(|| config.to_bytes()))
            }
            Meaning::AiosAllowed { ip } => {
                let mut list = AiosAllowlist::parse(current).map_err(bad)?;
                Ok(list.disallow(*ip).then(|| list.to_bytes()))
            }
            Meaning::ListEntryAdded {
                keys, list, entry, ..
            } => remove_entry(current, keys, *list, entry),
            // Undone newest first, each on what the one after it left.
            Meaning::Several { meanings } => {
                let mut undone: Option<Vec<u8>> = None;
                for meaning in meanings.iter().rev() {
                    let now = undone.as_deref().unwrap_or(current);
                    if let Some(bytes) = meaning.undo(now)? {
                        undone = Some(bytes);
                    }
                }
                Ok(undone)
            }
        }
    }

    /// The column of the row the meaning is about, for a change to a database row.
    pub fn column(&self) -> Option<&str> {
        match self {
            Meaning::ListEntryAdded { column, .. } => column.as_deref(),
            _ => None,
        }
    }

    /// One line for the user: what undoing it does.
    pub fn describe_undo(&self) -> String {
        match self {
            Meaning::WordfenceAllowed { ip } | Meaning::AiosAllowed { ip } => {
                format!("take {ip} back off the allow-list")
            }
            Meaning::WordfenceCleared { removed } => {
                format!("put back {} block(s) and lockout(s)", removed.len())
            }
            Meaning::ListEntryAdded { entry, .. } => format!("take {entry} back off the list"),
            Meaning::Several { meanings } => meanings
                .iter()
                .rev()
                .map(Meaning::describe_undo)
                .collect::<Vec<_>>()
                .join(", then "),
        }
    }
}

/// `value` (a list, or a serialized array holding one at `keys`) without `entry`; `None`
/// when it does not hold it any more.
fn remove_entry(
    value: &[u8],
    keys: &[String],
    list: ListFormat,
    entry: &str,
) -> Result<Option<Vec<u8>>, String> {
    let sep = list.separator();
    let without = |text: &str| -> Option<String> {
        let entries: Vec<&str> = text.split(sep).collect();
        let kept: Vec<&str> = entries
            .iter()
            .copied()
            .filter(|e| e.trim() != entry)
            .collect();
        (kept.len() < entries.len()).then(|| kept.join(sep))
    };
    if !list.is_serialized(keys) {
        return Ok(without(&String::from_utf8_lossy(value)).map(String::into_bytes));
    }
    let mut document = serialized::parse(value).map_err(|e| e.to_string())?;
    let path: Vec<&str> = keys.iter().map(String::as_str).collect();
    let target = document.get_path_mut(&path).map_err(|e| e.to_string())?;
    let changed = match target {
        Value::Str(bytes) => match without(&String::from_utf8_lossy(bytes)) {
            Some(text) => {
                *bytes = text.into_bytes();
                true
            }
            None => false,
        },
        Value::Array(_) => target.list_remove(entry).map_err(|e| e.to_string())? > 0,
        other => return Err(format!("the list is {}, not a list", other.kind())),
    };
    Ok(changed.then(|| document.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(entry: &str) -> Meaning {
        Meaning::ListEntryAdded {
            column: None,
            keys: Vec::new(),
            list: ListFormat::Comma,
            entry: entry.into(),
        }
    }

    #[test]
    fn edits_made_as_one_write_are_undone_newest_first_on_what_is_there() {
        let both = Meaning::both(
            added("10.0.0.1"),
            Meaning::both(added("10.0.0.2"), added("x")),
        );
        let Meaning::Several { meanings } = &both else {
            panic!("{both:?}")
        };
        assert_eq!(meanings.len(), 3, "flat");
        // The plugin added an entry of its own since: it stays.
        let undone = both.undo(b"a,10.0.0.1,10.0.0.2,x,b").unwrap();
        assert_eq!(undone.as_deref(), Some(&b"a,b"[..]));
        assert_eq!(both.undo(b"a,b").unwrap(), None, "nothing left to undo");
        assert_eq!(
            both.describe_undo(),
            "take x back off the list, then take 10.0.0.2 back off the list, then take 10.0.0.1 back off the list"
        );
    }
}
