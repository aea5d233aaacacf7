//! Playbooks: declarative YAML files, one per security plugin or recovery. Built-ins live in
//! `playbooks/` and are embedded in the binary; users can load their own files.
//!
//! Today a playbook describes the plugin it is about ([`PluginSpec`]), which diagnosis uses to
//! recognise the plugin on disk and over HTTP; recovery steps come with the engine.

use std::path::PathBuf;

use serde::Deserialize;

use crate::engine::caller::IpSource;
use crate::engine::{RungSpec, Step};
use crate::site::Report;
use crate::site::catalog::{Catalog, PluginSpec};
use crate::site::diagnosis::{CAUSE_CODES, Cause};
use crate::site::inventory::{Inventory, PluginState, Presence};

include!(concat!(env!("OUT_DIR"), "/builtin_playbooks.rs"));

/// One playbook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Unique name, used on the command line.
    pub name: String,
    /// One paragraph for `wprescue playbooks`.
    pub description: String,
    /// The plugin this playbook is about, if any.
    #[serde(default)]
    pub plugin: Option<PluginSpec>,
    /// When `wprescue unlock` uses it; never, if absent.
    #[serde(default)]
    pub applies_when: Option<AppliesWhen>,
    /// What it changes, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// How the plugin reads the visitor's address, so that its allow-list gets the address
    /// *it* sees (a proxy header, when it is set to trust one), not just `REMOTE_ADDR`.
    #[serde(default)]
    pub ip_source: Option<IpSource>,
}

/// The diagnosis a playbook answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesWhen {
    /// Cause codes it answers (`plugin-block`, `server-password`, …). With a `plugin:`
    /// section, the cause must also name that plugin.
    pub causes: Vec<String>,
    /// For `broken-prepend`: the file name of the missing prepend target
    /// (`wordfence-waf.php`).
    #[serde(default)]
    pub prepend_file: Option<String>,
    /// The plugin (by id) the cause must name, for a playbook without its own `plugin:`
    /// section: a second rung for a plugin another playbook describes.
    #[serde(default)]
    pub plugin: Option<String>,
    /// A file in the WordPress root the playbook works on: where the site was seen without it
    /// (no `.htaccess` under nginx), the playbook does not apply.
    #[serde(default)]
    pub needs_file: Option<String>,
}

impl Playbook {
    /// Whether this playbook answers `diagnosis`; `missing_prepend` is the missing
    /// `auto_prepend_file` target, if any.
    pub fn applies_to(&self, cause: &Cause, missing_prepend: Option<&str>) -> bool {
        let Some(when) = &self.applies_when else {
            return false;
        };
        let plugin = self.plugin.as_ref().map(|p| &p.id).or(when.plugin.as_ref());
        let plugin_matches = match plugin {
            Some(id) => cause.plugin() == Some(id.as_str()),
            None => true,
        };
        let prepend_matches = match &when.prepend_file {
            Some(name) => missing_prepend
                .is_some_and(|target| target.rsplit('/').next() == Some(name.as_str())),
            None => true,
        };
        when.causes.iter().any(|c| c == cause.code()) && plugin_matches && prepend_matches
    }

    /// This playbook as a rung of the ladder on the site `inventory` describes:
    /// `{plugin_folder}` is the first installed folder of its plugin, relative to the
    /// WordPress root.
    pub fn rung(&self, inventory: Option<&Inventory>) -> RungSpec {
        RungSpec {
            playbook: self.name.clone(),
            steps: self.steps.clone(),
            plugin_folder: inventory.and_then(|inventory| self.plugin_folder(inventory)),
            ip_source: self.ip_source.clone(),
        }
    }

    fn plugin_folder(&self, inventory: &Inventory) -> Option<String> {
        let root = inventory.root.path.as_str();
        let id = self
            .plugin
            .as_ref()
            .map(|p| &p.id)
            .or(self.applies_when.as_ref().and_then(|w| w.plugin.as_ref()))?;
        let found = inventory
            .plugins
            .iter()
            .find(|p| &p.id == id && p.state == PluginState::Installed)?;
        let folder = found.folder.as_str();
        Some(match folder.strip_prefix(root) {
            Some(rest) if !root.is_empty() => rest.trim_start_matches('/').to_owned(),
            _ => folder.to_owned(),
        })
    }
}

