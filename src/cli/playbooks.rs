//! `wprescue playbooks [NAME]`: the built-in playbooks, listed or one shown in full.

use crate::engine::Outcome;
use crate::playbook::Playbooks;

/// Runs `playbooks`.
pub fn run(name: Option<&str>) -> anyhow::Result<Outcome> {
    let playbooks = Playbooks::builtin()?;
    match name {
        Some(name) => {
            let (_, yaml) = playbooks.named(name)?;
            use std::io::Write as _;
            write!(std::io::stdout(), "{yaml}")?;
        }
        None => {
            for playbook in playbooks.iter() {
                let causes = playbook
                    .applies_when
                    .as_ref()
                    .map(|w| w.causes.join(", "))
                    .unwrap_or_else(|| "never applied by unlock".into());
                say!(
                    "{:<32} [{causes}]\n    {}",
                    playbook.name,
                    playbook.description
                );
            }
        }
    }
    Ok(Outcome::Shown)
}
