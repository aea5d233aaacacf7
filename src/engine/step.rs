//! Playbook steps, and how each one is planned against the live site without changing it.
//!
//! Every step becomes zero or more [`Change`]s: a rename, or a whole-file write whose before
//! and after bytes are known. Planning reads the site through a [`View`], which also remembers
//! what earlier steps of the same plan will have done, so two steps on one file compose.

use std::collections::HashMap;

use regex::Regex;
use serde::Deserialize;

use crate::site::markers::Markers;
use crate::transport::{Kind, RemotePath, Transport, TransportExt};

use super::EngineError;
use super::change::Change;
use super::check::HttpCheck;

/// One step of a playbook. Paths are relative to the WordPress root and may use the
/// templates `{run_id}` and `{plugin_folder}` (see [`Vars`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Rename a file or folder (e.g. a plugin folder, so WordPress skips the plugin).
    Rename {
        /// What to rename.
        path: String,
        /// The new name; it must not exist.
        to: String,
        /// Skip quietly when `path` is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Delete every marker-delimited block whose label starts with `marker` (case-insensitive)
    /// from a file such as `.htaccess` or `.user.ini`, marker lines included.
    RemoveBlock {
        /// The file.
        path: String,
        /// The block label, as after `BEGIN` (or Wordfence's `Wordfence WAF`).
        marker: String,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Replace every match of a regular expression (multi-line mode: `^`/`$` match at line
    /// ends) in a file; `$1` in `replace` is the first group.
    Edit {
        /// The file.
        path: String,
        /// The regular expression.
        pattern: String,
        /// The replacement.
        replace: String,
    },
    /// Write a whole file (e.g. WordPress's default `.htaccess`).
    Write {
        /// The file.
        path: String,
        /// Its new contents.
        content: String,
    },
    /// Keep a copy of a file in the run's journal (on this machine), changing nothing on the
    /// site: for files a later manual fix may need.
    Backup {
        /// The file.
        path: String,
        /// Skip quietly when the file is not there.
        #[serde(default)]
        missing_ok: bool,
    },
    /// Ask the site over HTTP, as the caller, and stop (and roll back) the run unless it
    /// answers as expected.
    HttpCheck(HttpCheck),
}

/// Values substituted into step paths and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    /// This run's id: `{run_id}`, so renamed-away names say which run made them.
    pub run_id: String,
    /// The WordPress root, relative to the target; step paths are below it.
    pub wp_root: RemotePath,
    /// `{plugin_folder}`: the plugin's folder, relative to the WordPress root.
    pub plugin_folder: Option<String>,
}

impl Vars {
    fn expand(&self, text: &str) -> Result<String, EngineError> {
        let mut out = text.replace("{run_id}", &self.run_id);
        if out.contains("{plugin_folder}") {
            let folder = self
                .plugin_folder
                .as_deref()
                .ok_or_else(|| EngineError::Template {
                    text: text.to_owned(),
                    missing: "plugin_folder",
                })?;
            out = out.replace("{plugin_folder}", folder);
        }
        Ok(out)
    }

    /// A step path: templates expanded, confined below the WordPress root.
    fn path(&self, text: &str) -> Result<RemotePath, EngineError> {
        let expanded = self.expand(text)?;
        // RemotePath refuses `..`; an absolute path would silently become relative, so it is
        // refused here instead.
        if expanded.starts_with('/') {
            return Err(EngineError::AbsolutePath(expanded));
        }
        let joined = format!("{}/{expanded}", self.wp_root.as_str());
        Ok(RemotePath::new(&joined)?)
    }
}

/// The site as it will be after the changes planned so far: reads go to the server unless an
/// earlier change already decided the answer.
pub struct View<'a> {
    t: &'a mut dyn Transport,
    /// `Some(bytes)`: the file will hold these; `None`: nothing will be there.
    overlay: HashMap<RemotePath, Option<Vec<u8>>>,
}

impl<'a> View<'a> {
    /// A view of `t` with nothing planned yet.
    pub fn new(t: &'a mut dyn Transport) -> Self {
        Self {
            t,
            overlay: HashMap::new(),
        }
    }

    fn exists(&mut self, path: &RemotePath) -> Result<bool, EngineError> {
        match self.overlay.get(path) {
            Some(planned) => Ok(planned.is_some()),
            None => Ok(self.t.exists(path)?),
        }
    }

    /// The file's bytes, or `None` when there is no file.
    fn read(&mut self, path: &RemotePath) -> Result<Option<Vec<u8>>, EngineError> {
        if let Some(planned) = self.overlay.get(path) {
            return Ok(planned.clone());
        }
        match self.t.stat(path)? {
            Some(meta) if meta.kind == Kind::File => Ok(Some(self.t.read_to_vec(path)?)),
            Some(_) => Err(EngineError::NotAFile(path.as_str().to_owned())),
            None => Ok(None),
        }
    }