/// Where a playbook came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Embedded in the binary, by file name.
    Builtin(&'static str),
    /// A user's file.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin(name) => write!(f, "built-in playbooks/{name}"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A playbook that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// The YAML is malformed or does not fit the schema.
    #[error("{source_name}: {message}")]
    Invalid {
        /// The file.
        source_name: Source,
        /// The parser's message, with line and column.
        message: String,
    },
    /// No built-in playbook has that name.
    #[error("no built-in playbook {name:?}; there are: {}", known.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The built-in names.
        known: Vec<String>,
    },
    /// Two playbooks share a name.
    #[error("{second}: a playbook named '{name}' already comes from {first}")]
    DuplicateName {
        /// The name.
        name: String,
        /// Where it was first defined.
        first: Source,
        /// The duplicate.
        second: Source,
    },
}

impl Playbook {
    /// Parses one playbook.
    pub fn parse(yaml: &str, source: Source) -> Result<Playbook, PlaybookError> {
        let invalid = |message: String| PlaybookError::Invalid {
            source_name: source.clone(),
            message,
        };
        // The parser writes its message for a terminal of its own: `error: …` (the renderer
        // says that already) and `--> <input>` where the file's name belongs.
        let playbook: Playbook = serde_saphyr::from_str(yaml).map_err(|e| {
            let message = e.to_string();
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            invalid(message.replace("<input>", &source.to_string()))
        })?;
        if let Some(when) = &playbook.applies_when {
            if let Some(unknown) = when
                .causes
                .iter()
                .find(|c| !CAUSE_CODES.contains(&c.as_str()))
            {
                return Err(invalid(format!(
                    "applies_when names the unknown cause {unknown:?}; known causes: {}",
                    CAUSE_CODES.join(", ")
                )));
            }
            if playbook.steps.is_empty() {
                return Err(invalid(
                    "applies_when without steps: there is nothing to apply".into(),
                ));
            }
        }
        Ok(playbook)
    }
}

/// A set of playbooks with unique names, each with the YAML it was read from.
#[derive(Debug, Clone, Default)]
pub struct Playbooks {
    entries: Vec<(Source, Playbook, String)>,
}

impl Playbooks {
    /// The built-in playbooks.
    pub fn builtin() -> Result<Playbooks, PlaybookError> {
        let mut set = Playbooks::default();
        for (name, yaml) in BUILTIN_PLAYBOOKS {
            set.load(Source::Builtin(name), yaml)?;
        }
        Ok(set)
    }

    /// Parses `yaml` and adds it; names must be unique. Returns the playbook.
    pub fn load(&mut self, source: Source, yaml: &str) -> Result<&Playbook, PlaybookError> {
        let playbook = Playbook::parse(yaml, source.clone())?;
        if let Some((first, _, _)) = self
            .entries
            .iter()
            .find(|(_, p, _)| p.name == playbook.name)
        {
            return Err(PlaybookError::DuplicateName {
                name: playbook.name,
                first: first.clone(),
                second: source,
            });
        }
        self.entries.push((source, playbook, yaml.to_owned()));
        Ok(&self.entries[self.entries.len() - 1].1)
    }

    /// The playbook named `name`, and the YAML it was read from.
    pub fn get(&self, name: &str) -> Option<(&Playbook, &str)> {
        self.entries
            .iter()
            .find(|(_, p, _)| p.name == name)
            .map(|(_, p, yaml)| (p, yaml.as_str()))
    }

    /// The playbook called `name` and its YAML, or the error naming the ones there are.
    pub fn named(&self, name: &str) -> Result<(&Playbook, &str), PlaybookError> {
        self.get(name).ok_or_else(|| PlaybookError::Unknown {
            name: name.to_owned(),
            known: self.iter().map(|p| p.name.clone()).collect(),
        })
    }

    /// The playbooks that answer the diagnosis in `report`, on a site that has the files they
    /// need, in load order: `unlock`'s ladder, least invasive first (file names order the
    /// built-ins).
    pub fn answering(&self, report: &Report) -> Vec<&Playbook> {
        let missing_prepend = report
            .inventory
            .prepends
            .iter()
            .find(|p| matches!(p.presence, Presence::Missing(_)))
            .map(|p| p.target.as_str());
        let has_what_it_needs = |p: &Playbook| {
            p.applies_when
                .as_ref()
                .and_then(|w| w.needs_file.as_deref())
                .is_none_or(|file| !report.inventory.lacks(file))
        };
        self.iter()
            .filter(|p| p.applies_to(&report.diagnosis.cause, missing_prepend))
            .filter(|p| has_what_it_needs(p))
            .collect()
    }

