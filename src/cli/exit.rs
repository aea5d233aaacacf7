//! The one place exit statuses are decided, so scripts can rely on them.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done, or nothing to do; for `diagnose`, no lockout found |
//! | 1 | error (bad arguments, connection failed, a stale plan, …) |
//! | 2 | `diagnose` found a lockout; a dry run, `--check` or `plan` found changes to make |
//! | 3 | `unlock`/`apply` applied a fix, the site still refused, and the fix was rolled back |
//! | 64 | the command line itself is wrong (unknown flag, missing argument), as `sysexits` has it |
//! | 130 | Ctrl-C stopped a run between two changes |

use std::process::ExitCode;

use crate::engine::{EngineError, Outcome};
use crate::helper::HelperError;

/// A command line that could not be parsed: 64 (`EX_USAGE`), so that scripts can tell it from
/// a failed run; `--help` and `--version` are not errors.
pub fn usage(error: &clap::Error) -> ExitCode {
    // Printing help to a closed pipe is not worth a panic.
    let _ = error.print();
    ExitCode::from(usage_status(error))
}

fn usage_status(error: &clap::Error) -> u8 {
    // What clap prints to stdout (help, version) was asked for; the rest is a mistake.
    if error.use_stderr() { 64 } else { 0 }
}

/// The exit status of a command that ended with `result`.
pub fn code(result: &anyhow::Result<Outcome>) -> ExitCode {
    ExitCode::from(status(result))
}

fn status(result: &anyhow::Result<Outcome>) -> u8 {
    match result {
        Ok(outcome) => match outcome {
            Outcome::NoLockout
            | Outcome::NothingToDo
            | Outcome::Declined
            | Outcome::Unlocked
            | Outcome::Applied
            | Outcome::Undone
            | Outcome::Shown => 0,
            Outcome::LockoutFound | Outcome::Planned => 2,
            Outcome::RolledBack => 3,
        },
        // A closed pipe (`wprescue … | head`) is the reader's choice, not a failure.
        Err(error) if is_broken_pipe(error) => 0,
        Err(error) if is_interrupted(error) => 130,
        Err(_) => 1,
    }
}

/// Whether `error` is a write to a pipe whose reader went away.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn is_interrupted(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<EngineError>(),
        Some(EngineError::Interrupted { .. })
    ) || matches!(
        error.downcast_ref::<HelperError>(),
        Some(HelperError::Interrupted)
    ) || crate::interrupt::requested()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_have_their_own_status() {
        use clap::Parser;
        let parse = |args: &[&str]| crate::cli::Cli::try_parse_from(args).unwrap_err();
        assert_eq!(usage_status(&parse(&["wprescue", "diagnose"])), 64);
        assert_eq!(
            usage_status(&parse(&["wprescue", "unlock", "t", "--nope"])),
            64
        );
        assert_eq!(usage_status(&parse(&["wprescue", "--help"])), 0);
        assert_eq!(usage_status(&parse(&["wprescue", "--version"])), 0);
        assert_eq!(usage_status(&parse(&["wprescue"])), 64);
    }

    #[test]
    fn outcomes_and_errors_map_to_their_statuses() {
        let cases = [
            (Outcome::NoLockout, 0),
            (Outcome::NothingToDo, 0),
            (Outcome::Declined, 0),
            (Outcome::Unlocked, 0),
            (Outcome::Applied, 0),
            (Outcome::Undone, 0),
            (Outcome::Shown, 0),
            (Outcome::LockoutFound, 2),
            (Outcome::Planned, 2),
            (Outcome::RolledBack, 3),
        ];
        for (outcome, want) in cases {
            assert_eq!(status(&Ok(outcome)), want, "{outcome:?}");
        }
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(status(&Err(pipe.into())), 0);
        let interrupted = EngineError::Interrupted {
            changed: 1,
            run_id: Some("1-abc".into()),
        };
        assert_eq!(status(&Err(interrupted.into())), 130);
        assert_eq!(status(&Err(HelperError::Interrupted.into())), 130);
        assert_eq!(status(&Err(anyhow::anyhow!("no route to host"))), 1);
    }
}
