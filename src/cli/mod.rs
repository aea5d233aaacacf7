//! The command line: parse the arguments, run the command, print, and map how it ended to
//! the exit status. The run itself is the engine's ([`crate::engine::Session`]); this layer
//! only gathers what the user said, asks for confirmation and secrets, and prints.
//!
//! `anyhow` lives here and in `main.rs` only; the layers below return typed errors, which
//! `error.rs` renders with a hint.

/// `println!` that hands a write error back (with `?`) instead of panicking, so that
/// `wprescue … | head` ends quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

mod account;
mod apply;
mod args;
mod color;
mod diagnose;
mod error;
mod exit;
mod input;
mod ladder;
mod manual;
mod output;
mod plan;
mod playbooks;
mod rollback;
mod run;
mod trace;
mod unlock;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;
use color::Color;

/// Runs wprescue with the process's arguments; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(usage) => return exit::usage(&usage),
    };
    // Ctrl-C then lets a run finish its current change and remove any helper it uploaded.
    if let Err(e) = crate::interrupt::install() {
        eprintln!(
            "wprescue: cannot catch Ctrl-C ({e}); interrupting a run may leave a helper file behind until the next run removes it"
        );
    }
    trace::init(cli.verbose);
    let color = Color::stdout(cli.color);
    output::set_quiet(cli.quiet);
    let result = match &cli.command {
        Command::Diagnose(args) => diagnose::run(args, color),
        Command::Unlock(args) => unlock::run(args, color),
        Command::Plan(args) => plan::run(args, color),
        Command::Apply(args) => apply::run(args, color),
        Command::Run(args) => run::run(args, color),
        Command::ResetPassword(args) => account::reset_password(args, color),
        Command::MakeAdmin(args) => account::make_admin(args, color),
        Command::Rollback(args) => rollback::run(args, color),
        Command::History { json } => rollback::history(*json),
        Command::Completions { shell } => manual::completions(*shell),
        Command::Man => manual::man(),
        Command::Playbooks { name } => playbooks::run(name.as_deref()),
    };
    if let Err(error) = &result
        && !exit::is_broken_pipe(error)
    {
        error::render(error, Color::stderr(cli.color));
    }
    exit::code(&result)
}
