//! Allow-lists and blocks in the firewall files a plugin reads before WordPress starts, edited
//! through their typed readers ([`crate::parse::firewall_files`]).

use crate::parse::firewall_files::{AiosAllowlist, WordfenceWafConfig};

use super::super::EngineError;
use super::super::action::Action;
use super::super::change::Change;
use super::super::meaning::Meaning;
use super::super::vars::Vars;
use super::super::view::View;
use super::ForAddress;
use super::place::FileFormat;

/// A firewall file edited through its typed reader, which keeps its header byte for byte. A
/// missing Wordfence file is left missing (the plugin writes it on its next request); a
/// missing AIOS allow list is created.
pub(super) fn edit_firewall_file(
    view: &mut View<'_>,
    vars: &Vars,
    file: &str,
    format: FileFormat,
    action: ForAddress,
) -> Result<Vec<Action>, EngineError> {
    let path = view.resolve(vars, file)?;
    let before = view.read(&path)?;
    let bad = |e: crate::parse::firewall_files::FirewallFileError| {
        EngineError::Step(format!("{}: {e}", path.as_str()))
    };
    let (after, meaning) = match (format, action, &before) {
        (FileFormat::WordfenceWaf, _, None) => return Ok(Vec::new()),
        (FileFormat::WordfenceWaf, action, Some(bytes)) => {
            let mut config = WordfenceWafConfig::parse(bytes).map_err(bad)?;
            let meaning = match action {
                ForAddress::Allow(ip) => config
                    .allow(ip)
                    .map_err(bad)?
                    .then_some(Meaning::WordfenceAllowed { ip }),
                ForAddress::Clear(ip) => {
                    let removed = config.remove_blocks(ip).map_err(bad)?;
                    (!removed.is_empty()).then_some(Meaning::WordfenceCleared { removed })
                }
            };
            (meaning.is_some().then(|| config.to_bytes()), meaning)
        }
        (FileFormat::AiosAllowlist, ForAddress::Allow(ip), bytes) => {
            let mut list = match bytes {
                Some(bytes) => AiosAllowlist::parse(bytes).map_err(bad)?,
                None => AiosAllowlist::new(),
            };
            let changed = list.allow(ip);
            (
                changed.then(|| list.to_bytes()),
                changed.then_some(Meaning::AiosAllowed { ip }),
            )
        }
        (FileFormat::AiosAllowlist, ForAddress::Clear(_), _) => {
            return Err(EngineError::Step(
                "an AIOS allow list holds no lockouts to clear".into(),
            ));
        }
    };
    // What the edit meant goes into the journal too: the plugin may rewrite the file before
    // a rollback, which then undoes the meaning instead of restoring the bytes.
    Ok(after
        .map(|after| Action::Change(Change::write(path, before, after).meaning(meaning)))
        .into_iter()
        .collect())
}
