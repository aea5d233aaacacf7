//! What a change to a plugin's own file meant (this address added to its allow-list, these
//! blocks taken out), recorded beside the bytes so that a rollback can still undo it after the
//! plugin has rewritten the file itself (Wordfence rewrites its firewall's copy of its settings
//! whenever it syncs). Pure: bytes in, bytes out.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::parse::firewall_files::{AiosAllowlist, RemovedBlock, WordfenceWafConfig};

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
}

impl Meaning {
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
        }
    }
}
