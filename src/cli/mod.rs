//! The command line: parse, run, render errors in one place, return the exit status.
//!
//! `anyhow` lives here and in `main.rs` only; the layers below return typed errors, whose
//! hints this module prints under the error.

mod args;
mod color;
mod connect;
mod diagnose;
mod exit;
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
    let result = match &cli.command {
        Command::Diagnose(args) => diagnose::run(args, Color::stdout(cli.color)),
        Command::Unlock(args) => unlock::run(args, Color::stdout(cli.color)),
        Command::Rollback(args) => unlock::rollback(args, Color::stdout(cli.color)),
        Command::History => unlock::history(),
    };
    match result {
        Ok(status) => exit::code(status),
        Err(error) => {
            render_error(&error, Color::stderr(cli.color));
            exit::code(exit::ERROR)
        }
    }
}

/// `error: what happened`, its causes, then `hint: what to do next`.
fn render_error(error: &anyhow::Error, color: Color) {
    // A closed pipe (`wprescue diagnose … | head`) is not worth a message.
    if error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    {
        return;
    }
    eprintln!("{} {error}", color.error("error:"));
    for cause in error.chain().skip(1) {
        eprintln!("  {} {cause}", color.label("caused by:"));
    }
    if let Some(hint) = hint(error) {
        eprintln!("{} {hint}", color.label("hint:"));
    }
}

fn hint(error: &anyhow::Error) -> Option<String> {
    if let Some(e) = error.downcast_ref::<crate::site::SiteError>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<crate::transport::Error>() {
        return e.hint().map(str::to_owned);
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