    /// A step path, expanded and confined ([`Vars`]), with no symbolic link anywhere below the
    /// WordPress root: a link could lead a rename or a write out of the site, and where it
    /// points cannot be checked from here.
    fn resolve(&mut self, vars: &Vars, text: &str) -> Result<RemotePath, EngineError> {
        let path = vars.path(text)?;
        let mut current = Some(path.clone());
        while let Some(here) = current {
            if here == vars.wp_root || here.is_root() {
                break;
            }
            let planned = self.overlay.contains_key(&here);
            if !planned && self.t.stat(&here)?.is_some_and(|m| m.kind == Kind::Symlink) {
                return Err(EngineError::Symlink(here.as_str().to_owned()));
            }
            current = here.parent();
        }
        Ok(path)
    }

    fn record(&mut self, change: &Change) {
        match change {
            Change::Rename { from, to } => {
                self.overlay.insert(from.clone(), None);
                // A renamed folder's contents are not tracked; the name is what later steps see.
                self.overlay.insert(to.clone(), Some(Vec::new()));
            }
            Change::Write { path, after, .. } => {
                self.overlay.insert(path.clone(), Some(after.clone()));
            }
            Change::Backup { .. } | Change::Check(_) | Change::Row(_) => {}
        }
    }
}

impl Step {
    /// The change this step would make now, or `None` when the site already is as the step
    /// wants it.
    pub fn plan(&self, view: &mut View<'_>, vars: &Vars) -> Result<Option<Change>, EngineError> {
        let change = match self {
            Step::Rename {
                path,
                to,
                missing_ok,
            } => {
                let from = view.resolve(vars, path)?;
                let to = view.resolve(vars, to)?;
                if !view.exists(&from)? {
                    return if *missing_ok {
                        Ok(None)
                    } else {
                        Err(EngineError::Missing(from.as_str().to_owned()))
                    };
                }
                if view.exists(&to)? {
                    return Err(EngineError::Exists(to.as_str().to_owned()));
                }
                Change::Rename { from, to }
            }
            Step::RemoveBlock {
                path,
                marker,
                missing_ok,
            } => {
                let path = view.resolve(vars, path)?;
                let Some(before) = view.read(&path)? else {
                    return missing(*missing_ok, &path);
                };
                let after = remove_blocks(&before, marker);
                Change::write(path, Some(before), after)
            }
            Step::Edit {
                path,
                pattern,
                replace,
            } => {
                let path = view.resolve(vars, path)?;
                let regex =
                    Regex::new(&format!("(?m){pattern}")).map_err(|e| EngineError::Pattern {
                        pattern: pattern.clone(),
                        message: e.to_string(),
                    })?;
                let Some(before) = view.read(&path)? else {
                    return missing(false, &path);
                };
                let text = String::from_utf8_lossy(&before);
                let after = regex
                    .replace_all(&text, vars.expand(replace)?.as_str())
                    .into_owned();
                Change::write(path, Some(before), after.into_bytes())
            }
            Step::Write { path, content } => {
                let path = view.resolve(vars, path)?;
                let before = view.read(&path)?;
                Change::write(path, before, vars.expand(content)?.into_bytes())
            }
            Step::Backup { path, missing_ok } => {
                let path = view.resolve(vars, path)?;
                let Some(bytes) = view.read(&path)? else {
                    return missing(*missing_ok, &path);
                };
                Change::Backup { path, bytes }
            }
            Step::HttpCheck(check) => Change::Check(HttpCheck {
                path: vars.expand(&check.path)?,
                ..check.clone()
            }),
        };
        if change.is_noop() {
            return Ok(None);
        }
        view.record(&change);
        Ok(Some(change))
    }
}

fn missing(ok: bool, path: &RemotePath) -> Result<Option<Change>, EngineError> {
    if ok {
        Ok(None)
    } else {
        Err(EngineError::Missing(path.as_str().to_owned()))
    }
}

