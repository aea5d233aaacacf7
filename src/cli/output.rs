//! What the change-making commands print: the plan with its diffs, progress on a terminal, the
//! recap, and the JSON document `--json` asks for instead.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::engine::Planned;

use super::color::Color;

/// Where human-readable lines go: stdout, or stderr when stdout carries JSON.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// `--json`: stdout is reserved for the final document.
    pub json: bool,
    /// Colours for the human lines.
    pub color: Color,
}

impl Out {
    /// Prints one human line.
    pub fn line(&self, text: impl std::fmt::Display) -> std::io::Result<()> {
        if self.json {
            writeln!(std::io::stderr(), "{text}")
        } else {
            writeln!(std::io::stdout(), "{text}")
        }
    }

    /// Prints the plan: one line per change, and the diff of each file when `diffs`.
    pub fn plan(&self, plan: &[Planned], diffs: bool) -> std::io::Result<()> {
        let color = self.color;
        self.line(color.label("plan:"))?;
        if plan.is_empty() {
            self.line("  nothing to change")?;
        }
        for planned in plan {
            self.line(format_args!(
                "  [{}] {}",
                planned.playbook,
                planned.change.describe()
            ))?;
            let Some(diff) = planned.change.diff().filter(|_| diffs) else {
                continue;
            };
            for line in diff.lines() {
                let painted = match line.as_bytes().first() {
                    Some(b'+') if !line.starts_with("+++") => color.good(line),
                    Some(b'-') if !line.starts_with("---") => color.error(line),
                    _ => line.to_owned(),
                };
                self.line(format_args!("    {painted}"))?;
            }
        }
        Ok(())
    }

    /// A spinner on stderr with `message`, drawn only on a terminal (and never under `--json`,
    /// whose readers are programs).
    pub fn spinner(&self, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A bar counting `len` changes, drawn like [`Out::spinner`].
    pub fn counter(&self, len: usize, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len as u64), self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(message.to_owned());
        bar
    }

    fn draw_target(&self) -> ProgressDrawTarget {
        if !self.json && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// Prints `document` as JSON on stdout, when `--json` asked for it.
    pub fn document(&self, document: &RunDocument) -> std::io::Result<()> {
        if self.json {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, document)?;
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Ansible's recap: how many changes went how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Recap {
    /// Done without altering the site: checks that passed, backups taken.
    pub ok: usize,
    /// Changes made to the site.
    pub changed: usize,
    /// Changes or checks that failed (at most one: a run stops at the first).
    pub failed: usize,
    /// Changes undone by a rollback.
    pub undone: usize,
}

impl std::fmt::Display for Recap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok={} changed={} failed={} undone={}",
            self.ok, self.changed, self.failed, self.undone
        )
    }
}

/// How a run of `unlock`, `apply` or `run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The site already lets the admin in.
    NothingToDo,
    /// Only planned (`--dry-run`, `--check`, `plan`).
    Planned,
    /// The user said no.
    Declined,
    /// Applied; the admin gets in.
    Unlocked,
    /// Applied, with nothing to verify (`run`).
    Applied,
    /// Applied, the site still refused, and everything was rolled back.
    RolledBack,
}

/// The `--json` document of the change-making commands. Version 1; fields are only added.
#[derive(Debug, Serialize)]
pub struct RunDocument {
    /// Always 1 for this shape.
    pub version: u32,
    /// `unlock`, `plan`, `apply` or `run`.
    pub command: &'static str,
    /// The target, never with a password.
    pub origin: String,
    /// The diagnosed cause code, when there was a diagnosis.
    pub cause: Option<String>,
    /// The caller's address the plan was made for, when a step needed it.
    pub caller: Option<std::net::IpAddr>,
    /// The run's id, when changes were made (for `rollback --run`).
    pub run_id: Option<String>,
    /// Every planned change.
    pub changes: Vec<JsonChange>,
    /// How it ended.
    pub outcome: Outcome,
    /// The counts.
    pub recap: Recap,
    /// The command that undoes the run, when there is something to undo.
    pub undo: Option<String>,
}

/// One planned change in [`RunDocument`].
#[derive(Debug, Serialize)]
pub struct JsonChange {
    /// The playbook it comes from.
    pub playbook: String,
    /// One line: `rename a -> b`, `edit .htaccess`, …
    pub action: String,
    /// The unified diff of a file change, secrets redacted.
    pub diff: Option<String>,
}

impl JsonChange {
    /// The JSON form of each planned change.
    pub fn all(plan: &[Planned]) -> Vec<JsonChange> {
        plan.iter()
            .map(|p| JsonChange {
                playbook: p.playbook.clone(),
                action: p.change.describe(),
                diff: p.change.diff(),
            })
            .collect()
    }
}