    /// The playbooks, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Playbook> {
        self.entries.iter().map(|(_, p, _)| p)
    }

    /// Every plugin the playbooks describe.
    pub fn catalog(&self) -> Catalog {
        Catalog {
            plugins: self.iter().filter_map(|p| p.plugin.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_describes_itself() {
        let set = Playbooks::builtin().unwrap();
        assert!(set.iter().count() >= 7);
        for playbook in set.iter() {
            assert!(!playbook.description.trim().is_empty(), "{}", playbook.name);
        }
    }

    #[test]
    fn the_embedded_set_is_exactly_the_playbooks_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = BUILTIN_PLAYBOOKS.iter().map(|(n, _)| *n).collect();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn the_catalog_knows_the_plugins_of_the_fact_sheet() {
        let catalog = Playbooks::builtin().unwrap().catalog();
        for (id, folder) in [
            ("wordfence", "wordfence"),
            ("solid-security", "better-wp-security"),
            (
                "all-in-one-wp-security",
                "all-in-one-wp-security-and-firewall",
            ),
            (
                "limit-login-attempts-reloaded",
                "limit-login-attempts-reloaded",
            ),
            ("loginizer", "loginizer"),
            ("wps-hide-login", "wps-hide-login"),
            ("shield", "wp-simple-firewall"),
            ("ninjafirewall", "ninjafirewall"),
            ("jetpack", "jetpack"),
            ("defender", "defender-security"),
            ("wp-cerber", "wp-cerber"),
            ("two-factor", "two-factor"),
            ("wp-2fa", "wp-2fa"),
            ("really-simple-security", "really-simple-ssl"),
        ] {
            let plugin = catalog.get(id).unwrap_or_else(|| panic!("no {id}"));
            assert!(plugin.folders.iter().any(|f| f == folder), "{id}");
        }
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_unknown_key() {
        let err = Playbook::parse(
            "name: x\ndescription: y\nplugin:\n  id: x\n  name: X\n  folder: [x]\n",
            Source::File("mine.yaml".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("mine.yaml: "), "{err}");
        assert!(err.contains("folder"), "{err}");
        assert!(err.contains("line 6 column 3"), "{err}");
        assert!(
            !err.contains("error:"),
            "the renderer says error once: {err}"
        );
        assert!(
            !err.contains("<input>") && err.contains("--> mine.yaml"),
            "the snippet names the file: {err}"
        );
    }

    #[test]
    fn applies_when_names_real_causes_and_brings_steps() {
        let parse = |yaml: &str| Playbook::parse(yaml, Source::File("p.yaml".into()));
        let err = parse("name: x\ndescription: y\napplies_when: {causes: [plugin-blok]}\nsteps: [{write: {path: a, content: b}}]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown cause \"plugin-blok\"") && err.contains("plugin-block"),
            "{err}"
        );
        let err =
            parse("name: x\ndescription: y\napplies_when: {causes: [plugin-block]}\n").unwrap_err();
        assert!(err.to_string().contains("without steps"), "{err}");
        let ok = parse(
            "name: x\ndescription: y\napplies_when: {causes: [server-error]}\nsteps: [{write: {path: a, content: b}}]\n",
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn steps_are_checked_beyond_their_shape() {
        let err = Playbook::parse(
            "name: x\ndescription: y\nsteps:\n  - backup: {path: a}\n  - clear_lockouts: {}\n",
            Source::File("p.yaml".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("p.yaml: ")
                && err.contains("clear_lockouts takes exactly one of at or rows"),
            "{err}"
        );
        let err = Playbook::parse(
            "name: x\ndescription: y\nsteps:\n  - whitelist_ip: {at: {option: o, list: comma, lists: x}}\n",
            Source::File("p.yaml".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("lists") && err.contains("line 4"), "{err}");
    }

    #[test]
    fn a_builtin_is_shown_by_name() {
        let set = Playbooks::builtin().unwrap();
        let (_, yaml) = set.get("wordfence").unwrap();
        assert!(yaml.starts_with("name: wordfence\n"), "{yaml}");
        assert!(set.get("no-such-playbook").is_none());
    }

    #[test]
    fn names_are_unique() {
        let mut set = Playbooks::builtin().unwrap();
        let (_, yaml) = set.get("wordfence").unwrap();
        let yaml = yaml.to_owned();
        let err = set
            .load(Source::File("again.yaml".into()), &yaml)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("already comes from built-in playbooks/20-wordfence.yaml"),
            "{err}"
        );
    }
}
