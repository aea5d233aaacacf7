//! The command line: parse, run, render errors in one place, return the exit status.
//!
//! `anyhow` lives here and in `main.rs` only; the layers below return typed errors, whose
//! hints this module prints under the error.

/// `println!` that hands a write error back (with `?`) instead of panicking, so that
/// `wprescue … | head` ends quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

mod args;
mod caller;
mod color;
mod connect;
mod diagnose;
mod exit;
mod output;
mod recover;
mod rollback;
mod run_playbook;
mod saved_plan;
mod unlock;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;
use color::Color;

/// Runs wprescue with the process's arguments; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C then lets a run finish its current change and remove any helper it uploaded.
    if let Err(e) = crate::interrupt::install() {
        eprintln!(
            "wprescue: cannot catch Ctrl-C ({e}); interrupting a run may leave a helper file behind until the next run removes it"
        );
    }
    let result = match &cli.command {
        Command::Diagnose(args) => diagnose::run(args, Color::stdout(cli.color)),
        Command::Unlock(args) => unlock::run(args, Color::stdout(cli.color)),
        Command::Plan(args) => saved_plan::plan(args, Color::stdout(cli.color)),
        Command::Apply(args) => saved_plan::apply(args, Color::stdout(cli.color)),
        Command::Run(args) => run_playbook::run(args, Color::stdout(cli.color)),
        Command::Rollback(args) => rollback::run(args, Color::stdout(cli.color)),
        Command::History => rollback::history(),
        Command::Playbooks { name } => show_playbooks(name.as_deref()),
    };
    match result {
        Ok(status) => exit::code(status),
        // A closed pipe (`wprescue … | head`) is the reader's choice, not a failure.
        Err(error) if is_broken_pipe(&error) => exit::code(exit::OK),
        Err(error) => {
            render_error(&error, Color::stderr(cli.color));
            if crate::interrupt::requested() {
                exit::code(exit::INTERRUPTED)
            } else {
                exit::code(exit::ERROR)
            }
        }
    }
}

/// `wprescue playbooks [NAME]`.
fn show_playbooks(name: Option<&str>) -> anyhow::Result<u8> {
    let playbooks = crate::playbook::Playbooks::builtin()?;
    match name {
        Some(name) => match playbooks.get(name) {
            Some((_, yaml)) => {
                use std::io::Write as _;
                write!(std::io::stdout(), "{yaml}")?
            }
            None => {
                let names: Vec<&str> = playbooks.iter().map(|p| p.name.as_str()).collect();
                anyhow::bail!(
                    "no built-in playbook {name:?}; there are: {}",
                    names.join(", ")
                );
            }
        },
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
    Ok(exit::OK)
}

/// `error: what happened`, its causes, then `hint: what to do next`.
fn render_error(error: &anyhow::Error, color: Color) {
    eprintln!("{} {error}", color.error("error:"));
    for cause in error.chain().skip(1) {
        eprintln!("  {} {cause}", color.label("caused by:"));
    }
    if let Some(hint) = hint(error) {
        eprintln!("{} {hint}", color.label("hint:"));
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn hint(error: &anyhow::Error) -> Option<String> {
    if let Some(e) = error.downcast_ref::<crate::site::SiteError>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<crate::transport::Error>() {
        return e.hint().map(str::to_owned);
    }
    if let Some(e) = error.downcast_ref::<crate::engine::EngineError>() {
        return e.hint();
    }
    if error
        .downcast_ref::<crate::playbook::PlaybookError>()
        .is_some()
    {
        return Some("fix the playbook at the line shown, then run again".into());
    }
    None
}

/// A secret from `env`, or typed at a prompt on the terminal; never from the command line.
fn secret_from_env_or_prompt(env: &str, prompt: &str) -> anyhow::Result<String> {
    if let Some(value) = std::env::var(env).ok().filter(|v| !v.is_empty()) {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no password: set {env}, or run wprescue in a terminal to be asked");
    }
    Ok(rpassword::prompt_password(prompt)?)
}
