//! What the commands print: the plan with its diffs, progress on a terminal, one line per
//! event of a run, and the JSON document `--json` asks for instead.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::engine::{Action, Event, Observer, Outcome, Planned, Recap};
use crate::parse::text::printable;

use super::color::Color;

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: from now on, no progress and no event lines (results and errors still print).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Where human-readable lines go: stdout, or stderr when stdout carries JSON. It is also how
/// the command line watches a run ([`Observer`]): spinners and bars on a terminal, one line
/// per event.
pub struct Out {
    /// `--json`: stdout is reserved for the final document.
    pub json: bool,
    /// Colours for the human lines.
    pub color: Color,
    /// The target as typed and the connection flags given, for the commands printed to undo
    /// a run.
    target: String,
    connect_flags: Vec<String>,
    /// The spinner or bar on screen.
    bar: Option<ProgressBar>,
    /// The first failed write of an event line (a closed pipe), returned by [`Out::finish`].
    failed: Option<std::io::Error>,
    /// What a rollback did, for its `--json` document.
    pub rollback: RollbackDocument,
    /// Where the admin logs in, when a plugin moved the login page and the run said where.
    pub login_url: Option<String>,
    /// `--url` as given.
    url: Option<String>,
}

/// The `--json` document of `rollback`. Version 1; fields are only added.
#[derive(Debug, Default, Serialize)]
pub struct RollbackDocument {
    /// Always 1 for this shape.
    pub version: u32,
    /// The run undone (or, with `--dry-run`, that would be).
    pub run_id: Option<String>,
    /// How it ended.
    pub outcome: Option<Outcome>,
    /// Changes undone.
    pub undone: usize,
    /// What was put back, one line each (with `--dry-run`: what would be).
    pub restored: Vec<String>,
    /// Changes left because undoing them would destroy a later change.
    pub left: Vec<String>,
}

impl Out {
    /// Lines for people, or (with `json`) for stderr while stdout waits for the document.
    pub fn new(json: bool, color: Color) -> Out {
        Out {
            json,
            color,
            target: String::new(),
            connect_flags: Vec::new(),
            bar: None,
            failed: None,
            rollback: RollbackDocument {
                version: 1,
                ..RollbackDocument::default()
            },
            login_url: None,
            url: None,
        }
    }

    /// Names the target, and the connection flags that reach it, in the undo lines printed
    /// from now on.
    pub fn target(&mut self, target: &str, connect_flags: Vec<String>) {
        self.target = target.to_owned();
        self.connect_flags = connect_flags;
    }

    /// The site's address as given (`--url`), for a `wprescue run` command this prints: a
    /// run that changes the database over FTP or SFTP needs it; a rollback does not.
    pub fn site_url(&mut self, url: Option<&str>) {
        self.url = url.map(str::to_owned);
    }

    /// Prints one human line.
    pub fn line(&self, text: impl std::fmt::Display) -> std::io::Result<()> {
        if self.json {
            writeln!(std::io::stderr(), "{text}")
        } else {
            writeln!(std::io::stdout(), "{text}")
        }
    }