/// `text` without the marker blocks labelled `marker…`. Line endings are kept as they were.
fn remove_blocks(text: &[u8], marker: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let wanted = marker.to_ascii_lowercase();
    let drop: Vec<(usize, usize)> = Markers::find(&text)
        .blocks
        .into_iter()
        .filter(|b| b.label.to_ascii_lowercase().starts_with(&wanted))
        .map(|b| (b.begin_line, b.end_line))
        .collect();
    text.split_inclusive('\n')
        .enumerate()
        .filter(|(i, _)| !drop.iter().any(|(a, b)| (*a..=*b).contains(&(i + 1))))
        .map(|(_, line)| line)
        .collect::<String>()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{MemoryTransport, WriteMode};

    fn site(files: &[(&str, &str)]) -> MemoryTransport {
        let mut t = MemoryTransport::new();
        for (file, body) in files {
            let path = RemotePath::new(file).unwrap();
            if let Some(parent) = path.parent() {
                t.mkdir_all(&parent).unwrap();
            }
            t.write_bytes(&path, body.as_bytes(), WriteMode::Create)
                .unwrap();
        }
        t
    }

    fn vars() -> Vars {
        Vars {
            run_id: "r1".into(),
            wp_root: RemotePath::new("public_html").unwrap(),
            plugin_folder: Some("wp-content/plugins/wordfence".into()),
        }
    }

    const HTACCESS: &str = "# BEGIN WordPress\r\nRewriteEngine On\r\n# END WordPress\r\n# Wordfence WAF\r\nphp_value auto_prepend_file '/x/wordfence-waf.php'\r\n# END Wordfence WAF\r\n";

    #[test]
    fn remove_block_keeps_everything_else_byte_for_byte() {
        let after = remove_blocks(HTACCESS.as_bytes(), "wordfence waf");
        assert_eq!(
            after,
            b"# BEGIN WordPress\r\nRewriteEngine On\r\n# END WordPress\r\n"
        );
        assert_eq!(
            remove_blocks(HTACCESS.as_bytes(), "Solid Security"),
            HTACCESS.as_bytes()
        );
    }

    #[test]
    fn steps_compose_on_the_same_file_and_are_idempotent() {
        let mut t = site(&[("public_html/.htaccess", HTACCESS)]);
        let steps = [
            Step::RemoveBlock {
                path: ".htaccess".into(),
                marker: "Wordfence WAF".into(),
                missing_ok: false,
            },
            Step::Edit {
                path: ".htaccess".into(),
                pattern: r"^RewriteEngine On".into(),
                replace: "# {run_id}: RewriteEngine On".into(),
            },
            // Already gone: nothing to do.
            Step::RemoveBlock {
                path: ".htaccess".into(),
                marker: "Wordfence WAF".into(),
                missing_ok: false,
            },
        ];
        let mut view = View::new(&mut t);
        let changes: Vec<_> = steps
            .iter()
            .filter_map(|s| s.plan(&mut view, &vars()).unwrap())
            .collect();
        assert_eq!(changes.len(), 2);
        let Change::Write { after, .. } = &changes[1] else {
            panic!()
        };
        assert_eq!(
            String::from_utf8_lossy(after),
            "# BEGIN WordPress\r\n# r1: RewriteEngine On\r\n# END WordPress\r\n"
        );
    }

    #[test]
    fn rename_checks_both_ends_and_expands_templates() {
        let mut t = site(&[(
            "public_html/wp-content/plugins/wordfence/wordfence.php",
            "<?php",
        )]);
        let step = Step::Rename {
            path: "{plugin_folder}".into(),
            to: "{plugin_folder}.wprescue-{run_id}".into(),
            missing_ok: false,
        };
        let mut view = View::new(&mut t);
        let change = step.plan(&mut view, &vars()).unwrap().unwrap();
        assert_eq!(
            change,
            Change::Rename {
                from: RemotePath::new("public_html/wp-content/plugins/wordfence").unwrap(),
                to: RemotePath::new("public_html/wp-content/plugins/wordfence.wprescue-r1")
                    .unwrap(),
            }
        );
        // The same step again, after the first: its source is gone.
        assert!(matches!(
            step.plan(&mut view, &vars()),
            Err(EngineError::Missing(_))
        ));
    }

    #[test]
    fn paths_stay_below_the_wordpress_root() {
        let mut t = site(&[]);
        for path in ["../wp-config.php", "/etc/passwd", "a/../../b"] {
            let step = Step::Write {
                path: path.into(),
                content: "x".into(),
            };
            let err = step.plan(&mut View::new(&mut t), &vars()).unwrap_err();
            assert!(
                matches!(err, EngineError::AbsolutePath(_) | EngineError::Path(_)),
                "{path}: {err}"
            );
        }
    }

    #[test]
    fn a_symbolic_link_on_the_way_is_refused() {
        use crate::transport::{ConnectOptions, LocalTransport};
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("public_html/wp-content")).unwrap();
        std::fs::write(outside.path().join("secret.txt"), "x").unwrap();
        let link = dir.path().join("public_html/wp-content/plugins");
        std::os::unix::fs::symlink(outside.path(), link).unwrap();
        let mut t = LocalTransport::open(dir.path(), &ConnectOptions::default()).unwrap();
        let step = Step::Write {
            path: "wp-content/plugins/secret.txt".into(),
            content: "overwritten".into(),
        };
        let err = step.plan(&mut View::new(&mut t), &vars()).unwrap_err();
        assert!(
            err.to_string()
                .contains("public_html/wp-content/plugins is a symbolic link"),
            "{err}"
        );
        let secret = std::fs::read_to_string(outside.path().join("secret.txt")).unwrap();
        assert_eq!(secret, "x");
    }

    #[test]
    fn unknown_step_keys_are_refused() {
        let err = serde_saphyr::from_str::<Vec<Step>>("- rename: {path: a, too: b}\n").unwrap_err();
        assert!(err.to_string().contains("too"), "{err}");
    }
}