    /// Prints the plan, rung by rung: each rung's changes, and the diff of each when `diffs`.
    /// A rung after the first runs only if the one before does not let the admin in.
    pub fn plan(&self, plan: &[Planned], diffs: bool) -> std::io::Result<()> {
        let color = self.color;
        self.line(color.label("plan:"))?;
        if plan.is_empty() {
            self.line("  nothing to change")?;
        }
        let rungs = rungs(plan);
        for (n, (rung, actions)) in rungs.iter().enumerate() {
            let heading = match n {
                _ if rungs.len() == 1 => format!("{rung}:"),
                0 => format!("rung 1: {rung}"),
                n => format!(
                    "rung {}, only if rung {n} does not let you in: {rung}",
                    n + 1
                ),
            };
            self.line(format_args!("  {}", color.label(&heading)))?;
            for action in actions {
                self.line(format_args!("    {}", printable(&action.describe())))?;
                let Some(diff) = action.diff().filter(|_| diffs) else {
                    continue;
                };
                for line in diff.lines() {
                    // The diff shows the site's files: printable, never obeyed.
                    let line = &printable(line);
                    let painted = match line.as_bytes().first() {
                        Some(b'+') if !line.starts_with("+++") => color.good(line),
                        Some(b'-') if !line.starts_with("---") => color.error(line),
                        _ => line.to_owned(),
                    };
                    self.line(format_args!("      {painted}"))?;
                }
            }
        }
        Ok(())
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

    /// Ends a command before it changes anything: `line` for people, the document (with
    /// `outcome`) under `--json`.
    pub fn stop(
        self,
        mut document: RunDocument,
        outcome: Outcome,
        line: impl std::fmt::Display,
    ) -> anyhow::Result<Outcome> {
        self.line(line)?;
        document.outcome = outcome;
        self.document(&document)?;
        self.finish(outcome)
    }

    /// The command that rolls run `run_id` back, as a shell runs it: the same target and
    /// connection flags as this command.
    pub fn undo_command(&self, run_id: &str) -> String {
        self.command(&["rollback"], &["--run", run_id])
    }

    /// `wprescue VERB… TARGET ARGS… FLAGS…` for this target, as the user can paste it.
    fn command(&self, verb: &[&str], args: &[&str]) -> String {
        let mut words: Vec<String> = vec!["wprescue".to_owned()];
        words.extend(verb.iter().map(|w| (*w).to_owned()));
        words.push(shell_word(&self.target));
        words.extend(args.iter().map(|w| shell_word(w)));
        words.extend(self.connect_flags.iter().map(|f| shell_word(f)));
        words.join(" ")
    }

    /// Ends the command: `outcome`, unless a line could not be written (a closed pipe).
    pub fn finish(mut self, outcome: Outcome) -> anyhow::Result<Outcome> {
        self.clear();
        match self.failed.take() {
            Some(e) => Err(e.into()),
            None => Ok(outcome),
        }
    }

    fn say(&mut self, text: impl std::fmt::Display) {
        if quiet() {
            return;
        }
        if let Err(e) = self.line(text) {
            self.failed.get_or_insert(e);
        }
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn draw_target(&self) -> ProgressDrawTarget {
        if !self.json && !quiet() && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }
}

impl Observer for Out {
    /// A spinner on stderr, drawn only on a terminal (and never under `--json`, whose readers
    /// are programs).
    fn busy(&mut self, what: &str) {
        self.clear();
        let bar = ProgressBar::with_draw_target(None, self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
        );
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(bar);
    }

    fn idle(&mut self) {
        self.clear();
    }

    /// A bar counting a rung's changes, drawn like the spinner.
    fn progress(&mut self, rung: &str, done: usize, len: usize) {
        if done == 0 {
            self.clear();
            let bar = ProgressBar::with_draw_target(Some(len as u64), self.draw_target());
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(rung.to_owned());
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
        if done >= len {
            self.clear();
        }
    }

    fn event(&mut self, event: Event<'_>) {
        self.clear();
        let color = self.color;
        match event {
            Event::HelpersSwept { removed, wp_root } => self.say(format_args!(
                "removed {removed} helper folder(s) an interrupted run left in {wp_root}"
            )),
            Event::Caller(caller) => {
                self.say(format_args!(
                    "{} {} (from {})",
                    color.label("caller"),
                    caller.ip,
                    caller.source
                ));
                for note in &caller.notes {
                    self.say(format_args!("{} {note}", color.warn("note:")));
                }
            }
            Event::Note(note) => {
                self.say(format_args!("{} {}", color.warn("note:"), printable(note)))
            }
            Event::Warning(text) => self.say(format_args!("{} {text}", color.warn("warning:"))),
            Event::RungSkipped { rung, why } => self.say(format_args!(
                "{} {rung}: {}",
                color.warn("skipping rung"),
                printable(&why.to_string())
            )),
            Event::JournalOpened { run_id, dir } => {
                self.say(format_args!("run {run_id}: journal in {}", dir.display()))
            }
            Event::RungApplied { rung, changes } => self.say(format_args!(
                "{} {rung} ({changes} change(s))",
                color.label("applied")
            )),
            Event::ChangeFailed(e) => {
                let e = printable(&e.to_string());
                self.say(format_args!("{} {e}; rolling back", color.error("failed:")))
            }
            Event::Unlocked {
                real_login,
                login_url,
                instead,
            } => {
                let proof = if real_login {
                    " (a real login succeeded)"
                } else {
                    " (checked with GET requests only: give --login to prove a real login)"
                };
                match login_url {
                    Some(url) => {
                        self.login_url = Some(url.to_owned());
                        self.say(format_args!(
                            "{} the login page is at {}: log in there{proof}; nothing was changed",
                            color.good("unlocked:"),
                            printable(url)
                        ));
                        if let Some(next) = instead {
                            let url = self.url.clone();
                            let args: Vec<&str> = match &url {
                                Some(url) => vec!["--url", url],
                                None => Vec::new(),
                            };
                            let run = self.command(&["run", next], &args);
                            self.say(format_args!(
                                "to put the default login page back instead: {run}"
                            ));
                        }
                    }
                    None => self.say(format_args!(
                        "{} the admin can get in again{proof}",
                        color.good("unlocked:")
                    )),
                }
            }
            Event::NotYet { rung } => self.say(format_args!(
                "{} the site still refuses after {rung}; undoing it before the next rung",
                color.warn("not yet:")
            )),
            Event::WaitingForIniCache { file, seconds } => self.say(format_args!(
                "{} the site still refuses, but PHP-FPM and CGI re-read {file} only when their \
                 cached copy expires (user_ini.cache_ttl, 300 s by default): asking again for up \
                 to {seconds} s before undoing anything; Ctrl-C stops waiting and keeps the change",
                color.warn("waiting:")
            )),
            Event::StillRefused => self.say(format_args!(
                "{} the site still refuses; rolling back",
                color.warn("not unlocked:")
            )),
            Event::RolledBack {
                undone,
                restored,
                conflicts,
            } => {
                self.rollback.undone += undone;
                self.rollback.restored.extend(restored.iter().cloned());
                self.rollback
                    .left
                    .extend(conflicts.iter().map(ToString::to_string));
                self.say(format_args!(
                    "{} {undone} change(s) undone",
                    color.label("rolled back:")
                ));
                for line in restored {
                    self.say(format_args!("  {line}"));
                }
                for conflict in conflicts {
                    let conflict = printable(&conflict.to_string());
                    self.say(format_args!("{} {conflict}", color.error("left:")));
                }
            }
            Event::Recap(recap) => self.say(format_args!("recap: {recap}")),
            Event::Undoable { run_id } => {
                let undo = self.undo_command(run_id);
                self.say(format_args!("undo with: {undo}"))
            }
            Event::WouldUndo(lines) => {
                self.rollback.restored = lines.to_vec();
                self.say(format_args!("{} change(s) to undo:", lines.len()));
                for line in lines {
                    self.say(format_args!("  {line}"));
                }
            }
            Event::RunChosen { run_id } => {
                self.rollback.run_id = Some(run_id.to_owned());
                self.say(format_args!("run {run_id}"))
            }
            Event::LockRemoved { path } => {
                self.say(format_args!("removed the lock {path} the run left behind"))
            }
        }
    }
}

/// The plan's actions grouped by rung, in order.
pub fn rungs(plan: &[Planned]) -> Vec<(&str, Vec<&Action>)> {
    let mut rungs: Vec<(&str, Vec<&Action>)> = Vec::new();
    for planned in plan {
        match rungs.last_mut() {
            Some((rung, actions)) if *rung == planned.playbook => actions.push(&planned.action),
            _ => rungs.push((&planned.playbook, vec![&planned.action])),
        }
    }
    rungs
}

/// `word` as one shell word: as it is when that is safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
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
    /// Where the admin logs in, when a plugin moved the login page (and the run changed
    /// nothing but said where).
    pub login_url: Option<String>,
}

impl RunDocument {
    /// The document of `command` on `origin`, with `plan` made and nothing applied yet.
    pub fn planned(command: &'static str, origin: String, plan: &[Planned]) -> Self {
        RunDocument {
            version: 1,
            command,
            origin,
            cause: None,
            caller: None,
            run_id: None,
            changes: JsonChange::all(plan),
            outcome: Outcome::Planned,
            recap: Recap::default(),
            undo: None,
            login_url: None,
        }
    }
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
                action: p.action.describe(),
                diff: p.action.diff(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_undo_line_runs_as_printed() {
        let mut out = Out::new(
            false,
            Color::new(crate::cli::color::ColorChoice::Never, false),
        );
        out.target(
            "sftp://me@host:2222/home/o'brien",
            vec![
                "--identity".into(),
                "/keys/my key".into(),
                "--known-hosts".into(),
                "/tmp/kh".into(),
            ],
        );
        assert_eq!(
            out.undo_command("1795958013-a11013"),
            r"wprescue rollback 'sftp://me@host:2222/home/o'\''brien' --run 1795958013-a11013 --identity '/keys/my key' --known-hosts /tmp/kh"
        );
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("~/x"), "'~/x'");
    }
}
